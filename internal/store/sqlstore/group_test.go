package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sallyport/sallyport/internal/store"
	"github.com/sallyport/sallyport/internal/store/sqlstore"
)

// holdWriter starts a transaction that writes the org slug and keeps
// SQLite's writer until release is closed, then returns result; it returns
// once the transaction holds the writer, and the transaction's error on
// done.
func holdWriter(t *testing.T, db *sqlstore.DB, slug string, result error) (release chan struct{}, done chan error) {
	t.Helper()
	release, done = make(chan struct{}), make(chan error, 1)
	holding := make(chan struct{})
	go func() {
		done <- db.Tx(ctx, func(q store.Queries) error {
			if err := q.CreateOrg(ctx, &store.Org{Slug: slug, Name: slug}); err != nil {
				return err
			}
			close(holding)
			<-release
			return result
		})
	}()
	<-holding
	return release, done
}

// waitQueued waits until n transactions wait for the writer.
func waitQueued(t *testing.T, db *sqlstore.DB, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for sqlstore.QueuedTx(db) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d transactions queued, want %d", sqlstore.QueuedTx(db), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func orgExists(t *testing.T, db *sqlstore.DB, slug string) bool {
	t.Helper()
	_, err := db.GetOrgBySlug(ctx, slug)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

// Transactions that queue while SQLite's writer is busy commit together,
// and each keeps its own all-or-nothing: one that fails or panics leaves
// nothing behind, the ones beside it in the batch commit, and a failure is
// reported to its own caller only.
func TestGroupCommitKeepsEachTransactionWhole(t *testing.T) {
	db := openSQLite(t)
	release, holderDone := holdWriter(t, db, "holder", nil)
	before := sqlstore.BatchCommits(db)

	errRefused := errors.New("refused")
	type result struct {
		slug     string
		err      error
		panicked any
	}
	const n = 12
	results := make(chan result, n)
	for i := range n {
		slug := fmt.Sprintf("org-%d", i)
		go func() {
			r := result{slug: slug}
			defer func() {
				r.panicked = recover()
				results <- r
			}()
			r.err = db.Tx(ctx, func(q store.Queries) error {
				if err := q.CreateOrg(ctx, &store.Org{Slug: slug, Name: slug}); err != nil {
					return err
				}
				// A second write, so "nothing behind" covers more than one
				// statement.
				if err := q.CreateOrg(ctx, &store.Org{Slug: slug + "-b", Name: slug}); err != nil {
					return err
				}
				switch i % 4 {
				case 1:
					return errRefused
				case 2:
					panic("member " + slug)
				}
				return nil
			})
		}()
		// One at a time, so the batch runs them in this order.
		waitQueued(t, db, i+1)
	}
	close(release)
	if err := <-holderDone; err != nil {
		t.Fatalf("the holder: %v", err)
	}
	for range n {
		r := <-results
		var i int
		fmt.Sscanf(r.slug, "org-%d", &i)
		switch i % 4 {
		case 1:
			if !errors.Is(r.err, errRefused) || r.panicked != nil {
				t.Errorf("%s returned %v (panic %v), want its own error", r.slug, r.err, r.panicked)
			}
		case 2:
			if r.panicked == nil {
				t.Errorf("%s: its panic did not reach its caller (err %v)", r.slug, r.err)
			}
		default:
			if r.err != nil || r.panicked != nil {
				t.Errorf("%s returned %v (panic %v), want nil", r.slug, r.err, r.panicked)
			}
		}
		kept := i%4 == 0 || i%4 == 3
		for _, slug := range []string{r.slug, r.slug + "-b"} {
			if got := orgExists(t, db, slug); got != kept {
				t.Errorf("org %s exists = %v, want %v", slug, got, kept)
			}
		}
	}
	if !orgExists(t, db, "holder") {
		t.Error("the holder's org is missing")
	}
	if got := sqlstore.BatchCommits(db) - before; got != 1 {
		t.Errorf("%d commits for the holder and %d queued transactions, want 1 (one batch)", got, n)
	}
}

// A transaction whose caller gives up while it waits for the writer leaves
// the queue: it returns the context's error, its function never runs, and
// the rest of the queue is unaffected.
func TestGroupCommitCancelledWhileQueued(t *testing.T) {
	db := openSQLite(t)
	release, holderDone := holdWriter(t, db, "holder", nil)

	cctx, cancel := context.WithCancel(ctx)
	cancelled := make(chan error, 1)
	ran := make(chan struct{}, 1)
	go func() {
		cancelled <- db.Tx(cctx, func(q store.Queries) error {
			ran <- struct{}{}
			return q.CreateOrg(ctx, &store.Org{Slug: "cancelled", Name: "Cancelled"})
		})
	}()
	waitQueued(t, db, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := db.Tx(ctx, func(q store.Queries) error {
			return q.CreateOrg(ctx, &store.Org{Slug: "after", Name: "After"})
		}); err != nil {
			t.Errorf("the transaction queued after the cancelled one: %v", err)
		}
	})
	waitQueued(t, db, 2)
	cancel()
	if err := <-cancelled; !errors.Is(err, context.Canceled) {
		t.Errorf("the cancelled transaction returned %v, want context.Canceled", err)
	}
	waitQueued(t, db, 1)
	close(release)
	if err := <-holderDone; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	select {
	case <-ran:
		t.Error("the cancelled transaction's function ran")
	default:
	}
	if orgExists(t, db, "cancelled") || !orgExists(t, db, "after") {
		t.Error("want the org of the transaction after the cancelled one, and not the cancelled one's")
	}
}

// When the leader of a batch (the transaction that found the writer free)
// fails, its writes are rolled back and the transactions queued behind it
// still commit.
func TestGroupCommitLeaderFails(t *testing.T) {
	db := openSQLite(t)
	errLeader := errors.New("leader refused")
	release, leaderDone := holdWriter(t, db, "leader", errLeader)
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() {
			slug := fmt.Sprintf("queued-%d", i)
			if err := db.Tx(ctx, func(q store.Queries) error {
				return q.CreateOrg(ctx, &store.Org{Slug: slug, Name: slug})
			}); err != nil {
				t.Errorf("%s: %v", slug, err)
			}
		})
	}
	waitQueued(t, db, 3)
	close(release)
	if err := <-leaderDone; !errors.Is(err, errLeader) {
		t.Errorf("the leader returned %v, want its own error", err)
	}
	wg.Wait()
	if orgExists(t, db, "leader") {
		t.Error("the failed leader's org was committed")
	}
	for i := range 3 {
		if !orgExists(t, db, fmt.Sprintf("queued-%d", i)) {
			t.Errorf("queued-%d is missing", i)
		}
	}
}

// A member's write that breaks a constraint is refused (ErrConflict) and
// undone by its savepoint alone: the batch's transaction stays open and
// the members after it commit.
func TestGroupCommitConflictInBatch(t *testing.T) {
	db := openSQLite(t)
	if err := db.CreateOrg(ctx, &store.Org{Slug: "taken", Name: "Taken"}); err != nil {
		t.Fatal(err)
	}
	release, holderDone := holdWriter(t, db, "holder", nil)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i, slug := range []string{"first", "taken", "last"} {
		wg.Go(func() {
			errs[i] = db.Tx(ctx, func(q store.Queries) error {
				if err := q.CreateOrg(ctx, &store.Org{Slug: slug + "-note", Name: slug}); err != nil {
					return err
				}
				return q.CreateOrg(ctx, &store.Org{Slug: slug, Name: slug})
			})
		})
		waitQueued(t, db, i+1)
	}
	close(release)
	if err := <-holderDone; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if errs[0] != nil || errs[2] != nil || !errors.Is(errs[1], store.ErrConflict) {
		t.Fatalf("errors %v, want nil, ErrConflict, nil", errs)
	}
	for slug, want := range map[string]bool{"first": true, "first-note": true, "taken-note": false, "last": true, "last-note": true} {
		if got := orgExists(t, db, slug); got != want {
			t.Errorf("org %s exists = %v, want %v", slug, got, want)
		}
	}
}

// Once its turn in a batch has come, a transaction runs to its end even if
// its caller gives up meanwhile: SQLite answers an interrupted write by
// rolling back the whole transaction, which holds the other callers' work
// too. Its statements therefore run under the batch's context, never the
// caller's.
func TestGroupCommitCallerCancelledDuringItsTurn(t *testing.T) {
	db := openSQLite(t)
	release, holderDone := holdWriter(t, db, "holder", nil)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i, slug := range []string{"before", "gives-up", "after"} {
		cctx, cancel := context.WithCancel(ctx)
		t.Cleanup(cancel)
		wg.Go(func() {
			errs[i] = db.Tx(cctx, func(q store.Queries) error {
				if err := q.CreateOrg(cctx, &store.Org{Slug: slug, Name: slug}); err != nil {
					return err
				}
				if slug == "gives-up" {
					cancel() // the browser went away mid-transaction
				}
				return q.CreateOrg(cctx, &store.Org{Slug: slug + "-b", Name: slug})
			})
		})
		waitQueued(t, db, i+1)
	}
	close(release)
	if err := <-holderDone; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i, slug := range []string{"before", "gives-up", "after"} {
		if errs[i] != nil {
			t.Errorf("%s: %v, want nil", slug, errs[i])
		}
		for _, s := range []string{slug, slug + "-b"} {
			if !orgExists(t, db, s) {
				t.Errorf("org %s is missing", s)
			}
		}
	}
}
