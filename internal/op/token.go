package op

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/sallyport/sallyport/internal/audit"
	"github.com/sallyport/sallyport/internal/op/clients"
	"github.com/sallyport/sallyport/internal/op/keys"
	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/ratelimit"
	"github.com/sallyport/sallyport/internal/store"
)

// IDTokenTTL is how long an ID token is valid. It must not exceed the
// signing keys' MaxTokenLifetime, which keeps retired keys published.
const IDTokenTTL = time.Hour

// tokenError is a refusal at the token or revocation endpoint (RFC 6749
// §5.2), with the outcome its audit event records.
type tokenError struct {
	status      int
	oauth       string
	description string
	outcome     outcome.Code
	basic       bool // the client tried HTTP Basic: answer with WWW-Authenticate
	audited     bool // its audit event was written with the grant's transaction
}

func (e *tokenError) Error() string { return e.oauth + ": " + e.description }

func invalidGrant(description string) *tokenError {
	return &tokenError{status: http.StatusBadRequest, oauth: "invalid_grant", description: description, outcome: outcome.InvalidGrant}
}

func invalidTokenRequest(description string) *tokenError {
	return &tokenError{status: http.StatusBadRequest, oauth: "invalid_request", description: description, outcome: outcome.InvalidRequest}
}

// writeTokenJSON writes a token endpoint answer. Nothing it carries may be
// stored by a cache (RFC 6749 §5.1).
func writeTokenJSON(w http.ResponseWriter, status int, body any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("Access-Control-Allow-Origin", "*")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

// writeTokenError answers a refusal. Rate limits keep their 429 and
// Retry-After; our own failures say server_error and nothing more.
func writeTokenError(w http.ResponseWriter, err error) {
	var te *tokenError
	if !errors.As(err, &te) {
		var rl *ratelimit.Error
		if errors.As(err, &rl) {
			w.Header().Set("Retry-After", fmt.Sprint(int(rl.RetryAfter().Seconds()+0.999)))
			te = &tokenError{status: http.StatusTooManyRequests, oauth: "rate_limited", description: "too many requests; retry later"}
		} else {
			te = &tokenError{status: http.StatusInternalServerError, oauth: "server_error", description: "the request could not be completed"}
		}
	}
	if te.basic {
		w.Header().Set("WWW-Authenticate", `Basic realm="sallyport"`)
	}
	writeTokenJSON(w, te.status, map[string]string{"error": te.oauth, "error_description": oauthDescription(te.description)})
}

// oauthDescription keeps an error_description to the characters RFC 6749
// §4.1.2.1 and §5.2 allow, printable ASCII but " and \: a refusal may name
// what the request sent, and a request can send anything.
func oauthDescription(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return '?'
		}
		return r
	}, s)
}

// tokenResponse is RFC 6749 §5.1 plus the ID token.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	Scope        string `json:"scope"`
}

// handleToken is the token endpoint: authorization_code and refresh_token.
func (p *Provider) handleToken(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c, form, err := p.clientRequest(w, r, "oauth2.token")
	grantType := form.Get("grant_type")
	if err != nil {
		p.tokens.WithLabelValues(grantLabel(grantType), string(outcome.CodeOf(tokenOutcome(err)))).Inc()
		return
	}
	var resp tokenResponse
	switch grantType {
	case "authorization_code":
		resp, err = p.codeGrant(ctx, r, c, form)
	case "refresh_token":
		resp, err = p.refreshGrant(ctx, r, c, form)
	case "":
		err = invalidTokenRequest("grant_type is missing")
	default:
		err = &tokenError{status: http.StatusBadRequest, oauth: "unsupported_grant_type", description: "only authorization_code and refresh_token are supported", outcome: outcome.InvalidRequest}
	}
	if err != nil {
		// Refusals decided in a grant's transaction were audited there;
		// the rest are audited here. Our own failures are logged.
		var te *tokenError
		switch {
		case errors.As(err, &te) && !te.audited:
			p.tokenRefused(r, grantType, c.ID, err)
		case te == nil:
			p.log.Error("token request failed", "grant_type", grantLabel(grantType), "err", err)
		}
		p.tokens.WithLabelValues(grantLabel(grantType), string(outcome.CodeOf(tokenOutcome(err)))).Inc()
		writeTokenError(w, err)
		return
	}
	p.tokens.WithLabelValues(grantType, string(outcome.TokenIssued)).Inc()
	writeTokenJSON(w, http.StatusOK, resp)
}

// grantLabel keeps metric labels to the known grant types.
func grantLabel(gt string) string {
	if gt == "authorization_code" || gt == "refresh_token" {
		return gt
	}
	return "other"
}

// tokenOutcome is the outcome a token endpoint refusal records.
func tokenOutcome(err error) error {
	var te *tokenError
	if errors.As(err, &te) && te.outcome != "" {
		return outcome.Wrap(te.outcome, err)
	}
	return err
}

// tokenRefused audits a refusal made outside a grant's transaction.
func (p *Provider) tokenRefused(r *http.Request, grantType, clientID string, err error) {
	p.refuse(r, "oauth2.token", outcome.CodeOf(tokenOutcome(err)), clientID, "", fmt.Errorf("grant_type %q: %w", grantLabel(grantType), err))
}

// clientRequest begins every request an app's server makes with its own
// credentials (token, revocation): the per-IP limit, the form, and client
// authentication. A refusal is audited as typ and answered, and returned
// so the caller can count it; the form is never nil.
func (p *Provider) clientRequest(w http.ResponseWriter, r *http.Request, typ string) (store.Client, url.Values, error) {
	ctx := r.Context()
	form := url.Values{}
	err := p.limit(ctx, typ, r)
	if err == nil {
		form, err = postForm(r)
		if form == nil {
			form = url.Values{}
		}
	}
	var c store.Client
	if err == nil {
		c, err = p.authenticateClient(ctx, r, form)
	}
	if err != nil {
		cause := err
		if gt := form.Get("grant_type"); gt != "" {
			cause = fmt.Errorf("grant_type %q: %w", grantLabel(gt), err)
		}
		p.refuse(r, typ, outcome.CodeOf(tokenOutcome(err)), form.Get("client_id"), "", cause)
		writeTokenError(w, err)
		return store.Client{}, form, err
	}
	return c, form, nil
}

// postForm parses an application/x-www-form-urlencoded body and refuses
// repeated parameters (RFC 6749 §3.2).
func postForm(r *http.Request) (url.Values, error) {
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &tokenError{status: http.StatusRequestEntityTooLarge, oauth: "invalid_request", description: "the request body is too large", outcome: outcome.InvalidRequest}
		}
		return nil, invalidTokenRequest("the body must be application/x-www-form-urlencoded")
	}
	for name, vs := range r.PostForm {
		if len(vs) > 1 {
			return nil, invalidTokenRequest("the " + name + " parameter appears more than once")
		}
	}
	return r.PostForm, nil
}

// authenticateClient identifies the client by client_secret_basic,
// client_secret_post, or client_id alone for a public client. Exactly one
// method may be used (RFC 6749 §2.3). Secrets are compared in constant
// time over their hashes.
func (p *Provider) authenticateClient(ctx context.Context, r *http.Request, form url.Values) (store.Client, error) {
	user, pass, basic := r.BasicAuth()
	id, secret := form.Get("client_id"), form.Get("client_secret")
	if basic {
		// RFC 6749 §2.3.1: the credentials are form-encoded before Basic.
		bu, err1 := url.QueryUnescape(user)
		bp, err2 := url.QueryUnescape(pass)
		if err1 != nil || err2 != nil {
			return store.Client{}, &tokenError{status: http.StatusUnauthorized, oauth: "invalid_client", description: "malformed Basic credentials", outcome: outcome.InvalidClient, basic: true}
		}
		if secret != "" || (id != "" && id != bu) {
			return store.Client{}, invalidTokenRequest("use one client authentication method, not two")
		}
		id, secret = bu, bp
	}
	fail := &tokenError{status: http.StatusUnauthorized, oauth: "invalid_client", description: "client authentication failed", outcome: outcome.InvalidClient, basic: basic}
	if id == "" {
		return store.Client{}, fail
	}
	c, err := p.client(ctx, p.store, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && c.Disabled) {
		return store.Client{}, fail
	}
	if err != nil {
		return store.Client{}, err
	}
	if c.Public {
		if secret != "" {
			return store.Client{}, fail // a public client has no secret; one that sends one is not who it says
		}
		return c, nil
	}
	if secret == "" || !clients.VerifySecret(c, secret) {
		return store.Client{}, fail
	}
	return c, nil
}

// issued is what a grant's transaction hands to the signing step.
type issued struct {
	grant   store.Grant
	user    store.User
	idp     string // connection slug
	org     orgClaims
	access  string
	refresh string
	scopes  []string
	expires time.Duration
}

// codeGrant redeems an authorization code (RFC 6749 §4.1.3). The code is
// consumed before any check, so a refused attempt burns it; a second
// redemption revokes everything the first one issued.
func (p *Provider) codeGrant(ctx context.Context, r *http.Request, c store.Client, form url.Values) (tokenResponse, error) {
	code, redirectURI, verifier := form.Get("code"), form.Get("redirect_uri"), form.Get("code_verifier")
	if code == "" {
		return tokenResponse{}, invalidTokenRequest("code is missing")
	}
	var out issued
	var refusal *tokenError
	err := p.store.Tx(ctx, func(q store.Queries) error {
		now := p.nowMS()
		refuse := func(te *tokenError, g store.Grant) error {
			refusal, te.audited = te, true
			return p.auditToken(ctx, q, r, te.outcome, c.ID, g, te.description)
		}
		ac, err := q.ConsumeAuthCode(ctx, store.HashToken(code), now)
		switch {
		case errors.Is(err, store.ErrConsumed):
			if err := q.RevokeGrant(ctx, ac.Grant.GrantID, now); err != nil {
				return err
			}
			return refuse(invalidGrant("the code was already used; the tokens issued for it are revoked"), ac.Grant)
		case errors.Is(err, store.ErrNotFound):
			return refuse(invalidGrant("the code is invalid or expired"), store.Grant{})
		case err != nil:
			return err
		}
		if ac.Grant.ClientID != c.ID {
			return refuse(invalidGrant("the code was issued to another client"), ac.Grant)
		}
		if ac.RedirectURI != redirectURI {
			return refuse(invalidGrant("redirect_uri does not match the authorization request"), ac.Grant)
		}
		if msg := checkPKCE(ac, verifier); msg != "" {
			return refuse(invalidGrant(msg), ac.Grant)
		}
		if out, err = p.issueTokens(ctx, q, c, ac.Grant, ac.Grant.Scopes, now); err != nil {
			if te := (*tokenError)(nil); errors.As(err, &te) {
				return refuse(te, ac.Grant)
			}
			return err
		}
		return p.auditToken(ctx, q, r, outcome.TokenIssued, c.ID, ac.Grant, "authorization_code")
	})
	if err != nil {
		return tokenResponse{}, err
	}
	if refusal != nil {
		return tokenResponse{}, refusal
	}
	return p.respond(ctx, c, out, true)
}

// checkPKCE verifies the code_verifier against the code's challenge
// (RFC 7636 §4.6). A verifier for a code issued without a challenge is a
// downgrade attempt and refused too.
func checkPKCE(ac store.AuthCode, verifier string) string {
	switch {
	case ac.CodeChallenge == "" && verifier == "":
		return ""
	case ac.CodeChallenge == "":
		return "code_verifier sent for a code issued without code_challenge"
	case verifier == "":
		return "code_verifier is required"
	case ac.CodeChallengeMethod != "S256":
		return "unsupported code_challenge_method"
	}
	sum := sha256.Sum256([]byte(verifier))
	if base64.RawURLEncoding.EncodeToString(sum[:]) != ac.CodeChallenge {
		return "code_verifier does not match code_challenge"
	}
	return ""
}

// refreshGrant exchanges a refresh token (RFC 6749 §6). The token rotates:
// its successor is issued and it can never be used again; a reused one
// revokes its whole family, as does a token that another client presents
// or whose person can no longer sign in.
func (p *Provider) refreshGrant(ctx context.Context, r *http.Request, c store.Client, form url.Values) (tokenResponse, error) {
	token := form.Get("refresh_token")
	if token == "" {
		return tokenResponse{}, invalidTokenRequest("refresh_token is missing")
	}
	var requested []string
	if s := form.Get("scope"); s != "" {
		requested = strings.Fields(s)
	}
	var out issued
	var refusal *tokenError
	err := p.store.Tx(ctx, func(q store.Queries) error {
		now := p.nowMS()
		revokeAndRefuse := func(te *tokenError, g store.Grant) error {
			if g.GrantID != "" {
				if err := q.RevokeGrant(ctx, g.GrantID, now); err != nil {
					return err
				}
			}
			refusal, te.audited = te, true
			return p.auditToken(ctx, q, r, te.outcome, c.ID, g, te.description)
		}
		old, err := q.RotateRefreshToken(ctx, store.HashToken(token), now)
		switch {
		case errors.Is(err, store.ErrConsumed):
			return revokeAndRefuse(invalidGrant("the refresh token was already used; its whole family is revoked"), old.Grant)
		case errors.Is(err, store.ErrNotFound):
			return revokeAndRefuse(invalidGrant("the refresh token is invalid or expired"), store.Grant{})
		case err != nil:
			return err
		}
		if old.Grant.ClientID != c.ID {
			return revokeAndRefuse(invalidGrant("the refresh token was issued to another client"), old.Grant)
		}
		scopes := old.Grant.Scopes
		if requested != nil {
			for _, s := range requested {
				if !slices.Contains(old.Grant.Scopes, s) {
					refusal = &tokenError{status: http.StatusBadRequest, oauth: "invalid_scope", description: "scope " + s + " was not granted", outcome: outcome.InvalidRequest}
					return errRollback // the old token stays usable
				}
			}
			scopes = requested
		}
		if out, err = p.issueTokens(ctx, q, c, old.Grant, scopes, now); err != nil {
			if te := (*tokenError)(nil); errors.As(err, &te) {
				return revokeAndRefuse(te, old.Grant)
			}
			return err
		}
		return p.auditToken(ctx, q, r, outcome.TokenIssued, c.ID, old.Grant, "refresh_token")
	})
	if errors.Is(err, errRollback) {
		err = nil
	}
	if err != nil {
		return tokenResponse{}, err
	}
	if refusal != nil {
		return tokenResponse{}, refusal
	}
	return p.respond(ctx, c, out, false)
}

// errRollback ends a transaction without a failure: the refusal it carries
// out is answered, nothing is written.
var errRollback = errors.New("op: roll back")

// issueTokens checks that the person may still have tokens and stores a
// new access token and, with offline_access, a refresh token, for grant.
func (p *Provider) issueTokens(ctx context.Context, q store.Queries, c store.Client, g store.Grant, scopes []string, now time.Time) (issued, error) {
	u, err := q.GetUser(ctx, g.UserID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.Status != store.UserActive) {
		return issued{}, invalidGrant("the account is disabled or deleted")
	}
	if err != nil {
		return issued{}, err
	}
	if g.IdentityID != "" {
		if _, err := q.GetIdentity(ctx, g.IdentityID); errors.Is(err, store.ErrNotFound) {
			return issued{}, invalidGrant("the sign-in method this grant came from was unlinked")
		} else if err != nil {
			return issued{}, err
		}
	}
	out := issued{grant: g, user: u, scopes: scopes, expires: c.AccessTokenTTL}
	if out.expires <= 0 {
		out.expires = 10 * time.Minute
	}
	if out.idp, err = p.connectionSlug(ctx, q, g.ConnectionID); err != nil {
		return issued{}, err
	}
	if g.OrgID != "" {
		if out.org, err = loadOrgClaims(ctx, q, g.OrgID, g.UserID); err != nil {
			return issued{}, err
		}
	}
	access := store.AccessToken{Grant: g, CreatedAt: now, ExpiresAt: now.Add(out.expires)}
	access.Grant.Scopes = scopes
	if c.AccessTokenFormat == "jwt" {
		if out.access, err = p.signAccessJWT(ctx, c, out, now); err != nil {
			return issued{}, err
		}
	} else {
		out.access = randomToken()
	}
	access.TokenHash = store.HashToken(out.access)
	if err := q.CreateAccessToken(ctx, &access); err != nil {
		return issued{}, fmt.Errorf("op: store access token: %w", err)
	}
	if slices.Contains(g.Scopes, "offline_access") {
		out.refresh = randomToken()
		ttl := c.RefreshTokenTTL
		if ttl <= 0 {
			ttl = 720 * time.Hour
		}
		rt := store.RefreshToken{TokenHash: store.HashToken(out.refresh), Grant: g, CreatedAt: now, ExpiresAt: now.Add(ttl)}
		if err := q.CreateRefreshToken(ctx, &rt); err != nil {
			return issued{}, fmt.Errorf("op: store refresh token: %w", err)
		}
	}
	return out, nil
}

// auditToken records a token decision inside the grant's transaction.
func (p *Provider) auditToken(ctx context.Context, q store.Queries, r *http.Request, code outcome.Code, clientID string, g store.Grant, reason string) error {
	detail := map[string]any{"client_id": clientID, "reason": reason}
	if g.GrantID != "" {
		detail["grant_id"] = g.GrantID
	}
	typ := "oauth2.token"
	if code == outcome.TokenRevoked {
		typ = "oauth2.revoke"
	}
	return p.audit.Record(ctx, q, audit.Event{Type: typ, Outcome: code, ActorID: clientID, UserID: g.UserID, OrgID: g.OrgID,
		ConnectionID: g.ConnectionID, IP: p.audit.ClientIP(r), UserAgent: r.UserAgent(), Detail: detail})
}

// respond signs the ID token, outside the transaction: an RS256 signature
// takes about a millisecond, and SQLite has one writer.
func (p *Provider) respond(ctx context.Context, c store.Client, out issued, withNonce bool) (tokenResponse, error) {
	resp := tokenResponse{AccessToken: out.access, TokenType: "Bearer", ExpiresIn: int64(out.expires / time.Second), RefreshToken: out.refresh, Scope: strings.Join(out.scopes, " ")}
	if slices.Contains(out.scopes, "openid") {
		var err error
		if resp.IDToken, err = p.signIDToken(ctx, c, out, withNonce); err != nil {
			return tokenResponse{}, err
		}
	}
	return resp, nil
}

// idTokenClaims are the ID token's claims (DESIGN.md §9).
type idTokenClaims struct {
	Issuer          string   `json:"iss"`
	Subject         string   `json:"sub"`
	Audience        string   `json:"aud"`
	AuthorizedParty string   `json:"azp"`
	Expiry          int64    `json:"exp"`
	IssuedAt        int64    `json:"iat"`
	AuthTime        int64    `json:"auth_time"`
	Nonce           string   `json:"nonce,omitempty"`
	AMR             []string `json:"amr,omitempty"`
	AccessTokenHash string   `json:"at_hash,omitempty"`
	IDP             string   `json:"idp,omitempty"`
	profileClaims
}

// profileClaims are the person's claims, by scope; ID tokens and userinfo
// share them.
type profileClaims struct {
	Email         string `json:"email,omitempty"`
	EmailVerified *bool  `json:"email_verified,omitempty"`
	Name          string `json:"name,omitempty"`
	orgClaims
}

// orgClaims name the org a sign-in belonged to.
type orgClaims struct {
	Org     string `json:"org,omitempty"`
	OrgID   string `json:"org_id,omitempty"`
	OrgRole string `json:"org_role,omitempty"`
}

func loadOrgClaims(ctx context.Context, q store.Queries, orgID, userID string) (orgClaims, error) {
	o, err := q.GetOrg(ctx, orgID)
	if errors.Is(err, store.ErrNotFound) {
		return orgClaims{}, nil
	}
	if err != nil {
		return orgClaims{}, err
	}
	oc := orgClaims{Org: o.Slug, OrgID: o.ID}
	m, err := q.GetMembership(ctx, orgID, userID)
	if err == nil {
		oc.OrgRole = m.Role
	} else if !errors.Is(err, store.ErrNotFound) {
		return orgClaims{}, err
	}
	return oc, nil
}

// profile builds the person's claims the scopes allow.
func profile(u store.User, scopes []string, org orgClaims) profileClaims {
	var pc profileClaims
	if slices.Contains(scopes, "email") && u.Email != "" {
		verified := u.EmailVerified
		pc.Email, pc.EmailVerified = u.Email, &verified
	}
	if slices.Contains(scopes, "profile") {
		pc.Name = u.Name
	}
	pc.orgClaims = org
	return pc
}

func (p *Provider) signIDToken(ctx context.Context, c store.Client, out issued, withNonce bool) (string, error) {
	signer, err := p.keys.Signer(ctx, algOf(c))
	if err != nil {
		return "", err
	}
	now := p.now()
	claims := idTokenClaims{
		Issuer: p.issuer, Subject: out.user.ID, Audience: c.ID, AuthorizedParty: c.ID,
		Expiry: now.Add(IDTokenTTL).Unix(), IssuedAt: now.Unix(), AuthTime: out.grant.AuthTime.Unix(),
		AMR: out.grant.AMR, IDP: out.idp, AccessTokenHash: tokenHash(signer.Alg(), out.access),
		profileClaims: profile(out.user, out.scopes, out.org),
	}
	if withNonce {
		claims.Nonce = out.grant.Nonce
	}
	select {
	case p.signing <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-p.signing }()
	return signer.Sign(claims)
}

// accessJWTClaims are a JWT access token's claims (RFC 9068).
type accessJWTClaims struct {
	Issuer   string `json:"iss"`
	Subject  string `json:"sub"`
	Audience string `json:"aud"`
	ClientID string `json:"client_id"`
	Expiry   int64  `json:"exp"`
	IssuedAt int64  `json:"iat"`
	JTI      string `json:"jti"`
	Scope    string `json:"scope"`
}

func (p *Provider) signAccessJWT(ctx context.Context, c store.Client, out issued, now time.Time) (string, error) {
	signer, err := p.keys.Signer(ctx, algOf(c))
	if err != nil {
		return "", err
	}
	return signer.SignAccessToken(accessJWTClaims{
		Issuer: p.issuer, Subject: out.user.ID, Audience: c.ID, ClientID: c.ID,
		Expiry: now.Add(out.expires).Unix(), IssuedAt: now.Unix(), JTI: randomToken(), Scope: strings.Join(out.scopes, " "),
	})
}

func algOf(c store.Client) string {
	if c.IDTokenSigningAlg == "" {
		return keys.RS256
	}
	return c.IDTokenSigningAlg
}

// tokenHash is at_hash (OpenID Connect Core §3.1.3.6): the left half of
// the token's hash with the signature's hash function, SHA-512 for
// Ed25519.
func tokenHash(alg, token string) string {
	var h hash.Hash
	if alg == keys.EdDSA {
		h = sha512.New()
	} else {
		h = sha256.New()
	}
	h.Write([]byte(token))
	sum := h.Sum(nil)
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}
