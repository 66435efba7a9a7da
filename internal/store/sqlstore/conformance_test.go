package sqlstore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/sallyport/sallyport/internal/store"
	"github.com/sallyport/sallyport/internal/store/sqlstore"
	"github.com/sallyport/sallyport/internal/store/sqlstore/sqltest"
	"github.com/sallyport/sallyport/internal/store/storetest"
)

var ctx = context.Background()

func TestConformanceSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openSQLite(t) })
}

func TestConformancePostgres(t *testing.T) {
	raw := postgresURL(t)
	storetest.Run(t, func(t *testing.T) store.Store { return openPostgres(t, raw) })
}

// dialects runs fn once per available dialect, each with a function that
// opens a fresh store (not yet migrated).
func dialects(t *testing.T, fn func(t *testing.T, open func(t testing.TB) *sqlstore.DB)) {
	t.Run("sqlite", func(t *testing.T) {
		fn(t, func(t testing.TB) *sqlstore.DB {
			return openURL(t, "sqlite:"+filepath.Join(t.TempDir(), "sallyport.db"))
		})
	})
	t.Run("postgres", func(t *testing.T) {
		raw := postgresURL(t)
		fn(t, func(t testing.TB) *sqlstore.DB { return openURL(t, newSchema(t, raw)) })
	})
}

// postgresURL is the PostgreSQL test server (skips locally without one,
// fails under CI).
func postgresURL(t testing.TB) string { return sqltest.PostgresURL(t) }

// openURL opens a store and closes it when the test ends.
func openURL(t testing.TB, raw string) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(ctx, sqlstore.Config{URL: raw})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

func migrate(t testing.TB, db *sqlstore.DB) {
	t.Helper()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
}

// openSQLite opens a fresh, migrated SQLite store in a temporary directory.
func openSQLite(t testing.TB) *sqlstore.DB {
	t.Helper()
	db := openURL(t, "sqlite:"+filepath.Join(t.TempDir(), "sallyport.db"))
	migrate(t, db)
	return db
}

// pgMigrate keeps this process's migrations of separate schemas from queuing
// on goose's database-wide advisory lock, whose retry waits 5 s.
var pgMigrate sync.Mutex

// openPostgres opens a fresh, migrated store in a private schema.
func openPostgres(t testing.TB, raw string) *sqlstore.DB {
	t.Helper()
	db := openURL(t, newSchema(t, raw))
	pgMigrate.Lock()
	defer pgMigrate.Unlock()
	migrate(t, db)
	return db
}

// newSchema returns raw pointed at a fresh private schema.
func newSchema(t testing.TB, raw string) string { return sqltest.NewSchema(t, raw) }

// Before Migrate the schema is not current and the store is not ready;
// after it both are; a second Migrate does nothing.
func TestMigrate(t *testing.T) {
	dialects(t, func(t *testing.T, open func(t testing.TB) *sqlstore.DB) {
		db := open(t)
		if current, err := db.SchemaCurrent(ctx); err != nil || current {
			t.Errorf("SchemaCurrent before Migrate = %v, %v; want false, nil", current, err)
		}
		if err := db.Ready(ctx); err == nil {
			t.Error("Ready before Migrate = nil; want an error (migrations pending)")
		}
		n, err := db.Migrate(ctx)
		if err != nil || n < 1 {
			t.Fatalf("Migrate = %d, %v; want at least one migration applied", n, err)
		}
		if current, err := db.SchemaCurrent(ctx); err != nil || !current {
			t.Errorf("SchemaCurrent after Migrate = %v, %v; want true, nil", current, err)
		}
		if err := db.Ready(ctx); err != nil {
			t.Errorf("Ready after Migrate: %v", err)
		}
		if n, err := db.Migrate(ctx); err != nil || n != 0 {
			t.Errorf("second Migrate = %d, %v; want 0, nil (a no-op)", n, err)
		}
		if err := db.Ready(ctx); err != nil {
			t.Errorf("Ready after a second Migrate: %v", err)
		}
	})
}

// The pragmas Open asks for are in force on every connection of both pools:
// WAL (readers beside the writer), foreign keys (every cascade and reference
// rule depends on them), synchronous=NORMAL, a busy timeout, savepoints'
// undo kept in memory (temp_store=2, for group commit), and a reader pool
// that cannot write.
func TestSQLitePragmas(t *testing.T) {
	db := openSQLite(t)
	if err := db.Ready(ctx); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	for _, pool := range []struct {
		name string
		db   *sql.DB
		want map[string]string
	}{
		{"writer", sqlstore.WriterDB(db), map[string]string{
			"journal_mode": "wal", "foreign_keys": "1", "synchronous": "1", "busy_timeout": "10000", "query_only": "0", "temp_store": "2",
		}},
		{"reader", sqlstore.ReaderDB(db), map[string]string{
			"journal_mode": "wal", "foreign_keys": "1", "synchronous": "1", "busy_timeout": "10000", "query_only": "1",
		}},
	} {
		for pragma, want := range pool.want {
			var got string
			if err := pool.db.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Errorf("%s: PRAGMA %s: %v", pool.name, pragma, err)
				continue
			}
			if got != want {
				t.Errorf("%s: PRAGMA %s = %s, want %s", pool.name, pragma, got, want)
			}
		}
	}
}

// The audit log is append-only below the store too: the schema's triggers
// refuse UPDATE and DELETE (and, on PostgreSQL, TRUNCATE) from any SQL.
func TestAuditAppendOnly(t *testing.T) {
	dialects(t, func(t *testing.T, open func(t testing.TB) *sqlstore.DB) {
		db := open(t)
		migrate(t, db)
		e := store.AuditEvent{At: storetest.Now, Type: "login.callback", Outcome: "jit_created", UserID: "u1", Detail: []byte(`{}`)}
		if err := db.AppendAuditEvent(ctx, &e); err != nil {
			t.Fatalf("AppendAuditEvent: %v", err)
		}
		raw := sqlstore.WriterDB(db)
		stmts := []string{
			"UPDATE audit_events SET outcome = 'tampered'",
			"UPDATE audit_events SET user_id = NULL WHERE id = " + strconv.FormatInt(e.ID, 10),
			"DELETE FROM audit_events",
			"DELETE FROM audit_events WHERE id = " + strconv.FormatInt(e.ID, 10),
		}
		if db.Dialect() == sqlstore.Postgres {
			stmts = append(stmts, "TRUNCATE audit_events", "TRUNCATE audit_events CASCADE")
		}
		for _, stmt := range stmts {
			if _, err := raw.ExecContext(ctx, stmt); err == nil {
				t.Errorf("%s: succeeded; the audit log must refuse it", stmt)
			}
		}
		got, err := db.ListAuditEvents(ctx, store.AuditFilter{})
		if err != nil {
			t.Fatalf("ListAuditEvents: %v", err)
		}
		if len(got) != 1 || got[0].Outcome != "jit_created" || got[0].UserID != "u1" {
			t.Errorf("audit log after tampering attempts = %+v; want the one event unchanged", got)
		}
	})
}

// Replicas starting together all run Migrate: both succeed and each
// migration is applied exactly once.
func TestPostgresMigrateRace(t *testing.T) {
	raw := newSchema(t, postgresURL(t))
	const n = 2
	dbs := make([]*sqlstore.DB, n)
	for i := range dbs {
		dbs[i] = openURL(t, raw)
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range dbs {
		wg.Go(func() { _, errs[i] = dbs[i].Migrate(ctx) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Migrate #%d: %v", i, err)
		}
	}
	for i, db := range dbs {
		if err := db.Ready(ctx); err != nil {
			t.Errorf("Ready #%d: %v", i, err)
		}
	}
	rows, err := sqlstore.WriterDB(dbs[0]).QueryContext(ctx,
		"SELECT version_id, count(*) FROM goose_db_version WHERE version_id > 0 AND is_applied GROUP BY version_id ORDER BY version_id")
	if err != nil {
		t.Fatalf("read goose_db_version: %v", err)
	}
	defer rows.Close()
	versions := 0
	for rows.Next() {
		var version, count int64
		if err := rows.Scan(&version, &count); err != nil {
			t.Fatal(err)
		}
		versions++
		if count != 1 {
			t.Errorf("migration %d applied %d times; want once", version, count)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if versions == 0 {
		t.Error("goose_db_version lists no applied migration")
	}
}
