package cache_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/backends"
	"github.com/fragcache/fragcache/cache/dummy"
	"github.com/fragcache/fragcache/cache/memory"
)

var ctx = context.Background()

func newMemory(t testing.TB, opts ...cache.Option) *cache.Cache {
	t.Helper()
	c, err := memory.NewCache(memory.Options{SweepInterval: -1}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestMakeKey(t *testing.T) {
	c := newMemory(t)
	if got := c.MakeKey("k"); got != ":1:k" {
		t.Errorf("MakeKey = %q", got)
	}
	if got := c.WithVersion(2).MakeKey("k"); got != ":2:k" {
		t.Errorf("version 2: %q", got)
	}
	p := newMemory(t, cache.WithKeyPrefix("myapp"), cache.WithDefaultVersion(3), cache.WithDefaultTimeout(cache.Seconds(60)))
	if got := p.MakeKey("k"); got != "myapp:3:k" {
		t.Errorf("prefixed: %q", got)
	}
	if p.DefaultTimeout() != cache.Seconds(60) || p.Version() != 3 || p.KeyPrefix() != "myapp" {
		t.Error("accessors")
	}
	if got := string(p.AppendMakeKey([]byte("x"), "k")); got != "xmyapp:3:k" {
		t.Errorf("AppendMakeKey = %q", got)
	}
	f := newMemory(t, cache.WithKeyFunc(func(key, prefix string, version int) string {
		return "custom:" + key
	}))
	if got := f.MakeKey("k"); got != "custom:k" {
		t.Errorf("key func: %q", got)
	}
}

// TestCustomKeyFunc is Django's test_custom_key_func: two caches with the
// same key function share entries, the default one does not see them.
func TestCustomKeyFunc(t *testing.T) {
	s, _ := memory.New(memory.Options{SweepInterval: -1})
	defer s.Close()
	kf := func(key, prefix string, version int) string { return "CUSTOM-" + key }
	c1, _ := cache.New(s, cache.WithKeyFunc(kf))
	c2, _ := cache.New(s, cache.WithKeyFunc(kf))
	plain, _ := cache.New(s)
	c1.Set(ctx, "answer1", []byte("42"), cache.DefaultTimeout)
	if v, ok, _ := c2.Get(ctx, "answer1"); !ok || string(v) != "42" {
		t.Errorf("second cache with the key func: %q %v", v, ok)
	}
	if _, ok, _ := plain.Get(ctx, "answer1"); ok {
		t.Error("default key func sees the custom key")
	}
	if v, ok, _ := c2.GetKeyBytes(ctx, []byte("answer1")); !ok || string(v) != "42" {
		t.Errorf("GetKeyBytes with a key func: %q %v", v, ok)
	}
}

type captureHandler struct {
	mu   sync.Mutex
	msgs []string
}

func (h *captureHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *captureHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.msgs = append(h.msgs, r.Message)
	h.mu.Unlock()
	return nil
}
func (h *captureHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *captureHandler) WithGroup(string) slog.Handler      { return h }

func TestKeyCheck(t *testing.T) {
	long := strings.Repeat("k", 248) // ":1:" + 248 = 251 characters
	spaceMsg := "Cache key contains characters that will cause errors if used with memcached: ':1:has space'"
	nlMsg := `Cache key contains characters that will cause errors if used with memcached: ':1:a\nb'`
	longMsg := "Cache key will cause errors if used with memcached: ':1:" + long + "' (longer than 250)"

	h := &captureHandler{}
	warn := newMemory(t, cache.WithLogger(slog.New(h)))
	for _, k := range []string{"has space", "a\nb", long, strings.Repeat("k", 247), "clé", strings.Repeat("é", 247)} {
		if err := warn.Set(ctx, k, []byte("v"), cache.DefaultTimeout); err != nil {
			t.Errorf("warn mode Set(%q): %v", k, err)
		}
		warn.Get(ctx, k)
		warn.GetKeyBytes(ctx, []byte(k))
	}
	want := []string{spaceMsg, spaceMsg, spaceMsg, nlMsg, nlMsg, nlMsg, longMsg, longMsg, longMsg}
	if strings.Join(h.msgs, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(h.msgs, "\n"), strings.Join(want, "\n"))
	}

	reject := newMemory(t, cache.WithKeyCheck(cache.KeyCheckReject))
	_, _, err := reject.Get(ctx, "has space")
	var ike *cache.InvalidKeyError
	if !errors.As(err, &ike) || !errors.Is(err, cache.ErrInvalidKey) || err.Error() != spaceMsg {
		t.Errorf("reject mode: %v", err)
	}
	if _, _, err := reject.GetKeyBytes(ctx, []byte(long)); !errors.Is(err, cache.ErrInvalidKey) {
		t.Errorf("reject mode GetKeyBytes: %v", err)
	}
	if err := reject.Set(ctx, strings.Repeat("é", 247), nil, cache.DefaultTimeout); err != nil {
		t.Errorf("250 characters (more bytes) rejected: %v", err)
	}
	if cache.CheckKey(":1:ok") != nil || cache.CheckKey(":1:\x7f") == nil {
		t.Error("CheckKey")
	}
	off := newMemory(t, cache.WithKeyCheck(cache.KeyCheckOff), cache.WithLogger(slog.New(&captureHandler{})))
	if err := off.Set(ctx, "has space", nil, cache.DefaultTimeout); err != nil {
		t.Error(err)
	}
	if _, err := cache.New(dummy.New(), cache.WithKeyCheck(cache.KeyCheck(9))); !errors.Is(err, cache.ErrInvalidOption) {
		t.Errorf("bad KeyCheck: %v", err)
	}
}

func TestGetOrSetSingleFlight(t *testing.T) {
	c := newMemory(t)
	const n = 64
	var calls atomic.Int32
	var started sync.WaitGroup
	started.Add(n)
	release := make(chan struct{})
	go func() { started.Wait(); time.Sleep(20 * time.Millisecond); close(release) }()
	var wg sync.WaitGroup
	results := make([]string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			started.Done()
			v, err := c.GetOrSet(ctx, "hot", func(context.Context) ([]byte, error) {
				calls.Add(1)
				<-release
				return []byte("computed"), nil
			}, cache.DefaultTimeout)
			if err != nil {
				t.Error(err)
			}
			results[i] = string(v)
		}(i)
	}
	wg.Wait()
	if got := calls.Load(); got != 1 {
		t.Errorf("loader ran %d times for %d concurrent misses, want 1", got, n)
	}
	for i, r := range results {
		if r != "computed" {
			t.Fatalf("goroutine %d got %q", i, r)
		}
	}
}

func TestGetOrSetSemantics(t *testing.T) {
	c := newMemory(t)
	boom := errors.New("boom")
	if _, err := c.GetOrSet(ctx, "k", func(context.Context) ([]byte, error) { return nil, boom }, cache.DefaultTimeout); !errors.Is(err, boom) {
		t.Errorf("load error: %v", err)
	}
	if ok, _ := c.Has(ctx, "k"); ok {
		t.Error("a failed load stored something")
	}
	// Expired: the loaded value is returned though nothing is stored.
	v, err := c.GetOrSet(ctx, "z", func(context.Context) ([]byte, error) { return []byte("x"), nil }, cache.Expired)
	if err != nil || string(v) != "x" {
		t.Errorf("GetOrSet with Expired = %q, %v", v, err)
	}
	// A waiter whose context ends stops waiting.
	cctx, cancel := context.WithCancel(ctx)
	block := make(chan struct{})
	go c.GetOrSet(ctx, "slow", func(context.Context) ([]byte, error) { <-block; return []byte("s"), nil }, cache.DefaultTimeout)
	time.Sleep(10 * time.Millisecond)
	cancel()
	if _, err := c.GetOrSet(cctx, "slow", func(context.Context) ([]byte, error) { return nil, nil }, cache.DefaultTimeout); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled waiter: %v", err)
	}
	close(block)
	if _, err := c.GetOrSet(ctx, "k", nil, cache.DefaultTimeout); !errors.Is(err, cache.ErrInvalidOption) {
		t.Errorf("nil loader: %v", err)
	}
}

func TestMaxValueSize(t *testing.T) {
	c := newMemory(t, cache.WithMaxValueSize(10))
	if err := c.Set(ctx, "k", make([]byte, 11), cache.DefaultTimeout); !errors.Is(err, cache.ErrValueTooLarge) {
		t.Errorf("Set: %v", err)
	}
	if _, err := c.SetMany(ctx, map[string][]byte{"a": make([]byte, 11)}, cache.DefaultTimeout); !errors.Is(err, cache.ErrValueTooLarge) {
		t.Errorf("SetMany: %v", err)
	}
	if err := c.Set(ctx, "k", make([]byte, 10), cache.DefaultTimeout); err != nil {
		t.Error(err)
	}
	if _, err := memory.NewCache(memory.Options{}, cache.WithMaxValueSize(-1)); !errors.Is(err, cache.ErrInvalidOption) {
		t.Errorf("negative size: %v", err)
	}
}

func TestNilAndClosed(t *testing.T) {
	c := newMemory(t)
	//lint:ignore SA1012 the nil context is the point of the test
	var nilCtx context.Context
	if _, _, err := c.Get(nilCtx, "k"); !errors.Is(err, cache.ErrNilContext) {
		t.Errorf("nil ctx: %v", err)
	}
	if _, err := cache.New(nil); !errors.Is(err, cache.ErrInvalidOption) {
		t.Errorf("nil backend: %v", err)
	}
	v2 := c.WithVersion(2)
	c.Close()
	if err := v2.Set(ctx, "k", nil, cache.DefaultTimeout); !errors.Is(err, cache.ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestRegistry(t *testing.T) {
	r, err := backends.OpenRegistry(map[string]string{
		"default":            "memory://shared",
		"v2":                 "memory://shared?version=2",
		"template_fragments": "memory://frags?key_prefix=tf&version=3",
		"other":              "dummy://",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	def, _ := r.Default()
	v2, _ := r.Cache("v2")
	def.Set(ctx, "answer", []byte("37"), cache.DefaultTimeout)
	// Two aliases on one store, isolated by version (Django's versioning tests).
	if _, ok, _ := v2.Get(ctx, "answer"); ok {
		t.Error("version 2 alias sees a version 1 key")
	}
	if v, ok, _ := def.WithVersion(2).Get(ctx, "answer"); ok {
		t.Errorf("WithVersion(2) sees %q", v)
	}
	v2.Set(ctx, "answer", []byte("42"), cache.DefaultTimeout)
	if v, ok, _ := def.WithVersion(2).Get(ctx, "answer"); !ok || string(v) != "42" {
		t.Errorf("the shared store: version 2 value %q %v", v, ok)
	}
	frags, _ := r.Fragments()
	if frags.MakeKey("x") != "tf:3:x" {
		t.Errorf("Fragments() is not template_fragments: %q", frags.MakeKey("x"))
	}
	if _, err := r.Cache("unknown"); !errors.Is(err, cache.ErrUnknownAlias) || err.Error() != "The connection 'unknown' doesn't exist." {
		t.Errorf("unknown alias: %v", err)
	}
	if got := strings.Join(r.Aliases(), ","); got != "default,other,template_fragments,v2" {
		t.Errorf("Aliases = %s", got)
	}

	// Without template_fragments, fragments go to default.
	r2, _ := cache.NewRegistry(map[string]*cache.Cache{"default": def})
	if f, _ := r2.Fragments(); f != def {
		t.Error("Fragments without template_fragments is not default")
	}
	empty, _ := cache.NewRegistry(nil)
	if _, err := empty.Fragments(); !errors.Is(err, cache.ErrUnknownAlias) || !strings.Contains(err.Error(), "'default'") {
		t.Errorf("no default: %v", err)
	}
	if _, err := cache.NewRegistry(map[string]*cache.Cache{"": def}); !errors.Is(err, cache.ErrInvalidOption) {
		t.Error("empty alias accepted")
	}
}

func TestOpenErrors(t *testing.T) {
	for url, wantIn := range map[string]string{
		"nosuch://x":                  "nosuch",
		"memory://?max_entries=abc":   "max_entries",
		"memory://?max_entries=-1":    "max_entries",
		"memory://?max_bytes=lots":    "max_bytes",
		"memory://?cull_frequency=-1": "cull_frequency",
		"memory://?colour=blue":       "colour",
		"memory://?timeout=soon":      "timeout",
		"memory://?version=1.5":       "version",
		"memory://?key_check=maybe":   "key_check",
		"dummy://?timeout=1&x=1":      `"x"`,
		"memory":                      "no scheme",
	} {
		_, err := backends.Open(url)
		if err == nil || !strings.Contains(err.Error(), wantIn) {
			t.Errorf("Open(%q) = %v, want an error naming %s", url, err, wantIn)
		}
		if err != nil && !errors.Is(err, cache.ErrInvalidOption) && !errors.Is(err, cache.ErrUnknownScheme) {
			t.Errorf("Open(%q): %v is neither ErrInvalidOption nor ErrUnknownScheme", url, err)
		}
	}
	r, err := backends.OpenRegistry(map[string]string{"default": "memory://", "bad": "memory://?zz=1"})
	if err == nil || !strings.Contains(err.Error(), `"bad"`) {
		t.Errorf("OpenRegistry with a bad alias: %v", err)
	}
	if r != nil {
		t.Error("registry returned with an error")
	}
	if _, err := backends.OpenRegistry(map[string]string{"a": "memory://x?max_entries=5", "b": "memory://x?max_entries=6"}); !errors.Is(err, cache.ErrInvalidOption) {
		t.Errorf("one store named with two configurations: %v", err)
	}
	c, err := backends.Open("memory://?timeout=none&key_prefix=p&version=7&key_check=reject&max_entries=10&cull_frequency=0&max_bytes=1MiB&sweep_interval=0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.DefaultTimeout() != cache.Forever || c.MakeKey("k") != "p:7:k" {
		t.Errorf("options not applied: %v %q", c.DefaultTimeout(), c.MakeKey("k"))
	}
	if err := c.Set(ctx, "a b", nil, cache.DefaultTimeout); !errors.Is(err, cache.ErrInvalidKey) {
		t.Errorf("key_check=reject not applied: %v", err)
	}
}

type point struct{ X, Y int }

func TestTyped(t *testing.T) {
	c := newMemory(t)
	for _, codec := range []cache.Codec{nil, cache.JSONCodec{}, cache.GobCodec{}} {
		p := cache.NewTyped[point](c, codec)
		if err := p.Set(ctx, "p", point{1, 2}, cache.DefaultTimeout); err != nil {
			t.Fatal(err)
		}
		if v, ok, err := p.Get(ctx, "p"); !ok || err != nil || v != (point{1, 2}) {
			t.Errorf("%T Get = %v %v %v", codec, v, ok, err)
		}
		calls := 0
		load := func(context.Context) (point, error) { calls++; return point{3, 4}, nil }
		for i := 0; i < 2; i++ {
			if v, err := p.GetOrSet(ctx, "q", load, cache.DefaultTimeout); err != nil || v != (point{3, 4}) {
				t.Errorf("GetOrSet = %v %v", v, err)
			}
		}
		if calls != 1 {
			t.Errorf("loader ran %d times", calls)
		}
		if f, err := p.SetMany(ctx, map[string]point{"a": {5, 6}}, cache.DefaultTimeout); err != nil || len(f) != 0 {
			t.Error(f, err)
		}
		m, err := p.GetMany(ctx, []string{"a", "p", "missing"})
		if err != nil || len(m) != 2 || m["a"] != (point{5, 6}) {
			t.Errorf("GetMany = %v %v", m, err)
		}
		if ok, err := p.Add(ctx, "a", point{}, cache.DefaultTimeout); ok || err != nil {
			t.Errorf("Add over an existing key = %v %v", ok, err)
		}
		c.Clear(ctx)
	}
	// JSON integers are what Incr works on.
	n := cache.NewTyped[int](c, cache.JSONCodec{})
	n.Set(ctx, "n", 41, cache.DefaultTimeout)
	if v, err := c.Incr(ctx, "n", 1); v != 42 || err != nil {
		t.Errorf("Incr of a JSON int = %d, %v", v, err)
	}
	// A value that does not decode is an error naming the key.
	c.Set(ctx, "junk", []byte("{"), cache.DefaultTimeout)
	if _, _, err := cache.NewTyped[point](c, nil).Get(ctx, "junk"); err == nil || !strings.Contains(err.Error(), "junk") {
		t.Errorf("undecodable value: %v", err)
	}
	if _, err := cache.NewTyped[chan int](c, nil).GetOrSet(ctx, "ch", func(context.Context) (chan int, error) { return make(chan int), nil }, cache.DefaultTimeout); err == nil {
		t.Error("unencodable value: no error")
	}
	if b, _ := cache.NewTyped[point](c, nil).Cache().Backend().(*memory.Store); b == nil {
		t.Error("Cache().Backend()")
	}
}

func TestStats(t *testing.T) {
	c := newMemory(t)
	c.Set(ctx, "a", []byte("1"), cache.DefaultTimeout)
	c.Get(ctx, "a")
	c.Get(ctx, "b")
	c.GetMany(ctx, []string{"a", "b", "c"})
	c.Delete(ctx, "a")
	c.Incr(ctx, "nope", 1)
	s := c.Stats()
	want := cache.Stats{Hits: 2, Misses: 3, Sets: 1, Deletes: 1, Errors: 1}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("Stats = %+v, want %+v", s, want)
	}
	if r := s.HitRate(); r != 0.4 {
		t.Errorf("HitRate = %v", r)
	}
	if (cache.Stats{}).HitRate() != 0 {
		t.Error("HitRate of nothing")
	}
	if !reflect.DeepEqual(c.WithVersion(5).Stats(), s) {
		t.Error("a version view has its own stats")
	}
}

func TestIncrErrors(t *testing.T) {
	c := newMemory(t)
	_, err := c.Incr(ctx, "nope", 1)
	if !errors.Is(err, cache.ErrNotFound) || err.Error() != "Key ':1:nope' not found" {
		t.Errorf("memory Incr on a missing key: %v (locmem names the made key)", err)
	}
	d, _ := cache.New(dummy.New())
	if _, err := d.Incr(ctx, "nope", 1); err == nil || err.Error() != "Key 'nope' not found" {
		t.Errorf("dummy Incr: %v", err)
	}
	if _, err := d.IncrVersion(ctx, "nope", 1); !errors.Is(err, cache.ErrNotFound) || err.Error() != "Key 'nope' not found" {
		t.Errorf("IncrVersion: %v", err)
	}
	c.Set(ctx, "s", []byte("abc"), cache.DefaultTimeout)
	if _, err := c.Incr(ctx, "s", 1); !errors.Is(err, cache.ErrNotInteger) {
		t.Errorf("Incr on text: %v", err)
	}
	c.Set(ctx, "max", []byte("9223372036854775807"), cache.DefaultTimeout)
	if _, err := c.Incr(ctx, "max", 1); !errors.Is(err, cache.ErrNotInteger) {
		t.Errorf("overflow: %v", err)
	}
	if _, err := c.Decr(ctx, "max", -1<<63); !errors.Is(err, cache.ErrNotInteger) {
		t.Errorf("Decr by MinInt64: %v", err)
	}
	for in, want := range map[string]int64{" 41 ": 42, "-1": 0, "+5": 6} {
		if got, err := cache.AddDecimal([]byte(in), 1); got != want || err != nil {
			t.Errorf("AddDecimal(%q) = %d, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "+", "1.5", "0x10", "1_000", "  "} {
		if _, err := cache.AddDecimal([]byte(bad), 1); !errors.Is(err, cache.ErrNotInteger) {
			t.Errorf("AddDecimal(%q): %v", bad, err)
		}
	}
}

func TestKeySchemeNames(t *testing.T) {
	for in, want := range map[string]cache.KeyScheme{"6.1": cache.KeySchemeDjango61, "legacy": cache.KeySchemeLegacy, "django6.0": cache.KeySchemeLegacy} {
		if got, err := cache.ParseKeyScheme(in); got != want || err != nil {
			t.Errorf("ParseKeyScheme(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := cache.ParseKeyScheme("5.0"); !errors.Is(err, cache.ErrInvalidOption) {
		t.Error("bad scheme accepted")
	}
	if cache.KeySchemeLegacy.String() != "legacy" || !bytes.Contains([]byte(cache.KeyScheme(9).String()), []byte("9")) {
		t.Error("String")
	}
}

func TestInvalidateFragment(t *testing.T) {
	for django, scheme := range map[string]cache.KeyScheme{"6.1": cache.KeySchemeDjango61, "5.2.19": cache.KeySchemeLegacy} {
		rs, err := backends.OpenRegistry(map[string]string{"default": "memory://", "other": "memory://o"}, cache.WithDjango(django))
		if err != nil {
			t.Fatal(err)
		}
		defer rs.Close()
		def, _ := rs.Fragments()
		other, _ := rs.Cache("other")
		key := scheme.FragmentKey("sidebar", "bob", 42)
		def.Set(ctx, key, []byte("<aside>"), cache.DefaultTimeout)
		other.Set(ctx, key, []byte("<aside>"), cache.DefaultTimeout)
		if ok, err := rs.InvalidateFragment(ctx, "sidebar", "alice", 42); ok || err != nil {
			t.Errorf("%v: other vary values deleted something: %v %v", scheme, ok, err)
		}
		if ok, err := rs.InvalidateFragment(ctx, "sidebar", "bob", 42); !ok || err != nil {
			t.Errorf("%v: InvalidateFragment = %v %v", scheme, ok, err)
		}
		if ok, _ := def.Has(ctx, key); ok {
			t.Errorf("%v: fragment still cached", scheme)
		}
		if ok, err := rs.InvalidateFragmentIn(ctx, "other", "sidebar", "bob", 42); !ok || err != nil {
			t.Errorf("%v: InvalidateFragmentIn = %v %v", scheme, ok, err)
		}
		if _, err := rs.InvalidateFragmentIn(ctx, "nope", "sidebar"); !errors.Is(err, cache.ErrUnknownAlias) {
			t.Errorf("unknown alias: %v", err)
		}
	}
}
