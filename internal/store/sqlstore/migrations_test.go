package sqlstore_test

import (
	"io/fs"
	"os"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/sallyport/sallyport/internal/store"
	"github.com/sallyport/sallyport/internal/store/sqlstore"
)

// stepper applies the dialect's migrations (the files the binary embeds)
// one version at a time, which DB.Migrate cannot.
func stepper(t *testing.T, db *sqlstore.DB) *goose.Provider {
	t.Helper()
	fsys, err := fs.Sub(os.DirFS("migrations"), string(db.Dialect()))
	if err != nil {
		t.Fatal(err)
	}
	dialect := goose.DialectSQLite3
	if db.Dialect() == sqlstore.Postgres {
		dialect = goose.DialectPostgres
	}
	p, err := goose.NewProvider(dialect, sqlstore.WriterDB(db), fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// 00002 adds clients.source on a table that already has rows: they become
// runtime clients; the column refuses any other word; Down drops it and
// leaves a table the first schema's SQL still writes; Up again restores it.
func TestMigrationClientSource(t *testing.T) {
	dialects(t, func(t *testing.T, open func(t testing.TB) *sqlstore.DB) {
		db := open(t)
		p := stepper(t, db)
		raw := sqlstore.WriterDB(db)
		if _, err := p.UpTo(ctx, 1); err != nil {
			t.Fatalf("UpTo(1): %v", err)
		}
		// The row a released binary writes, in its own column list.
		insertV1 := func(id string) error {
			_, err := raw.ExecContext(ctx, `INSERT INTO clients (id, name, secret_hash, public, redirect_uris,
				post_logout_redirect_uris, allowed_connections, allowed_orgs, skip_consent, id_token_signing_alg,
				access_token_format, access_token_ttl_ms, refresh_token_ttl_ms, disabled, created_at, updated_at)
				VALUES ($1, 'Old', $2, false, '["https://old.example/cb"]', '[]', '[]', '[]', false, 'RS256',
				'opaque', 600000, 2592000000, false, 1, 1)`, id, []byte("hash"))
			return err
		}
		if err := insertV1("old"); err != nil {
			t.Fatalf("insert under 00001: %v", err)
		}

		if _, err := p.UpTo(ctx, 2); err != nil {
			t.Fatalf("UpTo(2): %v", err)
		}
		old, err := db.GetClient(ctx, "old")
		if err != nil {
			t.Fatal(err)
		}
		if old.Source != store.ClientFromRuntime {
			t.Errorf("a client from before 00002 has source %q, want %q", old.Source, store.ClientFromRuntime)
		}
		if _, err := raw.ExecContext(ctx, "UPDATE clients SET source = 'file' WHERE id = 'old'"); err == nil {
			t.Error("source = 'file' was stored; the CHECK must refuse it")
		}
		if _, err := raw.ExecContext(ctx, "UPDATE clients SET source = NULL WHERE id = 'old'"); err == nil {
			t.Error("source = NULL was stored; the column is NOT NULL")
		}
		if _, err := raw.ExecContext(ctx, "UPDATE clients SET source = 'config' WHERE id = 'old'"); err != nil {
			t.Errorf("source = 'config': %v", err)
		}

		if _, err := p.DownTo(ctx, 1); err != nil {
			t.Fatalf("DownTo(1): %v", err)
		}
		if _, err := raw.ExecContext(ctx, "SELECT source FROM clients"); err == nil {
			t.Error("clients.source is still there after Down")
		}
		if db.Dialect() == sqlstore.SQLite {
			// DROP COLUMN rewrites the table's definition: it must stay STRICT.
			var strict int
			if err := raw.QueryRowContext(ctx, "SELECT strict FROM pragma_table_list WHERE name = 'clients'").Scan(&strict); err != nil || strict != 1 {
				t.Errorf("clients after Down: strict = %d, %v; want 1", strict, err)
			}
		}
		if err := insertV1("older"); err != nil {
			t.Errorf("insert under 00001 after Down: %v", err)
		}

		if _, err := p.Up(ctx); err != nil {
			t.Fatalf("Up again: %v", err)
		}
		cs, err := db.ListClients(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) != 2 || cs[0].Source != store.ClientFromRuntime || cs[1].Source != store.ClientFromRuntime {
			t.Errorf("after Down and Up: %+v; want old and older, both runtime", cs)
		}
		if current, err := db.SchemaCurrent(ctx); err != nil || !current {
			t.Errorf("SchemaCurrent = %v, %v; want true", current, err)
		}
	})
}
