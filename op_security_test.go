package sallyport

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/sallyport/sallyport/internal/config"
	"github.com/sallyport/sallyport/internal/op"
	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/store"
	"github.com/sallyport/sallyport/internal/store/sqlstore/sqltest"
	"github.com/sallyport/sallyport/internal/testidp"
)

// These tests hold the OpenID Provider to DESIGN.md §7 (OP and Redirects):
// each protection is driven end to end over HTTP through the harness, and
// each test fails when its protection is taken out.

// A second confidential app, to check that what one app holds is useless
// to another.
const (
	secNotesID     = "notes"
	secNotesSecret = "notes-secret-0123456789abcdef0123456789"
)

// secWith applies several settings tweaks in order.
func secWith(tweaks ...func(*Settings)) func(*Settings) {
	return func(s *Settings) {
		for _, f := range tweaks {
			f(s)
		}
	}
}

// secClient registers one more app.
func secClient(c config.Client) func(*Settings) {
	return func(s *Settings) { s.Clients = append(s.Clients, c) }
}

// secNotes is the second confidential app; tweak adjusts it.
func secNotes(tweak func(*config.Client)) func(*Settings) {
	c := config.Client{ID: secNotesID, Name: "Notes", Secret: secNotesSecret, RedirectURIs: []string{appRedirect}, SkipConsent: true}
	if tweak != nil {
		tweak(&c)
	}
	return secClient(c)
}

// secThirdConnection adds a third global connection, "third", so that an
// app allowed two of the three still gets a choice on /login. Its upstream
// is never reached.
func secThirdConnection(s *Settings) {
	s.Connections = append(s.Connections, config.Connection{Slug: "third", Kind: config.KindOIDC, DisplayName: "Third IdP",
		Issuer: "http://127.0.0.1:1/nowhere", ClientID: "x", ClientSecret: "y"})
}

// secAppFor is h.app for another registered client; secret "" is a public
// client, which sends its client_id in the body.
func (h *harness) secAppFor(id, secret string, scopes ...string) *testApp {
	a := h.app(scopes...)
	a.oauth.ClientID, a.oauth.ClientSecret = id, secret
	if secret == "" {
		a.oauth.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	}
	a.verifier = a.provider.Verifier(&oidc.Config{ClientID: id})
	return a
}

// secStop is where a walk stopped: a page of Sallyport or the upstream,
// or a redirect that leaves for somewhere else.
type secStop struct {
	resp *http.Response
	body string
}

// secWalk fetches target in browser c and follows redirects while they stay
// on Sallyport or the upstream.
func (h *harness) secWalk(t testing.TB, c *http.Client, target string) secStop {
	t.Helper()
	idp, err := url.Parse(h.idp.URL())
	if err != nil {
		t.Fatal(err)
	}
	own := map[string]bool{h.ts.Listener.Addr().String(): true, idp.Host: true}
	cc := *c
	cc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > 10 {
			return errors.New("more than 10 redirects")
		}
		if !own[req.URL.Host] {
			return http.ErrUseLastResponse
		}
		return nil
	}
	if strings.HasPrefix(target, "/") {
		target = h.ts.URL + target
	}
	resp, err := cc.Get(target)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return secStop{resp, string(body)}
}

// secLeftFor returns where a response sends the browser off Sallyport, or
// nil when it stays (a page, or a redirect to Sallyport's own paths).
func (h *harness) secLeftFor(resp *http.Response) *url.URL {
	loc, err := resp.Location()
	if err != nil || loc.Host == h.ts.Listener.Addr().String() {
		return nil
	}
	return loc
}

// secAtApp checks that a walk ended with a redirect to the app's redirect
// URI and returns its query.
func (h *harness) secAtApp(t testing.TB, stop secStop) url.Values {
	t.Helper()
	resp, body := stop.resp, stop.body
	loc := h.secLeftFor(resp)
	if loc == nil || loc.Scheme+"://"+loc.Host+loc.Path != appRedirect {
		t.Fatalf("ended at %s with %d (Location %q), not at the app: %.400s", resp.Request.URL, resp.StatusCode, resp.Header.Get("Location"), body)
	}
	return loc.Query()
}

// secWantAppError checks an authorization error sent to the app: the
// OAuth error code, the request's state and Sallyport's iss (RFC 9207).
func (h *harness) secWantAppError(t testing.TB, q url.Values, code, state string) {
	t.Helper()
	if q.Get("error") != code || q.Get("state") != state || q.Get("iss") != h.ts.URL || q.Has("code") {
		t.Errorf("app got %v, want error=%s with state %q and iss %s, and no code", q, code, state, h.ts.URL)
	}
}

// secWantNoRedirect checks that a walk ended on a Sallyport page with a
// refusal, never sent anywhere.
func (h *harness) secWantNoRedirect(t testing.TB, stop secStop) {
	t.Helper()
	resp, body := stop.resp, stop.body
	if resp.StatusCode < 400 || resp.Header.Get("Location") != "" || resp.Request.URL.Host != h.ts.Listener.Addr().String() {
		t.Errorf("ended at %s with %d (Location %q), want a refusal page on Sallyport: %.300s",
			resp.Request.URL, resp.StatusCode, resp.Header.Get("Location"), body)
	}
}

// secReply is an answer of the token, revocation or userinfo endpoint.
type secReply struct {
	status int
	header http.Header
	body   map[string]any
}

func (r secReply) str(key string) string {
	s, _ := r.body[key].(string)
	return s
}

// secPost posts form to a provider endpoint, with HTTP Basic credentials
// when clientID is not "".
func (h *harness) secPost(t testing.TB, path string, form url.Values, clientID, secret string) secReply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.ts.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if clientID != "" {
		req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	}
	return h.secDo(t, req)
}

// secDo sends req from an app's server (no cookies) and reads the answer.
func (h *harness) secDo(t testing.TB, req *http.Request) secReply {
	t.Helper()
	resp, err := h.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := secReply{status: resp.StatusCode, header: resp.Header}
	raw, _ := io.ReadAll(resp.Body)
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			t.Fatalf("%s %s: %v in %q", req.Method, req.URL.Path, err, raw)
		}
	}
	return r
}

// secExchange redeems a code. A public client (secret "") names itself in
// the body.
func (h *harness) secExchange(t testing.TB, clientID, secret, code, redirectURI, verifier string) secReply {
	t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}
	if verifier != "" {
		form.Set("code_verifier", verifier)
	}
	if secret == "" {
		form.Set("client_id", clientID)
		clientID = ""
	}
	return h.secPost(t, op.TokenPath, form, clientID, secret)
}

// secRefresh uses a refresh token as the app wiki.
func (h *harness) secRefresh(t testing.TB, refresh string) secReply {
	t.Helper()
	return h.secPost(t, op.TokenPath, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}, appID, appSecret)
}

// secUserInfo asks for the claims of an access token and returns the
// status.
func (h *harness) secUserInfo(t testing.TB, access string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, h.ts.URL+op.UserInfoPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+access)
	return h.secDo(t, req).status
}

// secWantGrantRefused checks a token endpoint refusal with invalid_grant.
func (h *harness) secWantGrantRefused(t testing.TB, what string, r secReply) {
	t.Helper()
	if r.status != http.StatusBadRequest || r.str("error") != "invalid_grant" || r.str("access_token") != "" {
		t.Errorf("%s: %d %q (access token issued: %t), want 400 invalid_grant", what, r.status, r.str("error"), r.str("access_token") != "")
	}
}

// secCode runs an authorization in browser c and returns the code. With a
// session in c (and skip_consent) no upstream is involved.
func (a *testApp) secCode(t testing.TB, c *http.Client, verifier string, extra ...oauth2.AuthCodeOption) string {
	t.Helper()
	opts := append([]oauth2.AuthCodeOption{oidc.Nonce("n"), oauth2.S256ChallengeOption(verifier)}, extra...)
	q := a.h.secAtApp(t, a.h.secWalk(t, c, a.oauth.AuthCodeURL("st", opts...)))
	if q.Get("code") == "" {
		t.Fatalf("no code: %v", q)
	}
	return q.Get("code")
}

// secTokens gets a code for app a in browser c and redeems it; the answer
// has an access and a refresh token.
func (a *testApp) secTokens(t testing.TB, c *http.Client) secReply {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	code := a.secCode(t, c, verifier)
	r := a.h.secExchange(t, a.oauth.ClientID, a.oauth.ClientSecret, code, appRedirect, verifier)
	if r.status != http.StatusOK || r.str("access_token") == "" || r.str("refresh_token") == "" {
		t.Fatalf("code exchange: %d %v", r.status, r.body)
	}
	return r
}

func secAnn() testidp.User {
	return testidp.User{Subject: "ann-1", Email: "ann@example.com", EmailVerified: true, Name: "Ann"}
}

func secBob() testidp.User {
	return testidp.User{Subject: "bob-1", Email: "bob@example.com", EmailVerified: true, Name: "Bob"}
}

// secBothDialects runs a test on SQLite and on PostgreSQL.
func secBothDialects(t *testing.T, run func(t *testing.T, databaseURL string)) {
	t.Run("sqlite", func(t *testing.T) { run(t, "") })
	t.Run("postgres", func(t *testing.T) { run(t, sqltest.NewSchema(t, sqltest.PostgresURL(t))) })
}

// A code works once. Redeeming it again is refused and revokes everything
// the first redemption issued: its access token and refresh token, and
// the successors of that refresh token.
func TestOPCodeReuseRevokesWhatItIssued(t *testing.T) {
	secBothDialects(t, func(t *testing.T, databaseURL string) {
		h := newHarness(t, databaseURL, withApp(func(c *config.Client) { c.AllowedConnections = []string{"corp"} }))
		h.user(testidp.Generic, secAnn())
		a, b := h.app(), h.browser()
		// redeem gets a code and redeems it.
		redeem := func(t *testing.T) (code, verifier string, tok secReply) {
			t.Helper()
			verifier = oauth2.GenerateVerifier()
			code = a.secCode(t, b, verifier)
			tok = h.secExchange(t, appID, appSecret, code, appRedirect, verifier)
			if tok.status != http.StatusOK || h.secUserInfo(t, tok.str("access_token")) != http.StatusOK {
				t.Fatalf("first redemption: %d %v", tok.status, tok.body)
			}
			return code, verifier, tok
		}

		t.Run("the redemption's tokens", func(t *testing.T) {
			code, verifier, tok := redeem(t)
			h.secWantGrantRefused(t, "second redemption", h.secExchange(t, appID, appSecret, code, appRedirect, verifier))
			if got := h.secUserInfo(t, tok.str("access_token")); got != http.StatusUnauthorized {
				t.Errorf("userinfo with the access token after the code's reuse: %d, want 401", got)
			}
			h.secWantGrantRefused(t, "the refresh token after the code's reuse", h.secRefresh(t, tok.str("refresh_token")))
			if ev := h.lastAudit("oauth2.token"); ev.Outcome != string(outcome.InvalidGrant) {
				t.Errorf("audit outcome %s, want invalid_grant", ev.Outcome)
			}
		})
		t.Run("their successors", func(t *testing.T) {
			code, verifier, tok := redeem(t)
			next := h.secRefresh(t, tok.str("refresh_token"))
			if next.status != http.StatusOK {
				t.Fatalf("refresh before the reuse: %d %v", next.status, next.body)
			}
			h.secWantGrantRefused(t, "second redemption", h.secExchange(t, appID, appSecret, code, appRedirect, verifier))
			if got := h.secUserInfo(t, next.str("access_token")); got != http.StatusUnauthorized {
				t.Errorf("userinfo with the refreshed access token after the code's reuse: %d, want 401", got)
			}
			h.secWantGrantRefused(t, "the refresh token's successor after the code's reuse", h.secRefresh(t, next.str("refresh_token")))
		})
	})
}

// Of several concurrent redemptions of one code, exactly one gets tokens.
func TestOPCodeRedeemedOnceUnderRace(t *testing.T) {
	secBothDialects(t, func(t *testing.T, databaseURL string) {
		h := newHarness(t, databaseURL, secWith(func(s *Settings) { s.RateLimits.Enabled = false },
			withApp(func(c *config.Client) { c.AllowedConnections = []string{"corp"} })))
		h.user(testidp.Generic, secAnn())
		verifier := oauth2.GenerateVerifier()
		code := h.app().secCode(t, h.browser(), verifier)
		var wg sync.WaitGroup
		statuses := make([]int, 6)
		for i := range statuses {
			wg.Go(func() {
				form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {appRedirect}, "code_verifier": {verifier}}
				req, _ := http.NewRequest(http.MethodPost, h.ts.URL+op.TokenPath, strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth(appID, appSecret)
				resp, err := h.ts.Client().Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				statuses[i] = resp.StatusCode
			})
		}
		wg.Wait()
		slices.Sort(statuses)
		if want := []int{200, 400, 400, 400, 400, 400}; !slices.Equal(statuses, want) {
			t.Errorf("statuses %v, want %v", statuses, want)
		}
	})
}

// A code lives 60 seconds.
func TestOPCodeExpiresAfter60Seconds(t *testing.T) {
	h := newHarness(t, "", withApp(func(c *config.Client) { c.AllowedConnections = []string{"corp"} }))
	h.user(testidp.Generic, secAnn())
	a, b := h.app(), h.browser()

	verifier := oauth2.GenerateVerifier()
	code := a.secCode(t, b, verifier)
	h.clock.Advance(59 * time.Second)
	if r := h.secExchange(t, appID, appSecret, code, appRedirect, verifier); r.status != http.StatusOK {
		t.Fatalf("a 59-second-old code: %d %v", r.status, r.body)
	}

	code = a.secCode(t, b, verifier)
	h.clock.Advance(61 * time.Second)
	h.secWantGrantRefused(t, "a 61-second-old code", h.secExchange(t, appID, appSecret, code, appRedirect, verifier))
}

// A code is bound to the client it was issued to, the redirect URI it was
// sent to (byte for byte, even where the loopback rule lets another port
// through at the authorization endpoint) and its PKCE challenge. A refused
// attempt burns it.
func TestOPCodeBinding(t *testing.T) {
	h := newHarness(t, "", secWith(withApp(func(c *config.Client) { c.AllowedConnections = []string{"corp"} }), secNotes(nil)))
	h.user(testidp.Generic, secAnn())
	a, b := h.app(), h.browser()
	verifier := oauth2.GenerateVerifier()
	a.secCode(t, b, verifier) // sign in once

	tests := []struct {
		name                                      string
		client, secret, redirectURI, sentVerifier string
	}{
		{"another client", secNotesID, secNotesSecret, appRedirect, verifier},
		{"another redirect URI", appID, appSecret, "http://127.0.0.1/app/callback/", verifier},
		{"the same loopback URI on another port", appID, appSecret, "http://127.0.0.1:8123/app/callback", verifier},
		{"no redirect URI", appID, appSecret, "", verifier},
		{"no verifier", appID, appSecret, appRedirect, ""},
		{"another verifier", appID, appSecret, appRedirect, oauth2.GenerateVerifier()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code := a.secCode(t, b, verifier)
			h.secWantGrantRefused(t, "redeemed by "+tt.name, h.secExchange(t, tt.client, tt.secret, code, tt.redirectURI, tt.sentVerifier))
			h.secWantGrantRefused(t, "the rightful redemption after a refused one", h.secExchange(t, appID, appSecret, code, appRedirect, verifier))
		})
	}
	t.Run("all bindings right", func(t *testing.T) {
		code := a.secCode(t, b, verifier)
		if r := h.secExchange(t, appID, appSecret, code, appRedirect, verifier); r.status != http.StatusOK {
			t.Errorf("rightful redemption: %d %v", r.status, r.body)
		}
	})
}

// PKCE is S256 only and cannot be downgraded: plain (named, or implied by
// a missing method) is refused at the authorization endpoint, a code
// issued with a challenge needs its verifier, and a code issued without
// one refuses a verifier.
func TestOPPKCENoDowngrade(t *testing.T) {
	h := newHarness(t, "", withApp(func(c *config.Client) { c.AllowedConnections = []string{"corp"} }))
	h.user(testidp.Generic, secAnn())
	a, b := h.app(), h.browser()
	verifier := oauth2.GenerateVerifier()
	a.secCode(t, b, verifier) // sign in once

	for _, tt := range []struct {
		name   string
		params []oauth2.AuthCodeOption
	}{
		{"plain", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("code_challenge", verifier), oauth2.SetAuthURLParam("code_challenge_method", "plain")}},
		{"no method means plain", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("code_challenge", oauth2.S256ChallengeFromVerifier(verifier))}},
		{"lower-case s256", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("code_challenge", oauth2.S256ChallengeFromVerifier(verifier)), oauth2.SetAuthURLParam("code_challenge_method", "s256")}},
	} {
		t.Run("authorize with "+tt.name, func(t *testing.T) {
			stop := h.secWalk(t, b, a.oauth.AuthCodeURL("pk", append(tt.params, oidc.Nonce("n"))...))
			h.secWantAppError(t, h.secAtApp(t, stop), "invalid_request", "pk")
		})
	}

	t.Run("challenge, no verifier", func(t *testing.T) {
		code := a.secCode(t, b, verifier)
		h.secWantGrantRefused(t, "no verifier", h.secExchange(t, appID, appSecret, code, appRedirect, ""))
	})
	t.Run("challenge, wrong verifier", func(t *testing.T) {
		code := a.secCode(t, b, verifier)
		h.secWantGrantRefused(t, "wrong verifier", h.secExchange(t, appID, appSecret, code, appRedirect, oauth2.GenerateVerifier()))
	})
	t.Run("challenge, the challenge as verifier", func(t *testing.T) {
		code := a.secCode(t, b, verifier)
		h.secWantGrantRefused(t, "challenge as verifier", h.secExchange(t, appID, appSecret, code, appRedirect, oauth2.S256ChallengeFromVerifier(verifier)))
	})
	withoutChallenge := func(t *testing.T) string {
		q := h.secAtApp(t, h.secWalk(t, b, a.oauth.AuthCodeURL("st", oidc.Nonce("n"))))
		if q.Get("code") == "" {
			t.Fatalf("a confidential client without PKCE got no code: %v", q)
		}
		return q.Get("code")
	}
	t.Run("no challenge, a verifier", func(t *testing.T) {
		h.secWantGrantRefused(t, "verifier for a code without challenge", h.secExchange(t, appID, appSecret, withoutChallenge(t), appRedirect, verifier))
	})
	t.Run("no challenge, no verifier (confidential)", func(t *testing.T) {
		if r := h.secExchange(t, appID, appSecret, withoutChallenge(t), appRedirect, ""); r.status != http.StatusOK {
			t.Errorf("confidential client without PKCE: %d %v", r.status, r.body)
		}
	})
}

// A public client has no secret and must use PKCE S256; it signs in with
// go-oidc like any app.
func TestOPPublicClient(t *testing.T) {
	const spa = "spa"
	h := newHarness(t, "", secClient(config.Client{ID: spa, Public: true, RedirectURIs: []string{appRedirect}, SkipConsent: true, AllowedConnections: []string{"corp"}}))
	h.user(testidp.Generic, secAnn())
	a, b := h.secAppFor(spa, ""), h.browser()

	stop := h.secWalk(t, b, a.oauth.AuthCodeURL("no-pkce", oidc.Nonce("n")))
	h.secWantAppError(t, h.secAtApp(t, stop), "invalid_request", "no-pkce")

	verifier := oauth2.GenerateVerifier()
	code := a.secCode(t, b, verifier)
	tok, err := a.oauth.Exchange(a.ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("public client exchange: %v", err)
	}
	idt, err := a.verifier.Verify(a.ctx, tok.Extra("id_token").(string))
	if err != nil || idt.Audience[0] != spa {
		t.Fatalf("ID token: %v %v", idt, err)
	}

	// A public client has no secret: one that presents a secret is not who
	// it says.
	code = a.secCode(t, b, verifier)
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {appRedirect}, "code_verifier": {verifier},
		"client_id": {spa}, "client_secret": {"anything"}}
	if r := h.secPost(t, op.TokenPath, form, "", ""); r.status != http.StatusUnauthorized || r.str("error") != "invalid_client" {
		t.Errorf("public client with a secret: %d %q, want 401 invalid_client", r.status, r.str("error"))
	}
	code = a.secCode(t, b, verifier)
	h.secWantGrantRefused(t, "public client without verifier", h.secExchange(t, spa, "", code, appRedirect, ""))
}

// Refresh tokens rotate; a reused one revokes its family, the successor
// and the access tokens included.
func TestOPRefreshReuseRevokesFamily(t *testing.T) {
	secBothDialects(t, func(t *testing.T, databaseURL string) {
		h := newHarness(t, databaseURL, withApp(func(c *config.Client) { c.AllowedConnections = []string{"corp"} }))
		h.user(testidp.Generic, secAnn())
		first := h.app().secTokens(t, h.browser())
		second := h.secRefresh(t, first.str("refresh_token"))
		if second.status != http.StatusOK || second.str("refresh_token") == "" || second.str("refresh_token") == first.str("refresh_token") {
			t.Fatalf("refresh: %d %q, want a new refresh token", second.status, second.str("error"))
		}
		if h.secUserInfo(t, second.str("access_token")) != http.StatusOK {
			t.Fatal("the refreshed access token does not work")
		}
		h.secWantGrantRefused(t, "the rotated-out refresh token", h.secRefresh(t, first.str("refresh_token")))
		h.secWantGrantRefused(t, "the successor after its predecessor's reuse", h.secRefresh(t, second.str("refresh_token")))
		for name, access := range map[string]string{"first": first.str("access_token"), "refreshed": second.str("access_token")} {
			if got := h.secUserInfo(t, access); got != http.StatusUnauthorized {
				t.Errorf("userinfo with the %s access token after the reuse: %d, want 401", name, got)
			}
		}
	})
}

// A refresh token stops working once its person is disabled or the
// identity their session came from is unlinked.
func TestOPRefreshRefusedForDisabledOrUnlinked(t *testing.T) {
	secBothDialects(t, func(t *testing.T, databaseURL string) {
		h := newHarness(t, databaseURL, withApp(func(c *config.Client) { c.AllowedConnections = []string{"corp"} }))
		h.user(testidp.Generic, secAnn())
		ctx := context.Background()
		st := h.srv.store()
		a := h.app()
		userOf := func(t *testing.T, r secReply) store.User {
			t.Helper()
			idt, err := a.verifier.Verify(a.ctx, r.str("id_token"))
			if err != nil {
				t.Fatal(err)
			}
			u, err := st.GetUser(ctx, idt.Subject)
			if err != nil {
				t.Fatal(err)
			}
			return u
		}

		t.Run("disabled", func(t *testing.T) {
			tok := a.secTokens(t, h.browser())
			u := userOf(t, tok)
			u.Status = store.UserDisabled
			if err := st.UpdateUser(ctx, &u); err != nil {
				t.Fatal(err)
			}
			defer func() {
				u.Status = store.UserActive
				st.UpdateUser(ctx, &u)
			}()
			// userinfo first: the refused refresh below revokes the grant's
			// access tokens too, which would hide a missing status check.
			if got := h.secUserInfo(t, tok.str("access_token")); got != http.StatusUnauthorized {
				t.Errorf("userinfo for a disabled user: %d, want 401", got)
			}
			h.secWantGrantRefused(t, "refresh for a disabled user", h.secRefresh(t, tok.str("refresh_token")))
		})
		t.Run("identity unlinked", func(t *testing.T) {
			tok := a.secTokens(t, h.browser())
			ids, err := st.ListUserIdentities(ctx, userOf(t, tok).ID)
			if err != nil || len(ids) != 1 {
				t.Fatalf("identities %v, %v", ids, err)
			}
			if err := st.DeleteIdentity(ctx, ids[0].ID); err != nil {
				t.Fatal(err)
			}
			h.secWantGrantRefused(t, "refresh after the identity was unlinked", h.secRefresh(t, tok.str("refresh_token")))
			if got := h.secUserInfo(t, tok.str("access_token")); got != http.StatusUnauthorized {
				t.Errorf("userinfo after the identity was unlinked: %d, want 401", got)
			}
		})
	})
}

// Client secrets are checked at the token and revocation endpoints: a
// wrong one, none, or another client's is refused with invalid_client.
func TestOPClientAuthentication(t *testing.T) {
	h := newHarness(t, "", secWith(withApp(func(c *config.Client) { c.AllowedConnections = []string{"corp"} }), secNotes(nil)))
	h.user(testidp.Generic, secAnn())
	a, b := h.app(), h.browser()
	verifier := oauth2.GenerateVerifier()
	a.secCode(t, b, verifier)

	tests := []struct {
		name           string
		basic          bool
		client, secret string
	}{
		{"wrong secret, Basic", true, appID, appSecret + "x"},
		{"wrong secret, post", false, appID, appSecret + "x"},
		{"another client's secret", true, appID, secNotesSecret},
		{"secret prefix", true, appID, appSecret[:len(appSecret)-1]},
		{"no secret, Basic", true, appID, ""},
		{"no secret, post", false, appID, ""},
		{"unknown client", true, "nobody", appSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code := a.secCode(t, b, verifier)
			form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {appRedirect}, "code_verifier": {verifier}}
			var r secReply
			if tt.basic {
				r = h.secPost(t, op.TokenPath, form, tt.client, tt.secret)
			} else {
				form.Set("client_id", tt.client)
				form.Set("client_secret", tt.secret)
				r = h.secPost(t, op.TokenPath, form, "", "")
			}
			if r.status != http.StatusUnauthorized || r.str("error") != "invalid_client" || r.str("access_token") != "" {
				t.Errorf("token: %d %q, want 401 invalid_client", r.status, r.str("error"))
			}
			if challenge := r.header.Get("WWW-Authenticate"); tt.basic && !strings.HasPrefix(challenge, "Basic") {
				t.Errorf("WWW-Authenticate %q after a Basic attempt", challenge)
			}
			rev := url.Values{"token": {"anything"}}
			if !tt.basic {
				rev.Set("client_id", tt.client)
				rev.Set("client_secret", tt.secret)
				tt.client = ""
			}
			if r := h.secPost(t, op.RevokePath, rev, tt.client, tt.secret); r.status != http.StatusUnauthorized {
				t.Errorf("revoke: %d %q, want 401", r.status, r.str("error"))
			}
		})
	}
	t.Run("right secret, post", func(t *testing.T) {
		code := a.secCode(t, b, verifier)
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {appRedirect}, "code_verifier": {verifier},
			"client_id": {appID}, "client_secret": {appSecret}}
		if r := h.secPost(t, op.TokenPath, form, "", ""); r.status != http.StatusOK {
			t.Errorf("client_secret_post: %d %v", r.status, r.body)
		}
	})
}

// Every answer of the token endpoint, refusals included, and of the
// revocation endpoint says Cache-Control: no-store.
func TestOPTokenResponsesAreNotStored(t *testing.T) {
	h := newHarness(t, "", withApp(func(c *config.Client) { c.AllowedConnections = []string{"corp"} }))
	h.user(testidp.Generic, secAnn())
	a, b := h.app(), h.browser()
	verifier := oauth2.GenerateVerifier()
	code := a.secCode(t, b, verifier)
	exchange := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {appRedirect}, "code_verifier": {verifier}}
	tok := h.secPost(t, op.TokenPath, exchange, appID, appSecret)

	dup := strings.NewReader("grant_type=refresh_token&refresh_token=a&refresh_token=b")
	big := strings.NewReader("grant_type=refresh_token&refresh_token=" + strings.Repeat("a", 2<<20))
	raw := func(body io.Reader) func() secReply {
		return func() secReply {
			req, _ := http.NewRequest(http.MethodPost, h.ts.URL+op.TokenPath, body)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(appID, appSecret)
			return h.secDo(t, req)
		}
	}
	tests := []struct {
		name   string
		status int
		do     func() secReply
	}{
		{"code exchange", 200, func() secReply { return tok }},
		{"refresh", 200, func() secReply { return h.secRefresh(t, tok.str("refresh_token")) }},
		{"reused code", 400, func() secReply { return h.secPost(t, op.TokenPath, exchange, appID, appSecret) }},
		{"bad client", 401, func() secReply { return h.secPost(t, op.TokenPath, exchange, appID, "wrong") }},
		{"unsupported grant", 400, func() secReply {
			return h.secPost(t, op.TokenPath, url.Values{"grant_type": {"password"}}, appID, appSecret)
		}},
		{"no grant type", 400, func() secReply { return h.secPost(t, op.TokenPath, url.Values{}, appID, appSecret) }},
		{"repeated parameter", 400, raw(dup)},
		{"body too large", 413, raw(big)},
		{"revocation", 200, func() secReply {
			return h.secPost(t, op.RevokePath, url.Values{"token": {"unknown"}}, appID, appSecret)
		}},
		{"revocation refused", 401, func() secReply { return h.secPost(t, op.RevokePath, url.Values{"token": {"unknown"}}, appID, "wrong") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.do()
			if r.status != tt.status {
				t.Errorf("status %d, want %d (%q)", r.status, tt.status, r.str("error"))
			}
			if got := r.header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", got)
			}
		})
	}
	t.Run("rate limited", func(t *testing.T) {
		h := newHarness(t, "", secWith(func(s *Settings) { s.RateLimits.PerIPPerMinute = 1 }, withApp(nil)))
		var r secReply
		for range 2 {
			r = h.secPost(t, op.TokenPath, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}, appID, appSecret)
		}
		if r.status != http.StatusTooManyRequests || r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("second token request within a minute at 1/min: %d, Cache-Control %q; want 429, no-store", r.status, r.header.Get("Cache-Control"))
		}
	})
}

// secNoFraming checks the clickjacking headers.
func secNoFraming(t *testing.T, what string, h http.Header) {
	t.Helper()
	if h.Get("X-Frame-Options") != "DENY" || !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("%s: X-Frame-Options %q, Content-Security-Policy %q; want DENY and frame-ancestors 'none'",
			what, h.Get("X-Frame-Options"), h.Get("Content-Security-Policy"))
	}
}

// Every page the provider shows or redirects through refuses to be framed:
// the consent page (clickjacking its Allow button would hand an account to
// an app), the chooser, the logout confirmation, refusal pages.
func TestOPPagesRefuseFraming(t *testing.T) {
	h := newHarness(t, "", secWith(withApp(nil), secThirdConnection,
		secNotes(func(c *config.Client) { c.SkipConsent = false; c.AllowedConnections = []string{"corp"} })))
	h.user(testidp.Generic, secAnn())
	b := h.browser()
	notes := h.secAppFor(secNotesID, secNotesSecret)
	verifier := oauth2.GenerateVerifier()

	stop := h.secWalk(t, b, notes.oauth.AuthCodeURL("c", oidc.Nonce("n"), oauth2.S256ChallengeOption(verifier)))
	resp, body := stop.resp, stop.body
	if resp.Request.URL.Path != op.ConsentPath || resp.StatusCode != http.StatusOK {
		t.Fatalf("ended at %s with %d, want the consent page: %.300s", resp.Request.URL, resp.StatusCode, body)
	}
	secNoFraming(t, "consent page", resp.Header)

	wiki := h.app()
	step := noRedirects(h.browser())
	for _, target := range []string{
		wiki.oauth.AuthCodeURL("c", oauth2.S256ChallengeOption(verifier)), // a redirect to the chooser
		h.ts.URL + "/oauth2/authorize?client_id=nobody&redirect_uri=" + url.QueryEscape(appRedirect),
		h.ts.URL + "/oauth2/logout?post_logout_redirect_uri=" + url.QueryEscape("https://evil.example/"),
		h.ts.URL + "/oauth2/logout",
		h.ts.URL + "/logout",
	} {
		resp, err := step.Get(target)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		secNoFraming(t, target, resp.Header)
		if loc := resp.Header.Get("Location"); strings.HasPrefix(loc, "/login?request=") {
			stop := h.secWalk(t, h.browser(), loc)
			resp, body := stop.resp, stop.body
			if resp.Request.URL.Path != "/login" || resp.StatusCode != http.StatusOK {
				t.Fatalf("chooser: %s %d %.300s", resp.Request.URL, resp.StatusCode, body)
			}
			secNoFraming(t, "chooser", resp.Header)
		}
	}
}

// Downstream redirect URIs match exactly: a variant of a registered URI
// never gets a redirect, not even an error; a loopback URI matches on any
// port (RFC 8252). An unknown or disabled client never gets one either.
func TestOPRedirectURIsMatchExactly(t *testing.T) {
	const registered = "https://app.example.com/cb"
	h := newHarness(t, "", secWith(
		withApp(func(c *config.Client) {
			c.RedirectURIs = append(c.RedirectURIs, registered)
			c.AllowedConnections = []string{"corp"}
		}),
		secNotes(func(c *config.Client) { c.Disabled = true })))
	h.user(testidp.Generic, secAnn())
	b := h.browser()
	a := h.app()
	a.secCode(t, b, oauth2.GenerateVerifier()) // signed in: a matching URI would get a code at once

	authorize := func(clientID, redirectURI string, extra url.Values) string {
		q := url.Values{"client_id": {clientID}, "redirect_uri": {redirectURI}, "response_type": {"code"}, "scope": {"openid"},
			"state": {"rd"}, "code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"}}
		for k, v := range extra {
			q[k] = v
		}
		return h.ts.URL + op.AuthorizePath + "?" + q.Encode()
	}
	for _, variant := range []string{
		registered + "/", registered + "/x", registered + "?x=1", registered + "#f", registered + "%2F",
		"https://APP.example.com/cb", "https://app.example.com/CB", "http://app.example.com/cb", "https://app.example.com:443/cb",
		"https://app.example.com.evil.example/cb", "https://app.example.com@evil.example/cb", "https://evil.example/cb", "https://app.example.com/x/../cb",
		appRedirect + "/", appRedirect + "?x=1", appRedirect + "#f", "http://127.0.0.1/APP/callback", "https://127.0.0.1/app/callback",
		"http://localhost/app/callback", "http://127.0.0.1:0/app/callback", "http://127.0.0.1:99999/app/callback",
		"http://127.0.0.1@evil.example/app/callback", "http://127.0.0.1:80@evil.example/app/callback", "",
	} {
		t.Run("variant "+variant, func(t *testing.T) {
			h.secWantNoRedirect(t, h.secWalk(t, b, authorize(appID, variant, nil)))
			// Not even an error goes there.
			h.secWantNoRedirect(t, h.secWalk(t, b, authorize(appID, variant, url.Values{"response_type": {"token"}})))
		})
	}
	t.Run("unknown client", func(t *testing.T) {
		h.secWantNoRedirect(t, h.secWalk(t, b, authorize("nobody", appRedirect, nil)))
	})
	t.Run("disabled client", func(t *testing.T) {
		h.secWantNoRedirect(t, h.secWalk(t, b, authorize(secNotesID, appRedirect, nil)))
	})
	t.Run("repeated redirect_uri", func(t *testing.T) {
		h.secWantNoRedirect(t, h.secWalk(t, b, authorize(appID, appRedirect, url.Values{"redirect_uri": {appRedirect, "https://evil.example/cb"}})))
	})
	t.Run("registered", func(t *testing.T) {
		resp := h.secWalk(t, b, authorize(appID, registered, nil)).resp
		if loc := h.secLeftFor(resp); loc == nil || loc.Host != "app.example.com" || loc.Query().Get("code") == "" {
			t.Errorf("registered URI: %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
	t.Run("loopback on any port", func(t *testing.T) {
		resp := h.secWalk(t, b, authorize(appID, "http://127.0.0.1:53123/app/callback", nil)).resp
		if loc := h.secLeftFor(resp); loc == nil || loc.Host != "127.0.0.1:53123" || loc.Path != "/app/callback" || loc.Query().Get("code") == "" {
			t.Errorf("loopback port: %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}

// Once the client and redirect URI are known good, every authorization
// error goes back to the app with the request's state and Sallyport's iss
// (RFC 9207), so the app can tell whose error it is.
func TestOPAuthorizationErrorsCarryStateAndIss(t *testing.T) {
	h := newHarness(t, "", withApp(func(c *config.Client) { c.AllowedConnections = []string{"corp"} }))
	b := h.browser()
	a := h.app()
	challenge := oauth2.S256ChallengeOption(oauth2.GenerateVerifier())
	for _, tt := range []struct {
		name, code string
		opts       []oauth2.AuthCodeOption
	}{
		{"unsupported response_type", "unsupported_response_type", []oauth2.AuthCodeOption{challenge, oauth2.SetAuthURLParam("response_type", "token")}},
		{"no openid scope", "invalid_scope", []oauth2.AuthCodeOption{challenge, oauth2.SetAuthURLParam("scope", "email")}},
		{"bad prompt", "invalid_request", []oauth2.AuthCodeOption{challenge, oauth2.SetAuthURLParam("prompt", "sometimes")}},
		{"request object", "request_not_supported", []oauth2.AuthCodeOption{challenge, oauth2.SetAuthURLParam("request", "x.y.z")}},
		{"prompt=none, signed out", "login_required", []oauth2.AuthCodeOption{challenge, oauth2.SetAuthURLParam("prompt", "none")}},
		{"connection outside allowed_connections", "access_denied", []oauth2.AuthCodeOption{challenge, oauth2.SetAuthURLParam("connection", "other")}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			stop := h.secWalk(t, b, a.oauth.AuthCodeURL("s-"+tt.code, tt.opts...))
			h.secWantAppError(t, h.secAtApp(t, stop), tt.code, "s-"+tt.code)
		})
	}
}

// secSignedIn reports whether browser c still has a Sallyport session.
func (h *harness) secSignedIn(t testing.TB, c *http.Client) bool {
	t.Helper()
	return h.get(c, "/account").url.Path == "/account"
}

// /oauth2/logout is no open redirect and no way for another site to sign
// someone out: an unregistered post_logout_redirect_uri gets a page, a
// logout without id_token_hint asks the person, and a hint for another
// person ends nobody's session.
func TestOPLogoutProtections(t *testing.T) {
	const back = "http://127.0.0.1/app/"
	h := newHarness(t, "", secWith(withApp(func(c *config.Client) { c.AllowedConnections = []string{"corp"} }),
		secNotes(func(c *config.Client) { c.PostLogoutRedirectURIs = []string{"https://notes.example.com/bye"} })))
	h.user(testidp.Generic, secAnn())
	if err := h.idp.AddUser(testidp.Generic, secBob()); err != nil {
		t.Fatal(err)
	}
	a := h.app()
	// signIn returns a new browser signed in as email, with its ID token.
	signIn := func(t *testing.T, email string) (*http.Client, string) {
		t.Helper()
		b := h.browser()
		verifier := oauth2.GenerateVerifier()
		code := a.secCode(t, b, verifier, oauth2.SetAuthURLParam("login_hint", email))
		r := h.secExchange(t, appID, appSecret, code, appRedirect, verifier)
		if r.status != http.StatusOK {
			t.Fatalf("sign-in as %s: %d %q", email, r.status, r.str("error"))
		}
		return b, r.str("id_token")
	}
	logout := func(q url.Values) string { return h.ts.URL + op.LogoutPath + "?" + q.Encode() }

	for _, uri := range []string{"https://evil.example/", back + "x", "http://127.0.0.1/app", back + "#f", "//evil.example/", "https://notes.example.com/bye"} {
		t.Run("unregistered "+uri, func(t *testing.T) {
			ann, annToken := signIn(t, "ann@example.com")
			for _, q := range []url.Values{
				{"id_token_hint": {annToken}, "post_logout_redirect_uri": {uri}, "state": {"s"}},
				{"client_id": {appID}, "post_logout_redirect_uri": {uri}},
				{"post_logout_redirect_uri": {uri}},
			} {
				h.secWantNoRedirect(t, h.secWalk(t, ann, logout(q)))
			}
			if !h.secSignedIn(t, ann) {
				t.Error("a refused logout ended the session")
			}
		})
	}
	t.Run("another app's URI under the hint's app", func(t *testing.T) {
		ann, annToken := signIn(t, "ann@example.com")
		h.secWantNoRedirect(t, h.secWalk(t, ann, logout(url.Values{"id_token_hint": {annToken}, "client_id": {secNotesID}, "post_logout_redirect_uri": {"https://notes.example.com/bye"}})))
		if !h.secSignedIn(t, ann) {
			t.Error("a refused logout ended the session")
		}
	})
	t.Run("no id_token_hint", func(t *testing.T) {
		ann, _ := signIn(t, "ann@example.com")
		stop := h.secWalk(t, ann, logout(url.Values{"client_id": {appID}, "post_logout_redirect_uri": {back}, "state": {"s"}}))
		resp, body := stop.resp, stop.body
		if resp.Request.URL.Path != "/logout" || resp.StatusCode != http.StatusOK || h.secLeftFor(resp) != nil {
			t.Errorf("ended at %s with %d, want the confirmation page: %.300s", resp.Request.URL, resp.StatusCode, body)
		}
		if !h.secSignedIn(t, ann) {
			t.Error("a logout without id_token_hint ended the session")
		}
	})
	t.Run("another person's hint", func(t *testing.T) {
		ann, _ := signIn(t, "ann@example.com")
		bob, bobToken := signIn(t, "bob@example.com")
		stop := h.secWalk(t, ann, logout(url.Values{"id_token_hint": {bobToken}, "post_logout_redirect_uri": {back}, "state": {"s"}}))
		resp, body := stop.resp, stop.body
		if resp.Request.URL.Path != "/logout" || h.secLeftFor(resp) != nil {
			t.Errorf("ended at %s with %d, want the confirmation page: %.300s", resp.Request.URL, resp.StatusCode, body)
		}
		if !h.secSignedIn(t, ann) || !h.secSignedIn(t, bob) {
			t.Error("a hint for another person ended a session")
		}
	})
	t.Run("forged hint", func(t *testing.T) {
		ann, annToken := signIn(t, "ann@example.com")
		header, payload, _ := strings.Cut(annToken, ".")
		payload, _, _ = strings.Cut(payload, ".")
		forged := header + "." + payload + "." + strings.Repeat("A", 342)
		h.secWantNoRedirect(t, h.secWalk(t, ann, logout(url.Values{"id_token_hint": {forged}, "post_logout_redirect_uri": {back}})))
		if !h.secSignedIn(t, ann) {
			t.Error("a forged hint ended the session")
		}
	})
	t.Run("own hint, registered URI", func(t *testing.T) {
		ann, annToken := signIn(t, "ann@example.com")
		bob, _ := signIn(t, "bob@example.com")
		resp := h.secWalk(t, ann, logout(url.Values{"id_token_hint": {annToken}, "post_logout_redirect_uri": {back}, "state": {"bye"}})).resp
		if loc := h.secLeftFor(resp); loc == nil || loc.String() != back+"?state=bye" {
			t.Errorf("Location %q, want %s?state=bye", resp.Header.Get("Location"), back)
		}
		if h.secSignedIn(t, ann) {
			t.Error("the session outlived its logout")
		}
		if !h.secSignedIn(t, bob) {
			t.Error("Ann's logout ended Bob's session")
		}
	})
}

// An app without skip_consent asks the person first. Allowing is
// remembered; denying tells the app access_denied; prompt=consent asks
// again; prompt=none without consent answers consent_required.
func TestOPConsent(t *testing.T) {
	h := newHarness(t, "", secNotes(func(c *config.Client) { c.SkipConsent = false; c.AllowedConnections = []string{"corp"} }))
	h.user(testidp.Generic, secAnn())
	b := h.browser()
	a := h.secAppFor(secNotesID, secNotesSecret)
	verifier := oauth2.GenerateVerifier()
	authURL := func(state string, extra ...oauth2.AuthCodeOption) string {
		return a.oauth.AuthCodeURL(state, append(extra, oidc.Nonce("n"), oauth2.S256ChallengeOption(verifier))...)
	}
	consentPage := func(t *testing.T, target string) string {
		t.Helper()
		stop := h.secWalk(t, b, target)
		resp, body := stop.resp, stop.body
		if resp.Request.URL.Path != op.ConsentPath || resp.StatusCode != http.StatusOK {
			t.Fatalf("ended at %s with %d, want the consent page: %.300s", resp.Request.URL, resp.StatusCode, body)
		}
		for _, want := range []string{"Allow Notes", `value="allow"`, `value="deny"`} {
			if !strings.Contains(body, want) {
				t.Errorf("the consent page lacks %q", want)
			}
		}
		return resp.Request.URL.Query().Get("request")
	}
	answer := func(t *testing.T, request, decision string) *http.Response {
		t.Helper()
		resp, err := noRedirects(b).PostForm(h.ts.URL+op.ConsentPath, url.Values{"request": {request}, "decision": {decision}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}

	request := consentPage(t, authURL("first"))
	t.Run("prompt=none before consent", func(t *testing.T) {
		stop := h.secWalk(t, b, authURL("quiet", oauth2.SetAuthURLParam("prompt", "none")))
		h.secWantAppError(t, h.secAtApp(t, stop), "consent_required", "quiet")
	})
	t.Run("allow", func(t *testing.T) {
		resp := answer(t, request, "allow")
		q := h.secAtApp(t, secStop{resp: resp})
		if q.Get("code") == "" || q.Get("state") != "first" || q.Get("iss") != h.ts.URL {
			t.Fatalf("after Allow the app got %v", q)
		}
		if r := h.secExchange(t, secNotesID, secNotesSecret, q.Get("code"), appRedirect, verifier); r.status != http.StatusOK {
			t.Errorf("exchange: %d %v", r.status, r.body)
		}
		if resp := answer(t, request, "allow"); resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Errorf("answering a finished request again: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
	t.Run("remembered", func(t *testing.T) {
		stop := h.secWalk(t, b, authURL("again"))
		if q := h.secAtApp(t, stop); q.Get("code") == "" {
			t.Errorf("the second authorization got %v, want a code without asking", q)
		}
		stop = h.secWalk(t, b, authURL("quiet", oauth2.SetAuthURLParam("prompt", "none")))
		if q := h.secAtApp(t, stop); q.Get("code") == "" {
			t.Errorf("prompt=none after consent got %v, want a code", q)
		}
	})
	t.Run("prompt=consent asks again; deny", func(t *testing.T) {
		request := consentPage(t, authURL("ask", oauth2.SetAuthURLParam("prompt", "consent")))
		h.secWantAppError(t, h.secAtApp(t, secStop{resp: answer(t, request, "deny")}), "access_denied", "ask")
	})
	t.Run("the answer needs the signed-in person", func(t *testing.T) {
		request := consentPage(t, authURL("other-browser", oauth2.SetAuthURLParam("prompt", "consent")))
		resp, err := noRedirects(h.browser()).PostForm(h.ts.URL+op.ConsentPath, url.Values{"request": {request}, "decision": {"allow"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if h.secLeftFor(resp) != nil {
			t.Errorf("a browser without a session answered the consent: Location %q", resp.Header.Get("Location"))
		}
	})
}

// secLoginLinks returns the /login/{slug} links of the chooser page.
func secLoginLinks(body string) []string {
	var links []string
	for _, part := range strings.Split(body, `href="/login/`)[1:] {
		slug, _, _ := strings.Cut(part, "?")
		slug, _, _ = strings.Cut(slug, `"`)
		links = append(links, slug)
	}
	return links
}

// Without connection=, an app with several sign-in methods hands the
// person to the chooser with the pending request, which lists only the
// app's allowed connections and refuses any other; the pick goes upstream
// and comes back to the app with a code. login_hint reaches the upstream
// on this path too.
func TestOPChooserHandOver(t *testing.T) {
	h := newHarness(t, "", secWith(secThirdConnection, withApp(func(c *config.Client) { c.AllowedConnections = []string{"corp", "other"} })))
	h.user(testidp.Generic, secAnn())
	h.idp.AddUser(testidp.Generic, secBob())
	h.user("other", testidp.User{Subject: "ann-other", Email: "ann.other@example.com", EmailVerified: true})
	a := h.app()
	b := noRedirects(h.browser())
	verifier := oauth2.GenerateVerifier()

	resp, err := b.Get(a.oauth.AuthCodeURL("pick", oidc.Nonce("n"), oauth2.S256ChallengeOption(verifier)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	request, found := strings.CutPrefix(loc, "/login?request=")
	if resp.StatusCode != http.StatusSeeOther || !found {
		t.Fatalf("authorize: %d to %q, want the chooser with the request", resp.StatusCode, loc)
	}
	page := h.get(b, loc)
	if got := secLoginLinks(page.body); !slices.Equal(got, []string{"corp", "other"}) {
		t.Errorf("the chooser offers %v, want [corp other]", got)
	}
	if r := h.get(b, "/login/third?request="+url.QueryEscape(request)); r.status != http.StatusForbidden {
		t.Errorf("/login/third for the request: %d, want 403", r.status)
	}
	walk := h.secWalk(t, b, "/login/other?request="+url.QueryEscape(request))
	q := h.secAtApp(t, walk)
	if q.Get("state") != "pick" || q.Get("iss") != h.ts.URL {
		t.Errorf("back at the app with %v", q)
	}
	tok, err := a.oauth.Exchange(a.ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		IDP   string `json:"idp"`
		Email string `json:"email"`
	}
	if idt, err := a.verifier.Verify(a.ctx, tok.Extra("id_token").(string)); err != nil || idt.Claims(&claims) != nil || claims.IDP != "other" {
		t.Errorf("ID token: %+v, %v; want idp other", claims, err)
	}

	t.Run("login_hint", func(t *testing.T) {
		b := noRedirects(h.browser())
		resp, err := b.Get(a.oauth.AuthCodeURL("hint", oidc.Nonce("n"), oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("login_hint", "bob@example.com")))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		walk := h.secWalk(t, b, strings.Replace(resp.Header.Get("Location"), "/login?", "/login/corp?", 1))
		tok, err := a.oauth.Exchange(a.ctx, h.secAtApp(t, walk).Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		idt, err := a.verifier.Verify(a.ctx, tok.Extra("id_token").(string))
		if err != nil || idt.Claims(&claims) != nil || claims.Email != "bob@example.com" {
			t.Errorf("login_hint=bob@example.com signed in %q (%v)", claims.Email, err)
		}
	})
}

// connection= goes straight to that upstream, with login_hint passed on;
// a connection outside the app's allowed_connections is refused to the
// app with access_denied.
func TestOPConnectionParameter(t *testing.T) {
	h := newHarness(t, "", secWith(withApp(nil), secNotes(func(c *config.Client) { c.AllowedConnections = []string{"corp"} })))
	h.user(testidp.Generic, secAnn())
	h.idp.AddUser(testidp.Generic, secBob())
	h.user("other", testidp.User{Subject: "ann-other", Email: "ann.other@example.com", EmailVerified: true})
	a := h.app()
	verifier := oauth2.GenerateVerifier()
	signIn := func(t *testing.T, opts ...oauth2.AuthCodeOption) (idp, email string) {
		t.Helper()
		b := noRedirects(h.browser())
		target := a.oauth.AuthCodeURL("c", append(opts, oidc.Nonce("n"), oauth2.S256ChallengeOption(verifier))...)
		resp, err := b.Get(target)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, err := resp.Location()
		if err != nil || !strings.HasPrefix(loc.String(), h.idp.URL()) {
			t.Fatalf("authorize with connection=: %d to %v, want the upstream at once", resp.StatusCode, loc)
		}
		walk := h.secWalk(t, b, loc.String())
		tok, err := a.oauth.Exchange(a.ctx, h.secAtApp(t, walk).Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		var claims struct {
			IDP   string `json:"idp"`
			Email string `json:"email"`
		}
		idt, err := a.verifier.Verify(a.ctx, tok.Extra("id_token").(string))
		if err != nil || idt.Claims(&claims) != nil {
			t.Fatal(err)
		}
		return claims.IDP, claims.Email
	}

	if idp, _ := signIn(t, oauth2.SetAuthURLParam("connection", "other")); idp != "other" {
		t.Errorf("connection=other signed in through %q", idp)
	}
	if idp, email := signIn(t, oauth2.SetAuthURLParam("connection", "corp"), oauth2.SetAuthURLParam("login_hint", "bob@example.com")); idp != "corp" || email != "bob@example.com" {
		t.Errorf("connection=corp login_hint=bob@example.com signed in %q through %q", email, idp)
	}

	notes := h.secAppFor(secNotesID, secNotesSecret)
	stop := h.secWalk(t, h.browser(), notes.oauth.AuthCodeURL("outside", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("connection", "other")))
	h.secWantAppError(t, h.secAtApp(t, stop), "access_denied", "outside")
}

// Revocation (RFC 7009): revoking a refresh token revokes its grant, the
// access token included; an app cannot revoke another app's tokens; an
// unknown token answers 200 as if revoked.
func TestOPRevocation(t *testing.T) {
	h := newHarness(t, "", secWith(withApp(func(c *config.Client) { c.AllowedConnections = []string{"corp"} }), secNotes(nil)))
	h.user(testidp.Generic, secAnn())
	tok := h.app().secTokens(t, h.browser())
	revoke := func(clientID, secret, token, hint string) int {
		t.Helper()
		form := url.Values{"token": {token}}
		if hint != "" {
			form.Set("token_type_hint", hint)
		}
		r := h.secPost(t, op.RevokePath, form, clientID, secret)
		if r.status == http.StatusOK && r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("revocation without Cache-Control: no-store")
		}
		return r.status
	}

	for _, hint := range []string{"", "refresh_token", "access_token"} {
		if got := revoke(secNotesID, secNotesSecret, tok.str("refresh_token"), hint); got != http.StatusOK {
			t.Errorf("another app revoking a refresh token (hint %q): %d, want 200", hint, got)
		}
		if got := revoke(secNotesID, secNotesSecret, tok.str("access_token"), hint); got != http.StatusOK {
			t.Errorf("another app revoking an access token (hint %q): %d, want 200", hint, got)
		}
	}
	if h.secUserInfo(t, tok.str("access_token")) != http.StatusOK {
		t.Error("another app revoked the access token")
	}
	next := h.secRefresh(t, tok.str("refresh_token"))
	if next.status != http.StatusOK {
		t.Fatalf("another app revoked the refresh token: %d %v", next.status, next.body)
	}

	if got := revoke(appID, appSecret, "no-such-token", ""); got != http.StatusOK {
		t.Errorf("an unknown token: %d, want 200", got)
	}

	if got := revoke(appID, appSecret, next.str("refresh_token"), "refresh_token"); got != http.StatusOK {
		t.Fatalf("revoking its own refresh token: %d", got)
	}
	// The access token first: a refresh attempt with a revoked token would
	// revoke the grant by itself, as a reuse.
	if got := h.secUserInfo(t, next.str("access_token")); got != http.StatusUnauthorized {
		t.Errorf("userinfo with the revoked grant's access token: %d, want 401", got)
	}
	h.secWantGrantRefused(t, "a revoked refresh token", h.secRefresh(t, next.str("refresh_token")))
	if ev := h.lastAudit("oauth2.revoke"); ev.Outcome != string(outcome.TokenRevoked) {
		t.Errorf("audit outcome %s, want token_revoked", ev.Outcome)
	}
}

// secJWKS fetches Sallyport's published keys.
func (h *harness) secJWKS(t testing.TB) jose.JSONWebKeySet {
	t.Helper()
	resp, err := h.ts.Client().Get(h.ts.URL + op.JWKSPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	return set
}

// With access_token_format: jwt the access token is a JWT (RFC 9068) that
// verifies against the JWKS and names the issuer, the person, the app and
// the scopes; userinfo accepts it like an opaque one.
func TestOPJWTAccessTokens(t *testing.T) {
	h := newHarness(t, "", withApp(func(c *config.Client) { c.AccessTokenFormat = "jwt"; c.AllowedConnections = []string{"corp"} }))
	h.user(testidp.Generic, secAnn())
	a := h.app()
	tok := a.secTokens(t, h.browser())
	idt, err := a.verifier.Verify(a.ctx, tok.str("id_token"))
	if err != nil {
		t.Fatal(err)
	}

	access := tok.str("access_token")
	jws, err := jose.ParseSigned(access, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("the access token is not a JWS: %v", err)
	}
	set := h.secJWKS(t)
	keys := set.Key(jws.Signatures[0].Header.KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %q is not in the JWKS", jws.Signatures[0].Header.KeyID)
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		t.Fatalf("the access token does not verify against the JWKS: %v", err)
	}
	var claims struct {
		Issuer   string `json:"iss"`
		Subject  string `json:"sub"`
		Audience string `json:"aud"`
		ClientID string `json:"client_id"`
		Expiry   int64  `json:"exp"`
		JTI      string `json:"jti"`
		Scope    string `json:"scope"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	if claims.Issuer != h.ts.URL || claims.Subject != idt.Subject || claims.ClientID != appID || claims.Audience == "" || claims.JTI == "" ||
		claims.Expiry <= time.Now().Unix() || !slices.Contains(strings.Fields(claims.Scope), "openid") {
		t.Errorf("access token claims %+v", claims)
	}
	if typ, _ := jws.Signatures[0].Protected.ExtraHeaders["typ"].(string); !strings.EqualFold(typ, "at+jwt") && !strings.EqualFold(typ, "application/at+jwt") {
		t.Errorf("access token typ %q, want at+jwt (RFC 9068 §2.1: an access token must not pass for an ID token)", typ)
	}
	if err := idt.VerifyAccessToken(access); err != nil {
		t.Error(err)
	}
	if got := h.secUserInfo(t, access); got != http.StatusOK {
		t.Errorf("userinfo with the JWT access token: %d", got)
	}
}

// Each app may have its ID tokens signed with ES256 or EdDSA; go-oidc
// verifies them against the JWKS.
func TestOPIDTokenAlgorithms(t *testing.T) {
	algs := []string{"ES256", "EdDSA", "RS256"}
	var tweaks []func(*Settings)
	for _, alg := range algs {
		tweaks = append(tweaks, secClient(config.Client{ID: "app-" + alg, Secret: appSecret, RedirectURIs: []string{appRedirect},
			SkipConsent: true, AllowedConnections: []string{"corp"}, IDTokenSigningAlg: alg}))
	}
	h := newHarness(t, "", secWith(tweaks...))
	h.user(testidp.Generic, secAnn())
	b := h.browser()
	for _, alg := range algs {
		t.Run(alg, func(t *testing.T) {
			a := h.secAppFor("app-"+alg, appSecret)
			a.verifier = a.provider.Verifier(&oidc.Config{ClientID: "app-" + alg, SupportedSigningAlgs: []string{alg}})
			tok := a.secTokens(t, b)
			idt, err := a.verifier.Verify(a.ctx, tok.str("id_token"))
			if err != nil {
				t.Fatalf("go-oidc with %s only: %v", alg, err)
			}
			if err := idt.VerifyAccessToken(tok.str("access_token")); err != nil {
				t.Errorf("at_hash: %v", err)
			}
			if idt.Nonce != "n" || idt.Audience[0] != "app-"+alg {
				t.Errorf("nonce %q, aud %v", idt.Nonce, idt.Audience)
			}
		})
	}
}
