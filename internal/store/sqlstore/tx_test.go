package sqlstore

import (
	"context"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/sallyport/sallyport/internal/store"
)

// A transaction whose function leaves by runtime.Goexit (t.Fatal does) is
// rolled back, so SQLite's single writer is free again.
func TestTxRollsBackOnGoexit(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, Config{URL: "sqlite:" + filepath.Join(t.TempDir(), "s.db")})
	if err != nil {
		t.Fatal(err)
	}
	// No deferred Close: with the writer stuck, Close would hang the test
	// instead of letting it fail.
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		db.Tx(ctx, func(q store.Queries) error {
			if err := q.CreateOrg(ctx, &store.Org{Slug: "gone", Name: "Gone"}); err != nil {
				t.Error(err)
			}
			runtime.Goexit()
			return nil
		})
	})
	wg.Wait()
	// The writer is free; otherwise this waits for it until the deadline.
	waitCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := db.CreateOrg(waitCtx, &store.Org{Slug: "next", Name: "Next"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.GetOrgBySlug(ctx, "gone"); err != store.ErrNotFound {
		t.Fatalf("the org from the abandoned transaction: %v, want ErrNotFound", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}
