package cachetest

import (
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
)

// runDummy runs Django's DummyCacheTests, and the checks that hold for a
// backend storing nothing.
func (s *suite) runDummy(t *testing.T) {
	tests := []struct {
		name string
		f    func(*testing.T)
	}{
		{"test_simple", s.dummySimple},
		{"test_add", s.dummyAdd},
		{"test_non_existent", s.dummyNonExistent},
		{"test_get_many", s.dummyGetMany},
		{"test_get_many_invalid_key", s.dummyInvalidKey("GetMany")},
		{"test_delete", s.dummyDelete},
		{"test_has_key", s.dummyHasKey},
		{"test_incr", s.dummyIncr},
		{"test_decr", s.dummyDecr},
		{"test_touch", s.dummyTouch},
		{"test_expiration", s.dummyExpiration},
		{"test_unicode", s.dummyUnicode},
		{"test_set_many", s.dummySetMany},
		{"test_set_many_invalid_key", s.dummyInvalidKey("SetMany")},
		{"test_delete_many", s.dummyDeleteMany},
		{"test_delete_many_invalid_key", s.dummyInvalidKey("DeleteMany")},
		{"test_clear", s.dummyClear},
		{"test_incr_version", s.dummyIncrVersion},
		{"test_decr_version", s.dummyDecrVersion},
		{"test_get_or_set", s.dummyGetOrSet},
		{"test_get_or_set_callable", s.dummyGetOrSet},
		{"get_or_set_single_flight", s.dummyGetOrSetFlight},
		{"stampede_stores_nothing", s.dummyStampede},
		{"test_make_key", s.dummyMakeKey},
		{"test_invalid_key_characters", s.testInvalidKeyCharacters},
		{"test_invalid_key_length", s.testInvalidKeyLength},
		{"invalid_key_rejected", s.testInvalidKeyRejected},
		{"test_close", s.testClose},
		{"nil_context", s.testNilContext},
		{"stats", s.dummyStats},
		{"golden_api", s.testGoldenAPI},
		{"concurrent_mixed", s.testConcurrentMixed},
		{"lease_errors", s.testLeaseErrors},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.f)
	}
}

func (s *suite) dummySimple(t *testing.T) {
	c, _ := s.newCache(t)
	set(t, c, "key", "value", cache.DefaultTimeout)
	wantGet(t, c, "key", miss)
	set(t, c, "forever", "value", cache.Forever)
	wantGet(t, c, "forever", miss)
	if v, ok, err := c.GetKeyBytes(bg, []byte("key")); ok || v != nil || err != nil {
		t.Errorf("GetKeyBytes = %q, %v, %v; want a miss", v, ok, err)
	}
}

func (s *suite) dummyAdd(t *testing.T) {
	c, _ := s.newCache(t)
	wantAdd(t, c, "addkey1", "value", cache.DefaultTimeout, true)
	wantAdd(t, c, "addkey1", "newvalue", cache.DefaultTimeout, true)
	wantGet(t, c, "addkey1", miss)
}

func (s *suite) dummyNonExistent(t *testing.T) {
	c, _ := s.newCache(t)
	v, ok, err := c.Get(bg, "does_not_exist")
	if v != nil || ok || err != nil {
		t.Errorf("Get = %q, %v, %v; want nil, false, nil", v, ok, err)
	}
}

func (s *suite) dummyGetMany(t *testing.T) {
	c, _ := s.newCache(t)
	setMany(t, c, map[string]string{"a": "a", "b": "b", "c": "c", "d": "d"}, cache.DefaultTimeout)
	wantGetMany(t, c, []string{"a", "c", "d"}, map[string]string{})
	wantGetMany(t, c, []string{"a", "b", "e"}, map[string]string{})
}

// dummyInvalidKey: a key memcached cannot take is still warned about.
func (s *suite) dummyInvalidKey(method string) func(*testing.T) {
	return func(t *testing.T) {
		logs := newLogCapture()
		c, _ := s.newCache(t, cache.WithLogger(logs.logger()))
		want := msgChars + "':1:key with spaces'"
		for _, op := range keyOps {
			if op.name != method {
				continue
			}
			if err := op.run(bg, c, "key with spaces"); err != nil {
				t.Errorf("%s: %v", method, err)
			}
			msgs := logs.take(t)
			found := false
			for _, m := range msgs {
				found = found || m == want
			}
			if !found {
				t.Errorf("%s: warnings %q, want %q", method, msgs, want)
			}
		}
	}
}

func (s *suite) dummyDelete(t *testing.T) {
	c, _ := s.newCache(t)
	setMany(t, c, map[string]string{"key1": "spam", "key2": "eggs"}, cache.DefaultTimeout)
	wantGet(t, c, "key1", miss)
	wantDelete(t, c, "key1", false)
	wantGet(t, c, "key1", miss)
	wantGet(t, c, "key2", miss)
}

func (s *suite) dummyHasKey(t *testing.T) {
	c, _ := s.newCache(t)
	set(t, c, "hello1", "goodbye1", cache.DefaultTimeout)
	wantHas(t, c, "hello1", false)
	wantHas(t, c, "goodbye1", false)
}

func (s *suite) dummyIncr(t *testing.T) {
	c, _ := s.newCache(t)
	set(t, c, "answer", "42", cache.DefaultTimeout)
	for _, k := range []string{"answer", "does_not_exist"} {
		for _, d := range []int64{1, -1} {
			_, err := c.Incr(bg, k, d)
			s.wantNotFound(t, "Incr", c, k, err)
		}
	}
}

func (s *suite) dummyDecr(t *testing.T) {
	c, _ := s.newCache(t)
	set(t, c, "answer", "42", cache.DefaultTimeout)
	for _, k := range []string{"answer", "does_not_exist"} {
		for _, d := range []int64{1, -1} {
			_, err := c.Decr(bg, k, d)
			s.wantNotFound(t, "Decr", c, k, err)
		}
	}
}

func (s *suite) dummyTouch(t *testing.T) {
	c, _ := s.newCache(t)
	wantTouch(t, c, "whatever", cache.DefaultTimeout, false)
	set(t, c, "whatever", "v", cache.Forever)
	wantTouch(t, c, "whatever", cache.Forever, false)
}

func (s *suite) dummyExpiration(t *testing.T) {
	c, clk := s.newCache(t)
	set(t, c, "expire1", "very quickly", cache.Seconds(1))
	set(t, c, "expire2", "very quickly", cache.Seconds(1))
	set(t, c, "expire3", "very quickly", cache.Seconds(1))
	if clk != nil {
		clk.Advance(2 * time.Second)
	}
	wantGet(t, c, "expire1", miss)
	wantAdd(t, c, "expire2", "newvalue", cache.DefaultTimeout, true)
	wantGet(t, c, "expire2", miss)
	wantHas(t, c, "expire3", false)
}

func (s *suite) dummyUnicode(t *testing.T) {
	c, _ := s.newCache(t)
	stuff := map[string]string{
		"ascii":                "ascii_value",
		"unicode_ascii":        "Iñtërnâtiônàlizætiøn1",
		"Iñtërnâtiônàlizætiøn": "Iñtërnâtiônàlizætiøn2",
		"ascii2":               `{"x": 1}`,
	}
	for k, v := range stuff {
		set(t, c, k, v, cache.DefaultTimeout)
		wantGet(t, c, k, miss)
	}
	setMany(t, c, stuff, cache.DefaultTimeout)
	for k := range stuff {
		wantGet(t, c, k, miss)
	}
}

func (s *suite) dummySetMany(t *testing.T) {
	c, _ := s.newCache(t)
	setMany(t, c, map[string]string{"a": "1", "b": "2"}, cache.DefaultTimeout)
	setMany(t, c.WithVersion(1), map[string]string{"a": "1", "b": "2"}, cache.Seconds(2))
}

func (s *suite) dummyDeleteMany(t *testing.T) {
	c, _ := s.newCache(t)
	if err := c.DeleteMany(bg, []string{"a", "b"}); err != nil {
		t.Errorf("DeleteMany: %v", err)
	}
}

func (s *suite) dummyClear(t *testing.T) {
	c, _ := s.newCache(t)
	if err := c.Clear(bg); err != nil {
		t.Errorf("Clear: %v", err)
	}
}

func (s *suite) dummyIncrVersion(t *testing.T) {
	c, _ := s.newCache(t)
	set(t, c, "answer", "42", cache.DefaultTimeout)
	for _, k := range []string{"answer", "does_not_exist"} {
		_, err := c.IncrVersion(bg, k, 1)
		wantVersionNotFound(t, "IncrVersion", k, err)
	}
}

func (s *suite) dummyDecrVersion(t *testing.T) {
	c, _ := s.newCache(t)
	set(t, c, "answer", "42", cache.DefaultTimeout)
	for _, k := range []string{"answer", "does_not_exist"} {
		_, err := c.DecrVersion(bg, k, 1)
		wantVersionNotFound(t, "DecrVersion", k, err)
	}
}

// get_or_set returns the loaded value every time, and loads every time.
func (s *suite) dummyGetOrSet(t *testing.T) {
	c, _ := s.newCache(t)
	if got := getOrSet(t, c, "mykey", loader("default", nil), cache.DefaultTimeout); got != "default" {
		t.Errorf("GetOrSet = %s, want \"default\"", show(got))
	}
	if got := getOrSet(t, c, "mykey", loader("other", nil), cache.DefaultTimeout); got != "other" {
		t.Errorf("second GetOrSet = %s, want the newly loaded \"other\"", show(got))
	}
	if got := getOrSet(t, c, "mykey", loader("", nil), cache.DefaultTimeout); got != "" {
		t.Errorf("GetOrSet of an empty value = %s, want \"\"", show(got))
	}
}

// Concurrent misses still share one load while it runs.
func (s *suite) dummyGetOrSetFlight(t *testing.T) {
	c, _ := s.newCache(t)
	calls, got := getOrSetFlight(t, c, 64)
	if calls < 1 {
		t.Errorf("load called %d times", calls)
	}
	for i, v := range got {
		if v != "loaded" {
			t.Errorf("goroutine %d got %s, want \"loaded\"", i, show(v))
		}
	}
}

func (s *suite) dummyMakeKey(t *testing.T) {
	c, _ := s.newCache(t)
	if got := c.MakeKey("k"); got != ":1:k" {
		t.Errorf("MakeKey(\"k\") = %q, want \":1:k\"", got)
	}
}

func (s *suite) dummyStats(t *testing.T) {
	c, _ := s.newCache(t)
	get(t, c, "a")
	getMany(t, c, "a", "b")
	if st := c.Stats(); st.Misses != 3 || st.Hits != 0 {
		t.Errorf("Stats after 3 lookups = %+v, want 3 misses and no hits", st)
	}
}
