package oidc_test

import (
	"net/http"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/sallyport/sallyport/internal/netguard"
	"github.com/sallyport/sallyport/internal/testidp"
	"github.com/sallyport/sallyport/internal/upstream"
	"github.com/sallyport/sallyport/internal/upstream/oidc"
	"github.com/sallyport/sallyport/internal/upstream/upstreamtest"
)

const (
	clientID = "app"
	// clientSecret needs form-encoding before base64 in Basic auth, and is
	// long enough to key HS256.
	clientSecret = "s3cr+t%/:é&=-0123456789abcdefghijklmnop"
	redirectURI  = "https://sso.example.test/callback/corp"
)

func newClock() *upstreamtest.Clock {
	return upstreamtest.NewClock(time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC))
}

// env is one running IdP with a client and a user on one persona.
type env struct {
	t       testing.TB
	idp     *testidp.IdP
	clock   *upstreamtest.Clock
	persona string
	issuer  string
	client  *http.Client // netguard with the insecure switch: the IdP is on loopback
}

type envOpts struct {
	tls          bool
	trailing     bool // a generic persona whose issuer ends in "/"
	user         *testidp.User
	timeout      time.Duration
	maxBodyBytes int64
}

var alice = testidp.User{
	Subject: "alice-0001", Email: "Alice@Example.COM", EmailVerified: true,
	Name: "Alice Liddell", Picture: "https://example.com/alice.png", Username: "alice",
}

func newEnv(t testing.TB, o envOpts) *env {
	t.Helper()
	clk := newClock()
	idp := upstreamtest.NewIdP(t, testidp.Config{Now: clk.Now, TLS: o.tls})
	e := &env{t: t, idp: idp, clock: clk, persona: testidp.Generic, issuer: idp.Issuer(testidp.Generic)}
	if o.trailing {
		e.persona = "slash"
		var err error
		if e.issuer, err = idp.AddGeneric(e.persona, true); err != nil {
			t.Fatal(err)
		}
	}
	u := alice
	if o.user != nil {
		u = *o.user
	}
	upstreamtest.AddClient(t, idp, e.persona, testidp.Client{ID: clientID, Secret: clientSecret, RedirectURIs: []string{redirectURI}}, u)
	nc := upstreamtest.ClientConfig(idp)
	nc.Timeout, nc.MaxBodyBytes = o.timeout, o.maxBodyBytes
	if nc.Timeout == 0 {
		nc.Timeout = 10 * time.Second
	}
	e.client = netguard.New(nc)
	return e
}

// config is the provider configuration for the env's persona.
func (e *env) config() oidc.Config {
	return oidc.Config{
		Issuer: e.issuer, ClientID: clientID, ClientSecret: clientSecret,
		HTTPClient: e.client, Now: e.clock.Now,
	}
}

func (e *env) provider(cfg oidc.Config) *oidc.Provider {
	e.t.Helper()
	p, err := oidc.New(e.t.Context(), cfg)
	if err != nil {
		e.t.Fatalf("New: %v", err)
	}
	return p
}

func (e *env) misbehave(m testidp.Misbehavior) {
	e.t.Helper()
	upstreamtest.Must(e.t, e.idp.Misbehave(e.persona, m))
}

func (e *env) requests(endpoint string) int { return e.idp.Requests(e.persona, endpoint) }

// random is 32 random bytes, base64url, as the flow draws them.
func random() string { return oauth2.GenerateVerifier() }

// callback plays the browser: AuthCodeURL, the IdP's authorize endpoint,
// and the redirect back, which it returns as the callback the flow would
// hand to Exchange.
func (e *env) callback(p *oidc.Provider) upstream.Callback {
	e.t.Helper()
	return upstreamtest.Callback(e.t, e.idp.Client(), p, redirectURI)
}

// login runs one whole sign-in.
func (e *env) login(p *oidc.Provider) (upstream.Identity, error) {
	e.t.Helper()
	return p.Exchange(e.t.Context(), e.callback(p))
}
