package failopen

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	cb "github.com/fragcache/fragcache/internal/breaker"
)

// ErrOpen is returned by Incr and Clear while the breaker is open: the
// backend was not called.
var ErrOpen = errors.New("failopen: circuit open: cache backend skipped")

// State is the state of the circuit breaker.
type State = cb.State

// The states of the breaker.
const (
	// Closed: calls reach the backend.
	Closed = cb.Closed
	// Open: calls short-circuit until the cool-down ends.
	Open = cb.Open
	// HalfOpen: one probe call is reaching the backend; the others
	// short-circuit.
	HalfOpen = cb.HalfOpen
)

// Stats is a snapshot of the wrapper's counters, for a debug page or
// metrics.
type Stats struct {
	// State is the breaker's state.
	State State
	// OpenUntil is when an open breaker lets a probe through (zero unless
	// State is Open).
	OpenUntil time.Time
	// ConsecutiveFailures is the current run of failures (it opens the
	// breaker at the failure threshold, see WithFailureThreshold).
	ConsecutiveFailures int
	// Failures counts operations that failed at the backend, timeouts
	// included.
	Failures uint64
	// Timeouts counts the failures that were operation timeouts.
	Timeouts uint64
	// ShortCircuited counts calls answered without calling the backend
	// because the breaker was open.
	ShortCircuited uint64
	// DroppedWrites counts writes (Set, SetMany, Add, Touch, Delete,
	// DeleteMany) that failed or were short-circuited and were reported as
	// done or as nothing stored.
	DroppedWrites uint64
	// Opens counts the times the breaker opened.
	Opens uint64
	// Isolated counts the calls that failed at some of the wrapped
	// backend's servers while others served (cache.ErrPartialOutage, e.g.
	// one server of a memcached pool down): failed open, but neither
	// counted in Failures nor against the breaker.
	Isolated uint64
	// LastError is the message of the last failure, and LastErrorAt its
	// time (zero before any).
	LastError   string
	LastErrorAt time.Time
}

// Breaker is the circuit breaker of a fail-open wrapper, for a debug page
// or metrics. Find it under a cache's other wrappers with cache.As:
//
//	if br, ok := cache.As[failopen.Breaker](c.Backend()); ok {
//		s := br.Stats()
//		log.Printf("breaker %s, %d failures", s.State, s.Failures)
//	}
type Breaker interface {
	// State returns the breaker's state.
	State() State
	// Stats returns the counters.
	Stats() Stats
}

// breaker is the circuit breaker of a Backend, with the wrapper's counters
// and its log limiter. state and failures are read on every call;
// transitions take mu.
type breaker struct {
	cb       cb.Breaker // the state machine
	now      func() time.Time
	logger   *slog.Logger
	logEvery time.Duration
	name     string

	nFailures, nTimeouts, nShort, nDropped, nIsolated atomic.Uint64
	last                                              atomic.Pointer[lastError]
	recentMu                                          sync.Mutex
	recent                                            []TimedError // the latest failures, oldest first

	logLimit cb.Limiter
}

type lastError struct {
	msg string
	at  time.Time
}

// stats returns a snapshot of the counters.
func (b *breaker) stats() Stats {
	s := Stats{
		State:               b.cb.State(),
		OpenUntil:           b.cb.OpenUntil(),
		ConsecutiveFailures: b.cb.ConsecutiveFailures(),
		Failures:            b.nFailures.Load(),
		Timeouts:            b.nTimeouts.Load(),
		ShortCircuited:      b.nShort.Load(),
		DroppedWrites:       b.nDropped.Load(),
		Opens:               b.cb.Opens(),
		Isolated:            b.nIsolated.Load(),
	}
	if l := b.last.Load(); l != nil {
		s.LastError, s.LastErrorAt = l.msg, l.at
	}
	return s
}

// TimedError is one failure of the wrapped backend.
type TimedError struct {
	At  time.Time
	Op  string // Get, Set, …
	Err string
}

// recentErrors is how many failures a breaker remembers.
const recentErrors = 10

// recentFailures returns the latest failures, newest first.
func (b *breaker) recentFailures() []TimedError {
	b.recentMu.Lock()
	defer b.recentMu.Unlock()
	out := make([]TimedError, len(b.recent))
	for i, e := range b.recent {
		out[len(out)-1-i] = e
	}
	return out
}

// allow reports whether a call may reach the backend, and whether it is the
// half-open probe.
func (b *breaker) allow() (ok, probe bool) { return b.cb.Allow() }

func (b *breaker) succeeded(probe bool) {
	if b.cb.Success(probe) && b.logger != nil {
		b.logger.LogAttrs(context.Background(), slog.LevelInfo, "fragcache: cache backend is back; circuit closed",
			slog.String("backend", b.name))
	}
}

// neutral ends a call whose result says nothing about the backend. A probe
// ending so leaves the breaker open, ready to let the next call probe.
func (b *breaker) neutral(probe bool) { b.cb.Neutral(probe) }

func (b *breaker) failed(ctx context.Context, op string, err error, timedOut, probe bool) {
	now := b.now()
	b.nFailures.Add(1)
	if timedOut {
		b.nTimeouts.Add(1)
	}
	b.last.Store(&lastError{msg: err.Error(), at: now})
	b.recentMu.Lock()
	if len(b.recent) == recentErrors {
		copy(b.recent, b.recent[1:])
		b.recent = b.recent[:recentErrors-1]
	}
	b.recent = append(b.recent, TimedError{At: now, Op: op, Err: err.Error()})
	b.recentMu.Unlock()
	b.logFailure(ctx, now, op, err)
	if opened, cool := b.cb.Failure(probe); opened && b.logger != nil {
		// One line per outage: the breaker opening from closed is a Warn;
		// a failed probe, which re-opens it, is logged at Debug only.
		level, why := slog.LevelWarn, "consecutive failures"
		if probe {
			level, why = slog.LevelDebug, "probe failed"
		}
		b.logger.LogAttrs(ctx, level, "fragcache: cache backend failing; circuit open, skipping it",
			slog.String("backend", b.name), slog.String("reason", why),
			slog.Duration("cool_down", cool), slog.String("error", err.Error()))
	}
}

// logFailure logs at most one failure per log interval, with the number of
// failures not logged since the last line.
func (b *breaker) logFailure(ctx context.Context, now time.Time, op string, err error) {
	if b.logger == nil {
		return
	}
	ok, suppressed := b.logLimit.Allow(now, b.logEvery)
	if !ok {
		return
	}
	b.logger.LogAttrs(ctx, slog.LevelWarn, "fragcache: cache backend failed; failing open",
		slog.String("backend", b.name), slog.String("op", op), slog.String("error", err.Error()),
		slog.Uint64("suppressed", suppressed))
}
