package oidc_test

import (
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

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

func TestSignIn(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts envOpts
	}{
		{"http", envOpts{}},
		{"https", envOpts{tls: true}},
		{"issuer with trailing slash", envOpts{trailing: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.opts)
			if tc.opts.trailing && !strings.HasSuffix(e.issuer, "/") {
				t.Fatalf("issuer %q has no trailing slash", e.issuer)
			}
			p := e.provider(e.config())
			if !p.UsesPKCE() {
				t.Error("UsesPKCE() = false; the persona lists S256")
			}
			if p.Issuer() != e.issuer {
				t.Errorf("Issuer() = %q, want %q", p.Issuer(), e.issuer)
			}
			cb := e.callback(p)
			if cb.Params.Get("iss") != e.issuer {
				t.Fatalf("callback iss %q, want %q", cb.Params.Get("iss"), e.issuer)
			}
			id, err := p.Exchange(t.Context(), cb)
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			want := upstream.Identity{
				Subject: "alice-0001", Email: "alice@example.com", EmailVerified: true,
				Name: "Alice Liddell", Picture: "https://example.com/alice.png", Username: "alice",
			}
			if diff := cmp.Diff(want, id, cmpopts.IgnoreFields(upstream.Identity{}, "Claims")); diff != "" {
				t.Errorf("identity (-want +got):\n%s", diff)
			}
			if id.Claims["sub"] != "alice-0001" || id.Claims["iss"] != e.issuer || id.Claims["nonce"] != cb.Nonce {
				t.Errorf("claims %v lack the verified sub, iss or nonce", id.Claims)
			}
			if n := e.requests(testidp.EndpointUserinfo); n != 0 {
				t.Errorf("userinfo fetched %d times; the ID token had every claim", n)
			}
		})
	}
}

func TestAuthCodeURL(t *testing.T) {
	e := newEnv(t, envOpts{})
	cfg := e.config()
	cfg.Scopes = []string{"email", "groups"}
	cfg.AuthParams = map[string]string{
		"acr_values": "mfa", "prompt": "select_account",
		"state": "evil", "Nonce": "evil", "redirect_uri": "https://evil.example", "client_id": "evil",
		"response_type": "token", "scope": "evil", "code_challenge": "evil", "code_challenge_method": "plain",
		"response_mode": "form_post", "request_uri": "https://evil.example/req",
	}
	p := e.provider(cfg)
	raw, err := p.AuthCodeURL(t.Context(), upstream.AuthRequest{
		State: "the-state", Nonce: "the-nonce", CodeChallenge: "the-challenge", RedirectURI: redirectURI, LoginHint: "ann@example.com",
	})
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := u.Scheme+"://"+u.Host+u.Path, e.idp.Endpoints(testidp.Generic).Authorize; got != want {
		t.Errorf("endpoint %s, want %s", got, want)
	}
	want := url.Values{
		"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirectURI},
		"scope": {"openid email groups"}, "state": {"the-state"}, "nonce": {"the-nonce"},
		"code_challenge": {"the-challenge"}, "code_challenge_method": {"S256"},
		"login_hint": {"ann@example.com"}, "prompt": {"select_account"}, "acr_values": {"mfa"},
	}
	if diff := cmp.Diff(want, u.Query()); diff != "" {
		t.Errorf("query (-want +got):\n%s", diff)
	}

	// The request's prompt wins over the configured one.
	raw, err = p.AuthCodeURL(t.Context(), upstream.AuthRequest{State: "s", Nonce: "n", CodeChallenge: "c", RedirectURI: redirectURI, Prompt: "login"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(raw, "prompt=login") {
		t.Errorf("prompt=login missing from %s", raw)
	}

	// No state, nonce or challenge: no request.
	for _, req := range []upstream.AuthRequest{
		{Nonce: "n", CodeChallenge: "c", RedirectURI: redirectURI},
		{State: "s", CodeChallenge: "c", RedirectURI: redirectURI},
		{State: "s", Nonce: "n", RedirectURI: redirectURI},
	} {
		if _, err := p.AuthCodeURL(t.Context(), req); err == nil {
			t.Errorf("AuthCodeURL(%+v) succeeded", req)
		}
	}
}

// TestMisbehaviour makes the IdP commit each defect a relying party must
// refuse, and checks the outcome and the precise cause.
func TestMisbehaviour(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mis     testidp.Misbehavior
		cfg     func(*oidc.Config)
		code    outcome.Code
		cause   error
		message string // in the cause, when set
	}{
		{name: "bad signature", mis: testidp.Misbehavior{BadSignature: true}, code: outcome.IdentityInvalid, cause: oidc.ErrSignature},
		{name: "alg none", mis: testidp.Misbehavior{AlgNone: true}, code: outcome.IdentityInvalid, cause: oidc.ErrAlgorithm, message: `"none"`},
		{name: "HMAC keyed with the public key", mis: testidp.Misbehavior{HMACWithPublicKey: true}, code: outcome.IdentityInvalid, cause: oidc.ErrAlgorithm, message: `"HS256"`},
		{name: "wrong issuer (trailing slash)", mis: testidp.Misbehavior{WrongIssuer: true}, code: outcome.IdentityInvalid, cause: oidc.ErrIssuer, message: "/\""},
		{name: "wrong audience", mis: testidp.Misbehavior{WrongAudience: true}, code: outcome.IdentityInvalid, cause: oidc.ErrAudience},
		{name: "untrusted extra audience", mis: testidp.Misbehavior{ExtraAudience: testidp.ExtraAudienceWithAZP}, code: outcome.IdentityInvalid, cause: oidc.ErrAudience, message: testidp.UntrustedAudience},
		{name: "trusted extra audience without azp", mis: testidp.Misbehavior{ExtraAudience: testidp.ExtraAudienceNoAZP},
			cfg: trust, code: outcome.IdentityInvalid, cause: oidc.ErrAuthorizedParty, message: "azp is missing"},
		{name: "trusted extra audience, azp wrong", mis: testidp.Misbehavior{ExtraAudience: testidp.ExtraAudienceWrongAZP},
			cfg: trust, code: outcome.IdentityInvalid, cause: oidc.ErrAuthorizedParty},
		{name: "wrong nonce", mis: testidp.Misbehavior{WrongNonce: true}, code: outcome.IdentityInvalid, cause: oidc.ErrNonce},
		{name: "nonce dropped", mis: testidp.Misbehavior{DropNonce: true}, code: outcome.IdentityInvalid, cause: oidc.ErrNonce, message: "no nonce"},
		{name: "expired", mis: testidp.Misbehavior{Expired: true}, code: outcome.IdentityInvalid, cause: oidc.ErrExpired},
		{name: "issued in the future", mis: testidp.Misbehavior{IssuedInFuture: true}, code: outcome.IdentityInvalid, cause: oidc.ErrIssuedInFuture},
		{name: "bad at_hash", mis: testidp.Misbehavior{BadAtHash: true}, code: outcome.IdentityInvalid, cause: oidc.ErrAtHash},
		{name: "userinfo subject mismatch", mis: testidp.Misbehavior{UserinfoSubjectMismatch: true},
			cfg: func(c *oidc.Config) { c.AlwaysFetchUserinfo = true }, code: outcome.IdentityInvalid, cause: oidc.ErrUserinfoSubject},
		{name: "wrong iss parameter", mis: testidp.Misbehavior{WrongIssParam: true}, code: outcome.InvalidState, cause: flow.ErrIssuerMismatch},
		{name: "error callback", mis: testidp.Misbehavior{ErrorCallback: true}, code: outcome.UpstreamError, cause: oidc.ErrUpstream, message: "access_denied"},
		{name: "token error", mis: testidp.Misbehavior{TokenError: true}, code: outcome.CodeExchangeFailed, cause: oidc.ErrTokenEndpoint, message: "invalid_grant"},
		{name: "oversized token response", mis: testidp.Misbehavior{Oversized: true}, code: outcome.CodeExchangeFailed, cause: oidc.ErrTokenEndpoint},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOpts{})
			cfg := e.config()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			p := e.provider(cfg)
			e.misbehave(tc.mis)
			_, err := e.login(p)
			upstreamtest.WantRefusal(t, err, tc.code, tc.cause)
			if err != nil && tc.message != "" && !strings.Contains(err.Error(), tc.message) {
				t.Errorf("cause %q does not mention %q", err, tc.message)
			}
			if s := outcome.From(err).Sentence(); strings.Contains(s, "oidc:") {
				t.Errorf("the sentence a person reads leaks the cause: %q", s)
			}
		})
	}
}

func trust(c *oidc.Config) { c.TrustedAudiences = []string{testidp.UntrustedAudience} }

func TestTrustedExtraAudience(t *testing.T) {
	e := newEnv(t, envOpts{})
	cfg := e.config()
	trust(&cfg)
	p := e.provider(cfg)
	e.misbehave(testidp.Misbehavior{ExtraAudience: testidp.ExtraAudienceWithAZP})
	if _, err := e.login(p); err != nil {
		t.Fatalf("a trusted extra audience with azp = client id was refused: %v", err)
	}
}

func TestSlowTokenEndpoint(t *testing.T) {
	e := newEnv(t, envOpts{timeout: time.Second})
	p := e.provider(e.config())
	cb := e.callback(p)
	// testidp's delay runs before the handler reads the request body, so
	// the server cannot notice the client leaving: keep the delay short,
	// or Close waits for it.
	e.misbehave(testidp.Misbehavior{Slow: 2500 * time.Millisecond})
	_, err := p.Exchange(t.Context(), cb)
	upstreamtest.WantRefusal(t, err, outcome.CodeExchangeFailed, oidc.ErrTokenEndpoint)
	// Which timer fires first — the client's or netguard's whole-request
	// deadline — depends on scheduling; either proves the answer was not
	// awaited. (x/oauth2 flattens the cause to text.)
	if msg := err.Error(); !strings.Contains(msg, "Client.Timeout") && !strings.Contains(msg, "deadline exceeded") {
		t.Errorf("cause %v; want a timeout", err)
	}
}

func TestCallbackShape(t *testing.T) {
	e := newEnv(t, envOpts{})
	p := e.provider(e.config())
	for _, tc := range []struct {
		name  string
		edit  func(url.Values)
		code  outcome.Code
		cause error
	}{
		{"iss missing though advertised", func(v url.Values) { v.Del("iss") }, outcome.InvalidState, flow.ErrIssuerMismatch},
		{"iss twice", func(v url.Values) { v.Add("iss", v.Get("iss")) }, outcome.InvalidState, flow.ErrIssuerMismatch},
		{"error from another issuer", func(v url.Values) { v.Set("error", "access_denied"); v.Set("iss", "https://evil.example") }, outcome.InvalidState, flow.ErrIssuerMismatch},
		{"no code", func(v url.Values) { v.Del("code") }, outcome.InvalidState, oidc.ErrMissingCode},
		{"two codes", func(v url.Values) { v.Add("code", "other") }, outcome.InvalidState, oidc.ErrMissingCode},
		{"unknown code", func(v url.Values) { v.Set("code", "forged") }, outcome.CodeExchangeFailed, oidc.ErrTokenEndpoint},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cb := e.callback(p)
			tc.edit(cb.Params)
			_, err := p.Exchange(t.Context(), cb)
			upstreamtest.WantRefusal(t, err, tc.code, tc.cause)
		})
	}
	t.Run("nonce lost by the flow", func(t *testing.T) {
		cb := e.callback(p)
		cb.Nonce = ""
		_, err := p.Exchange(t.Context(), cb)
		upstreamtest.WantRefusal(t, err, outcome.IdentityInvalid, oidc.ErrNonce)
	})
	t.Run("wrong PKCE verifier", func(t *testing.T) {
		cb := e.callback(p)
		cb.CodeVerifier = random()
		_, err := p.Exchange(t.Context(), cb)
		upstreamtest.WantRefusal(t, err, outcome.CodeExchangeFailed, oidc.ErrTokenEndpoint)
	})
}

func TestDiscoveryIssuerMismatch(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.misbehave(testidp.Misbehavior{DiscoveryIssuerMismatch: true})
	_, err := oidc.New(t.Context(), e.config())
	if !errors.Is(err, oidc.ErrDiscoveryIssuer) {
		t.Fatalf("New: %v; want ErrDiscoveryIssuer", err)
	}
	if !strings.Contains(err.Error(), `"`+e.issuer+`"`) {
		t.Errorf("error %q does not name the configured issuer %q", err, e.issuer)
	}
}

func TestIssuerTrailingSlashMustMatch(t *testing.T) {
	t.Run("configured without the slash the provider uses", func(t *testing.T) {
		e := newEnv(t, envOpts{trailing: true})
		cfg := e.config()
		cfg.Issuer = strings.TrimSuffix(e.issuer, "/")
		_, err := oidc.New(t.Context(), cfg)
		if !errors.Is(err, oidc.ErrDiscoveryIssuer) {
			t.Fatalf("New: %v; want ErrDiscoveryIssuer", err)
		}
	})
	t.Run("configured with a slash the provider does not use", func(t *testing.T) {
		e := newEnv(t, envOpts{})
		cfg := e.config()
		cfg.Issuer = e.issuer + "/"
		_, err := oidc.New(t.Context(), cfg)
		if !errors.Is(err, oidc.ErrDiscoveryIssuer) {
			t.Fatalf("New: %v; want ErrDiscoveryIssuer", err)
		}
	})
}

func TestOversizedDiscovery(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.misbehave(testidp.Misbehavior{Oversized: true})
	_, err := oidc.New(t.Context(), e.config())
	if !errors.Is(err, netguard.ErrBodyTooLarge) || !errors.Is(err, oidc.ErrDiscovery) {
		t.Fatalf("New: %v; want ErrDiscovery from netguard's ErrBodyTooLarge", err)
	}
}

// TestOversized: under a cap below 1 MiB, netguard refuses the padded
// token response and JWKS itself. (At the default 1 MiB cap x/oauth2 stops
// reading at exactly 1 MiB and fails on the truncated JSON instead: still
// code_exchange_failed, as TestMisbehaviour shows.)
func TestOversized(t *testing.T) {
	e := newEnv(t, envOpts{maxBodyBytes: 64 << 10})
	p := e.provider(e.config())
	cb := e.callback(p)
	r, err := p.Redeem(t.Context(), e.callback(p))
	if err != nil {
		t.Fatal(err)
	}

	e.misbehave(testidp.Misbehavior{Oversized: true})
	_, err = p.Exchange(t.Context(), cb)
	upstreamtest.WantRefusal(t, err, outcome.CodeExchangeFailed, oidc.ErrTokenEndpoint)
	// x/oauth2 flattens its transport errors with %v: only the text is left.
	if !strings.Contains(err.Error(), netguard.ErrBodyTooLarge.Error()) {
		t.Errorf("cause %v; want netguard's body cap", err)
	}

	// A verifier with an empty key set meets the padded JWKS.
	ks := oidc.NewKeySet(oidc.KeySetConfig{URL: e.idp.Endpoints(e.persona).JWKS, HTTPClient: e.client, Now: e.clock.Now})
	v, err := oidc.NewVerifier(oidc.VerifierConfig{Issuer: e.issuer, ClientID: clientID, Algs: []string{"RS256"}, Keys: ks, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Verify(t.Context(), r.IDToken, oidc.VerifyOptions{Nonce: r.IDTokenClaims.String("nonce"), AccessToken: r.Token.AccessToken})
	upstreamtest.WantRefusal(t, err, outcome.CodeExchangeFailed, oidc.ErrJWKS)
	if !errors.Is(err, netguard.ErrBodyTooLarge) {
		t.Errorf("cause %v; want netguard.ErrBodyTooLarge", err)
	}
}

func TestNetguardRefusesLoopbackIssuer(t *testing.T) {
	e := newEnv(t, envOpts{})
	for name, client := range map[string]func(*oidc.Config){
		"netguard without the insecure switch": func(c *oidc.Config) { c.HTTPClient = netguard.New(netguard.Config{}) },
		"no client: netguard's defaults":       func(c *oidc.Config) { c.HTTPClient = nil },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := e.config()
			client(&cfg)
			_, err := oidc.New(t.Context(), cfg)
			if !errors.Is(err, netguard.ErrBlockedAddress) {
				t.Fatalf("New: %v; want netguard.ErrBlockedAddress", err)
			}
		})
	}
	if n := e.requests(testidp.EndpointDiscovery); n != 0 {
		t.Errorf("the IdP saw %d discovery requests; netguard must refuse before connecting", n)
	}
}

// TestUnknownKID: a new kid costs exactly one JWKS refetch; a kid that is
// never published costs one refetch, and another within JWKSMinRefetch
// costs none.
func TestUnknownKID(t *testing.T) {
	t.Run("published after one refetch", func(t *testing.T) {
		e := newEnv(t, envOpts{})
		p := e.provider(e.config())
		if _, err := e.login(p); err != nil {
			t.Fatal(err)
		}
		if n := e.requests(testidp.EndpointJWKS); n != 1 {
			t.Fatalf("JWKS fetched %d times for the first sign-in, want 1", n)
		}
		e.clock.Advance(31 * time.Second)
		e.misbehave(testidp.Misbehavior{UnknownKID: testidp.UnknownKIDRefetch})
		if _, err := e.login(p); err != nil {
			t.Fatalf("sign-in with a newly published kid: %v", err)
		}
		if n := e.requests(testidp.EndpointJWKS); n != 2 {
			t.Errorf("JWKS fetched %d times, want 2 (exactly one refetch)", n)
		}
		if _, err := e.login(p); err != nil {
			t.Fatal(err)
		}
		if n := e.requests(testidp.EndpointJWKS); n != 2 {
			t.Errorf("JWKS fetched %d times, want still 2: the new key is cached", n)
		}
	})
	t.Run("never published", func(t *testing.T) {
		e := newEnv(t, envOpts{})
		p := e.provider(e.config())
		if _, err := e.login(p); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(31 * time.Second)
		e.misbehave(testidp.Misbehavior{UnknownKID: testidp.UnknownKIDNever})
		_, err := e.login(p)
		upstreamtest.WantRefusal(t, err, outcome.IdentityInvalid, oidc.ErrUnknownKey)
		if n := e.requests(testidp.EndpointJWKS); n != 2 {
			t.Errorf("JWKS fetched %d times, want 2 (one refetch)", n)
		}
		e.clock.Advance(20 * time.Second)
		_, err = e.login(p)
		upstreamtest.WantRefusal(t, err, outcome.IdentityInvalid, oidc.ErrUnknownKey)
		if n := e.requests(testidp.EndpointJWKS); n != 2 {
			t.Errorf("JWKS fetched %d times, want still 2: the second unknown kid came within 30 s", n)
		}
		e.clock.Advance(11 * time.Second)
		_, err = e.login(p)
		upstreamtest.WantRefusal(t, err, outcome.IdentityInvalid, oidc.ErrUnknownKey)
		if n := e.requests(testidp.EndpointJWKS); n != 3 {
			t.Errorf("JWKS fetched %d times, want 3: 30 s had passed", n)
		}
	})
	t.Run("concurrent unknown kids share one refetch", func(t *testing.T) {
		e := newEnv(t, envOpts{})
		p := e.provider(e.config())
		if _, err := e.login(p); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(31 * time.Second)
		e.misbehave(testidp.Misbehavior{UnknownKID: testidp.UnknownKIDNever})
		cbs := make([]upstream.Callback, 8)
		for i := range cbs {
			cbs[i] = e.callback(p)
		}
		var wg sync.WaitGroup
		errs := make([]error, len(cbs))
		for i, cb := range cbs {
			wg.Go(func() { _, errs[i] = p.Exchange(t.Context(), cb) })
		}
		wg.Wait()
		for _, err := range errs {
			upstreamtest.WantRefusal(t, err, outcome.IdentityInvalid, oidc.ErrUnknownKey)
		}
		if n := e.requests(testidp.EndpointJWKS); n != 2 {
			t.Errorf("JWKS fetched %d times for %d concurrent unknown kids, want 2", n, len(cbs))
		}
	})
}

func TestDiscoveryServesStaleOnRefreshFailure(t *testing.T) {
	e := newEnv(t, envOpts{})
	p := e.provider(e.config())
	if n := e.requests(testidp.EndpointDiscovery); n != 1 {
		t.Fatalf("discovery fetched %d times by New, want 1", n)
	}
	if _, err := e.login(p); err != nil {
		t.Fatal(err)
	}
	if n := e.requests(testidp.EndpointDiscovery); n != 1 {
		t.Errorf("discovery fetched %d times, want 1: the document is fresh", n)
	}

	e.clock.Advance(25 * time.Hour)
	e.misbehave(testidp.Misbehavior{DiscoveryIssuerMismatch: true})
	if _, err := e.login(p); err != nil {
		t.Fatalf("sign-in with a stale document while the refresh fails: %v", err)
	}
	if n := e.requests(testidp.EndpointDiscovery); n != 2 {
		t.Errorf("discovery fetched %d times, want 2 (one failed refresh)", n)
	}
	if _, err := e.login(p); err != nil {
		t.Fatal(err)
	}
	if n := e.requests(testidp.EndpointDiscovery); n != 2 {
		t.Errorf("discovery fetched %d times, want still 2: a failed refresh waits before retrying", n)
	}

	e.misbehave(testidp.Misbehavior{})
	e.clock.Advance(2 * time.Minute)
	if _, err := e.login(p); err != nil {
		t.Fatal(err)
	}
	if n := e.requests(testidp.EndpointDiscovery); n != 3 {
		t.Errorf("discovery fetched %d times, want 3 (the retry succeeded)", n)
	}
	e.clock.Advance(time.Hour)
	if _, err := e.login(p); err != nil {
		t.Fatal(err)
	}
	if n := e.requests(testidp.EndpointDiscovery); n != 3 {
		t.Errorf("discovery fetched %d times, want still 3: the refreshed document is fresh", n)
	}
}

func TestEmailVerified(t *testing.T) {
	for _, tc := range []struct {
		name  string
		value any
		want  bool
	}{
		{"boolean true", true, true},
		{"boolean false", false, false},
		{`string "true"`, "true", true},
		{`string "false"`, "false", false},
		{`string "TRUE"`, "TRUE", false},
		{`string "1"`, "1", false},
		{"number 1", 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := alice
			u.Claims = map[string]any{"email_verified": tc.value}
			e := newEnv(t, envOpts{user: &u})
			id, err := e.login(e.provider(e.config()))
			if err != nil {
				t.Fatal(err)
			}
			if id.EmailVerified != tc.want {
				t.Errorf("EmailVerified = %v for email_verified %#v, want %v", id.EmailVerified, tc.value, tc.want)
			}
		})
	}
	t.Run("missing", func(t *testing.T) {
		u := alice
		u.Claims = map[string]any{"email_verified": nil}
		e := newEnv(t, envOpts{user: &u})
		id, err := e.login(e.provider(e.config()))
		if err != nil {
			t.Fatal(err)
		}
		if id.EmailVerified {
			t.Error("EmailVerified = true without email_verified")
		}
	})
	t.Run("unparseable email", func(t *testing.T) {
		u := alice
		u.Email = "not an address"
		e := newEnv(t, envOpts{user: &u})
		id, err := e.login(e.provider(e.config()))
		if err != nil {
			t.Fatal(err)
		}
		if id.Email != "" || id.EmailVerified {
			t.Errorf("Email %q, EmailVerified %v; want both empty", id.Email, id.EmailVerified)
		}
	})
}

func TestClaimMapping(t *testing.T) {
	u := alice
	u.Username = "Bob@Example.org"
	u.Claims = map[string]any{"display": "Bob B.", "verified_username": true}
	for _, tc := range []struct {
		name    string
		mapping oidc.ClaimMapping
		want    upstream.Identity
	}{
		{"email from preferred_username is not verified by email_verified",
			oidc.ClaimMapping{"email": "preferred_username", "name": "display"},
			upstream.Identity{Subject: "alice-0001", Email: "bob@example.org", Name: "Bob B.", Picture: alice.Picture, Username: "Bob@Example.org"}},
		{"email_verified mapped explicitly",
			oidc.ClaimMapping{"email": "preferred_username", "email_verified": "verified_username"},
			upstream.Identity{Subject: "alice-0001", Email: "bob@example.org", EmailVerified: true, Name: alice.Name, Picture: alice.Picture, Username: "Bob@Example.org"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOpts{user: &u})
			cfg := e.config()
			cfg.ClaimMapping = tc.mapping
			id, err := e.login(e.provider(cfg))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, id, cmpopts.IgnoreFields(upstream.Identity{}, "Claims")); diff != "" {
				t.Errorf("identity (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("the subject is never mapped", func(t *testing.T) {
		e := newEnv(t, envOpts{})
		for _, k := range []string{"sub", "subject"} {
			cfg := e.config()
			cfg.ClaimMapping = oidc.ClaimMapping{k: "email"}
			if _, err := oidc.New(t.Context(), cfg); !errors.Is(err, oidc.ErrSubjectNotMappable) {
				t.Errorf("mapping %s: New: %v; want ErrSubjectNotMappable", k, err)
			}
		}
	})
}

func TestUserinfo(t *testing.T) {
	t.Run("fetched when the ID token has no email", func(t *testing.T) {
		u := alice
		u.Email = ""
		u.Claims = map[string]any{"groups": []any{"staff"}}
		e := newEnv(t, envOpts{user: &u})
		id, err := e.login(e.provider(e.config()))
		if err != nil {
			t.Fatal(err)
		}
		if n := e.requests(testidp.EndpointUserinfo); n != 1 {
			t.Errorf("userinfo fetched %d times, want 1", n)
		}
		if id.Subject != u.Subject || id.Email != "" {
			t.Errorf("identity %+v", id)
		}
	})
	t.Run("always, when asked", func(t *testing.T) {
		e := newEnv(t, envOpts{})
		cfg := e.config()
		cfg.AlwaysFetchUserinfo = true
		id, err := e.login(e.provider(cfg))
		if err != nil {
			t.Fatal(err)
		}
		if n := e.requests(testidp.EndpointUserinfo); n != 1 {
			t.Errorf("userinfo fetched %d times, want 1", n)
		}
		if !id.EmailVerified || id.Email != "alice@example.com" {
			t.Errorf("identity %+v", id)
		}
	})
}

func TestAlgorithms(t *testing.T) {
	t.Run("no allowed algorithm is advertised", func(t *testing.T) {
		e := newEnv(t, envOpts{})
		cfg := e.config()
		cfg.AllowedAlgs = []string{"ES256"}
		if _, err := oidc.New(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), "none of the allowed algorithms") {
			t.Fatalf("New: %v; want a refusal naming the algorithms", err)
		}
	})
	t.Run("none is never allowed", func(t *testing.T) {
		e := newEnv(t, envOpts{})
		cfg := e.config()
		cfg.AllowedAlgs = []string{"RS256", "none"}
		if _, err := oidc.New(t.Context(), cfg); err == nil {
			t.Fatal("New accepted alg none")
		}
	})
	t.Run("ES256 when allowed", func(t *testing.T) {
		e := newEnv(t, envOpts{})
		upstreamtest.Must(t, e.idp.UseAlg(e.persona, testidp.ES256))
		cfg := e.config()
		cfg.AllowedAlgs = []string{"RS256", "ES256"}
		if _, err := e.login(e.provider(cfg)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ES256 when only RS256 is allowed", func(t *testing.T) {
		e := newEnv(t, envOpts{})
		upstreamtest.Must(t, e.idp.UseAlg(e.persona, testidp.ES256))
		_, err := e.login(e.provider(e.config()))
		upstreamtest.WantRefusal(t, err, outcome.IdentityInvalid, oidc.ErrAlgorithm)
	})
	t.Run("HS256 allowed: keyed by the client secret, never by JWKS material", func(t *testing.T) {
		e := newEnv(t, envOpts{})
		ep := e.idp.Endpoints(e.persona)
		cfg := e.config()
		cfg.AllowedAlgs = []string{"RS256", "HS256"}
		cfg.Metadata = &oidc.Discovery{ // explicit endpoints: no discovery
			AuthorizationEndpoint: ep.Authorize, TokenEndpoint: ep.Token, JWKSURI: ep.JWKS, UserinfoEndpoint: ep.UserInfo,
			IDTokenSigningAlgs: []string{"RS256", "HS256"}, CodeChallengeMethods: []string{"S256"}, IssParameterSupported: true,
		}
		p := e.provider(cfg)
		if n := e.requests(testidp.EndpointDiscovery); n != 0 {
			t.Errorf("discovery fetched %d times with explicit metadata", n)
		}
		if _, err := e.login(p); err != nil {
			t.Fatalf("RS256 sign-in with explicit metadata: %v", err)
		}
		e.misbehave(testidp.Misbehavior{HMACWithPublicKey: true})
		_, err := e.login(p)
		upstreamtest.WantRefusal(t, err, outcome.IdentityInvalid, oidc.ErrSignature)
	})
}

// TestWithoutPKCE: a provider that lists methods without S256 gets neither
// a challenge nor a verifier (testidp refuses a verifier sent without a
// challenge).
func TestWithoutPKCE(t *testing.T) {
	e := newEnv(t, envOpts{})
	ep := e.idp.Endpoints(e.persona)
	cfg := e.config()
	cfg.Metadata = &oidc.Discovery{
		Issuer: e.issuer, AuthorizationEndpoint: ep.Authorize, TokenEndpoint: ep.Token, JWKSURI: ep.JWKS,
		CodeChallengeMethods: []string{"plain"}, TokenEndpointAuthMethods: []string{"client_secret_post"},
	}
	p := e.provider(cfg)
	if p.UsesPKCE() {
		t.Fatal("UsesPKCE() = true for a provider without S256")
	}
	cb := e.callback(p)
	if _, err := p.Exchange(t.Context(), cb); err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	raw, err := p.AuthCodeURL(t.Context(), upstream.AuthRequest{State: "s", Nonce: "n", CodeChallenge: "c", RedirectURI: redirectURI})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(raw, "code_challenge") {
		t.Errorf("%s carries a challenge", raw)
	}
}

func TestMetadataIssuerMustMatch(t *testing.T) {
	e := newEnv(t, envOpts{})
	ep := e.idp.Endpoints(e.persona)
	cfg := e.config()
	cfg.Metadata = &oidc.Discovery{Issuer: e.issuer + "/", AuthorizationEndpoint: ep.Authorize, TokenEndpoint: ep.Token, JWKSURI: ep.JWKS}
	if _, err := oidc.New(t.Context(), cfg); !errors.Is(err, oidc.ErrDiscoveryIssuer) {
		t.Fatalf("New: %v; want ErrDiscoveryIssuer", err)
	}
	cfg.Metadata = &oidc.Discovery{AuthorizationEndpoint: ep.Authorize, TokenEndpoint: "/relative", JWKSURI: ep.JWKS}
	if _, err := oidc.New(t.Context(), cfg); !errors.Is(err, oidc.ErrDiscovery) {
		t.Fatalf("New with a relative token endpoint: %v; want ErrDiscovery", err)
	}
}
