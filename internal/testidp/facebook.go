package testidp

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
)

// handleFacebookMe is Graph GET /me?fields=…. It refuses a call without
// appsecret_proof = hex(HMAC-SHA256(app secret, access token)), or with a
// wrong one. email is present only when the user has one and it was asked
// for; Facebook never says whether it is verified.
func (p *IdP) handleFacebookMe(w http.ResponseWriter, r *http.Request, per *persona) {
	g, u := p.tokenGrant(r, per)
	if g == nil {
		facebookError(w, http.StatusBadRequest, "OAuthException", 190, "Invalid OAuth access token - Cannot parse access token")
		return
	}
	p.mu.Lock()
	c := per.clients[g.clientID]
	var secret string
	if c != nil {
		secret = c.Secret
	}
	p.mu.Unlock()
	proof := r.URL.Query().Get("appsecret_proof")
	if proof == "" {
		facebookError(w, http.StatusBadRequest, "GraphMethodException", 100, "API calls from the server require an appsecret_proof argument")
		return
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(bearer(r, kindFacebook)))
	want := hex.EncodeToString(m.Sum(nil))
	if !hmac.Equal([]byte(strings.ToLower(proof)), []byte(want)) {
		facebookError(w, http.StatusBadRequest, "GraphMethodException", 100, "Invalid appsecret_proof provided in the API argument")
		return
	}
	fields := r.URL.Query().Get("fields")
	if fields == "" {
		fields = "id,name"
	}
	first, last := splitName(u)
	body := map[string]any{"id": u.Subject}
	for _, f := range strings.Split(fields, ",") {
		switch f = strings.TrimSpace(f); f {
		case "name":
			body["name"] = u.Name
		case "first_name":
			body["first_name"] = first
		case "last_name":
			body["last_name"] = last
		case "email":
			if u.Email != "" && containsWord(strings.ReplaceAll(g.scope, ",", " "), "email") {
				body["email"] = u.Email
			}
		case "picture":
			pic := u.Picture
			silhouette := pic == ""
			if silhouette {
				pic = per.base + "/static/silhouette.png"
			}
			body["picture"] = map[string]any{"data": map[string]any{"height": 50, "width": 50, "is_silhouette": silhouette, "url": pic}}
		case "id", "":
		default:
			if v, ok := u.Claims[f]; ok {
				body[f] = v
			}
		}
	}
	writeJSON(w, http.StatusOK, body, false)
}

func facebookError(w http.ResponseWriter, status int, typ string, code int, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"message": msg, "type": typ, "code": code, "fbtrace_id": random(8)}}, false)
}
