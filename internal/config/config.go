// Package config is Sallyport's configuration file (DESIGN.md §9): the
// types that mirror the YAML, the defaults that let `sallyport serve` run on
// a laptop with no file at all, loading with ${ENV_VAR} expansion and *_file
// secrets, and validation that names the exact field of every problem.
//
// A program that builds a Config in Go instead of loading a file starts from
// [Default], adds what it needs, calls [Config.ApplyDefaults] and then
// [Config.Validate], which is what [Load] does after reading the file.
package config

import (
	"path/filepath"
	"strings"
	"time"
)

// DefaultDataDir is where the default SQLite database (and anything else
// Sallyport keeps on local disk) lives, relative to the working directory.
const DefaultDataDir = "sallyport-data"

// DefaultDatabase is the embedded SQLite database used when the file names
// none, so a first start needs no database server.
const DefaultDatabase = "sqlite:./" + DefaultDataDir + "/sallyport.db"

// Connection kinds: the upstream identity providers Sallyport can sign
// people in through. Each names a package under internal/upstream.
const (
	KindOIDC      = "oidc"
	KindGoogle    = "google"
	KindMicrosoft = "microsoft"
	KindGitHub    = "github"
	KindApple     = "apple"
	KindFacebook  = "facebook"
	KindGitLab    = "gitlab"
)

// kinds lists the known kinds in the order problems mention them.
var kinds = []string{KindOIDC, KindGoogle, KindMicrosoft, KindGitHub, KindApple, KindFacebook, KindGitLab}

// Config is the whole configuration file. Field comments give the YAML key;
// the README's configuration reference gives defaults and meanings.
type Config struct {
	// Issuer is the public base URL apps and browsers reach Sallyport at; it
	// is the "iss" of every token Sallyport signs.
	Issuer string `yaml:"issuer"`
	// Listen is the host:port the HTTP server binds.
	Listen string `yaml:"listen"`
	// Database is "sqlite:PATH" or a postgres:// URL.
	Database string `yaml:"database"`
	// EncryptionKey is the key ring for secrets at rest: base64 32-byte keys
	// separated by commas, newest first, so an old key can still decrypt
	// while everything is re-encrypted with the new one.
	EncryptionKey string `yaml:"encryption_key,omitempty"`
	// EncryptionKeyFile names a file holding EncryptionKey. Load reads it
	// into EncryptionKey and clears this field.
	EncryptionKeyFile string `yaml:"encryption_key_file,omitempty"`
	// InsecureAllowPrivateNetworks lets outbound fetches of configured URLs
	// (discovery, JWKS, handles) reach loopback and private addresses. Only
	// tests and the demo need it; see [Config.Warnings].
	InsecureAllowPrivateNetworks bool `yaml:"insecure_allow_private_networks"`

	Log        Log        `yaml:"log"`
	Login      Login      `yaml:"login"`
	Sessions   Sessions   `yaml:"sessions"`
	RateLimits RateLimits `yaml:"rate_limits"`
	// Connections are the global (social) connections shown on /login.
	Connections []Connection `yaml:"connections,omitempty"`
	// Orgs are tenants declared in the file; they are created or updated at
	// start, and others may exist in the database.
	Orgs []Org `yaml:"orgs,omitempty"`
	// Clients are the downstream apps declared in the file.
	Clients []Client `yaml:"clients,omitempty"`
}

// Log configures the process log.
type Log struct {
	// Level is debug, info, warn or error.
	Level string `yaml:"level"`
	// Format is json, text, or auto (text on a terminal, JSON otherwise).
	Format string `yaml:"format"`
}

// Login switches the local sign-in methods on or off.
type Login struct {
	// Password allows local password sign-in.
	Password bool `yaml:"password"`
	// TOTP allows users to enrol a second factor for password sign-in.
	TOTP bool `yaml:"totp"`
}

// Sessions bounds how long a browser stays signed in.
type Sessions struct {
	// Idle ends a session nobody used for this long.
	Idle Duration `yaml:"idle"`
	// Absolute ends every session this long after sign-in, used or not.
	Absolute Duration `yaml:"absolute"`
}

// RateLimits configures the per-IP limits on sign-in, callback, password,
// TOTP, reset and token endpoints.
type RateLimits struct {
	// Enabled is true unless someone runs a local load test.
	Enabled bool `yaml:"enabled"`
	// PerIPPerMinute is how many limited requests one IP may make a minute.
	PerIPPerMinute int `yaml:"per_ip_per_minute"`
}

// Connection is an upstream identity provider declared in the file, either
// global (Config.Connections) or belonging to an org (Org.Connections).
type Connection struct {
	// Slug names the connection and its callback path /callback/{slug}, so
	// it is unique across global and org connections.
	Slug string `yaml:"slug"`
	// Kind is one of oidc, google, microsoft, github, apple, facebook, gitlab.
	Kind string `yaml:"kind"`
	// DisplayName is shown on the sign-in button; the kind's name if empty.
	DisplayName string `yaml:"display_name,omitempty"`
	// Issuer is the OpenID issuer URL of an oidc connection; the other
	// kinds have fixed or derived issuers.
	Issuer string `yaml:"issuer,omitempty"`
	// ClientID is Sallyport's client id at the provider.
	ClientID string `yaml:"client_id"`
	// ClientSecret is Sallyport's client secret at the provider (every kind
	// except apple, which signs its own secret with PrivateKey).
	ClientSecret string `yaml:"client_secret,omitempty"`
	// ClientSecretFile names a file holding ClientSecret; Load reads it.
	ClientSecretFile string `yaml:"client_secret_file,omitempty"`
	// Scopes requested from the provider; empty means the kind's default.
	Scopes []string `yaml:"scopes,omitempty"`
	// ClaimMapping takes a Sallyport attribute (email, name, username,
	// picture) from a differently named provider claim. The subject is
	// never remapped: identities are keyed by the provider's own "sub".
	ClaimMapping map[string]string `yaml:"claim_mapping,omitempty"`
	// EmailPattern is a regular expression every signed-in email must match.
	EmailPattern string `yaml:"email_pattern,omitempty"`
	// AllowedDomains limits the email domains that may sign in here.
	AllowedDomains []string `yaml:"allowed_domains,omitempty"`
	// AutoProvision creates users on first sign-in; nil means true. See
	// [Connection.AutoProvisionOrDefault].
	AutoProvision *bool `yaml:"auto_provision,omitempty"`
	// TrustEmailForLinking says whether a verified email from this
	// connection may link to an existing account; nil leaves the decision
	// to the kind's default (false for self-hosted IdPs).
	TrustEmailForLinking *bool `yaml:"trust_email_for_linking,omitempty"`
	// AdminEmailDomains gives users provisioned with these email domains
	// the admin role.
	AdminEmailDomains []string `yaml:"admin_email_domains,omitempty"`
	// AllowedAlgs are the ID token signature algorithms accepted; RS256 by
	// default, never "none", HMAC only when listed.
	AllowedAlgs []string `yaml:"allowed_algs,omitempty"`
	// AuthParams are extra authorization request parameters (prompt,
	// login_hint, hd, ...). Parameters Sallyport sets itself are refused.
	AuthParams map[string]string `yaml:"auth_params,omitempty"`

	// Tenant is the Microsoft Entra tenant: common, organizations,
	// consumers, a tenant id or a tenant domain.
	Tenant string `yaml:"tenant,omitempty"`
	// AllowedTenants are the tenant ids a multi-tenant (common or
	// organizations) Microsoft connection accepts.
	AllowedTenants []string `yaml:"allowed_tenants,omitempty"`

	// TeamID is the Apple developer team id.
	TeamID string `yaml:"team_id,omitempty"`
	// KeyID is the id of the Apple "Sign in with Apple" key.
	KeyID string `yaml:"key_id,omitempty"`
	// PrivateKey is that key, PEM PKCS#8 (the .p8 file Apple hands out).
	PrivateKey string `yaml:"private_key,omitempty"`
	// PrivateKeyFile names a file holding PrivateKey; Load reads it.
	PrivateKeyFile string `yaml:"private_key_file,omitempty"`

	// HostedDomains limits a google connection to Google Workspace
	// accounts of these domains, checked against the ID token's hd claim.
	HostedDomains []string `yaml:"hosted_domains,omitempty"`

	// BaseURL is the GitHub Enterprise or self-managed GitLab URL; empty
	// means github.com or gitlab.com.
	BaseURL string `yaml:"base_url,omitempty"`
}

// AutoProvisionOrDefault reports whether the connection creates users on
// first sign-in: the configured value, or true when the file leaves it out.
func (c Connection) AutoProvisionOrDefault() bool {
	return c.AutoProvision == nil || *c.AutoProvision
}

// Org is a tenant declared in the file.
type Org struct {
	// Slug names the org in URLs (/orgs/{slug}/sso) and in ID tokens.
	Slug string `yaml:"slug"`
	// Name is shown to people; the slug if empty.
	Name string `yaml:"name"`
	// Domains are the org's email domains, declared verified.
	Domains []string `yaml:"domains,omitempty"`
	// SSORequired refuses password sign-in to members who are not break-glass.
	SSORequired bool `yaml:"sso_required"`
	// AutoProvision creates members on their first org sign-in.
	AutoProvision bool `yaml:"auto_provision"`
	// AllowOutsideDomains lets emails outside Domains match or create users.
	AllowOutsideDomains bool `yaml:"allow_outside_domains"`
	// ProviderAssignment is open (every member may use every connection) or
	// assigned (only connections assigned to them).
	ProviderAssignment string `yaml:"provider_assignment"`
	// Connections are the org's own connections.
	Connections []Connection `yaml:"connections,omitempty"`
}

// Client is a downstream app declared in the file.
type Client struct {
	// ID is the OAuth client_id.
	ID string `yaml:"id"`
	// Name is shown on the consent page.
	Name string `yaml:"name,omitempty"`
	// Secret is the client secret of a confidential client.
	Secret string `yaml:"secret,omitempty"`
	// SecretFile names a file holding Secret; Load reads it.
	SecretFile string `yaml:"secret_file,omitempty"`
	// Public marks an app that cannot keep a secret (SPA, native); it has
	// no secret and must use PKCE S256.
	Public bool `yaml:"public"`
	// RedirectURIs are matched exactly (loopback: any port).
	RedirectURIs []string `yaml:"redirect_uris"`
	// PostLogoutRedirectURIs are where /oauth2/logout may send people back.
	PostLogoutRedirectURIs []string `yaml:"post_logout_redirect_uris,omitempty"`
	// SkipConsent is for first-party apps.
	SkipConsent bool `yaml:"skip_consent"`
	// AllowedConnections limits the connection slugs the app may use;
	// empty means all.
	AllowedConnections []string `yaml:"allowed_connections,omitempty"`
	// IDTokenSigningAlg is RS256, ES256 or EdDSA.
	IDTokenSigningAlg string `yaml:"id_token_signing_alg"`
	// AccessTokenFormat is opaque or jwt.
	AccessTokenFormat string `yaml:"access_token_format"`
	// AccessTokenTTL is how long an access token lives.
	AccessTokenTTL Duration `yaml:"access_token_ttl"`
	// RefreshTokenTTL is how long a refresh token lives unused.
	RefreshTokenTTL Duration `yaml:"refresh_token_ttl"`
	// Disabled refuses every request from the app without deleting it.
	Disabled bool `yaml:"disabled"`
}

// Default returns the configuration used when the file leaves a setting out:
// enough to run on a laptop, listening on loopback with embedded SQLite.
func Default() *Config {
	return &Config{
		Issuer:   "http://127.0.0.1:8080",
		Listen:   "127.0.0.1:8080",
		Database: DefaultDatabase,
		Log:      Log{Level: "info", Format: "auto"},
		Login:    Login{Password: true, TOTP: true},
		Sessions: Sessions{
			Idle:     Duration(12 * time.Hour),
			Absolute: Duration(168 * time.Hour),
		},
		RateLimits: RateLimits{Enabled: true, PerIPPerMinute: 60},
	}
}

// Defaults of the settings inside list items, which Default cannot fill.
const (
	defaultAlg               = "RS256"
	defaultAssignment        = "open"
	defaultIDTokenAlg        = "RS256"
	defaultAccessTokenFormat = "opaque"
	defaultAccessTokenTTL    = Duration(10 * time.Minute)
	defaultRefreshTokenTTL   = Duration(720 * time.Hour)
)

// ApplyDefaults fills the settings of connections, orgs and clients that
// were left empty. It is idempotent; Load calls it before Validate.
func (c *Config) ApplyDefaults() {
	for i := range c.Connections {
		c.Connections[i].applyDefaults()
	}
	for i := range c.Orgs {
		o := &c.Orgs[i]
		if o.Name == "" {
			o.Name = o.Slug
		}
		if o.ProviderAssignment == "" {
			o.ProviderAssignment = defaultAssignment
		}
		for j := range o.Connections {
			o.Connections[j].applyDefaults()
		}
	}
	for i := range c.Clients {
		cl := &c.Clients[i]
		if cl.IDTokenSigningAlg == "" {
			cl.IDTokenSigningAlg = defaultIDTokenAlg
		}
		if cl.AccessTokenFormat == "" {
			cl.AccessTokenFormat = defaultAccessTokenFormat
		}
		if cl.AccessTokenTTL == 0 {
			cl.AccessTokenTTL = defaultAccessTokenTTL
		}
		if cl.RefreshTokenTTL == 0 {
			cl.RefreshTokenTTL = defaultRefreshTokenTTL
		}
	}
}

func (c *Connection) applyDefaults() {
	if len(c.AllowedAlgs) == 0 {
		c.AllowedAlgs = []string{defaultAlg}
	}
}

// DatabaseIsDefaultSQLite reports whether the database is the default
// SQLite file under ./sallyport-data, which `serve` may create (with its
// directory) on first start; any other path was chosen by the operator and
// must already be writable.
func (c *Config) DatabaseIsDefaultSQLite() bool {
	path, ok := strings.CutPrefix(c.Database, "sqlite:")
	if !ok || path == "" {
		return false
	}
	return filepath.Clean(filepath.FromSlash(path)) == filepath.Join(DefaultDataDir, "sallyport.db")
}

// Duration is a time.Duration written as a Go duration string ("12h",
// "10m") in the file, never as a bare number whose unit a reader would
// have to guess.
type Duration time.Duration

// String formats d like time.Duration, without the zero minutes and
// seconds: "12h" rather than "12h0m0s", so a marshalled file reads like a
// hand-written one.
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// MarshalText writes d as a duration string; YAML and JSON encoders use it.
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(d.String()), nil
}

// UnmarshalText reads a duration string such as "12h" or "1h30m".
func (d *Duration) UnmarshalText(text []byte) error {
	v, err := time.ParseDuration(string(text))
	if err != nil {
		return errDuration
	}
	*d = Duration(v)
	return nil
}
