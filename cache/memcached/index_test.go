package memcached_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/memcached"
	"github.com/fragcache/fragcache/internal/indextest"
	"github.com/fragcache/fragcache/internal/testserver"
)

// TestHelperIndexProcess is not a test: TestIndexProcesses runs it in
// other processes.
func TestHelperIndexProcess(t *testing.T) { indextest.Helper(t, openLease) }

// TestIndexes checks the index items on one server shared by its subtests:
//
//   - processes: four processes write variants of two fragment names at
//     once (appends to one index item); one InvalidateFragmentVariants
//     removes every variant of the first, and none of the second;
//   - item: the index item's form and expiry;
//   - concurrent_compaction: compaction by cas loses no member.
func TestIndexes(t *testing.T) {
	srv := testserver.Memcached(t)
	t.Run("processes", func(t *testing.T) {
		indextest.Processes(t, "TestHelperIndexProcess", "memcached://"+srv.Addr+"?failopen=0&op_timeout=10s", openLease)
	})
	t.Run("item", func(t *testing.T) { testIndexItem(t, srv) })
	t.Run("concurrent_compaction", func(t *testing.T) { testIndexConcurrentCompaction(t, srv) })
}

// testIndexItem: the index is one item under the side key, members one
// per line after the deadline, hashed when memcached cannot take the key;
// a longer-lived member raises the deadline and the item's expiry, a
// shorter-lived one does not lower them.
func testIndexItem(t *testing.T, srv *testserver.Server) {
	now := time.Unix(1900000000, 0)
	b := newBackend(t, memcached.Options{Now: func() time.Time { return now }}, srv)
	idx := cache.VariantIndexKey(":1:template.cache.side")
	if err := b.IndexAdd(bg, idx, ":1:a", cache.Seconds(100)); err != nil {
		t.Fatal(err)
	}
	if err := b.IndexAdd(bg, idx, ":1:b", cache.Seconds(10)); err != nil {
		t.Fatal(err)
	}
	_, data, ok := rawGet(t, srv, idx)
	if want := "!exp 1900000140\n:1:a\n:1:b\n"; !ok || string(data) != want {
		t.Fatalf("the index item holds %q, %v; want %q", data, ok, want)
	}
	if err := b.IndexAdd(bg, idx, ":1:b", cache.Forever); err != nil {
		t.Fatal(err)
	}
	if _, data, _ := rawGet(t, srv, idx); string(data) != "!exp 1900000140\n:1:a\n:1:b\n!exp never\n" {
		t.Fatalf("after a member stored forever the index holds %q", data)
	}
	if err := b.IndexAdd(bg, idx, ":1:c", cache.Seconds(10)); err != nil {
		t.Fatal(err)
	}
	m, err := b.IndexMembers(bg, idx)
	if err != nil || !slices.Equal(m, []string{":1:a", ":1:b", ":1:c"}) {
		t.Fatalf("IndexMembers = %q, %v", m, err)
	}
	// A long name: the index key is hashed, as every side key.
	long := cache.VariantIndexKey(":1:template.cache." + strings.Repeat("n", 240))
	if err := b.IndexAdd(bg, long, ":1:x", cache.Seconds(10)); err != nil {
		t.Fatalf("IndexAdd under a key over 250 bytes: %v", err)
	}
	if _, _, ok := rawGet(t, srv, memcached.HashedKey(long)); !ok {
		t.Error("no index under the hashed key")
	}
	if m, err := b.IndexMembers(bg, long); err != nil || len(m) != 1 {
		t.Errorf("IndexMembers of the long key = %q, %v", m, err)
	}
	if err := b.IndexDelete(bg, long); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := rawGet(t, srv, memcached.HashedKey(long)); ok {
		t.Error("IndexDelete left the hashed index")
	}
}

// TestIndexItemSize: an index memcached refuses to grow (its item size
// limit, here 1 KiB) is compacted, and
// then full.
func TestIndexItemSize(t *testing.T) {
	srv := testserver.Memcached(t, "-I", "1k", "-o", "slab_chunk_max=512")
	b := newBackend(t, memcached.Options{}, srv)
	idx := cache.VariantIndexKey(":1:template.cache.big")
	var err error
	n := 0
	for ; n < 200; n++ {
		k := fmt.Sprintf(":1:template.cache.big.%032d", n)
		if err := b.Set(bg, k, []byte("v"), cache.Seconds(60)); err != nil {
			t.Fatal(err)
		}
		if err = b.IndexAdd(bg, idx, k, cache.Seconds(60)); err != nil {
			break
		}
	}
	if !errors.Is(err, cache.ErrIndexFull) {
		t.Fatalf("after %d members: %v, want an error wrapping ErrIndexFull", n, err)
	}
	// Deleting entries makes room.
	for i := range n {
		b.Delete(bg, fmt.Sprintf(":1:template.cache.big.%032d", i))
	}
	k := fmt.Sprintf(":1:template.cache.big.%032d", 999) // as long as the others: no room without compaction
	if err := b.Set(bg, k, []byte("v"), cache.Seconds(60)); err != nil {
		t.Fatal(err)
	}
	if err := b.IndexAdd(bg, idx, k, cache.Seconds(60)); err != nil {
		t.Fatalf("IndexAdd once the entries are gone: %v", err)
	}
	if m, _ := b.IndexMembers(bg, idx); !slices.Equal(m, []string{k}) {
		t.Errorf("the compacted index holds %q, want only %q", m, k)
	}
}

// testIndexConcurrentCompaction: goroutines adding to an index that keeps
// being compacted (cas) lose no member they added whose entry lives.
func testIndexConcurrentCompaction(t *testing.T, srv *testserver.Server) {
	const bound, workers, per = 50, 8, 40
	b := newBackend(t, memcached.Options{MaxIndexMembers: bound}, srv)
	idx := cache.VariantIndexKey(":1:template.cache.busy")
	var wg sync.WaitGroup
	var mu sync.Mutex
	added := map[string]bool{}
	full := 0
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				key := ":1:" + cache.FragmentKey("busy", w, i)
				if err := b.Set(bg, key, []byte("v"), cache.Seconds(60)); err != nil {
					t.Error(err)
					return
				}
				err := b.IndexAdd(bg, idx, key, cache.Seconds(60))
				switch {
				case errors.Is(err, cache.ErrIndexFull):
					mu.Lock()
					full++
					mu.Unlock()
					continue
				case err != nil:
					t.Error(err)
					return
				}
				if i%2 == 0 {
					b.Delete(bg, key)
					continue
				}
				mu.Lock()
				added[key] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	m, err := b.IndexMembers(bg, idx)
	if err != nil {
		t.Fatal(err)
	}
	for k := range added {
		if !slices.Contains(m, k) {
			t.Errorf("the index lost %q, added and alive", k)
		}
	}
	if len(added) > bound+workers {
		t.Errorf("%d live members were indexed, over the bound of %d (+%d racing writers)", len(added), bound, workers)
	}
	if full == 0 {
		t.Error("no IndexAdd failed with ErrIndexFull")
	}
}
