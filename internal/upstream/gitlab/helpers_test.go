package gitlab

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/sallyport/sallyport/internal/netguard"
	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/testidp"
	"github.com/sallyport/sallyport/internal/upstream"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func clock() time.Time { return testNow }

const (
	clientID     = "gitlab-app-id"
	clientSecret = "gloas-test-secret"
	redirectURI  = "https://sso.example.com/callback/gitlab"
)

// startIdP starts testidp with our client and the users on its Google
// persona; the first user is the one who signs in.
func startIdP(t *testing.T, users ...testidp.User) *testidp.IdP {
	t.Helper()
	idp, err := testidp.Start(testidp.Config{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Close() })
	must(t, idp.AddClient(testidp.GitLab, testidp.Client{ID: clientID, Secret: clientSecret, RedirectURIs: []string{redirectURI}}))
	for _, u := range users {
		must(t, idp.AddUser(testidp.GitLab, u))
	}
	return idp
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// config points a provider at testidp's GitLab persona; netguard lets it
// reach loopback, as tests must.
func config(idp *testidp.IdP) Config {
	return Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		BaseURL:      idp.Issuer(testidp.GitLab),
		HTTPClient:   netguard.New(netguard.Config{InsecureAllowPrivateNetworks: true}),
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
	state, nonce, verifier := oauth2.GenerateVerifier(), oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
	u, err := p.AuthCodeURL(t.Context(), upstream.AuthRequest{
		State: state, Nonce: nonce, CodeChallenge: oauth2.S256ChallengeFromVerifier(verifier), RedirectURI: redirectURI,
	})
	if err != nil {
		t.Fatalf("AuthCodeURL: %v", err)
	}
	browser := *idp.Client()
	browser.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := browser.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: status %d: %s", resp.StatusCode, body)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	params := loc.Query()
	if got := params.Get("state"); got != state {
		t.Fatalf("state came back as %q, want %q", got, state)
	}
	return upstream.Callback{Params: params, Nonce: nonce, CodeVerifier: verifier, RedirectURI: redirectURI}
}

// wantRefusal checks that err is an outcome error with code whose cause
// wraps cause (when not nil).
func wantRefusal(t *testing.T, err error, code outcome.Code, cause error) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted; want %s", code)
	}
	var oe *outcome.Error
	if !errors.As(err, &oe) {
		t.Fatalf("error %v (%T) carries no outcome; want %s", err, err, code)
	}
	if oe.Code != code {
		t.Errorf("outcome %s, want %s (error: %v)", oe.Code, code, err)
	}
	if cause != nil && !errors.Is(err, cause) {
		t.Errorf("cause %v; want it to wrap %q", err, cause)
	}
}
