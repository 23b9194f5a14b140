package tags

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/flosch/pongo2/v6"
)

// TestDjangoNamesConcurrent renders one rewritten template from many
// goroutines with values of different types behind the same names (the
// per-part type cache changes hands): no wrong output, clean under -race.
func TestDjangoNamesConcurrent(t *testing.T) {
	set := pongo2.NewSet("names-concurrent", noLoader{})
	tpl, err := set.FromString(`{{ u.username }}/{{ u.id }}{% for x in list %},{{ x.username }}{% endfor %}`)
	if err != nil {
		t.Fatal(err)
	}
	if err := DjangoNames(tpl, NameOptions{}); err != nil {
		t.Fatal(err)
	}
	type other struct {
		Name string `json:"username"`
		ID   string
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 300; i++ {
				var ctx pongo2.Context
				var want string
				if (g+i)%2 == 0 {
					u := newNameUser()
					ctx = pongo2.Context{"u": u, "list": []*nameUser{u}}
					want = "alice/7,alice"
				} else {
					o := other{Name: fmt.Sprint("o", i), ID: "x"}
					ctx = pongo2.Context{"u": o, "list": []other{o, o}}
					want = fmt.Sprintf("o%d/x,o%d,o%d", i, i, i)
				}
				out, err := tpl.Execute(ctx)
				if err != nil || out != want {
					errs <- fmt.Errorf("got %q, %v; want %q", out, err, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// BenchmarkVariable compares pongo2's own lookup with the Django-name
// resolution DjangoNames installs, on the names each can read.
func BenchmarkVariable(b *testing.B) {
	u := newNameUser()
	ctx := pongo2.Context{
		"title": "Articles", "u": u,
		"request": map[string]any{"user": func(*pongo2.ExecutionContext) any { return map[string]any{"username": "alice"} }},
	}
	for _, bc := range []struct{ name, src string }{
		{"top-level", "{{ title }}"},
		{"struct-field", "{{ u.Username }}"},
		{"struct-method", "{{ u.GetFullName }}"},
		{"map-func-map", "{{ request.user.username }}"},
	} {
		for _, django := range []bool{false, true} {
			name := bc.name + "/pongo2"
			if django {
				name = bc.name + "/django-names"
			}
			b.Run(name, func(b *testing.B) {
				set := pongo2.NewSet("bench-"+name, noLoader{})
				tpl, err := set.FromString(bc.src)
				if err != nil {
					b.Fatal(err)
				}
				if django {
					if err := DjangoNames(tpl, NameOptions{}); err != nil {
						b.Fatal(err)
					}
				}
				var buf bytes.Buffer
				b.ReportAllocs()
				for b.Loop() {
					buf.Reset()
					if err := tpl.ExecuteWriter(ctx, &buf); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
	b.Run("snake-name/django-names", func(b *testing.B) {
		set := pongo2.NewSet("bench-snake", noLoader{})
		tpl, _ := set.FromString("{{ u.username }}{{ u.html_url }}{{ u.get_full_name }}")
		if err := DjangoNames(tpl, NameOptions{}); err != nil {
			b.Fatal(err)
		}
		var buf bytes.Buffer
		b.ReportAllocs()
		for b.Loop() {
			buf.Reset()
			if err := tpl.ExecuteWriter(ctx, &buf); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// pongoResolver returns the pongo2 variable resolver of a template holding
// one {{ variable }}.
func pongoResolver(tb testing.TB, src string) pongo2.IEvaluator {
	set := pongo2.NewSet("resolver-"+src, noLoader{})
	tpl, err := set.FromString(src)
	if err != nil {
		tb.Fatal(err)
	}
	if err := checkResolverLayout(); err != nil {
		tb.Fatal(err)
	}
	var found pongo2.IEvaluator
	capture := &rewriter{seen: map[visit]bool{}, probe: func(reflect.Type) {}}
	capture.capture = func(v reflect.Value) {
		if found == nil && v.Elem().Type() == resolverLayout.t {
			found = writable(v).Interface().(pongo2.IEvaluator)
		}
	}
	capture.walk(reflect.ValueOf(tpl))
	if found == nil {
		tb.Fatalf("no resolver in %s", src)
	}
	return found
}

// BenchmarkResolve compares pongo2's resolver with DjangoNames' on the
// variable alone (no template execution around it).
func BenchmarkResolve(b *testing.B) {
	u := newNameUser()
	ec := &pongo2.ExecutionContext{
		Public: pongo2.Context{"title": "Articles", "u": u,
			"request": map[string]any{"user": func(*pongo2.ExecutionContext) any { return map[string]any{"username": "alice"} }}},
		Private: pongo2.Context{},
	}
	for _, bc := range []struct{ name, src, django string }{
		{"top-level", "{{ title }}", "title"},
		{"struct-field", "{{ u.Username }}", "u.username"},
		{"struct-method", "{{ u.GetFullName }}", "u.get_full_name"},
		{"map-func-map", "{{ request.user.username }}", "request.user.username"},
	} {
		pv := pongoResolver(b, bc.src)
		dv := djVarOf(reflect.ValueOf(pv), false)
		dn := &djVar{path: newVarPath(strings.Split(bc.django, "."), bc.django, nil)}
		for _, c := range []struct {
			name string
			e    pongo2.IEvaluator
		}{{"pongo2", pv}, {"django-names", dv}, {"django-names-snake", dn}} {
			b.Run(bc.name+"/"+c.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := c.e.Evaluate(ec); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
