package cachetest_test

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/cachetest"
)

// ref is a small reference backend that tests the suite itself: a map
// under a mutex, honouring an injected clock. Its options give it the
// behaviour of each Django backend.
type ref struct {
	mu    sync.Mutex
	items map[string]*refEntry
	tick  uint64
	o     refOptions
}

type refOptions struct {
	now              func() time.Time
	aliveAtDeadline  bool // filebased: expired only when deadline < now
	wholeSeconds     bool // memcached, Redis: int(timeout)
	clampAtZero      bool // memcached decrements stop at 0
	notFound         cachetest.KeyNaming
	maxValue         int  // 0: no limit
	failedSetDeletes bool // memcached drops the old value on a failed set
	maxEntries       int  // 0: no limit
	cullFrequency    int  // 0: clear all when full
	lru              bool // cull the least recently used (locmem), else any
}

type refEntry struct {
	value    []byte
	deadline int64 // Unix nanoseconds
	never    bool
	used     uint64 // LRU tick
}

func newRef(o refOptions) *ref {
	if o.now == nil {
		o.now = time.Now
	}
	return &ref{items: map[string]*refEntry{}, o: o}
}

func (r *ref) deadline(t cache.Timeout) (int64, bool) {
	now := r.o.now()
	if t == cache.Forever {
		return math.MaxInt64, true
	}
	if r.o.wholeSeconds && !t.IsExpired() {
		d := time.Duration(t).Truncate(time.Second)
		if d == 0 {
			t = cache.Expired
		} else {
			t = cache.Timeout(d)
		}
	}
	d, _ := t.Deadline(now)
	return d, false
}

func (r *ref) expired(e *refEntry) bool {
	if e.never {
		return false
	}
	now := r.o.now().UnixNano()
	if r.o.aliveAtDeadline {
		return e.deadline < now
	}
	return e.deadline <= now
}

// live returns the unexpired entry under key, removing an expired one.
func (r *ref) live(key string) *refEntry {
	e := r.items[key]
	if e != nil && r.expired(e) {
		delete(r.items, key)
		return nil
	}
	return e
}

func (r *ref) touchLRU(e *refEntry) {
	r.tick++
	e.used = r.tick
}

func (r *ref) cull() {
	if r.o.cullFrequency == 0 {
		clear(r.items)
		return
	}
	n := len(r.items) / r.o.cullFrequency
	for ; n > 0; n-- {
		var victim string
		var oldest uint64 = math.MaxUint64
		for k, e := range r.items {
			if !r.o.lru {
				victim = k
				break
			}
			if e.used < oldest {
				victim, oldest = k, e.used
			}
		}
		delete(r.items, victim)
	}
}

func (r *ref) set(key string, value []byte, t cache.Timeout) error {
	if r.o.maxValue > 0 && len(value) > r.o.maxValue {
		if r.o.failedSetDeletes {
			delete(r.items, key)
		}
		return fmt.Errorf("%w: ref: %d bytes", cache.ErrValueTooLarge, len(value))
	}
	if r.o.maxEntries > 0 && len(r.items) >= r.o.maxEntries {
		r.cull()
	}
	d, never := r.deadline(t)
	e := &refEntry{value: append([]byte{}, value...), deadline: d, never: never}
	r.touchLRU(e)
	r.items[key] = e
	return nil
}

func (r *ref) get(key string) ([]byte, bool) {
	e := r.live(key)
	if e == nil {
		return nil, false
	}
	r.touchLRU(e)
	return e.value, true
}

func (r *ref) Get(_ context.Context, key string) ([]byte, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.get(key)
	return v, ok, nil
}

func (r *ref) Set(_ context.Context, key string, value []byte, t cache.Timeout) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.set(key, value, t)
}

func (r *ref) Add(_ context.Context, key string, value []byte, t cache.Timeout) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.live(key) != nil {
		return false, nil
	}
	if err := r.set(key, value, t); err != nil {
		return false, err
	}
	return true, nil
}

func (r *ref) Delete(_ context.Context, key string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.live(key)
	delete(r.items, key)
	return e != nil, nil
}

func (r *ref) Has(_ context.Context, key string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.live(key) != nil, nil
}

func (r *ref) Touch(_ context.Context, key string, t cache.Timeout) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.live(key)
	if e == nil {
		return false, nil
	}
	e.deadline, e.never = r.deadline(t)
	return true, nil
}

func (r *ref) Clear(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.items)
	return nil
}

func (r *ref) Close() error { return nil }

// refFull adds every optional interface, so that the Cache's fast paths
// are exercised too.
type refFull struct{ *ref }

func (r refFull) GetKeyBytes(_ context.Context, key []byte) ([]byte, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.get(string(key))
	return v, ok, nil
}

func (r refFull) GetMany(_ context.Context, keys []string) (map[string][]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string][]byte{}
	for _, k := range keys {
		if v, ok := r.get(k); ok {
			out[k] = v
		}
	}
	return out, nil
}

func (r refFull) SetMany(_ context.Context, entries []cache.Entry, t cache.Timeout) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range entries {
		if err := r.set(e.Key, e.Value, t); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

func (r refFull) DeleteMany(_ context.Context, keys []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range keys {
		delete(r.items, k)
	}
	return nil
}

// periodNotFound is Redis's message: Key ':1:nope' not found.
type periodNotFound struct{ key string }

func (e *periodNotFound) Error() string        { return "Key '" + e.key + "' not found." }
func (e *periodNotFound) Is(target error) bool { return target == cache.ErrNotFound }

func (r refFull) Incr(_ context.Context, key string, delta int64) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.live(key)
	if e == nil {
		switch r.o.notFound {
		case cachetest.MadeKey:
			return 0, &cache.KeyNotFoundError{Key: key}
		case cachetest.MadeKeyPeriod:
			return 0, &periodNotFound{key}
		}
		return 0, cache.ErrNotFound
	}
	n, err := cache.AddDecimal(e.value, delta)
	if err != nil {
		return 0, &cache.NotIntegerError{Key: key}
	}
	if n < 0 && r.o.clampAtZero {
		n = 0
	}
	e.value = strconv.AppendInt(nil, n, 10) // a new slice: readers keep theirs
	r.touchLRU(e)
	return n, nil
}

// refRejecting is refFull for memcached: it rejects bad keys by default.
type refRejecting struct{ refFull }

func (refRejecting) KeyCheck() cache.KeyCheck { return cache.KeyCheckReject }

// refDummy stores nothing.
type refDummy struct{}

func (refDummy) Get(context.Context, string) ([]byte, bool, error)                { return nil, false, nil }
func (refDummy) Set(context.Context, string, []byte, cache.Timeout) error         { return nil }
func (refDummy) Add(context.Context, string, []byte, cache.Timeout) (bool, error) { return true, nil }
func (refDummy) Delete(context.Context, string) (bool, error)                     { return false, nil }
func (refDummy) Has(context.Context, string) (bool, error)                        { return false, nil }
func (refDummy) Touch(context.Context, string, cache.Timeout) (bool, error)       { return false, nil }
func (refDummy) Clear(context.Context) error                                      { return nil }
func (refDummy) Close() error                                                     { return nil }

// harness returns a Harness over ref backends built by wrap from o.
func harness(o refOptions, wrap func(*ref) cache.Backend) cachetest.Harness {
	open := func(t testing.TB, o refOptions, opts []cache.Option) *cache.Cache {
		c, err := cache.New(wrap(newRef(o)), opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	return cachetest.Harness{
		New: func(t testing.TB, now func() time.Time, opts ...cache.Option) *cache.Cache {
			o := o
			o.now = now
			return open(t, o, opts)
		},
		NewCulling: func(t testing.TB, now func() time.Time, maxEntries, cullFrequency int, opts ...cache.Option) *cache.Cache {
			o := o
			o.now, o.maxEntries, o.cullFrequency = now, maxEntries, cullFrequency
			return open(t, o, opts)
		},
	}
}

func plain(r *ref) cache.Backend     { return r }
func full(r *ref) cache.Backend      { return refFull{r} }
func rejecting(r *ref) cache.Backend { return refRejecting{refFull{r}} }

func TestLocMemLike(t *testing.T) {
	h := harness(refOptions{notFound: cachetest.MadeKey, lru: true}, full)
	h.Clock, h.AtomicIncr, h.AtomicAdd = true, true, true
	h.Semantics = cachetest.DjangoLocMem
	cachetest.Run(t, h)
}

func TestFileBasedLike(t *testing.T) {
	h := harness(refOptions{aliveAtDeadline: true}, plain)
	h.Clock = true
	h.Semantics = cachetest.DjangoFileBased
	cachetest.Run(t, h)
}

func TestMemcachedLike(t *testing.T) {
	h := harness(refOptions{
		wholeSeconds: true, clampAtZero: true, notFound: cachetest.MadeKey,
		maxValue: 1000 * 1000, failedSetDeletes: true,
	}, rejecting)
	h.Clock, h.AtomicIncr, h.AtomicAdd = true, true, true
	h.MaxValueSize = 1000 * 1000
	h.Semantics = cachetest.DjangoMemcached
	cachetest.Run(t, h)
}

func TestRedisLike(t *testing.T) {
	h := harness(refOptions{wholeSeconds: true, notFound: cachetest.MadeKeyPeriod}, full)
	h.Clock, h.AtomicIncr, h.AtomicAdd = true, true, true
	h.Semantics = cachetest.DjangoRedis
	cachetest.Run(t, h)
}

// TestRealTime runs the expiry tests with real sleeps, as a backend over a
// server without an injectable clock does.
func TestRealTime(t *testing.T) {
	if testing.Short() {
		t.Skip("sleeps")
	}
	h := harness(refOptions{aliveAtDeadline: true}, plain)
	h.Granularity = 200 * time.Millisecond
	h.Semantics = cachetest.DjangoFileBased
	cachetest.Run(t, h)
}

func TestDummyLike(t *testing.T) {
	cachetest.Run(t, cachetest.Harness{
		New: func(t testing.TB, _ func() time.Time, opts ...cache.Option) *cache.Cache {
			c, err := cache.New(refDummy{}, opts...)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			return c
		},
		Semantics: cachetest.DjangoDummy,
	})
}

func TestFakeClock(t *testing.T) {
	c := cachetest.NewFakeClock(time.Time{})
	if !c.Now().Equal(cachetest.FakeClockStart) || c.Now().Unix() != 1700000000 {
		t.Fatalf("NewFakeClock(zero) starts at %v", c.Now())
	}
	c.Advance(1500 * time.Millisecond)
	if got := c.Now().Sub(cachetest.FakeClockStart); got != 1500*time.Millisecond {
		t.Errorf("after Advance(1.5s): %v", got)
	}
	at := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	c.Set(at)
	if !c.Now().Equal(at) {
		t.Errorf("after Set: %v", c.Now())
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				c.Advance(time.Millisecond)
				_ = c.Now()
			}
		}()
	}
	wg.Wait()
	if got := c.Now().Sub(at); got != 800*time.Millisecond {
		t.Errorf("concurrent Advance: %v, want 800ms", got)
	}
	start := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := cachetest.NewFakeClock(start).Now(); !got.Equal(start) {
		t.Errorf("NewFakeClock(start).Now() = %v", got)
	}
}
