package github

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/sallyport/sallyport/internal/netguard"
	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/store"
	"github.com/sallyport/sallyport/internal/upstream"
)

// Endpoints of github.com, used when [Config.BaseURL] is empty.
const (
	DefaultAuthURL    = "https://github.com/login/oauth/authorize"
	DefaultTokenURL   = "https://github.com/login/oauth/access_token"
	DefaultAPIBaseURL = "https://api.github.com"
)

// APIVersion is the REST API version every API request asks for in
// X-GitHub-Api-Version.
const APIVersion = "2022-11-28"

// MaxEmailPages bounds how many pages of GET /user/emails (100 addresses
// each) one sign-in reads before giving up on finding the primary address.
const MaxEmailPages = 10

// maxBody caps every response body this package reads.
const maxBody = 1 << 20

// defaultScopes are requested when [Config.Scopes] is empty.
var defaultScopes = []string{"read:user", "user:email"}

// Internal causes, carried by the *outcome.Error values Exchange returns.
var (
	errCallback = errors.New("github: the callback carries an error")
	errNoCode   = errors.New("github: the callback carries no code")
	errToken    = errors.New("github: redeeming the code failed")
	errAPI      = errors.New("github: an API request failed")
	errIdentity = errors.New("github: GET /user gave no usable id")
)

// Config configures [New].
type Config struct {
	// ClientID and ClientSecret are the OAuth app's credentials.
	ClientID     string
	ClientSecret string
	// Scopes requested; empty means read:user user:email. Without
	// user:email (or user) granted, identities carry no email.
	Scopes []string
	// BaseURL is a GitHub Enterprise Server's base URL, such as
	// https://github.example.com; empty (or https://github.com) means
	// github.com. It must be https (http only on a loopback host, for
	// tests) with no query, fragment or user info. The endpoints are then
	// BASE/login/oauth/* and the API BASE/api/v3.
	BaseURL string
	// APIBaseURL overrides the REST API base (tests point it at testidp).
	APIBaseURL string
	// AuthURL and TokenURL override the OAuth endpoints (tests).
	AuthURL  string
	TokenURL string
	// AuthParams are extra authorization request parameters (allow_signup,
	// prompt…); the ones the provider sets itself are refused.
	AuthParams map[string]string
	// TrustEnterpriseEmails marks a GitHub Enterprise Server's primary
	// addresses as verified. GHES does not verify addresses, so leave it
	// off unless its administrators vouch for every address; New logs a
	// warning when it is on. It requires BaseURL.
	TrustEnterpriseEmails bool
	// HTTPClient makes every request; nil means a [netguard] client, which
	// refuses private addresses (BaseURL is admin-supplied). Pass one with
	// custom root CAs for an Enterprise server with a private CA.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now. Nothing GitHub sends is
	// time-checked (there is no ID token); it is here so every provider
	// is wired alike.
	Now func() time.Time
	// Logger receives debug lines (never a token); nil discards.
	Logger *slog.Logger
}

// Provider is a GitHub connection. It implements [upstream.Provider] and
// [upstream.PKCEUser]; its methods are safe for concurrent use.
type Provider struct {
	oauth      oauth2.Config // RedirectURL is set per request
	apiBase    *url.URL
	enterprise bool
	trustEmail bool
	authParams map[string]string
	client     *http.Client
	tokenHTTP  *http.Client // client, asking the token endpoint for JSON
	now        func() time.Time
	log        *slog.Logger
}

var (
	_ upstream.Provider = (*Provider)(nil)
	_ upstream.PKCEUser = (*Provider)(nil)
)

// New checks cfg and returns a provider.
func New(cfg Config) (*Provider, error) {
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("github: client id and client secret are required")
	}
	scopes := cfg.Scopes
	if len(scopes) == 0 {
		scopes = defaultScopes
	}
	for _, s := range scopes {
		if !upstream.IsScopeName(s) {
			return nil, fmt.Errorf("github: scope %q must be one scope name", s)
		}
	}
	// Refused, not dropped as oidc does: the request is built here, and a
	// reserved name in the configuration is a mistake to report at start.
	if err := upstream.CheckAuthParams(cfg.AuthParams); err != nil {
		return nil, fmt.Errorf("github: %w", err)
	}

	authURL, tokenURL, apiBase := DefaultAuthURL, DefaultTokenURL, DefaultAPIBaseURL
	enterprise := false
	if cfg.BaseURL != "" {
		base, err := enterpriseBase(cfg.BaseURL)
		if err != nil {
			return nil, err
		}
		if base != "https://github.com" {
			enterprise = true
			authURL, tokenURL, apiBase = base+"/login/oauth/authorize", base+"/login/oauth/access_token", base+"/api/v3"
		}
	}
	if cfg.TrustEnterpriseEmails && !enterprise {
		return nil, errors.New("github: TrustEnterpriseEmails applies only to a GitHub Enterprise Server (BaseURL): github.com verifies addresses itself")
	}
	for _, o := range []struct {
		name string
		val  string
		dst  *string
	}{{"AuthURL", cfg.AuthURL, &authURL}, {"TokenURL", cfg.TokenURL, &tokenURL}, {"APIBaseURL", cfg.APIBaseURL, &apiBase}} {
		if o.val == "" {
			continue
		}
		if err := upstream.CheckEndpoint(o.val); err != nil {
			return nil, fmt.Errorf("github: %s: %w", o.name, err)
		}
		*o.dst = o.val
	}
	api, err := url.Parse(strings.TrimSuffix(apiBase, "/"))
	if err != nil {
		return nil, fmt.Errorf("github: API base: %w", err)
	}

	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	client := cfg.HTTPClient
	if client == nil {
		client = netguard.New(netguard.Config{Logger: log})
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	if cfg.TrustEnterpriseEmails {
		log.Warn("github: TrustEnterpriseEmails is on: every primary address of the GitHub Enterprise Server counts as verified and may match existing Sallyport accounts", "base_url", cfg.BaseURL)
	}
	tokenHTTP := *client
	tokenHTTP.Transport = acceptJSON{base: client.Transport}
	return &Provider{
		oauth: oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			Scopes:       slices.Clone(scopes),
			Endpoint:     oauth2.Endpoint{AuthURL: authURL, TokenURL: tokenURL, AuthStyle: oauth2.AuthStyleInParams},
		},
		apiBase:    api,
		enterprise: enterprise,
		trustEmail: cfg.TrustEnterpriseEmails,
		authParams: cfg.AuthParams,
		client:     client,
		tokenHTTP:  &tokenHTTP,
		now:        now,
		log:        log,
	}, nil
}

// enterpriseBase checks an Enterprise base URL (the same rule the config
// file applies to base_url) and returns it without a trailing slash, its
// scheme and host lower-cased.
func enterpriseBase(raw string) (string, error) {
	u, err := upstream.CheckBaseURL(raw)
	if err != nil {
		return "", fmt.Errorf("github: BaseURL %w", err)
	}
	u.Host = strings.ToLower(u.Host)
	u.Scheme = strings.ToLower(u.Scheme)
	return strings.TrimRight(u.String(), "/"), nil
}

// UsesPKCE reports that GitHub takes PKCE (S256, since 2025-07).
func (p *Provider) UsesPKCE() bool { return true }

// AuthCodeURL returns GitHub's authorization URL for req. It refuses a
// request without state, redirect URI or PKCE challenge. req.Nonce is not
// sent: GitHub issues no ID token. req.LoginHint is sent as login;
// req.Prompt is sent only when it is select_account, the one value GitHub
// knows.
func (p *Provider) AuthCodeURL(_ context.Context, req upstream.AuthRequest) (string, error) {
	if req.State == "" || req.RedirectURI == "" || req.CodeChallenge == "" {
		return "", errors.New("github: an authorization request needs a state, a redirect URI and a PKCE challenge")
	}
	cfg := p.oauth
	cfg.RedirectURL = req.RedirectURI
	var opts []oauth2.AuthCodeOption
	for k, v := range p.authParams {
		opts = append(opts, oauth2.SetAuthURLParam(k, v))
	}
	opts = append(opts,
		oauth2.SetAuthURLParam("code_challenge", req.CodeChallenge),
		oauth2.SetAuthURLParam("code_challenge_method", "S256"))
	if req.LoginHint != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login", req.LoginHint))
	}
	if req.Prompt == "select_account" {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", req.Prompt))
	}
	return cfg.AuthCodeURL(req.State, opts...), nil
}

// Exchange redeems the callback's code and reads the identity from the
// REST API (see the package documentation for the rules). Errors are
// *outcome.Error: upstream_error for an error callback, code_exchange_failed
// when redeeming the code or an API request fails, identity_invalid when
// /user names no usable id.
func (p *Provider) Exchange(ctx context.Context, cb upstream.Callback) (upstream.Identity, error) {
	if e := cb.Params.Get("error"); e != "" {
		return upstream.Identity{}, outcome.Wrap(outcome.UpstreamError,
			fmt.Errorf("%w: error=%q error_description=%q", errCallback, upstream.Clip(e), upstream.Clip(cb.Params.Get("error_description"))))
	}
	code := cb.Params.Get("code")
	if code == "" {
		return upstream.Identity{}, outcome.Wrap(outcome.UpstreamError, errNoCode)
	}
	tok, err := p.redeem(ctx, code, cb)
	if err != nil {
		return upstream.Identity{}, outcome.Wrap(outcome.CodeExchangeFailed, err)
	}
	id, err := p.user(ctx, tok.AccessToken)
	if err != nil {
		return upstream.Identity{}, err
	}
	granted, _ := tok.Extra("scope").(string)
	if !hasEmailScope(granted) {
		p.log.DebugContext(ctx, "github: the token was not granted user:email, so the identity has no email", "granted_scopes", granted)
		return id, nil
	}
	e, found, err := p.primaryEmail(ctx, tok.AccessToken)
	if err != nil {
		return upstream.Identity{}, outcome.Wrap(outcome.CodeExchangeFailed, err)
	}
	switch {
	case !found:
		p.log.DebugContext(ctx, "github: no primary address found, so the identity has no email", "subject", id.Subject)
		return id, nil
	case !p.enterprise && !e.Verified:
		p.log.DebugContext(ctx, "github: the primary address is not verified, so the identity has no email", "subject", id.Subject)
		return id, nil
	}
	norm, err := store.NormalizeEmail(e.Email)
	if err != nil {
		p.log.DebugContext(ctx, "github: the primary address is not a valid address, so the identity has no email", "subject", id.Subject)
		return id, nil
	}
	id.Email = norm
	// On github.com only a verified primary gets here; an Enterprise
	// server verifies nothing, so only the operator can vouch for it.
	id.EmailVerified = !p.enterprise || p.trustEmail
	return id, nil
}

// redeem posts the code to the token endpoint.
func (p *Provider) redeem(ctx context.Context, code string, cb upstream.Callback) (*oauth2.Token, error) {
	cfg := p.oauth
	cfg.RedirectURL = cb.RedirectURI
	var opts []oauth2.AuthCodeOption
	if cb.CodeVerifier != "" {
		opts = append(opts, oauth2.VerifierOption(cb.CodeVerifier))
	}
	tok, err := cfg.Exchange(context.WithValue(ctx, oauth2.HTTPClient, p.tokenHTTP), code, opts...)
	if err != nil {
		var re *oauth2.RetrieveError
		switch {
		case errors.As(err, &re) && re.ErrorCode != "":
			return nil, fmt.Errorf("%w: HTTP %d, error=%q error_description=%q", errToken, re.Response.StatusCode, upstream.Clip(re.ErrorCode), upstream.Clip(re.ErrorDescription))
		case errors.As(err, &re):
			return nil, fmt.Errorf("%w: HTTP %d", errToken, re.Response.StatusCode)
		}
		// x/oauth2 reports a 200 without access_token, transport and
		// parse failures here; none of them carries a token.
		return nil, fmt.Errorf("%w: %v", errToken, upstream.RedactURL(err))
	}
	return tok, nil
}

// hasEmailScope reports whether GitHub's comma-separated granted scopes
// allow reading /user/emails (user:email, or the wider user).
func hasEmailScope(granted string) bool {
	for s := range strings.SplitSeq(granted, ",") {
		if s = strings.TrimSpace(s); s == "user:email" || s == "user" {
			return true
		}
	}
	return false
}

// acceptJSON asks for JSON: without it GitHub's token endpoint answers
// form-encoded.
type acceptJSON struct{ base http.RoundTripper }

// RoundTrip implements http.RoundTripper.
func (t acceptJSON) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Accept", "application/json")
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r)
}

// subject writes a GitHub id as the identity subject.
func subject(id int64) string { return strconv.FormatInt(id, 10) }
