package testidp

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

const (
	testRedirect = "http://127.0.0.1:9/callback"
	testSecret   = "s3cr+t%/:é" // needs form-encoding before base64 in Basic auth
)

func start(t *testing.T, cfg Config) *IdP {
	t.Helper()
	idp, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Close() })
	return idp
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// noFollow is the IdP's client, stopping at redirects.
func noFollow(idp *IdP) *http.Client {
	c := *idp.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// get fetches a URL without following redirects.
func get(t *testing.T, idp *IdP, u string) *http.Response {
	t.Helper()
	resp, err := noFollow(idp).Get(u)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// callback runs the authorize step and returns the redirect's query.
func callback(t *testing.T, idp *IdP, authURL string) url.Values {
	t.Helper()
	resp := get(t, idp, authURL)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("authorize: status %d, want 302: %s", resp.StatusCode, b)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc.Query()
}

// oidcSetup registers client "app" and user alice with an OIDC persona
// and returns a go-oidc provider and an oauth2 config for it.
func oidcSetup(t *testing.T, idp *IdP, persona string) (context.Context, *oidc.Provider, *oauth2.Config) {
	t.Helper()
	must(t, idp.AddClient(persona, Client{ID: "app", Secret: testSecret, RedirectURIs: []string{testRedirect}}))
	must(t, idp.AddUser(persona, User{Subject: "alice", Email: "alice@example.com", EmailVerified: true, Name: "Alice Liddell", Username: "alice"}))
	ctx := oidc.ClientContext(t.Context(), idp.Client())
	prov, err := oidc.NewProvider(ctx, idp.Issuer(persona))
	if err != nil {
		t.Fatal(err)
	}
	return ctx, prov, &oauth2.Config{
		ClientID: "app", ClientSecret: testSecret, Endpoint: prov.Endpoint(), RedirectURL: testRedirect,
		Scopes: []string{oidc.ScopeOpenID, "email", "profile"},
	}
}

// flow runs authorize and token with PKCE and a nonce, and returns the
// token.
func flow(t *testing.T, ctx context.Context, idp *IdP, conf *oauth2.Config, opts ...oauth2.AuthCodeOption) *oauth2.Token {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	opts = append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), oidc.Nonce("nonce-1")}, opts...)
	cb := callback(t, idp, conf.AuthCodeURL("state-1", opts...))
	if cb.Get("error") != "" {
		t.Fatalf("callback error: %v", cb)
	}
	tok, err := conf.Exchange(ctx, cb.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// decode splits a compact JWS into header and claims, unverified.
func decode(t *testing.T, jwt string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", jwt)
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatal(err)
		}
	}
	return header, claims
}

// clock is a settable clock, safe to read from the server's goroutines.
type clock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func idToken(t *testing.T, tok *oauth2.Token) string {
	t.Helper()
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		t.Fatal("no id_token in the token response")
	}
	return raw
}

// postForm posts a form with optional basic credentials.
func postForm(t *testing.T, idp *IdP, u string, form url.Values, hdr http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := noFollow(idp).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}
