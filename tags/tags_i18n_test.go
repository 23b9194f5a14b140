package tags

import "testing"

// TestI18nDjango32 and TestI18nDjango61 compare {% load i18n %}'s tags
// with real Django (testdata/django/i18n.cases.json, regen.sh).
func TestI18nDjango32(t *testing.T) {
	UseDjangoBuiltins()
	runGolden(t, "i18n.golden32.json", withDeviations(i18nDeviations, map[string]string{
		// Django 3.2 escapes the substituted values of blocktrans … asvar
		// twice when the variable is printed; 6.1 (followed here) once.
		`{% load i18n %}{% blocktrans asvar v %}Hi {{ name }}{% endblocktrans %}[{{ v }}]`: "[Hi &lt;Bob&gt;]",
	}))
}

func TestI18nDjango61(t *testing.T) {
	UseDjangoBuiltins()
	runGolden(t, "i18n.golden61.json", withDeviations(i18nDeviations))
}

var i18nDeviations = map[string]string{
	// Django lists its own libraries; we list ours.
	`{% load foo %}`: "'foo' is not a registered tag library. Must be one of:\ncache\nhumanize\ni18n",
	// Django reports the last text of an unclosed blocktrans as a tag.
	`{% load i18n %}{% blocktrans %}unclosed`: "'blocktrans' doesn't allow other block tags (seen 'unclosed') inside it",
}
