package oidc

import (
	"context"
	"net/http"

	"golang.org/x/oauth2"
)

// FetchUserinfo runs the userinfo step alone, for the external tests.
func FetchUserinfo(ctx context.Context, client *http.Client, endpoint string, v *Verifier, accessToken, sub string) (Claims, error) {
	p := &Provider{client: client}
	return p.userinfo(ctx, &snapshot{doc: &Discovery{UserinfoEndpoint: endpoint}, verifier: v}, accessToken, sub)
}

// AuthStyle is authStyle, for the external tests.
func AuthStyle(methods []string, secret string) (oauth2.AuthStyle, error) {
	return authStyle(methods, secret)
}
