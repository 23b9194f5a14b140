package cachedebug_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/backends"
	"github.com/fragcache/fragcache/cache/memcached"
	"github.com/fragcache/fragcache/httpx/cachedebug"
	"github.com/fragcache/fragcache/httpx/pagecache"
	"github.com/fragcache/fragcache/tags"
)

func TestHandler(t *testing.T) {
	const secret = "pl4nted-s3cr3t"
	reg, err := backends.OpenRegistry(map[string]string{
		"default": "memory://",
		"down":    "redis://:" + secret + "@127.0.0.1:1/0?dial_timeout=50ms&failure_threshold=1&cool_down=1m",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	ctx := context.Background()
	def, _ := reg.Default()
	down, _ := reg.Cache("down")
	def.Set(ctx, cache.FragmentKey("sidebar", "alice"), []byte("x"), cache.Forever)
	down.Get(ctx, "k") // fails: the breaker opens
	if _, err := reg.InvalidateFragment(ctx, "sidebar", "alice"); err != nil {
		t.Fatal(err)
	}
	frags, err := tags.New(reg, tags.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := pagecache.New(pagecache.WithRegistry(reg))
	if err != nil {
		t.Fatal(err)
	}
	h := cachedebug.Handler(reg, cachedebug.WithFragments(frags), cachedebug.WithPageCache("site", pc))

	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/debug/cache", nil))
	page := rr.Body.String()
	for _, want := range []string{"memory://", "redis://:xxxxx@127.0.0.1:1/0", "failopen", `class="bad">open`,
		"connection refused", "sidebar", "template.cache.sidebar.", "site", "Recent errors", "<td>Get</td>",
		"Page stampede protection", "stale served"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, secret) {
		t.Error("the page shows the password")
	}
	if rr.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", rr.Header().Get("Cache-Control"))
	}

	rr = httptest.NewRecorder()
	h.ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/debug/cache?format=json", nil))
	var rep cachedebug.Report
	if err := json.Unmarshal(rr.Body.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Caches) != 2 || rep.Caches[1].Stats.Backend.Breaker != "open" || len(rep.Invalidations) != 1 ||
		!rep.Invalidations[0].Deleted || len(rep.Pages) != 1 {
		t.Errorf("report %+v", rep)
	}
	if strings.Contains(rr.Body.String(), secret) {
		t.Error("the JSON shows the password")
	}
}

// TestHandlerNear checks the near caches' table and JSON.
func TestHandlerNear(t *testing.T) {
	reg, err := backends.OpenRegistry(map[string]string{
		"default": "memory://",
		"near":    "memcached://127.0.0.1:1?local_ttl=2s",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	h := cachedebug.Handler(reg)
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/debug/cache", nil))
	page := rr.Body.String()
	for _, want := range []string{"Near caches", "<td>near</td><td>ttl</td><td>on</td>", "<td>2s</td>"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	rr = httptest.NewRecorder()
	h.ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/debug/cache?format=json", nil))
	var rep cachedebug.Report
	if err := json.Unmarshal(rr.Body.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Caches) != 2 || rep.Caches[1].Stats.Near.Mode != "ttl" || rep.Caches[0].Stats.Near.Mode != "" {
		t.Errorf("report %+v", rep.Caches)
	}
}

// TestHandlerStampede checks the stampede protection table and JSON.
func TestHandlerStampede(t *testing.T) {
	reg, err := backends.OpenRegistry(map[string]string{
		"default": "memory://",
		"guarded": "memory://?lease=1&grace=30s",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	ctx := context.Background()
	g, _ := reg.Cache("guarded")
	if _, err := g.GetOrSet(ctx, "k", func(context.Context) ([]byte, error) { return []byte("v"), nil }, cache.Seconds(60)); err != nil {
		t.Fatal(err)
	}
	h := cachedebug.Handler(reg)
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/debug/cache", nil))
	page := rr.Body.String()
	for _, want := range []string{"Stampede protection", "<td>guarded</td><td>lease=1&amp;grace=30s</td><td>1</td><td>0</td>"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, "<td>default</td><td>none</td>") {
		t.Error("a row for a cache without stampede protection or its counters")
	}
	rr = httptest.NewRecorder()
	h.ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/debug/cache?format=json", nil))
	var rep cachedebug.Report
	if err := json.Unmarshal(rr.Body.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	var gr cachedebug.CacheReport
	for _, c := range rep.Caches {
		if c.Alias == "guarded" {
			gr = c
		}
	}
	if gr.Stampede != "lease=1&grace=30s" || gr.Stats.Stampede.LeasesWon != 1 {
		t.Errorf("report %+v", gr)
	}
	// Without any, no table.
	reg2, _ := backends.OpenRegistry(map[string]string{"default": "memory://"})
	defer reg2.Close()
	rr = httptest.NewRecorder()
	cachedebug.Handler(reg2).ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/debug/cache", nil))
	if strings.Contains(rr.Body.String(), "Stampede protection") {
		t.Error("a stampede table without stampede protection")
	}
}

// TestHandlerServers checks the table of servers, on a memcached pool of
// two servers that refuse connections.
func TestHandlerServers(t *testing.T) {
	reg, err := backends.OpenRegistry(map[string]string{"default": "memory://", "pool": "memcached://127.0.0.1:1;127.0.0.1:2"})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	c, _ := reg.Cache("pool")
	b, _ := cache.As[*memcached.Backend](c.Backend())
	for range 3 {
		b.Ping(context.Background())
	}
	h := cachedebug.Handler(reg)
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/debug/cache", nil))
	page := rr.Body.String()
	for _, want := range []string{"<h1>Servers</h1>", `<td>pool</td><td>127.0.0.1:1</td><td class="bad">open until `, "<td>0</td><td>3</td><td>0</td><td>1</td>", "connection refused"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
	rr = httptest.NewRecorder()
	h.ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/debug/cache?format=json", nil))
	var rep cachedebug.Report
	if err := json.Unmarshal(rr.Body.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Caches) != 2 || len(rep.Caches[0].Stats.Servers) != 0 || len(rep.Caches[1].Stats.Servers) != 2 || rep.Caches[1].Stats.Servers[1].Breaker != "open" {
		t.Errorf("report %+v", rep.Caches)
	}
}
