package memcached

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/near"
)

// Open is the cache.Opener for memcached URLs:
//
//	memcached://10.0.0.1:11211;10.0.0.2:11211,10.0.0.3?op_timeout=200ms&max_idle_conns=128
//	memcached://unix:/run/memcached/memcached.sock
//	memcached:///run/memcached/memcached.sock
//	memcached://                                  (127.0.0.1:11211)
//
// Servers are separated by ";" or "," as in Django's LOCATION, each written
// as in Options.Servers (percent-escapes are decoded). The options are
//
//	op_timeout      Options.Timeout: a duration ("200ms") or seconds ("0.5"); default 500ms
//	max_idle_conns  Options.MaxIdleConns, from 1; default 64
//	selector        django (default) or gomemcache: see Selector
//	hash_long_keys  Options.HashLongKeys: 1 or 0 (default 0)
//	text_flags      Options.TextFlags: 1 or 0 (default 0, or 1 with django=)
//	django_values   the same as text_flags, under the name the redis backend
//	                uses for writing values Django reads as str, int or bytes
//	local_ttl       keep a process-local copy of each value read or written
//	                for at most this duration ("2s"; see cache/near); absent
//	                or 0: off (the default)
//	local_max_bytes bound on the local copies' memory ("64MiB", the default);
//	                only with local_ttl
//	server_failure_threshold
//	                Options.ServerFailureThreshold: consecutive failures that
//	                mark one server of a pool down, from 1; default 3
//	server_cool_down
//	                Options.ServerCoolDown: how long a server marked down is
//	                skipped before a probe ("5s", the default); pymemcache
//	                calls its counterpart dead_timeout
//
// The two server_ options configure the breaker each server of a pool
// (two servers or more) has; they are errors with a single server, which
// the fail-open wrapper's breaker (failure_threshold, cool_down) covers.
// The backend logs to the cache's logger (cache.URL.Logger).
//
// local_ttl trades freshness for round trips, with a plain bound: a value
// another process (another Go process, Django, the CLI) changes or deletes
// may still be served by this process for up to local_ttl after the
// change. This process's own writes and deletes drop its copies at once,
// so it never sees its own stale data, and a copy of a value it wrote
// never outlives the value's timeout. With local_ttl the result is a
// near.Wrapper over the *Backend (cache.As finds the *Backend through it).
//
// The URL's timeout option is the cache's default timeout (see cache.Open),
// not the network timeout.
func Open(u *cache.URL) (cache.Backend, error) {
	var opts Options
	if strings.Contains(u.Location, "@") {
		return nil, fmt.Errorf("%w: cache URL %q: memcached takes no user or password", cache.ErrInvalidOption, u.Redacted())
	}
	// Split as Django splits LOCATION: on ";" or ",".
	for _, s := range strings.Split(strings.ReplaceAll(u.Location, ",", ";"), ";") {
		if strings.TrimSpace(s) == "" {
			if u.Location == "" {
				break
			}
			return nil, fmt.Errorf("%w: cache URL %q: empty server", cache.ErrInvalidOption, u.Redacted())
		}
		dec, err := url.PathUnescape(s)
		if err != nil {
			return nil, fmt.Errorf("%w: cache URL %q: bad escape in server %q", cache.ErrInvalidOption, u.Redacted(), s)
		}
		opts.Servers = append(opts.Servers, dec)
	}
	// With django=, values carry Django's flags unless text_flags or
	// django_values say otherwise.
	opts.TextFlags = opts.TextFlags || !u.Django().IsZero()
	var (
		djangoValues  bool
		localTTL      time.Duration
		localMaxBytes int64
	)
	if err := u.Read(
		cache.URLDuration("op_timeout", &opts.Timeout),
		cache.URLInt("max_idle_conns", &opts.MaxIdleConns, 1, 1<<20),
		cache.URLFunc("selector", "django or gomemcache", func(v string) (err error) {
			opts.Selector, err = ParseSelector(v)
			return err
		}),
		cache.URLBool("hash_long_keys", &opts.HashLongKeys),
		cache.URLBool("text_flags", &opts.TextFlags),
		cache.URLBool("django_values", &djangoValues),
		cache.URLDuration("local_ttl", &localTTL),
		cache.URLSize("local_max_bytes", &localMaxBytes),
		cache.URLInt("server_failure_threshold", &opts.ServerFailureThreshold, 1, 1<<30),
		cache.URLDuration("server_cool_down", &opts.ServerCoolDown),
	); err != nil {
		return nil, err
	}
	if u.Has("server_cool_down") && opts.ServerCoolDown == 0 {
		return nil, u.OptionError("server_cool_down", `a positive duration such as "5s"`)
	}
	if len(opts.Servers) < 2 {
		for _, name := range []string{"server_failure_threshold", "server_cool_down"} {
			if u.Has(name) {
				return nil, fmt.Errorf("%w: %s in a memcached cache URL with one server: it configures the breaker of each server of a pool (use failure_threshold and cool_down for the whole cache)", cache.ErrInvalidOption, name)
			}
		}
	}
	opts.Logger = u.Logger()
	if u.Has("op_timeout") && opts.Timeout == 0 {
		return nil, u.OptionError("op_timeout", "a positive duration")
	}
	if u.Has("django_values") {
		if u.Has("text_flags") && djangoValues != opts.TextFlags {
			return nil, fmt.Errorf("%w: memcached cache URL: text_flags and django_values are the same option and disagree", cache.ErrInvalidOption)
		}
		opts.TextFlags = djangoValues
	}
	if localTTL > near.MaxTTL {
		return nil, u.OptionError("local_ttl", fmt.Sprintf("a duration of at most %v, or 0 for off", near.MaxTTL))
	}
	if u.Has("local_max_bytes") {
		if localTTL == 0 {
			return nil, fmt.Errorf("%w: local_max_bytes in a memcached cache URL without local_ttl: it bounds the local copies local_ttl keeps", cache.ErrInvalidOption)
		}
		if localMaxBytes <= 0 {
			return nil, u.OptionError("local_max_bytes", `a positive size such as "64MiB"`)
		}
	}
	b, err := New(opts)
	if err != nil {
		return nil, err
	}
	if localTTL == 0 {
		return b, nil
	}
	w, err := near.New(b, near.Options{TTL: localTTL, MaxBytes: localMaxBytes, Lifetime: Lifetime})
	if err != nil {
		b.Close()
		return nil, err
	}
	return w, nil
}
