package cache

import (
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// KeyFunc makes the key a backend stores from the caller's key, the cache's
// key prefix and the version, like Django's KEY_FUNCTION. The default gives
// "prefix:version:key".
type KeyFunc func(key, prefix string, version int) string

// KeyCheck says what a Cache does with a made key that memcached would
// reject: longer than 250 characters, or holding a control character or a
// space (Django's validate_key).
type KeyCheck uint8

const (
	// KeyCheckWarn accepts the key and logs Django's warning text at Warn
	// level through the cache's logger (nothing without a logger). It is the
	// default except for backends that choose otherwise (see KeyChecker).
	KeyCheckWarn KeyCheck = iota
	// KeyCheckReject fails the operation with an *InvalidKeyError, as
	// Django's memcached backends do.
	KeyCheckReject
	// KeyCheckOff skips the check (Django's overridden validate_key).
	KeyCheckOff
)

// String returns "warn", "reject" or "off".
func (k KeyCheck) String() string {
	switch k {
	case KeyCheckWarn:
		return "warn"
	case KeyCheckReject:
		return "reject"
	case KeyCheckOff:
		return "off"
	}
	return fmt.Sprintf("KeyCheck(%d)", uint8(k))
}

// ParseKeyCheck parses "warn", "reject" or "off".
func ParseKeyCheck(s string) (KeyCheck, error) {
	switch strings.ToLower(s) {
	case "warn":
		return KeyCheckWarn, nil
	case "reject":
		return KeyCheckReject, nil
	case "off":
		return KeyCheckOff, nil
	}
	return 0, fmt.Errorf("%w: key check %q (want warn, reject or off)", ErrInvalidOption, s)
}

// Option configures a Cache in New or Open. Options only record values:
// New checks them all and returns an error wrapping ErrInvalidOption that
// names the first bad one. Later options override earlier ones.
type Option func(*config)

type config struct {
	prefix         string
	version        int
	defaultTimeout Timeout
	keyFunc        KeyFunc
	keyCheck       KeyCheck
	keyCheckSet    bool
	logger         *slog.Logger
	maxValueSize   int
	django         string // a Django release, parsed by check
	release        DjangoRelease
	name           string
	observer       Observer
	jitter         float64
	stampede       Stampede
}

// check reports the first invalid value, and resolves DefaultTimeout.
func (c *config) check() error {
	if c.django != "" {
		d, err := ParseDjangoRelease(c.django)
		if err != nil {
			return fmt.Errorf("WithDjango: %w", err)
		}
		c.release = d
	}
	if c.defaultTimeout == DefaultTimeout {
		c.defaultTimeout = Seconds(300)
	}
	if c.keyCheck > KeyCheckOff {
		return fmt.Errorf("%w: WithKeyCheck(%v): want KeyCheckWarn, KeyCheckReject or KeyCheckOff", ErrInvalidOption, c.keyCheck)
	}
	if !(c.jitter >= 0 && c.jitter < 1) { // NaN fails too
		return fmt.Errorf("%w: WithJitter(%v): want a fraction f with 0 <= f < 1", ErrInvalidOption, c.jitter)
	}
	if err := c.stampede.Check(); err != nil {
		return fmt.Errorf("WithStampede: %w", err)
	}
	c.stampede.Wait = 0
	if c.maxValueSize < 0 {
		return fmt.Errorf("%w: WithMaxValueSize(%d): want 0 (no limit) or a positive size", ErrInvalidOption, c.maxValueSize)
	}
	return nil
}

// WithDjango names the Django release that shares the cache, to the patch
// level ("4.2.28", "5.2.19", "6.1.2", "3.2.25-debian"; "X.Y" alone is the
// newest X.Y release, see ParseDjangoRelease). Everything that must match
// that release follows: the fragment key scheme the {% cache %} tag uses
// for this cache (Cache.KeyScheme), the page-key variant the page cache
// uses (DjangoRelease.PageKeys), and, through the URL option django=, the
// backend's value format (Django's pickles on Redis, Django's flags on
// memcached). Without it the defaults match Django 6.1.3 and later, and
// values are written as raw bytes.
func WithDjango(release string) Option {
	return func(c *config) { c.django = release }
}

// Observer receives the duration of each Get, GetKeyBytes, Set, Add,
// GetMany, SetMany and Delete of a cache (its name, the operation in lower
// case, the time it took, its error): for latency histograms
// (httpx/cachemetrics.Latency). It must be safe for concurrent use and
// fast: it runs on the request path.
type Observer func(cache, op string, d time.Duration, err error)

// WithObserver makes the cache report each operation's duration to o (two
// clock reads per operation; none without an observer).
func WithObserver(o Observer) Option {
	return func(c *config) { c.observer = o }
}

// WithName names the cache, for observers. OpenRegistry names each cache
// after its alias, unless the options name it.
func WithName(name string) Option {
	return func(c *config) { c.name = name }
}

// WithKeyPrefix sets Django's KEY_PREFIX (default "").
func WithKeyPrefix(prefix string) Option {
	return func(c *config) { c.prefix = prefix }
}

// WithDefaultVersion sets Django's VERSION, the version of every key of the
// cache (default 1). Cache.WithVersion gives a view at another version.
func WithDefaultVersion(v int) Option {
	return func(c *config) { c.version = v }
}

// WithDefaultTimeout sets Django's TIMEOUT, the timeout that DefaultTimeout
// stands for (default 300 seconds). Forever makes the default never expire.
// DefaultTimeout itself selects 300 seconds.
func WithDefaultTimeout(t Timeout) Option {
	return func(c *config) { c.defaultTimeout = t }
}

// WithKeyFunc replaces the key function (Django's KEY_FUNCTION). A nil
// function restores the default.
func WithKeyFunc(f KeyFunc) Option {
	return func(c *config) { c.keyFunc = f }
}

// WithKeyCheck chooses what happens to keys memcached would reject. A value
// other than KeyCheckWarn, KeyCheckReject and KeyCheckOff makes New fail.
func WithKeyCheck(k KeyCheck) Option {
	return func(c *config) { c.keyCheck, c.keyCheckSet = k, true }
}

// WithLogger sets the logger for key warnings. Without one the cache logs
// nothing.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithMaxValueSize makes Set, Add and SetMany refuse values longer than n
// bytes with an error wrapping ErrValueTooLarge (0, the default, means no
// limit beyond the backend's own; a negative n makes New fail). GetOrSet
// returns a loaded value that is too large without storing it, and counts
// the error.
func WithMaxValueSize(n int) Option {
	return func(c *config) { c.maxValueSize = n }
}

// WithJitter spreads the expiry of what the cache writes, so that entries
// written together (a deploy, a cleared cache, a traffic spike) do not all
// expire, and get recomputed by every process, at once. Each positive
// timeout t that the cache sends its backend (Set, Add, SetMany,
// GetOrSet's store, Touch, IncrVersion's move) becomes a uniform random
// value in [t·(1−f), t]: never longer, so that Expires and max-age headers
// computed from t stay truthful. Forever, Expired and negative timeouts are
// sent unchanged, and so is the default timeout Incr stores with on
// backends without an atomic increment (a counter's expiry is not a
// stampede). SetMany draws one timeout for the whole batch.
//
// A timeout of one second or more is never jittered below one second:
// memcached and Redis truncate timeouts to whole seconds, as Django does
// (int(0.5) is 0, which Redis reads as "delete"), so a fragment cached for
// 60 seconds is never dropped on write because of jitter. Timeouts under a
// second are jittered as they are; those backends store nothing for them
// anyway.
//
// f must be at least 0 and below 1, else New fails with an error wrapping
// ErrInvalidOption. 0, the default, turns jitter off and costs nothing.
// URLs take it as jitter=f.
func WithJitter(f float64) Option {
	return func(c *config) { c.jitter = f }
}
