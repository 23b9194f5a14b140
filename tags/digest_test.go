package tags

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flosch/pongo2/v6"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/memory"
)

// digestSet writes files to a new directory and returns a template set on
// it with Fragments installed (TemplateDigests on), over a memory cache.
func digestSet(t *testing.T, files map[string]string) (*pongo2.TemplateSet, *cache.Cache) {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	st, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := cache.New(st)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := cache.NewRegistry(map[string]*cache.Cache{cache.DefaultAlias: c})
	if err != nil {
		t.Fatal(err)
	}
	f, err := New(reg, Options{TemplateDigests: true})
	if err != nil {
		t.Fatal(err)
	}
	set := pongo2.NewSet(t.Name(), pongo2.MustNewLocalFileSystemLoader(dir))
	if err := f.Install(set); err != nil {
		t.Fatal(err)
	}
	return set, c
}

// TestTemplateDigests checks that the digest changes exactly when the
// fragment's own source or a template it includes changes, and that the
// tag stores under the key TemplateDigest predicts.
func TestTemplateDigests(t *testing.T) {
	base := map[string]string{
		"page.html":  `{% load cache %}head {% cache 60 side user %}<{{ user }}>{% include "inc.html" %}{% endcache %} tail {{ x }}`,
		"inc.html":   `inc {% include "deep.html" %}`,
		"deep.html":  `deep`,
		"other.html": `other`,
	}
	digest := func(files map[string]string) (string, *cache.Cache, *pongo2.TemplateSet) {
		set, c := digestSet(t, files)
		tpl, err := set.FromFile("page.html")
		if err != nil {
			t.Fatal(err)
		}
		d, err := TemplateDigest(tpl, "side")
		if err != nil {
			t.Fatal(err)
		}
		return d, c, set
	}
	d0, c, set := digest(base)
	// The tag stores under FragmentKey(name, vary..., digest).
	tpl, _ := set.FromFile("page.html")
	if out, err := tpl.Execute(pongo2.Context{"user": "bob"}); err != nil || out != "head <bob>inc deep tail " {
		t.Fatalf("render = %q, %v", out, err)
	}
	if ok, _ := c.Has(context.Background(), cache.FragmentKey("side", "bob", d0)); !ok {
		t.Fatal("no fragment under FragmentKey(side, bob, digest)")
	}
	if ok, _ := c.Has(context.Background(), cache.FragmentKey("side", "bob")); ok {
		t.Fatal("a fragment under the key without the digest")
	}
	with := func(name, src string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		m[name] = src
		return m
	}
	for _, tc := range []struct {
		what    string
		files   map[string]string
		changes bool
	}{
		{"the text around the tag", with("page.html", `{% load cache %}HEAD {% cache 60 side user %}<{{ user }}>{% include "inc.html" %}{% endcache %} TAIL {{ y }}`), false},
		{"an unrelated template", with("other.html", `changed`), false},
		{"the body", with("page.html", `{% load cache %}head {% cache 60 side user %}[{{ user }}]{% include "inc.html" %}{% endcache %} tail {{ x }}`), true},
		{"an included template", with("inc.html", `inc! {% include "deep.html" %}`), true},
		{"a template included by an included one", with("deep.html", `deeper`), true},
	} {
		d, _, _ := digest(tc.files)
		if (d != d0) != tc.changes {
			t.Errorf("%s: digest changed = %v, want %v", tc.what, d != d0, tc.changes)
		}
	}
	if _, err := TemplateDigest(tpl, "nope"); err == nil {
		t.Error("TemplateDigest of a missing fragment: no error")
	}
}

// TestTemplateDigestDynamicInclude checks that an include of a variable is
// left out of the digest (its text changes nothing) and logged once.
func TestTemplateDigestDynamicInclude(t *testing.T) {
	dir := t.TempDir()
	for name, src := range map[string]string{
		"page.html": `{% load cache %}{% cache 60 side %}{% include which %}{% endcache %}`,
		"a.html":    "A",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var logs bytes.Buffer
	st, _ := memory.New(memory.Options{})
	c, _ := cache.New(st)
	reg, _ := cache.NewRegistry(map[string]*cache.Cache{cache.DefaultAlias: c})
	f, err := New(reg, Options{TemplateDigests: true, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	set := pongo2.NewSet(t.Name(), pongo2.MustNewLocalFileSystemLoader(dir))
	if err := f.Install(set); err != nil {
		t.Fatal(err)
	}
	tpl, err := set.FromFile("page.html")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if out, err := tpl.Execute(pongo2.Context{"which": "a.html"}); err != nil || out != "A" {
			t.Fatalf("render = %q, %v", out, err)
		}
	}
	if n := strings.Count(logs.String(), "by a variable name"); n != 1 {
		t.Errorf("%d log lines about the dynamic include, want 1:\n%s", n, logs.String())
	}
}
