package sqlstore

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sallyport/sallyport/internal/store"
)

// openCacheTest opens a SQLite store that the test closes itself.
func openCacheTest(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), Config{URL: "sqlite:" + filepath.Join(t.TempDir(), "s.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

// cached reports which texts mentioning table a cache holds.
func cached(c *stmtCache, table string) []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []string
	for q := range c.stmts {
		if strings.Contains(q, table) {
			out = append(out, q)
		}
	}
	slices.Sort(out)
	return out
}

// A text is prepared once on its pool and the same statement serves every
// later call; reads prepare on the reader pool, writes on the writer.
func TestStmtCacheReuse(t *testing.T) {
	ctx := context.Background()
	db := openCacheTest(t)
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateOrg(ctx, &store.Org{Slug: "acme", Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	if got := cached(db.wstmts, "orgs"); len(got) != 1 || !strings.HasPrefix(strings.TrimSpace(got[0]), "INSERT") {
		t.Errorf("writer cache after CreateOrg = %q, want the one INSERT", got)
	}
	if got := cached(db.rstmts, "orgs"); len(got) != 0 {
		t.Errorf("reader cache after a write = %q, want nothing", got)
	}
	var first []string
	for i := range 3 {
		if _, err := db.GetOrgBySlug(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
		got := cached(db.rstmts, "orgs")
		if len(got) != 1 {
			t.Fatalf("reader cache after GetOrgBySlug #%d = %q, want one text", i, got)
		}
		if i == 0 {
			first = got
		}
		if db.rstmts.lookup(got[0]) != db.rstmts.lookup(first[0]) {
			t.Errorf("GetOrgBySlug #%d used another statement", i)
		}
	}
}

// A text first met inside a transaction is prepared on the transaction
// alone (the transaction holds the writer's only connection, so preparing on
// the pool would wait for itself) and then on the pool once the transaction
// ends; the next transaction reuses that statement.
func TestStmtCacheTx(t *testing.T) {
	ctx := context.Background()
	db := openCacheTest(t)
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	create := func(slug string) error {
		return db.Tx(ctx, func(q store.Queries) error {
			return q.CreateOrg(ctx, &store.Org{Slug: slug, Name: slug})
		})
	}
	if got := cached(db.wstmts, "orgs"); len(got) != 0 {
		t.Fatalf("writer cache before any write = %q", got)
	}
	if err := create("acme"); err != nil {
		t.Fatal(err)
	}
	warmed := cached(db.wstmts, "orgs")
	if len(warmed) != 1 {
		t.Fatalf("writer cache after the first transaction = %q, want the INSERT", warmed)
	}

	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	ct := newCachedTx(tx, db.wstmts)
	if err := (queries{r: ct, w: ct, dialect: db.dialect}).CreateOrg(ctx, &store.Org{Slug: "beta", Name: "Beta"}); err != nil {
		t.Fatal(err)
	}
	if m := ct.missing(); len(m) != 0 {
		t.Errorf("second transaction missed %q, want the cached statement used", m)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := cached(db.wstmts, "orgs"); !slices.Equal(got, warmed) {
		t.Errorf("writer cache after the second transaction = %q, want %q", got, warmed)
	}
	// A rolled-back transaction warms the cache too, and still writes
	// nothing.
	boom := errors.New("boom")
	if err := db.Tx(ctx, func(q store.Queries) error {
		if _, err := q.GetOrgBySlug(ctx, "acme"); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("Tx = %v, want boom", err)
	}
	if got := cached(db.wstmts, "orgs"); len(got) != 2 {
		t.Errorf("writer cache after a rolled-back read = %q, want the INSERT and the SELECT", got)
	}
}

// A prepare that fails is not remembered: a query run before Migrate made
// its table answers the error, and after Migrate the same text works.
func TestStmtCacheBeforeMigrate(t *testing.T) {
	ctx := context.Background()
	db := openCacheTest(t)
	if _, err := db.GetOrgBySlug(ctx, "acme"); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetOrgBySlug before Migrate = %v, want a missing-table error", err)
	}
	if err := db.Tx(ctx, func(q store.Queries) error {
		return q.CreateOrg(ctx, &store.Org{Slug: "acme", Name: "Acme"})
	}); err == nil {
		t.Fatal("CreateOrg in a Tx before Migrate succeeded")
	}
	if got := cached(db.rstmts, "orgs"); len(got) != 0 {
		t.Errorf("reader cache kept a failed prepare: %q", got)
	}
	if got := cached(db.wstmts, "orgs"); len(got) != 0 {
		t.Errorf("writer cache kept a failed prepare: %q", got)
	}
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateOrg(ctx, &store.Org{Slug: "acme", Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.GetOrgBySlug(ctx, "acme"); err != nil {
		t.Fatalf("GetOrgBySlug after Migrate: %v", err)
	}
}

// Past maxCachedStmts a text runs unprepared and still answers.
func TestStmtCacheFull(t *testing.T) {
	ctx := context.Background()
	db := openCacheTest(t)
	c := db.rstmts
	for i := range maxCachedStmts {
		c.mu.Lock()
		c.stmts[strings.Repeat(" ", i)+"SELECT 1"] = nil
		c.mu.Unlock()
	}
	var n int
	if err := (cachedDB{c}).QueryRowContext(ctx, "SELECT 2").Scan(&n); err != nil || n != 2 {
		t.Fatalf("SELECT 2 on a full cache = %d, %v", n, err)
	}
	if c.lookup("SELECT 2") != nil {
		t.Error("a full cache took another statement")
	}
	// The placeholders are not statements; Close must not see them.
	c.mu.Lock()
	clear(c.stmts)
	c.mu.Unlock()
}

// The writer leaves routine checkpoints to the background connection: its
// own automatic checkpoint is only a backstop at a much larger WAL.
func TestWriterCheckpointIsABackstop(t *testing.T) {
	db, err := Open(context.Background(), Config{URL: "sqlite:" + filepath.Join(t.TempDir(), "s.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var pages int
	if err := db.write.QueryRow("PRAGMA wal_autocheckpoint").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if pages != writerCheckpointPages || db.ckpt == nil {
		t.Errorf("writer wal_autocheckpoint = %d, checkpointer %v; want %d and a background checkpointer", pages, db.ckpt != nil, writerCheckpointPages)
	}
}
