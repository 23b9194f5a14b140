package cachetest

import (
	"sync"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
)

// Harness describes a backend to the suite: how to build a cache over a
// fresh, empty instance of it, and what the backend can do.
type Harness struct {
	// New returns a Cache over a fresh, empty backend, made by
	// cache.New(backend, opts...): the harness may put options of its own
	// first, but the suite's opts must come last so that they win. Without
	// opts the cache must have Django's defaults: no key prefix, version 1,
	// a default timeout of 300 seconds, the default key function and the
	// backend's own key check.
	//
	// When Clock is true the backend must read the time only from now, a
	// FakeClock's Now; otherwise now is nil. New should register t.Cleanup
	// to close the cache (the suite may close it first: Close is
	// idempotent). New reports its own failures with t.Fatal.
	//
	// For a backend over a shared server (memcached, Redis), "fresh and
	// empty" means cleared: the suite never uses two caches from New at the
	// same time.
	New func(t testing.TB, now func() time.Time, opts ...cache.Option) *cache.Cache

	// NewCulling, if not nil, returns a Cache like New over a fresh backend
	// that holds at most maxEntries entries and culls when full, as
	// Django's MAX_ENTRIES and CULL_FREQUENCY do: before storing into a
	// store holding maxEntries entries or more, it removes
	// entries/cullFrequency of them, or all of them when cullFrequency is 0
	// (Django's CULL_FREQUENCY 0; a backend may spell it differently, such
	// as memory.CullAll). With nil, the culling tests are skipped.
	NewCulling func(t testing.TB, now func() time.Time, maxEntries, cullFrequency int, opts ...cache.Option) *cache.Cache

	// Clock reports that the backend takes all its times from the now
	// passed to New, so that expiry is tested with a FakeClock, exactly and
	// without sleeping.
	Clock bool

	// Granularity, for a backend without Clock, is the shortest timeout it
	// honours reliably (time.Second for memcached and Redis, whose timeouts
	// are whole seconds). The expiry tests then use it as their unit of time
	// and sleep, concurrently, about five units in all. Zero without Clock
	// skips the expiry tests that need time to pass.
	Granularity time.Duration

	// MaxValueSize, if positive, is the size of the largest value the
	// backend stores (say 1000*1000 for a memcached server with the default
	// 1 MiB item size; the item overhead counts against the limit). The
	// large-value test then stays within it, and a value twice as large
	// must fail with an error wrapping cache.ErrValueTooLarge (the suite
	// allocates it: keep the limit to a few MiB). Zero means no limit below
	// the 1 MiB + 1 byte value the suite stores.
	MaxValueSize int

	// AtomicIncr reports that concurrent Incr calls on one key never lose
	// an update (memory, memcached, Redis; not Django's base get-and-set
	// increment that the file backend uses).
	AtomicIncr bool

	// AtomicAdd reports that of concurrent Add calls on one absent key,
	// exactly one stores (memory, memcached, Redis; not filebased, whose Add
	// is Has then Set).
	AtomicAdd bool

	// Leases reports that the backend takes leases (cache.Leaser, and
	// Cache.Leases true): the suite then checks that of goroutines racing
	// for one lease exactly one wins, that only the holder's release frees
	// it, and that it lapses after its ttl (with Clock, by the clock;
	// otherwise after sleeping a few Granularity units, or not at all
	// without Granularity). Without it the suite checks that AcquireLease
	// fails with an error wrapping errors.ErrUnsupported when
	// Cache.Leases is false.
	Leases bool

	// Indexes reports that the backend keeps indexes (cache.Indexer, and
	// every wrapper forwards them): the suite then checks IndexAdd,
	// IndexMembers and IndexDelete (distinct members, an index never
	// shortened by a shorter-lived member, compaction of a full index) and
	// that Cache.InvalidateFragmentVariants deletes every variant of a
	// fragment name, and nothing else. Without it the suite checks that
	// InvalidateFragmentVariants deletes no entry of another name.
	Indexes bool

	// MaxIndexMembers is the bound of the backend's indexes when it is
	// smaller than cache.MaxIndexMembers (an option of the backend, for
	// tests, so that filling an index is quick); 0 means
	// cache.MaxIndexMembers.
	MaxIndexMembers int

	// Semantics is the Django behaviour expected where backends differ.
	Semantics
}

// Semantics is the behaviour of a Django backend where backends
// legitimately differ. Start from one of DjangoLocMem, DjangoFileBased,
// DjangoMemcached, DjangoRedis or DjangoDummy.
type Semantics struct {
	// Golden names the backend whose recorded Django 6.1.1 vectors the
	// suite replays: "locmem" (which replays the prefixed locmem battery
	// too), "filebased", "dummy", "pymemcache" or "redis". Empty skips the
	// replay.
	Golden string

	// Dummy: the backend stores nothing, like Django's DummyCache. The
	// suite then runs DummyCacheTests instead of the storing tests.
	Dummy bool

	// Deadline is what a backend with Clock reports at the exact deadline
	// of an entry. At a millisecond either side every backend must agree.
	Deadline Deadline

	// WholeSeconds: positive timeouts are truncated to whole seconds, so
	// that 1.5 lives one second and 0.5 is already expired, as Django's
	// memcached and Redis backends do (int(timeout)).
	WholeSeconds bool

	// IncrMissing is how the error of Incr and Decr on a missing key names
	// the key (IncrVersion always names the caller's key).
	IncrMissing KeyNaming

	// IncrClampsAtZero: decrementing below zero gives 0 (memcached);
	// otherwise the result goes negative.
	IncrClampsAtZero bool

	// IncrExpiry is what Incr and Decr do to the entry's expiry.
	IncrExpiry IncrExpiry

	// RejectsKeys: by default (as a cache.KeyChecker) the backend rejects
	// keys memcached cannot take, as Django's memcached backends do, and it
	// cannot store such keys even when asked to skip the check. The suite
	// then checks the rejection instead of the warnings.
	RejectsKeys bool

	// CullLRU: culling removes the least recently used entries, where Get
	// (a hit), Set, Add (when it stores) and Incr make an entry most
	// recently used and Touch and Has do not, as Django's locmem does
	// (filebased culls at random). It needs NewCulling.
	CullLRU bool

	// CullOverMax: a write culls only when the store holds more than
	// maxEntries entries, not maxEntries or more, as Django's
	// DatabaseCache does (SELECT COUNT(*), then cull when num >
	// MAX_ENTRIES): its DBCacheTests.test_zero_cull expects 18 survivors
	// where the other backends keep 19.
	CullOverMax bool

	// MaxKeyLength, if positive, is the length in characters of the
	// longest made key the backend stores (255 for Django's database
	// cache, whose cache_key column is varchar(255)). A longer key must
	// fail Set with an error wrapping cache.ErrInvalidKey whatever the
	// key check; the suite then skips the round trip of such a key.
	MaxKeyLength int

	// NoNULKeys: the backend cannot store a made key holding a NUL byte
	// (PostgreSQL's text type). Such a key must fail Set with an error
	// wrapping cache.ErrInvalidKey and read as absent; the suite skips
	// its round trip.
	NoNULKeys bool

	// FailedSetDeletes: a Set that fails because the value is too large
	// removes the value stored before, as memcached does
	// (test_memcached_deletes_key_on_failed_set). Otherwise the suite does
	// not look at the old value.
	FailedSetDeletes bool
}

// Deadline says what a backend reports at the exact deadline of an entry.
type Deadline uint8

const (
	// DeadlineUnchecked: the suite only checks a millisecond either side.
	DeadlineUnchecked Deadline = iota
	// ExpiredAtDeadline: an entry is expired when deadline <= now
	// (Django's locmem, LocMemCache._has_expired).
	ExpiredAtDeadline
	// AliveAtDeadline: an entry is expired when deadline < now (Django's
	// filebased, FileBasedCache._is_expired).
	AliveAtDeadline
)

// KeyNaming says how the error of Incr on a missing key names the key.
type KeyNaming uint8

const (
	// RawKey: Key 'nope' not found (Django's base and filebased backends,
	// and DummyCache).
	RawKey KeyNaming = iota
	// MadeKey: Key ':1:nope' not found (locmem and memcached).
	MadeKey
	// MadeKeyPeriod: Key ':1:nope' not found. with a period (Redis).
	MadeKeyPeriod
)

// IncrExpiry says what Incr does to an entry's expiry.
type IncrExpiry uint8

const (
	// IncrExpiryUnchecked: the suite does not look.
	IncrExpiryUnchecked IncrExpiry = iota
	// IncrKeepsExpiry: the entry keeps its deadline (locmem, memcached,
	// Redis).
	IncrKeepsExpiry
	// IncrResetsExpiry: the entry is stored again with the default timeout
	// (Django's base incr, a get and a set, which filebased uses).
	IncrResetsExpiry
)

// The documented behaviour of Django's backends (spec §2.3–2.9).
var (
	// DjangoLocMem is Django's LocMemCache, which the memory backend
	// follows.
	DjangoLocMem = Semantics{
		Golden:      "locmem",
		Deadline:    ExpiredAtDeadline,
		IncrMissing: MadeKey,
		IncrExpiry:  IncrKeepsExpiry,
		CullLRU:     true,
	}
	// DjangoFileBased is Django's FileBasedCache, which the file backend
	// follows.
	DjangoFileBased = Semantics{
		Golden:      "filebased",
		Deadline:    AliveAtDeadline,
		IncrMissing: RawKey,
		IncrExpiry:  IncrResetsExpiry,
	}
	// DjangoMemcached is Django's PyMemcacheCache.
	DjangoMemcached = Semantics{
		Golden:           "pymemcache",
		WholeSeconds:     true,
		IncrMissing:      MadeKey,
		IncrClampsAtZero: true,
		IncrExpiry:       IncrKeepsExpiry,
		RejectsKeys:      true,
		FailedSetDeletes: true,
	}
	// DjangoRedis is Django's RedisCache (4.0+).
	DjangoRedis = Semantics{
		Golden:       "redis",
		WholeSeconds: true,
		IncrMissing:  MadeKeyPeriod,
		IncrExpiry:   IncrKeepsExpiry,
	}
	// DjangoDummy is Django's DummyCache.
	DjangoDummy = Semantics{
		Golden:      "dummy",
		Dummy:       true,
		IncrMissing: RawKey,
	}
)

// FakeClockStart is where a FakeClock from NewFakeClock starts:
// 2023-11-14 22:13:20 UTC, the fixed "now" of the golden vectors.
var FakeClockStart = time.Unix(1700000000, 0).UTC()

// FakeClock is a clock that moves only when told to. It is safe for
// concurrent use: a backend may read it while a test advances it.
type FakeClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewFakeClock returns a clock standing at start, or at FakeClockStart if
// start is the zero time.
func NewFakeClock(start time.Time) *FakeClock {
	if start.IsZero() {
		start = FakeClockStart
	}
	return &FakeClock{now: start}
}

// Now returns the clock's time. It has the signature of time.Now, to be
// passed as a backend's clock.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d (backward if d is negative).
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Set moves the clock to t.
func (c *FakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// Run runs the conformance suite against the backend h describes, as
// subtests of t. It does not call t.Parallel; the expiry tests of a harness
// without Clock run concurrently with each other.
func Run(t *testing.T, h Harness) {
	if h.New == nil {
		t.Fatal("cachetest: Harness.New is nil")
	}
	s := &suite{h: h}
	if h.Dummy {
		s.runDummy(t)
		return
	}
	s.runStoring(t)
}

// suite carries the harness through the tests.
type suite struct {
	h Harness
}

// clockNow returns a new fake clock and the now to hand to New (nil when
// the harness has no clock).
func (s *suite) clockNow() (*FakeClock, func() time.Time) {
	if !s.h.Clock {
		return nil, nil
	}
	clk := NewFakeClock(time.Time{})
	return clk, clk.Now
}

// newCache returns a cache over a fresh backend, and its clock (nil
// without Clock).
func (s *suite) newCache(t testing.TB, opts ...cache.Option) (*cache.Cache, *FakeClock) {
	t.Helper()
	clk, now := s.clockNow()
	c := s.h.New(t, now, opts...)
	if c == nil {
		t.Fatal("cachetest: Harness.New returned nil")
	}
	return c, clk
}

// needClock skips t without a clock.
func (s *suite) needClock(t testing.TB) {
	t.Helper()
	if !s.h.Clock {
		t.Skip("needs Harness.Clock")
	}
}
