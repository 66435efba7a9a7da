package oidc_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/upstream/oidc"
	"github.com/sallyport/sallyport/internal/upstream/upstreamtest"
)

const (
	vIssuer = "https://idp.example.test"
	vNonce  = "n-0S6_WzA2Mj"
)

// keyring is a JWKS served over real HTTP, with the private keys that
// match it.
type keyring struct {
	rsa, small, enc, rs384 *rsa.PrivateKey
	ec                     *ecdsa.PrivateKey
	ed                     ed25519.PrivateKey
	oct                    []byte
	srv                    *httptest.Server
	fetches                atomic.Int32
}

func newKeyring(t testing.TB) *keyring {
	t.Helper()
	k := &keyring{oct: []byte("0123456789abcdef0123456789abcdef")}
	var err error
	for _, p := range []**rsa.PrivateKey{&k.rsa, &k.enc, &k.rs384} {
		if *p, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			t.Fatal(err)
		}
	}
	if k.small, err = rsa.GenerateKey(rand.Reader, 1024); err != nil {
		t.Fatal(err)
	}
	if k.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	if _, k.ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
		t.Fatal(err)
	}
	jwks := []any{
		jwk(t, jose.JSONWebKey{Key: k.rsa.Public(), KeyID: "rsa", Use: "sig"}, map[string]any{"issuer": vIssuer}),
		jwk(t, jose.JSONWebKey{Key: k.ec.Public(), KeyID: "ec"}, nil),
		jwk(t, jose.JSONWebKey{Key: k.ed.Public(), KeyID: "ed"}, nil),
		jwk(t, jose.JSONWebKey{Key: k.enc.Public(), KeyID: "enc", Use: "enc"}, nil),
		jwk(t, jose.JSONWebKey{Key: k.rs384.Public(), KeyID: "rs384", Algorithm: "RS384"}, nil),
		jwk(t, jose.JSONWebKey{Key: k.small.Public(), KeyID: "small"}, nil),
		jwk(t, jose.JSONWebKey{Key: k.oct, KeyID: "oct"}, nil),
		map[string]any{"kty": "RSA", "kid": "junk", "n": "!!", "e": "AQAB"},
		map[string]any{"kty": "AKP", "kid": "pq", "alg": "ML-DSA-44", "pub": "AAAA"},
	}
	body, err := json.Marshal(map[string]any{"keys": jwks})
	if err != nil {
		t.Fatal(err)
	}
	k.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k.fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	t.Cleanup(k.srv.Close)
	return k
}

func jwk(t testing.TB, k jose.JSONWebKey, extra map[string]any) map[string]any {
	t.Helper()
	b, err := k.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for n, v := range extra {
		m[n] = v
	}
	return m
}

// sign makes a compact JWS of claims with key under header alg and kid.
// "A>B" signs with B and then claims A in the header (go-jose will not
// sign with a key that does not fit).
func sign(t testing.TB, alg string, key any, kid string, claims map[string]any) string {
	t.Helper()
	if claimed, real, ok := strings.Cut(alg, ">"); ok {
		tok := sign(t, real, key, kid, claims)
		h, _ := json.Marshal(map[string]string{"alg": claimed, "kid": kid, "typ": "JWT"})
		return base64.RawURLEncoding.EncodeToString(h) + tok[strings.IndexByte(tok, '.'):]
	}
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func validClaims(now time.Time) map[string]any {
	return map[string]any{
		"iss": vIssuer, "sub": "248289761001", "aud": clientID, "nonce": vNonce,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
}

func (k *keyring) verifier(t testing.TB, clk *upstreamtest.Clock, edit func(*oidc.VerifierConfig)) *oidc.Verifier {
	t.Helper()
	cfg := oidc.VerifierConfig{
		Issuer: vIssuer, ClientID: clientID, ClientSecret: clientSecret,
		Algs: []string{"RS256", "PS256", "ES256", "ES384", "EdDSA"},
		Keys: oidc.NewKeySet(oidc.KeySetConfig{URL: k.srv.URL, HTTPClient: k.srv.Client(), Now: clk.Now}),
		Now:  clk.Now,
	}
	if edit != nil {
		edit(&cfg)
	}
	v, err := oidc.NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestVerifierKeys: the key is found by kid and must fit the header alg;
// unusable JWKS entries are never keys.
func TestVerifierKeys(t *testing.T) {
	k := newKeyring(t)
	clk := newClock()
	hmacOnly := func(c *oidc.VerifierConfig) { c.Algs = []string{"HS256"}; c.Keys = nil }
	for _, tc := range []struct {
		name    string
		alg     string
		key     any
		kid     string
		cfg     func(*oidc.VerifierConfig)
		wantErr error
	}{
		{"RS256", "RS256", k.rsa, "rsa", nil, nil},
		{"PS256", "PS256", k.rsa, "rsa", nil, nil},
		{"ES256", "ES256", k.ec, "ec", nil, nil},
		{"EdDSA", "EdDSA", k.ed, "ed", nil, nil},
		{"RS256 header, kid of an EC key", "RS256", k.rsa, "ec", nil, oidc.ErrKeyType},
		{"ES256 header, kid of an RSA key", "ES256", k.ec, "rsa", nil, oidc.ErrKeyType},
		{"ES384 header, kid of a P-256 key", "ES384>ES256", k.ec, "ec", nil, oidc.ErrKeyType},
		{"RS256 header, JWK says RS384", "RS256", k.rs384, "rs384", nil, oidc.ErrKeyType},
		{"wrong key for the kid", "RS256", k.rs384, "rsa", nil, oidc.ErrSignature},
		{"encryption key", "RS256", k.enc, "enc", nil, oidc.ErrUnknownKey},
		{"1024-bit RSA key", "RS256", k.small, "small", nil, oidc.ErrUnknownKey},
		{"unknown kid", "RS256", k.rsa, "nope", nil, oidc.ErrUnknownKey},
		{"no kid, several keys", "RS256", k.rsa, "", nil, oidc.ErrUnknownKey},
		{"HS256 not allowed", "HS256", k.oct, "oct", nil, oidc.ErrAlgorithm},
		{"HS256 keyed by a JWKS oct key", "HS256", k.oct, "oct", hmacOnly, oidc.ErrSignature},
		{"HS256 keyed by the client secret", "HS256", []byte(clientSecret), "whatever", hmacOnly, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := k.verifier(t, clk, tc.cfg)
			tok := sign(t, tc.alg, tc.key, tc.kid, validClaims(clk.Now()))
			c, err := v.Verify(t.Context(), tok, oidc.VerifyOptions{Nonce: vNonce})
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if c.String("sub") != "248289761001" {
					t.Errorf("claims %v", c)
				}
				return
			}
			upstreamtest.WantRefusal(t, err, outcome.IdentityInvalid, tc.wantErr)
		})
	}
}

func TestVerifierKidlessSingleKey(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"keys": []any{jwk(t, jose.JSONWebKey{Key: key.Public()}, nil)}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	defer srv.Close()
	clk := newClock()
	v, err := oidc.NewVerifier(oidc.VerifierConfig{
		Issuer: vIssuer, ClientID: clientID, Algs: []string{"RS256"}, Now: clk.Now,
		Keys: oidc.NewKeySet(oidc.KeySetConfig{URL: srv.URL, HTTPClient: srv.Client(), Now: clk.Now}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(t.Context(), sign(t, "RS256", key, "", validClaims(clk.Now())), oidc.VerifyOptions{Nonce: vNonce}); err != nil {
		t.Fatalf("a kid-less token against a one-key set: %v", err)
	}
}

// TestVerifierClaims covers the claim checks the testidp switches do not.
func TestVerifierClaims(t *testing.T) {
	k := newKeyring(t)
	clk := newClock()
	now := clk.Now()
	for _, tc := range []struct {
		name    string
		edit    func(map[string]any)
		cfg     func(*oidc.VerifierConfig)
		opts    *oidc.VerifyOptions
		wantErr error
	}{
		{name: "valid"},
		{name: "aud as a one-element array", edit: func(c map[string]any) { c["aud"] = []string{clientID} }},
		{name: "aud not a string", edit: func(c map[string]any) { c["aud"] = 7 }, wantErr: oidc.ErrMalformed},
		{name: "aud missing", edit: func(c map[string]any) { delete(c, "aud") }, wantErr: oidc.ErrAudience},
		{name: "azp with one audience, wrong", edit: func(c map[string]any) { c["azp"] = "other" }, wantErr: oidc.ErrAuthorizedParty},
		{name: "azp with one audience, ours", edit: func(c map[string]any) { c["azp"] = clientID }},
		{name: "sub missing", edit: func(c map[string]any) { delete(c, "sub") }, wantErr: oidc.ErrSubject},
		{name: "sub a number", edit: func(c map[string]any) { c["sub"] = 42 }, wantErr: oidc.ErrSubject},
		{name: "sub of 256 bytes", edit: func(c map[string]any) { c["sub"] = strings.Repeat("s", 256) }, wantErr: oidc.ErrSubject},
		{name: "iss missing", edit: func(c map[string]any) { delete(c, "iss") }, wantErr: oidc.ErrIssuer},
		{name: "iss differs in case", edit: func(c map[string]any) { c["iss"] = strings.ToUpper(vIssuer) }, wantErr: oidc.ErrIssuer},
		{name: "exp missing", edit: func(c map[string]any) { delete(c, "exp") }, wantErr: oidc.ErrExpired},
		{name: "exp a string", edit: func(c map[string]any) { c["exp"] = "soon" }, wantErr: oidc.ErrMalformed},
		{name: "exp 59 s ago: within skew", edit: func(c map[string]any) { c["exp"] = now.Add(-59 * time.Second).Unix() }},
		{name: "exp 60 s ago: beyond skew", edit: func(c map[string]any) { c["exp"] = now.Add(-60 * time.Second).Unix() }, wantErr: oidc.ErrExpired},
		{name: "iat missing", edit: func(c map[string]any) { delete(c, "iat") }, wantErr: oidc.ErrMalformed},
		{name: "iat 60 s ahead: within skew", edit: func(c map[string]any) { c["iat"] = now.Add(60 * time.Second).Unix() }},
		{name: "iat 61 s ahead", edit: func(c map[string]any) { c["iat"] = now.Add(61 * time.Second).Unix() }, wantErr: oidc.ErrIssuedInFuture},
		{name: "nbf 61 s ahead", edit: func(c map[string]any) { c["nbf"] = now.Add(61 * time.Second).Unix() }, wantErr: oidc.ErrNotYetValid},
		{name: "nbf 30 s ahead: within skew", edit: func(c map[string]any) { c["nbf"] = now.Add(30 * time.Second).Unix() }},
		{name: "skew of 2 min", edit: func(c map[string]any) { c["exp"] = now.Add(-90 * time.Second).Unix() },
			cfg: func(c *oidc.VerifierConfig) { c.Skew = 2 * time.Minute }},
		{name: "nonce a number", edit: func(c map[string]any) { c["nonce"] = 1 }, wantErr: oidc.ErrNonce},
		{name: "at_hash of the access token (Core A.3)", edit: func(c map[string]any) { c["at_hash"] = "77QmUPtjPfzWtF2AnpK9RQ" },
			opts: &oidc.VerifyOptions{Nonce: vNonce, AccessToken: "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"}},
		{name: "at_hash of another token", edit: func(c map[string]any) { c["at_hash"] = "77QmUPtjPfzWtF2AnpK9RQ" },
			opts: &oidc.VerifyOptions{Nonce: vNonce, AccessToken: "another"}, wantErr: oidc.ErrAtHash},
		{name: "IssuerCheck accepts, given the key's members", edit: func(c map[string]any) { c["iss"] = "https://tenant.example.test" },
			cfg: func(c *oidc.VerifierConfig) {
				c.IssuerCheck = func(iss string, _ oidc.Claims, key *oidc.Key) error {
					if key == nil || key.Members["issuer"] != vIssuer || iss != "https://tenant.example.test" {
						return errors.New("no")
					}
					return nil
				}
			}},
		{name: "IssuerCheck refuses", cfg: func(c *oidc.VerifierConfig) {
			c.IssuerCheck = func(string, oidc.Claims, *oidc.Key) error { return errors.New("tenant not allowed") }
		}, wantErr: oidc.ErrIssuer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			claims := validClaims(now)
			if tc.edit != nil {
				tc.edit(claims)
			}
			opts := oidc.VerifyOptions{Nonce: vNonce}
			if tc.opts != nil {
				opts = *tc.opts
			}
			_, err := k.verifier(t, clk, tc.cfg).Verify(t.Context(), sign(t, "RS256", k.rsa, "rsa", claims), opts)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			upstreamtest.WantRefusal(t, err, outcome.IdentityInvalid, tc.wantErr)
		})
	}
}

// TestAtHashPerAlg: at_hash hashes with the alg's own hash; EdDSA's is
// SHA-512.
func TestAtHashPerAlg(t *testing.T) {
	k := newKeyring(t)
	clk := newClock()
	v := k.verifier(t, clk, nil)
	for _, tc := range []struct {
		alg  string
		key  any
		kid  string
		hash crypto.Hash
		ok   bool
	}{
		{"RS256", k.rsa, "rsa", crypto.SHA256, true},
		{"EdDSA", k.ed, "ed", crypto.SHA512, true},
		{"EdDSA", k.ed, "ed", crypto.SHA256, false},
	} {
		claims := validClaims(clk.Now())
		claims["at_hash"] = oidc.AtHash(tc.hash, "access-token")
		_, err := v.Verify(t.Context(), sign(t, tc.alg, tc.key, tc.kid, claims), oidc.VerifyOptions{Nonce: vNonce, AccessToken: "access-token"})
		if tc.ok && err != nil {
			t.Errorf("%s with %v: %v", tc.alg, tc.hash, err)
		}
		if !tc.ok {
			upstreamtest.WantRefusal(t, err, outcome.IdentityInvalid, oidc.ErrAtHash)
		}
	}
}

func TestNewVerifierRefuses(t *testing.T) {
	ks := oidc.NewKeySet(oidc.KeySetConfig{URL: "https://idp.example.test/jwks", HTTPClient: http.DefaultClient})
	for _, tc := range []struct {
		name string
		cfg  oidc.VerifierConfig
	}{
		{"alg none", oidc.VerifierConfig{Issuer: vIssuer, ClientID: clientID, Algs: []string{"none"}, Keys: ks}},
		{"no algs", oidc.VerifierConfig{Issuer: vIssuer, ClientID: clientID, Keys: ks}},
		{"no client id", oidc.VerifierConfig{Issuer: vIssuer, Algs: []string{"RS256"}, Keys: ks}},
		{"no issuer", oidc.VerifierConfig{ClientID: clientID, Algs: []string{"RS256"}, Keys: ks}},
		{"HS256 with a short secret", oidc.VerifierConfig{Issuer: vIssuer, ClientID: clientID, Algs: []string{"HS256"}, ClientSecret: "short"}},
		{"HS512 with a 32-byte secret", oidc.VerifierConfig{Issuer: vIssuer, ClientID: clientID, Algs: []string{"HS512"}, ClientSecret: strings.Repeat("s", 32)}},
		{"RS256 without keys", oidc.VerifierConfig{Issuer: vIssuer, ClientID: clientID, Algs: []string{"RS256"}}},
	} {
		if _, err := oidc.NewVerifier(tc.cfg); err == nil {
			t.Errorf("%s: NewVerifier succeeded", tc.name)
		}
	}
}

// TestKeySetRefresh: keys older than Refresh are fetched again on use, and
// a failed refresh keeps them.
func TestKeySetRefresh(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"keys": []any{jwk(t, jose.JSONWebKey{Key: key.Public(), KeyID: "k1"}, nil)}})
	var fetches, failing atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		if failing.Load() == 1 {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Write(body)
	}))
	defer srv.Close()
	clk := newClock()
	ks := oidc.NewKeySet(oidc.KeySetConfig{URL: srv.URL, HTTPClient: srv.Client(), Now: clk.Now, Refresh: time.Hour})
	get := func() error { _, err := ks.Key(t.Context(), "k1"); return err }
	upstreamtest.Must(t, get())
	upstreamtest.Must(t, get())
	if n := fetches.Load(); n != 1 {
		t.Fatalf("%d fetches, want 1", n)
	}
	clk.Advance(time.Hour)
	failing.Store(1)
	if err := get(); err != nil {
		t.Fatalf("a failed refresh must keep the cached key: %v", err)
	}
	if n := fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2 (the scheduled refresh)", n)
	}
	upstreamtest.Must(t, get()) // within MinRefetch of the failure: no fetch
	if n := fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want still 2", n)
	}
	failing.Store(0)
	clk.Advance(time.Minute)
	upstreamtest.Must(t, get())
	if n := fetches.Load(); n != 3 {
		t.Fatalf("%d fetches, want 3 (the retried refresh)", n)
	}
	if err := ks.Refresh(t.Context()); err != nil || fetches.Load() != 4 {
		t.Fatalf("Refresh: %v after %d fetches", err, fetches.Load())
	}

	// Never fetched, and the endpoint is down: code_exchange_failed.
	failing.Store(1)
	empty := oidc.NewKeySet(oidc.KeySetConfig{URL: srv.URL, HTTPClient: srv.Client(), Now: clk.Now})
	if _, err := empty.Key(t.Context(), "k1"); !errors.Is(err, oidc.ErrJWKS) {
		t.Fatalf("Key with the JWKS down: %v, want ErrJWKS", err)
	}
}
