package sqlstore

// Quick checks of the flows-and-tokens queries on both dialects: a real
// SQLite file and a real PostgreSQL schema. The conformance suite is the
// contract; these tests pin what this half promises beyond it (atomic
// one-time use across two store handles, i.e. replicas) and catch SQL that
// only one dialect accepts. Helpers carry a "tok" prefix so they never
// collide with other tests in the package.

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sallyport/sallyport/internal/store"
	"github.com/sallyport/sallyport/internal/store/sqlstore/sqltest"
)

var tokNow = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

var tokCmp = cmp.Options{cmpopts.EquateEmpty()}

// tokEnv is one migrated store with parent rows to hang records on.
type tokEnv struct {
	db                                          *DB
	url                                         string // opens a second handle: another replica
	orgID, userID, connID, identityID, clientID string
}

// tokEach runs fn on a fresh store of each dialect.
func tokEach(t *testing.T, fn func(t *testing.T, e *tokEnv)) {
	t.Helper()
	for _, d := range []Dialect{SQLite, Postgres} {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			fn(t, tokOpen(t, d))
		})
	}
}

func tokOpen(t *testing.T, d Dialect) *tokEnv {
	t.Helper()
	ctx := context.Background()
	var url string
	switch d {
	case SQLite:
		url = "sqlite:" + filepath.Join(t.TempDir(), "sallyport.db")
	case Postgres:
		url = sqltest.NewSchema(t, sqltest.PostgresURL(t))
	}
	db := tokOpenURL(t, url)
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	e := &tokEnv{db: db, url: url, orgID: "org-1", userID: "user-1", connID: "conn-1", identityID: "ident-1", clientID: "app"}
	at := ms(tokNow.Add(-time.Hour))
	for _, s := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO orgs (id, slug, name, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)`,
			[]any{e.orgID, "acme", "Acme", at}},
		{`INSERT INTO users (id, email, created_at, updated_at) VALUES ($1, $2, $3, $3)`,
			[]any{e.userID, "ann@acme.test", at}},
		{`INSERT INTO users (id, email, created_at, updated_at) VALUES ($1, $2, $3, $3)`,
			[]any{"user-2", "bob@acme.test", at}},
		{`INSERT INTO connections (id, slug, org_id, kind, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)`,
			[]any{e.connID, "acme-idp", e.orgID, "oidc", at}},
		{`INSERT INTO identities (id, user_id, connection_id, subject, linked_at) VALUES ($1, $2, $3, $4, $5)`,
			[]any{e.identityID, e.userID, e.connID, "sub-1", at}},
	} {
		if _, err := db.write.ExecContext(ctx, s.sql, s.args...); err != nil {
			t.Fatalf("seed %q: %v", s.sql, err)
		}
	}
	if err := db.CreateClient(ctx, &store.Client{
		ID: e.clientID, Name: "App", SecretHash: []byte("h"), RedirectURIs: []string{"https://app.test/cb"},
		AccessTokenTTL: 10 * time.Minute, RefreshTokenTTL: 720 * time.Hour,
	}); err != nil {
		t.Fatal(err)
	}
	return e
}

func tokOpenURL(t *testing.T, url string) *DB {
	t.Helper()
	db, err := Open(context.Background(), Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func tokWant(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
}

func tokOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func tokGrant(e *tokEnv, grantID string) store.Grant {
	return store.Grant{
		GrantID: grantID, ClientID: e.clientID, UserID: e.userID, SessionID: []byte("sess"),
		IdentityID: e.identityID, ConnectionID: e.connID, OrgID: e.orgID,
		Scopes: []string{"openid", "email"}, Nonce: "n-1", AuthTime: tokNow.Add(-time.Minute),
		AMR: []string{"fed"},
	}
}

func TestTokLoginFlowsAndAuthzRequests(t *testing.T) {
	tokEach(t, func(t *testing.T, e *tokEnv) {
		ctx := context.Background()
		req := store.AuthzRequest{ClientID: e.clientID, Params: []byte(`{"state":"x"}`),
			CreatedAt: tokNow, ExpiresAt: tokNow.Add(10 * time.Minute)}
		tokOK(t, e.db.CreateAuthzRequest(ctx, &req))
		if req.ID == "" {
			t.Fatal("CreateAuthzRequest left ID empty")
		}
		got, err := e.db.GetAuthzRequest(ctx, req.ID, tokNow)
		tokOK(t, err)
		if diff := cmp.Diff(req, got, tokCmp); diff != "" {
			t.Errorf("GetAuthzRequest (-want +got):\n%s", diff)
		}
		_, err = e.db.GetAuthzRequest(ctx, req.ID, req.ExpiresAt)
		tokWant(t, err, store.ErrNotFound)

		f := store.LoginFlow{
			IDHash: store.HashToken("state"), ConnectionID: e.connID, OrgID: e.orgID,
			Intent: store.IntentLink, IntentUserID: e.userID, Issuer: "https://idp.test", Nonce: "nonce",
			PKCEVerifierEnc: []byte{1, 2}, ProviderStateEnc: []byte{3}, ReturnTo: "/account",
			AuthzRequestID: req.ID, BrowserBindingHash: store.HashToken("browser"),
			ExpiresAt: tokNow.Add(10 * time.Minute),
		}
		tokOK(t, e.db.CreateLoginFlow(ctx, &f))
		if f.CreatedAt.IsZero() {
			t.Fatal("CreateLoginFlow left CreatedAt zero")
		}
		tokWant(t, e.db.CreateLoginFlow(ctx, &f), store.ErrConflict)

		// Expired: not found, and not consumed by the attempt.
		_, err = e.db.ConsumeLoginFlow(ctx, f.IDHash, f.ExpiresAt)
		tokWant(t, err, store.ErrNotFound)
		got2, err := e.db.ConsumeLoginFlow(ctx, f.IDHash, tokNow)
		tokOK(t, err)
		want := f
		want.ConsumedAt = tokNow
		if diff := cmp.Diff(want, got2, tokCmp); diff != "" {
			t.Errorf("ConsumeLoginFlow (-want +got):\n%s", diff)
		}
		_, err = e.db.ConsumeLoginFlow(ctx, f.IDHash, tokNow)
		tokWant(t, err, store.ErrNotFound)
		_, err = e.db.ConsumeLoginFlow(ctx, store.HashToken("nope"), tokNow)
		tokWant(t, err, store.ErrNotFound)

		// A minimal flow: optional references stay empty.
		bareFlow := store.LoginFlow{IDHash: store.HashToken("s2"), ConnectionID: e.connID, Intent: store.IntentLogin,
			BrowserBindingHash: []byte("b"), CreatedAt: tokNow, ExpiresAt: tokNow.Add(time.Minute)}
		tokOK(t, e.db.CreateLoginFlow(ctx, &bareFlow))
		gotMin, err := e.db.ConsumeLoginFlow(ctx, bareFlow.IDHash, tokNow)
		tokOK(t, err)
		bareFlow.ConsumedAt = tokNow
		if diff := cmp.Diff(bareFlow, gotMin, tokCmp); diff != "" {
			t.Errorf("minimal flow (-want +got):\n%s", diff)
		}

		got3, err := e.db.ConsumeAuthzRequest(ctx, req.ID, tokNow)
		tokOK(t, err)
		if !got3.ConsumedAt.Equal(tokNow) {
			t.Errorf("ConsumedAt = %v, want %v", got3.ConsumedAt, tokNow)
		}
		_, err = e.db.ConsumeAuthzRequest(ctx, req.ID, tokNow)
		tokWant(t, err, store.ErrNotFound)
		_, err = e.db.GetAuthzRequest(ctx, req.ID, tokNow)
		tokWant(t, err, store.ErrNotFound)
		_, err = e.db.ConsumeAuthzRequest(ctx, "missing", tokNow)
		tokWant(t, err, store.ErrNotFound)
	})
}

// TestTokOneTimeRaces consumes each one-time record from many goroutines on
// two store handles (two replicas): exactly one wins.
func TestTokOneTimeRaces(t *testing.T) {
	tokEach(t, func(t *testing.T, e *tokEnv) {
		ctx := context.Background()
		replicas := []store.Store{e.db, tokOpenURL(t, e.url)}
		const n = 16
		race := func(t *testing.T, try func(q store.Store) error, loser error) {
			t.Helper()
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { errs[i] = try(replicas[i%2]) })
			}
			wg.Wait()
			wins := 0
			for _, err := range errs {
				switch {
				case err == nil:
					wins++
				case !errors.Is(err, loser):
					t.Errorf("loser err = %v, want %v", err, loser)
				}
			}
			if wins != 1 {
				t.Errorf("%d winners, want exactly 1", wins)
			}
		}

		f := store.LoginFlow{IDHash: store.HashToken("race"), ConnectionID: e.connID, Intent: store.IntentLogin,
			BrowserBindingHash: []byte("b"), ExpiresAt: tokNow.Add(time.Minute)}
		tokOK(t, e.db.CreateLoginFlow(ctx, &f))
		race(t, func(q store.Store) error { _, err := q.ConsumeLoginFlow(ctx, f.IDHash, tokNow); return err },
			store.ErrNotFound)

		r := store.AuthzRequest{ClientID: e.clientID, ExpiresAt: tokNow.Add(time.Minute)}
		tokOK(t, e.db.CreateAuthzRequest(ctx, &r))
		race(t, func(q store.Store) error { _, err := q.ConsumeAuthzRequest(ctx, r.ID, tokNow); return err },
			store.ErrNotFound)

		c := store.AuthCode{CodeHash: store.HashToken("code"), Grant: tokGrant(e, "g-race"),
			RedirectURI: "https://app.test/cb", ExpiresAt: tokNow.Add(time.Minute)}
		tokOK(t, e.db.CreateAuthCode(ctx, &c))
		race(t, func(q store.Store) error {
			got, err := q.ConsumeAuthCode(ctx, c.CodeHash, tokNow)
			if errors.Is(err, store.ErrConsumed) && got.Grant.GrantID != "g-race" {
				t.Errorf("reused code came back without its grant: %+v", got)
			}
			return err
		}, store.ErrConsumed)

		rt := store.RefreshToken{TokenHash: store.HashToken("rt"), Grant: tokGrant(e, "g-race"),
			ExpiresAt: tokNow.Add(time.Hour)}
		tokOK(t, e.db.CreateRefreshToken(ctx, &rt))
		race(t, func(q store.Store) error {
			// The caller's pattern: rotate and create the successor in one Tx.
			return q.Tx(ctx, func(tx store.Queries) error {
				old, err := tx.RotateRefreshToken(ctx, rt.TokenHash, tokNow)
				if err != nil {
					return err
				}
				next := store.RefreshToken{TokenHash: store.HashToken("rt-next"), Grant: old.Grant,
					ExpiresAt: tokNow.Add(time.Hour)}
				return tx.CreateRefreshToken(ctx, &next)
			})
		}, store.ErrConsumed)
	})
}

func TestTokSessions(t *testing.T) {
	tokEach(t, func(t *testing.T, e *tokEnv) {
		ctx := context.Background()
		s := store.Session{
			IDHash: store.HashToken("sid"), UserID: e.userID, OrgID: e.orgID, ConnectionID: e.connID,
			IdentityID: e.identityID, AMR: []string{"fed", "mfa"}, CreatedAt: tokNow,
			IdleExpiresAt: tokNow.Add(time.Hour), AbsoluteExpiresAt: tokNow.Add(2 * time.Hour),
			IP: "192.0.2.1", UserAgent: "test",
		}
		tokOK(t, e.db.CreateSession(ctx, &s))
		got, err := e.db.GetSession(ctx, s.IDHash, tokNow)
		tokOK(t, err)
		if diff := cmp.Diff(s, got, tokCmp); diff != "" {
			t.Errorf("GetSession (-want +got):\n%s", diff)
		}
		_, err = e.db.GetSession(ctx, s.IDHash, s.IdleExpiresAt)
		tokWant(t, err, store.ErrNotFound)

		// Touch slides the idle expiry, never past the absolute one.
		later := tokNow.Add(30 * time.Minute)
		tokOK(t, e.db.TouchSession(ctx, s.IDHash, later, later.Add(time.Hour)))
		got, err = e.db.GetSession(ctx, s.IDHash, later)
		tokOK(t, err)
		if !got.LastSeenAt.Equal(later) || !got.IdleExpiresAt.Equal(later.Add(time.Hour)) {
			t.Errorf("after touch: last seen %v, idle %v", got.LastSeenAt, got.IdleExpiresAt)
		}
		tokOK(t, e.db.TouchSession(ctx, s.IDHash, later, later.Add(5*time.Hour)))
		got, err = e.db.GetSession(ctx, s.IDHash, later)
		tokOK(t, err)
		if !got.IdleExpiresAt.Equal(s.AbsoluteExpiresAt) {
			t.Errorf("idle expiry %v passed the absolute %v", got.IdleExpiresAt, s.AbsoluteExpiresAt)
		}
		// A touch after expiry does not revive the session.
		tokWant(t, e.db.TouchSession(ctx, s.IDHash, s.AbsoluteExpiresAt, s.AbsoluteExpiresAt.Add(time.Hour)),
			store.ErrNotFound)
		tokWant(t, e.db.TouchSession(ctx, store.HashToken("x"), later, later), store.ErrNotFound)

		tokOK(t, e.db.RevokeSession(ctx, s.IDHash, later))
		_, err = e.db.GetSession(ctx, s.IDHash, later)
		tokWant(t, err, store.ErrNotFound)
		tokWant(t, e.db.TouchSession(ctx, s.IDHash, later, later), store.ErrNotFound)
		tokOK(t, e.db.RevokeSession(ctx, s.IDHash, later.Add(time.Minute))) // again: exists, no error
		tokWant(t, e.db.RevokeSession(ctx, store.HashToken("x"), later), store.ErrNotFound)

		for _, id := range []string{"a", "b"} {
			tokOK(t, e.db.CreateSession(ctx, &store.Session{IDHash: store.HashToken(id), UserID: e.userID,
				IdleExpiresAt: tokNow.Add(time.Hour), AbsoluteExpiresAt: tokNow.Add(time.Hour)}))
		}
		n, err := e.db.RevokeUserSessions(ctx, e.userID, later)
		tokOK(t, err)
		if n != 2 {
			t.Errorf("RevokeUserSessions = %d, want 2 (the first was revoked already)", n)
		}
		tokWant(t, e.db.CreateSession(ctx, &store.Session{IDHash: store.HashToken("c"), UserID: "ghost",
			IdleExpiresAt: tokNow, AbsoluteExpiresAt: tokNow}), store.ErrConflict)
	})
}

func TestTokClientsAndConsents(t *testing.T) {
	tokEach(t, func(t *testing.T, e *tokEnv) {
		ctx := context.Background()
		c := store.Client{
			ID: "b-public", Name: "Public", Public: true,
			RedirectURIs: []string{"http://127.0.0.1/cb"}, PostLogoutRedirectURIs: []string{"http://127.0.0.1/"},
			AllowedConnections: []string{e.connID}, AllowedOrgs: []string{e.orgID}, SkipConsent: true,
			IDTokenSigningAlg: "ES256", AccessTokenFormat: "jwt",
			AccessTokenTTL: 90 * time.Second, RefreshTokenTTL: 48 * time.Hour, CreatedAt: tokNow,
		}
		tokOK(t, e.db.CreateClient(ctx, &c))
		got, err := e.db.GetClient(ctx, c.ID)
		tokOK(t, err)
		if diff := cmp.Diff(c, got, tokCmp); diff != "" {
			t.Errorf("GetClient (-want +got):\n%s", diff)
		}
		tokWant(t, e.db.CreateClient(ctx, &c), store.ErrConflict)
		_, err = e.db.GetClient(ctx, "missing")
		tokWant(t, err, store.ErrNotFound)

		c.Disabled, c.Name, c.RedirectURIs = true, "Renamed", nil
		tokOK(t, e.db.UpdateClient(ctx, &c))
		got, err = e.db.GetClient(ctx, c.ID)
		tokOK(t, err)
		if diff := cmp.Diff(c, got, tokCmp); diff != "" {
			t.Errorf("after UpdateClient (-want +got):\n%s", diff)
		}
		tokWant(t, e.db.UpdateClient(ctx, &store.Client{ID: "missing", SecretHash: []byte("h")}), store.ErrNotFound)

		list, err := e.db.ListClients(ctx)
		tokOK(t, err)
		if len(list) != 2 || list[0].ID != e.clientID || list[1].ID != c.ID {
			t.Errorf("ListClients = %+v, want [app b-public]", list)
		}

		cons := store.Consent{UserID: e.userID, ClientID: c.ID, Scopes: []string{"openid"}, GrantedAt: tokNow}
		tokOK(t, e.db.PutConsent(ctx, &cons))
		cons.Scopes, cons.GrantedAt = []string{"openid", "email"}, tokNow.Add(time.Hour)
		tokOK(t, e.db.PutConsent(ctx, &cons))
		gotCons, err := e.db.GetConsent(ctx, e.userID, c.ID)
		tokOK(t, err)
		if diff := cmp.Diff(cons, gotCons, tokCmp); diff != "" {
			t.Errorf("GetConsent after upsert (-want +got):\n%s", diff)
		}

		// DeleteClient cascades its consents and codes.
		code := store.AuthCode{CodeHash: []byte("c"), Grant: tokGrant(e, "g"), RedirectURI: "x",
			ExpiresAt: tokNow.Add(time.Minute)}
		code.Grant.ClientID = c.ID
		tokOK(t, e.db.CreateAuthCode(ctx, &code))
		tokOK(t, e.db.DeleteClient(ctx, c.ID))
		tokWant(t, e.db.DeleteClient(ctx, c.ID), store.ErrNotFound)
		_, err = e.db.GetConsent(ctx, e.userID, c.ID)
		tokWant(t, err, store.ErrNotFound)
		_, err = e.db.ConsumeAuthCode(ctx, code.CodeHash, tokNow)
		tokWant(t, err, store.ErrNotFound)

		tokOK(t, e.db.PutConsent(ctx, &store.Consent{UserID: e.userID, ClientID: e.clientID}))
		tokOK(t, e.db.DeleteConsent(ctx, e.userID, e.clientID))
		tokWant(t, e.db.DeleteConsent(ctx, e.userID, e.clientID), store.ErrNotFound)
	})
}

func TestTokCodesAndTokens(t *testing.T) {
	tokEach(t, func(t *testing.T, e *tokEnv) {
		ctx := context.Background()
		code := store.AuthCode{CodeHash: store.HashToken("code"), Grant: tokGrant(e, "g-1"),
			RedirectURI: "https://app.test/cb", CodeChallenge: "ch", CodeChallengeMethod: "S256",
			CreatedAt: tokNow, ExpiresAt: tokNow.Add(time.Minute)}
		tokOK(t, e.db.CreateAuthCode(ctx, &code))
		got, err := e.db.ConsumeAuthCode(ctx, code.CodeHash, tokNow)
		tokOK(t, err)
		want := code
		want.ConsumedAt = tokNow
		if diff := cmp.Diff(want, got, tokCmp); diff != "" {
			t.Errorf("ConsumeAuthCode (-want +got):\n%s", diff)
		}
		got, err = e.db.ConsumeAuthCode(ctx, code.CodeHash, tokNow.Add(time.Second))
		tokWant(t, err, store.ErrConsumed)
		if diff := cmp.Diff(want, got, tokCmp); diff != "" {
			t.Errorf("reused code (-want +got):\n%s", diff)
		}
		_, err = e.db.ConsumeAuthCode(ctx, store.HashToken("missing"), tokNow)
		tokWant(t, err, store.ErrNotFound)
		expired := store.AuthCode{CodeHash: store.HashToken("old"), Grant: tokGrant(e, "g-2"), RedirectURI: "x",
			ExpiresAt: tokNow}
		tokOK(t, e.db.CreateAuthCode(ctx, &expired))
		_, err = e.db.ConsumeAuthCode(ctx, expired.CodeHash, tokNow)
		tokWant(t, err, store.ErrNotFound)

		// A grant with no optional references.
		bare := store.AccessToken{TokenHash: []byte("bare"), ExpiresAt: tokNow.Add(time.Hour),
			Grant: store.Grant{ClientID: e.clientID, UserID: e.userID, AuthTime: tokNow}}
		tokOK(t, e.db.CreateAccessToken(ctx, &bare))
		if bare.Grant.GrantID == "" || bare.CreatedAt.IsZero() {
			t.Errorf("CreateAccessToken left GrantID or CreatedAt empty: %+v", bare)
		}
		gotBare, err := e.db.GetAccessToken(ctx, bare.TokenHash, tokNow)
		tokOK(t, err)
		if diff := cmp.Diff(bare, gotBare, tokCmp); diff != "" {
			t.Errorf("bare access token (-want +got):\n%s", diff)
		}

		at := store.AccessToken{TokenHash: store.HashToken("at"), Grant: tokGrant(e, "g-1"),
			CreatedAt: tokNow, ExpiresAt: tokNow.Add(10 * time.Minute)}
		tokOK(t, e.db.CreateAccessToken(ctx, &at))
		gotAT, err := e.db.GetAccessToken(ctx, at.TokenHash, tokNow)
		tokOK(t, err)
		if diff := cmp.Diff(at, gotAT, tokCmp); diff != "" {
			t.Errorf("GetAccessToken (-want +got):\n%s", diff)
		}
		_, err = e.db.GetAccessToken(ctx, at.TokenHash, at.ExpiresAt)
		tokWant(t, err, store.ErrNotFound)

		rt := store.RefreshToken{TokenHash: store.HashToken("rt"), Grant: tokGrant(e, "g-1"),
			CreatedAt: tokNow, ExpiresAt: tokNow.Add(time.Hour)}
		tokOK(t, e.db.CreateRefreshToken(ctx, &rt))
		gotRT, err := e.db.RotateRefreshToken(ctx, rt.TokenHash, tokNow)
		tokOK(t, err)
		wantRT := rt
		wantRT.RotatedAt = tokNow
		if diff := cmp.Diff(wantRT, gotRT, tokCmp); diff != "" {
			t.Errorf("RotateRefreshToken (-want +got):\n%s", diff)
		}
		next := store.RefreshToken{TokenHash: store.HashToken("rt2"), Grant: gotRT.Grant,
			CreatedAt: tokNow, ExpiresAt: tokNow.Add(time.Hour)}
		tokOK(t, e.db.CreateRefreshToken(ctx, &next))

		// Reuse of the rotated token: ErrConsumed with the grant; the caller
		// revokes the family.
		reused, err := e.db.RotateRefreshToken(ctx, rt.TokenHash, tokNow)
		tokWant(t, err, store.ErrConsumed)
		if reused.Grant.GrantID != "g-1" {
			t.Fatalf("reused token grant = %q", reused.Grant.GrantID)
		}
		tokOK(t, e.db.RevokeGrant(ctx, reused.Grant.GrantID, tokNow))
		tokOK(t, e.db.RevokeGrant(ctx, reused.Grant.GrantID, tokNow)) // idempotent
		tokOK(t, e.db.RevokeGrant(ctx, "no-such-grant", tokNow))
		_, err = e.db.GetAccessToken(ctx, at.TokenHash, tokNow)
		tokWant(t, err, store.ErrNotFound)
		_, err = e.db.RotateRefreshToken(ctx, next.TokenHash, tokNow)
		tokWant(t, err, store.ErrConsumed) // revoked counts as spent
		if _, err := e.db.GetAccessToken(ctx, bare.TokenHash, tokNow); err != nil {
			t.Errorf("RevokeGrant reached another grant: %v", err)
		}

		tokOK(t, e.db.RevokeAccessToken(ctx, bare.TokenHash, tokNow))
		_, err = e.db.GetAccessToken(ctx, bare.TokenHash, tokNow)
		tokWant(t, err, store.ErrNotFound)
		tokWant(t, e.db.RevokeAccessToken(ctx, []byte("missing"), tokNow), store.ErrNotFound)

		lone := store.RefreshToken{TokenHash: []byte("lone"), Grant: tokGrant(e, "g-3"), ExpiresAt: tokNow.Add(time.Hour)}
		tokOK(t, e.db.CreateRefreshToken(ctx, &lone))
		tokOK(t, e.db.RevokeRefreshToken(ctx, lone.TokenHash, tokNow))
		_, err = e.db.RotateRefreshToken(ctx, lone.TokenHash, tokNow)
		tokWant(t, err, store.ErrConsumed)
		tokWant(t, e.db.RevokeRefreshToken(ctx, []byte("missing"), tokNow), store.ErrNotFound)
		_, err = e.db.RotateRefreshToken(ctx, []byte("missing"), tokNow)
		tokWant(t, err, store.ErrNotFound)
		old := store.RefreshToken{TokenHash: []byte("old"), Grant: tokGrant(e, "g-4"), ExpiresAt: tokNow}
		tokOK(t, e.db.CreateRefreshToken(ctx, &old))
		_, err = e.db.RotateRefreshToken(ctx, old.TokenHash, tokNow)
		tokWant(t, err, store.ErrNotFound)
	})
}

func TestTokSigningKeys(t *testing.T) {
	tokEach(t, func(t *testing.T, e *tokEnv) {
		ctx := context.Background()
		k1 := store.SigningKey{KID: "k1", Alg: "RS256", PrivateKeyEnc: []byte{1}, PublicJWK: []byte(`{"kid":"k1"}`),
			State: store.KeyActive, CreatedAt: tokNow, ActivatedAt: tokNow}
		k2 := store.SigningKey{KID: "k0", Alg: "ES256", PrivateKeyEnc: []byte{2}, PublicJWK: []byte(`{"kid":"k0"}`),
			State: store.KeyNext, CreatedAt: tokNow.Add(time.Hour)}
		tokOK(t, e.db.CreateSigningKey(ctx, &k1))
		tokOK(t, e.db.CreateSigningKey(ctx, &k2))
		tokWant(t, e.db.CreateSigningKey(ctx, &k1), store.ErrConflict)

		k1.State, k1.RetiredAt, k1.RemoveAfter = store.KeyRetired, tokNow.Add(time.Hour), tokNow.Add(2*time.Hour)
		k2.State, k2.ActivatedAt = store.KeyActive, tokNow.Add(time.Hour)
		tokOK(t, e.db.UpdateSigningKey(ctx, &k1))
		tokOK(t, e.db.UpdateSigningKey(ctx, &k2))
		tokWant(t, e.db.UpdateSigningKey(ctx, &store.SigningKey{KID: "x", Alg: "RS256", State: store.KeyNext}),
			store.ErrNotFound)
		list, err := e.db.ListSigningKeys(ctx)
		tokOK(t, err)
		if diff := cmp.Diff([]store.SigningKey{k1, k2}, list, tokCmp); diff != "" {
			t.Errorf("ListSigningKeys (-want +got):\n%s", diff)
		}
		tokOK(t, e.db.DeleteSigningKey(ctx, "k1"))
		tokWant(t, e.db.DeleteSigningKey(ctx, "k1"), store.ErrNotFound)
	})
}

func TestTokDeleteExpired(t *testing.T) {
	tokEach(t, func(t *testing.T, e *tokEnv) {
		ctx := context.Background()
		past, future := tokNow.Add(-time.Minute), tokNow.Add(time.Hour)
		// Dead rows: one of each kind, plus two that go with their parents
		// counted separately (a flow pointing at an expired request).
		req := store.AuthzRequest{ID: "req-dead", ClientID: e.clientID, ExpiresAt: past}
		tokOK(t, e.db.CreateAuthzRequest(ctx, &req))
		tokOK(t, e.db.CreateAuthzRequest(ctx, &store.AuthzRequest{ID: "req-live", ClientID: e.clientID, ExpiresAt: future}))
		for i, exp := range []time.Time{past, future} {
			tokOK(t, e.db.CreateLoginFlow(ctx, &store.LoginFlow{IDHash: []byte{byte(i)}, ConnectionID: e.connID,
				Intent: store.IntentLogin, BrowserBindingHash: []byte("b"), AuthzRequestID: "req-live", ExpiresAt: exp}))
		}
		tokOK(t, e.db.CreateLoginFlow(ctx, &store.LoginFlow{IDHash: []byte("f-dead-req"), ConnectionID: e.connID,
			Intent: store.IntentLogin, BrowserBindingHash: []byte("b"), AuthzRequestID: req.ID, ExpiresAt: past}))
		for i, exp := range []time.Time{past, future} {
			g := tokGrant(e, "g")
			tokOK(t, e.db.CreateAuthCode(ctx, &store.AuthCode{CodeHash: []byte{byte(i)}, Grant: g, RedirectURI: "x", ExpiresAt: exp}))
			tokOK(t, e.db.CreateAccessToken(ctx, &store.AccessToken{TokenHash: []byte{byte(i)}, Grant: g, ExpiresAt: exp}))
			tokOK(t, e.db.CreateRefreshToken(ctx, &store.RefreshToken{TokenHash: []byte{byte(i)}, Grant: g, ExpiresAt: exp,
				RotatedAt: tokNow.Add(-time.Hour)}))
		}
		sessions := []store.Session{
			{IDHash: []byte("s-idle"), IdleExpiresAt: past, AbsoluteExpiresAt: future},
			{IDHash: []byte("s-abs"), IdleExpiresAt: future, AbsoluteExpiresAt: past},
			{IDHash: []byte("s-revoked-long-ago"), IdleExpiresAt: future, AbsoluteExpiresAt: future, RevokedAt: tokNow.Add(-25 * time.Hour)},
			{IDHash: []byte("s-revoked-recently"), IdleExpiresAt: future, AbsoluteExpiresAt: future, RevokedAt: tokNow.Add(-time.Hour)},
			{IDHash: []byte("s-live"), IdleExpiresAt: future, AbsoluteExpiresAt: future},
		}
		for i := range sessions {
			sessions[i].UserID = e.userID
			tokOK(t, e.db.CreateSession(ctx, &sessions[i]))
		}
		for i, inv := range []struct {
			exp      time.Time
			consumed any
		}{{past, nil}, {future, ms(tokNow)}, {future, nil}} {
			_, err := e.db.write.ExecContext(ctx, `INSERT INTO invitations
				(id, org_id, email, token_hash, expires_at, consumed_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
				"inv-"+string(rune('a'+i)), e.orgID, "x@acme.test", []byte{byte(i)}, ms(inv.exp), inv.consumed, ms(tokNow))
			tokOK(t, err)
		}

		// 2 flows + 1 request + 1 code + 1 access + 1 refresh + 3 sessions + 2 invitations.
		n, err := e.db.DeleteExpired(ctx, tokNow)
		tokOK(t, err)
		if n != 11 {
			t.Errorf("DeleteExpired = %d, want 11", n)
		}
		n, err = e.db.DeleteExpired(ctx, tokNow)
		tokOK(t, err)
		if n != 0 {
			t.Errorf("second DeleteExpired = %d, want 0", n)
		}
		for table, want := range map[string]int{"login_flows": 1, "authz_requests": 1, "auth_codes": 1,
			"access_tokens": 1, "refresh_tokens": 1, "sessions": 2, "invitations": 1} {
			var got int
			tokOK(t, e.db.read.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table).Scan(&got))
			if got != want {
				t.Errorf("%s: %d rows left, want %d", table, got, want)
			}
		}
		// The live, rotated refresh token survives, so its reuse is still caught.
		_, err = e.db.RotateRefreshToken(ctx, []byte{1}, tokNow)
		tokWant(t, err, store.ErrConsumed)
	})
}
