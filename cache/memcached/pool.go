package memcached

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/fragcache/fragcache/cache"
	cb "github.com/fragcache/fragcache/internal/breaker"
)

// Defaults of the per-server breakers of a pool (see Options).
const (
	// DefaultServerFailureThreshold is the number of consecutive failures
	// of one server of a pool that marks it down.
	DefaultServerFailureThreshold = 3
	// DefaultServerCoolDown is how long a server marked down is skipped
	// before one operation probes it.
	DefaultServerCoolDown = 5 * time.Second
	// DefaultServerLogInterval is the least time between two log lines
	// about the failures of one server.
	DefaultServerLogInterval = 10 * time.Second
)

// ErrServerDown is wrapped by the error of an operation on a key whose
// server is marked down (its breaker is open): the server was not
// contacted. Only pools (two servers or more) mark servers down.
var ErrServerDown = errors.New("memcached: server marked down; skipped until a probe succeeds")

// ServerError is the error of an operation that failed at one server, or
// was skipped because the server is marked down (Err wraps ErrServerDown).
// When Partial is set, errors.Is(err, cache.ErrPartialOutage) is true: other
// servers of the pool are serving, so a fail-open wrapper (cache/failopen)
// answers the caller as for any failure (a miss, a write not done) without
// counting it against the whole backend.
type ServerError struct {
	Server  string // the server's name, as Backend.Servers gives it
	Err     error
	Partial bool
}

// Error names the server and the failure.
func (e *ServerError) Error() string {
	msg := "memcached server " + e.Server + ": " + e.Err.Error()
	if e.Partial {
		msg += " (other servers serving)"
	}
	return msg
}

// Unwrap returns Err.
func (e *ServerError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, cache.ErrPartialOutage) true when Partial is set.
func (e *ServerError) Is(target error) bool { return target == cache.ErrPartialOutage && e.Partial }

// server is one server of the backend: its own gomemcache client (so that
// each operation knows which server it reached), its breaker (in a pool)
// and its counters.
type server struct {
	node   node
	client *memcache.Client
	pooled bool // a pool of two or more: the breaker is on

	_ [64]byte // keep the hot counters off the read-mostly fields' line

	keys     atomic.Uint64 // keys asked of or written to the server
	failures atomic.Uint64 // operations that failed at the server
	short    atomic.Uint64 // keys skipped while it was marked down

	br       cb.Breaker // in a pool only
	last     atomic.Pointer[lastError]
	logLimit cb.Limiter

	// The keys of the writes the server missed (see replay).
	hasPending atomic.Bool
	replaying  atomic.Bool
	pendingMu  sync.Mutex // guards pending and overflow; never held across I/O
	pending    map[string]struct{}
	overflow   bool         // more than maxPending keys: flush instead
	npending   atomic.Int64 // len(pending), or -1 on overflow, for stats
	replayed   atomic.Uint64
	flushes    atomic.Uint64

	_ [64]byte
}

type lastError struct {
	msg string
	at  time.Time
}

// maxPending bounds the keys of missed writes remembered per server; past
// it the server is flushed when it comes back instead.
const maxPending = 10000

// remember records that a write of the wire key k did not reach s.
func (s *server) remember(k string) {
	s.pendingMu.Lock()
	defer s.pendingMu.Unlock()
	s.rememberLocked(k)
}

func (s *server) rememberLocked(k string) {
	if !s.overflow {
		if s.pending == nil {
			s.pending = map[string]struct{}{}
		}
		if _, ok := s.pending[k]; ok || len(s.pending) < maxPending {
			s.pending[k] = struct{}{}
			s.npending.Store(int64(len(s.pending)))
		} else {
			s.overflow, s.pending = true, nil
			s.npending.Store(-1)
		}
	}
	s.hasPending.Store(true)
}

// replay deletes on s the keys of the writes it missed (flush_all after
// too many to remember), so that a server that was unreachable rather
// than restarted serves none of the values this process replaced or
// deleted meanwhile. The caller holds s.replaying; operations on s's keys
// are skipped until the replay is done (see doOn). Keys not deleted
// because the server failed again stay remembered.
func (b *Backend) replay(s *server) error {
	s.pendingMu.Lock()
	keys, over := s.pending, s.overflow
	s.pending, s.overflow = nil, false
	s.pendingMu.Unlock()
	var err error
	if over {
		if err = s.client.FlushAll(); err != nil {
			err = fmt.Errorf("flush_all after more than %d missed writes: %w", maxPending, err)
		} else {
			s.flushes.Add(1)
			if l := b.breakers.logger; l != nil {
				l.LogAttrs(context.Background(), slog.LevelWarn, "fragcache: memcached server back after missing more writes than are replayed; flushed it",
					slog.String("server", s.node.name), slog.Int("max_replayed", maxPending))
			}
		}
	} else {
		for k := range keys {
			e := s.client.Delete(k)
			if e != nil && staleConn(e) {
				s.client.Close() // a restarted server closed them all
				e = s.client.Delete(k)
			}
			if e != nil && e != memcache.ErrCacheMiss {
				err = fmt.Errorf("replaying missed writes (%d keys left): delete: %w", len(keys), e)
				break
			}
			delete(keys, k)
			s.replayed.Add(1)
		}
	}
	s.pendingMu.Lock()
	defer s.pendingMu.Unlock()
	if err != nil {
		if over {
			s.overflow, s.pending = true, nil
			s.npending.Store(-1)
		}
		for k := range keys {
			s.rememberLocked(k)
		}
		return err
	}
	if s.pending == nil && !s.overflow { // nothing missed meanwhile
		s.hasPending.Store(false)
		s.npending.Store(0)
	}
	return nil
}

// breakerConfig is the pool's breaker settings.
type breakerConfig struct {
	threshold int32
	coolDown  time.Duration
	logEvery  time.Duration
	logger    *slog.Logger
}

// serverOf returns the server holding the wire key k.
func (b *Backend) serverOf(k string) *server {
	if len(b.servers) == 1 {
		return b.servers[0]
	}
	return b.servers[b.sel.pick(k)]
}

// serverFailure reports whether err says the server is unreachable or
// broken, as opposed to an answer (a miss, not stored, a refusal).
func serverFailure(err error) bool {
	switch {
	case err == nil, err == memcache.ErrCacheMiss, err == memcache.ErrNotStored,
		err == memcache.ErrCASConflict, errors.Is(err, memcache.ErrMalformedKey),
		errors.Is(err, cache.ErrClosed):
		return false
	}
	msg := err.Error()
	return !strings.Contains(msg, "SERVER_ERROR") && !strings.Contains(msg, "CLIENT_ERROR") &&
		!strings.Contains(msg, "non-numeric value")
}

// ok records an answer of s.
func (b *Backend) ok(s *server, probe bool) {
	if s.br.Success(probe) {
		if l := b.breakers.logger; l != nil {
			l.LogAttrs(context.Background(), slog.LevelInfo, "fragcache: memcached server is back; its keys are served again",
				slog.String("server", s.node.name))
		}
	}
}

// fail records a failure of s (err, or ErrServerDown when skipped) and
// returns the error callers see: a *ServerError.
func (b *Backend) fail(ctx context.Context, s *server, op string, err error, probe bool) error {
	now := time.Now()
	s.failures.Add(1)
	s.last.Store(&lastError{msg: err.Error(), at: now})
	if s.pooled { // a single server's failures are the fail-open wrapper's to log
		b.logFailure(ctx, s, now, op, err)
		cache.BudgetFrom(ctx).Fail(s)
		if opened, cool := s.br.Failure(probe); opened && b.breakers.logger != nil {
			level := slog.LevelWarn
			if probe {
				level = slog.LevelDebug // one Warn per outage
			}
			b.breakers.logger.LogAttrs(ctx, level, "fragcache: memcached server failing; marked down, its keys miss",
				slog.String("server", s.node.name), slog.Duration("cool_down", cool),
				slog.Bool("other_servers_serving", b.othersUp(s)), slog.String("error", err.Error()))
		}
	}
	return &ServerError{Server: s.node.name, Err: err, Partial: b.othersUp(s)}
}

// skipped is the error of an operation on s while it is marked down.
func (b *Backend) skipped(s *server, n int) error {
	s.short.Add(uint64(n))
	return &ServerError{Server: s.node.name, Err: ErrServerDown, Partial: b.othersUp(s)}
}

// othersUp reports whether a server of the pool other than s is not marked
// down: then a failure of s is confined to its keys.
func (b *Backend) othersUp(s *server) bool {
	for _, o := range b.servers {
		if o != s && o.br.State() == cb.Closed {
			return true
		}
	}
	return false
}

// logFailure logs at most one failure of s per log interval, with the
// number of failures not logged since.
func (b *Backend) logFailure(ctx context.Context, s *server, now time.Time, op string, err error) {
	l := b.breakers.logger
	if l == nil {
		return
	}
	ok, suppressed := s.logLimit.Allow(now, b.breakers.logEvery)
	if !ok {
		return
	}
	l.LogAttrs(ctx, slog.LevelWarn, "fragcache: memcached server failed",
		slog.String("server", s.node.name), slog.String("op", op), slog.String("error", err.Error()),
		slog.Uint64("suppressed", suppressed))
}

// do runs op, a command on the server of the wire key k, through that
// server's breaker. retry says op may safely run twice: if it failed on a
// connection the server had closed (after a restart every idle connection
// is such), the server's idle connections are dropped and op runs once
// more on a new one. Without retry they are dropped only. The error is
// gomemcache's for an answer (ErrCacheMiss, ErrNotStored, …), or a
// *ServerError.
func (b *Backend) do(ctx context.Context, op, k string, retry bool, f func(*memcache.Client) error) error {
	return b.doOn(ctx, b.serverOf(k), op, 1, retry, f)
}

// doOn is do on server s for n keys.
func (b *Backend) doOn(ctx context.Context, s *server, op string, n int, retry bool, f func(*memcache.Client) error) error {
	probe := false
	if s.pooled {
		// A request that already waited for this server once does not
		// wait again (cache.Budget), and takes no probe.
		if cache.BudgetFrom(ctx).Failed(s) {
			return b.skipped(s, n)
		}
		ok, p := s.br.Allow()
		if !ok {
			return b.skipped(s, n)
		}
		probe = p
	}
	s.keys.Add(uint64(n))
	if s.hasPending.Load() {
		// The server missed writes: its keys are skipped until they are
		// replayed (by one operation; in the background for a probe).
		if !s.replaying.CompareAndSwap(false, true) {
			s.br.Neutral(probe) // a probe: let the next call probe
			return b.skipped(s, n)
		}
		if probe {
			go func() {
				defer s.replaying.Store(false)
				if err := b.replay(s); err != nil {
					b.fail(context.Background(), s, "replay", err, true)
					return
				}
				b.ok(s, true)
			}()
			return b.skipped(s, n)
		}
		err := b.replay(s)
		s.replaying.Store(false)
		if err != nil {
			return b.fail(ctx, s, "replay", err, false)
		}
	}
	err := f(s.client)
	if err != nil && staleConn(err) && !b.closed.Load() {
		s.client.Close() // idle connections only; the client stays usable
		if retry {
			err = f(s.client)
		}
	}
	if !serverFailure(err) || b.closed.Load() {
		if s.pooled {
			b.ok(s, probe)
		}
		return err
	}
	return b.fail(ctx, s, op, err, probe)
}

// doWrite is do for a write (set, add, delete, touch) of the wire key k:
// when it does not reach the server, k is remembered and deleted on the
// server once it answers again (see replay).
func (b *Backend) doWrite(ctx context.Context, op, k string, retry bool, f func(*memcache.Client) error) error {
	s := b.serverOf(k)
	err := b.doOn(ctx, s, op, 1, retry, f)
	if _, ok := err.(*ServerError); ok && s.pooled {
		s.remember(k)
	}
	return err
}

// eachServer runs f(s) for every server and joins the errors, each
// naming its server. With flush, a server of a pool that f did not reach
// is flushed when it answers again (see replay), as Clear asks.
func (b *Backend) eachServer(ctx context.Context, op string, flush bool, f func(*memcache.Client) error) error {
	var errs []error
	for _, s := range b.servers {
		if err := b.doOn(ctx, s, op, 0, true, f); err != nil {
			if _, ok := err.(*ServerError); !ok {
				err = fmt.Errorf("%s: %w", s.node.name, err)
			} else if flush && s.pooled {
				s.pendingMu.Lock()
				s.overflow, s.pending = true, nil
				s.npending.Store(-1)
				s.hasPending.Store(true)
				s.pendingMu.Unlock()
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ServerStats implements cache.ServerReporter: each server's breaker state
// ("" for a single server, whose failures only a fail-open wrapper's
// breaker tracks), the keys asked of or written to it, its failures, the
// keys skipped while it was marked down and its last error.
func (b *Backend) ServerStats() []cache.ServerStats {
	out := make([]cache.ServerStats, len(b.servers))
	for i, s := range b.servers {
		st := cache.ServerStats{
			Server:         s.node.name,
			Keys:           s.keys.Load(),
			Failures:       s.failures.Load(),
			ShortCircuited: s.short.Load(),
			Opens:          s.br.Opens(),
			Replayed:       s.replayed.Load(),
			Flushes:        s.flushes.Load(),
		}
		st.Pending = int(s.npending.Load())
		if s.pooled {
			st.Breaker = s.br.State().String()
			st.OpenUntil = s.br.OpenUntil()
		}
		if l := s.last.Load(); l != nil {
			st.LastError, st.LastErrorAt = l.msg, l.at
		}
		out[i] = st
	}
	return out
}

// newServer returns the server of n with its client.
func (b *Backend) newServer(n node, opts *Options, pooled bool) *server {
	s := &server{node: n, pooled: pooled}
	s.br.Threshold, s.br.CoolDown = b.breakers.threshold, b.breakers.coolDown
	s.client = memcache.NewFromSelector(&selector{kind: opts.Selector, nodes: []node{n}})
	s.client.MaxIdleConns = opts.MaxIdleConns
	if s.client.MaxIdleConns == 0 {
		s.client.MaxIdleConns = DefaultMaxIdleConns
	}
	s.client.Timeout = opts.Timeout
	if s.client.Timeout == 0 {
		s.client.Timeout = DefaultTimeout
	}
	s.client.DialContext = b.dialTracked
	return s
}

// getMulti gets the wire keys with one multi-get per server, the servers
// queried concurrently. It returns when every server answered, failed or
// was skipped, or when ctx is done: then the servers still running are
// reported as failed with ctx's error (their multi-get ends on its own,
// bounded by Options.Timeout, and its outcome still counts for the
// server's breaker). The items of the servers that answered are returned
// whatever the others did, with their errors joined.
func (b *Backend) getMulti(ctx context.Context, wire []string) (map[string]*memcache.Item, error) {
	type group struct {
		s    *server
		keys []string
	}
	if len(b.servers) == 1 {
		return b.getFrom(ctx, b.servers[0], wire)
	}
	var groups []group
	idx := make([]int, len(b.servers)) // server → 1 + its group
	for _, k := range wire {
		i := b.sel.pick(k)
		if idx[i] == 0 {
			groups = append(groups, group{s: b.servers[i]})
			idx[i] = len(groups)
		}
		g := &groups[idx[i]-1]
		g.keys = append(g.keys, k)
	}
	if len(groups) == 1 {
		return b.getFrom(ctx, groups[0].s, groups[0].keys)
	}
	type result struct {
		i   int
		m   map[string]*memcache.Item
		err error
	}
	ch := make(chan result, len(groups)) // buffered: late answers never block
	for i, g := range groups {
		go func() {
			m, err := b.getFrom(ctx, g.s, g.keys)
			ch <- result{i, m, err}
		}()
	}
	items := make(map[string]*memcache.Item, len(wire))
	var errs []error
	done := make([]bool, len(groups))
	for range groups {
		select {
		case r := <-ch:
			done[r.i] = true
			for k, it := range r.m {
				items[k] = it
			}
			if r.err != nil {
				errs = append(errs, r.err)
			}
		case <-ctx.Done():
			for i, g := range groups {
				if !done[i] {
					errs = append(errs, &ServerError{Server: g.s.node.name,
						Err:     fmt.Errorf("no answer to a multi-get of %d keys before the context was done: %w", len(g.keys), ctx.Err()),
						Partial: len(items) > 0 || b.othersUp(g.s)})
				}
			}
			return items, errors.Join(errs...)
		}
	}
	return items, errors.Join(errs...)
}

// getFrom is one multi-get of keys on s.
func (b *Backend) getFrom(ctx context.Context, s *server, keys []string) (map[string]*memcache.Item, error) {
	var m map[string]*memcache.Item
	err := b.doOn(ctx, s, "get_multi", len(keys), true, func(c *memcache.Client) (err error) {
		m, err = c.GetMulti(keys)
		return err
	})
	return m, err
}
