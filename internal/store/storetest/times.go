package storetest

import (
	"testing"
	"time"

	"github.com/sallyport/sallyport/internal/store"
)

var timeTests = []subtest{
	{"MillisecondsUTC", testMillisecondsUTC},
	{"ExpiryBoundary", testExpiryBoundary},
}

// zone is a zone with a half-hour offset, far from UTC and from the
// machine's local zone.
var zone = time.FixedZone("UTC+05:30", 5*3600+30*60)

// fine is Now+d plus 1.234567 ms, in zone: what a caller might pass.
// stored is what the store must give back for it: the same instant cut to
// the millisecond (1 ms; truncation and rounding agree here), in UTC.
func fine(d time.Duration) time.Time   { return Now.Add(d + 1234567*time.Nanosecond).In(zone) }
func stored(d time.Duration) time.Time { return Now.Add(d + time.Millisecond) }

// Times go in with nanoseconds and any zone and come back at millisecond
// precision in UTC; zero times stay zero.
func testMillisecondsUTC(t *testing.T, s store.Store) {
	org := mkOrg(t, s, "acme")
	user := mkUser(t, s, "ann@acme.com")
	conn := mkConn(t, s, "acme-sso", org.ID)
	app := mkClient(t, s, "app")

	t.Run("Session", func(t *testing.T) {
		in := store.Session{
			IDHash: store.HashToken("session"), UserID: user.ID,
			CreatedAt: fine(-time.Hour), LastSeenAt: fine(-time.Minute),
			IdleExpiresAt: fine(time.Hour), AbsoluteExpiresAt: fine(2 * time.Hour),
		}
		ok(t, s.CreateSession(ctx, &in), "CreateSession")
		got, err := s.GetSession(ctx, in.IDHash, Now)
		ok(t, err, "GetSession")
		want := store.Session{
			IDHash: in.IDHash, UserID: user.ID,
			CreatedAt: stored(-time.Hour), LastSeenAt: stored(-time.Minute),
			IdleExpiresAt: stored(time.Hour), AbsoluteExpiresAt: stored(2 * time.Hour),
		}
		diff(t, "GetSession", want, got)
		ok(t, s.TouchSession(ctx, in.IDHash, fine(0), fine(90*time.Minute)), "TouchSession")
		got, err = s.GetSession(ctx, in.IDHash, Now)
		ok(t, err, "GetSession")
		want.LastSeenAt, want.IdleExpiresAt = stored(0), stored(90*time.Minute)
		diff(t, "GetSession after TouchSession", want, got)
	})
	t.Run("LoginFlow", func(t *testing.T) {
		in := store.LoginFlow{
			IDHash: store.HashToken("flow"), ConnectionID: conn.ID, Intent: store.IntentLogin,
			BrowserBindingHash: store.HashToken("browser"), CreatedAt: fine(0), ExpiresAt: fine(10 * time.Minute),
		}
		ok(t, s.CreateLoginFlow(ctx, &in), "CreateLoginFlow")
		got, err := s.ConsumeLoginFlow(ctx, in.IDHash, fine(time.Minute))
		ok(t, err, "ConsumeLoginFlow")
		want := in
		want.CreatedAt, want.ExpiresAt, want.ConsumedAt = stored(0), stored(10*time.Minute), stored(time.Minute)
		diff(t, "ConsumeLoginFlow", want, got)
	})
	t.Run("Identity", func(t *testing.T) {
		in := store.Identity{UserID: user.ID, ConnectionID: conn.ID, Subject: "s", Claims: []byte(`{}`), LinkedAt: fine(-time.Hour)}
		ok(t, s.CreateIdentity(ctx, &in), "CreateIdentity")
		got, err := s.GetIdentity(ctx, in.ID)
		ok(t, err, "GetIdentity")
		want := in
		want.LinkedAt = stored(-time.Hour)
		diff(t, "GetIdentity (LastLoginAt zero stays zero)", want, got)
		if !got.LastLoginAt.IsZero() {
			t.Errorf("zero LastLoginAt came back as %v", got.LastLoginAt)
		}
		in.LastLoginAt = fine(0)
		ok(t, s.UpdateIdentityLogin(ctx, &in), "UpdateIdentityLogin")
		got, err = s.GetIdentity(ctx, in.ID)
		ok(t, err, "GetIdentity")
		want.LastLoginAt = stored(0)
		diff(t, "GetIdentity after UpdateIdentityLogin", want, got)
	})
	t.Run("Membership", func(t *testing.T) {
		in := store.Membership{OrgID: org.ID, UserID: user.ID, Role: "member", CreatedVia: store.ViaJIT, CreatedAt: fine(0)}
		ok(t, s.PutMembership(ctx, &in), "PutMembership")
		got, err := s.GetMembership(ctx, org.ID, user.ID)
		ok(t, err, "GetMembership")
		want := in
		want.CreatedAt = stored(0)
		diff(t, "GetMembership", want, got)
	})
	t.Run("Invitation", func(t *testing.T) {
		in := store.Invitation{OrgID: org.ID, Email: "dan@acme.com", Role: "member", TokenHash: store.HashToken("inv"), ExpiresAt: fine(time.Hour), CreatedAt: fine(0)}
		ok(t, s.CreateInvitation(ctx, &in), "CreateInvitation")
		got, err := s.ConsumeInvitation(ctx, in.ID, fine(time.Minute))
		ok(t, err, "ConsumeInvitation")
		want := in
		want.ExpiresAt, want.CreatedAt, want.ConsumedAt = stored(time.Hour), stored(0), stored(time.Minute)
		diff(t, "ConsumeInvitation", want, got)
	})
	t.Run("AuthCode", func(t *testing.T) {
		g := grant("g", app.ID, user.ID)
		g.AuthTime = fine(-time.Minute)
		in := store.AuthCode{CodeHash: store.HashToken("code"), Grant: g, RedirectURI: "https://app.example/cb", CreatedAt: fine(0), ExpiresAt: fine(time.Minute)}
		ok(t, s.CreateAuthCode(ctx, &in), "CreateAuthCode")
		got, err := s.ConsumeAuthCode(ctx, in.CodeHash, fine(time.Second))
		ok(t, err, "ConsumeAuthCode")
		want := in
		want.Grant.AuthTime, want.CreatedAt, want.ExpiresAt, want.ConsumedAt = stored(-time.Minute), stored(0), stored(time.Minute), stored(time.Second)
		diff(t, "ConsumeAuthCode", want, got)
	})
	t.Run("SigningKey", func(t *testing.T) {
		in := store.SigningKey{
			KID: "k", Alg: "ES256", PrivateKeyEnc: []byte("k"), PublicJWK: []byte(`{}`), State: store.KeyRetired,
			CreatedAt: fine(-3 * time.Hour), ActivatedAt: fine(-2 * time.Hour), RetiredAt: fine(-time.Hour), RemoveAfter: fine(time.Hour),
		}
		ok(t, s.CreateSigningKey(ctx, &in), "CreateSigningKey")
		keys, err := s.ListSigningKeys(ctx)
		ok(t, err, "ListSigningKeys")
		want := in
		want.CreatedAt, want.ActivatedAt, want.RetiredAt, want.RemoveAfter = stored(-3*time.Hour), stored(-2*time.Hour), stored(-time.Hour), stored(time.Hour)
		diff(t, "ListSigningKeys", []store.SigningKey{want}, keys)
	})
	t.Run("AuditEvent", func(t *testing.T) {
		in := store.AuditEvent{At: fine(0), Type: "t", Outcome: "ok", Detail: []byte(`{}`)}
		ok(t, s.AppendAuditEvent(ctx, &in), "AppendAuditEvent")
		got := listAudit(t, s, store.AuditFilter{Type: "t"})
		want := in
		want.At = stored(0)
		diff(t, "ListAuditEvents", []store.AuditEvent{want}, got)
	})
}

// At exactly its expiry instant a record is expired: ExpiresAt is the first
// instant it is no longer valid. (The contract says "expired at now"; this
// is the reading every OAuth and cookie expiry uses.)
func testExpiryBoundary(t *testing.T, s store.Store) {
	org := mkOrg(t, s, "acme")
	user := mkUser(t, s, "ann@acme.com")
	conn := mkConn(t, s, "acme-sso", org.ID)
	app := mkClient(t, s, "app")
	g := grant("g", app.ID, user.ID)
	exp := at(time.Minute)

	f := mkFlow(t, s, "f", conn.ID, exp)
	_, err := s.ConsumeLoginFlow(ctx, f.IDHash, exp)
	wantNotFound(t, err, "ConsumeLoginFlow at ExpiresAt")

	c := mkCode(t, s, "c", g, exp)
	_, err = s.ConsumeAuthCode(ctx, c.CodeHash, exp)
	wantNotFound(t, err, "ConsumeAuthCode at ExpiresAt")

	a := mkAccess(t, s, "a", g, exp)
	_, err = s.GetAccessToken(ctx, a.TokenHash, exp.Add(-time.Millisecond))
	ok(t, err, "GetAccessToken a millisecond before ExpiresAt")
	_, err = s.GetAccessToken(ctx, a.TokenHash, exp)
	wantNotFound(t, err, "GetAccessToken at ExpiresAt")

	r := mkRefresh(t, s, "r", g, exp)
	_, err = s.RotateRefreshToken(ctx, r.TokenHash, exp)
	wantNotFound(t, err, "RotateRefreshToken at ExpiresAt")

	inv := mkInvitation(t, s, org.ID, "dan@acme.com", exp)
	_, err = s.FindInvitation(ctx, org.ID, "dan@acme.com", exp)
	wantNotFound(t, err, "FindInvitation at ExpiresAt")
	_, err = s.ConsumeInvitation(ctx, inv.ID, exp)
	wantNotFound(t, err, "ConsumeInvitation at ExpiresAt")

	req := mkAuthzRequest(t, s, "req", app.ID, exp)
	_, err = s.GetAuthzRequest(ctx, req.ID, exp)
	wantNotFound(t, err, "GetAuthzRequest at ExpiresAt")
	_, err = s.ConsumeAuthzRequest(ctx, req.ID, exp)
	wantNotFound(t, err, "ConsumeAuthzRequest at ExpiresAt")

	idle := store.Session{IDHash: store.HashToken("idle"), UserID: user.ID, CreatedAt: at(0), LastSeenAt: at(0), IdleExpiresAt: exp, AbsoluteExpiresAt: at(time.Hour)}
	ok(t, s.CreateSession(ctx, &idle), "CreateSession")
	_, err = s.GetSession(ctx, idle.IDHash, exp)
	wantNotFound(t, err, "GetSession at IdleExpiresAt")
	abs := store.Session{IDHash: store.HashToken("abs"), UserID: user.ID, CreatedAt: at(0), LastSeenAt: at(0), IdleExpiresAt: at(time.Hour), AbsoluteExpiresAt: exp}
	ok(t, s.CreateSession(ctx, &abs), "CreateSession")
	_, err = s.GetSession(ctx, abs.IDHash, exp)
	wantNotFound(t, err, "GetSession at AbsoluteExpiresAt")
}
