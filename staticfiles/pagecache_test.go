package staticfiles_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/andybalholm/brotli"

	"github.com/fragcache/fragcache/cache/backends"
	"github.com/fragcache/fragcache/httpx/pagecache"
	"github.com/fragcache/fragcache/staticfiles"
)

// TestBehindPageCache serves the files through Django's per-site page
// cache: each Accept-Encoding gets its own stored variant (Vary:
// Accept-Encoding), decoding to the same bytes, and a client that asks for
// no encoding never gets one, whichever variant was stored first.
func TestBehindPageCache(t *testing.T) {
	css := strings.Repeat("p { margin: 0 auto; color: #333; }\n", 50)
	st, err := staticfiles.New(fstest.MapFS{"site.css": {Data: []byte(css)}}, staticfiles.Options{})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := backends.OpenRegistry(map[string]string{"default": "memory://"})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	mux := http.NewServeMux()
	mux.Handle("GET /static/", st.Handler())
	h := pagecache.Site(pagecache.WithRegistry(reg), pagecache.WithSeconds(600))(mux)
	u, _ := st.URL("site.css")
	for round := range 2 { // the second round is served by the page cache
		for _, ae := range []string{"br", "", "gzip", "gzip, br", "identity"} {
			r := httptest.NewRequest("GET", u, nil)
			if ae != "" {
				r.Header.Set("Accept-Encoding", ae)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			enc := w.Header().Get("Content-Encoding")
			want := map[string]string{"br": "br", "gzip": "gzip", "gzip, br": "br"}[ae]
			if w.Code != 200 || enc != want {
				t.Fatalf("round %d, Accept-Encoding %q: %d, Content-Encoding %q, want %q", round, ae, w.Code, enc, want)
			}
			var body io.Reader = w.Body
			switch enc {
			case "br":
				body = brotli.NewReader(w.Body)
			case "gzip":
				if body, err = gzip.NewReader(w.Body); err != nil {
					t.Fatal(err)
				}
			}
			got, err := io.ReadAll(body)
			if err != nil || !bytes.Equal(got, []byte(css)) {
				t.Fatalf("round %d, Accept-Encoding %q: body differs (%v)", round, ae, err)
			}
			if round == 1 && !strings.Contains(w.Header().Get("Cache-Status"), "hit") {
				t.Errorf("Accept-Encoding %q: not a page-cache hit: Cache-Status %q", ae, w.Header().Get("Cache-Status"))
			}
		}
	}
}
