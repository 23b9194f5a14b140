package cachetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
)

const (
	day          = 24 * time.Hour
	thirtyDays   = 30 * day
	hundredYears = 100 * 365 * day
)

// test_zero_timeout: timeout 0 (Expired) stores nothing retrievable.
func (s *suite) testZeroTimeout(t *testing.T) {
	c, _ := s.newCache(t)
	set(t, c, "key1", "eggs", cache.Expired)
	wantGet(t, c, "key1", miss)
	wantHas(t, c, "key1", false)

	wantAdd(t, c, "key2", "ham", cache.Expired, true)
	wantGet(t, c, "key2", miss)

	setMany(t, c, map[string]string{"key3": "sausage", "key4": "lobster bisque"}, cache.Expired)
	wantGet(t, c, "key3", miss)
	wantGet(t, c, "key4", miss)

	set(t, c, "key5", "belgian fries", cache.Seconds(100))
	wantTouch(t, c, "key5", cache.Expired, true)
	wantGet(t, c, "key5", miss)
	wantTouch(t, c, "key5", cache.DefaultTimeout, false)

	// Set with Expired over a stored value removes it.
	set(t, c, "key6", "old", cache.Forever)
	set(t, c, "key6", "new", cache.Expired)
	wantGet(t, c, "key6", miss)
	// Seconds(0) and Duration(0) are Expired.
	set(t, c, "key7", "v", cache.Seconds(0))
	wantGet(t, c, "key7", miss)
	set(t, c, "key8", "v", cache.Duration(0))
	wantGet(t, c, "key8", miss)
	// Add over a key whose Set expired it stores again.
	wantAdd(t, c, "key1", "again", cache.DefaultTimeout, true)
	wantGet(t, c, "key1", "again")
}

// Negative timeouts are expired too (spec §2.3).
func (s *suite) testNegativeTimeout(t *testing.T) {
	c, _ := s.newCache(t)
	for i, to := range []cache.Timeout{cache.Seconds(-1), cache.Seconds(-100), cache.Seconds(-0.5), cache.Duration(-time.Second), cache.Timeout(-1)} {
		k := fmt.Sprintf("neg%d", i)
		set(t, c, k, "v", to)
		wantGet(t, c, k, miss)
		wantAdd(t, c, k+"a", "v", to, true)
		wantGet(t, c, k+"a", miss)
		setMany(t, c, map[string]string{k + "m": "v"}, to)
		wantGet(t, c, k+"m", miss)
		set(t, c, k+"t", "v", cache.Forever)
		wantTouch(t, c, k+"t", to, true)
		wantGet(t, c, k+"t", miss)
	}
}

// test_forever_timeout without the sleep (see timed/test_forever_timeout).
func (s *suite) testForeverTimeout(t *testing.T) {
	c, _ := s.newCache(t)
	set(t, c, "key1", "eggs", cache.Forever)
	wantGet(t, c, "key1", "eggs")
	wantAdd(t, c, "key2", "ham", cache.Forever, true)
	wantGet(t, c, "key2", "ham")
	wantAdd(t, c, "key1", "new eggs", cache.Forever, false)
	wantGet(t, c, "key1", "eggs")
	setMany(t, c, map[string]string{"key3": "sausage", "key4": "lobster bisque"}, cache.Forever)
	wantGet(t, c, "key3", "sausage")
	wantGet(t, c, "key4", "lobster bisque")
	set(t, c, "key5", "belgian fries", cache.Seconds(100))
	wantTouch(t, c, "key5", cache.Forever, true)
	wantGet(t, c, "key5", "belgian fries")
}

// test_long_timeout: 30 days + 1 second (memcached switches to absolute
// times above 30 days).
func (s *suite) testLongTimeout(t *testing.T) {
	c, _ := s.newCache(t)
	long := cache.Seconds(60*60*24*30 + 1)
	set(t, c, "key1", "eggs", long)
	wantGet(t, c, "key1", "eggs")
	wantAdd(t, c, "key2", "ham", long, true)
	wantGet(t, c, "key2", "ham")
	setMany(t, c, map[string]string{"key3": "sausage", "key4": "lobster bisque"}, long)
	wantGet(t, c, "key3", "sausage")
	wantGet(t, c, "key4", "lobster bisque")
	set(t, c, "key5", "x", cache.Seconds(60*60*24*30))
	wantGet(t, c, "key5", "x")
	set(t, c, "key6", "x", cache.Seconds(365*24*60*60))
	wantGet(t, c, "key6", "x")
	wantTouch(t, c, "key6", long, true)
	wantGet(t, c, "key6", "x")
}

func (s *suite) testFloatTimeout(t *testing.T) {
	c, _ := s.newCache(t)
	set(t, c, "key1", "spam", cache.Seconds(100.2))
	wantGet(t, c, "key1", "spam")
	wantAdd(t, c, "key2", "spam", cache.Seconds(100.2), true)
	wantGet(t, c, "key2", "spam")
	wantTouch(t, c, "key2", cache.Seconds(50.5), true)
	wantGet(t, c, "key2", "spam")
}

// Add stores over an expired key (test_expiration's add, without waiting).
func (s *suite) testAddOverExpired(t *testing.T) {
	c, clk := s.newCache(t)
	set(t, c, "k", "old", cache.Expired)
	wantAdd(t, c, "k", "new", cache.DefaultTimeout, true)
	wantGet(t, c, "k", "new")
	if clk == nil {
		return
	}
	set(t, c, "k2", "old", cache.Seconds(1))
	clk.Advance(2 * time.Second)
	wantAdd(t, c, "k2", "new", cache.Seconds(10), true)
	wantGet(t, c, "k2", "new")
	wantAdd(t, c, "k2", "newer", cache.Seconds(10), false)
}

// lifetime returns how long a value stored through c with timeout lives on
// this backend: forever, or d, where d <= 0 means expired at once.
func (s *suite) lifetime(c *cache.Cache, timeout cache.Timeout) (d time.Duration, forever bool) {
	if timeout == cache.DefaultTimeout {
		timeout = c.DefaultTimeout()
	}
	switch {
	case timeout == cache.Forever:
		return 0, true
	case timeout.IsExpired():
		return -1, false
	}
	d = time.Duration(timeout)
	if s.h.WholeSeconds {
		d = d.Truncate(time.Second)
		if d == 0 {
			d = -1
		}
	}
	return d, false
}

// checkLife checks, moving clk forward from start (the time key was stored
// or touched), that key holds want for d and then expires, or holds it
// forever; checkpoints already past are skipped. It moves the clock: use a
// fresh cache per call.
func (s *suite) checkLife(t testing.TB, c *cache.Cache, clk *FakeClock, key, want string, start time.Time, d time.Duration, forever bool) {
	t.Helper()
	at := func(off time.Duration, present bool, what string) {
		t.Helper()
		if start.Add(off).Before(clk.Now()) {
			return // the clock never goes back
		}
		clk.Set(start.Add(off))
		exp := miss
		if present {
			exp = want
		}
		gotHas, err := c.Has(bg, key)
		if err != nil {
			t.Fatalf("Has(%q): %v", key, err)
		}
		got := get(t, c, key)
		if got != exp || gotHas != present {
			t.Errorf("%s (%v after storing): Has(%q) = %v and Get = %s, want %v and %s", what, off, key, gotHas, show(got), present, show(exp))
		}
	}
	switch {
	case forever:
		at(0, true, "at once")
		at(hundredYears, true, "a hundred years later")
	case d <= 0:
		at(0, false, "at once")
	default:
		at(0, true, "at once")
		at(d-time.Millisecond, true, "1ms before the deadline")
		switch s.h.Deadline {
		case ExpiredAtDeadline:
			at(d, false, "at the deadline (ExpiredAtDeadline: deadline <= now is expired)")
		case AliveAtDeadline:
			at(d, true, "at the deadline (AliveAtDeadline: only deadline < now is expired)")
		}
		at(d+time.Millisecond, false, "1ms after the deadline")
	}
}

// timeoutCase names a timeout for the clock tests.
type timeoutCase struct {
	name string
	t    cache.Timeout
}

var clockTimeouts = []timeoutCase{
	{"default", cache.DefaultTimeout},
	{"forever", cache.Forever},
	{"expired", cache.Expired},
	{"seconds_-1", cache.Seconds(-1)},
	{"seconds_-100", cache.Seconds(-100)},
	{"seconds_0.25", cache.Seconds(0.25)},
	{"seconds_1", cache.Seconds(1)},
	{"seconds_1.5", cache.Seconds(1.5)},
	{"seconds_100.2", cache.Seconds(100.2)},
	{"duration_1m", cache.Duration(time.Minute)},
	{"timeout_90s", cache.Timeout(90 * time.Second)},
	{"seconds_2592000", cache.Seconds(2592000)},
	{"seconds_2592001", cache.Seconds(2592001)},
	{"one_year", cache.Seconds(365 * 24 * 60 * 60)},
}

// testTimeouts checks every timeout case exactly with the fake clock,
// through each method that takes a timeout.
func (s *suite) testTimeouts(t *testing.T) {
	s.needClock(t)
	setters := []struct {
		name  string
		store func(t testing.TB, c *cache.Cache, key, value string, to cache.Timeout)
	}{
		{"Set", func(t testing.TB, c *cache.Cache, k, v string, to cache.Timeout) { set(t, c, k, v, to) }},
		{"Add", func(t testing.TB, c *cache.Cache, k, v string, to cache.Timeout) {
			t.Helper()
			wantAdd(t, c, k, v, to, true)
		}},
		{"SetMany", func(t testing.TB, c *cache.Cache, k, v string, to cache.Timeout) {
			setMany(t, c, map[string]string{k: v}, to)
		}},
		{"Touch", func(t testing.TB, c *cache.Cache, k, v string, to cache.Timeout) {
			t.Helper()
			set(t, c, k, v, cache.Seconds(5))
			wantTouch(t, c, k, to, true)
		}},
		{"GetOrSet", func(t testing.TB, c *cache.Cache, k, v string, to cache.Timeout) {
			t.Helper()
			got, err := c.GetOrSet(bg, k, func(ctx context.Context) ([]byte, error) { return []byte(v), nil }, to)
			if err != nil || string(got) != v {
				t.Errorf("GetOrSet(%q, %s) = %q, %v; want %q, nil", k, to, got, err, v)
			}
		}},
	}
	for _, tc := range clockTimeouts {
		for _, st := range setters {
			t.Run(tc.name+"/"+st.name, func(t *testing.T) {
				c, clk := s.newCache(t)
				start := clk.Now()
				st.store(t, c, "k", "value", tc.t)
				d, forever := s.lifetime(c, tc.t)
				s.checkLife(t, c, clk, "k", "value", start, d, forever)
			})
		}
	}

	t.Run("default_option", func(t *testing.T) {
		for _, to := range []cache.Timeout{cache.Seconds(60), cache.Seconds(1.5), cache.Forever, cache.Seconds(2592001)} {
			c, clk := s.newCache(t, cache.WithDefaultTimeout(to))
			if c.DefaultTimeout() != to {
				t.Errorf("DefaultTimeout() = %s with WithDefaultTimeout(%s)", c.DefaultTimeout(), to)
			}
			start := clk.Now()
			set(t, c, "k", "v", cache.DefaultTimeout)
			d, forever := s.lifetime(c, to)
			s.checkLife(t, c, clk, "k", "v", start, d, forever)
		}
	})

	// DefaultNonExpiringCacheKeyTests.
	t.Run("test_default_expiration_time_for_keys_is_5_minutes", func(t *testing.T) {
		for _, opts := range [][]cache.Option{nil, {cache.WithDefaultTimeout(cache.DefaultTimeout)}} {
			c, clk := s.newCache(t, opts...)
			if c.DefaultTimeout() != cache.Seconds(300) {
				t.Errorf("DefaultTimeout() = %s, want 5m0s", c.DefaultTimeout())
			}
			start := clk.Now()
			set(t, c, "k", "v", cache.DefaultTimeout)
			s.checkLife(t, c, clk, "k", "v", start, 300*time.Second, false)
		}
	})
	t.Run("test_caches_set_with_timeout_as_none_set_non_expiring_key", func(t *testing.T) {
		c, clk := s.newCache(t, cache.WithDefaultTimeout(cache.Forever))
		if c.DefaultTimeout() != cache.Forever {
			t.Errorf("DefaultTimeout() = %s, want forever", c.DefaultTimeout())
		}
		start := clk.Now()
		set(t, c, "k", "v", cache.DefaultTimeout)
		s.checkLife(t, c, clk, "k", "v", start, 0, true)
	})
	t.Run("test_default_far_future_timeout", func(t *testing.T) {
		year := cache.Seconds(60 * 60 * 24 * 365)
		c, clk := s.newCache(t, cache.WithDefaultTimeout(year))
		start := clk.Now()
		set(t, c, "k", "v", cache.DefaultTimeout)
		s.checkLife(t, c, clk, "k", "v", start, 365*day, false)
	})

	// Touch counts from the time of the touch.
	t.Run("touch_from_now", func(t *testing.T) {
		for _, tc := range []timeoutCase{{"seconds_10", cache.Seconds(10)}, {"default", cache.DefaultTimeout}, {"forever", cache.Forever}, {"expired", cache.Expired}} {
			c, clk := s.newCache(t)
			set(t, c, "k", "v", cache.Seconds(10))
			clk.Advance(5 * time.Second)
			start := clk.Now()
			wantTouch(t, c, "k", tc.t, true)
			d, forever := s.lifetime(c, tc.t)
			s.checkLife(t, c, clk, "k", "v", start, d, forever)
		}
		c, clk := s.newCache(t)
		set(t, c, "k", "v", cache.Seconds(10))
		clk.Advance(11 * time.Second)
		wantTouch(t, c, "k", cache.Forever, false)
		wantGet(t, c, "k", miss)
		set(t, c, "forever", "v", cache.Forever)
		start := clk.Now()
		wantTouch(t, c, "forever", cache.Seconds(10), true)
		s.checkLife(t, c, clk, "forever", "v", start, 10*time.Second, false)
	})

	t.Run("incr_expiry", func(t *testing.T) {
		if s.h.IncrExpiry == IncrExpiryUnchecked {
			t.Skip("Semantics.IncrExpiry is IncrExpiryUnchecked")
		}
		c, clk := s.newCache(t)
		start := clk.Now()
		set(t, c, "n", "1", cache.Seconds(10))
		clk.Advance(4 * time.Second)
		wantIncr(t, c, "n", 1, 2)
		wantDecr(t, c, "n", 1, 1)
		if s.h.IncrExpiry == IncrKeepsExpiry {
			s.checkLife(t, c, clk, "n", "1", start, 10*time.Second, false)
		} else {
			s.checkLife(t, c, clk, "n", "1", start.Add(4*time.Second), 300*time.Second, false)
		}
	})

	// incr_version stores the value at its new version with the default
	// timeout.
	t.Run("incr_version_uses_default_timeout", func(t *testing.T) {
		c, clk := s.newCache(t, cache.WithDefaultTimeout(cache.Seconds(100)))
		set(t, c, "k", "v", cache.Seconds(10))
		clk.Advance(5 * time.Second)
		start := clk.Now()
		if v, err := c.IncrVersion(bg, "k", 1); err != nil || v != 2 {
			t.Fatalf("IncrVersion = %d, %v; want 2, nil", v, err)
		}
		s.checkLife(t, c.WithVersion(2), clk, "k", "v", start, 100*time.Second, false)
	})
}

// timedEnv runs one expiry test: with a clock, over a fresh cache whose
// clock moves on sleep; without, over a shared cache with real sleeps of
// Granularity units.
type timedEnv struct {
	c    *cache.Cache
	clk  *FakeClock
	unit time.Duration
}

// secs returns a timeout of n units (seconds with a clock).
func (e *timedEnv) secs(n float64) cache.Timeout {
	return cache.Timeout(time.Duration(n * float64(e.unit)))
}

// sleep lets n units pass.
func (e *timedEnv) sleep(n float64) {
	d := time.Duration(n * float64(e.unit))
	if e.clk != nil {
		e.clk.Advance(d)
		return
	}
	time.Sleep(d)
}

// testTimed runs Django's tests that sleep. Without a clock they share one
// cache (a key prefix each) and run concurrently, so that the whole group
// sleeps about five units.
func (s *suite) testTimed(t *testing.T) {
	unit := time.Second
	var shared *cache.Cache
	if !s.h.Clock {
		if s.h.Granularity <= 0 {
			t.Skip("needs Harness.Clock or Harness.Granularity")
		}
		unit = s.h.Granularity
		shared, _ = s.newCache(t)
	}
	tests := []struct {
		name string
		f    func(t *testing.T, e *timedEnv)
	}{
		{"test_expiration", s.timedExpiration},
		{"test_touch", s.timedTouch},
		{"test_set_many_expiration", s.timedSetManyExpiration},
		{"test_forever_timeout", s.timedForever},
		{"default_timeout_option", s.timedDefaultOption},
		{"test_incr_decr_timeout", s.timedIncrDecr},
		{"incr_version_default_timeout", s.timedIncrVersion},
		{"get_or_set_timeout", s.timedGetOrSet},
	}
	if shared == nil {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := &timedEnv{unit: unit}
				e.c, e.clk = s.newCache(t)
				tc.f(t, e)
			})
		}
		return
	}
	// Concurrent t.Run calls rather than t.Parallel, whose concurrency
	// -parallel (GOMAXPROCS) would bound.
	var wg sync.WaitGroup
	for _, tc := range tests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(tc.name, func(t *testing.T) {
				tc.f(t, &timedEnv{c: view(t, shared, cache.WithKeyPrefix(tc.name)), unit: unit})
			})
		}()
	}
	wg.Wait()
}

func (s *suite) timedExpiration(t *testing.T, e *timedEnv) {
	c := e.c
	set(t, c, "expire1", "very quickly", e.secs(1))
	set(t, c, "expire2", "very quickly", e.secs(1))
	set(t, c, "expire3", "very quickly", e.secs(1))
	e.sleep(2)
	wantGet(t, c, "expire1", miss)
	wantAdd(t, c, "expire2", "newvalue", cache.DefaultTimeout, true)
	wantGet(t, c, "expire2", "newvalue")
	wantHas(t, c, "expire3", false)
	wantTouch(t, c, "expire3", cache.Forever, false)
	_, err := c.Incr(bg, "expire3", 1)
	s.wantNotFound(t, "Incr of an expired key", c, "expire3", err)
	wantGetMany(t, c, []string{"expire1", "expire2", "expire3"}, map[string]string{"expire2": "newvalue"})
}

// Django's test_touch, its two halves run side by side.
func (s *suite) timedTouch(t *testing.T, e *timedEnv) {
	c := e.c
	set(t, c, "expire1", "very quickly", e.secs(1))
	wantTouch(t, c, "expire1", e.secs(4), true)
	set(t, c, "expire2", "very quickly", e.secs(1))
	wantTouch(t, c, "expire2", cache.DefaultTimeout, true)
	e.sleep(2)
	wantHas(t, c, "expire1", true)
	wantHas(t, c, "expire2", true)
	e.sleep(3)
	wantHas(t, c, "expire1", false)
	wantHas(t, c, "expire2", true)
	wantTouch(t, c, "nonexistent", cache.DefaultTimeout, false)
}

func (s *suite) timedSetManyExpiration(t *testing.T, e *timedEnv) {
	c := e.c
	setMany(t, c, map[string]string{"key1": "spam", "key2": "eggs"}, e.secs(1))
	e.sleep(2)
	wantGet(t, c, "key1", miss)
	wantGet(t, c, "key2", miss)
}

func (s *suite) timedForever(t *testing.T, e *timedEnv) {
	c := e.c
	set(t, c, "key5", "belgian fries", e.secs(1))
	wantTouch(t, c, "key5", cache.Forever, true)
	e.sleep(2)
	wantGet(t, c, "key5", "belgian fries")
}

// A cache made with WithDefaultTimeout uses it for DefaultTimeout.
func (s *suite) timedDefaultOption(t *testing.T, e *timedEnv) {
	c := view(t, e.c, cache.WithKeyPrefix(e.c.KeyPrefix()), cache.WithDefaultTimeout(e.secs(2)))
	set(t, c, "set", "v", cache.DefaultTimeout)
	wantAdd(t, c, "add", "v", cache.DefaultTimeout, true)
	setMany(t, c, map[string]string{"many": "v"}, cache.DefaultTimeout)
	set(t, c, "touched", "v", cache.Forever)
	wantTouch(t, c, "touched", cache.DefaultTimeout, true)
	set(t, c, "forever", "v", cache.Forever)
	wantGet(t, c, "set", "v")
	e.sleep(3)
	for _, k := range []string{"set", "add", "many", "touched"} {
		wantGet(t, c, k, miss)
	}
	wantGet(t, c, "forever", "v")
}

// LocMemCacheTests.test_incr_decr_timeout: incr and decr keep the expiry
// (memcached, Redis), or reset it to the default (Django's base incr).
func (s *suite) timedIncrDecr(t *testing.T, e *timedEnv) {
	if s.h.IncrExpiry == IncrExpiryUnchecked {
		t.Skip("Semantics.IncrExpiry is IncrExpiryUnchecked")
	}
	c := e.c
	set(t, c, "value", "1", e.secs(2))
	wantIncr(t, c, "value", 1, 2)
	wantDecr(t, c, "value", 1, 1)
	e.sleep(3)
	if s.h.IncrExpiry == IncrKeepsExpiry {
		wantGet(t, c, "value", miss)
	} else {
		wantInt(t, c, "value", 1)
	}
}

func (s *suite) timedIncrVersion(t *testing.T, e *timedEnv) {
	c := e.c
	set(t, c, "answer", "42", e.secs(2))
	if v, err := c.IncrVersion(bg, "answer", 1); err != nil || v != 2 {
		t.Fatalf("IncrVersion = %d, %v; want 2, nil", v, err)
	}
	e.sleep(3)
	wantGet(t, c.WithVersion(2), "answer", "42")
	wantGet(t, c, "answer", miss)
}

func (s *suite) timedGetOrSet(t *testing.T, e *timedEnv) {
	c := e.c
	load := func(v string) func(context.Context) ([]byte, error) {
		return func(context.Context) ([]byte, error) { return []byte(v), nil }
	}
	if v, err := c.GetOrSet(bg, "k", load("first"), e.secs(1)); err != nil || string(v) != "first" {
		t.Fatalf("GetOrSet = %q, %v", v, err)
	}
	e.sleep(2)
	wantGet(t, c, "k", miss)
	if v, err := c.GetOrSet(bg, "k", load("second"), cache.DefaultTimeout); err != nil || string(v) != "second" {
		t.Errorf("GetOrSet after expiry = %q, %v; want \"second\"", v, err)
	}
}
