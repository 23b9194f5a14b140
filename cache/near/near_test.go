package near_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/memcached"
	"github.com/fragcache/fragcache/cache/memory"
	"github.com/fragcache/fragcache/cache/near"
	"github.com/fragcache/fragcache/internal/testserver"
)

func TestNewOptions(t *testing.T) {
	inner, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for name, o := range map[string]near.Options{
		"no TTL":         {},
		"negative TTL":   {TTL: -time.Second},
		"TTL too long":   {TTL: near.MaxTTL + 1},
		"negative bytes": {TTL: time.Second, MaxBytes: -1},
	} {
		if _, err := near.New(inner, o); !errors.Is(err, cache.ErrInvalidOption) {
			t.Errorf("%s: %v, want ErrInvalidOption", name, err)
		}
	}
	if _, err := near.New(nil, near.Options{TTL: time.Second}); !errors.Is(err, cache.ErrInvalidOption) {
		t.Errorf("nil backend: %v", err)
	}
	w, err := near.New(inner, near.Options{TTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := w.(*near.IncrBackend); !ok {
		t.Errorf("near over the memory backend, which has Incr, is %T", w)
	}
	if st := w.NearStats(); st.MaxBytes != near.DefaultMaxBytes || st.Mode != "ttl" || st.State != "on" || st.MaxStaleness != time.Second {
		t.Errorf("NearStats = %+v", st)
	}
}

// TestLocalHits checks that values read or written are served without a
// round trip, and that the wrapper forwards what the Cache needs.
func TestLocalHits(t *testing.T) {
	srv := testserver.Memcached(t)
	w := newNear(t, srv, near.Options{TTL: time.Minute})
	if _, ok := w.(*near.IncrBackend); !ok {
		t.Fatalf("near over memcached is %T, want *near.IncrBackend", w)
	}
	other := mc(t, srv)
	set(t, other, "read", "from elsewhere", cache.Forever)
	set(t, w, "written", "by me", cache.Forever)

	cmd0, _ := getStats(t, srv)
	if v, ok := get(t, w, "read"); !ok || v != "from elsewhere" {
		t.Fatalf("Get = %q %v", v, ok)
	}
	cmd1, _ := getStats(t, srv)
	if cmd1 != cmd0+1 {
		t.Fatalf("first Get: %d gets reached memcached, want 1", cmd1-cmd0)
	}
	for range 10 {
		for _, k := range []string{"read", "written"} {
			if _, ok := get(t, w, k); !ok {
				t.Fatalf("Get(%s) missed", k)
			}
		}
		if v, ok, err := w.GetKeyBytes(bg, []byte("read")); err != nil || !ok || string(v) != "from elsewhere" {
			t.Fatalf("GetKeyBytes = %q %v %v", v, ok, err)
		}
		if m, err := w.GetMany(bg, []string{"read", "written"}); err != nil || len(m) != 2 {
			t.Fatalf("GetMany = %q %v", m, err)
		}
	}
	if cmd2, _ := getStats(t, srv); cmd2 != cmd1 {
		t.Errorf("local hits made %d gets reach memcached", cmd2-cmd1)
	}
	// Misses are not kept.
	for range 3 {
		if _, ok := get(t, w, "absent"); ok {
			t.Fatal("absent key hit")
		}
	}
	if cmd3, _ := getStats(t, srv); cmd3 != cmd1+3 {
		t.Errorf("3 misses made %d gets reach memcached, want 3", cmd3-cmd1)
	}
	// GetMany fetches the rest in one multi-get and keeps it.
	set(t, other, "m1", "1", cache.Forever)
	set(t, other, "m2", "2", cache.Forever)
	if m, err := w.GetMany(bg, []string{"read", "m1", "m2", "absent"}); err != nil || len(m) != 3 || string(m["m2"]) != "2" {
		t.Fatalf("GetMany = %q %v", m, err)
	}
	if v, ok := w.GetLocal(bg, "m1"); !ok || string(v) != "1" {
		t.Errorf("GetMany kept no copy of m1: %q %v", v, ok)
	}
	// GetRaw always reads the server.
	set(t, other, "read", "changed", cache.Forever)
	if raw, ok, err := w.GetRaw(bg, "read"); err != nil || !ok || string(raw.Bytes) != "changed" {
		t.Errorf("GetRaw = %q %v %v", raw.Bytes, ok, err)
	}
	st := w.NearStats()
	if st.Hits < 50 || st.Misses < 5 || st.Entries != 4 || st.Bytes <= 0 {
		t.Errorf("NearStats = %+v", st)
	}
	// A value given to Set may be reused by the caller.
	buf := []byte("original")
	if err := w.Set(bg, "reuse", buf, cache.Forever); err != nil {
		t.Fatal(err)
	}
	copy(buf, "CLOBBER!")
	if v, _ := get(t, w, "reuse"); v != "original" {
		t.Errorf("the copy aliases the caller's slice: %q", v)
	}
}

// TestOwnWrites checks that every write of this process is seen at once.
func TestOwnWrites(t *testing.T) {
	srv := testserver.Memcached(t)
	w := newNear(t, srv, near.Options{TTL: time.Minute})
	other := mc(t, srv)
	ctx := bg
	prime := func(key, value string) {
		t.Helper()
		if _, err := w.Delete(ctx, key); err != nil { // drops this process's copy
			t.Fatal(err)
		}
		set(t, other, key, value, cache.Forever)
		if v, ok := get(t, w, key); !ok || v != value {
			t.Fatalf("prime %s: %q %v", key, v, ok)
		}
		if _, ok := w.GetLocal(ctx, key); !ok {
			t.Fatalf("prime %s: no local copy", key)
		}
	}
	miss := func(what, key string) {
		t.Helper()
		if v, ok := get(t, w, key); ok {
			t.Errorf("after %s: Get(%s) = %q, want a miss", what, key, v)
		}
	}
	want := func(what, key, value string) {
		t.Helper()
		if v, ok := get(t, w, key); !ok || v != value {
			t.Errorf("after %s: Get(%s) = %q %v, want %q", what, key, v, ok, value)
		}
	}

	prime("s", "old")
	set(t, w, "s", "new", cache.Forever)
	want("Set", "s", "new")

	prime("d", "old")
	if ok, err := w.Delete(ctx, "d"); err != nil || !ok {
		t.Fatal(ok, err)
	}
	miss("Delete", "d")

	prime("n", "41")
	if n, err := w.(cache.Incrementer).Incr(ctx, "n", 1); err != nil || n != 42 {
		t.Fatal(n, err)
	}
	want("Incr", "n", "42")

	prime("t", "old")
	if ok, err := w.Touch(ctx, "t", cache.Expired); err != nil || !ok {
		t.Fatal(ok, err)
	}
	miss("Touch(Expired)", "t")

	prime("k", "old")
	if ok, err := w.Add(ctx, "k", []byte("added"), cache.Forever); err != nil || ok {
		t.Fatal("Add over a present key:", ok, err)
	}
	want("failed Add", "k", "old")
	set(t, other, "k", "changed", cache.Forever)
	// A failed Add says the key is there: its copy was dropped.
	if ok, err := w.Add(ctx, "k", []byte("added"), cache.Forever); err != nil || ok {
		t.Fatal(ok, err)
	}
	want("failed Add", "k", "changed")
	if _, err := other.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if ok, err := w.Add(ctx, "k", []byte("added"), cache.Forever); err != nil || !ok {
		t.Fatal(ok, err)
	}
	want("Add", "k", "added")

	prime("a", "old")
	prime("b", "old")
	if failed, err := w.SetMany(ctx, []cache.Entry{{Key: "a", Value: []byte("A")}, {Key: "b", Value: []byte("B")}}, cache.Forever); err != nil || len(failed) > 0 {
		t.Fatal(failed, err)
	}
	want("SetMany", "a", "A")
	want("SetMany", "b", "B")
	if _, ok := w.GetLocal(ctx, "a"); !ok {
		t.Error("SetMany kept no copy")
	}

	prime("a", "older")
	prime("b", "older")
	if err := w.DeleteMany(ctx, []string{"a", "b"}); err != nil {
		t.Fatal(err)
	}
	miss("DeleteMany", "a")
	miss("DeleteMany", "b")

	prime("a", "oldest")
	prime("b", "oldest")
	if err := w.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	miss("Clear", "a")
	miss("Clear", "b")
	if st := w.NearStats(); st.Invalidations < 10 || st.Entries != 0 {
		t.Errorf("NearStats = %+v", st)
	}
}

// TestOtherProcess checks the staleness bound: another process's write is
// seen at most TTL later.
func TestOtherProcess(t *testing.T) {
	const ttl = 300 * time.Millisecond
	srv := testserver.Memcached(t)
	w := newNear(t, srv, near.Options{TTL: ttl})
	other := mc(t, srv)
	set(t, other, "k", "v1", cache.Forever)
	if v, _ := get(t, w, "k"); v != "v1" {
		t.Fatal(v)
	}
	set(t, other, "k", "v2", cache.Forever)
	written := time.Now()
	for {
		v, _ := get(t, w, "k")
		if v == "v2" {
			break
		}
		if time.Since(written) > ttl+100*time.Millisecond {
			t.Fatalf("still %q %v after the other process's write; TTL %v", v, time.Since(written), ttl)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// A delete elsewhere too.
	if _, err := other.Delete(bg, "k"); err != nil {
		t.Fatal(err)
	}
	deleted := time.Now()
	for {
		if _, ok := get(t, w, "k"); !ok {
			break
		}
		if time.Since(deleted) > ttl+100*time.Millisecond {
			t.Fatalf("still a hit %v after the other process's delete", time.Since(deleted))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestExpiry checks that a copy is dropped after TTL and fetched again.
func TestExpiry(t *testing.T) {
	const ttl = 200 * time.Millisecond
	srv := testserver.Memcached(t)
	w := newNear(t, srv, near.Options{TTL: ttl})
	set(t, mc(t, srv), "k", "v", cache.Forever)
	get(t, w, "k")
	if _, ok := w.GetLocal(bg, "k"); !ok {
		t.Fatal("no copy")
	}
	time.Sleep(ttl + 20*time.Millisecond)
	if _, ok := w.GetLocal(bg, "k"); ok {
		t.Fatal("copy served after TTL")
	}
	if st := w.NearStats(); st.Entries != 0 {
		t.Errorf("expired copy still counted: %+v", st)
	}
	cmd0, _ := getStats(t, srv)
	if v, ok := get(t, w, "k"); !ok || v != "v" {
		t.Fatal(v, ok)
	}
	if cmd1, _ := getStats(t, srv); cmd1 != cmd0+1 {
		t.Errorf("Get after TTL made %d gets", cmd1-cmd0)
	}
}

// TestOwnTimeout checks that a copy of a value this process wrote, or
// touched, does not outlive the value.
func TestOwnTimeout(t *testing.T) {
	srv := testserver.Memcached(t)
	w := newNear(t, srv, near.Options{TTL: time.Minute})
	// memcached keeps a 2 s value for more than 1 s: the copy lives 1 s.
	set(t, w, "k", "v", cache.Seconds(2))
	if _, ok := w.GetLocal(bg, "k"); !ok {
		t.Fatal("no copy of a 2 s value")
	}
	// A 1 s value may expire at memcached's next tick: no copy.
	set(t, w, "short", "v", cache.Seconds(1))
	if _, ok := w.GetLocal(bg, "short"); ok {
		t.Error("a copy of a 1 s value")
	}
	// Touch bounds the copies read after it.
	other := mc(t, srv)
	set(t, other, "t", "v", cache.Forever)
	get(t, w, "t")
	if ok, err := w.Touch(bg, "t", cache.Seconds(2)); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if _, ok := w.GetLocal(bg, "t"); ok {
		t.Error("Touch kept the copy")
	}
	get(t, w, "t")
	if _, ok := w.GetLocal(bg, "t"); !ok {
		t.Error("no copy read back after Touch")
	}
	time.Sleep(1100 * time.Millisecond)
	if _, ok := w.GetLocal(bg, "k"); ok {
		t.Error("the copy of a 2 s value outlived 1 s")
	}
	if _, ok := w.GetLocal(bg, "t"); ok {
		t.Error("the copy read after Touch(2 s) outlived 1 s")
	}
	// Without a Lifetime, the timeout itself bounds the copy.
	inner, _ := memory.New(memory.Options{})
	m, err := near.New(inner, near.Options{TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	set(t, m, "k", "v", cache.Duration(100*time.Millisecond))
	if _, ok := m.GetLocal(bg, "k"); !ok {
		t.Fatal("no copy")
	}
	time.Sleep(120 * time.Millisecond)
	if _, ok := m.GetLocal(bg, "k"); ok {
		t.Error("the copy outlived its timeout")
	}
}

// TestMaxBytes checks the byte bound.
func TestMaxBytes(t *testing.T) {
	srv := testserver.Memcached(t)
	const max = 64 * 1024 // 1 KiB a shard
	w := newNear(t, srv, near.Options{TTL: time.Minute, MaxBytes: max})
	value := bytes.Repeat([]byte("x"), 200)
	for i := range 2000 {
		if err := w.Set(bg, "k"+strconv.Itoa(i), value, cache.Forever); err != nil {
			t.Fatal(err)
		}
	}
	st := w.NearStats()
	if st.Bytes > max || st.Entries == 0 || st.Entries >= 2000 || st.MaxBytes != max {
		t.Errorf("NearStats = %+v", st)
	}
	// Evicted keys are still read from memcached.
	for i := range 2000 {
		if v, ok := get(t, w, "k"+strconv.Itoa(i)); !ok || v != string(value) {
			t.Fatalf("k%d: %q %v", i, v, ok)
		}
	}
	// A value over a shard's share is not kept.
	if err := w.Set(bg, "big", bytes.Repeat([]byte("y"), 2000), cache.Forever); err != nil {
		t.Fatal(err)
	}
	if _, ok := w.GetLocal(bg, "big"); ok {
		t.Error("a value over the shard's share was kept")
	}
	if _, ok := get(t, w, "big"); !ok {
		t.Error("big missed")
	}
	if st := w.NearStats(); st.Bytes > max {
		t.Errorf("NearStats = %+v", st)
	}
}

// TestRaceOwnWrites has goroutines interleave Set and Get on a few keys,
// and checks that a goroutine never reads a value older than its own last
// completed Set: one whose Set had completed before that Set began.
func TestRaceOwnWrites(t *testing.T) {
	srv := testserver.Memcached(t)
	w := newNear(t, srv, near.Options{TTL: time.Minute})
	const (
		goroutines = 16
		rounds     = 300
		keys       = 3
	)
	var clock atomic.Int64
	// finished[s] is the clock when the Set that started at s returned; 0
	// while it runs.
	finished := make([]atomic.Int64, goroutines*rounds*2+10)
	var wg sync.WaitGroup
	var failures atomic.Int32
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 1))
			var since [keys]int64 // this goroutine's last Set of each key began then
			for range rounds {
				k := r.IntN(keys)
				key := "k" + strconv.Itoa(k)
				if r.IntN(3) == 0 {
					s := clock.Add(1)
					if err := w.Set(bg, key, []byte(strconv.FormatInt(s, 10)), cache.Forever); err != nil {
						t.Error(err)
						return
					}
					finished[s].Store(clock.Add(1))
					since[k] = s
					continue
				}
				var v []byte
				var ok bool
				var err error
				switch r.IntN(3) {
				case 0:
					v, ok, err = w.Get(bg, key)
				case 1:
					v, ok, err = w.GetKeyBytes(bg, []byte(key))
				default:
					var m map[string][]byte
					m, err = w.GetMany(bg, []string{key})
					v, ok = m[key]
				}
				if err != nil {
					t.Error(err)
					return
				}
				if since[k] == 0 {
					continue
				}
				if !ok {
					t.Errorf("%s: miss after this goroutine's Set", key)
					failures.Add(1)
					continue
				}
				s, _ := strconv.ParseInt(string(v), 10, 64)
				if f := finished[s].Load(); f != 0 && f < since[k] {
					t.Errorf("%s: read the value set at %d, finished at %d, before this goroutine's Set at %d", key, s, f, since[k])
					failures.Add(1)
				}
				if failures.Load() > 10 {
					return
				}
			}
		}()
	}
	wg.Wait()
	if st := w.NearStats(); st.Hits == 0 {
		t.Errorf("no local hits: the test tested nothing (%+v)", st)
	}
}

// TestChain checks a Cache over the near layer: memcached's key check
// still applies, and Stats reports the near cache.
func TestChain(t *testing.T) {
	srv := testserver.Memcached(t)
	w := newNear(t, srv, near.Options{TTL: time.Minute})
	if w.KeyCheck() != cache.KeyCheckReject {
		t.Errorf("KeyCheck = %v, want memcached's reject", w.KeyCheck())
	}
	c, err := cache.New(w)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Set(bg, "bad key", []byte("v"), cache.DefaultTimeout); !errors.Is(err, cache.ErrInvalidKey) {
		t.Errorf("Set(bad key): %v, want ErrInvalidKey", err)
	}
	if _, ok := cache.As[*memcached.Backend](c.Backend()); !ok {
		t.Error("As does not find the memcached backend")
	}
	if err := c.Set(bg, "k", []byte("v"), cache.DefaultTimeout); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.GetKeyBytes(bg, []byte("k")); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Incr(bg, "n", 1); !errors.Is(err, cache.ErrNotFound) {
		t.Errorf("Incr of a missing key = %d %v", n, err)
	}
	if s := c.Stats(); s.Near.Mode != "ttl" || s.Near.Hits != 1 || s.Near.Entries != 1 {
		t.Errorf("Stats().Near = %+v", s.Near)
	}
}
