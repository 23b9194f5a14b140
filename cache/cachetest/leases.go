package cachetest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
)

// needLeases skips t for a backend without leases.
func (s *suite) needLeases(t testing.TB) {
	t.Helper()
	if !s.h.Leases {
		t.Skip("needs Harness.Leases")
	}
}

// acquire takes the lease on key, failing t on an error.
func acquire(t testing.TB, c *cache.Cache, key string, ttl time.Duration) (*cache.Lease, bool) {
	t.Helper()
	l, ok, err := c.AcquireLease(bg, key, ttl)
	if err != nil {
		t.Fatalf("AcquireLease(%q, %v): %v", key, ttl, err)
	}
	if ok != (l != nil) {
		t.Fatalf("AcquireLease(%q, %v) = %v, %v", key, ttl, l, ok)
	}
	return l, ok
}

func release(t testing.TB, l *cache.Lease) bool {
	t.Helper()
	ok, err := l.Release(bg)
	if err != nil {
		t.Fatalf("Release of %q: %v", l.Key(), err)
	}
	return ok
}

func (s *suite) testLeaseOneWinner(t *testing.T) {
	s.needLeases(t)
	c, _ := s.newCache(t)
	if !c.Leases() {
		t.Fatal("Leases() = false with Harness.Leases")
	}
	for round := range 3 {
		const n = 32
		var (
			wg      sync.WaitGroup
			winners atomic.Int32
			start   = make(chan struct{})
			held    = make(chan *cache.Lease, n)
		)
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				l, ok, err := c.AcquireLease(bg, "stampede", time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					winners.Add(1)
					held <- l
				}
			}()
		}
		close(start)
		wg.Wait()
		if got := winners.Load(); got != 1 {
			t.Fatalf("round %d: %d of %d goroutines got the lease, want exactly 1", round, got, n)
		}
		if l := <-held; !release(t, l) {
			t.Fatalf("round %d: the winner's Release reported false", round)
		}
	}
}

func (s *suite) testLeaseRelease(t *testing.T) {
	s.needLeases(t)
	c, _ := s.newCache(t)
	l, ok := acquire(t, c, "k", time.Minute)
	if !ok {
		t.Fatal("first AcquireLease on a fresh key failed")
	}
	if l.Key() != cache.LeaseKey(c.MakeKey("k")) || l.Key() != "{:1:k}:lease" {
		t.Errorf("Lease.Key() = %q, want %q", l.Key(), "{:1:k}:lease")
	}
	if _, ok := acquire(t, c, "k", time.Minute); ok {
		t.Fatal("second AcquireLease of a held lease succeeded")
	}
	// Someone else's token does not free it.
	lr, _ := cache.As[cache.Leaser](c.Backend())
	if ok, err := lr.ReleaseLease(bg, l.Key(), cache.NewLeaseToken()); ok || err != nil {
		t.Fatalf("ReleaseLease with a wrong token = %v, %v; want false, nil", ok, err)
	}
	if _, ok := acquire(t, c, "k", time.Minute); ok {
		t.Fatal("AcquireLease succeeded after a release with a wrong token")
	}
	// The holder's does.
	if !release(t, l) {
		t.Fatal("the holder's Release reported false")
	}
	if release(t, l) {
		t.Error("a second Release reported true")
	}
	l2, ok := acquire(t, c, "k", time.Minute)
	if !ok {
		t.Fatal("AcquireLease after the holder's Release failed")
	}
	// The first holder's late release does not free the new lease.
	if release(t, l) {
		t.Error("the old holder's Release freed the new holder's lease")
	}
	if _, ok := acquire(t, c, "k", time.Minute); ok {
		t.Fatal("AcquireLease succeeded while the second holder holds the lease")
	}
	if !release(t, l2) {
		t.Error("the second holder's Release reported false")
	}
}

func (s *suite) testLeaseExpiry(t *testing.T) {
	s.needLeases(t)
	c, clk := s.newCache(t)
	var ttl, wait time.Duration
	switch {
	case clk != nil:
		ttl, wait = 10*time.Second, 10*time.Second+time.Millisecond
	case s.h.Granularity > 0:
		// memcached's clock ticks once a second: a lease of one second
		// lapses within two.
		ttl, wait = s.h.Granularity, 2*s.h.Granularity+s.h.Granularity/2
	default:
		t.Skip("needs Harness.Clock or Harness.Granularity")
	}
	l, ok := acquire(t, c, "exp", ttl)
	if !ok {
		t.Fatal("AcquireLease on a fresh key failed")
	}
	if clk != nil {
		clk.Advance(ttl - time.Millisecond)
		if _, ok := acquire(t, c, "exp", ttl); ok {
			t.Fatal("the lease lapsed before its ttl")
		}
		clk.Advance(wait - ttl + time.Millisecond)
	} else {
		time.Sleep(wait)
	}
	l2, ok := acquire(t, c, "exp", ttl)
	if !ok {
		t.Fatalf("AcquireLease %v after a lease of %v failed", wait, ttl)
	}
	if release(t, l) {
		t.Error("the lapsed holder's Release reported true and freed the new lease")
	}
	if !release(t, l2) {
		t.Error("the new holder's Release reported false")
	}
}

func (s *suite) testLeaseKeys(t *testing.T) {
	s.needLeases(t)
	c, _ := s.newCache(t)
	l, ok := acquire(t, c, "v", time.Minute)
	if !ok {
		t.Fatal("AcquireLease on a fresh key failed")
	}
	defer release(t, l)
	// A lease is not a value.
	wantGet(t, c, "v", miss)
	wantHas(t, c, "v", false)
	set(t, c, "v", "value", cache.DefaultTimeout)
	wantGet(t, c, "v", "value")
	// Keys are made as other keys are: another version, or another prefix,
	// is another lease.
	l2, ok := acquire(t, c.WithVersion(2), "v", time.Minute)
	if !ok {
		t.Error("the lease at version 2 is held by the lease at version 1")
	} else {
		release(t, l2)
	}
	p := view(t, c, cache.WithKeyPrefix("other"))
	l3, ok := acquire(t, p, "v", time.Minute)
	if !ok {
		t.Error("the lease with prefix other is held by the lease without a prefix")
	} else {
		release(t, l3)
	}
}

func (s *suite) testLeaseErrors(t *testing.T) {
	c, _ := s.newCache(t)
	if !c.Leases() {
		if s.h.Leases {
			t.Fatal("Leases() = false with Harness.Leases")
		}
		_, ok, err := c.AcquireLease(bg, "k", time.Second)
		if ok || !errors.Is(err, errors.ErrUnsupported) {
			t.Fatalf("AcquireLease without leases = %v, %v; want an error wrapping errors.ErrUnsupported", ok, err)
		}
		return
	}
	for _, ttl := range []time.Duration{0, -time.Second} {
		if _, ok, err := c.AcquireLease(bg, "k", ttl); ok || !errors.Is(err, cache.ErrInvalidOption) {
			t.Errorf("AcquireLease(ttl %v) = %v, %v; want an error wrapping ErrInvalidOption", ttl, ok, err)
		}
	}
	var nilCtx context.Context
	if _, _, err := c.AcquireLease(nilCtx, "k", time.Second); !errors.Is(err, cache.ErrNilContext) {
		t.Errorf("AcquireLease(nil ctx): %v, want ErrNilContext", err)
	}
}
