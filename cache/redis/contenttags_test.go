package redis_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/internal/testserver"
)

// TestPurgeTag10k checks the figure: PurgeTag of a tag declared
// by 10,000 pages takes less than 500 ms on loopback Redis (the median of
// 5 runs), and deletes them all and nothing else.
func TestPurgeTag10k(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 entries, 5 times")
	}
	srv := testserver.Redis(t)
	c := open(t, "redis://"+srv.Addr+"/5")
	const n = 10000
	var times []time.Duration
	for round := 0; round < 5; round++ {
		if err := c.Clear(bg); err != nil {
			t.Fatal(err)
		}
		items := make(map[string][]byte, n)
		for i := range n {
			items[fmt.Sprintf("page.%d", i)] = []byte("<html>")
		}
		if _, err := c.SetMany(bg, items, cache.Seconds(600)); err != nil {
			t.Fatal(err)
		}
		if err := c.Set(bg, "other", []byte("x"), cache.Seconds(600)); err != nil {
			t.Fatal(err)
		}
		if err := c.IndexTags(bg, "other", []string{"site:other"}, cache.Seconds(600)); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < n; i += 8 {
					if err := c.IndexTags(bg, fmt.Sprintf("page.%d", i), []string{"site:all"}, cache.Seconds(600)); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		deleted, err := c.PurgeTag(bg, "site:all")
		times = append(times, time.Since(start))
		if err != nil || deleted != n {
			t.Fatalf("PurgeTag = %d, %v; want %d", deleted, err, n)
		}
		if has, _ := c.Has(bg, "page.4242"); has {
			t.Fatal("page.4242 survived the purge")
		}
		if has, _ := c.Has(bg, "other"); !has {
			t.Fatal("the entry of another tag was deleted")
		}
	}
	slices.Sort(times)
	t.Logf("PurgeTag of 10,000 entries: median %v (runs %v)", times[2], times)
	if times[2] >= 500*time.Millisecond {
		t.Errorf("median %v, want < 500ms", times[2])
	}
}
