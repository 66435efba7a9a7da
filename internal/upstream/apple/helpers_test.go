package apple

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"testing"

	"golang.org/x/oauth2"

	"github.com/sallyport/sallyport/internal/testidp"
	"github.com/sallyport/sallyport/internal/upstream"
	"github.com/sallyport/sallyport/internal/upstream/upstreamtest"
)

const (
	clientID    = "com.example.sso.web"
	teamID      = "TEAM123456"
	keyID       = "KEY7654321"
	redirectURI = "https://sso.example.com/callback/apple"
)

func newClock() *upstreamtest.Clock { return upstreamtest.NewClock(upstreamtest.Epoch) }

// env is testidp with our Apple client registered, and the key whose
// public half it trusts.
type env struct {
	idp   *testidp.IdP
	clock *upstreamtest.Clock
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
	idp := upstreamtest.NewIdP(t, testidp.Config{Now: clk.Now})
	key, _ := newKey(t)
	upstreamtest.Must(t, idp.AddAppleClient(testidp.AppleClient{
		ID: clientID, TeamID: teamID, KeyID: keyID, PublicKey: &key.PublicKey, RedirectURIs: []string{redirectURI},
	}))
	upstreamtest.AddUsers(t, idp, testidp.Apple, users...)
	return &env{idp: idp, clock: clk, key: key}
}

// config points a provider at testidp's Apple persona with the env's key.
func (e *env) config(t *testing.T) Config {
	return Config{
		ClientID:      clientID,
		TeamID:        teamID,
		KeyID:         keyID,
		PrivateKeyPEM: p8(t, e.key),
		Issuer:        e.idp.Issuer(testidp.Apple),
		HTTPClient:    upstreamtest.Client(e.idp),
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
	params := upstreamtest.Authorize(t, e.idp.Client(), u)
	if got := params.Get("state"); got != state {
		t.Fatalf("state came back as %q, want %q", got, state)
	}
	return upstream.Callback{Params: params, Nonce: nonce, RedirectURI: redirectURI}
}

// signIn runs one whole sign-in.
func (e *env) signIn(t *testing.T, p *Provider) (upstream.Identity, error) {
	t.Helper()
	return p.Exchange(t.Context(), e.callback(t, p))
}
