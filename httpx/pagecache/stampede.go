package pagecache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/fragcache/fragcache/cache"
)

// This file is stampede protection across processes (WithStampede; see
// "Stampedes across processes" in the package documentation): the lease a
// missed page's render holds, the wait of the requests that lost it, and
// the refresh of a page past its freshness (grace) or drawn early (XFetch).
// It builds on the cache's primitives (Cache.AcquireLease, GetEntry,
// SetEntry, Judge): a page is two keys whose timeout is known only once
// the handler has answered, which cache.Cache.Fill, made for one value of
// a known timeout, cannot store.

// Back-off of a wait for another process's render: the first poll after
// waitFirst, each next one after twice the last, at most waitMax (those of
// cache.Cache.Fill).
const (
	waitFirst = 5 * time.Millisecond
	waitMax   = 50 * time.Millisecond
)

// statusStale is the Cache-Status of a page served past its freshness.
const statusStale = "fragcache; hit; detail=stale"

// resolveStampede returns the stampede protection of a page cache over c:
// WithStampede's, else the cache's, with its Wait resolved (WithStampede's,
// else WithCoalescingWait's, else 0: the lease TTL).
func (c *config) resolveStampede(cc *cache.Cache) (cache.Stampede, error) {
	sp := c.stampede
	if !c.stampedeSet {
		sp = cc.Stampede()
	}
	if sp.Lease && !cc.Leases() {
		return sp, fmt.Errorf("%w: pagecache: WithStampede: a lease on a %T backend, which has no leases", cache.ErrInvalidOption, cc.Backend())
	}
	if sp.Wait == 0 && c.coalesceWaitSet {
		sp.Wait = c.coalesceWait
	}
	return sp, nil
}

// leaseTTL is how long a lease of sp is held at most.
func leaseTTL(sp cache.Stampede) time.Duration {
	if sp.LeaseTTL > 0 {
		return sp.LeaseTTL
	}
	return cache.DefaultLeaseTTL
}

// waitBound is how long a request waits for another process's render
// under sp: Wait, at most the lease TTL (0: the lease TTL).
func waitBound(sp cache.Stampede) time.Duration {
	if t := leaseTTL(sp); sp.Wait <= 0 || sp.Wait > t {
		return t
	}
	return sp.Wait
}

// tryLease takes the lease on the page or header-list key key: got when
// this request has it, down when the backend gave no answer (an error,
// counted and logged, or a fail-open wrapper that could not reach it).
func (p *Cache) tryLease(ctx context.Context, key string) (lease *cache.Lease, got, down bool) {
	var sw cache.Swallowed
	l, got, err := p.cache.AcquireLease(cache.WithSwallowed(ctx, &sw), key, leaseTTL(p.sp))
	switch {
	case err != nil:
		p.backendError(ctx, "lease", []byte(key), err)
		return nil, false, true
	case sw.Count() > 0:
		p.stats.errors.Add(1)
		return nil, false, true
	case !got:
		p.stats.leasesLost.Add(1)
		return nil, false, false
	}
	p.stats.leasesWon.Add(1)
	return l, true, false
}

// releaseLease gives a lease up (nil: none), counting one that lapsed
// before (the render outlasted the lease TTL: another process may have
// rendered too).
func (p *Cache) releaseLease(l *cache.Lease) {
	if l == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if ok, err := l.Release(ctx); err == nil && !ok {
		p.stats.leasesExpired.Add(1)
	}
}

// fill serves a missed page as the leader of this process's requests for
// it. Without a lease it runs the handler (run). With one, it takes the
// lease on the page key (on the header-list key while the URL's header
// list is not known): the holder reads once more (the page may have landed
// since the miss) and runs the handler, storing the page; a request that
// lost the lease waits for the page (awaitLease). A backend that gives no
// lease (down, fail-open) lets the request run as without one.
func (p *Cache) fill(w http.ResponseWriter, r *http.Request, s *keyInputs, next http.Handler, m miss) *flightResult {
	if !p.lease || m.fetchErr || (!m.listKnown && len(r.Header[hAuthorization]) > 0) {
		// A request with credentials learns which pages it may be served
		// only with the header list: it renders, as without a lease.
		return p.run(w, r, s, next, m)
	}
	var key string
	if m.listKnown {
		s.pkey = p.keys.appendPageKey(s.pkey[:0], s, r, r.Method)
		key = string(s.pkey)
	} else {
		key = string(s.hkey)
	}
	lease, got, down := p.tryLease(r.Context(), key)
	switch {
	case down:
		return p.run(w, r, s, next, m)
	case got:
		return p.runHolding(w, r, s, next, m, lease, time.Time{})
	}
	return p.awaitLease(w, r, s, next, m, key)
}

// runHolding renders the page as the holder of lease, unless it landed
// since the request missed it (then it is served as waited for, since
// start when the request waited).
func (p *Cache) runHolding(w http.ResponseWriter, r *http.Request, s *keyInputs, next http.Handler, m miss, lease *cache.Lease, start time.Time) *flightResult {
	defer p.releaseLease(lease)
	if res, _, _ := p.landed(r.Context(), r, s, &m); res != nil {
		p.serveLanded(w, r, res, m, start)
		return res
	}
	return p.run(w, r, s, next, m)
}

// awaitLease waits for the page another process renders under the lease
// on key, polling with a bounded back-off, and serves it as soon as it
// lands. A lease that lapses (its holder died) is taken, and the page
// rendered and stored. At the wait bound, or when the backend fails, the
// request renders its own response and stores it only if it can then take
// the lease.
func (p *Cache) awaitLease(w http.ResponseWriter, r *http.Request, s *keyInputs, next http.Handler, m miss, key string) *flightResult {
	ctx := r.Context()
	start := time.Now()
	deadline := start.Add(waitBound(p.sp))
	step := waitFirst
	t := time.NewTimer(step)
	defer t.Stop()
poll:
	for {
		select {
		case <-ctx.Done():
			return nil // the client went away
		case <-t.C:
		}
		res, stop, err := p.landed(ctx, r, s, &m)
		switch {
		case res != nil:
			p.serveLanded(w, r, res, m, start)
			return res
		case stop:
			return p.run(w, r, s, next, m)
		case err != nil:
			break poll // the backend went away: render alone
		}
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		// The holder may have died: its lease lapses after the TTL.
		if lease, got, down := p.tryLease(ctx, key); got {
			return p.runHolding(w, r, s, next, m, lease, start)
		} else if down {
			break
		}
		step = min(2*step, waitMax, left)
		t.Reset(step)
	}
	p.stats.waitTimeouts.Add(1)
	m.leaseKey, m.leaseRetake = key, true
	return p.run(w, r, s, next, m)
}

// serveLanded serves a page another holder stored while this request
// waited for it (since start; zero: it did not wait).
func (p *Cache) serveLanded(w http.ResponseWriter, r *http.Request, res *flightResult, m miss, start time.Time) {
	p.stats.waited.Add(1)
	if !start.IsZero() {
		p.stats.waitNanos.Add(uint64(time.Since(start)))
	}
	e, _ := decodeEntry(res.entry) // landed decoded it
	p.serveEntry(w, r, &e, "fragcache; fwd="+m.fwd+"; collapsed; detail=waited")
}

// landed reads the page another holder stores: the header list first,
// while it is not known, then the page it implies for the request. res is
// the page when it is there; stop says the request is not to be served
// from the cache after all (a header its Vary lists came on several lines,
// or credentials the page does not vary on); err is a failed read, counted
// and logged.
func (p *Cache) landed(ctx context.Context, r *http.Request, s *keyInputs, m *miss) (res *flightResult, stop bool, err error) {
	if !m.listKnown {
		hl, found, err := p.readList(ctx, s)
		if err != nil {
			p.backendError(ctx, "get", s.hkey, err)
			return nil, false, err
		}
		if !found {
			return nil, false, nil
		}
		names, ok := learnedNames(hl)
		if !ok {
			return nil, false, nil
		}
		namesAuth := s.setVary(&p.keys.cfg, r, names)
		if s.repeated || (!namesAuth && len(r.Header[hAuthorization]) > 0) {
			return nil, true, nil
		}
		m.listKnown, m.list = true, hl
	}
	s.pkey = p.keys.appendPageKey(s.pkey[:0], s, r, r.Method)
	v, ok, err := p.cache.GetKeyBytes(ctx, s.pkey)
	switch {
	case errors.Is(err, cache.ErrForeignValue):
		return nil, false, nil
	case err != nil:
		p.backendError(ctx, "get", s.pkey, err)
		return nil, false, err
	case !ok:
		return nil, false, nil
	}
	if _, ok := decodeEntry(v); !ok {
		return nil, false, nil
	}
	list, _ := decodeHeaderList(m.list)
	return &flightResult{method: r.Method, list: list, pageKey: string(s.pkey), entry: v}, false, nil
}

// refresh is a page this request renders again: past its freshness, or
// drawn early.
type refresh struct {
	key   string
	lease *cache.Lease // nil on a cache without leases
	early bool
}

// startRefresh decides whether this request renders again the page v
// found under key past its freshness or drawn early: mine when it does
// (this process is not refreshing key already, and the request took the
// lease, on a cache with leases). newer is the page another process
// stored since it was read, to serve instead.
func (p *Cache) startRefresh(ctx context.Context, key string, v []byte) (lease *cache.Lease, newer []byte, mine bool) {
	if _, busy := p.refreshing.LoadOrStore(key, struct{}{}); busy {
		return nil, nil, false
	}
	if !p.cache.Leases() {
		return nil, nil, true
	}
	lease, got, _ := p.tryLease(ctx, key)
	if !got {
		p.refreshing.Delete(key)
		return nil, nil, false
	}
	// Another holder may have stored the page again since it was read.
	if l, err := p.cache.GetEntry(ctx, key, p.sp); err == nil && l.Hit && !bytes.Equal(l.Value, v) {
		p.releaseLease(lease)
		p.refreshing.Delete(key)
		return nil, l.Value, false
	}
	return lease, nil, true
}

// runRefresh renders again, as the holder of its lease, a page found past
// its freshness or drawn early, and stores it (Cache-Status fwd=stale).
func (p *Cache) runRefresh(w http.ResponseWriter, r *http.Request, s *keyInputs, next http.Handler, m miss, rf *refresh) {
	defer func() {
		p.releaseLease(rf.lease)
		p.refreshing.Delete(rf.key)
	}()
	p.stats.refreshes.Add(1)
	if rf.early {
		p.stats.earlyRefreshes.Add(1)
	}
	m.fwd = "stale"
	p.run(w, r, s, next, m)
}
