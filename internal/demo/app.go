package demo

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// The demo app's cookies. They are host-only and carry no Domain, so they
// stay on 127.0.0.1; the app never reads Sallyport's cookies, which the
// browser also sends here because cookies ignore the port.
const (
	appCookie    = "sallyport_demo_app"    // the app's session id
	logoutCookie = "sallyport_demo_logout" // the state of an RP-initiated logout
)

// loginTTL bounds how long a started sign-in may take to come back.
const loginTTL = 10 * time.Minute

// appConfig configures newApp.
type appConfig struct {
	// Issuer is Sallyport's issuer; the app discovers everything else.
	Issuer       string
	ClientID     string
	ClientSecret string
	// URL is the app's own base URL, without a trailing slash; its
	// callback is URL+"/callback" and Sallyport sends people back to
	// URL+"/" after logout.
	URL string
	// HTTPClient reaches Sallyport; nil is a plain client.
	HTTPClient *http.Client
	Now        func() time.Time
	Logger     *slog.Logger
}

// app is the demo app: a small web app that signs people in through
// Sallyport with OpenID Connect, as any third-party app would, using only
// go-oidc and x/oauth2 (see doc.go for its states).
type app struct {
	cfg     appConfig
	log     *slog.Logger
	handler http.Handler

	discoverMu sync.Mutex // serialises discovery; guards rp
	rp         *relyingParty

	mu       sync.Mutex // guards sessions
	sessions map[string]*appSession
}

// relyingParty is what discovery taught the app about Sallyport.
type relyingParty struct {
	provider   *oidc.Provider
	oauth      oauth2.Config
	verifier   *oidc.IDTokenVerifier
	endSession string // end_session_endpoint; empty: only a local logout
	revocation string // revocation_endpoint; empty: tokens are not revoked at logout
}

// appSession is one browser's state in the app: a sign-in under way, or a
// signed-in person with their tokens.
type appSession struct {
	// A sign-in under way: what the callback must find again.
	state, nonce, verifier string
	started                time.Time

	// Signed in.
	token     *oauth2.Token
	rawID     string
	claims    map[string]any
	userinfo  map[string]any
	refreshed time.Time
	// notice is shown once on the next page (post/redirect/get).
	notice string
}

func (s *appSession) signedIn() bool { return s.token != nil }

//go:embed templates/app.html
var templateFS embed.FS

var appPages = template.Must(template.New("").Funcs(template.FuncMap{
	"claimValue": claimValue,
}).ParseFS(templateFS, "templates/app.html"))

func newApp(cfg appConfig) *app {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	a := &app{cfg: cfg, log: cfg.Logger, sessions: make(map[string]*appSession)}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.handleHome)
	mux.HandleFunc("GET /login", a.handleLogin)
	mux.HandleFunc("GET /callback", a.handleCallback)
	mux.HandleFunc("POST /refresh", a.handleRefresh)
	mux.HandleFunc("POST /logout", a.handleLogout)
	// The app's own forms post same-origin; a cross-site POST is refused.
	a.handler = http.NewCrossOriginProtection().Handler(mux)
	return a
}

// ServeHTTP serves the app.
func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.handler.ServeHTTP(w, r) }

// discover fetches Sallyport's discovery document once it answers; a
// failure is retried on the next request, so the app keeps working if it
// came up before Sallyport did.
func (a *app) discover(ctx context.Context) (*relyingParty, error) {
	a.discoverMu.Lock()
	defer a.discoverMu.Unlock()
	if a.rp != nil {
		return a.rp, nil
	}
	ctx = oidc.ClientContext(ctx, a.cfg.HTTPClient)
	provider, err := oidc.NewProvider(ctx, a.cfg.Issuer)
	if err != nil {
		return nil, err
	}
	var extra struct {
		EndSession string `json:"end_session_endpoint"`
		Revocation string `json:"revocation_endpoint"`
	}
	if err := provider.Claims(&extra); err != nil {
		return nil, err
	}
	a.rp = &relyingParty{
		provider: provider,
		oauth: oauth2.Config{
			ClientID:     a.cfg.ClientID,
			ClientSecret: a.cfg.ClientSecret,
			Endpoint:     provider.Endpoint(),
			RedirectURL:  a.cfg.URL + "/callback",
			Scopes:       []string{oidc.ScopeOpenID, "profile", "email", oidc.ScopeOfflineAccess},
		},
		verifier: provider.VerifierContext(oidc.ClientContext(context.Background(), a.cfg.HTTPClient),
			&oidc.Config{ClientID: a.cfg.ClientID, Now: a.cfg.Now}),
		endSession: extra.EndSession,
		revocation: extra.Revocation,
	}
	return a.rp, nil
}

// session returns the browser's session and its id, or nil.
func (a *app) session(r *http.Request) (string, *appSession) {
	c, err := r.Cookie(appCookie)
	if err != nil {
		return "", nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return c.Value, a.sessions[c.Value]
}

// newSession stores s under a fresh id and gives the browser its cookie;
// oldID, if any, is forgotten, so every sign-in gets a new session id.
func (a *app) newSession(w http.ResponseWriter, oldID string, s *appSession) {
	id := randomString()
	a.mu.Lock()
	delete(a.sessions, oldID)
	// Sign-ins nobody finished are dropped here rather than by a timer.
	for k, v := range a.sessions {
		if !v.signedIn() && a.cfg.Now().Sub(v.started) > loginTTL {
			delete(a.sessions, k)
		}
	}
	a.sessions[id] = s
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: appCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

func (a *app) endSession(w http.ResponseWriter, id string) {
	a.mu.Lock()
	delete(a.sessions, id)
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: appCookie, Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// homeData is what the home page shows.
type homeData struct {
	Issuer   string
	Notice   string
	SignedIn bool
	Name     string
	Email    string
	IDToken  []claim
	UserInfo []claim
	// Tokens.
	AccessExpiry string
	HasRefresh   bool
	Refreshed    string
}

// claim is one row of a claims table.
type claim struct {
	Name  string
	Value any
}

func (a *app) handleHome(w http.ResponseWriter, r *http.Request) {
	d := homeData{Issuer: a.cfg.Issuer}
	if st := r.URL.Query().Get("state"); st != "" {
		// Back from Sallyport's logout: the state proves it is the logout
		// this browser started, not a link someone sent.
		if c, err := r.Cookie(logoutCookie); err == nil && subtle.ConstantTimeCompare([]byte(c.Value), []byte(st)) == 1 {
			d.Notice = "You are signed out of the demo app and of Sallyport."
		}
		http.SetCookie(w, &http.Cookie{Name: logoutCookie, Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	}
	_, s := a.session(r)
	if s != nil && s.signedIn() {
		a.mu.Lock()
		d.Notice, s.notice = s.notice, ""
		d.SignedIn = true
		d.Name, _ = s.claims["name"].(string)
		d.Email, _ = s.claims["email"].(string)
		d.IDToken = sortedClaims(s.claims)
		d.UserInfo = sortedClaims(s.userinfo)
		if !s.token.Expiry.IsZero() {
			d.AccessExpiry = s.token.Expiry.UTC().Format("15:04:05 UTC")
		}
		d.HasRefresh = s.token.RefreshToken != ""
		if !s.refreshed.IsZero() {
			d.Refreshed = s.refreshed.UTC().Format("15:04:05 UTC")
		}
		a.mu.Unlock()
	}
	a.render(w, http.StatusOK, "home", d)
}

// handleLogin starts a sign-in: state, nonce and a PKCE verifier are kept
// in a new session bound to this browser by its cookie, and the browser
// goes to Sallyport's authorization endpoint.
func (a *app) handleLogin(w http.ResponseWriter, r *http.Request) {
	rp, err := a.discover(r.Context())
	if err != nil {
		a.log.Error("demo app: discovery failed", "issuer", a.cfg.Issuer, "err", err)
		a.problem(w, http.StatusBadGateway, "Sallyport could not be reached", "The demo app could not read Sallyport's discovery document at "+a.cfg.Issuer+". Check that Sallyport is running, then start again.")
		return
	}
	oldID, _ := a.session(r)
	s := &appSession{state: randomString(), nonce: randomString(), verifier: oauth2.GenerateVerifier(), started: a.cfg.Now()}
	a.newSession(w, oldID, s)
	http.Redirect(w, r, rp.oauth.AuthCodeURL(s.state, oidc.Nonce(s.nonce), oauth2.S256ChallengeOption(s.verifier)), http.StatusFound)
}

// handleCallback finishes a sign-in: the state must be the one this
// browser's session holds; then the code is exchanged (with the PKCE
// verifier), the ID token verified and its nonce checked, and userinfo
// fetched with the access token.
func (a *app) handleCallback(w http.ResponseWriter, r *http.Request) {
	id, s := a.session(r)
	q := r.URL.Query()
	if s == nil || s.state == "" || a.cfg.Now().Sub(s.started) > loginTTL ||
		subtle.ConstantTimeCompare([]byte(s.state), []byte(q.Get("state"))) != 1 {
		a.problem(w, http.StatusBadRequest, "This sign-in has expired", "The demo app did not start this sign-in in this browser, or it took longer than ten minutes. Start again from the demo app.")
		return
	}
	a.mu.Lock()
	nonce, verifier := s.nonce, s.verifier
	s.state = "" // single use, whatever happens next
	a.mu.Unlock()
	if e := q.Get("error"); e != "" {
		msg := "Sallyport answered " + e
		if desc := q.Get("error_description"); desc != "" {
			msg += ": " + desc
		}
		a.problem(w, http.StatusOK, "Sign-in did not finish", msg+". Start again from the demo app.")
		return
	}
	rp, err := a.discover(r.Context())
	if err != nil {
		a.problem(w, http.StatusBadGateway, "Sallyport could not be reached", "The demo app could not read Sallyport's discovery document. Check that Sallyport is running, then start again.")
		return
	}
	ctx := oidc.ClientContext(r.Context(), a.cfg.HTTPClient)
	tok, err := rp.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		a.log.Error("demo app: code exchange failed", "err", err)
		a.problem(w, http.StatusBadGateway, "Sign-in did not finish", "Sallyport refused to exchange the sign-in code for tokens. Start again from the demo app.")
		return
	}
	rawID, idt, claims, err := a.verifyIDToken(ctx, rp, tok)
	if err == nil && idt.Nonce != nonce {
		err = errors.New("the ID token's nonce is not the one this sign-in sent")
	}
	if err != nil {
		a.log.Error("demo app: ID token refused", "err", err)
		a.problem(w, http.StatusBadGateway, "Sign-in did not finish", "The ID token from Sallyport did not pass the demo app's checks. Start again from the demo app.")
		return
	}
	info, err := a.userInfo(ctx, rp, tok, idt.Subject)
	if err != nil {
		a.log.Error("demo app: userinfo failed", "err", err)
		a.problem(w, http.StatusBadGateway, "Sign-in did not finish", "Sallyport's userinfo endpoint did not answer for the new access token. Start again from the demo app.")
		return
	}
	a.newSession(w, id, &appSession{token: tok, rawID: rawID, claims: claims, userinfo: info})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// verifyIDToken checks the ID token in tok: signature against Sallyport's
// published keys, issuer, audience and expiry.
func (a *app) verifyIDToken(ctx context.Context, rp *relyingParty, tok *oauth2.Token) (string, *oidc.IDToken, map[string]any, error) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return "", nil, nil, errors.New("the token response has no id_token")
	}
	idt, err := rp.verifier.Verify(ctx, raw)
	if err != nil {
		return "", nil, nil, err
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return "", nil, nil, err
	}
	return raw, idt, claims, nil
}

// userInfo fetches the userinfo of tok's user, which must be sub.
func (a *app) userInfo(ctx context.Context, rp *relyingParty, tok *oauth2.Token, sub string) (map[string]any, error) {
	ui, err := rp.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		return nil, err
	}
	if ui.Subject != sub {
		return nil, fmt.Errorf("userinfo is about %q, the ID token about %q", ui.Subject, sub)
	}
	var info map[string]any
	if err := ui.Claims(&info); err != nil {
		return nil, err
	}
	return info, nil
}

// handleRefresh uses the refresh token: Sallyport answers with a new
// access token and a new refresh token (they rotate at every use), and
// usually a new ID token, which must be about the same person.
func (a *app) handleRefresh(w http.ResponseWriter, r *http.Request) {
	_, s := a.session(r)
	if s == nil || !s.signedIn() {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	a.mu.Lock()
	refresh := s.token.RefreshToken
	sub, _ := s.claims["sub"].(string)
	a.mu.Unlock()
	notice := ""
	rp, err := a.discover(r.Context())
	switch {
	case err != nil:
		notice = "Sallyport could not be reached; your tokens are unchanged."
	case refresh == "":
		notice = "Sallyport gave the demo app no refresh token, so it cannot refresh. Sign in again."
	default:
		notice = a.refresh(r.Context(), rp, s, refresh, sub)
	}
	a.mu.Lock()
	s.notice = notice
	a.mu.Unlock()
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// refresh runs the refresh_token grant and stores the result in s; it
// returns the sentence to show.
func (a *app) refresh(ctx context.Context, rp *relyingParty, s *appSession, refresh, sub string) string {
	ctx = oidc.ClientContext(ctx, a.cfg.HTTPClient)
	// A token with only a refresh token counts as expired, so the token
	// source always asks Sallyport.
	tok, err := rp.oauth.TokenSource(ctx, &oauth2.Token{RefreshToken: refresh}).Token()
	if err != nil {
		a.log.Error("demo app: refresh failed", "err", err)
		return "Sallyport refused the refresh token, so your tokens are unchanged. Sign in again."
	}
	var rawID string
	var claims map[string]any
	if raw, _ := tok.Extra("id_token").(string); raw != "" {
		var idt *oidc.IDToken
		rawID, idt, claims, err = a.verifyIDToken(ctx, rp, tok)
		if err == nil && idt.Subject != sub {
			err = fmt.Errorf("the refreshed ID token is about %q, not %q", idt.Subject, sub)
		}
		if err != nil {
			a.log.Error("demo app: refreshed ID token refused", "err", err)
			return "The refreshed ID token did not pass the demo app's checks, so your tokens are unchanged. Sign in again."
		}
	}
	info, err := a.userInfo(ctx, rp, tok, sub)
	if err != nil {
		a.log.Error("demo app: userinfo after refresh failed", "err", err)
		return "Sallyport's userinfo endpoint did not accept the refreshed access token, so your tokens are unchanged."
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	s.token, s.userinfo, s.refreshed = tok, info, a.cfg.Now()
	if rawID != "" {
		s.rawID, s.claims = rawID, claims
	}
	return "Tokens refreshed: a new access token and a new refresh token (the old one no longer works)."
}

// handleLogout forgets the app's session, revokes the refresh token and
// sends the browser to Sallyport's end_session_endpoint (RP-initiated
// logout), which ends the Sallyport session and sends it back here.
func (a *app) handleLogout(w http.ResponseWriter, r *http.Request) {
	id, s := a.session(r)
	if s == nil || !s.signedIn() {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	a.mu.Lock()
	rawID, refresh := s.rawID, s.token.RefreshToken
	a.mu.Unlock()
	a.endSession(w, id)
	rp, err := a.discover(r.Context())
	if err != nil || rp.endSession == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	if refresh != "" && rp.revocation != "" {
		if err := a.revoke(r.Context(), rp, refresh); err != nil {
			a.log.Warn("demo app: revoking the refresh token failed", "err", err)
		}
	}
	state := randomString()
	http.SetCookie(w, &http.Cookie{Name: logoutCookie, Value: state, Path: "/", MaxAge: int(loginTTL / time.Second), HttpOnly: true, SameSite: http.SameSiteLaxMode})
	u, err := url.Parse(rp.endSession)
	if err != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	q := u.Query()
	q.Set("id_token_hint", rawID)
	q.Set("post_logout_redirect_uri", a.cfg.URL+"/")
	q.Set("client_id", a.cfg.ClientID)
	q.Set("state", state)
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// revoke tells Sallyport the refresh token is no longer needed (RFC 7009),
// authenticating as the client.
func (a *app) revoke(ctx context.Context, rp *relyingParty, token string) error {
	form := url.Values{"token": {token}, "token_type_hint": {"refresh_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rp.revocation, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(a.cfg.ClientID), url.QueryEscape(a.cfg.ClientSecret))
	resp, err := a.cfg.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("revocation endpoint answered %s", resp.Status)
	}
	return nil
}

// problemData is a page that says what went wrong and what to do.
type problemData struct {
	Title, Message string
}

func (a *app) problem(w http.ResponseWriter, status int, title, msg string) {
	a.render(w, status, "problem", problemData{title, msg})
}

// render writes a page with headers that keep it out of frames and let it
// load nothing from elsewhere. Its forms may lead to Sallyport (logout
// redirects there), so form-action names Sallyport's origin too.
func (a *app) render(w http.ResponseWriter, status int, name string, data any) {
	var buf strings.Builder
	if err := appPages.ExecuteTemplate(&buf, name, data); err != nil {
		a.log.Error("demo app: page failed", "page", name, "err", err)
		http.Error(w, "The page could not be shown.", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' "+origin(a.cfg.Issuer)+"; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(status)
	io.WriteString(w, buf.String())
}

// origin is the scheme://host[:port] of u.
func origin(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return p.Scheme + "://" + p.Host
}

// sortedClaims lists claims by name.
func sortedClaims(m map[string]any) []claim {
	out := make([]claim, 0, len(m))
	for k, v := range m {
		out = append(out, claim{k, v})
	}
	slices.SortFunc(out, func(a, b claim) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// timeClaims are the claims that hold seconds since 1970.
var timeClaims = map[string]bool{"exp": true, "iat": true, "auth_time": true, "nbf": true, "updated_at": true}

// claimValue renders a claim's value for people: strings as they are,
// times with their date, everything else as JSON.
func claimValue(name string, v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		if timeClaims[name] {
			return fmt.Sprintf("%.0f (%s)", v, time.Unix(int64(v), 0).UTC().Format("2006-01-02 15:04:05 UTC"))
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// randomString is 32 random bytes, base64url: state, nonce and session ids.
func randomString() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}
