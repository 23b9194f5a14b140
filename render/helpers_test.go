package render

import (
	"bytes"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// logBuffer is a concurrency-safe log sink.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newLogger() (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// countingFS counts Open calls per name.
type countingFS struct {
	fs.FS
	mu    sync.Mutex
	opens map[string]int
}

func newCountingFS(fsys fs.FS) *countingFS {
	return &countingFS{FS: fsys, opens: map[string]int{}}
}

func (c *countingFS) Open(name string) (fs.File, error) {
	c.mu.Lock()
	c.opens[name]++
	c.mu.Unlock()
	return c.FS.Open(name)
}

func (c *countingFS) count(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.opens[name]
}

// closeTrackingFS records files opened and not closed.
type closeTrackingFS struct {
	fs.FS
	mu   sync.Mutex
	open int
}

type trackedFile struct {
	fs.File
	fsys *closeTrackingFS
}

func (f *trackedFile) Close() error {
	f.fsys.mu.Lock()
	f.fsys.open--
	f.fsys.mu.Unlock()
	return f.File.Close()
}

func (c *closeTrackingFS) Open(name string) (fs.File, error) {
	f, err := c.FS.Open(name)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.open++
	c.mu.Unlock()
	return &trackedFile{File: f, fsys: c}, nil
}

func mustNew(t testing.TB, opts Options) *Renderer {
	t.Helper()
	rd, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { rd.Close() })
	return rd
}

// get renders name for a GET of target and returns the recorder.
func get(rd *Renderer, target, name string, data map[string]any) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, target, nil)
	rd.Render(w, r, name, data)
	return w
}

func body(w *httptest.ResponseRecorder) string { return strings.TrimSpace(w.Body.String()) }
