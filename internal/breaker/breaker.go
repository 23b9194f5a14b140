// Package breaker is the circuit breaker state machine shared by
// cache/failopen (one breaker for a whole backend) and cache/memcached (one
// per server of a pool), and their rate limiter for log lines.
//
// A Breaker is closed (calls pass), open (calls are skipped until the
// cool-down ends) or half-open (one call, the probe, passes; the others
// are skipped). Consecutive failures up to a threshold open it; the
// probe's success closes it, its failure opens it again. Reading the state
// costs an atomic load; transitions take a mutex that is never held across
// a call.
package breaker

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// State is the state of a Breaker.
type State int32

const (
	// Closed: calls pass.
	Closed State = iota
	// Open: calls are skipped until the cool-down ends.
	Open
	// HalfOpen: one probe call is under way; the others are skipped.
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

// Breaker is a circuit breaker. Set its fields before use; the zero
// values of Jitter (none) and Now (time.Now) are ready.
type Breaker struct {
	// Threshold is the number of consecutive failures that opens it.
	Threshold int32
	// CoolDown is how long it stays open before a probe, plus a random
	// part of up to Jitter × CoolDown.
	CoolDown time.Duration
	Jitter   float64
	// Now is its clock; nil means time.Now.
	Now func() time.Time

	state     atomic.Int32
	run       atomic.Int32 // consecutive failures, while closed
	openUntil atomic.Int64 // Unix nanoseconds of the clock
	opens     atomic.Uint64
	mu        sync.Mutex // transitions
}

func (b *Breaker) now() time.Time {
	if b.Now == nil {
		return time.Now()
	}
	return b.Now()
}

// State returns the state.
func (b *Breaker) State() State { return State(b.state.Load()) }

// OpenUntil returns when an open breaker lets a probe through (zero
// unless it is open).
func (b *Breaker) OpenUntil() time.Time {
	if b.State() != Open {
		return time.Time{}
	}
	return time.Unix(0, b.openUntil.Load())
}

// ConsecutiveFailures returns the current run of failures.
func (b *Breaker) ConsecutiveFailures() int { return int(b.run.Load()) }

// Opens returns the number of times it opened.
func (b *Breaker) Opens() uint64 { return b.opens.Load() }

// Allow reports whether a call may pass, and whether it is the probe of
// a half-open breaker (which must end with Success, Failure or Neutral).
func (b *Breaker) Allow() (ok, probe bool) {
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

// Success ends a call that succeeded; for the probe it closes the breaker
// (and reports true).
func (b *Breaker) Success(probe bool) (closed bool) {
	if probe {
		b.mu.Lock()
		b.run.Store(0)
		b.state.Store(int32(Closed))
		b.mu.Unlock()
		return true
	}
	if b.run.Load() != 0 {
		b.run.Store(0)
	}
	return false
}

// Neutral ends a call whose result says nothing about the backend: a probe
// ending so leaves the breaker open, ready to let the next call probe.
func (b *Breaker) Neutral(probe bool) {
	if probe {
		b.mu.Lock()
		b.openUntil.Store(b.now().UnixNano())
		b.state.Store(int32(Open))
		b.mu.Unlock()
	}
}

// Failure ends a call that failed. It opens the breaker after Threshold
// consecutive failures, or when the probe failed, and then reports true
// with the cool-down drawn.
func (b *Breaker) Failure(probe bool) (opened bool, coolDown time.Duration) {
	if !probe {
		if n := b.run.Add(1); n < b.Threshold || State(b.state.Load()) != Closed {
			return false, 0
		}
	}
	coolDown = b.CoolDown
	if b.Jitter > 0 {
		coolDown += time.Duration(rand.Float64() * b.Jitter * float64(b.CoolDown))
	}
	b.mu.Lock()
	if State(b.state.Load()) == Open {
		b.mu.Unlock()
		return false, 0
	}
	b.openUntil.Store(b.now().Add(coolDown).UnixNano())
	b.state.Store(int32(Open))
	b.run.Store(0)
	b.mu.Unlock()
	b.opens.Add(1)
	return true, coolDown
}

// Limiter lets through at most one event per interval, counting the
// others: for log lines about repeated failures.
type Limiter struct {
	last  atomic.Int64 // Unix nanoseconds; 0 = never
	muted atomic.Uint64
}

// Allow reports whether an event at now may be logged, and how many
// events were not since the last one that was.
func (l *Limiter) Allow(now time.Time, every time.Duration) (ok bool, suppressed uint64) {
	n := now.UnixNano()
	last := l.last.Load()
	if last != 0 && n-last < int64(every) || !l.last.CompareAndSwap(last, n) {
		l.muted.Add(1)
		return false, 0
	}
	return true, l.muted.Swap(0)
}
