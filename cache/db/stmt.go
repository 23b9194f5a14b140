package db

import (
	"context"
	"database/sql"
	"sync"
)

// preparer keeps the fixed statements of a SQLite backend prepared:
// modernc.org/sqlite compiles every statement it is given anew, which
// costs a point lookup about a fifth of its time. database/sql prepares
// a *sql.Stmt once per connection. PostgreSQL needs none of it: pgx
// caches prepared statements per connection itself.
type preparer struct {
	fixed map[string]bool // the statements worth preparing
	stmts sync.Map        // query → *sql.Stmt
	mu    sync.Mutex      // serialises preparing
}

// prepared returns the prepared statement of query, or nil when query is
// not a fixed one or cannot be prepared now (a missing table): the caller
// then runs it unprepared, which reports the error.
func (b *Backend) prepared(ctx context.Context, query string) *sql.Stmt {
	p := b.prep
	if p == nil || !p.fixed[query] {
		return nil
	}
	if s, ok := p.stmts.Load(query); ok {
		return s.(*sql.Stmt)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.stmts.Load(query); ok {
		return s.(*sql.Stmt)
	}
	s, err := b.db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	p.stmts.Store(query, s)
	return s
}

// exec runs a statement, prepared when it can be.
func (b *Backend) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s := b.prepared(ctx, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return b.db.ExecContext(ctx, query, args...)
}

// query runs a query, prepared when it can be.
func (b *Backend) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := b.prepared(ctx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return b.db.QueryContext(ctx, query, args...)
}

// queryRow runs a query of one row, prepared when it can be.
func (b *Backend) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if s := b.prepared(ctx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return b.db.QueryRowContext(ctx, query, args...)
}

// closeStatements closes the prepared statements.
func (p *preparer) close() {
	if p == nil {
		return
	}
	p.stmts.Range(func(_, s any) bool {
		s.(*sql.Stmt).Close()
		return true
	})
}
