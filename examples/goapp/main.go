// Command goapp is the smallest Go app that signs people in through
// Sallyport, with go-oidc and x/oauth2; docs/app-integration.md walks
// through it. Register it first:
//
//	sallyport client create goapp --redirect-uri http://127.0.0.1:9090/callback
package main

import (
	"context"
	"encoding/json"
	"log"
	"net/http"
	"os"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

func main() {
	provider, err := oidc.NewProvider(context.Background(), os.Getenv("SALLYPORT_ISSUER"))
	if err != nil {
		log.Fatal(err)
	}
	conf := oauth2.Config{ClientID: os.Getenv("CLIENT_ID"), ClientSecret: os.Getenv("CLIENT_SECRET"), Endpoint: provider.Endpoint(),
		RedirectURL: "http://127.0.0.1:9090/callback", Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}
	verifier := provider.Verifier(&oidc.Config{ClientID: conf.ClientID})

	http.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		state, pkce, nonce := oauth2.GenerateVerifier(), oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
		http.SetCookie(w, &http.Cookie{Name: "signin", Value: state + "." + pkce + "." + nonce, HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: 600})
		http.Redirect(w, r, conf.AuthCodeURL(state, oauth2.S256ChallengeOption(pkce), oidc.Nonce(nonce)), http.StatusFound)
	})
	http.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		v := []string{"", "", ""} // state, PKCE verifier, nonce, as "/" stored them
		if c, err := r.Cookie("signin"); err == nil {
			v = strings.Split(c.Value+"..", ".")
		}
		if v[0] != "" && r.FormValue("state") == v[0] {
			if tok, err := conf.Exchange(r.Context(), r.FormValue("code"), oauth2.VerifierOption(v[1])); err == nil {
				raw, _ := tok.Extra("id_token").(string)
				if idToken, err := verifier.Verify(r.Context(), raw); err == nil && idToken.Nonce == v[2] {
					var claims map[string]any
					idToken.Claims(&claims)
					json.NewEncoder(w).Encode(claims) // a real app starts its own session here
					return
				}
			}
		}
		http.Error(w, "sign-in failed; start again at /", http.StatusBadRequest)
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:9090", nil))
}
