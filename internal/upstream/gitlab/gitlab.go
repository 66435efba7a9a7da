package gitlab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/upstream"
	"github.com/sallyport/sallyport/internal/upstream/oidc"
)

// DefaultBaseURL is gitlab.com, used when [Config.BaseURL] is empty.
const DefaultBaseURL = "https://gitlab.com"

// DefaultScopes are requested when [Config.Scopes] is empty.
var DefaultScopes = []string{"openid", "profile", "email"}

// ErrSubject is the cause of an identity_invalid refusal: the ID token's
// sub is not GitLab's numeric user id.
var ErrSubject = errors.New("gitlab: sub is not a numeric user id")

// maxSubjectDigits bounds sub: GitLab user ids are 64-bit integers.
const maxSubjectDigits = 19

// Config configures [New].
type Config struct {
	// ClientID and ClientSecret are the GitLab application's credentials
	// (a confidential application). Required.
	ClientID     string
	ClientSecret string
	// BaseURL is the instance's external URL, including any relative root
	// (https://example.com/gitlab); empty means DefaultBaseURL. It must be
	// https (http only on a loopback host, for tests) with no query,
	// fragment or user info; a trailing slash is dropped. It is the issuer.
	BaseURL string
	// Scopes requested; empty means DefaultScopes. openid is always sent.
	Scopes []string
	// AuthParams are extra authorization request parameters; the ones oidc
	// sets are dropped with a warning.
	AuthParams map[string]string
	// HTTPClient makes every request (discovery, JWKS, token, userinfo);
	// nil means a netguard client with its safe defaults (BaseURL is
	// admin-supplied). Pass one with custom root CAs for an instance with
	// a private CA.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives warnings and refusal details (never a token); nil
	// discards them.
	Logger *slog.Logger
}

// Provider is a GitLab connection. It implements [upstream.Provider],
// [upstream.IssuerReporter] and [upstream.PKCEUser], and is safe for
// concurrent use.
type Provider struct {
	oidc *oidc.Provider
	log  *slog.Logger
}

var (
	_ upstream.Provider       = (*Provider)(nil)
	_ upstream.IssuerReporter = (*Provider)(nil)
	_ upstream.PKCEUser       = (*Provider)(nil)
)

// New checks cfg, fetches the instance's discovery document and returns
// the provider.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("gitlab: client id and client secret are required")
	}
	issuer := DefaultBaseURL
	if cfg.BaseURL != "" {
		var err error
		if issuer, err = baseURL(cfg.BaseURL); err != nil {
			return nil, err
		}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	scopes := cfg.Scopes
	if len(scopes) == 0 {
		scopes = DefaultScopes
	}
	op, err := oidc.New(ctx, oidc.Config{
		Issuer:       issuer,
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		Scopes:       scopes,
		AuthParams:   cfg.AuthParams,
		HTTPClient:   cfg.HTTPClient,
		Now:          cfg.Now,
		Logger:       log,
	})
	if err != nil {
		return nil, fmt.Errorf("gitlab: %w", err)
	}
	return &Provider{oidc: op, log: log}, nil
}

// baseURL checks a base URL (the rule the config file applies to base_url)
// and returns it without a trailing slash. Nothing else is changed: the
// result is compared byte for byte with the discovery document's issuer.
func baseURL(raw string) (string, error) {
	if _, err := upstream.CheckBaseURL(raw); err != nil {
		return "", fmt.Errorf("gitlab: BaseURL %q %w", raw, err)
	}
	return strings.TrimRight(raw, "/"), nil
}

// Issuer returns the instance's issuer, its base URL
// (upstream.IssuerReporter).
func (p *Provider) Issuer() string { return p.oidc.Issuer() }

// UsesPKCE reports whether authorization requests carry an S256 challenge
// (upstream.PKCEUser): true, as GitLab advertises S256.
func (p *Provider) UsesPKCE() bool { return p.oidc.UsesPKCE() }

// AuthCodeURL returns GitLab's authorization URL for req (see
// oidc.Provider.AuthCodeURL).
func (p *Provider) AuthCodeURL(ctx context.Context, req upstream.AuthRequest) (string, error) {
	return p.oidc.AuthCodeURL(ctx, req)
}

// Exchange redeems the callback and returns the identity: oidc's checks,
// then a numeric sub (identity_invalid wrapping [ErrSubject]).
func (p *Provider) Exchange(ctx context.Context, cb upstream.Callback) (upstream.Identity, error) {
	r, err := p.oidc.Redeem(ctx, cb)
	if err != nil {
		return upstream.Identity{}, err
	}
	sub := r.IDTokenClaims.String("sub")
	if !numeric(sub) {
		return upstream.Identity{}, outcome.Wrap(outcome.IdentityInvalid, fmt.Errorf("%w: got %q", ErrSubject, sub))
	}
	id := oidc.IdentityFrom(r.Claims, nil)
	// GitLab sends a JSON boolean; nothing else vouches for the address.
	id.EmailVerified = id.Email != "" && r.Claims["email_verified"] == true
	id.Username = r.Claims.String("nickname")
	if id.Username == "" {
		id.Username = r.Claims.String("preferred_username")
	}
	return id, nil
}

// numeric reports whether s is a positive decimal integer without leading
// zeros, as GitLab's user ids are.
func numeric(s string) bool {
	if s == "" || len(s) > maxSubjectDigits || s[0] == '0' {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
