package apple

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sallyport/sallyport/internal/flow"
	"github.com/sallyport/sallyport/internal/netguard"
	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/testidp"
	"github.com/sallyport/sallyport/internal/upstream"
	"github.com/sallyport/sallyport/internal/upstream/oidc"
	"github.com/sallyport/sallyport/internal/upstream/upstreamtest"
)

var tim = testidp.User{
	Subject: "001234.0a1b2c3d4e5f60718293a4b5c6d7e8f9.1200", Email: "Tim@Example.com", EmailVerified: true, Name: "Tim Apple",
}

var relay = testidp.User{
	Subject: "001234.ffeeddccbbaa99887766554433221100.1201", Email: "x7k2m9q4@privaterelay.appleid.com", EmailVerified: true, Name: "Ann Onymous",
}

func TestSignIn(t *testing.T) {
	e := startEnv(t, tim)
	p := e.provider(t, nil)
	if !p.FormPost() || p.UsesPKCE() {
		t.Errorf("FormPost() = %v, UsesPKCE() = %v; want true, false", p.FormPost(), p.UsesPKCE())
	}
	if got, want := p.Issuer(), e.idp.Issuer(testidp.Apple); got != want {
		t.Errorf("Issuer() = %q, want %q", got, want)
	}
	id, err := e.signIn(t, p)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	want := upstream.Identity{Subject: tim.Subject, Email: "tim@example.com", EmailVerified: true, Name: "Tim Apple"}
	if diff := cmp.Diff(want, id, cmpopts.IgnoreFields(upstream.Identity{}, "Claims")); diff != "" {
		t.Errorf("identity (-want +got):\n%s", diff)
	}
	for k, v := range map[string]any{"email_verified": true, "is_private_email": false, "aud": clientID} {
		if id.Claims[k] != v {
			t.Errorf("Claims[%q] = %#v, want %#v", k, id.Claims[k], v)
		}
	}
	if _, ok := id.Claims["name"]; ok {
		t.Error("the unsigned name reached Claims")
	}
}

func TestExplicitEndpoints(t *testing.T) {
	e := startEnv(t, tim)
	ep := e.idp.Endpoints(testidp.Apple)
	p := e.provider(t, func(c *Config) { c.AuthURL, c.TokenURL, c.JWKSURL = ep.Authorize, ep.Token, ep.JWKS })
	if _, err := e.signIn(t, p); err != nil {
		t.Fatalf("Exchange: %v", err)
	}
}

func TestAuthCodeURL(t *testing.T) {
	e := startEnv(t, tim)
	p := e.provider(t, func(c *Config) { c.Issuer = "" }) // Apple's own endpoints
	raw, err := p.AuthCodeURL(t.Context(), upstream.AuthRequest{
		State: "st", Nonce: "nc", RedirectURI: redirectURI,
		CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", LoginHint: "tim@example.com", Prompt: "login",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(raw, "https://appleid.apple.com/auth/authorize?") {
		t.Errorf("URL %s is not Apple's authorization endpoint", raw)
	}
	if !strings.Contains(raw, "scope=name%20email") {
		t.Errorf("URL %s does not separate scopes with %%20", raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := url.Values{
		"response_type": {"code"},
		"response_mode": {"form_post"},
		"client_id":     {clientID},
		"redirect_uri":  {redirectURI},
		"scope":         {"name email"},
		"state":         {"st"},
		"nonce":         {"nc"},
	}
	if diff := cmp.Diff(want, u.Query()); diff != "" {
		t.Errorf("query (-want +got):\n%s", diff)
	}
	for _, req := range []upstream.AuthRequest{
		{Nonce: "n", RedirectURI: redirectURI},
		{State: "s", RedirectURI: redirectURI},
		{State: "s", Nonce: "n"},
	} {
		if _, err := p.AuthCodeURL(t.Context(), req); err == nil {
			t.Errorf("AuthCodeURL(%+v) accepted an incomplete request", req)
		}
	}
}

func TestNameFromUserFieldOnFirstSignInOnly(t *testing.T) {
	e := startEnv(t, tim)
	p := e.provider(t, nil)
	first := e.callback(t, p)
	if !first.Params.Has("user") {
		t.Fatal("the first authorization carries no user field")
	}
	id, err := p.Exchange(t.Context(), first)
	if err != nil {
		t.Fatal(err)
	}
	if id.Name != "Tim Apple" {
		t.Errorf("first sign-in: Name = %q, want Tim Apple", id.Name)
	}
	second := e.callback(t, p)
	if second.Params.Has("user") {
		t.Fatal("a later authorization carries the user field")
	}
	id, err = p.Exchange(t.Context(), second)
	if err != nil {
		t.Fatal(err)
	}
	if id.Name != "" || id.Subject != tim.Subject || id.Email != "tim@example.com" {
		t.Errorf("second sign-in: %+v; want the same subject and email and no name", id)
	}
}

// The user field is unsigned: whatever it says about the email is
// ignored, and its name is used for display only.
func TestForgedUserFieldEmailIgnored(t *testing.T) {
	forged := `{"name":{"firstName":"Mallory","lastName":"M."},"email":"ceo@victim.test"}`
	for _, tc := range []struct {
		name      string
		scopes    []string
		wantEmail string
	}{
		{"the token's email wins", nil, "tim@example.com"},
		{"no email in the token: none at all", []string{"name"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := startEnv(t, tim)
			p := e.provider(t, func(c *Config) { c.Scopes = tc.scopes })
			cb := e.callback(t, p)
			cb.Params.Set("user", forged)
			id, err := p.Exchange(t.Context(), cb)
			if err != nil {
				t.Fatal(err)
			}
			if id.Email != tc.wantEmail || id.EmailVerified != (tc.wantEmail != "") {
				t.Errorf("Email = %q (verified %v), want %q", id.Email, id.EmailVerified, tc.wantEmail)
			}
			if id.Subject != tim.Subject {
				t.Errorf("Subject = %q, want %q", id.Subject, tim.Subject)
			}
			if id.Name != "Mallory M." {
				t.Errorf("Name = %q, want the display name Mallory M.", id.Name)
			}
			for k, v := range id.Claims {
				if s, ok := v.(string); ok && strings.Contains(s, "victim") {
					t.Errorf("Claims[%q] = %q comes from the user field", k, s)
				}
			}
		})
	}
}

func TestDisplayName(t *testing.T) {
	for _, tc := range []struct{ field, want string }{
		{`{"name":{"firstName":"Tim","lastName":"Apple"},"email":"tim@example.com"}`, "Tim Apple"},
		{`{"name":{"firstName":"Tim"}}`, "Tim"},
		{`{"name":{"lastName":"  Apple "}}`, "Apple"},
		{`{"name":{"firstName":"Ti\u0000m\n","lastName":"\u001b[31mApple"}}`, "Ti m [31mApple"},
		{`{"email":"tim@example.com"}`, ""},
		{`{"name":null}`, ""},
		{`not json`, ""},
		{`{"name":{"firstName":"` + strings.Repeat("a", 5000) + `"}}`, ""},
		{`{"name":{"firstName":"` + strings.Repeat("é", 300) + `"}}`, strings.Repeat("é", maxNameRunes)},
	} {
		if got := displayName(tc.field); got != tc.want {
			t.Errorf("displayName(%.60q) = %q, want %q", tc.field, got, tc.want)
		}
	}
}

func TestStringAndBoolClaims(t *testing.T) {
	unverified := tim
	unverified.EmailVerified = false
	odd := tim
	odd.Claims = map[string]any{"email_verified": "yes"}
	for _, tc := range []struct {
		name                   string
		user                   testidp.User
		boolClaims             bool
		wantVerified, wantPriv bool
	}{
		{"strings: verified", tim, false, true, false},
		{"strings: unverified", unverified, false, false, false},
		{"strings: relay address", relay, false, true, true},
		{"booleans: verified", tim, true, true, false},
		{"booleans: unverified", unverified, true, false, false},
		{"booleans: relay address", relay, true, true, true},
		{"neither a boolean nor true/false", odd, false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := startEnv(t, tc.user)
			upstreamtest.Must(t, e.idp.SetOptions(testidp.Apple, testidp.Options{BoolClaims: tc.boolClaims}))
			id, err := e.signIn(t, e.provider(t, nil))
			if err != nil {
				t.Fatal(err)
			}
			if id.Email == "" {
				t.Fatal("no email")
			}
			if id.EmailVerified != tc.wantVerified {
				t.Errorf("EmailVerified = %v, want %v", id.EmailVerified, tc.wantVerified)
			}
			if id.Claims["email_verified"] != tc.wantVerified || id.Claims["is_private_email"] != tc.wantPriv {
				t.Errorf("Claims email_verified = %#v, is_private_email = %#v; want booleans %v, %v",
					id.Claims["email_verified"], id.Claims["is_private_email"], tc.wantVerified, tc.wantPriv)
			}
		})
	}
}

func TestClientSecret(t *testing.T) {
	e := startEnv(t, tim)
	p := e.provider(t, nil)
	now := e.clock.Now()
	s, err := p.clientSecret(now)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := jose.ParseSigned(s, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	h := jws.Signatures[0].Header
	if h.KeyID != keyID || h.Algorithm != "ES256" || h.ExtraHeaders["typ"] != "JWT" {
		t.Errorf("header kid %q alg %q typ %v; want %s, ES256, JWT", h.KeyID, h.Algorithm, h.ExtraHeaders["typ"], keyID)
	}
	payload, err := jws.Verify(&e.key.PublicKey)
	if err != nil {
		t.Fatalf("the secret does not verify with the key's public half: %v", err)
	}
	var got map[string]any
	if err := json.Unmarshal(payload, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"iss": teamID, "sub": clientID, "aud": e.idp.Issuer(testidp.Apple),
		"iat": float64(now.Unix()), "exp": float64(now.Add(5 * time.Minute).Unix()),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
}

// secretRecorder records the client_secret of every token request.
type secretRecorder struct {
	base    http.RoundTripper
	mu      sync.Mutex // guards secrets
	secrets []string
}

func (r *secretRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPost && req.Body != nil {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		if f, err := url.ParseQuery(string(body)); err == nil && f.Has("client_secret") {
			r.mu.Lock()
			r.secrets = append(r.secrets, f.Get("client_secret"))
			r.mu.Unlock()
		}
	}
	return r.base.RoundTrip(req)
}

// Every token request gets a secret minted at that moment, so a secret
// never outlives its five minutes.
func TestClientSecretMintedPerRequest(t *testing.T) {
	e := startEnv(t, tim)
	rec := &secretRecorder{base: netguard.New(netguard.Config{InsecureAllowPrivateNetworks: true}).Transport}
	p := e.provider(t, func(c *Config) { c.HTTPClient = &http.Client{Transport: rec} })
	var iats []float64
	for range 2 {
		if _, err := e.signIn(t, p); err != nil {
			t.Fatalf("Exchange at %s: %v", e.clock.Now(), err)
		}
		e.clock.Advance(time.Hour)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.secrets) != 2 {
		t.Fatalf("%d token requests carried a client secret, want 2", len(rec.secrets))
	}
	for _, s := range rec.secrets {
		jws, err := jose.ParseSigned(s, []jose.SignatureAlgorithm{jose.ES256})
		if err != nil {
			t.Fatal(err)
		}
		var c struct{ Iat, Exp float64 }
		if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &c); err != nil {
			t.Fatal(err)
		}
		if c.Exp-c.Iat != ClientSecretTTL.Seconds() {
			t.Errorf("secret lives %v s, want %v", c.Exp-c.Iat, ClientSecretTTL.Seconds())
		}
		iats = append(iats, c.Iat)
	}
	if iats[1]-iats[0] != time.Hour.Seconds() {
		t.Errorf("secrets issued at %v: the second was not minted an hour after the first", iats)
	}
}

func TestWrongClientSecretRefused(t *testing.T) {
	_, otherPEM := newKey(t)
	for name, mod := range map[string]func(*Config){
		"another key":     func(c *Config) { c.PrivateKeyPEM = otherPEM },
		"another key id":  func(c *Config) { c.KeyID = "KEY0000000" },
		"another team id": func(c *Config) { c.TeamID = "TEAM000000" },
	} {
		t.Run(name, func(t *testing.T) {
			e := startEnv(t, tim)
			p := e.provider(t, mod)
			_, err := e.signIn(t, p)
			upstreamtest.WantRefusal(t, err, outcome.CodeExchangeFailed, oidc.ErrTokenEndpoint)
			msg := err.Error()
			if !strings.Contains(msg, "invalid_client") {
				t.Errorf("error %q does not name Apple's invalid_client", msg)
			}
			if strings.Contains(msg, "eyJ") || strings.Contains(msg, "PRIVATE KEY") {
				t.Errorf("error %q leaks a secret or the key", msg)
			}
		})
	}
}

func TestErrorCallback(t *testing.T) {
	e := startEnv(t, tim)
	p := e.provider(t, nil)
	upstreamtest.Must(t, e.idp.Misbehave(testidp.Apple, testidp.Misbehavior{ErrorCallback: true}))
	_, err := e.signIn(t, p)
	upstreamtest.WantRefusal(t, err, outcome.UpstreamError, oidc.ErrUpstream)

	// What Apple posts when the person cancels.
	_, err = p.Exchange(t.Context(), upstream.Callback{
		Params: url.Values{"error": {"user_cancelled_authorize"}, "state": {"s"}, "code": {"c"}}, Nonce: "n", RedirectURI: redirectURI,
	})
	upstreamtest.WantRefusal(t, err, outcome.UpstreamError, oidc.ErrUpstream)
	if n := e.idp.Requests(testidp.Apple, testidp.EndpointToken); n != 0 {
		t.Errorf("%d token requests after error callbacks, want 0", n)
	}
}

func TestMalformedCallbacks(t *testing.T) {
	e := startEnv(t, tim)
	p := e.provider(t, nil)
	for name, tc := range map[string]struct {
		params url.Values
		cause  error
	}{
		"no code":        {url.Values{"state": {"s"}}, oidc.ErrMissingCode},
		"empty code":     {url.Values{"code": {""}}, oidc.ErrMissingCode},
		"two codes":      {url.Values{"code": {"a", "b"}}, oidc.ErrMissingCode},
		"another issuer": {url.Values{"code": {"a"}, "iss": {"https://evil.example"}}, flow.ErrIssuerMismatch},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := p.Exchange(t.Context(), upstream.Callback{Params: tc.params, Nonce: "n", RedirectURI: redirectURI})
			upstreamtest.WantRefusal(t, err, outcome.InvalidState, tc.cause)
		})
	}
	if n := e.idp.Requests(testidp.Apple, testidp.EndpointToken); n != 0 {
		t.Errorf("%d token requests for malformed callbacks, want 0", n)
	}
}

func TestIDTokenRefusals(t *testing.T) {
	for _, tc := range []struct {
		name  string
		m     testidp.Misbehavior
		code  outcome.Code
		cause error
	}{
		{"token endpoint error", testidp.Misbehavior{TokenError: true}, outcome.CodeExchangeFailed, oidc.ErrTokenEndpoint},
		{"bad signature", testidp.Misbehavior{BadSignature: true}, outcome.IdentityInvalid, oidc.ErrSignature},
		{"alg none", testidp.Misbehavior{AlgNone: true}, outcome.IdentityInvalid, oidc.ErrAlgorithm},
		{"HMAC with the public key", testidp.Misbehavior{HMACWithPublicKey: true}, outcome.IdentityInvalid, oidc.ErrAlgorithm},
		{"wrong issuer", testidp.Misbehavior{WrongIssuer: true}, outcome.IdentityInvalid, oidc.ErrIssuer},
		{"wrong audience", testidp.Misbehavior{WrongAudience: true}, outcome.IdentityInvalid, oidc.ErrAudience},
		{"wrong nonce", testidp.Misbehavior{WrongNonce: true}, outcome.IdentityInvalid, oidc.ErrNonce},
		{"no nonce", testidp.Misbehavior{DropNonce: true}, outcome.IdentityInvalid, oidc.ErrNonce},
		{"expired", testidp.Misbehavior{Expired: true}, outcome.IdentityInvalid, oidc.ErrExpired},
		{"bad at_hash", testidp.Misbehavior{BadAtHash: true}, outcome.IdentityInvalid, oidc.ErrAtHash},
		{"unknown kid", testidp.Misbehavior{UnknownKID: testidp.UnknownKIDNever}, outcome.IdentityInvalid, oidc.ErrUnknownKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := startEnv(t, tim)
			p := e.provider(t, nil)
			upstreamtest.Must(t, e.idp.Misbehave(testidp.Apple, tc.m))
			_, err := e.signIn(t, p)
			upstreamtest.WantRefusal(t, err, tc.code, tc.cause)
		})
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	e := startEnv(t, tim)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sec1, err := x509.MarshalECPrivateKey(e.key)
	if err != nil {
		t.Fatal(err)
	}
	good := e.config(t).PrivateKeyPEM
	body := strings.Split(good, "\n")[1] // a line of the key's base64
	for name, mod := range map[string]func(*Config){
		"no client id":        func(c *Config) { c.ClientID = "" },
		"no team id":          func(c *Config) { c.TeamID = "" },
		"no key id":           func(c *Config) { c.KeyID = "" },
		"key id with a space": func(c *Config) { c.KeyID = "KEY 123" },
		"no private key":      func(c *Config) { c.PrivateKeyPEM = "" },
		"not PEM":             func(c *Config) { c.PrivateKeyPEM = body },
		"SEC1, not PKCS#8": func(c *Config) {
			c.PrivateKeyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}))
		},
		"PKCS#8 garbage":           func(c *Config) { c.PrivateKeyPEM = strings.Replace(good, body, strings.Repeat("A", len(body)), 1) },
		"RSA key":                  func(c *Config) { c.PrivateKeyPEM = p8(t, rsaKey) },
		"P-384 key":                func(c *Config) { c.PrivateKeyPEM = p8(t, p384) },
		"plain-http endpoint":      func(c *Config) { c.Issuer, c.TokenURL = "", "http://appleid.apple.com/auth/token" },
		"endpoint not a URL":       func(c *Config) { c.JWKSURL = "/auth/keys" },
		"scope with a space":       func(c *Config) { c.Scopes = []string{"name email"} },
		"issuer with a query":      func(c *Config) { c.Issuer = "https://appleid.apple.com?x=1" },
		"issuer not absolute":      func(c *Config) { c.Issuer = "appleid.apple.com" },
		"endpoint with a fragment": func(c *Config) { c.AuthURL = "https://appleid.apple.com/auth/authorize#x" },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := e.config(t)
			mod(&cfg)
			_, err := New(cfg)
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("New: %v; want %v", err, ErrConfig)
			}
			if strings.Contains(err.Error(), body[:16]) {
				t.Errorf("error %q quotes the private key", err)
			}
		})
	}
}
