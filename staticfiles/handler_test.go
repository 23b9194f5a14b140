package staticfiles

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/andybalholm/brotli"
)

var modTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// css is a stylesheet big enough to compress.
var css = "body { background: url(img/bg.png); }\n" + strings.Repeat(".rule { color: #123456; margin: 0 auto; }\n", 40)

func testFS() fstest.MapFS {
	return fstest.MapFS{
		"site.css":        {Data: []byte(css), ModTime: modTime},
		"img/bg.png":      {Data: []byte("\x89PNG\r\n\x1a\n" + strings.Repeat("\x00", 600)), ModTime: modTime},
		"app.js":          {Data: []byte("console.log('hi');\n"), ModTime: modTime}, // too small to compress
		"big.txt":         {Data: bytes.Repeat([]byte("0123456789abcdef"), 1<<16), ModTime: modTime},
		"pre.txt":         {Data: []byte(strings.Repeat("pre ", 100)), ModTime: modTime},
		"pre.txt.gz":      {Data: []byte("the gzip copy beside the file"), ModTime: modTime},
		".env":            {Data: []byte("SECRET=1")},
		".git/config":     {Data: []byte("[core]")},
		"notes.txt~":      {Data: []byte("backup")},
		"CVS/Entries":     {Data: []byte("cvs")},
		"dir/.hidden.txt": {Data: []byte("hidden")},
	}
}

func newTestStorage(t testing.TB, opts Options) *Storage {
	t.Helper()
	st, err := New(testFS(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func get(h http.Handler, method, target string, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func decode(t *testing.T, enc string, b []byte) string {
	t.Helper()
	var r io.Reader
	switch enc {
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	case "br":
		r = brotli.NewReader(bytes.NewReader(b))
	default:
		return string(b)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestHandlerHeaders(t *testing.T) {
	st := newTestStorage(t, Options{})
	h := st.Handler()
	cssURL, err := st.URL("site.css")
	if err != nil {
		t.Fatal(err)
	}
	hashedCSS := strings.TrimPrefix(cssURL, "/static/")
	rewritten := strings.Replace(css, "url(img/bg.png)", `url("img/`+strings.TrimPrefix(mustHashed(t, st, "img/bg.png"), "img/")+`")`, 1)
	cases := []struct {
		name, target, acceptEncoding string
		status                       int
		cacheControl, ctype, enc     string
		vary                         bool
		body                         string
	}{
		{"hashed css, identity", cssURL, "", 200, ImmutableCacheControl, "text/css; charset=utf-8", "", true, rewritten},
		{"hashed css, br", cssURL, "gzip, deflate, br", 200, ImmutableCacheControl, "text/css; charset=utf-8", "br", true, rewritten},
		{"hashed css, gzip preferred", cssURL, "br;q=0.5, gzip", 200, ImmutableCacheControl, "text/css; charset=utf-8", "gzip", true, rewritten},
		{"hashed css, equal q: br", cssURL, "gzip;q=0.8, br;q=0.8", 200, ImmutableCacheControl, "text/css; charset=utf-8", "br", true, rewritten},
		{"hashed css, br refused", cssURL, "br;q=0, gzip;q=0.1", 200, ImmutableCacheControl, "text/css; charset=utf-8", "gzip", true, rewritten},
		{"hashed css, star is not asking", cssURL, "*", 200, ImmutableCacheControl, "text/css; charset=utf-8", "", true, rewritten},
		{"hashed css, identity asked", cssURL, "identity", 200, ImmutableCacheControl, "text/css; charset=utf-8", "", true, rewritten},
		{"hashed css, all refused", cssURL, "br;q=0, gzip;q=0, *;q=0", 200, ImmutableCacheControl, "text/css; charset=utf-8", "", true, rewritten},
		{"original css", "/static/site.css", "gzip", 200, "public, max-age=60", "text/css; charset=utf-8", "gzip", true, css},
		{"png: never compressed", "/static/" + mustHashed(t, st, "img/bg.png"), "br, gzip", 200, ImmutableCacheControl, "image/png", "", false, ""},
		{"small js: not compressed", "/static/app.js", "br", 200, "public, max-age=60", "text/javascript; charset=utf-8", "", false, "console.log('hi');\n"},
		{"gzip copy found beside the file", "/static/pre.txt", "gzip", 200, "public, max-age=60", "text/plain; charset=utf-8", "gzip", true, ""},
		{"missing", "/static/nope.css", "", 404, "", "", "", false, ""},
		{"outside the prefix", "/site.css", "", 404, "", "", "", false, ""},
		{"hashed name of the wrong directory", "/static/img/" + hashedCSS, "", 404, "", "", "", false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := get(h, "GET", tc.target, "Accept-Encoding", tc.acceptEncoding)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
			if tc.status != 200 {
				return
			}
			hd := w.Header()
			if got := hd.Get("Cache-Control"); got != tc.cacheControl {
				t.Errorf("Cache-Control %q, want %q", got, tc.cacheControl)
			}
			if got := hd.Get("Content-Type"); got != tc.ctype {
				t.Errorf("Content-Type %q, want %q", got, tc.ctype)
			}
			if got := hd.Get("Content-Encoding"); got != tc.enc {
				t.Errorf("Content-Encoding %q, want %q", got, tc.enc)
			}
			if got := hd.Get("Vary") == "Accept-Encoding"; got != tc.vary {
				t.Errorf("Vary %q", hd.Get("Vary"))
			}
			if hd.Get("ETag") == "" || hd.Get("Last-Modified") != modTime.Format(http.TimeFormat) {
				t.Errorf("ETag %q, Last-Modified %q", hd.Get("ETag"), hd.Get("Last-Modified"))
			}
			if hd.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("no nosniff")
			}
			if tc.body != "" {
				if got := decode(t, tc.enc, w.Body.Bytes()); got != tc.body {
					t.Errorf("body %q, want %q", got, tc.body)
				}
			}
			if tc.name == "gzip copy found beside the file" && w.Body.String() != "the gzip copy beside the file" {
				t.Errorf("body %q, want the .gz file", w.Body.String())
			}
		})
	}
}

func mustHashed(t testing.TB, st *Storage, name string) string {
	t.Helper()
	h, ok := st.HashedName(name)
	if !ok {
		t.Fatalf("no hashed name for %s", name)
	}
	return h
}

// TestHandlerConditional covers 304s (ETag and Last-Modified, per
// encoding), HEAD, Range and methods.
func TestHandlerConditional(t *testing.T) {
	st := newTestStorage(t, Options{MaxAge: 10 * time.Minute})
	h := st.Handler()
	w := get(h, "GET", "/static/site.css")
	etag := w.Header().Get("ETag")
	if got := w.Header().Get("Cache-Control"); got != "public, max-age=600" {
		t.Errorf("Cache-Control %q", got)
	}
	if w := get(h, "GET", "/static/site.css", "If-None-Match", etag); w.Code != 304 || w.Body.Len() != 0 {
		t.Errorf("If-None-Match: %d %q", w.Code, w.Body.String())
	}
	// The gzip copy has its own ETag: the identity one does not match it.
	wg := get(h, "GET", "/static/site.css", "Accept-Encoding", "gzip", "If-None-Match", etag)
	if wg.Code != 200 || wg.Header().Get("ETag") == etag {
		t.Errorf("gzip with the identity ETag: %d, ETag %q", wg.Code, wg.Header().Get("ETag"))
	}
	if w := get(h, "GET", "/static/site.css", "Accept-Encoding", "gzip", "If-None-Match", wg.Header().Get("ETag")); w.Code != 304 {
		t.Errorf("gzip If-None-Match: %d", w.Code)
	}
	if w := get(h, "GET", "/static/site.css", "If-Modified-Since", modTime.Format(http.TimeFormat)); w.Code != 304 {
		t.Errorf("If-Modified-Since: %d", w.Code)
	}
	if w := get(h, "GET", "/static/site.css", "If-Modified-Since", modTime.Add(-time.Hour).Format(http.TimeFormat)); w.Code != 200 {
		t.Errorf("older If-Modified-Since: %d", w.Code)
	}
	w = get(h, "HEAD", "/static/big.txt")
	if w.Code != 200 || w.Body.Len() != 0 || w.Header().Get("Content-Length") != "1048576" {
		t.Errorf("HEAD: %d, %d bytes, Content-Length %q", w.Code, w.Body.Len(), w.Header().Get("Content-Length"))
	}
	w = get(h, "HEAD", "/static/site.css", "Accept-Encoding", "br")
	if w.Code != 200 || w.Body.Len() != 0 || w.Header().Get("Content-Length") != strconv.Itoa(len(st.assets["site.css"].br)) ||
		w.Header().Get("Last-Modified") == "" || w.Header().Get("Accept-Ranges") != "bytes" {
		t.Errorf("HEAD, br: %d, %d bytes, %v", w.Code, w.Body.Len(), w.Header())
	}
	w = get(h, "GET", "/static/site.css", "Range", "bytes=0-3")
	if w.Code != 206 || w.Body.String() != css[:4] {
		t.Errorf("Range on a file in memory: %d %q", w.Code, w.Body.String())
	}
	w = get(h, "GET", "/static/big.txt", "Range", "bytes=16-31")
	if w.Code != 206 || w.Body.String() != "0123456789abcdef" || w.Header().Get("Content-Range") != "bytes 16-31/1048576" {
		t.Errorf("Range: %d %q %q", w.Code, w.Body.String(), w.Header().Get("Content-Range"))
	}
	w = get(h, "GET", "/static/big.txt", "Range", "bytes=2000000-")
	if w.Code != http.StatusRequestedRangeNotSatisfiable {
		t.Errorf("Range past the end: %d", w.Code)
	}
	for _, m := range []string{"POST", "PUT", "DELETE"} {
		if w := get(h, m, "/static/site.css"); w.Code != 405 || w.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("%s: %d, Allow %q", m, w.Code, w.Header().Get("Allow"))
		}
	}
	st2 := newTestStorage(t, Options{MaxAge: -1})
	if got := get(st2.Handler(), "GET", "/static/site.css").Header().Get("Cache-Control"); got != "no-cache" {
		t.Errorf("MaxAge -1: Cache-Control %q", got)
	}
}

// TestHandlerRefuses checks that paths outside the files, hidden files
// and odd bytes are 404, whatever their encoding.
func TestHandlerRefuses(t *testing.T) {
	h := newTestStorage(t, Options{}).Handler()
	for _, target := range []string{
		"/static/../go.mod", "/static/%2e%2e/go.mod", "/static/img/..%2fsite.css", "/static/img/%2e%2e/site.css",
		"/static/./site.css", "/static//site.css", "/static/%2fsite.css", "/static/%2Fetc/passwd",
		"/static/.env", "/static/%2eenv", "/static/.git/config", "/static/dir/.hidden.txt", "/static/notes.txt~",
		"/static/CVS/Entries", "/static/site.css%00", "/static/site.css%00.png", "/static/img%5cbg.png",
		"/static/img\\bg.png", "/static/", "/static", "/static/img", "/static/img/", "/static/site.css/",
		"/static/%ff.css",
	} {
		if w := get(h, "GET", target); w.Code != 404 {
			t.Errorf("%s: %d, want 404", target, w.Code)
		}
	}
}

// countingFS counts the bytes each Read of its files returns.
type countingFS struct {
	fs.FS
	maxRead, reads int
}

type countingFile struct {
	fs.File
	c *countingFS
}

func (c *countingFS) Open(name string) (fs.File, error) {
	f, err := c.FS.Open(name)
	if err != nil {
		return nil, err
	}
	return &countingFile{f, c}, nil
}

func (c *countingFS) ReadDir(name string) ([]fs.DirEntry, error) { return fs.ReadDir(c.FS, name) }

func (f *countingFile) Read(p []byte) (int, error) {
	n, err := f.File.Read(p)
	f.c.reads++
	f.c.maxRead = max(f.c.maxRead, n)
	return n, err
}

func (f *countingFile) Seek(off int64, whence int) (int64, error) {
	return f.File.(io.Seeker).Seek(off, whence)
}

// TestHandlerStreams checks that a large file is copied in chunks, not
// read whole into memory.
func TestHandlerStreams(t *testing.T) {
	cfs := &countingFS{FS: testFS()}
	st, err := New(cfs, Options{NoCompression: true})
	if err != nil {
		t.Fatal(err)
	}
	cfs.reads, cfs.maxRead = 0, 0
	w := get(st.Handler(), "GET", "/static/big.txt")
	if w.Code != 200 || w.Body.Len() != 1<<20 {
		t.Fatalf("%d, %d bytes", w.Code, w.Body.Len())
	}
	if cfs.maxRead > 64<<10 || cfs.reads < 16 {
		t.Errorf("%d reads, the largest %d bytes: not streamed", cfs.reads, cfs.maxRead)
	}
}

func TestOptions(t *testing.T) {
	if _, err := New(testFS(), Options{URL: "/static"}); err == nil {
		t.Error("URL without a trailing slash accepted")
	}
	if _, err := New(nil, Options{}); err == nil {
		t.Error("nil FS accepted")
	}
	st := newTestStorage(t, Options{URL: "https://cdn.example.com/assets/"})
	u, err := st.URL("app.js")
	if err != nil || !strings.HasPrefix(u, "https://cdn.example.com/assets/app.") {
		t.Errorf("URL = %q, %v", u, err)
	}
	if w := get(st.Handler(), "GET", strings.TrimPrefix(u, "https://cdn.example.com")); w.Code != 200 {
		t.Errorf("served under the URL's path: %d", w.Code)
	}
	for _, name := range []string{"a%20b.css", "a?.css", "a#b.css"} {
		if _, err := New(fstest.MapFS{name: {Data: []byte("x")}}, Options{}); err == nil || !strings.Contains(err.Error(), "mangles") {
			t.Errorf("file name %q: %v", name, err)
		}
	}
	if _, err := New(fstest.MapFS{"m.json": {Data: []byte(`{"paths": {}, "version": "2.0"}`)}}, Options{Manifest: "m.json"}); err == nil {
		t.Error("manifest version 2.0 accepted")
	}
}

// TestKeepMissingReferences checks that the option keeps the reference and
// logs it.
func TestKeepMissingReferences(t *testing.T) {
	fsys := fstest.MapFS{"a.css": {Data: []byte("a { background: url(gone.png) }\n")}}
	if _, err := New(fsys, Options{}); err == nil || !strings.Contains(err.Error(), "a.css, line 1: url(gone.png)") {
		t.Fatalf("New: %v", err)
	}
	var logs bytes.Buffer
	st, err := New(fsys, Options{KeepMissingReferences: true, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := st.URL("a.css")
	if w := get(st.Handler(), "GET", u); w.Body.String() != "a { background: url(gone.png) }\n" {
		t.Errorf("body %q", w.Body.String())
	}
	if !strings.Contains(logs.String(), "file=a.css") || !strings.Contains(logs.String(), "missing=gone.png") {
		t.Errorf("log: %s", logs.String())
	}
}

// FuzzHandlerPath checks that no request path panics and that a 200 is
// only ever one of the files, served under its own name.
func FuzzHandlerPath(f *testing.F) {
	for _, s := range []string{"site.css", "../go.mod", "%2e%2e/x", ".env", "img/bg.png", "a\x00b", "/etc/passwd", "img/../site.css"} {
		f.Add(s)
	}
	st := newTestStorage(f, Options{NoCompression: true})
	h := st.Handler()
	f.Fuzz(func(t *testing.T, p string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.URL.Path = "/static/" + p
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 {
			return
		}
		a := st.assets[p]
		if a == nil || !validName(p) {
			t.Fatalf("%q served but is not a file", p)
		}
		for _, seg := range strings.Split(p, "/") {
			if seg == "" || seg == "." || seg == ".." || strings.HasPrefix(seg, ".") {
				t.Fatalf("%q served", p)
			}
		}
	})
}
