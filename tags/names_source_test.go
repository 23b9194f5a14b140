package tags

import (
	"encoding/json"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/flosch/pongo2/v6"

	"github.com/fragcache/fragcache/cache"
)

type nonASCIIFile struct {
	DjangoVersion string `json:"django_version"`
	Cases         []struct {
		Template   string         `json:"template"`
		Context    map[string]any `json:"context"`
		Output     string         `json:"output"`
		Name       string         `json:"fragment_name"`
		Vary       []any          `json:"vary_on"`
		StoredKeys []string       `json:"stored_keys"`
		Key        string         `json:"make_template_fragment_key"`
	} `json:"cases"`
}

// TestNonASCIINamesGolden renders Django's own templates with fragment names
// pongo2 cannot lex (testdata/nonascii_names.py, run with real Django 3.2
// and 6.1) and checks the output and the stored key.
func TestNonASCIINamesGolden(t *testing.T) {
	for _, version := range []string{"3.2.25", "6.1.1"} {
		b, err := os.ReadFile("testdata/nonascii_names__django-" + version + ".json")
		if err != nil {
			t.Fatal(err)
		}
		var gf nonASCIIFile
		if err := json.Unmarshal(b, &gf); err != nil {
			t.Fatal(err)
		}
		if gf.DjangoVersion != version || len(gf.Cases) < 5 {
			t.Fatalf("%s: %d cases of Django %s", version, len(gf.Cases), gf.DjangoVersion)
		}
		for _, c := range gf.Cases {
			t.Run(version+"/"+c.Template, func(t *testing.T) {
				e := newEnv(t, schemeFor(version), Options{StrictVaryOn: true}, nil)
				src := PrepareSource([]byte(c.Template))
				tpl, err := e.set.FromBytes(src)
				if err != nil {
					t.Fatalf("%s: %v", src, err)
				}
				out, err := tpl.Execute(pongo2.Context(c.Context))
				if err != nil || out != c.Output {
					t.Fatalf("output %q, %v; want %q", out, err, c.Output)
				}
				if got := e.rec["default"].keys(); !slices.Equal(got, c.StoredKeys) {
					t.Errorf("stored %q, want Django's %q", got, c.StoredKeys)
				}
				// Invalidation by the name as Django writes it.
				ok, err := e.frags.InvalidateFragment(t.Context(), c.Name, c.Vary...)
				if err != nil || !ok {
					t.Errorf("InvalidateFragment(%q, %v) = %v, %v", c.Name, c.Vary, ok, err)
				}
			})
		}
	}
}

func TestNonASCIINameWithoutPrepareSource(t *testing.T) {
	e := newEnv(t, cache.KeySchemeLegacy, Options{}, nil)
	for _, src := range []string{
		"{% cache 300 sidébar %}x{% endcache %}",
		"a\n{% cache 300 侧边栏 user %}x{% endcache %}",
		"{% cache 300 a;b %}x{% endcache %}",
	} {
		_, err := e.set.FromString(src)
		if err == nil {
			t.Fatalf("%s parsed", src)
		}
		msg := err.Error()
		for _, want := range []string{"pongo2 v6 cannot read this {% cache %} tag", "tags.PrepareSource", "tags.WrapLoader", "tag:cache"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s: error %q lacks %q", src, msg, want)
			}
		}
		if strings.Contains(msg, "Unclosed") {
			t.Errorf("%s: misleading error %q", src, msg)
		}
	}
}

func TestPrepareSource(t *testing.T) {
	same := []string{
		"{% cache 300 sidebar user.id %}x{% endcache %}",
		`{% cache 300 "sidébar" %}x{% endcache %}`, // a string: pongo2 lexes it
		"{% verbatim %}{% cache 300 sidébar %}{% endverbatim %}",
		"{# {% cache 300 sidébar %} #}",
		"<p>sidébar {% if x %}é{% endif %}</p>",
		"{% cache 300 side-bar.x %}{% endcache %}",
	}
	for _, s := range same {
		if got := string(PrepareSource([]byte(s))); got != s {
			t.Errorf("PrepareSource(%q) = %q", s, got)
		}
	}
	for src, want := range map[string]string{
		"{% cache 300 sidébar %}é{% endcache %}":         "{% cache 300 _fragcache_name_736964c3a9626172 %}é{% endcache %}",
		"{%- cache\t1 é x %}{% endcache é é %}":          "{%- cache\t1 _fragcache_name_c3a9 x %}{% endcache _fragcache_name_c3a9 _fragcache_name_c3a9 %}",
		"{% cache 300 a;b%}{%endcache%}":                 "{% cache 300 _fragcache_name_613b62%}{%endcache%}",
		"x\n{% cache t 侧边栏 -%}\n{% endcache %}\n{{ é }}": "x\n{% cache t _fragcache_name_e4bea7e8beb9e6a08f -%}\n{% endcache %}\n{{ é }}",
	} {
		if got := string(PrepareSource([]byte(src))); got != want {
			t.Errorf("PrepareSource(%q)\n = %q\nwant %q", src, got, want)
		}
	}
}

type mapLoader map[string]string

func (m mapLoader) Abs(_, name string) string { return name }
func (m mapLoader) Get(name string) (io.Reader, error) {
	s, ok := m[name]
	if !ok {
		return nil, os.ErrNotExist
	}
	return strings.NewReader(s), nil
}

func TestWrapLoader(t *testing.T) {
	e := newEnv(t, cache.KeySchemeLegacy, Options{}, nil)
	set := pongo2.NewSet("wrap", WrapLoader(mapLoader{"a.html": "{% cache 300 sidébar %}x{% endcache %}"}))
	if err := e.frags.Install(set); err != nil {
		t.Fatal(err)
	}
	tpl, err := set.FromFile("a.html")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := tpl.Execute(nil); err != nil || out != "x" {
		t.Fatalf("%q, %v", out, err)
	}
	if ok, err := e.frags.InvalidateFragment(t.Context(), "sidébar"); !ok || err != nil {
		t.Errorf("InvalidateFragment: %v, %v", ok, err)
	}
	if _, err := set.FromFile("missing.html"); err == nil {
		t.Error("missing template loaded")
	}
}

// FuzzPrepareSource: PrepareSource never panics, is idempotent, and keeps
// the lines of the source.
func FuzzPrepareSource(f *testing.F) {
	for _, s := range []string{
		"{% cache 300 sidébar %}x{% endcache %}", "{% cache 1 'a b' é %}", "{% cache 1 \"é\\\"", "{% endcache é",
		"{% verbatim %}{% cache 1 é %}", "{# {% cache 1 é", "{%- cache -%}", "{% cache\n1 é %}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := PrepareSource([]byte(s))
		if again := PrepareSource(out); string(again) != string(out) {
			t.Errorf("not idempotent: %q → %q → %q", s, out, again)
		}
		if strings.Count(string(out), "\n") != strings.Count(s, "\n") {
			t.Errorf("lines changed: %q → %q", s, out)
		}
	})
}
