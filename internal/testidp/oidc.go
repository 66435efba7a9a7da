package testidp

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// profileClaims are the claims about the user the persona shares, for
// both the ID token and userinfo. The caller holds IdP.mu.
func (p *IdP) profileClaims(per *persona, g *grant, u *User) map[string]any {
	email := containsWord(g.scope, "email")
	profile := containsWord(g.scope, "profile")
	c := map[string]any{"sub": u.Subject}
	switch per.kind {
	case kindApple:
		if containsWord(g.scope, "email") && u.Email != "" {
			priv, ok := u.Claims["is_private_email"].(bool)
			if !ok {
				priv = strings.HasSuffix(strings.ToLower(u.Email), "@privaterelay.appleid.com")
			}
			c["email"] = u.Email
			if per.opts.BoolClaims {
				c["email_verified"], c["is_private_email"] = u.EmailVerified, priv
			} else {
				c["email_verified"], c["is_private_email"] = boolString(u.EmailVerified), boolString(priv)
			}
		}
		for k, v := range u.Claims {
			if k != "is_private_email" {
				c[k] = v
			}
		}
		return c
	case kindEntra:
		tid := entraTID(u)
		oid := entraOID(u)
		c["oid"] = oid // real Entra needs the profile scope for oid; tests want it always
		if profile {
			if u.Name != "" {
				c["name"] = u.Name
			}
			pu := u.Username
			if pu == "" {
				pu = u.Email
			}
			if pu != "" {
				c["preferred_username"] = pu
			}
		}
		if email && u.Email != "" {
			c["email"] = u.Email
		}
		maps.Copy(c, u.Claims)
		delete(c, "email_verified") // Entra never sends it
		if _, ok := c["email"]; !ok {
			delete(c, "xms_edov") // emitted only alongside email
		}
		// Claims cannot override the subject or the tenant.
		c["sub"], c["tid"] = entraPairwiseSub(tid, oid, g.clientID), tid
		return c
	}
	if email && u.Email != "" {
		c["email"] = u.Email
		c["email_verified"] = u.EmailVerified
	}
	if profile {
		if u.Name != "" {
			c["name"] = u.Name
		}
		if u.Picture != "" {
			c["picture"] = u.Picture
		}
		if u.Username != "" {
			switch per.kind {
			case kindGitLab:
				c["nickname"] = u.Username
				c["preferred_username"] = u.Username
				c["profile"] = p.url + "/" + per.name + "/" + u.Username
			case kindGoogle:
			default:
				c["preferred_username"] = u.Username
			}
		}
	}
	maps.Copy(c, u.Claims)
	return c
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// idClaims builds the ID token's claims, misbehaviour included. The caller
// holds IdP.mu.
func (p *IdP) idClaims(per *persona, g *grant, u *User, accessToken string, now time.Time) map[string]any {
	c := p.profileClaims(per, g, u)
	iss := per.issuer
	switch per.kind {
	case kindEntra:
		iss = entraTokenIssuer(p.EntraAuthority(), c["tid"].(string))
		c["ver"] = "2.0"
		c["aio"] = random(24)
		c["uti"] = random(16)
	case kindGoogle:
		c["azp"] = g.clientID
		if per.opts.LegacyIssuer {
			_, iss, _ = strings.Cut(iss, "://")
		}
	case kindApple:
		c["nonce_supported"] = true
	}
	c["iss"] = iss
	c["aud"] = g.clientID
	c["iat"] = now.Unix()
	c["exp"] = now.Add(tokenTTL).Unix()
	if per.kind != kindEntra {
		c["auth_time"] = g.issued.Unix()
		c["at_hash"] = atHash(accessToken)
	}
	if g.nonce != "" {
		c["nonce"] = g.nonce
	}

	m := per.mis
	if m.WrongIssuer {
		if strings.HasSuffix(iss, "/") {
			c["iss"] = strings.TrimSuffix(iss, "/")
		} else {
			c["iss"] = iss + "/"
		}
	}
	if m.WrongAudience {
		c["aud"] = UntrustedAudience
	}
	switch m.ExtraAudience {
	case ExtraAudienceWithAZP:
		c["aud"], c["azp"] = []string{g.clientID, UntrustedAudience}, g.clientID
	case ExtraAudienceNoAZP:
		c["aud"] = []string{g.clientID, UntrustedAudience}
		delete(c, "azp")
	case ExtraAudienceWrongAZP:
		c["aud"], c["azp"] = []string{g.clientID, UntrustedAudience}, UntrustedAudience
	}
	if m.WrongNonce {
		c["nonce"] = "wrong-" + g.nonce
	}
	if m.DropNonce {
		delete(c, "nonce")
	}
	if m.Expired {
		c["iat"], c["exp"] = now.Add(-time.Hour).Unix(), now.Add(-10*time.Minute).Unix()
	}
	if m.IssuedInFuture {
		c["iat"], c["exp"] = now.Add(time.Hour).Unix(), now.Add(2*time.Hour).Unix()
	}
	if m.BadAtHash {
		c["at_hash"] = atHash("not-" + accessToken)
	}
	return c
}

// bearer returns the access token of a request: the Authorization header
// (Bearer; GitHub also "token"), or Facebook's access_token parameter.
func bearer(r *http.Request, k kind) string {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if ok && (strings.EqualFold(scheme, "Bearer") || (k == kindGitHub && strings.EqualFold(scheme, "token"))) {
		return strings.TrimSpace(tok)
	}
	if k == kindFacebook {
		return r.URL.Query().Get("access_token")
	}
	return ""
}

// tokenGrant returns a copy of the live grant behind an access token.
func (p *IdP) tokenGrant(r *http.Request, per *persona) (*grant, *User) {
	tok := bearer(r, per.kind)
	p.mu.Lock()
	defer p.mu.Unlock()
	g := p.tokens[tok]
	if tok == "" || g == nil || g.persona != per.name || p.now().After(g.expires) {
		return nil, nil
	}
	u := per.user(g.subject)
	if u == nil {
		return nil, nil
	}
	cg, cu := *g, *u
	return &cg, &cu
}

func (p *IdP) handleUserinfo(w http.ResponseWriter, r *http.Request, per *persona) {
	switch per.kind {
	case kindGitHub:
		p.handleGitHubUser(w, r, per)
		return
	case kindFacebook:
		p.handleFacebookMe(w, r, per)
		return
	}
	g, u := p.tokenGrant(r, per)
	if g == nil {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "invalid_token"}, false)
		return
	}
	p.mu.Lock()
	c := p.profileClaims(per, g, u)
	if per.mis.UserinfoSubjectMismatch {
		c["sub"] = "not-" + c["sub"].(string)
	}
	p.mu.Unlock()
	writeJSON(w, http.StatusOK, c, false)
}

func (p *IdP) handleDiscovery(w http.ResponseWriter, r *http.Request, per *persona) {
	p.mu.Lock()
	keys, err := per.publishedKeys()
	mis := per.mis
	var e Endpoints
	if per.kind == kindEntra {
		e = per.entraEndpoints(r.PathValue("tenant"))
	} else {
		e = per.endpoints()
	}
	p.mu.Unlock()
	if err != nil {
		http.Error(w, "server_error", http.StatusInternalServerError)
		return
	}
	if e.Issuer == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_tenant",
			"error_description": "AADSTS90002: Tenant '" + r.PathValue("tenant") + "' not found."}, false)
		return
	}
	algs := []string{keys[len(keys)-1].alg}
	for _, k := range keys {
		if !slices.Contains(algs, k.alg) {
			algs = append(algs, k.alg)
		}
	}
	iss := e.Issuer
	if mis.DiscoveryIssuerMismatch {
		iss = oneByteOff(iss)
	}
	d := map[string]any{
		"issuer":                                iss,
		"authorization_endpoint":                e.Authorize,
		"token_endpoint":                        e.Token,
		"jwks_uri":                              e.JWKS,
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"query", "form_post"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": algs,
		"scopes_supported":                      []string{"openid", "email", "profile"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"grant_types_supported":                 []string{"authorization_code"},
		"claims_supported":                      []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "email", "email_verified", "name", "picture", "preferred_username"},
	}
	if e.UserInfo != "" {
		d["userinfo_endpoint"] = e.UserInfo
	}
	if ms := pkceMethods[per.kind]; ms != nil {
		d["code_challenge_methods_supported"] = ms
	}
	switch per.kind {
	case kindGeneric:
		d["authorization_response_iss_parameter_supported"] = true
	case kindGoogle:
		d["claims_supported"] = []string{"aud", "email", "email_verified", "exp", "family_name", "given_name", "iat", "iss", "name", "picture", "sub", "hd"}
		d["token_endpoint_auth_methods_supported"] = []string{"client_secret_post", "client_secret_basic"}
	case kindApple:
		d["response_modes_supported"] = []string{"query", "fragment", "form_post"}
		d["subject_types_supported"] = []string{"pairwise"}
		d["scopes_supported"] = []string{"openid", "email", "name"}
		d["token_endpoint_auth_methods_supported"] = []string{"client_secret_post"}
		d["claims_supported"] = []string{"aud", "email", "email_verified", "exp", "iat", "is_private_email", "iss", "nonce", "nonce_supported", "real_user_status", "sub", "transfer_sub"}
		d["revocation_endpoint"] = per.base + "/auth/revoke"
		delete(d, "grant_types_supported")
	case kindEntra:
		// Entra advertises no code_challenge_methods_supported, though it
		// takes PKCE.
		delete(d, "code_challenge_methods_supported")
		delete(d, "grant_types_supported")
		d["subject_types_supported"] = []string{"pairwise"}
		d["response_modes_supported"] = []string{"query", "fragment", "form_post"}
		d["scopes_supported"] = []string{"openid", "profile", "email", "offline_access"}
		d["token_endpoint_auth_methods_supported"] = []string{"client_secret_post", "private_key_jwt", "client_secret_basic"}
		d["claims_supported"] = []string{"sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"}
		d["request_uri_parameter_supported"] = false
		d["tenant_region_scope"] = nil
		d["cloud_instance_name"] = "microsoftonline.com"
		d["cloud_graph_host_name"] = "graph.windows.net"
		d["msgraph_host"] = "graph.microsoft.com"
	case kindGitLab:
		d["scopes_supported"] = []string{"api", "read_api", "read_user", "openid", "profile", "email"}
		d["claims_supported"] = []string{"iss", "sub", "aud", "exp", "iat", "sub_legacy", "name", "nickname", "preferred_username", "email", "email_verified", "website", "profile", "picture", "groups", "groups_direct"}
		d["claim_types_supported"] = []string{"normal"}
	}
	writeJSON(w, http.StatusOK, d, mis.Oversized)
}

func (p *IdP) handleJWKS(w http.ResponseWriter, r *http.Request, per *persona) {
	p.mu.Lock()
	keys, err := per.publishedKeys()
	oversized := per.mis.Oversized
	p.mu.Unlock()
	if err != nil {
		http.Error(w, "server_error", http.StatusInternalServerError)
		return
	}
	var extra map[string]any
	if per.kind == kindEntra {
		// Entra's keys name their issuer, templated for multi-tenant use.
		extra = map[string]any{"issuer": p.EntraAuthority() + "/{tenantid}/v2.0"}
	}
	set := make([]map[string]any, 0, len(keys))
	for _, k := range keys {
		m, err := k.jwk(extra)
		if err != nil {
			http.Error(w, "server_error", http.StatusInternalServerError)
			return
		}
		set = append(set, m)
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": set}, oversized)
}

// displayName is what the chooser page calls a persona.
func displayName(per *persona) string {
	switch per.kind {
	case kindEntra:
		return "Microsoft (test)"
	case kindGoogle:
		return "Google (test)"
	case kindApple:
		return "Apple (test)"
	case kindGitHub:
		return "GitHub (test)"
	case kindFacebook:
		return "Facebook (test)"
	case kindGitLab:
		return "GitLab (test)"
	}
	return "Test identity provider: " + per.name
}
