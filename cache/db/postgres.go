package db

import (
	"context"
	"fmt"
	"net/url"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/fragcache/fragcache/cache"
)

// DefaultMaxIdleConns is how many idle connections OpenPostgres and
// OpenSQLite keep (database/sql keeps 2, which makes a busy process
// reconnect all the time).
const DefaultMaxIdleConns = 16

// PostgresOptions configures OpenPostgres.
type PostgresOptions struct {
	Options
	// DSN is the connection string, as pgx reads it: a URL
	// (postgres://user:pass@host:5432/db?sslmode=verify-full) or keyword
	// form (host=… user=… dbname=…). It holds the password: it is never
	// shown in errors.
	DSN string
	// MaxOpenConns bounds the open connections; 0 means no bound.
	MaxOpenConns int
	// MaxIdleConns is how many idle connections are kept; 0 means
	// DefaultMaxIdleConns.
	MaxIdleConns int
}

// OpenPostgres connects to PostgreSQL with pgx (github.com/jackc/pgx/v5,
// through its database/sql adapter) and returns a backend over the table
// o.Table in the PostgreSQL dialect. It does not connect: connections are
// made by the first operations, so a process starts while the database
// is down (under fail-open its operations are then counted misses). It
// does not create the table (see Backend.CreateTable). Close closes the
// connections.
func OpenPostgres(ctx context.Context, o PostgresOptions) (*Backend, error) {
	if ctx == nil {
		return nil, cache.ErrNilContext
	}
	if !tableName.MatchString(o.Table) {
		return nil, tableError(o.Table)
	}
	cfg, err := pgx.ParseConfig(o.DSN)
	if err != nil {
		// pgx's message shows the connection string with the password
		// hidden; hide it again in case of a form pgx did not parse.
		return nil, fmt.Errorf("%w: postgres cache: %w", cache.ErrInvalidOption, redactError(err, passwordOf(o.DSN)))
	}
	if o.MaxOpenConns < 0 || o.MaxIdleConns < 0 {
		return nil, fmt.Errorf("%w: postgres cache: negative connection limit", cache.ErrInvalidOption)
	}
	if o.MaxIdleConns == 0 {
		o.MaxIdleConns = DefaultMaxIdleConns
	}
	sdb := stdlib.OpenDB(*cfg)
	sdb.SetMaxOpenConns(o.MaxOpenConns)
	sdb.SetMaxIdleConns(o.MaxIdleConns)
	o.Options.Dialect = PostgreSQL
	b, err := New(sdb, o.Options)
	if err != nil {
		sdb.Close()
		return nil, err
	}
	b.redact = cfg.Password
	b.closeDB = true
	return b, nil
}

// passwordOf returns the password of a URL-form DSN, or "".
func passwordOf(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return ""
	}
	p, _ := u.User.Password()
	return p
}
