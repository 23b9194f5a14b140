package redis_test

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/backends"
	"github.com/fragcache/fragcache/cache/failopen"
	"github.com/fragcache/fragcache/internal/testserver"
)

// TestSentinel runs everything on one Sentinel setup (a master, a replica,
// three sentinels), started once for the package; the failover test, which
// kills the master, comes last.
func TestSentinel(t *testing.T) {
	st := testserver.RedisSentinel(t)
	url := "redis+sentinel://" + strings.Join(st.Addrs, ";") + "?master=" + st.MasterName

	t.Run("Conformance", func(t *testing.T) {
		conformance(t, func(t testing.TB, opts ...cache.Option) *cache.Cache { return openHA(t, url, opts...) })
	})
	t.Run("Database", func(t *testing.T) {
		c := openHA(t, "redis+sentinel://"+strings.Join(st.Addrs, ";")+"/3?master="+st.MasterName)
		if err := c.Set(bg, "k", []byte("v"), cache.Seconds(60)); err != nil {
			t.Fatal(err)
		}
		if n, err := direct(t, st.Master().Addr, 3, "").Exists(bg, c.MakeKey("k")).Result(); err != nil || n != 1 {
			t.Errorf("key not in database 3 of the master: %d, %v", n, err)
		}
	})
	t.Run("ReplicaReads", func(t *testing.T) {
		c := openHA(t, url+"&replica_reads=1")
		master := st.Master()
		replica := st.Data[0]
		if replica == master {
			replica = st.Data[1]
		}
		if err := c.Set(bg, "r", []byte("v"), cache.Seconds(60)); err != nil {
			t.Fatal(err)
		}
		direct(t, master.Addr, 0, "").Do(bg, "WAIT", 1, 2000)
		mc, rc := direct(t, master.Addr, 0, ""), direct(t, replica.Addr, 0, "")
		mBefore, rBefore := commandCalls(t, mc, "get"), commandCalls(t, rc, "get")
		for range 10 {
			if v, ok, err := c.Get(bg, "r"); err != nil || !ok || string(v) != "v" {
				t.Fatalf("Get from a replica: %q, %v, %v", v, ok, err)
			}
		}
		if n := commandCalls(t, rc, "get") - rBefore; n != 10 {
			t.Errorf("replica got %d GETs, want 10", n)
		}
		if n := commandCalls(t, mc, "get") - mBefore; n != 0 {
			t.Errorf("master got %d GETs, want 0", n)
		}
	})
	t.Run("Failover", func(t *testing.T) { testSentinelFailover(t, st, url) })
}

// testSentinelFailover kills the master under load through the fail-open
// wrapper: no call returns an error, and hits resume once the sentinels
// have promoted the replica, without reopening the cache; a cache with
// replica_reads=1 keeps reading from the replica, before and after its
// promotion.
func testSentinelFailover(t *testing.T, st *testserver.Sentinel, url string) {
	c, err := backends.Open(url + "&cool_down=200ms&op_timeout=200ms")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	vals := map[string][]byte{}
	var keys []string
	for i := range 20 {
		k := "load" + strconv.Itoa(i)
		keys = append(keys, k)
		vals[k] = []byte("v")
	}
	if _, err := c.SetMany(bg, vals, cache.Forever); err != nil {
		t.Fatal(err)
	}
	victim := st.Master()
	direct(t, victim.Addr, 0, "").Do(bg, "WAIT", 1, 2000)
	// A cache reading from the replica, through the same failover.
	cr, err := backends.Open(url + "&replica_reads=1&cool_down=200ms&op_timeout=200ms")
	if err != nil {
		t.Fatal(err)
	}
	defer cr.Close()

	var (
		stop                atomic.Bool
		errs, gets          atomic.Int64
		killedAt, hitAt     atomic.Int64
		rGets, rHits, rLate atomic.Int64 // replica reads: gets and hits after the kill, hits after the switch
		switched            atomic.Bool
		wg                  sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			_, ok, err := cr.Get(bg, keys[i%len(keys)])
			if err != nil {
				errs.Add(1)
			}
			if killedAt.Load() != 0 {
				rGets.Add(1)
				if ok {
					rHits.Add(1)
					if switched.Load() {
						rLate.Add(1)
					}
				}
			}
			time.Sleep(time.Millisecond)
		}
	}()
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				_, ok, err := c.Get(bg, keys[(i+w)%len(keys)])
				gets.Add(1)
				if err != nil {
					errs.Add(1)
				}
				if ok && killedAt.Load() != 0 && hitAt.Load() == 0 {
					// A hit read from the new master.
					hitAt.CompareAndSwap(0, time.Now().UnixNano())
				}
				time.Sleep(time.Millisecond)
			}
		}()
	}
	stopPages := pageLoad(t, c)
	time.Sleep(300 * time.Millisecond)
	killedAt.Store(time.Now().UnixNano())
	victim.Stop()
	// Hits before the old master's connections fail are not the new
	// master's: wait for a miss first, then for a hit.
	hitAt.Store(0)
	var promoted time.Duration
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if promoted == 0 {
			if a, err := st.MasterAddr(); err == nil && a != victim.Addr {
				promoted = time.Duration(time.Now().UnixNano() - killedAt.Load())
				hitAt.Store(0) // count only hits after the sentinels switched
				switched.Store(true)
			}
		}
		if promoted != 0 && hitAt.Load() != 0 && rLate.Load() > 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	if pages, bad, first := stopPages(); pages == 0 || bad != 0 {
		t.Errorf("pages rendered during the failover: %d of %d not a 200 with every fragment (first: %s)", bad, pages, first)
	} else {
		t.Logf("%d pages of 12 fragments rendered during the failover, every one a 200", pages)
	}
	if promoted == 0 || hitAt.Load() == 0 {
		t.Fatalf("no failover or no hits within 30s (promoted after %v)", promoted)
	}
	resumed := time.Duration(hitAt.Load() - killedAt.Load())
	if errs.Load() != 0 {
		t.Errorf("%d of %d gets returned errors (fail-open must turn them into misses)", errs.Load(), gets.Load())
	}
	// The failures became misses, and were counted.
	if br, ok := c.Backend().(failopen.Breaker); !ok || br.Stats().Failures == 0 {
		t.Errorf("no failures counted by the fail-open wrapper (%T)", c.Backend())
	}
	t.Logf("killed master %s: sentinels switched after %v (down-after %v), hits resumed after %v (%v later); %d gets; with replica_reads=1: %d hits of %d gets after the kill",
		victim.Addr, promoted.Round(time.Millisecond), testserver.SentinelDownAfter, resumed.Round(time.Millisecond), (resumed - promoted).Round(time.Millisecond), gets.Load(), rHits.Load(), rGets.Load())
	if rLate.Load() == 0 {
		t.Error("replica_reads=1: no hit after the failover")
	}
	if limit := promoted + 3*time.Second; resumed > limit {
		t.Errorf("hits resumed %v after the kill, %v after the failover, want under %v", resumed, resumed-promoted, limit)
	}
	// Writes reach the new master (the breaker may still be open for a
	// moment: fail-open drops writes then).
	newMaster := direct(t, st.Master().Addr, 0, "")
	for try := 0; ; try++ {
		if err := c.Set(bg, "after", []byte("1"), cache.Seconds(60)); err != nil {
			t.Fatal(err)
		}
		if n, _ := newMaster.Exists(bg, c.MakeKey("after")).Result(); n == 1 {
			break
		}
		if try == 50 {
			t.Fatalf("writes after the failover do not reach the new master %s", st.Master().Addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
