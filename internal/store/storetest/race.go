package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sallyport/sallyport/internal/store"
)

var raceTests = []subtest{
	{"ConsumeLoginFlow", testRaceConsumeLoginFlow},
	{"ConsumeAuthCode", testRaceConsumeAuthCode},
	{"ConsumeInvitation", testRaceConsumeInvitation},
	{"ConsumeAuthzRequest", testRaceConsumeAuthzRequest},
	{"RotateRefreshToken", testRaceRotateRefreshToken},
	{"JITSignIn", testRaceJITSignIn},
}

// racers is how many callers race for one one-time record; rounds is how
// many records each race test spends, to give a lost update more chances
// to show.
const (
	racers = 16
	rounds = 3
)

// gate lets racers wait for each other inside their transactions, so that
// the transactions truly overlap wherever the backend allows it (PostgreSQL
// runs them side by side on separate connections). A backend that runs one
// write transaction at a time (SQLite's single writer) never fills the gate:
// the first racer to lose patience opens it for everyone, and the rest of
// the race runs serially. The wait only shapes the interleaving; no result
// depends on it.
type gate struct {
	n       int
	mu      sync.Mutex
	arrived int
	open    chan struct{}
	once    sync.Once
}

const gatePatience = time.Second

func newGate(n int) *gate { return &gate{n: n, open: make(chan struct{})} }

func (g *gate) wait() {
	g.mu.Lock()
	g.arrived++
	full := g.arrived >= g.n
	g.mu.Unlock()
	if full {
		g.once.Do(func() { close(g.open) })
	}
	timer := time.NewTimer(gatePatience)
	defer timer.Stop()
	select {
	case <-g.open:
	case <-timer.C:
		g.once.Do(func() { close(g.open) })
	}
}

// warm leaves n idle connections in the store's pool (where it has one that
// large), so that racers released together run together instead of queuing
// behind connection set-up: each of n transactions holds its connection
// until all n are open.
func warm(t *testing.T, s store.Store, n int) {
	t.Helper()
	g := newGate(n)
	for i, err := range race(n, func(int) error {
		return s.Tx(ctx, func(q store.Queries) error {
			_, err := q.GetUser(ctx, "warm-up")
			if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			g.wait()
			return nil
		})
	}) {
		ok(t, err, "warm-up transaction %d", i)
	}
}

// checkOneWinner checks that exactly one racer succeeded and every other
// one got loser, and returns the winner's index.
func checkOneWinner(t *testing.T, what string, errs []error, loser ...error) int {
	t.Helper()
	winner, wins := -1, 0
	for i, err := range errs {
		switch {
		case err == nil:
			winner = i
			wins++
		case errorsIsAny(err, loser...):
		default:
			t.Errorf("%s: racer %d: unexpected error %v", what, i, err)
		}
	}
	if wins != 1 {
		t.Errorf("%s: %d of %d racers succeeded; want exactly 1", what, wins, len(errs))
	}
	return winner
}

// raceOnce runs racers concurrent consumptions of one record: exactly one
// may win, and every other must fail with one of refusals. The winner gets
// want; with losersHoldRecord, so does every loser that got ErrConsumed
// (a replayed code or refresh token carries the grant to revoke).
func raceOnce[T any](t *testing.T, what string, consume func() (T, error), want T, losersHoldRecord bool, refusals ...error) {
	t.Helper()
	got := make([]T, racers)
	errs := race(racers, func(i int) error {
		var err error
		got[i], err = consume()
		return err
	})
	w := checkOneWinner(t, what, errs, refusals...)
	for i := range racers {
		if i == w || (losersHoldRecord && errors.Is(errs[i], store.ErrConsumed)) {
			diff(t, fmt.Sprintf("%s racer %d (err %v)", what, i, errs[i]), want, got[i])
		}
	}
}

func testRaceConsumeLoginFlow(t *testing.T, s store.Store) {
	conn := mkConn(t, s, "google", "")
	warm(t, s, racers)
	for round := range rounds {
		f := mkFlow(t, s, fmt.Sprint(round), conn.ID, at(10*time.Minute))
		want := f
		want.ConsumedAt = at(time.Second)
		raceOnce(t, "ConsumeLoginFlow", func() (store.LoginFlow, error) {
			return s.ConsumeLoginFlow(ctx, f.IDHash, at(time.Second))
		}, want, false, store.ErrNotFound)
	}
}

func testRaceConsumeAuthCode(t *testing.T, s store.Store) {
	app := mkClient(t, s, "app")
	user := mkUser(t, s, "ann@example.com")
	warm(t, s, racers)
	for round := range rounds {
		g := grant(fmt.Sprint("grant-", round), app.ID, user.ID)
		c := mkCode(t, s, fmt.Sprint(round), g, at(time.Minute))
		want := c
		want.ConsumedAt = at(time.Second)
		// Winner and losers alike hold the code, so a loser can revoke
		// the grant the winner received.
		raceOnce(t, "ConsumeAuthCode", func() (store.AuthCode, error) {
			return s.ConsumeAuthCode(ctx, c.CodeHash, at(time.Second))
		}, want, true, store.ErrConsumed)
	}
}

func testRaceConsumeInvitation(t *testing.T, s store.Store) {
	org := mkOrg(t, s, "acme")
	warm(t, s, racers)
	for round := range rounds {
		inv := mkInvitation(t, s, org.ID, fmt.Sprintf("dan%d@acme.com", round), at(time.Hour))
		want := inv
		want.ConsumedAt = at(time.Second)
		raceOnce(t, "ConsumeInvitation", func() (store.Invitation, error) {
			return s.ConsumeInvitation(ctx, inv.ID, at(time.Second))
		}, want, false, store.ErrConsumed)
	}
}

func testRaceConsumeAuthzRequest(t *testing.T, s store.Store) {
	app := mkClient(t, s, "app")
	warm(t, s, racers)
	for round := range rounds {
		r := mkAuthzRequest(t, s, fmt.Sprint("req-", round), app.ID, at(10*time.Minute))
		want := r
		want.ConsumedAt = at(time.Second)
		// The contract names no error for a second consumption; either
		// sentinel is a refusal.
		raceOnce(t, "ConsumeAuthzRequest", func() (store.AuthzRequest, error) {
			return s.ConsumeAuthzRequest(ctx, r.ID, at(time.Second))
		}, want, false, store.ErrNotFound, store.ErrConsumed)
	}
}

func testRaceRotateRefreshToken(t *testing.T, s store.Store) {
	app := mkClient(t, s, "app")
	user := mkUser(t, s, "ann@example.com")
	warm(t, s, racers)
	for round := range rounds {
		g := grant(fmt.Sprint("grant-", round), app.ID, user.ID)
		r := mkRefresh(t, s, fmt.Sprint(round), g, at(time.Hour))
		want := r
		want.RotatedAt = at(time.Second)
		raceOnce(t, "RotateRefreshToken", func() (store.RefreshToken, error) {
			return s.RotateRefreshToken(ctx, r.TokenHash, at(time.Second))
		}, want, true, store.ErrConsumed)
	}
}

// The just-in-time sign-in race: several callbacks for one new upstream
// subject arrive at once, each running "find the identity, else create a
// user and link it" in a transaction. Exactly one user and one identity may
// result; a loser either sees the winner's identity (SQLite's single writer
// serialises the transactions) or fails with ErrConflict (on PostgreSQL the
// unique index on (connection, subject) decides) and leaves nothing behind.
func testRaceJITSignIn(t *testing.T, s store.Store) {
	conn := mkConn(t, s, "google", "")
	const n = 10
	warm(t, s, n)
	g := newGate(n)
	userIDs := make([]string, n)
	errs := race(n, func(i int) error {
		return s.Tx(ctx, func(q store.Queries) error {
			found, err := q.GetIdentityBySubject(ctx, conn.ID, "108-new-person")
			if err == nil {
				userIDs[i] = found.UserID
				return nil
			}
			if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			g.wait() // everyone has looked and found nothing
			u := store.User{Email: fmt.Sprintf("racer%d@example.com", i), EmailVerified: true, Status: store.UserActive}
			if err := q.CreateUser(ctx, &u); err != nil {
				return err
			}
			id := store.Identity{UserID: u.ID, ConnectionID: conn.ID, Subject: "108-new-person", Claims: []byte(`{}`), LinkedAt: at(0)}
			if err := q.CreateIdentity(ctx, &id); err != nil {
				return err
			}
			userIDs[i] = u.ID
			return nil
		})
	})
	nils, conflicts, other := countErrs(errs, store.ErrConflict)
	if len(other) > 0 {
		t.Errorf("JIT race: unexpected errors (want nil or ErrConflict): %v", other)
	}
	if nils == 0 {
		t.Fatalf("JIT race: no racer succeeded (%d conflicts)", conflicts)
	}
	t.Logf("JIT race: %d succeeded, %d lost with ErrConflict", nils, conflicts)

	users, err := s.ListUsers(ctx, "", 100)
	ok(t, err, "ListUsers")
	if len(users) != 1 {
		t.Fatalf("JIT race left %d users; want exactly 1", len(users))
	}
	ident, err := s.GetIdentityBySubject(ctx, conn.ID, "108-new-person")
	ok(t, err, "GetIdentityBySubject")
	if ident.UserID != users[0].ID {
		t.Errorf("the identity belongs to %s, the one user is %s", ident.UserID, users[0].ID)
	}
	idents, err := s.ListUserIdentities(ctx, users[0].ID)
	ok(t, err, "ListUserIdentities")
	if len(idents) != 1 {
		t.Errorf("the user has %d identities; want 1", len(idents))
	}
	for i, err := range errs {
		if err == nil && userIDs[i] != users[0].ID {
			t.Errorf("JIT racer %d succeeded with user %s, but the one user is %s", i, userIDs[i], users[0].ID)
		}
	}
}
