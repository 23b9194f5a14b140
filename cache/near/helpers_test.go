package near_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/memcached"
	"github.com/fragcache/fragcache/cache/near"
	"github.com/fragcache/fragcache/internal/testserver"
)

var bg = context.Background()

// mc returns a memcached backend over srv, closed at the end of the test:
// a process of its own, as far as the near layer of another is concerned.
func mc(t testing.TB, srv *testserver.Server) *memcached.Backend {
	t.Helper()
	b, err := memcached.New(memcached.Options{Servers: []string{srv.Addr}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// newNear returns a near layer over a memcached backend of its own on srv,
// after flushing srv. A zero opts.Lifetime is memcached.Lifetime.
func newNear(t testing.TB, srv *testserver.Server, opts near.Options) near.Wrapper {
	t.Helper()
	inner := mc(t, srv)
	if err := inner.Clear(bg); err != nil {
		t.Fatal(err)
	}
	if opts.Lifetime == nil {
		opts.Lifetime = memcached.Lifetime
	}
	w, err := near.New(inner, opts)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// getHits returns memcached's get_hits and cmd_get: the gets it answered.
func getStats(t testing.TB, srv *testserver.Server) (cmdGet, getHits int) {
	t.Helper()
	conn, err := net.DialTimeout(srv.Network, srv.Addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprint(conn, "stats\r\n")
	r := bufio.NewReader(conn)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		line = strings.TrimSpace(line)
		if line == "END" {
			return cmdGet, getHits
		}
		f := strings.Fields(line)
		if len(f) == 3 && f[1] == "cmd_get" {
			cmdGet, _ = strconv.Atoi(f[2])
		}
		if len(f) == 3 && f[1] == "get_hits" {
			getHits, _ = strconv.Atoi(f[2])
		}
	}
}

// get is Get that fails the test on an error.
func get(t testing.TB, b cache.Backend, key string) (string, bool) {
	t.Helper()
	v, ok, err := b.Get(bg, key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return string(v), ok
}

// set is Set that fails the test on an error.
func set(t testing.TB, b cache.Backend, key, value string, timeout cache.Timeout) {
	t.Helper()
	if err := b.Set(bg, key, []byte(value), timeout); err != nil {
		t.Fatalf("Set(%q): %v", key, err)
	}
}
