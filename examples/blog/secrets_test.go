package main

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/fragcache/fragcache/internal/testserver"
)

// syncBuffer is a bytes.Buffer for concurrent log writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestPasswordNeverShown plants a Redis password and reads every output of
// the example: its logs (a server that is up, then one that refuses
// connections) and its /debug/cache page. The password never appears.
func TestPasswordNeverShown(t *testing.T) {
	const secret = "pl4nted-s3cr3t"
	srv := testserver.Redis(t, "--requirepass", secret)
	for _, url := range []string{
		"redis://:" + secret + "@" + srv.Addr + "/0",
		"redis://:" + secret + "@127.0.0.1:1/0?dial_timeout=50ms", // refused: fail-open logs
	} {
		var logs syncBuffer
		logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		caches, err := openCaches(url, "", logger)
		if err != nil {
			t.Fatal(err)
		}
		app, err := NewApp(Config{Caches: caches, Store: NewStore(0), Logger: logger})
		if err != nil {
			t.Fatal(err)
		}
		h := app.Handler()
		var pages strings.Builder
		for _, path := range []string{"/", "/debug/cache", "/debug/fragcache", "/debug/fragcache?format=json"} {
			req, _ := http.NewRequest(http.MethodGet, "http://example.com"+path, nil)
			req.RequestURI = path
			rw := &recorder{header: http.Header{}}
			h.ServeHTTP(rw, req)
			pages.WriteString(rw.body.String())
		}
		app.Close()
		caches.Close()
		for what, out := range map[string]string{"logs": logs.String(), "pages": pages.String()} {
			if strings.Contains(out, secret) {
				t.Errorf("%s: the password appears in the %s:\n%s", url, what, out)
			}
		}
		if !strings.Contains(pages.String(), "Cache stats") {
			t.Errorf("%s: /debug/cache not rendered", url)
		}
	}
}

// recorder is a minimal http.ResponseWriter.
type recorder struct {
	header http.Header
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) WriteHeader(int)             {}
func (r *recorder) Write(p []byte) (int, error) { return r.body.Write(p) }

var _ io.Writer = (*recorder)(nil)
