package staticfiles

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// discard is a ResponseWriter that keeps nothing, so that the benchmarks
// measure the handler.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// BenchmarkHandler serves a hashed file: the rewritten CSS (in memory),
// its brotli copy, and a file streamed from the file system.
func BenchmarkHandler(b *testing.B) {
	st := newTestStorage(b, Options{})
	h := st.Handler()
	cssURL, _ := st.URL("site.css")
	pngURL, _ := st.URL("img/bg.png")
	for _, bc := range []struct{ name, url, ae string }{
		{"css", cssURL, ""},
		{"css-br", cssURL, "gzip, deflate, br"},
		{"png-from-fs", pngURL, ""},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := httptest.NewRequest("GET", bc.url, nil)
			if bc.ae != "" {
				r.Header.Set("Accept-Encoding", bc.ae)
			}
			w := &discard{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, r)
			}
		})
	}
}
