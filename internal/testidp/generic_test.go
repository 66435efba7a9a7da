package testidp

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
)

func TestGenericRoundTrip(t *testing.T) {
	for _, tls := range []bool{false, true} {
		for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
			name := map[oauth2.AuthStyle]string{oauth2.AuthStyleInHeader: "basic", oauth2.AuthStyleInParams: "post"}[style]
			if tls {
				name += "/https"
			}
			t.Run(name, func(t *testing.T) {
				idp := start(t, Config{TLS: tls})
				ctx, prov, conf := oidcSetup(t, idp, Generic)
				conf.Endpoint.AuthStyle = style
				if tls != strings.HasPrefix(idp.URL(), "https://") {
					t.Fatalf("URL %q, TLS %v", idp.URL(), tls)
				}

				verifier := oauth2.GenerateVerifier()
				cb := callback(t, idp, conf.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier), oidc.Nonce("nonce-1")))
				if diff := cmp.Diff([]string{"code", "iss", "state"}, sortedKeys(cb)); diff != "" {
					t.Errorf("callback parameters (-want +got):\n%s", diff)
				}
				if cb.Get("state") != "state-1" || cb.Get("iss") != idp.Issuer(Generic) {
					t.Errorf("callback state %q iss %q", cb.Get("state"), cb.Get("iss"))
				}
				tok, err := conf.Exchange(ctx, cb.Get("code"), oauth2.VerifierOption(verifier))
				if err != nil {
					t.Fatal(err)
				}
				idt, err := prov.Verifier(&oidc.Config{ClientID: "app"}).Verify(ctx, idToken(t, tok))
				if err != nil {
					t.Fatal(err)
				}
				if idt.Nonce != "nonce-1" {
					t.Errorf("nonce = %q", idt.Nonce)
				}
				if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
					t.Errorf("at_hash: %v", err)
				}
				var claims struct {
					Sub           string `json:"sub"`
					Email         string `json:"email"`
					EmailVerified bool   `json:"email_verified"`
					Name          string `json:"name"`
					Username      string `json:"preferred_username"`
				}
				must(t, idt.Claims(&claims))
				want := struct {
					Sub           string `json:"sub"`
					Email         string `json:"email"`
					EmailVerified bool   `json:"email_verified"`
					Name          string `json:"name"`
					Username      string `json:"preferred_username"`
				}{"alice", "alice@example.com", true, "Alice Liddell", "alice"}
				if diff := cmp.Diff(want, claims); diff != "" {
					t.Errorf("claims (-want +got):\n%s", diff)
				}
				ui, err := prov.UserInfo(ctx, oauth2.StaticTokenSource(tok))
				if err != nil {
					t.Fatal(err)
				}
				if ui.Subject != "alice" || ui.Email != "alice@example.com" || !ui.EmailVerified {
					t.Errorf("userinfo = %+v", ui)
				}
				for _, ep := range []string{EndpointDiscovery, EndpointJWKS, EndpointAuthorize, EndpointToken, EndpointUserinfo} {
					if n := idp.Requests(Generic, ep); n != 1 {
						t.Errorf("Requests(%s) = %d, want 1", ep, n)
					}
				}
			})
		}
	}
}

func sortedKeys(v url.Values) []string {
	var ks []string
	for k := range v {
		ks = append(ks, k)
	}
	for i := range ks {
		for j := i + 1; j < len(ks); j++ {
			if ks[j] < ks[i] {
				ks[i], ks[j] = ks[j], ks[i]
			}
		}
	}
	return ks
}

func TestGenericDiscovery(t *testing.T) {
	idp := start(t, Config{})
	resp := get(t, idp, idp.Endpoints(Generic).Discovery)
	defer resp.Body.Close()
	var d map[string]any
	must(t, json.NewDecoder(resp.Body).Decode(&d))
	want := map[string]any{
		"issuer": idp.URL() + "/generic",
		"authorization_response_iss_parameter_supported": true,
		"code_challenge_methods_supported":               []any{"S256"},
		"token_endpoint_auth_methods_supported":          []any{"client_secret_basic", "client_secret_post"},
		"id_token_signing_alg_values_supported":          []any{"RS256"},
	}
	got := map[string]any{}
	for k := range want {
		got[k] = d[k]
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("discovery (-want +got):\n%s", diff)
	}
}

func TestGenericTrailingSlashIssuer(t *testing.T) {
	idp := start(t, Config{})
	iss, err := idp.AddGeneric("authentik", true)
	must(t, err)
	if want := idp.URL() + "/authentik/"; iss != want {
		t.Fatalf("issuer %q, want %q", iss, want)
	}
	if want := idp.URL() + "/authentik/.well-known/openid-configuration"; idp.Endpoints("authentik").Discovery != want {
		t.Errorf("discovery URL %q, want %q", idp.Endpoints("authentik").Discovery, want)
	}
	ctx, prov, conf := oidcSetup(t, idp, "authentik")
	tok := flow(t, ctx, idp, conf)
	idt, err := prov.Verifier(&oidc.Config{ClientID: "app"}).Verify(ctx, idToken(t, tok))
	if err != nil {
		t.Fatal(err)
	}
	if idt.Issuer != iss {
		t.Errorf("iss %q, want %q", idt.Issuer, iss)
	}
	if _, err := idp.AddGeneric("authentik", false); err == nil {
		t.Error("adding a persona twice succeeded")
	}
}

func TestES256(t *testing.T) {
	idp := start(t, Config{})
	ctx, prov, conf := oidcSetup(t, idp, Generic)
	must(t, idp.UseAlg(Generic, ES256))
	tok := flow(t, ctx, idp, conf)
	h, _ := decode(t, idToken(t, tok))
	if h["alg"] != "ES256" {
		t.Fatalf("alg %v", h["alg"])
	}
	v := prov.Verifier(&oidc.Config{ClientID: "app", SupportedSigningAlgs: []string{"ES256"}})
	if _, err := v.Verify(ctx, idToken(t, tok)); err != nil {
		t.Fatal(err)
	}
}

func TestRotateKeys(t *testing.T) {
	idp := start(t, Config{})
	ctx, prov, conf := oidcSetup(t, idp, Generic)
	v := prov.Verifier(&oidc.Config{ClientID: "app"})
	old := idToken(t, flow(t, ctx, idp, conf))
	must(t, idp.RotateKeys(Generic))
	fresh := idToken(t, flow(t, ctx, idp, conf))
	h1, _ := decode(t, old)
	h2, _ := decode(t, fresh)
	if h1["kid"] == h2["kid"] {
		t.Fatal("the kid did not change")
	}
	for _, tok := range []string{old, fresh} {
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Errorf("verify after rotation: %v", err)
		}
	}
}

func TestAuthorizeRefusesWithoutRedirect(t *testing.T) {
	idp := start(t, Config{})
	_, _, conf := oidcSetup(t, idp, Generic)
	for name, mod := range map[string]func(*oauth2.Config){
		"unknown client":         func(c *oauth2.Config) { c.ClientID = "nobody" },
		"unregistered redirect":  func(c *oauth2.Config) { c.RedirectURL = "http://127.0.0.1:9/elsewhere" },
		"redirect with a suffix": func(c *oauth2.Config) { c.RedirectURL = testRedirect + "/x" },
	} {
		t.Run(name, func(t *testing.T) {
			c := *conf
			mod(&c)
			resp := get(t, idp, c.AuthCodeURL("s"))
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
				t.Errorf("status %d, Location %q; want 400 and no redirect", resp.StatusCode, resp.Header.Get("Location"))
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
	t.Run("plain PKCE is redirected as an error", func(t *testing.T) {
		cb := callback(t, idp, conf.AuthCodeURL("s", oauth2.SetAuthURLParam("code_challenge", strings.Repeat("a", 43))))
		if cb.Get("error") != "invalid_request" || cb.Get("state") != "s" {
			t.Errorf("callback %v", cb)
		}
	})
}

func TestTokenRefusals(t *testing.T) {
	clk := newClock()
	idp := start(t, Config{Now: clk.now})
	ctx, _, conf := oidcSetup(t, idp, Generic)
	tokenURL := idp.Endpoints(Generic).Token

	// code returns a fresh code issued with challenge (if verifier != "").
	code := func(verifier string) string {
		var opts []oauth2.AuthCodeOption
		if verifier != "" {
			opts = append(opts, oauth2.S256ChallengeOption(verifier))
		}
		return callback(t, idp, conf.AuthCodeURL("s", opts...)).Get("code")
	}
	verifier := oauth2.GenerateVerifier()
	tests := []struct {
		name       string
		form       func() url.Values
		secret     string
		wantStatus int
		wantError  string
	}{
		{"wrong secret", func() url.Values { return url.Values{"code": {code("")}} }, "wrong", 401, "invalid_client"},
		{"wrong redirect_uri", func() url.Values {
			return url.Values{"code": {code("")}, "redirect_uri": {"http://127.0.0.1:9/other"}}
		}, testSecret, 400, "invalid_grant"},
		{"missing verifier", func() url.Values { return url.Values{"code": {code(verifier)}} }, testSecret, 400, "invalid_grant"},
		{"wrong verifier", func() url.Values {
			return url.Values{"code": {code(verifier)}, "code_verifier": {oauth2.GenerateVerifier()}}
		}, testSecret, 400, "invalid_grant"},
		{"verifier without challenge", func() url.Values {
			return url.Values{"code": {code("")}, "code_verifier": {verifier}}
		}, testSecret, 400, "invalid_grant"},
		{"unknown code", func() url.Values { return url.Values{"code": {"nope"}} }, testSecret, 400, "invalid_grant"},
		{"expired code", func() url.Values {
			c := code("")
			clk.advance(61 * time.Second)
			return url.Values{"code": {c}}
		}, testSecret, 400, "invalid_grant"},
		{"wrong grant_type", func() url.Values {
			return url.Values{"code": {code("")}, "grant_type": {"password"}}
		}, testSecret, 400, "unsupported_grant_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := tt.form()
			if !form.Has("grant_type") {
				form.Set("grant_type", "authorization_code")
			}
			if !form.Has("redirect_uri") {
				form.Set("redirect_uri", testRedirect)
			}
			form.Set("client_id", "app")
			form.Set("client_secret", tt.secret)
			resp, body := postForm(t, idp, tokenURL, form, nil)
			var e struct{ Error string }
			json.Unmarshal(body, &e)
			if resp.StatusCode != tt.wantStatus || e.Error != tt.wantError {
				t.Errorf("got %d %s, want %d %s", resp.StatusCode, body, tt.wantStatus, tt.wantError)
			}
		})
	}

	t.Run("reused code", func(t *testing.T) {
		c := code(verifier)
		tok, err := conf.Exchange(ctx, c, oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		_, err = conf.Exchange(ctx, c, oauth2.VerifierOption(verifier))
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
			t.Fatalf("second exchange: %v, want invalid_grant", err)
		}
		// The replay revoked the access token the code had bought.
		req, _ := http.NewRequest("GET", idp.Endpoints(Generic).UserInfo, nil)
		tok.SetAuthHeader(req)
		resp, err := idp.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("userinfo after replay: %d, want 401", resp.StatusCode)
		}
	})

	t.Run("basic credentials are form-decoded", func(t *testing.T) {
		// RFC 6749 §2.3.1: a raw (not form-encoded) secret with '+' and
		// '%' in it does not authenticate.
		raw := base64.StdEncoding.EncodeToString([]byte("app:" + testSecret))
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code("")}, "redirect_uri": {testRedirect}}
		resp, body := postForm(t, idp, tokenURL, form, http.Header{"Authorization": {"Basic " + raw}})
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("raw basic credentials: %d %s, want 401", resp.StatusCode, body)
		}
		enc := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape("app") + ":" + url.QueryEscape(testSecret)))
		form.Set("code", code(""))
		resp, body = postForm(t, idp, tokenURL, form, http.Header{"Authorization": {"Basic " + enc}})
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("encoded basic credentials: %d %s %q", resp.StatusCode, body, resp.Header.Get("Cache-Control"))
		}
	})
}

func TestLoginHintAndSignInAs(t *testing.T) {
	idp := start(t, Config{})
	ctx, _, conf := oidcSetup(t, idp, Generic)
	must(t, idp.AddUser(Generic, User{Subject: "bob", Email: "bob@example.com"}))
	sub := func(opts ...oauth2.AuthCodeOption) string {
		_, c := decode(t, idToken(t, flow(t, ctx, idp, conf, opts...)))
		return c["sub"].(string)
	}
	if got := sub(); got != "alice" {
		t.Errorf("default user %q, want alice (the first added)", got)
	}
	must(t, idp.SignInAs(Generic, "bob"))
	if got := sub(); got != "bob" {
		t.Errorf("after SignInAs: %q", got)
	}
	if got := sub(oauth2.SetAuthURLParam("login_hint", "ALICE@example.com")); got != "alice" {
		t.Errorf("login_hint by email: %q", got)
	}
	if got := sub(oauth2.SetAuthURLParam("login_hint", "nobody")); got != "bob" {
		t.Errorf("unknown login_hint: %q", got)
	}
	if err := idp.SignInAs(Generic, "carol"); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("SignInAs unknown: %v", err)
	}
	if err := idp.AddClient("nope", Client{ID: "x", RedirectURIs: []string{"http://x"}}); !errors.Is(err, ErrUnknownPersona) {
		t.Errorf("AddClient to unknown persona: %v", err)
	}
}

func TestFormPostResponseMode(t *testing.T) {
	idp := start(t, Config{})
	_, _, conf := oidcSetup(t, idp, Generic)
	resp := get(t, idp, conf.AuthCodeURL("st", oauth2.SetAuthURLParam("response_mode", "form_post")))
	req, err := FormPostRequest(resp)
	if err != nil {
		t.Fatal(err)
	}
	must(t, req.ParseForm())
	if req.URL.String() != testRedirect || req.PostForm.Get("state") != "st" || req.PostForm.Get("code") == "" ||
		req.PostForm.Get("iss") != idp.Issuer(Generic) {
		t.Errorf("form post %s %v", req.URL, req.PostForm)
	}
}

func TestMisbehaviour(t *testing.T) {
	tests := []struct {
		name  string
		m     Misbehavior
		check func(t *testing.T, r misbehaviourRun)
	}{
		{"BadSignature", Misbehavior{BadSignature: true}, func(t *testing.T, r misbehaviourRun) {
			r.mustNotVerify(t)
		}},
		{"AlgNone", Misbehavior{AlgNone: true}, func(t *testing.T, r misbehaviourRun) {
			h, _ := decode(t, r.raw)
			if h["alg"] != "none" || !strings.HasSuffix(r.raw, ".") {
				t.Errorf("header %v, token %q", h, r.raw)
			}
			r.mustNotVerify(t)
		}},
		{"HMACWithPublicKey", Misbehavior{HMACWithPublicKey: true}, func(t *testing.T, r misbehaviourRun) {
			h, _ := decode(t, r.raw)
			if h["alg"] != "HS256" {
				t.Errorf("alg %v", h["alg"])
			}
			// The MAC is keyed with the published key's PEM.
			r.idp.mu.Lock()
			pemKey := r.idp.personas[Generic].keys[0].publicPEM()
			r.idp.mu.Unlock()
			i := strings.LastIndex(r.raw, ".")
			m := hmac.New(sha256.New, pemKey)
			m.Write([]byte(r.raw[:i]))
			if b64(m.Sum(nil)) != r.raw[i+1:] {
				t.Error("the HMAC is not keyed with the public key's PEM")
			}
			r.mustNotVerify(t)
		}},
		{"WrongIssuer", Misbehavior{WrongIssuer: true}, func(t *testing.T, r misbehaviourRun) {
			if r.claims["iss"] != r.idp.Issuer(Generic)+"/" {
				t.Errorf("iss %v", r.claims["iss"])
			}
			r.mustNotVerify(t)
		}},
		{"WrongAudience", Misbehavior{WrongAudience: true}, func(t *testing.T, r misbehaviourRun) {
			r.mustNotVerify(t)
		}},
		{"ExtraAudienceWithAZP", Misbehavior{ExtraAudience: ExtraAudienceWithAZP}, func(t *testing.T, r misbehaviourRun) {
			if diff := cmp.Diff([]any{"app", UntrustedAudience}, r.claims["aud"]); diff != "" || r.claims["azp"] != "app" {
				t.Errorf("aud %v azp %v", r.claims["aud"], r.claims["azp"])
			}
		}},
		{"ExtraAudienceNoAZP", Misbehavior{ExtraAudience: ExtraAudienceNoAZP}, func(t *testing.T, r misbehaviourRun) {
			if _, ok := r.claims["azp"]; ok || len(r.claims["aud"].([]any)) != 2 {
				t.Errorf("aud %v azp %v", r.claims["aud"], r.claims["azp"])
			}
		}},
		{"ExtraAudienceWrongAZP", Misbehavior{ExtraAudience: ExtraAudienceWrongAZP}, func(t *testing.T, r misbehaviourRun) {
			if r.claims["azp"] != UntrustedAudience {
				t.Errorf("azp %v", r.claims["azp"])
			}
		}},
		{"WrongNonce", Misbehavior{WrongNonce: true}, func(t *testing.T, r misbehaviourRun) {
			if n := r.claims["nonce"]; n == "nonce-1" || n == nil {
				t.Errorf("nonce %v", n)
			}
		}},
		{"DropNonce", Misbehavior{DropNonce: true}, func(t *testing.T, r misbehaviourRun) {
			if n, ok := r.claims["nonce"]; ok {
				t.Errorf("nonce %v", n)
			}
		}},
		{"Expired", Misbehavior{Expired: true}, func(t *testing.T, r misbehaviourRun) {
			if exp := int64(r.claims["exp"].(float64)); exp > time.Now().Add(-5*time.Minute).Unix() {
				t.Errorf("exp %d is not well in the past", exp)
			}
			r.mustNotVerify(t)
		}},
		{"IssuedInFuture", Misbehavior{IssuedInFuture: true}, func(t *testing.T, r misbehaviourRun) {
			if iat := int64(r.claims["iat"].(float64)); iat < time.Now().Add(5*time.Minute).Unix() {
				t.Errorf("iat %d is not in the future", iat)
			}
		}},
		{"UnknownKIDNever", Misbehavior{UnknownKID: UnknownKIDNever}, func(t *testing.T, r misbehaviourRun) {
			r.mustNotVerify(t)
		}},
		{"BadAtHash", Misbehavior{BadAtHash: true}, func(t *testing.T, r misbehaviourRun) {
			idt, err := r.verify()
			if err != nil {
				t.Fatal(err)
			}
			if err := idt.VerifyAccessToken(r.tok.AccessToken); err == nil {
				t.Error("at_hash verified")
			}
		}},
		{"UserinfoSubjectMismatch", Misbehavior{UserinfoSubjectMismatch: true}, func(t *testing.T, r misbehaviourRun) {
			ui, err := r.prov.UserInfo(r.ctx, oauth2.StaticTokenSource(r.tok))
			if err != nil {
				t.Fatal(err)
			}
			if ui.Subject == r.claims["sub"] {
				t.Errorf("userinfo sub %q equals the ID token's", ui.Subject)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idp := start(t, Config{})
			ctx, prov, conf := oidcSetup(t, idp, Generic)
			// Warm the verifier's key cache with a good token first.
			v := prov.Verifier(&oidc.Config{ClientID: "app"})
			if _, err := v.Verify(ctx, idToken(t, flow(t, ctx, idp, conf))); err != nil {
				t.Fatal(err)
			}
			must(t, idp.Misbehave(Generic, tt.m))
			tok := flow(t, ctx, idp, conf)
			raw := idToken(t, tok)
			_, claims := decode(t, raw)
			tt.check(t, misbehaviourRun{idp: idp, ctx: ctx, prov: prov, v: v, tok: tok, raw: raw, claims: claims})

			// The zero value restores good behaviour.
			must(t, idp.Misbehave(Generic, Misbehavior{}))
			tok = flow(t, ctx, idp, conf)
			idt, err := v.Verify(ctx, idToken(t, tok))
			if err != nil {
				t.Fatalf("after clearing: %v", err)
			}
			if err := idt.VerifyAccessToken(tok.AccessToken); err != nil || idt.Nonce != "nonce-1" {
				t.Fatalf("after clearing: at_hash %v, nonce %q", err, idt.Nonce)
			}
		})
	}
}

type misbehaviourRun struct {
	idp    *IdP
	ctx    context.Context
	prov   *oidc.Provider
	v      *oidc.IDTokenVerifier
	tok    *oauth2.Token
	raw    string
	claims map[string]any
}

func (r misbehaviourRun) verify() (*oidc.IDToken, error) {
	return r.v.Verify(r.ctx, r.raw)
}

func (r misbehaviourRun) mustNotVerify(t *testing.T) {
	t.Helper()
	if _, err := r.verify(); err == nil {
		t.Error("the ID token verified")
	}
}

func TestUnknownKIDRefetch(t *testing.T) {
	idp := start(t, Config{})
	ctx, prov, conf := oidcSetup(t, idp, Generic)
	v := prov.Verifier(&oidc.Config{ClientID: "app"})
	if _, err := v.Verify(ctx, idToken(t, flow(t, ctx, idp, conf))); err != nil {
		t.Fatal(err)
	}
	fetches := idp.Requests(Generic, EndpointJWKS)
	must(t, idp.Misbehave(Generic, Misbehavior{UnknownKID: UnknownKIDRefetch}))
	raw := idToken(t, flow(t, ctx, idp, conf))
	if _, err := v.Verify(ctx, raw); err != nil {
		t.Fatalf("verify after one refetch: %v", err)
	}
	if n := idp.Requests(Generic, EndpointJWKS) - fetches; n != 1 {
		t.Errorf("%d JWKS fetches, want exactly 1 refetch", n)
	}
}

func TestDiscoveryAndCallbackMisbehaviour(t *testing.T) {
	t.Run("DiscoveryIssuerMismatch", func(t *testing.T) {
		idp := start(t, Config{})
		must(t, idp.Misbehave(Generic, Misbehavior{DiscoveryIssuerMismatch: true}))
		_, err := oidc.NewProvider(oidc.ClientContext(t.Context(), idp.Client()), idp.Issuer(Generic))
		if err == nil || !strings.Contains(err.Error(), "did not match") {
			t.Errorf("NewProvider: %v", err)
		}
	})
	t.Run("WrongIssParam", func(t *testing.T) {
		idp := start(t, Config{})
		_, _, conf := oidcSetup(t, idp, Generic)
		must(t, idp.Misbehave(Generic, Misbehavior{WrongIssParam: true}))
		cb := callback(t, idp, conf.AuthCodeURL("s"))
		if iss := cb.Get("iss"); iss == idp.Issuer(Generic) || len(iss) != len(idp.Issuer(Generic)) {
			t.Errorf("iss %q", iss)
		}
	})
	t.Run("ErrorCallback", func(t *testing.T) {
		idp := start(t, Config{})
		_, _, conf := oidcSetup(t, idp, Generic)
		must(t, idp.Misbehave(Generic, Misbehavior{ErrorCallback: true}))
		cb := callback(t, idp, conf.AuthCodeURL("s"))
		if cb.Get("error") != "access_denied" || cb.Get("error_description") == "" || cb.Get("state") != "s" || cb.Has("code") {
			t.Errorf("callback %v", cb)
		}
	})
	t.Run("TokenError", func(t *testing.T) {
		idp := start(t, Config{})
		ctx, _, conf := oidcSetup(t, idp, Generic)
		must(t, idp.Misbehave(Generic, Misbehavior{TokenError: true}))
		code := callback(t, idp, conf.AuthCodeURL("s")).Get("code")
		_, err := conf.Exchange(ctx, code)
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.Response.StatusCode != 400 || re.ErrorCode != "invalid_grant" {
			t.Errorf("exchange: %v", err)
		}
	})
	t.Run("Slow", func(t *testing.T) {
		idp := start(t, Config{})
		must(t, idp.Misbehave(Generic, Misbehavior{Slow: 150 * time.Millisecond}))
		begin := time.Now()
		get(t, idp, idp.Endpoints(Generic).Discovery).Body.Close()
		if d := time.Since(begin); d < 150*time.Millisecond {
			t.Errorf("answered in %v", d)
		}
	})
	t.Run("Oversized", func(t *testing.T) {
		idp := start(t, Config{})
		ctx, _, conf := oidcSetup(t, idp, Generic)
		must(t, idp.Misbehave(Generic, Misbehavior{Oversized: true}))
		for _, u := range []string{idp.Endpoints(Generic).Discovery, idp.Endpoints(Generic).JWKS} {
			resp := get(t, idp, u)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if len(b) <= 1<<20 || !json.Valid(b) {
				t.Errorf("%s: %d bytes, valid JSON %v", u, len(b), json.Valid(b))
			}
		}
		code := callback(t, idp, conf.AuthCodeURL("s")).Get("code")
		resp, b := postForm(t, idp, idp.Endpoints(Generic).Token, url.Values{"grant_type": {"authorization_code"},
			"code": {code}, "redirect_uri": {testRedirect}, "client_id": {"app"}, "client_secret": {testSecret}}, nil)
		if resp.StatusCode != 200 || len(b) <= 1<<20 {
			t.Errorf("token: %d, %d bytes", resp.StatusCode, len(b))
		}
		_ = ctx
	})
}
