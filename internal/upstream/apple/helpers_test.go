package apple

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/sallyport/sallyport/internal/netguard"
	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/testidp"
	"github.com/sallyport/sallyport/internal/upstream"
)

const (
	clientID    = "com.example.sso.web"
	teamID      = "TEAM123456"
	keyID       = "KEY7654321"
	redirectURI = "https://sso.example.com/callback/apple"
)

// clock is a settable clock shared by the IdP and the provider.
type clock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

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

// env is testidp with our Apple client registered, and the key whose
// public half it trusts.
type env struct {
	idp   *testidp.IdP
	clock *clock
	key   *ecdsa.PrivateKey
}

// newKey makes a Sign in with Apple key: EC P-256, as a .p8 file.
func newKey(t *testing.T) (*ecdsa.PrivateKey, string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k, p8(t, k)
}

// p8 writes a private key as Apple's .p8 file does: PEM PKCS#8.
func p8(t *testing.T, k any) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// startEnv starts testidp with the users on its Apple persona (the first
// signs in) and registers our client with the public half of a new key.
func startEnv(t *testing.T, users ...testidp.User) *env {
	t.Helper()
	clk := newClock()
	idp, err := testidp.Start(testidp.Config{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Close() })
	key, _ := newKey(t)
	must(t, idp.AddAppleClient(testidp.AppleClient{
		ID: clientID, TeamID: teamID, KeyID: keyID, PublicKey: &key.PublicKey, RedirectURIs: []string{redirectURI},
	}))
	for _, u := range users {
		must(t, idp.AddUser(testidp.Apple, u))
	}
	return &env{idp: idp, clock: clk, key: key}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// config points a provider at testidp's Apple persona with the env's key.
func (e *env) config(t *testing.T) Config {
	return Config{
		ClientID:      clientID,
		TeamID:        teamID,
		KeyID:         keyID,
		PrivateKeyPEM: p8(t, e.key),
		Issuer:        e.idp.Issuer(testidp.Apple),
		HTTPClient:    netguard.New(netguard.Config{InsecureAllowPrivateNetworks: true}),
		Now:           e.clock.Now,
	}
}

func (e *env) provider(t *testing.T, mod func(*Config)) *Provider {
	t.Helper()
	cfg := e.config(t)
	if mod != nil {
		mod(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

// callback plays the browser: AuthCodeURL, Apple's authorize endpoint,
// and the self-submitting form_post page, turned into the POST the
// browser would send to Sallyport; its form is the callback's Params.
func (e *env) callback(t *testing.T, p *Provider) upstream.Callback {
	t.Helper()
	state, nonce := oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
	u, err := p.AuthCodeURL(t.Context(), upstream.AuthRequest{State: state, Nonce: nonce, RedirectURI: redirectURI})
	if err != nil {
		t.Fatalf("AuthCodeURL: %v", err)
	}
	resp, err := e.idp.Client().Get(u)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		t.Fatalf("authorize answered %s, want the form_post page", resp.Status)
	}
	req, err := testidp.FormPostRequest(resp)
	if err != nil {
		t.Fatal(err)
	}
	if req.Method != http.MethodPost || req.URL.String() != redirectURI {
		t.Fatalf("the page posts %s %s, want POST %s", req.Method, req.URL, redirectURI)
	}
	if err := req.ParseForm(); err != nil {
		t.Fatal(err)
	}
	if got := req.PostForm.Get("state"); got != state {
		t.Fatalf("state came back as %q, want %q", got, state)
	}
	return upstream.Callback{Params: req.PostForm, Nonce: nonce, RedirectURI: redirectURI}
}

// signIn runs one whole sign-in.
func (e *env) signIn(t *testing.T, p *Provider) (upstream.Identity, error) {
	t.Helper()
	return p.Exchange(t.Context(), e.callback(t, p))
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
