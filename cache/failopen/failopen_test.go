package failopen_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/failopen"
	"github.com/fragcache/fragcache/cache/memory"
)

var bg = context.Background()

var errBoom = errors.New("boom: connection refused")

// fake is a backend whose failures the test controls. It implements every
// optional interface.
type fake struct {
	mu    sync.Mutex
	items map[string][]byte
	err   error         // returned by every operation when not nil
	hang  bool          // operations wait for their context to end
	gate  chan struct{} // when not nil, operations wait for it to close
	calls atomic.Int64
}

func newFake() *fake { return &fake{items: map[string][]byte{}} }

func (f *fake) fail(err error) {
	f.mu.Lock()
	f.err = err
	f.mu.Unlock()
}

func (f *fake) setHang(h bool) {
	f.mu.Lock()
	f.hang = h
	f.mu.Unlock()
}

func (f *fake) setGate(g chan struct{}) {
	f.mu.Lock()
	f.gate = g
	f.mu.Unlock()
}

// enter counts a call and returns its failure.
func (f *fake) enter(ctx context.Context) error {
	f.calls.Add(1)
	f.mu.Lock()
	err, hang, gate := f.err, f.hang, f.gate
	f.mu.Unlock()
	if gate != nil {
		<-gate
	}
	if hang {
		<-ctx.Done()
		return fmt.Errorf("fake: %w", ctx.Err())
	}
	return err
}

func (f *fake) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := f.enter(ctx); err != nil {
		return nil, false, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.items[key]
	return v, ok, nil
}

func (f *fake) Set(ctx context.Context, key string, value []byte, t cache.Timeout) error {
	if err := f.enter(ctx); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if t.IsExpired() {
		delete(f.items, key)
	} else {
		f.items[key] = bytes.Clone(value)
	}
	return nil
}

func (f *fake) Add(ctx context.Context, key string, value []byte, t cache.Timeout) (bool, error) {
	if err := f.enter(ctx); err != nil {
		return false, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.items[key]; ok {
		return false, nil
	}
	if !t.IsExpired() {
		f.items[key] = bytes.Clone(value)
	}
	return true, nil
}

func (f *fake) Delete(ctx context.Context, key string) (bool, error) {
	if err := f.enter(ctx); err != nil {
		return false, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.items[key]
	delete(f.items, key)
	return ok, nil
}

func (f *fake) Has(ctx context.Context, key string) (bool, error) {
	if err := f.enter(ctx); err != nil {
		return false, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.items[key]
	return ok, nil
}

func (f *fake) Touch(ctx context.Context, key string, t cache.Timeout) (bool, error) {
	if err := f.enter(ctx); err != nil {
		return false, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.items[key]
	if ok && t.IsExpired() {
		delete(f.items, key)
	}
	return ok, nil
}

func (f *fake) Clear(ctx context.Context) error {
	if err := f.enter(ctx); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.items)
	return nil
}

func (f *fake) Close() error { return nil }

func (f *fake) GetMany(ctx context.Context, keys []string) (map[string][]byte, error) {
	if err := f.enter(ctx); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	m := map[string][]byte{}
	for _, k := range keys {
		if v, ok := f.items[k]; ok {
			m[k] = v
		}
	}
	return m, nil
}

func (f *fake) SetMany(ctx context.Context, entries []cache.Entry, t cache.Timeout) ([]string, error) {
	if err := f.enter(ctx); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range entries {
		f.items[e.Key] = bytes.Clone(e.Value)
	}
	return nil, nil
}

func (f *fake) DeleteMany(ctx context.Context, keys []string) error {
	if err := f.enter(ctx); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range keys {
		delete(f.items, k)
	}
	return nil
}

func (f *fake) Incr(ctx context.Context, key string, delta int64) (int64, error) {
	if err := f.enter(ctx); err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.items[key]
	if !ok {
		return 0, cache.ErrNotFound
	}
	n, err := cache.AddDecimal(v, delta)
	if err != nil {
		return 0, &cache.NotIntegerError{Key: key}
	}
	f.items[key] = []byte(fmt.Sprint(n))
	return n, nil
}

func (f *fake) GetKeyBytes(ctx context.Context, key []byte) ([]byte, bool, error) {
	return f.Get(ctx, string(key))
}

func (f *fake) KeyCheck() cache.KeyCheck { return cache.KeyCheckReject }

// plain exposes only the cache.Backend methods of a backend.
type plain struct{ cache.Backend }

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Unix(1700000000, 0)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// setup wraps a fake with a fake clock, no jitter and the given threshold.
func setup(t testing.TB, threshold int) (*fake, *clock, failopen.Wrapper, *cache.Cache) {
	t.Helper()
	f, clk := newFake(), newClock()
	w := wrap(t, f, failopen.WithFailureThreshold(threshold), failopen.WithCoolDown(5*time.Second), failopen.WithJitter(0), failopen.WithClock(clk.Now))
	c, err := cache.New(w)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return f, clk, w, c
}

// TestErrorsBecomeMisses checks what each method returns when the backend
// fails, through a cache.Cache as callers use it.
func TestErrorsBecomeMisses(t *testing.T) {
	f, _, w, c := setup(t, 1000)
	must(t, c.Set(bg, "k", []byte("v"), cache.DefaultTimeout))
	must(t, c.Set(bg, "n", []byte("1"), cache.DefaultTimeout))
	f.fail(errBoom)

	cases := []struct {
		name    string
		run     func() (any, error)
		want    any
		wantErr bool
		dropped bool
	}{
		{"Get", func() (any, error) { v, ok, err := c.Get(bg, "k"); return fmt.Sprint(v, ok), err }, "[] false", false, false},
		{"GetKeyBytes", func() (any, error) { v, ok, err := c.GetKeyBytes(bg, []byte("k")); return fmt.Sprint(v, ok), err }, "[] false", false, false},
		{"GetRaw", func() (any, error) { r, ok, err := c.GetRaw(bg, "k"); return fmt.Sprint(r.Bytes, ok), err }, "[] false", false, false},
		{"GetMany", func() (any, error) { m, err := c.GetMany(bg, []string{"k", "n"}); return len(m), err }, 0, false, false},
		{"Has", func() (any, error) { return c.Has(bg, "k") }, false, false, false},
		{"Add", func() (any, error) { return c.Add(bg, "new", []byte("v"), cache.DefaultTimeout) }, false, false, true},
		{"Touch", func() (any, error) { return c.Touch(bg, "k", cache.Forever) }, false, false, true},
		{"Delete", func() (any, error) { return c.Delete(bg, "k") }, false, false, true},
		{"Set", func() (any, error) { return nil, c.Set(bg, "k", []byte("w"), cache.DefaultTimeout) }, nil, false, true},
		{"SetMany", func() (any, error) {
			failed, err := c.SetMany(bg, map[string][]byte{"a": nil, "b": nil}, cache.DefaultTimeout)
			return len(failed), err
		}, 2, false, true},
		{"DeleteMany", func() (any, error) { return nil, c.DeleteMany(bg, []string{"a", "b"}) }, nil, false, true},
		{"GetOrSet", func() (any, error) {
			v, err := c.GetOrSet(bg, "g", func(context.Context) ([]byte, error) { return []byte("loaded"), nil }, cache.DefaultTimeout)
			return string(v), err
		}, "loaded", false, true},
		{"Incr", func() (any, error) { return c.Incr(bg, "n", 1) }, int64(0), true, false},
		{"Clear", func() (any, error) { return nil, c.Clear(bg) }, nil, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := w.Stats()
			got, err := tc.run()
			if tc.wantErr {
				if !errors.Is(err, errBoom) {
					t.Errorf("error %v, want the backend's", err)
				}
			} else if err != nil {
				t.Errorf("error %v, want nil", err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("= %v, want %v", got, tc.want)
			}
			after := w.Stats()
			if after.Failures <= before.Failures {
				t.Error("failure not counted")
			}
			if d := after.DroppedWrites - before.DroppedWrites; (d > 0) != tc.dropped {
				t.Errorf("DroppedWrites grew by %d", d)
			}
		})
	}
	s := w.Stats()
	if s.LastError != errBoom.Error() || s.LastErrorAt.IsZero() {
		t.Errorf("LastError = %q at %v", s.LastError, s.LastErrorAt)
	}
	if s.State != failopen.Closed || s.Opens != 0 {
		t.Errorf("breaker %v after %d failures with threshold 1000", s.State, s.Failures)
	}
	// The cache's own statistics see misses, not errors, for reads.
	if cs := c.Stats(); cs.Misses == 0 {
		t.Errorf("cache stats %+v: failed reads should count as misses", cs)
	}
	// Recovery: values come back.
	f.fail(nil)
	if v, ok, err := c.Get(bg, "k"); err != nil || !ok || string(v) != "v" {
		t.Errorf("Get after recovery = %q, %v, %v", v, ok, err)
	}
	if s := w.Stats(); s.ConsecutiveFailures != 0 {
		t.Errorf("ConsecutiveFailures = %d after a success", s.ConsecutiveFailures)
	}
}

// TestPassThrough: errors that say the call was wrong reach the caller
// unchanged and do not count against the backend.
func TestPassThrough(t *testing.T) {
	for _, perr := range []error{
		&cache.InvalidKeyError{Key: "a b"},
		fmt.Errorf("memcached: %w: 2000000 bytes", cache.ErrValueTooLarge),
		&cache.NotIntegerError{Key: "k"},
		cache.ErrNotFound,
		fmt.Errorf("x: %w", cache.ErrInvalidOption),
		cache.ErrNilContext,
		fmt.Errorf("redis: %w", cache.ErrClosed),
		fmt.Errorf("memcached: a pickled list: %w", cache.ErrForeignValue), // a value, not an outage
	} {
		t.Run(perr.Error(), func(t *testing.T) {
			f, _, w, _ := setup(t, 2)
			f.fail(perr)
			for range 5 {
				if _, _, err := w.Get(bg, "k"); err != perr {
					t.Errorf("Get: %v, want %v", err, perr)
				}
				if _, _, err := w.(cache.RawGetter).GetRaw(bg, "k"); err != perr {
					t.Errorf("GetRaw: %v, want %v", err, perr)
				}
				if err := w.Set(bg, "k", nil, cache.Forever); err != perr {
					t.Errorf("Set: %v", err)
				}
				if _, err := w.Add(bg, "k", nil, cache.Forever); err != perr {
					t.Errorf("Add: %v", err)
				}
				if _, err := w.(cache.Incrementer).Incr(bg, "k", 1); err != perr {
					t.Errorf("Incr: %v", err)
				}
				if _, err := w.SetMany(bg, []cache.Entry{{Key: "k"}}, cache.Forever); err != perr {
					t.Errorf("SetMany: %v", err)
				}
			}
			if s := w.Stats(); s.Failures != 0 || s.State != failopen.Closed || s.DroppedWrites != 0 {
				t.Errorf("stats %+v: pass-through errors counted", s)
			}
		})
	}
	// Incr on a missing key through a Cache: Django's message naming the
	// caller's key, as without the wrapper.
	_, _, _, c := setup(t, 2)
	if _, err := c.Incr(bg, "nope", 1); err == nil || err.Error() != "Key 'nope' not found" {
		t.Errorf("Incr on a missing key: %v", err)
	}
	// The caller's own cancellation and deadline pass through, and do not
	// open the breaker.
	f, _, w, _ := setup(t, 2)
	f.setHang(true)
	for range 5 {
		ctx, cancel := context.WithCancel(bg)
		cancel()
		if _, _, err := w.Get(ctx, "k"); !errors.Is(err, context.Canceled) {
			t.Errorf("Get with a cancelled context: %v", err)
		}
		ctx, cancel = context.WithTimeout(bg, time.Millisecond)
		if err := w.Set(ctx, "k", nil, cache.Forever); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Set past the caller's deadline: %v", err)
		}
		cancel()
	}
	if s := w.Stats(); s.Failures != 0 || s.State != failopen.Closed {
		t.Errorf("stats %+v: the caller's cancellations counted", s)
	}
	// A nil context is the caller's error.
	//lint:ignore SA1012 testing the nil check
	if _, _, err := w.Get(nil, "k"); !errors.Is(err, cache.ErrNilContext) { //nolint:staticcheck
		t.Errorf("Get(nil ctx): %v", err)
	}
}

func TestBreaker(t *testing.T) {
	f, clk, w, c := setup(t, 3)
	must(t, c.Set(bg, "k", []byte("v"), cache.Forever))
	f.fail(errBoom)
	for i := range 3 {
		if w.State() != failopen.Closed {
			t.Fatalf("breaker %v after %d failures", w.State(), i)
		}
		c.Get(bg, "k")
	}
	if w.State() != failopen.Open {
		t.Fatalf("breaker %v after 3 failures, want open", w.State())
	}
	s := w.Stats()
	if s.Opens != 1 || !s.OpenUntil.Equal(clk.Now().Add(5*time.Second)) {
		t.Errorf("stats %+v", s)
	}

	// Open: calls return at once without reaching the backend.
	calls := f.calls.Load()
	const n = 20000
	start := time.Now()
	for range n {
		if _, ok, err := c.Get(bg, "k"); ok || err != nil {
			t.Fatal("short-circuited Get hit or failed")
		}
	}
	perCache := time.Since(start) / n
	start = time.Now()
	for range n {
		if _, ok, err := w.Get(bg, ":1:k"); ok || err != nil {
			t.Fatal("short-circuited Get hit or failed")
		}
	}
	per := time.Since(start) / n
	if f.calls.Load() != calls {
		t.Errorf("open breaker let %d calls through", f.calls.Load()-calls)
	}
	if per > time.Microsecond && !raceEnabled {
		t.Errorf("a short-circuited Get costs %v, want < 1µs", per)
	}
	t.Logf("short-circuited Get: %v; through cache.Cache: %v", per, perCache)
	if _, err := c.Incr(bg, "k", 1); !errors.Is(err, failopen.ErrOpen) {
		t.Errorf("Incr while open: %v, want ErrOpen", err)
	}
	if err := c.Clear(bg); !errors.Is(err, failopen.ErrOpen) {
		t.Errorf("Clear while open: %v, want ErrOpen", err)
	}
	if got := w.Stats().ShortCircuited; got != 2*n+2 {
		t.Errorf("ShortCircuited = %d, want %d", got, 2*n+2)
	}

	// Just before the cool-down ends: still open.
	clk.Advance(5*time.Second - time.Nanosecond)
	c.Get(bg, "k")
	if f.calls.Load() != calls {
		t.Error("a call went through before the cool-down ended")
	}
	// After: one probe; it fails and the breaker opens again.
	clk.Advance(time.Nanosecond)
	c.Get(bg, "k")
	if f.calls.Load() != calls+1 {
		t.Errorf("%d calls after the cool-down, want one probe", f.calls.Load()-calls)
	}
	if w.State() != failopen.Open || w.Stats().Opens != 2 {
		t.Errorf("after a failed probe: %v, %d opens", w.State(), w.Stats().Opens)
	}
	c.Get(bg, "k")
	if f.calls.Load() != calls+1 {
		t.Error("a call went through right after a failed probe")
	}

	// Half-open: while the probe runs, other calls short-circuit.
	clk.Advance(5 * time.Second)
	f.fail(nil)
	gate := make(chan struct{})
	f.setGate(gate)
	probeDone := make(chan struct{})
	go func() {
		defer close(probeDone)
		if v, ok, err := c.Get(bg, "k"); !ok || err != nil || string(v) != "v" {
			t.Errorf("probe Get = %q, %v, %v", v, ok, err)
		}
	}()
	for f.calls.Load() != calls+2 {
		time.Sleep(time.Millisecond)
	}
	if w.State() != failopen.HalfOpen {
		t.Errorf("state during the probe: %v", w.State())
	}
	for range 10 {
		if _, ok, _ := c.Get(bg, "k"); ok {
			t.Error("a concurrent call went through during the probe")
		}
	}
	f.setGate(nil)
	close(gate)
	<-probeDone
	if w.State() != failopen.Closed {
		t.Errorf("after a successful probe: %v", w.State())
	}
	if v, ok, _ := c.Get(bg, "k"); !ok || string(v) != "v" {
		t.Error("no hit after recovery")
	}
	if s := w.Stats(); s.ConsecutiveFailures != 0 || s.OpenUntil != (time.Time{}) {
		t.Errorf("after recovery: %+v", s)
	}
}

// A probe ending with the caller's error says nothing about the backend:
// the breaker stays open and the next call probes.
func TestProbeNeutral(t *testing.T) {
	f, clk, w, _ := setup(t, 1)
	f.fail(errBoom)
	w.Get(bg, "k")
	clk.Advance(6 * time.Second)
	ctx, cancel := context.WithCancel(bg)
	cancel()
	f.setHang(true)
	if _, _, err := w.Get(ctx, "k"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled probe: %v", err)
	}
	if w.State() != failopen.Open {
		t.Errorf("after a cancelled probe: %v", w.State())
	}
	f.setHang(false)
	f.fail(nil)
	calls := f.calls.Load()
	if _, _, err := w.Get(bg, "k"); err != nil || f.calls.Load() != calls+1 || w.State() != failopen.Closed {
		t.Errorf("next call did not probe: %v, %d calls, %v", err, f.calls.Load()-calls, w.State())
	}
}

func TestJitter(t *testing.T) {
	f, clk := newFake(), newClock()
	f.fail(errBoom)
	w := wrap(t, f, failopen.WithFailureThreshold(1), failopen.WithCoolDown(10*time.Second), failopen.WithJitter(0.5), failopen.WithClock(clk.Now))
	seen := map[time.Duration]bool{}
	for range 20 {
		w.Get(bg, "k")
		d := w.Stats().OpenUntil.Sub(clk.Now())
		if d < 10*time.Second || d > 15*time.Second {
			t.Fatalf("cool-down %v outside [10s, 15s]", d)
		}
		seen[d] = true
		clk.Advance(d)
	}
	if len(seen) < 5 {
		t.Errorf("jitter gave only %d distinct cool-downs", len(seen))
	}
}

func TestOpTimeout(t *testing.T) {
	f, clk := newFake(), newClock()
	w := wrap(t, f, failopen.WithFailureThreshold(2), failopen.WithOpTimeout(30*time.Millisecond), failopen.WithClock(clk.Now), failopen.WithJitter(0))
	f.setHang(true)
	for range 2 {
		start := time.Now()
		v, ok, err := w.Get(bg, "k")
		el := time.Since(start)
		if v != nil || ok || err != nil {
			t.Errorf("timed-out Get = %v, %v, %v; want a miss", v, ok, err)
		}
		if el < 30*time.Millisecond || el > 300*time.Millisecond {
			t.Errorf("timed-out Get took %v with a 30ms op timeout", el)
		}
	}
	s := w.Stats()
	if s.Timeouts != 2 || s.Failures != 2 || s.State != failopen.Open {
		t.Errorf("stats %+v: want 2 timeouts and an open breaker", s)
	}
	// The caller's longer deadline does not matter; a shorter one is the
	// caller's.
	f2 := newFake()
	f2.setHang(true)
	w2 := wrap(t, f2, failopen.WithOpTimeout(time.Hour))
	ctx, cancel := context.WithTimeout(bg, 20*time.Millisecond)
	defer cancel()
	if _, _, err := w2.Get(ctx, "k"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Get past the caller's deadline: %v", err)
	}
	if w2.Stats().Failures != 0 {
		t.Error("the caller's deadline counted as a backend failure")
	}
	// A negative OpTimeout sets none: the backend sees the caller's context.
	f3 := newFake()
	w3 := wrap(t, f3, failopen.WithOpTimeout(0))
	var sawDeadline bool
	f3.setGate(nil)
	ctxCheck := &deadlineSpy{fake: f3, saw: &sawDeadline}
	w3 = wrap(t, ctxCheck, failopen.WithOpTimeout(0))
	w3.Get(bg, "k")
	if sawDeadline {
		t.Error("OpTimeout -1 still set a deadline")
	}
	wrap(t, ctxCheck).Get(bg, "k")
	if !sawDeadline {
		t.Error("the default OpTimeout set no deadline")
	}
}

type deadlineSpy struct {
	*fake
	saw *bool
}

func (d *deadlineSpy) Get(ctx context.Context, key string) ([]byte, bool, error) {
	_, *d.saw = ctx.Deadline()
	return d.fake.Get(ctx, key)
}

// TestOptionalInterfaces: the wrapper offers the optional interfaces
// whatever the wrapped backend has, Incr only when it has one, and a Cache
// over it behaves as over the bare backend.
func TestOptionalInterfaces(t *testing.T) {
	full := wrap(t, newFake())
	if _, ok := full.(cache.Incrementer); !ok {
		t.Error("wrapper of a backend with Incr lacks Incr")
	}
	if _, ok := full.(*failopen.IncrBackend); !ok {
		t.Errorf("Wrap returned %T, want *IncrBackend", full)
	}
	if full.KeyCheck() != cache.KeyCheckReject {
		t.Error("KeyCheck not forwarded")
	}
	f := newFake()
	bare := wrap(t, plain{f})
	if _, ok := bare.(cache.Incrementer); ok {
		t.Error("wrapper of a backend without Incr has Incr: the Cache's fallback would be skipped")
	}
	if _, ok := bare.(*failopen.Backend); !ok {
		t.Errorf("Wrap returned %T, want *Backend", bare)
	}
	if bare.KeyCheck() != cache.KeyCheckWarn {
		t.Error("KeyCheck of a backend without one is not the Cache's default")
	}
	if bare.Unwrap() != (plain{f}) {
		t.Error("Unwrap")
	}
	c, err := cache.New(bare)
	must(t, err)
	// The fallbacks through single-key methods.
	_, err = c.SetMany(bg, map[string][]byte{"a": []byte("1"), "b": []byte("2")}, cache.DefaultTimeout)
	must(t, err)
	m, err := c.GetMany(bg, []string{"a", "b", "c"})
	if err != nil || len(m) != 2 || string(m["a"]) != "1" {
		t.Errorf("GetMany = %v, %v", m, err)
	}
	if v, ok, _ := c.GetKeyBytes(bg, []byte("b")); !ok || string(v) != "2" {
		t.Error("GetKeyBytes fallback")
	}
	// Incr uses the Cache's Get-and-Set.
	if n, err := c.Incr(bg, "a", 41); err != nil || n != 42 {
		t.Errorf("Incr = %d, %v", n, err)
	}
	must(t, c.DeleteMany(bg, []string{"a", "b"}))
	if m, _ := c.GetMany(bg, []string{"a", "b"}); len(m) != 0 {
		t.Error("DeleteMany fallback left keys")
	}
	// A fallback batch failing midway fails open as one operation.
	must(t, c.Set(bg, "x", []byte("1"), cache.DefaultTimeout))
	f.fail(errBoom)
	if m, err := c.GetMany(bg, []string{"x"}); err != nil || len(m) != 0 {
		t.Errorf("failing GetMany = %v, %v", m, err)
	}
	if s := bare.Stats(); s.Failures != 1 {
		t.Errorf("Failures = %d", s.Failures)
	}
}

// TestLogging: failure lines are rate-limited and report what they
// suppressed; breaker transitions are logged.
func TestLogging(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &buf, mu: &mu}, nil))
	f, clk := newFake(), newClock()
	w := wrap(t, f, failopen.WithFailureThreshold(1000), failopen.WithLogInterval(10*time.Second), failopen.WithLogger(logger), failopen.WithName("redis://h:6379"), failopen.WithClock(clk.Now))
	f.fail(errBoom)
	for range 100 {
		w.Get(bg, "k")
	}
	clk.Advance(10 * time.Second)
	w.Set(bg, "k", nil, cache.Forever)
	mu.Lock()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	mu.Unlock()
	if len(lines) != 2 {
		t.Fatalf("%d lines for 101 failures over 10s, want 2:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	if !strings.Contains(lines[0], "suppressed=0") || !strings.Contains(lines[0], "op=Get") || !strings.Contains(lines[0], "backend=redis://h:6379") {
		t.Errorf("first line: %s", lines[0])
	}
	if !strings.Contains(lines[1], "suppressed=99") || !strings.Contains(lines[1], "op=Set") {
		t.Errorf("second line: %s", lines[1])
	}
	// Opening and closing are logged.
	buf.Reset()
	w2 := wrap(t, f, failopen.WithFailureThreshold(1), failopen.WithLogger(logger), failopen.WithClock(clk.Now), failopen.WithJitter(0))
	w2.Get(bg, "k")
	clk.Advance(time.Minute)
	f.fail(nil)
	w2.Get(bg, "k")
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	if !strings.Contains(out, "circuit open") || !strings.Contains(out, "circuit closed") {
		t.Errorf("transitions not logged:\n%s", out)
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestConcurrency runs many goroutines against a backend that flips
// between failing and healthy, for -race.
func TestConcurrency(t *testing.T) {
	f, clk := newFake(), newClock()
	var logs bytes.Buffer
	var mu sync.Mutex
	w := wrap(t, f, failopen.WithFailureThreshold(3), failopen.WithCoolDown(time.Millisecond), failopen.WithClock(clk.Now), failopen.WithLogger(slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, nil))), failopen.WithLogInterval(time.Millisecond))
	c, err := cache.New(w)
	must(t, err)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if i%2 == 0 {
				f.fail(errBoom)
			} else {
				f.fail(nil)
			}
			clk.Advance(time.Millisecond)
			time.Sleep(100 * time.Microsecond)
		}
	})
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				k := fmt.Sprintf("k%d", i%10)
				switch (g + i) % 6 {
				case 0:
					if _, _, err := c.Get(bg, k); err != nil {
						t.Error(err)
					}
				case 1:
					if err := c.Set(bg, k, []byte("1"), cache.DefaultTimeout); err != nil {
						t.Error(err)
					}
				case 2:
					c.GetMany(bg, []string{k, "x"})
				case 3:
					c.Incr(bg, k, 1)
				case 4:
					_ = w.Stats()
					_ = w.State()
				case 5:
					if _, err := c.GetOrSet(bg, k, func(context.Context) ([]byte, error) { return []byte("1"), nil }, cache.DefaultTimeout); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	close(stop)
	wg.Wait()
	s := w.Stats()
	t.Logf("stats after the storm: %+v", s)
	if s.Failures == 0 {
		t.Error("no failures seen")
	}
}

func TestStateString(t *testing.T) {
	for s, want := range map[failopen.State]string{failopen.Closed: "closed", failopen.Open: "open", failopen.HalfOpen: "half-open", 9: "unknown"} {
		if s.String() != want {
			t.Errorf("%d.String() = %q", s, s.String())
		}
	}
}

func TestOpener(t *testing.T) {
	schemes := cache.Schemes{"memory": failopen.Opener(memory.Open, failopen.WithFailureThreshold(7))}
	open := func(url string) (*cache.Cache, error) { return cache.Open(url, schemes) }

	c, err := open("memory://a?max_entries=10")
	must(t, err)
	w, ok := c.Backend().(failopen.Wrapper)
	if !ok {
		t.Fatalf("backend %T is not wrapped", c.Backend())
	}
	if _, ok := w.Unwrap().(*memory.Store); !ok {
		t.Errorf("wrapped %T", w.Unwrap())
	}
	must(t, c.Set(bg, "k", []byte("v"), cache.DefaultTimeout))
	if _, ok, _ := c.Get(bg, "k"); !ok {
		t.Error("no hit through the opener's wrapper")
	}
	c.Close()

	c, err = open("memory://?failopen=0&max_entries=10")
	must(t, err)
	if _, ok := c.Backend().(*memory.Store); !ok {
		t.Errorf("failopen=0 gave %T", c.Backend())
	}
	c.Close()

	c, err = open("memory://?failopen=yes&failure_threshold=2&cool_down=1.5&op_timeout=0")
	must(t, err)
	c.Close()

	for _, tc := range []struct{ url, want string }{
		{"memory://?failopen=maybe", "failopen"},
		{"memory://?failure_threshold=0", "failure_threshold"},
		{"memory://?failure_threshold=x", "failure_threshold"},
		{"memory://?cool_down=0", "cool_down"},
		{"memory://?cool_down=-1s", "cool_down"},
		{"memory://?op_timeout=soon", "op_timeout"},
		{"memory://?failopen=0&cool_down=1s", "cool_down"},
		{"memory://?failopen=0&failure_threshold=3", "failure_threshold"},
		{"memory://?failopen=0&op_timeout=1s", `unknown option "op_timeout"`},
		{"memory://?max_entries=-5", "max_entries"},
	} {
		c, err := open(tc.url)
		if err == nil {
			c.Close()
			t.Errorf("Open(%q) succeeded", tc.url)
			continue
		}
		if !errors.Is(err, cache.ErrInvalidOption) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%q): %v; want an ErrInvalidOption naming %q", tc.url, err, tc.want)
		}
	}
	// Messages about the wrapper's options never show the URL.
	_, err = cache.Open("redis://:pw-SECRET@h?cool_down=x", cache.Schemes{"redis": failopen.Opener(func(*cache.URL) (cache.Backend, error) {
		return nil, errors.New("not reached")
	})})
	if err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("error %v", err)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wrap is failopen.New for options that must be valid.
func wrap(t testing.TB, b cache.Backend, opts ...failopen.Option) failopen.Wrapper {
	t.Helper()
	w, err := failopen.New(b, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestNewRejects: New refuses a nil backend and options out of range,
// naming the option, instead of clamping them.
func TestNewRejects(t *testing.T) {
	tests := []struct {
		name string
		b    cache.Backend
		opt  failopen.Option
		want string
	}{
		{"nil backend", nil, nil, "nil backend"},
		{"zero threshold", newFake(), failopen.WithFailureThreshold(0), "WithFailureThreshold"},
		{"negative threshold", newFake(), failopen.WithFailureThreshold(-1), "WithFailureThreshold"},
		{"huge threshold", newFake(), failopen.WithFailureThreshold(1<<30 + 1), "WithFailureThreshold"},
		{"zero cool-down", newFake(), failopen.WithCoolDown(0), "WithCoolDown"},
		{"negative cool-down", newFake(), failopen.WithCoolDown(-time.Second), "WithCoolDown"},
		{"negative jitter", newFake(), failopen.WithJitter(-1), "WithJitter"},
		{"NaN jitter", newFake(), failopen.WithJitter(math.NaN()), "WithJitter"},
		{"infinite jitter", newFake(), failopen.WithJitter(math.Inf(1)), "WithJitter"},
		{"negative operation timeout", newFake(), failopen.WithOpTimeout(-time.Second), "WithOpTimeout"},
		{"zero log interval", newFake(), failopen.WithLogInterval(0), "WithLogInterval"},
		{"negative log interval", newFake(), failopen.WithLogInterval(-time.Second), "WithLogInterval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := failopen.New(tt.b, tt.opt)
			if !errors.Is(err, cache.ErrInvalidOption) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, %v; want an ErrInvalidOption naming %s", w, err, tt.want)
			}
		})
	}
	// The documented special values are valid: 0 turns jitter and the
	// operation timeout off, a nil option and a nil clock are ignored.
	wrap(t, newFake(), failopen.WithJitter(0), failopen.WithOpTimeout(0), failopen.WithFailureThreshold(1<<30), nil, failopen.WithClock(nil))
}

func TestSwallowedStoresAreErrors(t *testing.T) {
	// A Set the wrapper swallows returns nil, as fail-open promises, but the
	// Cache counts it as an error, not a set, and a Swallowed in the
	// caller's context hears of it.
	f, _, _, c := setup(t, 1000)
	must(t, c.Set(bg, "ok", []byte("v"), cache.DefaultTimeout))
	f.fail(errBoom)
	var sw cache.Swallowed
	ctx := cache.WithSwallowed(bg, &sw)
	if err := c.Set(ctx, "k", []byte("v"), cache.DefaultTimeout); err != nil {
		t.Fatalf("Set = %v, want nil (fail-open)", err)
	}
	if _, err := c.Add(ctx, "a", []byte("v"), cache.DefaultTimeout); err != nil {
		t.Fatalf("Add = %v", err)
	}
	if sw.Count() != 2 {
		t.Errorf("Swallowed.Count = %d, want 2", sw.Count())
	}
	if st := c.Stats(); st.Sets != 1 || st.Errors != 2 {
		t.Errorf("stats %+v: want 1 set, 2 errors", st)
	}
}

func TestBudgetSkipsAFailedBackend(t *testing.T) {
	// A request whose call failed does not reach the backend again, even
	// while the breaker is closed; another request does.
	f, _, w, _ := setup(t, 1000)
	f.fail(errBoom)
	ctx := cache.WithBudget(bg, &cache.Budget{})
	w.Get(ctx, "k")
	n := f.calls.Load()
	for range 3 {
		if _, ok, err := w.Get(ctx, "k"); ok || err != nil {
			t.Errorf("Get = %v, %v; want a miss", ok, err)
		}
		if err := w.Set(ctx, "k", nil, cache.Forever); err != nil {
			t.Errorf("Set = %v", err)
		}
	}
	if f.calls.Load() != n {
		t.Errorf("the backend was called %d more times within the request", f.calls.Load()-n)
	}
	w.Get(cache.WithBudget(bg, &cache.Budget{}), "k")
	if f.calls.Load() != n+1 {
		t.Error("another request did not reach the backend")
	}
	if s := w.Stats(); s.State != failopen.Closed {
		t.Errorf("breaker %v", s.State)
	}
}
