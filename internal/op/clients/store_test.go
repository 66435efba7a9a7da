package clients

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sallyport/sallyport/internal/store"
	"github.com/sallyport/sallyport/internal/store/sqlstore"
	"github.com/sallyport/sallyport/internal/store/sqlstore/sqltest"
)

// dialects runs fn on a fresh, migrated SQLite store and, when
// SALLYPORT_TEST_POSTGRES_URL names a server, on a PostgreSQL one.
func dialects(t *testing.T, fn func(t *testing.T, db *sqlstore.DB)) {
	t.Run("sqlite", func(t *testing.T) {
		fn(t, openStore(t, "sqlite:"+filepath.Join(t.TempDir(), "s.db")))
	})
	t.Run("postgres", func(t *testing.T) {
		fn(t, openStore(t, sqltest.NewSchema(t, sqltest.PostgresURL(t))))
	})
}

func openStore(t *testing.T, url string) *sqlstore.DB {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, sqlstore.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

// auditLog lists the events, oldest first, as "type outcome actor detail".
func auditLog(t *testing.T, db store.Store) []string {
	t.Helper()
	evs, err := db.ListAuditEvents(context.Background(), store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(evs))
	for i, e := range evs {
		out[len(evs)-1-i] = strings.Join([]string{e.Type, e.Outcome, e.ActorID, string(e.Detail)}, " ")
	}
	return out
}
