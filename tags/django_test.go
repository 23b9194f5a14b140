package tags

import (
	"sync/atomic"
	"testing"

	"github.com/flosch/pongo2/v6"

	"github.com/fragcache/fragcache/cache"
)

// Ports of Django's tests/template_tests/syntax_tests/test_cache.py
// (CacheTagTests and CacheTests). Django renders named templates from a
// locmem loader; here each template is a string rendered through one
// template set whose Fragments uses a fresh memory cache per test.

// lastNode is set by the test-only {% cachespy %} tag, which parses as
// {% cache %} and keeps the node, so that tests can look at what was parsed
// (Django's test_cache_regression_20130 reads the node's fragment_name).
var lastNode atomic.Pointer[cacheNode]

func init() {
	_ = pongo2.RegisterTag("cachespy", func(doc *pongo2.Parser, start *pongo2.Token, args *pongo2.Parser) (pongo2.INodeTag, *pongo2.Error) {
		n, err := parseCacheTag(doc, start, args)
		if err == nil {
			lastNode.Store(n.(*cacheNode))
		}
		return n, err
	})
}

func TestDjangoCacheTagTests(t *testing.T) {
	const (
		cache03 = `{% cache 2 test %}cache03{% endcache %}`
		cache04 = `{% cache 2 test %}cache04{% endcache %}`
		cache05 = `{% cache 2 test foo %}cache05{% endcache %}`
		cache06 = `{% cache 2 test foo %}cache06{% endcache %}`
		cache07 = `{% cache 2 test foo %}cache07{% endcache %}`
		cache08 = `{% cache time test foo %}cache08{% endcache %}`
	)
	type render struct {
		src  string
		ctx  pongo2.Context
		want string
	}
	tests := []struct {
		name    string
		renders []render
	}{
		{"test_cache03", []render{{cache03, nil, "cache03"}}},
		{"test_cache04", []render{{cache03, nil, "cache03"}, {cache04, nil, "cache03"}}},
		{"test_cache05", []render{{cache05, pongo2.Context{"foo": 1}, "cache05"}}},
		{"test_cache06", []render{{cache06, pongo2.Context{"foo": 2}, "cache06"}}},
		{"test_cache07", []render{
			{cache05, pongo2.Context{"foo": 1}, "cache05"},
			{cache07, pongo2.Context{"foo": 1}, "cache05"},
		}},
		{"test_cache08", []render{
			{cache06, pongo2.Context{"foo": 2, "time": 2}, "cache06"},
			{cache08, pongo2.Context{"foo": 2, "time": 2}, "cache06"},
		}},
		{"test_cache16", []render{
			{`{% cache 1 foo bar %}{% endcache %}`, pongo2.Context{"foo": "foo", "bar": "with spaces"}, ""},
		}},
		{"test_cache17", []render{{`{% cache 10 long_cache_key poem %}Some Content{% endcache %}`, pongo2.Context{"poem": "Oh freddled gruntbuggly/Thy micturations are to me/" +
			"As plurdled gabbleblotchits/On a lurgid bee/" +
			"That mordiously hath bitled out/Its earted jurtles/" +
			"Into a rancid festering/Or else I shall rend thee in the gobberwarts" +
			"with my blurglecruncheon/See if I dont."}, "Some Content"}}},
		{"test_cache18", []render{{`{% cache 2|noop:"x y" cache18 %}cache18{% endcache %}`, nil, "cache18"}}},
		{"test_none_timeout", []render{
			{`{% cache None fragment19 %}content{% endcache %}`, nil, "content"},
			{`{% cache None fragment19 %}not rendered{% endcache %}`, nil, "content"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, cache.KeySchemeDjango61, Options{}, nil)
			for _, r := range tt.renders {
				if got := e.mustRender(t, r.src, r.ctx); got != r.want {
					t.Errorf("%s with %v = %q, want %q", r.src, r.ctx, got, r.want)
				}
			}
		})
	}
}

func TestDjangoCacheTagErrors(t *testing.T) {
	tests := []struct {
		name, src string
		ctx       pongo2.Context
		compile   bool // the error is raised when compiling (else rendering)
		msg       string
	}{
		{"test_cache11", `{% cache %}{% endcache %}`, nil, true, "''cache'' tag requires at least 2 arguments."},
		{"test_cache12", `{% cache 1 %}{% endcache %}`, nil, true, "''cache'' tag requires at least 2 arguments."},
		{"test_cache13", `{% cache foo bar %}{% endcache %}`, nil, false, `"cache" tag got a non-integer timeout value: ''`},
		{"test_cache14", `{% cache foo bar %}{% endcache %}`, pongo2.Context{"foo": "fail"}, false, `"cache" tag got a non-integer timeout value: 'fail'`},
		{"test_cache15", `{% cache foo bar %}{% endcache %}`, pongo2.Context{"foo": []any{}}, false, `"cache" tag got a non-integer timeout value: []`},
		{"test_cache_missing_backend", `{% cache 1 backend using="unknown" %}bar{% endcache %}`, nil, false, "Invalid cache name specified for cache tag: 'unknown'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, cache.KeySchemeDjango61, Options{}, nil)
			tpl, err := e.set.FromString(tt.src)
			if tt.compile {
				if err == nil {
					t.Fatalf("%s compiled", tt.src)
				}
				if got := origMessage(t, err); got != tt.msg {
					t.Errorf("error %q, want %q", got, tt.msg)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s: %v", tt.src, err)
			}
			out, err := tpl.Execute(tt.ctx)
			if err == nil {
				t.Fatalf("%s rendered %q", tt.src, out)
			}
			if got := origMessage(t, err); got != tt.msg {
				t.Errorf("error %q, want %q", got, tt.msg)
			}
		})
	}
}

// test_cache_regression_20130: the node's fragment name is the raw token.
func TestDjangoCacheRegression20130(t *testing.T) {
	e := newEnv(t, cache.KeySchemeDjango61, Options{}, nil)
	if _, err := e.set.FromString(`{% cachespy 1 regression_20130 %}foo{% endcache %}`); err != nil {
		t.Fatal(err)
	}
	if got := lastNode.Load().name; got != "regression_20130" {
		t.Errorf("fragment name %q", got)
	}
}

// test_cache_fragment_cache: with a "template_fragments" cache the tag uses
// it; using="default" picks the default cache.
func TestDjangoCacheFragmentCache(t *testing.T) {
	e := newEnv(t, cache.KeySchemeDjango61, Options{}, map[string]aliasConf{"default": {}, "template_fragments": {}})
	o1 := e.mustRender(t, `{% cache 1 fragment %}foo{% endcache %}`, nil)
	o2 := e.mustRender(t, `{% cache 1 fragment using="default" %}bar{% endcache %}`, nil)
	if o1 != "foo" || o2 != "bar" {
		t.Errorf("outputs %q, %q; want foo, bar", o1, o2)
	}
	if n := len(e.rec["template_fragments"].keys()); n != 1 {
		t.Errorf("template_fragments holds %d keys", n)
	}
	if n := len(e.rec["default"].keys()); n != 1 {
		t.Errorf("default holds %d keys", n)
	}
}
