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
	defer resp.Body.Close()
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
