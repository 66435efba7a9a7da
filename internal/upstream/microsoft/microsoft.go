package microsoft

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/sallyport/sallyport/internal/netguard"
	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/upstream"
	"github.com/sallyport/sallyport/internal/upstream/oidc"
)

// DefaultAuthority is the Microsoft Entra authority of the global cloud.
// National clouds have their own (login.microsoftonline.us,
// login.chinacloudapi.cn).
const DefaultAuthority = "https://login.microsoftonline.com"

// Tenant path segments that are not one tenant.
const (
	// TenantCommon accepts work, school and personal accounts.
	TenantCommon = "common"
	// TenantOrganizations accepts work and school accounts only.
	TenantOrganizations = "organizations"
	// TenantConsumers accepts personal Microsoft accounts (MSA) only.
	TenantConsumers = "consumers"
)

// ConsumersTenantID is the tenant of personal Microsoft accounts: the tid
// of every MSA token, and the tenant the consumers authority issues for.
const ConsumersTenantID = "9188040d-6c67-4c5b-b112-36a304b66dad"

// TenantIDPlaceholder is the part of the multi-tenant issuer template
// (and of the signing keys' issuer member) that stands for the tid.
const TenantIDPlaceholder = "{tenantid}"

// DefaultScopes are requested when [Config.Scopes] is nil. profile is
// always requested: without it the ID token carries no oid, which the
// subject is made of.
var DefaultScopes = []string{"openid", "profile", "email"}

// Discovery document caching.
const (
	// DiscoveryTTL is how long a discovery document is used before it is
	// fetched again on next use.
	DiscoveryTTL = 24 * time.Hour
	// DiscoveryRetry is how long a failed refresh waits before the next
	// try; the previous document stays in use meanwhile.
	DiscoveryRetry = time.Minute
)

// Causes of a refusal, carried by the *outcome.Error values Exchange
// returns (errors.Is finds them). The issuer checks also wrap
// oidc.ErrIssuer.
var (
	// ErrTenantID: tid is missing or not a GUID.
	ErrTenantID = errors.New("microsoft: tid is not a tenant ID")
	// ErrIssuer: iss is not the issuer of the token's tenant: the
	// template with tid substituted (common, organizations), or the
	// configured tenant's issuer, byte for byte.
	ErrIssuer = errors.New("microsoft: iss is not the issuer of the token's tenant")
	// ErrKeyIssuer: the signing key's own issuer member, with tid
	// substituted, is not the token's iss.
	ErrKeyIssuer = errors.New("microsoft: the signing key belongs to another issuer")
	// ErrTenantMismatch: a single-tenant connection got a token of another
	// tenant.
	ErrTenantMismatch = errors.New("microsoft: the token is from another tenant")
	// ErrPersonalAccount: the organizations authority got a token of the
	// consumers (MSA) tenant.
	ErrPersonalAccount = errors.New("microsoft: a personal Microsoft account cannot sign in through organizations")
	// ErrTokenVersion: ver is present and is not "2.0".
	ErrTokenVersion = errors.New("microsoft: not a v2.0 token")
	// ErrObjectID: oid is missing or not a GUID (the profile scope was not
	// granted, or the token is not a user's).
	ErrObjectID = errors.New("microsoft: oid is not an object ID")
	// ErrTenantNotAllowed: a valid token from a tenant that is not in
	// AllowedTenants (outcome not_allowed).
	ErrTenantNotAllowed = errors.New("microsoft: the tenant is not allowed to sign in")
)

// Config configures [New].
type Config struct {
	// ClientID and ClientSecret are the app registration's application
	// (client) ID and a client secret. ClientID is required.
	ClientID     string
	ClientSecret string
	// Tenant is the path segment of the authority: common,
	// organizations, consumers, a tenant ID (GUID) or a verified domain
	// of a tenant. Required.
	Tenant string
	// AllowedTenants are the tenant IDs that may sign in through common
	// or organizations. Required for those two (New refuses an empty
	// list: anyone with any Microsoft account could sign in otherwise);
	// refused for the others, which are one tenant already.
	AllowedTenants []string
	// Authority is the cloud's login host, such as DefaultAuthority (the
	// default) or a national cloud's; tests use testidp's EntraAuthority.
	Authority string
	// Scopes requested; nil means DefaultScopes. openid and profile are
	// always sent.
	Scopes []string
	// AllowedAlgs is the ID token algorithm allow-list; nil means RS256,
	// the one Entra signs with.
	AllowedAlgs []string
	// AuthParams are extra authorization request parameters (prompt,
	// domain_hint…); parameters Sallyport sets are dropped with a warning.
	AuthParams map[string]string
	// HTTPClient is netguard's client, used for discovery, JWKS and the
	// token endpoint; nil builds one with its safe defaults.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives warnings; nil discards them.
	Logger *slog.Logger
}

// Provider signs people in with Microsoft Entra ID (the v2.0 endpoint)
// through the generic OpenID Connect provider, with Entra's issuer,
// tenant, subject and email rules on top. It implements upstream.Provider,
// upstream.IssuerReporter and upstream.PKCEUser, and is safe for
// concurrent use.
type Provider struct {
	cfg       Config
	authority string   // without a trailing slash
	tenant    string   // the path segment, lower-cased
	multi     bool     // common or organizations
	allowed   []string // lower-cased tenant IDs (multi only)
	client    *http.Client
	log       *slog.Logger
	group     singleflight.Group

	// Set by New, then read only.
	issuer   string // the discovery issuer: the template for common and organizations
	tenantID string // the single tenant's ID ("" for common and organizations)

	mu        sync.Mutex // guards the fields below
	inner     *oidc.Provider
	doc       oidc.Discovery // the document inner was built from, as fetched
	fetched   time.Time      // when doc was last fetched and found current
	attempted time.Time      // the last fetch, successful or not
}

var (
	_ upstream.Provider       = (*Provider)(nil)
	_ upstream.IssuerReporter = (*Provider)(nil)
	_ upstream.PKCEUser       = (*Provider)(nil)
)

// New checks cfg, fetches the tenant's discovery document from
// {Authority}/{Tenant}/v2.0/.well-known/openid-configuration and returns
// the provider. It fails when the tenant or allow-list break the rules of
// [Config], or when the document's issuer is not the one Entra publishes
// for the tenant: the {tenantid} template for common and organizations,
// the tenant's own issuer otherwise (for a domain, any tenant's; the
// tenant ID is then read from it and fixed for the provider's life).
func New(ctx context.Context, cfg Config) (*Provider, error) {
	if cfg.ClientID == "" {
		return nil, errors.New("microsoft: ClientID is required")
	}
	p := &Provider{cfg: cfg}
	var err error
	if p.authority, err = checkAuthority(cfg.Authority); err != nil {
		return nil, err
	}
	if err := p.setTenant(cfg.Tenant, cfg.AllowedTenants); err != nil {
		return nil, err
	}
	if p.cfg.Now == nil {
		p.cfg.Now = time.Now
	}
	if p.cfg.Logger == nil {
		p.cfg.Logger = slog.New(slog.DiscardHandler)
	}
	p.log = p.cfg.Logger
	if p.cfg.HTTPClient == nil {
		p.cfg.HTTPClient = netguard.New(netguard.Config{Logger: p.log})
	}
	p.client = p.cfg.HTTPClient
	scopes := cfg.Scopes
	if scopes == nil {
		scopes = DefaultScopes
	}
	p.cfg.Scopes = slices.Clone(scopes)
	if !slices.Contains(p.cfg.Scopes, "profile") {
		p.cfg.Scopes = append(p.cfg.Scopes, "profile")
	}

	now := p.cfg.Now()
	doc, err := p.discover(ctx)
	if err != nil {
		return nil, err
	}
	inner, err := p.build(ctx, doc)
	if err != nil {
		return nil, err
	}
	p.inner, p.doc, p.fetched, p.attempted = inner, doc, now, now
	return p, nil
}

// checkAuthority returns the authority without its trailing slash: an
// absolute http(s) URL without query, fragment or user info.
func checkAuthority(a string) (string, error) {
	if a == "" {
		return DefaultAuthority, nil
	}
	a = strings.TrimSuffix(a, "/")
	u, err := url.Parse(a)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") ||
		u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(a, "?#{}") {
		return "", fmt.Errorf("microsoft: authority %q is not an absolute http(s) URL without query or fragment", a)
	}
	return a, nil
}

// setTenant classifies the tenant and checks the allow-list against it.
func (p *Provider) setTenant(tenant string, allowed []string) error {
	t := strings.ToLower(strings.TrimSpace(tenant))
	switch {
	case t == TenantCommon || t == TenantOrganizations:
		p.multi = true
	case t == TenantConsumers:
		p.tenantID = ConsumersTenantID
	case upstream.IsGUID(t):
		p.tenantID = t
	case isDomain(t):
		// The tenant ID comes from the discovery document.
	default:
		return fmt.Errorf("microsoft: tenant %q must be common, organizations, consumers, a tenant ID or a tenant's domain", tenant)
	}
	p.tenant = t
	if !p.multi {
		if len(allowed) > 0 {
			return fmt.Errorf("microsoft: AllowedTenants applies only when the tenant is common or organizations; tenant %q is one tenant already", tenant)
		}
		return nil
	}
	if len(allowed) == 0 {
		return fmt.Errorf("microsoft: tenant %s needs AllowedTenants, the tenant IDs that may sign in: without it anyone with a Microsoft account could", t)
	}
	for _, a := range allowed {
		id := strings.ToLower(strings.TrimSpace(a))
		switch {
		case !upstream.IsGUID(id):
			return fmt.Errorf("microsoft: allowed tenant %q is not a tenant ID (a GUID such as 72f988bf-86f1-41af-91ab-2d7cd011db47)", a)
		case t == TenantOrganizations && id == ConsumersTenantID:
			return fmt.Errorf("microsoft: allowed tenant %s is the personal-account (consumers) tenant, which organizations never signs in; use tenant common to accept personal accounts", id)
		}
		if !slices.Contains(p.allowed, id) {
			p.allowed = append(p.allowed, id)
		}
	}
	return nil
}

// discoveryURL is where the tenant's v2.0 metadata lives.
func (p *Provider) discoveryURL() string {
	return p.authority + "/" + p.tenant + "/v2.0/.well-known/openid-configuration"
}

// tokenIssuer is the issuer of v2.0 tokens of tenant tid.
func (p *Provider) tokenIssuer(tid string) string {
	return p.authority + "/" + tid + "/v2.0"
}

// discover fetches and checks the tenant's discovery document. The first
// time for a domain tenant, it also fixes the tenant ID and issuer.
func (p *Provider) discover(ctx context.Context) (oidc.Discovery, error) {
	u := p.discoveryURL()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return oidc.Discovery{}, fmt.Errorf("%w: %s: %w", oidc.ErrDiscovery, u, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return oidc.Discovery{}, fmt.Errorf("%w: %w", oidc.ErrDiscovery, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body) // netguard caps it
	if err != nil {
		return oidc.Discovery{}, fmt.Errorf("%w: %s: read: %w", oidc.ErrDiscovery, u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return oidc.Discovery{}, fmt.Errorf("%w: %s: status %d (is tenant %q right?)", oidc.ErrDiscovery, u, resp.StatusCode, p.tenant)
	}
	var d oidc.Discovery
	if err := json.Unmarshal(body, &d); err != nil {
		return oidc.Discovery{}, fmt.Errorf("%w: %s: %w", oidc.ErrDiscovery, u, err)
	}
	d.Raw = body

	want := p.issuer
	switch {
	case want != "":
		// Refreshes keep the issuer New established.
	case p.multi:
		want = p.tokenIssuer(TenantIDPlaceholder)
	case p.tenantID != "":
		want = p.tokenIssuer(p.tenantID)
	default: // a domain: the document names its tenant
		tid, ok := strings.CutPrefix(d.Issuer, p.authority+"/")
		tid, ok2 := strings.CutSuffix(tid, "/v2.0")
		if !ok || !ok2 || !upstream.IsGUID(tid) || tid != strings.ToLower(tid) {
			return oidc.Discovery{}, fmt.Errorf("%w: the document at %s names issuer %q, not %s/{a tenant ID}/v2.0",
				oidc.ErrDiscoveryIssuer, u, d.Issuer, p.authority)
		}
		want = d.Issuer
	}
	if d.Issuer != want {
		return oidc.Discovery{}, fmt.Errorf("%w: the document at %s names issuer %q, want %q byte for byte (check the authority and tenant)",
			oidc.ErrDiscoveryIssuer, u, d.Issuer, want)
	}
	if err := d.Check(); err != nil {
		return oidc.Discovery{}, err
	}
	if p.issuer == "" {
		p.issuer = want
		if !p.multi && p.tenantID == "" {
			p.tenantID = strings.TrimSuffix(strings.TrimPrefix(want, p.authority+"/"), "/v2.0")
		}
	}
	return d, nil
}

// build makes the generic provider for a document. The metadata is
// adjusted: no userinfo endpoint (Entra's is Microsoft Graph, which needs a
// Graph token, and every claim Sallyport uses is in the ID token), and
// S256 PKCE, which Entra takes though its document does not say so.
func (p *Provider) build(ctx context.Context, doc oidc.Discovery) (*oidc.Provider, error) {
	meta := doc
	meta.UserinfoEndpoint = ""
	meta.CodeChallengeMethods = []string{"S256"}
	inner, err := oidc.New(ctx, oidc.Config{
		Issuer:       doc.Issuer,
		ClientID:     p.cfg.ClientID,
		ClientSecret: p.cfg.ClientSecret,
		Scopes:       p.cfg.Scopes,
		AllowedAlgs:  p.cfg.AllowedAlgs,
		AuthParams:   p.cfg.AuthParams,
		HTTPClient:   p.client,
		Now:          p.cfg.Now,
		Logger:       p.log,
		Metadata:     &meta,
		IssuerCheck:  p.checkIssuer,
	})
	if err != nil {
		return nil, fmt.Errorf("microsoft: %w", err)
	}
	if !inner.UsesPKCE() {
		return nil, errors.New("microsoft: the generic provider would not use PKCE")
	}
	return inner, nil
}

// current returns the generic provider of the current discovery document,
// fetching the document again when it is older than DiscoveryTTL (one
// fetch however many callers wait). A failed or unusable refresh is
// logged and the previous document kept; the next try waits
// DiscoveryRetry.
func (p *Provider) current(ctx context.Context) *oidc.Provider {
	now := p.cfg.Now()
	p.mu.Lock()
	inner := p.inner
	fresh := now.Sub(p.fetched) < DiscoveryTTL || now.Sub(p.attempted) < DiscoveryRetry
	p.mu.Unlock()
	if fresh {
		return inner
	}
	ch := p.group.DoChan("discovery", func() (any, error) {
		p.refresh(context.WithoutCancel(ctx))
		return nil, nil
	})
	select {
	case <-ch:
	case <-ctx.Done():
		return inner
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inner
}

// refresh fetches the document again and rebuilds the generic provider
// if the document changed.
func (p *Provider) refresh(ctx context.Context) {
	now := p.cfg.Now()
	p.mu.Lock()
	if now.Sub(p.fetched) < DiscoveryTTL { // another caller just did
		p.mu.Unlock()
		return
	}
	p.attempted = now
	old := p.doc
	p.mu.Unlock()

	doc, err := p.discover(ctx)
	if err != nil {
		p.log.Warn("microsoft: discovery refresh failed; keeping the previous document", "tenant", p.tenant, "err", err.Error())
		return
	}
	if sameDocument(doc, old) {
		p.mu.Lock()
		p.fetched = now
		p.mu.Unlock()
		return
	}
	inner, err := p.build(ctx, doc)
	if err != nil {
		p.log.Warn("microsoft: refreshed discovery document is unusable; keeping the previous one", "tenant", p.tenant, "err", err.Error())
		return
	}
	p.mu.Lock()
	p.inner, p.doc, p.fetched = inner, doc, now
	p.mu.Unlock()
}

// sameDocument compares two documents by the members Sallyport uses.
func sameDocument(a, b oidc.Discovery) bool {
	a.Raw, b.Raw = nil, nil
	return reflect.DeepEqual(a, b)
}

// Issuer returns the discovery issuer (upstream.IssuerReporter): for
// common and organizations the template
// {Authority}/{tenantid}/v2.0, otherwise the tenant's exact issuer.
func (p *Provider) Issuer() string { return p.issuer }

// TenantID returns the tenant ID of a single-tenant provider (for a
// domain, the one its discovery document named), or "" for common and
// organizations.
func (p *Provider) TenantID() string { return p.tenantID }

// UsesPKCE reports true (upstream.PKCEUser): Entra takes S256 challenges,
// though its discovery document lists no code_challenge_methods_supported.
func (p *Provider) UsesPKCE() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inner.UsesPKCE()
}

// AuthCodeURL returns the authorization request for the tenant's
// authorize endpoint: response_type=code, client_id, redirect_uri, scope,
// state, nonce and the S256 code_challenge (required), login_hint and
// prompt when set, and the configured AuthParams, which never override
// any of these.
func (p *Provider) AuthCodeURL(ctx context.Context, req upstream.AuthRequest) (string, error) {
	return p.current(ctx).AuthCodeURL(ctx, req)
}

// Exchange checks the callback, redeems its code with the PKCE verifier,
// verifies the ID token (with [Provider]'s issuer rules in place of the
// byte-exact comparison) and builds the identity from its claims alone.
// For common and organizations, a token of a tenant outside
// AllowedTenants is refused with not_allowed, once it has been fully
// verified; every other failure of the ID token is identity_invalid.
func (p *Provider) Exchange(ctx context.Context, cb upstream.Callback) (upstream.Identity, error) {
	r, err := p.current(ctx).Redeem(ctx, cb)
	if err != nil {
		return upstream.Identity{}, err
	}
	return p.identity(r.IDTokenClaims)
}

// checkIssuer is the generic verifier's IssuerCheck: it runs after the
// signature verified with key, and applies Microsoft's issuer validation
// in order: tid is a GUID; ver, when present, is 2.0; for one tenant, tid
// is that tenant; iss is the issuer of tid byte for byte (the template
// with tid substituted for common and organizations); the key's own
// issuer member, when present, is iss once a {tenantid} in it is
// substituted with tid; and organizations never takes the consumers
// tenant. The allow-list is not applied here: see Exchange.
func (p *Provider) checkIssuer(iss string, c oidc.Claims, key *oidc.Key) error {
	tid, ok := c["tid"].(string)
	if !ok || !upstream.IsGUID(tid) {
		return fmt.Errorf("%w: tid is %s", ErrTenantID, describe(c["tid"]))
	}
	if v, ok := c["ver"]; ok && v != "2.0" {
		return fmt.Errorf("%w: ver is %s (v1.0 tokens name the issuer https://sts.windows.net/{tid}/)", ErrTokenVersion, describe(v))
	}
	if !p.multi && !strings.EqualFold(tid, p.tenantID) {
		return fmt.Errorf("%w: tid %s, but the connection is for tenant %s", ErrTenantMismatch, tid, p.tenantID)
	}
	want := p.issuer
	if p.multi {
		want = strings.Replace(p.issuer, TenantIDPlaceholder, tid, 1)
	}
	if iss != want {
		return fmt.Errorf("%w: iss %q, want %q for tid %s (byte for byte)", ErrIssuer, iss, want, tid)
	}
	if key == nil {
		return fmt.Errorf("%w: the token was not verified with a published key", ErrKeyIssuer)
	}
	if m, present := key.Members["issuer"]; present {
		ki, ok := m.(string)
		if !ok {
			return fmt.Errorf("%w: key %q has an issuer member that is not a string", ErrKeyIssuer, key.KeyID)
		}
		if strings.Replace(ki, TenantIDPlaceholder, tid, 1) != iss {
			return fmt.Errorf("%w: key %q is for issuer %q, which is not %q for tid %s", ErrKeyIssuer, key.KeyID, ki, iss, tid)
		}
	}
	if p.tenant == TenantOrganizations && strings.EqualFold(tid, ConsumersTenantID) {
		return fmt.Errorf("%w: tid %s", ErrPersonalAccount, tid)
	}
	return nil
}

// identity applies the allow-list and builds the identity from verified
// ID token claims: Subject tid:oid (both lower-cased GUIDs), Email from
// email, verified only when xms_edov is true or "true", Name from name,
// Username from preferred_username for display only.
func (p *Provider) identity(c oidc.Claims) (upstream.Identity, error) {
	tid := strings.ToLower(c.String("tid"))
	if !upstream.IsGUID(tid) { // checkIssuer refused it already
		return upstream.Identity{}, outcome.Wrap(outcome.IdentityInvalid, fmt.Errorf("%w: tid is %s", ErrTenantID, describe(c["tid"])))
	}
	if p.multi && !slices.Contains(p.allowed, tid) {
		return upstream.Identity{}, outcome.Wrap(outcome.NotAllowed, fmt.Errorf("%w: tid %s is not in AllowedTenants", ErrTenantNotAllowed, tid))
	}
	oid := c.String("oid")
	if !upstream.IsGUID(oid) {
		return upstream.Identity{}, outcome.Wrap(outcome.IdentityInvalid,
			fmt.Errorf("%w: oid is %s (the profile scope must be granted)", ErrObjectID, describe(c["oid"])))
	}
	id := oidc.IdentityFrom(c, nil)
	id.Subject = tid + ":" + strings.ToLower(oid)
	// Entra never sends email_verified; xms_edov alone says whether the
	// home tenant verified the address's domain.
	id.EmailVerified = id.Email != "" && c.Bool("xms_edov")
	return id, nil
}

// describe renders a claim value for an error message, bounded.
func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "missing"
	case string:
		if len(v) > 64 {
			v = v[:64] + "…"
		}
		return fmt.Sprintf("%q", v)
	}
	return fmt.Sprintf("a %T", v)
}

// isDomain reports whether s (lower-cased) is a DNS name of at least two
// labels: letters, digits and inner hyphens, each label 1 to 63 bytes.
func isDomain(s string) bool {
	if len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range []byte(l) {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
