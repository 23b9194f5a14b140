package httpx

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// nullWriter is a reusable http.ResponseWriter for benchmarks.
type nullWriter struct{ h http.Header }

func (w *nullWriter) Header() http.Header         { return w.h }
func (w *nullWriter) WriteHeader(int)             {}
func (w *nullWriter) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkCompress is Compress on a 10 KB page written at once, for a
// gzip, a br and an identity client (the last only buffers 200 bytes and
// patches Vary).
func BenchmarkCompress(b *testing.B) {
	page := textBody(10 << 10)
	h := Compress()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = []string{"text/html; charset=utf-8"}
		_, _ = w.Write(page)
	}))
	for _, ae := range []string{"gzip", "br", "identity"} {
		b.Run(ae, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.Header.Set("Accept-Encoding", ae)
			w := &nullWriter{h: make(http.Header)}
			b.SetBytes(int64(len(page)))
			b.ReportAllocs()
			for range b.N {
				clear(w.h)
				h.ServeHTTP(w, req)
			}
		})
	}
}
