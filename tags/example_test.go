package tags_test

import (
	"context"
	"fmt"
	"log"

	"github.com/flosch/pongo2/v6"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/memory"
	"github.com/fragcache/fragcache/tags"
)

// A fragment rendered twice: the second render is served from the cache
// (the body is not executed, so the new data does not show), until the
// fragment is invalidated by name and vary-on values.
func Example() {
	c, err := memory.NewCache(memory.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	reg, err := cache.NewRegistry(map[string]*cache.Cache{cache.DefaultAlias: c})
	if err != nil {
		log.Fatal(err)
	}
	frags, err := tags.New(reg, tags.Options{})
	if err != nil {
		log.Fatal(err)
	}
	set := pongo2.NewSet("example", pongo2.MustNewLocalFileSystemLoader(""))
	if err := frags.Install(set); err != nil {
		log.Fatal(err)
	}
	tpl, err := set.FromString(`<h1>{{ user }}</h1>{% cache 500 sidebar user %}<p>{{ count }} messages</p>{% endcache %}`)
	if err != nil {
		log.Fatal(err)
	}

	render := func(count int) {
		out, err := tpl.Execute(pongo2.Context{"user": "alice", "count": count})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(out)
	}
	render(1) // miss: renders and stores the fragment
	render(2) // hit: the stored fragment

	// Django: cache.delete(make_template_fragment_key("sidebar", ["alice"]))
	removed, err := frags.InvalidateFragment(context.Background(), "sidebar", "alice")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("invalidated:", removed)
	render(3) // miss again

	fmt.Println(cache.FragmentKey("sidebar", "alice"))
	st := frags.Stats()[0]
	fmt.Printf("%s: %d hits, %d misses, %d renders\n", st.Name, st.Hits, st.Misses, st.Renders)
	// Output:
	// <h1>alice</h1><p>1 messages</p>
	// <h1>alice</h1><p>1 messages</p>
	// invalidated: true
	// <h1>alice</h1><p>3 messages</p>
	// template.cache.sidebar.6496a001d04a089af74acbb2476031e4
	// sidebar: 1 hits, 2 misses, 2 renders
}
