package google

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/store"
	"github.com/sallyport/sallyport/internal/upstream"
	"github.com/sallyport/sallyport/internal/upstream/oidc"
)

// DefaultIssuer is Google's issuer, used when [Config.Issuer] is empty.
const DefaultIssuer = "https://accounts.google.com"

// DefaultScopes are requested when [Config.Scopes] is empty.
var DefaultScopes = []string{"openid", "email", "profile"}

// ClaimEmailAuthoritative is the claim Sallyport adds to every Google
// identity's Claims: a JSON boolean, true only when the email is verified
// and Google is authoritative for it (a @gmail.com address, or a token
// carrying hd). See the package documentation.
const ClaimEmailAuthoritative = "sallyport_email_authoritative"

// ErrHostedDomain is the cause of a not_allowed refusal: the ID token's hd
// claim is missing or names a domain outside [Config.HostedDomains].
var ErrHostedDomain = errors.New("google: the account's hosted domain is not allowed")

// Config configures [New].
type Config struct {
	// ClientID and ClientSecret are the OAuth client's credentials.
	// Required.
	ClientID     string
	ClientSecret string
	// Scopes requested; empty means DefaultScopes. openid is always sent.
	Scopes []string
	// HostedDomains, when set, is the allow-list of Google Workspace
	// domains: the ID token's hd claim must be one of them, and accounts
	// without hd (consumer accounts) are refused with not_allowed. With
	// exactly one domain, hd=DOMAIN is also sent as a hint to Google's
	// account chooser. Compared case-insensitively (IDNA ASCII form).
	HostedDomains []string
	// Issuer overrides DefaultIssuer (tests point it at testidp's Google
	// persona). The discovery document must name it byte for byte; ID
	// tokens may carry it or the same without its scheme.
	Issuer string
	// AuthParams are extra authorization request parameters (prompt,
	// access_type…); the ones oidc sets are dropped with a warning. An hd
	// here must agree with a single HostedDomains entry; without
	// HostedDomains it is a mere hint and restricts nothing.
	AuthParams map[string]string
	// HTTPClient makes every request (discovery, JWKS, token, userinfo);
	// nil means a netguard client with its safe defaults.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives warnings and refusal details (never a token); nil
	// discards them.
	Logger *slog.Logger
}

// Provider is a Google connection. It implements [upstream.Provider],
// [upstream.IssuerReporter] and [upstream.PKCEUser], and is safe for
// concurrent use.
type Provider struct {
	oidc   *oidc.Provider
	hosted []string // normalised HostedDomains
	log    *slog.Logger
}

var (
	_ upstream.Provider       = (*Provider)(nil)
	_ upstream.IssuerReporter = (*Provider)(nil)
	_ upstream.PKCEUser       = (*Provider)(nil)
)

// New checks cfg, fetches Google's discovery document and returns the
// provider.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("google: client id and client secret are required")
	}
	issuer := cfg.Issuer
	if issuer == "" {
		issuer = DefaultIssuer
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	hosted, err := hostedDomains(cfg.HostedDomains)
	if err != nil {
		return nil, err
	}
	params, err := authParams(cfg.AuthParams, hosted, log)
	if err != nil {
		return nil, err
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
		AuthParams:   params,
		IssuerCheck:  issuerCheck(issuer),
		HTTPClient:   cfg.HTTPClient,
		Now:          cfg.Now,
		Logger:       log,
	})
	if err != nil {
		return nil, fmt.Errorf("google: %w", err)
	}
	return &Provider{oidc: op, hosted: hosted, log: log}, nil
}

// hostedDomains normalises the allow-list.
func hostedDomains(in []string) ([]string, error) {
	var out []string
	for _, d := range in {
		n, err := store.NormalizeDomain(d)
		if err != nil || strings.ContainsAny(n, "@*/ ") {
			return nil, fmt.Errorf("google: hosted domain %q is not a domain name", d)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

// authParams adds hd=DOMAIN when exactly one hosted domain is allowed,
// refusing an AuthParams hd that names another.
func authParams(in map[string]string, hosted []string, log *slog.Logger) (map[string]string, error) {
	out := maps.Clone(in)
	if out == nil {
		out = map[string]string{}
	}
	var hint string
	for k, v := range out {
		if strings.EqualFold(k, "hd") {
			hint = v
			delete(out, k)
		}
	}
	switch {
	case len(hosted) == 1:
		if hint != "" {
			if n, err := store.NormalizeDomain(hint); err != nil || n != hosted[0] {
				return nil, fmt.Errorf("google: auth parameter hd=%q contradicts HostedDomains %q", hint, hosted)
			}
		}
		out["hd"] = hosted[0]
	case hint != "":
		out["hd"] = hint
		if len(hosted) == 0 {
			log.Warn("google: auth parameter hd is only a hint to Google's account chooser and restricts nothing; set the hosted domains to enforce it", "hd", hint)
		}
	}
	return out, nil
}

// issuerCheck accepts the issuer and Google's legacy form of it, the same
// without its scheme (https://accounts.google.com and accounts.google.com).
func issuerCheck(issuer string) func(string, oidc.Claims, *oidc.Key) error {
	_, legacy, _ := strings.Cut(issuer, "://")
	return func(iss string, _ oidc.Claims, _ *oidc.Key) error {
		if iss == issuer || iss == legacy {
			return nil
		}
		return fmt.Errorf("%w: got %q, want %q or %q (byte for byte)", oidc.ErrIssuer, iss, issuer, legacy)
	}
}

// Issuer returns the configured issuer (upstream.IssuerReporter).
func (p *Provider) Issuer() string { return p.oidc.Issuer() }

// UsesPKCE reports whether authorization requests carry an S256 challenge
// (upstream.PKCEUser): true, as Google's discovery document lists S256.
func (p *Provider) UsesPKCE() bool { return p.oidc.UsesPKCE() }

// AuthCodeURL returns Google's authorization URL for req (see
// oidc.Provider.AuthCodeURL), with hd=DOMAIN when exactly one hosted
// domain is configured.
func (p *Provider) AuthCodeURL(ctx context.Context, req upstream.AuthRequest) (string, error) {
	return p.oidc.AuthCodeURL(ctx, req)
}

// Exchange redeems the callback and returns the identity: oidc's checks,
// then the hosted-domain allow-list on the ID token's hd claim
// (not_allowed wrapping [ErrHostedDomain]), then [ClaimEmailAuthoritative].
func (p *Provider) Exchange(ctx context.Context, cb upstream.Callback) (upstream.Identity, error) {
	r, err := p.oidc.Redeem(ctx, cb)
	if err != nil {
		return upstream.Identity{}, err
	}
	hd, hdOK := tokenHostedDomain(r.IDTokenClaims)
	sub := r.IDTokenClaims.String("sub")
	if len(p.hosted) > 0 && (!hdOK || !slices.Contains(p.hosted, hd)) {
		p.log.DebugContext(ctx, "google: sign-in refused: hosted domain not allowed", "subject", sub, "hd", hd)
		switch {
		case hd == "":
			return upstream.Identity{}, outcome.Wrap(outcome.NotAllowed,
				fmt.Errorf("%w: the ID token carries no hd (a consumer account), but only %q may sign in", ErrHostedDomain, p.hosted))
		case !hdOK:
			return upstream.Identity{}, outcome.Wrap(outcome.NotAllowed,
				fmt.Errorf("%w: hd %q is not a domain name", ErrHostedDomain, hd))
		}
		return upstream.Identity{}, outcome.Wrap(outcome.NotAllowed,
			fmt.Errorf("%w: hd %q is not one of %q", ErrHostedDomain, hd, p.hosted))
	}

	claims := maps.Clone(r.Claims)
	// hd is the signed ID token's or nothing: userinfo never supplies it.
	delete(claims, "hd")
	if v, ok := r.IDTokenClaims["hd"]; ok {
		claims["hd"] = v
	}
	id := oidc.IdentityFrom(claims, nil)
	claims[ClaimEmailAuthoritative] = authoritative(id, hdOK)
	return id, nil
}

// tokenHostedDomain returns the ID token's hd, normalised, and whether it
// is a usable domain.
func tokenHostedDomain(c oidc.Claims) (string, bool) {
	raw := c.String("hd")
	if raw == "" {
		return "", false
	}
	hd, err := store.NormalizeDomain(raw)
	if err != nil {
		return raw, false
	}
	return hd, true
}

// authoritative is Google's rule: the address is verified and is either a
// @gmail.com address or one of an organization's (the token carries hd).
func authoritative(id upstream.Identity, hasHD bool) bool {
	if id.Email == "" || !id.EmailVerified {
		return false
	}
	return strings.HasSuffix(id.Email, "@gmail.com") || hasHD
}
