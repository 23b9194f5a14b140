package memcached

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/fragcache/fragcache/cache"
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
//	text_flags      Options.TextFlags: 1 or 0 (default 0)
//	django_values   the same as text_flags, under the name the redis backend
//	                uses for writing values Django reads as str, int or bytes
//
// The URL's timeout option is the cache's default timeout (see cache.Open),
// not the network timeout.
func Open(u *cache.URL) (cache.Backend, error) {
	var opts Options
	if strings.Contains(u.Location, "@") {
		return nil, fmt.Errorf("%w: cache URL %q: memcached takes no user or password", cache.ErrInvalidOption, u.Raw)
	}
	// Split as Django splits LOCATION: on ";" or ",".
	for _, s := range strings.Split(strings.ReplaceAll(u.Location, ",", ";"), ";") {
		if strings.TrimSpace(s) == "" {
			if u.Location == "" {
				break
			}
			return nil, fmt.Errorf("%w: cache URL %q: empty server in %q", cache.ErrInvalidOption, u.Raw, u.Location)
		}
		dec, err := url.PathUnescape(s)
		if err != nil {
			return nil, fmt.Errorf("%w: cache URL %q: bad escape in server %q", cache.ErrInvalidOption, u.Raw, s)
		}
		opts.Servers = append(opts.Servers, dec)
	}
	var err error
	if opts.Timeout, err = u.Duration("op_timeout", 0); err != nil {
		return nil, err
	}
	if u.Has("op_timeout") && opts.Timeout == 0 {
		return nil, fmt.Errorf("%w: op_timeout=0 in cache URL %q: want a positive duration", cache.ErrInvalidOption, u.Raw)
	}
	if opts.MaxIdleConns, err = u.Int("max_idle_conns", 0, 1, 1<<20); err != nil {
		return nil, err
	}
	if u.Has("selector") {
		v := u.String("selector", "")
		if opts.Selector, err = ParseSelector(v); err != nil {
			return nil, fmt.Errorf("%w: selector=%q in cache URL %q: want django or gomemcache", cache.ErrInvalidOption, v, u.Raw)
		}
	}
	if opts.HashLongKeys, err = u.Bool("hash_long_keys", false); err != nil {
		return nil, err
	}
	if opts.TextFlags, err = u.Bool("text_flags", false); err != nil {
		return nil, err
	}
	if u.Has("django_values") {
		dv, err := u.Bool("django_values", false)
		if err != nil {
			return nil, err
		}
		if u.Has("text_flags") && dv != opts.TextFlags {
			return nil, fmt.Errorf("%w: cache URL %q: text_flags and django_values are the same option and disagree", cache.ErrInvalidOption, u.Raw)
		}
		opts.TextFlags = dv
	}
	return New(opts)
}
