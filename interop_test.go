package sallyport

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/zitadel/oidc/v3/pkg/client/rp"
	httphelper "github.com/zitadel/oidc/v3/pkg/http"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/oauth2"

	"github.com/sallyport/sallyport/internal/config"
	"github.com/sallyport/sallyport/internal/store/sqlstore/sqltest"
	"github.com/sallyport/sallyport/internal/testidp"
)

// These tests are the interop proof: two relying-party libraries that
// Sallyport does not control, used as their documentation says, complete
// sign-in, refresh, userinfo and sign-out against Sallyport's OP. Neither
// client is configured around Sallyport's quirks; a failure here is a
// failure of Sallyport, not of the test.

// TestInteropGoOIDC drives the OP with github.com/coreos/go-oidc/v3 and
// golang.org/x/oauth2 from discovery to RP-initiated logout, on both
// dialects.
func TestInteropGoOIDC(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { interopGoOIDCJourney(t, "") })
	t.Run("postgres", func(t *testing.T) { interopGoOIDCJourney(t, interopPostgres(t)) })
}

// interopPostgres is a database of the test's own: migrations take a
// database-wide advisory lock whose retry waits 5 s, so a schema in the
// shared test database would queue behind every other package migrating
// there at the same time.
func interopPostgres(t *testing.T) string {
	return sqltest.NewDatabase(t, sqltest.PostgresURL(t))
}

func interopGoOIDCJourney(t *testing.T, databaseURL string) {
	h := newHarness(t, databaseURL, withApp(func(c *config.Client) { c.AllowedConnections = []string{"corp"} }))
	h.user(testidp.Generic, testidp.User{Subject: "grace", Email: "grace@example.com", EmailVerified: true, Name: "Grace Hopper"})
	a := h.app() // discovery: go-oidc refuses an issuer that differs from the URL it asked
	verifier := a.provider.Verifier(&gooidc.Config{ClientID: appID, Now: h.clock.Now})
	b := h.browser()

	// Sign-in: code flow with PKCE S256, state and nonce.
	pkce := oauth2.GenerateVerifier()
	back := a.authorize(b, "journey-state", "journey-nonce", pkce)
	if q := back.Query(); q.Get("state") != "journey-state" || q.Get("iss") != h.ts.URL || q.Get("code") == "" {
		t.Fatalf("the app's callback = %s", back)
	}
	tok, err := a.oauth.Exchange(a.ctx, back.Query().Get("code"), oauth2.VerifierOption(pkce))
	if err != nil {
		t.Fatalf("code exchange: %v", err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := verifier.Verify(a.ctx, rawID)
	if err != nil {
		t.Fatalf("ID token: %v", err)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("at_hash: %v", err)
	}
	var claims interopClaims
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if idt.Nonce != "journey-nonce" || claims.Email != "grace@example.com" || !claims.EmailVerified || claims.Name != "Grace Hopper" ||
		claims.IDP != "corp" || claims.AZP != appID || claims.AuthTime == 0 {
		t.Errorf("ID token: nonce %q, claims %+v", idt.Nonce, claims)
	}

	// Userinfo answers for the same person.
	ui, err := a.provider.UserInfo(a.ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	if ui.Subject != idt.Subject || ui.Email != "grace@example.com" || !ui.EmailVerified {
		t.Errorf("userinfo = %+v, ID token sub %s", ui, idt.Subject)
	}

	// Refresh through x/oauth2's token source: the refresh token rotates,
	// the new ID token names the same person and the original sign-in.
	h.clock.Advance(2 * time.Second)
	fresh, err := a.oauth.TokenSource(a.ctx, interopExpired(tok)).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == "" || fresh.RefreshToken == tok.RefreshToken {
		t.Errorf("refresh did not rotate: access %t, refresh %t", fresh.AccessToken != tok.AccessToken, fresh.RefreshToken != tok.RefreshToken)
	}
	rawID2, _ := fresh.Extra("id_token").(string)
	idt2, err := verifier.Verify(a.ctx, rawID2)
	if err != nil {
		t.Fatalf("refreshed ID token: %v", err)
	}
	var claims2 interopClaims
	idt2.Claims(&claims2)
	if idt2.Subject != idt.Subject || claims2.AuthTime != claims.AuthTime || idt2.Nonce != "" || !idt2.IssuedAt.After(idt.IssuedAt) {
		t.Errorf("refreshed ID token: sub %s, auth_time %d (first %d), nonce %q, iat %v (first %v)",
			idt2.Subject, claims2.AuthTime, claims.AuthTime, idt2.Nonce, idt2.IssuedAt, idt.IssuedAt)
	}
	if ui, err := a.provider.UserInfo(a.ctx, oauth2.StaticTokenSource(fresh)); err != nil || ui.Subject != idt.Subject {
		t.Errorf("userinfo with the refreshed token: %+v, %v", ui, err)
	}

	// The rotated-out refresh token is refused, and presenting it revokes
	// its family: the successor and its access token die with it.
	_, err = a.oauth.TokenSource(a.ctx, interopExpired(tok)).Token()
	interopWantOAuthError(t, "reused refresh token", err, "invalid_grant")
	_, err = a.oauth.TokenSource(a.ctx, interopExpired(fresh)).Token()
	interopWantOAuthError(t, "successor of a reused refresh token", err, "invalid_grant")
	if _, err := a.provider.UserInfo(a.ctx, oauth2.StaticTokenSource(fresh)); err == nil {
		t.Error("userinfo accepted an access token of a revoked family")
	}

	// RP-initiated logout at the end_session_endpoint discovery names.
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := a.provider.Claims(&meta); err != nil || meta.EndSession != h.ts.URL+"/oauth2/logout" {
		t.Fatalf("end_session_endpoint = %q, %v", meta.EndSession, err)
	}
	logout := meta.EndSession + "?" + url.Values{
		"id_token_hint":            {rawID2},
		"post_logout_redirect_uri": {"http://127.0.0.1/app/"},
		"state":                    {"bye-state"},
	}.Encode()
	if back := h.follow(b, logout); back.String() != "http://127.0.0.1/app/?state=bye-state" {
		t.Errorf("logout returned to %s", back)
	}
	if r := h.get(b, "/account"); r.url.Path != "/login" {
		t.Errorf("after logout /account ended at %s: the session survived", r.url)
	}
	back = a.authorize(b, "after-logout", "n", oauth2.GenerateVerifier(), oauth2.SetAuthURLParam("prompt", "none"))
	if q := back.Query(); q.Get("error") != "login_required" || q.Get("state") != "after-logout" {
		t.Errorf("prompt=none after logout: %s", back)
	}
}

// interopClaims are the ID token claims the interop tests look at.
type interopClaims struct {
	Email         string   `json:"email"`
	EmailVerified bool     `json:"email_verified"`
	Name          string   `json:"name"`
	IDP           string   `json:"idp"`
	AZP           string   `json:"azp"`
	AMR           []string `json:"amr"`
	AuthTime      int64    `json:"auth_time"`
}

// interopExpired returns a copy of tok that x/oauth2 considers expired, so
// its token source refreshes at once.
func interopExpired(tok *oauth2.Token) *oauth2.Token {
	c := *tok
	c.Expiry = time.Now().Add(-time.Hour)
	return &c
}

// interopWantOAuthError checks that err is a token endpoint refusal with
// the OAuth error code want.
func interopWantOAuthError(t *testing.T, what string, err error, want string) {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Errorf("%s: err = %v, want a token endpoint error %s", what, err, want)
		return
	}
	if re.ErrorCode != want {
		t.Errorf("%s: error %q (%d), want %q", what, re.ErrorCode, re.Response.StatusCode, want)
	}
}

// The zitadel relying party's client, registered like any other app.
const (
	ledgerID     = "ledger"
	ledgerSecret = "ledger-secret-0123456789abcdef0123456789"
)

// withLedgerApp registers the app the zitadel relying party plays.
func withLedgerApp(s *Settings) {
	s.Clients = append(s.Clients, config.Client{
		ID: ledgerID, Name: "Ledger", Secret: ledgerSecret,
		RedirectURIs:           []string{"http://127.0.0.1/ledger/callback"},
		PostLogoutRedirectURIs: []string{"http://127.0.0.1/ledger/signed-out"},
		SkipConsent:            true, AllowedConnections: []string{"corp"},
	})
}

// ledgerApp is a web app built on github.com/zitadel/oidc/v3's rp package
// the way its examples build one: rp.AuthURLHandler starts sign-in (state
// and PKCE verifier in its own cookies), rp.CodeExchangeHandler with
// rp.UserinfoCallback finishes it, and sign-out asks the OP with
// rp.EndSession and sends the browser where the OP answered. It listens on
// plain HTTP on loopback, as a developer's app does; Sallyport matches its
// redirect URIs on any port (RFC 8252).
type ledgerApp struct {
	base string
	rp   rp.RelyingParty

	mu        sync.Mutex // guards the fields below
	tokens    *zoidc.Tokens[*zoidc.IDTokenClaims]
	info      *zoidc.UserInfo
	byeStates []string
}

func startLedgerApp(t *testing.T, h *harness) *ledgerApp {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	app := &ledgerApp{base: "http://" + srv.Listener.Addr().String()}
	key := make([]byte, 32)
	rand.Read(key)
	cookies := httphelper.NewCookieHandler(key, key, httphelper.WithUnsecure())
	var err error
	app.rp, err = rp.NewRelyingPartyOIDC(context.Background(), h.ts.URL, ledgerID, ledgerSecret, app.base+"/ledger/callback",
		[]string{zoidc.ScopeOpenID, zoidc.ScopeProfile, zoidc.ScopeEmail, zoidc.ScopeOfflineAccess},
		rp.WithPKCE(cookies), rp.WithHTTPClient(h.ts.Client()),
		rp.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, errorType, description, state string) {
			http.Error(w, "the OP refused: "+errorType+": "+description, http.StatusBadGateway)
		}))
	if err != nil {
		t.Fatalf("rp.NewRelyingPartyOIDC: %v", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /ledger/login", rp.AuthURLHandler(rand.Text, app.rp))
	mux.Handle("GET /ledger/callback", rp.CodeExchangeHandler(rp.UserinfoCallback(
		func(w http.ResponseWriter, r *http.Request, tokens *zoidc.Tokens[*zoidc.IDTokenClaims], state string, _ rp.RelyingParty, info *zoidc.UserInfo) {
			app.mu.Lock()
			app.tokens, app.info = tokens, info
			app.mu.Unlock()
			fmt.Fprintf(w, "signed in as %s", info.Email)
		}), app.rp))
	mux.HandleFunc("GET /ledger/logout", func(w http.ResponseWriter, r *http.Request) {
		app.mu.Lock()
		idToken := app.tokens.IDToken
		app.mu.Unlock()
		next, err := rp.EndSession(r.Context(), app.rp, idToken, app.base+"/ledger/signed-out", "ledger-bye", "", nil)
		if err != nil {
			http.Error(w, "end session: "+err.Error(), http.StatusBadGateway)
			return
		}
		http.Redirect(w, r, next.String(), http.StatusFound)
	})
	mux.HandleFunc("GET /ledger/signed-out", func(w http.ResponseWriter, r *http.Request) {
		app.mu.Lock()
		app.byeStates = append(app.byeStates, r.URL.Query().Get("state"))
		app.mu.Unlock()
		io.WriteString(w, "signed out")
	})
	srv.Config.Handler = mux
	srv.Start()
	t.Cleanup(srv.Close)
	return app
}

// TestInteropZitadelRP drives the OP with github.com/zitadel/oidc/v3's
// relying party, on both dialects.
func TestInteropZitadelRP(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { interopZitadelJourney(t, "") })
	t.Run("postgres", func(t *testing.T) { interopZitadelJourney(t, interopPostgres(t)) })
}

func interopZitadelJourney(t *testing.T, databaseURL string) {
	h := newHarness(t, databaseURL, withLedgerApp)
	h.user(testidp.Generic, testidp.User{Subject: "linus", Email: "linus@example.com", EmailVerified: true, Name: "Linus Pauling"})
	app := startLedgerApp(t, h)
	ctx := context.Background()
	b := h.browser()

	// Sign-in: the browser goes from the app to Sallyport, the upstream,
	// Sallyport's callback and back to the app, which exchanges the code
	// (PKCE), verifies the ID token and calls userinfo.
	r := h.interopGet(b, app.base+"/ledger/login")
	if r.status != http.StatusOK || r.url.Path != "/ledger/callback" || r.body != "signed in as linus@example.com" {
		t.Fatalf("sign-in ended at %s with %d: %.300s", r.url, r.status, r.body)
	}
	app.mu.Lock()
	tokens, info := app.tokens, app.info
	app.mu.Unlock()
	idc := tokens.IDTokenClaims
	if idc.Issuer != h.ts.URL || !slices.Equal([]string(idc.Audience), []string{ledgerID}) || idc.Subject == "" ||
		idc.Email != "linus@example.com" || !bool(idc.EmailVerified) || idc.Name != "Linus Pauling" || idc.AuthTime.AsTime().IsZero() {
		t.Errorf("ID token claims: %+v", idc)
	}
	if info.Subject != idc.Subject || info.Name != "Linus Pauling" {
		t.Errorf("userinfo: %+v", info)
	}
	if tokens.RefreshToken == "" {
		t.Fatal("no refresh token with offline_access")
	}

	// Refresh: a verified ID token for the same person and sign-in.
	fresh, err := rp.RefreshTokens[*zoidc.IDTokenClaims](ctx, app.rp, tokens.RefreshToken, "", "")
	if err != nil {
		t.Fatalf("rp.RefreshTokens: %v", err)
	}
	if fresh.IDTokenClaims == nil || fresh.IDTokenClaims.Subject != idc.Subject || !fresh.IDTokenClaims.AuthTime.AsTime().Equal(idc.AuthTime.AsTime()) ||
		fresh.RefreshToken == tokens.RefreshToken || fresh.AccessToken == tokens.AccessToken {
		t.Errorf("refresh: %+v", fresh)
	}
	ui, err := rp.Userinfo[*zoidc.UserInfo](ctx, fresh.AccessToken, fresh.TokenType, idc.Subject, app.rp)
	if err != nil || ui.Email != "linus@example.com" {
		t.Errorf("rp.Userinfo with the refreshed token: %+v, %v", ui, err)
	}

	// Revocation (RFC 7009) of the refresh token ends the grant.
	if err := rp.RevokeToken(ctx, app.rp, fresh.RefreshToken, "refresh_token"); err != nil {
		t.Errorf("rp.RevokeToken: %v", err)
	}
	if _, err := rp.RefreshTokens[*zoidc.IDTokenClaims](ctx, app.rp, fresh.RefreshToken, "", ""); err == nil {
		t.Error("a revoked refresh token still refreshes")
	}
	if _, err := rp.Userinfo[*zoidc.UserInfo](ctx, fresh.AccessToken, fresh.TokenType, idc.Subject, app.rp); err == nil {
		t.Error("userinfo accepted an access token of a revoked grant")
	}

	// Sign-out: the app's server asks the end_session_endpoint (a POST
	// from the server, without the browser's cookies) and sends the
	// browser where the OP answered. Sallyport's session must end and the
	// browser must land on the app's registered page with its state.
	r = h.interopGet(b, app.base+"/ledger/logout")
	if r.status != http.StatusOK || r.url.Path != "/ledger/signed-out" || r.url.Query().Get("state") != "ledger-bye" {
		t.Fatalf("sign-out ended at %s with %d: %.300s", r.url, r.status, r.body)
	}
	if r := h.get(b, "/account"); r.url.Path != "/login" {
		t.Errorf("after the app's sign-out /account ended at %s: Sallyport's session survived", r.url)
	}
}

// interopGet fetches an absolute URL in the browser, following every
// redirect, and returns where it ended.
func (h *harness) interopGet(c *http.Client, target string) result {
	h.t.Helper()
	resp, err := c.Get(target)
	if err != nil {
		h.t.Fatalf("GET %s: %v", target, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return result{status: resp.StatusCode, url: resp.Request.URL, body: string(body)}
}
