package session

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sallyport/sallyport/internal/store"
	"github.com/sallyport/sallyport/internal/store/sqlstore"
)

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// clock is the injected clock: tests move it, never sleep.
type clock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// world is one SQLite database with two users, shared by every replica.
type world struct {
	t      testing.TB
	dbPath string
	db     *sqlstore.DB
	clock  *clock
	users  map[string]store.User
}

func newWorld(t testing.TB) *world {
	t.Helper()
	w := &world{t: t, dbPath: filepath.Join(t.TempDir(), "sallyport.db"), clock: &clock{t: t0}, users: map[string]store.User{}}
	w.db = w.open()
	if _, err := w.db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ann", "bob"} {
		u := store.User{Email: name + "@acme.com", EmailVerified: true, Name: name}
		if err := w.db.CreateUser(context.Background(), &u); err != nil {
			t.Fatal(err)
		}
		w.users[name] = u
	}
	return w
}

// open opens another handle on the database: another replica's view.
func (w *world) open() *sqlstore.DB {
	db, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: "sqlite:" + w.dbPath})
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { db.Close() })
	return db
}

// replica is one Sallyport process: a Manager behind a real TLS server.
//
//	POST /signin?user=ann  Start inside a transaction (rollback=1 rolls it back)
//	GET  /whoami           Current: 200 and the user name, or 401
//	POST /logout           End
type replica struct {
	w  *world
	db *sqlstore.DB
	m  *Manager
	ts *httptest.Server
}

func (w *world) replica(db *sqlstore.DB, configure ...func(*Config)) *replica {
	cfg := Config{Store: db, Now: w.clock.Now}
	for _, f := range configure {
		f(&cfg)
	}
	rp := &replica{w: w, db: db, m: New(cfg)}
	names := map[string]string{}
	for name, u := range w.users {
		names[u.ID] = name
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /signin", func(rw http.ResponseWriter, r *http.Request) {
		errRollback := errors.New("rolled back")
		err := db.Tx(r.Context(), func(q store.Queries) error {
			_, err := rp.m.Start(r.Context(), q, rw, r, StartParams{
				UserID: w.users[r.URL.Query().Get("user")].ID, AMR: []string{"pwd", "otp"},
				IP: "192.0.2.1", UserAgent: r.UserAgent(),
			})
			if err == nil && r.URL.Query().Get("rollback") == "1" {
				return errRollback
			}
			return err
		})
		if err != nil && !errors.Is(err, errRollback) {
			http.Error(rw, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("GET /whoami", func(rw http.ResponseWriter, r *http.Request) {
		s, err := rp.m.Current(r)
		switch {
		case errors.Is(err, ErrNoSession):
			http.Error(rw, "signed out", http.StatusUnauthorized)
		case err != nil:
			http.Error(rw, err.Error(), http.StatusInternalServerError)
		default:
			io.WriteString(rw, names[s.UserID])
		}
	})
	mux.HandleFunc("POST /logout", func(rw http.ResponseWriter, r *http.Request) {
		if err := rp.m.End(r.Context(), rw, r); err != nil {
			http.Error(rw, err.Error(), http.StatusInternalServerError)
		}
	})
	rp.ts = httptest.NewTLSServer(mux)
	w.t.Cleanup(rp.ts.Close)
	return rp
}

// browser is a cookie jar trusting rp's certificate. Every httptest server
// listens on 127.0.0.1, and cookies are not isolated by port, so one browser
// reaches every replica with the same cookies, as through a load balancer.
func (rp *replica) browser() *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		rp.w.t.Fatal(err)
	}
	return &http.Client{Transport: rp.ts.Client().Transport, Jar: jar}
}

func (rp *replica) do(c *http.Client, method, path string) *http.Response {
	rp.w.t.Helper()
	req, err := http.NewRequest(method, rp.ts.URL+path, nil)
	if err != nil {
		rp.w.t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		rp.w.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if resp.StatusCode >= 500 {
		rp.w.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, body)
	}
	return resp
}

// signIn starts a session for user in browser c and returns the cookie.
func (rp *replica) signIn(c *http.Client, user string) *http.Cookie {
	rp.w.t.Helper()
	resp := rp.do(c, http.MethodPost, "/signin?user="+user)
	for _, ck := range resp.Cookies() {
		if ck.Name == CookieName {
			return ck
		}
	}
	rp.w.t.Fatalf("sign-in set no session cookie: %v", resp.Header["Set-Cookie"])
	return nil
}

// whoami is the name of the user browser c is signed in as, or "".
func (rp *replica) whoami(c *http.Client) string {
	rp.w.t.Helper()
	resp := rp.do(c, http.MethodGet, "/whoami")
	if resp.StatusCode == http.StatusUnauthorized {
		return ""
	}
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// with is a browser that holds only the given session cookie value.
func (rp *replica) with(value string) *http.Client {
	c := rp.browser()
	u, _ := url.Parse(rp.ts.URL)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: CookieName, Value: value, Path: "/", Secure: true}})
	return c
}

// stored reads the session straight from the store (no cache).
func (w *world) stored(id string) (store.Session, error) {
	return w.db.GetSession(context.Background(), store.HashToken(id), w.clock.Now())
}

func TestStartNewIDEachSignIn(t *testing.T) {
	w := newWorld(t)
	rp := w.replica(w.db)
	b := rp.browser()
	first := rp.signIn(b, "ann")
	if got := rp.whoami(b); got != "ann" {
		t.Fatalf("whoami = %q, want ann", got)
	}
	second := rp.signIn(b, "bob") // same browser, arriving with ann's session
	if second.Value == first.Value {
		t.Fatal("the second sign-in reused the session id")
	}
	if got := rp.whoami(b); got != "bob" {
		t.Errorf("whoami = %q, want bob", got)
	}
	// The old session is revoked in the store and forgotten here at once,
	// although it was cached a moment ago.
	if _, err := w.stored(first.Value); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("old session in the store: %v, want ErrNotFound", err)
	}
	if got := rp.whoami(rp.with(first.Value)); got != "" {
		t.Errorf("the old cookie still signs in as %q", got)
	}

	// Signing in again as the same user also gets a new id.
	third := rp.signIn(b, "bob")
	if third.Value == second.Value {
		t.Fatal("a sign-in as the same user reused the session id")
	}
	s, err := w.stored(third.Value)
	if err != nil {
		t.Fatal(err)
	}
	want := store.Session{
		IDHash: store.HashToken(third.Value), UserID: w.users["bob"].ID, AMR: []string{"pwd", "otp"},
		CreatedAt: t0, LastSeenAt: t0, IdleExpiresAt: t0.Add(DefaultIdle), AbsoluteExpiresAt: t0.Add(DefaultAbsolute),
		IP: "192.0.2.1", UserAgent: "Go-http-client/1.1",
	}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("stored session (-want +got):\n%s", diff)
	}
}

func TestCookieAttributes(t *testing.T) {
	w := newWorld(t)
	rp := w.replica(w.db)
	b := rp.browser()
	type attrs struct {
		Name     string
		Path     string
		Domain   string
		MaxAge   int
		Secure   bool
		HttpOnly bool
		SameSite http.SameSite
	}
	got := func(c *http.Cookie) attrs {
		return attrs{c.Name, c.Path, c.Domain, c.MaxAge, c.Secure, c.HttpOnly, c.SameSite}
	}
	c := rp.signIn(b, "ann")
	if diff := cmp.Diff(attrs{CookieName, "/", "", int(DefaultAbsolute / time.Second), true, true, http.SameSiteLaxMode}, got(c)); diff != "" {
		t.Errorf("session cookie (-want +got):\n%s", diff)
	}
	if raw, err := base64.RawURLEncoding.DecodeString(c.Value); err != nil || len(raw) != 32 {
		t.Errorf("session id %q: want 32 random bytes, base64url", c.Value)
	}

	resp := rp.do(b, http.MethodPost, "/logout")
	cleared := resp.Cookies()
	if len(cleared) != 1 {
		t.Fatalf("logout Set-Cookie: %v", resp.Header["Set-Cookie"])
	}
	// Go reports "Max-Age=0" as MaxAge -1: delete now.
	if diff := cmp.Diff(attrs{CookieName, "/", "", -1, true, true, http.SameSiteLaxMode}, got(cleared[0])); diff != "" {
		t.Errorf("cleared cookie (-want +got):\n%s", diff)
	}
	if cleared[0].Value != "" {
		t.Errorf("cleared cookie keeps value %q", cleared[0].Value)
	}
}

func TestIdleExpiry(t *testing.T) {
	w := newWorld(t)
	rp := w.replica(w.db)
	idle, busy := rp.browser(), rp.browser()
	rp.signIn(idle, "ann")
	rp.signIn(busy, "bob")

	// The busy browser comes back just before each idle expiry and slides it.
	for range 3 {
		w.clock.Advance(DefaultIdle - time.Millisecond)
		if got := rp.whoami(busy); got != "bob" {
			t.Fatalf("at %v: busy browser whoami = %q", w.clock.Now().Sub(t0), got)
		}
	}
	if got := rp.whoami(idle); got != "" {
		t.Errorf("idle browser still signed in as %q after %v", got, w.clock.Now().Sub(t0))
	}
	w.clock.Advance(DefaultIdle)
	if got := rp.whoami(busy); got != "" {
		t.Errorf("busy browser still signed in after %v without a request", DefaultIdle)
	}
}

func TestIdleExpiryExact(t *testing.T) {
	w := newWorld(t)
	rp := w.replica(w.db)
	b := rp.browser()
	rp.signIn(b, "ann")
	w.clock.Advance(DefaultIdle)
	if got := rp.whoami(b); got != "" {
		t.Errorf("signed in as %q exactly at the idle expiry", got)
	}
}

func TestAbsoluteExpiry(t *testing.T) {
	w := newWorld(t)
	rp := w.replica(w.db, func(c *Config) { c.Idle, c.Absolute = time.Hour, 3*time.Hour })
	b := rp.browser()
	c := rp.signIn(b, "ann")
	if c.MaxAge != 3*60*60 {
		t.Errorf("cookie Max-Age = %d, want the absolute lifetime", c.MaxAge)
	}
	for range 3 {
		w.clock.Advance(50 * time.Minute)
		if got := rp.whoami(b); got != "ann" {
			t.Fatalf("at %v: whoami = %q", w.clock.Now().Sub(t0), got)
		}
	}
	s, err := w.stored(c.Value)
	if err != nil {
		t.Fatal(err)
	}
	if want := t0.Add(3 * time.Hour); !s.IdleExpiresAt.Equal(want) {
		t.Errorf("idle expiry %v slid past the absolute expiry %v", s.IdleExpiresAt, want)
	}
	w.clock.Advance(30 * time.Minute) // 180 min: idle has 30 min left, absolute none
	if got := rp.whoami(b); got != "" {
		t.Errorf("signed in as %q at the absolute expiry", got)
	}
}

func TestTouchThrottled(t *testing.T) {
	w := newWorld(t)
	rp := w.replica(w.db)
	b := rp.browser()
	c := rp.signIn(b, "ann")
	check := func(wantSeen time.Duration) {
		t.Helper()
		if got := rp.whoami(b); got != "ann" {
			t.Fatalf("whoami = %q", got)
		}
		s, err := w.stored(c.Value)
		if err != nil {
			t.Fatal(err)
		}
		if !s.LastSeenAt.Equal(t0.Add(wantSeen)) || !s.IdleExpiresAt.Equal(t0.Add(wantSeen+DefaultIdle)) {
			t.Errorf("at %v: last seen %v, idle expiry %v; want last seen t0+%v",
				w.clock.Now().Sub(t0), s.LastSeenAt.Sub(t0), s.IdleExpiresAt.Sub(t0), wantSeen)
		}
	}
	w.clock.Advance(30 * time.Second)
	check(0) // within TouchEvery of the sign-in: no write
	w.clock.Advance(29 * time.Second)
	check(0)
	w.clock.Advance(2 * time.Second) // 61 s
	check(61 * time.Second)
	w.clock.Advance(time.Second) // cached entry: no write
	check(61 * time.Second)
	w.clock.Advance(10 * time.Second) // stale cache, store read: still no write
	check(61 * time.Second)
	w.clock.Advance(49 * time.Second) // 121 s
	check(121 * time.Second)
}

func TestEndIsImmediate(t *testing.T) {
	w := newWorld(t)
	rp := w.replica(w.db)
	b := rp.browser()
	c := rp.signIn(b, "ann")
	if got := rp.whoami(b); got != "ann" {
		t.Fatalf("whoami = %q", got)
	}
	rp.do(b, http.MethodPost, "/logout")
	if got := rp.whoami(b); got != "" {
		t.Errorf("the browser is still signed in as %q after logout", got)
	}
	// A copy of the cookie kept from before the logout is dead too, at the
	// same instant, although the session was cached.
	if got := rp.whoami(rp.with(c.Value)); got != "" {
		t.Errorf("a kept copy of the cookie still signs in as %q", got)
	}
	if _, err := w.stored(c.Value); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("store after logout: %v, want ErrNotFound", err)
	}
	// Ending with no session is not an error.
	rp.do(b, http.MethodPost, "/logout")
}

func TestRevocationReachesOtherReplicas(t *testing.T) {
	for _, tt := range []struct {
		name     string
		cacheTTL time.Duration
		seenIn   time.Duration
		revoke   func(t *testing.T, a *replica, b *http.Client, userID string)
	}{
		{"End", 0, DefaultCacheTTL, func(t *testing.T, a *replica, b *http.Client, _ string) {
			a.do(a.with(cookieOf(t, a, b)), http.MethodPost, "/logout")
		}},
		{"RevokeUser", 0, DefaultCacheTTL, func(t *testing.T, a *replica, _ *http.Client, userID string) {
			if n, err := a.m.RevokeUser(context.Background(), userID); err != nil || n != 1 {
				t.Fatalf("RevokeUser = %d, %v; want 1", n, err)
			}
		}},
		{"CacheTTL capped", time.Hour, MaxCacheTTL, func(t *testing.T, a *replica, _ *http.Client, userID string) {
			if _, err := a.m.RevokeUser(context.Background(), userID); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			cfg := func(c *Config) { c.CacheTTL = tt.cacheTTL }
			a, other := w.replica(w.open(), cfg), w.replica(w.open(), cfg)
			b := a.browser()
			a.signIn(b, "ann")
			if got := other.whoami(b); got != "ann" { // now cached on the other replica
				t.Fatalf("other replica: whoami = %q", got)
			}
			tt.revoke(t, a, b, w.users["ann"].ID)
			if got := a.whoami(b); got != "" {
				t.Errorf("the revoking replica still sees %q", got)
			}
			w.clock.Advance(tt.seenIn - time.Millisecond)
			other.whoami(b) // may still be cached: bounded staleness
			w.clock.Advance(time.Millisecond)
			if got := other.whoami(b); got != "" {
				t.Errorf("other replica still sees %q %v after the revocation", got, tt.seenIn)
			}
		})
	}
}

func cookieOf(t *testing.T, rp *replica, c *http.Client) string {
	t.Helper()
	u, _ := url.Parse(rp.ts.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == CookieName {
			return ck.Value
		}
	}
	t.Fatal("no session cookie in the jar")
	return ""
}

func TestRevokeUser(t *testing.T) {
	w := newWorld(t)
	rp := w.replica(w.db)
	laptop, phone, bobs := rp.browser(), rp.browser(), rp.browser()
	rp.signIn(laptop, "ann")
	rp.signIn(phone, "ann")
	rp.signIn(bobs, "bob")
	for _, b := range []*http.Client{laptop, phone, bobs} {
		rp.whoami(b) // cache them all
	}
	n, err := rp.m.RevokeUser(context.Background(), w.users["ann"].ID)
	if err != nil || n != 2 {
		t.Fatalf("RevokeUser = %d, %v; want 2", n, err)
	}
	if rp.whoami(laptop) != "" || rp.whoami(phone) != "" {
		t.Error("a revoked session is still served from the cache")
	}
	if got := rp.whoami(bobs); got != "bob" {
		t.Errorf("bob's session: whoami = %q", got)
	}
}

func TestStartRolledBack(t *testing.T) {
	w := newWorld(t)
	rp := w.replica(w.db)
	b := rp.browser()
	old := rp.signIn(b, "ann")
	resp := rp.do(b, http.MethodPost, "/signin?user=bob&rollback=1")
	if len(resp.Cookies()) != 1 {
		t.Fatalf("Set-Cookie: %v", resp.Header["Set-Cookie"])
	}
	// The new cookie names no session; the old session's revocation was
	// rolled back with it, so a kept copy of it still works.
	if got := rp.whoami(b); got != "" {
		t.Errorf("rolled-back sign-in: whoami = %q", got)
	}
	if got := rp.whoami(rp.with(old.Value)); got != "ann" {
		t.Errorf("old session after a rolled-back sign-in: whoami = %q, want ann", got)
	}
}

// TestIDNeverStored searches the session row and the database files for
// the session id: only its SHA-256 may be there.
func TestIDNeverStored(t *testing.T) {
	w := newWorld(t)
	rp := w.replica(w.db)
	b := rp.browser()
	c := rp.signIn(b, "ann")
	rp.whoami(b)
	raw, _ := base64.RawURLEncoding.DecodeString(c.Value)

	db, err := sql.Open("sqlite", w.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var row []byte
	var idHash []byte
	rows, err := db.Query(`SELECT * FROM sessions`)
	if err != nil {
		t.Fatal(err)
	}
	cols, _ := rows.Columns()
	n := 0
	for rows.Next() {
		n++
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		idHash = vals[0].([]byte)
		for _, v := range vals {
			if bs, ok := v.([]byte); ok {
				row = append(row, bs...)
			} else if s, ok := v.(string); ok {
				row = append(row, s...)
			}
		}
	}
	rows.Close()
	if n != 1 {
		t.Fatalf("%d session rows, want 1", n)
	}
	if !bytes.Equal(idHash, store.HashToken(c.Value)) {
		t.Errorf("id_hash = %x, want SHA-256 of the cookie value", idHash)
	}
	var files []byte
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(w.dbPath + suffix)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		files = append(files, b...)
	}
	for what, haystack := range map[string][]byte{"the session row": row, "the database files": files} {
		if bytes.Contains(haystack, []byte(c.Value)) || bytes.Contains(haystack, raw) {
			t.Errorf("%s contain the session id", what)
		}
	}
	if !bytes.Contains(files, store.HashToken(c.Value)) {
		t.Error("the search cannot see the database: the hash is not found either")
	}
}

func TestMalformedCookieIsNoSession(t *testing.T) {
	w := newWorld(t)
	rp := w.replica(w.db)
	b := rp.browser()
	good := rp.signIn(b, "ann").Value
	flip := []byte(good)
	flip[0] ^= 1 // still well-formed, but another id
	for _, v := range []string{
		"",
		"x",
		good[:42],
		good + "A",
		good[:42] + "!",
		good[:42] + "B", // non-canonical: the last character carries stray bits
		strings.Repeat("A", 43),
		string(flip),
		good[:42] + "=",
		base64.StdEncoding.EncodeToString(store.HashToken(good)),
		base64.RawURLEncoding.EncodeToString(store.HashToken(good)),
	} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.AddCookie(&http.Cookie{Name: CookieName, Value: v})
		if s, err := rp.m.Current(req); !errors.Is(err, ErrNoSession) {
			t.Errorf("cookie %q: Current = %v, %v; want ErrNoSession", v, s.UserID, err)
		}
	}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	if _, err := rp.m.Current(req); !errors.Is(err, ErrNoSession) {
		t.Errorf("no cookie: %v, want ErrNoSession", err)
	}
}

func TestCacheBounded(t *testing.T) {
	w := newWorld(t)
	rp := w.replica(w.db, func(c *Config) { c.CacheSize = 3 })
	var ids []string
	for range 10 {
		ids = append(ids, rp.signIn(rp.browser(), "ann").Value)
	}
	for _, id := range ids {
		if got := rp.whoami(rp.with(id)); got != "ann" {
			t.Fatalf("whoami = %q", got)
		}
		rp.m.mu.Lock()
		n := len(rp.m.cache)
		rp.m.mu.Unlock()
		if n > 3 {
			t.Fatalf("cache holds %d entries, bound is 3", n)
		}
	}
}

func TestStartNeedsUser(t *testing.T) {
	w := newWorld(t)
	m := New(Config{Store: w.db, Now: w.clock.Now})
	_, err := m.Start(context.Background(), w.db, httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/", nil), StartParams{})
	if err == nil {
		t.Fatal("Start without a user succeeded")
	}
}

func benchmarkCurrent(b *testing.B, cacheTTL time.Duration) {
	w := newWorld(b)
	m := New(Config{Store: w.db, Now: w.clock.Now, CacheTTL: cacheTTL})
	rec := httptest.NewRecorder()
	if _, err := m.Start(context.Background(), w.db, rec, httptest.NewRequest(http.MethodPost, "/", nil), StartParams{UserID: w.users["ann"].ID}); err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.AddCookie(rec.Result().Cookies()[0])
	if _, err := m.Current(req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Current(req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCurrentWarm is a session lookup served from the cache.
func BenchmarkCurrentWarm(b *testing.B) { benchmarkCurrent(b, 0) }

// BenchmarkCurrentCold is a session lookup from SQLite every time.
func BenchmarkCurrentCold(b *testing.B) { benchmarkCurrent(b, -1) }

// TestExpiryBeatsCache: a cached session still expires on time.
func TestExpiryBeatsCache(t *testing.T) {
	w := newWorld(t)
	rp := w.replica(w.db, func(c *Config) { c.Idle, c.Absolute = time.Hour, time.Hour })
	b := rp.browser()
	rp.signIn(b, "ann")
	w.clock.Advance(time.Hour - time.Second)
	if got := rp.whoami(b); got != "ann" { // cached now, for CacheTTL
		t.Fatalf("whoami = %q", got)
	}
	w.clock.Advance(time.Second)
	if got := rp.whoami(b); got != "" {
		t.Errorf("the cache served %q past the absolute expiry", got)
	}
}
