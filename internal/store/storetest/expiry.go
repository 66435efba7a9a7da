package storetest

import (
	"testing"
	"time"

	"github.com/sallyport/sallyport/internal/store"
)

var expiryTests = []subtest{
	{"DeleteExpired", testDeleteExpired},
	{"DeleteExpiredConcurrent", testDeleteExpiredConcurrent},
}

// seedExpiry fills s with records that are dead at Now and records that are
// alive, and returns how many dead ones DeleteExpired must remove and a check
// that the living ones survived it.
//
// Dead: expired flows, codes, access and refresh tokens, authz requests;
// sessions past their idle or their absolute limit; spent invitations
// (expired, or consumed). Alive, and not touched: unexpired ones, and
// unexpired records that were already used but are still needed for replay
// detection (a consumed code, a rotated refresh token).
func seedExpiry(t *testing.T, s store.Store) (dead int64, checkAlive func(t *testing.T)) {
	t.Helper()
	org := mkOrg(t, s, "acme")
	user := mkUser(t, s, "ann@acme.com")
	conn := mkConn(t, s, "acme-sso", org.ID)
	app := mkClient(t, s, "app")
	g := grant("g", app.ID, user.ID)
	gone := at(-time.Millisecond)

	mkFlow(t, s, "dead 1", conn.ID, gone)
	mkFlow(t, s, "dead 2", conn.ID, at(-time.Hour))
	mkCode(t, s, "dead", g, gone)
	mkAccess(t, s, "dead", g, gone)
	mkRefresh(t, s, "dead", g, gone)
	mkAuthzRequest(t, s, "dead", app.ID, gone)
	for _, sess := range []store.Session{
		{IDHash: store.HashToken("idle dead"), UserID: user.ID, IdleExpiresAt: gone, AbsoluteExpiresAt: at(time.Hour)},
		{IDHash: store.HashToken("absolute dead"), UserID: user.ID, IdleExpiresAt: at(time.Hour), AbsoluteExpiresAt: gone},
	} {
		sess.CreatedAt, sess.LastSeenAt = at(-2*time.Hour), at(-2*time.Hour)
		ok(t, s.CreateSession(ctx, &sess), "CreateSession")
	}
	mkInvitation(t, s, org.ID, "expired@acme.com", gone)
	used := mkInvitation(t, s, org.ID, "used@acme.com", at(time.Hour))
	_, err := s.ConsumeInvitation(ctx, used.ID, at(-time.Minute))
	ok(t, err, "ConsumeInvitation")
	dead = 10

	flow := mkFlow(t, s, "alive", conn.ID, at(10*time.Minute))
	code := mkCode(t, s, "alive", g, at(time.Minute))
	usedCode := mkCode(t, s, "used", g, at(time.Minute))
	_, err = s.ConsumeAuthCode(ctx, usedCode.CodeHash, at(-time.Second))
	ok(t, err, "ConsumeAuthCode")
	access := mkAccess(t, s, "alive", g, at(10*time.Minute))
	refresh := mkRefresh(t, s, "alive", g, at(time.Hour))
	rotated := mkRefresh(t, s, "rotated", g, at(time.Hour))
	_, err = s.RotateRefreshToken(ctx, rotated.TokenHash, at(-time.Minute))
	ok(t, err, "RotateRefreshToken")
	req := mkAuthzRequest(t, s, "alive", app.ID, at(10*time.Minute))
	sess := mkSession(t, s, "alive", user.ID, "")
	inv := mkInvitation(t, s, org.ID, "open@acme.com", at(time.Hour))

	return dead, func(t *testing.T) {
		t.Helper()
		for _, check := range []struct {
			what string
			err  error
		}{
			{"GetUser", second(s.GetUser(ctx, user.ID))},
			{"GetConnection", second(s.GetConnection(ctx, conn.ID))},
			{"GetSession(live)", second(s.GetSession(ctx, sess.IDHash, Now))},
			{"GetAuthzRequest(live)", second(s.GetAuthzRequest(ctx, req.ID, Now))},
			{"FindInvitation(open)", second(s.FindInvitation(ctx, org.ID, inv.Email, Now))},
			{"GetAccessToken(live)", second(s.GetAccessToken(ctx, access.TokenHash, Now))},
			{"ConsumeLoginFlow(live)", second(s.ConsumeLoginFlow(ctx, flow.IDHash, Now))},
			{"ConsumeAuthCode(live)", second(s.ConsumeAuthCode(ctx, code.CodeHash, Now))},
			{"RotateRefreshToken(live)", second(s.RotateRefreshToken(ctx, refresh.TokenHash, Now))},
		} {
			if check.err != nil {
				t.Errorf("after DeleteExpired, %s: %v; a live record was removed", check.what, check.err)
			}
		}
		_, err := s.ConsumeAuthCode(ctx, usedCode.CodeHash, Now)
		wantErr(t, err, store.ErrConsumed, "after DeleteExpired, replaying a used, unexpired code (replay detection needs it kept)")
		_, err = s.RotateRefreshToken(ctx, rotated.TokenHash, Now)
		wantErr(t, err, store.ErrConsumed, "after DeleteExpired, reusing a rotated, unexpired refresh token (reuse detection needs it kept)")
	}
}

// second returns the error of a (value, error) pair.
func second[T any](_ T, err error) error { return err }

func testDeleteExpired(t *testing.T, s store.Store) {
	dead, checkAlive := seedExpiry(t, s)
	n, err := s.DeleteExpired(ctx, Now)
	ok(t, err, "DeleteExpired")
	if n != dead {
		t.Errorf("DeleteExpired = %d, want %d", n, dead)
	}
	n, err = s.DeleteExpired(ctx, Now)
	ok(t, err, "DeleteExpired again")
	if n != 0 {
		t.Errorf("DeleteExpired again = %d, want 0 (idempotent)", n)
	}
	checkAlive(t)
}

// Every replica runs the clean-up: concurrent runs must not fail, and each
// dead row is removed (and counted) exactly once.
func testDeleteExpiredConcurrent(t *testing.T, s store.Store) {
	dead, checkAlive := seedExpiry(t, s)
	const n = 8
	counts := make([]int64, n)
	errs := race(n, func(i int) error {
		var err error
		counts[i], err = s.DeleteExpired(ctx, Now)
		return err
	})
	var total int64
	for i, err := range errs {
		if err != nil {
			t.Errorf("concurrent DeleteExpired #%d: %v", i, err)
		}
		total += counts[i]
	}
	if total != dead {
		t.Errorf("concurrent DeleteExpired removed %d rows in all (%v), want %d", total, counts, dead)
	}
	checkAlive(t)
}
