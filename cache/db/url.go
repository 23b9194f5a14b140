package db

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/backends"
	"github.com/fragcache/fragcache/cache/failopen"
)

// Schemes returns the URL openers of this package, each wrapped in
// fail-open (failopen=0 turns that off): "sqlite", "postgres" and
// "postgresql". They are not among
// backends.Schemes, so that a program that does not import this package
// links no database driver. With adds them to other openers; Open and
// OpenRegistry open URLs with them and every built-in backend.
func Schemes() cache.Schemes {
	return cache.Schemes{
		"sqlite":     failopen.Opener(OpenSQLiteURL),
		"postgres":   failopen.Opener(OpenPostgresURL),
		"postgresql": failopen.Opener(OpenPostgresURL),
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

// common reads the options every database URL has into o, and checks
// table; kind names the URL in messages ("sqlite", "postgres").
func common(u *cache.URL, kind string, o *Options, more ...cache.URLOption) error {
	o.MaxEntries = DefaultMaxEntries
	cull, useTZ := DefaultCullFrequency, true
	table := append([]cache.URLOption{
		cache.URLString("table", &o.Table),
		cache.URLInt("max_entries", &o.MaxEntries, 1, math.MaxInt32),
		cache.URLInt("cull_frequency", &cull, 0, math.MaxInt32),
		cache.URLBool("use_tz", &useTZ),
	}, more...)
	if err := u.Read(table...); err != nil {
		return err
	}
	if !u.Has("table") || o.Table == "" {
		return fmt.Errorf("%w: %s cache URL %s: option table is required (the cache table, as in Django's LOCATION)", cache.ErrInvalidOption, kind, u.Redacted())
	}
	if !tableName.MatchString(o.Table) {
		return u.OptionError("table", "a name matching [A-Za-z_][A-Za-z0-9_]{0,62}")
	}
	o.CullFrequency = cull
	if cull == 0 {
		o.CullFrequency = CullAll
	}
	o.NaiveLocalTime = !useTZ
	return nil
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
	var o SQLiteOptions
	path, err := url.PathUnescape(u.Location)
	if err != nil {
		return nil, fmt.Errorf("%w: sqlite cache URL %q: bad escape in path", cache.ErrInvalidOption, u.Redacted())
	}
	if !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("%w: sqlite cache URL %q: want an absolute path, as sqlite:///abs/path/file.db", cache.ErrInvalidOption, u.Redacted())
	}
	o.Path = path
	var journal string
	if err := common(u, "sqlite", &o.Options,
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
	if u.Has("busy_timeout") && o.BusyTimeout == 0 {
		return nil, u.OptionError("busy_timeout", "a positive duration such as 5s")
	}
	o.WAL = journal == "wal"
	return OpenSQLite(context.Background(), o)
}

// pgParams are the connection parameters a postgres:// URL passes to the
// driver, as libpq names them.
var pgParams = []string{"sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout", "application_name", "search_path"}

// sslModes are libpq's sslmode values.
var sslModes = map[string]bool{"disable": true, "allow": true, "prefer": true, "require": true, "verify-ca": true, "verify-full": true}

// OpenPostgresURL is the cache.Opener for PostgreSQL URLs (without
// fail-open; Schemes wraps it):
//
//	postgres://user:password@host:5432/dbname?table=my_cache_table
//	postgresql://user:password@host/dbname?table=my_cache_table&sslmode=verify-full
//
// Characters of the user or password that are special in URLs (@ : / ? #
// % and others) must be percent-encoded, as in any URL ("p%40ss" for
// "p@ss"); the password is never shown in messages. The port defaults to
// 5432. The options are
//
//	table, max_entries, cull_frequency, use_tz   as for sqlite:// (on
//	                PostgreSQL expires is a timestamp with time zone: use_tz
//	                only changes how "forever" is written)
//	sslmode, sslrootcert, sslcert, sslkey, connect_timeout (seconds),
//	application_name, search_path
//	                passed to the driver, with libpq's meanings
//	max_conns       the most connections the process opens (default: no bound)
//	max_idle_conns  how many idle connections are kept (default 16)
//
// besides every URL's (timeout, key_prefix, version, …; see cache.Open).
// Opening does not connect.
func OpenPostgresURL(u *cache.URL) (cache.Backend, error) {
	var o PostgresOptions
	loc, err := url.Parse("postgres://" + u.Location)
	if err != nil || loc.RawQuery != "" || loc.Fragment != "" || loc.Opaque != "" {
		return nil, fmt.Errorf("%w: postgres cache URL %s: malformed location (a password holding characters special in URLs must be percent-encoded)", cache.ErrInvalidOption, u.Redacted())
	}
	dbname := strings.TrimPrefix(loc.Path, "/")
	if strings.Contains(dbname, "/") {
		return nil, fmt.Errorf("%w: postgres cache URL %s: want one database name after the host, as postgres://user@host/dbname", cache.ErrInvalidOption, u.Redacted())
	}
	params := url.Values{}
	var more []cache.URLOption
	for _, name := range pgParams {
		name := name
		more = append(more, cache.URLFunc(name, wantOf(name), func(v string) error {
			switch name {
			case "sslmode":
				if !sslModes[v] {
					return cache.ErrInvalidOption
				}
			case "connect_timeout":
				n, err := strconv.Atoi(v)
				if err != nil || n < 0 {
					return cache.ErrInvalidOption
				}
			}
			params.Set(name, v)
			return nil
		}))
	}
	more = append(more,
		cache.URLInt("max_conns", &o.MaxOpenConns, 0, math.MaxInt32),
		cache.URLInt("max_idle_conns", &o.MaxIdleConns, 0, math.MaxInt32))
	if err := common(u, "postgres", &o.Options, more...); err != nil {
		return nil, err
	}
	dsn := url.URL{Scheme: "postgres", User: loc.User, Host: loc.Host, Path: "/" + dbname, RawQuery: params.Encode()}
	o.DSN = dsn.String()
	return OpenPostgres(context.Background(), o)
}

// wantOf describes a good value of a PostgreSQL connection parameter.
func wantOf(name string) string {
	switch name {
	case "sslmode":
		return "disable, allow, prefer, require, verify-ca or verify-full"
	case "connect_timeout":
		return "a whole number of seconds"
	}
	return "a value"
}
