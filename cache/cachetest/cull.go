package cachetest

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/fragcache/fragcache/cache"
)

// newCulling returns a culling cache and its clock, or skips t.
func (s *suite) newCulling(t *testing.T, maxEntries, cullFrequency int, opts ...cache.Option) (*cache.Cache, *FakeClock) {
	t.Helper()
	if s.h.NewCulling == nil {
		t.Skip("needs Harness.NewCulling")
	}
	clk, now := s.clockNow()
	c := s.h.NewCulling(t, now, maxEntries, cullFrequency, opts...)
	if c == nil {
		t.Fatal("cachetest: Harness.NewCulling returned nil")
	}
	return c, clk
}

func (s *suite) needLRU(t *testing.T) {
	t.Helper()
	if !s.h.CullLRU {
		t.Skip("needs Semantics.CullLRU")
	}
}

// survivors returns which of keys are present, checked with Has (which
// does not change the LRU order).
func survivors(t testing.TB, c *cache.Cache, keys []string) []string {
	t.Helper()
	var out []string
	for _, k := range keys {
		ok, err := c.Has(bg, k)
		if err != nil {
			t.Fatalf("Has(%q): %v", k, err)
		}
		if ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func wantSurvivors(t testing.TB, c *cache.Cache, what string, keys, want []string) {
	t.Helper()
	want = append([]string(nil), want...)
	sort.Strings(want)
	got := survivors(t, c, keys)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("%s: present keys %q, want %q", what, got, want)
	}
}

// performCull is Django's _perform_cull_test: set initial-1 keys into the
// culling cache, then count the survivors.
func (s *suite) performCull(t *testing.T, maxEntries, cullFrequency, initial, final int) {
	c, _ := s.newCulling(t, maxEntries, cullFrequency)
	for i := 1; i < initial; i++ {
		set(t, c, fmt.Sprintf("cull%d", i), "value", cache.Seconds(1000))
	}
	count := 0
	for i := 1; i < initial; i++ {
		ok, err := c.Has(bg, fmt.Sprintf("cull%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			count++
		}
	}
	if count != final {
		t.Errorf("after %d sets into MAX_ENTRIES=%d, CULL_FREQUENCY=%d: %d keys left, want %d", initial-1, maxEntries, cullFrequency, count, final)
	}
}

func (s *suite) testCull(t *testing.T) { s.performCull(t, 30, 3, 50, 29) }
func (s *suite) testZeroCull(t *testing.T) {
	if s.h.CullOverMax {
		s.performCull(t, 30, 0, 50, 18) // DBCacheTests.test_zero_cull
		return
	}
	s.performCull(t, 30, 0, 50, 19)
}

func intKeys(from, to int) []string {
	var ks []string
	for i := from; i < to; i++ {
		ks = append(ks, strconv.Itoa(i))
	}
	return ks
}

// LocMemCacheTests.test_lru_get: get() moves cache keys (MAX_ENTRIES 9).
func (s *suite) testLRUGet(t *testing.T) {
	s.needLRU(t)
	c, _ := s.newCulling(t, 9, 3)
	for _, k := range intKeys(0, 9) {
		set(t, c, k, k, cache.Forever)
	}
	for _, k := range intKeys(0, 6) {
		wantGet(t, c, k, k)
	}
	set(t, c, "9", "9", cache.Forever)
	for _, k := range intKeys(0, 6) {
		wantGet(t, c, k, k)
	}
	for _, k := range intKeys(6, 9) {
		wantGet(t, c, k, miss)
	}
	wantGet(t, c, "9", "9")
}

// LocMemCacheTests.test_lru_set: set() moves cache keys, and a full store
// culls even when overwriting.
func (s *suite) testLRUSet(t *testing.T) {
	s.needLRU(t)
	c, _ := s.newCulling(t, 9, 3)
	for _, k := range intKeys(0, 9) {
		set(t, c, k, k, cache.Forever)
	}
	for _, k := range intKeys(3, 9) {
		set(t, c, k, k, cache.Forever)
	}
	set(t, c, "9", "9", cache.Forever)
	for _, k := range intKeys(3, 10) {
		wantGet(t, c, k, k)
	}
	for _, k := range intKeys(0, 3) {
		wantGet(t, c, k, miss)
	}
}

// LocMemCacheTests.test_lru_incr: incr() moves cache keys.
func (s *suite) testLRUIncr(t *testing.T) {
	s.needLRU(t)
	c, _ := s.newCulling(t, 9, 3)
	for _, k := range intKeys(0, 9) {
		set(t, c, k, k, cache.Forever)
	}
	for i := range 6 {
		wantIncr(t, c, strconv.Itoa(i), 1, int64(i+1))
	}
	set(t, c, "9", "9", cache.Forever)
	for i := range 6 {
		wantInt(t, c, strconv.Itoa(i), int64(i+1))
	}
	for _, k := range intKeys(6, 9) {
		wantGet(t, c, k, miss)
	}
	wantGet(t, c, "9", "9")
}

// Touch, Has and a missed Get do not make an entry recently used; Add that
// stores does.
func (s *suite) testLRUTouchHas(t *testing.T) {
	s.needLRU(t)
	keys := []string{"k0", "k1", "k2", "k3", "k4", "k5"}
	c, _ := s.newCulling(t, 4, 2)
	for _, k := range keys[:4] {
		set(t, c, k, "v", cache.Forever)
	}
	wantTouch(t, c, "k0", cache.Forever, true)
	wantHas(t, c, "k1", true)
	wantGet(t, c, "zz", miss)
	set(t, c, "k4", "v", cache.Forever) // culls the 2 least recently used: k0, k1
	wantSurvivors(t, c, "touch and has do not reorder", keys, []string{"k2", "k3", "k4"})

	c, _ = s.newCulling(t, 4, 2)
	for _, k := range keys[:3] {
		set(t, c, k, "v", cache.Forever)
	}
	wantAdd(t, c, "k0", "v", cache.Forever, false) // does not store: no move
	wantAdd(t, c, "k3", "v", cache.Forever, true)  // now k3, k2, k1, k0
	wantGet(t, c, "k0", "v")                       // k0, k3, k2, k1
	set(t, c, "k4", "v", cache.Forever)            // culls k1, k2
	wantSurvivors(t, c, "add and get reorder", keys, []string{"k0", "k3", "k4"})
}

// testGoldenLRU replays the golden locmem_lru trace (MAX_ENTRIES=4,
// CULL_FREQUENCY=2, then CULL_FREQUENCY=0), checking which keys survive.
func (s *suite) testGoldenLRU(t *testing.T) {
	s.needLRU(t)
	g := loadGolden(t)
	if len(g.LocmemLRU) < 5 {
		t.Fatalf("golden locmem_lru has %d steps, want at least 5", len(g.LocmemLRU))
	}
	keys := []string{"k0", "k1", "k2", "k3", "k4", "k5"}
	c, _ := s.newCulling(t, 4, 2)
	step := func(i int, what string) {
		t.Helper()
		var order []string
		if err := g.LocmemLRU[i].field("order_mru_first", &order); err != nil {
			t.Fatal(err)
		}
		for j, mk := range order {
			order[j] = strings.TrimPrefix(mk, ":1:")
		}
		wantSurvivors(t, c, what, keys, order)
	}
	for i := range 4 {
		set(t, c, keys[i], strconv.Itoa(i), cache.DefaultTimeout)
	}
	wantGet(t, c, "k0", "0")
	set(t, c, "k4", "4", cache.DefaultTimeout)
	step(0, "set k0..k3, get k0, set k4")
	set(t, c, "k5", "5", cache.DefaultTimeout)
	step(1, "set k5")
	wantIncr(t, c, "k4", 1, 5)
	wantTouch(t, c, "k5", cache.DefaultTimeout, true)
	step(2, "incr k4, touch k5")
	set(t, c, "k4", "9", cache.DefaultTimeout)
	step(3, "set existing k4 while full")

	z, _ := s.newCulling(t, 4, 0)
	zk := []string{"z0", "z1", "z2", "z3", "z4"}
	for _, k := range zk {
		set(t, z, k, "v", cache.DefaultTimeout)
	}
	var want []string
	if err := g.LocmemLRU[4].field("keys", &want); err != nil {
		t.Fatal(err)
	}
	for j, mk := range want {
		want[j] = strings.TrimPrefix(mk, ":1:")
	}
	wantSurvivors(t, z, "CULL_FREQUENCY=0, MAX_ENTRIES=4: set z0..z4", zk, want)
}
