package pagecache

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/backends"
	"github.com/fragcache/fragcache/internal/testserver"
)

// taggedSite is a handler whose pages declare content tags: /a/N by the
// Surrogate-Key header (article:N and site) and cache.DeclareTags (decl:N),
// varying on Cookie.
func taggedSite(renders *int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*renders++
		n := strings.TrimPrefix(r.URL.Path, "/a/")
		if err := cache.DeclareTags(r.Context(), "decl:"+n); err != nil {
			panic(err)
		}
		w.Header().Set("Surrogate-Key", "article:"+n+" site")
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Cookie")
		fmt.Fprintf(w, "page %s for %s", n, r.Header.Get("Cookie"))
	})
}

// TestPageTagsAndURLVariants stores several variants of two pages on each
// backend, and checks that PurgeTag and InvalidateURL delete exactly
// theirs, across the Vary variants and GET and HEAD.
func TestPageTagsAndURLVariants(t *testing.T) {
	mc, rd := testserver.Memcached(t), testserver.Redis(t)
	for _, url := range []string{
		"memory://",
		"file://" + t.TempDir(),
		"memcached://" + mc.Addr,
		"redis://" + rd.Addr + "/6",
	} {
		t.Run(strings.SplitN(url, ":", 2)[0], func(t *testing.T) {
			ctx := context.Background()
			c, err := backends.Open(url)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Clear(ctx); err != nil {
				t.Fatal(err)
			}
			reg, err := cache.NewRegistry(map[string]*cache.Cache{cache.DefaultAlias: c})
			if err != nil {
				t.Fatal(err)
			}
			p, err := New(WithCache(c))
			if err != nil {
				t.Fatal(err)
			}
			renders := 0
			h := p.Handler(taggedSite(&renders))
			do := func(method, path, cookie string) *httptest.ResponseRecorder {
				r := newReq(method, path)
				if cookie != "" {
					r.Header.Set("Cookie", cookie)
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				return w
			}
			type variant struct{ method, path, cookie string }
			all := []variant{
				{"GET", "/a/1", ""}, {"GET", "/a/1", "x=1"}, {"GET", "/a/1", "x=2"}, {"HEAD", "/a/1", "x=1"},
				{"GET", "/a/2", ""}, {"GET", "/a/2", "x=1"}, {"HEAD", "/a/2", "x=3"},
			}
			for _, v := range all {
				w := do(v.method, v.path, v.cookie)
				if got := w.Header().Get("Surrogate-Key"); got != "" {
					t.Fatalf("%v: Surrogate-Key %q sent (%q)", v, got, w.Header().Get("Cache-Status"))
				}
			}
			// stored reports which variants have a page stored (HEAD x=1 of
			// /a/1 never has: it is served GET x=1's page, as Django does).
			keys := mustNewKeys(t)
			stored := func() map[variant]bool {
				m := map[variant]bool{}
				for _, v := range all {
					r := newReq(v.method, v.path)
					if v.cookie != "" {
						r.Header.Set("Cookie", v.cookie)
					}
					k, err := keys.PageKey(r, v.method, []string{"HTTP_COOKIE"})
					if err != nil {
						t.Fatal(err)
					}
					m[v], _ = c.Has(ctx, k)
				}
				return m
			}
			check := func(when string, want func(v variant) bool) {
				t.Helper()
				for v, got := range stored() {
					if w := want(v) && v != (variant{"HEAD", "/a/1", "x=1"}); got != w {
						t.Errorf("%s: %v stored = %v, want %v", when, v, got, w)
					}
				}
			}
			check("before", func(variant) bool { return true })
			n, err := reg.PurgeTag(ctx, "article:1")
			if err != nil || n != 3 {
				t.Fatalf("PurgeTag(article:1) = %d, %v; want 3", n, err)
			}
			check("after PurgeTag(article:1)", func(v variant) bool { return v.path == "/a/2" })
			if n, err := reg.PurgeTag(ctx, "decl:2"); err != nil || n != 3 {
				t.Fatalf("PurgeTag(decl:2) = %d, %v; want 3 (declared with cache.DeclareTags)", n, err)
			}
			check("after PurgeTag(decl:2)", func(variant) bool { return false })
			for _, v := range all { // store every variant again
				do(v.method, v.path, v.cookie)
			}
			check("stored again", func(variant) bool { return true })
			n, err = p.InvalidateURL(ctx, "http://testserver/a/2")
			if err != nil || n < 3 {
				t.Fatalf("InvalidateURL(/a/2) = %d, %v; want at least its 3 pages", n, err)
			}
			check("after InvalidateURL(/a/2)", func(v variant) bool { return v.path == "/a/1" })
			if renders != 3+3+6 {
				t.Errorf("%d renders, want 12", renders)
			}
			if n, err := reg.PurgeTag(ctx, "site"); err != nil || n != 3 {
				t.Fatalf("PurgeTag(site) = %d, %v; want 3 (the pages of /a/1 still indexed)", n, err)
			}
			check("after PurgeTag(site)", func(variant) bool { return false })
		})
	}
}

// TestSurrogateKeyKept checks WithSurrogateKeys: another header name, kept
// in the responses sent and stored.
func TestSurrogateKeyKept(t *testing.T) {
	c, err := backends.Open("memory://")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p, err := New(WithCache(c), WithSurrogateKeys("x-tags", true))
	if err != nil {
		t.Fatal(err)
	}
	h := p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Tags", "a b")
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "x")
	}))
	for i := 0; i < 2; i++ {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, get("/"))
		if got := w.Header().Get("X-Tags"); got != "a b" {
			t.Errorf("request %d: X-Tags %q, want it kept", i, got)
		}
	}
	if n, err := c.PurgeTag(context.Background(), "b"); err != nil || n != 1 {
		t.Errorf("PurgeTag(b) = %d, %v; want 1", n, err)
	}
	if _, err := New(WithCache(c), WithSurrogateKeys("", false)); err == nil {
		t.Error("WithSurrogateKeys with no header name: no error")
	}
}

// TestTagsRestartAndEviction checks that a backend restart never yields a
// wrong hit (the pages and their indexes are gone together), and the one
// documented case: an index evicted while its pages live leaves them to
// their timeout, PurgeTag finding nothing.
func TestTagsRestartAndEviction(t *testing.T) {
	mc, rd := testserver.Memcached(t), testserver.Redis(t)
	for _, srv := range []struct {
		name string
		s    *testserver.Server
		url  string
	}{
		{"memcached", mc, "memcached://" + mc.Addr + "?op_timeout=2s"},
		{"redis", rd, "redis://" + rd.Addr + "/7?op_timeout=2s"},
	} {
		t.Run(srv.name, func(t *testing.T) {
			ctx := context.Background()
			c, err := backends.Open(srv.url)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			p, err := New(WithCache(c))
			if err != nil {
				t.Fatal(err)
			}
			renders := 0
			h := p.Handler(taggedSite(&renders))
			status := func() string { return serveReq(h, newReq("GET", "/a/1")).Header().Get("Cache-Status") }
			status()
			if s := status(); !strings.Contains(s, "; hit") {
				t.Fatalf("not stored: %q", s)
			}
			srv.s.Restart()
			// The breaker may have opened on the restart: wait until the
			// cache answers again.
			deadline := time.Now().Add(10 * time.Second)
			for c.Set(ctx, "ping", []byte("x"), cache.Seconds(10)) != nil || c.Stats().Backend.Breaker == "open" {
				if time.Now().After(deadline) {
					t.Fatal("the cache did not come back")
				}
				time.Sleep(100 * time.Millisecond)
			}
			if s := status(); strings.Contains(s, "; hit") {
				t.Fatalf("a hit after the restart: %q", s)
			}
			if n, err := c.PurgeTag(ctx, "article:1"); err != nil || n != 1 {
				t.Fatalf("PurgeTag after the restart and a new store = %d, %v; want 1", n, err)
			}
			status() // stored again
			// The documented case: the tag's index evicted first.
			idx := cache.TagIndexKey(c.MakeKey("fragcache.tag.article:1"))
			if ix, ok := cache.As[cache.Indexer](c.Backend()); !ok || ix.IndexDelete(ctx, idx) != nil {
				t.Fatal("cannot delete the index")
			}
			if n, err := c.PurgeTag(ctx, "article:1"); err != nil || n != 0 {
				t.Fatalf("PurgeTag with its index evicted = %d, %v; want 0", n, err)
			}
			if s := status(); !strings.Contains(s, "; hit") {
				t.Errorf("the page whose index was evicted: %q, want a hit until it expires", s)
			}
		})
	}
}
