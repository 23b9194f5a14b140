// Package indextest checks, for the backends' tests, that
// Cache.InvalidateFragmentVariants removes every variant of a fragment
// name written by several OS processes, and nothing else: the test binary
// is started again as helper processes (running one test function that
// calls Helper), which write variants of two names at once; then the
// parent invalidates the first name with one call, and purges a content
// tag half the other name's variants declared (Cache.PurgeTag).
//
//	func TestHelperIndexProcess(t *testing.T) { indextest.Helper(t, open) }
//
//	func TestIndexProcesses(t *testing.T) {
//		indextest.Processes(t, "TestHelperIndexProcess", url, open)
//	}
package indextest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/internal/reexec"
)

// The environment of a helper process.
const (
	envURL   = "FRAGCACHE_INDEXTEST_URL"
	envStart = "FRAGCACHE_INDEXTEST_START" // Unix nanoseconds of the start
	envNonce = "FRAGCACHE_INDEXTEST_NONCE" // makes the names of one run unique
	envProc  = "FRAGCACHE_INDEXTEST_PROC"  // the helper's number
)

const (
	// Procs is the number of helper processes writing variants.
	Procs = 4
	// Goroutines write in each process.
	Goroutines = 4
	// Variants is the number of variants of the invalidated name each
	// process writes.
	Variants = 200
	// Others is the number of variants of the other name each process
	// writes.
	Others = 50
	// startDelay leaves the helper processes time to start.
	startDelay = 2 * time.Second
)

// Open opens the cache a URL names.
type Open func(url string) (*cache.Cache, error)

// names returns the invalidated name and the other one (which extends
// the first, as "sidebar" extends "side", and holds a dot).
func names(nonce string) (string, string) {
	return "multi" + nonce, "multi" + nonce + ".other"
}

// tag is the content tag of half the other name's variants.
func tag(nonce string) string { return "indextest:" + nonce }

// variant returns the key of variant i of name written by process proc.
func variant(name string, proc, i int) string {
	return cache.FragmentKey(name, proc, i, "lang=fr")
}

// write stores this process's variants of both names, Goroutines at a
// time, and returns how many it stored.
func write(c *cache.Cache, nonce string, proc int) (int, error) {
	first, other := names(nonce)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		n    int
		errs []error
	)
	for g := range Goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < Variants+Others; i += Goroutines {
				key := variant(first, proc, i)
				if i >= Variants {
					key = variant(other, proc, i-Variants)
				}
				err := c.Set(context.Background(), key, []byte("html "+key), cache.Seconds(600))
				if err == nil && i >= Variants && i%2 == 0 {
					// Half the other name's variants declare a content
					// tag, for PurgeTag across processes.
					err = c.IndexTags(context.Background(), key, []string{tag(nonce)}, cache.Seconds(600))
				}
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					n++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return n, errs[0]
	}
	return n, nil
}

// Helper is the body of the helper processes' test function. In a test
// run not started by Processes it skips.
func Helper(t *testing.T, open Open) {
	url := os.Getenv(envURL)
	if url == "" {
		t.Skip("the helper process of indextest.Processes")
	}
	start, err := strconv.ParseInt(os.Getenv(envStart), 10, 64)
	if err != nil {
		t.Fatalf("%s: %v", envStart, err)
	}
	proc, err := strconv.Atoi(os.Getenv(envProc))
	if err != nil {
		t.Fatalf("%s: %v", envProc, err)
	}
	c, err := open(url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	time.Sleep(time.Until(time.Unix(0, start)))
	n, err := write(c, os.Getenv(envNonce), proc)
	if err != nil {
		t.Errorf("writing: %v", err)
	}
	st := c.Stats()
	// Errors a fail-open wrapper swallowed are counted in Stats too.
	fmt.Printf("indextest wrote=%d indexed=%d errors=%d\n", n, st.Index.Adds, st.Index.Errors+st.Errors)
}

// Processes starts Procs helper processes running the test function named
// helper (which calls Helper with open) against the cache url names; each
// writes Variants variants of one fragment name and Others of another at
// once. Then it calls InvalidateFragmentVariants once for the first name,
// and fails t unless every variant of it is gone and every variant of the
// other name is there.
func Processes(t *testing.T, helper, url string, open Open) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts other processes")
	}
	c, err := open(url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now().Add(startDelay)
	nonce := cache.NewLeaseToken()[:12]
	results := reexec.Start(helper, Procs, func(p int) []string {
		return []string{envURL + "=" + url, envStart + "=" + strconv.FormatInt(start.UnixNano(), 10),
			envNonce + "=" + nonce, envProc + "=" + strconv.Itoa(p)}
	})
	for range Procs {
		r := <-results
		if r.Err != nil {
			t.Fatalf("helper process: %v\n%s", r.Err, r.Out)
		}
		ok := false
		sc := bufio.NewScanner(bytes.NewReader(r.Out))
		for sc.Scan() {
			var wrote, indexed, errs int
			if _, err := fmt.Sscanf(strings.TrimSpace(sc.Text()), "indextest wrote=%d indexed=%d errors=%d", &wrote, &indexed, &errs); err == nil {
				ok = true
				if wrote != Variants+Others || errs != 0 {
					t.Errorf("a helper process wrote %d entries of %d (%d indexed, %d errors)", wrote, Variants+Others, indexed, errs)
				}
			}
		}
		if !ok {
			t.Fatalf("a helper process reported nothing:\n%s", r.Out)
		}
	}
	ctx := context.Background()
	first, other := names(nonce)
	keys := func(name string, n int) []string {
		var ks []string
		for p := range Procs {
			for i := range n {
				ks = append(ks, variant(name, p, i))
			}
		}
		return ks
	}
	count := func(ks []string) int {
		n := 0
		for _, k := range ks {
			ok, err := c.Has(ctx, k)
			if err != nil {
				t.Fatalf("Has(%q): %v", k, err)
			}
			if ok {
				n++
			}
		}
		return n
	}
	firstKeys, otherKeys := keys(first, Variants), keys(other, Others)
	if n := count(firstKeys); n != len(firstKeys) {
		t.Fatalf("before: %d of the %d variants of %q are stored", n, len(firstKeys), first)
	}
	n, err := c.InvalidateFragmentVariants(ctx, first)
	if err != nil {
		t.Fatalf("InvalidateFragmentVariants(%q): %v", first, err)
	}
	if n != len(firstKeys) {
		t.Errorf("InvalidateFragmentVariants(%q) deleted %d entries, want %d", first, n, len(firstKeys))
	}
	if left := count(firstKeys); left != 0 {
		t.Errorf("%d of the %d variants of %q written by %d processes survive InvalidateFragmentVariants", left, len(firstKeys), first, Procs)
	}
	if n := count(otherKeys); n != len(otherKeys) {
		t.Errorf("%d of the %d variants of %q (another name) survive, want all", n, len(otherKeys), other)
	}
	// PurgeTag deletes the other name's variants that declared the tag,
	// whichever process wrote them, and only those.
	tagged := 0
	for i := range Others {
		if (Variants+i)%2 == 0 {
			tagged += Procs
		}
	}
	if n, err := c.PurgeTag(ctx, tag(nonce)); err != nil || n != tagged {
		t.Errorf("PurgeTag = %d, %v; want %d, nil", n, err, tagged)
	}
	if n := count(otherKeys); n != len(otherKeys)-tagged {
		t.Errorf("after PurgeTag: %d variants of %q left, want %d (those without the tag)", n, other, len(otherKeys)-tagged)
	}
	// The rest of the other name is invalidated by its own call.
	if n, err := c.InvalidateFragmentVariants(ctx, other); err != nil || n != len(otherKeys)-tagged {
		t.Errorf("InvalidateFragmentVariants(%q) = %d, %v; want %d, nil", other, n, err, len(otherKeys)-tagged)
	}
}
