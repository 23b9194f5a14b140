package cache_test

import (
	"fmt"

	"github.com/fragcache/fragcache/cache"
)

// ExampleFragmentKey computes the key under which {% cache 500 sidebar
// user.username lang %} stores its output, e.g. to invalidate it with
// Cache.Delete. Vary values are stringified as Python's str() does, so the
// key is the one a Django process sharing the cache computes.
func ExampleFragmentKey() {
	fmt.Println(cache.FragmentKey("sidebar", "user-42", "en"))
	fmt.Println(cache.KeySchemeLegacy.FragmentKey("sidebar", "user-42", "en"))
	fmt.Println(cache.FragmentKey("frag", 1.0) == cache.FragmentKey("frag", "1.0"))
	// Output:
	// template.cache.sidebar.eec92ae413a357c0ebc9277ee512cfdf
	// template.cache.sidebar.361a0ae260cabae41fec9576b8126993
	// true
}

// ExampleAppendFragmentKey builds a key into a reusable buffer without
// allocating.
func ExampleAppendFragmentKey() {
	buf := make([]byte, 0, 128)
	buf = cache.AppendFragmentKey(buf[:0], cache.KeySchemeDjango61, "frag", []any{42, "en"})
	fmt.Println(string(buf))
	// Output:
	// template.cache.frag.0cda9f2afdbc52497ec73bc969f8bec6
}
