package memory

import (
	"strings"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/cachetest"
	"github.com/fragcache/fragcache/cache/failopen"
)

func conformanceCache(t testing.TB, o Options, opts []cache.Option) *cache.Cache {
	t.Helper()
	store, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	var b cache.Backend = store
	if failOpen(t) {
		// The fail-open wrapper forwards leases and indexes.
		if b, err = failopen.New(store); err != nil {
			t.Fatal(err)
		}
	}
	c, err := cache.New(b, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestConformance runs the shared suite with Django's locmem semantics: the
// default store, and one bounded by bytes with a fast sweep.
func TestConformance(t *testing.T) {
	for name, base := range map[string]Options{
		"default":  {SweepInterval: -1},
		"bounded":  {MaxBytes: 4 << 20, SweepInterval: time.Millisecond},
		"failopen": {SweepInterval: -1, MaxEntries: 20000}, // holds a full index's entries
	} {
		t.Run(name, func(t *testing.T) {
			cachetest.Run(t, cachetest.Harness{
				New: func(t testing.TB, now func() time.Time, opts ...cache.Option) *cache.Cache {
					o := base
					o.Now = now
					return conformanceCache(t, o, opts)
				},
				NewCulling: func(t testing.TB, now func() time.Time, maxEntries, cullFrequency int, opts ...cache.Option) *cache.Cache {
					o := base
					o.Now, o.MaxEntries, o.CullFrequency = now, maxEntries, cullFrequency
					if cullFrequency == 0 {
						o.CullFrequency = CullAll
					}
					return conformanceCache(t, o, opts)
				},
				Clock:      true,
				AtomicIncr: true,
				AtomicAdd:  true,
				Leases:     true,
				Indexes:    true,
				Semantics:  cachetest.DjangoLocMem,
			})
		})
	}
}

// failOpen reports whether t runs under TestConformance/failopen.
func failOpen(t testing.TB) bool {
	return strings.HasPrefix(t.Name(), "TestConformance/failopen/")
}
