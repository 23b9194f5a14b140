package failopen

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/fragcache/fragcache/cache"
)

// Opener returns a cache.Opener that opens a backend with inner and wraps
// it with Wrap, fail-open being on unless the URL says failopen=0. It reads
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
// location without credentials.
//
//	schemes := cache.Schemes{"redis": failopen.Opener(redis.Open, failopen.Options{Logger: logger})}
//
// Messages about a bad option show only the option, never the URL, which
// may hold a password.
func Opener(inner cache.Opener, defaults Options) cache.Opener {
	return func(u *cache.URL) (cache.Backend, error) {
		on := true
		if u.Has("failopen") {
			switch v := u.String("failopen", ""); strings.ToLower(strings.TrimSpace(v)) {
			case "1", "true", "yes", "on":
			case "0", "false", "no", "off":
				on = false
			default:
				return nil, bad("failopen", v, "true or false")
			}
		}
		if !on {
			for _, name := range []string{"failure_threshold", "cool_down"} {
				if u.Has(name) {
					return nil, fmt.Errorf("%w: %s in a cache URL with failopen=0: it configures the fail-open wrapper", cache.ErrInvalidOption, name)
				}
			}
			return inner(u)
		}
		opts := defaults
		if u.Has("failure_threshold") {
			v := u.String("failure_threshold", "")
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 1 || n > 1<<30 {
				return nil, bad("failure_threshold", v, "an integer from 1")
			}
			opts.FailureThreshold = n
		}
		if u.Has("cool_down") {
			v := u.String("cool_down", "")
			d, err := parseDuration(v)
			if err != nil || d <= 0 {
				return nil, bad("cool_down", v, `a positive duration such as "5s" or "2.5" (seconds)`)
			}
			opts.CoolDown = d
		}
		if u.Has("op_timeout") {
			v := u.String("op_timeout", "")
			d, err := parseDuration(v)
			if err != nil {
				return nil, bad("op_timeout", v, `a duration such as "100ms" or "0.1" (seconds), or 0 for none`)
			}
			if d == 0 {
				d = -1
			}
			opts.OpTimeout = d
		}
		if opts.Name == "" {
			opts.Name = u.Scheme + "://" + u.Location
			if strings.Contains(u.Location, "@") {
				opts.Name = u.Scheme + "://"
			}
		}
		b, err := inner(u)
		if err != nil {
			return nil, err
		}
		return Wrap(b, opts), nil
	}
}

func bad(name, value, want string) error {
	return fmt.Errorf("%w: %s=%q in cache URL: want %s", cache.ErrInvalidOption, name, value, want)
}

// parseDuration reads a Go duration ("150ms") or seconds ("1.5"), not
// negative.
func parseDuration(v string) (time.Duration, error) {
	s := strings.TrimSpace(v)
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f < 0 || math.IsNaN(f) || f > float64(math.MaxInt64)/1e9 {
			return 0, fmt.Errorf("%w: duration %q", cache.ErrInvalidOption, v)
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%w: duration %q", cache.ErrInvalidOption, v)
	}
	return d, nil
}
