package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache/backends"
	"github.com/fragcache/fragcache/internal/testserver"
)

// TestStatsNearCache checks the near cache's lines of stats, on memcached
// with local_ttl.
func TestStatsNearCache(t *testing.T) {
	srv := testserver.Memcached(t)
	url := "memcached://" + srv.Addr + "?local_ttl=2s&local_max_bytes=1MiB"
	code, out, errOut := runArgs("stats", "--cache", url)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q, stdout %q", code, errOut, out)
	}
	for _, want := range []string{
		"backend: fail-open wrapper (circuit breaker) (*failopen.IncrBackend)",
		"wrapped backend: near cache (local copies for at most local_ttl) (*near.IncrBackend)",
		"wrapped backend: memcached (*memcached.Backend)",
		"ping: ok (every server answered)",
		"near cache: ttl, on: hits 0, misses 0, stale hits 0, invalidations 0, 0 entries, 0 of 1048576 bytes, max staleness 2s (this process only)",
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	// Without local_ttl, no near line.
	if _, out, _ := runArgs("stats", "--cache", "memcached://"+srv.Addr); strings.Contains(out, "near cache") {
		t.Errorf("near cache line without local_ttl:\n%s", out)
	}
}

// TestLocalTTLSeesCLIWrites checks the staleness bound against the CLI: a
// cache with local_ttl sees a value the CLI sets within local_ttl.
func TestLocalTTLSeesCLIWrites(t *testing.T) {
	const ttl = 500 * time.Millisecond
	srv := testserver.Memcached(t)
	url := "memcached://" + srv.Addr
	if code, _, errOut := runArgs("set", "--cache", url, "k", "v1"); code != 0 {
		t.Fatalf("set: %s", errOut)
	}
	c, err := backends.Open(url + "?local_ttl=500ms")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if v, _, _ := c.Get(ctx, "k"); string(v) != "v1" {
		t.Fatalf("Get = %q", v)
	}
	if code, _, errOut := runArgs("set", "--cache", url, "k", "v2"); code != 0 {
		t.Fatalf("set: %s", errOut)
	}
	written := time.Now()
	for {
		v, _, err := c.Get(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		if string(v) == "v2" {
			break
		}
		if time.Since(written) > ttl+100*time.Millisecond {
			t.Fatalf("still %q %v after the CLI's set, local_ttl %v", v, time.Since(written), ttl)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if st := c.Stats().Near; st.Hits == 0 && st.Misses < 2 {
		t.Errorf("Near = %+v", st)
	}
}
