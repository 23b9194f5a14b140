package templates_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/flosch/pongo2/v6"
	goredis "github.com/redis/go-redis/v9"

	"github.com/fragcache/fragcache/cache/backends"
	"github.com/fragcache/fragcache/internal/testserver"
	"github.com/fragcache/fragcache/render"
)

// benchData is data for the bench's templates (examples/bench/templates),
// as Go values: structs and maps.
func benchData() pongo2.Context {
	type article struct {
		ID                  int
		Slug, Title, Author string
		AuthorSlug          string
		Date, Excerpt       string
		Comments            int
		Tags                []string
	}
	var arts []article
	for i := 1; i <= 15; i++ {
		arts = append(arts, article{ID: i, Slug: fmt.Sprint("a-", i), Title: fmt.Sprint("Article ", i), Author: "Ann",
			AuthorSlug: "ann", Date: fmt.Sprintf("2026-11-%02d", i), Excerpt: "Text.", Comments: i % 3, Tags: []string{"go", "cache"}})
	}
	return pongo2.Context{
		"page": 1, "next_page": 2, "articles": arts,
		"sidebar": map[string]any{
			"popular": arts[:3],
			"tags":    []map[string]any{{"name": "go", "count": 3}, {"name": "cache", "count": 2}},
		},
	}
}

// redisReads returns how many read commands (GET, MGET) Redis served, by
// its own counters.
func redisReads(t *testing.T, c *goredis.Client) int {
	t.Helper()
	info, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(info, "\n") {
		line = strings.TrimSpace(line)
		for _, cmd := range []string{"cmdstat_get:", "cmdstat_mget:"} {
			if rest, ok := strings.CutPrefix(line, cmd+"calls="); ok {
				var k int
				fmt.Sscanf(rest, "%d", &k)
				n += k
			}
		}
	}
	return n
}

// TestOneReadPerPage: the bench's pages cost one read command on a warm
// Redis or memcached with prefetching (counted by the servers: Redis's
// commandstats, memcached's command lines through a counting proxy): the article-list page (two fragments: the list,
// in list.html's block, and the sidebar, in base.html; two reads without
// prefetching) and the collection page (the sidebar and one fragment per
// article in a {% for %} loop, with no enclosing fragment; 16 reads
// without). The pages are the same with and without prefetching. The
// same holds under stampede protection with grace (issue 16): each
// fragment's freshness side key rides in the same multi-get, so a warm
// page is still one read command with prefetching (and one per fragment
// without).
func TestOneReadPerPage(t *testing.T) {
	rd := testserver.Redis(t)
	admin := goredis.NewClient(&goredis.Options{Addr: rd.Addr})
	defer admin.Close()
	mc := testserver.Memcached(t)
	proxy := testserver.CountingProxy(t, mc.Addr)
	servers := []struct {
		name  string
		url   func(prefix string) string
		reads func(t *testing.T) int
	}{
		{"redis", func(prefix string) string { return "redis://" + rd.Addr + "?key_prefix=" + prefix },
			func(t *testing.T) int { return redisReads(t, admin) }},
		// memcached's cmd_get counts keys: count command lines instead.
		{"memcached", func(prefix string) string { return "memcached://" + proxy.Addr + "?key_prefix=" + prefix },
			func(*testing.T) int { return proxy.Count("get", "gets") }},
	}
	for _, srv := range servers {
		for _, opts := range []struct{ name, query string }{
			{"", ""},
			{"grace", "&grace=30s&lease=1&jitter=0.1"},
		} {
			for _, tc := range []struct {
				page    string
				without int
			}{{"list.html", 2}, {"collection.html", 16}} {
				url := func(prefix string) string { return srv.url(opts.name+prefix) + opts.query }
				name := srv.name + "/" + tc.page
				if opts.name != "" {
					name = srv.name + "+" + opts.name + "/" + tc.page
				}
				t.Run(name, func(t *testing.T) { oneReadPerPage(t, url, srv.reads, tc.page, tc.without) })
			}
		}
	}
}

func oneReadPerPage(t *testing.T, url func(string) string, reads func(*testing.T) int, page string, without int) {
	pages := map[bool]string{}
	for _, noPrefetch := range []bool{false, true} {
		reg, err := backends.OpenRegistry(map[string]string{"default": url(strings.TrimSuffix(page, ".html") + fmt.Sprint(noPrefetch))})
		if err != nil {
			t.Fatal(err)
		}
		defer reg.Close()
		r, err := render.New(render.Options{FS: os.DirFS("../examples/bench/templates"), Registry: reg, NoPrefetch: noPrefetch})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		renderPage := func() string {
			b, err := r.RenderBytes(httptest.NewRequest("GET", "/articles/?page=1", nil), page, benchData())
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
		cold := renderPage()
		before := reads(t)
		warm := renderPage()
		n := reads(t) - before
		if warm != cold {
			t.Errorf("NoPrefetch=%v: the warm page differs from the cold one", noPrefetch)
		}
		want := 1
		if noPrefetch {
			want = without
		}
		if n != want {
			t.Errorf("NoPrefetch=%v: a warm page cost %d read commands, want %d", noPrefetch, n, want)
		}
		pages[noPrefetch] = warm
	}
	if pages[false] != pages[true] {
		t.Errorf("pages differ with and without prefetching:\n%s\n---\n%s", pages[false], pages[true])
	}
}
