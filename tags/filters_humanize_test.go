package tags

import "testing"

// TestHumanizeDjango32 and TestHumanizeDjango61 compare the humanize
// filters and timesince/timeuntil with real Django
// (testdata/django/humanize.cases.json, regen.sh).
func TestHumanizeDjango32(t *testing.T) {
	UseDjangoBuiltins()
	runGolden(t, "humanize.golden32.json", nil)
}

func TestHumanizeDjango61(t *testing.T) {
	UseDjangoBuiltins()
	runGolden(t, "humanize.golden61.json", nil)
}
