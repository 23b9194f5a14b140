// Package leasetest checks, for the backends' tests, that one lease is won
// by exactly one of several OS processes racing for it: the test binary is
// started again as helper processes (running one test function that calls
// Helper), which race with the parent process at agreed instants.
//
//	func TestHelperLeaseProcess(t *testing.T) { leasetest.Helper(t, open) }
//
//	func TestLeaseProcesses(t *testing.T) {
//		leasetest.Processes(t, "TestHelperLeaseProcess", url, open)
//	}
package leasetest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/internal/reexec"
)

// The environment of a helper process.
const (
	envURL   = "FRAGCACHE_LEASETEST_URL"
	envStart = "FRAGCACHE_LEASETEST_START" // Unix nanoseconds of round 0
	envNonce = "FRAGCACHE_LEASETEST_NONCE" // makes the keys of one run unique
)

const (
	// Procs is the number of helper processes.
	Procs = 3
	// Goroutines race in each process, the parent's included.
	Goroutines = 8
	// Rounds is the number of leases raced for, one key each.
	Rounds = 4
	// gap separates the rounds.
	gap = 150 * time.Millisecond
	// startDelay leaves the helper processes time to start.
	startDelay = 2 * time.Second
	// ttl outlasts the test: a late process must find the lease held.
	ttl = 2 * time.Minute
)

// Open opens the cache a URL names.
type Open func(url string) (*cache.Cache, error)

func key(nonce string, round int) string { return "leasetest." + nonce + "." + strconv.Itoa(round) }

// race makes n goroutines try for the lease on key at once, and returns
// how many got it.
func race(c *cache.Cache, key string, n int) (int, error) {
	var (
		wg    sync.WaitGroup
		won   atomic.Int32
		start = make(chan struct{})
		errs  = make(chan error, n)
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, ok, err := c.AcquireLease(context.Background(), key, ttl)
			if err != nil {
				errs <- err
				return
			}
			if ok {
				won.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	return int(won.Load()), <-errs
}

// rounds races for every round's lease at its instant, reporting each
// round's winners to report.
func rounds(c *cache.Cache, start time.Time, nonce string, report func(round, won int, err error)) {
	for r := range Rounds {
		time.Sleep(time.Until(start.Add(time.Duration(r) * gap)))
		won, err := race(c, key(nonce, r), Goroutines)
		report(r, won, err)
	}
}

// Helper is the body of the helper processes' test function. In a test
// run not started by Processes it skips.
func Helper(t *testing.T, open Open) {
	url := os.Getenv(envURL)
	if url == "" {
		t.Skip("the helper process of leasetest.Processes")
	}
	start, err := strconv.ParseInt(os.Getenv(envStart), 10, 64)
	if err != nil {
		t.Fatalf("%s: %v", envStart, err)
	}
	c, err := open(url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rounds(c, time.Unix(0, start), os.Getenv(envNonce), func(round, won int, err error) {
		if err != nil {
			t.Errorf("round %d: %v", round, err)
		}
		fmt.Printf("leasetest round=%d won=%d\n", round, won)
	})
}

// Processes starts Procs helper processes running the test function named
// helper (which calls Helper with open) against the cache url names, races
// with them from this process too, and fails t unless every round's lease
// went to exactly one goroutine of one process.
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
	won := make([]int, Rounds)
	var mu sync.Mutex
	results := reexec.Start(helper, Procs, func(int) []string {
		return []string{envURL + "=" + url, envStart + "=" + strconv.FormatInt(start.UnixNano(), 10), envNonce + "=" + nonce}
	})
	rounds(c, start, nonce, func(round, n int, err error) {
		if err != nil {
			t.Errorf("round %d: %v", round, err)
		}
		mu.Lock()
		won[round] += n
		mu.Unlock()
	})
	for range Procs {
		r := <-results
		if r.Err != nil {
			t.Errorf("helper process: %v\n%s", r.Err, r.Out)
			continue
		}
		reported := 0
		sc := bufio.NewScanner(bytes.NewReader(r.Out))
		for sc.Scan() {
			var round, n int
			if _, err := fmt.Sscanf(strings.TrimSpace(sc.Text()), "leasetest round=%d won=%d", &round, &n); err == nil && round >= 0 && round < Rounds {
				won[round] += n
				reported++
			}
		}
		if reported != Rounds {
			t.Errorf("a helper process reported %d rounds of %d:\n%s", reported, Rounds, r.Out)
		}
	}
	for r, n := range won {
		if n != 1 {
			t.Errorf("round %d: %d winners among %d processes of %d goroutines, want exactly 1", r, n, Procs+1, Goroutines)
		}
	}
}
