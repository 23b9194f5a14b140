package tags

import (
	"strings"
	"testing"

	"github.com/flosch/pongo2/v6"
)

func TestLoadTag(t *testing.T) {
	set := pongo2.NewSet("load-test", pongo2.MustNewLocalFileSystemLoader(t.TempDir()))
	for _, tc := range []struct {
		src, want, err string
	}{
		{`{% load cache %}x`, "x", ""},
		{`{% load cache from cache %}y`, "y", ""},
		{`{% load %}`, "", "'load' tag requires at least one argument."},
		{`{% load humanize %}`, "", "'humanize' is not a registered tag library"},
		{`{% load intcomma from humanize %}`, "", "'humanize' is not a registered tag library"},
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
