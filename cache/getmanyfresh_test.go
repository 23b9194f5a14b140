package cache_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/backends"
	"github.com/fragcache/fragcache/internal/testserver"
)

// TestGetManyWithFreshness reads values and the freshness of some of them
// with one call, on memory (freshness in the entry), memcached and Redis
// (freshness side keys in the multi-get), and judges them as GetEntry
// does.
func TestGetManyWithFreshness(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		url  func() string
	}{
		{"memory", func() string { return "memory://" }},
		{"memcached", func() string { return "memcached://" + testserver.Memcached(t).Addr }},
		{"redis", func() string { return "redis://" + testserver.Redis(t).Addr }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := backends.Open(tc.url() + "?grace=30s")
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			sp := c.Stampede()
			if err := c.Set(ctx, "plain", []byte("p"), cache.Seconds(60)); err != nil {
				t.Fatal(err)
			}
			if err := c.SetEntry(ctx, "fresh", []byte("f"), cache.Seconds(60), sp, time.Millisecond); err != nil {
				t.Fatal(err)
			}
			if err := c.SetEntry(ctx, "stale", []byte("s"), cache.Seconds(0.05), sp, time.Millisecond); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond)
			vals, metas, err := c.GetManyWithFreshness(ctx, []string{"plain", "fresh", "stale", "absent"}, []string{"plain", "fresh", "stale", "absent"})
			if err != nil {
				t.Fatal(err)
			}
			if len(vals) != 3 || string(vals["plain"]) != "p" || string(vals["fresh"]) != "f" || string(vals["stale"]) != "s" {
				t.Fatalf("values %q", vals)
			}
			if _, ok := metas["plain"]; ok {
				t.Errorf("a freshness for a value stored without one: %q", metas["plain"])
			}
			for _, want := range []struct {
				key   string
				stale bool
			}{{"plain", false}, {"fresh", false}, {"stale", true}} {
				l := cache.Judge(vals[want.key], metas[want.key], sp, time.Now())
				if !l.Hit || l.Stale != want.stale {
					t.Errorf("%s: %+v, want stale %v", want.key, l, want.stale)
				}
				if e, err := c.GetEntry(ctx, want.key, sp); err != nil || e.Stale != l.Stale {
					t.Errorf("%s: GetEntry %+v, %v; GetManyWithFreshness judged %+v", want.key, e, err, l)
				}
			}
			// Without judged keys it is GetMany.
			vals, metas, err = c.GetManyWithFreshness(ctx, []string{"plain", "fresh"}, nil)
			if err != nil || len(vals) != 2 || metas != nil {
				t.Errorf("without judged keys: %q, %q, %v", vals, metas, err)
			}
			// A judged key must be one of the keys.
			if _, _, err := c.GetManyWithFreshness(ctx, []string{"plain"}, []string{"fresh"}); !errors.Is(err, cache.ErrInvalidOption) {
				t.Errorf("judged key not among the keys: %v, want ErrInvalidOption", err)
			}
		})
	}
}
