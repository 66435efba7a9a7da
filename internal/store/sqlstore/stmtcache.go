package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// SQLite parses every statement afresh unless it is prepared, and
// modernc.org/sqlite keeps no statement cache of its own: each ExecContext
// or QueryContext on a pool prepares, runs and finalizes. Parsing was a
// measurable share of a sign-in's CPU, so on SQLite each pool keeps one
// *sql.Stmt per SQL text. database/sql prepares such a statement lazily on
// every connection of the pool that runs it and keeps it there, so each
// text is parsed once per connection. PostgreSQL needs none of this: pgx
// caches prepared statements per connection by default
// (QueryExecModeCacheStatement), and a second cache above it would only
// prepare each text twice.

// maxCachedStmts bounds a cache. The store's SQL texts are constants, far
// fewer than this; the bound only keeps a future query built from input
// from growing the cache without end. Texts past it run unprepared.
const maxCachedStmts = 512

// stmtCache holds the prepared statements of one pool.
type stmtCache struct {
	db *sql.DB

	mu     sync.RWMutex // guards the fields below
	stmts  map[string]*sql.Stmt
	closed bool
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, stmts: make(map[string]*sql.Stmt)}
}

// lookup returns the cached statement for query, or nil.
func (c *stmtCache) lookup(query string) *sql.Stmt {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.stmts[query]
}

// stmt returns the statement for query, preparing it on the pool the first
// time. It returns nil when the statement cannot be had (the prepare failed,
// the cache is full or closed): the caller then runs the text unprepared,
// which reports any real error exactly as before the cache existed. A
// failed prepare is not remembered, so a query that ran before Migrate
// created its table is prepared once the table exists.
//
// Never call it on the writer while holding the writer's only connection
// (inside Tx): preparing on the pool needs a connection. Tx uses
// [stmtCache.lookup] and [stmtCache.warm] instead.
func (c *stmtCache) stmt(ctx context.Context, query string) *sql.Stmt {
	if s := c.lookup(query); s != nil {
		return s
	}
	c.mu.RLock()
	full := c.closed || len(c.stmts) >= maxCachedStmts
	c.mu.RUnlock()
	if full {
		return nil
	}
	// Prepared outside the lock: preparing waits for a connection, and
	// the other texts must not wait for that.
	s, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.stmts[query]; ok { // another goroutine won the race
		s.Close()
		return prev
	}
	if c.closed || len(c.stmts) >= maxCachedStmts {
		s.Close()
		return nil
	}
	c.stmts[query] = s
	return s
}

// warm prepares the texts a transaction found missing, once the
// transaction has released the writer's connection.
func (c *stmtCache) warm(ctx context.Context, queries []string) {
	for _, q := range queries {
		c.stmt(ctx, q)
	}
}

// close closes every statement; later calls run their texts unprepared on
// the (by then closed) pool.
func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	var first error
	for q, s := range c.stmts {
		if err := s.Close(); err != nil && first == nil {
			first = err
		}
		delete(c.stmts, q)
	}
	return first
}

// cachedDB is a pool whose statements come from its cache.
type cachedDB struct{ c *stmtCache }

func (d cachedDB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s := d.c.stmt(ctx, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return d.c.db.ExecContext(ctx, query, args...)
}

func (d cachedDB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := d.c.stmt(ctx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return d.c.db.QueryContext(ctx, query, args...)
}

func (d cachedDB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s := d.c.stmt(ctx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return d.c.db.QueryRowContext(ctx, query, args...)
}

// cachedTx is a transaction on a pool with a cache. A text the cache holds
// runs as tx.StmtContext of it, which reuses the statement already prepared
// on the transaction's connection. A text it lacks cannot be prepared on the
// pool now (on SQLite the transaction holds the writer's only connection),
// so it is prepared on the transaction alone and noted in missed, for Tx to
// warm the cache with once the connection is free.
//
// One connection, one statement per text: inside a transaction a text must
// not run again while its own rows are still open (SQLite refuses to bind a
// running statement). No store method nests a query in its own loop.
type cachedTx struct {
	tx *sql.Tx
	c  *stmtCache
	// ctx, when set, replaces the caller's context for every statement:
	// inside a group commit no caller's cancellation may interrupt a
	// statement (see group.go).
	ctx context.Context

	mu     sync.Mutex // guards the fields below
	stmts  map[string]*sql.Stmt
	missed []string
}

func newCachedTx(tx *sql.Tx, c *stmtCache) *cachedTx {
	return &cachedTx{tx: tx, c: c}
}

// stmt returns this transaction's statement for query, or nil when it
// cannot be prepared (the caller then runs the text unprepared, which
// reports the error). Statements from tx.StmtContext and tx.PrepareContext
// are closed by database/sql when the transaction ends.
func (t *cachedTx) stmt(ctx context.Context, query string) *sql.Stmt {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s, ok := t.stmts[query]; ok {
		return s
	}
	var s *sql.Stmt
	if parent := t.c.lookup(query); parent != nil {
		s = t.tx.StmtContext(ctx, parent)
	} else {
		var err error
		if s, err = t.tx.PrepareContext(ctx, query); err != nil {
			return nil
		}
		t.missed = append(t.missed, query)
	}
	if t.stmts == nil {
		t.stmts = make(map[string]*sql.Stmt)
	}
	t.stmts[query] = s
	return s
}

// missing returns the texts the cache lacked during the transaction.
func (t *cachedTx) missing() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.missed
}

// statementContext is the context a statement runs under: the batch's
// when one is set, else the caller's.
func (t *cachedTx) statementContext(ctx context.Context) context.Context {
	if t.ctx != nil {
		return t.ctx
	}
	return ctx
}

func (t *cachedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx = t.statementContext(ctx)
	if s := t.stmt(ctx, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

func (t *cachedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx = t.statementContext(ctx)
	if s := t.stmt(ctx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, query, args...)
}

func (t *cachedTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	ctx = t.statementContext(ctx)
	if s := t.stmt(ctx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}
