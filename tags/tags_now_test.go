package tags

import "testing"

// TestNowWidthratioDjango32 and TestNowWidthratioDjango61 compare {% now %}
// and {% widthratio %} (after UseDjangoBuiltins) with real Django
// (testdata/django/now.cases.json, regen.sh).
func TestNowWidthratioDjango32(t *testing.T) {
	UseDjangoBuiltins()
	runGolden(t, "now.golden32.json", nowDeviations)
}

func TestNowWidthratioDjango61(t *testing.T) {
	UseDjangoBuiltins()
	runGolden(t, "now.golden61.json", nowDeviations)
}

var nowDeviations = map[string]string{
	// Django takes the word without quotes and strips its first and last
	// characters ("" for Y); pongo2's parser needs a string.
	`{% now Y %}`: "'now' statement takes one argument",
}
