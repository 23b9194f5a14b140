package db

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/fragcache/fragcache/cache"
)

// Dialect is the SQL dialect of the database a Backend speaks.
type Dialect int

const (
	// SQLite: expires is text in Django's str(datetime) format, placeholders
	// are "?", and one statement of the process writes at a time.
	SQLite Dialect = iota
	// PostgreSQL: expires is timestamp with time zone, placeholders are
	// "$1", "$2", …, and writes run concurrently.
	PostgreSQL
)

// String returns "sqlite" or "postgresql".
func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case PostgreSQL:
		return "postgresql"
	}
	return "Dialect(" + strconv.Itoa(int(d)) + ")"
}

// valid reports whether d is a known dialect.
func (d Dialect) valid() bool { return d == SQLite || d == PostgreSQL }

// expiresType is the column type Django gives a DateTimeField.
func (d Dialect) expiresType() string {
	if d == PostgreSQL {
		return "timestamp with time zone"
	}
	return "datetime"
}

// CreateTableStatements returns the statements Django's createcachetable
// runs for table in dialect d, byte for byte as its --dry-run prints them:
// the table and its index on expires.
func CreateTableStatements(d Dialect, table string) ([]string, error) {
	if !d.valid() {
		return nil, fmt.Errorf("%w: db cache: unknown dialect %v", cache.ErrInvalidOption, d)
	}
	if !tableName.MatchString(table) {
		return nil, tableError(table)
	}
	q := `"` + table + `"`
	return []string{
		"CREATE TABLE " + q + " (\n" +
			`    "cache_key" varchar(255) NOT NULL PRIMARY KEY,` + "\n" +
			`    "value" text NOT NULL,` + "\n" +
			`    "expires" ` + d.expiresType() + ` NOT NULL` + "\n" +
			");",
		`CREATE INDEX "` + table + `_expires" ON ` + q + ` ("expires");`,
	}, nil
}

// tableError is the error for a table name that is not an identifier.
func tableError(table string) error {
	return fmt.Errorf("%w: db cache: table %q: want a name matching [A-Za-z_][A-Za-z0-9_]{0,62}", cache.ErrInvalidOption, table)
}

// tableExistsQuery returns the query counting the tables named by its one
// argument that Django's introspection.table_names() would list.
func (d Dialect) tableExistsQuery() string {
	if d == PostgreSQL {
		return `SELECT COUNT(*) FROM pg_catalog.pg_class c WHERE c.relname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND pg_catalog.pg_table_is_visible(c.oid)`
	}
	return `SELECT COUNT(*) FROM sqlite_master WHERE type IN ('table', 'view') AND name = ?`
}

// rebind rewrites the "?" placeholders of query for d. The queries of
// this package hold no "?" in literals.
func (d Dialect) rebind(query string) string {
	if d != PostgreSQL || !strings.Contains(query, "?") {
		return query
	}
	var sb strings.Builder
	sb.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			sb.WriteByte('$')
			sb.WriteString(strconv.Itoa(n))
			continue
		}
		sb.WriteByte(query[i])
	}
	return sb.String()
}

// noTable reports whether err says the table does not exist.
func (d Dialect) noTable(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "42P01" // undefined_table
	}
	return strings.Contains(err.Error(), "no such table")
}

// statements are a backend's fixed queries, in its dialect.
type statements struct {
	get1, count, deleteAll, cullExpired, cullKey, cullBelow string
	set, add, touch, has, deleteExpired1, release           string
	// getIn[n] and deleteExpiredIn[n] are the multi-key SELECT and
	// expired-row DELETE for n keys, 1 <= n <= preparedIn.
	getIn, deleteExpiredIn [preparedIn + 1]string
}

// preparedIn is the most keys of the multi-key statements kept ready
// (and prepared, on SQLite): a page's prefetch reads a few keys.
const preparedIn = 32

// selectIn returns the SELECT of n keys.
func (q *statements) selectIn(d Dialect, table string, n int) string {
	if n <= preparedIn {
		return q.getIn[n]
	}
	return d.in(`SELECT "cache_key", "value", "expires" FROM `+table+` WHERE "cache_key" `, 1, n)
}

// deleteExpired returns the DELETE of n keys' rows still expired.
func (q *statements) deleteExpired(d Dialect, table string, n int) string {
	if n <= preparedIn {
		return q.deleteExpiredIn[n]
	}
	return d.in(d.rebind(`DELETE FROM `+table+` WHERE "expires" < ? AND "cache_key" `), 2, n)
}

// all returns the statements worth preparing.
func (q *statements) all() []string {
	out := []string{q.get1, q.count, q.set, q.add, q.touch, q.has, q.deleteExpired1}
	for n := 2; n <= preparedIn; n++ {
		out = append(out, q.getIn[n], q.deleteExpiredIn[n])
	}
	return out
}

// statements returns the fixed queries over the quoted table t.
func (d Dialect) statements(t string) statements {
	r := d.rebind
	upsert := `INSERT INTO ` + t + ` ("cache_key", "value", "expires") VALUES (?, ?, ?) ON CONFLICT ("cache_key") DO UPDATE SET "value" = excluded."value", "expires" = excluded."expires"`
	q := statements{
		get1:           r(`SELECT "cache_key", "value", "expires" FROM ` + t + ` WHERE "cache_key" = ?`),
		count:          `SELECT COUNT(*) FROM ` + t,
		deleteAll:      `DELETE FROM ` + t,
		cullExpired:    r(`DELETE FROM ` + t + ` WHERE "expires" < ?`),
		cullKey:        r(`SELECT "cache_key" FROM ` + t + ` ORDER BY "cache_key" LIMIT 1 OFFSET ?`),
		cullBelow:      r(`DELETE FROM ` + t + ` WHERE "cache_key" < ?`),
		set:            r(upsert),
		add:            r(upsert + ` WHERE ` + t + `."expires" < ?`),
		touch:          r(`UPDATE ` + t + ` SET "expires" = ? WHERE "cache_key" = ? AND "expires" >= ?`),
		has:            r(`SELECT COUNT(*) FROM ` + t + ` WHERE "cache_key" = ? AND "expires" >= ?`),
		deleteExpired1: r(`DELETE FROM ` + t + ` WHERE "expires" < ? AND "cache_key" = ?`),
		release:        r(`DELETE FROM ` + t + ` WHERE "cache_key" = ? AND "value" = ?`),
	}
	q.getIn[1], q.deleteExpiredIn[1] = q.get1, q.deleteExpired1
	for n := 2; n <= preparedIn; n++ {
		q.getIn[n] = d.in(`SELECT "cache_key", "value", "expires" FROM `+t+` WHERE "cache_key" `, 1, n)
		q.deleteExpiredIn[n] = d.in(r(`DELETE FROM `+t+` WHERE "expires" < ? AND "cache_key" `), 2, n)
	}
	return q
}

// in returns prefix followed by "IN (…)" with n placeholders, the first
// numbered first (PostgreSQL counts from 1).
func (d Dialect) in(prefix string, first, n int) string {
	var sb strings.Builder
	sb.Grow(len(prefix) + 6 + 5*n)
	sb.WriteString(prefix)
	sb.WriteString("IN (")
	for i := 0; i < n; i++ {
		if i > 0 {
			sb.WriteString(", ")
		}
		if d == PostgreSQL {
			sb.WriteByte('$')
			sb.WriteString(strconv.Itoa(first + i))
		} else {
			sb.WriteByte('?')
		}
	}
	sb.WriteByte(')')
	return sb.String()
}

// redactError hides secret in err's message, keeping err for errors.Is
// and errors.As.
func redactError(err error, secret string) error {
	if secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return &redacted{msg: strings.ReplaceAll(err.Error(), secret, "xxxxx"), err: err}
}

// redacted is an error whose message has had a secret replaced.
type redacted struct {
	msg string
	err error
}

func (r *redacted) Error() string { return r.msg }
func (r *redacted) Unwrap() error { return r.err }
