package pagecache

import (
	"sync/atomic"
	"time"

	"github.com/fragcache/fragcache/cache"
)

// Stats counts what a Cache did since it was built.
type Stats struct {
	// Hits counts requests answered from the cache.
	Hits uint64
	// SingleReadHits counts the Hits that cost one read of the backend:
	// the header list and the page were fetched with one GetMany, the list
	// being the one remembered (WithHeaderListMemory). The other hits read
	// the header list, then the page.
	SingleReadHits uint64
	// ListGuessesWrong counts lookups whose remembered header list was not
	// the one the cache held (the site changed its Vary, another process or
	// Django stored another list, or it expired or was deleted): the
	// prefetched page was dropped, and the page looked up from the list
	// read, with a second read when there was one.
	ListGuessesWrong uint64
	// Misses counts GET and HEAD requests looked up and not found.
	Misses uint64
	// Stored counts responses stored.
	Stored uint64
	// NotStored counts missed responses that were not stored (their status,
	// cookies, Cache-Control, Vary, size, a streamed body…).
	NotStored uint64
	// Coalesced counts requests answered with the response another
	// concurrent request stored.
	Coalesced uint64
	// CoalesceTimeouts counts requests that stopped waiting for another
	// request's render (WithCoalescingWait) and rendered the page
	// themselves.
	CoalesceTimeouts uint64
	// LeasesWon counts the leases this process took to render a page (a
	// miss, or a refresh) with stampede protection (WithStampede);
	// LeasesLost those another process (or request) held; LeasesExpired
	// those that lapsed before the render was done (another process may
	// have rendered the page too).
	LeasesWon, LeasesLost, LeasesExpired uint64
	// Waited counts requests served the page another process rendered
	// while they waited for it (Cache-Status detail=waited), and WaitTime
	// their total wait; WaitTimeouts those that stopped waiting at the
	// bound and rendered the page themselves.
	Waited, WaitTimeouts uint64
	WaitTime             time.Duration
	// StaleServed counts pages served past their freshness, within their
	// grace, while another request rendered them again (Cache-Status
	// detail=stale).
	StaleServed uint64
	// Refreshes counts pages rendered again while still stored (past their
	// freshness, or drawn early), EarlyRefreshes those drawn early (XFetch).
	// A refresh is counted neither in Hits nor in Misses.
	Refreshes, EarlyRefreshes uint64
	// Bypassed counts requests left alone: other methods, session cookies
	// (WithAnonymousOnly), invalid hosts.
	Bypassed uint64
	// Errors counts failed backend operations (and stores a fail-open
	// cache swallowed); the requests were served anyway.
	Errors uint64
	// Backend is the health of the cache's backend: its circuit breaker's
	// state and failures (see cache.Stats).
	Backend cache.BackendHealth
}

// HitRate returns Hits / (Hits + Misses), or 0 before any lookup.
func (s Stats) HitRate() float64 {
	if n := s.Hits + s.Misses; n > 0 {
		return float64(s.Hits) / float64(n)
	}
	return 0
}

type counters struct {
	singleReadHits, listGuessWrong                                                 atomic.Uint64
	hits, misses, stored, notStored, coalesced, coalesceTimeouts, bypassed, errors atomic.Uint64
	leasesWon, leasesLost, leasesExpired, waited, waitTimeouts, waitNanos          atomic.Uint64
	staleServed, refreshes, earlyRefreshes                                         atomic.Uint64
}

// Stats returns the counters.
func (p *Cache) Stats() Stats {
	s := Stats{
		Hits:             p.stats.hits.Load(),
		SingleReadHits:   p.stats.singleReadHits.Load(),
		ListGuessesWrong: p.stats.listGuessWrong.Load(),
		Misses:           p.stats.misses.Load(),
		Stored:           p.stats.stored.Load(),
		NotStored:        p.stats.notStored.Load(),
		Coalesced:        p.stats.coalesced.Load(),
		CoalesceTimeouts: p.stats.coalesceTimeouts.Load(),
		Bypassed:         p.stats.bypassed.Load(),
		Errors:           p.stats.errors.Load(),
		LeasesWon:        p.stats.leasesWon.Load(),
		LeasesLost:       p.stats.leasesLost.Load(),
		LeasesExpired:    p.stats.leasesExpired.Load(),
		Waited:           p.stats.waited.Load(),
		WaitTimeouts:     p.stats.waitTimeouts.Load(),
		WaitTime:         time.Duration(p.stats.waitNanos.Load()),
		StaleServed:      p.stats.staleServed.Load(),
		Refreshes:        p.stats.refreshes.Load(),
		EarlyRefreshes:   p.stats.earlyRefreshes.Load(),
	}
	if p.cache != nil {
		s.Backend = p.cache.Stats().Backend
	}
	return s
}
