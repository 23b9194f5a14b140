package memcached_test

import (
	"bytes"
	"strconv"
	"testing"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/memcached"
	"github.com/fragcache/fragcache/internal/testserver"
)

// BenchmarkGet8KiB reads an 8 KiB value through a cache.Cache over this
// backend and, in the same run, with gomemcache directly, for comparison.
func BenchmarkGet8KiB(b *testing.B) {
	srv := testserver.Memcached(b)
	c, _ := newCache(b, memcached.Options{}, srv)
	val := bytes.Repeat([]byte("x"), 8<<10)
	if err := c.Set(bg, "k", val, cache.Forever); err != nil {
		b.Fatal(err)
	}
	mc := memcache.New(srv.Addr)
	mc.MaxIdleConns = memcached.DefaultMaxIdleConns
	mc.Timeout = testTimeout
	b.Cleanup(func() { mc.Close() })

	b.Run("cache", func(b *testing.B) {
		b.SetBytes(int64(len(val)))
		b.ReportAllocs()
		for b.Loop() {
			if _, ok, err := c.Get(bg, "k"); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
	b.Run("gomemcache", func(b *testing.B) {
		b.SetBytes(int64(len(val)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := mc.Get(":1:k"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cache-parallel", func(b *testing.B) {
		b.SetBytes(int64(len(val)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, ok, err := c.Get(bg, "k"); !ok || err != nil {
					b.Error(ok, err)
					return
				}
			}
		})
	})
	b.Run("gomemcache-parallel", func(b *testing.B) {
		b.SetBytes(int64(len(val)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := mc.Get(":1:k"); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkGetMany20 reads 20 small values with one multi-get, through the
// cache and with gomemcache's GetMulti directly.
func BenchmarkGetMany20(b *testing.B) {
	srv := testserver.Memcached(b)
	c, _ := newCache(b, memcached.Options{}, srv)
	keys := make([]string, 20)
	made := make([]string, 20)
	for i := range keys {
		keys[i] = "frag" + strconv.Itoa(i)
		made[i] = c.MakeKey(keys[i])
		if err := c.Set(bg, keys[i], bytes.Repeat([]byte("v"), 512), cache.Forever); err != nil {
			b.Fatal(err)
		}
	}
	mc := memcache.New(srv.Addr)
	mc.MaxIdleConns = memcached.DefaultMaxIdleConns
	mc.Timeout = testTimeout
	b.Cleanup(func() { mc.Close() })

	b.Run("cache", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if m, err := c.GetMany(bg, keys); len(m) != 20 || err != nil {
				b.Fatal(len(m), err)
			}
		}
	})
	b.Run("gomemcache", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if m, err := mc.GetMulti(made); len(m) != 20 || err != nil {
				b.Fatal(len(m), err)
			}
		}
	})
}

// BenchmarkFragmentStore measures what indexing costs a fragment store (a
// miss): a Set of a key that is no fragment (not indexed), of a new
// fragment variant (Set, then get and append of the index; indexes of 100
// variants), and of a variant already listed (Set, then get of the index).
func BenchmarkFragmentStore(b *testing.B) {
	srv := testserver.Memcached(b)
	c, _ := newCache(b, memcached.Options{}, srv)
	val := bytes.Repeat([]byte("x"), 2<<10)
	b.Run("plain", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if err := c.Set(bg, "plain."+strconv.Itoa(i%1000), val, cache.Seconds(600)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("new-variant", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			k := cache.FragmentKey("bench"+strconv.Itoa(i/100), i%100)
			if err := c.Set(bg, k, val, cache.Seconds(600)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("listed-variant", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if err := c.Set(bg, cache.FragmentKey("bench0", i%100), val, cache.Seconds(600)); err != nil {
				b.Fatal(err)
			}
		}
	})
	if st := c.Stats().Index; st.Errors > 0 {
		b.Fatalf("index errors: %+v", st)
	}
}
