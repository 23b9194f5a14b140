// Package memory is an in-process cache backend with the behaviour of
// Django's LocMemCache: bounded by a number of entries, with Django's exact
// LRU order and culling, plus a bound on the bytes it holds.
//
// # LRU and culling, as Django does it
//
// Get (a hit), Set, Add (when it stores) and Incr move a key to the
// most-recently-used end; Touch, Has and a missed Get do not. Before storing
// a key — even one that is already present — a store holding MaxEntries
// entries or more culls: it removes the len/CullFrequency least recently used
// entries, or everything when CullFrequency is CullAll.
//
// On top of Django's rules, the store evicts least recently used entries
// while the bytes it holds (keys, values and a fixed per-entry overhead)
// exceed MaxBytes, and refuses a single value larger than MaxBytes with
// cache.ErrValueTooLarge.
//
// # Expiry
//
// An entry is expired when its deadline is at or before now (Django's
// locmem rule). Expired entries are removed when a lookup finds them and by a
// sweep every SweepInterval. Times come from Options.Now, so tests can drive
// expiry with a fake clock.
//
// # Concurrency
//
// One lock guards the store, since every hit on an entry other than the
// most recently used one moves it in Django's LRU order. A hit on the most
// recently used entry changes nothing, so it is served without the lock:
// the store publishes that entry through an atomic pointer, and an entry's
// value and deadline are swapped together as one immutable record. A hot
// fragment read from several cores at once therefore scales instead of
// queueing on the lock.
//
// # Bytes are shared read-only
//
// Set copies the value in, so callers may reuse their buffers. Get returns
// the stored slice itself without copying: callers must treat it as
// read-only. The store never writes into a slice it has handed out — a new
// Set or Incr stores a new slice — so readers never see a value change under
// them.
package memory

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fragcache/fragcache/cache"
)

// CullAll, as Options.CullFrequency, clears the whole store when it is full
// (Django's CULL_FREQUENCY 0).
const CullAll = -1

// Defaults, as in Django.
const (
	DefaultMaxEntries    = 300
	DefaultCullFrequency = 3
	// DefaultMaxBytes bounds the bytes held when Options.MaxBytes is 0.
	DefaultMaxBytes = 64 << 20
	// DefaultSweepInterval is how often expired entries are swept out.
	DefaultSweepInterval = time.Minute
)

// entryOverhead approximates the memory of one entry besides its key and
// value bytes: the entry struct, the map slot and the slice headers.
const entryOverhead = 96

// Options configures a Store. The zero value gives Django's defaults.
type Options struct {
	// MaxEntries is the number of entries at which the store culls
	// (Django's MAX_ENTRIES). 0 means 300.
	MaxEntries int
	// CullFrequency: when full, 1/CullFrequency of the entries are culled
	// (Django's CULL_FREQUENCY). 0 means 3; CullAll clears everything.
	CullFrequency int
	// MaxBytes bounds the bytes held. 0 means DefaultMaxBytes.
	MaxBytes int64
	// SweepInterval is how often a background sweep removes expired
	// entries. 0 means DefaultSweepInterval; a negative value turns the
	// sweep off (expired entries are then removed only when looked up or
	// culled).
	SweepInterval time.Duration
	// Now is the clock. nil means time.Now.
	Now func() time.Time
}

// Store is the memory backend. It implements cache.Backend and the optional
// cache.ManyGetter, cache.ManyDeleter, cache.Incrementer,
// cache.KeyBytesGetter, cache.InProcess and cache.Leaser (leases within
// the process).
type Store struct {
	mu    sync.Mutex
	items map[string]*entry
	lru   entry // sentinel: lru.next is the most recently used, lru.prev the least
	bytes int64
	// mru publishes lru.next (nil when empty), updated under mu whenever
	// the front changes. A hit on the most recently used entry changes
	// nothing in Django's order, so Get serves it without the lock: a hot
	// fragment read from several cores does not serialise on mu.
	mru atomic.Pointer[entry]

	maxEntries    int
	cullFrequency int
	maxBytes      int64
	now           func() time.Time

	closeOnce sync.Once
	stop      chan struct{}
	done      chan struct{}

	leaseMu sync.Mutex
	leases  map[string]lease // lease key → holder (cache.Leaser)

	indexMu sync.Mutex
	indexes map[string]*index // index key → members (cache.Indexer)
}

// index is a cache.Indexer index in process memory.
type index struct {
	members  map[string]struct{}
	deadline int64 // Unix nanoseconds; math.MaxInt64 = never
}

// lease is a lease held in process memory.
type lease struct {
	token    string
	deadline int64 // Unix nanoseconds, by Options.Now
}

// Store implements cache.Backend and these optional interfaces.
var (
	_ cache.Backend         = (*Store)(nil)
	_ cache.KeyBytesGetter  = (*Store)(nil)
	_ cache.ManyGetter      = (*Store)(nil)
	_ cache.ManyDeleter     = (*Store)(nil)
	_ cache.Incrementer     = (*Store)(nil)
	_ cache.InProcess       = (*Store)(nil)
	_ cache.Leaser          = (*Store)(nil)
	_ cache.FreshnessKeeper = (*Store)(nil)
	_ cache.Indexer         = (*Store)(nil)
	_ cache.PrefixDeleter   = (*Store)(nil)
)

type entry struct {
	key        string                 // immutable
	rec        atomic.Pointer[record] // replaced whole, never modified
	prev, next *entry                 // guarded by Store.mu
}

// record is an entry's value and deadline. It is swapped atomically, so the
// lock-free read of the most recently used entry sees a consistent pair.
type record struct {
	value    []byte
	deadline int64  // Unix nanoseconds; math.MaxInt64 = never
	fresh    []byte // the value's freshness (cache.FreshnessKeeper), or nil
}

func (e *entry) size() int64 { return int64(len(e.key) + len(e.rec.Load().value) + entryOverhead) }

// New returns a Store. Negative sizes are errors wrapping
// cache.ErrInvalidOption. Close stops the background sweep.
func New(opts Options) (*Store, error) {
	s := &Store{
		items:         make(map[string]*entry),
		maxEntries:    opts.MaxEntries,
		cullFrequency: opts.CullFrequency,
		maxBytes:      opts.MaxBytes,
		now:           opts.Now,
	}
	switch {
	case opts.MaxEntries < 0:
		return nil, fmt.Errorf("%w: memory: MaxEntries %d is negative", cache.ErrInvalidOption, opts.MaxEntries)
	case opts.CullFrequency < CullAll:
		return nil, fmt.Errorf("%w: memory: CullFrequency %d is negative (use CullAll to clear everything when full)", cache.ErrInvalidOption, opts.CullFrequency)
	case opts.MaxBytes < 0:
		return nil, fmt.Errorf("%w: memory: MaxBytes %d is negative", cache.ErrInvalidOption, opts.MaxBytes)
	}
	if s.maxEntries == 0 {
		s.maxEntries = DefaultMaxEntries
	}
	if s.cullFrequency == 0 {
		s.cullFrequency = DefaultCullFrequency
	}
	if s.maxBytes == 0 {
		s.maxBytes = DefaultMaxBytes
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.lru.next, s.lru.prev = &s.lru, &s.lru
	interval := opts.SweepInterval
	if interval == 0 {
		interval = DefaultSweepInterval
	}
	if interval > 0 {
		s.stop, s.done = make(chan struct{}), make(chan struct{})
		go s.sweepEvery(interval)
	}
	return s, nil
}

// NewCache is a shortcut for cache.New(memory.New(opts), cacheOpts...).
func NewCache(opts Options, cacheOpts ...cache.Option) (*cache.Cache, error) {
	s, err := New(opts)
	if err != nil {
		return nil, err
	}
	c, err := cache.New(s, cacheOpts...)
	if err != nil {
		s.Close()
		return nil, err
	}
	return c, nil
}

// list operations; s.mu held.

func (s *Store) unlink(e *entry) {
	e.prev.next = e.next
	e.next.prev = e.prev
}

func (s *Store) pushFront(e *entry) {
	e.prev = &s.lru
	e.next = s.lru.next
	s.lru.next.prev = e
	s.lru.next = e
	s.mru.Store(e)
}

// publish makes mru match the front of the list after a removal.
func (s *Store) publish() {
	if f := s.lru.next; f != &s.lru {
		s.mru.Store(f)
	} else {
		s.mru.Store(nil)
	}
}

func (s *Store) moveToFront(e *entry) {
	if s.lru.next == e {
		return
	}
	s.unlink(e)
	s.pushFront(e)
}

func (s *Store) remove(e *entry) {
	s.unlink(e)
	delete(s.items, e.key)
	s.bytes -= e.size()
	if s.mru.Load() == e {
		s.publish()
	}
}

func (s *Store) clearLocked() {
	clear(s.items)
	s.lru.next, s.lru.prev = &s.lru, &s.lru
	s.bytes = 0
	s.mru.Store(nil)
}

// cull removes len/cullFrequency entries from the LRU end (Django's _cull).
func (s *Store) cull() {
	if s.cullFrequency == CullAll {
		s.clearLocked()
		return
	}
	for n := len(s.items) / s.cullFrequency; n > 0; n-- {
		s.remove(s.lru.prev)
	}
}

func (s *Store) nowNano() int64 { return s.now().UnixNano() }

func expired(e *entry, now int64) bool { return e.rec.Load().deadline <= now }

// deadline computes an entry's deadline for a resolved timeout.
func (s *Store) deadline(t cache.Timeout) int64 {
	if t == cache.Forever {
		return math.MaxInt64
	}
	d, _ := t.Deadline(s.now())
	return d
}

// set stores a copy of value (Django's _set); s.mu held.
func (s *Store) set(key string, value []byte, deadline int64) error {
	return s.setFresh(key, value, nil, deadline)
}

// setFresh is set with the value's freshness kept in its record.
func (s *Store) setFresh(key string, value, fresh []byte, deadline int64) error {
	size := int64(len(key)+len(value)) + entryOverhead
	if size > s.maxBytes {
		return fmt.Errorf("%w: memory: %d bytes for key %q exceed MaxBytes %d", cache.ErrValueTooLarge, len(value), key, s.maxBytes)
	}
	if len(s.items) >= s.maxEntries {
		s.cull()
	}
	v := make([]byte, len(value))
	copy(v, value)
	if e, ok := s.items[key]; ok {
		s.bytes += int64(len(v) - len(e.rec.Load().value))
		e.rec.Store(&record{v, deadline, fresh})
		s.moveToFront(e)
	} else {
		e := &entry{key: key}
		e.rec.Store(&record{v, deadline, fresh})
		s.items[key] = e
		s.bytes += e.size()
		s.pushFront(e)
	}
	for s.bytes > s.maxBytes && s.lru.prev != s.lru.next {
		s.remove(s.lru.prev)
	}
	return nil
}

// Get implements cache.Backend.
func (s *Store) Get(_ context.Context, key string) ([]byte, bool, error) {
	now := s.nowNano() // outside the lock: keeps the critical section short
	if e := s.mru.Load(); e != nil && e.key == key {
		if r := e.rec.Load(); r.deadline > now {
			return r.value, true, nil
		}
	}
	s.mu.Lock()
	v, ok := s.getLocked(s.items[key], now)
	s.mu.Unlock()
	return v, ok, nil
}

// GetKeyBytes implements cache.KeyBytesGetter: a hit does not allocate.
func (s *Store) GetKeyBytes(_ context.Context, key []byte) ([]byte, bool, error) {
	now := s.nowNano()
	if e := s.mru.Load(); e != nil && e.key == string(key) {
		if r := e.rec.Load(); r.deadline > now {
			return r.value, true, nil
		}
	}
	s.mu.Lock()
	v, ok := s.getLocked(s.items[string(key)], now)
	s.mu.Unlock()
	return v, ok, nil
}

func (s *Store) getLocked(e *entry, now int64) ([]byte, bool) {
	if e == nil {
		return nil, false
	}
	r := e.rec.Load()
	if r.deadline <= now {
		s.remove(e)
		return nil, false
	}
	s.moveToFront(e)
	return r.value, true
}

// GetMany implements cache.ManyGetter under one lock.
func (s *Store) GetMany(_ context.Context, keys []string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(keys))
	now := s.nowNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		if v, ok := s.getLocked(s.items[k], now); ok {
			out[k] = v
		}
	}
	return out, nil
}

// GetFreshness implements cache.FreshnessKeeper: the value and the
// freshness kept in its entry.
func (s *Store) GetFreshness(_ context.Context, key string) (value, fresh []byte, ok bool, err error) {
	now := s.nowNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.items[key]
	if _, ok := s.getLocked(e, now); !ok {
		return nil, nil, false, nil
	}
	r := e.rec.Load()
	return r.value, r.fresh, true, nil
}

// SetFreshness implements cache.FreshnessKeeper: Set, with the value's
// freshness kept in its entry (a later Set drops it).
func (s *Store) SetFreshness(_ context.Context, key string, value, fresh []byte, timeout cache.Timeout) error {
	d := s.deadline(timeout)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.setFresh(key, value, bytes.Clone(fresh), d)
}

// Set implements cache.Backend.
func (s *Store) Set(_ context.Context, key string, value []byte, timeout cache.Timeout) error {
	d := s.deadline(timeout)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.set(key, value, d)
}

// Add implements cache.Backend: it stores when the key is absent or expired.
func (s *Store) Add(_ context.Context, key string, value []byte, timeout cache.Timeout) (bool, error) {
	d := s.deadline(timeout)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.items[key]; ok && !expired(e, s.nowNano()) {
		return false, nil
	}
	if err := s.set(key, value, d); err != nil {
		return false, err
	}
	return true, nil
}

// Delete implements cache.Backend. Like Django's locmem it reports true for
// an entry that was present, even if expired.
func (s *Store) Delete(_ context.Context, key string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.items[key]
	if ok {
		s.remove(e)
	}
	return ok, nil
}

// DeleteMany implements cache.ManyDeleter under one lock.
func (s *Store) DeleteMany(_ context.Context, keys []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		if e, ok := s.items[k]; ok {
			s.remove(e)
		}
	}
	return nil
}

// DeleteManyCounted implements cache.ManyDeleteCounter: DeleteMany,
// counting the entries that were there (expired ones are not).
func (s *Store) DeleteManyCounted(_ context.Context, keys []string) (int, error) {
	now := s.nowNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, k := range keys {
		if e, ok := s.items[k]; ok {
			if !expired(e, now) {
				n++
			}
			s.remove(e)
		}
	}
	return n, nil
}

// Has implements cache.Backend; it removes an expired entry it finds.
func (s *Store) Has(_ context.Context, key string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.items[key]
	if !ok {
		return false, nil
	}
	if expired(e, s.nowNano()) {
		s.remove(e)
		return false, nil
	}
	return true, nil
}

// Touch implements cache.Backend; it does not change the LRU order.
func (s *Store) Touch(_ context.Context, key string, timeout cache.Timeout) (bool, error) {
	d := s.deadline(timeout)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.items[key]
	if !ok || expired(e, s.nowNano()) {
		return false, nil
	}
	r := e.rec.Load()
	e.rec.Store(&record{r.value, d, r.fresh})
	return true, nil
}

// Incr implements cache.Incrementer atomically. It keeps the entry's expiry
// and moves it to the most recently used end, as Django's locmem does; a
// missing key's error names the made key, as locmem's does.
func (s *Store) Incr(_ context.Context, key string, delta int64) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.items[key]
	if !ok || expired(e, s.nowNano()) {
		if ok {
			s.remove(e)
		}
		return 0, &cache.KeyNotFoundError{Key: key}
	}
	r := e.rec.Load()
	n, err := cache.AddDecimal(r.value, delta)
	if err != nil {
		return 0, &cache.NotIntegerError{Key: key}
	}
	v := strconv.AppendInt(nil, n, 10)
	s.bytes += int64(len(v) - len(r.value))
	e.rec.Store(&record{v, r.deadline, nil})
	s.moveToFront(e)
	return n, nil
}

// Clear implements cache.Backend. It drops the leases too, as FLUSHDB and
// flush_all do on Redis and memcached.
func (s *Store) Clear(context.Context) error {
	s.mu.Lock()
	s.clearLocked()
	s.mu.Unlock()
	s.leaseMu.Lock()
	s.leases = nil
	s.leaseMu.Unlock()
	s.indexMu.Lock()
	s.indexes = nil
	s.indexMu.Unlock()
	return nil
}

// IndexAdd implements cache.Indexer in process memory. A full index drops
// the members whose entries are gone first.
func (s *Store) IndexAdd(_ context.Context, key, member string, timeout cache.Timeout) error {
	d := s.deadline(timeout)
	now := s.nowNano()
	s.indexMu.Lock()
	defer s.indexMu.Unlock()
	ix := s.indexes[key]
	if ix == nil || ix.deadline <= now {
		if s.indexes == nil {
			s.indexes = make(map[string]*index)
		}
		ix = &index{members: map[string]struct{}{}, deadline: d}
		s.indexes[key] = ix
	}
	if _, ok := ix.members[member]; ok {
		ix.deadline = max(ix.deadline, d)
		return nil
	}
	if len(ix.members) >= cache.MaxIndexMembers {
		s.mu.Lock()
		for m := range ix.members {
			if e, ok := s.items[m]; !ok || expired(e, now) {
				delete(ix.members, m)
			}
		}
		s.mu.Unlock()
		if len(ix.members) >= cache.MaxIndexMembers {
			return fmt.Errorf("%w: memory: %q holds %d live entries", cache.ErrIndexFull, key, len(ix.members))
		}
	}
	ix.members[member] = struct{}{}
	ix.deadline = max(ix.deadline, d)
	return nil
}

// IndexMembers implements cache.Indexer.
func (s *Store) IndexMembers(_ context.Context, key string) ([]string, error) {
	now := s.nowNano()
	s.indexMu.Lock()
	defer s.indexMu.Unlock()
	ix := s.indexes[key]
	if ix == nil || ix.deadline <= now {
		return nil, nil
	}
	out := make([]string, 0, len(ix.members))
	for m := range ix.members {
		out = append(out, m)
	}
	return out, nil
}

// IndexDelete implements cache.Indexer.
func (s *Store) IndexDelete(_ context.Context, key string) error {
	s.indexMu.Lock()
	delete(s.indexes, key)
	s.indexMu.Unlock()
	return nil
}

// DeletePrefix implements cache.PrefixDeleter: it deletes every entry
// whose key starts with prefix and that match accepts (nil: every one).
func (s *Store) DeletePrefix(_ context.Context, prefix string, match func(key string) bool) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, e := range s.items {
		if strings.HasPrefix(k, prefix) && (match == nil || match(k)) {
			s.remove(e)
			n++
		}
	}
	return n, nil
}

// maxLeasesBeforeSweep is the number of leases at which AcquireLease first
// removes the expired ones, so that leases never released do not pile up.
const maxLeasesBeforeSweep = 1024

// AcquireLease implements cache.Leaser in process memory: the lease is
// shared by every Cache over this Store (and, through cache.OpenRegistry,
// by the aliases naming it), not by other processes. Leases are kept apart
// from entries: they are never culled, listed or returned by Get.
func (s *Store) AcquireLease(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	if ctx == nil {
		return false, cache.ErrNilContext
	}
	if ttl <= 0 {
		return false, fmt.Errorf("%w: memory: lease ttl %v is not positive", cache.ErrInvalidOption, ttl)
	}
	now := s.nowNano()
	deadline := now + int64(ttl)
	if deadline < now {
		deadline = math.MaxInt64
	}
	s.leaseMu.Lock()
	defer s.leaseMu.Unlock()
	if l, ok := s.leases[key]; ok && l.deadline > now {
		return false, nil
	}
	if s.leases == nil {
		s.leases = make(map[string]lease)
	}
	if len(s.leases) >= maxLeasesBeforeSweep {
		for k, l := range s.leases {
			if l.deadline <= now {
				delete(s.leases, k)
			}
		}
	}
	s.leases[key] = lease{token: token, deadline: deadline}
	return true, nil
}

// ReleaseLease implements cache.Leaser: it removes the lease if it is
// unexpired and holds token.
func (s *Store) ReleaseLease(ctx context.Context, key, token string) (bool, error) {
	if ctx == nil {
		return false, cache.ErrNilContext
	}
	now := s.nowNano()
	s.leaseMu.Lock()
	defer s.leaseMu.Unlock()
	l, ok := s.leases[key]
	if !ok || l.token != token {
		return false, nil
	}
	delete(s.leases, key)
	return l.deadline > now, nil
}

// Close stops the background sweep. The store keeps working afterwards.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.stop != nil {
			close(s.stop)
			<-s.done
		}
	})
	return nil
}

// Len returns the number of entries, expired ones included until removed.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.items)
}

// Bytes returns the bytes held, as counted against MaxBytes.
func (s *Store) Bytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes
}

// Keys returns the made keys from the most to the least recently used, for
// tests and debugging pages.
func (s *Store) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.items))
	for e := s.lru.next; e != &s.lru; e = e.next {
		keys = append(keys, e.key)
	}
	return keys
}

// Sweep removes every expired entry now and returns how many it removed.
func (s *Store) Sweep() int {
	now := s.nowNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for e := s.lru.next; e != &s.lru; {
		next := e.next
		if expired(e, now) {
			s.remove(e)
			n++
		}
		e = next
	}
	return n
}

func (s *Store) sweepEvery(interval time.Duration) {
	defer close(s.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.Sweep()
		}
	}
}

// InProcess implements cache.InProcess: the store is in process memory.
func (s *Store) InProcess() bool { return true }
