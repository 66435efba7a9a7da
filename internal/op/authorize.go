package op

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sallyport/sallyport/internal/audit"
	"github.com/sallyport/sallyport/internal/op/clients"
	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/session"
	"github.com/sallyport/sallyport/internal/store"
)

// authzParams is a validated authorization request. While the person signs
// in it waits server-side as an AuthzRequest's Params, so nothing an app
// asked for travels through the browser again.
type authzParams struct {
	ClientID            string   `json:"client_id"`
	RedirectURI         string   `json:"redirect_uri"`
	State               string   `json:"state,omitempty"`
	Nonce               string   `json:"nonce,omitempty"`
	Scopes              []string `json:"scopes"`
	CodeChallenge       string   `json:"code_challenge,omitempty"`
	CodeChallengeMethod string   `json:"code_challenge_method,omitempty"`
	Prompt              []string `json:"prompt,omitempty"`
	MaxAge              int64    `json:"max_age"` // seconds; -1 when absent
	LoginHint           string   `json:"login_hint,omitempty"`
	Connection          string   `json:"connection,omitempty"`
	// HintSubject is the sub of a valid id_token_hint: an existing
	// session of anyone else does not satisfy the request.
	HintSubject string `json:"hint_subject,omitempty"`
}

func (a *authzParams) prompts(v string) bool { return slices.Contains(a.Prompt, v) }

// Limits on what an app may send; anything longer is refused rather than
// stored. Real apps send a few dozen bytes for each.
const (
	maxStateLen     = 2048
	maxNonceLen     = 512
	maxLoginHintLen = 256
)

// authorizeParamNames are the parameters the authorization endpoint reads.
// Each may appear once (RFC 6749 §3.1); others are ignored.
var authorizeParamNames = []string{
	"client_id", "redirect_uri", "response_type", "response_mode", "scope", "state", "nonce",
	"code_challenge", "code_challenge_method", "prompt", "max_age", "login_hint", "ui_locales",
	"connection", "request", "request_uri", "organization", "id_token_hint",
}

// authzError is a refusal sent back to the app at its redirect URI
// (RFC 6749 §4.1.2.1). It is only ever made after the client and the
// redirect URI have been checked.
type authzError struct {
	oauth       string // the OAuth error code
	description string
	outcome     outcome.Code // what the audit event records
}

func (e *authzError) Error() string { return e.oauth + ": " + e.description }

func invalidAuthz(description string) *authzError {
	return &authzError{oauth: "invalid_request", description: description, outcome: outcome.InvalidRequest}
}

// authorizeValues returns the request's parameters: the query of a GET, the
// form body of a POST (OpenID Connect Core §3.1.2.1 allows both).
func authorizeValues(r *http.Request) (url.Values, error) {
	if r.Method != http.MethodPost {
		return r.URL.Query(), nil
	}
	if err := r.ParseForm(); err != nil {
		return nil, outcome.Wrap(outcome.InvalidRequest, err)
	}
	return r.PostForm, nil
}

// handleAuthorize is the authorization endpoint. An unknown client or a
// redirect URI that is not registered is shown to the person and never
// redirected; any other problem goes back to the app with state and iss.
func (p *Provider) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	values, err := authorizeValues(r)
	if err != nil {
		p.refusePage(w, r, "oauth2.authorize", err)
		return
	}
	if r.Method == http.MethodPost {
		// A form posted from the app's site arrives without the
		// SameSite=Lax session cookie, so the person would look signed
		// out (prompt=none would fail). The same request as a top-level
		// GET carries it; every parameter, repeats included, goes along.
		redirect(w, r, p.issuer+AuthorizePath+"?"+values.Encode())
		return
	}
	client, err := p.checkClient(ctx, values)
	if err != nil {
		p.refuse(r, "oauth2.authorize", outcome.CodeOf(err), values.Get("client_id"), "", err)
		p.pages.WriteError(w, r, err)
		return
	}
	ap, aerr := p.parseAuthorize(ctx, values, client)
	if aerr != nil {
		p.refuse(r, "oauth2.authorize", aerr.outcome, client.ID, "", aerr)
		p.redirectError(w, r, values.Get("redirect_uri"), values.Get("state"), aerr)
		return
	}
	p.authorize(w, r, client, ap)
}

// checkClient finds the client and checks the redirect URI: the two things
// that must hold before anything may be sent to the redirect URI.
func (p *Provider) checkClient(ctx context.Context, values url.Values) (store.Client, error) {
	for _, name := range []string{"client_id", "redirect_uri"} {
		if len(values[name]) > 1 {
			return store.Client{}, outcome.New(outcome.InvalidRequest, "The app sent its sign-in request with "+name+" twice. Go back to the app and try again; if it keeps happening, tell the app's administrator.")
		}
	}
	id := values.Get("client_id")
	if id == "" {
		return store.Client{}, outcome.New(outcome.InvalidRequest, "The app's sign-in request names no app (client_id is missing). Tell the app's administrator.")
	}
	c, err := p.client(ctx, p.store, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && c.Disabled) {
		return store.Client{}, outcome.New(outcome.InvalidClient, "This app is not registered with Sallyport, or it is turned off. Tell the app's administrator.")
	}
	if err != nil {
		return store.Client{}, err
	}
	redirectURI := values.Get("redirect_uri")
	if redirectURI == "" {
		return store.Client{}, outcome.New(outcome.InvalidRequest, "The app's sign-in request does not say where to return (redirect_uri is missing). Tell the app's administrator.")
	}
	if !clients.MatchRedirectURI(c.RedirectURIs, redirectURI) {
		return store.Client{}, outcome.New(outcome.InvalidRequest, "The app asked to return to an address it has not registered, so Sallyport will not send you there. Tell the app's administrator.")
	}
	return c, nil
}

// parseAuthorize validates everything else in the request.
func (p *Provider) parseAuthorize(ctx context.Context, values url.Values, c store.Client) (authzParams, *authzError) {
	for _, name := range authorizeParamNames {
		if len(values[name]) > 1 {
			return authzParams{}, invalidAuthz("the " + name + " parameter appears more than once")
		}
	}
	ap := authzParams{ClientID: c.ID, RedirectURI: values.Get("redirect_uri"), State: values.Get("state"), MaxAge: -1}
	if values.Has("request") {
		return ap, &authzError{oauth: "request_not_supported", description: "request objects are not supported", outcome: outcome.InvalidRequest}
	}
	if values.Has("request_uri") {
		return ap, &authzError{oauth: "request_uri_not_supported", description: "request_uri is not supported", outcome: outcome.InvalidRequest}
	}
	switch rt := values.Get("response_type"); rt {
	case "code":
	case "":
		return ap, invalidAuthz("response_type is missing")
	default:
		return ap, &authzError{oauth: "unsupported_response_type", description: "only response_type=code is supported", outcome: outcome.InvalidRequest}
	}
	if rm := values.Get("response_mode"); rm != "" && rm != "query" {
		return ap, invalidAuthz("only response_mode=query is supported")
	}
	if len(ap.State) > maxStateLen {
		return ap, invalidAuthz("state is too long")
	}
	scopes := strings.Fields(values.Get("scope"))
	if !slices.Contains(scopes, "openid") {
		return ap, &authzError{oauth: "invalid_scope", description: "the openid scope is required", outcome: outcome.InvalidRequest}
	}
	for _, s := range supportedScopes { // unknown scopes are ignored; the order is canonical
		if slices.Contains(scopes, s) {
			ap.Scopes = append(ap.Scopes, s)
		}
	}
	if ap.Nonce = values.Get("nonce"); len(ap.Nonce) > maxNonceLen {
		return ap, invalidAuthz("nonce is too long")
	}

	ap.CodeChallenge, ap.CodeChallengeMethod = values.Get("code_challenge"), values.Get("code_challenge_method")
	switch {
	case ap.CodeChallenge == "" && ap.CodeChallengeMethod != "":
		return ap, invalidAuthz("code_challenge_method without code_challenge")
	case ap.CodeChallenge == "" && c.Public:
		return ap, invalidAuthz("this app must use PKCE: code_challenge with code_challenge_method=S256")
	case ap.CodeChallenge != "" && ap.CodeChallengeMethod != "S256":
		// An absent method means "plain" (RFC 7636 §4.3), which is no
		// protection against a stolen code: never downgrade.
		return ap, invalidAuthz("code_challenge_method must be S256")
	case ap.CodeChallenge != "" && !validChallenge(ap.CodeChallenge):
		return ap, invalidAuthz("code_challenge is malformed")
	}

	if prompt := values.Get("prompt"); prompt != "" {
		ap.Prompt = strings.Fields(prompt)
		for _, v := range ap.Prompt {
			if !slices.Contains([]string{"none", "login", "consent", "select_account"}, v) {
				return ap, invalidAuthz("unsupported prompt value '" + v + "'")
			}
		}
		if ap.prompts("none") && len(ap.Prompt) > 1 {
			return ap, invalidAuthz("prompt=none cannot be combined with other values")
		}
	}
	if v := values.Get("max_age"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return ap, invalidAuthz("max_age must be a non-negative number of seconds")
		}
		ap.MaxAge = n
	}
	if ap.LoginHint = values.Get("login_hint"); len(ap.LoginHint) > maxLoginHintLen {
		return ap, invalidAuthz("login_hint is too long")
	}
	if hint := values.Get("id_token_hint"); hint != "" {
		hc, err := p.verifyHint(ctx, hint)
		if err != nil || !slices.Contains(hc.Audience, c.ID) {
			return ap, invalidAuthz("id_token_hint is not an ID token Sallyport issued to this app")
		}
		ap.HintSubject = hc.Subject
	}
	if ap.Connection = values.Get("connection"); ap.Connection != "" {
		if !connectionAllowed(c, ap.Connection) {
			return ap, &authzError{oauth: "access_denied", description: "this app may not use the connection '" + ap.Connection + "'", outcome: outcome.NotAllowed}
		}
		slugs, err := p.upstream.ConnectionSlugs(ctx)
		if err != nil {
			return ap, &authzError{oauth: "server_error", description: "sign-in methods are unavailable", outcome: outcome.Internal}
		}
		if !slices.Contains(slugs, ap.Connection) {
			return ap, invalidAuthz("no active connection is named '" + ap.Connection + "'")
		}
	}
	return ap, nil
}

// validChallenge checks RFC 7636 §4.2: 43 to 128 characters of the
// unreserved set. An S256 challenge is exactly 43.
func validChallenge(s string) bool {
	if len(s) < 43 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// connectionAllowed reports whether the client may sign people in through
// the connection slug.
func connectionAllowed(c store.Client, slug string) bool {
	return len(c.AllowedConnections) == 0 || slices.Contains(c.AllowedConnections, slug)
}

// signedIn is the browser's live session with its active user.
type signedIn struct {
	sess     store.Session
	user     store.User
	connSlug string // the session's connection; "" for a password session
}

// currentUser returns the browser's session, or ok=false when there is none
// or its user can no longer sign in.
func (p *Provider) currentUser(ctx context.Context, r *http.Request) (signedIn, bool, error) {
	sess, err := p.sessions.Current(r)
	if errors.Is(err, session.ErrNoSession) {
		return signedIn{}, false, nil
	}
	if err != nil {
		return signedIn{}, false, err
	}
	u, err := p.store.GetUser(ctx, sess.UserID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.Status != store.UserActive) {
		return signedIn{}, false, nil
	}
	if err != nil {
		return signedIn{}, false, err
	}
	si := signedIn{sess: sess, user: u}
	if si.connSlug, err = p.connectionSlug(ctx, p.store, sess.ConnectionID); err != nil {
		return signedIn{}, false, err
	}
	return si, true, nil
}

// satisfies reports whether a session is good enough for the request:
// prompt=login and max_age ask for a sign-in newer than the request (a
// session started after notBefore always is), connection= for that
// connection, and the client's allowed connections for one of them.
func (p *Provider) satisfies(ap authzParams, c store.Client, sess store.Session, connSlug string, notBefore time.Time) bool {
	fresh := !notBefore.IsZero() && !sess.CreatedAt.Before(notBefore)
	if !fresh {
		if ap.prompts("login") {
			return false
		}
		if ap.MaxAge >= 0 && p.now().Sub(sess.CreatedAt) > time.Duration(ap.MaxAge)*time.Second {
			return false
		}
		if ap.HintSubject != "" && sess.UserID != ap.HintSubject {
			return false // the app expects someone else (OpenID Connect Core §3.1.2.1)
		}
	}
	if ap.Connection != "" && connSlug != ap.Connection {
		return false
	}
	return len(c.AllowedConnections) == 0 || slices.Contains(c.AllowedConnections, connSlug)
}

// needsConsent reports whether the person must first allow the app: never
// for a first-party app (skip_consent), always when the app asks with
// prompt=consent, otherwise unless a remembered consent covers the scopes.
func needsConsent(ctx context.Context, q store.Queries, c store.Client, ap authzParams, userID string) (bool, error) {
	if ap.prompts("consent") {
		return true, nil
	}
	if c.SkipConsent {
		return false, nil
	}
	given, err := q.GetConsent(ctx, userID, c.ID)
	if errors.Is(err, store.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	for _, s := range ap.Scopes {
		if !slices.Contains(given.Scopes, s) {
			return true, nil
		}
	}
	return false, nil
}

// authorize decides a validated request: a code at once when the browser's
// session satisfies it and consent is given; otherwise the request waits
// server-side while the person signs in or consents.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request, c store.Client, ap authzParams) {
	ctx := r.Context()
	si, ok, err := p.currentUser(ctx, r)
	if err != nil {
		p.pages.WriteError(w, r, err)
		return
	}
	if ok && p.satisfies(ap, c, si.sess, si.connSlug, time.Time{}) {
		consent, err := needsConsent(ctx, p.store, c, ap, si.user.ID)
		if err != nil {
			p.pages.WriteError(w, r, err)
			return
		}
		switch {
		case consent && ap.prompts("none"):
			p.refuseToApp(w, r, ap, &authzError{oauth: "consent_required", description: "the person has not allowed this app", outcome: outcome.ConsentRequired})
		case consent:
			pending, err := p.newPending(ap)
			if err == nil {
				err = p.store.CreateAuthzRequest(ctx, &pending)
			}
			if err != nil {
				p.pages.WriteError(w, r, err)
				return
			}
			p.redirectLocal(w, r, ConsentPath, pending.ID)
		default:
			var target *url.URL
			err := p.store.Tx(ctx, func(q store.Queries) error {
				var err error
				target, err = p.issueCode(ctx, q, r, c, ap, si.sess)
				return err
			})
			if err != nil {
				p.pages.WriteError(w, r, err)
				return
			}
			redirect(w, r, target.String())
		}
		return
	}
	if ap.prompts("none") {
		p.refuseToApp(w, r, ap, &authzError{oauth: "login_required", description: "the person is not signed in", outcome: outcome.LoginRequired})
		return
	}
	p.handOver(w, r, c, ap)
}

// handOver sends a person without a suitable session to sign in, keeping
// the request server-side. With connection= or a single sign-in method for
// this app it goes straight to the upstream, storing the request with the
// login flow in one transaction; otherwise to the chooser.
func (p *Provider) handOver(w http.ResponseWriter, r *http.Request, c store.Client, ap authzParams) {
	ctx := r.Context()
	pending, err := p.newPending(ap)
	if err != nil {
		p.pages.WriteError(w, r, err)
		return
	}
	slug := ap.Connection
	if slug == "" {
		slugs, err := p.upstream.ConnectionSlugs(ctx)
		if err != nil {
			p.pages.WriteError(w, r, err)
			return
		}
		slugs = slices.DeleteFunc(slugs, func(s string) bool { return !connectionAllowed(c, s) })
		switch len(slugs) {
		case 0:
			p.refuseToApp(w, r, ap, &authzError{oauth: "temporarily_unavailable", description: "no sign-in method is available for this app", outcome: outcome.NotAllowed})
			return
		case 1:
			if !ap.prompts("select_account") {
				slug = slugs[0]
			}
		}
	}
	if slug == "" {
		if err := p.store.CreateAuthzRequest(ctx, &pending); err != nil {
			p.pages.WriteError(w, r, err)
			return
		}
		p.redirectLocal(w, r, "/login", pending.ID)
		return
	}
	// Sallyport's auth_time is when its own session started; an upstream
	// with a session of its own would sign the person in silently, so a
	// request that bounds the age of the sign-in asks the upstream to
	// authenticate again.
	prompt := ""
	if ap.prompts("login") || ap.MaxAge >= 0 {
		prompt = "login"
	}
	target, err := p.upstream.BeginForRequest(w, r, slug, &pending, ap.LoginHint, prompt)
	if err != nil {
		p.pages.WriteError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	redirect(w, r, target)
}

// newPending wraps a validated request for the store.
func (p *Provider) newPending(ap authzParams) (store.AuthzRequest, error) {
	params, err := json.Marshal(ap)
	if err != nil {
		return store.AuthzRequest{}, fmt.Errorf("op: encode pending request: %w", err)
	}
	now := p.nowMS()
	return store.AuthzRequest{ID: randomToken(), ClientID: ap.ClientID, Params: params, CreatedAt: now, ExpiresAt: now.Add(PendingTTL)}, nil
}

// errPendingGone is what a person sees when the request they were signing
// in for has expired, was finished in another tab, or never existed.
var errPendingGone = outcome.New(outcome.InvalidGrant, "This sign-in request has expired or was already completed. Go back to the app and sign in again.")

// loadPending reads a pending request with its client. A disabled client's
// requests are gone too.
func (p *Provider) loadPending(ctx context.Context, q store.Queries, id string, now time.Time) (store.AuthzRequest, authzParams, store.Client, error) {
	if id == "" {
		return store.AuthzRequest{}, authzParams{}, store.Client{}, errPendingGone
	}
	req, err := q.GetAuthzRequest(ctx, id, now)
	if errors.Is(err, store.ErrNotFound) {
		return req, authzParams{}, store.Client{}, errPendingGone
	}
	if err != nil {
		return req, authzParams{}, store.Client{}, err
	}
	var ap authzParams
	if err := json.Unmarshal(req.Params, &ap); err != nil {
		return req, ap, store.Client{}, fmt.Errorf("op: decode pending request %s: %w", id, err)
	}
	c, err := p.client(ctx, q, req.ClientID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && c.Disabled) {
		return req, ap, c, errPendingGone
	}
	return req, ap, c, err
}

// resumable is a pending request with the session that may finish it.
type resumable struct {
	id     string
	ap     authzParams
	client store.Client
	si     signedIn
}

// resume loads the pending request id for the browser's session. When the
// request is gone it shows why; when the session does not satisfy it (or
// there is none) it sends the person to sign in for it. Either way it
// answers and returns false.
func (p *Provider) resume(w http.ResponseWriter, r *http.Request, id string) (resumable, bool) {
	ctx := r.Context()
	req, ap, c, err := p.loadPending(ctx, p.store, id, p.now())
	if err != nil {
		p.refusePage(w, r, "oauth2.authorize", err)
		return resumable{}, false
	}
	si, ok, err := p.currentUser(ctx, r)
	if err != nil {
		p.pages.WriteError(w, r, err)
		return resumable{}, false
	}
	if !ok || !p.satisfies(ap, c, si.sess, si.connSlug, req.CreatedAt) {
		p.redirectLocal(w, r, "/login", id)
		return resumable{}, false
	}
	return resumable{id: id, ap: ap, client: c, si: si}, true
}

// handleResume continues a pending request after the person signed in.
func (p *Provider) handleResume(w http.ResponseWriter, r *http.Request) {
	rs, ok := p.resume(w, r, r.URL.Query().Get("request"))
	if !ok {
		return
	}
	consent, err := needsConsent(r.Context(), p.store, rs.client, rs.ap, rs.si.user.ID)
	if err != nil {
		p.pages.WriteError(w, r, err)
		return
	}
	if consent {
		p.redirectLocal(w, r, ConsentPath, rs.id)
		return
	}
	p.finishPending(w, r, rs.id, rs.client, rs.ap, rs.si.sess, nil)
}

// finishPending consumes the pending request and issues its code in one
// transaction; also runs extra (a consent to remember) in it.
func (p *Provider) finishPending(w http.ResponseWriter, r *http.Request, id string, c store.Client, ap authzParams, sess store.Session, extra func(q store.Queries) error) {
	ctx := r.Context()
	var target *url.URL
	err := p.store.Tx(ctx, func(q store.Queries) error {
		if _, err := q.ConsumeAuthzRequest(ctx, id, p.now()); err != nil {
			if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConsumed) {
				return errPendingGone
			}
			return err
		}
		if extra != nil {
			if err := extra(q); err != nil {
				return err
			}
		}
		var err error
		target, err = p.issueCode(ctx, q, r, c, ap, sess)
		return err
	})
	if err != nil {
		p.refusePage(w, r, "oauth2.authorize", err)
		return
	}
	redirect(w, r, target.String())
}

// Complete finishes the pending request id inside the transaction that
// signed the person in through connSlug, when nothing else is needed: the
// app gets its code without another round trip. It returns nil, leaving
// the request pending, when the person must still consent or the request
// cannot be completed here; the browser then goes to [Provider.ResumePath],
// which explains or asks. Only store failures are errors.
func (p *Provider) Complete(ctx context.Context, q store.Queries, id string, sess store.Session, connSlug string) (*url.URL, error) {
	req, ap, c, err := p.loadPending(ctx, q, id, p.now())
	if errors.Is(err, errPendingGone) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !p.satisfies(ap, c, sess, connSlug, req.CreatedAt) {
		return nil, nil
	}
	consent, err := needsConsent(ctx, q, c, ap, sess.UserID)
	if err != nil || consent {
		return nil, err
	}
	if _, err := q.ConsumeAuthzRequest(ctx, id, p.now()); err != nil {
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConsumed) {
			return nil, nil
		}
		return nil, err
	}
	return p.issueCode(ctx, q, nil, c, ap, sess)
}

// PendingPath is where a browser resumes the pending request id after
// signing in.
func (p *Provider) PendingPath(id string) string {
	return ResumePath + "?" + url.Values{"request": {id}}.Encode()
}

// Pending tells the sign-in pages what a pending request allows: the
// login_hint to pass upstream and the connections the app may use (empty:
// all). A missing or expired request is an outcome error.
func (p *Provider) Pending(ctx context.Context, id string) (loginHint string, allowed []string, err error) {
	_, ap, c, err := p.loadPending(ctx, p.store, id, p.now())
	if err != nil {
		return "", nil, err
	}
	allowed = c.AllowedConnections
	if ap.Connection != "" {
		allowed = []string{ap.Connection}
	}
	return ap.LoginHint, allowed, nil
}

// issueCode stores a code for the session and returns the app's redirect
// with code, state and iss. r may be nil (inside a callback, the sign-in's
// own audit event carries the request's address).
func (p *Provider) issueCode(ctx context.Context, q store.Queries, r *http.Request, c store.Client, ap authzParams, sess store.Session) (*url.URL, error) {
	code := randomToken()
	now := p.nowMS()
	ac := store.AuthCode{
		CodeHash: store.HashToken(code),
		Grant: store.Grant{
			GrantID: p.newID(), ClientID: c.ID, UserID: sess.UserID, SessionID: sess.IDHash, IdentityID: sess.IdentityID,
			ConnectionID: sess.ConnectionID, OrgID: sess.OrgID, Scopes: ap.Scopes, Nonce: ap.Nonce, AuthTime: sess.CreatedAt, AMR: sess.AMR,
		},
		RedirectURI: ap.RedirectURI, CodeChallenge: ap.CodeChallenge, CodeChallengeMethod: ap.CodeChallengeMethod,
		CreatedAt: now, ExpiresAt: now.Add(CodeTTL),
	}
	if err := q.CreateAuthCode(ctx, &ac); err != nil {
		return nil, fmt.Errorf("op: store code: %w", err)
	}
	ev := audit.Event{Type: "oauth2.authorize", Outcome: outcome.Authorized, ActorID: sess.UserID, UserID: sess.UserID,
		OrgID: sess.OrgID, ConnectionID: sess.ConnectionID, Detail: map[string]any{"client_id": c.ID, "grant_id": ac.Grant.GrantID, "scopes": ap.Scopes}}
	if r != nil {
		ev.IP, ev.UserAgent = p.audit.ClientIP(r), r.UserAgent()
	}
	if err := p.audit.Record(ctx, q, ev); err != nil {
		return nil, err
	}
	return p.appRedirect(ap.RedirectURI, url.Values{"code": {code}}, ap.State)
}

// appRedirect adds params, state and iss (RFC 9207) to the app's
// registered redirect URI, keeping any query it was registered with.
func (p *Provider) appRedirect(redirectURI string, params url.Values, state string) (*url.URL, error) {
	u, err := url.Parse(redirectURI)
	if err != nil {
		return nil, fmt.Errorf("op: registered redirect URI %q: %w", redirectURI, err)
	}
	q := u.Query()
	for k, vs := range params {
		q[k] = vs
	}
	if state != "" {
		q.Set("state", state)
	}
	q.Set("iss", p.issuer)
	u.RawQuery = q.Encode()
	u.Fragment = ""
	return u, nil
}

// redirectError sends an authorization error to the app's redirect URI,
// which checkClient has matched against the registration.
func (p *Provider) redirectError(w http.ResponseWriter, r *http.Request, redirectURI, state string, e *authzError) {
	params := url.Values{"error": {e.oauth}}
	if e.description != "" {
		params.Set("error_description", oauthDescription(e.description))
	}
	target, err := p.appRedirect(redirectURI, params, state)
	if err != nil {
		p.pages.WriteError(w, r, err)
		return
	}
	redirect(w, r, target.String())
}

// refuseToApp audits a refusal of a validated request and sends it to the
// app.
func (p *Provider) refuseToApp(w http.ResponseWriter, r *http.Request, ap authzParams, e *authzError) {
	p.refuse(r, "oauth2.authorize", e.outcome, ap.ClientID, "", e)
	p.redirectError(w, r, ap.RedirectURI, ap.State, e)
}

// refuse writes the audit event of a refusal in its own transaction.
func (p *Provider) refuse(r *http.Request, typ string, code outcome.Code, clientID, userID string, cause error) {
	if !code.Known() || code.Success() {
		code = outcome.Internal
	}
	detail := map[string]any{}
	if clientID != "" {
		detail["client_id"] = audit.Clip(clientID, 200)
	}
	if cause != nil {
		detail["reason"] = audit.Clip(cause.Error(), 300)
	}
	err := p.audit.RecordAlone(r.Context(), p.store, audit.Event{Type: typ, Outcome: code, UserID: userID, IP: p.audit.ClientIP(r), UserAgent: r.UserAgent(), Detail: detail})
	if err != nil {
		p.log.Error("writing the audit event of a refusal failed", "type", typ, "outcome", code, "err", err)
	}
}

// refusePage shows err as a page. A refusal someone else caused (any
// outcome but internal) is audited first; our own failures are logged
// where the page is written.
func (p *Provider) refusePage(w http.ResponseWriter, r *http.Request, typ string, err error) {
	if code := outcome.CodeOf(err); code != outcome.Internal {
		p.refuse(r, typ, code, "", "", err)
	}
	p.pages.WriteError(w, r, err)
}

// redirectLocal sends the browser to one of our own pages for a pending
// request.
func (p *Provider) redirectLocal(w http.ResponseWriter, r *http.Request, path, requestID string) {
	w.Header().Set("Cache-Control", "no-store")
	redirect(w, r, path+"?"+url.Values{"request": {requestID}}.Encode())
}

// redirect answers 303 See Other: after a POST the browser must GET the
// target, never re-post to it.
func redirect(w http.ResponseWriter, r *http.Request, target string) {
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target, http.StatusSeeOther)
}
