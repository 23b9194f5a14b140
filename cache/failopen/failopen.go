// Package failopen wraps a cache.Backend so that a failing cache costs a
// cache miss instead of an error: backend errors and timeouts become misses,
// each operation is bounded by a timeout, and a circuit breaker stops calling
// a backend that keeps failing until it has had time to come back.
//
// A cache is an optimisation. When Redis or memcached is down or slow, a
// page should render uncached, not fail, and should not pay a network
// timeout on every request either. New gives a backend that behaves so, and
// counts and logs what it swallowed, so failures stay observable.
//
// # What each method does when the backend fails
//
// A failure is an error from the wrapped backend, or the operation running
// past the operation timeout (WithOpTimeout). While the breaker is open, calls fail at once
// without reaching the backend ("short-circuited"), with the same results:
//
//	Get, GetKeyBytes  a miss (nil, false, nil): the caller renders the value
//	GetMany           an empty map, nil: every key a miss
//	Has               false, nil
//	Add               false, nil: nothing stored (GetOrSet then returns the value it loaded)
//	Touch             false, nil: "no such key"; the caller may store it again
//	Delete            false, nil
//	Set, DeleteMany   nil
//	SetMany           every key reported as not stored, nil error
//	AcquireLease      false, nil: no lease (the caller goes on without one)
//	ReleaseLease      false, nil: the lease lapses at the end of its ttl
//	Incr              the error (ErrOpen when short-circuited): a counter cannot
//	                  pretend to have counted, and a made-up value would be wrong
//	Clear             the error (ErrOpen when short-circuited): a caller who asked
//	                  to empty the cache must learn that it was not emptied
//	Close             always passed through
//
// # Backends over several servers
//
// A backend that isolates a failing server itself (cache/memcached with a
// pool of servers, which keeps a breaker per server) reports a failure
// confined to some servers with an error satisfying errors.Is(err,
// cache.ErrPartialOutage). The wrapper answers such a call as any failure
// (a miss, a write not done, counted in DroppedWrites), except that
// GetMany returns the hits of the servers that answered and SetMany the
// keys the backend reports as not stored; but it is counted in
// Stats.Isolated only, not as a failure: it neither opens the breaker nor
// makes the rest of the request skip the backend (cache.Budget), and a
// half-open probe answered so closes the breaker. So one server of three
// down costs the keys on it, and the breaker opens only when every server
// fails.
//
// A swallowed write (Set, SetMany, Add, Touch, Delete, DeleteMany,
// AcquireLease, ReleaseLease) is counted in Stats.DroppedWrites, and
// reported to the Cache (cache.ReportSwallowed), which counts it as an
// error. When a backend was unreachable rather than restarted empty, it
// may still hold values that such a write would have replaced or deleted.
// Flush it after an outage if stale values matter.
//
// # What is not a backend failure
//
// Errors that say the call itself was wrong are returned unchanged by every
// method and do not count against the backend: cache.ErrInvalidKey,
// cache.ErrValueTooLarge, cache.ErrNotInteger, cache.ErrNotFound (Incr on a
// missing key), cache.ErrInvalidOption, cache.ErrNilContext,
// cache.ErrClosed and errors.ErrUnsupported (leases over a backend without
// them), and the caller's own context being done (cancelled, or
// past a deadline the caller set). Only the timeout this package adds counts
// as a backend timeout.
//
// # Circuit breaker
//
// After a number of consecutive failures (WithFailureThreshold, default 5)
// the breaker opens: for a cool-down (WithCoolDown, default 5 s, plus a
// random part of up to WithJitter of it, so that a fleet of processes does
// not probe in step) every call short-circuits, costing a
// clock read and no backend time. Then one call is let through as a probe
// (half-open) while the others keep short-circuiting: success closes the
// breaker, failure opens it for another cool-down.
//
// # Near caches
//
// When the wrapped backend keeps copies in process memory (it implements
// cache.LocalGetter: cache/redis with near_cache=1, cache/memcached with
// local_ttl=), Get, GetKeyBytes and GetMany read those copies first: a
// near hit costs no operation timeout and never counts for or against the
// breaker. So near hits go on being served during an outage, for at most
// the near cache's staleness bound, and a near hit never serves as the
// half-open breaker's probe (which must reach the server). Near hits served
// while the breaker is not closed, or after the request's cache.Budget saw
// the backend fail, are counted in NearStats().Stale.
//
// # Timeouts
//
// Each operation runs under a context.WithTimeout of ctx (WithOpTimeout),
// default 100 ms: about a hundred times a healthy cache round trip on a
// LAN, so GC pauses and load spikes do not trip it, yet short enough that
// a hung cache costs a page no more than rendering a few fragments would.
// The wrapped backend must honour its context (cache/redis does; a client
// without context support is bounded by its own socket timeouts). The
// timeout's context costs a healthy call under a microsecond and four small
// allocations, next to the tens of microseconds of a network round trip.
//
// # Optional interfaces
//
// The wrapper implements cache.ManyGetter, cache.ManySetter,
// cache.ManyDeleter, cache.KeyBytesGetter and cache.KeyChecker whatever the
// wrapped backend implements, falling back to the single-key methods exactly
// as cache.Cache would (so a batch counts as one operation). cache.Incrementer
// cannot be emulated without the cache's default timeout, so New returns a
// type with Incr only when the wrapped backend has one; otherwise the Cache
// uses its own Get-and-Set increment through the wrapper — whose Get fails
// open, so that such an Incr on a failing backend reports cache.ErrNotFound
// rather than the failure.
package failopen

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/fragcache/fragcache/cache"
	cb "github.com/fragcache/fragcache/internal/breaker"
)

// Wrapper is what New returns: a cache.Backend with the optional
// interfaces (cache.Leaser among them, which fails with
// errors.ErrUnsupported over a backend without leases), its Breaker, and
// cache.Unwrapper giving the wrapped backend.
// Its concrete type is *Backend, or *IncrBackend when the wrapped backend
// implements cache.Incrementer.
type Wrapper interface {
	cache.Backend
	cache.ManyGetter
	cache.ManySetter
	cache.ManyDeleter
	cache.KeyBytesGetter
	cache.KeyChecker
	cache.Unwrapper
	cache.Leaser
	Breaker
}

// Backend is the fail-open wrapper of a backend without an atomic
// increment. See the package documentation for what each method does when
// the backend fails.
type Backend struct {
	inner     cache.Backend
	many      cache.ManyGetter     // nil when inner lacks it
	manySet   cache.ManySetter     // nil when inner lacks it
	manyDel   cache.ManyDeleter    // nil when inner lacks it
	bytes     cache.KeyBytesGetter // nil when inner lacks it
	local     cache.LocalGetter    // nil when inner has no near cache
	leaser    cache.Leaser         // nil when inner has no leases
	indexer   cache.Indexer        // nil when inner keeps no indexes
	nStale    atomic.Uint64        // near hits served while unhealthy
	keyCheck  cache.KeyCheck
	opTimeout time.Duration
	breaker   // the circuit breaker and the counters (breaker.go)
}

// IncrBackend is the fail-open wrapper of a backend with an atomic
// increment: a Backend that also forwards Incr.
type IncrBackend struct {
	*Backend
	incr cache.Incrementer
}

// The wrappers implement Wrapper (every optional interface but
// cache.Incrementer), and IncrBackend cache.Incrementer too.
var (
	_ Wrapper           = (*Backend)(nil)
	_ Wrapper           = (*IncrBackend)(nil)
	_ cache.Incrementer = (*IncrBackend)(nil)
)

// New returns b wrapped: failures become misses, operations are bounded
// by an operation timeout, and a circuit breaker skips b while it keeps
// failing. The result is a *IncrBackend when b implements
// cache.Incrementer, else a *Backend. It fails, with an error wrapping
// cache.ErrInvalidOption, on a nil backend or an option out of range.
func New(b cache.Backend, opts ...Option) (Wrapper, error) {
	cfg := config{
		failureThreshold: DefaultFailureThreshold,
		coolDown:         DefaultCoolDown,
		jitter:           DefaultJitter,
		opTimeout:        DefaultOpTimeout,
		logInterval:      DefaultLogInterval,
		name:             "cache backend",
	}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if b == nil {
		return nil, fmt.Errorf("%w: failopen: nil backend", cache.ErrInvalidOption)
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if cfg.now == nil {
		cfg.now = time.Now
	}
	w := &Backend{
		inner:     b,
		keyCheck:  cache.KeyCheckWarn,
		opTimeout: cfg.opTimeout,
		breaker: breaker{
			cb:       cb.Breaker{Threshold: int32(cfg.failureThreshold), CoolDown: cfg.coolDown, Jitter: cfg.jitter, Now: cfg.now},
			now:      cfg.now,
			logger:   cfg.logger,
			logEvery: cfg.logInterval,
			name:     cfg.name,
		},
	}
	w.many, _ = b.(cache.ManyGetter)
	w.manySet, _ = b.(cache.ManySetter)
	w.manyDel, _ = b.(cache.ManyDeleter)
	w.bytes, _ = b.(cache.KeyBytesGetter)
	w.leaser, _ = b.(cache.Leaser)
	w.indexer, _ = b.(cache.Indexer)
	if lg, ok := b.(cache.LocalGetter); ok {
		// A backend that can have a near cache but has none (redis://
		// without near_cache=1) is read as any other.
		if nr, ok := b.(cache.NearReporter); !ok || nr.NearStats().Mode != "" {
			w.local = lg
		}
	}
	if kc, ok := b.(cache.KeyChecker); ok {
		w.keyCheck = kc.KeyCheck()
	}
	if inc, ok := b.(cache.Incrementer); ok {
		return &IncrBackend{Backend: w, incr: inc}, nil
	}
	return w, nil
}

// Unwrap returns the wrapped backend.
func (b *Backend) Unwrap() cache.Backend { return b.inner }

// State returns the breaker's state.
func (b *Backend) State() State { return b.cb.State() }

// Stats returns the counters.
func (b *Backend) Stats() Stats { return b.breaker.stats() }

// KeyCheck returns the wrapped backend's key check, or cache.KeyCheckWarn
// (the Cache's default) when it has none.
func (b *Backend) KeyCheck() cache.KeyCheck { return b.keyCheck }

// outcome of one call.
type outcome uint8

const (
	success outcome = iota
	failure         // the backend failed or was skipped: fail open
	passed          // an error the caller must see, not the backend's fault
)

// call runs f under the breaker and the operation timeout, and classifies
// the result. On failure the error is the backend's, or ErrOpen when the
// call was short-circuited.
func (b *Backend) call(ctx context.Context, op string, f func(context.Context) error) (outcome, error) {
	if ctx == nil {
		return passed, cache.ErrNilContext
	}
	budget := cache.BudgetFrom(ctx)
	if budget.Failed(b) {
		// This request already waited for this backend once: do not make
		// it wait again before the breaker opens.
		b.nShort.Add(1)
		return failure, ErrOpen
	}
	ok, probe := b.allow()
	if !ok {
		b.nShort.Add(1)
		return failure, ErrOpen
	}
	octx, cancel := ctx, context.CancelFunc(nil)
	if b.opTimeout > 0 {
		// A caller's deadline sooner than the timeout already bounds the
		// call (and then ends as the caller's, passed through).
		if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > b.opTimeout {
			octx, cancel = context.WithTimeout(ctx, b.opTimeout)
		}
	}
	err := f(octx)
	timedOut := err != nil && octx.Err() != nil
	if cancel != nil {
		cancel()
	}
	switch {
	case err == nil:
		b.succeeded(probe)
		return success, nil
	case ctx.Err() != nil || passThrough(err):
		b.neutral(probe)
		return passed, err
	case errors.Is(err, cache.ErrPartialOutage):
		// One server of several failed and the backend isolates it:
		// fail open for this call, but the backend serves.
		b.nIsolated.Add(1)
		b.succeeded(probe)
		return failure, err
	}
	if !timedOut && errors.Is(err, context.DeadlineExceeded) {
		timedOut = true // the backend's own deadline, or ours seen first by the backend
	}
	b.failed(ctx, op, err, timedOut, probe)
	budget.Fail(b)
	return failure, err
}

// passThrough reports errors that say the call was wrong, not the backend.
func passThrough(err error) bool {
	return errors.Is(err, cache.ErrInvalidKey) || errors.Is(err, cache.ErrValueTooLarge) ||
		errors.Is(err, cache.ErrNotInteger) || errors.Is(err, cache.ErrNotFound) ||
		errors.Is(err, cache.ErrInvalidOption) || errors.Is(err, cache.ErrNilContext) ||
		errors.Is(err, cache.ErrClosed) || errors.Is(err, cache.ErrForeignValue) ||
		errors.Is(err, errors.ErrUnsupported) // leases over a backend without them
}

// dropped counts a write reported as done or as nothing stored.
func (b *Backend) dropped(ctx context.Context, o outcome) {
	if o == failure {
		b.nDropped.Add(1)
		cache.ReportSwallowed(ctx)
	}
}

// Health implements cache.HealthReporter, so that cache.Stats shows the
// breaker.
func (b *Backend) Health() cache.BackendHealth {
	st := b.Stats()
	return cache.BackendHealth{Breaker: st.State.String(), Failures: st.Failures, ShortCircuited: st.ShortCircuited,
		Isolated: st.Isolated, LastError: st.LastError, LastErrorAt: st.LastErrorAt}
}

// RecentErrors returns the latest failures (at most 10), newest first: for
// a debug page (httpx/cachedebug finds it with cache.As).
func (b *Backend) RecentErrors() []TimedError { return b.breaker.recentFailures() }

// Swallows implements cache.Swallower: a write the backend failed is
// reported through cache.ReportSwallowed.
func (b *Backend) Swallows() bool { return true }

// OpTimeout returns the bound on each operation (0 for none): how long a
// request may wait for this cache. The page cache bounds its coalescing
// wait by it.
func (b *Backend) OpTimeout() time.Duration { return b.opTimeout }

// unhealthy reports whether calls should read the near cache first: the
// breaker is not closed, or this request saw the backend fail.
func (b *Backend) unhealthy(ctx context.Context) bool {
	return b.cb.State() != Closed || (ctx != nil && cache.BudgetFrom(ctx).Failed(b))
}

// nearFirst returns the near cache's copy of key.
func (b *Backend) nearFirst(ctx context.Context, key string) ([]byte, bool) {
	if b.local == nil || ctx == nil {
		return nil, false
	}
	v, ok := b.local.GetLocal(ctx, key)
	if ok && b.unhealthy(ctx) {
		b.nStale.Add(1)
	}
	return v, ok
}

// NearStats implements cache.NearReporter: the wrapped backend's near cache
// (the zero NearStats when it has none), with Stale counting the near hits
// served while the backend was unreachable.
func (b *Backend) NearStats() cache.NearStats {
	nr, ok := cache.As[cache.NearReporter](b.inner)
	if !ok {
		return cache.NearStats{}
	}
	st := nr.NearStats()
	st.Stale += b.nStale.Load()
	return st
}

// Get returns the value, or a miss when the backend fails.
func (b *Backend) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if v, ok := b.nearFirst(ctx, key); ok {
		return v, true, nil
	}
	var v []byte
	var hit bool
	o, err := b.call(ctx, "Get", func(ctx context.Context) (err error) {
		v, hit, err = b.inner.Get(ctx, key)
		return err
	})
	switch o {
	case passed:
		return nil, false, err
	case failure:
		return nil, false, nil
	}
	return v, hit, nil
}

// GetRaw implements cache.RawGetter through the wrapped backend's GetRaw,
// or its Get; a failing backend is a miss, as for Get.
func (b *Backend) GetRaw(ctx context.Context, key string) (cache.Raw, bool, error) {
	var raw cache.Raw
	var hit bool
	o, err := b.call(ctx, "Get", func(ctx context.Context) (err error) {
		if rg, ok := b.inner.(cache.RawGetter); ok {
			raw, hit, err = rg.GetRaw(ctx, key)
		} else {
			raw.Bytes, hit, err = b.inner.Get(ctx, key)
		}
		return err
	})
	switch o {
	case passed:
		return cache.Raw{}, false, err
	case failure:
		return cache.Raw{}, false, nil
	}
	return raw, hit, nil
}

// GetKeyBytes is Get with the key as bytes, through the wrapped backend's
// GetKeyBytes when it has one.
func (b *Backend) GetKeyBytes(ctx context.Context, key []byte) ([]byte, bool, error) {
	if b.local != nil && len(key) > 0 {
		// LocalGetter does not retain the key: no copy needed.
		if v, ok := b.nearFirst(ctx, unsafe.String(&key[0], len(key))); ok {
			return v, true, nil
		}
	}
	var v []byte
	var hit bool
	o, err := b.call(ctx, "Get", func(ctx context.Context) (err error) {
		if b.bytes != nil {
			v, hit, err = b.bytes.GetKeyBytes(ctx, key)
		} else {
			v, hit, err = b.inner.Get(ctx, string(key))
		}
		return err
	})
	switch o {
	case passed:
		return nil, false, err
	case failure:
		return nil, false, nil
	}
	return v, hit, nil
}

// GetMany returns the hits, or none when the backend fails.
func (b *Backend) GetMany(ctx context.Context, keys []string) (map[string][]byte, error) {
	if b.local != nil && ctx != nil {
		// Near copies first; the backend gets the rest.
		m := make(map[string][]byte, len(keys))
		rest := keys[:0:0]
		for _, k := range keys {
			if v, ok := b.nearFirst(ctx, k); ok {
				m[k] = v
			} else {
				rest = append(rest, k)
			}
		}
		if len(rest) == 0 {
			return m, nil
		}
		more, err := b.getMany(ctx, rest)
		if err != nil {
			return nil, err
		}
		for k, v := range more {
			m[k] = v
		}
		return m, nil
	}
	return b.getMany(ctx, keys)
}

// getMany is GetMany through the breaker.
func (b *Backend) getMany(ctx context.Context, keys []string) (map[string][]byte, error) {
	var m map[string][]byte
	o, err := b.call(ctx, "GetMany", func(ctx context.Context) (err error) {
		if b.many != nil {
			m, err = b.many.GetMany(ctx, keys)
			return err
		}
		m = make(map[string][]byte, len(keys))
		for _, k := range keys {
			v, ok, err := b.inner.Get(ctx, k)
			if err != nil {
				return err
			}
			if ok {
				m[k] = v
			}
		}
		return nil
	})
	switch {
	case o == passed:
		return nil, err
	case o == failure && m != nil && errors.Is(err, cache.ErrPartialOutage):
		return m, nil // the hits of the servers that answered
	case o == failure:
		return map[string][]byte{}, nil
	}
	return m, nil
}

// Set stores the value; a failure is swallowed.
func (b *Backend) Set(ctx context.Context, key string, value []byte, timeout cache.Timeout) error {
	o, err := b.call(ctx, "Set", func(ctx context.Context) error {
		return b.inner.Set(ctx, key, value, timeout)
	})
	b.dropped(ctx, o)
	if o == passed {
		return err
	}
	return nil
}

// Add stores the value if the key is absent; a failure reports false.
func (b *Backend) Add(ctx context.Context, key string, value []byte, timeout cache.Timeout) (bool, error) {
	return b.boolOp(ctx, "Add", true, func(ctx context.Context) (bool, error) {
		return b.inner.Add(ctx, key, value, timeout)
	})
}

// boolOp runs a method answering a bool through the breaker: false on a
// failure (for a write, counted as dropped), the error of a call that was
// wrong.
func (b *Backend) boolOp(ctx context.Context, op string, write bool, f func(context.Context) (bool, error)) (bool, error) {
	var v bool
	o, err := b.call(ctx, op, func(ctx context.Context) (err error) {
		v, err = f(ctx)
		return err
	})
	if write {
		b.dropped(ctx, o)
	}
	switch o {
	case passed:
		return false, err
	case failure:
		return false, nil
	}
	return v, nil
}

// SetMany stores the entries; a failure reports every key as not stored.
func (b *Backend) SetMany(ctx context.Context, entries []cache.Entry, timeout cache.Timeout) ([]string, error) {
	var failed []string
	o, err := b.call(ctx, "SetMany", func(ctx context.Context) (err error) {
		if b.manySet != nil {
			failed, err = b.manySet.SetMany(ctx, entries, timeout)
			return err
		}
		for _, e := range entries {
			if err := b.inner.Set(ctx, e.Key, e.Value, timeout); err != nil {
				return err
			}
		}
		return nil
	})
	b.dropped(ctx, o)
	switch {
	case o == passed:
		return nil, err
	case o == failure && failed != nil && errors.Is(err, cache.ErrPartialOutage):
		return failed, nil // the keys of the failed servers, and those refused
	case o == failure:
		all := make([]string, len(entries))
		for i, e := range entries {
			all[i] = e.Key
		}
		return all, nil
	}
	return failed, nil
}

// Delete removes the key; a failure reports false.
func (b *Backend) Delete(ctx context.Context, key string) (bool, error) {
	return b.boolOp(ctx, "Delete", true, func(ctx context.Context) (bool, error) {
		return b.inner.Delete(ctx, key)
	})
}

// DeleteMany removes the keys; a failure is swallowed.
func (b *Backend) DeleteMany(ctx context.Context, keys []string) error {
	o, err := b.call(ctx, "DeleteMany", func(ctx context.Context) error {
		if b.manyDel != nil {
			return b.manyDel.DeleteMany(ctx, keys)
		}
		for _, k := range keys {
			if _, err := b.inner.Delete(ctx, k); err != nil {
				return err
			}
		}
		return nil
	})
	b.dropped(ctx, o)
	if o == passed {
		return err
	}
	return nil
}

// Has reports whether the key is present; a failure reports false.
func (b *Backend) Has(ctx context.Context, key string) (bool, error) {
	return b.boolOp(ctx, "Has", false, func(ctx context.Context) (bool, error) {
		return b.inner.Has(ctx, key)
	})
}

// Touch gives the key a new timeout; a failure reports false.
func (b *Backend) Touch(ctx context.Context, key string, timeout cache.Timeout) (bool, error) {
	return b.boolOp(ctx, "Touch", true, func(ctx context.Context) (bool, error) {
		return b.inner.Touch(ctx, key, timeout)
	})
}

// Clear empties the backend. Its failure is returned (ErrOpen when the
// breaker is open): a cache that was not emptied must not look emptied.
func (b *Backend) Clear(ctx context.Context) error {
	_, err := b.call(ctx, "Clear", b.inner.Clear)
	return err
}

// Close closes the wrapped backend.
func (b *Backend) Close() error { return b.inner.Close() }

// errNoLeases is the error of the lease methods over a backend without
// leases; it is not the backend's failure.
var errNoLeases = fmt.Errorf("failopen: the wrapped backend has no leases: %w", errors.ErrUnsupported)

// AcquireLease takes a lease through the wrapped backend (see
// cache.Leaser). A failure, or an open breaker, gives no lease: false and
// no error, reported as swallowed (cache.ReportSwallowed), so that the
// Cache counts it as an error. Over a backend without leases it fails with
// an error wrapping errors.ErrUnsupported.
func (b *Backend) AcquireLease(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	if b.leaser == nil {
		return false, errNoLeases
	}
	return b.boolOp(ctx, "AcquireLease", true, func(ctx context.Context) (bool, error) {
		return b.leaser.AcquireLease(ctx, key, token, ttl)
	})
}

// ReleaseLease releases a lease through the wrapped backend (see
// cache.Leaser). A failure reports false, swallowed as AcquireLease's is:
// the lease then lapses at the end of its ttl.
func (b *Backend) ReleaseLease(ctx context.Context, key, token string) (bool, error) {
	if b.leaser == nil {
		return false, errNoLeases
	}
	return b.boolOp(ctx, "ReleaseLease", true, func(ctx context.Context) (bool, error) {
		return b.leaser.ReleaseLease(ctx, key, token)
	})
}

// Incr increments through the wrapped backend. Its failure is returned
// (ErrOpen when the breaker is open): a counter cannot fail open.
func (b *IncrBackend) Incr(ctx context.Context, key string, delta int64) (int64, error) {
	var n int64
	_, err := b.call(ctx, "Incr", func(ctx context.Context) (err error) {
		n, err = b.incr.Incr(ctx, key, delta)
		return err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// errNoIndexes is the error of the index methods over a backend without
// indexes.
var errNoIndexes = fmt.Errorf("failopen: the wrapped backend keeps no indexes: %w", errors.ErrUnsupported)

// IndexAdd adds to an index through the breaker (see cache.Indexer). A
// failure is returned, not swallowed (ErrOpen when short-circuited): an
// index is bookkeeping whose loss the Cache counts and logs, and the
// entry it would list was stored or not on its own.
func (b *Backend) IndexAdd(ctx context.Context, key, member string, timeout cache.Timeout) error {
	if b.indexer == nil {
		return errNoIndexes
	}
	_, err := b.call(ctx, "IndexAdd", func(ctx context.Context) error {
		return b.indexer.IndexAdd(ctx, key, member, timeout)
	})
	return err
}

// IndexMembers reads an index through the breaker; a failure is returned:
// the caller deleting a group must learn that it could not.
func (b *Backend) IndexMembers(ctx context.Context, key string) ([]string, error) {
	if b.indexer == nil {
		return nil, errNoIndexes
	}
	var m []string
	_, err := b.call(ctx, "IndexMembers", func(ctx context.Context) (err error) {
		m, err = b.indexer.IndexMembers(ctx, key)
		return err
	})
	return m, err
}

// IndexDelete deletes an index through the breaker; a failure is returned.
func (b *Backend) IndexDelete(ctx context.Context, key string) error {
	if b.indexer == nil {
		return errNoIndexes
	}
	_, err := b.call(ctx, "IndexDelete", func(ctx context.Context) error {
		return b.indexer.IndexDelete(ctx, key)
	})
	return err
}
