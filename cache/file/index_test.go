package file

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/internal/indextest"
)

func openIndexDir(dir string) (*cache.Cache, error) {
	// Room for every variant the processes write: no culling.
	s, err := New(Options{Dir: dir, MaxEntries: 10000})
	if err != nil {
		return nil, err
	}
	return cache.New(s)
}

// TestHelperIndexProcess is not a test: TestIndexProcesses runs it in
// other processes.
func TestHelperIndexProcess(t *testing.T) { indextest.Helper(t, openIndexDir) }

// TestIndexProcesses: four processes sharing the directory write variants
// of two fragment names at once (appends to one index file); one
// InvalidateFragmentVariants removes every variant of the first, and none
// of the second.
func TestIndexProcesses(t *testing.T) {
	dir := t.TempDir()
	indextest.Processes(t, "TestHelperIndexProcess", dir, openIndexDir)
	for _, name := range allFiles(t, dir) {
		if strings.HasPrefix(name, ".") {
			t.Errorf("left behind: %s", name)
		}
	}
}

// TestIndexFiles: an index is a file of its own suffix, not counted or
// culled as a cache file, removed by Clear.
func TestIndexFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := New(Options{Dir: dir, MaxEntries: 3, CullFrequency: CullAll})
	if err != nil {
		t.Fatal(err)
	}
	c, err := cache.New(s)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := c.Set(ctx, cache.FragmentKey("f", i), []byte("v"), cache.DefaultTimeout); err != nil {
			t.Fatal(err)
		}
	}
	idx := cache.VariantIndexKey(c.MakeKey(cache.FragmentKeyPrefix + "f"))
	path := filepath.Join(dir, strings.TrimSuffix(FileName(idx), Suffix)+IndexSuffix)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no index file: %v", err)
	}
	if want := c.MakeKey(cache.FragmentKey("f", 0)) + "\n" + c.MakeKey(cache.FragmentKey("f", 1)) + "\n"; string(data) != want {
		t.Errorf("index file holds %q, want %q", data, want)
	}
	if n, err := s.count(); err != nil || n != 2 {
		t.Errorf("count() = %d, %v; want the 2 cache files, not the index", n, err)
	}
	// A third entry reaches MaxEntries without culling: the index does
	// not count.
	if err := c.Set(ctx, "x", []byte("v"), cache.DefaultTimeout); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.count(); n != 3 {
		t.Errorf("count() = %d after a third Set, want 3 (the index counted as an entry?)", n)
	}
	if err := c.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the index file survives Clear: %v", err)
	}
}

// TestIndexConcurrentCompaction: goroutines adding to an index that keeps
// being compacted lose no member they added whose entry lives, and the
// index stays within its bound (give or take a member per writer racing
// past the check).
func TestIndexConcurrentCompaction(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const bound = 50
	s, err := New(Options{Dir: dir, MaxEntries: 100000, MaxIndexMembers: bound})
	if err != nil {
		t.Fatal(err)
	}
	idx := cache.VariantIndexKey(":1:" + cache.FragmentKeyPrefix + "busy")
	const workers, per = 8, 40
	var wg sync.WaitGroup
	var mu sync.Mutex
	added := map[string]bool{} // indexed, and whose entry lives
	full := 0
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				key := ":1:" + cache.FragmentKey("busy", w, i)
				if err := s.Set(ctx, key, []byte("v"), cache.DefaultTimeout); err != nil {
					t.Error(err)
					return
				}
				err := s.IndexAdd(ctx, idx, key, cache.DefaultTimeout)
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
				if i%2 == 0 { // half go at once: compaction drops them
					if _, err := s.Delete(ctx, key); err != nil {
						t.Error(err)
					}
					continue
				}
				mu.Lock()
				added[key] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	members, err := s.IndexMembers(ctx, idx)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, m := range members {
		have[m] = true
	}
	for m := range added {
		if !have[m] {
			t.Errorf("the index lost %q, added and alive", m)
		}
	}
	if len(added) > bound+workers {
		t.Errorf("%d live members were indexed, over the bound of %d (+%d racing writers)", len(added), bound, workers)
	}
	if full == 0 {
		t.Error("no IndexAdd failed with ErrIndexFull although 160 live entries were indexed")
	}
}
