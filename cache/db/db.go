package db

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/internal/pickle"
)

// Defaults of Options, Django's.
const (
	// DefaultMaxEntries is Django's MAX_ENTRIES default.
	DefaultMaxEntries = 300
	// DefaultCullFrequency is Django's CULL_FREQUENCY default.
	DefaultCullFrequency = 3
	// CullAll, as Options.CullFrequency, empties the table when it is full,
	// as Django's CULL_FREQUENCY 0 does.
	CullAll = -1
	// MaxKeyLength is the length of the cache_key column, varchar(255):
	// longer made keys are rejected before the database sees them.
	MaxKeyLength = 255
)

// tableName is what a table name must match: an identifier every database
// takes quoted or not, at most 63 characters (PostgreSQL's limit).
var tableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// Errors of the backend.
var (
	// ErrForeignValue is cache.ErrForeignValue: a value in the table that is
	// not base64 of a pickle of plain data (str, bytes, bytearray, int).
	ErrForeignValue = cache.ErrForeignValue
	// ErrNoTable: the table does not exist. Create it with Django's
	// manage.py createcachetable, fragcache createcachetable or Backend.CreateTable.
	ErrNoTable = errors.New("db cache: no cache table")
)

// ForeignValueError is the error of Get and GetMany on a value that is not
// base64 of a pickle of plain data. Its Is matches cache.ErrForeignValue.
type ForeignValueError struct {
	// Key is the made key.
	Key string
	// Python is the Python type of a pickle of another kind ("float",
	// "None", …), when the pickle decoded.
	Python string
	// Err is why the value could not be decoded, when it could not.
	Err error
}

// Error names the key and what is wrong with its value.
func (e *ForeignValueError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("db cache: value of key %q is not base64 of a pickle of plain data: %v", e.Key, e.Err)
	}
	return fmt.Sprintf("db cache: value of key %q is a pickled Python %s, not str, bytes or int", e.Key, e.Python)
}

// Is makes errors.Is(err, cache.ErrForeignValue) true.
func (e *ForeignValueError) Is(target error) bool { return target == cache.ErrForeignValue }

// Unwrap returns the decoding error.
func (e *ForeignValueError) Unwrap() error { return e.Err }

// Options configures a Backend over a database/sql handle.
type Options struct {
	// Table is the cache table (Django's LOCATION). Required; it must
	// match [A-Za-z_][A-Za-z0-9_]{0,62}.
	Table string
	// MaxEntries is Django's MAX_ENTRIES: a write into a table holding
	// more rows culls it. 0 means DefaultMaxEntries.
	MaxEntries int
	// CullFrequency is Django's CULL_FREQUENCY: culling deletes the
	// expired rows, then 1/CullFrequency of the rest in key order. 0 means
	// DefaultCullFrequency; CullAll empties the table.
	CullFrequency int
	// Dialect is the database's SQL dialect: SQLite (the zero value) or
	// PostgreSQL.
	Dialect Dialect
	// NaiveLocalTime is Django's USE_TZ=False (URL use_tz=0); Go and Django
	// must then run in the same time zone. On SQLite, expires is stored as
	// naive local time instead of naive UTC. On PostgreSQL, where expires
	// is a timestamp with time zone, only the far-future "forever" value
	// changes: Django's datetime.max in local time, as Django writes it.
	NaiveLocalTime bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Backend is a cache.Backend over Django's database cache table. It is
// safe for concurrent use.
type Backend struct {
	db      *sql.DB
	d       Dialect
	table   string // quoted
	name    string // unquoted, for messages
	max     int
	cull    int
	local   bool
	now     func() time.Time
	closeDB bool
	q       statements
	prep    *preparer // SQLite's prepared statements; nil on PostgreSQL
	// redact is a secret (a password) hidden from every error message.
	redact string

	// writer lets one statement of this process write at a time on
	// SQLite, which takes one writer per file anyway, and whose busy
	// handler is not fair, so goroutines competing for the lock could
	// starve past busy_timeout. Other processes still wait through
	// busy_timeout. It is nil on PostgreSQL.
	writer chan struct{}

	closeOnce sync.Once
	closeErr  error
}

// New returns a backend over the table o.Table of db, in the dialect
// o.Dialect. It does not create the table (see CreateTable). Close closes
// db only when the backend opened it itself (OpenSQLite, OpenPostgres).
func New(db *sql.DB, o Options) (*Backend, error) {
	if db == nil {
		return nil, fmt.Errorf("%w: db cache: nil *sql.DB", cache.ErrInvalidOption)
	}
	if !o.Dialect.valid() {
		return nil, fmt.Errorf("%w: db cache: unknown dialect %v", cache.ErrInvalidOption, o.Dialect)
	}
	if !tableName.MatchString(o.Table) {
		return nil, tableError(o.Table)
	}
	b := &Backend{db: db, d: o.Dialect, table: `"` + o.Table + `"`, name: o.Table, max: o.MaxEntries, cull: o.CullFrequency, local: o.NaiveLocalTime, now: o.Now}
	switch {
	case b.max == 0:
		b.max = DefaultMaxEntries
	case b.max < 0:
		return nil, fmt.Errorf("%w: db cache: MaxEntries %d: want a positive number", cache.ErrInvalidOption, o.MaxEntries)
	}
	switch {
	case b.cull == 0:
		b.cull = DefaultCullFrequency
	case b.cull < CullAll:
		return nil, fmt.Errorf("%w: db cache: CullFrequency %d: want a positive number, or CullAll", cache.ErrInvalidOption, o.CullFrequency)
	}
	if b.now == nil {
		b.now = time.Now
	}
	if b.d == SQLite {
		b.writer = make(chan struct{}, 1)
	}
	b.q = b.d.statements(b.table)
	if b.d == SQLite {
		b.prep = &preparer{fixed: map[string]bool{}}
		for _, q := range b.q.all() {
			b.prep.fixed[q] = true
		}
	}
	return b, nil
}

// Table returns the name of the cache table.
func (b *Backend) Table() string { return b.name }

// DB returns the database handle.
func (b *Backend) DB() *sql.DB { return b.db }

// Dialect returns the backend's SQL dialect.
func (b *Backend) Dialect() Dialect { return b.d }

// TableExists reports whether the cache table exists, as Django's
// createcachetable looks for it (introspection.table_names()).
func (b *Backend) TableExists(ctx context.Context) (bool, error) {
	if ctx == nil {
		return false, cache.ErrNilContext
	}
	var n int
	if err := b.db.QueryRowContext(ctx, b.d.tableExistsQuery(), b.name).Scan(&n); err != nil {
		return false, b.fail("look for the table", err)
	}
	return n > 0, nil
}

// CreateTable creates the cache table and its index as Django's
// createcachetable does, unless a table of that name exists.
func (b *Backend) CreateTable(ctx context.Context) error {
	if ctx == nil {
		return cache.ErrNilContext
	}
	stmts, err := CreateTableStatements(b.d, b.name)
	if err != nil {
		return err
	}
	if err := b.lock(ctx); err != nil {
		return err
	}
	defer b.unlock()
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return b.fail("create table", err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, b.d.tableExistsQuery(), b.name).Scan(&n); err != nil {
		return b.fail("create table", err)
	}
	if n > 0 {
		return nil
	}
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return b.fail("create table", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return b.fail("create table", err)
	}
	return nil
}

// fail wraps a database error, naming the table and the operation; a
// missing table wraps ErrNoTable. A password the driver's message
// repeats is replaced by xxxxx.
func (b *Backend) fail(op string, err error) error {
	if err == nil {
		return nil
	}
	err = redactError(err, b.redact)
	if b.d.noTable(err) {
		return fmt.Errorf("%w %q (create it with fragcache createcachetable --cache URL, Django's manage.py createcachetable, or db.Backend.CreateTable): %s: %w", ErrNoTable, b.name, op, err)
	}
	return fmt.Errorf("db cache: table %q: %s: %w", b.name, op, err)
}

// begin checks the context and that the backend is open.
func (b *Backend) begin(ctx context.Context) error {
	if ctx == nil {
		return cache.ErrNilContext
	}
	return ctx.Err()
}

// lock takes the process's write turn on SQLite (see Backend.writer), or
// fails with the context's error; unlock gives it back.
func (b *Backend) lock(ctx context.Context) error {
	if b.writer == nil {
		return nil
	}
	select {
	case b.writer <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b *Backend) unlock() {
	if b.writer != nil {
		<-b.writer
	}
}

// checkKey rejects a made key longer than the cache_key column, and on
// PostgreSQL one its text type cannot hold (a NUL, invalid UTF-8).
func (b *Backend) checkKey(key string) error {
	if len(key) > MaxKeyLength && utf8.RuneCountInString(key) > MaxKeyLength {
		return fmt.Errorf("%w: db cache: key %.40q… is %d characters, longer than the cache_key column (%d)", cache.ErrInvalidKey, key, utf8.RuneCountInString(key), MaxKeyLength)
	}
	if b.d == PostgreSQL && (strings.IndexByte(key, 0) >= 0 || !utf8.ValidString(key)) {
		return fmt.Errorf("%w: db cache: key %q holds a NUL or invalid UTF-8, which PostgreSQL's text cannot store", cache.ErrInvalidKey, key)
	}
	return nil
}

// The expires column's text, as Django writes datetimes on SQLite:
// str(datetime), naive, with microseconds only when not zero.
const timeLayout = "2006-01-02 15:04:05"

// foreverText is Django's datetime.max without microseconds.
const foreverText = "9999-12-31 23:59:59"

// zone returns the time zone expires is written in: UTC, or local time
// with NaiveLocalTime.
func (b *Backend) zone() *time.Location {
	if b.local {
		return time.Local
	}
	return time.UTC
}

// formatTime returns t as Django's SQLite backend stores it.
func (b *Backend) formatTime(t time.Time) string {
	t = t.In(b.zone())
	s := t.Format(timeLayout)
	if us := t.Nanosecond() / 1000; us != 0 {
		s += fmt.Sprintf(".%06d", us)
	}
	return s
}

// timeArg returns t as a statement argument compared with or stored in
// expires: Django's text on SQLite, the instant on PostgreSQL.
func (b *Backend) timeArg(t time.Time) any {
	if b.d == PostgreSQL {
		return t.In(b.zone()).Truncate(time.Microsecond)
	}
	return b.formatTime(t)
}

// forever returns expires of a value that never expires: Django's
// datetime.max without microseconds, in the zone Django writes it.
func (b *Backend) forever() any {
	if b.d == PostgreSQL {
		return time.Date(9999, 12, 31, 23, 59, 59, 0, b.zone())
	}
	return foreverText
}

// parseTime reads an expires value: a time.Time from the driver, or
// Django's text, with or without microseconds or a UTC offset.
func (b *Backend) parseTime(v any) (time.Time, error) {
	switch x := v.(type) {
	case time.Time:
		// On SQLite the driver parsed the text as UTC; naive local text
		// means the same wall clock in the local zone. PostgreSQL's
		// timestamp with time zone is an instant.
		if b.local && b.d == SQLite {
			return time.Date(x.Year(), x.Month(), x.Day(), x.Hour(), x.Minute(), x.Second(), x.Nanosecond(), time.Local), nil
		}
		return x, nil
	case []byte:
		v = string(x)
	}
	s, ok := v.(string)
	if !ok {
		return time.Time{}, fmt.Errorf("expires is a %T, not a datetime", v)
	}
	for _, layout := range []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999Z07:00"} {
		if t, err := time.ParseInLocation(layout, s, b.zone()); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("expires %q is not a datetime", s)
}

// nowArg returns the clock's time as a statement argument.
func (b *Backend) nowArg() any { return b.timeArg(b.now()) }

// expiresArg returns expires of a value stored now with timeout, as
// Django computes it (now + timeout; Expired gives now - 1 s). Unlike
// Django, which drops them, microseconds are kept: Django reads them.
func (b *Backend) expiresArg(timeout cache.Timeout) any {
	now := b.now()
	d, never := timeout.Deadline(now)
	if never {
		return b.forever()
	}
	t := time.Unix(0, d)
	if t.In(b.zone()).Year() > 9999 {
		return b.forever()
	}
	return b.timeArg(t)
}

// encode returns the value column for value: base64 of a protocol-5 pickle
// of an int when value is a canonical decimal integer, of a str when it is
// valid UTF-8, of bytes otherwise.
func encode(value []byte) string {
	var p []byte
	switch {
	case pickle.IsCanonicalInt(value):
		n, ok := new(big.Int).SetString(string(value), 10)
		if ok {
			if enc, err := pickle.Encode(pickle.Value{Kind: pickle.KindInt, Int: n}); err == nil {
				p = enc
				break
			}
		}
		p = pickle.EncodeString(string(value))
	case utf8.Valid(value):
		p = pickle.EncodeString(string(value))
	default:
		p = pickle.EncodeBytes(value)
	}
	return base64.StdEncoding.EncodeToString(p)
}

// decode returns the bytes a value column stands for, refusing anything
// but a pickle of plain data. The pickle is read by the restricted decoder
// of internal/pickle, which never runs code.
func decode(key string, column any) ([]byte, error) {
	var s []byte
	switch x := column.(type) {
	case string:
		// A read-only view of the driver's string, not a copy: base64
		// decoding only reads it.
		s = unsafe.Slice(unsafe.StringData(x), len(x))
	case []byte:
		s = x
	default:
		return nil, &ForeignValueError{Key: key, Err: fmt.Errorf("value column is a %T, not text", column)}
	}
	raw := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
	n, err := base64.StdEncoding.Decode(raw, s)
	if err != nil {
		return nil, &ForeignValueError{Key: key, Err: fmt.Errorf("bad base64: %w", err)}
	}
	if out, ok := pickle.PlainPayload(raw[:n]); ok {
		return out, nil // a str or bytes, the common case: no copy
	}
	v, err := pickle.Decode(raw[:n])
	if err != nil {
		return nil, &ForeignValueError{Key: key, Err: err}
	}
	out, ok := v.PlainBytes()
	if !ok {
		return nil, &ForeignValueError{Key: key, Python: v.Kind.String()}
	}
	return out, nil
}

// maxVars is how many keys one statement binds at most: SQLite's old
// default limit of host parameters is 999.
const maxVars = 900

// Get returns the value under key; an expired row is deleted and is a miss.
func (b *Backend) Get(ctx context.Context, key string) ([]byte, bool, error) {
	m, err := b.GetMany(ctx, []string{key})
	if err != nil {
		return nil, false, err
	}
	v, ok := m[key]
	return v, ok, nil
}

// GetMany returns the unexpired values under keys with one SELECT … IN
// (…), then deletes the expired rows it found with one DELETE, as
// Django's get_many does (only rows still expired are deleted, so that a
// concurrent write is kept).
func (b *Backend) GetMany(ctx context.Context, keys []string) (map[string][]byte, error) {
	if err := b.begin(ctx); err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(keys))
	var valid []string
	for _, k := range keys {
		if b.checkKey(k) == nil {
			valid = append(valid, k)
		}
	}
	now := b.now()
	var expired []string
	var firstErr error
	for start := 0; start < len(valid); start += maxVars {
		chunk := valid[start:min(start+maxVars, len(valid))]
		args := make([]any, len(chunk))
		for i, k := range chunk {
			args[i] = k
		}
		rows, err := b.query(ctx, b.q.selectIn(b.d, b.table, len(chunk)), args...)
		if err != nil {
			return nil, b.fail("select", err)
		}
		for rows.Next() {
			var (
				k          string
				val, exp   any
				expiresAt  time.Time
				decoded    []byte
				decodeFail error
			)
			if err := rows.Scan(&k, &val, &exp); err != nil {
				rows.Close()
				return nil, b.fail("select", err)
			}
			expiresAt, err = b.parseTime(exp)
			if err != nil {
				if firstErr == nil {
					firstErr = &ForeignValueError{Key: k, Err: err}
				}
				continue
			}
			if expiresAt.Before(now.Truncate(time.Microsecond)) {
				expired = append(expired, k)
				continue
			}
			decoded, decodeFail = decode(k, val)
			if decodeFail != nil {
				if firstErr == nil {
					firstErr = decodeFail
				}
				continue
			}
			out[k] = decoded
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return nil, b.fail("select", err)
		}
		rows.Close()
	}
	if len(expired) > 0 {
		args := []any{b.timeArg(now)}
		for _, k := range expired {
			args = append(args, k)
		}
		if err := b.lock(ctx); err != nil {
			return nil, err
		}
		_, err := b.exec(ctx, b.q.deleteExpired(b.d, b.table, len(expired)), args...)
		b.unlock()
		if err != nil {
			return nil, b.fail("delete expired", err)
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}

// maybeCull culls the table when it holds more than MaxEntries rows, as
// Django's _base_set does before each write.
func (b *Backend) maybeCull(ctx context.Context) error {
	var n int
	if err := b.queryRow(ctx, b.q.count).Scan(&n); err != nil {
		return b.fail("count", err)
	}
	if n <= b.max {
		return nil
	}
	if b.cull == CullAll {
		_, err := b.db.ExecContext(ctx, b.q.deleteAll)
		return b.fail("cull", err)
	}
	if _, err := b.db.ExecContext(ctx, b.q.cullExpired, b.nowArg()); err != nil {
		return b.fail("cull", err)
	}
	if err := b.queryRow(ctx, b.q.count).Scan(&n); err != nil {
		return b.fail("count", err)
	}
	if n <= b.max {
		return nil
	}
	var k string
	err := b.db.QueryRowContext(ctx, b.q.cullKey, n/b.cull).Scan(&k)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return b.fail("cull", err)
	}
	_, err = b.db.ExecContext(ctx, b.q.cullBelow, k)
	return b.fail("cull", err)
}

// Set stores value under key, culling first as Django does: one upsert.
func (b *Backend) Set(ctx context.Context, key string, value []byte, timeout cache.Timeout) error {
	if err := b.begin(ctx); err != nil {
		return err
	}
	if err := b.checkKey(key); err != nil {
		return err
	}
	if err := b.lock(ctx); err != nil {
		return err
	}
	defer b.unlock()
	if err := b.maybeCull(ctx); err != nil {
		return err
	}
	_, err := b.exec(ctx, b.q.set, key, encode(value), b.expiresArg(timeout))
	return b.fail("set", err)
}

// SetMany stores every entry, one Set each; keys too long for the
// cache_key column are reported as failed.
func (b *Backend) SetMany(ctx context.Context, entries []cache.Entry, timeout cache.Timeout) ([]string, error) {
	if err := b.begin(ctx); err != nil {
		return nil, err
	}
	var failed []string
	for _, e := range entries {
		if err := b.Set(ctx, e.Key, e.Value, timeout); err != nil {
			if errors.Is(err, cache.ErrInvalidKey) {
				failed = append(failed, e.Key)
				continue
			}
			return failed, err
		}
	}
	return failed, nil
}

// Add stores value under key when no row holds it or its row has expired,
// with one atomic upsert, and reports whether it stored.
func (b *Backend) Add(ctx context.Context, key string, value []byte, timeout cache.Timeout) (bool, error) {
	if err := b.begin(ctx); err != nil {
		return false, err
	}
	if err := b.checkKey(key); err != nil {
		return false, err
	}
	if err := b.lock(ctx); err != nil {
		return false, err
	}
	defer b.unlock()
	if err := b.maybeCull(ctx); err != nil {
		return false, err
	}
	return b.addRow(ctx, "add", key, encode(value), b.expiresArg(timeout))
}

// addRow inserts a row, or replaces one that has expired.
func (b *Backend) addRow(ctx context.Context, op, key, value string, expires any) (bool, error) {
	res, err := b.exec(ctx, b.q.add, key, value, expires, b.nowArg())
	if err != nil {
		return false, b.fail(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, b.fail(op, err)
	}
	return n > 0, nil
}

// Touch gives an unexpired row a new expiry, culling first as Django does.
func (b *Backend) Touch(ctx context.Context, key string, timeout cache.Timeout) (bool, error) {
	if err := b.begin(ctx); err != nil {
		return false, err
	}
	if err := b.checkKey(key); err != nil {
		return false, err
	}
	if err := b.lock(ctx); err != nil {
		return false, err
	}
	defer b.unlock()
	if err := b.maybeCull(ctx); err != nil {
		return false, err
	}
	res, err := b.exec(ctx, b.q.touch, b.expiresArg(timeout), key, b.nowArg())
	if err != nil {
		return false, b.fail("touch", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, b.fail("touch", err)
	}
	return n > 0, nil
}

// Has reports whether an unexpired row holds key.
func (b *Backend) Has(ctx context.Context, key string) (bool, error) {
	if err := b.begin(ctx); err != nil {
		return false, err
	}
	if b.checkKey(key) != nil {
		return false, nil
	}
	var n int
	err := b.queryRow(ctx, b.q.has, key, b.nowArg()).Scan(&n)
	if err != nil {
		return false, b.fail("has", err)
	}
	return n > 0, nil
}

// Delete removes the row of key and reports whether there was one.
func (b *Backend) Delete(ctx context.Context, key string) (bool, error) {
	n, err := b.DeleteManyCounted(ctx, []string{key})
	return n > 0, err
}

// DeleteMany removes the rows of keys with one DELETE.
func (b *Backend) DeleteMany(ctx context.Context, keys []string) error {
	_, err := b.DeleteManyCounted(ctx, keys)
	return err
}

// DeleteManyCounted removes the rows of keys with one DELETE (one per 900
// keys) and returns how many rows went.
func (b *Backend) DeleteManyCounted(ctx context.Context, keys []string) (int, error) {
	if err := b.begin(ctx); err != nil {
		return 0, err
	}
	var valid []any
	for _, k := range keys {
		if b.checkKey(k) == nil {
			valid = append(valid, k)
		}
	}
	total := 0
	if err := b.lock(ctx); err != nil {
		return 0, err
	}
	defer b.unlock()
	for start := 0; start < len(valid); start += maxVars {
		chunk := valid[start:min(start+maxVars, len(valid))]
		res, err := b.db.ExecContext(ctx, b.d.in(`DELETE FROM `+b.table+` WHERE "cache_key" `, 1, len(chunk)), chunk...)
		if err != nil {
			return total, b.fail("delete", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, b.fail("delete", err)
		}
		total += int(n)
	}
	return total, nil
}

// Clear deletes every row of the table, whatever the key prefix.
func (b *Backend) Clear(ctx context.Context) error {
	if err := b.begin(ctx); err != nil {
		return err
	}
	if err := b.lock(ctx); err != nil {
		return err
	}
	defer b.unlock()
	_, err := b.db.ExecContext(ctx, b.q.deleteAll)
	return b.fail("clear", err)
}

// KeyCheck returns cache.KeyCheckWarn, Django's choice for its database
// cache: keys memcached would reject are warned about, not refused (keys
// longer than the cache_key column are refused by the backend itself).
func (b *Backend) KeyCheck() cache.KeyCheck { return cache.KeyCheckWarn }

// Close closes the database handle when the backend opened it. It is safe
// to call twice.
func (b *Backend) Close() error {
	b.closeOnce.Do(func() {
		b.prep.close()
		if b.closeDB {
			b.closeErr = b.db.Close()
		}
	})
	return b.closeErr
}

var (
	_ cache.Backend           = (*Backend)(nil)
	_ cache.ManyGetter        = (*Backend)(nil)
	_ cache.ManySetter        = (*Backend)(nil)
	_ cache.ManyDeleter       = (*Backend)(nil)
	_ cache.ManyDeleteCounter = (*Backend)(nil)
	_ cache.KeyChecker        = (*Backend)(nil)
)
