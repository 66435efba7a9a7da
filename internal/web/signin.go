package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/sallyport/sallyport/internal/store"
)

// SignIn is what the sign-in pages need from the sign-in service
// (internal/signin). It is declared here, where it is used, so the pages can
// be tested with a fake and nothing below web imports web.
type SignIn interface {
	// LoginOptions lists the active global connections shown on /login;
	// for an app's pending authorization request (requestID), only those
	// the app may use.
	LoginOptions(ctx context.Context, requestID string) ([]LoginOption, error)
	// Begin starts a login flow through the connection with this slug and
	// returns the upstream URL to send the browser to. returnTo is the raw
	// return_to parameter; Begin validates it. requestID names the app's
	// pending authorization request the sign-in is for, if any.
	Begin(w http.ResponseWriter, r *http.Request, connection, returnTo, requestID string) (redirectURL string, err error)
	// Callback finishes the flow that came back to /callback/{connection}
	// (query for GET, form for POST), signs the person in, and says where
	// to land.
	Callback(w http.ResponseWriter, r *http.Request, connection string) (Landing, error)
	// Account returns who is signed in, or ErrSignedOut.
	Account(r *http.Request) (Account, error)
	// Logout ends the browser's session server-side and clears its cookie.
	Logout(w http.ResponseWriter, r *http.Request) error
}

// Landing is where a finished callback sends the browser: an app's
// registered redirect URI carrying its authorization code, when the
// sign-in completed an app's request, or else a same-origin path.
type Landing struct {
	// Path is a same-origin path; the callback handler refuses anything
	// else.
	Path string
	// App is the app's redirect URI with code, state and iss, matched
	// against the app's registration by the OpenID Provider.
	App *url.URL
}

// ErrSignedOut is returned by SignIn.Account when the browser has no live
// session.
var ErrSignedOut = errors.New("web: signed out")

// LoginOption is one button on /login.
type LoginOption struct {
	Slug        string // /login/{slug}
	Kind        string // oidc, google, microsoft, github, apple, facebook, gitlab
	DisplayName string // "Google", "Corp IdP"
}

// Account is what /account shows.
type Account struct {
	User       store.User
	Identities []LinkedIdentity
	SignedInAt time.Time
	Via        string // display name of the connection used for this session
}

// LinkedIdentity is one upstream identity linked to the user.
type LinkedIdentity struct {
	ConnectionName string
	Kind           string
	Email          string
	LinkedAt       time.Time
	LastLoginAt    time.Time
}
