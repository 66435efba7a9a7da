package testidp

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// tokenErr is an error the token endpoint answers, in OAuth terms; each
// persona writes it in its own format.
type tokenErr struct {
	status int
	code   string // invalid_client, invalid_grant, invalid_request, unsupported_grant_type, redirect_uri_mismatch
	desc   string
}

func (p *IdP) handleToken(w http.ResponseWriter, r *http.Request, per *persona) {
	if err := r.ParseForm(); err != nil {
		p.writeTokenError(w, r, per, tokenErr{http.StatusBadRequest, "invalid_request", "the body is not a form"})
		return
	}
	resp, terr := p.token(r, per)
	if terr != nil {
		p.writeTokenError(w, r, per, *terr)
		return
	}
	p.mu.Lock()
	oversized := per.mis.Oversized
	p.mu.Unlock()
	if per.kind == kindGitHub && !acceptsJSON(r) {
		writeForm(w, http.StatusOK, resp)
		return
	}
	writeJSON(w, http.StatusOK, resp, oversized)
}

// token redeems a code. It returns the response members.
func (p *IdP) token(r *http.Request, per *persona) (map[string]any, *tokenErr) {
	form := r.PostForm
	if per.kind == kindFacebook {
		form = r.Form // Facebook takes the parameters in the query, too
	}
	p.mu.Lock()
	tokenError := per.mis.TokenError
	p.mu.Unlock()
	if tokenError {
		return nil, &tokenErr{http.StatusBadRequest, "invalid_grant", "The provided authorization grant is invalid, expired or revoked."}
	}
	clientID, terr := p.authenticateClient(r, form, per)
	if terr != nil {
		return nil, terr
	}
	gt := form.Get("grant_type")
	if gt == "" && (per.kind == kindGitHub || per.kind == kindFacebook) {
		gt = "authorization_code" // neither requires it
	}
	if gt != "authorization_code" {
		return nil, &tokenErr{http.StatusBadRequest, "unsupported_grant_type", "only authorization_code is supported"}
	}
	code := form.Get("code")
	now := p.now()

	p.mu.Lock()
	defer p.mu.Unlock()
	g := p.codes[code]
	switch {
	case g == nil || g.persona != per.name:
		return nil, &tokenErr{http.StatusBadRequest, "invalid_grant", "The code is incorrect."}
	case g.used:
		// A replayed code revokes what it issued (RFC 6749 §4.1.2).
		for _, t := range g.tokens {
			delete(p.tokens, t)
		}
		return nil, &tokenErr{http.StatusBadRequest, "invalid_grant", "The code has already been used."}
	}
	g.used = true
	switch {
	case g.clientID != clientID:
		return nil, &tokenErr{http.StatusBadRequest, "invalid_grant", "The code was issued to another client."}
	case now.Sub(g.issued) > codeTTL:
		return nil, &tokenErr{http.StatusBadRequest, "invalid_grant", "The code has expired."}
	case per.kind == kindEntra && g.tenant != r.PathValue("tenant"):
		return nil, &tokenErr{http.StatusBadRequest, "invalid_grant", "The code was issued for another tenant."}
	}
	if ru := form.Get("redirect_uri"); ru != g.redirectURI && !(per.kind == kindGitHub && ru == "") {
		return nil, &tokenErr{http.StatusBadRequest, "redirect_uri_mismatch", "The redirect_uri does not match the one the code was issued for."}
	}
	verifier := form.Get("code_verifier")
	if per.kind != kindApple {
		if g.challenge != "" && !pkceOK(g.method, g.challenge, verifier) {
			return nil, &tokenErr{http.StatusBadRequest, "invalid_grant", "The code_verifier does not match the code_challenge."}
		}
		if g.challenge == "" && verifier != "" && (per.kind == kindGeneric || per.kind == kindGitLab) {
			// RFC 9700 §2.1.1: no verifier without a challenge.
			return nil, &tokenErr{http.StatusBadRequest, "invalid_grant", "code_verifier sent, but the authorization request had no code_challenge."}
		}
	}
	u := per.user(g.subject)
	if u == nil {
		return nil, &tokenErr{http.StatusBadRequest, "invalid_grant", "The user no longer exists."}
	}

	at := random(32)
	tg := *g
	tg.tokens = nil
	tg.expires = now.Add(tokenTTL)
	p.tokens[at] = &tg
	g.tokens = append(g.tokens, at)

	scopes := strings.Fields(g.scope)
	resp := map[string]any{"access_token": at, "token_type": "Bearer", "expires_in": int(tokenTTL.Seconds())}
	switch per.kind {
	case kindGitHub:
		resp = map[string]any{"access_token": at, "token_type": "bearer", "scope": strings.Join(scopes, ",")}
	case kindFacebook:
		resp = map[string]any{"access_token": at, "token_type": "bearer", "expires_in": 5183944}
	case kindEntra:
		resp["scope"] = g.scope
		resp["ext_expires_in"] = int(tokenTTL.Seconds())
	case kindGitLab:
		resp["scope"] = g.scope
		resp["created_at"] = now.Unix()
	case kindApple:
	default:
		resp["scope"] = g.scope
	}
	if per.kind == kindApple || (per.kind.oidc() && containsWord(g.scope, "openid")) {
		idt, err := per.signJWT(p.idClaims(per, &tg, u, at, now))
		if err != nil {
			return nil, &tokenErr{http.StatusInternalServerError, "server_error", err.Error()}
		}
		resp["id_token"] = idt
	}
	return resp, nil
}

// authenticateClient checks client_secret_basic (credentials form-encoded
// before base64, RFC 6749 §2.3.1) or client_secret_post, as the persona
// allows, and returns the client id.
func (p *IdP) authenticateClient(r *http.Request, form url.Values, per *persona) (string, *tokenErr) {
	bad := &tokenErr{http.StatusUnauthorized, "invalid_client", "Client authentication failed."}
	id, secret, basic := r.BasicAuth()
	if basic {
		if per.kind == kindApple || per.kind == kindFacebook {
			return "", bad // client_secret_post only
		}
		if form.Has("client_secret") {
			return "", &tokenErr{http.StatusBadRequest, "invalid_request", "more than one client authentication method"}
		}
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return "", bad
		}
		if fid := form.Get("client_id"); fid != "" && fid != id {
			return "", bad
		}
	} else {
		id, secret = form.Get("client_id"), form.Get("client_secret")
	}
	p.mu.Lock()
	c := per.clients[id]
	p.mu.Unlock()
	if c == nil || secret == "" {
		return "", bad
	}
	if per.kind == kindApple {
		if err := verifyAppleSecret(secret, c.apple, per.issuer, p.now()); err != nil {
			return "", &tokenErr{http.StatusBadRequest, "invalid_client", err.Error()}
		}
		return id, nil
	}
	a, b := sha256.Sum256([]byte(secret)), sha256.Sum256([]byte(c.Secret))
	if subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		return "", bad
	}
	return id, nil
}

func pkceOK(method, challenge, verifier string) bool {
	if verifier == "" {
		return false
	}
	want := verifier
	if method == "S256" {
		sum := sha256.Sum256([]byte(verifier))
		want = b64(sum[:])
	}
	return subtle.ConstantTimeCompare([]byte(want), []byte(challenge)) == 1
}

// writeTokenError writes e in the persona's format.
func (p *IdP) writeTokenError(w http.ResponseWriter, r *http.Request, per *persona, e tokenErr) {
	code := e.code
	switch per.kind {
	case kindGitHub:
		// GitHub answers 200 with an error body.
		switch code {
		case "invalid_client":
			code = "incorrect_client_credentials"
		case "invalid_grant":
			code = "bad_verification_code"
		}
		body := map[string]any{"error": code, "error_description": e.desc,
			"error_uri": "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors"}
		if acceptsJSON(r) {
			writeJSON(w, http.StatusOK, body, false)
		} else {
			writeForm(w, http.StatusOK, body)
		}
		return
	case kindFacebook:
		fb := map[string]any{"message": e.desc, "type": "OAuthException", "code": 100, "fbtrace_id": random(8)}
		switch code {
		case "invalid_client":
			fb["code"], fb["message"] = 1, "Error validating client secret."
		case "invalid_grant":
			fb["error_subcode"] = 36009
		case "redirect_uri_mismatch":
			fb["error_subcode"] = 36008
			fb["message"] = "Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request"
		}
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": fb}, false)
		return
	}
	if code == "redirect_uri_mismatch" {
		code = "invalid_grant"
	}
	body := map[string]any{"error": code, "error_description": e.desc}
	status := e.status
	switch per.kind {
	case kindEntra:
		num := map[string]int{"invalid_grant": 70008, "invalid_client": 7000215, "invalid_request": 900144, "unsupported_grant_type": 70003}[code]
		body["error_description"] = "AADSTS" + strconv.Itoa(num) + ": " + e.desc
		body["error_codes"] = []int{num}
		body["timestamp"] = p.now().UTC().Format("2006-01-02 15:04:05Z")
		body["trace_id"], body["correlation_id"] = newGUID(), newGUID()
	case kindApple:
		body = map[string]any{"error": code} // Apple says no more
		if status == http.StatusUnauthorized {
			status = http.StatusBadRequest
		}
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="testidp"`)
	}
	writeJSON(w, status, body, false)
}

func acceptsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

// writeJSON writes v; oversized pads it past 1 MiB with a "padding"
// member, still valid JSON.
func writeJSON(w http.ResponseWriter, status int, v any, oversized bool) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "server_error", http.StatusInternalServerError)
		return
	}
	if oversized && len(b) > 1 && b[0] == '{' {
		pad, _ := json.Marshal(strings.Repeat("x", 1<<20+1))
		b = append(append(append([]byte(`{"padding":`), pad...), ','), b[1:]...)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// writeForm writes m form-encoded, as GitHub does without an Accept header.
func writeForm(w http.ResponseWriter, status int, m map[string]any) {
	v := url.Values{}
	for k, x := range m {
		switch x := x.(type) {
		case string:
			v.Set(k, x)
		default:
			b, _ := json.Marshal(x)
			v.Set(k, string(b))
		}
	}
	w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	w.WriteHeader(status)
	w.Write([]byte(v.Encode()))
}

func containsWord(list, word string) bool {
	for _, f := range strings.Fields(list) {
		if f == word {
			return true
		}
	}
	return false
}
