package dummy

import (
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/cachetest"
)

// TestConformance runs the shared suite with Django's DummyCache semantics.
func TestConformance(t *testing.T) {
	cachetest.Run(t, cachetest.Harness{
		New: func(t testing.TB, _ func() time.Time, opts ...cache.Option) *cache.Cache {
			c, err := cache.New(New(), opts...)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			return c
		},
		Clock:     true, // nothing is stored, so nothing depends on time
		Semantics: cachetest.DjangoDummy,
	})
}

func TestOpen(t *testing.T) {
	u, err := cache.ParseURL("dummy://")
	if err != nil {
		t.Fatal(err)
	}
	if b, err := Open(u); err != nil || b == nil {
		t.Fatalf("Open = %v, %v", b, err)
	}
}
