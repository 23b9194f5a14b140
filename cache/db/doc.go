// Package db is a cache backend over a SQL database table, with the
// behaviour of Django's DatabaseCache (django.core.cache.backends.db) and
// its table, so that a Go application and a Django project share one
// table: each reads what the other writes. It is built on database/sql
// and speaks two databases (Dialect):
//
//   - SQLite, through the pure-Go driver modernc.org/sqlite (no cgo: go
//     build and go run work on a machine with no C toolchain);
//   - PostgreSQL, through pgx (github.com/jackc/pgx/v5) and its
//     database/sql adapter.
//
// Open a backend with OpenSQLite or OpenPostgres:
//
//	b, err := db.OpenSQLite(ctx, db.SQLiteOptions{Path: "/var/lib/myapp/db.sqlite3", Options: db.Options{Table: "my_cache_table"}})
//	b, err := db.OpenPostgres(ctx, db.PostgresOptions{DSN: "postgres://app:secret@db.internal/app", Options: db.Options{Table: "my_cache_table"}})
//	c, err := cache.New(b)
//
// or with a URL (OpenSQLiteURL and OpenPostgresURL list the options):
//
//	sqlite:///var/lib/myapp/db.sqlite3?table=my_cache_table&max_entries=1000
//	postgres://app:p%40ss@db.internal:5432/app?table=my_cache_table&sslmode=verify-full
//
// New takes a *sql.DB opened by other means, with its Dialect.
//
// # Registering the scheme
//
// The sqlite://, postgres:// and postgresql:// schemes are not among
// cache/backends' built-in schemes, so that a program using other backends
// links no database driver. Importing
// this package makes it available: Schemes returns its openers (each
// wrapped in fail-open, as memcached and Redis are), With adds them to
// others, and Open and OpenRegistry open URLs with every built-in backend
// and these:
//
//	reg, err := db.OpenRegistry(map[string]string{
//		"default":            "memory://",
//		"template_fragments": "sqlite:///var/lib/myapp/db.sqlite3?table=my_cache_table",
//	})
//	// or: cache.OpenRegistry(urls, db.With(backends.Schemes()))
//
// # The table
//
// The table is Django's, as manage.py createcachetable makes it
// (CreateTableStatements; Backend.CreateTable runs them when the table is
// missing, and the command fragcache createcachetable too):
//
//	CREATE TABLE "my_cache_table" (
//	    "cache_key" varchar(255) NOT NULL PRIMARY KEY,
//	    "value" text NOT NULL,
//	    "expires" datetime NOT NULL
//	);
//	CREATE INDEX "my_cache_table_expires" ON "my_cache_table" ("expires");
//
// with expires "timestamp with time zone" on PostgreSQL. Opening does not
// create it. A missing table makes every operation fail
// with an error wrapping ErrNoTable that names the table (under fail-open,
// a miss: the page still renders). Table names must match
// [A-Za-z_][A-Za-z0-9_]{0,62} and are always quoted.
//
// # Values
//
// The value column holds what Django writes: base64 of a protocol-5
// pickle. Go writes an int for a canonical decimal integer ("42", not
// "042"), a str for valid UTF-8 and bytes otherwise, so Django reads
// str, int or bytes. Reading decodes the pickle with the project's
// restricted decoder (internal/pickle), which builds plain values itself
// and never imports, calls or constructs anything a stream names: a str
// or SafeString (every {% cache %} fragment Django renders) reads as its
// UTF-8 text, bytes and bytearray as their bytes, an int as its decimal
// digits. Anything else — bad base64, a malformed pickle, a float, None,
// a dict, a pickle naming any class — makes Get and GetMany fail with a
// *ForeignValueError wrapping cache.ErrForeignValue, naming the key.
//
// # Expiry and culling, as Django
//
// On PostgreSQL expires is a timestamp with time zone: an instant, which
// Go and Django read alike whatever their zones. On SQLite it is
// text in Django's format, str(datetime): naive UTC
// "2026-12-03 18:00:00" by default (Django's USE_TZ=True), naive local
// time with Options.NaiveLocalTime (URL use_tz=0, USE_TZ=False; Go and
// Django must then run in the same time zone). Forever is Django's
// datetime.max, "9999-12-31 23:59:59". Django drops microseconds; Go keeps
// them (".123456"), which Django parses, and which sort correctly as text
// in the SQL comparisons both sides make. A row is expired when expires <
// now. Get and GetMany read with one SELECT … IN (…), and delete the
// expired rows they found with one DELETE (of those rows only while still
// expired, so that a concurrent write survives). Has and Touch look at
// unexpired rows only.
//
// Set, Add and Touch first count the rows; when the table holds more than
// MaxEntries (300), it is culled as Django culls: with CullFrequency CullAll
// (URL cull_frequency=0) emptied, otherwise the expired rows are deleted
// and, if more than MaxEntries remain, the first count/CullFrequency rows
// in key order go (by key, not by age).
//
// Set is one upsert (INSERT … ON CONFLICT DO UPDATE). Add is one upsert
// that replaces only an expired row, and reports from the row count
// whether it stored: atomic, unlike Django's select-then-insert. Delete
// and DeleteMany are one DELETE … IN (…); Clear deletes every row,
// whatever the key prefix. Incr is the Cache's get and set (not atomic),
// as Django's. Made keys longer than the cache_key column (255
// characters) fail Set and Add with an error wrapping cache.ErrInvalidKey
// before the database sees them; Get, Has and Delete treat them as absent.
//
// # Leases
//
// AcquireLease is the same upsert as Add on a row of the table (an insert,
// or an update of an expired row, checked by its row count), holding the
// token pickled as a str; ReleaseLease deletes the row only while it holds
// the token.
//
// # SQLite
//
// OpenSQLite creates the file when missing (its directory must exist),
// sets busy_timeout on every connection (SQLiteOptions.BusyTimeout, URL
// busy_timeout=, default 5s), so processes sharing the file wait for each
// other's locks rather than fail, and turns off SQLite's double-quoted
// string literals, so that a table with the wrong columns is an error.
// Transactions begin IMMEDIATE. WAL is a
// persistent property of a file a Django project may own: the file is
// switched to WAL only when OpenSQLite creates it, or when asked
// (SQLiteOptions.WAL, URL journal_mode=wal).
//
// # PostgreSQL
//
// OpenPostgres does not connect: a process starts while the database is
// down, and its operations are then failures (under fail-open, counted
// misses and dropped writes; database/sql reconnects when the server is
// back). The password is hidden in every message and log line. Made keys
// holding a NUL byte or invalid UTF-8, which PostgreSQL's text cannot
// store (Django fails on them too), are refused like keys that are too
// long. Writes run concurrently; Add is still one atomic upsert.
//
// # SQLite writes
//
// Within a process, one statement writes at a time (SQLite admits one
// writer per file, and its busy handler is not fair: goroutines racing
// for the lock could starve past busy_timeout). Under fail-open (the URL
// default) each operation is also bounded by op_timeout (100ms unless the
// URL says otherwise), lock waits included: past it the operation is a
// miss or a dropped write, counted, never an error on a page. Raise
// op_timeout for a file many processes write at once.
package db
