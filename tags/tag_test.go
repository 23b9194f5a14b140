package tags

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/big"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flosch/pongo2/v6"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/memory"
	"github.com/fragcache/fragcache/internal/pystr"
)

// parsed describes what a {% cachespy %} tag parsed to.
type parsed struct {
	name    string
	timeout string // "fixed:<timeout>" or the word of a resolved timeout
	vary    []string
	using   string
}

// describe summarises an argument: "const:<repr>", "lookup:<name>" or
// "expr:<word>".
func describe(a arg) string {
	switch a.kind {
	case argConst:
		if _, none := a.lit.(pyNone); none {
			return "const:None"
		}
		return fmt.Sprintf("const:%T:%s", a.lit, pystr.Repr(a.lit))
	case argLookup:
		return "lookup:" + a.name
	}
	return "expr:" + a.text
}

func describeNode(n *cacheNode) parsed {
	p := parsed{name: n.name}
	if n.fixed {
		p.timeout = "fixed:" + n.t.String()
	} else {
		p.timeout = describe(n.timeout)
	}
	for _, a := range n.vary {
		p.vary = append(p.vary, describe(a))
	}
	if n.using != nil {
		p.using = describe(*n.using)
	}
	return p
}

func TestParse(t *testing.T) {
	tests := []struct {
		args string
		want parsed
	}{
		{`10 frag`, parsed{name: "frag", timeout: "fixed:10s"}},
		{`10 side-bar.x`, parsed{name: "side-bar.x", timeout: "fixed:10s"}},
		{`10 "quoted_name"`, parsed{name: `"quoted_name"`, timeout: "fixed:10s"}},
		// pongo2 does not keep the quote character: single quotes become
		// double quotes (documented deviation).
		{`10 'single'`, parsed{name: `"single"`, timeout: "fixed:10s"}},
		{`10 "a\"b"`, parsed{name: `"a\"b"`, timeout: "fixed:10s"}},
		{`10 using="default"`, parsed{name: `using="default"`, timeout: "fixed:10s"}},
		{`10 frag using="default"`, parsed{name: "frag", timeout: "fixed:10s", using: "const:string:'default'"}},
		{`10 frag x using="default"`, parsed{name: "frag", timeout: "fixed:10s", vary: []string{"expr:x"}, using: "const:string:'default'"}},
		{`10 frag x using=alias`, parsed{name: "frag", timeout: "fixed:10s", vary: []string{"expr:x"}, using: "expr:alias"}},
		// Words are whitespace-separated, as Django splits them: "a -1" is
		// two vary-on values, not a subtraction.
		{`10 f a -1`, parsed{name: "f", timeout: "fixed:10s", vary: []string{"expr:a", "const:int:-1"}}},
		{`10 f 1 -1 +2 1.0 0.1 1e20 1E3 -1.5e3 .5 1_000 007 99999999999999999999`, parsed{name: "f", timeout: "fixed:10s", vary: []string{
			"const:int:1", "const:int:-1", "const:int:2", "const:float64:1.0", "const:float64:0.1", "const:float64:1e+20",
			"const:float64:1000.0", "const:float64:-1500.0", "const:float64:0.5", "const:int:1000", "const:int:7",
			"const:*big.Int:99999999999999999999"}}},
		{`10 f True False None true false not in`, parsed{name: "f", timeout: "fixed:10s", vary: []string{
			"lookup:True", "lookup:False", "lookup:None", "lookup:true", "lookup:false", "lookup:not", "lookup:in"}}},
		{`10 f "quoted str" 'single' "" _("hi") _('hi')`, parsed{name: "f", timeout: "fixed:10s", vary: []string{
			"const:string:'quoted str'", "const:string:'single'", "const:string:''", "const:string:'hi'", "const:string:'hi'"}}},
		{`10 f user.id lang name|upper items.0 x|default:"a b"`, parsed{name: "f", timeout: "fixed:10s", vary: []string{
			"expr:user.id", "expr:lang", "expr:name|upper", "expr:items.0", `expr:x|default:"a b"`}}},
		{`2|noop:"x y" cache18`, parsed{name: "cache18", timeout: `expr:2|noop:"x y"`}},
		{`None f`, parsed{name: "f", timeout: "lookup:None"}},
		{`time f`, parsed{name: "f", timeout: "expr:time"}},
		{`-5 f`, parsed{name: "f", timeout: "fixed:-5s"}},
		{`0 f`, parsed{name: "f", timeout: "fixed:expired"}},
		{`1.9 f`, parsed{name: "f", timeout: "fixed:1s"}},
		{`"10" f`, parsed{name: "f", timeout: "fixed:10s"}},
		{`"1.5" f`, parsed{name: "f", timeout: "const:string:'1.5'"}},
		{`  10   f   a  `, parsed{name: "f", timeout: "fixed:10s", vary: []string{"expr:a"}}},
	}
	e := newEnv(t, cache.KeySchemeDjango61, Options{}, nil)
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			lastNode.Store(nil)
			if _, err := e.set.FromString("{% cachespy " + tt.args + " %}X{% endcache %}"); err != nil {
				t.Fatal(err)
			}
			got := describeNode(lastNode.Load())
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		src        string
		msg        string
		line, col  int
		senderTag  bool
		errSnippet bool // msg is only a substring
	}{
		{`{% cache %}{% endcache %}`, "''cache'' tag requires at least 2 arguments.", 1, 4, true, false},
		{"<p>\n  {% cache 1 %}{% endcache %}", "''cache'' tag requires at least 2 arguments.", 2, 6, true, false},
		{`{% cache 1 frag %}never closed`, "Unclosed tag on line 1: 'cache'. Looking for one of: endcache.", 1, 4, true, false},
		{"a\n\n{% cache 1 frag %}never closed\n", "Unclosed tag on line 3: 'cache'. Looking for one of: endcache.", 3, 4, true, false},
		// The outer tag is unclosed: the inner one took the only endcache.
		{"{% cache 1 a %}\n{% cache 1 b %}x{% endcache %}", "Unclosed tag on line 1: 'cache'. Looking for one of: endcache.", 1, 4, true, false},
		// Django reports the innermost unclosed tag first.
		{"{% cache 1 a %}\n{% cache 1 b %}x", "Unclosed tag on line 2: 'cache'. Looking for one of: endcache.", 2, 4, true, false},
		{`{% cache %}`, "Unclosed tag on line 1: 'cache'. Looking for one of: endcache.", 1, 4, true, false},
		{`{% cache 1 f a| upper %}x{% endcache %}`, "Filter name must be an identifier.", 1, 17, true, false},
		{`{% cache 1 f a - 1 %}x{% endcache %}`, "", 1, 0, true, true},
		{`{% cache 1 f a.b.| %}x{% endcache %}`, "", 1, 0, true, true},
		{`{% cache 1 f x using= %}x{% endcache %}`, "Could not parse the remainder: '' from ''", 1, 21, true, false},
		{`{% cache 1 f x using=="a" %}x{% endcache %}`, `Could not parse the remainder: '="a"' from '="a"'`, 1, 21, true, false},
		// using= is an option only as the last word; elsewhere it is a
		// vary-on expression Django cannot parse either.
		{`{% cache 10 frag using="a" x %}x{% endcache %}`, `Could not parse the remainder: '="a"' from 'using="a"'`, 1, 23, true, false},
		{`{% cache 1 f x using="a"|nofilter %}x{% endcache %}`, "", 1, 0, true, true},
		{`{% cache 1 f %}{% if %}{% endcache %}`, "", 1, 0, false, true},
	}
	e := newEnv(t, cache.KeySchemeDjango61, Options{}, nil)
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			_, err := e.set.FromString(tt.src)
			if err == nil {
				t.Fatal("compiled")
			}
			var pe *pongo2.Error
			if !errors.As(err, &pe) {
				t.Fatalf("%T %v", err, err)
			}
			if !tt.errSnippet && pe.OrigError.Error() != tt.msg {
				t.Errorf("message %q, want %q", pe.OrigError.Error(), tt.msg)
			}
			if pe.Line != tt.line || (tt.col != 0 && pe.Column != tt.col) {
				t.Errorf("position %d:%d, want %d:%d (%v)", pe.Line, pe.Column, tt.line, tt.col, err)
			}
			if tt.senderTag && pe.Sender != "tag:cache" {
				t.Errorf("sender %q", pe.Sender)
			}
			if pe.Filename != "<string>" {
				t.Errorf("filename %q", pe.Filename)
			}
		})
	}
}

// TestEndcacheTrailingWords: Django ignores words after endcache.
func TestEndcacheTrailingWords(t *testing.T) {
	e := newEnv(t, cache.KeySchemeDjango61, Options{}, nil)
	if got := e.mustRender(t, `{% cache 1 f %}x{% endcache f and more %}`, nil); got != "x" {
		t.Errorf("got %q", got)
	}
}

// TestVaryKeys checks the values vary-on arguments resolve to, through the
// key they make.
func TestVaryKeys(t *testing.T) {
	tests := []struct {
		args string
		ctx  pongo2.Context
		vary []any
	}{
		{`a`, nil, []any{""}},                       // a missing variable is ''
		{`a`, pongo2.Context{"a": nil}, []any{nil}}, // a variable that is there and nil is None
		{`None`, nil, []any{nil}},                   // the literal None is None
		{`True False`, nil, []any{true, false}},
		{`True`, pongo2.Context{"True": "shadowed"}, []any{"shadowed"}},
		{`true`, nil, []any{""}}, // Django reads true as a variable name
		{`a`, pongo2.Context{"a": 2.5}, []any{2.5}},
		{`a`, pongo2.Context{"a": []any{"a", 1, nil}}, []any{[]any{"a", 1, nil}}},
		{`a b`, pongo2.Context{"a": 1, "b": "1"}, []any{"1", 1}},
		{`u.id`, pongo2.Context{"u": map[string]any{"id": 42}}, []any{42}},
		{`n|add:1`, pongo2.Context{"n": 1}, []any{2}},
		{`1e20 -0.0 1.0`, nil, []any{1e20, math.Copysign(0, -1), 1.0}},
		{`99999999999999999999`, nil, []any{new(big.Int).Exp(big.NewInt(10), big.NewInt(20), nil).Sub(new(big.Int).Exp(big.NewInt(10), big.NewInt(20), nil), big.NewInt(1))}},
	}
	for _, scheme := range []cache.KeyScheme{cache.KeySchemeLegacy, cache.KeySchemeDjango61} {
		for _, tt := range tests {
			t.Run(scheme.String()+"/"+tt.args, func(t *testing.T) {
				e := newEnv(t, scheme, Options{}, nil)
				e.mustRender(t, "{% cache 10 frag "+tt.args+" %}X{% endcache %}", tt.ctx)
				want := ":1:" + scheme.FragmentKey("frag", tt.vary...)
				if got := e.rec["default"].keys(); len(got) != 1 || got[0] != want {
					t.Errorf("keys %q, want %q", got, want)
				}
			})
		}
	}
}

func TestTimeoutOf(t *testing.T) {
	type myInt int16
	tests := []struct {
		in   any
		want cache.Timeout
		msg  string
	}{
		{nil, 0, `"cache" tag got a non-integer timeout value: ''`},
		{pyNone{}, cache.Forever, ""},
		{10, cache.Seconds(10), ""},
		{myInt(3), cache.Seconds(3), ""},
		{uint64(math.MaxUint64), cache.Forever, ""},
		{0, cache.Expired, ""},
		{-5, cache.Seconds(-5), ""},
		{1.9, cache.Seconds(1), ""},
		{-1.9, cache.Seconds(-1), ""},
		{0.5, cache.Expired, ""},
		{math.NaN(), 0, `"cache" tag got a non-integer timeout value: nan`},
		{math.Inf(1), 0, "cannot convert float infinity to integer"},
		{true, cache.Seconds(1), ""},
		{false, cache.Expired, ""},
		{"10", cache.Seconds(10), ""},
		{" 10\n", cache.Seconds(10), ""},
		{"+1_0", cache.Seconds(10), ""},
		{"-3", cache.Seconds(-3), ""},
		{"١٢", cache.Seconds(12), ""}, // Arabic-Indic digits, as Python's int()
		{"99999999999999999999999", cache.Forever, ""},
		{"1.5", 0, `"cache" tag got a non-integer timeout value: '1.5'`},
		{"1__0", 0, `"cache" tag got a non-integer timeout value: '1__0'`},
		{"_1", 0, `"cache" tag got a non-integer timeout value: '_1'`},
		{"", 0, `"cache" tag got a non-integer timeout value: ''`},
		{"fail", 0, `"cache" tag got a non-integer timeout value: 'fail'`},
		{[]byte("7"), cache.Seconds(7), ""},
		{[]any{}, 0, `"cache" tag got a non-integer timeout value: []`},
		{map[string]any{"a": 1}, 0, `"cache" tag got a non-integer timeout value: {'a': 1}`},
		{big.NewInt(60), cache.Seconds(60), ""},
		{pystr.Decimal("2.7"), cache.Seconds(2), ""},
		{cache.Forever, cache.Forever, ""},
		{cache.Timeout(time.Minute), cache.Timeout(time.Minute), ""},
		{90 * time.Second, cache.Seconds(90), ""},
		{(*int)(nil), cache.Forever, ""},
	}
	for _, tt := range tests {
		got, msg := timeoutOf(tt.in)
		if msg != tt.msg || (msg == "" && got != tt.want) {
			t.Errorf("timeoutOf(%#v) = %v, %q; want %v, %q", tt.in, got, msg, tt.want, tt.msg)
		}
	}
}

func TestTimeoutRender(t *testing.T) {
	tests := []struct {
		src  string
		ctx  pongo2.Context
		want cache.Timeout
	}{
		{`{% cache t f %}x{% endcache %}`, pongo2.Context{"t": 1.9}, cache.Seconds(1)},
		{`{% cache t f %}x{% endcache %}`, pongo2.Context{"t": true}, cache.Seconds(1)},
		{`{% cache t f %}x{% endcache %}`, pongo2.Context{"t": "10"}, cache.Seconds(10)},
		{`{% cache t f %}x{% endcache %}`, pongo2.Context{"t": cache.Forever}, cache.Forever},
		{`{% cache None f %}x{% endcache %}`, nil, cache.Forever},
		{`{% cache None f %}x{% endcache %}`, pongo2.Context{"None": 5}, cache.Seconds(5)},
		{`{% cache 2|noop:"x y" f %}x{% endcache %}`, nil, cache.Seconds(2)},
		{`{% cache t|add:1 f %}x{% endcache %}`, pongo2.Context{"t": 1}, cache.Seconds(2)},
		{`{% cache 0 f %}x{% endcache %}`, nil, cache.Expired},
		{`{% cache -5 f %}x{% endcache %}`, nil, cache.Seconds(-5)},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			e := newEnv(t, cache.KeySchemeDjango61, Options{}, nil)
			e.mustRender(t, tt.src, tt.ctx)
			rec := e.rec["default"]
			k := ":1:" + cache.FragmentKey("f")
			rec.mu.Lock()
			got := rec.sets[k].timeout
			rec.mu.Unlock()
			if got != tt.want {
				t.Errorf("stored with %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		ctx  pongo2.Context
		msg  string
		line int
	}{
		{"using missing var", `{% cache 1 f using=alias %}x{% endcache %}`, nil, "Invalid cache name specified for cache tag: ''", 1},
		{"using non-string", `{% cache 1 f using=alias %}x{% endcache %}`, pongo2.Context{"alias": 1}, "Invalid cache name specified for cache tag: 1", 1},
		{"using None", `{% cache 1 f using=None %}x{% endcache %}`, nil, "Invalid cache name specified for cache tag: None", 1},
		{"timeout list", "\n\n{% cache t f %}x{% endcache %}", pongo2.Context{"t": []int{1}}, `"cache" tag got a non-integer timeout value: [1]`, 3},
		{"body error", "{% cache 1 f %}\nok\n{{ x|fail }}{% endcache %}", nil, "filter failed", 3},
		{"body panic", "{% cache 1 f %}{{ x|boom }}{% endcache %}", nil, "fragcache: panic rendering the {% cache %} body: boom", 1},
		{"vary panic", "{% cache 1 f x|boom %}{% endcache %}", nil, `fragcache: panic evaluating "x|boom": boom`, 1},
		{"timeout panic", "{% cache x|boom f %}{% endcache %}", nil, `fragcache: panic evaluating "x|boom": boom`, 1},
		{"wrong Fragments", "{% cache 1 f %}{% endcache %}", pongo2.Context{ContextKey: 5}, msgNoFrags + " (_fragcache holds a int)", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, cache.KeySchemeDjango61, Options{}, nil)
			tpl, err := e.set.FromString("before" + tt.src + "after")
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			err = tpl.ExecuteWriter(tt.ctx, &buf)
			if err == nil {
				t.Fatalf("rendered %q", buf.String())
			}
			var pe *pongo2.Error
			if !errors.As(err, &pe) {
				t.Fatalf("%T %v", err, err)
			}
			if pe.OrigError.Error() != tt.msg {
				t.Errorf("message %q, want %q", pe.OrigError.Error(), tt.msg)
			}
			if pe.Line != tt.line || pe.Filename != "<string>" {
				t.Errorf("at %s:%d, want line %d (%v)", pe.Filename, pe.Line, tt.line, err)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %q", buf.String())
			}
			if keys := e.rec["default"].keys(); len(keys) != 0 {
				t.Errorf("stored %q", keys)
			}
		})
	}
}

// TestBodyErrorInFile: the error of a failing body names the template file
// and line.
func TestBodyErrorInFile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "page.html", "<h1>x</h1>\n{% cache 10 side %}\n<ul>\n{{ v|fail }}\n</ul>{% endcache %}\n")
	e := newEnv(t, cache.KeySchemeDjango61, Options{}, nil)
	set := pongo2.NewSet("file", pongo2.MustNewLocalFileSystemLoader(dir))
	e.frags.Install(set)
	tpl, err := set.FromFile("page.html")
	if err != nil {
		t.Fatal(err)
	}
	_, err = tpl.Execute(nil)
	var pe *pongo2.Error
	if !errors.As(err, &pe) || !strings.HasSuffix(pe.Filename, "page.html") || pe.Line != 4 {
		t.Fatalf("error %v", err)
	}
}

func TestMissingFragments(t *testing.T) {
	set := pongo2.NewSet("bare", pongo2.MustNewLocalFileSystemLoader(t.TempDir()))
	tpl, err := set.FromString(`{% cache 1 f %}x{% endcache %}`)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tpl.Execute(nil)
	if err == nil || origMessage(t, err) != msgNoFrags {
		t.Fatalf("error %v", err)
	}
	// The per-render context may provide the Fragments instead.
	e := newEnv(t, cache.KeySchemeDjango61, Options{}, nil)
	out, err := tpl.Execute(pongo2.Context{ContextKey: e.frags})
	if err != nil || out != "x" {
		t.Fatalf("%q, %v", out, err)
	}
	if keys := e.rec["default"].keys(); len(keys) != 1 {
		t.Errorf("keys %q", keys)
	}
}

// TestTwoSets: two template sets with different Fragments work side by side.
func TestTwoSets(t *testing.T) {
	e1 := newEnv(t, cache.KeySchemeDjango61, Options{}, nil)
	e2 := newEnv(t, cache.KeySchemeLegacy, Options{}, nil)
	const src = `{% cache 10 f v %}{{ v }}{% endcache %}`
	// Parse first: pongo2's From* functions are not safe to call
	// concurrently (issue #322); rendering is.
	t1, err := e1.set.FromString(src)
	if err != nil {
		t.Fatal(err)
	}
	t2, err := e2.set.FromString(src)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(2)
		go func() { defer wg.Done(); t1.Execute(pongo2.Context{"v": "one"}) }()
		go func() { defer wg.Done(); t2.Execute(pongo2.Context{"v": "two"}) }()
	}
	wg.Wait()
	if got := e1.rec["default"].keys(); len(got) != 1 || got[0] != ":1:"+cache.KeySchemeDjango61.FragmentKey("f", "one") {
		t.Errorf("set 1 keys %q", got)
	}
	if got := e2.rec["default"].keys(); len(got) != 1 || got[0] != ":1:"+cache.KeySchemeLegacy.FragmentKey("f", "two") {
		t.Errorf("set 2 keys %q", got)
	}
}

func TestMaxFragmentBytes(t *testing.T) {
	e := newEnv(t, cache.KeySchemeDjango61, Options{MaxFragmentBytes: 10}, nil)
	const src = `{% cache 10 big n %}{{ s }}{% endcache %}`
	for i := 0; i < 2; i++ {
		if got := e.mustRender(t, src, pongo2.Context{"s": "0123456789A", "n": 1}); got != "0123456789A" {
			t.Fatalf("got %q", got)
		}
	}
	if got := e.mustRender(t, src, pongo2.Context{"s": "0123456789", "n": 2}); got != "0123456789" {
		t.Fatalf("got %q", got)
	}
	st := e.frags.Stats()
	want := []FragmentStats{{Name: "big", Misses: 3, Renders: 3, StoreSkips: 2}}
	if !reflect.DeepEqual(st, want) {
		t.Errorf("stats %+v, want %+v", st, want)
	}
	if keys := e.rec["default"].keys(); len(keys) != 1 {
		t.Errorf("keys %q", keys)
	}
}

// countingHandler counts log records.
type countingHandler struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r)
	return nil
}
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }

func (h *countingHandler) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.records)
}

func TestBackendErrors(t *testing.T) {
	h := &countingHandler{}
	e := newEnv(t, cache.KeySchemeDjango61, Options{Logger: slog.New(h)}, nil)
	rec := e.rec["default"]
	const src = `<p>{% cache 10 side %}{{ v }}{% endcache %}</p>{% cache 10 other %}o{% endcache %}`

	rec.fail.Store(true)
	for i := 0; i < 5; i++ {
		if got := e.mustRender(t, src, pongo2.Context{"v": "a&b"}); got != "<p>a&amp;b</p>o" {
			t.Fatalf("got %q", got)
		}
	}
	st := e.frags.Stats()
	want := []FragmentStats{{Name: "other", Renders: 5, Errors: 5}, {Name: "side", Renders: 5, Errors: 5}}
	if !reflect.DeepEqual(st, want) {
		t.Errorf("stats %+v, want %+v", st, want)
	}
	if n := h.count(); n != 2 { // rate-limited: one line per name per second
		t.Errorf("%d log lines, want 2", n)
	}
	h.mu.Lock()
	var attrs []string
	h.records[0].Attrs(func(a slog.Attr) bool { attrs = append(attrs, a.String()); return true })
	h.mu.Unlock()
	if !strings.Contains(strings.Join(attrs, " "), "backend down") {
		t.Errorf("log attrs %v", attrs)
	}

	// Set failing only: rendered, counted, nothing stored.
	rec.fail.Store(false)
	rec.failSet.Store(true)
	e.mustRender(t, src, pongo2.Context{"v": "x"})
	if st := e.frags.Stats(); st[1].Errors != 6 || st[1].Misses != 1 || st[1].Renders != 6 {
		t.Errorf("stats %+v", st)
	}
	// Back up: stored again.
	rec.failSet.Store(false)
	e.mustRender(t, src, pongo2.Context{"v": "y"})
	if got := e.mustRender(t, src, pongo2.Context{"v": "z"}); got != "<p>y</p>o" {
		t.Errorf("got %q", got)
	}
}

type ctxKey struct{}

func TestRequestContext(t *testing.T) {
	e := newEnv(t, cache.KeySchemeDjango61, Options{}, nil)
	rec := e.rec["default"]
	ctx := context.WithValue(context.Background(), ctxKey{}, "req-1")
	e.mustRender(t, `{% cache 10 f %}x{% endcache %}`, pongo2.Context{RequestContextKey: ctx})
	if got := rec.lastCtx.Load().(ctxBox).Value(ctxKey{}); got != "req-1" {
		t.Errorf("backend saw context value %v", got)
	}
	e.mustRender(t, `{% cache 10 f %}x{% endcache %}`, nil)
	if got := rec.lastCtx.Load().(ctxBox).Context; got != context.Background() {
		t.Errorf("backend saw %v", got)
	}
}

// TestDeadlineBackend: a backend that honours the context fails on an
// expired deadline; the page still renders.
func TestDeadlineBackend(t *testing.T) {
	store, _ := memory.New(memory.Options{SweepInterval: -1})
	c, _ := cache.New(&ctxBackend{Backend: store})
	reg, _ := cache.NewRegistry(map[string]*cache.Cache{"default": c})
	f, _ := New(reg, Options{})
	set := newSet(t, f)
	tpl, _ := set.FromString(`[{% cache 10 f %}x{% endcache %}]`)
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	out, err := tpl.Execute(pongo2.Context{RequestContextKey: ctx})
	if err != nil || out != "[x]" {
		t.Fatalf("%q %v", out, err)
	}
	if st := f.Stats(); st[0].Errors != 1 {
		t.Errorf("stats %+v", st)
	}
}

type ctxBackend struct{ cache.Backend }

func (b *ctxBackend) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	return b.Backend.Get(ctx, key)
}

func TestHitMissStats(t *testing.T) {
	e := newEnv(t, cache.KeySchemeDjango61, Options{}, nil)
	const src = `{% cache 10 b %}b{% endcache %}{% cache 10 a v %}{{ v }}{% endcache %}`
	e.mustRender(t, src, pongo2.Context{"v": 1})
	e.mustRender(t, src, pongo2.Context{"v": 1})
	e.mustRender(t, src, pongo2.Context{"v": 2})
	want := []FragmentStats{{Name: "a", Hits: 1, Misses: 2, Renders: 2}, {Name: "b", Hits: 2, Misses: 1, Renders: 1}}
	if got := e.frags.Stats(); !reflect.DeepEqual(got, want) {
		t.Errorf("stats %+v, want %+v", got, want)
	}
}

func TestSingleFlight(t *testing.T) {
	e := newEnv(t, cache.KeySchemeDjango61, Options{}, nil)
	tpl, err := e.set.FromString(`<{% cache 10 slow v %}{{ v|slow }}{% endcache %}>`)
	if err != nil {
		t.Fatal(err)
	}
	slowCalls.Store(0)
	var wg sync.WaitGroup
	outs := make([]string, 64)
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := tpl.Execute(pongo2.Context{"v": "k"})
			if err != nil {
				t.Error(err)
			}
			outs[i] = out
		}()
	}
	wg.Wait()
	for _, o := range outs {
		if o != "<k>" {
			t.Fatalf("output %q", o)
		}
	}
	if n := slowCalls.Load(); n != 1 {
		t.Errorf("body rendered %d times", n)
	}
	if st := e.frags.Stats(); st[0].Renders != 1 || st[0].Hits+st[0].Misses != 64 {
		t.Errorf("stats %+v", st)
	}
}

// TestSingleFlightLeaderError: when the shared render fails, the requests
// that joined it render for themselves.
func TestSingleFlightLeaderError(t *testing.T) {
	e := newEnv(t, cache.KeySchemeDjango61, Options{}, nil)
	tpl, err := e.set.FromString(`{% cache 10 f %}{% if bad %}{{ v|slow|fail }}{% else %}{{ v|slow }}{% endif %}{% endcache %}`)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i > 0 {
				time.Sleep(5 * time.Millisecond) // join the first render
			}
			_, errs[i] = tpl.Execute(pongo2.Context{"v": "k", "bad": i == 0})
		}()
	}
	wg.Wait()
	if errs[0] == nil {
		t.Error("the failing render succeeded")
	}
	for _, err := range errs[1:] {
		if err != nil {
			t.Errorf("joined render failed: %v", err)
		}
	}
}

func TestNested(t *testing.T) {
	e := newEnv(t, cache.KeySchemeDjango61, Options{}, nil)
	// Same key inside and out: no self-wait. Django stores the inner body,
	// then the outer one over it.
	src := `{% cache 10 a %}[{% cache 10 a %}{{ v }}{% endcache %}]{% endcache %}`
	done := make(chan string)
	go func() { done <- e.mustRender(t, src, pongo2.Context{"v": "x"}) }()
	select {
	case out := <-done:
		if out != "[x]" {
			t.Errorf("got %q", out)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("nested fragments with one key deadlocked")
	}
	if out := e.mustRender(t, src, pongo2.Context{"v": "y"}); out != "[x]" {
		t.Errorf("second render %q", out)
	}

	// Outer evicted, inner kept: the inner fragment is served stale.
	src = `{% cache 10 outer %}O{{ n }}{% cache 10 inner %}I{{ n }}{% endcache %}{% endcache %}`
	e.mustRender(t, src, pongo2.Context{"n": 1})
	if ok, err := e.frags.InvalidateFragment(context.Background(), "outer"); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if out := e.mustRender(t, src, pongo2.Context{"n": 2}); out != "O2I1" {
		t.Errorf("got %q", out)
	}
}

// TestSetDoesNotLeak: the body renders in a child context, so a {% set %}
// inside a fragment is invisible after it on a miss as on a hit.
func TestSetDoesNotLeak(t *testing.T) {
	e := newEnv(t, cache.KeySchemeDjango61, Options{}, nil)
	const src = `{% cache 10 f %}{% set y = 5 %}{{ y }}{% endcache %}[{{ y }}]`
	for i := 0; i < 2; i++ {
		if got := e.mustRender(t, src, nil); got != "5[]" {
			t.Errorf("render %d: %q", i, got)
		}
	}
}

// TestForloopFrozen: as in Django, forloop values inside a cached fragment
// are those of the render that stored it.
func TestForloopFrozen(t *testing.T) {
	e := newEnv(t, cache.KeySchemeDjango61, Options{}, nil)
	const src = `{% for a in items %}{% cache 10 row a.ID %}{{ forloop.Counter }}:{{ a.T }}|{% endcache %}{% endfor %}`
	items := []map[string]any{{"ID": 1, "T": "one"}, {"ID": 2, "T": "two"}, {"ID": 3, "T": "three"}}
	if got := e.mustRender(t, src, pongo2.Context{"items": items}); got != "1:one|2:two|3:three|" {
		t.Errorf("got %q", got)
	}
	rev := []map[string]any{items[2], items[1], items[0]}
	if got := e.mustRender(t, src, pongo2.Context{"items": rev}); got != "3:three|2:two|1:one|" {
		t.Errorf("got %q", got)
	}
	if n := len(e.rec["default"].keys()); n != 3 {
		t.Errorf("%d keys", n)
	}
}

func TestZeroTimeoutRendersEveryTime(t *testing.T) {
	e := newEnv(t, cache.KeySchemeDjango61, Options{}, nil)
	for i, want := range []string{"1", "2"} {
		if got := e.mustRender(t, `{% cache 0 f %}{{ n }}{% endcache %}`, pongo2.Context{"n": i + 1}); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

func TestInvalidate(t *testing.T) {
	for _, scheme := range []cache.KeyScheme{cache.KeySchemeLegacy, cache.KeySchemeDjango61} {
		t.Run(scheme.String(), func(t *testing.T) {
			e := newEnv(t, scheme, Options{}, map[string]aliasConf{"default": {}, "template_fragments": {prefix: "tf", version: 3}})
			const src = `{% cache 100 side u.id lang 1.0 %}{{ n }}{% endcache %}{% cache 100 other x using="default" %}{{ n }}{% endcache %}`
			ctx := func(n int) pongo2.Context {
				return pongo2.Context{"u": map[string]any{"id": 42}, "lang": "en", "x": "v", "n": n}
			}
			e.mustRender(t, src, ctx(1))
			if got := e.mustRender(t, src, ctx(2)); got != "11" {
				t.Fatalf("got %q", got)
			}
			bg := context.Background()
			if ok, err := e.frags.InvalidateFragment(bg, "side", 42, "en", 1.0); !ok || err != nil {
				t.Fatalf("InvalidateFragment = %v, %v", ok, err)
			}
			if ok, _ := e.frags.InvalidateFragment(bg, "side", 42, "en", 1.0); ok {
				t.Error("deleted twice")
			}
			if got := e.mustRender(t, src, ctx(3)); got != "31" {
				t.Fatalf("got %q", got)
			}
			if ok, err := e.frags.InvalidateFragmentUsing(bg, "default", "other", "v"); !ok || err != nil {
				t.Fatalf("InvalidateFragmentUsing = %v, %v", ok, err)
			}
			if got := e.mustRender(t, src, ctx(4)); got != "34" {
				t.Fatalf("got %q", got)
			}
			if _, err := e.frags.InvalidateFragmentUsing(bg, "nope", "other"); !errors.Is(err, cache.ErrUnknownAlias) {
				t.Errorf("unknown alias: %v", err)
			}
		})
	}
}

func TestNewAndInstall(t *testing.T) {
	if _, err := New(nil, Options{}); err == nil {
		t.Error("New(nil) succeeded")
	}
	c, _ := memory.NewCache(memory.Options{SweepInterval: -1})
	defer c.Close()
	reg, _ := cache.NewRegistry(map[string]*cache.Cache{"default": c})
	if _, err := New(reg, Options{MaxFragmentBytes: -1}); err == nil {
		t.Error("negative MaxFragmentBytes accepted")
	}
	f, err := New(reg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if f.Registry() != reg || f.maxBytes != DefaultMaxFragmentBytes {
		t.Error("fields")
	}
	if err := f.Install(nil); err == nil {
		t.Error("Install(nil) succeeded")
	}
	var nilF *Fragments
	if err := nilF.Install(pongo2.NewSet("x", pongo2.MustNewLocalFileSystemLoader(t.TempDir()))); err == nil {
		t.Error("nil Fragments installed")
	}
	set := pongo2.NewSet("x", pongo2.MustNewLocalFileSystemLoader(t.TempDir()))
	set.Globals = nil
	if err := f.Install(set); err != nil || set.Globals[ContextKey] != f {
		t.Error("Install with nil Globals")
	}
	// No default cache: the tag reports Django's error.
	empty, _ := cache.NewRegistry(map[string]*cache.Cache{"other": c})
	f2, _ := New(empty, Options{})
	set2 := newSet(t, f2)
	tpl, _ := set2.FromString(`{% cache 1 f %}x{% endcache %}`)
	if _, err := tpl.Execute(nil); err == nil || origMessage(t, err) != "The connection 'default' doesn't exist." {
		t.Errorf("error %v", err)
	}
	if _, err := f2.InvalidateFragment(context.Background(), "f"); !errors.Is(err, cache.ErrUnknownAlias) {
		t.Errorf("invalidate error %v", err)
	}
}

// TestAutoescapeNotInKey: as in Django, the stored fragment is already
// escaped (or not) and the key ignores autoescape.
func TestAutoescapeNotInKey(t *testing.T) {
	e := newEnv(t, cache.KeySchemeDjango61, Options{}, nil)
	ctx := pongo2.Context{"v": "<b>"}
	if got := e.mustRender(t, `{% autoescape off %}{% cache 10 f %}{{ v }}{% endcache %}{% endautoescape %}`, ctx); got != "<b>" {
		t.Errorf("got %q", got)
	}
	if got := e.mustRender(t, `{% cache 10 f %}{{ v }}{% endcache %}`, ctx); got != "<b>" {
		t.Errorf("got %q (served the unescaped fragment)", got)
	}
}

func TestPyNumber(t *testing.T) {
	tests := []struct {
		in   string
		want any
	}{
		{"1", 1}, {"-1", -1}, {"+1", 1}, {"007", 7}, {"1_000", 1000},
		{"1.0", 1.0}, {".5", 0.5}, {"1e20", 1e20}, {"1E3", 1000.0}, {"1.5e-3", 0.0015},
		{"1e400", math.Inf(1)}, {"1_0.0_1", 10.01},
		{"1.", nil}, {"1..0", nil}, {"e5", nil}, {"1e", nil}, {"abc", nil}, {"inf", nil}, {"nan", nil},
		{"1__0", nil}, {"_1", nil}, {"1_", nil}, {"1.x", nil}, {"", nil}, {"--1", nil}, {"1e+", nil},
	}
	for _, tt := range tests {
		got, ok := pyNumber(tt.in)
		if tt.want == nil {
			if ok {
				t.Errorf("pyNumber(%q) = %v, want not a number", tt.in, got)
			}
			continue
		}
		if !ok || got != tt.want {
			t.Errorf("pyNumber(%q) = %v, %v; want %v", tt.in, got, ok, tt.want)
		}
	}
}
