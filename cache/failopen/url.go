package failopen

import (
	"fmt"
	"time"

	"github.com/fragcache/fragcache/cache"
)

// Opener returns a cache.Opener that opens a backend with inner and wraps
// it with New, fail-open being on unless the URL says failopen=0. It reads
// these options, before inner reads its own:
//
//	failopen           1/0, true/false, yes/no, on/off (default on)
//	failure_threshold  consecutive failures that open the breaker (WithFailureThreshold)
//	cool_down          how long the breaker stays open, e.g. "5s" or "2.5" (seconds) (WithCoolDown)
//	op_timeout         bound on each operation, "0" for none (WithOpTimeout)
//
// With failopen=0, failure_threshold and cool_down are errors, and
// op_timeout is left to inner (cache/redis reads it too). With fail-open
// on, op_timeout is read by both, so it bounds the operation either way.
//
// opts come first, then the URL's options, which override them; the name
// in log lines defaults to the URL's scheme and location without
// credentials, and the logger to the cache's (cache.URL.Logger: the
// WithLogger given to cache.Open or OpenRegistry, else slog.Default()). Invalid opts make the opener fail as New does.
//
//	schemes := cache.Schemes{"redis": failopen.Opener(redis.Open, failopen.WithLogger(logger))}
//
// Messages about a bad option show only the option, never the URL, which
// may hold a password.
func Opener(inner cache.Opener, opts ...Option) cache.Opener {
	return func(u *cache.URL) (cache.Backend, error) {
		on, err := u.Bool("failopen", true)
		if err != nil {
			return nil, err
		}
		if !on {
			for _, name := range []string{"failure_threshold", "cool_down"} {
				if u.Has(name) {
					return nil, fmt.Errorf("%w: %s in a %s cache URL with failopen=0: it configures the fail-open wrapper", cache.ErrInvalidOption, name, u.Scheme)
				}
			}
			return inner(u)
		}
		var (
			threshold           int
			coolDown, opTimeout time.Duration
		)
		if err := u.Read(
			cache.URLInt("failure_threshold", &threshold, 1, maxFailureThreshold),
			cache.URLDuration("cool_down", &coolDown),
			cache.URLDuration("op_timeout", &opTimeout),
		); err != nil {
			return nil, err
		}
		// The cache's logger (cache.WithLogger given to Open or
		// OpenRegistry, else slog.Default()), unless opts name one.
		all := append([]Option{WithName(cache.Redact(u.Scheme + "://" + u.Location)), WithLogger(u.Logger())}, opts...)
		if u.Has("failure_threshold") {
			all = append(all, WithFailureThreshold(threshold))
		}
		if u.Has("cool_down") {
			if coolDown == 0 {
				return nil, u.OptionError("cool_down", `a positive duration such as "5s" or "2.5" (seconds)`)
			}
			all = append(all, WithCoolDown(coolDown))
		}
		if u.Has("op_timeout") {
			all = append(all, WithOpTimeout(opTimeout)) // 0: none
		}
		b, err := inner(u)
		if err != nil {
			return nil, err
		}
		w, err := New(b, all...)
		if err != nil {
			b.Close()
			return nil, err
		}
		return w, nil
	}
}
