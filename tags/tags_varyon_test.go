package tags

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/flosch/pongo2/v6"

	"github.com/fragcache/fragcache/cache"
)

// TestVaryOnDjangoNames: a Go struct's fields and methods vary the key
// under Django names, so each user has a fragment of their own, and
// InvalidateFragment with the value deletes it.
func TestVaryOnDjangoNames(t *testing.T) {
	e := newEnv(t, cache.KeySchemeLegacy, Options{}, nil)
	src := `{% cache 500 sidebar user.username user.id user.get_full_name %}{{ user.Username }}{% endcache %}`
	alice, bob := newNameUser(), newNameUser()
	bob.Username, bob.ID, bob.first = "bob", 8, "Bob"
	if out := e.mustRender(t, src, pongo2.Context{"user": alice}); out != "alice" {
		t.Fatalf("alice got %q", out)
	}
	if out := e.mustRender(t, src, pongo2.Context{"user": bob}); out != "bob" {
		t.Fatalf("bob got %q", out)
	}
	if got := len(e.rec["default"].keys()); got != 2 {
		t.Errorf("%d keys, want 2", got)
	}
	ok, err := e.frags.InvalidateFragment(t.Context(), "sidebar", "alice", 7, "Alice Liddell")
	if err != nil || !ok {
		t.Errorf("InvalidateFragment: %v, %v", ok, err)
	}
	if n := e.frags.UnresolvedVaryOn(); n != 0 {
		t.Errorf("%d unresolved", n)
	}
}

func newLogBuffer() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(slog.NewTextHandler(&buf, nil)), &buf
}

// TestUnresolvedVaryOn: an argument with an absent name is keyed as "", as
// in Django, counted on every render and logged once per template
// position.
func TestUnresolvedVaryOn(t *testing.T) {
	logger, logs := newLogBuffer()
	e := newEnv(t, cache.KeySchemeLegacy, Options{Logger: logger}, nil)
	dir := t.TempDir()
	e.set = pongo2.NewSet("varyon", pongo2.MustNewLocalFileSystemLoader(dir))
	if err := e.frags.Install(e.set); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "side.html", "<p>\n{% cache 500 sidebar user.usernme %}{{ user.Username }}{% endcache %}\n"+
		"{% cache 500 other nope.x %}{% endcache %}")
	tpl, err := e.set.FromFile("side.html")
	if err != nil {
		t.Fatal(err)
	}
	alice, bob := newNameUser(), newNameUser()
	bob.Username = "bob"
	for i, u := range []*nameUser{alice, bob, alice} {
		out, err := tpl.Execute(pongo2.Context{"user": u})
		if err != nil {
			t.Fatal(err)
		}
		// Django's behaviour, kept: one shared fragment.
		if !strings.Contains(out, "alice") {
			t.Errorf("render %d: %q", i, out)
		}
	}
	if n := e.frags.UnresolvedVaryOn(); n != 6 {
		t.Errorf("UnresolvedVaryOn = %d, want 6", n)
	}
	for _, s := range e.frags.Stats() {
		if s.Unresolved != 3 {
			t.Errorf("%s: Unresolved = %d, want 3", s.Name, s.Unresolved)
		}
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d log lines, want one per position:\n%s", len(lines), logs)
	}
	for i, want := range []string{"line=2", "line=3"} {
		for _, w := range []string{"does not resolve", "template=", "side.html", want, "expression="} {
			if !strings.Contains(lines[i], w) {
				t.Errorf("log line %q lacks %q", lines[i], w)
			}
		}
	}
	if !strings.Contains(lines[0], "user.usernme") || !strings.Contains(lines[1], "nope.x") {
		t.Errorf("log lines %q", lines)
	}
	if ok, _ := e.frags.InvalidateFragment(t.Context(), "sidebar", ""); !ok {
		t.Error("the shared fragment is not keyed as the empty string")
	}
}

// TestUnresolvedVaryOnNilIsPresent: a name whose value is nil (a nil map
// value, a nil pointer, a nil interface, nil in the context) resolves.
func TestUnresolvedVaryOnNilIsPresent(t *testing.T) {
	logger, logs := newLogBuffer()
	e := newEnv(t, cache.KeySchemeLegacy, Options{Logger: logger, StrictVaryOn: true}, nil)
	ctx := pongo2.Context{"u": newNameUser(), "nilval": nil, "m": map[string]any{"k": nil}}
	for _, arg := range []string{"nilval", "nilval.x", "m.k", "u.nil_ptr", "u.nil_ptr.username", "u.nil_iface", "u.nil_iface.x"} {
		if _, err := e.render(t, "{% cache 60 f "+arg+" %}x{% endcache %}", ctx); err != nil {
			t.Errorf("%s: %v", arg, err)
		}
	}
	if n := e.frags.UnresolvedVaryOn(); n != 0 || logs.Len() != 0 {
		t.Errorf("%d unresolved; logs %s", n, logs)
	}
}

// TestStrictVaryOn: with StrictVaryOn, an unresolved argument is a render
// error naming the template, line and expression; so is an ambiguous name.
func TestStrictVaryOn(t *testing.T) {
	e := newEnv(t, cache.KeySchemeLegacy, Options{StrictVaryOn: true}, nil)
	dir := t.TempDir()
	e.set = pongo2.NewSet("strict", pongo2.MustNewLocalFileSystemLoader(dir))
	if err := e.frags.Install(e.set); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "side.html", "<p>\n\n{% cache 500 sidebar   request.user.usernme %}x{% endcache %}")
	writeFile(t, dir, "amb.html", "{% cache 500 sidebar amb.user_id %}x{% endcache %}")
	writeFile(t, dir, "ok.html", "{% cache 500 sidebar request.user.username %}x{% endcache %}")
	ctx := pongo2.Context{"request": map[string]any{"user": newNameUser()}, "amb": nameAmbiguous{}}
	for name, wants := range map[string][]string{
		"side.html": {"side.html", "Line 3", "Col 24", "request.user.usernme", `"usernme"`, "*tags.nameUser", "does not resolve", "tag:cache", "sidebar"},
		"amb.html":  {"amb.html", "Line 1", "amb.user_id", "ambiguous", "fields UserID and UserId"},
	} {
		tpl, err := e.set.FromFile(name)
		if err != nil {
			t.Fatal(err)
		}
		_, err = tpl.Execute(ctx)
		var pe *pongo2.Error
		if !errors.As(err, &pe) {
			t.Fatalf("%s: error %v", name, err)
		}
		for _, w := range wants {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", name, err, w)
			}
		}
	}
	tpl, err := e.set.FromFile("ok.html")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := tpl.Execute(ctx); err != nil || out != "x" {
		t.Errorf("ok.html: %q, %v", out, err)
	}
	if len(e.rec["default"].keys()) != 1 {
		t.Errorf("stored %q", e.rec["default"].keys())
	}
}

// TestHitPathAllocsVaryVars: plain dotted vary-on variables holding
// strings and numbers from maps cost no allocation on a hit.
func TestHitPathAllocsVaryVars(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	n, ec := hitNode(t, "600 sidebar user.id lang")
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

// TestNoneValuesGolden: a vary-on or timeout variable that is there and
// nil is Python's None (keyed "None"; a timeout of None caches forever),
// while a missing name or a nil met on the way is "" — as real Django 3.2
// and 6.1 do (testdata/none_values.py).
func TestNoneValuesGolden(t *testing.T) {
	for _, version := range []string{"3.2.25", "6.1.1"} {
		b, err := os.ReadFile("testdata/none_values__django-" + version + ".json")
		if err != nil {
			t.Fatal(err)
		}
		var gf struct {
			DjangoVersion string `json:"django_version"`
			Cases         []struct {
				Template   string         `json:"template"`
				Context    map[string]any `json:"context"`
				Output     string         `json:"output"`
				StoredKeys []string       `json:"stored_keys"`
				Forever    []bool         `json:"forever"`
			} `json:"cases"`
		}
		if err := json.Unmarshal(b, &gf); err != nil {
			t.Fatal(err)
		}
		if gf.DjangoVersion != version || len(gf.Cases) < 8 {
			t.Fatalf("%s: %d cases of Django %s", version, len(gf.Cases), gf.DjangoVersion)
		}
		for _, c := range gf.Cases {
			t.Run(version+"/"+c.Template, func(t *testing.T) {
				e := newEnv(t, schemeFor(version), Options{}, nil)
				out, err := e.render(t, c.Template, pongo2.Context(c.Context))
				if err != nil || out != c.Output {
					t.Fatalf("%v: %q, %v; want %q", c.Context, out, err, c.Output)
				}
				keys := e.rec["default"].keys()
				if !slices.Equal(keys, c.StoredKeys) {
					t.Fatalf("%v: stored %q, want Django's %q", c.Context, keys, c.StoredKeys)
				}
				if forever := e.rec["default"].expiryMinusNow(keys[0]) == nil; forever != c.Forever[0] {
					t.Errorf("%v: forever %v, want %v", c.Context, forever, c.Forever[0])
				}
			})
		}
	}
}
