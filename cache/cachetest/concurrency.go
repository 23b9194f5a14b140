package cachetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
)

// watchdog fails t if wait does not return within d.
func watchdog(t *testing.T, d time.Duration, wait func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("concurrent operations did not finish within %v (deadlock?)", d)
	}
}

// mixedValue is a value for data key k by worker w: "k|" and then n copies
// of one letter, so that a torn or mixed value is detected.
func mixedValue(k string, w, n int) []byte {
	return []byte(k + "|" + strings.Repeat(string(rune('a'+w%26)), n))
}

// checkMixed reports whether v is a whole value written for k.
func checkMixed(k string, v []byte) error {
	s := string(v) // reads every byte, for the race detector
	rest, ok := strings.CutPrefix(s, k+"|")
	if !ok {
		return fmt.Errorf("value %q for key %q lacks the prefix %q", show(s), k, k+"|")
	}
	if rest != "" && strings.Count(rest, rest[:1]) != len(rest) {
		return fmt.Errorf("value %s for key %q is a mixture of writes", show(s), k)
	}
	return nil
}

// testConcurrentMixed runs goroutines doing every operation on a few
// overlapping keys, checking that nothing fails unexpectedly and every
// value read is one that was written whole. Run with -race.
func (s *suite) testConcurrentMixed(t *testing.T) {
	c, _ := s.newCache(t)
	workers, ops := 16, 300
	if !s.h.Clock {
		ops = 100 // a server round trip per operation
	}
	data := []string{"d0", "d1", "d2", "d3", "d4"}
	ctrs := []string{"n0", "n1", "n2"}
	for _, k := range ctrs {
		set(t, c, k, "0", cache.Forever)
	}
	ok := func(err error) bool {
		return err == nil || errors.Is(err, cache.ErrNotFound)
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			fail := func(op string, err error) {
				t.Errorf("worker %d: %s: %v", w, op, err)
			}
			for i := range ops {
				k := data[rng.IntN(len(data))]
				n := ctrs[rng.IntN(len(ctrs))]
				cc := c
				if rng.IntN(8) == 0 {
					cc = c.WithVersion(2)
				}
				switch op := rng.IntN(17); op {
				case 0, 1:
					if err := cc.Set(bg, k, mixedValue(k, w, rng.IntN(300)), cache.Forever); err != nil {
						fail("Set", err)
					}
				case 2, 3:
					v, hit, err := cc.Get(bg, k)
					if err != nil {
						fail("Get", err)
					} else if hit {
						if err := checkMixed(k, v); err != nil {
							fail("Get", err)
						}
					}
				case 4:
					v, hit, err := cc.GetKeyBytes(bg, []byte(k))
					if err != nil {
						fail("GetKeyBytes", err)
					} else if hit {
						if err := checkMixed(k, v); err != nil {
							fail("GetKeyBytes", err)
						}
					}
				case 5:
					if _, err := cc.Add(bg, k, mixedValue(k, w, rng.IntN(50)), cache.Seconds(60)); err != nil {
						fail("Add", err)
					}
				case 6:
					if _, err := cc.Delete(bg, k); err != nil {
						fail("Delete", err)
					}
				case 7:
					if _, err := cc.Has(bg, k); err != nil {
						fail("Has", err)
					}
				case 8:
					to := cache.Forever
					if rng.IntN(2) == 0 {
						to = cache.Seconds(60)
					}
					if _, err := cc.Touch(bg, k, to); err != nil {
						fail("Touch", err)
					}
				case 9:
					m, err := cc.GetMany(bg, append(data[:3:3], k, k))
					if err != nil {
						fail("GetMany", err)
					}
					for mk, v := range m {
						if err := checkMixed(mk, v); err != nil {
							fail("GetMany", err)
						}
					}
				case 10:
					k2 := data[rng.IntN(len(data))]
					items := map[string][]byte{k: mixedValue(k, w, 10), k2: mixedValue(k2, w, 20)}
					if failed, err := cc.SetMany(bg, items, cache.Forever); err != nil || len(failed) != 0 {
						fail("SetMany", fmt.Errorf("failed %q, error %v", failed, err))
					}
				case 11:
					if err := cc.DeleteMany(bg, []string{k, data[0]}); err != nil {
						fail("DeleteMany", err)
					}
				case 12:
					if _, err := cc.Incr(bg, n, int64(rng.IntN(5))+1); !ok(err) {
						fail("Incr", err)
					}
				case 13:
					if _, err := cc.Decr(bg, n, 1); !ok(err) {
						fail("Decr", err)
					}
				case 14:
					v, hit, err := cc.Get(bg, n)
					if err != nil {
						fail("Get counter", err)
					} else if hit {
						if _, err := strconv.ParseInt(strings.TrimRight(string(v), " "), 10, 64); err != nil {
							fail("Get counter", fmt.Errorf("value %s is not an integer", show(string(v))))
						}
					}
				case 15:
					v, err := cc.GetOrSet(bg, k, func(context.Context) ([]byte, error) {
						return mixedValue(k, w, 5), nil
					}, cache.Seconds(60))
					if err != nil {
						fail("GetOrSet", err)
					} else if err := checkMixed(k, v); err != nil {
						fail("GetOrSet", err)
					}
				case 16:
					if rng.IntN(2) == 0 {
						if _, err := c.IncrVersion(bg, k, 1); !ok(err) {
							fail("IncrVersion", err)
						}
					} else if _, err := c.WithVersion(2).DecrVersion(bg, k, 1); !ok(err) {
						fail("DecrVersion", err)
					}
				}
				if i == ops/2 && w == 0 {
					if err := c.Clear(bg); err != nil {
						fail("Clear", err)
					}
				}
			}
		}()
	}
	watchdog(t, 60*time.Second, wg.Wait)
	_ = c.Stats()
}

// Concurrent increments of one key add up, each result seen once.
func (s *suite) testConcurrentIncr(t *testing.T) {
	if !s.h.AtomicIncr {
		t.Skip("Harness.AtomicIncr is false")
	}
	c, _ := s.newCache(t)
	set(t, c, "ctr", "0", cache.Forever)
	const workers, each = 16, 50
	seen := make([]atomic.Int32, workers*each+1)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				n, err := c.Incr(bg, "ctr", 1)
				if err != nil {
					t.Errorf("Incr: %v", err)
					return
				}
				if n < 1 || n > workers*each {
					t.Errorf("Incr returned %d, out of 1..%d", n, workers*each)
					continue
				}
				seen[n].Add(1)
			}
		}()
	}
	watchdog(t, 60*time.Second, wg.Wait)
	wantInt(t, c, "ctr", workers*each)
	for n := 1; n <= workers*each; n++ {
		if k := seen[n].Load(); k != 1 {
			t.Errorf("Incr returned %d %d times, want once", n, k)
		}
	}
}

// Of concurrent Adds of one absent key exactly one stores, and its value is
// the one stored.
func (s *suite) testConcurrentAdd(t *testing.T) {
	if !s.h.AtomicAdd {
		t.Skip("Harness.AtomicAdd is false")
	}
	c, _ := s.newCache(t)
	const workers, rounds = 16, 10
	for r := range rounds {
		key := fmt.Sprintf("add%d", r)
		var wins atomic.Int32
		winner := make(chan string, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				v := fmt.Sprintf("w%d", w)
				added, err := c.Add(bg, key, []byte(v), cache.Forever)
				if err != nil {
					t.Errorf("Add: %v", err)
				}
				if added {
					wins.Add(1)
					winner <- v
				}
			}()
		}
		watchdog(t, 30*time.Second, wg.Wait)
		if n := wins.Load(); n != 1 {
			t.Errorf("round %d: %d of %d concurrent Adds stored, want exactly 1", r, n, workers)
			continue
		}
		wantGet(t, c, key, <-winner)
	}
}
