package httpx

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestRecorderBuffersAndCommits(t *testing.T) {
	rr := httptest.NewRecorder()
	rr.Header().Set("X-Outer", "kept")
	rec := newRecorder(rr)
	if rec.Header().Get("X-Outer") != "" {
		t.Error("outer header visible to the handler")
	}
	rec.Header().Set("X-Inner", "1")
	rec.WriteHeader(http.StatusCreated)
	rec.WriteHeader(http.StatusTeapot) // superfluous: ignored
	_, _ = rec.Write([]byte("ab"))
	_, _ = io.WriteString(rec, "cd")
	if rr.Code != http.StatusOK || rr.Body.Len() != 0 || rr.Header().Get("X-Inner") != "" {
		t.Fatal("recorder wrote before commit")
	}
	if rec.status != http.StatusCreated || rec.body.String() != "abcd" {
		t.Fatalf("recorded %d %q", rec.status, rec.body.String())
	}
	rec.commit()
	rec.commit() // no-op
	if rr.Code != http.StatusCreated || rr.Body.String() != "abcd" || rr.Header().Get("X-Inner") != "1" ||
		rr.Header().Get("X-Outer") != "kept" {
		t.Fatalf("after commit: %d %q %v", rr.Code, rr.Body.String(), rr.Header())
	}
	// Pass-through after commit.
	_, _ = rec.Write([]byte("e"))
	if rr.Body.String() != "abcde" {
		t.Errorf("pass-through write: %q", rr.Body.String())
	}
}

func TestRecorderNoBodyStatus(t *testing.T) {
	rec := newRecorder(httptest.NewRecorder())
	rec.WriteHeader(http.StatusNotModified)
	if _, err := rec.Write([]byte("x")); err != http.ErrBodyNotAllowed {
		t.Errorf("write on 304: %v", err)
	}
}

func TestRecorderMaxBody(t *testing.T) {
	rr := httptest.NewRecorder()
	rec := newRecorder(rr)
	rec.maxBody = 4
	_, _ = rec.Write([]byte("abc"))
	if rec.passedThrough() {
		t.Fatal("passed through early")
	}
	_, _ = rec.Write([]byte("de"))
	if !rec.passedThrough() || rr.Body.String() != "abcde" || rec.flushed {
		t.Errorf("overflow: %v %q", rec.passedThrough(), rr.Body.String())
	}
}

func TestRecorderResponseController(t *testing.T) {
	rr := httptest.NewRecorder()
	rec := newRecorder(rr)
	var w http.ResponseWriter = rec
	if _, ok := w.(http.Flusher); !ok {
		t.Fatal("not an http.Flusher")
	}
	rec.Header().Set("X-A", "1")
	_, _ = w.Write([]byte("x"))
	rc := http.NewResponseController(w)
	if err := rc.Flush(); err != nil {
		t.Fatal(err)
	}
	if !rr.Flushed || !rec.flushed || !rec.passedThrough() || rr.Body.String() != "x" || rr.Header().Get("X-A") != "1" {
		t.Errorf("flush: %v %v %q", rr.Flushed, rec.passedThrough(), rr.Body.String())
	}
	// Unwrap reaches the underlying writer (ResponseRecorder has no deadlines).
	if err := rc.SetWriteDeadline(time.Now()); err == nil {
		t.Error("SetWriteDeadline: want ErrNotSupported from the ResponseRecorder")
	}
	if rec.Unwrap() != rr {
		t.Error("Unwrap")
	}
}

// TestConditionalGetRealServer runs the middleware behind a real server:
// streaming through Flush, trailers, and 103 Early Hints.
func TestConditionalGetRealServer(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/stream", ConditionalGet(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Sum")
		_, _ = w.Write([]byte("one\n"))
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Error(err)
		}
		_, _ = w.Write([]byte("two\n"))
		w.Header().Set("X-Sum", "2")
	})))
	mux.Handle("/hints", ConditionalGet(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</a.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Set("X-Drop", "1")
		w.Header().Set("Vary", "Cookie")
		_, _ = w.Write([]byte("body"))
	})))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	res, err := http.Get(srv.URL + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != "one\ntwo\n" || res.Header.Get("ETag") != "" || res.Trailer.Get("X-Sum") != "2" {
		t.Errorf("stream: %q ETag %q trailer %v", body, res.Header.Get("ETag"), res.Trailer)
	}

	// First request learns the ETag; the 304 drops the headers the 103 copied.
	res, err = http.Get(srv.URL + "/hints")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	etag := res.Header.Get("ETag")
	if etag != bodyETag([]byte("body")) || res.Header.Get("X-Drop") != "1" {
		t.Fatalf("hints: %v", res.Header)
	}
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "GET /hints HTTP/1.1\r\nHost: x\r\nIf-None-Match: "+etag+"\r\nConnection: close\r\n\r\n")
	raw, _ := io.ReadAll(bufio.NewReader(conn))
	s := string(raw)
	if !strings.HasPrefix(s, "HTTP/1.1 103 Early Hints\r\n") || !strings.Contains(s, "HTTP/1.1 304 Not Modified\r\n") {
		t.Fatalf("raw response:\n%s", s)
	}
	final := s[strings.Index(s, "HTTP/1.1 304"):]
	if strings.Contains(final, "Link:") || strings.Contains(final, "X-Drop") || !strings.Contains(final, "Vary: Cookie") ||
		!strings.Contains(final, "Etag: "+etag) {
		t.Errorf("304 headers:\n%s", final)
	}
}
