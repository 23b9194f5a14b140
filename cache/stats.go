package cache

import "sync/atomic"

// Stats counts a cache's operations since it was created. Hits and misses
// count Get, GetKeyBytes, GetMany (per key) and GetOrSet lookups; Sets counts
// values stored (Set, Add that stored, SetMany per entry, Incr); Deletes
// counts keys removed by Delete, and the keys given to DeleteMany (bulk
// deletes do not report what they found); Errors counts failed operations, including rejected
// keys and the entries SetMany reports as failed.
type Stats struct {
	Hits, Misses, Sets, Deletes, Errors uint64
}

// HitRate returns Hits / (Hits + Misses), or 0 before any lookup.
func (s Stats) HitRate() float64 {
	if n := s.Hits + s.Misses; n > 0 {
		return float64(s.Hits) / float64(n)
	}
	return 0
}

type counters struct {
	hits, misses, sets, deletes, errors atomic.Uint64
}

// Stats returns the counters. Reading them costs a few atomic loads and may
// be done at any time.
func (c *Cache) Stats() Stats {
	return Stats{
		Hits:    c.stats.hits.Load(),
		Misses:  c.stats.misses.Load(),
		Sets:    c.stats.sets.Load(),
		Deletes: c.stats.deletes.Load(),
		Errors:  c.stats.errors.Load(),
	}
}
