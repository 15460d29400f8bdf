package store

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
)

// pool is a database/sql pool that can keep statements prepared.
//
// modernc.org/sqlite compiles a statement's text every time it is run
// unprepared, and on the service's read routes that compilation was over a
// third of the CPU (the parser, not the query: BenchmarkRoutes/account with
// -cpuprofile). So on SQLite each statement text is prepared once and the
// *sql.Stmt reused; database/sql then prepares it once per connection and
// keeps it there. The texts are the package's constants, so the cache stays
// small; maxStatements bounds it anyway, and past the bound a statement runs
// unprepared as before.
//
// PostgreSQL needs none of this: pgx caches prepared statements per
// connection itself, and the search relies on running unprepared there (see
// the package doc), so the cache is off.
type pool struct {
	*sql.DB
	cache bool
	stmts sync.Map // query text → *sql.Stmt
	n     atomic.Int32
}

// maxStatements bounds the statement cache of one pool.
const maxStatements = 256

func newPool(db *sql.DB, cache bool) *pool { return &pool{DB: db, cache: cache} }

// stmt returns the prepared statement for query, or nil when it is not
// cached (cache off, cache full, or preparing failed: the unprepared call
// then reports the error).
func (p *pool) stmt(ctx context.Context, query string) *sql.Stmt {
	if !p.cache {
		return nil
	}
	if s, ok := p.stmts.Load(query); ok {
		return s.(*sql.Stmt)
	}
	if p.n.Load() >= maxStatements {
		return nil
	}
	s, err := p.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	if prev, loaded := p.stmts.LoadOrStore(query, s); loaded {
		_ = s.Close()
		return prev.(*sql.Stmt)
	}
	p.n.Add(1)
	return s
}

// QueryContext runs query, prepared when the cache holds it.
func (p *pool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := p.stmt(ctx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return p.DB.QueryContext(ctx, query, args...)
}

// QueryRowContext runs query for at most one row, prepared when cached.
func (p *pool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s := p.stmt(ctx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return p.DB.QueryRowContext(ctx, query, args...)
}

// ExecContext runs query without rows, prepared when cached.
func (p *pool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s := p.stmt(ctx, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return p.DB.ExecContext(ctx, query, args...)
}

// Close closes the cached statements, then the pool.
func (p *pool) Close() error {
	p.stmts.Range(func(_, s any) bool {
		_ = s.(*sql.Stmt).Close()
		return true
	})
	return p.DB.Close()
}
