package testidp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
)

// personaConf registers client "app" and a user with any persona and
// returns an oauth2 config (Apple: with a minted client secret).
func personaConf(t *testing.T, idp *IdP, persona string) *oauth2.Config {
	t.Helper()
	e := idp.Endpoints(persona)
	if persona == Entra {
		e = idp.EntraEndpoints("common")
	}
	conf := &oauth2.Config{ClientID: "app", ClientSecret: testSecret, RedirectURL: testRedirect,
		Endpoint: oauth2.Endpoint{AuthURL: e.Authorize, TokenURL: e.Token, AuthStyle: oauth2.AuthStyleInParams},
		Scopes:   []string{"openid", "email"}}
	if persona == Apple {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		must(t, err)
		must(t, idp.AddAppleClient(AppleClient{ID: "app", TeamID: "T", KeyID: "K", PublicKey: &key.PublicKey, RedirectURIs: []string{testRedirect}}))
		now := time.Now()
		conf.ClientSecret = appleSecret(t, key, "K", jwt.Claims{Issuer: "T", Subject: "app", Audience: jwt.Audience{idp.Issuer(Apple)},
			IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Minute))})
		conf.Scopes = []string{"openid"}
	} else {
		must(t, idp.AddClient(persona, Client{ID: "app", Secret: testSecret, RedirectURIs: []string{testRedirect}}))
	}
	must(t, idp.AddUser(persona, User{Subject: "1001", Username: "u1001", Email: "u@example.com", EmailVerified: true}))
	return conf
}

// Every ID-token persona honours the ID-token switches.
func TestMisbehaviourOnEveryOIDCPersona(t *testing.T) {
	for _, persona := range []string{Generic, Entra, Google, Apple, GitLab} {
		t.Run(persona, func(t *testing.T) {
			idp := start(t, Config{})
			conf := personaConf(t, idp, persona)
			ctx := oidc.ClientContext(t.Context(), idp.Client())
			must(t, idp.Misbehave(persona, Misbehavior{AlgNone: true, WrongAudience: true, DropNonce: true}))
			tok, err := conf.Exchange(ctx, callback(t, idp, conf.AuthCodeURL("s", oauth2.SetAuthURLParam("nonce", "n"))).Get("code"))
			must(t, err)
			h, c := decode(t, idToken(t, tok))
			if h["alg"] != "none" || c["aud"] != UntrustedAudience || c["nonce"] != nil {
				t.Errorf("header %v claims %v", h, c)
			}
		})
	}
}

// The OAuth-only personas honour the flow switches, each in its own
// error format.
func TestMisbehaviourOnOAuthPersonas(t *testing.T) {
	for _, persona := range []string{GitHub, Facebook} {
		t.Run(persona, func(t *testing.T) {
			idp := start(t, Config{})
			conf := personaConf(t, idp, persona)
			must(t, idp.Misbehave(persona, Misbehavior{ErrorCallback: true}))
			if cb := callback(t, idp, conf.AuthCodeURL("s")); cb.Get("error") != "access_denied" || cb.Get("state") != "s" {
				t.Errorf("callback %v", cb)
			}
			must(t, idp.Misbehave(persona, Misbehavior{TokenError: true, Oversized: true}))
			code := callback(t, idp, conf.AuthCodeURL("s")).Get("code")
			resp, b := postForm(t, idp, conf.Endpoint.TokenURL, url.Values{"client_id": {"app"}, "client_secret": {testSecret},
				"code": {code}, "redirect_uri": {testRedirect}}, http.Header{"Accept": {"application/json"}})
			var e map[string]any
			must(t, json.Unmarshal(b, &e))
			switch persona {
			case GitHub:
				if resp.StatusCode != 200 || e["error"] != "bad_verification_code" {
					t.Errorf("%d %s", resp.StatusCode, b)
				}
			case Facebook:
				if resp.StatusCode != 400 || e["error"].(map[string]any)["type"] != "OAuthException" {
					t.Errorf("%d %s", resp.StatusCode, b)
				}
			}
			must(t, idp.Misbehave(persona, Misbehavior{Oversized: true}))
			code = callback(t, idp, conf.AuthCodeURL("s")).Get("code")
			resp, b = postForm(t, idp, conf.Endpoint.TokenURL, url.Values{"client_id": {"app"}, "client_secret": {testSecret},
				"code": {code}, "redirect_uri": {testRedirect}}, http.Header{"Accept": {"application/json"}})
			if resp.StatusCode != 200 || len(b) <= 1<<20 {
				t.Errorf("oversized token: %d, %d bytes", resp.StatusCode, len(b))
			}
		})
	}
}

// PKCE: a wrong verifier fails wherever the persona takes PKCE; Apple
// takes none and ignores the parameters.
func TestPKCEOnEveryPersona(t *testing.T) {
	for _, persona := range []string{Generic, Entra, Google, Apple, GitHub, Facebook, GitLab} {
		t.Run(persona, func(t *testing.T) {
			idp := start(t, Config{})
			conf := personaConf(t, idp, persona)
			ctx := oidc.ClientContext(t.Context(), idp.Client())
			code := callback(t, idp, conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))).Get("code")
			tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
			failed := err != nil
			if tok != nil {
				// GitHub answers 200 with an error body.
				if e, _ := tok.Extra("error").(string); e != "" {
					failed = true
				}
			}
			if failed != (persona != Apple) {
				t.Errorf("wrong verifier: err %v", err)
			}
		})
	}
}
