package sqlstore_test

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sallyport/sallyport/internal/store"
	"github.com/sallyport/sallyport/internal/store/sqlstore"
	"github.com/sallyport/sallyport/internal/store/storetest"
)

// benchDialects runs fn on a fresh, migrated store per dialect.
func benchDialects(b *testing.B, fn func(b *testing.B, db *sqlstore.DB)) {
	b.Run("sqlite", func(b *testing.B) { fn(b, openSQLite(b)) })
	b.Run("postgres", func(b *testing.B) { fn(b, openPostgres(b, postgresURL(b))) })
}

// benchSetup makes the rows a login flow and a session refer to.
func benchSetup(b *testing.B, db *sqlstore.DB) (store.Connection, store.User) {
	b.Helper()
	c := store.Connection{Slug: "google", Kind: "google", Status: store.ConnectionActive, Settings: []byte(`{}`)}
	if err := db.CreateConnection(ctx, &c); err != nil {
		b.Fatal(err)
	}
	u := store.User{Email: "ann@example.com", Status: store.UserActive}
	if err := db.CreateUser(ctx, &u); err != nil {
		b.Fatal(err)
	}
	return c, u
}

// BenchmarkLoginFlow is the store's share of one sign-in's round trip to an
// upstream: the flow is written when the browser leaves and consumed when it
// comes back.
func BenchmarkLoginFlow(b *testing.B) {
	benchDialects(b, func(b *testing.B, db *sqlstore.DB) {
		conn, _ := benchSetup(b, db)
		now := storetest.Now
		var n [8]byte
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			binary.BigEndian.PutUint64(n[:], uint64(i))
			f := store.LoginFlow{
				IDHash: store.HashToken(string(n[:])), ConnectionID: conn.ID, Intent: store.IntentLogin,
				Nonce: "nonce", PKCEVerifierEnc: []byte("sealed verifier"), BrowserBindingHash: store.HashToken("browser"),
				ReturnTo: "/account", CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute),
			}
			if err := db.CreateLoginFlow(ctx, &f); err != nil {
				b.Fatal(err)
			}
			if _, err := db.ConsumeLoginFlow(ctx, f.IDHash, now.Add(time.Second)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkGetSession is the look-up behind every signed-in request, serial
// and from parallel goroutines.
func BenchmarkGetSession(b *testing.B) {
	benchDialects(b, func(b *testing.B, db *sqlstore.DB) {
		_, user := benchSetup(b, db)
		now := storetest.Now
		s := store.Session{
			IDHash: store.HashToken("session"), UserID: user.ID, AMR: []string{"fed"},
			CreatedAt: now, LastSeenAt: now, IdleExpiresAt: now.Add(12 * time.Hour), AbsoluteExpiresAt: now.Add(168 * time.Hour),
			IP: "192.0.2.1", UserAgent: "Mozilla/5.0",
		}
		if err := db.CreateSession(ctx, &s); err != nil {
			b.Fatal(err)
		}
		b.Run("serial", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := db.GetSession(ctx, s.IDHash, now); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := db.GetSession(ctx, s.IDHash, now); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	})
}

// BenchmarkSignInStore replays what one federated sign-in of a returning
// user asks of the store, statement for statement, as the server makes
// them (see docs/performance.md): the authorize request's transaction
// (pending request and login flow), the callback's consumption of the
// flow, the callback's transaction (reconciliation reads, identity update,
// session, the pending request completed with a code, two audit events)
// and the token exchange's transaction (code consumed, user and identity
// checked, access token, audit event). The parallel run is the load
// command's shape: many sign-ins at once on one writer.
func BenchmarkSignInStore(b *testing.B) {
	benchDialects(b, func(b *testing.B, db *sqlstore.DB) {
		conn, user := benchSetup(b, db)
		client := store.Client{ID: "app", Name: "App", Public: true, RedirectURIs: []string{"https://app.example/cb"}, SkipConsent: true}
		if err := db.CreateClient(ctx, &client); err != nil {
			b.Fatal(err)
		}
		ident := store.Identity{UserID: user.ID, ConnectionID: conn.ID, Subject: "ann", Email: user.Email, EmailVerified: true, Claims: []byte(`{}`)}
		if err := db.CreateIdentity(ctx, &ident); err != nil {
			b.Fatal(err)
		}
		var seq atomic.Uint64
		signIn := func() error {
			now := time.Now().UTC().Truncate(time.Millisecond)
			n := seq.Add(1)
			token := func(kind string) []byte { return store.HashToken(fmt.Sprintf("%s-%d", kind, n)) }
			audit := func(q store.Queries, typ, outcome string) error {
				return q.AppendAuditEvent(ctx, &store.AuditEvent{At: now, Type: typ, Outcome: outcome, ActorID: user.ID, UserID: user.ID,
					ConnectionID: conn.ID, IP: "192.0.2.1", UserAgent: "Mozilla/5.0 (X11; Linux x86_64)", Detail: []byte(`{"reason":"returning user"}`)})
			}
			requestID := fmt.Sprintf("request-%d", n)
			flowHash := token("flow")
			if err := db.Tx(ctx, func(q store.Queries) error {
				if err := q.CreateAuthzRequest(ctx, &store.AuthzRequest{ID: requestID, ClientID: client.ID,
					Params:    []byte(`{"redirect_uri":"https://app.example/cb","scope":"openid email profile","state":"s","nonce":"n"}`),
					CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute)}); err != nil {
					return err
				}
				return q.CreateLoginFlow(ctx, &store.LoginFlow{IDHash: flowHash, ConnectionID: conn.ID, Intent: store.IntentLogin,
					Nonce: "nonce", PKCEVerifierEnc: []byte("sealed verifier, about sixty bytes of it........"), BrowserBindingHash: token("browser"),
					ReturnTo: "/oauth2/authorize/resume?request=" + requestID, AuthzRequestID: requestID, CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute)})
			}); err != nil {
				return err
			}
			if _, err := db.ConsumeLoginFlow(ctx, flowHash, now); err != nil {
				return err
			}
			grant := store.Grant{GrantID: fmt.Sprintf("grant-%d", n), ClientID: client.ID, UserID: user.ID, SessionID: token("session"),
				IdentityID: ident.ID, ConnectionID: conn.ID, Scopes: []string{"openid", "email", "profile"}, Nonce: "n", AuthTime: now, AMR: []string{"fed"}}
			if err := db.Tx(ctx, func(q store.Queries) error {
				if _, err := q.GetUserByEmail(ctx, user.Email); err != nil {
					return err
				}
				id, err := q.GetIdentityBySubject(ctx, conn.ID, ident.Subject)
				if err != nil {
					return err
				}
				if _, err := q.GetUser(ctx, id.UserID); err != nil {
					return err
				}
				if _, err := q.ListUserAssignments(ctx, user.ID); err != nil {
					return err
				}
				id.LastLoginAt = now
				if err := q.UpdateIdentityLogin(ctx, &id); err != nil {
					return err
				}
				if err := q.CreateSession(ctx, &store.Session{IDHash: grant.SessionID, UserID: user.ID, ConnectionID: conn.ID, IdentityID: ident.ID,
					AMR: grant.AMR, CreatedAt: now, LastSeenAt: now, IdleExpiresAt: now.Add(12 * time.Hour), AbsoluteExpiresAt: now.Add(168 * time.Hour),
					IP: "192.0.2.1", UserAgent: "Mozilla/5.0 (X11; Linux x86_64)"}); err != nil {
					return err
				}
				if _, err := q.GetAuthzRequest(ctx, requestID, now); err != nil {
					return err
				}
				if _, err := q.ConsumeAuthzRequest(ctx, requestID, now); err != nil {
					return err
				}
				if err := q.CreateAuthCode(ctx, &store.AuthCode{CodeHash: token("code"), Grant: grant, RedirectURI: "https://app.example/cb",
					CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", CodeChallengeMethod: "S256", CreatedAt: now, ExpiresAt: now.Add(time.Minute)}); err != nil {
					return err
				}
				if err := audit(q, "oauth2.authorize", "authorized"); err != nil {
					return err
				}
				return audit(q, "login.callback", "existing_identity")
			}); err != nil {
				return err
			}
			return db.Tx(ctx, func(q store.Queries) error {
				if _, err := q.ConsumeAuthCode(ctx, token("code"), now); err != nil {
					return err
				}
				if _, err := q.GetUser(ctx, user.ID); err != nil {
					return err
				}
				if _, err := q.GetIdentity(ctx, ident.ID); err != nil {
					return err
				}
				if err := q.CreateAccessToken(ctx, &store.AccessToken{TokenHash: token("access"), Grant: grant, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
					return err
				}
				return audit(q, "oauth2.token", "token_issued")
			})
		}
		b.Run("serial", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := signIn(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(16) // 32 goroutines on 2 cores, as the load command's browsers
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := signIn(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	})
}
