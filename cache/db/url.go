package db

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"strings"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/backends"
	"github.com/fragcache/fragcache/cache/failopen"
)

// Schemes returns the URL openers of this package, each wrapped in
// fail-open (failopen=0 turns that off): "sqlite". They are not among
// backends.Schemes, so that a program that does not import this package
// links no database driver. With adds them to other openers; Open and
// OpenRegistry open URLs with them and every built-in backend.
func Schemes() cache.Schemes {
	return cache.Schemes{
		"sqlite": failopen.Opener(OpenSQLiteURL),
	}
}

// With adds the openers of Schemes to schemes, and returns schemes (a new
// map when it is nil):
//
//	reg, err := cache.OpenRegistry(urls, db.With(backends.Schemes()))
func With(schemes cache.Schemes) cache.Schemes {
	if schemes == nil {
		schemes = cache.Schemes{}
	}
	for name, o := range Schemes() {
		schemes[name] = o
	}
	return schemes
}

// Open opens one cache from a URL with the built-in backends and this
// package's (see With).
func Open(rawURL string, opts ...cache.Option) (*cache.Cache, error) {
	return cache.Open(rawURL, With(backends.Schemes()), opts...)
}

// OpenRegistry opens a cache per alias from URLs with the built-in
// backends and this package's, e.g. {"default": "memory://",
// "template_fragments": "sqlite:///var/lib/myapp/db.sqlite3?table=my_cache_table"}.
func OpenRegistry(urls map[string]string, opts ...cache.Option) (*cache.Registry, error) {
	return cache.OpenRegistry(urls, With(backends.Schemes()), opts...)
}

// OpenSQLiteURL is the cache.Opener for SQLite URLs (without fail-open;
// Schemes wraps it):
//
//	sqlite:///abs/path/file.db?table=my_cache_table
//
// The path is absolute (percent-escapes are decoded); the file is created
// when missing. The options are
//
//	table           the cache table, Django's LOCATION (required), matching
//	                [A-Za-z_][A-Za-z0-9_]{0,62}
//	max_entries     Django's MAX_ENTRIES (default 300)
//	cull_frequency  Django's CULL_FREQUENCY (default 3; 0 empties the table)
//	use_tz          1 (default, Django's USE_TZ=True): expires in UTC; 0:
//	                naive local time, Go and Django in the same time zone
//	busy_timeout    how long to wait for another connection's lock (default 5s)
//	journal_mode    wal: switch the file to WAL (a file this opener creates
//	                is switched anyway; an existing one is left alone)
//
// besides every URL's (timeout, key_prefix, version, …; see cache.Open).
func OpenSQLiteURL(u *cache.URL) (cache.Backend, error) {
	o := SQLiteOptions{Options: Options{MaxEntries: DefaultMaxEntries}}
	path, err := url.PathUnescape(u.Location)
	if err != nil {
		return nil, fmt.Errorf("%w: sqlite cache URL %q: bad escape in path", cache.ErrInvalidOption, u.Redacted())
	}
	if !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("%w: sqlite cache URL %q: want an absolute path, as sqlite:///abs/path/file.db", cache.ErrInvalidOption, u.Redacted())
	}
	o.Path = path
	var (
		cull    = DefaultCullFrequency
		useTZ   = true
		journal string
	)
	if err := u.Read(
		cache.URLString("table", &o.Table),
		cache.URLInt("max_entries", &o.MaxEntries, 1, math.MaxInt32),
		cache.URLInt("cull_frequency", &cull, 0, math.MaxInt32),
		cache.URLBool("use_tz", &useTZ),
		cache.URLDuration("busy_timeout", &o.BusyTimeout),
		cache.URLFunc("journal_mode", "wal", func(v string) error {
			if !strings.EqualFold(v, "wal") {
				return cache.ErrInvalidOption
			}
			journal = "wal"
			return nil
		}),
	); err != nil {
		return nil, err
	}
	if !u.Has("table") || o.Table == "" {
		return nil, fmt.Errorf("%w: sqlite cache URL %q: option table is required (the cache table, as in Django's LOCATION)", cache.ErrInvalidOption, u.Redacted())
	}
	if !tableName.MatchString(o.Table) {
		return nil, u.OptionError("table", "a name matching [A-Za-z_][A-Za-z0-9_]{0,62}")
	}
	if u.Has("busy_timeout") && o.BusyTimeout == 0 {
		return nil, u.OptionError("busy_timeout", "a positive duration such as 5s")
	}
	o.CullFrequency = cull
	if cull == 0 {
		o.CullFrequency = CullAll
	}
	o.NaiveLocalTime = !useTZ
	o.WAL = journal == "wal"
	return OpenSQLite(context.Background(), o)
}
