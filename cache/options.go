package cache

import (
	"fmt"
	"log/slog"
	"strings"
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

// Option configures a Cache in New or Open.
type Option func(*config) error

type config struct {
	prefix         string
	version        int
	defaultTimeout Timeout
	keyFunc        KeyFunc
	keyCheck       KeyCheck
	keyCheckSet    bool
	logger         *slog.Logger
	maxValueSize   int
}

// WithKeyPrefix sets Django's KEY_PREFIX (default "").
func WithKeyPrefix(prefix string) Option {
	return func(c *config) error { c.prefix = prefix; return nil }
}

// WithVersion sets Django's VERSION, the default version of every key
// (default 1).
func WithVersion(v int) Option {
	return func(c *config) error { c.version = v; return nil }
}

// WithDefaultTimeout sets Django's TIMEOUT, the timeout that DefaultTimeout
// stands for (default 300 seconds). Forever makes the default never expire.
// DefaultTimeout itself selects 300 seconds.
func WithDefaultTimeout(t Timeout) Option {
	return func(c *config) error {
		if t == DefaultTimeout {
			t = Seconds(300)
		}
		c.defaultTimeout = t
		return nil
	}
}

// WithKeyFunc replaces the key function (Django's KEY_FUNCTION). A nil
// function restores the default.
func WithKeyFunc(f KeyFunc) Option {
	return func(c *config) error { c.keyFunc = f; return nil }
}

// WithKeyCheck chooses what happens to keys memcached would reject.
func WithKeyCheck(k KeyCheck) Option {
	return func(c *config) error {
		if k > KeyCheckOff {
			return fmt.Errorf("%w: %v", ErrInvalidOption, k)
		}
		c.keyCheck, c.keyCheckSet = k, true
		return nil
	}
}

// WithLogger sets the logger for key warnings. Without one the cache logs
// nothing.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error { c.logger = l; return nil }
}

// WithMaxValueSize makes Set, Add and SetMany refuse values longer than n
// bytes with an error wrapping ErrValueTooLarge (0, the default, means no
// limit beyond the backend's own). GetOrSet returns a loaded value that is
// too large without storing it, and counts the error.
func WithMaxValueSize(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("%w: negative maximum value size %d", ErrInvalidOption, n)
		}
		c.maxValueSize = n
		return nil
	}
}
