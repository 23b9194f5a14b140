package redis_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/backends"
	"github.com/fragcache/fragcache/internal/testserver"
)

// BenchmarkCluster compares, in one run, a single Redis with a 3-master
// Redis Cluster (both local, both through cache/backends, that is with
// fail-open, as a page reads fragments):
//
//   - render: a Get-heavy render, 10 fragment hits of 4 KiB read one after
//     the other, in interleaved blocks so that the machine's load weighs on
//     both alike; reports each one's µs per render and cluster/single
//     throughput (goal ≥ 0.9).
//   - render_parallel: the same from GOMAXPROCS goroutines.
//   - getmany20: GetMany of 20 keys of 200 bytes (spread over the 3
//     masters on the Cluster: one pipeline per master, concurrently; one
//     MGET on the single server) next to one PING round trip on a
//     loopback connection; reports the ratio (goal < 2).
func BenchmarkCluster(b *testing.B) {
	single := testserver.Redis(b)
	cl := testserver.RedisCluster(b)
	urls := []struct{ name, url string }{
		{"single", "redis://" + single.Addr},
		{"cluster", "redis+cluster://" + strings.Join(cl.Addrs[:3], ";")},
	}
	value := []byte(strings.Repeat("<li>fragment</li>", 240)) // 4 KiB
	frags := make([]string, 10)
	tagged := make([]string, 10) // all in one slot: on one master
	for i := range frags {
		frags[i] = fmt.Sprintf("template.cache.sidebar%d", i)
		tagged[i] = fmt.Sprintf("{sidebar}%d", i)
	}
	small := []byte(strings.Repeat("x", 200))
	keys := make([]string, 20)
	for i := range keys {
		keys[i] = fmt.Sprintf("frag%d", i)
	}
	caches := make([]*cache.Cache, len(urls))
	for i, u := range urls {
		// op_timeout=1s: a loaded machine must not turn hits into
		// fail-open misses.
		c, err := backends.Open(u.url + "?op_timeout=1s")
		must(b, err)
		b.Cleanup(func() { c.Close() })
		for _, k := range append(append([]string(nil), frags...), tagged...) {
			must(b, c.Set(bg, k, value, cache.Forever))
		}
		for _, k := range keys {
			must(b, c.Set(bg, k, small, cache.Forever))
		}
		caches[i] = c
	}
	render := func(b *testing.B, c *cache.Cache, keys []string) {
		for _, k := range keys {
			if v, ok, err := c.Get(bg, k); err != nil || !ok || len(v) != len(value) {
				b.Fatal(ok, err)
			}
		}
	}
	for i, u := range urls {
		b.Run("render/"+u.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				render(b, caches[i], frags)
			}
		})
	}
	// interleaved: fragments spread over the masters; interleaved_one_master:
	// their keys hash-tagged into one slot, so that the cluster's renders
	// read from one server process as the single server's do.
	for _, keys := range []struct {
		name string
		keys []string
	}{{"interleaved", frags}, {"interleaved_one_master", tagged}} {
		b.Run("render/"+keys.name, func(b *testing.B) {
			const block = 16
			var t [2]time.Duration
			n := 0
			for b.Loop() {
				for i, c := range caches {
					start := time.Now()
					for range block {
						render(b, c, keys.keys)
					}
					t[i] += time.Since(start)
				}
				n += block
			}
			b.ReportMetric(float64(t[0].Microseconds())/float64(n), "single-µs/render")
			b.ReportMetric(float64(t[1].Microseconds())/float64(n), "cluster-µs/render")
			b.ReportMetric(float64(t[0])/float64(t[1]), "cluster/single-throughput")
		})
	}
	for i, u := range urls {
		b.Run("render_parallel/"+u.name, func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					render(b, caches[i], frags)
				}
			})
		})
	}
	ping := goredis.NewClient(&goredis.Options{Addr: cl.Addrs[0]})
	b.Cleanup(func() { ping.Close() })
	b.Run("getmany20/interleaved", func(b *testing.B) {
		const block = 32
		var t [3]time.Duration
		n := 0
		for b.Loop() {
			for i, c := range caches {
				start := time.Now()
				for range block {
					if m, err := c.GetMany(bg, keys); err != nil || len(m) != len(keys) {
						b.Fatal(len(m), err)
					}
				}
				t[i] += time.Since(start)
			}
			start := time.Now()
			for range block {
				must(b, ping.Ping(bg).Err())
			}
			t[2] += time.Since(start)
			n += block
		}
		b.ReportMetric(float64(t[0].Microseconds())/float64(n), "single-µs/getmany")
		b.ReportMetric(float64(t[1].Microseconds())/float64(n), "cluster-µs/getmany")
		b.ReportMetric(float64(t[2].Microseconds())/float64(n), "ping-µs")
		b.ReportMetric(float64(t[0])/float64(t[2]), "single-getmany/ping")
		b.ReportMetric(float64(t[1])/float64(t[2]), "cluster-getmany/ping")
	})
}
