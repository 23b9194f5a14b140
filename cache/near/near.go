package near

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fragcache/fragcache/cache"
)

// DefaultMaxBytes bounds the copies when Options.MaxBytes is zero: 64 MiB.
const DefaultMaxBytes = 64 << 20

// MaxTTL is the longest Options.TTL: 30 days. A staleness bound is meant
// to be seconds or minutes.
const MaxTTL = 30 * 24 * time.Hour

// numShards is the number of shards of the store (a power of two).
const numShards = 64

// entryOverhead estimates the bytes an entry costs beyond its key and
// value: the map slot, the entry and the slice and string headers.
const entryOverhead = 96

// Options configures New.
type Options struct {
	// TTL is how long a copy is kept after it was fetched or written: the
	// bound on how stale a value another process changed can be. It must
	// be positive and at most MaxTTL.
	TTL time.Duration
	// MaxBytes bounds the memory the copies take (an estimate: keys,
	// values and a fixed overhead per entry). Zero is DefaultMaxBytes; it
	// must not be negative.
	MaxBytes int64
	// Lifetime returns how long the wrapped backend keeps a value written
	// with timeout t, for t neither DefaultTimeout nor Forever: at least
	// min, at most max. A copy of a value this process wrote or touched
	// is kept no longer than min after the write, and no copy of the key
	// is kept from then until max after it, while the server may or may
	// not still hold the value. Nil means min = max = t.Duration();
	// memcached, whose clock ticks in whole seconds, needs
	// memcached.Lifetime.
	Lifetime func(t cache.Timeout) (min, max time.Duration)
}

// Wrapper is what New returns: a cache.Backend with the optional
// interfaces (cache.Leaser among them, forwarded to the wrapped backend,
// or failing with errors.ErrUnsupported over one without leases). Its
// concrete type is *Backend, or *IncrBackend when the
// wrapped backend implements cache.Incrementer.
type Wrapper interface {
	cache.Backend
	cache.ManyGetter
	cache.ManySetter
	cache.ManyDeleter
	cache.KeyBytesGetter
	cache.KeyChecker
	cache.RawGetter
	cache.LocalGetter
	cache.NearReporter
	cache.Unwrapper
	cache.Leaser
}

// Backend is the near layer over a backend without an atomic increment.
// See the package documentation for what it keeps and for how long.
type Backend struct {
	inner    cache.Backend
	many     cache.ManyGetter     // nil when inner lacks it
	manySet  cache.ManySetter     // nil when inner lacks it
	manyDel  cache.ManyDeleter    // nil when inner lacks it
	bytes    cache.KeyBytesGetter // nil when inner lacks it
	leaser   cache.Leaser         // nil when inner lacks it
	indexer  cache.Indexer        // nil when inner lacks it
	keyCheck cache.KeyCheck
	ttl      time.Duration
	maxBytes int64
	lifetime func(cache.Timeout) (min, max time.Duration)
	now      func() time.Time
	seed     maphash.Seed

	hits, misses, invalidations atomic.Uint64

	shards [numShards]shard
}

// IncrBackend is the near layer over a backend with an atomic increment:
// a Backend that also forwards Incr.
type IncrBackend struct {
	*Backend
	incr cache.Incrementer
}

var (
	_ Wrapper           = (*Backend)(nil)
	_ Wrapper           = (*IncrBackend)(nil)
	_ cache.Incrementer = (*IncrBackend)(nil)
)

// New returns b with a near cache in front of it. The result is an
// *IncrBackend when b implements cache.Incrementer, else a *Backend. It
// fails, with an error wrapping cache.ErrInvalidOption, on a nil backend
// or an option out of range.
func New(b cache.Backend, opts Options) (Wrapper, error) {
	if b == nil {
		return nil, fmt.Errorf("%w: near: nil backend", cache.ErrInvalidOption)
	}
	if opts.TTL <= 0 || opts.TTL > MaxTTL {
		return nil, fmt.Errorf("%w: near: TTL %v: want a positive duration of at most %v", cache.ErrInvalidOption, opts.TTL, MaxTTL)
	}
	if opts.MaxBytes < 0 {
		return nil, fmt.Errorf("%w: near: MaxBytes %d: want 0 (the default, %d) or more", cache.ErrInvalidOption, opts.MaxBytes, DefaultMaxBytes)
	}
	if opts.MaxBytes == 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.Lifetime == nil {
		opts.Lifetime = func(t cache.Timeout) (time.Duration, time.Duration) { return t.Duration(), t.Duration() }
	}
	w := &Backend{
		inner:    b,
		keyCheck: cache.KeyCheckWarn,
		ttl:      opts.TTL,
		maxBytes: opts.MaxBytes,
		lifetime: opts.Lifetime,
		now:      time.Now,
		seed:     maphash.MakeSeed(),
	}
	share := opts.MaxBytes / numShards
	for i := range w.shards {
		w.shards[i].m = make(map[string]entry)
		w.shards[i].max = share
	}
	w.many, _ = b.(cache.ManyGetter)
	w.manySet, _ = b.(cache.ManySetter)
	w.manyDel, _ = b.(cache.ManyDeleter)
	w.bytes, _ = b.(cache.KeyBytesGetter)
	w.leaser, _ = b.(cache.Leaser)
	w.indexer, _ = b.(cache.Indexer)
	if kc, ok := b.(cache.KeyChecker); ok {
		w.keyCheck = kc.KeyCheck()
	}
	if inc, ok := b.(cache.Incrementer); ok {
		return &IncrBackend{Backend: w, incr: inc}, nil
	}
	return w, nil
}

// entry is what a shard holds for a key: a copy of its value, and the
// bound this process's last write put on copies of it.
type entry struct {
	v       []byte
	has     bool      // v is a copy (a stored empty value is one)
	expires time.Time // the copy's expiry
	limit   time.Time // copies expire by then; zero: no bound
	until   time.Time // no copies from limit to until, when the bound is forgotten
}

// bound reports whether e's bound holds at now, and forgets it if not.
func (e *entry) bound(now time.Time) bool {
	if e.until.IsZero() {
		return false
	}
	if !now.Before(e.until) {
		e.limit, e.until = time.Time{}, time.Time{}
		return false
	}
	return true
}

// copyExpiry returns when a copy made at now expires: after ttl, or by the
// bound's limit; not after now when no copy may be kept.
func (e *entry) copyExpiry(now time.Time, ttl time.Duration) time.Time {
	exp := now.Add(ttl)
	if e.bound(now) && e.limit.Before(exp) {
		exp = e.limit
	}
	return exp
}

// shard is a part of the store with its own lock and byte bound. gen
// counts the writes to its keys: a read keeps what it fetched only if no
// write began since it looked.
type shard struct {
	mu    sync.Mutex
	gen   uint64
	m     map[string]entry
	n     int   // entries holding a copy
	bytes int64 // estimated size of m
	max   int64 // bytes allowed
	_     [64]byte
}

func size(key string, e entry) int64 { return int64(len(key)+len(e.v)) + entryOverhead }

func (w *Backend) shardOf(key string) *shard {
	return &w.shards[maphash.String(w.seed, key)&(numShards-1)]
}

func (w *Backend) shardOfBytes(key []byte) *shard {
	return &w.shards[maphash.Bytes(w.seed, key)&(numShards-1)]
}

// lookup returns the copy held for key, removing it when expired. The
// lock is held.
func (s *shard) lookup(key string, now time.Time) ([]byte, bool) {
	e, ok := s.m[key]
	if !ok || !e.has {
		return nil, false
	}
	if !now.Before(e.expires) {
		s.dropCopy(key, e, now)
		return nil, false
	}
	return e.v, true
}

// lookupBytes is lookup for a key as bytes, without converting it.
func (s *shard) lookupBytes(key []byte, now time.Time) ([]byte, bool) {
	e, ok := s.m[string(key)]
	if !ok || !e.has {
		return nil, false
	}
	if !now.Before(e.expires) {
		s.dropCopy(string(key), e, now)
		return nil, false
	}
	return e.v, true
}

// dropCopy removes e's copy, keeping its bound while it holds. It reports
// whether there was a copy. The lock is held.
func (s *shard) dropCopy(key string, e entry, now time.Time) bool {
	had := e.has
	s.bytes -= size(key, e)
	if had {
		s.n--
	}
	if !e.bound(now) {
		delete(s.m, key)
		return had
	}
	e.v, e.has, e.expires = nil, false, time.Time{}
	s.m[key] = e
	s.bytes += size(key, e)
	return had
}

// put stores e under key, replacing what was there, then evicts while the
// shard is over its share. An entry over the share is not stored. The lock
// is held.
func (s *shard) put(key string, e entry) {
	if old, ok := s.m[key]; ok {
		s.bytes -= size(key, old)
		if old.has {
			s.n--
		}
		delete(s.m, key)
	}
	sz := size(key, e)
	if sz > s.max {
		return
	}
	for k, old := range s.m {
		if s.bytes+sz <= s.max {
			break
		}
		s.bytes -= size(k, old)
		if old.has {
			s.n--
		}
		delete(s.m, k)
	}
	s.m[key] = e
	s.bytes += sz
	if e.has {
		s.n++
	}
}

// keep stores a copy of v, fetched from the server after the shard's
// generation was gen, unless a write began since. The lock is not held.
func (w *Backend) keep(s *shard, key string, v []byte, gen uint64) {
	c := make([]byte, len(v))
	copy(c, v)
	s.mu.Lock()
	if s.gen == gen {
		now := w.now()
		e := s.m[key]
		if exp := e.copyExpiry(now, w.ttl); now.Before(exp) {
			e.v, e.has, e.expires = c, true, exp
			s.put(key, e)
		}
	}
	s.mu.Unlock()
}

// begin drops key's copy before a write and returns the shard and its
// generation after the write's bump.
func (w *Backend) begin(key string) (*shard, uint64) {
	s := w.shardOf(key)
	s.mu.Lock()
	s.gen++
	if e, ok := s.m[key]; ok && s.dropCopy(key, e, w.now()) {
		w.invalidations.Add(1)
	}
	g := s.gen
	s.mu.Unlock()
	return s, g
}

// write is what a finished write leaves for its key.
type write struct {
	value   []byte        // the value written, when stored
	stored  bool          // value is now the server's
	timeout cache.Timeout // the timeout written with, if bounded
	bounded bool          // timeout applies (Set, Add, Touch)
}

// end drops key's copy after a write, and keeps the written value when no
// other write to the shard began meanwhile (alone). The lock is held.
func (w *Backend) end(s *shard, key string, alone bool, wr write) {
	now := w.now()
	s.gen++
	e, ok := s.m[key]
	if ok && e.has {
		// A copy that appeared during the write (none should): drop it.
		if s.dropCopy(key, e, now) {
			w.invalidations.Add(1)
		}
		e, ok = s.m[key]
	}
	if !ok {
		e = entry{}
	}
	held := e.bound(now)
	mayKeep := true
	if wr.bounded {
		var limit, until time.Time // zero: Forever
		if !wr.timeout.IsForever() {
			lo, hi := w.lifetimeOf(wr.timeout)
			limit, until = now.Add(lo), now.Add(hi)
			mayKeep = lo > 0
		}
		switch {
		case alone || !held:
			// This write is the last one, or the only one bounded.
			e.limit, e.until = limit, until
		case !limit.IsZero():
			// Another write raced: either may be the server's value; keep
			// the sooner limit and the later end.
			if limit.Before(e.limit) {
				e.limit = limit
			}
			if until.After(e.until) {
				e.until = until
			}
		}
	}
	if wr.stored && alone && mayKeep {
		if exp := e.copyExpiry(now, w.ttl); now.Before(exp) {
			c := make([]byte, len(wr.value))
			copy(c, wr.value)
			e.v, e.has, e.expires = c, true, exp
		}
	}
	if !e.has && !e.bound(now) {
		if ok {
			s.bytes -= size(key, s.m[key])
			delete(s.m, key)
		}
		return
	}
	s.put(key, e)
}

// lifetimeOf is Options.Lifetime, within [0, MaxTTL].
func (w *Backend) lifetimeOf(t cache.Timeout) (min, max time.Duration) {
	if t.IsExpired() {
		return 0, 0
	}
	lo, hi := w.lifetime(t)
	clamp := func(d time.Duration) time.Duration {
		return time.Duration(math.Max(0, math.Min(float64(d), float64(MaxTTL))))
	}
	lo, hi = clamp(lo), clamp(hi)
	if hi < lo {
		hi = lo
	}
	return lo, hi
}

// finish is end for one key, taking the lock.
func (w *Backend) finish(s *shard, key string, gen uint64, wr write) {
	s.mu.Lock()
	w.end(s, key, s.gen == gen, wr)
	s.mu.Unlock()
}

// many is begin and end for several keys.
type many struct {
	w    *Backend
	gens map[*shard]uint64
}

func (w *Backend) beginMany(keys []string) many {
	m := many{w: w, gens: make(map[*shard]uint64)}
	for _, k := range keys {
		s, g := w.begin(k)
		m.gens[s] = g
	}
	return m
}

// end finishes the writes of keys, wr(i) saying what the write of keys[i]
// left.
func (m many) end(keys []string, wr func(i int) write) {
	byShard := make(map[*shard][]int, len(m.gens))
	for i, k := range keys {
		s := m.w.shardOf(k)
		byShard[s] = append(byShard[s], i)
	}
	for s, idx := range byShard {
		s.mu.Lock()
		// Whether another write began since this batch's last begin:
		// each end bumps the generation, so look once.
		alone := s.gen == m.gens[s]
		for _, i := range idx {
			m.w.end(s, keys[i], alone, wr(i))
		}
		s.mu.Unlock()
	}
}

// Unwrap returns the wrapped backend.
func (w *Backend) Unwrap() cache.Backend { return w.inner }

// KeyCheck returns the wrapped backend's key check, or cache.KeyCheckWarn
// (the Cache's default) when it has none.
func (w *Backend) KeyCheck() cache.KeyCheck { return w.keyCheck }

// TTL returns Options.TTL: how long a copy is kept at most.
func (w *Backend) TTL() time.Duration { return w.ttl }

// GetLocal implements cache.LocalGetter: the copy held for key, without
// I/O, or false. A copy found counts as a near hit; a miss is not counted,
// since the Get that follows it (a fail-open wrapper reads near copies
// first) counts it.
func (w *Backend) GetLocal(_ context.Context, key string) ([]byte, bool) {
	s := w.shardOf(key)
	s.mu.Lock()
	v, ok := s.lookup(key, w.now())
	s.mu.Unlock()
	if ok {
		w.hits.Add(1)
	}
	return v, ok
}

// NearStats implements cache.NearReporter, with Mode "ttl".
func (w *Backend) NearStats() cache.NearStats {
	st := cache.NearStats{
		Mode:          "ttl",
		State:         "on",
		Hits:          w.hits.Load(),
		Misses:        w.misses.Load(),
		Invalidations: w.invalidations.Load(),
		MaxBytes:      w.maxBytes,
		MaxStaleness:  w.ttl,
	}
	for i := range w.shards {
		s := &w.shards[i]
		s.mu.Lock()
		st.Entries += s.n
		st.Bytes += s.bytes
		s.mu.Unlock()
	}
	return st
}

// Get returns the copy held for key, or asks the wrapped backend and keeps
// a copy of a hit.
func (w *Backend) Get(ctx context.Context, key string) ([]byte, bool, error) {
	s := w.shardOf(key)
	s.mu.Lock()
	v, ok := s.lookup(key, w.now())
	gen := s.gen
	s.mu.Unlock()
	if ok {
		w.hits.Add(1)
		return v, true, nil
	}
	w.misses.Add(1)
	v, ok, err := w.inner.Get(ctx, key)
	if err == nil && ok {
		w.keep(s, key, v, gen)
	}
	return v, ok, err
}

// GetKeyBytes is Get with the key as bytes: a local hit converts nothing.
func (w *Backend) GetKeyBytes(ctx context.Context, key []byte) ([]byte, bool, error) {
	s := w.shardOfBytes(key)
	s.mu.Lock()
	v, ok := s.lookupBytes(key, w.now())
	gen := s.gen
	s.mu.Unlock()
	if ok {
		w.hits.Add(1)
		return v, true, nil
	}
	w.misses.Add(1)
	var err error
	if w.bytes != nil {
		v, ok, err = w.bytes.GetKeyBytes(ctx, key)
	} else {
		v, ok, err = w.inner.Get(ctx, string(key))
	}
	if err == nil && ok {
		w.keep(s, string(key), v, gen)
	}
	return v, ok, err
}

// GetRaw implements cache.RawGetter through the wrapped backend's GetRaw,
// or its Get: always from the server, never from a copy.
func (w *Backend) GetRaw(ctx context.Context, key string) (cache.Raw, bool, error) {
	if rg, ok := w.inner.(cache.RawGetter); ok {
		return rg.GetRaw(ctx, key)
	}
	v, ok, err := w.inner.Get(ctx, key)
	return cache.Raw{Bytes: v}, ok, err
}

// GetMany returns the copies held, and asks the wrapped backend for the
// other keys at once (or one by one when it has no GetMany), keeping
// copies of its hits.
func (w *Backend) GetMany(ctx context.Context, keys []string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(keys))
	var rest []string
	var gens []uint64
	now := w.now()
	for _, k := range keys {
		s := w.shardOf(k)
		s.mu.Lock()
		v, ok := s.lookup(k, now)
		g := s.gen
		s.mu.Unlock()
		if ok {
			out[k] = v
			continue
		}
		rest = append(rest, k)
		gens = append(gens, g)
	}
	w.hits.Add(uint64(len(out)))
	w.misses.Add(uint64(len(rest)))
	if len(rest) == 0 {
		return out, nil
	}
	if w.many != nil {
		found, err := w.many.GetMany(ctx, rest)
		if err != nil {
			return nil, err
		}
		for i, k := range rest {
			if v, ok := found[k]; ok {
				out[k] = v
				w.keep(w.shardOf(k), k, v, gens[i])
			}
		}
		return out, nil
	}
	for i, k := range rest {
		v, ok, err := w.inner.Get(ctx, k)
		if err != nil {
			return nil, err
		}
		if ok {
			out[k] = v
			w.keep(w.shardOf(k), k, v, gens[i])
		}
	}
	return out, nil
}

// Has asks the wrapped backend: only values are kept, not presence.
func (w *Backend) Has(ctx context.Context, key string) (bool, error) { return w.inner.Has(ctx, key) }

// Set stores value through the wrapped backend and keeps a copy, for at
// most the TTL and the timeout's Lifetime.
func (w *Backend) Set(ctx context.Context, key string, value []byte, timeout cache.Timeout) error {
	s, g := w.begin(key)
	err := w.inner.Set(ctx, key, value, timeout)
	w.finish(s, key, g, write{value: value, stored: err == nil, timeout: timeout, bounded: true})
	return err
}

// Add stores value through the wrapped backend if key is absent, and keeps
// a copy when it was stored.
func (w *Backend) Add(ctx context.Context, key string, value []byte, timeout cache.Timeout) (bool, error) {
	s, g := w.begin(key)
	added, err := w.inner.Add(ctx, key, value, timeout)
	ok := err == nil && added
	w.finish(s, key, g, write{value: value, stored: ok, timeout: timeout, bounded: ok})
	return added, err
}

// SetMany stores the entries through the wrapped backend (one by one when
// it has no SetMany) and keeps copies of those stored.
func (w *Backend) SetMany(ctx context.Context, entries []cache.Entry, timeout cache.Timeout) ([]string, error) {
	keys := make([]string, len(entries))
	for i, e := range entries {
		keys[i] = e.Key
	}
	m := w.beginMany(keys)
	var failed []string
	var err error
	if w.manySet != nil {
		failed, err = w.manySet.SetMany(ctx, entries, timeout)
	} else {
		for _, e := range entries {
			if err = w.inner.Set(ctx, e.Key, e.Value, timeout); err != nil {
				break
			}
		}
	}
	var bad map[string]bool
	if len(failed) > 0 {
		bad = make(map[string]bool, len(failed))
		for _, k := range failed {
			bad[k] = true
		}
	}
	m.end(keys, func(i int) write {
		return write{value: entries[i].Value, stored: err == nil && !bad[keys[i]], timeout: timeout, bounded: true}
	})
	return failed, err
}

// Delete removes key through the wrapped backend, and its copy.
func (w *Backend) Delete(ctx context.Context, key string) (bool, error) {
	s, g := w.begin(key)
	ok, err := w.inner.Delete(ctx, key)
	w.finish(s, key, g, write{})
	return ok, err
}

// DeleteMany removes the keys through the wrapped backend (one by one when
// it has no DeleteMany), and their copies.
// DeleteManyCounted implements cache.ManyDeleteCounter over a backend
// that does (DeleteMany otherwise), dropping the copies as DeleteMany does.
func (w *Backend) DeleteManyCounted(ctx context.Context, keys []string) (int, error) {
	dc, ok := w.inner.(cache.ManyDeleteCounter)
	if !ok {
		return 0, fmt.Errorf("near: the wrapped backend does not count deletions: %w", errors.ErrUnsupported)
	}
	m := w.beginMany(keys)
	n, err := dc.DeleteManyCounted(ctx, keys)
	m.end(keys, func(int) write { return write{} })
	return n, err
}

func (w *Backend) DeleteMany(ctx context.Context, keys []string) error {
	m := w.beginMany(keys)
	var err error
	if w.manyDel != nil {
		err = w.manyDel.DeleteMany(ctx, keys)
	} else {
		for _, k := range keys {
			if _, err = w.inner.Delete(ctx, k); err != nil {
				break
			}
		}
	}
	m.end(keys, func(int) write { return write{} })
	return err
}

// Touch gives key a new timeout through the wrapped backend and drops its
// copy; later copies are kept no longer than the new timeout's Lifetime.
func (w *Backend) Touch(ctx context.Context, key string, timeout cache.Timeout) (bool, error) {
	s, g := w.begin(key)
	ok, err := w.inner.Touch(ctx, key, timeout)
	w.finish(s, key, g, write{timeout: timeout, bounded: err == nil && ok})
	return ok, err
}

// Clear empties the wrapped backend and drops every copy.
func (w *Backend) Clear(ctx context.Context) error {
	w.dropAll(true)
	err := w.inner.Clear(ctx)
	w.dropAll(true)
	return err
}

// dropAll drops every copy and bound, bumping every generation, and
// counts the copies as invalidations if count.
func (w *Backend) dropAll(count bool) {
	for i := range w.shards {
		s := &w.shards[i]
		s.mu.Lock()
		s.gen++
		if count {
			w.invalidations.Add(uint64(s.n))
		}
		clear(s.m)
		s.n, s.bytes = 0, 0
		s.mu.Unlock()
	}
}

// errNoLeases is the error of the lease methods over a backend without
// leases.
var errNoLeases = fmt.Errorf("near: the wrapped backend has no leases: %w", errors.ErrUnsupported)

// AcquireLease takes the lease on the wrapped backend (see cache.Leaser).
// Leases never go through the near layer: no copy of a lease key is kept,
// so that every process sees the one lease the server holds. Over a
// backend without leases it fails with an error wrapping
// errors.ErrUnsupported.
func (w *Backend) AcquireLease(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	if w.leaser == nil {
		return false, errNoLeases
	}
	return w.leaser.AcquireLease(ctx, key, token, ttl)
}

// ReleaseLease releases the lease on the wrapped backend (see
// cache.Leaser).
func (w *Backend) ReleaseLease(ctx context.Context, key, token string) (bool, error) {
	if w.leaser == nil {
		return false, errNoLeases
	}
	return w.leaser.ReleaseLease(ctx, key, token)
}

// Close drops the copies and closes the wrapped backend.
func (w *Backend) Close() error {
	w.dropAll(false)
	return w.inner.Close()
}

// Incr increments through the wrapped backend and drops key's copy.
func (w *IncrBackend) Incr(ctx context.Context, key string, delta int64) (int64, error) {
	s, g := w.begin(key)
	n, err := w.incr.Incr(ctx, key, delta)
	w.finish(s, key, g, write{})
	return n, err
}

// errNoIndexes is the error of the index methods over a backend without
// indexes.
var errNoIndexes = fmt.Errorf("near: the wrapped backend keeps no indexes: %w", errors.ErrUnsupported)

// IndexAdd adds to an index on the wrapped backend (see cache.Indexer);
// indexes never go through the near layer.
func (w *Backend) IndexAdd(ctx context.Context, key, member string, timeout cache.Timeout) error {
	if w.indexer == nil {
		return errNoIndexes
	}
	return w.indexer.IndexAdd(ctx, key, member, timeout)
}

// IndexMembers reads an index on the wrapped backend.
func (w *Backend) IndexMembers(ctx context.Context, key string) ([]string, error) {
	if w.indexer == nil {
		return nil, errNoIndexes
	}
	return w.indexer.IndexMembers(ctx, key)
}

// IndexDelete deletes an index on the wrapped backend.
func (w *Backend) IndexDelete(ctx context.Context, key string) error {
	if w.indexer == nil {
		return errNoIndexes
	}
	return w.indexer.IndexDelete(ctx, key)
}
