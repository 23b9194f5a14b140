package memcached_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/backends"
	"github.com/fragcache/fragcache/cache/failopen"
	"github.com/fragcache/fragcache/cache/memcached"
	"github.com/fragcache/fragcache/internal/testserver"
)

// syncBuffer is a bytes.Buffer safe for concurrent writes (a log sink).
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// poolCache opens the deploy path (backends.Open: the fail-open wrapper
// over a memcached pool) over the servers, with query appended, and
// returns it with its memcached backend and its log.
func poolCache(t *testing.T, srvs []*testserver.Server, query string) (*cache.Cache, *memcached.Backend, *syncBuffer) {
	t.Helper()
	addrs := make([]string, len(srvs))
	for i, s := range srvs {
		addrs[i] = s.Addr
	}
	logs := &syncBuffer{}
	c, err := backends.Open("memcached://"+strings.Join(addrs, ";")+"?"+query,
		cache.WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	b, ok := cache.As[*memcached.Backend](c.Backend())
	if !ok {
		t.Fatalf("no memcached backend under %T", c.Backend())
	}
	if err := c.Clear(bg); err != nil {
		t.Fatal(err)
	}
	return c, b, logs
}

// poolKeys stores n keys ("k0" …) and returns them with the server each
// lives on.
func poolKeys(t *testing.T, c *cache.Cache, b *memcached.Backend, n int) (keys []string, home map[string]string) {
	t.Helper()
	items := make(map[string][]byte, n)
	home = make(map[string]string, n)
	for i := range n {
		k := "k" + strconv.Itoa(i)
		keys = append(keys, k)
		items[k] = []byte("v" + strconv.Itoa(i))
		home[k] = b.ServerFor(c.MakeKey(k))
	}
	if failed, err := c.SetMany(bg, items, cache.Seconds(600)); err != nil || len(failed) != 0 {
		t.Fatalf("SetMany: %v, %v", failed, err)
	}
	return keys, home
}

// serverStats returns the stats of one server.
func serverStats(t *testing.T, c *cache.Cache, addr string) cache.ServerStats {
	t.Helper()
	for _, s := range c.Stats().Servers {
		if s.Server == addr {
			return s
		}
	}
	t.Fatalf("no stats for server %s in %+v", addr, c.Stats().Servers)
	return cache.ServerStats{}
}

// loadResult is what a load run saw.
type loadResult struct {
	lookups, hits  atomic.Int64
	wrongMiss      atomic.Int64 // a key on a live server missed
	wrongHit       atomic.Int64 // a key on the down server hit
	errs           atomic.Int64
	maxLiveLatency atomic.Int64 // nanoseconds, Gets of live servers' keys
	firstErr       atomic.Pointer[string]
}

func (r *loadResult) fail(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.firstErr.CompareAndSwap(nil, &msg)
}

// load runs workers doing Gets, GetManys of 20 keys and Sets for d, and
// checks each answer: keys on down miss, all others hit, no call fails.
func load(c *cache.Cache, keys []string, home map[string]string, down string, workers int, d time.Duration) *loadResult {
	r := &loadResult{}
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for i := 0; time.Now().Before(deadline); i++ {
				switch i % 4 {
				case 0, 1: // Get
					k := keys[rng.IntN(len(keys))]
					start := time.Now()
					_, hit, err := c.Get(bg, k)
					took := time.Since(start)
					r.check(k, home[k] == down, hit, err)
					if home[k] != down {
						for {
							old := r.maxLiveLatency.Load()
							if int64(took) <= old || r.maxLiveLatency.CompareAndSwap(old, int64(took)) {
								break
							}
						}
					}
				case 2: // GetMany
					batch := make([]string, 20)
					for j := range batch {
						batch[j] = keys[rng.IntN(len(keys))]
					}
					got, err := c.GetMany(bg, batch)
					for _, k := range batch {
						_, hit := got[k]
						r.check(k, home[k] == down, hit, err)
					}
				case 3: // Set: the same value again
					k := keys[rng.IntN(len(keys))]
					if err := c.Set(bg, k, []byte("v"+k[1:]), cache.Seconds(600)); err != nil {
						r.errs.Add(1)
						r.fail("Set %s: %v", k, err)
					}
				}
			}
		}()
	}
	wg.Wait()
	return r
}

func (r *loadResult) check(k string, onDown, hit bool, err error) {
	r.lookups.Add(1)
	switch {
	case err != nil:
		r.errs.Add(1)
		r.fail("%s: %v", k, err)
	case hit && onDown:
		r.wrongHit.Add(1)
		r.fail("%s (on the stopped server) hit", k)
	case !hit && !onDown:
		r.wrongMiss.Add(1)
		r.fail("%s (on a live server) missed", k)
	}
	if hit {
		r.hits.Add(1)
	}
}

func (r *loadResult) report(t *testing.T, what string) {
	t.Helper()
	if msg := r.firstErr.Load(); msg != nil {
		t.Errorf("%s: %d errors, %d live keys missed, %d down keys hit; first: %s", what, r.errs.Load(), r.wrongMiss.Load(), r.wrongHit.Load(), *msg)
	}
}

// TestPool runs the pool's fault tests on one pool of three real servers,
// shared by its subtests (in sequence: each leaves every server running).
func TestPool(t *testing.T) {
	srvs := []*testserver.Server{testserver.Memcached(t), testserver.Memcached(t), testserver.Memcached(t)}
	t.Run("StopOne", func(t *testing.T) { testPoolStopOne(t, srvs) })
	t.Run("Hang", func(t *testing.T) { testPoolHang(t, srvs) })
	t.Run("AllDown", func(t *testing.T) { testPoolAllDown(t, srvs) })
	t.Run("NoFailOpen", func(t *testing.T) { testPoolNoFailOpen(t, srvs) })
	t.Run("Pymemcache", func(t *testing.T) { testPoolPymemcache(t, srvs) })
	t.Run("ClearWhileDown", func(t *testing.T) { testPoolClearWhileDown(t, srvs) })
}

// testPoolClearWhileDown: a Clear that cannot reach a hung server fails,
// and the server is flushed when it answers again, before its keys are
// served: none of the values Clear meant to remove comes back.
func testPoolClearWhileDown(t *testing.T, srvs []*testserver.Server) {
	c, b, _ := poolCache(t, srvs, "server_cool_down=200ms&op_timeout=300ms")
	keys, home := poolKeys(t, c, b, 60)
	victim := srvs[0]
	victim.Hang()
	t.Cleanup(victim.Resume)
	time.Sleep(100 * time.Millisecond)
	err := c.Clear(bg)
	if !errors.Is(err, cache.ErrPartialOutage) || !strings.Contains(err.Error(), victim.Addr) {
		t.Errorf("Clear with a server hung: %v, want a partial outage naming it", err)
	}
	if st := serverStats(t, c, victim.Addr); st.Pending != -1 {
		t.Errorf("hung server after a Clear it missed: %+v, want a flush pending", st)
	}
	victim.Resume()
	for _, k := range keys {
		if _, hit, err := c.Get(bg, k); err != nil || hit {
			t.Errorf("Get %s (on %s) after Clear: hit %v, %v", k, home[k], hit, err)
		}
	}
	if st := serverStats(t, c, victim.Addr); st.Flushes != 1 || st.Pending != 0 {
		t.Errorf("server back after a Clear it missed: %+v, want one flush", st)
	}
}

// testPoolPymemcache checks what the package documentation says of
// Django's client with a server of the pool down, against the real
// pymemcache HashClient with Django's options: by default it raises, then
// moves the dead server's keys to the server this selector picks among
// the others; with ignore_exc it moves them without raising; with
// ignore_exc and retry_attempts=10**9 (the recommended OPTIONS) it never
// moves them, as this backend.
func testPoolPymemcache(t *testing.T, srvs []*testserver.Server) {
	python := memcached.PythonWithPymemcache(t)
	addrs := []string{srvs[0].Addr, srvs[1].Addr, srvs[2].Addr}
	all, err := memcached.New(memcached.Options{Servers: addrs})
	if err != nil {
		t.Fatal(err)
	}
	defer all.Close()
	dead := srvs[1]
	survivors, err := memcached.New(memcached.Options{Servers: []string{srvs[0].Addr, srvs[2].Addr}})
	if err != nil {
		t.Fatal(err)
	}
	defer survivors.Close()
	var key string
	for i := 0; key == ""; i++ {
		if k := ":1:k" + strconv.Itoa(i); all.ServerFor(k) == dead.Addr {
			key = k
		}
	}
	dead.Stop()
	defer dead.Restart()
	// retry_timeout is shortened from 1 s so that the test takes a second.
	const script = `
import json, sys, time
import pymemcache.serde
from pymemcache.client.hash import HashClient
req = json.load(sys.stdin)
configs = {"django": {}, "ignore_exc": {"ignore_exc": True},
           "recommended": {"ignore_exc": True, "retry_attempts": 10**9}}
out = {}
for name, extra in configs.items():
    opts = {"allow_unicode_keys": True, "default_noreply": False,
            "serde": pymemcache.serde.pickle_serde, "retry_timeout": 0.05}
    opts.update(extra)
    c = HashClient(req["servers"], **opts)
    raised = 0
    for i in range(12):
        try:
            c.get(req["key"])
        except Exception:
            raised += 1
        time.sleep(0.06)
    out[name] = {"raised": raised, "node": c.hasher.get_node(req["key"])}
json.dump(out, sys.stdout)
`
	in, _ := json.Marshal(map[string]any{"servers": addrs, "key": key})
	var got map[string]struct {
		Raised int
		Node   string
	}
	if err := json.Unmarshal(memcached.RunPython(t, python, script, in), &got); err != nil {
		t.Fatal(err)
	}
	moved := survivors.ServerFor(key)
	t.Logf("pymemcache with %s down, key %s: %+v; Go's selector over the others: %s", dead.Addr, key, got, moved)
	if g := got["django"]; g.Raised == 0 || g.Node != moved {
		t.Errorf("Django's defaults: %+v, want exceptions and the key moved to %s", g, moved)
	}
	if g := got["ignore_exc"]; g.Raised != 0 || g.Node != moved {
		t.Errorf("ignore_exc: %+v, want no exception and the key moved to %s", g, moved)
	}
	if g := got["recommended"]; g.Raised != 0 || g.Node != dead.Addr {
		t.Errorf("ignore_exc with retry_attempts=10**9: %+v, want no exception and the key left on %s", g, dead.Addr)
	}
}

// testPoolStopOne: one server of three stopped under load costs only its
// keys (about a third), which miss; the others hit, no call fails, the
// whole-cache breaker stays closed. Restarted, the server serves its keys
// again after its breaker's probe.
func testPoolStopOne(t *testing.T, srvs []*testserver.Server) {
	const coolDown = 300 * time.Millisecond
	c, b, logs := poolCache(t, srvs, "server_cool_down=300ms&op_timeout=1s")
	keys, home := poolKeys(t, c, b, 3000)
	victim := srvs[1]
	onVictim := 0
	for _, k := range keys {
		if home[k] == victim.Addr {
			onVictim++
		}
	}
	share := float64(len(keys)-onVictim) / float64(len(keys))

	before := load(c, keys, home, "", 4, 300*time.Millisecond)
	before.report(t, "all up")

	victim.Stop()
	r := load(c, keys, home, victim.Addr, 8, 1500*time.Millisecond)
	r.report(t, "one of three stopped")
	ratio := float64(r.hits.Load()) / float64(r.lookups.Load())
	t.Logf("one of three servers stopped: %d lookups, hit ratio %.3f (keys on the live servers: %.3f of %d); max Get latency of live keys %v",
		r.lookups.Load(), ratio, share, len(keys), time.Duration(r.maxLiveLatency.Load()))
	if ratio < share-0.05 || ratio > share+0.05 {
		t.Errorf("hit ratio %.3f, want about %.3f", ratio, share)
	}
	if ratio < 0.55 || ratio > 0.78 {
		t.Errorf("hit ratio %.3f, want about 2/3", ratio)
	}
	br, _ := cache.As[failopen.Breaker](c.Backend())
	if st := br.Stats(); st.State != failopen.Closed || st.Opens != 0 || st.Failures != 0 || st.Isolated == 0 {
		t.Errorf("whole-cache breaker: %+v; want closed, never opened, no failures, isolated failures counted", st)
	}
	vs := serverStats(t, c, victim.Addr)
	if vs.Breaker == "closed" || vs.Opens == 0 || vs.Failures == 0 || vs.ShortCircuited == 0 || vs.LastError == "" || vs.Pending == 0 {
		t.Errorf("stopped server's stats: %+v", vs)
	}
	for _, s := range srvs {
		if s != victim {
			if st := serverStats(t, c, s.Addr); st.Breaker != "closed" || st.Failures != 0 || st.Keys == 0 {
				t.Errorf("live server's stats: %+v", st)
			}
		}
	}
	// One Warn per outage; failed probes are logged at Debug.
	if n := strings.Count(logs.String(), `level=WARN msg="fragcache: memcached server failing; marked down`); n != 1 {
		t.Errorf("%d Warn lines saying a server was marked down, want 1:\n%s", n, logs)
	}
	if n := strings.Count(logs.String(), "memcached server failed"); n < 1 || n > 2 {
		t.Errorf("%d failure lines in 1.5 s, want 1 (rate-limited):\n%s", n, logs)
	}

	// Back, empty: after the cool-down a probe finds it, the writes it
	// missed are replayed (deletes, here of keys it no longer holds), and
	// its keys are served again.
	victim.Restart()
	var vk string
	for _, k := range keys {
		if home[k] == victim.Addr {
			vk = k
			break
		}
	}
	start := time.Now()
	for {
		if err := c.Set(bg, vk, []byte("again"), cache.Seconds(600)); err != nil {
			t.Fatal(err)
		}
		if v, hit, err := c.Get(bg, vk); err != nil {
			t.Fatal(err)
		} else if hit && string(v) == "again" {
			break
		}
		if time.Since(start) > coolDown+3*time.Second {
			t.Fatalf("restarted server's keys still missing after %v: %+v", time.Since(start), serverStats(t, c, victim.Addr))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("restarted server serving its keys %v after the restart (cool-down %v)", time.Since(start).Round(time.Millisecond), coolDown)
	if vs := serverStats(t, c, victim.Addr); vs.Breaker != "closed" || vs.Pending != 0 || vs.Replayed == 0 {
		t.Errorf("restarted server's stats: %+v", vs)
	}
	if !strings.Contains(logs.String(), "memcached server is back") {
		t.Errorf("no line saying the server is back:\n%s", logs)
	}
	// Its keys are stored and read again like any others.
	if _, err := c.SetMany(bg, map[string][]byte{vk: []byte("v" + vk[1:])}, cache.Seconds(600)); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if home[k] == victim.Addr {
			c.Set(bg, k, []byte("v"+k[1:]), cache.Seconds(600))
		}
	}
	after := load(c, keys, home, "", 4, 300*time.Millisecond)
	after.report(t, "restarted")
}

// testPoolHang: a hung server (SIGSTOP) costs the other servers' keys no
// wait at all, and a GetMany spanning it at most the operation timeout
// until the server is marked down, then nothing. A delete of one of its
// keys while it hangs is replayed when it is back, before its keys are
// served: it does not serve the deleted value.
func testPoolHang(t *testing.T, srvs []*testserver.Server) {
	const opTimeout = 300 * time.Millisecond
	c, b, _ := poolCache(t, srvs, "server_cool_down=2s&op_timeout=300ms")
	keys, home := poolKeys(t, c, b, 300)
	victim := srvs[2]
	// stale and kept are keys on the victim the load below never writes
	// (a key whose write the hung server missed is deleted when it is back).
	loadKeys := keys[:250]
	var stale, kept string
	for _, k := range keys[250:] {
		if home[k] == victim.Addr {
			if stale == "" {
				stale = k
			} else if kept == "" {
				kept = k
			}
		}
	}
	victim.Hang()
	t.Cleanup(victim.Resume)           // harmless on a running server
	time.Sleep(100 * time.Millisecond) // SIGSTOP takes effect at once, but not synchronously

	r := load(c, loadKeys, home, victim.Addr, 4, 1500*time.Millisecond)
	r.report(t, "one of three hung")
	t.Logf("one of three servers hung: %d lookups, hit ratio %.3f; max Get latency of live keys %v",
		r.lookups.Load(), float64(r.hits.Load())/float64(r.lookups.Load()), time.Duration(r.maxLiveLatency.Load()))
	if max := time.Duration(r.maxLiveLatency.Load()); max > opTimeout {
		t.Errorf("a Get of a live server's key took %v with another server hung", max)
	}
	vs := serverStats(t, c, victim.Addr)
	if vs.Breaker == "closed" || vs.ShortCircuited == 0 {
		t.Errorf("hung server's stats: %+v", vs)
	}
	// Marked down: a GetMany spanning it does not wait for it.
	for range 5 {
		start := time.Now()
		got, err := c.GetMany(bg, keys[:30])
		if took := time.Since(start); took > opTimeout/2 {
			t.Errorf("GetMany with the hung server marked down took %v", took)
		}
		for _, k := range keys[:30] {
			if _, hit := got[k]; hit != (home[k] != victim.Addr) || err != nil {
				t.Errorf("GetMany: %s hit %v (on %s), err %v", k, hit, home[k], err)
			}
		}
	}
	// A delete it misses, swallowed by the fail-open wrapper.
	if _, err := c.Delete(bg, stale); err != nil {
		t.Fatal(err)
	}
	if vs := serverStats(t, c, victim.Addr); vs.Pending == 0 {
		t.Errorf("the delete it missed is not remembered: %+v", vs)
	}

	victim.Resume()
	start := time.Now()
	for {
		_, hit, err := c.Get(bg, kept)
		if err != nil {
			t.Fatal(err)
		}
		if _, staleHit, _ := c.Get(bg, stale); staleHit {
			t.Fatalf("the server back from a hang served %s, deleted while it hung", stale)
		}
		if hit {
			break
		}
		if time.Since(start) > 6*time.Second {
			t.Fatalf("the server back from a hang still skipped after %v: %+v", time.Since(start), serverStats(t, c, victim.Addr))
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("hung server serving its keys (values kept) %v after SIGCONT", time.Since(start).Round(time.Millisecond))
	if _, hit, _ := c.Get(bg, stale); hit {
		t.Errorf("%s, deleted while its server hung, is served", stale)
	}
	if vs := serverStats(t, c, victim.Addr); vs.Breaker != "closed" || vs.Replayed == 0 || vs.Pending != 0 {
		t.Errorf("server back from a hang: %+v", vs)
	}
}

// testPoolAllDown: with every server down the whole-cache breaker opens
// (the per-server breakers isolate one server, not all), callers still see
// no error, and hits resume when the servers are back.
func testPoolAllDown(t *testing.T, srvs []*testserver.Server) {
	c, b, _ := poolCache(t, srvs, "server_cool_down=200ms&cool_down=200ms&failure_threshold=3&op_timeout=300ms")
	keys, _ := poolKeys(t, c, b, 30)
	for _, s := range srvs {
		s.Stop()
	}
	for i := range 200 {
		if _, hit, err := c.Get(bg, keys[i%len(keys)]); err != nil || hit {
			t.Fatalf("Get with every server down: hit %v, %v", hit, err)
		}
		if err := c.Set(bg, keys[i%len(keys)], []byte("x"), cache.Seconds(60)); err != nil {
			t.Fatalf("Set with every server down: %v", err)
		}
	}
	br, _ := cache.As[failopen.Breaker](c.Backend())
	if st := br.Stats(); st.Opens == 0 || st.Failures == 0 {
		t.Errorf("whole-cache breaker with every server down: %+v", st)
	}
	if st := c.Stats(); st.Backend.Breaker == "closed" {
		t.Errorf("Stats().Backend = %+v, want the breaker open", st.Backend)
	}
	for _, s := range srvs {
		s.Restart()
	}
	start := time.Now()
	for {
		c.Set(bg, "back", []byte("1"), cache.Seconds(60))
		if _, hit, _ := c.Get(bg, "back"); hit {
			break
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("no hit %v after every server was back: %+v %+v", time.Since(start), br.Stats(), c.Stats().Servers)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("hits resumed %v after every server was back", time.Since(start).Round(time.Millisecond))
}

// testPoolNoFailOpen: without the fail-open wrapper a dead server's keys
// fail with a *memcached.ServerError marked as a partial outage, and
// GetMany returns the other servers' hits with that error.
func testPoolNoFailOpen(t *testing.T, srvs []*testserver.Server) {
	c, b, _ := poolCache(t, srvs, "failopen=0&server_cool_down=1m")
	keys, home := poolKeys(t, c, b, 60)
	victim := srvs[0]
	victim.Stop()
	defer victim.Restart()
	var on, off string
	for _, k := range keys {
		if home[k] == victim.Addr && on == "" {
			on = k
		} else if home[k] != victim.Addr && off == "" {
			off = k
		}
	}
	for i := range 5 { // past the failure threshold: then skipped
		_, _, err := c.Get(bg, on)
		var se *memcached.ServerError
		if !errors.As(err, &se) || se.Server != victim.Addr || !errors.Is(err, cache.ErrPartialOutage) {
			t.Fatalf("Get %d of a key on the stopped server: %v, want a partial *ServerError naming it", i, err)
		}
		if i >= memcached.DefaultServerFailureThreshold && !errors.Is(err, memcached.ErrServerDown) {
			t.Errorf("Get %d after the server was marked down: %v, want ErrServerDown", i, err)
		}
	}
	if _, hit, err := c.Get(bg, off); err != nil || !hit {
		t.Errorf("Get of a key on a live server: %v, %v", hit, err)
	}
	got, err := b.GetMany(bg, slices.Collect(func(yield func(string) bool) {
		for _, k := range keys {
			if !yield(c.MakeKey(k)) {
				return
			}
		}
	}))
	if !errors.Is(err, cache.ErrPartialOutage) {
		t.Errorf("GetMany: %v, want a partial outage", err)
	}
	for _, k := range keys {
		if _, hit := got[c.MakeKey(k)]; hit != (home[k] != victim.Addr) {
			t.Errorf("GetMany: %s hit %v, on %s", k, hit, home[k])
		}
	}
}
