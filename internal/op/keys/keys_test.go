package keys_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/sallyport/sallyport/internal/audit"
	"github.com/sallyport/sallyport/internal/op/keys"
	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/secret"
	"github.com/sallyport/sallyport/internal/store"
	"github.com/sallyport/sallyport/internal/store/sqlstore"
	"github.com/sallyport/sallyport/internal/store/sqlstore/sqltest"
)

var ctx = context.Background()

var allAlgs = []string{keys.RS256, keys.ES256, keys.EdDSA}

// The durations the tests run with: distinct, so a mix-up shows.
const (
	delay    = time.Hour
	lifetime = 2 * time.Hour
	cacheTTL = 30 * time.Second
)

// clock is the injected time, moved by hand.
type clock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// env is one empty database with the key ring and clock every replica in a
// test shares.
type env struct {
	url        string
	sqlitePath string // "" on PostgreSQL
	ring       *secret.KeyRing
	clock      *clock
}

// eachDB runs fn on a fresh SQLite database and a fresh PostgreSQL schema.
func eachDB(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "keys.db")
		fn(t, newEnv(t, "sqlite:"+path, path))
	})
	t.Run("postgres", func(t *testing.T) {
		fn(t, newEnv(t, sqltest.NewSchema(t, sqltest.PostgresURL(t)), ""))
	})
}

func newEnv(t testing.TB, url, path string) *env {
	t.Helper()
	k := make([]byte, secret.KeySize)
	rand.Read(k)
	ring, err := secret.NewKeyRing([][]byte{k}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &env{url: url, sqlitePath: path, ring: ring, clock: newClock()}
}

// open connects a new handle to the database, as another replica would.
func (e *env) open(t testing.TB) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(ctx, sqlstore.Config{URL: e.url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

func (e *env) manager(db store.Store) *keys.Manager {
	return keys.New(keys.Config{
		Store:            db,
		Keys:             e.ring,
		Audit:            audit.New(audit.Config{Now: e.clock.Now}),
		Now:              e.clock.Now,
		RotationDelay:    delay,
		MaxTokenLifetime: lifetime,
		CacheTTL:         cacheTTL,
	})
}

// replica is a Manager on its own database handle.
func (e *env) replica(t *testing.T) (*keys.Manager, *sqlstore.DB) {
	db := e.open(t)
	return e.manager(db), db
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func list(t *testing.T, m *keys.Manager) []keys.KeyInfo {
	t.Helper()
	got, err := m.List(ctx)
	must(t, err)
	return got
}

func jwksKIDs(t *testing.T, m *keys.Manager) []string {
	t.Helper()
	set, err := m.JWKS(ctx)
	must(t, err)
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.KeyID)
	}
	return kids
}

func signer(t *testing.T, m *keys.Manager, alg string) *keys.Signer {
	t.Helper()
	s, err := m.Signer(ctx, alg)
	must(t, err)
	return s
}

func auditTypes(t *testing.T, db store.Store) []string {
	t.Helper()
	events, err := db.ListAuditEvents(ctx, store.AuditFilter{})
	must(t, err)
	var types []string
	for _, e := range slices.Backward(events) { // oldest first
		types = append(types, e.Type+"/"+e.ActorID+"/"+e.Outcome)
	}
	return types
}

// barrier returns a function that blocks until n callers have called it,
// so n replicas go for the key lock at the same moment.
func barrier(n int) func() {
	var wg sync.WaitGroup
	wg.Add(n)
	return func() {
		wg.Done()
		wg.Wait()
	}
}

// idTokenClaims is a realistic ID token payload (DESIGN.md §9).
func idTokenClaims() map[string]any {
	return map[string]any{
		"iss":            "https://sso.example.com",
		"sub":            "usr_01JNQ8X6T3W9ZP4M2K7R5V0B1C",
		"aud":            "my-app",
		"exp":            1772359200,
		"iat":            1772358600,
		"auth_time":      1772358590,
		"nonce":          "n-0S6_WzA2Mj4f8Qd1eLk9",
		"email":          "ann@acme.com",
		"email_verified": true,
		"name":           "Ann Example",
		"amr":            []string{"pwd", "otp"},
		"org":            "acme",
		"org_id":         "org_01JNQ8X6T3W9ZP4M2K7R5V0B1D",
		"org_role":       "admin",
		"idp":            "acme-okta",
		"at_hash":        "HK6E_P6Dh8Y93mRNtsDB1Q",
	}
}

// TestThumbprintRFC7638 is the example of RFC 7638 §3.1.
func TestThumbprintRFC7638(t *testing.T) {
	const jwk = `{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}`
	var k jose.JSONWebKey
	must(t, json.Unmarshal([]byte(jwk), &k))
	got, err := keys.Thumbprint(k.Key)
	must(t, err)
	if want := "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"; got != want {
		t.Errorf("Thumbprint = %s, want %s", got, want)
	}
}

func TestEnsure(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		db := e.open(t)
		m := e.manager(db)
		must(t, m.Ensure(ctx))
		must(t, m.Ensure(ctx)) // idempotent
		got := list(t, m)
		if len(got) != 1 {
			t.Fatalf("after two Ensure calls: %d keys, want 1: %+v", len(got), got)
		}
		now := e.clock.Now()
		want := keys.KeyInfo{KID: got[0].KID, Alg: keys.RS256, State: store.KeyActive, CreatedAt: now, ActivatedAt: now}
		if diff := cmp.Diff(want, got[0]); diff != "" {
			t.Errorf("key (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"keys.create/system/activated"}, auditTypes(t, db)); diff != "" {
			t.Errorf("audit (-want +got):\n%s", diff)
		}

		// Another replica starting later finds the key.
		other, _ := e.replica(t)
		must(t, other.Ensure(ctx))
		if s := signer(t, other, keys.RS256); s.KID() != got[0].KID {
			t.Errorf("second replica signs with %s, want %s", s.KID(), got[0].KID)
		}

		err := m.Ensure(ctx, "HS256")
		if !errors.Is(err, keys.ErrUnsupportedAlg) || outcome.CodeOf(err) != outcome.InvalidRequest {
			t.Errorf("Ensure(HS256) = %v, want ErrUnsupportedAlg as invalid_request", err)
		}
	})
}

// TestEnsureConcurrent starts replicas together on an empty database: they
// end with one active key per algorithm, and all sign with it.
func TestEnsureConcurrent(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		const n = 6
		var ms []*keys.Manager
		for range n {
			m, _ := e.replica(t)
			ms = append(ms, m)
		}
		race := func(fn func(m *keys.Manager) error) {
			t.Helper()
			wait := barrier(n)
			for _, m := range ms {
				keys.SetBeforeLock(m, wait)
			}
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i, m := range ms {
				wg.Go(func() { errs[i] = fn(m) })
			}
			wg.Wait()
			must(t, errors.Join(errs...))
		}

		// RS256 at start; ES256 and EdDSA when the first client asks.
		race(func(m *keys.Manager) error { return m.Ensure(ctx) })
		for _, alg := range allAlgs[1:] {
			race(func(m *keys.Manager) error { _, err := m.Signer(ctx, alg); return err })
		}

		kids := map[string]string{} // alg → kid
		count := map[string]int{}
		for _, k := range list(t, ms[0]) {
			if k.State != store.KeyActive {
				t.Errorf("key %s is %s, want active", k.KID, k.State)
			}
			kids[k.Alg] = k.KID
			count[k.Alg]++
		}
		if diff := cmp.Diff(map[string]int{keys.RS256: 1, keys.ES256: 1, keys.EdDSA: 1}, count); diff != "" {
			t.Fatalf("keys per algorithm (-want +got):\n%s", diff)
		}
		for _, alg := range allAlgs {
			for _, m := range ms {
				if s := signer(t, m, alg); s.KID() != kids[alg] {
					t.Errorf("a replica signs %s with %s, want %s", alg, s.KID(), kids[alg])
				}
			}
		}
	})
}

func TestSignAndVerify(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		m, _ := e.replica(t)
		must(t, m.Ensure(ctx, keys.ES256, keys.EdDSA))
		set, err := m.JWKS(ctx)
		must(t, err)
		claims := idTokenClaims()
		wantPayload, _ := json.Marshal(claims)
		for _, alg := range allAlgs {
			t.Run(alg, func(t *testing.T) {
				s := signer(t, m, alg)
				if s.Alg() != alg {
					t.Errorf("Alg = %s, want %s", s.Alg(), alg)
				}
				token, err := s.Sign(claims)
				must(t, err)
				jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
				must(t, err)
				h := jws.Signatures[0].Protected
				if h.KeyID != s.KID() || h.Algorithm != alg || h.ExtraHeaders[jose.HeaderType] != "JWT" {
					t.Errorf("header kid=%q alg=%q typ=%v, want kid=%q alg=%q typ=JWT", h.KeyID, h.Algorithm, h.ExtraHeaders[jose.HeaderType], s.KID(), alg)
				}
				found := set.Key(s.KID())
				if len(found) != 1 {
					t.Fatalf("JWKS has %d keys with kid %s, want 1", len(found), s.KID())
				}
				jwk := found[0]
				if jwk.Use != "sig" || jwk.Algorithm != alg || !jwk.IsPublic() {
					t.Errorf("JWKS entry use=%q alg=%q public=%v, want sig, %s, public", jwk.Use, jwk.Algorithm, jwk.IsPublic(), alg)
				}
				payload, err := jws.Verify(jwk)
				must(t, err)
				if !bytes.Equal(payload, wantPayload) {
					t.Errorf("payload = %s, want %s", payload, wantPayload)
				}
				// kid is the RFC 7638 thumbprint, computed here by go-jose.
				tp, err := jwk.Thumbprint(crypto.SHA256)
				must(t, err)
				if want := base64.RawURLEncoding.EncodeToString(tp); s.KID() != want {
					t.Errorf("kid %s, want thumbprint %s", s.KID(), want)
				}
				// A key of another algorithm does not verify it.
				for _, other := range set.Keys {
					if other.KeyID == s.KID() {
						continue
					}
					if _, err := jws.Verify(other); err == nil {
						t.Errorf("token signed by %s verifies with %s", s.KID(), other.KeyID)
					}
				}
			})
		}
	})
}

func TestJWKSHasNoPrivateMembers(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		m, _ := e.replica(t)
		must(t, m.Ensure(ctx, keys.ES256, keys.EdDSA))
		for _, alg := range allAlgs {
			_, err := m.Rotate(ctx, alg, "cli")
			must(t, err)
		}
		set, err := m.JWKS(ctx)
		must(t, err)
		raw, err := json.Marshal(set)
		must(t, err)
		var doc struct {
			Keys []map[string]json.RawMessage `json:"keys"`
		}
		must(t, json.Unmarshal(raw, &doc))
		if len(doc.Keys) != 6 {
			t.Fatalf("JWKS has %d keys, want 6 (3 active, 3 next): %s", len(doc.Keys), raw)
		}
		for _, k := range doc.Keys {
			for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"} {
				if _, ok := k[private]; ok {
					t.Errorf("JWKS key %s has private member %q", k["kid"], private)
				}
			}
			for _, required := range []string{"kty", "kid", "alg", "use"} {
				if _, ok := k[required]; !ok {
					t.Errorf("JWKS key %s lacks %q", k["kid"], required)
				}
			}
		}
	})
}

// privateBytes is the secret part of a key, which must appear nowhere at
// rest.
func privateBytes(t *testing.T, priv any) []byte {
	t.Helper()
	switch k := priv.(type) {
	case *rsa.PrivateKey:
		return k.D.Bytes()
	case *ecdsa.PrivateKey:
		b, err := k.Bytes()
		must(t, err)
		return b
	case ed25519.PrivateKey:
		return k.Seed()
	}
	t.Fatalf("unexpected key type %T", priv)
	return nil
}

func TestPrivateKeysEncryptedAtRest(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		m, db := e.replica(t)
		must(t, m.Ensure(ctx, keys.ES256, keys.EdDSA))
		rows, err := db.ListSigningKeys(ctx)
		must(t, err)
		if len(rows) != 3 {
			t.Fatalf("%d keys, want 3", len(rows))
		}
		var files [][]byte
		if e.sqlitePath != "" {
			for _, p := range []string{e.sqlitePath, e.sqlitePath + "-wal"} {
				b, err := os.ReadFile(p)
				if err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
				files = append(files, b)
			}
		}
		for i, row := range rows {
			der, err := e.ring.Decrypt(row.PrivateKeyEnc, []byte("signing_key/"+row.KID))
			must(t, err)
			priv, err := x509.ParsePKCS8PrivateKey(der)
			must(t, err)
			if kid, _ := keys.Thumbprint(priv.(crypto.Signer).Public()); kid != row.KID {
				t.Errorf("row %s holds the private key of %s", row.KID, kid)
			}
			secretPart := privateBytes(t, priv)
			for _, where := range append([][]byte{row.PrivateKeyEnc, row.PublicJWK}, files...) {
				if bytes.Contains(where, der) || bytes.Contains(where, secretPart) || bytes.Contains(where, []byte("PRIVATE KEY")) {
					t.Errorf("%s private key found in plain text at rest", row.Alg)
				}
			}
			// The additional data binds the ciphertext to its kid.
			other := rows[(i+1)%len(rows)].KID
			for _, wrong := range []string{"signing_key/" + other, "signing_key/", row.KID} {
				if _, err := e.ring.Decrypt(row.PrivateKeyEnc, []byte(wrong)); !errors.Is(err, secret.ErrDecrypt) {
					t.Errorf("decrypt %s with aad %q: err = %v, want ErrDecrypt", row.KID, wrong, err)
				}
			}
		}
	})
}

// TestRotationTimeline walks a key rotation through every state with two
// replicas on one database.
func TestRotationTimeline(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		a, db := e.replica(t)
		b, _ := e.replica(t)
		must(t, a.Ensure(ctx))
		old := signer(t, a, keys.RS256).KID()
		if diff := cmp.Diff([]string{old}, jwksKIDs(t, b)); diff != "" { // b caches this set
			t.Fatalf("replica JWKS (-want +got):\n%s", diff)
		}
		bLoaded := e.clock.Now()
		oldToken, err := signer(t, a, keys.RS256).Sign(idTokenClaims())
		must(t, err)

		// Rotate: the new key is published but does not sign yet.
		e.clock.Add(10 * time.Second)
		rotatedAt := e.clock.Now()
		info, err := a.Rotate(ctx, keys.RS256, "cli")
		must(t, err)
		next := info.KID
		wantInfo := keys.KeyInfo{KID: next, Alg: keys.RS256, State: store.KeyNext, CreatedAt: rotatedAt, ActivatesAfter: rotatedAt.Add(delay)}
		if diff := cmp.Diff(wantInfo, info); diff != "" {
			t.Errorf("Rotate (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{old, next}, jwksKIDs(t, a)); diff != "" {
			t.Errorf("JWKS after rotate (-want +got):\n%s", diff)
		}
		if got := signer(t, a, keys.RS256).KID(); got != old {
			t.Errorf("after rotate, signs with %s, want the old key %s", got, old)
		}
		_, err = a.Rotate(ctx, keys.RS256, "cli")
		if !errors.Is(err, keys.ErrRotationPending) || outcome.CodeOf(err) != outcome.Conflict {
			t.Errorf("second Rotate = %v, want ErrRotationPending as conflict", err)
		}

		// The other replica sees the new key once its cache expires.
		e.clock.Set(bLoaded.Add(cacheTTL - time.Millisecond))
		if diff := cmp.Diff([]string{old}, jwksKIDs(t, b)); diff != "" {
			t.Errorf("replica JWKS within its cache time (-want +got):\n%s", diff)
		}
		e.clock.Set(bLoaded.Add(cacheTTL))
		if diff := cmp.Diff([]string{old, next}, jwksKIDs(t, b)); diff != "" {
			t.Errorf("replica JWKS after its cache time (-want +got):\n%s", diff)
		}

		// Advance before the delay: nothing changes.
		before := list(t, a)
		e.clock.Set(rotatedAt.Add(delay - time.Millisecond))
		must(t, a.Advance(ctx))
		if diff := cmp.Diff(before, list(t, a)); diff != "" {
			t.Errorf("Advance before the delay changed keys (-before +after):\n%s", diff)
		}
		if got := signer(t, b, keys.RS256).KID(); got != old { // b caches the set again
			t.Errorf("before the delay, the replica signs with %s, want %s", got, old)
		}

		// After the delay: the new key signs, the old one is retired and
		// still published.
		e.clock.Set(rotatedAt.Add(delay))
		switchedAt := e.clock.Now()
		must(t, a.Advance(ctx))
		must(t, a.Advance(ctx)) // idempotent
		removeAfter := switchedAt.Add(lifetime + cacheTTL)
		created := before[0].CreatedAt
		want := []keys.KeyInfo{
			{KID: old, Alg: keys.RS256, State: store.KeyRetired, CreatedAt: created, ActivatedAt: created, RetiredAt: switchedAt, RemoveAfter: removeAfter},
			{KID: next, Alg: keys.RS256, State: store.KeyActive, CreatedAt: rotatedAt, ActivatedAt: switchedAt},
		}
		if diff := cmp.Diff(want, list(t, a)); diff != "" {
			t.Errorf("after the delay (-want +got):\n%s", diff)
		}
		if got := signer(t, a, keys.RS256).KID(); got != next {
			t.Errorf("after the delay, signs with %s, want %s", got, next)
		}
		if diff := cmp.Diff([]string{next, old}, jwksKIDs(t, a)); diff != "" {
			t.Errorf("JWKS after the delay (-want +got):\n%s", diff)
		}
		verify := func(m *keys.Manager, token string) error {
			set, err := m.JWKS(ctx)
			must(t, err)
			jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
			must(t, err)
			found := set.Key(jws.Signatures[0].Protected.KeyID)
			if len(found) == 0 {
				return errors.New("kid not in the JWKS")
			}
			_, err = jws.Verify(found[0])
			return err
		}
		if err := verify(a, oldToken); err != nil {
			t.Errorf("a token of the retired key no longer verifies: %v", err)
		}

		// The other replica still signs with the old key from its cache,
		// then switches; the old key was kept for exactly that.
		if got := signer(t, b, keys.RS256).KID(); got != old {
			t.Errorf("replica within its cache time signs with %s, want %s", got, old)
		}
		e.clock.Add(cacheTTL)
		if got := signer(t, b, keys.RS256).KID(); got != next {
			t.Errorf("replica after its cache time signs with %s, want %s", got, next)
		}
		must(t, b.Advance(ctx)) // another replica's Advance: nothing left to do
		if diff := cmp.Diff(want, list(t, b)); diff != "" {
			t.Errorf("after the replica's Advance (-want +got):\n%s", diff)
		}

		// Until RemoveAfter the retired key stays; then it goes.
		e.clock.Set(removeAfter.Add(-time.Millisecond))
		must(t, a.Advance(ctx))
		if diff := cmp.Diff(want, list(t, a)); diff != "" {
			t.Errorf("just before RemoveAfter (-want +got):\n%s", diff)
		}
		if err := verify(a, oldToken); err != nil {
			t.Errorf("just before RemoveAfter, a token of the retired key no longer verifies: %v", err)
		}
		e.clock.Set(removeAfter)
		if diff := cmp.Diff([]string{next}, jwksKIDs(t, b)); diff != "" { // even from a cache
			t.Errorf("JWKS at RemoveAfter (-want +got):\n%s", diff)
		}
		must(t, a.Advance(ctx))
		if diff := cmp.Diff(want[1:], list(t, a)); diff != "" {
			t.Errorf("after RemoveAfter (-want +got):\n%s", diff)
		}
		if err := verify(a, oldToken); err == nil {
			t.Error("a token of the removed key still verifies")
		}

		wantAudit := []string{"keys.create/system/activated", "keys.rotate/cli/key_published", "keys.activate/system/activated"}
		if diff := cmp.Diff(wantAudit, auditTypes(t, db)); diff != "" {
			t.Errorf("audit (-want +got):\n%s", diff)
		}
	})
}

// TestAdvanceConcurrent runs Advance on every replica at once: the
// rotation happens once.
func TestAdvanceConcurrent(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		const n = 6
		first, db := e.replica(t)
		must(t, first.Ensure(ctx, keys.EdDSA))
		oldKey := signer(t, first, keys.EdDSA).KID()
		info, err := first.Rotate(ctx, keys.EdDSA, "cli")
		must(t, err)
		e.clock.Add(delay)

		wait := barrier(n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			m, _ := e.replica(t)
			keys.SetBeforeLock(m, wait)
			wg.Go(func() { errs[i] = m.Advance(ctx) })
		}
		wg.Wait()
		must(t, errors.Join(errs...))

		states := map[string]store.SigningKeyState{}
		for _, k := range list(t, first) {
			if k.Alg == keys.EdDSA {
				states[k.KID] = k.State
			}
		}
		want := map[string]store.SigningKeyState{oldKey: store.KeyRetired, info.KID: store.KeyActive}
		if diff := cmp.Diff(want, states); diff != "" {
			t.Errorf("EdDSA keys (-want +got):\n%s", diff)
		}
		events, err := db.ListAuditEvents(ctx, store.AuditFilter{Type: "keys.activate"})
		must(t, err)
		if len(events) != 1 {
			t.Errorf("%d keys.activate events, want 1", len(events))
		}
	})
}

func TestDefaults(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.db")
	e := newEnv(t, "sqlite:"+path, path)
	m := keys.New(keys.Config{Store: e.open(t), Keys: e.ring, Now: e.clock.Now})
	must(t, m.Ensure(ctx, keys.ES256))
	start := e.clock.Now()
	info, err := m.Rotate(ctx, keys.ES256, "cli")
	must(t, err)
	if want := start.Add(keys.DefaultRotationDelay); !info.ActivatesAfter.Equal(want) {
		t.Errorf("ActivatesAfter = %v, want %v", info.ActivatesAfter, want)
	}
	e.clock.Add(keys.DefaultRotationDelay)
	must(t, m.Advance(ctx))
	for _, k := range list(t, m) {
		if k.State != store.KeyRetired {
			continue
		}
		if want := e.clock.Now().Add(keys.DefaultMaxTokenLifetime + keys.DefaultCacheTTL); !k.RemoveAfter.Equal(want) {
			t.Errorf("RemoveAfter = %v, want %v", k.RemoveAfter, want)
		}
	}
}

func TestUnsupportedAlgorithm(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.db")
	e := newEnv(t, "sqlite:"+path, path)
	m := e.manager(e.open(t))
	for _, alg := range []string{"", "none", "HS256", "RS512", "rs256"} {
		if _, err := m.Signer(ctx, alg); !errors.Is(err, keys.ErrUnsupportedAlg) {
			t.Errorf("Signer(%q) = %v, want ErrUnsupportedAlg", alg, err)
		}
		if _, err := m.Rotate(ctx, alg, "cli"); !errors.Is(err, keys.ErrUnsupportedAlg) {
			t.Errorf("Rotate(%q) = %v, want ErrUnsupportedAlg", alg, err)
		}
	}
	if got := list(t, m); len(got) != 0 {
		t.Errorf("keys were created: %+v", got)
	}
}

// TestForeignPublicKeyNotPublished: a row whose public key is not the one
// its kid names is neither published nor used.
func TestForeignPublicKeyNotPublished(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		m, db := e.replica(t)
		must(t, m.Ensure(ctx))
		good := signer(t, m, keys.RS256).KID()
		_, other, err := ed25519.GenerateKey(nil)
		must(t, err)
		pub, _ := json.Marshal(jose.JSONWebKey{Key: other.Public(), KeyID: "planted", Algorithm: keys.EdDSA, Use: "sig"})
		must(t, db.CreateSigningKey(ctx, &store.SigningKey{KID: "planted", Alg: keys.EdDSA, PrivateKeyEnc: []byte{1},
			PublicJWK: pub, State: store.KeyActive, CreatedAt: e.clock.Now(), ActivatedAt: e.clock.Now()}))
		e.clock.Add(cacheTTL)
		if diff := cmp.Diff([]string{good}, jwksKIDs(t, m)); diff != "" {
			t.Errorf("JWKS (-want +got):\n%s", diff)
		}
	})
}

// TestSeveralActiveKeysRepaired: should a database ever hold two active
// keys of one algorithm (a restored backup, a hand edit), every replica
// signs with the same one and Advance retires the other, keeping it
// published.
func TestSeveralActiveKeysRepaired(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		m, db := e.replica(t)
		must(t, m.Ensure(ctx))
		first := signer(t, m, keys.RS256).KID()

		// A key made elsewhere with the same key ring, a second later.
		path := filepath.Join(t.TempDir(), "elsewhere.db")
		elsewhere := &env{url: "sqlite:" + path, sqlitePath: path, ring: e.ring, clock: newClock()}
		elsewhere.clock.Set(e.clock.Now().Add(time.Second))
		edb := elsewhere.open(t)
		must(t, elsewhere.manager(edb).Ensure(ctx))
		rows, err := edb.ListSigningKeys(ctx)
		must(t, err)
		second := rows[0]
		must(t, db.CreateSigningKey(ctx, &second))

		e.clock.Add(cacheTTL)
		other, _ := e.replica(t)
		for _, r := range []*keys.Manager{m, other} {
			if got := signer(t, r, keys.RS256).KID(); got != second.KID {
				t.Errorf("with two active keys, a replica signs with %s, want the later %s", got, second.KID)
			}
		}
		must(t, m.Advance(ctx))
		states := map[string]store.SigningKeyState{}
		for _, k := range list(t, m) {
			states[k.KID] = k.State
			if k.KID == first && !k.RemoveAfter.Equal(e.clock.Now().Add(lifetime+cacheTTL)) {
				t.Errorf("retired duplicate: RemoveAfter %v, want %v", k.RemoveAfter, e.clock.Now().Add(lifetime+cacheTTL))
			}
		}
		want := map[string]store.SigningKeyState{first: store.KeyRetired, second.KID: store.KeyActive}
		if diff := cmp.Diff(want, states); diff != "" {
			t.Errorf("after Advance (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{second.KID, first}, jwksKIDs(t, m)); diff != "" {
			t.Errorf("JWKS (-want +got):\n%s", diff)
		}
	})
}
