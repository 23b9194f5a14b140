package templates_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/flosch/pongo2/v6"
	goredis "github.com/redis/go-redis/v9"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/backends"
	"github.com/fragcache/fragcache/internal/testserver"
	"github.com/fragcache/fragcache/render"
	"github.com/fragcache/fragcache/tags"
)

// TestStrictTags: with tags.Options.StrictTags on real Redis, a warm page
// of tagged fragments in a loop costs one read command (the tag versions
// read in the prefetch multi-get), and a PurgeTag whose index the backend
// evicted first still makes the fragment that declared the tag render
// again, and only it.
func TestStrictTags(t *testing.T) {
	srv := testserver.Redis(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "list.html"), []byte(
		`{% for a in articles %}{% cache 600 row a.ID %}{% cachetag "article:"|add:a.ID %}<{{ a.Title }}|{{ count }}>{% endcache %}{% endfor %}`), 0o644); err != nil {
		t.Fatal(err)
	}
	reg, err := backends.OpenRegistry(map[string]string{"default": "redis://" + srv.Addr + "/8?op_timeout=2s"})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	c, _ := reg.Default()
	ctx := context.Background()
	if err := c.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := render.New(render.Options{FS: os.DirFS(dir), Registry: reg, TagOptions: tags.Options{StrictTags: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	type article struct {
		ID    int
		Title string
	}
	var renders atomic.Int64
	page := func() string {
		b, err := r.RenderBytes(httptest.NewRequest("GET", "/", nil), "list.html", pongo2.Context{
			"articles": []article{{1, "one"}, {2, "two"}},
			"count":    func() int64 { return renders.Add(1) },
		})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	direct := goredis.NewClient(&goredis.Options{Addr: srv.Addr, DB: 8})
	defer direct.Close()
	cold := page()
	if cold != "<one|1><two|2>" {
		t.Fatalf("cold page %q", cold)
	}
	before := redisReads(t, direct)
	if warm := page(); warm != cold {
		t.Fatalf("warm page %q, want %q", warm, cold)
	}
	if n := redisReads(t, direct) - before; n != 1 {
		t.Errorf("a warm page cost %d read commands, want 1 (the versions in the prefetch multi-get)", n)
	}
	// The index of article:1 is evicted; the purge finds nothing to delete.
	idx := cache.TagIndexKey(c.MakeKey("fragcache.tag.article:1"))
	if err := direct.Del(ctx, idx).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := c.PurgeTag(ctx, "article:1"); err != nil || n != 0 {
		t.Fatalf("PurgeTag with the index evicted = %d, %v; want 0", n, err)
	}
	if got := page(); got != "<one|3><two|2>" {
		t.Errorf("after the purge: %q, want article 1 rendered again and article 2 from the cache", got)
	}
	if got := page(); got != "<one|3><two|2>" {
		t.Errorf("then: %q, want both from the cache", got)
	}
}
