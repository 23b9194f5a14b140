package cachetest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/fragcache/fragcache/cache"
)

// miss stands for "no value" where the helpers compare values as strings.
const miss = "\x00<miss>"

var bg = context.Background()

// get returns the value under key as a string, or miss.
func get(t testing.TB, c *cache.Cache, key string) string {
	t.Helper()
	v, ok, err := c.Get(bg, key)
	if err != nil {
		t.Fatalf("Get(%q) (version %d): unexpected error: %v", key, c.Version(), err)
	}
	if !ok {
		if v != nil {
			t.Errorf("Get(%q) missed but returned a value %q", key, v)
		}
		return miss
	}
	if v == nil {
		return "" // a hit with an empty value may be nil
	}
	return string(v)
}

// show formats a value compared by the helpers.
func show(v string) string {
	if v == miss {
		return "<miss>"
	}
	if len(v) > 80 {
		return fmt.Sprintf("%q... (%d bytes)", v[:80], len(v))
	}
	return strconv.Quote(v)
}

// wantGet checks the value under key: want is the value or miss.
func wantGet(t testing.TB, c *cache.Cache, key, want string) {
	t.Helper()
	if got := get(t, c, key); got != want {
		t.Errorf("Get(%q) (version %d) = %s, want %s", key, c.Version(), show(got), show(want))
	}
}

// wantHas checks Has.
func wantHas(t testing.TB, c *cache.Cache, key string, want bool) {
	t.Helper()
	got, err := c.Has(bg, key)
	if err != nil {
		t.Fatalf("Has(%q): unexpected error: %v", key, err)
	}
	if got != want {
		t.Errorf("Has(%q) (version %d) = %v, want %v", key, c.Version(), got, want)
	}
}

func set(t testing.TB, c *cache.Cache, key, value string, timeout cache.Timeout) {
	t.Helper()
	if err := c.Set(bg, key, []byte(value), timeout); err != nil {
		t.Fatalf("Set(%q, %s): unexpected error: %v", key, timeout, err)
	}
}

func add(t testing.TB, c *cache.Cache, key, value string, timeout cache.Timeout) bool {
	t.Helper()
	ok, err := c.Add(bg, key, []byte(value), timeout)
	if err != nil {
		t.Fatalf("Add(%q, %s): unexpected error: %v", key, timeout, err)
	}
	return ok
}

func wantAdd(t testing.TB, c *cache.Cache, key, value string, timeout cache.Timeout, want bool) {
	t.Helper()
	if got := add(t, c, key, value, timeout); got != want {
		t.Errorf("Add(%q, %q, %s) (version %d) = %v, want %v", key, value, timeout, c.Version(), got, want)
	}
}

func setMany(t testing.TB, c *cache.Cache, items map[string]string, timeout cache.Timeout) {
	t.Helper()
	m := make(map[string][]byte, len(items))
	for k, v := range items {
		m[k] = []byte(v)
	}
	failed, err := c.SetMany(bg, m, timeout)
	if err != nil {
		t.Fatalf("SetMany(%s): unexpected error: %v", timeout, err)
	}
	if len(failed) != 0 {
		t.Errorf("SetMany(%s) reported failed keys %q, want none (test_set_many_returns_empty_list_on_success)", timeout, failed)
	}
}

// getMany returns GetMany's result as strings.
func getMany(t testing.TB, c *cache.Cache, keys ...string) map[string]string {
	t.Helper()
	m, err := c.GetMany(bg, keys)
	if err != nil {
		t.Fatalf("GetMany(%q): unexpected error: %v", keys, err)
	}
	if m == nil {
		t.Errorf("GetMany(%q) returned a nil map, want a map (possibly empty)", keys)
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = string(v)
	}
	return out
}

func wantGetMany(t testing.TB, c *cache.Cache, keys []string, want map[string]string) {
	t.Helper()
	got := getMany(t, c, keys...)
	if !equalMaps(got, want) {
		t.Errorf("GetMany(%q) (version %d) = %s, want %s", keys, c.Version(), showMap(got), showMap(want))
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func showMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q: %s", k, show(m[k]))
	}
	b.WriteByte('}')
	return b.String()
}

func del(t testing.TB, c *cache.Cache, key string) bool {
	t.Helper()
	ok, err := c.Delete(bg, key)
	if err != nil {
		t.Fatalf("Delete(%q): unexpected error: %v", key, err)
	}
	return ok
}

func wantDelete(t testing.TB, c *cache.Cache, key string, want bool) {
	t.Helper()
	if got := del(t, c, key); got != want {
		t.Errorf("Delete(%q) (version %d) = %v, want %v", key, c.Version(), got, want)
	}
}

func wantTouch(t testing.TB, c *cache.Cache, key string, timeout cache.Timeout, want bool) {
	t.Helper()
	got, err := c.Touch(bg, key, timeout)
	if err != nil {
		t.Fatalf("Touch(%q, %s): unexpected error: %v", key, timeout, err)
	}
	if got != want {
		t.Errorf("Touch(%q, %s) = %v, want %v", key, timeout, got, want)
	}
}

func wantIncr(t testing.TB, c *cache.Cache, key string, delta, want int64) {
	t.Helper()
	got, err := c.Incr(bg, key, delta)
	if err != nil {
		t.Fatalf("Incr(%q, %d) (version %d): unexpected error: %v", key, delta, c.Version(), err)
	}
	if got != want {
		t.Errorf("Incr(%q, %d) (version %d) = %d, want %d", key, delta, c.Version(), got, want)
	}
}

func wantDecr(t testing.TB, c *cache.Cache, key string, delta, want int64) {
	t.Helper()
	got, err := c.Decr(bg, key, delta)
	if err != nil {
		t.Fatalf("Decr(%q, %d) (version %d): unexpected error: %v", key, delta, c.Version(), err)
	}
	if got != want {
		t.Errorf("Decr(%q, %d) (version %d) = %d, want %d", key, delta, c.Version(), got, want)
	}
}

// wantInt checks that key holds the decimal integer want. Trailing spaces
// are allowed: memcached pads a decremented value that got shorter.
func wantInt(t testing.TB, c *cache.Cache, key string, want int64) {
	t.Helper()
	got := get(t, c, key)
	if got == miss {
		t.Errorf("Get(%q) (version %d) missed, want %d", key, c.Version(), want)
		return
	}
	n, err := strconv.ParseInt(strings.TrimRight(got, " "), 10, 64)
	if err != nil || n != want {
		t.Errorf("Get(%q) (version %d) = %s, want %d", key, c.Version(), show(got), want)
	}
}

// wantErrIs checks that err wraps target.
func wantErrIs(t testing.TB, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error = %v, want an error wrapping %v", what, err, target)
	}
}

// notFoundMessage is Django's message for incr on a missing key.
func (s *suite) notFoundMessage(c *cache.Cache, key string) string {
	switch s.h.IncrMissing {
	case MadeKey:
		return "Key '" + c.MakeKey(key) + "' not found"
	case MadeKeyPeriod:
		return "Key '" + c.MakeKey(key) + "' not found."
	}
	return "Key '" + key + "' not found"
}

// wantNotFound checks the error of Incr or Decr on a missing key.
func (s *suite) wantNotFound(t testing.TB, what string, c *cache.Cache, key string, err error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want ErrNotFound", what)
		return
	}
	wantErrIs(t, what, err, cache.ErrNotFound)
	if want := s.notFoundMessage(c, key); err.Error() != want {
		t.Errorf("%s: error message %q, want %q", what, err.Error(), want)
	}
}

// logCapture is a slog.Handler that records what a cache logs.
type logCapture struct {
	mu   sync.Mutex
	recs []slog.Record
}

func newLogCapture() *logCapture { return &logCapture{} }

// logger returns a logger writing to the capture.
func (l *logCapture) logger() *slog.Logger { return slog.New(l) }

// Enabled implements slog.Handler.
func (l *logCapture) Enabled(context.Context, slog.Level) bool { return true }

// Handle implements slog.Handler.
func (l *logCapture) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.recs = append(l.recs, r.Clone())
	l.mu.Unlock()
	return nil
}

// WithAttrs implements slog.Handler.
func (l *logCapture) WithAttrs([]slog.Attr) slog.Handler { return l }

// WithGroup implements slog.Handler.
func (l *logCapture) WithGroup(string) slog.Handler { return l }

// take returns the messages logged since the last take, checking that each
// was logged at Warn level.
func (l *logCapture) take(t testing.TB) []string {
	t.Helper()
	l.mu.Lock()
	recs := l.recs
	l.recs = nil
	l.mu.Unlock()
	var msgs []string
	for _, r := range recs {
		if r.Level != slog.LevelWarn {
			t.Errorf("key warning %q logged at level %v, want %v", r.Message, r.Level, slog.LevelWarn)
		}
		msgs = append(msgs, r.Message)
	}
	return msgs
}

// keyOp is one Cache method applied to one key, for the tests that run
// every method (nil context, closed cache, key validation).
type keyOp struct {
	name string
	run  func(ctx context.Context, c *cache.Cache, key string) error
}

func loadV(context.Context) ([]byte, error) { return []byte("v"), nil }

// keyOps lists every method that takes a key.
var keyOps = []keyOp{
	{"Get", func(ctx context.Context, c *cache.Cache, k string) error { _, _, err := c.Get(ctx, k); return err }},
	{"GetKeyBytes", func(ctx context.Context, c *cache.Cache, k string) error {
		_, _, err := c.GetKeyBytes(ctx, []byte(k))
		return err
	}},
	{"Set", func(ctx context.Context, c *cache.Cache, k string) error {
		return c.Set(ctx, k, []byte("v"), cache.DefaultTimeout)
	}},
	{"Add", func(ctx context.Context, c *cache.Cache, k string) error {
		_, err := c.Add(ctx, k, []byte("v"), cache.DefaultTimeout)
		return err
	}},
	{"GetOrSet", func(ctx context.Context, c *cache.Cache, k string) error {
		_, err := c.GetOrSet(ctx, k, loadV, cache.DefaultTimeout)
		return err
	}},
	{"GetMany", func(ctx context.Context, c *cache.Cache, k string) error {
		_, err := c.GetMany(ctx, []string{k, "b"})
		return err
	}},
	{"SetMany", func(ctx context.Context, c *cache.Cache, k string) error {
		_, err := c.SetMany(ctx, map[string][]byte{k: []byte("1"), "b": []byte("2")}, cache.DefaultTimeout)
		return err
	}},
	{"Delete", func(ctx context.Context, c *cache.Cache, k string) error { _, err := c.Delete(ctx, k); return err }},
	{"DeleteMany", func(ctx context.Context, c *cache.Cache, k string) error {
		return c.DeleteMany(ctx, []string{k, "b"})
	}},
	{"Has", func(ctx context.Context, c *cache.Cache, k string) error { _, err := c.Has(ctx, k); return err }},
	{"Touch", func(ctx context.Context, c *cache.Cache, k string) error {
		_, err := c.Touch(ctx, k, cache.DefaultTimeout)
		return err
	}},
	{"Incr", func(ctx context.Context, c *cache.Cache, k string) error { _, err := c.Incr(ctx, k, 1); return err }},
	{"Decr", func(ctx context.Context, c *cache.Cache, k string) error { _, err := c.Decr(ctx, k, 1); return err }},
	{"IncrVersion", func(ctx context.Context, c *cache.Cache, k string) error {
		_, err := c.IncrVersion(ctx, k, 1)
		return err
	}},
	{"DecrVersion", func(ctx context.Context, c *cache.Cache, k string) error {
		_, err := c.DecrVersion(ctx, k, 1)
		return err
	}},
}

// allOps is keyOps plus Clear.
var allOps = append(append([]keyOp(nil), keyOps...), keyOp{"Clear", func(ctx context.Context, c *cache.Cache, _ string) error {
	return c.Clear(ctx)
}})

// view returns a second Cache over c's backend. It must not be closed: that
// would close the backend under c.
func view(t testing.TB, c *cache.Cache, opts ...cache.Option) *cache.Cache {
	t.Helper()
	v, err := cache.New(c.Backend(), opts...)
	if err != nil {
		t.Fatalf("cache.New over the same backend: %v", err)
	}
	return v
}

// fill returns n deterministic bytes that are not all alike.
func fill(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}
