package pagecache

import (
	"net/http"
	"slices"
	"strings"
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

// TestUpstreamPageKeysGolden checks the page keys of upstream releases
// before the CVE-2026-113593 fix (an absent header hashed as nothing:
// WithDjango("4.2"), "5.2.18", "6.0.9", "3.2.25") against Django 3.2 run
// with upstream's _generate_cache_key (scripts/page_keys_upstream.py).
func TestUpstreamPageKeysGolden(t *testing.T) {
	var doc struct {
		Cases []struct {
			Case, Vary string
			Headers    map[string]string
			Learned    string
		}
	}
	if err := golden.Decode("page_keys_upstream", "3.2.25", &doc); err != nil {
		t.Fatal(err)
	}
	for _, release := range []string{"3.2.25", "4.2", "5.2.18", "6.0.9"} {
		k := mustNewKeys(t, WithDjango(release))
		for _, c := range doc.Cases {
			r := newReq("GET", "/p?q=1")
			for name, v := range c.Headers {
				r.Header.Set(strings.ReplaceAll(strings.TrimPrefix(name, "HTTP_"), "_", "-"), latin1(v))
			}
			got, err := k.PageKey(r, http.MethodGet, HeaderList(c.Vary, false))
			if err != nil || got != c.Learned {
				t.Errorf("%s, %s: PageKey = %q, %v; Django %q", release, c.Case, got, err, c.Learned)
			}
		}
	}
	// The fixed releases hash an absent header as "-,": other keys.
	k := mustNewKeys(t, WithDjango("5.2.19"))
	r := newReq("GET", "/p?q=1")
	if got, _ := k.PageKey(r, http.MethodGet, []string{"HTTP_COOKIE"}); got == doc.Cases[2].Learned {
		t.Errorf("5.2.19 keys an absent header as upstream did")
	}
}
