package cachetest

import (
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"io"
	"math"
	"reflect"
	"testing"

	"github.com/fragcache/fragcache/cache"
)

// runStoring runs the suite for a backend that stores values.
func (s *suite) runStoring(t *testing.T) {
	tests := []struct {
		name string
		f    func(*testing.T)
	}{
		// BaseCacheTests, method by method.
		{"test_simple", s.testSimple},
		{"test_default_used_when_none_is_set", s.testDefaultUsedWhenNoneIsSet},
		{"test_non_existent", s.testNonExistent},
		{"test_add", s.testAdd},
		{"test_get_many", s.testGetMany},
		{"test_delete", s.testDelete},
		{"test_delete_nonexistent", s.testDeleteNonexistent},
		{"test_has_key", s.testHasKey},
		{"test_incr", s.testIncr},
		{"test_decr", s.testDecr},
		{"incr_errors", s.testIncrErrors},
		{"incr_below_zero", s.testIncrBelowZero},
		{"test_set_many", s.testSetMany},
		{"test_set_many_returns_empty_list_on_success", s.testSetManyReturnsEmpty},
		{"test_set_many_empty_data", s.testSetManyEmptyData},
		{"test_delete_many", s.testDeleteMany},
		{"test_delete_many_no_keys", s.testDeleteManyNoKeys},
		{"test_clear", s.testClear},
		{"test_unicode", s.testUnicode},
		{"test_binary_string", s.testBinaryString},
		{"large_value", s.testLargeValue},
		{"test_memcached_deletes_key_on_failed_set", s.testFailedSet},
		{"max_value_size_option", s.testMaxValueSizeOption},
		{"bytes_ownership", s.testBytesOwnership},
		{"test_close", s.testClose},
		{"nil_context", s.testNilContext},
		{"stats", s.testStats},

		// Timeouts.
		{"test_zero_timeout", s.testZeroTimeout},
		{"negative_timeout", s.testNegativeTimeout},
		{"test_forever_timeout", s.testForeverTimeout},
		{"test_long_timeout", s.testLongTimeout},
		{"test_float_timeout", s.testFloatTimeout},
		{"add_over_expired", s.testAddOverExpired},
		{"timeouts", s.testTimeouts},
		{"timed", s.testTimed},

		// get_or_set.
		{"test_get_or_set", s.testGetOrSet},
		{"test_get_or_set_callable", s.testGetOrSetCallable},
		{"test_get_or_set_version", s.testGetOrSetVersion},
		{"test_get_or_set_racing", s.testGetOrSetRacing},
		{"get_or_set_concurrent_writer_wins", s.testGetOrSetWriterWins},
		{"get_or_set_load_error", s.testGetOrSetLoadError},
		{"get_or_set_expired_timeout", s.testGetOrSetExpired},
		{"get_or_set_context", s.testGetOrSetContext},
		{"get_or_set_single_flight", s.testGetOrSetSingleFlight},

		// Versions, prefixes and key functions.
		{"test_make_key", s.testMakeKey},
		{"test_prefix", s.testPrefix},
		{"test_custom_key_func", s.testCustomKeyFunc},
		{"test_cache_versioning_get_set", s.testVersioningGetSet},
		{"test_cache_versioning_add", s.testVersioningAdd},
		{"test_cache_versioning_has_key", s.testVersioningHasKey},
		{"test_cache_versioning_delete", s.testVersioningDelete},
		{"test_cache_versioning_incr_decr", s.testVersioningIncrDecr},
		{"test_cache_versioning_get_set_many", s.testVersioningGetSetMany},
		{"test_incr_version", s.testIncrVersion},
		{"test_decr_version", s.testDecrVersion},

		// Key validation.
		{"test_invalid_key_characters", s.testInvalidKeyCharacters},
		{"test_invalid_key_length", s.testInvalidKeyLength},
		{"invalid_key_rejected", s.testInvalidKeyRejected},
		{"test_custom_key_validation", s.testCustomKeyValidation},
		{"non_ascii_keys", s.testNonASCIIKeys},

		// Culling.
		{"test_cull", s.testCull},
		{"test_zero_cull", s.testZeroCull},
		{"test_lru_get", s.testLRUGet},
		{"test_lru_set", s.testLRUSet},
		{"test_lru_incr", s.testLRUIncr},
		{"lru_touch_and_has_do_not_reorder", s.testLRUTouchHas},
		{"locmem_lru", s.testGoldenLRU},

		// Golden vectors and concurrency.
		{"golden_api", s.testGoldenAPI},
		{"golden_get_backend_timeout", s.testGoldenBackendTimeout},
		{"concurrent_mixed", s.testConcurrentMixed},
		{"concurrent_incr", s.testConcurrentIncr},
		{"concurrent_add", s.testConcurrentAdd},

		// Leases (cache.Leaser).
		{"lease_one_winner", s.testLeaseOneWinner},
		{"lease_release", s.testLeaseRelease},
		{"lease_expiry", s.testLeaseExpiry},
		{"lease_keys", s.testLeaseKeys},
		{"lease_errors", s.testLeaseErrors},

		// Stampede protection (GetEntry, SetEntry, Fill, GetOrSetWith).
		{"stampede_entry_format", s.testStampedeEntryFormat},
		{"stampede_grace", s.testStampedeGrace},
		{"stampede_refresh_lease", s.testStampedeRefreshLease},
		{"stampede_fill_lease", s.testStampedeFillLease},
		{"stampede_get_or_set_with", s.testStampedeGetOrSetWith},
		// Indexes (cache.Indexer) and fragment variants.
		{"index_members", s.testIndexMembers},
		{"index_life", s.testIndexLife},
		{"index_full", s.testIndexFull},
		{"invalidate_fragment_variants", s.testInvalidateFragmentVariants},
		{"invalidate_fragment_variants_errors", s.testInvalidateFragmentVariantsErrors},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.f)
	}
}

func (s *suite) testSimple(t *testing.T) {
	c, _ := s.newCache(t)
	set(t, c, "key", "value", cache.DefaultTimeout)
	wantGet(t, c, "key", "value")
	v, ok, err := c.GetKeyBytes(bg, []byte("key"))
	if err != nil || !ok || string(v) != "value" {
		t.Errorf(`GetKeyBytes("key") = %q, %v, %v; want "value", true, nil`, v, ok, err)
	}
	// Overwriting replaces the value, longer or shorter.
	set(t, c, "key", "a much longer value than before", cache.DefaultTimeout)
	wantGet(t, c, "key", "a much longer value than before")
	set(t, c, "key", "v", cache.DefaultTimeout)
	wantGet(t, c, "key", "v")
}

// Django stores None and returns it rather than the default; here the
// analogue is a stored empty value, which is a hit.
func (s *suite) testDefaultUsedWhenNoneIsSet(t *testing.T) {
	c, _ := s.newCache(t)
	set(t, c, "key_default_none", "", cache.DefaultTimeout)
	wantGet(t, c, "key_default_none", "")
	v, ok, err := c.GetKeyBytes(bg, []byte("key_default_none"))
	if err != nil || !ok || len(v) != 0 {
		t.Errorf("GetKeyBytes of a stored empty value = %q, %v, %v; want empty, true, nil", v, ok, err)
	}
	wantHas(t, c, "key_default_none", true)
	wantGetMany(t, c, []string{"key_default_none"}, map[string]string{"key_default_none": ""})
	wantAdd(t, c, "key_default_none", "other", cache.DefaultTimeout, false)
	calls := 0
	v, err = c.GetOrSet(bg, "key_default_none", func(context.Context) ([]byte, error) {
		calls++
		return []byte("loaded"), nil
	}, cache.DefaultTimeout)
	if err != nil || len(v) != 0 || calls != 0 {
		t.Errorf("GetOrSet over a stored empty value = %q, %v with %d loads; want empty, nil, no load", v, err, calls)
	}
}

func (s *suite) testNonExistent(t *testing.T) {
	c, _ := s.newCache(t)
	v, ok, err := c.Get(bg, "does_not_exist")
	if v != nil || ok || err != nil {
		t.Errorf(`Get("does_not_exist") = %q, %v, %v; want nil, false, nil (a miss is not an error)`, v, ok, err)
	}
	v, ok, err = c.GetKeyBytes(bg, []byte("does_not_exist"))
	if v != nil || ok || err != nil {
		t.Errorf(`GetKeyBytes("does_not_exist") = %q, %v, %v; want nil, false, nil`, v, ok, err)
	}
	wantHas(t, c, "does_not_exist", false)
}

func (s *suite) testAdd(t *testing.T) {
	c, _ := s.newCache(t)
	wantAdd(t, c, "addkey1", "value", cache.DefaultTimeout, true)
	wantAdd(t, c, "addkey1", "newvalue", cache.DefaultTimeout, false)
	wantGet(t, c, "addkey1", "value")
	// Add after a delete stores again.
	wantDelete(t, c, "addkey1", true)
	wantAdd(t, c, "addkey1", "third", cache.DefaultTimeout, true)
	wantGet(t, c, "addkey1", "third")
	// Add over a key another method set.
	set(t, c, "addkey2", "set", cache.DefaultTimeout)
	wantAdd(t, c, "addkey2", "added", cache.Forever, false)
	wantGet(t, c, "addkey2", "set")
}

func (s *suite) testGetMany(t *testing.T) {
	c, _ := s.newCache(t)
	setMany(t, c, map[string]string{"a": "a", "b": "b", "c": "c", "d": "d"}, cache.DefaultTimeout)
	wantGetMany(t, c, []string{"a", "c", "d"}, map[string]string{"a": "a", "c": "c", "d": "d"})
	wantGetMany(t, c, []string{"a", "b", "e"}, map[string]string{"a": "a", "b": "b"})
	// Empty values are included (Django: None values are included).
	setMany(t, c, map[string]string{"x": "", "y": "1"}, cache.DefaultTimeout)
	wantGetMany(t, c, []string{"x", "y"}, map[string]string{"x": "", "y": "1"})
	// Duplicates, misses only, no keys.
	wantGetMany(t, c, []string{"a", "a", "b", "a"}, map[string]string{"a": "a", "b": "b"})
	wantGetMany(t, c, []string{"nope1", "nope2"}, map[string]string{})
	wantGetMany(t, c, []string{}, map[string]string{})
	wantGetMany(t, c, nil, map[string]string{})
}

func (s *suite) testDelete(t *testing.T) {
	c, _ := s.newCache(t)
	setMany(t, c, map[string]string{"key1": "spam", "key2": "eggs"}, cache.DefaultTimeout)
	wantGet(t, c, "key1", "spam")
	wantDelete(t, c, "key1", true)
	wantGet(t, c, "key1", miss)
	wantGet(t, c, "key2", "eggs")
}

func (s *suite) testDeleteNonexistent(t *testing.T) {
	c, _ := s.newCache(t)
	wantDelete(t, c, "nonexistent_key", false)
	set(t, c, "key", "v", cache.DefaultTimeout)
	wantDelete(t, c, "key", true)
	wantDelete(t, c, "key", false)
}

func (s *suite) testHasKey(t *testing.T) {
	c, _ := s.newCache(t)
	set(t, c, "hello1", "goodbye1", cache.DefaultTimeout)
	wantHas(t, c, "hello1", true)
	wantHas(t, c, "goodbye1", false)
	set(t, c, "no_expiry", "here", cache.Forever)
	wantHas(t, c, "no_expiry", true)
	set(t, c, "null", "", cache.DefaultTimeout)
	wantHas(t, c, "null", true)
	set(t, c, "gone", "v", cache.Expired)
	wantHas(t, c, "gone", false)
}

func (s *suite) testIncr(t *testing.T) {
	c, _ := s.newCache(t)
	set(t, c, "answer", "41", cache.DefaultTimeout)
	wantIncr(t, c, "answer", 1, 42)
	wantInt(t, c, "answer", 42)
	wantIncr(t, c, "answer", 10, 52)
	wantInt(t, c, "answer", 52)
	wantIncr(t, c, "answer", -10, 42)
	wantInt(t, c, "answer", 42)
	_, err := c.Incr(bg, "does_not_exist", 1)
	s.wantNotFound(t, `Incr("does_not_exist", 1)`, c, "does_not_exist", err)
	_, err = c.Incr(bg, "does_not_exist", -1)
	s.wantNotFound(t, `Incr("does_not_exist", -1)`, c, "does_not_exist", err)
	wantHas(t, c, "does_not_exist", false)
	set(t, c, "null", "", cache.DefaultTimeout)
	_, err = c.Incr(bg, "null", 1)
	wantErrIs(t, `Incr("null") on an empty value`, err, cache.ErrNotInteger)
	// Incr 0 is a no-op that still checks the value.
	wantIncr(t, c, "answer", 0, 42)
}

func (s *suite) testDecr(t *testing.T) {
	c, _ := s.newCache(t)
	set(t, c, "answer", "43", cache.DefaultTimeout)
	wantDecr(t, c, "answer", 1, 42)
	wantInt(t, c, "answer", 42)
	wantDecr(t, c, "answer", 10, 32)
	wantInt(t, c, "answer", 32)
	wantDecr(t, c, "answer", -10, 42)
	wantInt(t, c, "answer", 42)
	_, err := c.Decr(bg, "does_not_exist", 1)
	s.wantNotFound(t, `Decr("does_not_exist", 1)`, c, "does_not_exist", err)
	_, err = c.Decr(bg, "does_not_exist", -1)
	s.wantNotFound(t, `Decr("does_not_exist", -1)`, c, "does_not_exist", err)
	set(t, c, "null", "", cache.DefaultTimeout)
	_, err = c.Decr(bg, "null", 1)
	wantErrIs(t, `Decr("null") on an empty value`, err, cache.ErrNotInteger)
}

func (s *suite) testIncrErrors(t *testing.T) {
	c, _ := s.newCache(t)
	// The missing key is named as the Django backend names it.
	_, err := c.Incr(bg, "nope", 1)
	s.wantNotFound(t, `Incr("nope")`, c, "nope", err)
	_, err = c.Decr(bg, "nope", 1)
	s.wantNotFound(t, `Decr("nope")`, c, "nope", err)
	var knf *cache.KeyNotFoundError
	if s.h.IncrMissing != MadeKeyPeriod && !errors.As(err, &knf) {
		t.Errorf("Decr on a missing key: error %T is not a *cache.KeyNotFoundError", err)
	}
	// Under a prefix and a version the made key changes.
	p := view(t, c, cache.WithKeyPrefix("myapp"), cache.WithDefaultVersion(3))
	_, err = p.Incr(bg, "nope", 1)
	s.wantNotFound(t, `Incr("nope") with prefix "myapp", version 3`, p, "nope", err)
	// Values that are not decimal integers.
	for _, v := range []string{"abc", "1.5", "0x10", "1e3", "", "--1", "12abc", "\x00"} {
		set(t, c, "str", v, cache.DefaultTimeout)
		_, err := c.Incr(bg, "str", 1)
		wantErrIs(t, "Incr on the value "+show(v), err, cache.ErrNotInteger)
		if err != nil && errors.Is(err, cache.ErrNotFound) {
			t.Errorf("Incr on the value %s: error %v also matches ErrNotFound", show(v), err)
		}
		wantGet(t, c, "str", v)
	}
	if !s.h.IncrClampsAtZero {
		// Overflowing an int64 is an error, not a wrap-around (memcached
		// wraps at 2^64 on its unsigned counters, so it is not checked
		// there).
		set(t, c, "big", "9223372036854775807", cache.DefaultTimeout)
		_, err = c.Incr(bg, "big", 1)
		wantErrIs(t, "Incr past math.MaxInt64", err, cache.ErrNotInteger)
		set(t, c, "small", "-9223372036854775808", cache.DefaultTimeout)
		_, err = c.Decr(bg, "small", 1)
		wantErrIs(t, "Decr past math.MinInt64", err, cache.ErrNotInteger)
		_, err = c.Decr(bg, "small", math.MinInt64)
		wantErrIs(t, "Decr by math.MinInt64", err, cache.ErrNotInteger)
	}
}

func (s *suite) testIncrBelowZero(t *testing.T) {
	c, _ := s.newCache(t)
	set(t, c, "i", "36", cache.DefaultTimeout)
	if s.h.IncrClampsAtZero {
		wantDecr(t, c, "i", 100, 0)
		wantInt(t, c, "i", 0)
		wantIncr(t, c, "i", 5, 5)
		return
	}
	wantDecr(t, c, "i", 100, -64)
	wantInt(t, c, "i", -64)
	wantIncr(t, c, "i", -6, -70)
	wantIncr(t, c, "i", 80, 10)
	wantInt(t, c, "i", 10)
}

func (s *suite) testSetMany(t *testing.T) {
	c, _ := s.newCache(t)
	setMany(t, c, map[string]string{"key1": "spam", "key2": "eggs"}, cache.DefaultTimeout)
	wantGet(t, c, "key1", "spam")
	wantGet(t, c, "key2", "eggs")
	// Overwrites, with an empty value among them.
	setMany(t, c, map[string]string{"key1": "ham", "key3": ""}, cache.Forever)
	wantGet(t, c, "key1", "ham")
	wantGet(t, c, "key2", "eggs")
	wantGet(t, c, "key3", "")
}

func (s *suite) testSetManyReturnsEmpty(t *testing.T) {
	c, _ := s.newCache(t)
	failed, err := c.SetMany(bg, map[string][]byte{"key1": []byte("spam"), "key2": []byte("eggs")}, cache.DefaultTimeout)
	if err != nil || len(failed) != 0 {
		t.Errorf("SetMany = %q, %v; want no failed keys and no error", failed, err)
	}
}

func (s *suite) testSetManyEmptyData(t *testing.T) {
	c, _ := s.newCache(t)
	for _, m := range []map[string][]byte{{}, nil} {
		failed, err := c.SetMany(bg, m, cache.DefaultTimeout)
		if err != nil || len(failed) != 0 {
			t.Errorf("SetMany(%v) = %q, %v; want no failed keys and no error", m, failed, err)
		}
	}
}

func (s *suite) testDeleteMany(t *testing.T) {
	c, _ := s.newCache(t)
	setMany(t, c, map[string]string{"key1": "spam", "key2": "eggs", "key3": "ham"}, cache.DefaultTimeout)
	if err := c.DeleteMany(bg, []string{"key1", "key2", "key_missing", "key1"}); err != nil {
		t.Fatalf("DeleteMany: %v", err)
	}
	wantGet(t, c, "key1", miss)
	wantGet(t, c, "key2", miss)
	wantGet(t, c, "key3", "ham")
}

func (s *suite) testDeleteManyNoKeys(t *testing.T) {
	c, _ := s.newCache(t)
	for _, keys := range [][]string{{}, nil} {
		if err := c.DeleteMany(bg, keys); err != nil {
			t.Errorf("DeleteMany(%q) = %v, want nil", keys, err)
		}
	}
}

// Clear removes everything in the backend, whatever the prefix or version
// (Django's clear; memcached's flush_all and Redis's FLUSHDB ignore
// KEY_PREFIX too).
func (s *suite) testClear(t *testing.T) {
	c, _ := s.newCache(t)
	other := view(t, c, cache.WithKeyPrefix("other"))
	setMany(t, c, map[string]string{"key1": "spam", "key2": "eggs"}, cache.DefaultTimeout)
	set(t, c.WithVersion(2), "key3", "v2", cache.Forever)
	set(t, other, "key4", "other", cache.DefaultTimeout)
	if err := c.Clear(bg); err != nil {
		t.Fatalf("Clear: %v", err)
	}
	wantGet(t, c, "key1", miss)
	wantGet(t, c, "key2", miss)
	wantGet(t, c.WithVersion(2), "key3", miss)
	wantGet(t, other, "key4", miss)
	// The cache still works, and clearing through another prefix clears it.
	set(t, c, "key1", "again", cache.DefaultTimeout)
	wantGet(t, c, "key1", "again")
	if err := other.Clear(bg); err != nil {
		t.Fatalf("Clear through another prefix: %v", err)
	}
	wantGet(t, c, "key1", miss)
	// Clearing an empty cache is fine.
	if err := c.Clear(bg); err != nil {
		t.Errorf("Clear of an empty cache: %v", err)
	}
}

func (s *suite) testUnicode(t *testing.T) {
	c, _ := s.newCache(t)
	stuff := map[string]string{
		"ascii":                "ascii_value",
		"unicode_ascii":        "Iñtërnâtiônàlizætiøn1",
		"Iñtërnâtiônàlizætiøn": "Iñtërnâtiônàlizætiøn2",
		"ascii2":               `{"x": 1}`,
		"清":                    "清清",
		"emoji😀":               "😀 \u2028 \ufeff",
	}
	for k, v := range stuff {
		set(t, c, k, v, cache.DefaultTimeout)
		wantGet(t, c, k, v)
	}
	for k, v := range stuff {
		wantDelete(t, c, k, true)
		wantAdd(t, c, k, v, cache.DefaultTimeout, true)
		wantGet(t, c, k, v)
	}
	for k := range stuff {
		wantDelete(t, c, k, true)
	}
	setMany(t, c, stuff, cache.DefaultTimeout)
	for k, v := range stuff {
		wantGet(t, c, k, v)
	}
	keys := make([]string, 0, len(stuff))
	for k := range stuff {
		keys = append(keys, k)
	}
	wantGetMany(t, c, keys, stuff)
}

func (s *suite) testBinaryString(t *testing.T) {
	c, _ := s.newCache(t)
	var zb bytes.Buffer
	zw := zlib.NewWriter(&zb)
	zw.Write([]byte("value_to_be_compressed"))
	zw.Close()
	compressed := zb.String()
	check := func(key string) {
		t.Helper()
		got := get(t, c, key)
		if got != compressed {
			t.Errorf("Get(%q) = %s, want the compressed bytes %q", key, show(got), compressed)
			return
		}
		r, err := zlib.NewReader(bytes.NewReader([]byte(got)))
		if err != nil {
			t.Fatal(err)
		}
		plain, _ := io.ReadAll(r)
		if string(plain) != "value_to_be_compressed" {
			t.Errorf("decompressed %q", plain)
		}
	}
	set(t, c, "binary1", compressed, cache.DefaultTimeout)
	check("binary1")
	wantAdd(t, c, "binary1-add", compressed, cache.DefaultTimeout, true)
	check("binary1-add")
	setMany(t, c, map[string]string{"binary1-set_many": compressed}, cache.DefaultTimeout)
	check("binary1-set_many")

	// Every byte value, and values that look like protocol lines.
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	for name, v := range map[string]string{
		"all256":   string(all),
		"reversed": string(bytes.Repeat([]byte{0xff, 0xfe, 0x00, 0x80}, 64)),
		"nul":      "\x00",
		"crlf":     "\r\n",
		"protocol": "x\r\nEND\r\nVALUE :1:k 0 1\r\ny\r\n",
		"badutf8":  "\xc3\x28\xa0\xa1\xe2\x28\xa1\xf0\x28\x8c\xbc",
		"pickle":   "\x80\x05\x95\x0a\x00\x00\x00\x00\x00\x00\x00\x7d\x94\x8c\x01\x61\x94\x4b\x01\x73\x2e",
		"zlibhdr":  "\x78\x9c\x00\x00\x00\xff\xff",
		"fcmagic":  "FCdj\x00\x00\x00\x00",
	} {
		set(t, c, name, v, cache.DefaultTimeout)
		wantGet(t, c, name, v)
		wantGetMany(t, c, []string{name}, map[string]string{name: v})
	}
}

// largeSize is the size of the large value: 1 MiB + 1 byte, or the harness's
// limit.
func (s *suite) largeSize() int {
	n := 1<<20 + 1
	if s.h.MaxValueSize > 0 && s.h.MaxValueSize < n {
		n = s.h.MaxValueSize
	}
	return n
}

func (s *suite) testLargeValue(t *testing.T) {
	c, _ := s.newCache(t)
	big := string(fill(s.largeSize()))
	set(t, c, "big", big, cache.DefaultTimeout)
	wantGet(t, c, "big", big)
	wantAdd(t, c, "big-add", big, cache.DefaultTimeout, true)
	wantGet(t, c, "big-add", big)
	setMany(t, c, map[string]string{"big-many1": big, "big-many2": big[:len(big)/2]}, cache.DefaultTimeout)
	wantGetMany(t, c, []string{"big-many1", "big-many2"}, map[string]string{"big-many1": big, "big-many2": big[:len(big)/2]})
	// Replacing a large value with a small one and back.
	set(t, c, "big", "small", cache.DefaultTimeout)
	wantGet(t, c, "big", "small")
	set(t, c, "big", big, cache.DefaultTimeout)
	wantGet(t, c, "big", big)
}

// A value over the backend's limit fails with ErrValueTooLarge; memcached
// has also dropped the old value.
func (s *suite) testFailedSet(t *testing.T) {
	if s.h.MaxValueSize <= 0 {
		t.Skip("needs Harness.MaxValueSize")
	}
	c, _ := s.newCache(t)
	set(t, c, "key", "small", cache.DefaultTimeout)
	err := c.Set(bg, "key", fill(2*s.h.MaxValueSize), cache.DefaultTimeout)
	wantErrIs(t, "Set of a value twice Harness.MaxValueSize", err, cache.ErrValueTooLarge)
	if s.h.FailedSetDeletes {
		wantGet(t, c, "key", miss)
	}
	_, err = c.Add(bg, "key2", fill(2*s.h.MaxValueSize), cache.DefaultTimeout)
	wantErrIs(t, "Add of a value twice Harness.MaxValueSize", err, cache.ErrValueTooLarge)
	wantHas(t, c, "key2", false)
}

// cache.WithMaxValueSize refuses large values before the backend sees them.
func (s *suite) testMaxValueSizeOption(t *testing.T) {
	c, _ := s.newCache(t, cache.WithMaxValueSize(10))
	set(t, c, "ok", "0123456789", cache.DefaultTimeout)
	wantGet(t, c, "ok", "0123456789")
	err := c.Set(bg, "ok", []byte("01234567890"), cache.DefaultTimeout)
	wantErrIs(t, "Set of 11 bytes with WithMaxValueSize(10)", err, cache.ErrValueTooLarge)
	wantGet(t, c, "ok", "0123456789")
	_, err = c.Add(bg, "big", []byte("01234567890"), cache.DefaultTimeout)
	wantErrIs(t, "Add of 11 bytes with WithMaxValueSize(10)", err, cache.ErrValueTooLarge)
	_, err = c.SetMany(bg, map[string][]byte{"big": []byte("01234567890")}, cache.DefaultTimeout)
	wantErrIs(t, "SetMany of 11 bytes with WithMaxValueSize(10)", err, cache.ErrValueTooLarge)
	wantHas(t, c, "big", false)
	// GetOrSet does not store a loaded value that is too large.
	if _, err := c.GetOrSet(bg, "big", func(context.Context) ([]byte, error) {
		return []byte("01234567890"), nil
	}, cache.DefaultTimeout); err != nil && !errors.Is(err, cache.ErrValueTooLarge) {
		t.Errorf("GetOrSet loading 11 bytes with WithMaxValueSize(10): unexpected error %v", err)
	}
	wantHas(t, c, "big", false)
}

// Callers may reuse their buffers after Set, and a value Get returned never
// changes under the caller (spec: Backend's two rules about bytes).
func (s *suite) testBytesOwnership(t *testing.T) {
	c, _ := s.newCache(t)
	buf := []byte("original")
	if err := c.Set(bg, "set", buf, cache.DefaultTimeout); err != nil {
		t.Fatal(err)
	}
	copy(buf, "XXXXXXXX")
	wantGet(t, c, "set", "original")

	buf = []byte("original")
	if _, err := c.Add(bg, "add", buf, cache.DefaultTimeout); err != nil {
		t.Fatal(err)
	}
	copy(buf, "XXXXXXXX")
	wantGet(t, c, "add", "original")

	b1, b2 := []byte("original1"), []byte("original2")
	if _, err := c.SetMany(bg, map[string][]byte{"m1": b1, "m2": b2}, cache.DefaultTimeout); err != nil {
		t.Fatal(err)
	}
	copy(b1, "XXXXXXXXX")
	copy(b2, "XXXXXXXXX")
	wantGetMany(t, c, []string{"m1", "m2"}, map[string]string{"m1": "original1", "m2": "original2"})

	big := fill(64 << 10)
	if err := c.Set(bg, "big", big, cache.DefaultTimeout); err != nil {
		t.Fatal(err)
	}
	want := string(big)
	for i := range big {
		big[i] = 0
	}
	wantGet(t, c, "big", want)

	// A value handed out is not modified by later writes.
	held, ok, err := c.Get(bg, "set")
	if err != nil || !ok {
		t.Fatalf("Get(set) = %v, %v", ok, err)
	}
	heldKB, _, _ := c.GetKeyBytes(bg, []byte("set"))
	many := getMany(t, c, "set")
	heldMany, _ := c.GetMany(bg, []string{"set"})
	set(t, c, "set", "replaced", cache.DefaultTimeout)
	set(t, c, "set", "REPLACED", cache.DefaultTimeout)
	if _, err := c.Touch(bg, "set", cache.Forever); err != nil {
		t.Fatal(err)
	}
	if string(held) != "original" || string(heldKB) != "original" || many["set"] != "original" || string(heldMany["set"]) != "original" {
		t.Errorf("values returned by Get/GetKeyBytes/GetMany changed after Set of the same length: %q, %q, %q", held, heldKB, heldMany["set"])
	}
	set(t, c, "n", "41", cache.DefaultTimeout)
	heldN, _, _ := c.Get(bg, "n")
	wantIncr(t, c, "n", 1, 42)
	wantIncr(t, c, "n", -1, 41)
	wantIncr(t, c, "n", 1, 42)
	if string(heldN) != "41" {
		t.Errorf("value returned by Get changed after Incr: %q, want \"41\"", heldN)
	}
}

// Close: every later call fails with ErrClosed, on every view; closing
// twice is fine.
func (s *suite) testClose(t *testing.T) {
	c, _ := s.newCache(t)
	set(t, c, "k", "v", cache.DefaultTimeout)
	v2 := c.WithVersion(2)
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := v2.Close(); err != nil {
		t.Errorf("Close of a version view after Close: %v", err)
	}
	for _, cc := range []*cache.Cache{c, v2} {
		for _, op := range allOps {
			err := op.run(bg, cc, "k")
			wantErrIs(t, op.name+" after Close", err, cache.ErrClosed)
		}
	}
	_ = c.Stats() // still readable
	// Backend.Close is safe to call twice.
	if err := c.Backend().Close(); err != nil {
		t.Errorf("Backend().Close() after Cache.Close: %v, want nil (safe to call twice)", err)
	}
}

func (s *suite) testNilContext(t *testing.T) {
	c, _ := s.newCache(t)
	var nilCtx context.Context
	for _, op := range allOps {
		err := op.run(nilCtx, c, "k")
		wantErrIs(t, op.name+" with a nil context", err, cache.ErrNilContext)
	}
}

// Stats move as stats.go documents.
func (s *suite) testStats(t *testing.T) {
	c, _ := s.newCache(t, cache.WithKeyCheck(cache.KeyCheckReject))
	var want cache.Stats
	step := func(what string, f func()) {
		t.Helper()
		f()
		// The cache's own counters: a backend's near cache and breaker
		// report what they see of their own.
		got := c.Stats()
		got.Near, want.Near = cache.NearStats{}, cache.NearStats{}
		got.Backend, want.Backend = cache.BackendHealth{}, cache.BackendHealth{}
		got.Servers, want.Servers = nil, nil
		if !reflect.DeepEqual(got, want) {
			t.Errorf("after %s: Stats() = %+v, want %+v", what, got, want)
			want = got
		}
	}
	step("nothing", func() {})
	step("Get miss", func() { get(t, c, "a"); want.Misses++ })
	step("Set", func() { set(t, c, "a", "1", cache.DefaultTimeout); want.Sets++ })
	step("Get hit", func() { get(t, c, "a"); want.Hits++ })
	step("GetKeyBytes hit", func() { c.GetKeyBytes(bg, []byte("a")); want.Hits++ })
	step("GetKeyBytes miss", func() { c.GetKeyBytes(bg, []byte("zz")); want.Misses++ })
	step("Add that stores", func() { add(t, c, "b", "2", cache.DefaultTimeout); want.Sets++ })
	step("Add that does not store", func() { add(t, c, "b", "3", cache.DefaultTimeout) })
	step("GetMany of a hit, a miss and a duplicate", func() {
		getMany(t, c, "a", "nope", "a")
		want.Hits++
		want.Misses++
	})
	step("SetMany of 2", func() {
		setMany(t, c, map[string]string{"c": "3", "d": "4"}, cache.DefaultTimeout)
		want.Sets += 2
	})
	step("Delete that deletes", func() { del(t, c, "a"); want.Deletes++ })
	step("Delete of a missing key", func() { del(t, c, "a") })
	step("DeleteMany of 2 present keys", func() { c.DeleteMany(bg, []string{"c", "d"}); want.Deletes += 2 })
	step("Incr", func() { wantIncr(t, c, "b", 1, 3); want.Sets++ })
	step("Incr of a missing key", func() { c.Incr(bg, "nope", 1); want.Errors++ })
	step("Has and Touch", func() { c.Has(bg, "b"); c.Touch(bg, "b", cache.Forever) })
	step("a rejected key", func() { c.Get(bg, "bad key"); want.Errors++ })
	step("GetOrSet that loads", func() {
		getOrSet(t, c, "g", loader("v", nil), cache.DefaultTimeout)
		want.Misses++
		want.Sets++
	})
	step("GetOrSet that hits", func() { getOrSet(t, c, "g", loader("v", nil), cache.DefaultTimeout); want.Hits++ })
	step("Set through a version view", func() { set(t, c.WithVersion(2), "e", "5", cache.DefaultTimeout); want.Sets++ })
	step("Get hit through a version view", func() { get(t, c.WithVersion(2), "e"); want.Hits++ })
	if r := c.Stats().HitRate(); math.Abs(r-float64(want.Hits)/float64(want.Hits+want.Misses)) > 1e-12 {
		t.Errorf("HitRate() = %v, want Hits/(Hits+Misses)", r)
	}
	if r := (cache.Stats{}).HitRate(); r != 0 {
		t.Errorf("HitRate() before any lookup = %v, want 0", r)
	}

	// Deletes counts keys removed: a missing key in DeleteMany is not one.
	t.Run("delete_many_counts_removed_keys", func(t *testing.T) {
		set(t, c, "x", "1", cache.DefaultTimeout)
		before := c.Stats().Deletes
		if err := c.DeleteMany(bg, []string{"x", "missing1", "missing2"}); err != nil {
			t.Fatal(err)
		}
		got := c.Stats().Deletes - before
		if got != 1 {
			if _, many := c.Backend().(cache.ManyDeleter); many {
				t.Skipf("TODO(core): Cache.DeleteMany counts %d deletes for 1 removed key: with a cache.ManyDeleter "+
					"it counts every key asked for, since ManyDeleter cannot report how many it removed", got)
			}
			t.Errorf("DeleteMany of 1 present and 2 missing keys added %d to Deletes, want 1", got)
		}
	})
}
