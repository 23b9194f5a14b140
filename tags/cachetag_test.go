package tags

import (
	"context"
	"slices"
	"testing"

	"github.com/flosch/pongo2/v6"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/memory"
)

// TestCacheTagPurge renders fragments declaring content tags, nested and
// in a loop, and checks that the tags flow to the request (on a render and
// on a hit), and that PurgeTag deletes exactly the fragments that
// declared the tag.
func TestCacheTagPurge(t *testing.T) {
	st, _ := memory.New(memory.Options{})
	c, _ := cache.New(st)
	reg, _ := cache.NewRegistry(map[string]*cache.Cache{cache.DefaultAlias: c})
	f, err := New(reg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	set := pongo2.NewSet(t.Name(), noLoader{})
	if err := f.Install(set); err != nil {
		t.Fatal(err)
	}
	tpl, err := set.FromString(`{% cache 60 list %}{% for a in articles %}{% cache 60 article a.ID %}{% cachetag "article:"|add:a.ID "author:"|add:a.Author %}<{{ a.ID }}>{% endcache %}{% endfor %}{% endcache %}{% cache 60 plain %}p{% endcache %}`)
	if err != nil {
		t.Fatal(err)
	}
	type article struct {
		ID     int
		Author string
	}
	render := func() []string {
		ctx, tags := cache.WithTags(context.Background())
		out, err := tpl.Execute(pongo2.Context{RequestContextKey: ctx, "articles": []article{{1, "ann"}, {2, "bob"}}})
		if err != nil || out != "<1><2>p" {
			t.Fatalf("render = %q, %v", out, err)
		}
		return tags.Tags()
	}
	want := []string{"article:1", "article:2", "author:ann", "author:bob"}
	if got := render(); !slices.Equal(got, want) {
		t.Fatalf("tags of the first render %q, want %q", got, want)
	}
	if got := render(); !slices.Equal(got, want) { // every fragment hits
		t.Fatalf("tags of a hit %q, want %q", got, want)
	}
	ctx := context.Background()
	n, err := f.PurgeTag(ctx, "article:2")
	if err != nil || n != 2 { // the article fragment and the list enclosing it
		t.Fatalf("PurgeTag = %d, %v; want 2", n, err)
	}
	for key, want := range map[string]bool{
		cache.FragmentKey("article", 1): true,
		cache.FragmentKey("article", 2): false,
		cache.FragmentKey("list"):       false,
		cache.FragmentKey("plain"):      true,
	} {
		if has, _ := c.Has(ctx, key); has != want {
			t.Errorf("%s present = %v, want %v", key, has, want)
		}
	}
	if got := render(); !slices.Equal(got, want) {
		t.Fatalf("tags after the purge %q, want %q", got, want)
	}
	if n, err := f.PurgeTag(ctx, "author:ann"); err != nil || n != 2 {
		t.Fatalf("PurgeTag(author:ann) = %d, %v; want 2", n, err)
	}
	if _, err := set.FromString(`{% cachetag %}`); err == nil {
		t.Error("{% cachetag %} without a tag parsed")
	}
	bad, _ := set.FromString(`{% cachetag "two words" %}`)
	if _, err := bad.Execute(nil); err == nil {
		t.Error("a tag with a space rendered")
	}
}
