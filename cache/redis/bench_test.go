package redis_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache/backends"

	goredis "github.com/redis/go-redis/v9"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/failopen"
	"github.com/fragcache/fragcache/cache/redis"
	"github.com/fragcache/fragcache/internal/testserver"
)

// BenchmarkGet8KiB compares a hit of an 8 KiB value through cache.Cache
// with the same GET sent with go-redis directly, in the same run against the
// same server. Compare their ns/op: the cache should cost at most 1.15× the
// direct call.
func BenchmarkGet8KiB(b *testing.B) {
	srv := testserver.Redis(b)
	c := open(b, "redis://"+srv.Addr)
	value := make([]byte, 8<<10)
	for i := range value {
		value[i] = byte('a' + i%26)
	}
	must(b, c.Set(bg, "big", value, cache.Forever))
	rc := goredis.NewClient(&goredis.Options{Addr: srv.Addr, ContextTimeoutEnabled: true})
	b.Cleanup(func() { rc.Close() })

	b.Run("cache", func(b *testing.B) {
		b.SetBytes(int64(len(value)))
		b.ReportAllocs()
		for b.Loop() {
			v, ok, err := c.Get(bg, "big")
			if err != nil || !ok || len(v) != len(value) {
				b.Fatal(ok, err)
			}
		}
	})
	b.Run("goredis", func(b *testing.B) {
		b.SetBytes(int64(len(value)))
		b.ReportAllocs()
		for b.Loop() {
			v, err := rc.Get(bg, ":1:big").Bytes()
			if err != nil || len(v) != len(value) {
				b.Fatal(err)
			}
		}
	})
	// Interleaved: blocks of cache and direct calls alternate, so that
	// the load of a shared machine weighs on both alike; reports both
	// costs and their ratio.
	b.Run("interleaved", func(b *testing.B) {
		const block = 64
		var tc, td time.Duration
		var n int
		for b.Loop() {
			start := time.Now()
			for range block {
				if _, ok, err := c.Get(bg, "big"); err != nil || !ok {
					b.Fatal(ok, err)
				}
			}
			mid := time.Now()
			for range block {
				if _, err := rc.Get(bg, ":1:big").Bytes(); err != nil {
					b.Fatal(err)
				}
			}
			tc += mid.Sub(start)
			td += time.Since(mid)
			n += block
		}
		b.ReportMetric(float64(tc.Nanoseconds())/float64(n), "cache-ns/get")
		b.ReportMetric(float64(td.Nanoseconds())/float64(n), "goredis-ns/get")
		b.ReportMetric(float64(tc)/float64(td), "ratio")
	})
	// The same through the fail-open wrapper backends.Open puts around
	// redis:// URLs.
	cf, err := cache.Open("redis://"+srv.Addr, cache.Schemes{"redis": failopen.Opener(redis.Open)})
	must(b, err)
	b.Cleanup(func() { cf.Close() })
	b.Run("cache_failopen", func(b *testing.B) {
		b.SetBytes(int64(len(value)))
		b.ReportAllocs()
		for b.Loop() {
			v, ok, err := cf.Get(bg, "big")
			if err != nil || !ok || len(v) != len(value) {
				b.Fatal(ok, err)
			}
		}
	})
	b.Run("cache_parallel", func(b *testing.B) {
		b.SetBytes(int64(len(value)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, ok, err := c.Get(bg, "big"); err != nil || !ok {
					b.Error(ok, err)
					return
				}
			}
		})
	})
	b.Run("goredis_parallel", func(b *testing.B) {
		b.SetBytes(int64(len(value)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := rc.Get(bg, ":1:big").Bytes(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkGetMany20 fetches 20 keys of 1 KiB with one MGET.
func BenchmarkGetMany20(b *testing.B) {
	srv := testserver.Redis(b)
	c := open(b, "redis://"+srv.Addr)
	keys := make([]string, 20)
	items := make(map[string][]byte, 20)
	for i := range keys {
		keys[i] = fmt.Sprintf("frag%d", i)
		items[keys[i]] = make([]byte, 1024)
	}
	if _, err := c.SetMany(bg, items, cache.Forever); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		m, err := c.GetMany(bg, keys)
		if err != nil || len(m) != 20 {
			b.Fatal(len(m), err)
		}
	}
}

// BenchmarkNearHit is a hit of a fragment-sized value through the near
// cache, as the fragment tag reads it (cache.Cache over the fail-open
// wrapper, from cache/backends), next to the same read on memory://.
func BenchmarkNearHit(b *testing.B) {
	srv := testserver.Redis(b)
	value := []byte(strings.Repeat("<li>fragment</li>", 300))
	for _, url := range []string{"memory://", "redis://" + srv.Addr + "?near_cache=1", "redis://" + srv.Addr} {
		c, err := backends.Open(url)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		must(b, c.Set(bg, "frag", value, cache.Forever))
		key := []byte("frag")
		name, _, _ := strings.Cut(url, ":")
		if strings.Contains(url, "near") {
			name += "-near"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				v, ok, err := c.GetKeyBytes(bg, key)
				if err != nil || !ok || len(v) != len(value) {
					b.Fatal(ok, err)
				}
			}
		})
	}
}
