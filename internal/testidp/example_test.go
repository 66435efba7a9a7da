package testidp_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/url"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/sallyport/sallyport/internal/testidp"
)

// A standard Go client signs in through the generic persona.
func Example() {
	idp, err := testidp.Start(testidp.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer idp.Close()
	idp.AddClient(testidp.Generic, testidp.Client{ID: "app", Secret: "secret", RedirectURIs: []string{"http://127.0.0.1:9/cb"}})
	idp.AddUser(testidp.Generic, testidp.User{Subject: "alice", Email: "alice@example.com", EmailVerified: true})

	ctx := oidc.ClientContext(context.Background(), idp.Client())
	provider, err := oidc.NewProvider(ctx, idp.Issuer(testidp.Generic))
	if err != nil {
		log.Fatal(err)
	}
	conf := oauth2.Config{ClientID: "app", ClientSecret: "secret", Endpoint: provider.Endpoint(),
		RedirectURL: "http://127.0.0.1:9/cb", Scopes: []string{oidc.ScopeOpenID, "email"}}

	// The browser's part: authorize approves alice and redirects.
	verifier := oauth2.GenerateVerifier()
	browser := *idp.Client()
	browser.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := browser.Get(conf.AuthCodeURL("state", oauth2.S256ChallengeOption(verifier), oidc.Nonce("nonce")))
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))

	tok, err := conf.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		log.Fatal(err)
	}
	idt, err := provider.Verifier(&oidc.Config{ClientID: "app"}).Verify(ctx, tok.Extra("id_token").(string))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(idt.Subject, idt.Nonce, loc.Query().Get("iss") == idp.Issuer(testidp.Generic))
	// Output: alice nonce true
}
