package testidp

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

const (
	codeTTL    = 60 * time.Second
	pendingTTL = 10 * time.Minute
	tokenTTL   = time.Hour
)

// grant is an authorization code, or an access token issued for one.
type grant struct {
	persona     string
	tenant      string // Entra: the tenant path the code was issued under
	clientID    string
	redirectURI string
	challenge   string
	method      string
	nonce       string
	scope       string
	subject     string
	issued      time.Time
	expires     time.Time // access tokens
	used        bool
	tokens      []string // access tokens issued for a code, revoked on its reuse
}

// pendingAuth is an authorization request waiting on the chooser page.
type pendingAuth struct {
	persona string
	tenant  string
	params  url.Values
	csrf    string
	expires time.Time
}

// authReq is a parsed and checked authorization request.
type authReq struct {
	per         *persona
	tenant      string
	params      url.Values
	client      registeredClient
	redirectURI string
	formPost    bool
	state       string
	scope       string
	challenge   string
	method      string
}

func (p *IdP) handleAuthorize(w http.ResponseWriter, r *http.Request, per *persona) {
	p.authorize(w, r, per, r.PathValue("tenant"), r.URL.Query(), "")
}

// handleChooser takes the chooser page's POST.
func (p *IdP) handleChooser(w http.ResponseWriter, r *http.Request, per *persona) {
	if err := r.ParseForm(); err != nil {
		p.errorPage(w, http.StatusBadRequest, "The form could not be read.")
		return
	}
	id := r.PostForm.Get("request")
	p.mu.Lock()
	pa := p.pending[id]
	delete(p.pending, id) // single use, whatever happens next
	p.mu.Unlock()
	if pa == nil || pa.persona != per.name || pa.tenant != r.PathValue("tenant") ||
		subtle.ConstantTimeCompare([]byte(pa.csrf), []byte(r.PostForm.Get("csrf"))) != 1 {
		p.errorPage(w, http.StatusBadRequest, "This sign-in page has expired or was already used. Go back to the application and start again.")
		return
	}
	if p.now().After(pa.expires) {
		p.errorPage(w, http.StatusBadRequest, "This sign-in page has expired. Go back to the application and start again.")
		return
	}
	if r.PostForm.Has("cancel") {
		ar, ok := p.checkAuthRequest(w, per, pa.tenant, pa.params)
		if ok {
			p.errorRedirect(w, r, ar, "access_denied", "The user cancelled the sign-in.")
		}
		return
	}
	sub := r.PostForm.Get("subject")
	if sub == "" {
		p.errorPage(w, http.StatusBadRequest, "Choose a person to sign in as.")
		return
	}
	p.authorize(w, r, per, pa.tenant, pa.params, sub)
}

// checkAuthRequest validates client and redirect URI; failures get an
// error page, never a redirect.
func (p *IdP) checkAuthRequest(w http.ResponseWriter, per *persona, tenant string, q url.Values) (*authReq, bool) {
	p.mu.Lock()
	c := per.clients[q.Get("client_id")]
	var client registeredClient
	if c != nil {
		client = *c
	}
	p.mu.Unlock()
	if per.kind == kindEntra && entraIssuer(p.EntraAuthority(), tenant) == "" {
		p.errorPage(w, http.StatusBadRequest, "AADSTS90002: Tenant '"+tenant+"' not found.")
		return nil, false
	}
	if c == nil {
		p.errorPage(w, http.StatusBadRequest, "Unknown client: the application's client_id is not registered with this identity provider.")
		return nil, false
	}
	redirect := q.Get("redirect_uri")
	if redirect == "" && (per.kind == kindGitHub) && len(client.RedirectURIs) > 0 {
		redirect = client.RedirectURIs[0] // GitHub falls back to the registered callback
	}
	if !redirectAllowed(per.kind, client.RedirectURIs, redirect) {
		p.errorPage(w, http.StatusBadRequest, "The redirect_uri is not registered for this client, so the identity provider will not send you there.")
		return nil, false
	}
	ar := &authReq{
		per: per, tenant: tenant, params: q, client: client, redirectURI: redirect,
		state: q.Get("state"), scope: q.Get("scope"),
		formPost: q.Get("response_mode") == "form_post" && per.kind.oidc(),
	}
	return ar, true
}

// redirectAllowed matches exactly, except that GitHub OAuth apps accept any
// subdirectory of a registered callback on the same host and port.
func redirectAllowed(k kind, registered []string, got string) bool {
	if got == "" {
		return false
	}
	if slices.Contains(registered, got) {
		return true
	}
	if k != kindGitHub {
		return false
	}
	g, err := url.Parse(got)
	if err != nil || strings.Contains(g.Path, "..") {
		return false
	}
	for _, reg := range registered {
		r, err := url.Parse(reg)
		if err != nil {
			continue
		}
		if r.Scheme == g.Scheme && r.Host == g.Host &&
			(g.Path == r.Path || strings.HasPrefix(g.Path, strings.TrimSuffix(r.Path, "/")+"/")) {
			return true
		}
	}
	return false
}

// pkceMethods are the code_challenge_methods each kind accepts.
var pkceMethods = map[kind][]string{
	kindGeneric:  {"S256"},
	kindGitHub:   {"S256"},
	kindGoogle:   {"plain", "S256"},
	kindEntra:    {"plain", "S256"},
	kindGitLab:   {"plain", "S256"},
	kindFacebook: {"plain", "S256"},
}

// authorize runs an authorization request; chosen is the subject picked on
// the chooser page, if any.
func (p *IdP) authorize(w http.ResponseWriter, r *http.Request, per *persona, tenant string, q url.Values, chosen string) {
	ar, ok := p.checkAuthRequest(w, per, tenant, q)
	if !ok {
		return
	}
	scopes := strings.Fields(ar.scope)
	if per.kind == kindApple && (slices.Contains(scopes, "name") || slices.Contains(scopes, "email")) && q.Get("response_mode") != "form_post" {
		p.errorPage(w, http.StatusBadRequest, "invalid_request: response_mode must be form_post when name or email scope is requested.")
		return
	}
	switch q.Get("response_mode") {
	case "", "query":
	case "form_post":
		if !per.kind.oidc() {
			p.errorRedirect(w, r, ar, "invalid_request", "response_mode form_post is not supported")
			return
		}
	default:
		p.errorRedirect(w, r, ar, "invalid_request", "unsupported response_mode")
		return
	}
	rt := q.Get("response_type")
	if rt == "" && (per.kind == kindGitHub || per.kind == kindFacebook) {
		rt = "code" // neither requires it
	}
	if rt != "code" {
		p.errorRedirect(w, r, ar, "unsupported_response_type", "only response_type=code is supported")
		return
	}
	if per.kind != kindApple { // Apple takes no PKCE: the parameters are ignored
		ar.challenge, ar.method = q.Get("code_challenge"), q.Get("code_challenge_method")
		if ar.challenge != "" {
			if ar.method == "" {
				ar.method = "plain" // RFC 7636 §4.3
			}
			if !slices.Contains(pkceMethods[per.kind], ar.method) {
				p.errorRedirect(w, r, ar, "invalid_request", "code_challenge_method not supported")
				return
			}
			if n := len(ar.challenge); n < 43 || n > 128 {
				p.errorRedirect(w, r, ar, "invalid_request", "code_challenge must be 43 to 128 characters")
				return
			}
		} else if ar.method != "" {
			p.errorRedirect(w, r, ar, "invalid_request", "code_challenge_method without code_challenge")
			return
		}
	}

	p.mu.Lock()
	mis := per.mis
	interactive := p.interactive || per.opts.Interactive
	var u *User
	switch {
	case chosen != "":
		u = per.user(chosen)
	case interactive:
	default:
		if hint := q.Get("login_hint"); hint != "" {
			for _, cand := range per.users {
				if cand.Subject == hint || (cand.Email != "" && strings.EqualFold(cand.Email, hint)) {
					u = cand
					break
				}
			}
		}
		if u == nil {
			u = per.user(per.current)
		}
	}
	var users []User
	if interactive && chosen == "" {
		for _, cand := range per.users {
			if per.kind != kindEntra || entraEligible(tenant, entraTID(cand)) {
				users = append(users, *cand)
			}
		}
	}
	p.mu.Unlock()

	if mis.ErrorCallback {
		p.errorRedirect(w, r, ar, "access_denied", "The user denied the request.")
		return
	}
	if interactive && chosen == "" {
		p.showChooser(w, r, per, ar, users)
		return
	}
	if u == nil {
		p.errorPage(w, http.StatusBadRequest, "Nobody can sign in here: this identity provider has no such user.")
		return
	}
	if per.kind == kindEntra && !entraEligible(tenant, entraTID(u)) {
		p.errorPage(w, http.StatusBadRequest, "AADSTS50020: User account '"+u.Email+"' from identity provider does not exist in tenant '"+tenant+"'.")
		return
	}

	code := random(32)
	now := p.now()
	g := &grant{
		persona: per.name, tenant: tenant, clientID: ar.client.ID, redirectURI: ar.redirectURI,
		challenge: ar.challenge, method: ar.method, nonce: q.Get("nonce"), scope: ar.scope,
		subject: u.Subject, issued: now,
	}
	params := url.Values{"code": {code}}
	if ar.state != "" {
		params.Set("state", ar.state)
	}
	p.mu.Lock()
	p.codes[code] = g
	switch per.kind {
	case kindGoogle:
		params.Set("scope", ar.scope)
		params.Set("authuser", "0")
		params.Set("prompt", "none")
	case kindEntra:
		params.Set("session_state", newGUID())
	case kindApple:
		key := ar.client.ID + " " + u.Subject
		if (slices.Contains(scopes, "name") || slices.Contains(scopes, "email")) && !per.appleSeen[key] {
			per.appleSeen[key] = true
			params.Set("user", appleUserJSON(u, scopes))
		}
	}
	p.mu.Unlock()
	p.addIss(per, params)
	p.deliver(w, ar, params)
}

// addIss adds the RFC 9207 iss where the persona advertises it.
func (p *IdP) addIss(per *persona, params url.Values) {
	if per.kind != kindGeneric {
		return
	}
	p.mu.Lock()
	iss, wrong := per.issuer, per.mis.WrongIssParam
	p.mu.Unlock()
	if wrong {
		iss = oneByteOff(iss)
	}
	params.Set("iss", iss)
}

// errorRedirect sends an OAuth error to the (already checked) redirect URI.
func (p *IdP) errorRedirect(w http.ResponseWriter, r *http.Request, ar *authReq, code, desc string) {
	params := url.Values{"error": {code}, "error_description": {desc}}
	switch ar.per.kind {
	case kindFacebook:
		if code == "access_denied" {
			params.Set("error_code", "200")
			params.Set("error_description", "Permissions error")
			params.Set("error_reason", "user_denied")
		}
	case kindGitHub:
		params.Set("error_uri", "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors")
	}
	if ar.state != "" {
		params.Set("state", ar.state)
	}
	p.addIss(ar.per, params)
	p.deliver(w, ar, params)
}

// deliver sends params to the redirect URI, in its query or as a
// self-submitting form (response_mode=form_post).
func (p *IdP) deliver(w http.ResponseWriter, ar *authReq, params url.Values) {
	if ar.formPost {
		p.formPost(w, ar.redirectURI, params)
		return
	}
	u, err := url.Parse(ar.redirectURI)
	if err != nil {
		p.errorPage(w, http.StatusBadRequest, "The redirect_uri is not a URL.")
		return
	}
	q := u.Query()
	for k, vs := range params {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	w.Header().Set("Location", u.String())
	w.WriteHeader(http.StatusFound)
}

// showChooser parks the request and renders the chooser page.
func (p *IdP) showChooser(w http.ResponseWriter, r *http.Request, per *persona, ar *authReq, users []User) {
	id, csrf := random(32), random(32)
	p.mu.Lock()
	now := p.now()
	for k, pa := range p.pending {
		if now.After(pa.expires) {
			delete(p.pending, k)
		}
	}
	p.pending[id] = &pendingAuth{persona: per.name, tenant: ar.tenant, params: ar.params, csrf: csrf, expires: now.Add(pendingTTL)}
	p.mu.Unlock()
	p.chooserPage(w, chooserData{
		Persona: displayName(per), Action: r.URL.Path, Request: id, CSRF: csrf,
		ClientID: ar.client.ID, Users: users,
	})
}

// appleUserJSON is Apple's unsigned first-authorization user field.
func appleUserJSON(u *User, scopes []string) string {
	v := map[string]any{}
	if slices.Contains(scopes, "name") {
		first, last := splitName(u)
		v["name"] = map[string]string{"firstName": first, "lastName": last}
	}
	if slices.Contains(scopes, "email") && u.Email != "" {
		v["email"] = u.Email
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// splitName returns given and family names from the claims, or from Name.
func splitName(u *User) (string, string) {
	first, _ := u.Claims["given_name"].(string)
	last, _ := u.Claims["family_name"].(string)
	if first == "" && last == "" {
		first, last, _ = strings.Cut(u.Name, " ")
	}
	return first, last
}

// oneByteOff changes the last byte of s that is not a slash.
func oneByteOff(s string) string {
	b := []byte(s)
	for i := len(b) - 1; i >= 0; i-- {
		switch c := b[i]; {
		case c == '/':
			continue
		case c >= 'a' && c <= 'z':
			b[i] = c - 'a' + 'A'
		default:
			b[i] = 'x'
		}
		return string(b)
	}
	return s + "x"
}
