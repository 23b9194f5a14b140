package tags

import (
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flosch/pongo2/v6"
)

// djangoCase is a case of testdata/django/*.golden*.json: a template, its
// context, the templates it may include, and what real Django rendered
// (testdata/django/regen.sh).
type djangoCase struct {
	T      string            `json:"t"`
	Ctx    json.RawMessage   `json:"ctx"`
	Files  map[string]string `json:"files"`
	Out    *string           `json:"out"`
	Err    string            `json:"err"`
	Django string            `json:"django"`
	ID     string            `json:"id"`
}

func loadGolden(t testing.TB, name string) []djangoCase {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "django", name))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Contexts map[string]json.RawMessage `json:"contexts"`
		Cases    []djangoCase               `json:"cases"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	for i, c := range doc.Cases {
		var ref string
		if json.Unmarshal(c.Ctx, &ref) == nil {
			shared, ok := doc.Contexts[ref]
			if !ok {
				t.Fatalf("%s: case %d: no context %q", name, i, ref)
			}
			doc.Cases[i].Ctx = shared
		}
	}
	return doc.Cases
}

// jsonContext decodes a case's context, with Python's types: integers
// become int, other numbers float64.
func jsonContext(t testing.TB, raw json.RawMessage) pongo2.Context {
	t.Helper()
	if len(raw) == 0 {
		return pongo2.Context{}
	}
	d := json.NewDecoder(strings.NewReader(string(raw)))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return pongo2.Context(fixNumbers(m).(map[string]any))
}

func fixNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil && !strings.ContainsAny(string(x), ".eE") {
			return int(i)
		}
		if b, ok := new(big.Int).SetString(string(x), 10); ok {
			return b // a Python int beyond int64
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = fixNumbers(x[i])
		}
	case map[string]any:
		// The values golden.py decodes specially.
		if s, ok := x["__safe__"].(string); ok {
			return pongo2.AsSafeValue(s)
		}
		if s, ok := x["__datetime__"].(string); ok {
			t, err := time.Parse("2006-01-02T15:04:05.999999999Z07:00", s)
			if err != nil {
				panic(err)
			}
			return t
		}
		if n, ok := x["__now__"].(json.Number); ok {
			sec, _ := n.Float64()
			return time.Now().UTC().Add(time.Duration(sec * float64(time.Second)))
		}
		for k := range x {
			x[k] = fixNumbers(x[k])
		}
	}
	return v
}

// goldenSet returns a template set over a directory holding files, with a
// SetIncludeLoader.
func goldenSet(t testing.TB, files map[string]string) *pongo2.TemplateSet {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		writeFile(t, dir, name, content)
	}
	set := pongo2.NewSet(t.Name(), pongo2.MustNewLocalFileSystemLoader(dir))
	set.Globals[IncludeLoaderKey] = SetIncludeLoader(set)
	return set
}

// runGolden renders every case of the golden files and compares with
// Django's output; for an error, Django's message must appear in ours.
// deviations maps a template to the output we give instead (and why, in a
// comment where it is declared).
func runGolden(t *testing.T, file string, deviations map[string]string) {
	runGoldenWith(t, file, deviations, nil)
}

// runGoldenWith is runGolden with prepare (DjangoNames, say) applied to
// each parsed template before it renders.
func runGoldenWith(t *testing.T, file string, deviations map[string]string, prepare func(*pongo2.Template) error) {
	cases := loadGolden(t, file)
	if len(cases) == 0 {
		t.Fatalf("%s: no cases", file)
	}
	for _, c := range cases {
		set := goldenSet(t, c.Files)
		got, err := renderPrepared(set, c.T, jsonContext(t, c.Ctx), prepare)
		if want, ok := deviations[c.T]; ok {
			if want == skipCase {
				continue
			}
			if err != nil && !strings.Contains(err.Error(), want) || err == nil && got != want {
				t.Errorf("Django %s: %s\n got %q, %v\nwant (known deviation) %q", c.Django, c.T, got, err, want)
			}
			continue
		}
		if c.Out == nil {
			msg := c.Err[strings.Index(c.Err, ": ")+2:]
			if err == nil || !strings.Contains(err.Error(), msg) {
				t.Errorf("Django %s: %s\n got %q, %v\nwant error %q", c.Django, c.T, got, err, c.Err)
			}
			continue
		}
		if err != nil || got != *c.Out {
			t.Errorf("Django %s: %s\n got %q, %v\nwant %q", c.Django, c.T, got, err, *c.Out)
		}
	}
}

func renderPrepared(set *pongo2.TemplateSet, src string, ctx pongo2.Context, prepare func(*pongo2.Template) error) (string, error) {
	tpl, err := set.FromString(src)
	if err != nil {
		return "", err
	}
	if prepare != nil {
		if err := prepare(tpl); err != nil {
			return "", err
		}
	}
	return tpl.Execute(ctx)
}

func renderString(set *pongo2.TemplateSet, src string, ctx pongo2.Context) (string, error) {
	tpl, err := set.FromString(src)
	if err != nil {
		return "", err
	}
	return tpl.Execute(ctx)
}

func TestBuiltinsDjango32(t *testing.T) {
	runGolden(t, "builtins.golden32.json", builtinDeviations)
}

func TestBuiltinsDjango61(t *testing.T) {
	runGolden(t, "builtins.golden61.json", builtinDeviations)
}

// builtinDeviations are the cases where we knowingly differ from Django.
var builtinDeviations = map[string]string{
	// Django's error is TemplateDoesNotExist with the bare name; ours is
	// pongo2's loader error, naming the template.
	"{% include n %}!": "nope.html",
}
