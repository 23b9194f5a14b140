package memcached_test

import (
	"context"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/cachetest"
	"github.com/fragcache/fragcache/cache/failopen"
	"github.com/fragcache/fragcache/cache/memcached"
	"github.com/fragcache/fragcache/internal/testserver"
)

// harness returns a conformance harness over one memcached server, each
// cache cleared (flush_all) before use.
func harness(srv *testserver.Server, opts memcached.Options) cachetest.Harness {
	opts.Servers = []string{srv.Addr}
	opts.MaxIndexMembers = indexBound
	if opts.Timeout == 0 {
		opts.Timeout = testTimeout
	}
	return cachetest.Harness{
		New: func(t testing.TB, _ func() time.Time, copts ...cache.Option) *cache.Cache {
			b, err := memcached.New(opts)
			if err != nil {
				t.Fatal(err)
			}
			if err := b.Clear(context.Background()); err != nil {
				b.Close()
				t.Fatal(err)
			}
			c, err := cache.New(b, copts...)
			if err != nil {
				b.Close()
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			return c
		},
		Granularity:     time.Second,
		MaxValueSize:    1000 * 1000,
		AtomicIncr:      true,
		AtomicAdd:       true,
		Leases:          true,
		Indexes:         true,
		MaxIndexMembers: indexBound,
		Semantics:       cachetest.DjangoMemcached,
	}
}

func TestConformance(t *testing.T) {
	srv := testserver.Memcached(t)
	cachetest.Run(t, harness(srv, memcached.Options{}))
}

// TestConformanceTextFlags runs the suite with Django-typed flags, which
// must not change what the backend reads back. The expiry tests, which
// sleep, are skipped (Granularity 0): flags do not affect them.
func TestConformanceTextFlags(t *testing.T) {
	srv := testserver.Memcached(t)
	h := harness(srv, memcached.Options{TextFlags: true})
	h.Granularity = 0
	cachetest.Run(t, h)
}

// TestConformanceHashLongKeys runs the suite with hashed keys: the backend
// then stores any key and only warns, as Django's other backends do.
func TestConformanceHashLongKeys(t *testing.T) {
	srv := testserver.Memcached(t)
	h := harness(srv, memcached.Options{HashLongKeys: true})
	h.Granularity = 0
	h.RejectsKeys = false
	h.Golden = "" // the golden battery expects the keys rejected
	cachetest.Run(t, h)
}

// indexBound is the bound of the conformance backends' indexes: small, so
// that filling one is quick.
const indexBound = 200

// testTimeout is the network timeout of the tests' backends: generous, so
// that a loaded test machine does not turn into i/o timeouts.
const testTimeout = 5 * time.Second

// TestConformanceFailOpen runs the suite through the fail-open wrapper,
// which forwards leases and indexes. The expiry tests, which sleep, are
// skipped (Granularity 0): the wrapper does not change expiry.
func TestConformanceFailOpen(t *testing.T) {
	srv := testserver.Memcached(t)
	h := harness(srv, memcached.Options{})
	h.Granularity = 0
	inner := h.New
	h.New = func(t testing.TB, now func() time.Time, copts ...cache.Option) *cache.Cache {
		c := inner(t, now, copts...)
		w, err := failopen.New(c.Backend())
		if err != nil {
			t.Fatal(err)
		}
		fc, err := cache.New(w, copts...)
		if err != nil {
			t.Fatal(err)
		}
		return fc
	}
	cachetest.Run(t, h)
}
