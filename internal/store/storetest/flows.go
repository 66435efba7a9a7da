package storetest

import (
	"testing"
	"time"

	"github.com/sallyport/sallyport/internal/store"
)

var flowTests = []subtest{
	{"LoginFlowRoundTrip", testLoginFlowRoundTrip},
	{"LoginFlowOnce", testLoginFlowOnce},
}

var sessionTests = []subtest{
	{"SessionRoundTrip", testSessionRoundTrip},
	{"SessionExpiry", testSessionExpiry},
	{"TouchSession", testTouchSession},
	{"RevokeSessions", testRevokeSessions},
}

func testLoginFlowRoundTrip(t *testing.T, s store.Store) {
	acme := mkOrg(t, s, "acme")
	conn := mkConn(t, s, "acme-sso", acme.ID)
	ann := mkUser(t, s, "ann@acme.com")
	app := mkClient(t, s, "app")
	req := mkAuthzRequest(t, s, "authz-1", app.ID, at(10*time.Minute))

	// Every field set.
	full := store.LoginFlow{
		IDHash: store.HashToken("state full"), ConnectionID: conn.ID, OrgID: acme.ID,
		Intent: store.IntentLink, IntentUserID: ann.ID, Issuer: "https://acme.okta.com",
		Nonce: "n-0S6_WzA2Mj", PKCEVerifierEnc: []byte("sealed verifier"), ProviderStateEnc: []byte{0, 0xff, 0},
		ReturnTo: "/account/links", AuthzRequestID: req.ID, BrowserBindingHash: store.HashToken("browser full"),
		CreatedAt: at(0), ExpiresAt: at(10 * time.Minute),
	}
	ok(t, s.CreateLoginFlow(ctx, &full), "CreateLoginFlow")
	// Every optional field empty.
	bare := store.LoginFlow{
		IDHash: store.HashToken("state bare"), ConnectionID: conn.ID, Intent: store.IntentLogin,
		BrowserBindingHash: store.HashToken("browser bare"), CreatedAt: at(0), ExpiresAt: at(10 * time.Minute),
	}
	ok(t, s.CreateLoginFlow(ctx, &bare), "CreateLoginFlow(bare)")

	for _, f := range []store.LoginFlow{full, bare} {
		got, err := s.ConsumeLoginFlow(ctx, f.IDHash, at(time.Minute))
		ok(t, err, "ConsumeLoginFlow")
		want := f
		want.ConsumedAt = at(time.Minute)
		diff(t, "ConsumeLoginFlow", want, got)
	}

	dup := bare
	wantConflict(t, s.CreateLoginFlow(ctx, &dup), "CreateLoginFlow with a taken state hash")
	orphan := bare
	orphan.IDHash, orphan.ConnectionID = store.HashToken("state orphan"), "no-such-connection"
	wantConflict(t, s.CreateLoginFlow(ctx, &orphan), "CreateLoginFlow for a missing connection")
}

func testLoginFlowOnce(t *testing.T, s store.Store) {
	conn := mkConn(t, s, "google", "")
	f := mkFlow(t, s, "once", conn.ID, at(10*time.Minute))
	_, err := s.ConsumeLoginFlow(ctx, f.IDHash, Now)
	ok(t, err, "ConsumeLoginFlow")
	_, err = s.ConsumeLoginFlow(ctx, f.IDHash, Now)
	wantNotFound(t, err, "ConsumeLoginFlow twice")

	old := mkFlow(t, s, "expired", conn.ID, at(-time.Millisecond))
	_, err = s.ConsumeLoginFlow(ctx, old.IDHash, Now)
	wantNotFound(t, err, "ConsumeLoginFlow(expired)")
	late := mkFlow(t, s, "late", conn.ID, at(10*time.Minute))
	_, err = s.ConsumeLoginFlow(ctx, late.IDHash, at(11*time.Minute))
	wantNotFound(t, err, "ConsumeLoginFlow after its expiry")
	_, err = s.ConsumeLoginFlow(ctx, store.HashToken("no such state"), Now)
	wantNotFound(t, err, "ConsumeLoginFlow(missing)")
}

func testSessionRoundTrip(t *testing.T, s store.Store) {
	acme := mkOrg(t, s, "acme")
	conn := mkConn(t, s, "acme-sso", acme.ID)
	ann := mkUser(t, s, "ann@acme.com")
	ident := mkIdentity(t, s, ann.ID, conn.ID, "ann")
	full := store.Session{
		IDHash: store.HashToken("session full"), UserID: ann.ID, OrgID: acme.ID, ConnectionID: conn.ID,
		IdentityID: ident.ID, AMR: []string{"fed", "mfa"},
		CreatedAt: at(-time.Hour), LastSeenAt: at(-time.Minute),
		IdleExpiresAt: at(12 * time.Hour), AbsoluteExpiresAt: at(168 * time.Hour),
		IP: "2001:db8::1", UserAgent: "Mozilla/5.0 (X11; Linux x86_64)",
	}
	ok(t, s.CreateSession(ctx, &full), "CreateSession")
	// A password session: no org, connection, identity, client facts.
	bare := store.Session{
		IDHash: store.HashToken("session bare"), UserID: ann.ID, AMR: nil,
		CreatedAt: at(0), LastSeenAt: at(0), IdleExpiresAt: at(time.Hour), AbsoluteExpiresAt: at(2 * time.Hour),
	}
	ok(t, s.CreateSession(ctx, &bare), "CreateSession(bare)")
	for _, want := range []store.Session{full, bare} {
		got, err := s.GetSession(ctx, want.IDHash, Now)
		ok(t, err, "GetSession")
		diff(t, "GetSession", want, got)
	}

	dup := bare
	wantConflict(t, s.CreateSession(ctx, &dup), "CreateSession with a taken id hash")
	orphan := bare
	orphan.IDHash, orphan.UserID = store.HashToken("session orphan"), "no-such-user"
	wantConflict(t, s.CreateSession(ctx, &orphan), "CreateSession for a missing user")
	_, err := s.GetSession(ctx, store.HashToken("no such session"), Now)
	wantNotFound(t, err, "GetSession(missing)")
}

func testSessionExpiry(t *testing.T, s store.Store) {
	ann := mkUser(t, s, "ann@example.com")
	sess := store.Session{
		IDHash: store.HashToken("session"), UserID: ann.ID, CreatedAt: at(0), LastSeenAt: at(0),
		IdleExpiresAt: at(time.Hour), AbsoluteExpiresAt: at(8 * time.Hour),
	}
	ok(t, s.CreateSession(ctx, &sess), "CreateSession")
	_, err := s.GetSession(ctx, sess.IDHash, at(time.Hour-time.Millisecond))
	ok(t, err, "GetSession just before idle expiry")
	_, err = s.GetSession(ctx, sess.IDHash, at(time.Hour+time.Millisecond))
	wantNotFound(t, err, "GetSession after idle expiry")

	// Idle far ahead, absolute first: the absolute limit wins.
	abs := store.Session{
		IDHash: store.HashToken("session abs"), UserID: ann.ID, CreatedAt: at(0), LastSeenAt: at(0),
		IdleExpiresAt: at(24 * time.Hour), AbsoluteExpiresAt: at(time.Hour),
	}
	ok(t, s.CreateSession(ctx, &abs), "CreateSession")
	_, err = s.GetSession(ctx, abs.IDHash, at(time.Hour-time.Millisecond))
	ok(t, err, "GetSession just before absolute expiry")
	_, err = s.GetSession(ctx, abs.IDHash, at(time.Hour+time.Millisecond))
	wantNotFound(t, err, "GetSession after absolute expiry")

	// Revoked: gone at once, even though neither limit has passed.
	ok(t, s.RevokeSession(ctx, sess.IDHash, at(time.Minute)), "RevokeSession")
	_, err = s.GetSession(ctx, sess.IDHash, at(2*time.Minute))
	wantNotFound(t, err, "GetSession after RevokeSession")
	wantNotFound(t, s.RevokeSession(ctx, store.HashToken("no such session"), Now), "RevokeSession(missing)")
}

func testTouchSession(t *testing.T, s store.Store) {
	ann := mkUser(t, s, "ann@example.com")
	sess := store.Session{
		IDHash: store.HashToken("session"), UserID: ann.ID, AMR: []string{"pwd"}, CreatedAt: at(0), LastSeenAt: at(0),
		IdleExpiresAt: at(time.Hour), AbsoluteExpiresAt: at(3 * time.Hour),
	}
	ok(t, s.CreateSession(ctx, &sess), "CreateSession")

	// A touch slides the idle limit.
	ok(t, s.TouchSession(ctx, sess.IDHash, at(50*time.Minute), at(110*time.Minute)), "TouchSession")
	got, err := s.GetSession(ctx, sess.IDHash, at(100*time.Minute))
	ok(t, err, "GetSession after TouchSession, past the old idle limit")
	want := sess
	want.LastSeenAt, want.IdleExpiresAt = at(50*time.Minute), at(110*time.Minute)
	diff(t, "GetSession after TouchSession", want, got)

	// A touch never carries the session past its absolute limit.
	ok(t, s.TouchSession(ctx, sess.IDHash, at(100*time.Minute), at(5*time.Hour)), "TouchSession beyond the absolute limit")
	got, err = s.GetSession(ctx, sess.IDHash, at(3*time.Hour-time.Millisecond))
	ok(t, err, "GetSession just before the absolute limit")
	if got.IdleExpiresAt.After(got.AbsoluteExpiresAt) {
		t.Errorf("TouchSession set IdleExpiresAt %v after AbsoluteExpiresAt %v", got.IdleExpiresAt, got.AbsoluteExpiresAt)
	}
	if !got.AbsoluteExpiresAt.Equal(sess.AbsoluteExpiresAt) {
		t.Errorf("TouchSession moved AbsoluteExpiresAt from %v to %v", sess.AbsoluteExpiresAt, got.AbsoluteExpiresAt)
	}
	_, err = s.GetSession(ctx, sess.IDHash, at(3*time.Hour+time.Millisecond))
	wantNotFound(t, err, "GetSession after the absolute limit, despite a touch beyond it")

	wantNotFound(t, s.TouchSession(ctx, store.HashToken("no such session"), Now, at(time.Hour)), "TouchSession(missing)")
}

func testRevokeSessions(t *testing.T, s store.Store) {
	ann, bob := mkUser(t, s, "ann@example.com"), mkUser(t, s, "bob@example.com")
	a1 := mkSession(t, s, "a1", ann.ID, "")
	a2 := mkSession(t, s, "a2", ann.ID, "")
	a3 := mkSession(t, s, "a3", ann.ID, "")
	b1 := mkSession(t, s, "b1", bob.ID, "")
	ok(t, s.RevokeSession(ctx, a3.IDHash, Now), "RevokeSession")

	n, err := s.RevokeUserSessions(ctx, ann.ID, at(time.Minute))
	ok(t, err, "RevokeUserSessions")
	if n != 2 {
		t.Errorf("RevokeUserSessions = %d, want 2 (one of three was already revoked)", n)
	}
	for _, h := range [][]byte{a1.IDHash, a2.IDHash, a3.IDHash} {
		_, err := s.GetSession(ctx, h, at(2*time.Minute))
		wantNotFound(t, err, "GetSession after RevokeUserSessions")
	}
	got, err := s.GetSession(ctx, b1.IDHash, at(2*time.Minute))
	ok(t, err, "GetSession of another user's session")
	diff(t, "another user's session", b1, got)

	n, err = s.RevokeUserSessions(ctx, ann.ID, at(time.Minute))
	ok(t, err, "RevokeUserSessions again")
	if n != 0 {
		t.Errorf("RevokeUserSessions again = %d, want 0", n)
	}
	n, err = s.RevokeUserSessions(ctx, "no-such-user", Now)
	ok(t, err, "RevokeUserSessions(missing user)")
	if n != 0 {
		t.Errorf("RevokeUserSessions(missing user) = %d, want 0", n)
	}
}
