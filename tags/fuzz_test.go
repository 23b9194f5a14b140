package tags

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flosch/pongo2/v6"

	"github.com/fragcache/fragcache/cache"
)

// FuzzCacheTagParse feeds random argument strings to {% cache %}: parsing
// (and rendering what parses) never panics, and every error is a
// *pongo2.Error. The seed corpus is in testdata/fuzz/FuzzCacheTagParse.
func FuzzCacheTagParse(f *testing.F) {
	f.Add(`10 frag`)
	f.Add(`10 frag a -1 using="default"`)
	e := newEnv(f, cache.KeySchemeDjango61, Options{}, map[string]aliasConf{"default": {}, "other": {}})
	ctx := pongo2.Context{
		"a": 1, "b": "x y", "t": 5, "s": "10", "f": 2.5, "l": []any{1, "a", nil},
		"m": map[string]any{"k": "v", "n": 3}, "alias": "other", "n": nil,
	}
	f.Fuzz(func(t *testing.T, args string) {
		// Braces could close the tag and start other template syntax,
		// whose pongo2 bugs (e.g. an endless loop on
		// {% endcomment x %}) are not the tag's.
		if strings.ContainsAny(args, "{}") || strings.Contains(args, "slow") {
			t.Skip()
		}
		// A hang is a failure too: the fuzzing engine has no per-input
		// time limit, so crash the worker (which records the input).
		watchdog := time.AfterFunc(10*time.Second, func() { panic(fmt.Sprintf("FuzzCacheTagParse: %q hangs", args)) })
		defer watchdog.Stop()
		tpl, err := e.set.FromString("{% cache " + args + " %}<{{ a }}>{% endcache %}")
		if err != nil {
			checkFuzzError(t, args, err)
			return
		}
		out, err := tpl.Execute(ctx)
		if err != nil {
			checkFuzzError(t, args, err)
			return
		}
		if out != "<1>" {
			t.Errorf("%q rendered %q", args, out)
		}
	})
}

func checkFuzzError(t *testing.T, args string, err error) {
	var pe *pongo2.Error
	if !errors.As(err, &pe) {
		t.Fatalf("%q: error %v is a %T, not a *pongo2.Error", args, err, err)
	}
	if strings.Contains(pe.OrigError.Error(), "panic parsing") {
		t.Fatalf("%q: recovered panic: %v", args, err)
	}
}
