package facebook

import (
	"context"
	"net/http"
	"net/url"
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
	clientID     = "fb-app-id"
	clientSecret = "fb-app-secret"
	redirectURI  = "https://sso.example.com/callback/facebook"
)

// startIdP starts testidp (https when tls) with our client and users.
func startIdP(t *testing.T, tls bool, users ...testidp.User) *testidp.IdP {
	t.Helper()
	idp := upstreamtest.NewIdP(t, testidp.Config{Now: clock, TLS: tls})
	upstreamtest.AddClient(t, idp, testidp.Facebook, testidp.Client{ID: clientID, Secret: clientSecret, RedirectURIs: []string{redirectURI}}, users...)
	return idp
}

// newProvider points a provider at testidp's Facebook persona: the dialog
// URL is overridden, the token and /me URLs are derived from GraphBaseURL
// and the default version (v19.0, as testidp serves); mod adjusts the
// config.
func newProvider(t *testing.T, idp *testidp.IdP, mod func(*Config)) (*Provider, *upstreamtest.LogBuffer) {
	t.Helper()
	e := idp.Endpoints(testidp.Facebook)
	logger, logs := upstreamtest.NewLogger()
	cfg := Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		AuthURL:      e.Authorize,
		GraphBaseURL: strings.TrimSuffix(e.API, "/"+DefaultGraphVersion),
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

// sent is one request a recorder saw.
type sent struct {
	path   string
	query  url.Values
	bearer string
}

// recorder is a transport that remembers the requests sent and runs
// after (if set) once a response has arrived.
type recorder struct {
	base  http.RoundTripper
	after func(req *http.Request)
	mu    sync.Mutex // guards reqs
	reqs  []sent
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	bearer, _ := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
	r.mu.Lock()
	r.reqs = append(r.reqs, sent{path: req.URL.Path, query: req.URL.Query(), bearer: bearer})
	r.mu.Unlock()
	resp, err := r.base.RoundTrip(req)
	if err == nil && r.after != nil {
		r.after(req)
	}
	return resp, err
}

func (r *recorder) seen() []sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sent(nil), r.reqs...)
}
