package tags

import "testing"

// TestDateDjango32 and TestDateDjango61 compare the date and time filters
// (every format code, the named formats) with real Django
// (testdata/django/date.cases.json, regen.sh).
func TestDateDjango32(t *testing.T) {
	UseDjangoBuiltins()
	runGolden(t, "date.golden32.json", nil)
}

func TestDateDjango61(t *testing.T) {
	UseDjangoBuiltins()
	runGolden(t, "date.golden61.json", nil)
}
