package oidc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/sallyport/sallyport/internal/flow"
	"github.com/sallyport/sallyport/internal/netguard"
	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/upstream"
)

// Defaults of [Config].
var (
	DefaultScopes = []string{"openid", "email", "profile"}
	DefaultAlgs   = []string{"RS256"}
)

// reservedAuthParams are the authorization parameters Sallyport sets (or
// must not let a request object or response mode move): AuthParams never
// override them. Compared case-insensitively. This is the shared list plus
// two token-endpoint names, and unlike github and facebook, which refuse
// a reserved name, New drops it with a warning: both on purpose.
var reservedAuthParams = append(upstream.ReservedAuthParams(), "client_secret", "code_verifier")

// Config configures a [Provider].
type Config struct {
	// Issuer is the configured issuer, compared byte for byte with the
	// discovery document's and every ID token's iss. Required.
	Issuer string
	// ClientID and ClientSecret are Sallyport's credentials at the
	// provider. An empty secret makes a public client (PKCE only).
	ClientID     string
	ClientSecret string
	// Scopes requested; nil means DefaultScopes. openid is always sent.
	Scopes []string
	// AllowedAlgs is the ID token algorithm allow-list, intersected with
	// the provider's id_token_signing_alg_values_supported; nil means
	// DefaultAlgs. "none" is refused; HS256/384/512 only when listed, and
	// then keyed with ClientSecret.
	AllowedAlgs []string
	// AuthParams are extra authorization request parameters (prompt, hd,
	// acr_values…). Parameters Sallyport sets are dropped with a warning.
	AuthParams map[string]string
	// ClaimMapping takes Identity fields from other claims; see
	// [ClaimMapping]. The subject cannot be mapped.
	ClaimMapping ClaimMapping
	// HTTPClient is netguard's client, used for discovery, JWKS, the token
	// and userinfo endpoints; nil builds a netguard client with its safe
	// defaults.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Skew is the leeway on exp, iat and nbf; zero means DefaultSkew.
	Skew time.Duration
	// DiscoveryTTL is how long a discovery document is used before it is
	// fetched again (the stale one is served if that fails); zero means
	// DefaultDiscoveryTTL.
	DiscoveryTTL time.Duration
	// JWKSMinRefetch is the least time between two JWKS fetches; zero
	// means DefaultJWKSMinRefetch.
	JWKSMinRefetch time.Duration
	// JWKSRefresh is the age at which the JWKS is fetched again on use;
	// zero means DefaultJWKSRefresh.
	JWKSRefresh time.Duration
	// Logger receives warnings (dropped AuthParams, stale caches); nil
	// discards them.
	Logger *slog.Logger

	// Metadata, when set, is used as is instead of discovery (presets with
	// fixed endpoints). Its Issuer must be empty or equal Issuer.
	Metadata *Discovery
	// IssuerCheck replaces the byte-exact iss comparison for ID tokens
	// (Entra's {tenantid} template); see VerifierConfig.IssuerCheck.
	IssuerCheck func(iss string, c Claims, key *Key) error
	// TrustedAudiences may appear in aud beside ClientID.
	TrustedAudiences []string
	// AlwaysFetchUserinfo fetches userinfo on every sign-in, not only when
	// the ID token lacks claims the scopes ask for.
	AlwaysFetchUserinfo bool
}

// Provider is a generic OpenID Connect upstream: the authorization-code
// flow with PKCE and a nonce, ID tokens verified against the provider's
// JWKS, and userinfo where needed. It implements upstream.Provider,
// upstream.IssuerReporter and upstream.PKCEUser, and is safe for
// concurrent use.
type Provider struct {
	cfg        Config
	client     *http.Client
	scopes     []string
	authParams url.Values
	disc       *DiscoveryCache // nil with Config.Metadata
	keys       *KeySet
	log        *slog.Logger

	mu       sync.Mutex // guards the fields below
	cur      *snapshot
	rejected *Discovery // a refreshed document build refused, not retried
}

// snapshot is what one discovery document makes of the configuration.
type snapshot struct {
	doc      *Discovery
	oauth    oauth2.Config // RedirectURL is set per callback
	verifier *Verifier
	pkce     bool
}

// Result is what a redeemed callback proved, before it becomes an Identity
// (presets build theirs from it).
type Result struct {
	Token          *oauth2.Token
	IDToken        string // the raw ID token
	IDTokenClaims  Claims
	UserinfoClaims Claims // nil when userinfo was not fetched
	Claims         Claims // the ID token's claims completed by userinfo's
}

var (
	_ upstream.Provider       = (*Provider)(nil)
	_ upstream.IssuerReporter = (*Provider)(nil)
	_ upstream.PKCEUser       = (*Provider)(nil)
)

// New checks cfg, fetches the discovery document (unless cfg.Metadata is
// set) and returns the provider. It fails when the document's issuer is not
// cfg.Issuer byte for byte, when none of the allowed algorithms is one the
// provider signs with, or when the provider takes neither
// client_secret_basic nor client_secret_post. The JWKS is fetched on first
// use.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	if err := checkIssuerURL(cfg.Issuer); err != nil {
		return nil, err
	}
	if cfg.ClientID == "" {
		return nil, errors.New("oidc: ClientID is required")
	}
	if err := cfg.ClaimMapping.Validate(); err != nil {
		return nil, err
	}
	if cfg.AllowedAlgs == nil {
		cfg.AllowedAlgs = DefaultAlgs
	}
	for _, a := range cfg.AllowedAlgs {
		if _, ok := algTable[a]; !ok {
			return nil, fmt.Errorf("oidc: allowed algorithm %q is not supported (none never is)", a)
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = netguard.New(netguard.Config{Logger: cfg.Logger})
	}
	p := &Provider{cfg: cfg, client: cfg.HTTPClient, log: cfg.Logger}

	p.scopes = []string{"openid"}
	scopes := cfg.Scopes
	if scopes == nil {
		scopes = DefaultScopes
	}
	for _, s := range scopes {
		if s != "" && !slices.Contains(p.scopes, s) {
			p.scopes = append(p.scopes, s)
		}
	}
	p.authParams = url.Values{}
	for k, v := range cfg.AuthParams {
		if slices.Contains(reservedAuthParams, strings.ToLower(k)) {
			p.log.Warn("oidc: auth parameter dropped: Sallyport sets it", "issuer", cfg.Issuer, "param", k)
			continue
		}
		p.authParams.Set(k, v)
	}

	var doc *Discovery
	if cfg.Metadata != nil {
		d := *cfg.Metadata
		if d.Issuer == "" {
			d.Issuer = cfg.Issuer
		}
		if d.Issuer != cfg.Issuer {
			return nil, fmt.Errorf("%w: metadata names issuer %q, but the configured issuer is %q", ErrDiscoveryIssuer, d.Issuer, cfg.Issuer)
		}
		if err := d.Check(); err != nil {
			return nil, err
		}
		doc = &d
	} else {
		p.disc = NewDiscoveryCache(DiscoveryCacheConfig{
			Issuer: cfg.Issuer, HTTPClient: p.client, TTL: cfg.DiscoveryTTL, Now: cfg.Now, Logger: cfg.Logger,
		})
		var err error
		if doc, err = p.disc.Get(ctx); err != nil {
			return nil, err
		}
	}
	p.keys = NewKeySet(KeySetConfig{
		URL: doc.JWKSURI, HTTPClient: p.client, MinRefetch: cfg.JWKSMinRefetch, Refresh: cfg.JWKSRefresh,
		Now: cfg.Now, Logger: cfg.Logger,
	})
	s, err := p.build(doc)
	if err != nil {
		return nil, err
	}
	p.cur = s
	return p, nil
}

// build derives a snapshot from a document.
func (p *Provider) build(doc *Discovery) (*snapshot, error) {
	algs := p.cfg.AllowedAlgs
	if len(doc.IDTokenSigningAlgs) > 0 {
		algs = nil
		for _, a := range p.cfg.AllowedAlgs {
			if slices.Contains(doc.IDTokenSigningAlgs, a) {
				algs = append(algs, a)
			}
		}
	}
	if len(algs) == 0 {
		return nil, fmt.Errorf("oidc: none of the allowed algorithms %q is one %s signs ID tokens with (%q)",
			p.cfg.AllowedAlgs, doc.Issuer, doc.IDTokenSigningAlgs)
	}
	style, err := authStyle(doc.TokenEndpointAuthMethods, p.cfg.ClientSecret)
	if err != nil {
		return nil, fmt.Errorf("oidc: %s: %w", doc.Issuer, err)
	}
	v, err := NewVerifier(VerifierConfig{
		Issuer: p.cfg.Issuer, IssuerCheck: p.cfg.IssuerCheck, ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret,
		Algs: algs, Keys: p.keys, TrustedAudiences: p.cfg.TrustedAudiences, Now: p.cfg.Now, Skew: p.cfg.Skew,
	})
	if err != nil {
		return nil, err
	}
	return &snapshot{
		doc: doc,
		oauth: oauth2.Config{
			ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret, Scopes: p.scopes,
			Endpoint: oauth2.Endpoint{AuthURL: doc.AuthorizationEndpoint, TokenURL: doc.TokenEndpoint, AuthStyle: style},
		},
		verifier: v,
		pkce:     PKCESupported(doc.CodeChallengeMethods),
	}, nil
}

// PKCESupported is the PKCE rule for a document's
// code_challenge_methods_supported: S256 unless the provider lists methods
// and S256 is not among them (an absent list is common, Entra's included,
// and providers ignore parameters they do not know).
func PKCESupported(methods []string) bool {
	return len(methods) == 0 || slices.Contains(methods, "S256")
}

// authStyle picks the token endpoint authentication from
// token_endpoint_auth_methods_supported: client_secret_basic (the default
// when the list is absent; x/oauth2 form-encodes id and secret before
// base64, RFC 6749 §2.3.1), else client_secret_post. A public client sends
// its id in the body.
func authStyle(methods []string, secret string) (oauth2.AuthStyle, error) {
	switch {
	case secret == "":
		return oauth2.AuthStyleInParams, nil
	case len(methods) == 0 || slices.Contains(methods, "client_secret_basic"):
		return oauth2.AuthStyleInHeader, nil
	case slices.Contains(methods, "client_secret_post"):
		return oauth2.AuthStyleInParams, nil
	}
	return 0, fmt.Errorf("the token endpoint takes none of client_secret_basic and client_secret_post (it lists %q)", methods)
}

// current returns the snapshot of the current discovery document,
// rebuilding it when a refresh brought a new one. A new document that
// cannot be used is logged and the previous snapshot kept.
func (p *Provider) current(ctx context.Context) (*snapshot, error) {
	if p.disc == nil {
		return p.cur, nil
	}
	doc, err := p.disc.Get(ctx)
	if err != nil {
		return nil, outcome.Wrap(outcome.CodeExchangeFailed, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if doc == p.cur.doc || doc == p.rejected {
		return p.cur, nil
	}
	s, err := p.build(doc)
	if err != nil {
		p.rejected = doc
		p.log.Warn("oidc: refreshed discovery document is unusable; keeping the previous one", "issuer", p.cfg.Issuer, "err", err.Error())
		return p.cur, nil
	}
	p.keys.SetURL(doc.JWKSURI)
	p.cur = s
	return s, nil
}

// Issuer returns the configured issuer (upstream.IssuerReporter): the flow
// records it, and RFC 9207's iss must equal it.
func (p *Provider) Issuer() string { return p.cfg.Issuer }

// UsesPKCE reports whether authorization requests carry an S256 challenge
// (upstream.PKCEUser).
func (p *Provider) UsesPKCE() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cur.pkce
}

// Discovery returns the metadata in use. Callers must not modify it.
func (p *Provider) Discovery(ctx context.Context) (*Discovery, error) {
	s, err := p.current(ctx)
	if err != nil {
		return nil, err
	}
	return s.doc, nil
}

// KeySet returns the provider's JWKS cache.
func (p *Provider) KeySet() *KeySet { return p.keys }

// AuthCodeURL returns the authorization request: response_type=code,
// client_id, redirect_uri, scope, state, nonce, the S256 challenge when the
// provider takes PKCE, login_hint and prompt when set, and the configured
// AuthParams, which never override any of these.
func (p *Provider) AuthCodeURL(ctx context.Context, req upstream.AuthRequest) (string, error) {
	s, err := p.current(ctx)
	if err != nil {
		return "", err
	}
	switch {
	case req.State == "" || req.Nonce == "" || req.RedirectURI == "":
		return "", errors.New("oidc: an authorization request needs a state, a nonce and a redirect URI")
	case s.pkce && req.CodeChallenge == "":
		return "", errors.New("oidc: the provider takes PKCE, but the request has no code challenge")
	}
	u, err := url.Parse(s.doc.AuthorizationEndpoint)
	if err != nil {
		return "", fmt.Errorf("oidc: authorization endpoint: %w", err)
	}
	q := u.Query()
	for k, v := range p.authParams {
		q[k] = v
	}
	if req.LoginHint != "" {
		q.Set("login_hint", req.LoginHint)
	}
	if req.Prompt != "" {
		q.Set("prompt", req.Prompt)
	}
	q.Set("response_type", "code")
	q.Set("client_id", p.cfg.ClientID)
	q.Set("redirect_uri", req.RedirectURI)
	q.Set("scope", strings.Join(p.scopes, " "))
	q.Set("state", req.State)
	q.Set("nonce", req.Nonce)
	if s.pkce {
		q.Set("code_challenge", req.CodeChallenge)
		q.Set("code_challenge_method", "S256")
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// Exchange turns a callback into a verified identity: [Provider.Redeem],
// then [IdentityFrom] with the claim mapping.
func (p *Provider) Exchange(ctx context.Context, cb upstream.Callback) (upstream.Identity, error) {
	r, err := p.Redeem(ctx, cb)
	if err != nil {
		return upstream.Identity{}, err
	}
	return IdentityFrom(r.Claims, p.cfg.ClaimMapping), nil
}

// Redeem checks a callback, redeems its code and verifies what came back.
// In order:
//
//  1. RFC 9207: when the provider advertises the iss parameter it must be
//     present, and when present it must equal the issuer
//     (flow.CheckIssParam) — else invalid_state: the answer may come from
//     another provider (mix-up), so neither its code nor its error is
//     trusted;
//  2. an error parameter → upstream_error (error and error_description
//     only in the cause);
//  3. no single code → invalid_state: the callback is not an
//     authorization response;
//  4. the code is redeemed with x/oauth2 over the netguard client, with
//     the PKCE verifier → code_exchange_failed on a transport error, a
//     non-2xx answer, an error body, or no access_token or id_token;
//  5. the ID token is verified ([Verifier.Verify]) → identity_invalid;
//  6. userinfo, when needed, must have the ID token's sub →
//     identity_invalid; its claims complete the ID token's
//     ([MergeUserinfo]).
func (p *Provider) Redeem(ctx context.Context, cb upstream.Callback) (*Result, error) {
	s, err := p.current(ctx)
	if err != nil {
		return nil, err
	}
	if err := flow.CheckIssParam(cb.Params, p.cfg.Issuer, s.doc.IssParameterSupported); err != nil {
		return nil, err
	}
	if e, ok := cb.Params["error"]; ok {
		return nil, outcome.Wrap(outcome.UpstreamError, fmt.Errorf("%w: error=%q error_description=%q",
			ErrUpstream, upstream.Clip(strings.Join(e, ",")), upstream.Clip(cb.Params.Get("error_description"))))
	}
	codes := cb.Params["code"]
	if len(codes) != 1 || codes[0] == "" {
		return nil, outcome.Wrap(outcome.InvalidState, fmt.Errorf("%w: %d given", ErrMissingCode, len(codes)))
	}
	if cb.RedirectURI == "" {
		return nil, errors.New("oidc: the callback has no redirect URI to repeat at the token endpoint")
	}
	var opts []oauth2.AuthCodeOption
	if s.pkce {
		if cb.CodeVerifier == "" {
			return nil, errors.New("oidc: the provider takes PKCE, but the flow kept no verifier")
		}
		opts = append(opts, oauth2.VerifierOption(cb.CodeVerifier))
	}
	oc := s.oauth
	oc.RedirectURL = cb.RedirectURI
	tok, err := oc.Exchange(context.WithValue(ctx, oauth2.HTTPClient, p.client), codes[0], opts...)
	if err != nil {
		return nil, outcome.Wrap(outcome.CodeExchangeFailed, tokenError(s.doc.TokenEndpoint, err))
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, outcome.Wrap(outcome.CodeExchangeFailed, fmt.Errorf("%w: %s answered without an id_token", ErrTokenEndpoint, s.doc.TokenEndpoint))
	}
	idc, err := s.verifier.Verify(ctx, raw, VerifyOptions{Nonce: cb.Nonce, AccessToken: tok.AccessToken})
	if err != nil {
		return nil, err
	}
	r := &Result{Token: tok, IDToken: raw, IDTokenClaims: idc, Claims: idc}
	if p.needUserinfo(s, idc) {
		if r.UserinfoClaims, err = p.userinfo(ctx, s, tok.AccessToken, idc.String("sub")); err != nil {
			return nil, err
		}
		r.Claims = MergeUserinfo(idc, r.UserinfoClaims,
			p.cfg.ClaimMapping.claim(FieldEmail), p.cfg.ClaimMapping.claim(FieldEmailVerified))
	}
	return r, nil
}

// tokenError describes a failed redemption for logs.
func tokenError(endpoint string, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		return fmt.Errorf("%w: %s answered status %d, error %q, error_description %q",
			ErrTokenEndpoint, endpoint, status, upstream.Clip(re.ErrorCode), upstream.Clip(re.ErrorDescription))
	}
	return fmt.Errorf("%w: %w", ErrTokenEndpoint, err)
}

// needUserinfo: the provider has a userinfo endpoint, and the connection
// asks for it always, or the ID token lacks the email claim, or lacks name
// under the profile scope, or a scope beyond openid, email, profile and
// offline_access was asked for (its claims come from userinfo, OIDC Core
// §5.4).
func (p *Provider) needUserinfo(s *snapshot, idc Claims) bool {
	if s.doc.UserinfoEndpoint == "" {
		return false
	}
	if p.cfg.AlwaysFetchUserinfo {
		return true
	}
	if _, ok := idc[p.cfg.ClaimMapping.claim(FieldEmail)]; !ok {
		return true
	}
	for _, sc := range p.scopes {
		switch sc {
		case "openid", "email", "offline_access":
		case "profile":
			if _, ok := idc[p.cfg.ClaimMapping.claim(FieldName)]; !ok {
				return true
			}
		default:
			return true
		}
	}
	return false
}
