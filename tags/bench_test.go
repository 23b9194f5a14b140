package tags

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/flosch/pongo2/v6"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/memory"
)

// The article-list page of the benchmarks: about 2 KB of static HTML around
// an 8 KB list.
const (
	pageHead = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<link rel="stylesheet" href="/static/site.css"><script src="/static/site.js" defer></script></head>
<body><header class="site-header"><nav><ul class="menu">
<li><a href="/">Home</a></li><li><a href="/articles/">Articles</a></li><li><a href="/about/">About</a></li>
<li><a href="/contact/">Contact</a></li><li><a href="/archive/">Archive</a></li></ul></nav></header>
<main class="content"><h1>{{ title }}</h1>
<p class="intro">Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore
et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea
commodo consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla
pariatur. Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia deserunt mollit anim id est.</p>
`
	pageList = `<ul class="articles">{% for a in articles %}
<li class="article"><a href="/articles/{{ a.ID }}/">{{ a.Title }}</a> <span class="by">{{ a.Author }}</span></li>{% endfor %}
</ul>`
	pageFoot = `
</main><footer class="site-footer"><p>Copyright 2024 Example Corp. All rights reserved. Lorem ipsum dolor sit
amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim
ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat.</p>
<p class="links"><a href="/privacy/">Privacy</a> | <a href="/terms/">Terms</a> | <a href="/rss/">RSS</a></p></footer>
</body></html>
`
	pageCached = pageHead + `{% cache 600 article_list %}` + pageList + `{% endcache %}` + pageFoot
	pagePlain  = pageHead + `{{ html|safe }}` + pageFoot
	pageNone   = pageHead + pageList + pageFoot
)

type article struct {
	ID     int
	Title  string
	Author string
}

func benchArticles() []article {
	out := make([]article, 68)
	for i := range out {
		out[i] = article{ID: 1000 + i, Title: fmt.Sprintf("Article number %d about caching", i), Author: "Jane Doe"}
	}
	return out
}

type benchPage struct {
	cached, plain, none *pongo2.Template
	data, plainData     pongo2.Context
}

func newBenchPage(tb testing.TB) *benchPage {
	c, err := memory.NewCache(memory.Options{SweepInterval: -1})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	reg, _ := cache.NewRegistry(map[string]*cache.Cache{"default": c})
	f, _ := New(reg, Options{})
	set := newSet(tb, f)
	p := &benchPage{}
	for _, x := range []struct {
		dst **pongo2.Template
		src string
	}{{&p.cached, pageCached}, {&p.plain, pagePlain}, {&p.none, pageNone}} {
		if *x.dst, err = set.FromString(x.src); err != nil {
			tb.Fatal(err)
		}
	}
	p.data = pongo2.Context{"title": "Articles", "articles": benchArticles()}
	list, err := set.FromString(pageList)
	if err != nil {
		tb.Fatal(err)
	}
	html, err := list.Execute(p.data)
	if err != nil {
		tb.Fatal(err)
	}
	p.plainData = pongo2.Context{"title": "Articles", "html": html}
	return p
}

// TestBenchPage checks that the three benchmark pages render the same
// bytes, about 10 KB of which 8 KB is the list.
func TestBenchPage(t *testing.T) {
	p := newBenchPage(t)
	var outs []string
	for i := 0; i < 2; i++ { // miss, then hit
		out, err := p.cached.Execute(p.data)
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, out)
	}
	plain, _ := p.plain.Execute(p.plainData)
	none, _ := p.none.Execute(p.data)
	outs = append(outs, plain, none)
	for _, o := range outs[1:] {
		if o != outs[0] {
			t.Fatalf("pages differ:\n%s\n----\n%s", outs[0], o)
		}
	}
	list := len(p.plainData["html"].(string))
	if len(none) < 9000 || len(none) > 12000 || list < 7500 || list > 9000 {
		t.Errorf("page %d bytes, list %d bytes", len(none), list)
	}
}

func benchRender(b *testing.B, tpl *pongo2.Template, ctx pongo2.Context) {
	var buf bytes.Buffer
	if err := tpl.ExecuteWriter(ctx, &buf); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf.Reset()
		if err := tpl.ExecuteWriter(ctx, &buf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPage compares the ~10 KB article page rendered with its 8 KB
// list served from {% cache %} (memory backend, warm), with the list's HTML
// given as a plain string ({{ html|safe }}), and without any cache.
func BenchmarkPage(b *testing.B) {
	p := newBenchPage(b)
	b.Run("fragment-hit", func(b *testing.B) { benchRender(b, p.cached, p.data) })
	b.Run("plain-string", func(b *testing.B) { benchRender(b, p.plain, p.plainData) })
	b.Run("uncached", func(b *testing.B) { benchRender(b, p.none, p.data) })
}

// hitNode parses a {% cache %} tag (through {% cachespy %}), warms its entry
// and returns the node with an execution context, for measuring the tag's
// own hit path without pongo2's per-template setup.
func hitNode(tb testing.TB, args string) (*cacheNode, *pongo2.ExecutionContext) {
	c, err := memory.NewCache(memory.Options{SweepInterval: -1})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	reg, _ := cache.NewRegistry(map[string]*cache.Cache{"default": c})
	f, _ := New(reg, Options{})
	set := newSet(tb, f)
	lastNode.Store(nil)
	tpl, err := set.FromString("{% cachespy " + args + " %}" + strings.Repeat("x", 1000) + "{% endcache %}")
	if err != nil {
		tb.Fatal(err)
	}
	n := lastNode.Load()
	ctxData := pongo2.Context{"user": map[string]any{"id": 42}, "lang": "en", "t": 600}
	if _, err := tpl.Execute(ctxData); err != nil { // store the fragment
		tb.Fatal(err)
	}
	ec := &pongo2.ExecutionContext{
		Public:  pongo2.Context{ContextKey: f, "user": ctxData["user"], "lang": "en", "t": 600},
		Private: pongo2.Context{},
	}
	var buf bytes.Buffer
	if err := n.Execute(ec, &buf); err != nil || buf.Len() != 1000 {
		tb.Fatalf("hit: %d bytes, %v", buf.Len(), err)
	}
	if st := f.Stats(); len(st) != 1 || st[0].Hits != 1 {
		tb.Fatalf("not a hit: %+v", st)
	}
	return n, ec
}

// TestHitPathAllocs: the tag's own hit path does not allocate for literal
// arguments on the memory backend.
func TestHitPathAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	n, ec := hitNode(t, "600 sidebar 1 \"en\"")
	var buf bytes.Buffer
	allocs := testing.AllocsPerRun(200, func() {
		buf.Reset()
		if err := n.Execute(ec, &buf); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per hit", allocs)
	}
}

// BenchmarkTagHit measures the tag's own hit path (evaluate, key, lookup,
// write a 1000-byte fragment), without pongo2's per-template setup.
func BenchmarkTagHit(b *testing.B) {
	for _, bc := range []struct{ name, args string }{
		{"literals", `600 sidebar 1 "en"`},
		{"vary-vars", `600 sidebar user.id lang`},
		{"timeout-var", `t sidebar`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			n, ec := hitNode(b, bc.args)
			var buf bytes.Buffer
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				buf.Reset()
				if err := n.Execute(ec, &buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
