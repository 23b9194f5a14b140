package cache_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/backends"
	"github.com/fragcache/fragcache/cache/memory"
)

// recorder is a memory store that records the timeouts it is sent.
type recorder struct {
	*memory.Store
	mu       sync.Mutex
	timeouts []cache.Timeout
}

func (r *recorder) record(t cache.Timeout) {
	r.mu.Lock()
	r.timeouts = append(r.timeouts, t)
	r.mu.Unlock()
}

func (r *recorder) take() []cache.Timeout {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.timeouts
	r.timeouts = nil
	return t
}

func (r *recorder) Set(ctx context.Context, key string, value []byte, t cache.Timeout) error {
	r.record(t)
	return r.Store.Set(ctx, key, value, t)
}

func (r *recorder) Add(ctx context.Context, key string, value []byte, t cache.Timeout) (bool, error) {
	r.record(t)
	return r.Store.Add(ctx, key, value, t)
}

func (r *recorder) Touch(ctx context.Context, key string, t cache.Timeout) (bool, error) {
	r.record(t)
	return r.Store.Touch(ctx, key, t)
}

func (r *recorder) SetMany(ctx context.Context, entries []cache.Entry, t cache.Timeout) ([]string, error) {
	r.record(t)
	for _, e := range entries {
		if err := r.Store.Set(ctx, e.Key, e.Value, t); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// plainRecorder has no atomic increment, so that Incr uses Get and Set.
type plainRecorder struct{ r *recorder }

func (p plainRecorder) Get(ctx context.Context, key string) ([]byte, bool, error) {
	return p.r.Get(ctx, key)
}
func (p plainRecorder) Set(ctx context.Context, key string, value []byte, t cache.Timeout) error {
	return p.r.Set(ctx, key, value, t)
}
func (p plainRecorder) Add(ctx context.Context, key string, value []byte, t cache.Timeout) (bool, error) {
	return p.r.Add(ctx, key, value, t)
}
func (p plainRecorder) Delete(ctx context.Context, key string) (bool, error) {
	return p.r.Delete(ctx, key)
}
func (p plainRecorder) Has(ctx context.Context, key string) (bool, error) { return p.r.Has(ctx, key) }
func (p plainRecorder) Touch(ctx context.Context, key string, t cache.Timeout) (bool, error) {
	return p.r.Touch(ctx, key, t)
}
func (p plainRecorder) Clear(ctx context.Context) error { return p.r.Clear(ctx) }
func (p plainRecorder) Close() error                    { return p.r.Close() }

func newRecorder(t testing.TB) *recorder {
	s, err := memory.New(memory.Options{SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	return &recorder{Store: s}
}

func TestJitterBounds(t *testing.T) {
	for _, tc := range []struct {
		t cache.Timeout
		f float64
	}{
		{cache.Seconds(60), 0.1},
		{cache.Seconds(60), 0.5},
		{cache.Seconds(300), 0.99},
		{cache.Seconds(1.5), 0.5},
		{cache.Seconds(0.5), 0.5},
		{cache.Seconds(45 * 86400), 0.5}, // past memcached's 30 days
		{3, 0.9},                         // nanoseconds
	} {
		lo := cache.Timeout(math.Ceil(float64(tc.t) * (1 - tc.f)))
		if tc.t >= cache.Seconds(1) && lo < cache.Seconds(1) {
			lo = cache.Seconds(1)
		}
		minSeen, maxSeen := cache.Forever, cache.Timeout(0)
		for range 20000 {
			j := cache.Jitter(tc.t, tc.f, rand.Int64N)
			if j < lo || j > tc.t {
				t.Fatalf("Jitter(%v, %v) = %v, outside [%v, %v]", tc.t, tc.f, j, lo, tc.t)
			}
			minSeen, maxSeen = min(minSeen, j), max(maxSeen, j)
		}
		// Uniform over the range: 20000 draws come near both ends.
		span := float64(tc.t - lo)
		if span > 10 && (float64(minSeen-lo) > span/100 || float64(tc.t-maxSeen) > span/100) {
			t.Errorf("Jitter(%v, %v): draws spread over [%v, %v], want about [%v, %v]", tc.t, tc.f, minSeen, maxSeen, lo, tc.t)
		}
	}
	// The draw's extremes give the range's ends.
	first := func(int64) int64 { return 0 }
	last := func(n int64) int64 { return n - 1 }
	if got := cache.Jitter(cache.Seconds(60), 0.5, first); got != cache.Seconds(60) {
		t.Errorf("smallest draw: %v, want 60s", got)
	}
	if got := cache.Jitter(cache.Seconds(60), 0.5, last); got != cache.Seconds(30) {
		t.Errorf("largest draw: %v, want 30s", got)
	}
	// Never below a second for a timeout of a second or more: Redis and
	// memcached truncate to whole seconds, and int(0.5) deletes.
	for _, to := range []cache.Timeout{cache.Seconds(1), cache.Seconds(1.2), cache.Seconds(1.9)} {
		if got := cache.Jitter(to, 0.9, last); got != cache.Seconds(1) {
			t.Errorf("Jitter(%v, 0.9) at most = %v, want 1s", to, got)
		}
	}
	if got := cache.Jitter(cache.Seconds(0.8), 0.5, last); got != cache.Seconds(0.4) {
		t.Errorf("Jitter(800ms, 0.5) at most = %v, want 400ms", got)
	}
	// Unchanged.
	for _, to := range []cache.Timeout{cache.Forever, cache.Expired, cache.Seconds(-5), cache.DefaultTimeout, 1} {
		for _, f := range []float64{0.5, 0.999} {
			if got := cache.Jitter(to, f, last); got != to {
				t.Errorf("Jitter(%v, %v) = %v, want it unchanged", to, f, got)
			}
		}
	}
	for _, f := range []float64{0, -0.5, 1, 2, math.NaN()} {
		if got := cache.Jitter(cache.Seconds(60), f, last); got != cache.Seconds(60) {
			t.Errorf("Jitter(60s, %v) = %v, want it unchanged", f, got)
		}
	}
}

// TestJitterWrites checks every write that sends a timeout.
func TestJitterWrites(t *testing.T) {
	r := newRecorder(t)
	c, err := cache.New(r, cache.WithJitter(0.5), cache.WithDefaultTimeout(cache.Seconds(100)))
	if err != nil {
		t.Fatal(err)
	}
	type write struct {
		name string
		to   cache.Timeout // the timeout before jitter
		run  func(i int)
	}
	key := func(i int) string { return "k" + strings.Repeat("x", i%7) }
	for _, w := range []write{
		{"Set", cache.Seconds(60), func(i int) { c.Set(ctx, key(i), []byte("v"), cache.Seconds(60)) }},
		{"Set default", cache.Seconds(100), func(i int) { c.Set(ctx, key(i), []byte("v"), cache.DefaultTimeout) }},
		{"Add", cache.Seconds(60), func(i int) { c.Delete(ctx, "a"); c.Add(ctx, "a", []byte("v"), cache.Seconds(60)) }},
		{"SetMany", cache.Seconds(60), func(i int) {
			c.SetMany(ctx, map[string][]byte{"m1": nil, "m2": nil}, cache.Seconds(60))
		}},
		{"Touch", cache.Seconds(60), func(i int) { c.Set(ctx, "t", nil, cache.Forever); r.take(); c.Touch(ctx, "t", cache.Seconds(60)) }},
		{"GetOrSet", cache.Seconds(60), func(i int) {
			c.Delete(ctx, "g")
			c.GetOrSet(ctx, "g", func(context.Context) ([]byte, error) { return []byte("v"), nil }, cache.Seconds(60))
		}},
		{"IncrVersion", cache.Seconds(100), func(i int) {
			c.Set(ctx, "iv", []byte("v"), cache.Forever)
			r.take()
			c.IncrVersion(ctx, "iv", 1)
		}},
	} {
		r.take()
		var got []cache.Timeout
		for i := range 300 {
			w.run(i)
			got = append(got, r.take()...)
		}
		if len(got) < 300 {
			t.Fatalf("%s: %d timeouts recorded for 300 writes", w.name, len(got))
		}
		distinct := map[cache.Timeout]bool{}
		for _, to := range got {
			if to < w.to/2 || to > w.to {
				t.Fatalf("%s: timeout %v sent, want it in [%v, %v]", w.name, to, w.to/2, w.to)
			}
			distinct[to] = true
		}
		if len(distinct) < 200 {
			t.Errorf("%s: %d distinct timeouts in %d writes: not jittered", w.name, len(distinct), len(got))
		}
	}
	// Forever and expired are sent unchanged.
	r.take()
	c.Set(ctx, "f", nil, cache.Forever)
	c.Set(ctx, "e", nil, cache.Expired)
	c.Set(ctx, "n", nil, cache.Seconds(-5))
	c.Touch(ctx, "f", cache.Forever)
	if got, want := r.take(), []cache.Timeout{cache.Forever, cache.Expired, cache.Seconds(-5), cache.Forever}; !equalTimeouts(got, want) {
		t.Errorf("timeouts sent: %v, want %v", got, want)
	}
	// Incr on a backend without an atomic increment keeps Django's default
	// timeout, unjittered.
	pc, err := cache.New(plainRecorder{r}, cache.WithJitter(0.5), cache.WithDefaultTimeout(cache.Seconds(100)))
	if err != nil {
		t.Fatal(err)
	}
	pc.Set(ctx, "n", []byte("1"), cache.Forever)
	r.take()
	if _, err := pc.Incr(ctx, "n", 1); err != nil {
		t.Fatal(err)
	}
	if got := r.take(); !equalTimeouts(got, []cache.Timeout{cache.Seconds(100)}) {
		t.Errorf("Incr sent %v, want [1m40s]", got)
	}
}

func equalTimeouts(a, b []cache.Timeout) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestJitterOff checks that without jitter timeouts are sent as given.
func TestJitterOff(t *testing.T) {
	r := newRecorder(t)
	for _, opts := range [][]cache.Option{nil, {cache.WithJitter(0)}} {
		c, err := cache.New(r, opts...)
		if err != nil {
			t.Fatal(err)
		}
		for range 50 {
			c.Set(ctx, "k", nil, cache.Seconds(60))
			c.Set(ctx, "k", nil, cache.DefaultTimeout)
		}
		for i, to := range r.take() {
			want := cache.Seconds(60)
			if i%2 == 1 {
				want = cache.Seconds(300)
			}
			if to != want {
				t.Fatalf("timeout %v sent without jitter, want %v", to, want)
			}
		}
	}
}

func TestWithJitterInvalid(t *testing.T) {
	for _, f := range []float64{-0.1, 1, 1.5, math.NaN(), math.Inf(1)} {
		_, err := cache.New(newRecorder(t), cache.WithJitter(f))
		if !errors.Is(err, cache.ErrInvalidOption) || !strings.Contains(err.Error(), "WithJitter(") {
			t.Errorf("WithJitter(%v): %v, want an ErrInvalidOption naming WithJitter", f, err)
		}
	}
	for _, f := range []float64{0, 0.1, 0.999} {
		if _, err := cache.New(newRecorder(t), cache.WithJitter(f)); err != nil {
			t.Errorf("WithJitter(%v): %v", f, err)
		}
	}
}

func TestJitterURL(t *testing.T) {
	r := newRecorder(t)
	schemes := cache.Schemes{"rec": func(*cache.URL) (cache.Backend, error) { return r, nil }}
	for _, bad := range []string{"abc", "1", "-0.1", "1.5", "NaN", "Inf", ""} {
		_, err := cache.Open("rec://?jitter="+bad, schemes)
		if !errors.Is(err, cache.ErrInvalidOption) || !strings.Contains(err.Error(), `jitter="`+bad+`"`) {
			t.Errorf("jitter=%s: %v, want an ErrInvalidOption naming jitter and its value", bad, err)
		}
	}
	c, err := cache.Open("rec://?jitter=0.5&timeout=60", schemes)
	if err != nil {
		t.Fatal(err)
	}
	r.take()
	for range 100 {
		c.Set(ctx, "k", nil, cache.DefaultTimeout)
	}
	distinct := map[cache.Timeout]bool{}
	for _, to := range r.take() {
		if to < cache.Seconds(30) || to > cache.Seconds(60) {
			t.Fatalf("jitter=0.5&timeout=60 sent %v", to)
		}
		distinct[to] = true
	}
	if len(distinct) < 50 {
		t.Errorf("jitter=0.5: %d distinct timeouts in 100 writes", len(distinct))
	}
	// Every scheme takes it: it is a common option.
	for _, u := range []string{"memory://?jitter=0.1", "dummy://?jitter=0.1", "file://" + t.TempDir() + "?jitter=0.25"} {
		c, err := backends.Open(u)
		if err != nil {
			t.Errorf("Open(%q): %v", u, err)
			continue
		}
		c.Close()
	}
}

// BenchmarkSetJitter shows what jitter costs a Set.
func BenchmarkSetJitter(b *testing.B) {
	for _, f := range []float64{0, 0.1} {
		b.Run(fmt.Sprintf("jitter=%v", f), func(b *testing.B) {
			c := newMemory(b, cache.WithJitter(f))
			v := []byte("v")
			b.ReportAllocs()
			for b.Loop() {
				c.Set(ctx, "k", v, cache.Seconds(60))
			}
		})
	}
}
