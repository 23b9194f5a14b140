package render

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/flosch/pongo2/v6"
)

// TestBuiltinsConcurrentRenders renders one page holding cycle (plain,
// as/silent, by name, resetcycle), ifchanged (with and without arguments
// and else), nested for loops and {% include variable %} from 8 goroutines
// through a Renderer, and compares every page with what Django 3.2
// rendered for the same template and context (the tags package's golden
// file, cases with id "concurrency").
func TestBuiltinsConcurrentRenders(t *testing.T) {
	b, err := os.ReadFile("../tags/testdata/django/builtins.golden32.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Contexts map[string]json.RawMessage `json:"contexts"`
		Cases    []struct {
			ID    string            `json:"id"`
			T     string            `json:"t"`
			Ctx   json.RawMessage   `json:"ctx"`
			Files map[string]string `json:"files"`
			Out   string            `json:"out"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	all := doc.Cases
	for i := range all {
		all[i].Ctx = sharedContext(doc.Contexts, all[i].Ctx)
	}
	fsys := fstest.MapFS{}
	var ctxs []pongo2.Context
	var wants []string
	for _, c := range all {
		if c.ID != "concurrency" {
			continue
		}
		fsys["page.html"] = &fstest.MapFile{Data: []byte(c.T)}
		for name, src := range c.Files {
			fsys[name] = &fstest.MapFile{Data: []byte(src)}
		}
		d := json.NewDecoder(strings.NewReader(string(c.Ctx)))
		d.UseNumber()
		var m map[string]any
		if err := d.Decode(&m); err != nil {
			t.Fatal(err)
		}
		ctxs = append(ctxs, pongo2.Context(pyNumbers(m).(map[string]any)))
		wants = append(wants, c.Out)
	}
	if len(ctxs) < 2 {
		t.Fatalf("%d concurrency cases", len(ctxs))
	}
	rd, err := New(Options{FS: fsys})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	const goroutines, renders = 8, 10400
	var wrong, done atomic.Int64
	var once sync.Once
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range renders / goroutines {
				k := (g + i) % len(ctxs)
				got, err := rd.RenderBytes(nil, "page.html", ctxs[k])
				done.Add(1)
				if err != nil || string(got) != wants[k] {
					wrong.Add(1)
					once.Do(func() { t.Errorf("context %d: got %q, %v\nwant %q", k, got, err, wants[k]) })
				}
			}
		}()
	}
	wg.Wait()
	if n := wrong.Load(); n != 0 {
		t.Errorf("%d wrong pages in %d renders", n, done.Load())
	}
}

// pyNumbers turns JSON numbers into int (integers) or float64.
func pyNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil && !strings.ContainsAny(string(x), ".eE") {
			return int(i)
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = pyNumbers(x[i])
		}
	case map[string]any:
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
			x[k] = pyNumbers(x[k])
		}
	}
	return v
}

// TestDjangoLibrariesThroughRenderer renders the tags package's golden
// cases for date/time, humanize and i18n through a Renderer (which installs
// Django's filters) and compares with Django 3.2's output.
func TestDjangoLibrariesThroughRenderer(t *testing.T) {
	skip := map[string]bool{
		// Known deviations, tested in package tags.
		`{% load foo %}`: true,
		`{% load i18n %}{% blocktrans %}unclosed`:                                          true,
		`{% load i18n %}{% blocktrans asvar v %}Hi {{ name }}{% endblocktrans %}[{{ v }}]`: true,
	}
	for _, file := range []string{"date", "humanize", "i18n"} {
		b, err := os.ReadFile("../tags/testdata/django/" + file + ".golden32.json")
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Contexts map[string]json.RawMessage `json:"contexts"`
			Cases    []struct {
				T   string          `json:"t"`
				Ctx json.RawMessage `json:"ctx"`
				Out *string         `json:"out"`
			} `json:"cases"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		cases := doc.Cases
		for i := range cases {
			cases[i].Ctx = sharedContext(doc.Contexts, cases[i].Ctx)
		}
		fsys := fstest.MapFS{}
		for i, c := range cases {
			fsys[fmt.Sprintf("%s%d.html", file, i)] = &fstest.MapFile{Data: []byte(c.T)}
		}
		rd, err := New(Options{FS: fsys})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for i, c := range cases {
			if skip[c.T] || c.Out == nil {
				continue
			}
			d := json.NewDecoder(strings.NewReader(string(c.Ctx)))
			d.UseNumber()
			var m map[string]any
			if err := d.Decode(&m); err != nil {
				t.Fatal(err)
			}
			got, err := rd.RenderBytes(nil, fmt.Sprintf("%s%d.html", file, i), pongo2.Context(pyNumbers(m).(map[string]any)))
			if err != nil || string(got) != *c.Out {
				t.Errorf("%s: got %q, %v\nwant %q", c.T, got, err, *c.Out)
			}
			n++
		}
		_ = rd.Close()
		if n == 0 {
			t.Errorf("%s: no cases rendered", file)
		}
	}
}

// sharedContext resolves a case's context: a name refers to the golden
// file's shared contexts.
func sharedContext(shared map[string]json.RawMessage, ctx json.RawMessage) json.RawMessage {
	var ref string
	if json.Unmarshal(ctx, &ref) == nil {
		return shared[ref]
	}
	return ctx
}
