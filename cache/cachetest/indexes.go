package cachetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
)

// needIndexes skips t for a backend without indexes, and returns the
// cache's Indexer.
func (s *suite) needIndexes(t testing.TB, c *cache.Cache) cache.Indexer {
	t.Helper()
	if !s.h.Indexes {
		t.Skip("needs Harness.Indexes")
	}
	ix, ok := cache.As[cache.Indexer](c.Backend())
	if !ok {
		t.Fatalf("Harness.Indexes, but the %T backend is no cache.Indexer", c.Backend())
	}
	return ix
}

// members returns the sorted members of the index key.
func members(t testing.TB, ix cache.Indexer, key string) []string {
	t.Helper()
	m, err := ix.IndexMembers(bg, key)
	if err != nil {
		t.Fatalf("IndexMembers(%q): %v", key, err)
	}
	slices.Sort(m)
	return m
}

func indexAdd(t testing.TB, ix cache.Indexer, key, member string, timeout cache.Timeout) {
	t.Helper()
	if err := ix.IndexAdd(bg, key, member, timeout); err != nil {
		t.Fatalf("IndexAdd(%q, %q, %s): %v", key, member, timeout, err)
	}
}

func (s *suite) testIndexMembers(t *testing.T) {
	c, _ := s.newCache(t)
	ix := s.needIndexes(t, c)
	key := cache.VariantIndexKey(c.MakeKey(cache.FragmentKeyPrefix + "t"))
	other := cache.VariantIndexKey(c.MakeKey(cache.FragmentKeyPrefix + "u"))
	if m := members(t, ix, key); len(m) != 0 {
		t.Fatalf("IndexMembers of an index never written = %q, want none", m)
	}
	m1, m2, m3 := c.MakeKey("a"), c.MakeKey("b"), c.MakeKey("naïve·ключ")
	for _, k := range []string{"a", "b", "naïve·ключ"} {
		set(t, c, k, "v", cache.DefaultTimeout)
	}
	indexAdd(t, ix, key, m1, cache.Seconds(300))
	indexAdd(t, ix, key, m2, cache.Seconds(300))
	indexAdd(t, ix, key, m1, cache.Seconds(300))
	indexAdd(t, ix, key, m3, cache.Forever)
	indexAdd(t, ix, key, m2, cache.Seconds(60))
	want := []string{m1, m2, m3}
	slices.Sort(want)
	if m := members(t, ix, key); !slices.Equal(m, want) {
		t.Fatalf("IndexMembers = %q, want %q (each once)", m, want)
	}
	if m := members(t, ix, other); len(m) != 0 {
		t.Fatalf("another index holds %q, want none", m)
	}
	// An entry stored already expired need not be indexed; it must not
	// fail.
	if err := ix.IndexAdd(bg, other, m1, cache.Expired); err != nil {
		t.Errorf("IndexAdd with an expired timeout: %v", err)
	}
	// The index is not a value.
	wantGet(t, c, "a", "v")
	if err := ix.IndexDelete(bg, key); err != nil {
		t.Fatalf("IndexDelete: %v", err)
	}
	if m := members(t, ix, key); len(m) != 0 {
		t.Fatalf("IndexMembers after IndexDelete = %q, want none", m)
	}
	if err := ix.IndexDelete(bg, key); err != nil {
		t.Fatalf("IndexDelete of a deleted index: %v", err)
	}
	wantGet(t, c, "a", "v") // deleting an index deletes no entry
	// Clear removes indexes too (or leaves them listing nothing alive).
	indexAdd(t, ix, key, m1, cache.Seconds(300))
	if err := c.Clear(bg); err != nil {
		t.Fatal(err)
	}
	wantGet(t, c, "a", miss)
}

// testIndexLife: an index lives at least as long as the longest-lived
// member added to it, whatever the order.
func (s *suite) testIndexLife(t *testing.T) {
	c, clk := s.newCache(t)
	ix := s.needIndexes(t, c)
	unit := s.h.Granularity
	switch {
	case clk != nil:
		unit = 10 * time.Second
	case unit == 0:
		t.Skip("needs Harness.Clock or Harness.Granularity")
	}
	long := cache.VariantIndexKey(c.MakeKey(cache.FragmentKeyPrefix + "long"))
	never := cache.VariantIndexKey(c.MakeKey(cache.FragmentKeyPrefix + "never"))
	units := func(n int) cache.Timeout { return cache.Timeout(time.Duration(n) * unit) }
	indexAdd(t, ix, long, c.MakeKey("l1"), units(5))
	indexAdd(t, ix, long, c.MakeKey("l2"), units(1))
	indexAdd(t, ix, never, c.MakeKey("n1"), cache.Forever)
	indexAdd(t, ix, never, c.MakeKey("n2"), units(1))
	if clk != nil {
		clk.Advance(3 * unit)
	} else {
		time.Sleep(3 * unit)
	}
	if m := members(t, ix, long); len(m) != 2 {
		t.Errorf("after 3 units, the index of a member stored for 5 then of one stored for 1 holds %q, want both", m)
	}
	if m := members(t, ix, never); len(m) != 2 {
		t.Errorf("after 3 units, the index of a member stored forever then of one stored for 1 holds %q, want both", m)
	}
}

// testIndexFull fills an index to its bound: one more member is refused
// with ErrIndexFull while every entry lives, and accepted once some are
// gone, which the index then no longer lists.
func (s *suite) testIndexFull(t *testing.T) {
	c, _ := s.newCache(t)
	ix := s.needIndexes(t, c)
	n := s.h.MaxIndexMembers
	if n == 0 {
		n = cache.MaxIndexMembers
	}
	key := cache.VariantIndexKey(c.MakeKey(cache.FragmentKeyPrefix + "full"))
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("full.%d", i)
	}
	const chunk = 500
	for start := 0; start < n; start += chunk {
		items := map[string][]byte{}
		for _, k := range keys[start:min(start+chunk, n)] {
			items[k] = []byte("v")
		}
		if failed, err := c.SetMany(bg, items, cache.Seconds(600)); err != nil || len(failed) > 0 {
			t.Fatalf("SetMany: %v (failed %d)", err, len(failed))
		}
	}
	sample := []string{keys[0], keys[n/2], keys[n-1]}
	if got := getMany(t, c, sample...); len(got) != len(sample) {
		t.Skipf("the backend does not hold %d entries (culled: raise its MaxEntries)", n)
	}
	// Fill the index from several goroutines at once.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				if err := ix.IndexAdd(bg, key, c.MakeKey(keys[i]), cache.Seconds(600)); err != nil {
					errs <- fmt.Errorf("IndexAdd of member %d: %w", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if m := members(t, ix, key); len(m) != n {
		t.Fatalf("the index holds %d members, want %d", len(m), n)
	}
	extra := c.MakeKey("full.extra")
	set(t, c, "full.extra", "v", cache.Seconds(600))
	if err := ix.IndexAdd(bg, key, extra, cache.Seconds(600)); !errors.Is(err, cache.ErrIndexFull) {
		t.Fatalf("IndexAdd to a full index of live entries: %v, want an error wrapping ErrIndexFull", err)
	}
	// A member already there is no new member.
	if err := ix.IndexAdd(bg, key, c.MakeKey(keys[0]), cache.Seconds(600)); err != nil {
		t.Fatalf("IndexAdd of a member of a full index: %v", err)
	}
	// Half the entries go: the next member makes room by dropping them.
	gone := map[string]bool{}
	var del []string
	for i := 0; i < n; i += 2 {
		del = append(del, keys[i])
		gone[c.MakeKey(keys[i])] = true
	}
	if err := c.DeleteMany(bg, del); err != nil {
		t.Fatal(err)
	}
	indexAdd(t, ix, key, extra, cache.Seconds(600))
	m := members(t, ix, key)
	if len(m) > n {
		t.Errorf("the compacted index holds %d members, over its bound %d", len(m), n)
	}
	if !slices.Contains(m, extra) {
		t.Errorf("the compacted index lacks the member just added")
	}
	for _, k := range m {
		if gone[k] {
			t.Fatalf("the compacted index still lists %q, whose entry was deleted", k)
		}
	}
	if len(m) != n-len(del)+1 {
		t.Errorf("the compacted index holds %d members, want the %d live ones", len(m), n-len(del)+1)
	}
}

// testInvalidateFragmentVariants: every variant of a name, written by Set,
// Add, SetMany and SetEntry, is deleted, and nothing else: not the
// variants of other names (one extending the name with letters, one with
// a dot), nor those at another version or key prefix.
func (s *suite) testInvalidateFragmentVariants(t *testing.T) {
	c, _ := s.newCache(t)
	v2 := c.WithVersion(2)
	p := view(t, c, cache.WithKeyPrefix("other"))
	var variants, others []string
	for i := range 20 {
		variants = append(variants, cache.FragmentKey("side", i, "user"))
	}
	for _, name := range []string{"sidebar", "side.bar", "sid", "x.side"} {
		for i := range 3 {
			others = append(others, cache.FragmentKey(name, i, "user"))
		}
	}
	for _, k := range variants[:10] {
		set(t, c, k, "html "+k, cache.Seconds(600))
	}
	for _, k := range variants[10:13] {
		if !add(t, c, k, "html "+k, cache.Forever) {
			t.Fatalf("Add(%q) did not store", k)
		}
	}
	items := map[string][]byte{}
	for _, k := range variants[13:18] {
		items[k] = []byte("html " + k)
	}
	if failed, err := c.SetMany(bg, items, cache.Seconds(600)); err != nil || len(failed) > 0 {
		t.Fatalf("SetMany: %v (failed %q)", err, failed)
	}
	for _, k := range variants[18:] {
		if err := c.SetEntry(bg, k, []byte("html "+k), cache.Seconds(600), cache.Stampede{}, time.Millisecond); err != nil {
			t.Fatalf("SetEntry(%q): %v", k, err)
		}
	}
	for _, k := range others {
		set(t, c, k, "other "+k, cache.Seconds(600))
	}
	// The same name at version 2 and under another prefix.
	set(t, v2, variants[0], "v2", cache.Seconds(600))
	set(t, p, variants[0], "prefixed", cache.Seconds(600))
	// Not a fragment key, but starting like one.
	set(t, c, cache.FragmentKeyPrefix+"side.notahash", "plain", cache.Seconds(600))

	// A variant only Django wrote (stored past the index) is found where
	// the backend can enumerate its keys.
	var django string
	if _, ok := cache.As[cache.PrefixDeleter](c.Backend()); ok {
		django = cache.FragmentKey("side", "from django")
		if err := c.Backend().Set(bg, c.MakeKey(django), []byte("django"), cache.Seconds(600)); err != nil {
			t.Fatal(err)
		}
	}

	if s.h.Indexes {
		ix := s.needIndexes(t, c)
		idx := cache.VariantIndexKey(c.MakeKey(cache.FragmentKeyPrefix + "side"))
		if m := members(t, ix, idx); len(m) != len(variants) {
			t.Errorf("the index of \"side\" holds %d members, want the %d variants stored", len(m), len(variants))
		}
	}
	n, err := c.InvalidateFragmentVariants(bg, "side")
	if err != nil {
		t.Fatalf("InvalidateFragmentVariants: %v", err)
	}
	want := len(variants)
	if django != "" {
		want++
	}
	if !s.h.Indexes && django == "" {
		want = 0
	}
	if n != want {
		t.Errorf("InvalidateFragmentVariants deleted %d entries, want %d", n, want)
	}
	if s.h.Indexes || django != "" {
		for _, k := range variants {
			wantGet(t, c, k, miss)
		}
		if django != "" {
			wantGet(t, c, django, miss)
		}
	}
	for _, k := range others {
		wantGet(t, c, k, "other "+k)
	}
	wantGet(t, v2, variants[0], "v2")
	wantGet(t, p, variants[0], "prefixed")
	wantGet(t, c, cache.FragmentKeyPrefix+"side.notahash", "plain")
	if s.h.Indexes {
		ix := s.needIndexes(t, c)
		if m := members(t, ix, cache.VariantIndexKey(c.MakeKey(cache.FragmentKeyPrefix+"side"))); len(m) != 0 {
			t.Errorf("the index of \"side\" still holds %q", m)
		}
	}
	// Stored again, a variant is indexed again and invalidated again.
	set(t, c, variants[0], "again", cache.Seconds(600))
	if n, err := c.InvalidateFragmentVariants(bg, "side"); err != nil || (s.h.Indexes && n != 1) {
		t.Errorf("a second InvalidateFragmentVariants = %d, %v; want 1, nil", n, err)
	}
	if s.h.Indexes {
		wantGet(t, c, variants[0], miss)
	}
	// Version 2 is invalidated by its own call.
	if _, err := v2.InvalidateFragmentVariants(bg, "side"); err != nil {
		t.Fatal(err)
	}
	if s.h.Indexes {
		wantGet(t, v2, variants[0], miss)
	}
	wantGet(t, p, variants[0], "prefixed")
	for _, k := range others {
		wantGet(t, c, k, "other "+k)
	}
}

func (s *suite) testInvalidateFragmentVariantsErrors(t *testing.T) {
	c, _ := s.newCache(t)
	for _, name := range []string{"", "two words", "tab\tname"} {
		if _, err := c.InvalidateFragmentVariants(bg, name); !errors.Is(err, cache.ErrInvalidOption) {
			t.Errorf("InvalidateFragmentVariants(%q): %v, want an error wrapping ErrInvalidOption", name, err)
		}
	}
	if n, err := c.InvalidateFragmentVariants(bg, "never.stored"); err != nil || n != 0 {
		t.Errorf("InvalidateFragmentVariants of a name never stored = %d, %v; want 0, nil", n, err)
	}
}
