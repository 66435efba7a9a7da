package storetest

import (
	"testing"
	"time"

	"github.com/sallyport/sallyport/internal/store"
)

var oauthTests = []subtest{
	{"ClientCRUD", testClientCRUD},
	{"AuthzRequests", testAuthzRequests},
	{"AuthCodes", testAuthCodes},
	{"AccessTokens", testAccessTokens},
	{"RefreshTokens", testRefreshTokens},
	{"GetRefreshToken", testGetRefreshToken},
	{"RefreshReuseRevokesGrant", testRefreshReuseRevokesGrant},
	{"Consents", testConsents},
}

func testClientCRUD(t *testing.T, s store.Store) {
	web := store.Client{
		ID: "web", Name: "Web app", SecretHash: store.HashToken("web secret"),
		RedirectURIs:           []string{"https://app.example/callback", "https://app.example/cb?x=1&y=\"2\""},
		PostLogoutRedirectURIs: []string{"https://app.example/"},
		AllowedConnections:     []string{"google", "acme-sso"}, AllowedOrgs: []string{"acme"},
		SkipConsent: true, IDTokenSigningAlg: "ES256", AccessTokenFormat: "jwt",
		AccessTokenTTL: 90 * time.Second, RefreshTokenTTL: 30 * 24 * time.Hour,
		Source: store.ClientFromConfig,
	}
	ok(t, s.CreateClient(ctx, &web), "CreateClient(confidential)")
	checkStamp(t, "CreateClient CreatedAt", web.CreatedAt)
	checkStamp(t, "CreateClient UpdatedAt", web.UpdatedAt)
	// A public client: no secret, loopback redirect, empty lists, no
	// source (a runtime client).
	cli := store.Client{
		ID: "cli", Public: true, RedirectURIs: []string{"http://127.0.0.1/callback"},
		IDTokenSigningAlg: "EdDSA", AccessTokenFormat: "opaque",
		AccessTokenTTL: 5*time.Minute + 250*time.Millisecond, RefreshTokenTTL: 0, Disabled: true,
	}
	ok(t, s.CreateClient(ctx, &cli), "CreateClient(public)")
	if cli.Source != store.ClientFromRuntime {
		t.Errorf("CreateClient left Source %q, want %q", cli.Source, store.ClientFromRuntime)
	}

	for _, want := range []store.Client{web, cli} {
		got, err := s.GetClient(ctx, want.ID)
		ok(t, err, "GetClient(%s)", want.ID)
		diff(t, "GetClient("+want.ID+")", want, got)
	}
	list, err := s.ListClients(ctx)
	ok(t, err, "ListClients")
	diff(t, "ListClients", []store.Client{web, cli}, list, sortClients)

	upd := web
	upd.Name, upd.SecretHash = "Web app 2", store.HashToken("rotated secret")
	upd.RedirectURIs, upd.PostLogoutRedirectURIs = []string{"https://app2.example/callback"}, nil
	upd.AllowedConnections, upd.AllowedOrgs = nil, []string{"acme", "beta"}
	upd.SkipConsent, upd.IDTokenSigningAlg, upd.AccessTokenFormat = false, "RS256", "opaque"
	upd.AccessTokenTTL, upd.RefreshTokenTTL, upd.Disabled = time.Hour, 24*time.Hour, true
	upd.Source = store.ClientFromRuntime
	ok(t, s.UpdateClient(ctx, &upd), "UpdateClient")
	checkStamp(t, "UpdateClient UpdatedAt", upd.UpdatedAt)
	got, err := s.GetClient(ctx, web.ID)
	ok(t, err, "GetClient after update")
	diff(t, "GetClient after UpdateClient", upd, got)
	if !got.CreatedAt.Equal(web.CreatedAt) {
		t.Errorf("UpdateClient changed CreatedAt from %v to %v", web.CreatedAt, got.CreatedAt)
	}
	// Source is written by UpdateClient too, both ways; "" means runtime.
	upd.Source = store.ClientFromConfig
	ok(t, s.UpdateClient(ctx, &upd), "UpdateClient(source config)")
	got, err = s.GetClient(ctx, web.ID)
	ok(t, err, "GetClient after source config")
	diff(t, "GetClient after UpdateClient(source config)", upd, got)
	upd.Source = ""
	ok(t, s.UpdateClient(ctx, &upd), "UpdateClient(no source)")
	if upd.Source != store.ClientFromRuntime {
		t.Errorf("UpdateClient left Source %q, want %q", upd.Source, store.ClientFromRuntime)
	}
	got, err = s.GetClient(ctx, web.ID)
	ok(t, err, "GetClient after no source")
	diff(t, "GetClient after UpdateClient(no source)", upd, got)

	dup := store.Client{ID: "web", SecretHash: []byte("x"), IDTokenSigningAlg: "RS256", AccessTokenFormat: "opaque", AccessTokenTTL: time.Minute}
	wantConflict(t, s.CreateClient(ctx, &dup), "CreateClient with a taken id")
	_, err = s.GetClient(ctx, "no-such-client")
	wantNotFound(t, err, "GetClient(missing)")
	ghost := store.Client{ID: "no-such-client", SecretHash: []byte("x"), IDTokenSigningAlg: "RS256", AccessTokenFormat: "opaque", AccessTokenTTL: time.Minute}
	wantNotFound(t, s.UpdateClient(ctx, &ghost), "UpdateClient(missing)")
	wantNotFound(t, s.DeleteClient(ctx, "no-such-client"), "DeleteClient(missing)")

	ok(t, s.DeleteClient(ctx, cli.ID), "DeleteClient")
	_, err = s.GetClient(ctx, cli.ID)
	wantNotFound(t, err, "GetClient after DeleteClient")
	wantNotFound(t, s.DeleteClient(ctx, cli.ID), "DeleteClient twice")
	list, err = s.ListClients(ctx)
	ok(t, err, "ListClients")
	diff(t, "ListClients after delete", []store.Client{upd}, list, sortClients)
}

func testAuthzRequests(t *testing.T, s store.Store) {
	app := mkClient(t, s, "app")
	r := store.AuthzRequest{
		ID: "authz-1", ClientID: app.ID,
		Params:    []byte(`{"response_type":"code","scope":"openid email","state":"xyz","code_challenge":"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}`),
		CreatedAt: at(0), ExpiresAt: at(10 * time.Minute),
	}
	ok(t, s.CreateAuthzRequest(ctx, &r), "CreateAuthzRequest")
	got, err := s.GetAuthzRequest(ctx, r.ID, at(time.Minute))
	ok(t, err, "GetAuthzRequest")
	diff(t, "GetAuthzRequest", r, got)
	_, err = s.GetAuthzRequest(ctx, r.ID, at(10*time.Minute+time.Millisecond))
	wantNotFound(t, err, "GetAuthzRequest after expiry")
	_, err = s.GetAuthzRequest(ctx, "no-such-request", Now)
	wantNotFound(t, err, "GetAuthzRequest(missing)")

	got, err = s.ConsumeAuthzRequest(ctx, r.ID, at(2*time.Minute))
	ok(t, err, "ConsumeAuthzRequest")
	want := r
	want.ConsumedAt = at(2 * time.Minute)
	diff(t, "ConsumeAuthzRequest", want, got)
	// Ambiguous in the contract: a second consumption may answer ErrNotFound
	// or ErrConsumed; it must not succeed.
	_, err = s.ConsumeAuthzRequest(ctx, r.ID, at(3*time.Minute))
	wantSpent(t, err, "ConsumeAuthzRequest twice")
	// A consumed request is no longer pending.
	_, err = s.GetAuthzRequest(ctx, r.ID, at(3*time.Minute))
	wantNotFound(t, err, "GetAuthzRequest after consumption")

	old := mkAuthzRequest(t, s, "authz-old", app.ID, at(-time.Millisecond))
	_, err = s.ConsumeAuthzRequest(ctx, old.ID, Now)
	wantNotFound(t, err, "ConsumeAuthzRequest(expired)")
	_, err = s.ConsumeAuthzRequest(ctx, "no-such-request", Now)
	wantNotFound(t, err, "ConsumeAuthzRequest(missing)")

	dup := r
	wantConflict(t, s.CreateAuthzRequest(ctx, &dup), "CreateAuthzRequest with a taken id")
	orphan := store.AuthzRequest{ID: "authz-orphan", ClientID: "no-such-client", Params: []byte(`{}`), CreatedAt: at(0), ExpiresAt: at(time.Minute)}
	wantConflict(t, s.CreateAuthzRequest(ctx, &orphan), "CreateAuthzRequest for a missing client")
}

// wantSpent accepts either answer the contract allows for a second use of a
// record whose method does not name one.
func wantSpent(t *testing.T, err error, what string) {
	t.Helper()
	if !errorsIsAny(err, store.ErrNotFound, store.ErrConsumed) {
		t.Errorf("%s: got error %v, want ErrNotFound or ErrConsumed", what, err)
	}
}

// fullGrant is a grant with every field set, on a world with an org,
// connection, identity and session.
func fullGrant(t *testing.T, s store.Store, id string) store.Grant {
	t.Helper()
	acme := mkOrg(t, s, "acme-"+id)
	conn := mkConn(t, s, "sso-"+id, acme.ID)
	ann := mkUser(t, s, id+"@acme.example")
	ident := mkIdentity(t, s, ann.ID, conn.ID, "subject-"+id)
	sess := mkSession(t, s, id, ann.ID, ident.ID)
	app := mkClient(t, s, "app-"+id)
	return store.Grant{
		GrantID: id, ClientID: app.ID, UserID: ann.ID, SessionID: sess.IDHash,
		IdentityID: ident.ID, ConnectionID: conn.ID, OrgID: acme.ID,
		Scopes: []string{"openid", "email", "profile", `urn:x:"quoted"`}, Nonce: "n-" + id,
		AuthTime: at(-time.Minute), AMR: []string{"fed", "mfa"},
	}
}

func testAuthCodes(t *testing.T, s store.Store) {
	g := fullGrant(t, s, "grant-1")
	full := store.AuthCode{
		CodeHash: store.HashToken("code full"), Grant: g, RedirectURI: "https://app.example/callback",
		CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", CodeChallengeMethod: "S256",
		CreatedAt: at(0), ExpiresAt: at(time.Minute),
	}
	ok(t, s.CreateAuthCode(ctx, &full), "CreateAuthCode")
	// A grant with only the required facts; no PKCE.
	bare := store.AuthCode{
		CodeHash: store.HashToken("code bare"), Grant: store.Grant{GrantID: "grant-2", ClientID: g.ClientID, UserID: g.UserID, AuthTime: at(0)},
		RedirectURI: "https://app.example/callback", CreatedAt: at(0), ExpiresAt: at(time.Minute),
	}
	ok(t, s.CreateAuthCode(ctx, &bare), "CreateAuthCode(bare)")

	for _, c := range []store.AuthCode{full, bare} {
		got, err := s.ConsumeAuthCode(ctx, c.CodeHash, at(10*time.Second))
		ok(t, err, "ConsumeAuthCode")
		want := c
		want.ConsumedAt = at(10 * time.Second)
		diff(t, "ConsumeAuthCode", want, got)
		// A replay answers ErrConsumed WITH the code, so the caller can
		// revoke what the first redemption issued.
		got, err = s.ConsumeAuthCode(ctx, c.CodeHash, at(20*time.Second))
		wantErr(t, err, store.ErrConsumed, "ConsumeAuthCode twice")
		diff(t, "ConsumeAuthCode twice: the code returned with ErrConsumed", want, got)
	}

	old := mkCode(t, s, "expired", g, at(-time.Millisecond))
	_, err := s.ConsumeAuthCode(ctx, old.CodeHash, Now)
	wantNotFound(t, err, "ConsumeAuthCode(expired)")
	_, err = s.ConsumeAuthCode(ctx, store.HashToken("no such code"), Now)
	wantNotFound(t, err, "ConsumeAuthCode(missing)")

	dup := full
	wantConflict(t, s.CreateAuthCode(ctx, &dup), "CreateAuthCode with a taken hash")
	for _, mut := range []func(*store.AuthCode){
		func(c *store.AuthCode) { c.Grant.ClientID = "no-such-client" },
		func(c *store.AuthCode) { c.Grant.UserID = "no-such-user" },
	} {
		c := bare
		c.CodeHash = store.HashToken("code orphan")
		mut(&c)
		wantConflict(t, s.CreateAuthCode(ctx, &c), "CreateAuthCode for a missing client or user (%s, %s)", c.Grant.ClientID, c.Grant.UserID)
	}
}

func testAccessTokens(t *testing.T, s store.Store) {
	g := fullGrant(t, s, "grant-1")
	a := store.AccessToken{TokenHash: store.HashToken("access"), Grant: g, CreatedAt: at(0), ExpiresAt: at(10 * time.Minute)}
	ok(t, s.CreateAccessToken(ctx, &a), "CreateAccessToken")
	bare := store.AccessToken{
		TokenHash: store.HashToken("access bare"), Grant: store.Grant{GrantID: "grant-2", ClientID: g.ClientID, UserID: g.UserID, AuthTime: at(0)},
		CreatedAt: at(0), ExpiresAt: at(10 * time.Minute),
	}
	ok(t, s.CreateAccessToken(ctx, &bare), "CreateAccessToken(bare)")
	for _, want := range []store.AccessToken{a, bare} {
		got, err := s.GetAccessToken(ctx, want.TokenHash, at(time.Minute))
		ok(t, err, "GetAccessToken")
		diff(t, "GetAccessToken", want, got)
		wantUser, err := s.GetUser(ctx, want.Grant.UserID)
		ok(t, err, "GetUser")
		got, gotUser, err := s.GetAccessTokenUser(ctx, want.TokenHash, at(time.Minute))
		ok(t, err, "GetAccessTokenUser")
		diff(t, "GetAccessTokenUser's token", want, got)
		diff(t, "GetAccessTokenUser's user", wantUser, gotUser)
	}
	_, err := s.GetAccessToken(ctx, a.TokenHash, at(10*time.Minute+time.Millisecond))
	wantNotFound(t, err, "GetAccessToken after expiry")
	_, _, err = s.GetAccessTokenUser(ctx, a.TokenHash, at(10*time.Minute+time.Millisecond))
	wantNotFound(t, err, "GetAccessTokenUser after expiry")
	_, err = s.GetAccessToken(ctx, store.HashToken("no such token"), Now)
	wantNotFound(t, err, "GetAccessToken(missing)")
	_, _, err = s.GetAccessTokenUser(ctx, store.HashToken("no such token"), Now)
	wantNotFound(t, err, "GetAccessTokenUser(missing)")

	ok(t, s.RevokeAccessToken(ctx, a.TokenHash, at(time.Minute)), "RevokeAccessToken")
	_, err = s.GetAccessToken(ctx, a.TokenHash, at(2*time.Minute))
	wantNotFound(t, err, "GetAccessToken after RevokeAccessToken")
	_, _, err = s.GetAccessTokenUser(ctx, a.TokenHash, at(2*time.Minute))
	wantNotFound(t, err, "GetAccessTokenUser after RevokeAccessToken")
	_, err = s.GetAccessToken(ctx, bare.TokenHash, at(2*time.Minute))
	ok(t, err, "GetAccessToken of an unrevoked token")
	wantNotFound(t, s.RevokeAccessToken(ctx, store.HashToken("no such token"), Now), "RevokeAccessToken(missing)")

	dup := bare
	wantConflict(t, s.CreateAccessToken(ctx, &dup), "CreateAccessToken with a taken hash")
	orphan := bare
	orphan.TokenHash, orphan.Grant.ClientID = store.HashToken("orphan"), "no-such-client"
	wantConflict(t, s.CreateAccessToken(ctx, &orphan), "CreateAccessToken for a missing client")
}

func testRefreshTokens(t *testing.T, s store.Store) {
	g := fullGrant(t, s, "grant-1")
	r := store.RefreshToken{TokenHash: store.HashToken("refresh"), Grant: g, CreatedAt: at(0), ExpiresAt: at(720 * time.Hour)}
	ok(t, s.CreateRefreshToken(ctx, &r), "CreateRefreshToken")
	got, err := s.RotateRefreshToken(ctx, r.TokenHash, at(time.Hour))
	ok(t, err, "RotateRefreshToken")
	want := r
	want.RotatedAt = at(time.Hour)
	diff(t, "RotateRefreshToken", want, got)
	got, err = s.RotateRefreshToken(ctx, r.TokenHash, at(2*time.Hour))
	wantErr(t, err, store.ErrConsumed, "RotateRefreshToken twice (reuse)")
	diff(t, "RotateRefreshToken twice: the token returned with ErrConsumed", want, got)

	// A revoked token is spent too: reuse, with the record.
	rev := store.RefreshToken{
		TokenHash: store.HashToken("refresh revoked"), Grant: store.Grant{GrantID: "grant-2", ClientID: g.ClientID, UserID: g.UserID, AuthTime: at(0)},
		CreatedAt: at(0), ExpiresAt: at(time.Hour),
	}
	ok(t, s.CreateRefreshToken(ctx, &rev), "CreateRefreshToken")
	ok(t, s.RevokeRefreshToken(ctx, rev.TokenHash, at(time.Minute)), "RevokeRefreshToken")
	got, err = s.RotateRefreshToken(ctx, rev.TokenHash, at(2*time.Minute))
	wantErr(t, err, store.ErrConsumed, "RotateRefreshToken(revoked)")
	want = rev
	want.RevokedAt = at(time.Minute)
	diff(t, "RotateRefreshToken(revoked): the token returned with ErrConsumed", want, got)
	wantNotFound(t, s.RevokeRefreshToken(ctx, store.HashToken("no such token"), Now), "RevokeRefreshToken(missing)")

	old := mkRefresh(t, s, "expired", g, at(-time.Millisecond))
	_, err = s.RotateRefreshToken(ctx, old.TokenHash, Now)
	wantNotFound(t, err, "RotateRefreshToken(expired)")
	_, err = s.RotateRefreshToken(ctx, store.HashToken("no such token"), Now)
	wantNotFound(t, err, "RotateRefreshToken(missing)")

	dup := r
	wantConflict(t, s.CreateRefreshToken(ctx, &dup), "CreateRefreshToken with a taken hash")
	orphan := rev
	orphan.TokenHash, orphan.Grant.UserID = store.HashToken("orphan"), "no-such-user"
	wantConflict(t, s.CreateRefreshToken(ctx, &orphan), "CreateRefreshToken for a missing user")
}

// GetRefreshToken is the look-up behind RFC 7009 revocation: it answers
// with the record in every state but expired, and changes nothing.
func testGetRefreshToken(t *testing.T, s store.Store) {
	g := fullGrant(t, s, "grant-1")
	bareGrant := store.Grant{GrantID: "grant-2", ClientID: g.ClientID, UserID: g.UserID, AuthTime: at(0)}
	live := mkRefresh(t, s, "live", g, at(time.Hour))
	rotated := mkRefresh(t, s, "rotated", g, at(time.Hour))
	revoked := mkRefresh(t, s, "revoked", bareGrant, at(time.Hour))

	got, err := s.GetRefreshToken(ctx, live.TokenHash, at(time.Minute))
	ok(t, err, "GetRefreshToken(live)")
	diff(t, "GetRefreshToken(live)", live, got)
	// The look-up neither rotates nor spends the token.
	got, err = s.GetRefreshToken(ctx, live.TokenHash, at(time.Minute))
	ok(t, err, "GetRefreshToken(live) twice")
	diff(t, "GetRefreshToken(live) twice", live, got)
	_, err = s.RotateRefreshToken(ctx, live.TokenHash, at(2*time.Minute))
	ok(t, err, "RotateRefreshToken after GetRefreshToken")

	_, err = s.RotateRefreshToken(ctx, rotated.TokenHash, at(time.Minute))
	ok(t, err, "RotateRefreshToken")
	got, err = s.GetRefreshToken(ctx, rotated.TokenHash, at(2*time.Minute))
	ok(t, err, "GetRefreshToken(rotated)")
	want := rotated
	want.RotatedAt = at(time.Minute)
	diff(t, "GetRefreshToken(rotated)", want, got)

	ok(t, s.RevokeRefreshToken(ctx, revoked.TokenHash, at(time.Minute)), "RevokeRefreshToken")
	got, err = s.GetRefreshToken(ctx, revoked.TokenHash, at(2*time.Minute))
	ok(t, err, "GetRefreshToken(revoked)")
	want = revoked
	want.RevokedAt = at(time.Minute)
	diff(t, "GetRefreshToken(revoked)", want, got)

	// Expiry is exclusive, as for every other token: at ExpiresAt the token
	// is gone, whatever its state.
	for _, r := range []store.RefreshToken{live, rotated, revoked} {
		_, err = s.GetRefreshToken(ctx, r.TokenHash, r.ExpiresAt.Add(-time.Millisecond))
		ok(t, err, "GetRefreshToken a millisecond before expiry")
		_, err = s.GetRefreshToken(ctx, r.TokenHash, r.ExpiresAt)
		wantNotFound(t, err, "GetRefreshToken at expiry")
	}
	_, err = s.GetRefreshToken(ctx, store.HashToken("no such token"), Now)
	wantNotFound(t, err, "GetRefreshToken(missing)")

	// Inside a transaction it sees the transaction's own writes.
	ok(t, s.Tx(ctx, func(q store.Queries) error {
		r := mkRefresh(t, q, "in tx", bareGrant, at(time.Hour))
		got, err := q.GetRefreshToken(ctx, r.TokenHash, Now)
		ok(t, err, "GetRefreshToken inside Tx")
		diff(t, "GetRefreshToken inside Tx", r, got)
		return nil
	}), "Tx")
}

// The OP's reuse detection: a rotated refresh token presented again hands
// back its grant, and RevokeGrant kills every token of that grant and no
// other.
func testRefreshReuseRevokesGrant(t *testing.T, s store.Store) {
	g := fullGrant(t, s, "grant-a")
	other := g
	other.GrantID = "grant-b"
	at1 := mkAccess(t, s, "a1", g, at(time.Hour))
	rt1 := mkRefresh(t, s, "a1", g, at(720*time.Hour))
	atOther := mkAccess(t, s, "b1", other, at(time.Hour))
	rtOther := mkRefresh(t, s, "b1", other, at(720*time.Hour))

	// The legitimate client rotates: rt1 → rt2, with a new access token.
	_, err := s.RotateRefreshToken(ctx, rt1.TokenHash, at(time.Minute))
	ok(t, err, "RotateRefreshToken")
	at2 := mkAccess(t, s, "a2", g, at(time.Hour))
	rt2 := mkRefresh(t, s, "a2", g, at(720*time.Hour))

	// An attacker replays rt1.
	spent, err := s.RotateRefreshToken(ctx, rt1.TokenHash, at(2*time.Minute))
	wantErr(t, err, store.ErrConsumed, "RotateRefreshToken(replayed)")
	if spent.Grant.GrantID != g.GrantID {
		t.Fatalf("replayed refresh token came back with grant %q, want %q", spent.Grant.GrantID, g.GrantID)
	}
	ok(t, s.RevokeGrant(ctx, spent.Grant.GrantID, at(2*time.Minute)), "RevokeGrant")

	for _, a := range []store.AccessToken{at1, at2} {
		_, err := s.GetAccessToken(ctx, a.TokenHash, at(3*time.Minute))
		wantNotFound(t, err, "GetAccessToken after RevokeGrant")
	}
	got, err := s.RotateRefreshToken(ctx, rt2.TokenHash, at(3*time.Minute))
	wantErr(t, err, store.ErrConsumed, "RotateRefreshToken(successor) after RevokeGrant")
	if !got.RevokedAt.Equal(at(2 * time.Minute)) {
		t.Errorf("successor refresh token after RevokeGrant: RevokedAt = %v, want %v", got.RevokedAt, at(2*time.Minute))
	}

	// The other grant is untouched.
	gotAT, err := s.GetAccessToken(ctx, atOther.TokenHash, at(3*time.Minute))
	ok(t, err, "GetAccessToken(other grant)")
	diff(t, "other grant's access token", atOther, gotAT)
	_, err = s.RotateRefreshToken(ctx, rtOther.TokenHash, at(3*time.Minute))
	ok(t, err, "RotateRefreshToken(other grant)")
}

func testConsents(t *testing.T, s store.Store) {
	ann, bob := mkUser(t, s, "ann@example.com"), mkUser(t, s, "bob@example.com")
	app, other := mkClient(t, s, "app"), mkClient(t, s, "other")
	c := store.Consent{UserID: ann.ID, ClientID: app.ID, Scopes: []string{"openid", "email", "profile"}, GrantedAt: at(-time.Hour)}
	ok(t, s.PutConsent(ctx, &c), "PutConsent")
	got, err := s.GetConsent(ctx, ann.ID, app.ID)
	ok(t, err, "GetConsent")
	diff(t, "GetConsent", c, got)

	// Put again replaces the scopes and the time (upsert).
	c2 := store.Consent{UserID: ann.ID, ClientID: app.ID, Scopes: []string{"openid"}, GrantedAt: at(0)}
	ok(t, s.PutConsent(ctx, &c2), "PutConsent (upsert)")
	got, err = s.GetConsent(ctx, ann.ID, app.ID)
	ok(t, err, "GetConsent")
	diff(t, "GetConsent after a second Put", c2, got)

	c3 := store.Consent{UserID: bob.ID, ClientID: app.ID, GrantedAt: at(0)} // no scopes
	ok(t, s.PutConsent(ctx, &c3), "PutConsent(no scopes)")
	got, err = s.GetConsent(ctx, bob.ID, app.ID)
	ok(t, err, "GetConsent")
	diff(t, "GetConsent(no scopes)", c3, got)

	_, err = s.GetConsent(ctx, ann.ID, other.ID)
	wantNotFound(t, err, "GetConsent(missing)")
	wantNotFound(t, s.DeleteConsent(ctx, ann.ID, other.ID), "DeleteConsent(missing)")
	for _, orphan := range []store.Consent{
		{UserID: "no-such-user", ClientID: app.ID, GrantedAt: at(0)},
		{UserID: ann.ID, ClientID: "no-such-client", GrantedAt: at(0)},
	} {
		wantConflict(t, s.PutConsent(ctx, &orphan), "PutConsent(%s, %s)", orphan.UserID, orphan.ClientID)
	}

	ok(t, s.DeleteConsent(ctx, ann.ID, app.ID), "DeleteConsent")
	_, err = s.GetConsent(ctx, ann.ID, app.ID)
	wantNotFound(t, err, "GetConsent after DeleteConsent")
	wantNotFound(t, s.DeleteConsent(ctx, ann.ID, app.ID), "DeleteConsent twice")
	_, err = s.GetConsent(ctx, bob.ID, app.ID)
	ok(t, err, "GetConsent of another user")
}
