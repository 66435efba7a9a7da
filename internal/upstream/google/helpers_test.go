package google

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
	clientID     = "123-abc.apps.googleusercontent.com"
	clientSecret = "GOCSPX-test-secret"
	redirectURI  = "https://sso.example.com/callback/google"
)

// startIdP starts testidp with our client and the users on its Google
// persona; the first user is the one who signs in.
func startIdP(t *testing.T, users ...testidp.User) *testidp.IdP {
	t.Helper()
	idp := upstreamtest.NewIdP(t, testidp.Config{Now: clock})
	upstreamtest.AddClient(t, idp, testidp.Google, testidp.Client{ID: clientID, Secret: clientSecret, RedirectURIs: []string{redirectURI}}, users...)
	return idp
}

// config points a provider at testidp's Google persona; netguard lets it
// reach loopback, as tests must.
func config(idp *testidp.IdP) Config {
	return Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		Issuer:       idp.Issuer(testidp.Google),
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
	return p.Exchange(t.Context(), upstreamtest.Callback(t, idp.Client(), p, redirectURI))
}
