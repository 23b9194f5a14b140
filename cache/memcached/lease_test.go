package memcached_test

import (
	"bufio"
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/failopen"
	"github.com/fragcache/fragcache/cache/memcached"
	"github.com/fragcache/fragcache/internal/leasetest"
	"github.com/fragcache/fragcache/internal/stampedetest"
	"github.com/fragcache/fragcache/internal/testserver"
)

var leaseSchemes = cache.Schemes{"memcached": failopen.Opener(memcached.Open)}

func openLease(u string) (*cache.Cache, error) { return cache.Open(u, leaseSchemes) }

// TestHelperLeaseProcess is not a test: TestLeaseProcesses runs it in
// other processes.
func TestHelperLeaseProcess(t *testing.T) { leasetest.Helper(t, openLease) }

// TestLeaseProcesses: processes sharing a server race for leases (add);
// each goes to exactly one of them.
func TestLeaseProcesses(t *testing.T) {
	srv := testserver.Memcached(t)
	leasetest.Processes(t, "TestHelperLeaseProcess", "memcached://"+srv.Addr, openLease)
}

// TestLeaseLongKey: the lease of a made key of 250 bytes, whose lease key
// memcached cannot take, is stored under the hashed lease key.
func TestLeaseLongKey(t *testing.T) {
	srv := testserver.Memcached(t)
	c, _ := newCache(t, memcached.Options{}, srv)
	key := strings.Repeat("k", 250-len(":1:"))
	l, ok, err := c.AcquireLease(bg, key, time.Minute)
	if err != nil || !ok {
		t.Fatalf("AcquireLease of a 250-byte made key = %v, %v", ok, err)
	}
	if _, data, ok := rawGet(t, srv, memcached.HashedKey(l.Key())); !ok || string(data) != l.Token() {
		t.Fatalf("the server holds %q, %v under the hashed lease key", data, ok)
	}
	if _, ok, _ := c.AcquireLease(bg, key, time.Minute); ok {
		t.Fatal("a second AcquireLease succeeded")
	}
	if ok, err := l.Release(bg); !ok || err != nil {
		t.Fatalf("Release = %v, %v", ok, err)
	}
	// A key memcached rejects has no lease either.
	if _, _, err := c.AcquireLease(bg, key+"k", time.Minute); err == nil {
		t.Error("AcquireLease of a 251-byte made key succeeded")
	}
}

// TestLeaseRaw: the lease is stored with add for whole seconds, and a
// release removes only the holder's lease.
func TestLeaseRaw(t *testing.T) {
	srv := testserver.Memcached(t)
	c, b := newCache(t, memcached.Options{}, srv)
	l, ok, err := c.AcquireLease(bg, "k", 1500*time.Millisecond)
	if err != nil || !ok {
		t.Fatalf("AcquireLease = %v, %v", ok, err)
	}
	if l.Key() != "{:1:k}:lease" {
		t.Errorf("lease key %q", l.Key())
	}
	exp := metadumpExp(t, srv)[l.Key()]
	if now := time.Now().Unix(); exp < now+1 || exp > now+3 {
		t.Errorf("a lease of 1.5 s expires at %d, now %d: want 2 s, rounded up", exp, now)
	}
	// Another holder's lease, written under the key meanwhile, survives a
	// late release.
	rawSet(t, srv, l.Key(), 0, []byte("other"))
	if ok, err := l.Release(bg); ok || err != nil {
		t.Errorf("Release of a replaced lease = %v, %v", ok, err)
	}
	if _, data, ok := rawGet(t, srv, l.Key()); !ok || string(data) != "other" {
		t.Errorf("the other lease is %q, %v after the late release", data, ok)
	}
	if ok, err := b.ReleaseLease(bg, l.Key(), "other"); !ok || err != nil {
		t.Errorf("ReleaseLease by its holder = %v, %v", ok, err)
	}
	if _, _, ok := rawGet(t, srv, l.Key()); ok {
		t.Error("the released lease is still there")
	}
}

// TestLeaseUnreachable: without the fail-open wrapper a failure is an
// error; with it, no lease and no error, counted.
func TestLeaseUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	b, err := memcached.New(memcached.Options{Servers: []string{addr}, Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	c, err := cache.New(b)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok, err := c.AcquireLease(bg, "k", time.Second); ok || err == nil {
		t.Errorf("AcquireLease on a server down = %v, %v; want an error", ok, err)
	}
	fc, err := cache.Open("memcached://"+addr+"?op_timeout=200ms", leaseSchemes)
	if err != nil {
		t.Fatal(err)
	}
	defer fc.Close()
	for i := range 3 {
		before := fc.Stats().Errors
		lease, ok, err := fc.AcquireLease(bg, "k", time.Second)
		if lease != nil || ok || err != nil {
			t.Errorf("fail-open AcquireLease %d on a server down = %v, %v, %v; want nil, false, nil", i, lease, ok, err)
		}
		if got := fc.Stats().Errors; got != before+1 {
			t.Errorf("fail-open AcquireLease %d: errors %d → %d, want it counted", i, before, got)
		}
	}
}

// TestJitterMemcached: the expiries memcached holds for keys written with
// jitter=0.5 and a timeout of 100 s spread over [50 s, 100 s].
func TestJitterMemcached(t *testing.T) {
	srv := testserver.Memcached(t)
	b := newBackend(t, memcached.Options{}, srv)
	c, err := cache.New(b, cache.WithJitter(0.5))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Unix()
	const n = 200
	for i := range n {
		if err := c.Set(bg, "j"+strconv.Itoa(i), []byte("v"), cache.Seconds(100)); err != nil {
			t.Fatal(err)
		}
	}
	// A timeout of one second is never jittered to nothing.
	c.Set(bg, "one", []byte("v"), cache.Seconds(1))
	if v, ok, err := c.Get(bg, "one"); !ok || err != nil || string(v) != "v" {
		t.Fatalf("a 1 s value with jitter=0.5: %q, %v, %v", v, ok, err)
	}
	end := time.Now().Unix()
	exps := metadumpExp(t, srv)
	distinct := map[int64]bool{}
	for i := range n {
		exp, ok := exps[":1:j"+strconv.Itoa(i)]
		if !ok {
			t.Fatalf("key %d missing from the metadump", i)
		}
		if exp < start+50-1 || exp > end+100+1 {
			t.Fatalf("key %d expires at %d, want within [%d, %d]", i, exp, start+49, end+101)
		}
		distinct[exp] = true
	}
	if len(distinct) < 20 {
		t.Errorf("%d keys expire at %d distinct seconds: not spread", n, len(distinct))
	}
}

// metadumpExp returns the absolute expiry (Unix seconds; -1 for never) of
// every key a server holds, from lru_crawler metadump.
func metadumpExp(t testing.TB, srv *testserver.Server) map[string]int64 {
	t.Helper()
	conn, err := net.DialTimeout(srv.Network, srv.Addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte("lru_crawler metadump all\r\n")); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	r := bufio.NewReader(conn)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("metadump: %v", err)
		}
		line = strings.TrimSpace(line)
		if line == "END" {
			return out
		}
		if strings.HasPrefix(line, "ERROR") || strings.HasPrefix(line, "BUSY") {
			t.Fatalf("metadump: %s", line)
		}
		var key string
		var exp int64 = -2
		for _, f := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(f, "key="); ok {
				key, _ = url.QueryUnescape(v)
			} else if v, ok := strings.CutPrefix(f, "exp="); ok {
				exp, _ = strconv.ParseInt(v, 10, 64)
			}
		}
		if key != "" {
			out[key] = exp
		}
	}
}

// TestHelperStampedeProcess is not a test: TestStampedeProcesses runs it
// in other processes.
func TestHelperStampedeProcess(t *testing.T) { stampedetest.Helper(t, openLease) }

// TestStampedeProcesses: 4 processes × 16 goroutines on one memcached
// server load a cold key once, survive a lease holder killed mid-load,
// and refresh a stale value once while serving it.
func TestStampedeProcesses(t *testing.T) {
	srv := testserver.Memcached(t)
	stampedetest.Run(t, stampedetest.Config{
		Helper: "TestHelperStampedeProcess", URL: "memcached://" + srv.Addr + "?op_timeout=5s", Open: openLease,
		AtomicIncr: true, Coarse: true,
	})
}
