package failopen

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// ErrOpen is returned by Incr and Clear while the breaker is open: the
// backend was not called.
var ErrOpen = errors.New("failopen: circuit open: cache backend skipped")

// State is the state of the circuit breaker.
type State int32

const (
	// Closed: calls reach the backend.
	Closed State = iota
	// Open: calls short-circuit until the cool-down ends.
	Open
	// HalfOpen: one probe call is reaching the backend; the others
	// short-circuit.
	HalfOpen
)

// String returns "closed", "open" or "half-open".
func (s State) String() string {
	switch s {
	case Closed:
		return "closed"
	case Open:
		return "open"
	case HalfOpen:
		return "half-open"
	}
	return "unknown"
}

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
	threshold int32
	coolDown  time.Duration
	jitter    float64
	now       func() time.Time
	logger    *slog.Logger
	logEvery  int64 // nanoseconds
	name      string

	state     atomic.Int32
	failures  atomic.Int32 // consecutive, while closed
	openUntil atomic.Int64 // Unix nanoseconds of the clock
	mu        sync.Mutex

	nFailures, nTimeouts, nShort, nDropped, nOpens atomic.Uint64
	nIsolated                                      atomic.Uint64
	last                                           atomic.Pointer[lastError]
	recentMu                                       sync.Mutex
	recent                                         []TimedError // the latest failures, oldest first

	lastLog    atomic.Int64 // Unix nanoseconds; 0 = never
	suppressed atomic.Uint64
}

type lastError struct {
	msg string
	at  time.Time
}

// stats returns a snapshot of the counters.
func (b *breaker) stats() Stats {
	s := Stats{
		State:               State(b.state.Load()),
		ConsecutiveFailures: int(b.failures.Load()),
		Failures:            b.nFailures.Load(),
		Timeouts:            b.nTimeouts.Load(),
		ShortCircuited:      b.nShort.Load(),
		DroppedWrites:       b.nDropped.Load(),
		Opens:               b.nOpens.Load(),
		Isolated:            b.nIsolated.Load(),
	}
	if s.State == Open {
		s.OpenUntil = time.Unix(0, b.openUntil.Load())
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
func (b *breaker) allow() (ok, probe bool) {
	switch State(b.state.Load()) {
	case Closed:
		return true, false
	case HalfOpen:
		return false, false
	}
	if b.now().UnixNano() < b.openUntil.Load() {
		return false, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if State(b.state.Load()) == Open && b.now().UnixNano() >= b.openUntil.Load() {
		b.state.Store(int32(HalfOpen))
		return true, true
	}
	return false, false
}

func (b *breaker) succeeded(probe bool) {
	if probe {
		b.mu.Lock()
		b.failures.Store(0)
		b.state.Store(int32(Closed))
		b.mu.Unlock()
		if b.logger != nil {
			b.logger.LogAttrs(context.Background(), slog.LevelInfo, "fragcache: cache backend is back; circuit closed",
				slog.String("backend", b.name))
		}
		return
	}
	if b.failures.Load() != 0 {
		b.failures.Store(0)
	}
}

// neutral ends a call whose result says nothing about the backend. A probe
// ending so leaves the breaker open, ready to let the next call probe.
func (b *breaker) neutral(probe bool) {
	if probe {
		b.mu.Lock()
		b.openUntil.Store(b.now().UnixNano())
		b.state.Store(int32(Open))
		b.mu.Unlock()
	}
}

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
	if probe {
		b.open(ctx, now, err, reasonProbeFailed)
		return
	}
	if n := b.failures.Add(1); n >= b.threshold && State(b.state.Load()) == Closed {
		b.open(ctx, now, err, "consecutive failures")
	}
}

// open opens the breaker, from closed or from a failed probe.
func (b *breaker) open(ctx context.Context, now time.Time, err error, why string) {
	cool := b.coolDown
	if b.jitter > 0 {
		cool += time.Duration(rand.Float64() * b.jitter * float64(b.coolDown))
	}
	b.mu.Lock()
	if State(b.state.Load()) == Open {
		b.mu.Unlock()
		return
	}
	b.openUntil.Store(now.Add(cool).UnixNano())
	b.state.Store(int32(Open))
	b.failures.Store(0)
	b.mu.Unlock()
	b.nOpens.Add(1)
	if b.logger != nil {
		// One line per outage: the breaker opening from closed is a Warn;
		// a failed probe, which re-opens it, is logged at Debug only.
		level := slog.LevelWarn
		if why == reasonProbeFailed {
			level = slog.LevelDebug
		}
		b.logger.LogAttrs(ctx, level, "fragcache: cache backend failing; circuit open, skipping it",
			slog.String("backend", b.name), slog.String("reason", why),
			slog.Duration("cool_down", cool), slog.String("error", err.Error()))
	}
}

// reasonProbeFailed is why a failed probe re-opens the breaker.
const reasonProbeFailed = "probe failed"

// logFailure logs at most one failure per log interval, with the number of
// failures not logged since the last line.
func (b *breaker) logFailure(ctx context.Context, now time.Time, op string, err error) {
	if b.logger == nil {
		return
	}
	n := now.UnixNano()
	last := b.lastLog.Load()
	if last != 0 && n-last < b.logEvery || !b.lastLog.CompareAndSwap(last, n) {
		b.suppressed.Add(1)
		return
	}
	b.logger.LogAttrs(ctx, slog.LevelWarn, "fragcache: cache backend failed; failing open",
		slog.String("backend", b.name), slog.String("op", op), slog.String("error", err.Error()),
		slog.Uint64("suppressed", b.suppressed.Swap(0)))
}
