package pagecache

import (
	"slices"
	"testing"

	"github.com/fragcache/fragcache/internal/golden"
)

// TestVaryListsGolden checks HeaderList against the lists real Django 6.1
// learns, and legacyHeaderList against Django 3.2 and 5.2, for Vary values
// where the two tokenizers disagree (vectors of scripts/vary_lists.py).
func TestVaryListsGolden(t *testing.T) {
	for _, version := range golden.Versions {
		var doc struct {
			Cases []struct {
				Vary string
				I18n bool
				List []string
			}
		}
		if err := golden.Decode("vary_lists", version, &doc); err != nil {
			t.Fatal(err)
		}
		if len(doc.Cases) < 20 {
			t.Fatalf("%s: %d cases", version, len(doc.Cases))
		}
		for _, c := range doc.Cases {
			vary := latin1(c.Vary)
			got := HeaderList(vary, c.I18n)
			if version != "6.1.1" {
				got = legacyHeaderList(vary, c.I18n)
			}
			if !slices.Equal(got, c.List) {
				t.Errorf("Django %s, Vary %q (i18n %v): %q, want %q", version, c.Vary, c.I18n, got, c.List)
			}
		}
	}
}
