package sallyport

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/sallyport/sallyport/internal/config"
	"github.com/sallyport/sallyport/internal/testidp"
)

// The server publishes the signing key it ensured at start, public part
// only, where apps look for it.
func TestJWKSPublishesTheSigningKey(t *testing.T) {
	h := newHarness(t, "", nil)
	resp, err := h.browser().Get(h.ts.URL + "/oauth2/jwks")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /oauth2/jwks: %d, %v", resp.StatusCode, err)
	}
	if len(set.Keys) != 1 || set.Keys[0].Algorithm != "RS256" || set.Keys[0].Use != "sig" || set.Keys[0].KeyID == "" || !set.Keys[0].IsPublic() {
		t.Fatalf("JWKS = %+v, want one public RS256 signing key with a kid", set.Keys)
	}
}

// appRedirect is the demo app's redirect URI in these tests: loopback, so
// any port matches (RFC 8252), and never fetched: the browser stops there.
const appRedirect = "http://127.0.0.1/app/callback"

// testApp is an app that signs people in through Sallyport with go-oidc
// and x/oauth2, as any third-party Go app would.
type testApp struct {
	h        *harness
	ctx      context.Context
	provider *oidc.Provider
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
}

const (
	appID     = "wiki"
	appSecret = "wiki-secret-0123456789abcdef0123456789"
)

// withApp registers a confidential first-party app.
func withApp(tweak func(*config.Client)) func(*Settings) {
	return func(s *Settings) {
		c := config.Client{ID: appID, Name: "Wiki", Secret: appSecret, RedirectURIs: []string{appRedirect},
			PostLogoutRedirectURIs: []string{"http://127.0.0.1/app/"}, SkipConsent: true}
		if tweak != nil {
			tweak(&c)
		}
		s.Clients = append(s.Clients, c)
	}
}

func (h *harness) app(scopes ...string) *testApp {
	h.t.Helper()
	ctx := oidc.ClientContext(context.Background(), h.ts.Client())
	p, err := oidc.NewProvider(ctx, h.ts.URL)
	if err != nil {
		h.t.Fatal(err)
	}
	if len(scopes) == 0 {
		scopes = []string{oidc.ScopeOpenID, "email", "profile", oidc.ScopeOfflineAccess}
	}
	return &testApp{
		h: h, ctx: ctx, provider: p,
		oauth:    oauth2.Config{ClientID: appID, ClientSecret: appSecret, Endpoint: p.Endpoint(), RedirectURL: appRedirect, Scopes: scopes},
		verifier: p.Verifier(&oidc.Config{ClientID: appID}),
	}
}

// authorize sends the browser to Sallyport's authorization endpoint with
// extra parameters and returns the app's callback URL it came back with.
func (a *testApp) authorize(c *http.Client, state, nonce, verifier string, extra ...oauth2.AuthCodeOption) *url.URL {
	a.h.t.Helper()
	opts := append([]oauth2.AuthCodeOption{oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)}, extra...)
	return a.h.follow(c, a.oauth.AuthCodeURL(state, opts...))
}

// follow fetches target in the browser, following redirects until one
// leaves for the app's redirect URI, and returns that URL.
func (h *harness) follow(c *http.Client, target string) *url.URL {
	h.t.Helper()
	cc := *c
	cc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), "http://127.0.0.1/") {
			return http.ErrUseLastResponse
		}
		return nil
	}
	resp, err := cc.Get(target)
	if err != nil {
		h.t.Fatal(err)
	}
	defer func() {
		io.Copy(io.Discard, resp.Body) // drained, so the connection is reused
		resp.Body.Close()
	}()
	loc, err := resp.Location()
	if err != nil {
		body, _ := io.ReadAll(resp.Body)
		h.t.Fatalf("the browser stopped at %s with %d, not at the app: %.300s", resp.Request.URL, resp.StatusCode, body)
	}
	return loc
}

func TestAppSignInWithGoOIDC(t *testing.T) {
	h := newHarness(t, "", withApp(func(c *config.Client) { c.AllowedConnections = []string{"corp"} }))
	h.user(testidp.Generic, testidp.User{Subject: "ada", Email: "ada@example.com", EmailVerified: true, Name: "Ada"})
	a := h.app()
	b := h.browser()
	verifier := oauth2.GenerateVerifier()
	back := a.authorize(b, "st4te", "n0nce", verifier)
	q := back.Query()
	if q.Get("state") != "st4te" || q.Get("iss") != h.ts.URL || q.Get("code") == "" {
		t.Fatalf("app callback = %s", back)
	}
	tok, err := a.oauth.Exchange(a.ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if cc := tok.Extra("id_token"); cc == nil {
		t.Fatal("no id_token")
	}
	idt, err := a.verifier.Verify(a.ctx, tok.Extra("id_token").(string))
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Email string   `json:"email"`
		IDP   string   `json:"idp"`
		AMR   []string `json:"amr"`
		Auth  int64    `json:"auth_time"`
	}
	idt.Claims(&claims)
	if idt.Nonce != "n0nce" || claims.Email != "ada@example.com" || claims.IDP != "corp" || claims.Auth == 0 {
		t.Fatalf("ID token claims: nonce %q %+v", idt.Nonce, claims)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Fatal(err)
	}
	ui, err := a.provider.UserInfo(a.ctx, oauth2.StaticTokenSource(tok))
	if err != nil || ui.Subject != idt.Subject || ui.Email != "ada@example.com" {
		t.Fatalf("userinfo = %+v, %v", ui, err)
	}
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token with offline_access")
	}
	tok.Expiry = time.Now().Add(-time.Minute)
	fresh, err := a.oauth.TokenSource(a.ctx, tok).Token()
	if err != nil || fresh.RefreshToken == tok.RefreshToken || fresh.AccessToken == tok.AccessToken {
		t.Fatalf("refresh: %+v, %v", fresh, err)
	}
	// A second authorization with the session in place skips the upstream.
	before := h.idp.Requests(testidp.Generic, "authorize")
	back = a.authorize(b, "again", "n2", oauth2.GenerateVerifier())
	if back.Query().Get("code") == "" || h.idp.Requests(testidp.Generic, "authorize") != before {
		t.Fatalf("second authorization: %s, upstream hit %d times", back, h.idp.Requests(testidp.Generic, "authorize")-before)
	}
}

// An id_token_hint names whom the app expects: a session of anyone else
// does not satisfy the request (prompt=none answers login_required), a
// session of that person does, and a hint Sallyport did not sign is
// refused.
func TestAuthorizeIDTokenHint(t *testing.T) {
	h := newHarness(t, "", withApp(func(c *config.Client) { c.AllowedConnections = []string{"corp"} }))
	a := h.app()
	signIn := func(subject string) (*http.Client, string) {
		h.user(testidp.Generic, testidp.User{Subject: subject, Email: subject + "@example.com", EmailVerified: true})
		b := h.browser()
		v := oauth2.GenerateVerifier()
		tok, err := a.oauth.Exchange(a.ctx, a.authorize(b, "s", "n", v).Query().Get("code"), oauth2.VerifierOption(v))
		if err != nil {
			t.Fatal(err)
		}
		return b, tok.Extra("id_token").(string)
	}
	ada, adaHint := signIn("ada")
	bob, _ := signIn("bob")
	silent := func(b *http.Client, hint string) url.Values {
		return a.authorize(b, "s", "n", oauth2.GenerateVerifier(), oauth2.SetAuthURLParam("prompt", "none"), oauth2.SetAuthURLParam("id_token_hint", hint)).Query()
	}
	if q := silent(bob, adaHint); q.Get("error") != "login_required" {
		t.Errorf("Bob's session with Ada's hint: %v, want login_required", q)
	}
	if q := silent(ada, adaHint); q.Get("code") == "" {
		t.Errorf("Ada's session with Ada's hint: %v, want a code", q)
	}
	forged := adaHint[:len(adaHint)-4] + "AAAA"
	if q := silent(ada, forged); q.Get("error") != "invalid_request" {
		t.Errorf("a hint with a broken signature: %v, want invalid_request", q)
	}
}

// An authorization request posted from the app's page becomes the same
// request as a GET, so the browser brings its SameSite=Lax session cookie.
func TestAuthorizePostBecomesGet(t *testing.T) {
	h := newHarness(t, "", withApp(nil))
	form := url.Values{"client_id": {appID}, "redirect_uri": {appRedirect}, "response_type": {"code"}, "scope": {"openid"}, "state": {"s"}, "prompt": {"none"}}
	resp, err := noRedirects(h.browser()).PostForm(h.ts.URL+"/oauth2/authorize", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := resp.Location()
	if resp.StatusCode != http.StatusSeeOther || loc == nil || loc.Path != "/oauth2/authorize" || loc.Query().Encode() != form.Encode() {
		t.Fatalf("POST /oauth2/authorize = %d to %v, want 303 to the same request as a GET", resp.StatusCode, loc)
	}
}

// A refused userinfo request is audited with its outcome, like every
// other refusal.
func TestUserInfoRefusalIsAudited(t *testing.T) {
	h := newHarness(t, "", withApp(nil))
	req, _ := http.NewRequest(http.MethodGet, h.ts.URL+"/oauth2/userinfo", nil)
	req.Header.Set("Authorization", "Bearer not-a-token")
	resp, err := h.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Fatalf("userinfo with a bogus token = %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	if ev := h.lastAudit("oauth2.userinfo"); ev.Outcome != "invalid_grant" {
		t.Errorf("audit outcome %q, want invalid_grant", ev.Outcome)
	}
}

// A client disabled at run time (by the command line, another process) is
// refused by this replica once its cached record is older than the
// client cache's five seconds.
func TestClientDisabledAtRunTimeIsRefusedWithinTheCacheTTL(t *testing.T) {
	h := newHarness(t, "", withApp(func(c *config.Client) { c.AllowedConnections = []string{"corp"} }))
	h.user(testidp.Generic, testidp.User{Subject: "ada", Email: "ada@example.com", EmailVerified: true})
	a := h.app()
	b := h.browser()
	if q := a.authorize(b, "s", "n", oauth2.GenerateVerifier()).Query(); q.Get("code") == "" {
		t.Fatalf("first authorization: %v", q)
	}
	ctx := context.Background()
	c, err := h.srv.store().GetClient(ctx, appID)
	if err != nil {
		t.Fatal(err)
	}
	c.Disabled = true
	if err := h.srv.store().UpdateClient(ctx, &c); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(6 * time.Second)
	resp, err := noRedirects(b).Get(a.oauth.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode < 400 {
		t.Errorf("authorize for a disabled client = %d (Location %q), want a refusal page", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// A person who comes back for a pending request that is gone (expired,
// finished in another tab, or never made) is told so, and the refusal is
// audited like every other.
func TestPendingRequestGoneIsAudited(t *testing.T) {
	h := newHarness(t, "", withApp(nil))
	r := h.get(h.browser(), "/oauth2/authorize/resume?request=no-such-request")
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "Go back to the app and sign in again") {
		t.Fatalf("resume of a missing request = %d:\n%.500s", r.status, r.body)
	}
	if ev := h.lastAudit("oauth2.authorize"); ev.Outcome != "invalid_grant" {
		t.Errorf("audit outcome %q, want invalid_grant", ev.Outcome)
	}
}

// A token request refused before any client is known (here a repeated
// parameter) is audited like every other refusal.
func TestMalformedTokenRequestIsAudited(t *testing.T) {
	h := newHarness(t, "", withApp(nil))
	resp, err := h.ts.Client().Post(h.ts.URL+"/oauth2/token", "application/x-www-form-urlencoded",
		strings.NewReader("grant_type=authorization_code&code=a&code=b"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("repeated parameter = %d, want 400", resp.StatusCode)
	}
	if ev := h.lastAudit("oauth2.token"); ev.Outcome != "invalid_request" {
		t.Errorf("audit outcome %q, want invalid_request", ev.Outcome)
	}
}
