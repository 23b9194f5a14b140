package httpx

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

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
