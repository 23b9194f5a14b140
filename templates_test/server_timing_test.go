package templates_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/flosch/pongo2/v6"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/memory"
	"github.com/fragcache/fragcache/httpx/pagecache"
	"github.com/fragcache/fragcache/render"
)

// TestServerTiming: with WithServerTiming, a response lists the page lookup
// and the fragment lookups of its render, with hit or miss; the header is
// never stored with the page.
func TestServerTiming(t *testing.T) {
	c, err := memory.NewCache(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := cache.NewRegistry(map[string]*cache.Cache{cache.DefaultAlias: c})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	rdr, err := render.New(render.Options{Registry: reg, FS: fstest.MapFS{
		"p.html": {Data: []byte(`{% load cache %}{% cache 60 side %}side{% endcache %}{% cache 60 main n %}{{ n }}{% endcache %}`)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Close()
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rdr.Render(w, r, "p.html", pongo2.Context{"n": r.URL.Query().Get("n")})
	})
	pc, err := pagecache.New(pagecache.WithRegistry(reg), pagecache.WithServerTiming(true))
	if err != nil {
		t.Fatal(err)
	}
	h := pc.Handler(page)
	serve := func(target string) string {
		rr := httptest.NewRecorder()
		h.ServeHTTP(rr, httptest.NewRequest(http.MethodGet, target, nil))
		return rr.Header().Get("Server-Timing")
	}
	first := serve("/p?n=1")
	for _, want := range []string{`page;desc="uri-miss";dur=`, `frag;desc="side miss";dur=`, `frag;desc="main miss";dur=`} {
		if !strings.Contains(first, want) {
			t.Errorf("first response: %q lacks %q", first, want)
		}
	}
	// Another page: the side fragment is a hit.
	if other := serve("/p?n=2"); !strings.Contains(other, `frag;desc="side hit"`) || !strings.Contains(other, `frag;desc="main miss"`) {
		t.Errorf("second page: %q", other)
	}
	// The first page again, from the page cache: only the page lookup.
	if hit := serve("/p?n=1"); !strings.HasPrefix(hit, `page;desc="hit";dur=`) || strings.Contains(hit, "frag") {
		t.Errorf("page hit: %q (the stored page must not carry the first response's header)", hit)
	}
	// Off by default.
	pc2, _ := pagecache.New(pagecache.WithRegistry(reg), pagecache.WithKeyPrefix("off"))
	rr := httptest.NewRecorder()
	pc2.Handler(page).ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/p?n=3", nil))
	if v := rr.Header().Get("Server-Timing"); v != "" {
		t.Errorf("without WithServerTiming: %q", v)
	}
}
