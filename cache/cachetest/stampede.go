package cachetest

import (
	"bytes"
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
)

// The stampede section checks GetEntry, SetEntry, Fill and GetOrSetWith
// (cache/stampede.go) on the backend: values stored with their freshness
// keep Django's format, grace keeps them readable (and flagged stale) past
// their timeout, and a lease makes one caller compute while the others
// wait or serve the stale value. The lease parts need Harness.Leases; the
// grace parts need time to pass: with Clock, a short real sleep (the
// freshness is by the real clock) and the same advance of the backend's
// clock; otherwise a few Granularity units.

// graceUnit returns the unit of time of the grace tests, or skips t.
func (s *suite) graceUnit(t testing.TB) time.Duration {
	t.Helper()
	switch {
	case s.h.Clock:
		return 100 * time.Millisecond
	case s.h.Granularity > 0:
		return s.h.Granularity
	}
	t.Skip("needs Harness.Clock or Harness.Granularity")
	return 0
}

// pass lets d pass for the freshness (the real clock) and the backend.
func pass(clk *FakeClock, d time.Duration) {
	time.Sleep(d)
	if clk != nil {
		clk.Advance(d)
	}
}

func constant(v string) func(context.Context) ([]byte, error) {
	return func(context.Context) ([]byte, error) { return []byte(v), nil }
}

func (s *suite) testStampedeEntryFormat(t *testing.T) {
	c, _ := s.newCache(t)
	st := cache.Stampede{Grace: time.Hour, XFetch: true}
	value := "a value stored with its freshness"
	if err := c.SetEntry(bg, "entry", []byte(value), cache.Seconds(60), st, time.Millisecond); err != nil {
		t.Fatalf("SetEntry: %v", err)
	}
	set(t, c, "plain", value, cache.Seconds(60))
	// The value key holds what Set stores: Django reads it as its own.
	wantGet(t, c, "entry", value)
	wantHas(t, c, "entry", true)
	re, ok1, err1 := c.GetRaw(bg, "entry")
	rp, ok2, err2 := c.GetRaw(bg, "plain")
	if err1 != nil || err2 != nil || !ok1 || !ok2 || !bytes.Equal(re.Bytes, rp.Bytes) || re.Pickle != rp.Pickle {
		t.Errorf("GetRaw of a SetEntry value = %q (%v, %v), of the same value Set = %q (%v, %v): want the same", re.Bytes, ok1, err1, rp.Bytes, ok2, err2)
	}
	for _, s := range []cache.Stampede{st, {Grace: time.Minute}, {}} {
		l, err := c.GetEntry(bg, "entry", s)
		if err != nil || !l.Hit || string(l.Value) != value || l.Stale {
			t.Errorf("GetEntry(%v) = %+v, %v; want the fresh value", s, l, err)
		}
		if l, err := c.GetEntryKeyBytes(bg, []byte("entry"), s); err != nil || !l.Hit || string(l.Value) != value || l.Stale {
			t.Errorf("GetEntryKeyBytes(%v) = %+v, %v", s, l, err)
		}
	}
	// A value without freshness (one Django wrote) is fresh.
	if l, err := c.GetEntry(bg, "plain", st); err != nil || !l.Hit || l.Stale || l.Early {
		t.Errorf("GetEntry of a Set value = %+v, %v; want fresh", l, err)
	}
	if l, err := c.GetEntry(bg, "absent", st); err != nil || l.Hit {
		t.Errorf("GetEntry of an absent key = %+v, %v; want a miss", l, err)
	}
	// Delete (Django's) removes it; overwriting it with Set makes it fresh.
	wantDelete(t, c, "entry", true)
	if l, _ := c.GetEntry(bg, "entry", st); l.Hit {
		t.Errorf("GetEntry after Delete = %+v", l)
	}
	// Versions and prefixes are other keys.
	if err := c.SetEntry(bg, "v", []byte("one"), cache.Seconds(60), st, 0); err != nil {
		t.Fatal(err)
	}
	if l, _ := c.WithVersion(2).GetEntry(bg, "v", st); l.Hit {
		t.Errorf("GetEntry at version 2 = %+v, want a miss", l)
	}
	// Forever and Expired.
	if err := c.SetEntry(bg, "forever", []byte("f"), cache.Forever, st, 0); err != nil {
		t.Fatal(err)
	}
	if l, _ := c.GetEntry(bg, "forever", st); !l.Hit || l.Stale {
		t.Errorf("GetEntry of a Forever entry = %+v", l)
	}
	if err := c.SetEntry(bg, "forever", []byte("f"), cache.Expired, st, 0); err != nil {
		t.Fatal(err)
	}
	wantGet(t, c, "forever", miss)
}

func (s *suite) testStampedeGrace(t *testing.T) {
	unit := s.graceUnit(t)
	c, clk := s.newCache(t)
	long := cache.Stampede{Grace: time.Hour}
	short := cache.Stampede{Grace: unit}
	if err := c.SetEntry(bg, "long", []byte("old"), cache.Duration(unit), long, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := c.SetEntry(bg, "short", []byte("old"), cache.Duration(unit), short, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	pass(clk, unit+unit/2)
	// Past its timeout, within its grace: readable, and stale.
	l, err := c.GetEntry(bg, "long", long)
	if err != nil || !l.Hit || !l.Stale || string(l.Value) != "old" || !l.Refresh() {
		t.Fatalf("GetEntry past the timeout within the grace = %+v, %v; want the stale value", l, err)
	}
	// Django (a plain Get) still reads it.
	wantGet(t, c, "long", "old")
	pass(clk, 2*unit)
	// Past timeout + grace: gone.
	wantGet(t, c, "short", miss)
	if l, _ := c.GetEntry(bg, "short", short); l.Hit {
		t.Errorf("GetEntry past timeout + grace = %+v, want a miss", l)
	}
	// GetOrSetWith serves the stale value at once and refreshes it in
	// the background, once.
	// The refresh lands only once every caller has been served, so that
	// a slow backend cannot let a late caller see it already.
	var loads atomic.Int32
	release := make(chan struct{})
	load := func(ctx context.Context) ([]byte, error) {
		loads.Add(1)
		select {
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return []byte("new"), nil
	}
	st := long
	st.Lease = s.h.Leases
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := c.GetOrSetWith(bg, "long", load, cache.Seconds(3600), st)
			if err != nil || string(v) != "old" {
				t.Errorf("GetOrSetWith of a stale value = %q, %v; want it at once", v, err)
			}
		}()
	}
	wg.Wait()
	close(release)
	deadline := time.Now().Add(10 * time.Second)
	for {
		l, err := c.GetEntry(bg, "long", st)
		if err == nil && string(l.Value) == "new" && !l.Stale {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the background refresh did not land: %+v, %v", l, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := loads.Load(); n != 1 {
		t.Errorf("%d refreshes of one stale value, want 1", n)
	}
	if ss := c.Stats().Stampede; ss.StaleServed < 8 || ss.BackgroundRefreshes != 1 {
		t.Errorf("Stats().Stampede = %+v; want 8 stale served, 1 background refresh", ss)
	}
}

func (s *suite) testStampedeRefreshLease(t *testing.T) {
	s.needLeases(t)
	unit := s.graceUnit(t)
	c, clk := s.newCache(t)
	st := cache.Stampede{Lease: true, Grace: time.Hour}
	if err := c.SetEntry(bg, "k", []byte("old"), cache.Duration(unit), st, 0); err != nil {
		t.Fatal(err)
	}
	pass(clk, unit+unit/2)
	l, err := c.GetEntry(bg, "k", st)
	if err != nil || !l.Stale {
		t.Fatalf("GetEntry = %+v, %v; want stale", l, err)
	}
	compute := func(context.Context) (cache.Computed, error) {
		return cache.Computed{Value: []byte("new"), Store: true}, nil
	}
	// Another holder refreshes: the stale value is served.
	held, ok := acquire(t, c, "k", time.Minute)
	if !ok {
		t.Fatal("AcquireLease failed")
	}
	if v, src, err := c.Fill(bg, "k", l, st, cache.Seconds(3600), compute); err != nil || string(v) != "old" || src != cache.FromStale {
		t.Errorf("Fill with the lease held elsewhere = %q, %v, %v; want old, stale", v, src, err)
	}
	release(t, held)
	// This caller holds it: it recomputes and stores.
	if v, src, err := c.Fill(bg, "k", l, st, cache.Seconds(3600), compute); err != nil || string(v) != "new" || src != cache.FromCompute {
		t.Errorf("Fill = %q, %v, %v; want new, computed", v, src, err)
	}
	if l, _ := c.GetEntry(bg, "k", st); string(l.Value) != "new" || l.Stale {
		t.Errorf("after the refresh: %+v", l)
	}
	// And released the lease.
	if l2, ok := acquire(t, c, "k", time.Minute); !ok {
		t.Error("the refresher did not release its lease")
	} else {
		release(t, l2)
	}
}

func (s *suite) testStampedeFillLease(t *testing.T) {
	s.needLeases(t)
	c, _ := s.newCache(t)
	st := cache.Stampede{Lease: true, LeaseTTL: time.Minute, Wait: 300 * time.Millisecond, Grace: time.Minute}
	var computes atomic.Int32
	compute := func(context.Context) (cache.Computed, error) {
		computes.Add(1)
		return cache.Computed{Value: []byte("mine"), Store: true}, nil
	}
	// Free lease: compute, store, release.
	v, src, err := c.Fill(bg, "free", cache.Lookup{}, st, cache.Seconds(60), compute)
	if err != nil || string(v) != "mine" || src != cache.FromCompute {
		t.Fatalf("Fill = %q, %v, %v; want mine, computed", v, src, err)
	}
	wantGet(t, c, "free", "mine")
	if l, ok := acquire(t, c, "free", time.Minute); !ok {
		t.Error("Fill did not release its lease")
	} else {
		release(t, l)
	}
	// Held elsewhere, the holder's value lands: it is taken.
	held, ok := acquire(t, c, "landing", time.Minute)
	if !ok {
		t.Fatal("AcquireLease failed")
	}
	timer := time.AfterFunc(100*time.Millisecond, func() {
		c.SetEntry(bg, "landing", []byte("theirs"), cache.Seconds(60), st, 0)
	})
	defer timer.Stop()
	computes.Store(0)
	v, src, err = c.Fill(bg, "landing", cache.Lookup{}, st, cache.Seconds(60), compute)
	if err != nil || string(v) != "theirs" || src != cache.FromWait || computes.Load() != 0 {
		t.Errorf("Fill while another holds the lease = %q, %v, %v (%d computes); want theirs, waited", v, src, err, computes.Load())
	}
	release(t, held)
	// Held elsewhere and nothing lands: the wait ends at its bound, and the
	// value is for this caller only.
	held, ok = acquire(t, c, "never", time.Minute)
	if !ok {
		t.Fatal("AcquireLease failed")
	}
	defer release(t, held)
	start := time.Now()
	v, src, err = c.Fill(bg, "never", cache.Lookup{}, st, cache.Seconds(60), compute)
	took := time.Since(start)
	if err != nil || string(v) != "mine" || src != cache.FromAlone {
		t.Errorf("Fill past the wait = %q, %v, %v; want mine, alone", v, src, err)
	}
	if took < st.Wait || took > st.Wait+5*time.Second {
		t.Errorf("Fill waited %v with a bound of %v", took, st.Wait)
	}
	wantGet(t, c, "never", miss)
	ss := c.Stats().Stampede
	if ss.LeasesWon < 1 || ss.LeasesLost != 2 || ss.Waits != 1 || ss.WaitTimeouts != 1 {
		t.Errorf("Stats().Stampede = %+v; want ≥ 1 won, 2 lost, 1 wait, 1 wait timeout", ss)
	}
}

func (s *suite) testStampedeGetOrSetWith(t *testing.T) {
	c, _ := s.newCache(t)
	for _, st := range []cache.Stampede{
		{Lease: s.h.Leases},
		{Lease: s.h.Leases, Grace: time.Minute},
		{XFetch: true, XFetchBeta: 2},
	} {
		key := "gosw" + st.String()
		var loads atomic.Int32
		load := func(context.Context) ([]byte, error) {
			loads.Add(1)
			time.Sleep(50 * time.Millisecond)
			return []byte("v"), nil
		}
		var wg sync.WaitGroup
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				v, err := c.GetOrSetWith(bg, key, load, cache.Seconds(60), st)
				if err != nil || string(v) != "v" {
					t.Errorf("GetOrSetWith(%v) = %q, %v", st, v, err)
				}
			}()
		}
		wg.Wait()
		if n := loads.Load(); n != 1 {
			t.Errorf("GetOrSetWith(%v): %d loads for 16 concurrent misses, want 1", st, n)
		}
		wantGet(t, c, key, "v")
		if v, err := c.GetOrSetWith(bg, key, constant("other"), cache.Seconds(60), st); err != nil || string(v) != "v" {
			t.Errorf("GetOrSetWith(%v) of a stored value = %q, %v", st, v, err)
		}
	}
	// A cache without leases computes with a lease asked for.
	if !s.h.Leases {
		if v, err := c.GetOrSetWith(bg, "nolease", constant("x"), cache.Seconds(60), cache.Stampede{Lease: true}); err != nil || string(v) != "x" {
			t.Errorf("GetOrSetWith with a lease on a backend without = %q, %v", v, err)
		}
	}
}

// dummyStampede: a backend that stores nothing stores no entry and no
// freshness, and GetOrSetWith loads every time (a lease asked for per call
// on a backend without leases computes as without).
func (s *suite) dummyStampede(t *testing.T) {
	c, _ := s.newCache(t)
	st := cache.Stampede{Grace: time.Minute, XFetch: true}
	if err := c.SetEntry(bg, "k", []byte("v"), cache.Seconds(60), st, 0); err != nil {
		t.Errorf("SetEntry: %v", err)
	}
	if l, err := c.GetEntry(bg, "k", st); err != nil || l.Hit {
		t.Errorf("GetEntry = %+v, %v; want a miss", l, err)
	}
	st.Lease = true
	var loads atomic.Int32
	for range 2 {
		v, err := c.GetOrSetWith(bg, "k", func(context.Context) ([]byte, error) {
			loads.Add(1)
			return []byte("v"), nil
		}, cache.Seconds(60), st)
		if err != nil || string(v) != "v" {
			t.Errorf("GetOrSetWith = %q, %v", v, err)
		}
	}
	if n := loads.Load(); n != 2 {
		t.Errorf("%d loads in 2 calls, want 2", n)
	}
}
