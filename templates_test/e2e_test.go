package templates_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/flosch/pongo2/v6"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/memory"
	"github.com/fragcache/fragcache/tags"
)

var schemes = []cache.KeyScheme{cache.KeySchemeDjango61, cache.KeySchemeLegacy}

// TestInheritanceIncludeLoop renders a child template (extends, blocks)
// whose base caches its nav and includes a footer with a cached fragment,
// and whose content block caches one entry per article in a loop.
func TestInheritanceIncludeLoop(t *testing.T) {
	for _, scheme := range schemes {
		t.Run(scheme.String(), func(t *testing.T) {
			e := newEnv(t, scheme, nil)
			a1, a2, a3 := article{1, "One"}, article{2, "Two <2>"}, article{3, "Three"}
			got := squash(e.render(t, "article_list.html", siteData("News", a1, a2, a3)))
			want := `<html><head><title>News</title></head><body>` +
				`<nav><a href="/">Home</a><a href="/about/">About &amp; us</a></nav>` +
				`<main><ul><li>1. <a href="/a/1/">One</a></li><li>2. <a href="/a/2/">Two &lt;2&gt;</a></li>` +
				`<li>3. <a href="/a/3/">Three</a></li></ul></main>` +
				`<footer>&copy; 2024 Example</footer></body></html>`
			if got != want {
				t.Fatalf("first render:\n%s\nwant\n%s", got, want)
			}
			wantKeys := []string{
				e.key("article", 1), e.key("article", 2), e.key("article", 3),
				e.key("footer", 2024), e.key("nav"),
			}
			slices.Sort(wantKeys)
			if k := e.keys(); !slices.Equal(k, wantKeys) {
				t.Errorf("keys %q, want %q", k, wantKeys)
			}

			// New data: cached fragments stay (nav, footer, known
			// articles, with their frozen loop counters); the title block
			// and a new article render.
			data := siteData("Later", a3, article{4, "Four"}, a1)
			data["links"] = []link{{"/x/", "Changed"}}
			data["owner"] = "Changed"
			got = squash(e.render(t, "article_list.html", data))
			want = `<html><head><title>Later</title></head><body>` +
				`<nav><a href="/">Home</a><a href="/about/">About &amp; us</a></nav>` +
				`<main><ul><li>3. <a href="/a/3/">Three</a></li><li>2. <a href="/a/4/">Four</a></li>` +
				`<li>1. <a href="/a/1/">One</a></li></ul></main>` +
				`<footer>&copy; 2024 Example</footer></body></html>`
			if got != want {
				t.Fatalf("second render:\n%s\nwant\n%s", got, want)
			}
			if s := e.stats("article"); s.Renders != 4 || s.Hits != 2 {
				t.Errorf("article stats %+v", s)
			}
			if s := e.stats("nav"); s.Renders != 1 || s.Hits != 1 {
				t.Errorf("nav stats %+v", s)
			}
		})
	}
}

// TestIncludeOnly: {% include … only %} drops the render context but not
// the set's Globals, so the tag in the included template still finds its
// Fragments.
func TestIncludeOnly(t *testing.T) {
	e := newEnv(t, cache.KeySchemeDjango61, nil)
	if got := squash(e.render(t, "include_only.html", nil)); got != "[<footer>&copy; 1999 Only</footer>]" {
		t.Errorf("got %q", got)
	}
	if k := e.keys(); !slices.Equal(k, []string{e.key("footer", 1999)}) {
		t.Errorf("keys %q", k)
	}
}

func TestNested(t *testing.T) {
	e := newEnv(t, cache.KeySchemeDjango61, nil)
	r := func(n int) string { return squash(e.render(t, "nested.html", pongo2.Context{"n": n})) }
	if got := r(1); got != "<div>outer 1 <span>inner 1</span></div>" {
		t.Fatalf("got %q", got)
	}
	if got := r(2); got != "<div>outer 1 <span>inner 1</span></div>" {
		t.Fatalf("got %q", got)
	}
	// Invalidating the outer fragment re-renders it around the still
	// cached inner one (Django behaves the same).
	if ok, err := e.rd.Fragments().InvalidateFragment(context.Background(), "outer"); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if got := r(3); got != "<div>outer 3 <span>inner 1</span></div>" {
		t.Fatalf("got %q", got)
	}
	for _, name := range []string{"inner", "outer"} {
		if ok, _ := e.rd.Fragments().InvalidateFragment(context.Background(), name); !ok {
			t.Fatalf("%s was not cached", name)
		}
	}
	if got := r(4); got != "<div>outer 4 <span>inner 4</span></div>" {
		t.Fatalf("got %q", got)
	}
}

func TestWith(t *testing.T) {
	e := newEnv(t, cache.KeySchemeDjango61, nil)
	for i, tc := range []struct {
		user string
		n    int
		want string
	}{
		{"alice", 1, "Hello ALICE (1)"},
		{"alice", 2, "Hello ALICE (1)"},
		{"bob", 3, "Hello BOB (3)"},
	} {
		if got := squash(e.render(t, "with.html", pongo2.Context{"user": tc.user, "n": tc.n})); got != tc.want {
			t.Errorf("render %d: %q, want %q", i, got, tc.want)
		}
	}
	want := []string{e.key("greeting", "ALICE"), e.key("greeting", "BOB")}
	slices.Sort(want)
	if k := e.keys(); !slices.Equal(k, want) {
		t.Errorf("keys %q, want %q", k, want)
	}
}

// TestAutoescape: a fragment is stored as rendered: escaped or not
// depending on the autoescape setting in force inside it. The key ignores
// autoescape, so another template reusing the name gets the stored form.
func TestAutoescape(t *testing.T) {
	e := newEnv(t, cache.KeySchemeDjango61, nil)
	data := pongo2.Context{"html": "<b>&</b>"}
	want := "<b>&</b>|&lt;b&gt;&amp;&lt;/b&gt;|<b>&</b>&lt;b&gt;&amp;&lt;/b&gt;"
	for i := 0; i < 2; i++ {
		if got := squash(e.render(t, "autoescape.html", data)); got != want {
			t.Errorf("render %d: %q, want %q", i, got, want)
		}
	}
	// autoescape_reuse.html renders raw_inside with autoescape on, but is
	// served the unescaped fragment stored under autoescape off.
	if got := squash(e.render(t, "autoescape_reuse.html", pongo2.Context{"html": "<i>"})); got != "<b>&</b>" {
		t.Errorf("reuse: %q", got)
	}
}

// TestBlockCollision: a fragment wrapping a {% block %} in a base template
// is shared by every child (Django behaves the same; the key does not
// include the template).
func TestBlockCollision(t *testing.T) {
	e := newEnv(t, cache.KeySchemeDjango61, nil)
	if got := squash(e.render(t, "sidebar_a.html", nil)); got != "<aside>A's sidebar</aside>" {
		t.Errorf("a: %q", got)
	}
	if got := squash(e.render(t, "sidebar_b.html", nil)); got != "<aside>A's sidebar</aside>" {
		t.Errorf("b: %q (expected the collision)", got)
	}
}

// TestBlockSuper: {{ block.Super }} inside a cached fragment in a child
// block.
func TestBlockSuper(t *testing.T) {
	e := newEnv(t, cache.KeySchemeDjango61, nil)
	for i, want := range []string{"<aside>[default]+child 1</aside>", "<aside>[default]+child 1</aside>"} {
		if got := squash(e.render(t, "super_child.html", pongo2.Context{"n": i + 1})); got != want {
			t.Errorf("render %d: %q, want %q", i, got, want)
		}
	}
}

// TestConcurrent renders several templates from 64 goroutines at once
// (run with -race): every output is right and every fragment body
// rendered once per key.
func TestConcurrent(t *testing.T) {
	e := newEnv(t, cache.KeySchemeDjango61, nil)
	if err := e.rd.Preload("article_list.html", "users.html", "nested.html", "with.html", "autoescape.html"); err != nil {
		t.Fatal(err)
	}
	arts := []article{{1, "One"}, {2, "Two"}, {3, "Three"}, {4, "Four"}}
	type user struct {
		ID   int
		Name string
	}
	users := []user{{1, "ann"}, {2, "ben"}, {3, "cy"}}
	jobs := []struct {
		name string
		data pongo2.Context
	}{
		{"article_list.html", siteData("T", arts...)},
		{"users.html", pongo2.Context{"users": users, "lang": "en", "n": 7}},
		{"users.html", pongo2.Context{"users": users, "lang": "fr", "n": 7}},
		{"nested.html", pongo2.Context{"n": 1}},
		{"with.html", pongo2.Context{"user": "zed", "n": 1}},
		{"autoescape.html", pongo2.Context{"html": "<b>"}},
	}
	// The expected outputs: the same renders on a separate cache.
	ref := newEnv(t, cache.KeySchemeDjango61, nil)
	want := make([]string, len(jobs))
	for i, j := range jobs {
		want[i] = ref.render(t, j.name, j.data)
	}

	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := 0; g < 64; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := 0; i < 20; i++ {
				k := (g + i) % len(jobs)
				b, err := e.rd.RenderBytes(nil, jobs[k].name, jobs[k].data)
				if err != nil {
					t.Error(err)
					return
				}
				if string(b) != want[k] {
					t.Errorf("%s: %q, want %q", jobs[k].name, b, want[k])
					return
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	for _, s := range e.rd.Fragments().Stats() {
		// One render per key: article ×4, user_card ×6 (3 users × 2
		// langs), one each for the others.
		keys := map[string]uint64{"article": 4, "user_card": 6}[s.Name]
		if keys == 0 {
			keys = 1
		}
		if s.Renders != keys || s.Errors != 0 {
			t.Errorf("%s: %+v, want %d renders", s.Name, s, keys)
		}
	}
}

// TestInvalidateByName: after InvalidateFragment, the next render
// re-renders the fragment (one key of a loop; the others stay).
func TestInvalidateByName(t *testing.T) {
	for _, scheme := range schemes {
		t.Run(scheme.String(), func(t *testing.T) {
			e := newEnv(t, scheme, nil)
			type user struct {
				ID   int
				Name string
			}
			r := func(n int) string {
				return squash(e.render(t, "users.html", pongo2.Context{"users": []user{{1, "ann"}, {2, "ben"}}, "lang": "en", "n": n}))
			}
			const first = `<div class="card">ann / en / 1</div><div class="card">ben / en / 1</div>`
			if got := r(1); got != first {
				t.Fatalf("got %q", got)
			}
			if got := r(2); got != first {
				t.Fatalf("got %q", got)
			}
			ok, err := e.rd.Fragments().InvalidateFragment(context.Background(), "user_card", 2, "en")
			if !ok || err != nil {
				t.Fatalf("InvalidateFragment = %v, %v", ok, err)
			}
			if got := r(3); got != `<div class="card">ann / en / 1</div><div class="card">ben / en / 3</div>` {
				t.Fatalf("got %q", got)
			}
			if s := e.stats("user_card"); s.Renders != 3 || s.Hits != 3 {
				t.Errorf("stats %+v", s)
			}
		})
	}
}

// TestDeadBackend: with every cache operation failing, pages render in
// full (bodies render every time), and the errors are counted and logged.
func TestDeadBackend(t *testing.T) {
	var logBuf strings.Builder
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logBuf.Write(p)
	}), nil))
	dead := &deadBackend{}
	c, err := cache.New(dead)
	if err != nil {
		t.Fatal(err)
	}
	reg, _ := cache.NewRegistry(map[string]*cache.Cache{cache.DefaultAlias: c})
	frags, err := tags.New(reg, tags.Options{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	// A bare pongo2 set, and the render package, both keep the page up.
	set := pongo2.NewSet("dead", pongo2.NewFSLoader(osDir))
	if err := frags.Install(set); err != nil {
		t.Fatal(err)
	}
	tpl, err := set.FromFile("nested.html")
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= 3; n++ {
		out, err := tpl.Execute(pongo2.Context{"n": n})
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("<div>outer %d <span>inner %d</span></div>", n, n); squash(out) != want {
			t.Errorf("got %q, want %q", out, want)
		}
	}
	for _, s := range frags.Stats() {
		if s.Errors != 3 || s.Renders != 3 || s.Hits != 0 {
			t.Errorf("stats %+v", s)
		}
	}
	mu.Lock()
	logged := logBuf.String()
	mu.Unlock()
	if n := strings.Count(logged, "connection refused"); n != 2 { // one per fragment name per second
		t.Errorf("%d log lines:\n%s", n, logged)
	}

	e := newEnv(t, cache.KeySchemeDjango61, func(cache.Backend) cache.Backend { return &deadBackend{} })
	got := squash(e.render(t, "article_list.html", siteData("Down", article{1, "One"})))
	if !strings.Contains(got, `<li>1. <a href="/a/1/">One</a></li>`) || !strings.Contains(got, "<nav>") || !strings.Contains(got, "&copy; 2024") {
		t.Errorf("page: %q", got)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestDirectPongo2Set uses the tag without the render package: a pongo2
// set over an fs.FS, a Fragments installed in it.
func TestDirectPongo2Set(t *testing.T) {
	store, _ := memory.New(memory.Options{SweepInterval: -1})
	c, _ := cache.New(store)
	defer c.Close()
	reg, _ := cache.NewRegistry(map[string]*cache.Cache{cache.DefaultAlias: c})
	frags, _ := tags.New(reg, tags.Options{})
	set := pongo2.NewSet("direct", pongo2.NewFSLoader(osDir))
	if err := frags.Install(set); err != nil {
		t.Fatal(err)
	}
	tpl, err := set.FromFile("with.html")
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"Hello AMY (1)", "Hello AMY (1)"} {
		out, err := tpl.Execute(pongo2.Context{"user": "amy", "n": i + 1})
		if err != nil {
			t.Fatal(err)
		}
		if squash(out) != want {
			t.Errorf("render %d: %q", i, out)
		}
	}
	if k := store.Keys(); !slices.Equal(k, []string{":1:" + cache.FragmentKey("greeting", "AMY")}) {
		t.Errorf("keys %q", k)
	}
}
