package cachetest

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/fragcache/fragcache/cache"
)

// test_make_key: "prefix:version:key", and the backend stores under the made
// key.
func (s *suite) testMakeKey(t *testing.T) {
	c, _ := s.newCache(t)
	for _, tc := range []struct {
		c    *cache.Cache
		want string
	}{
		{c, ":1:k"},
		{c.WithVersion(2), ":2:k"},
		{c.WithVersion(0), ":0:k"},
		{c.WithVersion(-3), ":-3:k"},
		{view(t, c, cache.WithKeyPrefix("myapp"), cache.WithDefaultVersion(3)), "myapp:3:k"},
		{view(t, c, cache.WithKeyPrefix("myapp"), cache.WithDefaultVersion(3)).WithVersion(2), "myapp:2:k"},
	} {
		if got := tc.c.MakeKey("k"); got != tc.want {
			t.Errorf("MakeKey(\"k\") with prefix %q, version %d = %q, want %q", tc.c.KeyPrefix(), tc.c.Version(), got, tc.want)
		}
	}
	if c.Version() != 1 || c.KeyPrefix() != "" {
		t.Errorf("a cache from Harness.New without options has version %d and prefix %q, want 1 and \"\"", c.Version(), c.KeyPrefix())
	}
	set(t, c, "k", "v", cache.DefaultTimeout)
	v, ok, err := c.Backend().Get(bg, ":1:k")
	if err != nil || !ok || string(v) != "v" {
		t.Errorf("Backend().Get(\":1:k\") after Set(\"k\") = %q, %v, %v; want \"v\", true, nil", v, ok, err)
	}
	if err := c.Backend().Set(bg, ":2:k", []byte("v2"), cache.Forever); err != nil {
		t.Fatal(err)
	}
	wantGet(t, c.WithVersion(2), "k", "v2")
}

// test_prefix: KEY_PREFIX isolates caches sharing a store.
func (s *suite) testPrefix(t *testing.T) {
	c, _ := s.newCache(t)
	p := view(t, c, cache.WithKeyPrefix("cacheprefix"))
	set(t, c, "somekey", "value", cache.DefaultTimeout)
	wantHas(t, p, "somekey", false)
	set(t, p, "somekey", "value2", cache.DefaultTimeout)
	wantGet(t, c, "somekey", "value")
	wantGet(t, p, "somekey", "value2")

	wantAdd(t, p, "added", "p", cache.DefaultTimeout, true)
	wantAdd(t, c, "added", "c", cache.DefaultTimeout, true)
	wantGetMany(t, p, []string{"somekey", "added"}, map[string]string{"somekey": "value2", "added": "p"})
	wantDelete(t, p, "somekey", true)
	wantGet(t, c, "somekey", "value")
	set(t, c, "n", "1", cache.DefaultTimeout)
	_, err := p.Incr(bg, "n", 1)
	s.wantNotFound(t, "Incr through another prefix", p, "n", err)
	wantTouch(t, p, "n", cache.Forever, false)
}

func customKeyFunc(key, prefix string, version int) string {
	return "CUSTOM-" + strings.Join([]string{prefix, fmt.Sprint(version), key}, "-")
}

// test_custom_key_func: caches with different key functions do not see each
// other's keys.
func (s *suite) testCustomKeyFunc(t *testing.T) {
	c, _ := s.newCache(t)
	custom := view(t, c, cache.WithKeyFunc(customKeyFunc))
	custom2 := view(t, c, cache.WithKeyFunc(customKeyFunc))
	set(t, c, "answer1", "42", cache.DefaultTimeout)
	wantGet(t, c, "answer1", "42")
	wantGet(t, custom, "answer1", miss)
	wantGet(t, custom2, "answer1", miss)

	set(t, custom, "answer2", "42", cache.DefaultTimeout)
	wantGet(t, c, "answer2", miss)
	wantGet(t, custom, "answer2", "42")
	wantGet(t, custom2, "answer2", "42")
	if mk := custom.MakeKey("answer2"); mk != "CUSTOM--1-answer2" {
		t.Errorf("MakeKey with a key function = %q, want \"CUSTOM--1-answer2\"", mk)
	}
	if v, ok, err := c.Backend().Get(bg, "CUSTOM--1-answer2"); err != nil || !ok || string(v) != "42" {
		t.Errorf("Backend().Get of the custom made key = %q, %v, %v", v, ok, err)
	}
	v, ok, err := custom.GetKeyBytes(bg, []byte("answer2"))
	if err != nil || !ok || string(v) != "42" {
		t.Errorf("GetKeyBytes with a key function = %q, %v, %v; want \"42\", true, nil", v, ok, err)
	}
	wantGetMany(t, custom, []string{"answer2", "answer1"}, map[string]string{"answer2": "42"})
	wantIncr(t, custom, "answer2", 1, 43)
	if nv, err := custom.IncrVersion(bg, "answer2", 1); err != nil || nv != 2 {
		t.Errorf("IncrVersion with a key function = %d, %v", nv, err)
	}
	wantInt(t, custom.WithVersion(2), "answer2", 43)
	wantGet(t, c, "CUSTOM--2-answer2", miss)
	if v, ok, _ := c.Backend().Get(bg, "CUSTOM--2-answer2"); !ok || string(v) != "43" {
		t.Errorf("after IncrVersion, Backend().Get(\"CUSTOM--2-answer2\") = %q, %v", v, ok)
	}
	// Restoring the default key function with nil.
	d := view(t, c, cache.WithKeyFunc(customKeyFunc), cache.WithKeyFunc(nil))
	wantGet(t, d, "answer1", "42")
}

// The test_cache_versioning_* tests: caches["v2"] is a second cache over the
// same backend made with VERSION 2; version=n is WithVersion(n).

func (s *suite) versioned(t *testing.T) (c, v2 *cache.Cache) {
	c, _ = s.newCache(t)
	return c, view(t, c, cache.WithDefaultVersion(2))
}

func (s *suite) testVersioningGetSet(t *testing.T) {
	c, v2 := s.versioned(t)
	// set, using default version = 1
	set(t, c, "answer1", "42", cache.DefaultTimeout)
	wantGet(t, c, "answer1", "42")
	wantGet(t, c.WithVersion(1), "answer1", "42")
	wantGet(t, c.WithVersion(2), "answer1", miss)
	wantGet(t, v2, "answer1", miss)
	wantGet(t, v2.WithVersion(1), "answer1", "42")
	wantGet(t, v2.WithVersion(2), "answer1", miss)

	// set, default version = 1, but manually override version = 2
	set(t, c.WithVersion(2), "answer2", "42", cache.DefaultTimeout)
	wantGet(t, c, "answer2", miss)
	wantGet(t, c.WithVersion(1), "answer2", miss)
	wantGet(t, c.WithVersion(2), "answer2", "42")
	wantGet(t, v2, "answer2", "42")
	wantGet(t, v2.WithVersion(1), "answer2", miss)
	wantGet(t, v2.WithVersion(2), "answer2", "42")

	// v2 set, using default version = 2
	set(t, v2, "answer3", "42", cache.DefaultTimeout)
	wantGet(t, c, "answer3", miss)
	wantGet(t, c.WithVersion(1), "answer3", miss)
	wantGet(t, c.WithVersion(2), "answer3", "42")
	wantGet(t, v2, "answer3", "42")
	wantGet(t, v2.WithVersion(1), "answer3", miss)
	wantGet(t, v2.WithVersion(2), "answer3", "42")

	// v2 set, default version = 2, but manually override version = 1
	set(t, v2.WithVersion(1), "answer4", "42", cache.DefaultTimeout)
	wantGet(t, c, "answer4", "42")
	wantGet(t, c.WithVersion(1), "answer4", "42")
	wantGet(t, c.WithVersion(2), "answer4", miss)
	wantGet(t, v2, "answer4", miss)
	wantGet(t, v2.WithVersion(1), "answer4", "42")
	wantGet(t, v2.WithVersion(2), "answer4", miss)
}

func (s *suite) testVersioningAdd(t *testing.T) {
	c, v2 := s.versioned(t)
	// add, default version = 1, but manually override version = 2
	wantAdd(t, c.WithVersion(2), "answer1", "42", cache.DefaultTimeout, true)
	wantGet(t, c.WithVersion(2), "answer1", "42")
	wantAdd(t, c.WithVersion(2), "answer1", "37", cache.DefaultTimeout, false)
	wantGet(t, c.WithVersion(2), "answer1", "42")
	wantAdd(t, c.WithVersion(1), "answer1", "37", cache.DefaultTimeout, true)
	wantGet(t, c.WithVersion(1), "answer1", "37")
	wantGet(t, c.WithVersion(2), "answer1", "42")

	// v2 add, using default version = 2
	wantAdd(t, v2, "answer2", "42", cache.DefaultTimeout, true)
	wantGet(t, c.WithVersion(2), "answer2", "42")
	wantAdd(t, v2, "answer2", "37", cache.DefaultTimeout, false)
	wantGet(t, c.WithVersion(2), "answer2", "42")
	wantAdd(t, v2.WithVersion(1), "answer2", "37", cache.DefaultTimeout, true)
	wantGet(t, c.WithVersion(1), "answer2", "37")
	wantGet(t, c.WithVersion(2), "answer2", "42")

	// v2 add, default version = 2, but manually override version = 1
	wantAdd(t, v2.WithVersion(1), "answer3", "42", cache.DefaultTimeout, true)
	wantGet(t, c.WithVersion(1), "answer3", "42")
	wantAdd(t, v2.WithVersion(1), "answer3", "37", cache.DefaultTimeout, false)
	wantGet(t, c.WithVersion(1), "answer3", "42")
	wantAdd(t, v2, "answer3", "37", cache.DefaultTimeout, true)
	wantGet(t, c.WithVersion(1), "answer3", "42")
	wantGet(t, c.WithVersion(2), "answer3", "37")
}

func (s *suite) testVersioningHasKey(t *testing.T) {
	c, v2 := s.versioned(t)
	set(t, c, "answer1", "42", cache.DefaultTimeout)
	wantHas(t, c, "answer1", true)
	wantHas(t, c.WithVersion(1), "answer1", true)
	wantHas(t, c.WithVersion(2), "answer1", false)
	wantHas(t, v2, "answer1", false)
	wantHas(t, v2.WithVersion(1), "answer1", true)
	wantHas(t, v2.WithVersion(2), "answer1", false)
}

func (s *suite) testVersioningDelete(t *testing.T) {
	c, v2 := s.versioned(t)
	one, two := c.WithVersion(1), c.WithVersion(2)
	set(t, one, "answer1", "37", cache.DefaultTimeout)
	set(t, two, "answer1", "42", cache.DefaultTimeout)
	wantDelete(t, c, "answer1", true)
	wantGet(t, one, "answer1", miss)
	wantGet(t, two, "answer1", "42")

	set(t, one, "answer2", "37", cache.DefaultTimeout)
	set(t, two, "answer2", "42", cache.DefaultTimeout)
	wantDelete(t, two, "answer2", true)
	wantGet(t, one, "answer2", "37")
	wantGet(t, two, "answer2", miss)

	set(t, one, "answer3", "37", cache.DefaultTimeout)
	set(t, two, "answer3", "42", cache.DefaultTimeout)
	wantDelete(t, v2, "answer3", true)
	wantGet(t, one, "answer3", "37")
	wantGet(t, two, "answer3", miss)

	set(t, one, "answer4", "37", cache.DefaultTimeout)
	set(t, two, "answer4", "42", cache.DefaultTimeout)
	wantDelete(t, v2.WithVersion(1), "answer4", true)
	wantGet(t, one, "answer4", miss)
	wantGet(t, two, "answer4", "42")

	// delete_many by version.
	set(t, one, "answer5", "37", cache.DefaultTimeout)
	set(t, two, "answer5", "42", cache.DefaultTimeout)
	if err := v2.DeleteMany(bg, []string{"answer5"}); err != nil {
		t.Fatal(err)
	}
	wantGet(t, one, "answer5", "37")
	wantGet(t, two, "answer5", miss)
}

func (s *suite) testVersioningIncrDecr(t *testing.T) {
	c, v2 := s.versioned(t)
	one, two := c.WithVersion(1), c.WithVersion(2)
	set(t, one, "answer1", "37", cache.DefaultTimeout)
	set(t, two, "answer1", "42", cache.DefaultTimeout)
	wantIncr(t, c, "answer1", 1, 38)
	wantInt(t, one, "answer1", 38)
	wantInt(t, two, "answer1", 42)
	wantDecr(t, c, "answer1", 1, 37)
	wantInt(t, one, "answer1", 37)
	wantInt(t, two, "answer1", 42)

	set(t, one, "answer2", "37", cache.DefaultTimeout)
	set(t, two, "answer2", "42", cache.DefaultTimeout)
	wantIncr(t, two, "answer2", 1, 43)
	wantInt(t, one, "answer2", 37)
	wantInt(t, two, "answer2", 43)
	wantDecr(t, two, "answer2", 1, 42)
	wantInt(t, one, "answer2", 37)
	wantInt(t, two, "answer2", 42)

	set(t, one, "answer3", "37", cache.DefaultTimeout)
	set(t, two, "answer3", "42", cache.DefaultTimeout)
	wantIncr(t, v2, "answer3", 1, 43)
	wantInt(t, one, "answer3", 37)
	wantInt(t, two, "answer3", 43)
	wantDecr(t, v2, "answer3", 1, 42)
	wantInt(t, one, "answer3", 37)
	wantInt(t, two, "answer3", 42)

	set(t, one, "answer4", "37", cache.DefaultTimeout)
	set(t, two, "answer4", "42", cache.DefaultTimeout)
	wantIncr(t, v2.WithVersion(1), "answer4", 1, 38)
	wantInt(t, one, "answer4", 38)
	wantInt(t, two, "answer4", 42)
	wantDecr(t, v2.WithVersion(1), "answer4", 1, 37)
	wantInt(t, one, "answer4", 37)
	wantInt(t, two, "answer4", 42)
}

func (s *suite) testVersioningGetSetMany(t *testing.T) {
	c, v2 := s.versioned(t)
	none := map[string]string{}
	for i, tc := range []struct {
		name    string
		writer  *cache.Cache
		version int // the version the write lands in
	}{
		{"set, using default version = 1", c, 1},
		{"set, default version = 1, but manually override version = 2", c.WithVersion(2), 2},
		{"v2 set, using default version = 2", v2, 2},
		{"v2 set, default version = 2, but manually override version = 1", v2.WithVersion(1), 1},
	} {
		n := strconv.Itoa(i + 1)
		both := []string{"ford" + n, "arthur" + n}
		m := map[string]string{"ford" + n: "37", "arthur" + n: "42"}
		setMany(t, tc.writer, m, cache.DefaultTimeout)
		in := func(version int) map[string]string {
			if version == tc.version {
				return m
			}
			return none
		}
		for _, r := range []struct {
			c       *cache.Cache
			version int
		}{
			{c, 1}, {c.WithVersion(1), 1}, {c.WithVersion(2), 2},
			{v2, 2}, {v2.WithVersion(1), 1}, {v2.WithVersion(2), 2},
		} {
			t.Logf("%s: read at version %d", tc.name, r.version)
			wantGetMany(t, r.c, both, in(r.version))
		}
	}
}

func wantIncrVersion(t testing.TB, c *cache.Cache, key string, delta, want int) {
	t.Helper()
	got, err := c.IncrVersion(bg, key, delta)
	if err != nil {
		t.Fatalf("IncrVersion(%q, %d) (version %d): unexpected error: %v", key, delta, c.Version(), err)
	}
	if got != want {
		t.Errorf("IncrVersion(%q, %d) (version %d) = %d, want %d", key, delta, c.Version(), got, want)
	}
}

func wantDecrVersion(t testing.TB, c *cache.Cache, key string, delta, want int) {
	t.Helper()
	got, err := c.DecrVersion(bg, key, delta)
	if err != nil {
		t.Fatalf("DecrVersion(%q, %d) (version %d): unexpected error: %v", key, delta, c.Version(), err)
	}
	if got != want {
		t.Errorf("DecrVersion(%q, %d) (version %d) = %d, want %d", key, delta, c.Version(), got, want)
	}
}

// wantVersionNotFound checks the error of IncrVersion or DecrVersion on a
// missing key: Django's ValueError naming the caller's key.
func wantVersionNotFound(t testing.TB, what, key string, err error) {
	t.Helper()
	wantErrIs(t, what, err, cache.ErrNotFound)
	if want := "Key '" + key + "' not found"; err != nil && err.Error() != want {
		t.Errorf("%s: error message %q, want %q", what, err.Error(), want)
	}
}

func (s *suite) testIncrVersion(t *testing.T) {
	c, v2 := s.versioned(t)
	set(t, c.WithVersion(2), "answer", "42", cache.DefaultTimeout)
	wantGet(t, c, "answer", miss)
	wantGet(t, c.WithVersion(1), "answer", miss)
	wantGet(t, c.WithVersion(2), "answer", "42")
	wantGet(t, c.WithVersion(3), "answer", miss)

	wantIncrVersion(t, c.WithVersion(2), "answer", 1, 3)
	wantGet(t, c, "answer", miss)
	wantGet(t, c.WithVersion(1), "answer", miss)
	wantGet(t, c.WithVersion(2), "answer", miss)
	wantGet(t, c.WithVersion(3), "answer", "42")

	set(t, v2, "answer2", "42", cache.DefaultTimeout)
	wantGet(t, v2, "answer2", "42")
	wantGet(t, v2.WithVersion(1), "answer2", miss)
	wantGet(t, v2.WithVersion(2), "answer2", "42")
	wantGet(t, v2.WithVersion(3), "answer2", miss)

	wantIncrVersion(t, v2, "answer2", 1, 3)
	wantGet(t, v2, "answer2", miss)
	wantGet(t, v2.WithVersion(1), "answer2", miss)
	wantGet(t, v2.WithVersion(2), "answer2", miss)
	wantGet(t, v2.WithVersion(3), "answer2", "42")

	_, err := c.IncrVersion(bg, "does_not_exist", 1)
	wantVersionNotFound(t, `IncrVersion("does_not_exist")`, "does_not_exist", err)

	// A stored empty value moves too (Django: None).
	set(t, c, "null", "", cache.DefaultTimeout)
	wantIncrVersion(t, c, "null", 1, 2)
	wantGet(t, c.WithVersion(2), "null", "")
	wantGet(t, c, "null", miss)

	// Larger deltas, and the version of a view.
	set(t, c, "far", "v", cache.DefaultTimeout)
	wantIncrVersion(t, c, "far", 10, 11)
	wantGet(t, c.WithVersion(11), "far", "v")
	if c.Version() != 1 {
		t.Errorf("IncrVersion changed the cache's version to %d", c.Version())
	}
}

func (s *suite) testDecrVersion(t *testing.T) {
	c, v2 := s.versioned(t)
	set(t, c.WithVersion(2), "answer", "42", cache.DefaultTimeout)
	wantGet(t, c, "answer", miss)
	wantGet(t, c.WithVersion(1), "answer", miss)
	wantGet(t, c.WithVersion(2), "answer", "42")

	wantDecrVersion(t, c.WithVersion(2), "answer", 1, 1)
	wantGet(t, c, "answer", "42")
	wantGet(t, c.WithVersion(1), "answer", "42")
	wantGet(t, c.WithVersion(2), "answer", miss)

	set(t, v2, "answer2", "42", cache.DefaultTimeout)
	wantGet(t, v2, "answer2", "42")
	wantGet(t, v2.WithVersion(1), "answer2", miss)
	wantGet(t, v2.WithVersion(2), "answer2", "42")

	wantDecrVersion(t, v2, "answer2", 1, 1)
	wantGet(t, v2, "answer2", miss)
	wantGet(t, v2.WithVersion(1), "answer2", "42")
	wantGet(t, v2.WithVersion(2), "answer2", miss)

	_, err := c.WithVersion(2).DecrVersion(bg, "does_not_exist", 1)
	wantVersionNotFound(t, `DecrVersion("does_not_exist", version=2)`, "does_not_exist", err)

	set(t, c.WithVersion(2), "null", "", cache.DefaultTimeout)
	wantDecrVersion(t, c.WithVersion(2), "null", 1, 1)
	wantGet(t, c, "null", "")
}

// Key validation.

const (
	msgChars  = "Cache key contains characters that will cause errors if used with memcached: "
	msgLength = "Cache key will cause errors if used with memcached: "
)

// identityKey is the key function of Django's _perform_invalid_key_test:
// the made key is the caller's key.
func identityKey(key, _ string, _ int) string { return key }

// warnCases are Django's two invalid keys (made with identityKey) and
// Django's expected warnings, plus the golden ones made by the default key
// function.
var warnCases = []struct {
	name, key string
	keyFunc   cache.KeyFunc
	want      string
}{
	{"characters", "key with spaces and 清", identityKey, msgChars + "'key with spaces and 清'"},
	{"length", strings.Repeat("a", 250) + "清", identityKey, msgLength + "'" + strings.Repeat("a", 250) + "清' (longer than 250)"},
	{"golden_space", "has space", nil, msgChars + "':1:has space'"},
	{"golden_newline", "a\nb", nil, msgChars + `':1:a\nb'`},
	{"golden_251", strings.Repeat("k", 248), nil, msgLength + "':1:" + strings.Repeat("k", 248) + "' (longer than 250)"},
	{"control_chars", "a\x00b\x7f", nil, msgChars + `':1:a\x00b\x7f'`},
	{"tab", "a\tb", nil, msgChars + `':1:a\tb'`},
}

// checkWarnings runs every method on key through a cache logging to a
// capture, and checks each logs Django's warning (every message it logs is
// the expected one) and still works.
func (s *suite) checkWarnings(t *testing.T, keyFunc cache.KeyFunc, key, want string, opts ...cache.Option) {
	logs := newLogCapture()
	opts = append(opts, cache.WithLogger(logs.logger()))
	if keyFunc != nil {
		opts = append(opts, cache.WithKeyFunc(keyFunc))
	}
	c, _ := s.newCache(t, opts...)
	unstorable := s.h.NoNULKeys && strings.IndexByte(c.MakeKey(key), 0) >= 0
	for _, op := range keyOps {
		err := op.run(bg, c, key)
		if unstorable && errors.Is(err, cache.ErrInvalidKey) {
			err = nil
		}
		if err != nil && !errors.Is(err, cache.ErrNotFound) {
			t.Errorf("%s(%q) with a key memcached cannot take: unexpected error %v (Django only warns)", op.name, key, err)
		}
		msgs := logs.take(t)
		if len(msgs) == 0 {
			t.Errorf("%s(%q): no warning logged, want %q", op.name, key, want)
		}
		for _, m := range msgs {
			if m != want {
				t.Errorf("%s(%q): warning %q, want %q", op.name, key, m, want)
			}
		}
	}
	if s.h.Dummy || unstorable {
		return
	}
	// The key works despite the warning.
	set(t, c, key, "value", cache.DefaultTimeout)
	logs.take(t)
	wantGet(t, c, key, "value")
	logs.take(t)
}

// test_invalid_key_characters and test_invalid_key_length: every method
// warns with Django's message, through the cache's logger.
func (s *suite) testInvalidKeyCharacters(t *testing.T) { s.invalidKeys(t, "characters") }
func (s *suite) testInvalidKeyLength(t *testing.T)     { s.invalidKeys(t, "length") }

func (s *suite) invalidKeys(t *testing.T, which string) {
	if s.h.RejectsKeys {
		t.Skip("Semantics.RejectsKeys: the backend rejects such keys (see invalid_key_rejected)")
	}
	for _, wc := range warnCases {
		isLength := strings.HasPrefix(wc.want, msgLength)
		if isLength != (which == "length") {
			continue
		}
		t.Run(wc.name, func(t *testing.T) {
			s.checkWarnings(t, wc.keyFunc, wc.key, wc.want)
		})
	}
	// A valid key logs nothing.
	logs := newLogCapture()
	c, _ := s.newCache(t, cache.WithLogger(logs.logger()))
	valid := "k"
	if which == "length" {
		valid = strings.Repeat("k", 247) // the made key is 250 characters
	}
	for _, op := range keyOps {
		op.run(bg, c, valid)
		if msgs := logs.take(t); len(msgs) != 0 {
			t.Errorf("%s(%q): warnings %q for a valid key", op.name, valid, msgs)
		}
	}
}

// With KeyCheckReject (the default of backends that reject keys, such as
// memcached) every method fails with an *InvalidKeyError naming the made
// key, and logs nothing.
func (s *suite) testInvalidKeyRejected(t *testing.T) {
	for _, wc := range warnCases {
		t.Run(wc.name, func(t *testing.T) {
			logs := newLogCapture()
			opts := []cache.Option{cache.WithLogger(logs.logger())}
			if !s.h.RejectsKeys {
				opts = append(opts, cache.WithKeyCheck(cache.KeyCheckReject))
			}
			if wc.keyFunc != nil {
				opts = append(opts, cache.WithKeyFunc(wc.keyFunc))
			}
			c, _ := s.newCache(t, opts...)
			made := c.MakeKey(wc.key)
			for _, op := range keyOps {
				err := op.run(bg, c, wc.key)
				var ike *cache.InvalidKeyError
				switch {
				case err == nil:
					t.Errorf("%s(%q): no error, want an *InvalidKeyError", op.name, wc.key)
				case !errors.As(err, &ike):
					t.Errorf("%s(%q): error %T %v, want an *InvalidKeyError", op.name, wc.key, err, err)
				default:
					wantErrIs(t, op.name, err, cache.ErrInvalidKey)
					if ike.Key != made {
						t.Errorf("%s: InvalidKeyError.Key = %q, want the made key %q", op.name, ike.Key, made)
					}
					if err.Error() != wc.want {
						t.Errorf("%s: error %q, want %q", op.name, err.Error(), wc.want)
					}
				}
				if msgs := logs.take(t); len(msgs) != 0 {
					t.Errorf("%s: rejected key also logged %q", op.name, msgs)
				}
			}
		})
	}
	if s.h.RejectsKeys {
		return
	}
	// Without a KeyChecker saying otherwise, a cache only warns.
	t.Run("default_is_warn", func(t *testing.T) {
		c, _ := s.newCache(t)
		if err := c.Set(bg, "has space", []byte("v"), cache.DefaultTimeout); err != nil {
			t.Errorf("Set(\"has space\") on a backend that does not reject keys: %v", err)
		}
	})
}

// CustomCacheKeyValidationTests: with the check off (Django's overridden
// validate_key) a long key with spaces round-trips and nothing is logged.
func (s *suite) testCustomKeyValidation(t *testing.T) {
	if s.h.RejectsKeys {
		t.Skip("Semantics.RejectsKeys: the backend cannot store such keys")
	}
	logs := newLogCapture()
	c, _ := s.newCache(t, cache.WithKeyCheck(cache.KeyCheckOff), cache.WithLogger(logs.logger()))
	key := strings.Repeat("some key with spaces", 15)
	if n := s.h.MaxKeyLength; n > 0 && utf8.RuneCountInString(c.MakeKey(key)) > n {
		if err := c.Set(bg, key, []byte("a value"), cache.DefaultTimeout); !errors.Is(err, cache.ErrInvalidKey) {
			t.Errorf("Set of a made key longer than MaxKeyLength %d = %v, want an error wrapping cache.ErrInvalidKey", n, err)
		}
		key = key[:n-len(c.MakeKey(""))]
	}
	set(t, c, key, "a value", cache.DefaultTimeout)
	wantGet(t, c, key, "a value")
	for _, op := range keyOps {
		op.run(bg, c, key)
	}
	if msgs := logs.take(t); len(msgs) != 0 {
		t.Errorf("with KeyCheckOff, warnings were logged: %q", msgs)
	}
}

// Non-ASCII keys are allowed, and the 250 limit counts characters, not
// bytes.
func (s *suite) testNonASCIIKeys(t *testing.T) {
	logs := newLogCapture()
	c, _ := s.newCache(t, cache.WithLogger(logs.logger()), cache.WithKeyCheck(cache.KeyCheckReject))
	for _, k := range []string{"clé", "清", "😀", "Iñtërnâtiônàlizætiøn", "\u00a0nbsp", "\u2028"} {
		if err := c.Set(bg, k, []byte("1"), cache.DefaultTimeout); err != nil {
			t.Errorf("Set(%q): %v", k, err)
			continue
		}
		wantGet(t, c, k, "1")
	}
	// 247 two-byte characters: a made key of 250 characters and 497 bytes.
	long := strings.Repeat("é", 247)
	if err := cache.CheckKey(c.MakeKey(long)); err != nil {
		t.Errorf("CheckKey of a 250-character made key: %v", err)
	}
	if err := cache.CheckKey(c.MakeKey(long + "é")); err == nil {
		t.Errorf("CheckKey of a 251-character made key: no error")
	}
	if !s.h.RejectsKeys {
		// memcached's own limit is 250 bytes, so only the others store it.
		set(t, c, long, "long", cache.DefaultTimeout)
		wantGet(t, c, long, "long")
		err := c.Set(bg, long+"é", []byte("v"), cache.DefaultTimeout)
		var ike *cache.InvalidKeyError
		if !errors.As(err, &ike) || !ike.TooLong {
			t.Errorf("Set of a key whose made key has 251 characters: %v, want an *InvalidKeyError with TooLong", err)
		}
	}
	if msgs := logs.take(t); len(msgs) != 0 {
		t.Errorf("warnings for valid non-ASCII keys: %q", msgs)
	}
}
