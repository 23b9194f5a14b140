package tags

import (
	"strings"
	"testing"

	"github.com/flosch/pongo2/v6"
)

func TestLoadTag(t *testing.T) {
	UseDjangoBuiltins()
	set := pongo2.NewSet("load-test", pongo2.MustNewLocalFileSystemLoader(t.TempDir()))
	for _, tc := range []struct {
		src, want, err string
	}{
		{`{% load cache %}x`, "x", ""},
		{`{% load cache from cache %}y`, "y", ""},
		{`{% load %}`, "", "'load' tag requires at least one argument."},
		{`{% load i18n cache %}z`, "z", ""},
		{`{% load humanize %}h`, "h", ""},
		{`{% load intcomma from humanize %}i`, "i", ""},
		{`{% load static %}s`, "s", ""},
		{`{% load nope %}`, "", "'nope' is not a registered tag library. Must be one of:\ncache\nhumanize\ni18n\nstatic"},
		{`{% load intcomma from nope %}`, "", "'nope' is not a registered tag library"},
	} {
		tpl, err := set.FromString(tc.src)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.src, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.src, err)
			continue
		}
		got, err := tpl.Execute(nil)
		if err != nil || got != tc.want {
			t.Errorf("%s = %q, %v; want %q", tc.src, got, err, tc.want)
		}
	}
}

// TestLoadHumanizeNeedsDjangoFilters: {% load humanize %} says what is
// missing when UseDjangoBuiltins has not run.
func TestLoadHumanizeNeedsDjangoFilters(t *testing.T) {
	was := djangoBuiltinsInstalled.Swap(false)
	defer djangoBuiltinsInstalled.Store(was)
	set := pongo2.NewSet("load-test2", pongo2.MustNewLocalFileSystemLoader(t.TempDir()))
	_, err := set.FromString(`{% load humanize %}`)
	if err == nil || !strings.Contains(err.Error(), "tags.UseDjangoBuiltins()") {
		t.Errorf("error %v, want one naming tags.UseDjangoBuiltins()", err)
	}
}
