package redis_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/backends"
	"github.com/fragcache/fragcache/cache/redis"
	"github.com/fragcache/fragcache/internal/testserver"
)

// waitFor polls cond every millisecond until it holds or d passes, and
// returns how long it took.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(start)
}

// get reads key through c and returns its value, "" for a miss.
func get(t testing.TB, c *cache.Cache, key string) string {
	t.Helper()
	v, ok, err := c.Get(bg, key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if !ok {
		return ""
	}
	return string(v)
}

func TestNearConformance(t *testing.T) {
	srv := testserver.Redis(t)
	conformance(t, func(t testing.TB, opts ...cache.Option) *cache.Cache {
		return open(t, "redis://"+srv.Addr+"/0?near_cache=1", opts...)
	})
}

// TestNearHitsAndInvalidation: repeated reads are served from memory, and a
// write by another client (another process) reaches the reader through
// Redis's invalidation message.
func TestNearHitsAndInvalidation(t *testing.T) {
	srv := testserver.Redis(t)
	c := open(t, "redis://"+srv.Addr+"?near_cache=1")
	other := direct(t, srv.Addr, 0, "")
	key := c.MakeKey("sidebar")
	if err := other.Set(bg, key, "v1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got := get(t, c, "sidebar"); got != "v1" {
		t.Fatalf("first read %q", got)
	}
	before := commandCalls(t, other, "get")
	for range 100 {
		if got := get(t, c, "sidebar"); got != "v1" {
			t.Fatalf("near read %q", got)
		}
	}
	if n := commandCalls(t, other, "get") - before; n != 0 {
		t.Errorf("100 repeated reads sent %d GETs to Redis, want 0", n)
	}
	st := c.Stats().Near
	if st.Mode != "tracking" || st.State != "on" || st.Hits < 100 || st.Entries == 0 {
		t.Errorf("near stats %+v", st)
	}
	// Another client rewrites, then deletes.
	if err := other.Set(bg, key, "v2", 0).Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Second, "rewrite seen", func() bool { return get(t, c, "sidebar") == "v2" })
	if err := other.Del(bg, key).Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Second, "delete seen", func() bool { return get(t, c, "sidebar") == "" })
	if st := c.Stats().Near; st.Invalidations < 2 {
		t.Errorf("invalidations %d, want at least 2", st.Invalidations)
	}
	// A miss is kept too: absent keys cost no round trip either.
	before = commandCalls(t, other, "get")
	for range 10 {
		get(t, c, "sidebar")
	}
	if n := commandCalls(t, other, "get") - before; n != 0 {
		t.Errorf("10 reads of an absent key sent %d GETs, want 0", n)
	}
}

// commandCalls returns Redis's count of calls of a command (INFO
// commandstats), the server's own counter.
func commandCalls(t testing.TB, c *goredis.Client, cmd string) int {
	t.Helper()
	info, err := c.Info(bg, "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	prefix := "cmdstat_" + cmd + ":calls="
	for _, line := range strings.Split(info, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), prefix); ok {
			var n int
			fmt.Sscanf(rest, "%d", &n)
			return n
		}
	}
	return 0
}

// TestNearOwnWrites: this process's writes are seen by its next read at
// once, without waiting for the invalidation.
func TestNearOwnWrites(t *testing.T) {
	srv := testserver.Redis(t)
	c := open(t, "redis://"+srv.Addr+"?near_cache=1")
	for i := range 200 {
		v := fmt.Sprint(i)
		if err := c.Set(bg, "k", []byte(v), cache.Forever); err != nil {
			t.Fatal(err)
		}
		if got := get(t, c, "k"); got != v {
			t.Fatalf("after Set(%s) read %q", v, got)
		}
		if got := get(t, c, "k"); got != v {
			t.Fatalf("second read after Set(%s): %q", v, got)
		}
	}
	n, err := c.Incr(bg, "k", 1)
	if err != nil || get(t, c, "k") != fmt.Sprint(n) {
		t.Fatalf("after Incr: %d %v, read %q", n, err, get(t, c, "k"))
	}
	if _, err := c.Delete(bg, "k"); err != nil || get(t, c, "k") != "" {
		t.Fatalf("after Delete: read %q (%v)", get(t, c, "k"), err)
	}
	c.Set(bg, "k", []byte("x"), cache.Forever)
	get(t, c, "k")
	if err := c.Clear(bg); err != nil || get(t, c, "k") != "" {
		t.Fatalf("after Clear: read %q (%v)", get(t, c, "k"), err)
	}
}

// TestNearExpiry: a copy is never served past the key's timeout, even
// when Redis has not yet deleted the key (its expiry sweep is off here),
// so no invalidation came.
func TestNearExpiry(t *testing.T) {
	srv := testserver.Redis(t, "--enable-debug-command", "local")
	other := direct(t, srv.Addr, 0, "")
	if err := other.Do(bg, "DEBUG", "SET-ACTIVE-EXPIRE", "0").Err(); err != nil {
		t.Fatalf("DEBUG SET-ACTIVE-EXPIRE: %v", err)
	}
	c := open(t, "redis://"+srv.Addr+"?near_cache=1")
	// Written by another client with a timeout.
	if err := other.Set(bg, c.MakeKey("k"), "v", 1200*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	if get(t, c, "k") != "v" || get(t, c, "k") != "v" {
		t.Fatal("not read")
	}
	time.Sleep(1300 * time.Millisecond)
	if got := get(t, c, "k"); got != "" {
		t.Fatalf("read %q past the key's timeout", got)
	}
	// Written by this process.
	c.Set(bg, "j", []byte("w"), cache.Seconds(1))
	get(t, c, "j")
	time.Sleep(1100 * time.Millisecond)
	if got := get(t, c, "j"); got != "" {
		t.Fatalf("read %q past its timeout", got)
	}
}

// TestNearGetMany: GetMany serves held keys from memory and fetches the
// others one GET each, so that each is kept on its own.
func TestNearGetMany(t *testing.T) {
	srv := testserver.Redis(t)
	c := open(t, "redis://"+srv.Addr+"?near_cache=1")
	other := direct(t, srv.Addr, 0, "")
	keys := []string{"a", "b", "c", "d"}
	for _, k := range keys[:3] {
		other.Set(bg, c.MakeKey(k), "v"+k, 0)
	}
	get(t, c, "a")
	m, err := c.GetMany(bg, keys)
	if err != nil || len(m) != 3 || string(m["c"]) != "vc" {
		t.Fatalf("GetMany = %q, %v", m, err)
	}
	before := commandCalls(t, other, "get") + commandCalls(t, other, "mget")
	m, err = c.GetMany(bg, keys)
	if err != nil || len(m) != 3 {
		t.Fatalf("GetMany = %q, %v", m, err)
	}
	if n := commandCalls(t, other, "get") + commandCalls(t, other, "mget") - before; n != 0 {
		t.Errorf("second GetMany sent %d reads, want 0", n)
	}
	other.Set(bg, c.MakeKey("d"), "vd", 0)
	waitFor(t, 2*time.Second, "new key seen by GetMany", func() bool {
		m, _ := c.GetMany(bg, keys)
		return len(m) == 4
	})
}

// TestNearConnectionDrop: when the connections that fetched copies are
// killed, the copies go with them; a write made meanwhile (whose
// invalidation had no connection to go to) is seen.
func TestNearConnectionDrop(t *testing.T) {
	srv := testserver.Redis(t)
	c := open(t, "redis://"+srv.Addr+"?near_cache=1&near_max_staleness=5s")
	other := direct(t, srv.Addr, 0, "")
	key := c.MakeKey("k")
	other.Set(bg, key, "v1", 0)
	get(t, c, "k")
	// Kill every connection but the admin's, then write.
	id, _ := other.ClientID(bg).Result()
	if err := other.Do(bg, "CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes").Err(); err != nil {
		t.Fatal(err)
	}
	_ = id
	other.Set(bg, key, "v2", 0)
	d := waitFor(t, 5*time.Second, "write after a connection drop seen", func() bool { return get(t, c, "k") == "v2" })
	t.Logf("seen after %v (bound 5s)", d)
}

// TestNearStalenessBound: while the server hangs and the fail-open
// breaker is open, near copies are served, for at most
// near_max_staleness after they were fetched; then they are misses.
// (go-redis drops the copies a connection fetched when that connection
// fails, so only the copies of connections the outage has not touched
// yet survive it.)
func TestNearStalenessBound(t *testing.T) {
	srv := testserver.Redis(t)
	c, err := backends.Open("redis://"+srv.Addr+"?near_cache=1&near_max_staleness=1500ms&op_timeout=300ms&failure_threshold=1&cool_down=3s", cache.WithLogger(quietSlog()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const n = 40
	// Written by another client, so that no invalidation of this
	// process's own writes is on its way.
	other := direct(t, srv.Addr, 0, "")
	for i := range n {
		other.Set(bg, c.MakeKey(fmt.Sprint("k", i)), "v", 0)
	}
	// Fetch them concurrently, so that several connections hold copies.
	// (A slow machine may time a fetch out and open the breaker: then
	// the reads are answered without the server until the cool-down.)
	waitFor(t, 10*time.Second, "copies held", func() bool {
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				get(t, c, fmt.Sprint("k", i))
			}()
		}
		wg.Wait()
		return c.Stats().Near.Entries >= n/2 && c.Stats().Backend.Breaker == "closed"
	})
	fetched := time.Now()
	srv.Hang()
	defer srv.Resume()
	// A miss on another key times out and opens the breaker.
	get(t, c, "other")
	if st := c.Stats(); st.Backend.Breaker != "open" {
		t.Fatalf("breaker %q, want open", st.Backend.Breaker)
	}
	var served time.Duration
	hits := 0
	for time.Since(fetched) < 2500*time.Millisecond {
		for i := range n {
			if get(t, c, fmt.Sprint("k", i)) == "v" {
				served = time.Since(fetched)
				hits++
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("%d near hits while the breaker was open, the last %v after the fetch", hits, served)
	if hits == 0 {
		t.Error("no near copy was served while the breaker was open")
	}
	if served > 1500*time.Millisecond+50*time.Millisecond {
		t.Errorf("a near copy was served %v after it was fetched, past the 1.5s bound", served)
	}
	if st := c.Stats().Near; st.Stale != uint64(hits) {
		t.Errorf("near stats %+v: Stale %d, want %d", st, st.Stale, hits)
	}
}

func quietSlog() *slog.Logger { return slog.New(slog.NewTextHandler(discard{}, nil)) }

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// TestNearTrackingUnsupported: a server refusing RESP3 turns the near
// cache off, logged once, and reads still work (from the server).
func TestNearTrackingUnsupported(t *testing.T) {
	srv := testserver.Redis(t, "--rename-command", "HELLO", "")
	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))
	c := open(t, "redis://"+srv.Addr+"?near_cache=1", cache.WithLogger(logger))
	c.Set(bg, "k", []byte("v"), cache.Forever)
	for range 5 {
		if get(t, c, "k") != "v" {
			t.Fatal("read failed")
		}
	}
	st := c.Stats().Near
	if !strings.HasPrefix(st.State, "off: ") || st.Hits != 0 {
		t.Errorf("near stats %+v, want off and no hits", st)
	}
	mu.Lock()
	defer mu.Unlock()
	if n := strings.Count(logs.String(), "near cache off"); n != 1 {
		t.Errorf("logged %d times, want once:\n%s", n, logs.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestNearReplica: with Django-style replica reads (redis://primary;replica)
// the replica's connections receive invalidations for writes replicated
// from the primary, including after the replica resynchronises.
func TestNearReplica(t *testing.T) {
	primary := testserver.Redis(t)
	host, port, _ := strings.Cut(primary.Addr, ":")
	replica := testserver.Redis(t, "--replicaof", host, port)
	admin := direct(t, replica.Addr, 0, "")
	synced := func() bool {
		info, _ := admin.Info(bg, "replication").Result()
		return strings.Contains(info, "master_link_status:up")
	}
	waitFor(t, 20*time.Second, "replica in sync", synced)
	c := open(t, "redis://"+primary.Addr+";"+replica.Addr+"?near_cache=1")
	c.Set(bg, "k", []byte("v1"), cache.Forever)
	waitFor(t, 2*time.Second, "replicated", func() bool { return get(t, c, "k") == "v1" })
	h := c.Stats().Near.Hits
	get(t, c, "k")
	if c.Stats().Near.Hits != h+1 {
		t.Fatal("replica read not kept")
	}
	pc := direct(t, primary.Addr, 0, "")
	pc.Set(bg, c.MakeKey("k"), "v2", 0)
	d := waitFor(t, 2*time.Second, "replicated write seen", func() bool { return get(t, c, "k") == "v2" })
	t.Logf("replicated write seen after %v", d)

	// The replica loses its primary, the key changes meanwhile, and the
	// replica resynchronises.
	if err := admin.Do(bg, "REPLICAOF", "NO", "ONE").Err(); err != nil {
		t.Fatal(err)
	}
	get(t, c, "k")
	pc.Set(bg, c.MakeKey("k"), "v3", 0)
	if err := admin.Do(bg, "REPLICAOF", host, port).Err(); err != nil {
		t.Fatal(err)
	}
	d = waitFor(t, 20*time.Second, "write made during the replica's outage seen", func() bool { return get(t, c, "k") == "v3" })
	t.Logf("seen after resynchronisation: %v", d)
}

// TestNearURL checks the options that cannot work fail at open, without
// dialing.
func TestNearURL(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"redis://127.0.0.1:1/1?near_cache=1", "database 0 only"},
		{"redis://127.0.0.1:1?db=2&near_cache=1", "database 0 only"},
		{"redis://127.0.0.1:1?near_max_bytes=1MiB", "without near_cache=1"},
		{"redis://127.0.0.1:1?near_max_staleness=1s", "without near_cache=1"},
		{"redis://127.0.0.1:1?near_cache=1&near_max_staleness=0", "unbounded"},
		{"redis://127.0.0.1:1?near_cache=1&near_max_bytes=1000", "64 KiB"},
		{"redis://127.0.0.1:1?near_cache=1&near_max_bytes=lots", "size"},
	} {
		_, err := cache.Open(tc.url, schemes)
		if err == nil || !errors.Is(err, cache.ErrInvalidOption) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%q) = %v, want an ErrInvalidOption naming %q", tc.url, err, tc.want)
		}
	}
	for _, u := range []string{
		"redis://127.0.0.1:1?near_cache=1",
		"redis://127.0.0.1:1/0?near_cache=1&near_max_bytes=1MiB&near_max_staleness=5s",
		"redis://127.0.0.1:1?near_cache=0",
	} {
		c, err := cache.Open(u, schemes)
		if err != nil {
			t.Errorf("Open(%q): %v", u, err)
			continue
		}
		c.Close()
	}
	if _, err := redis.New(redis.Options{DB: 3, Near: &redis.NearOptions{}}); err == nil {
		t.Error("New with Near on database 3 succeeded")
	}
}

// TestNearPropagation measures how long after another client's write the
// near reader sees it (reported in BENCHMARKS.md).
func TestNearPropagation(t *testing.T) {
	srv := testserver.Redis(t)
	c := open(t, "redis://"+srv.Addr+"?near_cache=1")
	other := direct(t, srv.Addr, 0, "")
	key := c.MakeKey("k")
	const tries = 200
	lat := make([]time.Duration, 0, tries)
	for i := range tries {
		v := fmt.Sprint(i)
		other.Set(bg, key, v, 0)
		start := time.Now()
		for get(t, c, "k") != v {
			if time.Since(start) > 2*time.Second {
				t.Fatalf("try %d: not seen within 2s", i)
			}
		}
		lat = append(lat, time.Since(start))
		get(t, c, "k") // kept again
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	t.Logf("another client's write seen after p50 %v, p99 %v, max %v (%d tries)", lat[tries/2], lat[tries*99/100], lat[tries-1], tries)
	_ = context.Background
}
