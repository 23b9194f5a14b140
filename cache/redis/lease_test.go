package redis_test

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/failopen"
	"github.com/fragcache/fragcache/cache/redis"
	"github.com/fragcache/fragcache/internal/leasetest"
	"github.com/fragcache/fragcache/internal/stampedetest"
	"github.com/fragcache/fragcache/internal/testserver"
)

var leaseSchemes = cache.Schemes{"redis": failopen.Opener(redis.Open)}

func openLease(u string) (*cache.Cache, error) { return cache.Open(u, leaseSchemes) }

// TestHelperLeaseProcess is not a test: TestLeaseProcesses runs it in
// other processes.
func TestHelperLeaseProcess(t *testing.T) { leasetest.Helper(t, openLease) }

// TestLeaseProcesses: processes sharing a server race for leases (SET NX
// PX); each goes to exactly one of them, with and without the near cache.
func TestLeaseProcesses(t *testing.T) {
	srv := testserver.Redis(t)
	t.Run("plain", func(t *testing.T) {
		leasetest.Processes(t, "TestHelperLeaseProcess", "redis://"+srv.Addr+"/3", openLease)
	})
	t.Run("near_cache", func(t *testing.T) {
		leasetest.Processes(t, "TestHelperLeaseProcess", "redis://"+srv.Addr+"?near_cache=1", openLease)
	})
}

// TestLeaseRaw: the lease is the token under "{made key}:lease" for ttl in
// milliseconds, and a release removes only the holder's lease.
func TestLeaseRaw(t *testing.T) {
	srv := testserver.Redis(t)
	c := open(t, "redis://"+srv.Addr+"/2?django_values=1")
	rc := direct(t, srv.Addr, 2, "")
	l, ok, err := c.AcquireLease(bg, "k", 1500*time.Millisecond)
	if err != nil || !ok {
		t.Fatalf("AcquireLease = %v, %v", ok, err)
	}
	if l.Key() != "{:1:k}:lease" {
		t.Errorf("lease key %q", l.Key())
	}
	if v, err := rc.Get(bg, l.Key()).Result(); err != nil || v != l.Token() {
		t.Errorf("the server holds %q, %v; want the token, unpickled", v, err)
	}
	if pttl, err := rc.PTTL(bg, l.Key()).Result(); err != nil || pttl <= time.Second || pttl > 1500*time.Millisecond {
		t.Errorf("PTTL %v, %v; want about 1.5 s", pttl, err)
	}
	rc.Set(bg, l.Key(), "other", time.Minute)
	if ok, err := l.Release(bg); ok || err != nil {
		t.Errorf("Release of a replaced lease = %v, %v", ok, err)
	}
	if v, _ := rc.Get(bg, l.Key()).Result(); v != "other" {
		t.Errorf("the other lease is %q after the late release", v)
	}
	lr, _ := cache.As[cache.Leaser](c.Backend())
	if ok, err := lr.ReleaseLease(bg, l.Key(), "other"); !ok || err != nil {
		t.Errorf("ReleaseLease by its holder = %v, %v", ok, err)
	}
	if n, _ := rc.Exists(bg, l.Key()).Result(); n != 0 {
		t.Error("the released lease is still there")
	}
}

// TestLeaseDown: a server down gives an error without the fail-open
// wrapper, and no lease (counted) with it; when the server is back, leases
// work again.
func TestLeaseDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := open(t, "redis://"+addr+"?dial_timeout=200ms")
	if _, ok, err := c.AcquireLease(bg, "k", time.Second); ok || err == nil {
		t.Errorf("AcquireLease on a server down = %v, %v; want an error", ok, err)
	}
	fc, err := cache.Open("redis://"+addr+"?dial_timeout=200ms&op_timeout=300ms", leaseSchemes)
	if err != nil {
		t.Fatal(err)
	}
	defer fc.Close()
	for i := range 3 { // failures, then the open breaker
		before := fc.Stats().Errors
		lease, ok, err := fc.AcquireLease(bg, "k", time.Second)
		if lease != nil || ok || err != nil {
			t.Errorf("fail-open AcquireLease %d on a server down = %v, %v, %v; want nil, false, nil", i, lease, ok, err)
		}
		if got := fc.Stats().Errors; got != before+1 {
			t.Errorf("fail-open AcquireLease %d: errors %d → %d, want it counted", i, before, got)
		}
	}
	if !fc.Leases() {
		t.Error("Leases() = false through the fail-open wrapper")
	}
}

// TestJitterRedis: TTLs of keys written with jitter=0.5 spread over [50,
// 100] seconds, and a timeout of 1 s is never jittered to a deletion.
func TestJitterRedis(t *testing.T) {
	srv := testserver.Redis(t)
	c := open(t, "redis://"+srv.Addr+"/4?jitter=0.5")
	rc := direct(t, srv.Addr, 4, "")
	const n = 200
	for i := range n {
		if err := c.Set(bg, "j"+strconv.Itoa(i), []byte("v"), cache.Seconds(100)); err != nil {
			t.Fatal(err)
		}
	}
	distinct := map[time.Duration]bool{}
	for i := range n {
		ttl, err := rc.TTL(bg, ":1:j"+strconv.Itoa(i)).Result()
		if err != nil {
			t.Fatal(err)
		}
		if ttl < 49*time.Second || ttl > 100*time.Second {
			t.Fatalf("key %d has TTL %v, want within [50s, 100s]", i, ttl)
		}
		distinct[ttl] = true
	}
	if len(distinct) < 20 {
		t.Errorf("%d keys have %d distinct TTLs: not spread", n, len(distinct))
	}
	for range 50 {
		c.Set(bg, "one", []byte("v"), cache.Seconds(1))
		if ttl, err := rc.TTL(bg, ":1:one").Result(); err != nil || ttl != time.Second {
			t.Fatalf("a 1 s value with jitter=0.5 has TTL %v, %v; want 1s", ttl, err)
		}
		c.Set(bg, "sixty", []byte("v"), cache.Seconds(60))
		if ttl, _ := rc.TTL(bg, ":1:sixty").Result(); ttl < 30*time.Second || ttl > time.Minute {
			t.Fatalf("a 60 s value with jitter=0.5 has TTL %v", ttl)
		}
		c.Set(bg, "forever", []byte("v"), cache.Forever)
		if ttl, _ := rc.TTL(bg, ":1:forever").Result(); ttl != -1 {
			t.Fatalf("a value stored forever with jitter has TTL %v", ttl)
		}
	}
}

// TestHelperStampedeProcess is not a test: TestStampedeProcesses runs it
// in other processes.
func TestHelperStampedeProcess(t *testing.T) { stampedetest.Helper(t, openLease) }

// TestStampedeProcesses: 4 processes × 16 goroutines on one Redis server
// load a cold key once, survive a lease holder killed mid-load, and
// refresh a stale value once while serving it; with the near cache too.
func TestStampedeProcesses(t *testing.T) {
	srv := testserver.Redis(t)
	t.Run("plain", func(t *testing.T) {
		stampedetest.Run(t, stampedetest.Config{
			Helper: "TestHelperStampedeProcess", URL: "redis://" + srv.Addr + "/4?op_timeout=5s", Open: openLease, AtomicIncr: true,
		})
	})
	t.Run("near_cache", func(t *testing.T) {
		stampedetest.Run(t, stampedetest.Config{
			Helper: "TestHelperStampedeProcess", URL: "redis://" + srv.Addr + "?near_cache=1&op_timeout=5s", Open: openLease, AtomicIncr: true,
		})
	})
}
