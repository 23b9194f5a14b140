package failopen

import (
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/fragcache/fragcache/cache"
)

// Defaults of the options.
const (
	// DefaultFailureThreshold is the number of consecutive failures that
	// opens the breaker.
	DefaultFailureThreshold = 5
	// DefaultCoolDown is how long an open breaker skips the backend.
	DefaultCoolDown = 5 * time.Second
	// DefaultJitter is the largest random part added to a cool-down, as a
	// fraction of it.
	DefaultJitter = 0.1
	// DefaultOpTimeout bounds each operation (see the package
	// documentation for the choice).
	DefaultOpTimeout = 100 * time.Millisecond
	// DefaultLogInterval is the least time between two failure log lines.
	DefaultLogInterval = 10 * time.Second
)

// maxFailureThreshold bounds WithFailureThreshold (the count is an int32).
const maxFailureThreshold = 1 << 30

// Option configures New and Opener, as cache.Option configures a Cache:
// options only record values, and New checks them, failing with an error
// wrapping cache.ErrInvalidOption that names the first bad one. Later
// options override earlier ones.
type Option func(*config)

type config struct {
	failureThreshold int
	coolDown         time.Duration
	jitter           float64
	opTimeout        time.Duration
	logger           *slog.Logger
	logInterval      time.Duration
	name             string
	now              func() time.Time
}

// check reports the first value out of range.
func (c *config) check() error {
	switch {
	case c.failureThreshold < 1 || c.failureThreshold > maxFailureThreshold:
		return fmt.Errorf("%w: failopen: WithFailureThreshold(%d): want 1 to %d", cache.ErrInvalidOption, c.failureThreshold, maxFailureThreshold)
	case c.coolDown <= 0:
		return fmt.Errorf("%w: failopen: WithCoolDown(%v): want a positive duration", cache.ErrInvalidOption, c.coolDown)
	case c.jitter < 0 || math.IsNaN(c.jitter) || math.IsInf(c.jitter, 0):
		return fmt.Errorf("%w: failopen: WithJitter(%v): want a fraction from 0 (none)", cache.ErrInvalidOption, c.jitter)
	case c.opTimeout < 0:
		return fmt.Errorf("%w: failopen: WithOpTimeout(%v): want 0 (none) or a positive duration", cache.ErrInvalidOption, c.opTimeout)
	case c.logInterval <= 0:
		return fmt.Errorf("%w: failopen: WithLogInterval(%v): want a positive duration", cache.ErrInvalidOption, c.logInterval)
	}
	return nil
}

// WithFailureThreshold sets the number of consecutive failures that opens
// the breaker, from 1 to 1<<30 (default DefaultFailureThreshold).
func WithFailureThreshold(n int) Option {
	return func(c *config) { c.failureThreshold = n }
}

// WithCoolDown sets how long the breaker stays open before letting a probe
// through, a positive duration (default DefaultCoolDown).
func WithCoolDown(d time.Duration) Option {
	return func(c *config) { c.coolDown = d }
}

// WithJitter adds a random part of up to f×cool-down to each cool-down
// (default DefaultJitter); 0 adds none.
func WithJitter(f float64) Option {
	return func(c *config) { c.jitter = f }
}

// WithOpTimeout bounds each operation (default DefaultOpTimeout); 0 means
// no timeout beyond the caller's context.
func WithOpTimeout(d time.Duration) Option {
	return func(c *config) { c.opTimeout = d }
}

// WithLogger sets the logger that receives a Warn line when a failure is
// swallowed (at most one per log interval, with the number of failures not
// logged since), and a line when the breaker opens or closes. Without one
// the wrapper logs nothing.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithLogInterval sets the least time between two failure lines, a
// positive duration (default DefaultLogInterval).
func WithLogInterval(d time.Duration) Option {
	return func(c *config) { c.logInterval = d }
}

// WithName sets the name of the backend in log lines, e.g.
// "redis://10.0.0.1:6379" (default "cache backend"; Opener names it after
// the URL, without credentials).
func WithName(name string) Option {
	return func(c *config) { c.name = name }
}

// WithClock sets the clock of the breaker and the log limiter (default,
// and for nil, time.Now). Operation timeouts always use real time.
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.now = now }
}
