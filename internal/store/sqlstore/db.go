// Package sqlstore implements store.Store on database/sql for SQLite
// (modernc.org/sqlite, no cgo) and PostgreSQL (pgx). Both dialects run the
// same SQL text with $N placeholders; only the schema migrations differ, one
// goose directory per dialect, embedded in the binary.
//
// On SQLite the store keeps two pools: a single-connection writer whose
// transactions begin IMMEDIATE (so writers queue in Go instead of failing
// with SQLITE_BUSY) and a read-only pool that WAL lets run beside it. Each
// pool keeps its statements prepared (see stmtcache.go), and write
// transactions that queue for the writer commit together (group.go).
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/sallyport/sallyport/internal/store"
)

// Dialect names a supported database.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

//go:embed migrations
var migrations embed.FS

// Config says which database to open.
type Config struct {
	// URL is "sqlite:PATH" (the parent directory is created, mode 0700) or
	// "postgres://..." / "postgresql://...".
	URL string
	// Logger receives migration progress; nil discards it.
	Logger *slog.Logger
}

// DB is a store.Store on a SQL database.
type DB struct {
	queries
	dialect  Dialect
	write    *sql.DB
	read     *sql.DB // == write on PostgreSQL
	provider *goose.Provider
	log      *slog.Logger
	// wstmts and rstmts are the SQLite pools' prepared statements; nil on
	// PostgreSQL, where pgx keeps its own per connection.
	wstmts, rstmts *stmtCache
	// group batches SQLite's write transactions (group.go); nil on
	// PostgreSQL.
	group *groupCommit
	// ckpt checkpoints SQLite's WAL in the background; nil on PostgreSQL.
	ckpt *checkpointer
}

var _ store.Store = (*DB)(nil)

// ParseURL splits a database URL into its dialect and the driver's DSN
// (for SQLite, the file path).
func ParseURL(raw string) (Dialect, string, error) {
	switch {
	case strings.HasPrefix(raw, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(raw, "sqlite:"), "//")
		if path == "" || strings.ContainsAny(path, "?#") {
			return "", "", fmt.Errorf("sqlstore: %q: want sqlite:PATH with a plain file path", raw)
		}
		return SQLite, path, nil
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		if _, err := url.Parse(raw); err != nil {
			return "", "", fmt.Errorf("sqlstore: invalid postgres URL: %w", err)
		}
		return Postgres, raw, nil
	}
	return "", "", fmt.Errorf("sqlstore: %q: the database must be sqlite:PATH or postgres://…", raw)
}

// Open connects to the database. It does not migrate: call Migrate.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	dialect, dsn, err := ParseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	db := &DB{dialect: dialect, log: log}
	switch dialect {
	case SQLite:
		if err := os.MkdirAll(filepath.Dir(dsn), 0o700); err != nil {
			return nil, fmt.Errorf("sqlstore: create database directory: %w", err)
		}
		// WAL lets readers run beside the writer; synchronous=NORMAL is
		// durable across process crashes (only power loss can drop the
		// last commits); foreign keys are off by default in SQLite.
		// temp_store=memory keeps savepoints' undo records (group
		// commit puts every batched transaction in one) in memory rather
		// than in a temporary file: with them on disk, a lone
		// transaction cost 15 % more.
		common := "_journal_mode=WAL&_synchronous=NORMAL&_foreign_keys=1&_busy_timeout=10000&_pragma=temp_store(memory)"
		if db.write, err = sql.Open("sqlite", dsn+"?"+common+"&_txlock=immediate"+
			fmt.Sprintf("&_pragma=wal_autocheckpoint(%d)", writerCheckpointPages)); err != nil {
			return nil, fmt.Errorf("sqlstore: open sqlite: %w", err)
		}
		db.write.SetMaxOpenConns(1)
		db.write.SetMaxIdleConns(1)
		db.write.SetConnMaxLifetime(0)
		db.write.SetConnMaxIdleTime(0)
		// Touch the writer first so the file exists in WAL mode before
		// read-only connections open it.
		if err := db.write.PingContext(ctx); err != nil {
			db.write.Close()
			return nil, fmt.Errorf("sqlstore: open sqlite %s: %w", dsn, err)
		}
		if db.read, err = sql.Open("sqlite", dsn+"?"+common+"&_query_only=1"); err != nil {
			db.write.Close()
			return nil, fmt.Errorf("sqlstore: open sqlite: %w", err)
		}
		// Readers wait on I/O and file locks as much as on the CPU: under
		// a load of 32 concurrent sign-ins on 2 cores, handlers waited
		// 59 s of every 261 s blocked for one of 4 readers. Four per core
		// (at least 8) removes that wait for a few MiB of page cache.
		readers := max(8, 4*runtime.GOMAXPROCS(0))
		db.read.SetMaxOpenConns(readers)
		db.read.SetMaxIdleConns(readers)
		if err := db.startCheckpointer(dsn + "?" + common); err != nil {
			db.read.Close()
			db.write.Close()
			return nil, err
		}
	case Postgres:
		if db.write, err = sql.Open("pgx", dsn); err != nil {
			return nil, fmt.Errorf("sqlstore: open postgres: %w", err)
		}
		db.write.SetMaxOpenConns(32)
		db.write.SetMaxIdleConns(32)
		db.write.SetConnMaxIdleTime(5 * time.Minute)
		if err := db.write.PingContext(ctx); err != nil {
			db.write.Close()
			return nil, fmt.Errorf("sqlstore: connect to postgres: %w", err)
		}
		db.read = db.write
	}
	db.queries = queries{r: db.read, w: db.write, dialect: dialect}
	if dialect == SQLite {
		db.wstmts, db.rstmts = newStmtCache(db.write), newStmtCache(db.read)
		db.queries.r, db.queries.w = cachedDB{db.rstmts}, cachedDB{db.wstmts}
		db.group = newGroupCommit(db)
	}
	if db.provider, err = newMigrationProvider(dialect, db.write, log); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func newMigrationProvider(dialect Dialect, db *sql.DB, log *slog.Logger) (*goose.Provider, error) {
	fsys, err := fs.Sub(migrations, "migrations/"+string(dialect))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: migrations: %w", err)
	}
	opts := []goose.ProviderOption{goose.WithSlog(log), goose.WithDisableGlobalRegistry(true)}
	gooseDialect := goose.DialectSQLite3
	if dialect == Postgres {
		gooseDialect = goose.DialectPostgres
		// Replicas starting together queue on an advisory lock, so the
		// schema is migrated exactly once.
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, fmt.Errorf("sqlstore: migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(gooseDialect, db, fsys, opts...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: migrations: %w", err)
	}
	return p, nil
}

// Dialect reports which database this is.
func (db *DB) Dialect() Dialect { return db.dialect }

// Migrate applies every pending migration and returns how many ran.
func (db *DB) Migrate(ctx context.Context) (int, error) {
	results, err := db.provider.Up(ctx)
	if err != nil {
		return len(results), fmt.Errorf("sqlstore: migrate: %w", err)
	}
	for _, r := range results {
		db.log.Info("migration applied", "version", r.Source.Version, "duration", r.Duration)
	}
	return len(results), nil
}

// SchemaCurrent reports whether every migration has been applied.
func (db *DB) SchemaCurrent(ctx context.Context) (bool, error) {
	pending, err := db.provider.HasPending(ctx)
	if err != nil {
		return false, fmt.Errorf("sqlstore: migration status: %w", err)
	}
	return !pending, nil
}

// Ready reports an error unless the database answers and its schema is
// current: the /readyz check.
func (db *DB) Ready(ctx context.Context) error {
	if err := db.Ping(ctx); err != nil {
		return err
	}
	current, err := db.SchemaCurrent(ctx)
	if err != nil {
		return err
	}
	if !current {
		return errors.New("sqlstore: migrations pending")
	}
	return nil
}

// Ping reports whether the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.read.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlstore: ping: %w", err)
	}
	return nil
}

// Close closes both pools. On SQLite it checkpoints the WAL first, so a
// cleanly stopped database is a single file again.
func (db *DB) Close() error {
	var errs []error
	// Statements first: they belong to the pools' connections.
	for _, c := range []*stmtCache{db.rstmts, db.wstmts} {
		if c != nil {
			errs = append(errs, c.close())
		}
	}
	if db.ckpt != nil {
		errs = append(errs, db.ckpt.close())
	}
	if db.dialect == SQLite && db.write != nil {
		if _, err := db.write.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			errs = append(errs, err)
		}
	}
	if db.read != nil && db.read != db.write {
		errs = append(errs, db.read.Close())
	}
	if db.write != nil {
		errs = append(errs, db.write.Close())
	}
	return errors.Join(errs...)
}

// Tx runs fn in one transaction on the writer. Whatever way fn leaves —
// an error, a panic, or runtime.Goexit (t.Fatal in a test) — the
// transaction is rolled back unless it committed; on SQLite an open one
// would hold the single writer forever.
func (db *DB) Tx(ctx context.Context, fn func(q store.Queries) error) error {
	if db.group != nil {
		return db.group.run(ctx, fn)
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: begin: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			tx.Rollback()
		}
	}()
	if err := fn(queries{r: tx, w: tx, dialect: db.dialect}); err != nil {
		return err
	}
	committed = true // Commit ends the transaction even when it fails
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: commit: %w", mapErr(err))
	}
	return nil
}

// dbtx is what both *sql.DB and *sql.Tx offer.
type dbtx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// queries implements store.Queries. Reads go to r and writes to w; inside a
// transaction both are the transaction.
type queries struct {
	r, w    dbtx
	dialect Dialect
}
