package tags

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/flosch/pongo2/v6"

	"github.com/fragcache/fragcache/cache"
)

// TestBuiltinsConcurrentRenders renders one parsed template holding every
// tag this package replaces (cycle, cycle as/silent, {% cycle name %},
// resetcycle, ifchanged with and without arguments and else, include with
// a variable naming a template with its own cycles and ifchanged, nested
// for loops) from many goroutines, with three contexts, and compares every
// output with Django's (testdata/django, cases with id "concurrency").
func TestBuiltinsConcurrentRenders(t *testing.T) {
	var cases []djangoCase
	for _, c := range loadGolden(t, "builtins.golden32.json") {
		if c.ID == "concurrency" {
			cases = append(cases, c)
		}
	}
	if len(cases) < 2 {
		t.Fatalf("%d concurrency cases in the golden file", len(cases))
	}
	set := goldenSet(t, cases[0].Files)
	tpl, err := set.FromString(cases[0].T)
	if err != nil {
		t.Fatal(err)
	}
	ctxs := make([]pongo2.Context, len(cases))
	for i, c := range cases {
		if c.T != cases[0].T || c.Out == nil {
			t.Fatalf("case %d: not the same template, or no output", i)
		}
		ctxs[i] = jsonContext(t, c.Ctx)
	}
	const goroutines, renders = 8, 10400
	var wrong, done atomic.Int64
	var firstErr sync.Once
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range renders / goroutines {
				k := (g + i) % len(cases)
				got, err := tpl.Execute(ctxs[k])
				done.Add(1)
				if err != nil || got != *cases[k].Out {
					wrong.Add(1)
					firstErr.Do(func() { t.Errorf("context %d: got %q, %v\nwant %q", k, got, err, *cases[k].Out) })
				}
			}
		}()
	}
	wg.Wait()
	if n := wrong.Load(); n != 0 {
		t.Errorf("%d wrong outputs in %d renders", n, done.Load())
	}
	if done.Load() < 10000 {
		t.Errorf("only %d renders", done.Load())
	}
}

// TestIfchangedWithoutElse: pongo2's {% ifchanged x %} without
// {% else %} panicked on every render where x had not changed.
func TestIfchangedWithoutElse(t *testing.T) {
	set := goldenSet(t, nil)
	for _, src := range []string{
		`{% for i in l %}{% ifchanged i %}{{ i }}{% endifchanged %}{% endfor %}`,
		`{% for i in l %}{% ifchanged %}{{ i }}{% endifchanged %}{% endfor %}`,
	} {
		got, err := renderString(set, src, pongo2.Context{"l": []int{1, 1, 2, 2, 1}})
		if err != nil || got != "121" {
			t.Errorf("%s = %q, %v; want %q", src, got, err, "121")
		}
	}
}

// TestIncludeVariableWithoutLoader: in a set without an IncludeLoader,
// {% include var %} still works as pongo2's did.
func TestIncludeVariableWithoutLoader(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.html", "A{{ v }}")
	set := pongo2.NewSet(t.Name(), pongo2.MustNewLocalFileSystemLoader(dir))
	for src, want := range map[string]string{
		`{% include n %}`:               "A1",
		`{% include n with v=2 %}`:      "A2",
		`{% include n with v=3 only %}`: "A3",
		`{% include "a.html" %}`:        "A1",
		`{% include m if_exists %}x`:    "x",
		`{% include n only %}`:          "needs an IncludeLoader",
	} {
		got, err := renderString(set, src, pongo2.Context{"n": "a.html", "m": "nope.html", "v": 1})
		if err != nil {
			got = err.Error()
		}
		if got != want && !(err != nil && contains(got, want)) {
			t.Errorf("%s = %q; want %q", src, got, want)
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// countingLoader is an IncludeLoader that counts its calls.
type countingLoader struct {
	IncludeLoader
	calls atomic.Int64
}

func (c *countingLoader) IncludeTemplate(name string) (*pongo2.Template, error) {
	c.calls.Add(1)
	return c.IncludeLoader.IncludeTemplate(name)
}

// TestIncludeLoaderBinding: a Fragments installed in a set serves that
// set's variable includes (Options.IncludeLoader when given), adding no
// Globals key; a second set gets its own loader under IncludeLoaderKey.
func TestIncludeLoaderBinding(t *testing.T) {
	e := newEnv(t, cache.KeySchemeDjango61, Options{}, nil)
	fr, err := New(e.reg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	dirA, dirB := t.TempDir(), t.TempDir()
	writeFile(t, dirA, "x.html", "from A")
	writeFile(t, dirB, "x.html", "from B")
	setA := pongo2.NewSet("binding-a", pongo2.MustNewLocalFileSystemLoader(dirA))
	setB := pongo2.NewSet("binding-b", pongo2.MustNewLocalFileSystemLoader(dirB))
	for _, set := range []*pongo2.TemplateSet{setA, setB} {
		if err := fr.Install(set); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := setA.Globals[IncludeLoaderKey]; ok {
		t.Error("the first set got an IncludeLoaderKey entry")
	}
	if _, ok := setB.Globals[IncludeLoaderKey].(IncludeLoader); !ok {
		t.Error("the second set has no IncludeLoader of its own")
	}
	for set, want := range map[*pongo2.TemplateSet]string{setA: "from A", setB: "from B"} {
		if got, err := renderString(set, `{% include n %}`, pongo2.Context{"n": "x.html"}); err != nil || got != want {
			t.Errorf("got %q, %v; want %q", got, err, want)
		}
	}

	loader := &countingLoader{IncludeLoader: SetIncludeLoader(setA)}
	f, err := New(e.reg, Options{IncludeLoader: loader})
	if err != nil {
		t.Fatal(err)
	}
	setC := pongo2.NewSet("binding-c", pongo2.MustNewLocalFileSystemLoader(dirB))
	if err := f.Install(setC); err != nil {
		t.Fatal(err)
	}
	if got, err := renderString(setC, `{% for i in "ab" %}{% include n %}{% endfor %}`, pongo2.Context{"n": "x.html"}); err != nil || got != "from Afrom A" {
		t.Errorf("with Options.IncludeLoader: got %q, %v", got, err)
	}
	if n := loader.calls.Load(); n != 2 {
		t.Errorf("Options.IncludeLoader called %d times, want 2", n)
	}
}
