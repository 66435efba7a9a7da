package apple

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"

	"github.com/sallyport/sallyport/internal/flow"
	"github.com/sallyport/sallyport/internal/netguard"
	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/store"
	"github.com/sallyport/sallyport/internal/upstream"
	"github.com/sallyport/sallyport/internal/upstream/oidc"
)

// DefaultIssuer is Apple's issuer, used when [Config.Issuer] is empty. The
// endpoints are below it: /auth/authorize, /auth/token and /auth/keys.
const DefaultIssuer = "https://appleid.apple.com"

// ClientSecretTTL is how long a minted client secret is valid. Apple
// allows up to 15777000 s (six months); a secret is minted for every token
// request, so it only needs to outlive that request.
const ClientSecretTTL = 5 * time.Minute

// DefaultScopes are requested when [Config.Scopes] is empty.
var DefaultScopes = []string{"name", "email"}

// Algorithms Apple signs ID tokens with.
var algs = []string{"RS256"}

// Limits on the unsigned user form field.
const (
	maxUserField = 4 << 10 // bytes of JSON
	maxNameRunes = 200     // of the display name built from it
)

// ErrConfig is wrapped by every error New returns for a bad [Config].
var ErrConfig = errors.New("apple: invalid configuration")

// Config configures [New].
type Config struct {
	// ClientID is the Services ID (the web client id). Required.
	ClientID string
	// TeamID is the Apple developer team id: the client secret's iss.
	// Required.
	TeamID string
	// KeyID is the id of the Sign in with Apple key: the client secret's
	// kid. Required.
	KeyID string
	// PrivateKeyPEM is that key as Apple hands it out: the .p8 file, a PEM
	// "PRIVATE KEY" block holding a PKCS#8 EC P-256 key. Required. It
	// signs client secrets and appears in no error or log.
	PrivateKeyPEM string
	// Scopes requested; empty means DefaultScopes (name email).
	Scopes []string
	// Issuer overrides DefaultIssuer (tests point it at testidp's Apple
	// persona). It is the ID token's iss, byte for byte, and the client
	// secret's aud.
	Issuer string
	// AuthURL, TokenURL and JWKSURL override the endpoints, which
	// otherwise are Issuer + /auth/authorize, /auth/token and /auth/keys.
	AuthURL  string
	TokenURL string
	JWKSURL  string
	// HTTPClient makes the token and JWKS requests; nil means a netguard
	// client with its safe defaults.
	HTTPClient *http.Client
	// Now is the clock for ID token checks and client secrets; nil means
	// time.Now.
	Now func() time.Time
	// Logger receives debug lines (never a token, a secret or the key);
	// nil discards them.
	Logger *slog.Logger
}

// Provider is a Sign in with Apple connection. It implements
// [upstream.Provider], [upstream.IssuerReporter], [upstream.PKCEUser] and
// [upstream.FormPoster], and is safe for concurrent use.
type Provider struct {
	clientID string
	teamID   string
	keyID    string
	key      *ecdsa.PrivateKey
	issuer   string
	authURL  string
	tokenURL string
	scopes   []string
	client   *http.Client
	verifier *oidc.Verifier
	now      func() time.Time
	log      *slog.Logger
}

var (
	_ upstream.Provider       = (*Provider)(nil)
	_ upstream.IssuerReporter = (*Provider)(nil)
	_ upstream.PKCEUser       = (*Provider)(nil)
	_ upstream.FormPoster     = (*Provider)(nil)
)

// New checks cfg, parses the private key and returns the provider. It
// makes no request: Apple's JWKS is fetched on first use.
func New(cfg Config) (*Provider, error) {
	switch {
	case cfg.ClientID == "":
		return nil, fmt.Errorf("%w: the client id (Services ID) is required", ErrConfig)
	case cfg.TeamID == "" || strings.ContainsFunc(cfg.TeamID, unicode.IsSpace):
		return nil, fmt.Errorf("%w: the team id is required, without spaces", ErrConfig)
	case cfg.KeyID == "" || strings.ContainsFunc(cfg.KeyID, unicode.IsSpace):
		return nil, fmt.Errorf("%w: the key id is required, without spaces", ErrConfig)
	}
	key, err := parseKey(cfg.PrivateKeyPEM)
	if err != nil {
		return nil, err
	}
	issuer := cfg.Issuer
	if issuer == "" {
		issuer = DefaultIssuer
	}
	endpoint := func(override, path string) string {
		if override != "" {
			return override
		}
		return strings.TrimSuffix(issuer, "/") + path
	}
	meta := oidc.Discovery{
		Issuer:                issuer,
		AuthorizationEndpoint: endpoint(cfg.AuthURL, "/auth/authorize"),
		TokenEndpoint:         endpoint(cfg.TokenURL, "/auth/token"),
		JWKSURI:               endpoint(cfg.JWKSURL, "/auth/keys"),
	}
	if err := meta.Check(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	scopes := cfg.Scopes
	if len(scopes) == 0 {
		scopes = DefaultScopes
	}
	var uniq []string
	for _, s := range scopes {
		if s == "" || strings.ContainsFunc(s, unicode.IsSpace) {
			return nil, fmt.Errorf("%w: scope %q must be one scope name", ErrConfig, s)
		}
		if !slices.Contains(uniq, s) {
			uniq = append(uniq, s)
		}
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
	keys := oidc.NewKeySet(oidc.KeySetConfig{URL: meta.JWKSURI, HTTPClient: client, Now: now, Logger: log})
	verifier, err := oidc.NewVerifier(oidc.VerifierConfig{
		Issuer: issuer, ClientID: cfg.ClientID, Algs: algs, Keys: keys, Now: now,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return &Provider{
		clientID: cfg.ClientID,
		teamID:   cfg.TeamID,
		keyID:    cfg.KeyID,
		key:      key,
		issuer:   issuer,
		authURL:  meta.AuthorizationEndpoint,
		tokenURL: meta.TokenEndpoint,
		scopes:   uniq,
		client:   client,
		verifier: verifier,
		now:      now,
		log:      log,
	}, nil
}

// parseKey reads the .p8 file: one PEM "PRIVATE KEY" block, PKCS#8, EC
// P-256. Errors never quote the key.
func parseKey(pemText string) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(strings.TrimSpace(pemText)))
	switch {
	case pemText == "":
		return nil, fmt.Errorf("%w: the private key (the .p8 file) is required", ErrConfig)
	case block == nil:
		return nil, fmt.Errorf("%w: the private key is not PEM: paste the whole .p8 file, BEGIN and END lines included", ErrConfig)
	case block.Type != "PRIVATE KEY":
		return nil, fmt.Errorf("%w: the private key is a PEM %q block; want the .p8 file's \"PRIVATE KEY\" (PKCS#8)", ErrConfig, block.Type)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: the private key is not PKCS#8", ErrConfig)
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: the private key is not an EC P-256 key, as Sign in with Apple keys are", ErrConfig)
	}
	return ec, nil
}

// Issuer returns the issuer (upstream.IssuerReporter).
func (p *Provider) Issuer() string { return p.issuer }

// UsesPKCE reports false (upstream.PKCEUser): Apple takes no PKCE.
func (p *Provider) UsesPKCE() bool { return false }

// FormPost reports true (upstream.FormPoster): the callback is a
// cross-site POST.
func (p *Provider) FormPost() bool { return true }

// AuthCodeURL returns Apple's authorization URL: response_type=code,
// response_mode=form_post, client_id, redirect_uri, scope (separated by
// %20), state and nonce. req.CodeChallenge, LoginHint and Prompt are not
// sent. A request without state, nonce or redirect URI is refused.
func (p *Provider) AuthCodeURL(_ context.Context, req upstream.AuthRequest) (string, error) {
	if req.State == "" || req.Nonce == "" || req.RedirectURI == "" {
		return "", errors.New("apple: an authorization request needs a state, a nonce and a redirect URI")
	}
	u, err := url.Parse(p.authURL)
	if err != nil {
		return "", fmt.Errorf("apple: authorization endpoint: %w", err)
	}
	q := u.Query()
	q.Set("response_type", "code")
	q.Set("response_mode", "form_post")
	q.Set("client_id", p.clientID)
	q.Set("redirect_uri", req.RedirectURI)
	q.Set("scope", strings.Join(p.scopes, " "))
	q.Set("state", req.State)
	q.Set("nonce", req.Nonce)
	// Encode writes a space as + and a literal + as %2B, so every + left
	// is a space; Apple asks for %20.
	u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
	return u.String(), nil
}

// Exchange checks the POSTed callback, redeems its code with a freshly
// minted client secret, verifies the ID token and returns the identity,
// named from the user field when Apple sent one (see the package
// documentation). Errors are *outcome.Error: invalid_state, upstream_error
// (wrapping [oidc.ErrUpstream]), code_exchange_failed (wrapping
// [oidc.ErrTokenEndpoint] or [oidc.ErrJWKS]) or identity_invalid (an oidc
// verification cause).
func (p *Provider) Exchange(ctx context.Context, cb upstream.Callback) (upstream.Identity, error) {
	if err := flow.CheckIssParam(cb.Params, p.issuer, false); err != nil {
		return upstream.Identity{}, err
	}
	if e, ok := cb.Params["error"]; ok {
		return upstream.Identity{}, outcome.Wrap(outcome.UpstreamError, fmt.Errorf("%w: error=%q error_description=%q",
			oidc.ErrUpstream, upstream.Clip(strings.Join(e, ",")), upstream.Clip(cb.Params.Get("error_description"))))
	}
	codes := cb.Params["code"]
	if len(codes) != 1 || codes[0] == "" {
		return upstream.Identity{}, outcome.Wrap(outcome.InvalidState, fmt.Errorf("%w: %d given", oidc.ErrMissingCode, len(codes)))
	}
	if cb.RedirectURI == "" {
		return upstream.Identity{}, errors.New("apple: the callback has no redirect URI to repeat at the token endpoint")
	}
	secret, err := p.clientSecret(p.now())
	if err != nil {
		return upstream.Identity{}, err
	}
	oc := oauth2.Config{
		ClientID:     p.clientID,
		ClientSecret: secret,
		RedirectURL:  cb.RedirectURI,
		Endpoint:     oauth2.Endpoint{TokenURL: p.tokenURL, AuthStyle: oauth2.AuthStyleInParams},
	}
	tok, err := oc.Exchange(context.WithValue(ctx, oauth2.HTTPClient, p.client), codes[0])
	if err != nil {
		return upstream.Identity{}, outcome.Wrap(outcome.CodeExchangeFailed, p.tokenError(err))
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return upstream.Identity{}, outcome.Wrap(outcome.CodeExchangeFailed,
			fmt.Errorf("%w: %s answered without an id_token", oidc.ErrTokenEndpoint, p.tokenURL))
	}
	c, err := p.verifier.Verify(ctx, raw, oidc.VerifyOptions{Nonce: cb.Nonce, AccessToken: tok.AccessToken})
	if err != nil {
		return upstream.Identity{}, err
	}
	id := identity(c)
	if users := cb.Params["user"]; len(users) == 1 {
		id.Name = displayName(users[0])
		if id.Name == "" {
			p.log.DebugContext(ctx, "apple: the user form field holds no usable name; ignored", "subject", id.Subject, "bytes", len(users[0]))
		}
	}
	return id, nil
}

// identity builds the identity from verified ID token claims.
// email_verified and is_private_email become booleans in Claims.
func identity(c oidc.Claims) upstream.Identity {
	claims := maps.Clone(c)
	for _, k := range []string{"email_verified", "is_private_email"} {
		if _, ok := claims[k]; ok {
			claims[k] = c.Bool(k)
		}
	}
	id := upstream.Identity{Subject: c.String("sub"), Claims: claims}
	if e, err := store.NormalizeEmail(c.String("email")); err == nil {
		id.Email = e
		id.EmailVerified = c.Bool("email_verified")
	}
	return id
}

// displayName reads the name from Apple's unsigned user field: first and
// last name, control characters dropped, spaces collapsed, at most
// maxNameRunes. Its email, and anything else, is ignored. "" when the
// field is too long, not JSON, or names nobody.
func displayName(field string) string {
	if len(field) > maxUserField {
		return ""
	}
	var u struct {
		Name *struct {
			FirstName string `json:"firstName"`
			LastName  string `json:"lastName"`
		} `json:"name"`
	}
	if err := json.Unmarshal([]byte(field), &u); err != nil || u.Name == nil {
		return ""
	}
	name := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return ' '
		}
		return r
	}, u.Name.FirstName+" "+u.Name.LastName)
	name = strings.Join(strings.Fields(name), " ")
	if utf8.RuneCountInString(name) > maxNameRunes {
		name = strings.TrimSpace(string([]rune(name)[:maxNameRunes]))
	}
	return name
}

// clientSecret mints the ES256 client-secret JWT for one token request:
// header kid = KeyID; iss = TeamID, sub = ClientID, aud = the issuer,
// iat = now, exp = now + ClientSecretTTL.
func (p *Provider) clientSecret(now time.Time) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: p.key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", p.keyID))
	if err != nil {
		return "", fmt.Errorf("apple: client secret: %w", err)
	}
	s, err := jwt.Signed(signer).Claims(jwt.Claims{
		Issuer:   p.teamID,
		Subject:  p.clientID,
		Audience: jwt.Audience{p.issuer},
		IssuedAt: jwt.NewNumericDate(now),
		Expiry:   jwt.NewNumericDate(now.Add(ClientSecretTTL)),
	}).Serialize()
	if err != nil {
		return "", fmt.Errorf("apple: client secret: %w", err)
	}
	return s, nil
}

// tokenError describes a failed redemption for logs: the status and
// Apple's error code, never the request (which holds the secret) or a
// token.
func (p *Provider) tokenError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		return fmt.Errorf("%w: %s answered status %d, error %q, error_description %q",
			oidc.ErrTokenEndpoint, p.tokenURL, status, upstream.Clip(re.ErrorCode), upstream.Clip(re.ErrorDescription))
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%w: %s: %w", oidc.ErrTokenEndpoint, p.tokenURL, ue.Err)
	}
	return fmt.Errorf("%w: %w", oidc.ErrTokenEndpoint, err)
}
