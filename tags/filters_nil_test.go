package tags

import (
	"testing"
	"time"

	"github.com/flosch/pongo2/v6"
)

// TestFiltersNilArguments: the filters this package installs accept nil
// input and parameter from pongo2.ApplyFilter, and odd values, without
// panicking.
func TestFiltersNilArguments(t *testing.T) {
	UseDjangoBuiltins()
	names := []string{"escape", "safe", "linebreaks", "linebreaksbr", "linenumbers", "join", "wordwrap"}
	for name := range djangoFilters {
		names = append(names, name)
	}
	for name := range humanizeFilters {
		names = append(names, name)
	}
	for _, name := range names {
		if _, err := pongo2.ApplyFilter(name, nil, nil); err != nil {
			t.Logf("%s: %v", name, err)
		}
		for _, in := range odd {
			for _, p := range odd {
				if _, err := pongo2.ApplyFilter(name, pongo2.AsValue(in), pongo2.AsValue(p)); err != nil {
					t.Logf("%s(%#v, %#v): %v", name, in, p, err)
				}
			}
		}
	}
}

// odd are inputs and parameters that filters must survive.
var odd = []any{nil, "", "x", "<a href='x'>\n\r\n\t é 日本 ", "%", "%(", "-1", "1e400", 0, -1, 1, -5, 1 << 62, -1 << 63,
	3.5, -0.0, 1e300, true, []int{}, []any{1, []any{2, []any{}}}, map[string]int{"a": 1}, struct{}{},
	"<b>www.x.com</b> a@b.c (http://[::1]/) &amp;.", "\\d\\", time.Time{},
	time.Date(-5, 13, 40, 25, 61, 61, 0, time.FixedZone("", -12345))}

// TestBuiltinTagsMalformed: malformed uses of the tags this package
// provides are parse or render errors, never panics.
func TestBuiltinTagsMalformed(t *testing.T) {
	set := goldenSet(t, map[string]string{"a.html": "A"})
	for _, src := range []string{
		`{% cycle %}`, `{% cycle as %}`, `{% cycle "a" "b" as %}`, `{% cycle "a" "b" as x y z %}`, `{% cycle "a" as x %}`,
		`{% cycle "a" "b" as x silent extra %}`, `{% cycle 'a' %}`, `{% resetcycle a b %}`, `{% resetcycle x %}`,
		`{% ifchanged %}`, `{% ifchanged x %}a{% else %}b`, `{% ifchanged %}a{% endifchanged x %}`, `{% ifchanged %}a{% else %}b{% endifchanged x %}`,
		`{% include %}`, `{% include x with %}`, `{% include x with y %}`, `{% include x with y= %}`, `{% include x only y %}`,
		`{% include nope %}`, `{% include empty %}`, `{% include list %}`, `{% include num %}`,
		`{% trans %}`, `{% trans "a" as %}`, `{% trans "a" bogus %}`, `{% trans "a" context %}`,
		`{% blocktrans %}`, `{% blocktrans with %}x{% endblocktrans %}`, `{% blocktrans count %}x{% endblocktrans %}`,
		`{% blocktrans count n=1 %}x{% plural %}y{% plural %}z{% endblocktrans %}`, `{% blocktrans %}{{ {% endblocktrans %}`,
		`{% blocktrans asvar %}x{% endblocktrans %}`, `{% blocktrans bogus %}x{% endblocktrans %}`, `{% blocktrans %}{{`,
		`{% get_current_language %}`, `{% get_current_language as %}`, `{% language %}x{% endlanguage %}`, `{% language "de" %}x`,
		`{% load %}`, `{% load from %}`, `{% load a from %}`,
	} {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s: panic %v", src, r)
				}
			}()
			tpl, err := set.FromString(src)
			if err != nil {
				return
			}
			_, _ = tpl.Execute(pongo2.Context{"empty": "", "list": []string{}, "num": 3, "nope": "nope.html"})
		}()
	}
}
