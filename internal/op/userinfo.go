package op

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/store"
)

// userInfo is the UserInfo response (OpenID Connect Core §5.3.2).
type userInfo struct {
	Subject string `json:"sub"`
	IDP     string `json:"idp,omitempty"`
	profileClaims
}

// bearerError answers a request without a usable access token
// (RFC 6750 §3).
func bearerError(w http.ResponseWriter, status int, code, description string) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "WWW-Authenticate")
	h.Set("Cache-Control", "no-store")
	challenge := `Bearer realm="sallyport"`
	if code != "" {
		challenge += `, error="` + code + `", error_description="` + description + `"`
	}
	h.Set("WWW-Authenticate", challenge)
	h.Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if code != "" {
		json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": description})
	}
}

// userInfoRefused audits a refused userinfo request and answers it.
func (p *Provider) userInfoRefused(w http.ResponseWriter, r *http.Request, status int, code, description string, oc outcome.Code, userID string) {
	p.refuse(r, "oauth2.userinfo", oc, "", userID, errors.New(description))
	if code == "" {
		description = ""
	}
	bearerError(w, status, code, description)
}

// errNoToken and errTwoTokens are the ways a request can fail to present
// exactly one bearer token.
var (
	errNoToken   = errors.New("no access token")
	errTwoTokens = errors.New("more than one access token")
)

// bearerToken finds the access token: the Authorization header, or the
// access_token field of a form-encoded POST body (RFC 6750 §2.1, §2.2).
// A token in the URL query (§2.3) is refused: URLs end up in logs.
func bearerToken(r *http.Request) (string, error) {
	var found []string
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			return "", errNoToken
		}
		found = append(found, strings.TrimSpace(token))
	}
	if r.Method == http.MethodPost {
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
			if err := r.ParseForm(); err != nil {
				return "", errNoToken
			}
			if vs := r.PostForm["access_token"]; len(vs) > 0 {
				found = append(found, vs...)
			}
		}
	}
	if r.URL.Query().Has("access_token") {
		return "", errTwoTokens // never accepted; reported as a malformed request
	}
	switch len(found) {
	case 0:
		return "", errNoToken
	case 1:
		return found[0], nil
	default:
		return "", errTwoTokens
	}
}

// handleUserInfo answers the claims of the access token's person, as its
// scopes allow.
func (p *Provider) handleUserInfo(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	token, err := bearerToken(r)
	switch {
	case errors.Is(err, errTwoTokens):
		p.userInfoRefused(w, r, http.StatusBadRequest, "invalid_request", "send exactly one access token, in the Authorization header or the form body", outcome.InvalidRequest, "")
		return
	case err != nil:
		p.userInfoRefused(w, r, http.StatusUnauthorized, "", "no access token", outcome.InvalidClient, "")
		return
	}
	at, u, err := p.store.GetAccessTokenUser(ctx, store.HashToken(token), p.now())
	if errors.Is(err, store.ErrNotFound) {
		p.userInfoRefused(w, r, http.StatusUnauthorized, "invalid_token", "the access token is invalid, expired or revoked", outcome.InvalidGrant, "")
		return
	}
	if err != nil {
		p.log.Error("userinfo: reading the access token failed", "err", err)
		http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
		return
	}
	if !slices.Contains(at.Grant.Scopes, "openid") {
		p.userInfoRefused(w, r, http.StatusForbidden, "insufficient_scope", "the access token was not issued for openid", outcome.InvalidRequest, at.Grant.UserID)
		return
	}
	// A deleted user's tokens are deleted with them; a disabled one's stay
	// and are refused here.
	if u.Status != store.UserActive {
		p.userInfoRefused(w, r, http.StatusUnauthorized, "invalid_token", "the account is disabled", outcome.AccountDisabled, at.Grant.UserID)
		return
	}
	info := userInfo{Subject: u.ID}
	if info.IDP, err = p.connectionSlug(ctx, p.store, at.Grant.ConnectionID); err != nil {
		p.log.Error("userinfo: reading the connection failed", "err", err)
		http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
		return
	}
	var org orgClaims
	if at.Grant.OrgID != "" {
		if org, err = loadOrgClaims(ctx, p.store, at.Grant.OrgID, u.ID); err != nil {
			p.log.Error("userinfo: reading the org failed", "err", err)
			http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
			return
		}
	}
	info.profileClaims = profile(u, at.Grant.Scopes, org)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Access-Control-Allow-Origin", "*")
	json.NewEncoder(w).Encode(info)
}
