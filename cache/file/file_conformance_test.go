package file_test

import (
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/cachetest"
	"github.com/fragcache/fragcache/cache/file"
)

func conformanceCache(t testing.TB, o file.Options, opts []cache.Option) *cache.Cache {
	t.Helper()
	o.Dir = t.TempDir()
	o.MaxIndexMembers = indexBound
	store, err := file.New(o)
	if err != nil {
		t.Fatal(err)
	}
	c, err := cache.New(store, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// indexBound is the bound of the conformance stores' indexes: small, so
// that filling one is quick.
const indexBound = 200

// TestConformance runs the shared suite with Django's filebased semantics:
// random culling, alive at the exact deadline, Incr and Add not atomic,
// Incr resetting the expiry. It runs over the default store and over one
// limiting the size of values.
func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name string
		base file.Options
		max  int
	}{
		{"default", file.Options{}, 0},
		{"max_value_size", file.Options{MaxValueSize: 2 << 20}, 2 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cachetest.Run(t, cachetest.Harness{
				New: func(t testing.TB, now func() time.Time, opts ...cache.Option) *cache.Cache {
					o := tc.base
					o.Now = now
					return conformanceCache(t, o, opts)
				},
				NewCulling: func(t testing.TB, now func() time.Time, maxEntries, cullFrequency int, opts ...cache.Option) *cache.Cache {
					o := tc.base
					o.Now, o.MaxEntries, o.CullFrequency = now, maxEntries, cullFrequency
					if cullFrequency == 0 {
						o.CullFrequency = file.CullAll
					}
					return conformanceCache(t, o, opts)
				},
				Clock:           true,
				MaxValueSize:    tc.max,
				Leases:          true,
				Indexes:         true,
				MaxIndexMembers: indexBound,
				Semantics:       cachetest.DjangoFileBased,
			})
		})
	}
}
