package github

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/sallyport/sallyport/internal/testidp"
	"github.com/sallyport/sallyport/internal/upstream"
	"github.com/sallyport/sallyport/internal/upstream/upstreamtest"
)

var testNow = upstreamtest.Epoch

func clock() time.Time { return testNow }

const (
	clientID     = "gh-client"
	clientSecret = "gh-secret"
	redirectURI  = "https://sso.example.com/callback/github"
)

// startIdP starts testidp (https when tls) with our client and users.
func startIdP(t *testing.T, tls bool, users ...testidp.User) *testidp.IdP {
	t.Helper()
	idp := upstreamtest.NewIdP(t, testidp.Config{Now: clock, TLS: tls})
	upstreamtest.AddClient(t, idp, testidp.GitHub, testidp.Client{ID: clientID, Secret: clientSecret, RedirectURIs: []string{redirectURI}}, users...)
	return idp
}

// newProvider points a github.com provider at testidp's GitHub persona;
// mod adjusts the config.
func newProvider(t *testing.T, idp *testidp.IdP, mod func(*Config)) (*Provider, *upstreamtest.LogBuffer) {
	t.Helper()
	e := idp.Endpoints(testidp.GitHub)
	logger, logs := upstreamtest.NewLogger()
	cfg := Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		AuthURL:      e.Authorize,
		TokenURL:     e.Token,
		APIBaseURL:   e.API,
		HTTPClient:   idp.Client(),
		Now:          clock,
		Logger:       logger,
	}
	if mod != nil {
		mod(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p, logs
}

// signIn runs the browser's part: it asks p for the authorization URL,
// lets testidp approve it, and returns the callback Sallyport would get.
func signIn(t *testing.T, idp *testidp.IdP, p *Provider) upstream.Callback {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	const state = "state-0123456789"
	u, err := p.AuthCodeURL(context.Background(), upstream.AuthRequest{
		State: state, CodeChallenge: oauth2.S256ChallengeFromVerifier(verifier), RedirectURI: redirectURI,
	})
	if err != nil {
		t.Fatal(err)
	}
	params := upstreamtest.Authorize(t, idp.Client(), u)
	if got := params.Get("state"); got != state {
		t.Fatalf("callback state = %q, want %q", got, state)
	}
	return upstream.Callback{Params: params, CodeVerifier: verifier, RedirectURI: redirectURI}
}

// recorder is a transport that remembers the bearer tokens sent.
type recorder struct {
	base http.RoundTripper
	mu   sync.Mutex // guards tokens
	// tokens are the access tokens seen in Authorization headers.
	tokens []string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if tok, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer "); ok {
		r.mu.Lock()
		r.tokens = append(r.tokens, tok)
		r.mu.Unlock()
	}
	return r.base.RoundTrip(req)
}

func (r *recorder) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.tokens...)
}

func ptr[T any](v T) *T { return &v }
