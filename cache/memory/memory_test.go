package memory

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/internal/golden"
	"github.com/google/go-cmp/cmp"
)

var ctx = context.Background()

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newClock() *fakeClock { return &fakeClock{t: time.Unix(1700000000, 0)} }

func newCache(t testing.TB, opts Options, copts ...cache.Option) (*cache.Cache, *Store) {
	t.Helper()
	if opts.SweepInterval == 0 {
		opts.SweepInterval = -1
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	c, err := cache.New(s, copts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, s
}

func mustSet(t testing.TB, c *cache.Cache, key, value string, timeout cache.Timeout) {
	t.Helper()
	if err := c.Set(ctx, key, []byte(value), timeout); err != nil {
		t.Fatalf("Set(%q): %v", key, err)
	}
}

func get(t testing.TB, c *cache.Cache, key string) (string, bool) {
	t.Helper()
	v, ok, err := c.Get(ctx, key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return string(v), ok
}

// TestGoldenLRUTrace replays the LRU trace recorded from Django's LocMemCache
// (MAX_ENTRIES=4, CULL_FREQUENCY=2, then CULL_FREQUENCY=0).
func TestGoldenLRUTrace(t *testing.T) {
	for _, version := range golden.Versions {
		t.Run(version, func(t *testing.T) {
			var doc struct {
				LRU []map[string]any `json:"locmem_lru"`
			}
			if err := golden.Decode("backend_api", version, &doc); err != nil {
				t.Fatal(err)
			}
			want := func(i int) []string {
				var out []string
				k := "order_mru_first"
				if _, ok := doc.LRU[i][k]; !ok {
					k = "keys"
				}
				for _, v := range doc.LRU[i][k].([]any) {
					out = append(out, v.(string))
				}
				return out
			}
			c, s := newCache(t, Options{MaxEntries: 4, CullFrequency: 2})
			for i := 0; i < 4; i++ {
				mustSet(t, c, fmt.Sprintf("k%d", i), "v", cache.DefaultTimeout)
			}
			get(t, c, "k0")
			mustSet(t, c, "k4", "4", cache.DefaultTimeout)
			check := func(step int) {
				t.Helper()
				if diff := cmp.Diff(want(step), s.Keys()); diff != "" {
					t.Errorf("after %q (-django +ours):\n%s", doc.LRU[step]["after"], diff)
				}
			}
			check(0)
			mustSet(t, c, "k5", "5", cache.DefaultTimeout)
			check(1)
			if _, err := c.Incr(ctx, "k4", 1); err != nil {
				t.Fatal(err)
			}
			if ok, err := c.Touch(ctx, "k5", cache.Seconds(100)); !ok || err != nil {
				t.Fatalf("Touch: %v %v", ok, err)
			}
			check(2)
			mustSet(t, c, "k4", "4", cache.DefaultTimeout)
			check(3)

			z, zs := newCache(t, Options{MaxEntries: 4, CullFrequency: CullAll})
			for i := 0; i < 5; i++ {
				mustSet(t, z, fmt.Sprintf("z%d", i), "v", cache.DefaultTimeout)
			}
			if diff := cmp.Diff(want(4), zs.Keys()); diff != "" {
				t.Errorf("CULL_FREQUENCY=0 (-django +ours):\n%s", diff)
			}
		})
	}
}

// Ports of Django's LocMemCacheTests.test_lru_get/_set/_incr (MAX_ENTRIES 9)
// and BaseCacheTests.test_cull/test_zero_cull.
func TestDjangoLRU(t *testing.T) {
	k := strconv.Itoa
	setAll := func(c *cache.Cache, from, to int) {
		for i := from; i < to; i++ {
			mustSet(t, c, k(i), k(i), cache.Forever)
		}
	}
	expect := func(t *testing.T, c *cache.Cache, from, to int, present bool, plus int) {
		t.Helper()
		for i := from; i < to; i++ {
			v, ok := get(t, c, k(i))
			if ok != present || (ok && v != k(i+plus)) {
				t.Errorf("key %d: got %q, %v; want present=%v", i, v, ok, present)
			}
		}
	}
	t.Run("test_lru_get", func(t *testing.T) {
		c, _ := newCache(t, Options{MaxEntries: 9})
		setAll(c, 0, 9)
		expect(t, c, 0, 6, true, 0)
		setAll(c, 9, 10)
		expect(t, c, 0, 6, true, 0)
		expect(t, c, 6, 9, false, 0)
		expect(t, c, 9, 10, true, 0)
	})
	t.Run("test_lru_set", func(t *testing.T) {
		c, _ := newCache(t, Options{MaxEntries: 9})
		setAll(c, 0, 9)
		setAll(c, 3, 9)
		setAll(c, 9, 10)
		expect(t, c, 3, 10, true, 0)
		expect(t, c, 0, 3, false, 0)
	})
	t.Run("test_lru_incr", func(t *testing.T) {
		c, _ := newCache(t, Options{MaxEntries: 9})
		setAll(c, 0, 9)
		for i := 0; i < 6; i++ {
			if n, err := c.Incr(ctx, k(i), 1); err != nil || n != int64(i+1) {
				t.Fatalf("Incr(%d) = %d, %v", i, n, err)
			}
		}
		setAll(c, 9, 10)
		expect(t, c, 0, 6, true, 1)
		expect(t, c, 6, 9, false, 0)
		expect(t, c, 9, 10, true, 0)
	})
	for _, tc := range []struct {
		name     string
		cullFreq int
		want     int
	}{{"test_cull", 0, 29}, {"test_zero_cull", CullAll, 19}} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := newCache(t, Options{MaxEntries: 30, CullFrequency: tc.cullFreq})
			for i := 1; i < 50; i++ {
				mustSet(t, c, fmt.Sprintf("cull%d", i), "value", cache.Seconds(1000))
			}
			n := 0
			for i := 1; i < 50; i++ {
				if ok, _ := c.Has(ctx, fmt.Sprintf("cull%d", i)); ok {
					n++
				}
			}
			if n != tc.want {
				t.Errorf("%d keys survive, Django keeps %d", n, tc.want)
			}
		})
	}
	t.Run("test_incr_decr_timeout", func(t *testing.T) {
		clock := newClock()
		c, s := newCache(t, Options{Now: clock.Now})
		mustSet(t, c, "n", "1", cache.Seconds(10))
		before := s.items[":1:n"].rec.Load().deadline
		c.Incr(ctx, "n", 1)
		c.Decr(ctx, "n", 1)
		if after := s.items[":1:n"].rec.Load().deadline; after != before {
			t.Errorf("incr/decr moved the deadline from %d to %d", before, after)
		}
	})
}

func TestMaxBytes(t *testing.T) {
	c, s := newCache(t, Options{MaxEntries: 1000, MaxBytes: 10 * (100 + entryOverhead + 6)})
	val := make([]byte, 100)
	for i := 0; i < 25; i++ {
		if err := c.Set(ctx, fmt.Sprintf("%03d", i), val, cache.Forever); err != nil {
			t.Fatal(err)
		}
		if s.Bytes() > 10*(100+entryOverhead+6) {
			t.Fatalf("after %d sets %d bytes held, over MaxBytes", i+1, s.Bytes())
		}
	}
	if s.Len() != 10 {
		t.Errorf("Len = %d, want the 10 most recent", s.Len())
	}
	if _, ok := get(t, c, "024"); !ok {
		t.Error("most recent key evicted")
	}
	if _, ok := get(t, c, "000"); ok {
		t.Error("oldest key kept")
	}
	err := c.Set(ctx, "big", make([]byte, 5000), cache.Forever)
	if !errors.Is(err, cache.ErrValueTooLarge) {
		t.Errorf("oversized value: %v, want ErrValueTooLarge", err)
	}
	// Overwriting with a bigger value keeps the count exact.
	mustSet(t, c, "x", "a", cache.Forever)
	mustSet(t, c, "x", "abcdef", cache.Forever)
	c.Clear(ctx)
	if s.Bytes() != 0 || s.Len() != 0 {
		t.Errorf("after Clear: %d bytes, %d entries", s.Bytes(), s.Len())
	}
}

func TestExpiry(t *testing.T) {
	clock := newClock()
	c, s := newCache(t, Options{Now: clock.Now})
	mustSet(t, c, "a", "1", cache.Seconds(10))
	mustSet(t, c, "b", "2", cache.Seconds(20))
	mustSet(t, c, "f", "3", cache.Forever)
	clock.Advance(10*time.Second - time.Nanosecond)
	if _, ok := get(t, c, "a"); !ok {
		t.Error("a expired early")
	}
	clock.Advance(time.Nanosecond) // deadline <= now: expired (locmem rule)
	if _, ok := get(t, c, "a"); ok {
		t.Error("a alive at its deadline")
	}
	if s.Len() != 2 {
		t.Errorf("expired entry not removed on get: %d entries", s.Len())
	}
	clock.Advance(time.Hour)
	if n := s.Sweep(); n != 1 {
		t.Errorf("Sweep removed %d, want 1", n)
	}
	if _, ok := get(t, c, "f"); !ok {
		t.Error("forever entry gone")
	}
}

func TestSweepGoroutine(t *testing.T) {
	clock := newClock()
	s, err := New(Options{Now: clock.Now, SweepInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Set(ctx, "k", []byte("v"), cache.Seconds(1))
	clock.Advance(2 * time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for s.Len() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the periodic sweep did not remove the expired entry")
		}
		time.Sleep(time.Millisecond)
	}
	s.Close()
	s.Close() // twice is fine
}

func TestBadOptions(t *testing.T) {
	for _, o := range []Options{{MaxEntries: -1}, {CullFrequency: -2}, {MaxBytes: -1}} {
		if _, err := New(o); !errors.Is(err, cache.ErrInvalidOption) {
			t.Errorf("New(%+v) = %v, want ErrInvalidOption", o, err)
		}
	}
}

func TestValuesAreCopiedIn(t *testing.T) {
	c, _ := newCache(t, Options{})
	buf := []byte("hello")
	c.Set(ctx, "k", buf, cache.Forever)
	buf[0] = 'J'
	if v, _ := get(t, c, "k"); v != "hello" {
		t.Errorf("stored value changed with the caller's buffer: %q", v)
	}
	first, _, _ := c.Get(ctx, "k")
	c.Set(ctx, "k", []byte("world"), cache.Forever)
	if string(first) != "hello" {
		t.Errorf("a value handed out changed after a new Set: %q", first)
	}
}

func TestHitDoesNotAllocate(t *testing.T) {
	c, _ := newCache(t, Options{})
	mustSet(t, c, "template.cache.sidebar.d41d8cd98f00b204e9800998ecf8427e", string(make([]byte, 8192)), cache.Seconds(300))
	key := []byte("template.cache.sidebar.d41d8cd98f00b204e9800998ecf8427e")
	skey := string(key)
	for name, f := range map[string]func(){
		"GetKeyBytes": func() { c.GetKeyBytes(ctx, key) },
		"Get":         func() { c.Get(ctx, skey) },
	} {
		if n := testing.AllocsPerRun(1000, f); n != 0 {
			t.Errorf("%s hit: %.1f allocations, want 0", name, n)
		}
	}
}

func TestConcurrent(t *testing.T) {
	c, _ := newCache(t, Options{MaxEntries: 50})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				k := strconv.Itoa((g * i) % 97)
				switch i % 5 {
				case 0:
					c.Set(ctx, k, []byte(k), cache.Seconds(60))
				case 1:
					if v, ok, _ := c.Get(ctx, k); ok && string(v) != k && v != nil {
						if _, err := strconv.Atoi(string(v)); err != nil {
							t.Errorf("key %s holds %q", k, v)
						}
					}
				case 2:
					c.Incr(ctx, k, 1)
				case 3:
					c.Delete(ctx, k)
				case 4:
					c.GetMany(ctx, []string{k, "1", "2"})
				}
			}
		}(g)
	}
	wg.Wait()
}

func BenchmarkGetHit8KiB(b *testing.B) {
	c, _ := newCache(b, Options{})
	key := "template.cache.sidebar.d41d8cd98f00b204e9800998ecf8427e"
	mustSet(b, c, key, string(make([]byte, 8192)), cache.Seconds(300))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, ok, _ := c.Get(ctx, key); !ok {
				b.Fatal("miss")
			}
		}
	})
}

func BenchmarkGetKeyBytesHit8KiB(b *testing.B) {
	c, _ := newCache(b, Options{})
	key := "template.cache.sidebar.d41d8cd98f00b204e9800998ecf8427e"
	mustSet(b, c, key, string(make([]byte, 8192)), cache.Seconds(300))
	kb := []byte(key)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, ok, _ := c.GetKeyBytes(ctx, kb); !ok {
				b.Fatal("miss")
			}
		}
	})
}

func BenchmarkSet8KiB(b *testing.B) {
	c, _ := newCache(b, Options{MaxEntries: 1000})
	keys := make([]string, 512)
	for i := range keys {
		keys[i] = "k" + strconv.Itoa(i)
	}
	val := make([]byte, 8192)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := c.Set(ctx, keys[i%len(keys)], val, cache.Seconds(300)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMixedParallel(b *testing.B) {
	c, _ := newCache(b, Options{MaxEntries: 1000})
	keys := make([]string, 256)
	for i := range keys {
		keys[i] = "k" + strconv.Itoa(i)
		mustSet(b, c, keys[i], "v", cache.Forever)
	}
	val := make([]byte, 1024)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			k := keys[i%len(keys)]
			if i%10 == 0 {
				c.Set(ctx, k, val, cache.Seconds(300))
			} else {
				c.Get(ctx, k)
			}
			i++
		}
	})
}
