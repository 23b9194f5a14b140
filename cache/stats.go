package cache

import (
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// Stats counts a cache's operations since it was created. Hits and misses
// count Get, GetKeyBytes, GetMany (per key) and GetOrSet lookups; Sets counts
// values stored (Set, Add that stored, SetMany per entry, Incr); Deletes
// counts keys removed by Delete, and the keys given to DeleteMany (bulk
// deletes do not report what they found); Errors counts failed operations, including rejected
// keys and the entries SetMany reports as failed.
//
// Backend says whether the backend is reachable, for caches behind a
// circuit breaker (the fail-open wrapper of memcached:// and redis://):
// its state ("closed", "open", "half-open") and the failures it swallowed.
// It is the zero BackendHealth for other backends.
type Stats struct {
	Hits, Misses, Sets, Deletes, Errors uint64
	Backend                             BackendHealth
	// Near is the backend's near cache, for backends with one (see
	// NearReporter); the zero NearStats otherwise.
	Near NearStats
	// Stampede counts what stampede protection did (leases, waits, stale
	// values served, refreshes): see Stampede.
	Stampede StampedeStats
	// Index counts the writes of fragment variant indexes (see
	// InvalidateFragmentVariants).
	Index IndexStats
	// Servers describes each server of a backend that reports them (see
	// ServerReporter: cache/memcached, whose pools isolate a failing
	// server), in the order configured; nil for others.
	Servers []ServerStats
}

// ServerStats is one server of a backend, as ServerReporter reports it.
type ServerStats struct {
	// Server names the server, e.g. "10.0.0.1:11211".
	Server string
	// Breaker is the state of the server's own breaker: "closed" (used),
	// "open" (marked down: its keys miss without a round trip until
	// OpenUntil, then one operation probes it) or "half-open" (the probe is
	// under way); "" when the server has none (a single server, which a
	// fail-open wrapper's breaker covers).
	Breaker   string
	OpenUntil time.Time
	// Keys counts the keys asked of or written to the server (each key of
	// a multi-get counts); Failures the operations that failed at it,
	// timeouts included; ShortCircuited the keys skipped while it was
	// marked down; Opens the times it was marked down.
	Keys, Failures, ShortCircuited, Opens uint64
	// LastError is the server's last failure, and LastErrorAt its time;
	// zero before any.
	LastError   string
	LastErrorAt time.Time
	// Pending is the number of keys whose writes (set, add, delete,
	// touch) did not reach the server, to be deleted on it when it answers
	// again so that it serves none of the values they replaced; -1 when
	// there were too many to remember, and the server is flushed instead.
	// Replayed counts the keys so deleted, Flushes the flushes.
	Pending  int
	Replayed uint64
	Flushes  uint64
}

// ServerReporter is implemented by backends that report on each of their
// servers (cache/memcached). Cache.Stats reports it in Stats.Servers.
type ServerReporter interface {
	ServerStats() []ServerStats
}

// NearStats describes a near cache: copies of a shared cache's values
// kept in process memory (cache/redis with near_cache=1, kept honest by
// the server's invalidations; cache/memcached with local_ttl=, kept for a
// bounded time).
type NearStats struct {
	// Mode is "tracking" (the server pushes invalidations) or "ttl" (a
	// copy is kept for at most a fixed time); "" when there is no near
	// cache.
	Mode string
	// State is "on"; "pending" until the first connection says whether the
	// server supports tracking; or "off: <why>" when it was turned off.
	State string
	// Hits and Misses count the lookups the near cache answered and those
	// it passed to the server. Stale counts the hits served while the
	// backend was unreachable (a fail-open wrapper's open breaker).
	Hits, Misses, Stale uint64
	// Invalidations counts copies dropped because their key changed: keys
	// named by the server's invalidation messages ("tracking"), or written
	// or deleted by this process ("ttl").
	Invalidations uint64
	// Entries and Bytes are what the near cache holds now (Bytes an
	// estimate).
	Entries int
	Bytes   int64
	// MaxBytes bounds Bytes; MaxStaleness bounds how long a copy is served
	// after it was fetched, whatever else happens.
	MaxBytes     int64
	MaxStaleness time.Duration
}

// NearReporter is implemented by backends with a near cache, and by
// wrappers that know about theirs. Cache.Stats reports it.
type NearReporter interface {
	NearStats() NearStats
}

// BackendHealth is what a circuit breaker knows of its backend.
type BackendHealth struct {
	// Breaker is the breaker's state: "closed", "open" or "half-open"; ""
	// for a backend without one.
	Breaker string
	// Failures counts the backend's failed operations, timeouts included;
	// ShortCircuited the calls the open breaker answered without it;
	// Isolated the calls that failed at some of the backend's servers
	// while others served (ErrPartialOutage), which are answered as
	// failures but not counted in Failures nor against the breaker.
	Failures, ShortCircuited, Isolated uint64
	// LastError is the last failure's message (credentials redacted), and
	// LastErrorAt its time; zero before any.
	LastError   string
	LastErrorAt time.Time
}

// HealthReporter is implemented by wrappers that know whether their backend
// is reachable (cache/failopen's circuit breaker). Cache.Stats reports it.
type HealthReporter interface {
	Health() BackendHealth
}

// HitRate returns Hits / (Hits + Misses), or 0 before any lookup.
func (s Stats) HitRate() float64 {
	if n := s.Hits + s.Misses; n > 0 {
		return float64(s.Hits) / float64(n)
	}
	return 0
}

type counters struct {
	// The pads keep the cells off the cache lines of the read-mostly
	// fields around them in core: heap objects are not aligned to cache
	// lines.
	_                     [128]byte
	hits, misses          stripedCounter // counted on every lookup: striped
	sets, deletes, errors atomic.Uint64
	_                     [128]byte
}

// stripes is the number of cells of a stripedCounter (a power of two).
const stripes = 8

// stripedCounter is a counter spread over cache lines, so that goroutines
// on different cores counting hits at once do not fight over one line: with
// one shared atomic, hits on a hot key from two cores ran at 150-190 ns each
// instead of ~100 (BENCHMARKS.md). Add picks a cell with the runtime's
// per-thread random generator; Load sums the cells.
type stripedCounter struct {
	cells [stripes]struct {
		n atomic.Uint64
		_ [120]byte // 128 bytes a cell: x86 prefetches cache lines in pairs
	}
}

// Add adds n.
func (c *stripedCounter) Add(n uint64) { c.cells[rand.Uint32()&(stripes-1)].n.Add(n) }

// Load returns the sum of the cells.
func (c *stripedCounter) Load() uint64 {
	var sum uint64
	for i := range c.cells {
		sum += c.cells[i].n.Load()
	}
	return sum
}

// Stats returns the counters. Reading them costs a few atomic loads and may
// be done at any time.
func (c *Cache) Stats() Stats {
	s := Stats{
		Hits:     c.stats.hits.Load(),
		Misses:   c.stats.misses.Load(),
		Sets:     c.stats.sets.Load(),
		Deletes:  c.stats.deletes.Load(),
		Errors:   c.stats.errors.Load(),
		Stampede: c.stampede.stats(),
		Index:    IndexStats{Adds: c.index.adds.Load(), Errors: c.index.errors.Load()},
	}
	if hr, ok := As[HealthReporter](c.backend); ok {
		s.Backend = hr.Health()
	}
	if nr, ok := As[NearReporter](c.backend); ok {
		s.Near = nr.NearStats()
	}
	if sr, ok := As[ServerReporter](c.backend); ok {
		s.Servers = sr.ServerStats()
	}
	return s
}
