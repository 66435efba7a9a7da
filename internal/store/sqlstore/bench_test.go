package sqlstore_test

import (
	"encoding/binary"
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
