package sallyport

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sallyport/sallyport/internal/config"
	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/store"
	"github.com/sallyport/sallyport/internal/store/sqlstore/sqltest"
	"github.com/sallyport/sallyport/internal/testidp"
)

// These tests drive whole sign-ins through HTTP: a browser (a cookie jar)
// against Sallyport served over TLS (its cookies are __Host- and Secure),
// and testidp as the upstream, speaking real OIDC with real keys.

// harness is one Sallyport and one upstream.
type harness struct {
	t     testing.TB
	clock *clock
	srv   *Server
	ts    *httptest.Server
	idp   *testidp.IdP
}

const (
	corpClient = "sallyport-corp"
	corpSecret = "corp-secret-value"
)

// newHarness starts testidp and Sallyport with a generic OIDC connection
// "corp" (and a second one, "other", for mix-up tests) on databaseURL
// ("" = a fresh SQLite file).
func newHarness(t testing.TB, databaseURL string, tweak func(*Settings)) *harness {
	t.Helper()
	idp, err := testidp.Start(testidp.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Close() })
	otherIssuer, err := idp.AddGeneric("other", false)
	if err != nil {
		t.Fatal(err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "https://" + ln.Addr().String()
	for _, persona := range []string{testidp.Generic, "other"} {
		if err := idp.AddClient(persona, testidp.Client{ID: corpClient, Secret: corpSecret, RedirectURIs: []string{
			issuer + "/callback/corp", issuer + "/callback/other"}}); err != nil {
			t.Fatal(err)
		}
	}

	if databaseURL == "" {
		databaseURL = "sqlite:" + filepath.Join(t.TempDir(), "sallyport.db")
	}
	settings := DefaultSettings()
	settings.Issuer = issuer
	settings.Database = databaseURL
	settings.EncryptionKey = randomKey(t)
	settings.InsecureAllowPrivateNetworks = true
	settings.Connections = []config.Connection{
		{Slug: "corp", Kind: config.KindOIDC, DisplayName: "Corp IdP", Issuer: idp.Issuer(testidp.Generic), ClientID: corpClient, ClientSecret: corpSecret},
		{Slug: "other", Kind: config.KindOIDC, DisplayName: "Other IdP", Issuer: otherIssuer, ClientID: corpClient, ClientSecret: corpSecret},
	}
	if tweak != nil {
		tweak(settings)
	}
	clk := &clock{}
	srv, err := New(context.Background(), Config{Settings: settings, CleanupInterval: -1, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	ts := &httptest.Server{Listener: ln, Config: &http.Server{Handler: srv.Handler()}}
	ts.StartTLS()
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	return &harness{t: t, clock: clk, srv: srv, ts: ts, idp: idp}
}

// clock is the wall clock plus an offset a test moves forward.
type clock struct{ offset atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

func randomKey(t testing.TB) string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// browser is one browser: its own cookie jar, trusting Sallyport's test
// certificate, following redirects like a browser does.
func (h *harness) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	c := *h.ts.Client() // a copy: ts.Client() is one shared client
	c.Jar = jar
	return &c
}

// user adds a person at the upstream and makes them the one who signs in.
func (h *harness) user(persona string, u testidp.User) {
	h.t.Helper()
	if err := h.idp.AddUser(persona, u); err != nil {
		h.t.Fatal(err)
	}
	if err := h.idp.SignInAs(persona, u.Subject); err != nil {
		h.t.Fatal(err)
	}
}

// result is where a sign-in ended.
type result struct {
	status int
	url    *url.URL
	body   string
}

func (h *harness) get(c *http.Client, path string) result {
	h.t.Helper()
	resp, err := c.Get(h.ts.URL + path)
	if err != nil {
		h.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return result{status: resp.StatusCode, url: resp.Request.URL, body: string(body)}
}

// signIn runs /login/{connection} through the upstream and back.
func (h *harness) signIn(c *http.Client, connection string) result {
	return h.get(c, "/login/"+connection)
}

// noRedirects stops at the first redirect, for stepping through a flow.
func noRedirects(c *http.Client) *http.Client {
	cc := *c
	cc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cc
}

// upstreamCallback starts a sign-in and returns the callback URL the
// upstream sent the browser back with, without following it.
func (h *harness) upstreamCallback(c *http.Client, connection string) *url.URL {
	h.t.Helper()
	step := noRedirects(c)
	resp, err := step.Get(h.ts.URL + "/login/" + connection)
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		h.t.Fatalf("/login/%s = %d, want 303", connection, resp.StatusCode)
	}
	resp, err = step.Get(resp.Header.Get("Location"))
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil {
		h.t.Fatalf("upstream answered %d without a redirect: %v", resp.StatusCode, err)
	}
	return loc
}

func (h *harness) countUsers() int {
	h.t.Helper()
	users, err := h.srv.store().ListUsers(context.Background(), "", 1000)
	if err != nil {
		h.t.Fatal(err)
	}
	return len(users)
}

// lastAudit returns the newest audit event of a type.
func (h *harness) lastAudit(typ string) store.AuditEvent {
	h.t.Helper()
	events, err := h.srv.store().ListAuditEvents(context.Background(), store.AuditFilter{Type: typ, Limit: 1})
	if err != nil || len(events) == 0 {
		h.t.Fatalf("no %s audit event (%v)", typ, err)
	}
	return events[0]
}

func TestSignInThroughGenericOIDC(t *testing.T) {
	h := newHarness(t, "", nil)
	h.user(testidp.Generic, testidp.User{Subject: "ann-1", Email: "Ann@Example.com", EmailVerified: true, Name: "Ann Lee"})
	b := h.browser()

	r := h.signIn(b, "corp")
	if r.status != http.StatusOK || r.url.Path != "/account" {
		t.Fatalf("sign-in ended at %s with %d:\n%.1500s", r.url, r.status, r.body)
	}
	for _, want := range []string{"Ann Lee", "ann@example.com", "Corp IdP"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("/account lacks %q", want)
		}
	}
	if ev := h.lastAudit("login.callback"); ev.Outcome != string(outcome.JITCreated) || ev.UserID == "" {
		t.Errorf("audit = %+v, want jit_created with the user", ev)
	}

	// The second sign-in finds the identity; no second user.
	b2 := h.browser()
	if r := h.signIn(b2, "corp"); r.url.Path != "/account" {
		t.Fatalf("second sign-in ended at %s (%d)", r.url, r.status)
	}
	if ev := h.lastAudit("login.callback"); ev.Outcome != string(outcome.ExistingIdentity) {
		t.Errorf("second sign-in audit outcome %s, want existing_identity", ev.Outcome)
	}
	if n := h.countUsers(); n != 1 {
		t.Errorf("%d users, want 1", n)
	}

	// Logout ends the session server-side: /account sends the browser to /login.
	resp, err := b.Post(h.ts.URL+"/logout", "application/x-www-form-urlencoded", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/login" {
		t.Errorf("POST /logout ended at %s with %d, want the signed-out /login", resp.Request.URL, resp.StatusCode)
	}
	if ev := h.lastAudit("session.logout"); ev.Outcome != string(outcome.SignedOut) {
		t.Errorf("logout audit outcome %s", ev.Outcome)
	}
	if r := h.get(b, "/account"); r.url.Path != "/login" {
		t.Errorf("after logout /account ended at %s", r.url)
	}
}

// return_to survives the trip when it is a same-origin path, and an open
// redirect is refused before anything is sent upstream.
func TestReturnTo(t *testing.T) {
	h := newHarness(t, "", nil)
	h.user(testidp.Generic, testidp.User{Subject: "ann-1", Email: "ann@example.com", EmailVerified: true})
	if r := h.get(h.browser(), "/login/corp?return_to=%2Faccount%3Ftab%3D1"); r.url.Path != "/account" || r.url.RawQuery != "tab=1" {
		t.Errorf("return_to landed on %s", r.url)
	}
	for _, evil := range []string{"//evil.example", "https://evil.example/", "/\\evil.example", "/%2F%2Fevil.example", "javascript:alert(1)"} {
		r := h.get(h.browser(), "/login/corp?return_to="+url.QueryEscape(evil))
		if r.status != http.StatusBadRequest || r.url.Host != h.ts.Listener.Addr().String() {
			t.Errorf("return_to=%q: %d at %s, want a 400 page from Sallyport", evil, r.status, r.url)
		}
	}
}

// Each way the upstream's answer can be wrong ends on Sallyport's outcome
// page with the DESIGN §9 status, an audit event, and nobody signed in.
func TestCallbackRefusals(t *testing.T) {
	h := newHarness(t, "", nil)
	h.user(testidp.Generic, testidp.User{Subject: "ann-1", Email: "ann@example.com", EmailVerified: true})
	tests := []struct {
		name   string
		m      testidp.Misbehavior
		want   outcome.Code
		status int
	}{
		{"bad signature", testidp.Misbehavior{BadSignature: true}, outcome.IdentityInvalid, 400},
		{"alg none", testidp.Misbehavior{AlgNone: true}, outcome.IdentityInvalid, 400},
		{"HMAC keyed with the public key", testidp.Misbehavior{HMACWithPublicKey: true}, outcome.IdentityInvalid, 400},
		{"wrong issuer", testidp.Misbehavior{WrongIssuer: true}, outcome.IdentityInvalid, 400},
		{"foreign audience", testidp.Misbehavior{WrongAudience: true}, outcome.IdentityInvalid, 400},
		{"untrusted extra audience", testidp.Misbehavior{ExtraAudience: testidp.ExtraAudienceWithAZP}, outcome.IdentityInvalid, 400},
		{"several audiences, no azp", testidp.Misbehavior{ExtraAudience: testidp.ExtraAudienceNoAZP}, outcome.IdentityInvalid, 400},
		{"wrong nonce", testidp.Misbehavior{WrongNonce: true}, outcome.IdentityInvalid, 400},
		{"missing nonce", testidp.Misbehavior{DropNonce: true}, outcome.IdentityInvalid, 400},
		{"expired token", testidp.Misbehavior{Expired: true}, outcome.IdentityInvalid, 400},
		{"issued in the future", testidp.Misbehavior{IssuedInFuture: true}, outcome.IdentityInvalid, 400},
		{"bad at_hash", testidp.Misbehavior{BadAtHash: true}, outcome.IdentityInvalid, 400},
		{"userinfo subject differs", testidp.Misbehavior{UserinfoSubjectMismatch: true}, outcome.IdentityInvalid, 400},
		{"RFC 9207 iss differs", testidp.Misbehavior{WrongIssParam: true}, outcome.InvalidState, 400},
		{"unknown kid, never published", testidp.Misbehavior{UnknownKID: testidp.UnknownKIDNever}, outcome.IdentityInvalid, 400},
		{"upstream error", testidp.Misbehavior{ErrorCallback: true}, outcome.UpstreamError, 502},
		{"token endpoint error", testidp.Misbehavior{TokenError: true}, outcome.CodeExchangeFailed, 502},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := h.idp.Misbehave(testidp.Generic, tt.m); err != nil {
				t.Fatal(err)
			}
			defer h.idp.Misbehave(testidp.Generic, testidp.Misbehavior{})
			users := h.countUsers()
			b := h.browser()
			r := h.signIn(b, "corp")
			if r.status != tt.status || r.url.Path != "/callback/corp" {
				t.Fatalf("ended at %s with %d, want %d on the callback:\n%.800s", r.url, r.status, tt.status, r.body)
			}
			if !strings.Contains(r.body, tt.want.Sentence()) {
				t.Errorf("the page does not say %q", tt.want.Sentence())
			}
			if ev := h.lastAudit("login.callback"); ev.Outcome != string(tt.want) {
				t.Errorf("audit outcome %s, want %s", ev.Outcome, tt.want)
			}
			if h.countUsers() != users {
				t.Error("a refused sign-in created a user")
			}
			if r := h.get(b, "/account"); r.url.Path != "/login" {
				t.Error("a refused sign-in left a session")
			}
		})
	}
}

// The state is single-use, bound to the browser that started the flow, and
// to the connection it was sent to.
func TestStateProtections(t *testing.T) {
	h := newHarness(t, "", nil)
	h.user(testidp.Generic, testidp.User{Subject: "ann-1", Email: "ann@example.com", EmailVerified: true})
	h.user("other", testidp.User{Subject: "ann-1", Email: "ann@example.com", EmailVerified: true})

	t.Run("replayed", func(t *testing.T) {
		b := h.browser()
		cb := h.upstreamCallback(b, "corp")
		if r := h.get(b, cb.RequestURI()); r.url.Path != "/account" {
			t.Fatalf("first use ended at %s (%d)", r.url, r.status)
		}
		if r := h.get(b, cb.RequestURI()); r.status != http.StatusBadRequest {
			t.Errorf("replayed callback: %d, want 400", r.status)
		}
	})
	t.Run("expired", func(t *testing.T) {
		b := h.browser()
		cb := h.upstreamCallback(b, "corp")
		h.clock.Advance(10*time.Minute + time.Second)
		if r := h.get(b, cb.RequestURI()); r.status != http.StatusBadRequest {
			t.Errorf("callback after 10 minutes: %d, want 400", r.status)
		}
	})
	t.Run("foreign browser", func(t *testing.T) {
		cb := h.upstreamCallback(h.browser(), "corp")
		if r := h.get(h.browser(), cb.RequestURI()); r.status != http.StatusBadRequest {
			t.Errorf("callback in another browser: %d, want 400", r.status)
		}
	})
	t.Run("missing state", func(t *testing.T) {
		b := h.browser()
		cb := h.upstreamCallback(b, "corp")
		q := cb.Query()
		q.Del("state")
		if r := h.get(b, cb.Path+"?"+q.Encode()); r.status != http.StatusBadRequest {
			t.Errorf("callback without state: %d, want 400", r.status)
		}
	})
	t.Run("mix-up across connections", func(t *testing.T) {
		b := h.browser()
		cb := h.upstreamCallback(b, "corp")
		if r := h.get(b, "/callback/other?"+cb.RawQuery); r.status != http.StatusBadRequest {
			t.Errorf("corp's callback delivered to other: %d, want 400", r.status)
		}
		if ev := h.lastAudit("login.callback"); ev.Outcome != string(outcome.InvalidState) {
			t.Errorf("audit outcome %s", ev.Outcome)
		}
	})
	t.Run("unknown connection", func(t *testing.T) {
		if r := h.get(h.browser(), "/login/nope"); r.status != http.StatusNotFound {
			t.Errorf("/login/nope: %d, want 404", r.status)
		}
	})
}

// Ten browsers signing the same new person in at once end with exactly one
// user and one identity, and every browser signed in.
func TestConcurrentFirstSignIns(t *testing.T) {
	run := func(t *testing.T, databaseURL string) {
		h := newHarness(t, databaseURL, func(s *Settings) { s.RateLimits.Enabled = false })
		h.user(testidp.Generic, testidp.User{Subject: "new-1", Email: "new@example.com", EmailVerified: true})
		var wg sync.WaitGroup
		errs := make(chan error, 10)
		for range 10 {
			wg.Go(func() {
				resp, err := h.browser().Get(h.ts.URL + "/login/corp")
				if err != nil {
					errs <- err
					return
				}
				resp.Body.Close()
				if resp.Request.URL.Path != "/account" {
					errs <- fmt.Errorf("ended at %s with %d", resp.Request.URL, resp.StatusCode)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if n := h.countUsers(); n != 1 {
			t.Errorf("%d users, want 1", n)
		}
		u, err := h.srv.store().GetUserByEmail(context.Background(), "new@example.com")
		if err != nil {
			t.Fatal(err)
		}
		ids, err := h.srv.store().ListUserIdentities(context.Background(), u.ID)
		if err != nil || len(ids) != 1 {
			t.Errorf("%d identities (%v), want 1", len(ids), err)
		}
	}
	t.Run("sqlite", func(t *testing.T) { run(t, "") })
	t.Run("postgres", func(t *testing.T) { run(t, sqltest.NewSchema(t, sqltest.PostgresURL(t))) })
}

// An existing account with the same verified email is never linked
// silently: the person is told to sign in to it first.
func TestEmailMatchNeedsConfirmation(t *testing.T) {
	h := newHarness(t, "", nil)
	h.user(testidp.Generic, testidp.User{Subject: "ann-1", Email: "ann@example.com", EmailVerified: true})
	if r := h.signIn(h.browser(), "corp"); r.url.Path != "/account" {
		t.Fatalf("first sign-in: %s", r.url)
	}
	h.user("other", testidp.User{Subject: "ann-other", Email: "ann@example.com", EmailVerified: true})
	r := h.signIn(h.browser(), "other")
	if r.status != http.StatusConflict || !strings.Contains(r.body, outcome.LinkConfirmationRequired.Sentence()) {
		t.Fatalf("email match: %d\n%.600s", r.status, r.body)
	}
	if n := h.countUsers(); n != 1 {
		t.Errorf("%d users, want 1", n)
	}
}

// A connection whose upstream is down does not stop Sallyport from
// starting; its sign-in fails with a clear outcome until it is back.
func TestUpstreamDownAtStart(t *testing.T) {
	h := newHarness(t, "", func(s *Settings) {
		s.Connections = append(s.Connections, config.Connection{Slug: "down", Kind: config.KindOIDC, Issuer: "http://127.0.0.1:1/nowhere", ClientID: "x", ClientSecret: "y"})
	})
	if r := h.get(h.browser(), "/login/down"); r.status != http.StatusBadGateway {
		t.Errorf("/login/down: %d, want 502", r.status)
	}
	if ev := h.lastAudit("login.begin"); ev.Outcome != string(outcome.CodeExchangeFailed) {
		t.Errorf("audit outcome %s", ev.Outcome)
	}
}

// A HEAD on the sign-in routes has no effect: no flow starts and a
// callback's state is not burnt.
func TestHeadHasNoEffect(t *testing.T) {
	h := newHarness(t, "", nil)
	h.user(testidp.Generic, testidp.User{Subject: "ann-1", Email: "ann@example.com", EmailVerified: true})
	b := h.browser()
	cb := h.upstreamCallback(b, "corp")
	for _, path := range []string{"/login/corp", cb.RequestURI()} {
		resp, err := b.Head(h.ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("HEAD %s = %d, want 405", path, resp.StatusCode)
		}
	}
	if r := h.get(b, cb.RequestURI()); r.url.Path != "/account" {
		t.Errorf("the callback after a HEAD ended at %s (%d)", r.url, r.status)
	}
}

// A key the upstream rotated in since the last JWKS fetch is found with one
// refetch once that fetch is 30 s old; the sign-in goes through. (Within
// 30 s of the last fetch it is refused: tokens with made-up kids must not
// make Sallyport hammer the upstream.)
func TestRotatedKeyIsRefetchedOnce(t *testing.T) {
	h := newHarness(t, "", nil)
	h.user(testidp.Generic, testidp.User{Subject: "ann-1", Email: "ann@example.com", EmailVerified: true})
	if r := h.signIn(h.browser(), "corp"); r.url.Path != "/account" {
		t.Fatalf("warm-up sign-in ended at %s", r.url)
	}
	before := h.idp.Requests(testidp.Generic, testidp.EndpointJWKS)
	if err := h.idp.Misbehave(testidp.Generic, testidp.Misbehavior{UnknownKID: testidp.UnknownKIDRefetch}); err != nil {
		t.Fatal(err)
	}
	if r := h.signIn(h.browser(), "corp"); r.status != http.StatusBadRequest {
		t.Fatalf("rotated key within 30 s of the last fetch: %d, want 400", r.status)
	}
	h.clock.Advance(31 * time.Second)
	if r := h.signIn(h.browser(), "corp"); r.url.Path != "/account" {
		t.Fatalf("sign-in with a rotated key ended at %s (%d)", r.url, r.status)
	}
	if got := h.idp.Requests(testidp.Generic, testidp.EndpointJWKS) - before; got != 1 {
		t.Errorf("%d JWKS fetches for two sign-ins with an unknown kid, want 1", got)
	}
}

// Starting sign-ins is rate limited per client IP, with Retry-After.
func TestSignInRateLimit(t *testing.T) {
	h := newHarness(t, "", func(s *Settings) { s.RateLimits.PerIPPerMinute = 3 })
	b := noRedirects(h.browser())
	var last *http.Response
	for range 4 {
		resp, err := b.Get(h.ts.URL + "/login/corp")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		last = resp
	}
	if last.StatusCode != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" {
		t.Fatalf("4th start within a minute: %d, Retry-After %q; want 429 with Retry-After", last.StatusCode, last.Header.Get("Retry-After"))
	}
	if ev := h.lastAudit("login.begin"); ev.Outcome != string(outcome.RateLimited) {
		t.Errorf("audit outcome %s", ev.Outcome)
	}
}
