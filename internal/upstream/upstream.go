// Package upstream defines how Sallyport talks to an upstream identity
// provider. One package per kind (oidc, google, microsoft, github, apple,
// facebook, gitlab) implements Provider; optional behaviour is a capability
// interface found with a type assertion, so the core interface stays small.
//
// A provider never decides who may sign in: it only turns a callback into a
// verified Identity, or refuses with an outcome error (upstream_error,
// code_exchange_failed, identity_invalid). Reconciliation decides the rest.
package upstream

import (
	"context"
	"net/url"
)

// Identity is what an upstream proved about a person. Subject is the only
// key Sallyport ever finds an identity by (with the connection); Email is
// trusted for matching only when EmailVerified is true, and the provider
// sets EmailVerified only where its rules allow (reference/provider-quirks.md).
type Identity struct {
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
	Picture       string
	Username      string         // display only: never a key
	Claims        map[string]any // the verified claims, for the identity record
}

// AuthRequest is what Sallyport sends a browser upstream with.
type AuthRequest struct {
	State         string // 32 random bytes, base64url
	Nonce         string // sent where the protocol carries one
	CodeChallenge string // PKCE S256 challenge; sent where the provider supports PKCE
	RedirectURI   string // Sallyport's /callback/{connection}
	LoginHint     string // optional
	Prompt        string // optional: login, consent, select_account
}

// Callback is what came back to /callback/{connection}, together with what
// the flow stored when it started.
type Callback struct {
	Params       url.Values // query (GET) or form (POST) parameters, all of them
	Nonce        string     // the nonce the flow sent
	CodeVerifier string     // the PKCE verifier the flow kept
	RedirectURI  string     // the redirect_uri the flow sent, repeated at the token endpoint
}

// Provider is one configured upstream connection.
type Provider interface {
	// AuthCodeURL returns where to send the browser to sign in.
	AuthCodeURL(ctx context.Context, req AuthRequest) (string, error)
	// Exchange checks the callback (error parameters, RFC 9207 iss), redeems
	// the code, verifies what came back and returns the identity. Errors
	// are *outcome.Error with UpstreamError, CodeExchangeFailed or
	// IdentityInvalid.
	Exchange(ctx context.Context, cb Callback) (Identity, error)
}

// IssuerReporter is a provider with an issuer, recorded in the login flow
// so a callback can be checked against the upstream it was sent to.
type IssuerReporter interface {
	Issuer() string
}

// FormPoster is a provider whose callback arrives as a cross-site POST
// (response_mode=form_post, as Apple's does).
type FormPoster interface {
	FormPost() bool
}

// PKCEUser reports whether the provider takes PKCE. Providers that don't
// implement it are assumed to.
type PKCEUser interface {
	UsesPKCE() bool
}
