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
//	text_flags      Options.TextFlags: 1 or 0 (default 0, or 1 with django=)
//	django_values   the same as text_flags, under the name the redis backend
//	                uses for writing values Django reads as str, int or bytes
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
	var djangoValues bool
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
	); err != nil {
		return nil, err
	}
	if u.Has("op_timeout") && opts.Timeout == 0 {
		return nil, u.OptionError("op_timeout", "a positive duration")
	}
	if u.Has("django_values") {
		if u.Has("text_flags") && djangoValues != opts.TextFlags {
			return nil, fmt.Errorf("%w: memcached cache URL: text_flags and django_values are the same option and disagree", cache.ErrInvalidOption)
		}
		opts.TextFlags = djangoValues
	}
	return New(opts)
}
