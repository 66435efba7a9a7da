package gitlab

import (
	"testing"
	"time"

	"github.com/sallyport/sallyport/internal/testidp"
	"github.com/sallyport/sallyport/internal/upstream"
	"github.com/sallyport/sallyport/internal/upstream/upstreamtest"
)

var testNow = upstreamtest.Epoch

func clock() time.Time { return testNow }

const (
	clientID     = "gitlab-app-id"
	clientSecret = "gloas-test-secret"
	redirectURI  = "https://sso.example.com/callback/gitlab"
)

// startIdP starts testidp with our client and the users on its GitLab
// persona; the first user is the one who signs in.
func startIdP(t *testing.T, users ...testidp.User) *testidp.IdP {
	t.Helper()
	idp := upstreamtest.NewIdP(t, testidp.Config{Now: clock})
	upstreamtest.AddClient(t, idp, testidp.GitLab, testidp.Client{ID: clientID, Secret: clientSecret, RedirectURIs: []string{redirectURI}}, users...)
	return idp
}

// config points a provider at testidp's GitLab persona; netguard lets it
// reach loopback, as tests must.
func config(idp *testidp.IdP) Config {
	return Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		BaseURL:      idp.Issuer(testidp.GitLab),
		HTTPClient:   upstreamtest.Client(idp),
		Now:          clock,
	}
}

func newProvider(t *testing.T, idp *testidp.IdP, mod func(*Config)) *Provider {
	t.Helper()
	cfg := config(idp)
	if mod != nil {
		mod(&cfg)
	}
	p, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

// signIn plays the browser through one sign-in and hands the callback to
// Exchange.
func signIn(t *testing.T, idp *testidp.IdP, p *Provider) (upstream.Identity, error) {
	t.Helper()
	return p.Exchange(t.Context(), callback(t, idp, p))
}

// callback plays the browser: AuthCodeURL, GitLab's authorize endpoint and
// the redirect back, which it returns as the callback the flow would hand
// to Exchange.
func callback(t *testing.T, idp *testidp.IdP, p *Provider) upstream.Callback {
	t.Helper()
	return upstreamtest.Callback(t, idp.Client(), p, redirectURI)
}
