package file

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
)

// clock is a fake clock for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Unix(1_700_000_000, 0)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newStore returns a store over a fresh directory, with a fake clock unless
// opts has one, closed at the end of the test.
func newStore(t testing.TB, opts Options) (*Store, *clock) {
	t.Helper()
	clk := newClock()
	if opts.Dir == "" {
		opts.Dir = filepath.Join(t.TempDir(), "cache")
	}
	if opts.Now == nil {
		opts.Now = clk.Now
	}
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New(%+v): %v", opts, err)
	}
	t.Cleanup(func() { s.Close() })
	return s, clk
}

// cacheFiles lists the cache files in dir, sorted: regular files named
// "*.djcache", not hidden.
func cacheFiles(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), Suffix) && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	return names
}

// allFiles lists every name in dir, sorted.
func allFiles(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func mustGet(t *testing.T, s *Store, key string) ([]byte, bool) {
	t.Helper()
	v, ok, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return v, ok
}

func mustSet(t *testing.T, s *Store, key string, v []byte, to cache.Timeout) {
	t.Helper()
	if err := s.Set(context.Background(), key, v, to); err != nil {
		t.Fatalf("Set(%q): %v", key, err)
	}
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func TestFileNameGolden(t *testing.T) {
	// Spec §2.6: made key ":1:fk" gives caefb14ff4ce0f4c864ec16f67a0dc89.djcache.
	for _, tc := range []struct{ key, want string }{
		{":1:fk", "caefb14ff4ce0f4c864ec16f67a0dc89.djcache"},
		{"", "d41d8cd98f00b204e9800998ecf8427e.djcache"},
	} {
		if got := FileName(tc.key); got != tc.want {
			t.Errorf("FileName(%q) = %q, want %q", tc.key, got, tc.want)
		}
	}
	s, _ := newStore(t, Options{})
	mustSet(t, s, ":1:fk", []byte("v"), cache.Forever)
	if got := cacheFiles(t, s.Dir()); len(got) != 1 || got[0] != "caefb14ff4ce0f4c864ec16f67a0dc89.djcache" {
		t.Errorf("files after Set(:1:fk) = %v", got)
	}
}

func TestNewOptions(t *testing.T) {
	tmp := t.TempDir()
	bad := []struct {
		name   string
		opts   Options
		naming string
	}{
		{"empty dir", Options{}, "Options.Dir"},
		{"nul in dir", Options{Dir: tmp + "/a\x00b"}, "Options.Dir"},
		{"negative max entries", Options{Dir: tmp, MaxEntries: -1}, "Options.MaxEntries"},
		{"cull frequency below CullAll", Options{Dir: tmp, CullFrequency: -2}, "Options.CullFrequency"},
		{"negative max value size", Options{Dir: tmp, MaxValueSize: -1}, "Options.MaxValueSize"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.opts)
			if err == nil {
				s.Close()
				t.Fatal("New succeeded")
			}
			if !errors.Is(err, cache.ErrInvalidOption) || !strings.Contains(err.Error(), tc.naming) {
				t.Errorf("err = %v, want ErrInvalidOption naming %s", err, tc.naming)
			}
		})
	}

	t.Run("defaults", func(t *testing.T) {
		s, _ := newStore(t, Options{})
		if s.maxEntries != DefaultMaxEntries || s.cullFrequency != DefaultCullFrequency || s.maxValueSize != 0 {
			t.Errorf("defaults: %d %d %d", s.maxEntries, s.cullFrequency, s.maxValueSize)
		}
		s2, err := New(Options{Dir: filepath.Join(tmp, "d")})
		if err != nil {
			t.Fatal(err)
		}
		if s2.now == nil {
			t.Error("nil clock")
		}
	})
	t.Run("relative dir made absolute", func(t *testing.T) {
		t.Chdir(tmp)
		s, err := New(Options{Dir: "rel/cache"})
		if err != nil {
			t.Fatal(err)
		}
		want := filepath.Join(tmp, "rel", "cache")
		if got, _ := filepath.EvalSymlinks(s.Dir()); got != mustEval(t, want) {
			t.Errorf("Dir() = %q, want %q", s.Dir(), want)
		}
		if !filepath.IsAbs(s.Dir()) {
			t.Errorf("Dir() = %q is relative", s.Dir())
		}
	})
	t.Run("dir is a file", func(t *testing.T) {
		p := filepath.Join(tmp, "plain")
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, dir := range []string{p, filepath.Join(p, "sub")} {
			if s, err := New(Options{Dir: dir}); err == nil {
				s.Close()
				t.Errorf("New(%q) succeeded over a file", dir)
			} else if !strings.Contains(err.Error(), p) {
				t.Errorf("New(%q): %v does not name %s", dir, err, p)
			}
		}
	})
}

func mustEval(t *testing.T, p string) string {
	t.Helper()
	r, err := filepath.EvalSymlinks(p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestBasicOperations(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t, Options{})

	if v, ok := mustGet(t, s, "missing"); ok || v != nil {
		t.Errorf("Get(missing) = %q, %v", v, ok)
	}
	buf := []byte("hello")
	mustSet(t, s, "k", buf, cache.Seconds(60))
	copy(buf, "XXXXX") // the caller may reuse its buffer
	if v, ok := mustGet(t, s, "k"); !ok || string(v) != "hello" {
		t.Errorf("Get(k) = %q, %v", v, ok)
	}
	// An empty value is a hit.
	mustSet(t, s, "empty", nil, cache.Seconds(60))
	if v, ok := mustGet(t, s, "empty"); !ok || len(v) != 0 {
		t.Errorf("Get(empty) = %q, %v; want a hit", v, ok)
	}
	// Binary values and unicode keys round-trip.
	bin := []byte{0, 1, 2, 0xff, '\n', 0x80}
	mustSet(t, s, ":1:ключ-清", bin, cache.Forever)
	if v, ok := mustGet(t, s, ":1:ключ-清"); !ok || !bytes.Equal(v, bin) {
		t.Errorf("Get(unicode) = %v, %v", v, ok)
	}
	// Overwrite.
	mustSet(t, s, "k", []byte("second"), cache.Seconds(60))
	if v, _ := mustGet(t, s, "k"); string(v) != "second" {
		t.Errorf("after overwrite Get(k) = %q", v)
	}

	for _, tc := range []struct {
		key  string
		want bool
	}{{"k", true}, {"empty", true}, {"missing", false}} {
		if ok, err := s.Has(ctx, tc.key); err != nil || ok != tc.want {
			t.Errorf("Has(%q) = %v, %v; want %v", tc.key, ok, err, tc.want)
		}
	}

	if ok, err := s.Add(ctx, "k", []byte("nope"), cache.Seconds(60)); err != nil || ok {
		t.Errorf("Add(existing) = %v, %v", ok, err)
	}
	if v, _ := mustGet(t, s, "k"); string(v) != "second" {
		t.Errorf("Add changed the value to %q", v)
	}
	if ok, err := s.Add(ctx, "new", []byte("added"), cache.Seconds(60)); err != nil || !ok {
		t.Errorf("Add(new) = %v, %v", ok, err)
	}
	if v, _ := mustGet(t, s, "new"); string(v) != "added" {
		t.Errorf("Get(new) = %q", v)
	}

	if ok, err := s.Delete(ctx, "k"); err != nil || !ok {
		t.Errorf("Delete(k) = %v, %v", ok, err)
	}
	if ok, err := s.Delete(ctx, "k"); err != nil || ok {
		t.Errorf("Delete(k) again = %v, %v", ok, err)
	}
	if _, ok := mustGet(t, s, "k"); ok {
		t.Error("k still there after Delete")
	}
	if n := len(allFiles(t, s.Dir())); n != 3 {
		t.Errorf("%d files left, want 3 (no temporary files): %v", n, allFiles(t, s.Dir()))
	}
}

func TestExpiry(t *testing.T) {
	ctx := context.Background()
	s, clk := newStore(t, Options{})
	path := s.path("k")

	mustSet(t, s, "k", []byte("v"), cache.Seconds(10))
	clk.Add(10 * time.Second) // at the deadline: deadline < now is false
	if _, ok := mustGet(t, s, "k"); !ok {
		t.Fatal("expired at its deadline; Django's filebased rule is deadline < now")
	}
	clk.Add(time.Nanosecond)
	if ok, err := s.Has(ctx, "k"); err != nil || ok {
		t.Errorf("Has after the deadline = %v, %v", ok, err)
	}
	if exists(path) {
		t.Error("Has left the expired file")
	}

	mustSet(t, s, "k", []byte("v"), cache.Seconds(1.5))
	clk.Add(1500*time.Millisecond + 1)
	if _, ok := mustGet(t, s, "k"); ok {
		t.Error("hit after 1.5 s")
	}
	if exists(path) {
		t.Error("Get left the expired file")
	}

	// Forever never expires.
	mustSet(t, s, "k", []byte("v"), cache.Forever)
	clk.Add(200 * 365 * 24 * time.Hour)
	if _, ok := mustGet(t, s, "k"); !ok {
		t.Error("Forever value expired")
	}

	// Expired and negative timeouts store nothing retrievable; Add reports
	// true as Django does.
	for _, to := range []cache.Timeout{cache.Expired, cache.Seconds(-5), cache.Seconds(-0.001)} {
		mustSet(t, s, "k", []byte("v"), to)
		if _, ok := mustGet(t, s, "k"); ok {
			t.Errorf("Set(%v) is retrievable", to)
		}
		if ok, err := s.Add(ctx, "k", []byte("v"), to); err != nil || !ok {
			t.Errorf("Add(%v) = %v, %v; want true", to, ok, err)
		}
		if ok, _ := s.Has(ctx, "k"); ok {
			t.Errorf("Add(%v) is retrievable", to)
		}
	}

	// Add over an expired key stores.
	mustSet(t, s, "k", []byte("old"), cache.Seconds(1))
	clk.Add(2 * time.Second)
	if ok, err := s.Add(ctx, "k", []byte("new"), cache.Seconds(1)); err != nil || !ok {
		t.Errorf("Add over expired = %v, %v", ok, err)
	}
	if v, _ := mustGet(t, s, "k"); string(v) != "new" {
		t.Errorf("Get = %q", v)
	}

	// A long timeout (30 days + 1 s) and a float one work.
	for _, to := range []cache.Timeout{cache.Seconds(30*24*3600 + 1), cache.Seconds(100.2)} {
		mustSet(t, s, "k", []byte("v"), to)
		clk.Add(100 * time.Second)
		if _, ok := mustGet(t, s, "k"); !ok {
			t.Errorf("timeout %v expired early", to)
		}
	}

	// DefaultTimeout (which a Cache never passes) counts as 300 s.
	mustSet(t, s, "d", []byte("v"), cache.DefaultTimeout)
	clk.Add(300 * time.Second)
	if _, ok := mustGet(t, s, "d"); !ok {
		t.Error("DefaultTimeout expired before 300 s")
	}
	clk.Add(time.Second)
	if _, ok := mustGet(t, s, "d"); ok {
		t.Error("DefaultTimeout lasted beyond 300 s")
	}
}

func TestTouch(t *testing.T) {
	ctx := context.Background()
	s, clk := newStore(t, Options{})
	path := s.path("k")

	if ok, err := s.Touch(ctx, "missing", cache.Seconds(10)); err != nil || ok {
		t.Errorf("Touch(missing) = %v, %v", ok, err)
	}

	mustSet(t, s, "k", []byte("value"), cache.Seconds(10))
	before, _ := os.Stat(path)
	clk.Add(5 * time.Second)
	if ok, err := s.Touch(ctx, "k", cache.Seconds(60)); err != nil || !ok {
		t.Fatalf("Touch = %v, %v", ok, err)
	}
	after, _ := os.Stat(path)
	if os.SameFile(before, after) {
		t.Error("Touch rewrote the file in place; want a new file renamed over it")
	}
	clk.Add(50 * time.Second)
	if v, ok := mustGet(t, s, "k"); !ok || string(v) != "value" {
		t.Errorf("after Touch Get = %q, %v", v, ok)
	}

	// Touch with Forever makes it permanent.
	if ok, _ := s.Touch(ctx, "k", cache.Forever); !ok {
		t.Error("Touch(Forever) = false")
	}
	clk.Add(1000 * 24 * time.Hour)
	if v, ok := mustGet(t, s, "k"); !ok || string(v) != "value" {
		t.Errorf("after Touch(Forever) Get = %q, %v", v, ok)
	}

	// Touch with Expired reports true, then the key is gone.
	if ok, err := s.Touch(ctx, "k", cache.Expired); err != nil || !ok {
		t.Errorf("Touch(Expired) = %v, %v", ok, err)
	}
	if _, ok := mustGet(t, s, "k"); ok {
		t.Error("hit after Touch(Expired)")
	}

	// Touch of an expired key reports false and removes the file.
	mustSet(t, s, "k", []byte("value"), cache.Seconds(1))
	clk.Add(2 * time.Second)
	if ok, err := s.Touch(ctx, "k", cache.Seconds(60)); err != nil || ok {
		t.Errorf("Touch(expired) = %v, %v", ok, err)
	}
	if exists(path) {
		t.Error("Touch left the expired file")
	}
	if names := allFiles(t, s.Dir()); len(names) != 0 {
		t.Errorf("files left: %v", names)
	}
}

func TestMaxValueSize(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t, Options{MaxValueSize: 4})
	mustSet(t, s, "ok", []byte("1234"), cache.Forever)
	if err := s.Set(ctx, "big", []byte("12345"), cache.Forever); !errors.Is(err, cache.ErrValueTooLarge) {
		t.Errorf("Set(5 bytes) = %v, want ErrValueTooLarge", err)
	}
	if ok, err := s.Add(ctx, "big", []byte("12345"), cache.Forever); ok || !errors.Is(err, cache.ErrValueTooLarge) {
		t.Errorf("Add(5 bytes) = %v, %v, want ErrValueTooLarge", ok, err)
	}
	if got := allFiles(t, s.Dir()); len(got) != 1 {
		t.Errorf("files = %v, want only the 4-byte value", got)
	}
}

// Django's FileBasedCacheTests.

func TestIgnoresNonCacheFiles(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t, Options{MaxEntries: 2, CullFrequency: CullAll})
	others := []string{"not-cache.txt", "x.djcache.bak", ".hidden" + Suffix}
	for _, name := range others {
		if err := os.WriteFile(filepath.Join(s.Dir(), name), []byte("keep"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(s.Dir(), "sub"+Suffix), 0o700); err != nil {
		t.Fatal(err)
	}
	others = append(others, "sub"+Suffix)
	// Other files do not count towards MaxEntries: with two of them, one
	// cache file does not trigger a cull.
	mustSet(t, s, "a", []byte("1"), cache.Forever)
	mustSet(t, s, "b", []byte("2"), cache.Forever)
	if got := len(cacheFiles(t, s.Dir())); got != 2 {
		t.Errorf("%d cache files, want 2 (other files counted?)", got)
	}
	mustSet(t, s, "c", []byte("3"), cache.Forever) // culls everything, then writes c
	if err := s.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	for _, name := range others {
		if !exists(filepath.Join(s.Dir(), name)) {
			t.Errorf("%s was removed", name)
		}
	}
	if got := cacheFiles(t, s.Dir()); len(got) != 0 {
		t.Errorf("cache files after Clear: %v", got)
	}
}

func TestClearDoesNotRemoveCacheDir(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t, Options{})
	mustSet(t, s, "a", []byte("1"), cache.Forever)
	if err := s.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(s.Dir()); err != nil || !fi.IsDir() {
		t.Fatalf("cache dir gone after Clear: %v", err)
	}
	// Clearing a missing directory is not an error.
	if err := os.Remove(s.Dir()); err != nil {
		t.Fatal(err)
	}
	if err := s.Clear(ctx); err != nil {
		t.Errorf("Clear of a missing dir: %v", err)
	}
}

func TestCreatesCacheDirIfNonexistent(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t, Options{})
	if err := os.Remove(s.Dir()); err != nil {
		t.Fatal(err)
	}
	// Reads of a missing directory are misses.
	if _, ok := mustGet(t, s, "a"); ok {
		t.Error("hit in a missing dir")
	}
	if ok, err := s.Has(ctx, "a"); err != nil || ok {
		t.Errorf("Has = %v, %v", ok, err)
	}
	if ok, err := s.Delete(ctx, "a"); err != nil || ok {
		t.Errorf("Delete = %v, %v", ok, err)
	}
	if ok, err := s.Touch(ctx, "a", cache.Forever); err != nil || ok {
		t.Errorf("Touch = %v, %v", ok, err)
	}
	mustSet(t, s, "a", []byte("1"), cache.Forever)
	fi, err := os.Stat(s.Dir())
	if err != nil || !fi.IsDir() {
		t.Fatalf("Set did not re-create the dir: %v", err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("re-created dir has mode %v, want 0700", fi.Mode().Perm())
	}
	if v, ok := mustGet(t, s, "a"); !ok || string(v) != "1" {
		t.Errorf("Get = %q, %v", v, ok)
	}
}

func TestCacheDirPermissions(t *testing.T) {
	base := t.TempDir()
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "nested", "levels", "cache")
	s, _ := newStore(t, Options{Dir: dir})
	for p := dir; p != base; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o700 {
			t.Errorf("%s has mode %v, want 0700", p, fi.Mode().Perm())
		}
	}
	// An existing level keeps its mode.
	if fi, _ := os.Stat(base); fi.Mode().Perm() != 0o755 {
		t.Errorf("existing %s changed to %v", base, fi.Mode().Perm())
	}
	// Cache files are private too.
	mustSet(t, s, "a", []byte("1"), cache.Forever)
	if fi, _ := os.Stat(s.path("a")); fi.Mode().Perm() != 0o600 {
		t.Errorf("cache file mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestGetIgnoresENOENT(t *testing.T) {
	s, _ := newStore(t, Options{})
	mustSet(t, s, "a", []byte("1"), cache.Forever)
	if err := os.Remove(s.path("a")); err != nil {
		t.Fatal(err)
	}
	if v, ok := mustGet(t, s, "a"); ok || v != nil {
		t.Errorf("Get = %q, %v", v, ok)
	}
}

func TestGetDoesNotIgnoreOtherErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("directory in place of the file", func(t *testing.T) {
		s, _ := newStore(t, Options{})
		path := s.path("k")
		if err := os.Mkdir(path, 0o700); err != nil {
			t.Fatal(err)
		}
		ops := map[string]func() error{
			"Get":    func() error { _, _, err := s.Get(ctx, "k"); return err },
			"Has":    func() error { _, err := s.Has(ctx, "k"); return err },
			"Touch":  func() error { _, err := s.Touch(ctx, "k", cache.Forever); return err },
			"Delete": func() error { _, err := s.Delete(ctx, "k"); return err },
			"Set":    func() error { return s.Set(ctx, "k", []byte("v"), cache.Forever) },
			"Add":    func() error { _, err := s.Add(ctx, "k", []byte("v"), cache.Forever); return err },
		}
		for name, op := range ops {
			err := op()
			if err == nil || !strings.Contains(err.Error(), path) {
				t.Errorf("%s = %v, want an error naming %s", name, err, path)
			}
		}
		if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
			t.Errorf("the directory was removed: %v", err)
		}
		if names := allFiles(t, s.Dir()); len(names) != 1 {
			t.Errorf("temporary files left behind: %v", names)
		}
	})
	t.Run("permission denied", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root ignores file permissions")
		}
		s, _ := newStore(t, Options{})
		mustSet(t, s, "k", []byte("v"), cache.Forever)
		path := s.path("k")
		if err := os.Chmod(path, 0); err != nil {
			t.Fatal(err)
		}
		_, _, err := s.Get(ctx, "k")
		if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), path) {
			t.Errorf("Get = %v, want a permission error naming %s", err, path)
		}
		if !exists(path) {
			t.Error("unreadable file was removed")
		}
	})
	t.Run("unwritable dir", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root ignores file permissions")
		}
		s, _ := newStore(t, Options{})
		if err := os.Chmod(s.Dir(), 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(s.Dir(), 0o700) })
		err := s.Set(ctx, "k", []byte("v"), cache.Forever)
		if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), s.Dir()) {
			t.Errorf("Set = %v, want a permission error naming %s", err, s.Dir())
		}
	})
}

func TestEmptyCacheFileConsideredExpired(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t, Options{})
	for _, op := range []string{"Get", "Has", "Touch", "Add"} {
		path := s.path("k")
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		var ok bool
		var err error
		switch op {
		case "Get":
			_, ok, err = s.Get(ctx, "k")
		case "Has":
			ok, err = s.Has(ctx, "k")
		case "Touch":
			ok, err = s.Touch(ctx, "k", cache.Forever)
		case "Add":
			ok, err = s.Add(ctx, "k", []byte("v"), cache.Forever)
			ok = !ok
		}
		if err != nil || ok {
			t.Errorf("%s on an empty file = %v, %v; want a miss", op, ok, err)
		}
		if op != "Add" && exists(path) {
			t.Errorf("%s left the empty file", op)
		}
		os.Remove(path)
	}
}

func TestCorruptFiles(t *testing.T) {
	ctx := context.Background()
	good := encode(time.Unix(1_800_000_000, 0).UnixNano(), false, []byte("hello, world"))
	mod := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	fixHeaderCRC := func(b []byte) []byte {
		binary.LittleEndian.PutUint32(b[offHeaderCRC:], checksum(b[:offHeaderCRC]))
		return b
	}
	cases := []struct {
		name string
		data []byte
		// headerOnly: Has (which reads only the header) cannot see it.
		headerOnly bool
	}{
		{"empty", nil, false},
		{"one byte", []byte{'F'}, false},
		{"truncated header", good[:headerLen-1], false},
		{"header only", good[:headerLen], false},
		{"truncated value", good[:len(good)-1], false},
		{"trailing garbage", append(bytes.Clone(good), 0), false},
		{"bad magic", mod(func(b []byte) []byte { b[0] = 'X'; return fixHeaderCRC(b) }), false},
		{"bad version", mod(func(b []byte) []byte { b[offVersion] = 2; return fixHeaderCRC(b) }), false},
		{"unknown flag", mod(func(b []byte) []byte { b[offFlags] = 2; return fixHeaderCRC(b) }), false},
		{"reserved set", mod(func(b []byte) []byte { b[offReserved+1] = 1; return fixHeaderCRC(b) }), false},
		{"bad header checksum", mod(func(b []byte) []byte { b[offDeadline] ^= 1; return b }), false},
		{"huge length", mod(func(b []byte) []byte {
			binary.LittleEndian.PutUint64(b[offLength:], math.MaxUint64)
			return fixHeaderCRC(b)
		}), false},
		{"bad value checksum", mod(func(b []byte) []byte { b[len(b)-1] ^= 0x40; return b }), true},
		{"pickle (a Django file)", []byte("\x80\x05N.x\x9c\x03\x00\x00\x00\x00\x01"), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newStore(t, Options{})
			path := s.path("k")
			write := func() {
				t.Helper()
				if err := os.WriteFile(path, tc.data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			write()
			if !tc.headerOnly {
				if ok, err := s.Has(ctx, "k"); err != nil || ok {
					t.Errorf("Has = %v, %v; want false", ok, err)
				}
				if exists(path) {
					t.Error("Has left the corrupt file")
				}
				write()
			}
			if v, ok, err := s.Get(ctx, "k"); err != nil || ok || v != nil {
				t.Errorf("Get = %q, %v, %v; want a miss", v, ok, err)
			}
			if exists(path) {
				t.Error("Get left the corrupt file")
			}
			write()
			if ok, err := s.Touch(ctx, "k", cache.Forever); err != nil || ok {
				t.Errorf("Touch = %v, %v; want false", ok, err)
			}
			if exists(path) {
				t.Error("Touch left the corrupt file")
			}
		})
	}
	t.Run("good file written by hand", func(t *testing.T) {
		s, _ := newStore(t, Options{})
		if err := os.WriteFile(s.path("k"), good, 0o600); err != nil {
			t.Fatal(err)
		}
		if v, ok := mustGet(t, s, "k"); !ok || string(v) != "hello, world" {
			t.Errorf("Get = %q, %v", v, ok)
		}
	})
}

func TestFormat(t *testing.T) {
	now := time.Unix(1_700_000_000, 123).UnixNano()
	for _, tc := range []struct {
		name     string
		deadline int64
		never    bool
		value    []byte
	}{
		{"empty", now, false, nil},
		{"never", 42, true, []byte("x")},
		{"negative deadline", math.MinInt64, false, []byte("abc")},
		{"8KiB", now, false, bytes.Repeat([]byte("0123456789abcdef"), 512)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := encode(tc.deadline, tc.never, tc.value)
			if len(b) != headerLen+len(tc.value) || string(b[:4]) != "FCdj" || b[4] != 1 {
				t.Fatalf("encoded header % x", b[:headerLen])
			}
			h, ok := parseHeader(b, int64(len(b)))
			if !ok || !h.checkValue(b[headerLen:]) {
				t.Fatal("does not parse")
			}
			wantDeadline := tc.deadline
			if tc.never {
				wantDeadline = math.MaxInt64
			}
			if h.never != tc.never || h.deadline != wantDeadline || h.length != uint64(len(tc.value)) {
				t.Errorf("header = %+v", h)
			}
			if !bytes.Equal(b[headerLen:], tc.value) {
				t.Error("value differs")
			}
			if h.expired(math.MaxInt64) != !tc.never {
				t.Errorf("expired(max) = %v", h.expired(math.MaxInt64))
			}
		})
	}
}

func TestCull(t *testing.T) {
	cases := []struct {
		name                  string
		maxEntries, frequency int
		sets                  int
		want                  int
	}{
		// Django's test_cull: MAX_ENTRIES 30, 49 sets, 29 survive.
		{"django test_cull", 30, 0, 49, 29},
		// Django's test_zero_cull: CULL_FREQUENCY 0, 19 survive.
		{"django test_zero_cull", 30, CullAll, 49, 19},
		{"below the limit", 10, 3, 10, 10},
		{"at the limit culls before writing", 10, 3, 11, 8},
		{"half", 10, 2, 11, 6},
		{"cull frequency 1 removes all", 10, 1, 11, 1},
		// When count/frequency is 0 nothing is removed and the value is still
		// stored (Django's test_cull_delete_when_store_empty).
		{"nothing to remove", 1, 10, 9, 9},
		{"nothing to remove, then one tenth", 1, 10, 11, 10},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newStore(t, Options{MaxEntries: tc.maxEntries, CullFrequency: tc.frequency})
			for i := 0; i < tc.sets; i++ {
				mustSet(t, s, string(rune('A'+i%26))+strings.Repeat("x", i/26), []byte("v"), cache.Forever)
			}
			if got := len(cacheFiles(t, s.Dir())); got != tc.want {
				t.Errorf("%d files after %d sets, want %d", got, tc.sets, tc.want)
			}
			if got := len(allFiles(t, s.Dir())); got != tc.want {
				t.Errorf("%d entries in the directory, want %d", got, tc.want)
			}
		})
	}
	t.Run("overwrite culls too", func(t *testing.T) {
		s, _ := newStore(t, Options{MaxEntries: 3, CullFrequency: CullAll})
		for _, k := range []string{"a", "b", "c"} {
			mustSet(t, s, k, []byte("v"), cache.Forever)
		}
		mustSet(t, s, "a", []byte("v2"), cache.Forever)
		if got := len(cacheFiles(t, s.Dir())); got != 1 {
			t.Errorf("%d files, want 1", got)
		}
		if v, ok := mustGet(t, s, "a"); !ok || string(v) != "v2" {
			t.Errorf("Get(a) = %q, %v", v, ok)
		}
	})
	t.Run("random choice", func(t *testing.T) {
		// Culling 1 of 2 files many times removes each of them sometimes.
		removed := map[string]int{}
		for i := 0; i < 40; i++ {
			s, _ := newStore(t, Options{MaxEntries: 2, CullFrequency: 2})
			mustSet(t, s, "a", nil, cache.Forever)
			mustSet(t, s, "b", nil, cache.Forever)
			mustSet(t, s, "c", nil, cache.Forever)
			for _, k := range []string{"a", "b"} {
				if !exists(s.path(k)) {
					removed[k]++
				}
			}
		}
		if removed["a"] == 0 || removed["b"] == 0 || removed["a"]+removed["b"] != 40 {
			t.Errorf("removed counts %v", removed)
		}
	})
}

func TestContextAndClose(t *testing.T) {
	s, _ := newStore(t, Options{})
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	var nilCtx context.Context
	for name, ctx := range map[string]context.Context{"nil": nilCtx, "canceled": canceled} {
		want := context.Canceled
		if ctx == nil {
			want = cache.ErrNilContext
		}
		checkAll(t, name, s, ctx, want)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	checkAll(t, "closed", s, context.Background(), cache.ErrClosed)
}

func checkAll(t *testing.T, name string, s *Store, ctx context.Context, want error) {
	t.Helper()
	_, _, err := s.Get(ctx, "k")
	errs := []error{err}
	errs = append(errs, s.Set(ctx, "k", nil, cache.Forever))
	_, err = s.Add(ctx, "k", nil, cache.Forever)
	errs = append(errs, err)
	_, err = s.Has(ctx, "k")
	errs = append(errs, err)
	_, err = s.Touch(ctx, "k", cache.Forever)
	errs = append(errs, err)
	_, err = s.Delete(ctx, "k")
	errs = append(errs, err)
	errs = append(errs, s.Clear(ctx))
	for i, err := range errs {
		if !errors.Is(err, want) {
			t.Errorf("%s: operation %d = %v, want %v", name, i, err, want)
		}
	}
}

// TestThroughCache runs the store under a cache.Cache, including Incr,
// which falls back to Get and Set.
func TestThroughCache(t *testing.T) {
	ctx := context.Background()
	s, clk := newStore(t, Options{})
	c, err := cache.New(s, cache.WithDefaultTimeout(cache.Seconds(60)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Set(ctx, "n", []byte("41"), cache.Forever); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Incr(ctx, "n", 1); err != nil || n != 42 {
		t.Fatalf("Incr = %d, %v", n, err)
	}
	// Base incr resets the expiry to the default timeout.
	clk.Add(61 * time.Second)
	if _, ok, _ := c.Get(ctx, "n"); ok {
		t.Error("Incr kept the Forever timeout; Django's base incr uses the default")
	}
	if _, err := c.Incr(ctx, "missing", 1); !errors.Is(err, cache.ErrNotFound) {
		t.Errorf("Incr(missing) = %v", err)
	}
	if err := c.Set(ctx, "fk", []byte("x"), cache.DefaultTimeout); err != nil {
		t.Fatal(err)
	}
	if !exists(filepath.Join(s.Dir(), "caefb14ff4ce0f4c864ec16f67a0dc89.djcache")) {
		t.Error("file for :1:fk not named as Django names it")
	}
}
