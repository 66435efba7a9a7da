package oidc_test

import (
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/sallyport/sallyport/internal/netguard"
	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/testidp"
	"github.com/sallyport/sallyport/internal/upstream"
	"github.com/sallyport/sallyport/internal/upstream/oidc"
)

const (
	clientID = "app"
	// clientSecret needs form-encoding before base64 in Basic auth, and is
	// long enough to key HS256.
	clientSecret = "s3cr+t%/:é&=-0123456789abcdefghijklmnop"
	redirectURI  = "https://sso.example.test/callback/corp"
)

// clock is a settable clock shared by the IdP and the provider.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is one running IdP with a client and a user on one persona.
type env struct {
	t       testing.TB
	idp     *testidp.IdP
	clock   *clock
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
	idp, err := testidp.Start(testidp.Config{Now: clk.Now, TLS: o.tls})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Close() })
	e := &env{t: t, idp: idp, clock: clk, persona: testidp.Generic, issuer: idp.Issuer(testidp.Generic)}
	if o.trailing {
		e.persona = "slash"
		if e.issuer, err = idp.AddGeneric(e.persona, true); err != nil {
			t.Fatal(err)
		}
	}
	must(t, idp.AddClient(e.persona, testidp.Client{ID: clientID, Secret: clientSecret, RedirectURIs: []string{redirectURI}}))
	u := alice
	if o.user != nil {
		u = *o.user
	}
	must(t, idp.AddUser(e.persona, u))
	var roots *x509.CertPool
	if o.tls {
		roots = idp.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	}
	timeout := o.timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	e.client = netguard.New(netguard.Config{InsecureAllowPrivateNetworks: true, RootCAs: roots, Timeout: timeout, MaxBodyBytes: o.maxBodyBytes})
	return e
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
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
	must(e.t, e.idp.Misbehave(e.persona, m))
}

func (e *env) requests(endpoint string) int { return e.idp.Requests(e.persona, endpoint) }

// random is 32 random bytes, base64url, as the flow draws them.
func random() string { return oauth2.GenerateVerifier() }

// callback plays the browser: AuthCodeURL, the IdP's authorize endpoint,
// and the redirect back, which it returns as the callback the flow would
// hand to Exchange.
func (e *env) callback(p *oidc.Provider) upstream.Callback {
	e.t.Helper()
	state, nonce, verifier := random(), random(), random()
	u, err := p.AuthCodeURL(e.t.Context(), upstream.AuthRequest{
		State: state, Nonce: nonce, CodeChallenge: oauth2.S256ChallengeFromVerifier(verifier), RedirectURI: redirectURI,
	})
	if err != nil {
		e.t.Fatalf("AuthCodeURL: %v", err)
	}
	browser := *e.idp.Client()
	browser.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := browser.Get(u)
	if err != nil {
		e.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		e.t.Fatalf("authorize: status %d: %s", resp.StatusCode, body)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		e.t.Fatal(err)
	}
	params := loc.Query()
	if got := params.Get("state"); got != state {
		e.t.Fatalf("state came back as %q, want %q", got, state)
	}
	return upstream.Callback{Params: params, Nonce: nonce, CodeVerifier: verifier, RedirectURI: redirectURI}
}

// login runs one whole sign-in.
func (e *env) login(p *oidc.Provider) (upstream.Identity, error) {
	e.t.Helper()
	return p.Exchange(e.t.Context(), e.callback(p))
}

// wantRefusal checks that err is an outcome error with code whose cause
// wraps cause.
func wantRefusal(t testing.TB, err error, code outcome.Code, cause error) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted; want %s (%v)", code, cause)
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
