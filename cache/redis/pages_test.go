package redis_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/render"
)

// pageLoad serves a page of {% cache %} fragments from c and requests it
// from two goroutines until the returned function is called; that
// function reports the pages served and those that were not a 200 with
// every fragment (the failover tests: pages keep rendering while a
// master dies).
func pageLoad(t *testing.T, c *cache.Cache) (stop func() (pages, bad int64, firstBad string)) {
	t.Helper()
	reg, err := cache.NewRegistry(map[string]*cache.Cache{cache.DefaultAlias: c})
	if err != nil {
		t.Fatal(err)
	}
	tpl := `{% load cache %}{% for i in items %}{% cache 600 item i %}<p>item {{ i }}</p>{% endcache %}{% endfor %}`
	rd, err := render.New(render.Options{FS: fstest.MapFS{"page.html": {Data: []byte(tpl)}}, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	items := make([]int, 12)
	var want strings.Builder
	for i := range items {
		items[i] = i
		fmt.Fprintf(&want, "<p>item %d</p>", i)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rd.Render(w, r, "page.html", map[string]any{"items": items})
	}))
	var (
		done        atomic.Bool
		pages, bads atomic.Int64
		mu          sync.Mutex
		first       string
		wg          sync.WaitGroup
	)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !done.Load() {
				resp, err := http.Get(srv.URL)
				var body []byte
				if err == nil {
					body, _ = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				pages.Add(1)
				if err != nil || resp.StatusCode != 200 || string(body) != want.String() {
					bads.Add(1)
					mu.Lock()
					if first == "" {
						first = fmt.Sprintf("%v %v %.80q", err, resp != nil && resp.StatusCode == 200, body)
					}
					mu.Unlock()
				}
			}
		}()
	}
	return func() (int64, int64, string) {
		done.Store(true)
		wg.Wait()
		srv.Close()
		rd.Close()
		mu.Lock()
		defer mu.Unlock()
		return pages.Load(), bads.Load(), first
	}
}
