package memcached_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/backends"
	"github.com/fragcache/fragcache/cache/cachetest"
	"github.com/fragcache/fragcache/cache/failopen"
	"github.com/fragcache/fragcache/cache/memcached"
	"github.com/fragcache/fragcache/cache/near"
	"github.com/fragcache/fragcache/internal/testserver"
)

// TestConformanceLocalTTL runs the conformance suite through the local_ttl
// layer: a single process sees its own writes at once, so nothing changes.
func TestConformanceLocalTTL(t *testing.T) {
	srv := testserver.Memcached(t)
	h := harness(srv, memcached.Options{})
	inner := h.New
	h.New = func(t testing.TB, now func() time.Time, copts ...cache.Option) *cache.Cache {
		c := inner(t, now, copts...)
		w, err := near.New(c.Backend(), near.Options{TTL: time.Minute, Lifetime: memcached.Lifetime})
		if err != nil {
			t.Fatal(err)
		}
		nc, err := cache.New(w, copts...)
		if err != nil {
			t.Fatal(err)
		}
		return nc
	}
	cachetest.Run(t, h)
}

func TestOpenLocalTTL(t *testing.T) {
	srv := testserver.Memcached(t)
	c, err := backends.Open("memcached://" + srv.Addr + "?local_ttl=2s&local_max_bytes=1MiB")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// failopen(near(memcached)): every layer is found.
	if _, ok := c.Backend().(failopen.Wrapper); !ok {
		t.Errorf("outer backend is %T, want the fail-open wrapper", c.Backend())
	}
	if _, ok := cache.As[*near.IncrBackend](c.Backend()); !ok {
		t.Error("no near layer")
	}
	if _, ok := cache.As[*memcached.Backend](c.Backend()); !ok {
		t.Error("As does not find the memcached backend")
	}
	if _, ok := c.Backend().(cache.Incrementer); !ok {
		t.Error("the chain lost memcached's atomic Incr")
	}
	if err := c.Set(bg, "bad key", []byte("v"), cache.DefaultTimeout); !errors.Is(err, cache.ErrInvalidKey) {
		t.Errorf("memcached's key check is lost: Set(bad key) = %v", err)
	}
	if err := c.Set(bg, "k", []byte("v"), cache.DefaultTimeout); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := c.Get(bg, "k"); err != nil || !ok || string(v) != "v" {
		t.Fatal(v, ok, err)
	}
	st := c.Stats().Near
	if st.Mode != "ttl" || st.State != "on" || st.Hits != 1 || st.Entries != 1 || st.MaxBytes != 1<<20 || st.MaxStaleness != 2*time.Second {
		t.Errorf("Stats().Near = %+v", st)
	}

	// Off unless asked for; local_ttl=0 is off too.
	for _, u := range []string{"memcached://" + srv.Addr, "memcached://" + srv.Addr + "?local_ttl=0", "memcached://" + srv.Addr + "?local_ttl=0s"} {
		c, err := backends.Open(u)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := cache.As[cache.LocalGetter](c.Backend()); ok {
			t.Errorf("%s: a near layer", u)
		}
		if st := c.Stats().Near; st != (cache.NearStats{}) {
			t.Errorf("%s: Near = %+v", u, st)
		}
		c.Close()
	}
	// Without fail-open, the near layer is the backend.
	c2, err := backends.Open("memcached://" + srv.Addr + "?local_ttl=1.5&failopen=0")
	if err != nil {
		t.Fatal(err)
	}
	if w, ok := c2.Backend().(*near.IncrBackend); !ok || w.TTL() != 1500*time.Millisecond {
		t.Errorf("failopen=0&local_ttl=1.5: backend %T", c2.Backend())
	}
	c2.Close()

	for _, bad := range []string{
		"memcached://h:1?local_max_bytes=1MiB",
		"memcached://h:1?local_ttl=0&local_max_bytes=1MiB",
		"memcached://h:1?local_ttl=2s&local_max_bytes=0",
		"memcached://h:1?local_ttl=2s&local_max_bytes=lots",
		"memcached://h:1?local_ttl=-1s",
		"memcached://h:1?local_ttl=soon",
		"memcached://h:1?local_ttl=721h",
	} {
		if c, err := backends.Open(bad); !errors.Is(err, cache.ErrInvalidOption) {
			t.Errorf("Open(%q): %v, want ErrInvalidOption", bad, err)
			if c != nil {
				c.Close()
			}
		}
	}
}

// TestLocalTTLFailOpen checks the copies served while memcached is down:
// until local_ttl after they were fetched, then misses.
func TestLocalTTLFailOpen(t *testing.T) {
	const ttl = time.Second
	srv := testserver.Memcached(t)
	c, err := backends.Open("memcached://" + srv.Addr + "?local_ttl=1s&failure_threshold=1&cool_down=1m&op_timeout=500ms")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Clear(bg); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(bg, "k", []byte("v"), cache.DefaultTimeout); err != nil {
		t.Fatal(err)
	}
	written := time.Now()
	srv.Stop()
	// A miss reaches the dead server and opens the breaker.
	if _, ok, err := c.Get(bg, "other"); err != nil || ok {
		t.Fatal(ok, err)
	}
	if s := c.Stats().Backend.Breaker; s != "open" {
		t.Fatalf("breaker %s, want open", s)
	}
	if v, ok, err := c.Get(bg, "k"); err != nil || !ok || string(v) != "v" {
		t.Fatalf("copy not served while memcached is down: %q %v %v", v, ok, err)
	}
	if m, err := c.GetMany(bg, []string{"k", "other"}); err != nil || len(m) != 1 {
		t.Errorf("GetMany = %q %v", m, err)
	}
	if st := c.Stats().Near; st.Stale != 2 {
		t.Errorf("Stale = %d, want 2 (%+v)", st.Stale, st)
	}
	time.Sleep(time.Until(written.Add(ttl + 50*time.Millisecond)))
	if v, ok, err := c.Get(bg, "k"); err != nil || ok {
		t.Errorf("copy served after local_ttl: %q %v %v", v, ok, err)
	}
}

// TestLocalTTLCLI checks the bound against another process: the fragcache
// CLI (a subprocess) writes, and this process sees it within local_ttl.
func TestLocalTTLOtherProcess(t *testing.T) {
	const ttl = 500 * time.Millisecond
	srv := testserver.Memcached(t)
	c, err := backends.Open("memcached://" + srv.Addr + "?local_ttl=500ms")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Clear(bg); err != nil {
		t.Fatal(err)
	}
	rawSet(t, srv, ":1:k", 0, []byte("v1"))
	if v, _, _ := c.Get(bg, "k"); string(v) != "v1" {
		t.Fatalf("Get = %q", v)
	}
	// Another process (raw protocol on a connection of its own) writes.
	rawSet(t, srv, ":1:k", 0, []byte("v2"))
	written := time.Now()
	for {
		v, _, err := c.Get(context.Background(), "k")
		if err != nil {
			t.Fatal(err)
		}
		if string(v) == "v2" {
			break
		}
		if time.Since(written) > ttl+100*time.Millisecond {
			t.Fatalf("still %q %v after another client's write, local_ttl %v", v, time.Since(written), ttl)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
