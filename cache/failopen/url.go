package failopen

import (
	"fmt"

	"github.com/fragcache/fragcache/cache"
)

// Opener returns a cache.Opener that opens a backend with inner and wraps
// it with New, fail-open being on unless the URL says failopen=0. It reads
// these options, before inner reads its own:
//
//	failopen           1/0, true/false, yes/no, on/off (default on)
//	failure_threshold  consecutive failures that open the breaker (default from defaults, else 5)
//	cool_down          how long the breaker stays open, e.g. "5s" or "2.5" (seconds) (default 5s)
//	op_timeout         bound on each operation, "0" for none (default 100ms)
//
// With failopen=0, failure_threshold and cool_down are errors, and
// op_timeout is left to inner (cache/redis reads it too). With fail-open
// on, op_timeout is read by both, so it bounds the operation either way.
//
// defaults gives the other Options (Logger, LogInterval, Jitter, Now) and
// the defaults of those above; Name defaults to the URL's scheme and
// location without credentials. Defaults out of range make the opener fail
// as New does.
//
//	schemes := cache.Schemes{"redis": failopen.Opener(redis.Open, failopen.Options{Logger: logger})}
//
// Messages about a bad option show only the option, never the URL, which
// may hold a password.
func Opener(inner cache.Opener, defaults Options) cache.Opener {
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
		opts := defaults
		if err := u.Read(
			cache.URLInt("failure_threshold", &opts.FailureThreshold, 1, 1<<30),
			cache.URLDuration("cool_down", &opts.CoolDown),
			cache.URLDuration("op_timeout", &opts.OpTimeout),
		); err != nil {
			return nil, err
		}
		if u.Has("cool_down") && opts.CoolDown == 0 {
			return nil, u.OptionError("cool_down", `a positive duration such as "5s" or "2.5" (seconds)`)
		}
		if u.Has("op_timeout") && opts.OpTimeout == 0 {
			opts.OpTimeout = -1 // none
		}
		if opts.Name == "" {
			opts.Name = cache.Redact(u.Scheme + "://" + u.Location)
		}
		b, err := inner(u)
		if err != nil {
			return nil, err
		}
		w, err := New(b, opts)
		if err != nil {
			b.Close()
			return nil, err
		}
		return w, nil
	}
}
