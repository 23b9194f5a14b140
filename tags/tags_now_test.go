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
	// Django's now takes its format without unescaping it; pongo2's lexer
	// unescapes string literals (and rejects \n, \o, …): a Django
	// template's "\n\o\w" is written "\\n\\o\\w" here.
	`{% now "\\n\\o\\w: jS" as y %}[{{ y|slice:":5" }}]`: "[now: ]",
}
