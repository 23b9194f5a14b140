package render

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"github.com/flosch/pongo2/v6"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/memory"
)

// countingStore counts the reads reaching a memory store: Get and
// GetKeyBytes calls, and GetMany calls (each one round trip on a network
// backend).
type countingStore struct {
	*memory.Store
	gets, manys atomic.Int64
	remote      bool
}

func (s *countingStore) Get(ctx context.Context, key string) ([]byte, bool, error) {
	s.gets.Add(1)
	return s.Store.Get(ctx, key)
}

func (s *countingStore) GetKeyBytes(ctx context.Context, key []byte) ([]byte, bool, error) {
	s.gets.Add(1)
	return s.Store.GetKeyBytes(ctx, key)
}

func (s *countingStore) GetMany(ctx context.Context, keys []string) (map[string][]byte, error) {
	s.manys.Add(1)
	return s.Store.GetMany(ctx, keys)
}

func (s *countingStore) reads() (gets, manys int64) { return s.gets.Load(), s.manys.Load() }

// InProcess makes the store count as a network cache (which is
// prefetched) unless remote is false.
func (s *countingStore) InProcess() bool { return !s.remote }

// pfArticle is Go data as a handler passes it: Django names read its fields.
type pfArticle struct {
	ID    int
	Date  string
	Title string
}

// catalog is a category of articles, for nested loops.
type catalog struct {
	Name  string
	Items []pfArticle
}

var prefetchFS = fstest.MapFS{
	"base.html": {Data: []byte(`<side>{% cache 300 sidebar %}S{{ n }}{% endcache %}</side>{% block content %}{% endblock %}{% include "foot.html" %}`)},
	"foot.html": {Data: []byte(`{% cache 60 footer lang %}F{{ n }}{% endcache %}`)},
	"list.html": {Data: []byte(`{% extends "base.html" %}{% block content %}` +
		`{% for a in articles %}{% if a.id %}{% cache 600 article a.id a.date %}<a>{{ a.title }}{{ n }}</a>{% endcache %}{% endif %}{% endfor %}` +
		`{% for c in cats %}<c>{{ c.name }}{% for a in c.items %}{% cache 600 item c.name a.id %}<i>{{ a.title }}{{ n }}</i>{% endcache %}{% endfor %}</c>{% endfor %}` +
		`{% for k, v in tags sorted %}{% cache 600 tag k %}<t>{{ k }}={{ v }}{{ n }}</t>{% endcache %}{% endfor %}` +
		`{% endblock %}`)},
}

func prefetchData(n int) pongo2.Context {
	return pongo2.Context{
		"n":    n,
		"lang": "en",
		"articles": []pfArticle{
			{1, "2026-01-01", "one"}, {2, "2026-01-02", "two"}, {3, "2026-01-03", "three"},
		},
		"cats": []catalog{
			{"x", []pfArticle{{10, "d", "ten"}, {11, "d", "eleven"}}},
			{"y", []pfArticle{{12, "d", "twelve"}}},
		},
		"tags": map[string]int{"go": 1, "django": 2},
	}
}

// newCountingRenderer is a Renderer on a counting memory store, which says
// it is a network cache when remote is set.
func newCountingRenderer(t *testing.T, opts Options, remote bool) (*Renderer, *countingStore) {
	t.Helper()
	st, err := memory.New(memory.Options{SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	cs := &countingStore{Store: st, remote: remote}
	c, err := cache.New(cs)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := cache.NewRegistry(map[string]*cache.Cache{cache.DefaultAlias: c})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	opts.FS, opts.Registry = prefetchFS, reg
	rd, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rd.Close() })
	return rd, cs
}

// TestPrefetch: on a warm cache a render reads its fragments with one
// multi-get for the top-level context (sidebar, footer, the loops over
// plain variables) and one per run of a loop over anything else, and no
// single reads; the output is that of a render without prefetching.
func TestPrefetch(t *testing.T) {
	rd, cs := newCountingRenderer(t, Options{}, true)
	plain, _ := newCountingRenderer(t, Options{NoPrefetch: true}, true)
	render := func(rd *Renderer, n int) string {
		t.Helper()
		b, err := rd.RenderBytes(httptest.NewRequest("GET", "/", nil), "list.html", prefetchData(n))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	cold := render(rd, 1)
	if want := render(plain, 1); cold != want {
		t.Fatalf("cold render with prefetch:\n%s\nwithout:\n%s", cold, want)
	}
	g0, m0 := cs.reads()
	warm := render(rd, 2)
	if warm != cold {
		t.Fatalf("warm render:\n%s\nwant the cached fragments:\n%s", warm, cold)
	}
	if want := render(plain, 2); warm != want {
		t.Fatalf("warm render with prefetch:\n%s\nwithout:\n%s", warm, want)
	}
	g1, m1 := cs.reads()
	// One multi-get at the first tag (sidebar, articles, tags, footer),
	// one per category's items.
	if gets, manys := g1-g0, m1-m0; gets != 0 || manys != 1+2 {
		t.Errorf("warm render: %d single reads and %d multi-gets, want 0 and 3", gets, manys)
	}
	if plan := rd.entryFor(t, "list.html").plan; plan.Tags() != 5 {
		t.Errorf("plan covers %d tags, want 5", plan.Tags())
	}
}

// entryFor returns the parsed entry of name.
func (rd *Renderer) entryFor(t *testing.T, name string) *entry {
	t.Helper()
	e, err := rd.entry(name)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestPrefetchInProcess: an in-process cache is not prefetched (a batch
// saves no round trip).
func TestPrefetchInProcess(t *testing.T) {
	rd, cs := newCountingRenderer(t, Options{}, false)
	rd.RenderBytes(nil, "list.html", prefetchData(1))
	g0, m0 := cs.reads()
	rd.RenderBytes(nil, "list.html", prefetchData(1))
	if g, m := cs.reads(); m != m0 || g-g0 != 10 {
		t.Errorf("warm render of an in-process cache: %d single reads and %d multi-gets, want 10 and 0", g-g0, m-m0)
	}
}

// TestPrefetchConcurrent renders one parsed template from many goroutines
// (run with -race): every render gets the cached page.
func TestPrefetchConcurrent(t *testing.T) {
	rd, _ := newCountingRenderer(t, Options{}, true)
	want, err := rd.RenderBytes(nil, "list.html", prefetchData(1))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				got, err := rd.RenderBytes(nil, "list.html", prefetchData(g*100+i))
				if err != nil || string(got) != string(want) {
					t.Errorf("render %d/%d: %v\n%s", g, i, err, got)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestPrefetchMissThenSameKey: a fragment that appears twice in a render
// and is missing renders once and is a hit the second time, as without
// prefetching.
func TestPrefetchMissThenSameKey(t *testing.T) {
	fsys := fstest.MapFS{"twice.html": {Data: []byte(`{% for i in xs %}{% cache 60 same %}{{ i }}{% endcache %}{% endfor %}`)}}
	for _, noPrefetch := range []bool{false, true} {
		rd, err := New(Options{FS: fsys, NoPrefetch: noPrefetch})
		if err != nil {
			t.Fatal(err)
		}
		got, err := rd.RenderBytes(nil, "twice.html", pongo2.Context{"xs": []int{1, 2, 3}})
		rd.Close()
		if err != nil || string(got) != "111" {
			t.Errorf("NoPrefetch=%v: %q, %v; want 111", noPrefetch, got, err)
		}
	}
}

func ExampleOptions_noPrefetch() {
	rd, err := New(Options{FS: fstest.MapFS{"p.html": {Data: []byte(`{% cache 60 p %}hi{% endcache %}`)}}, NoPrefetch: true})
	if err != nil {
		panic(err)
	}
	defer rd.Close()
	b, _ := rd.RenderBytes(nil, "p.html", nil)
	fmt.Println(string(b))
	// Output: hi
}
