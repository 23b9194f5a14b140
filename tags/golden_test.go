package tags

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/flosch/pongo2/v6"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/internal/golden"
)

type goldenFile struct {
	DjangoVersion string            `json:"django_version"`
	Template      []goldenTemplate  `json:"template"`
	Behaviour     []goldenBehaviour `json:"behaviour"`
}

type goldenTemplate struct {
	Template          string `json:"template"`
	Context           string `json:"context"`
	Output            string `json:"output"`
	FragmentName      string `json:"fragment_name"`
	Key               string `json:"key"`
	BackendKeyDefault string `json:"backend_key_default"`
}

type goldenError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

type goldenBehaviour struct {
	Case                  string              `json:"case"`
	Template              string              `json:"template"`
	SecondTemplate        *string             `json:"second_template"`
	Context               string              `json:"context"`
	Compile               string              `json:"compile"`
	CompileError          *goldenError        `json:"compile_error"`
	RenderError           *goldenError        `json:"render_error"`
	Outputs               []string            `json:"outputs"`
	StoredKeys            []string            `json:"stored_keys"`
	StoredExpiryMinusNow  map[string]*float64 `json:"stored_expiry_minus_now"`
	TemplateFragmentsKeys []string            `json:"template_fragments_keys"`
	DefaultKeys           []string            `json:"default_keys"`
}

// schemeFor returns the fragment key scheme of a Django version.
func schemeFor(version string) cache.KeyScheme {
	if version == "6.1.1" {
		return cache.KeySchemeDjango61
	}
	return cache.KeySchemeLegacy
}

// TestGolden replays every "template" and "behaviour" vector of the three
// golden files through pongo2 with the tag: same output, same stored keys,
// same timeouts, same error messages as Django.
func TestGolden(t *testing.T) {
	for _, version := range golden.Versions {
		var gf goldenFile
		if err := golden.Decode("fragment_keys", version, &gf); err != nil {
			t.Fatal(err)
		}
		if len(gf.Template) == 0 || len(gf.Behaviour) == 0 {
			t.Fatalf("%s: no vectors", version)
		}
		scheme := schemeFor(version)
		t.Run(version, func(t *testing.T) {
			passT, passB := 0, 0
			for i, v := range gf.Template {
				ok := t.Run(fmt.Sprintf("template/%02d", i), func(t *testing.T) {
					checkGoldenTemplate(t, scheme, v)
				})
				if ok {
					passT++
				}
			}
			for i, v := range gf.Behaviour {
				ok := t.Run(fmt.Sprintf("behaviour/%02d", i), func(t *testing.T) {
					checkGoldenBehaviour(t, scheme, v)
				})
				if ok {
					passB++
				}
			}
			t.Logf("Django %s (%s scheme): template %d/%d, behaviour %d/%d",
				version, scheme, passT, len(gf.Template), passB, len(gf.Behaviour))
		})
	}
}

func checkGoldenTemplate(t *testing.T, scheme cache.KeyScheme, v goldenTemplate) {
	e := newEnv(t, scheme, Options{}, nil)
	out, err := e.render(t, v.Template, pyContext(t, v.Context))
	if err != nil {
		t.Fatalf("%s: %v", v.Template, err)
	}
	if out != v.Output {
		t.Errorf("%s: output %q, want %q", v.Template, out, v.Output)
	}
	if got := e.rec["default"].keys(); !slices.Equal(got, []string{v.BackendKeyDefault}) {
		t.Errorf("%s: stored %q, want %q", v.Template, got, v.BackendKeyDefault)
	}
	// Rendering again is a hit: same output, no new set.
	if out2, err := e.render(t, v.Template, pyContext(t, v.Context)); err != nil || out2 != v.Output {
		t.Errorf("second render: %q, %v", out2, err)
	}
	if n := len(e.rec["default"].log); n != 1 {
		t.Errorf("second render stored again (%d sets)", n)
	}
}

func checkGoldenBehaviour(t *testing.T, scheme cache.KeyScheme, v goldenBehaviour) {
	if v.Template == "" { // the alias-fallback case has no template in the file
		checkGoldenAliases(t, scheme, v)
		return
	}
	e := newEnv(t, scheme, Options{}, nil)
	switch {
	case v.Compile == "ok":
		if _, err := e.set.FromString(v.Template); err != nil {
			t.Fatalf("%s: %v", v.Template, err)
		}
		return
	case v.CompileError != nil:
		_, err := e.set.FromString(v.Template)
		if err == nil {
			t.Fatalf("%s compiled", v.Template)
		}
		if got := origMessage(t, err); got != v.CompileError.Message {
			t.Errorf("%s: error %q, want %q", v.Template, got, v.CompileError.Message)
		}
		var pe *pongo2.Error
		if errors.As(err, &pe); pe.Line != 1 || pe.Filename != "<string>" || pe.Sender != "tag:cache" {
			t.Errorf("error position: %+v", pe)
		}
		return
	}
	ctx := pyContext(t, v.Context)
	var outs []string
	out, err := e.render(t, v.Template, ctx)
	if err == nil {
		outs = append(outs, out)
		if v.SecondTemplate != nil {
			e.clock.Advance(1e9)
			out, err = e.render(t, *v.SecondTemplate, ctx)
			outs = append(outs, out)
		}
	}
	if v.RenderError != nil {
		if err == nil {
			t.Fatalf("%s rendered %q", v.Template, outs)
		}
		if got := origMessage(t, err); got != v.RenderError.Message {
			t.Errorf("%s: error %q, want %q", v.Template, got, v.RenderError.Message)
		}
	} else {
		if err != nil {
			t.Fatalf("%s: %v", v.Template, err)
		}
		if !slices.Equal(outs, v.Outputs) {
			t.Errorf("%s: outputs %q, want %q", v.Template, outs, v.Outputs)
		}
	}
	rec := e.rec["default"]
	got := rec.keys()
	slices.Sort(got)
	want := slices.Clone(v.StoredKeys)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s: stored keys %q, want %q", v.Template, got, want)
	}
	for k, wantExp := range v.StoredExpiryMinusNow {
		gotExp := rec.expiryMinusNow(k)
		switch {
		case wantExp == nil && gotExp == nil:
		case wantExp == nil || gotExp == nil:
			t.Errorf("%s: expiry of %s = %v, want %v", v.Template, k, fmtExp(gotExp), fmtExp(wantExp))
		case math.Abs(*wantExp-*gotExp) > 1e-9:
			t.Errorf("%s: expiry of %s = %v, want %v", v.Template, k, *gotExp, *wantExp)
		}
	}
}

func fmtExp(p *float64) string {
	if p == nil {
		return "forever"
	}
	return fmt.Sprint(*p)
}

// checkGoldenAliases replays the "template_fragments alias preferred;
// using= overrides" case; its templates are those of the golden script
// (golden/fragment_keys.py), which the file does not record.
func checkGoldenAliases(t *testing.T, scheme cache.KeyScheme, v goldenBehaviour) {
	e := newEnv(t, scheme, Options{}, map[string]aliasConf{
		"default":            {},
		"template_fragments": {prefix: "tf", version: 3},
	})
	o1 := e.mustRender(t, `{% cache 100 frag %}foo{% endcache %}`, nil)
	o2 := e.mustRender(t, `{% cache 100 frag using="default" %}bar{% endcache %}`, nil)
	if got := []string{o1, o2}; !slices.Equal(got, v.Outputs) {
		t.Errorf("outputs %q, want %q", got, v.Outputs)
	}
	if got := e.rec["template_fragments"].keys(); !slices.Equal(got, v.TemplateFragmentsKeys) {
		t.Errorf("template_fragments keys %q, want %q", got, v.TemplateFragmentsKeys)
	}
	if got := e.rec["default"].keys(); !slices.Equal(got, v.DefaultKeys) {
		t.Errorf("default keys %q, want %q", got, v.DefaultKeys)
	}
}
