package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fragcache/fragcache/cache"

	// The pure-Go SQLite driver, registered as "sqlite": no cgo, so a
	// program using this package builds and runs anywhere Go does.
	_ "modernc.org/sqlite"
)

// DefaultBusyTimeout is how long a statement waits for a lock another
// connection or process holds on the SQLite file before failing.
const DefaultBusyTimeout = 5 * time.Second

// SQLiteOptions configures OpenSQLite.
type SQLiteOptions struct {
	Options
	// Path is the absolute path of the database file. The file is
	// created when missing (its directory must exist).
	Path string
	// BusyTimeout is SQLite's busy_timeout; 0 means DefaultBusyTimeout.
	BusyTimeout time.Duration
	// WAL switches the file to write-ahead logging. WAL is a persistent
	// property of the file, which a Django project may own: OpenSQLite
	// switches a file it creates to WAL whatever WAL says, and a file that
	// exists only when WAL is set.
	WAL bool
}

// OpenSQLite opens the SQLite file o.Path (creating it when missing) with
// the pure-Go driver modernc.org/sqlite and returns a backend over its
// table o.Table. It does not create the table (see Backend.CreateTable).
// Close closes the database.
func OpenSQLite(ctx context.Context, o SQLiteOptions) (*Backend, error) {
	if ctx == nil {
		return nil, cache.ErrNilContext
	}
	if !filepath.IsAbs(o.Path) {
		return nil, fmt.Errorf("%w: sqlite cache: path %q is not absolute", cache.ErrInvalidOption, o.Path)
	}
	if o.BusyTimeout == 0 {
		o.BusyTimeout = DefaultBusyTimeout
	}
	if o.BusyTimeout < 0 {
		return nil, fmt.Errorf("%w: sqlite cache: busy timeout %v is negative", cache.ErrInvalidOption, o.BusyTimeout)
	}
	if !tableName.MatchString(o.Table) {
		return nil, fmt.Errorf("%w: sqlite cache: table %q: want a name matching [A-Za-z_][A-Za-z0-9_]{0,62}", cache.ErrInvalidOption, o.Table)
	}
	wal := o.WAL
	if _, err := os.Stat(o.Path); errors.Is(err, fs.ErrNotExist) {
		wal = true // a file fragcache creates
	} else if err != nil {
		return nil, fmt.Errorf("sqlite cache: %w", err)
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", o.BusyTimeout.Milliseconds()))
	q.Set("_txlock", "immediate")
	// No double-quoted string literals: a quoted column name that does not
	// exist (a table with the wrong columns) must be an error, not the
	// text "cache_key".
	q.Set("_dqs", "0")
	dsn := "file:" + (&url.URL{Path: o.Path}).EscapedPath() + "?" + q.Encode()
	sdb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite cache: open %s: %w", o.Path, err)
	}
	// database/sql keeps 2 idle connections: a busy process would open
	// and close SQLite connections (each reading the schema anew) all the
	// time.
	sdb.SetMaxIdleConns(DefaultMaxIdleConns)
	if err := sdb.PingContext(ctx); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("sqlite cache: open %s: %w", o.Path, err)
	}
	if wal {
		var mode string
		if err := sdb.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode); err != nil {
			sdb.Close()
			return nil, fmt.Errorf("sqlite cache: %s: journal_mode=WAL: %w", o.Path, err)
		}
		if !strings.EqualFold(mode, "wal") {
			sdb.Close()
			return nil, fmt.Errorf("sqlite cache: %s: journal_mode=WAL left the file in %s mode", o.Path, mode)
		}
	}
	b, err := New(sdb, o.Options)
	if err != nil {
		sdb.Close()
		return nil, err
	}
	b.closeDB = true
	return b, nil
}
