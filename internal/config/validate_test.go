package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Test values: a 32-byte key ("0123456789abcdef0123456789abcdef") and a
// second one, and an Entra tenant id.
const (
	testKey    = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	testKey2   = "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA="
	testTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
)

// testECKey returns a PEM PKCS#8 EC key on curve, generated once per curve:
// no private key is committed to the repository.
var testECKey = func() func(t *testing.T, curve elliptic.Curve) string {
	var mu sync.Mutex
	keys := map[elliptic.Curve]string{}
	return func(t *testing.T, curve elliptic.Curve) string {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		if k, ok := keys[curve]; ok {
			return k
		}
		priv, err := ecdsa.GenerateKey(curve, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		k := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
		keys[curve] = k
		return k
	}
}()

// validConfig is a configuration that uses every kind of setting and has
// no problem; each validation case breaks one thing in it.
//
//	connections[0] google, [1] oidc corp, [2] microsoft entra, [3] apple, [4] gitlab
//	orgs[0] acme with connections[0] oidc acme-okta
//	clients[0] confidential web, [1] public cli
func validConfig(t *testing.T) *Config {
	t.Helper()
	c := Default()
	c.Issuer = "https://sso.example.com"
	c.Listen = ":8080"
	c.Database = "postgres://sallyport@db.internal/sallyport"
	c.EncryptionKey = testKey
	c.Connections = []Connection{
		{Slug: "google", Kind: KindGoogle, ClientID: "g-id", ClientSecret: "g-secret",
			EmailPattern:   `^.*@example\.com$`,
			AllowedDomains: []string{"example.com"}, AdminEmailDomains: []string{"example.com"},
			AuthParams: map[string]string{"prompt": "select_account", "hd": "example.com"}},
		{Slug: "corp", Kind: KindOIDC, Issuer: "https://idp.corp.example", ClientID: "c-id", ClientSecret: "c-secret",
			Scopes: []string{"openid", "email", "profile"}, AllowedAlgs: []string{"RS256", "ES256"},
			ClaimMapping: map[string]string{"email": "preferred_username"}},
		{Slug: "entra", Kind: KindMicrosoft, ClientID: "m-id", ClientSecret: "m-secret",
			Tenant: "organizations", AllowedTenants: []string{testTenant}},
		{Slug: "apple", Kind: KindApple, ClientID: "com.example.sso", TeamID: "TEAM123456", KeyID: "KEY1234567",
			PrivateKey: testECKey(t, elliptic.P256())},
		{Slug: "gitlab", Kind: KindGitLab, ClientID: "l-id", ClientSecret: "l-secret", BaseURL: "https://gitlab.example.com"},
	}
	c.Orgs = []Org{{
		Slug: "acme", Name: "Acme", Domains: []string{"acme.com", "acme.example"}, SSORequired: true,
		Connections: []Connection{{Slug: "acme-okta", Kind: KindOIDC, Issuer: "https://acme.okta.com", ClientID: "a-id", ClientSecret: "a-secret"}},
	}}
	c.Clients = []Client{
		{ID: "web", Secret: "web-secret", RedirectURIs: []string{"https://app.example.com/callback"},
			PostLogoutRedirectURIs: []string{"https://app.example.com/"}, AllowedConnections: []string{"google", "acme-okta"}},
		{ID: "cli", Public: true, RedirectURIs: []string{"http://127.0.0.1/callback", "com.example.app:/cb"}},
	}
	c.ApplyDefaults()
	return c
}

func TestValidConfigHasNoProblems(t *testing.T) {
	if ps := validConfig(t).Validate(); ps != nil {
		t.Fatalf("validConfig has problems:\n%v", ps)
	}
	if ps := Default().Validate(); ps != nil {
		t.Fatalf("Default has problems:\n%v", ps)
	}
}

// TestValidate breaks one rule per case and expects exactly the problems
// listed; a case with no problems checks that a valid edge is accepted.
func TestValidate(t *testing.T) {
	type P = Problem
	tests := []struct {
		name   string
		modify func(c *Config)
		want   Problems
	}{
		// issuer
		{"issuer empty", func(c *Config) { c.Issuer = "" }, Problems{{"issuer", "is required"}}},
		{"issuer not a URL", func(c *Config) { c.Issuer = "not a url" }, Problems{{"issuer", "must be an https URL"}}},
		{"issuer without scheme", func(c *Config) { c.Issuer = "sso.example.com" }, Problems{{"issuer", "must be an https URL"}}},
		{"issuer ftp", func(c *Config) { c.Issuer = "ftp://sso.example.com" }, Problems{{"issuer", "must be an https URL"}}},
		{"issuer http public", func(c *Config) { c.Issuer = "http://sso.example.com" },
			Problems{{"issuer", "must be an https URL (http is allowed only on a loopback host such as 127.0.0.1)"}}},
		{"issuer http 127/8", func(c *Config) { c.Issuer = "http://127.0.0.5:8080" }, nil},
		{"issuer http ::1", func(c *Config) { c.Issuer = "http://[::1]:8080" }, nil},
		{"issuer http localhost", func(c *Config) { c.Issuer = "http://localhost:8080" }, nil},
		{"issuer with path", func(c *Config) { c.Issuer = "https://example.com/sso" }, nil},
		{"issuer query", func(c *Config) { c.Issuer = "https://sso.example.com?a=b" }, Problems{{"issuer", "must not contain a query"}}},
		{"issuer empty query", func(c *Config) { c.Issuer = "https://sso.example.com?" }, Problems{{"issuer", "must not contain a query"}}},
		{"issuer fragment", func(c *Config) { c.Issuer = "https://sso.example.com#x" }, Problems{{"issuer", "must not contain a fragment"}}},
		{"issuer empty fragment", func(c *Config) { c.Issuer = "https://sso.example.com#" }, Problems{{"issuer", "must not contain a fragment"}}},
		{"issuer trailing slash", func(c *Config) { c.Issuer = "https://sso.example.com/" }, Problems{{"issuer", "must not end with a slash"}}},
		{"issuer user info", func(c *Config) { c.Issuer = "https://u:p@sso.example.com" }, Problems{{"issuer", "must not contain a user name or password"}}},

		// listen
		{"listen empty", func(c *Config) { c.Listen = "" }, Problems{{"listen", "is required"}}},
		{"listen port only", func(c *Config) { c.Listen = "8080" }, Problems{{"listen", "must be host:port, such as 127.0.0.1:8080 or :8080"}}},
		{"listen port too big", func(c *Config) { c.Listen = ":99999" }, Problems{{"listen", "must end with a port from 0 to 65535"}}},
		{"listen named port", func(c *Config) { c.Listen = ":http" }, Problems{{"listen", "must end with a port from 0 to 65535"}}},
		{"listen bad host", func(c *Config) { c.Listen = "bad_host!:80" }, Problems{{"listen", "must have an IP address or a host name before the port"}}},
		{"listen any free port", func(c *Config) { c.Listen = "127.0.0.1:0" }, nil},
		{"listen ipv6", func(c *Config) { c.Listen = "[::1]:8080" }, nil},
		{"listen host name", func(c *Config) { c.Listen = "sso.internal:443" }, nil},

		// database
		{"database empty", func(c *Config) { c.Database = "" }, Problems{{"database", "is required"}}},
		{"database mysql", func(c *Config) { c.Database = "mysql://db/x" }, Problems{{"database", "must be sqlite:PATH or a postgres:// URL"}}},
		{"database sqlite without path", func(c *Config) { c.Database = "sqlite:" }, Problems{{"database", "must name the database file: sqlite:PATH"}}},
		{"database bad postgres URL", func(c *Config) { c.Database = "postgres://u:%zz@db/x" }, Problems{{"database", "is not a valid postgres:// URL"}}},
		{"database postgresql", func(c *Config) { c.Database = "postgresql://db/x?sslmode=require" }, nil},
		{"database sqlite elsewhere", func(c *Config) { c.Database = "sqlite:/var/lib/sallyport/db.sqlite" }, nil},

		// encryption_key
		{"key not base64", func(c *Config) { c.EncryptionKey = "not base64!" },
			Problems{{"encryption_key", "the key is not base64; generate one with: openssl rand -base64 32"}}},
		{"key too short", func(c *Config) { c.EncryptionKey = "MDEyMzQ1Njc4OWFiY2RlZg==" },
			Problems{{"encryption_key", "the key is 16 bytes, not 32; generate one with: openssl rand -base64 32"}}},
		{"key ring", func(c *Config) { c.EncryptionKey = testKey2 + ", " + testKey }, nil},
		{"key URL alphabet unpadded", func(c *Config) { c.EncryptionKey = strings.TrimRight(testKey, "=") }, nil},
		{"key ring stray comma", func(c *Config) { c.EncryptionKey = testKey + "," }, Problems{{"encryption_key", "key 2 of 2 is empty (a stray comma?)"}}},
		{"key ring second bad", func(c *Config) { c.EncryptionKey = testKey + ",AAAA" },
			Problems{{"encryption_key", "key 2 of 2 is 3 bytes, not 32; generate one with: openssl rand -base64 32"}}},
		{"key ring repeat", func(c *Config) { c.EncryptionKey = testKey + "," + testKey2 + "," + testKey }, Problems{{"encryption_key", "key 3 of 3 repeats key 1"}}},
		{"key and key file", func(c *Config) { c.EncryptionKeyFile = "/run/secrets/key" },
			Problems{{"encryption_key_file", "set either encryption_key or encryption_key_file, not both"}}},
		{"key file not read", func(c *Config) { c.EncryptionKey, c.EncryptionKeyFile = "", "/run/secrets/key" },
			Problems{{"encryption_key_file", "is read only by Load; set encryption_key to the content instead"}}},
		{"no key", func(c *Config) { c.EncryptionKey = "" }, nil},

		// log
		{"log level", func(c *Config) { c.Log.Level = "verbose" }, Problems{{"log.level", "must be one of debug, info, warn, error"}}},
		{"log level case", func(c *Config) { c.Log.Level = "INFO" }, Problems{{"log.level", "must be one of debug, info, warn, error (did you mean info?)"}}},
		{"log format", func(c *Config) { c.Log.Format = "jsn" }, Problems{{"log.format", "must be one of auto, json, text (did you mean json?)"}}},

		// sessions
		{"idle zero", func(c *Config) { c.Sessions.Idle = 0 }, Problems{{"sessions.idle", "must be positive"}}},
		{"absolute negative", func(c *Config) { c.Sessions.Absolute = Duration(-time.Hour) }, Problems{{"sessions.absolute", "must be positive"}}},
		{"idle longer than absolute", func(c *Config) { c.Sessions.Idle = Duration(200 * time.Hour) },
			Problems{{"sessions.idle", "must not be longer than sessions.absolute (168h)"}}},
		{"idle equal absolute", func(c *Config) { c.Sessions.Idle = c.Sessions.Absolute }, nil},

		// rate limits
		{"rate limit zero", func(c *Config) { c.RateLimits.PerIPPerMinute = 0 },
			Problems{{"rate_limits.per_ip_per_minute", "must be positive when rate limits are enabled"}}},
		{"rate limit off and negative", func(c *Config) { c.RateLimits = RateLimits{Enabled: false, PerIPPerMinute: -1} },
			Problems{{"rate_limits.per_ip_per_minute", "must not be negative"}}},
		{"rate limit off", func(c *Config) { c.RateLimits = RateLimits{} }, nil},

		// connection slugs and kinds
		{"slug empty", func(c *Config) { c.Connections[0].Slug = "" }, Problems{{"connections[0].slug", "is required"}}},
		{"slug upper case", func(c *Config) { c.Connections[0].Slug = "Google" }, Problems{{"connections[0].slug", slugRule}}},
		{"slug leading hyphen", func(c *Config) { c.Connections[0].Slug = "-google" }, Problems{{"connections[0].slug", slugRule}}},
		{"slug 64 chars", func(c *Config) { c.Connections[0].Slug = strings.Repeat("a", 64) }, Problems{{"connections[0].slug", slugRule}}},
		{"slug 63 chars", func(c *Config) { c.Connections[0].Slug = strings.Repeat("a", 63) }, nil},
		{"slug repeated", func(c *Config) { c.Connections[1].Slug = "google" },
			Problems{{"connections[1].slug", `"google" is already used by connections[0]; connection slugs are unique across global and org connections because each names /callback/{slug}`}}},
		{"slug repeated by org", func(c *Config) { c.Orgs[0].Connections[0].Slug = "corp" },
			Problems{{"orgs[0].connections[0].slug", `"corp" is already used by connections[1]; connection slugs are unique across global and org connections because each names /callback/{slug}`}}},
		{"kind empty", func(c *Config) { c.Connections[0].Kind = "" },
			Problems{{"connections[0].kind", "is required: one of oidc, google, microsoft, github, apple, facebook, gitlab"}}},
		{"kind unknown", func(c *Config) { c.Connections[0].Kind = "gogle" },
			Problems{{"connections[0].kind", "must be one of oidc, google, microsoft, github, apple, facebook, gitlab (did you mean google?)"}}},
		{"client id empty", func(c *Config) { c.Connections[0].ClientID = "" }, Problems{{"connections[0].client_id", "is required"}}},

		// client secrets
		{"client secret missing", func(c *Config) { c.Connections[0].ClientSecret = "" },
			Problems{{"connections[0].client_secret", "is required, inline or by client_secret_file"}}},
		{"client secret twice", func(c *Config) { c.Connections[0].ClientSecretFile = "/run/secrets/g" },
			Problems{{"connections[0].client_secret_file", "set either client_secret or client_secret_file, not both"}}},
		{"facebook needs a secret", func(c *Config) { c.Connections[0].Kind, c.Connections[0].ClientSecret = KindFacebook, "" },
			Problems{{"connections[0].client_secret", "is required, inline or by client_secret_file"}}},

		// apple
		{"apple with client secret", func(c *Config) { c.Connections[3].ClientSecret = "s" },
			Problems{{"connections[3].client_secret", "is not used by kind apple, which signs its own client secret; set team_id, key_id and private_key"}}},
		{"apple without team, key id, key", func(c *Config) {
			c.Connections[3].TeamID, c.Connections[3].KeyID, c.Connections[3].PrivateKey = "", "", ""
		},
			Problems{
				{"connections[3].team_id", "is required for kind apple"},
				{"connections[3].key_id", "is required for kind apple"},
				{"connections[3].private_key", "is required for kind apple: the .p8 key from Apple, inline or by private_key_file"},
			}},
		{"apple key not PEM", func(c *Config) { c.Connections[3].PrivateKey = "MIGTAgEAMBMGByqGSM49" },
			Problems{{"connections[3].private_key", "must be a PEM private key (the .p8 file from Apple)"}}},
		{"apple key SEC1", func(c *Config) {
			c.Connections[3].PrivateKey = strings.ReplaceAll(c.Connections[3].PrivateKey, "PRIVATE KEY", "EC PRIVATE KEY")
		}, Problems{{"connections[3].private_key", "must be a PKCS#8 PEM block (BEGIN PRIVATE KEY), the .p8 file from Apple"}}},
		{"apple key garbage", func(c *Config) {
			c.Connections[3].PrivateKey = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("junk")}))
		}, Problems{{"connections[3].private_key", "is not a valid PKCS#8 private key"}}},
		{"apple key P-384", func(c *Config) { c.Connections[3].PrivateKey = testECKey(t, elliptic.P384()) },
			Problems{{"connections[3].private_key", "must be a P-256 EC key, as Apple issues"}}},
		{"apple fields on google", func(c *Config) { c.Connections[0].TeamID, c.Connections[0].PrivateKeyFile = "T", "/k.p8" },
			Problems{{"connections[0].team_id", "only applies to kind apple"}, {"connections[0].private_key_file", "only applies to kind apple"}}},

		// oidc issuer and scopes
		{"oidc without issuer", func(c *Config) { c.Connections[1].Issuer = "" }, Problems{{"connections[1].issuer", "is required for kind oidc"}}},
		{"oidc issuer not https", func(c *Config) { c.Connections[1].Issuer = "ldap://idp.corp.example" }, Problems{{"connections[1].issuer", "must be an https URL"}}},
		{"oidc issuer http", func(c *Config) { c.Connections[1].Issuer = "http://idp.corp.example" },
			Problems{{"connections[1].issuer", "must be an https URL (http is allowed only on a loopback host such as 127.0.0.1)"}}},
		{"oidc issuer loopback", func(c *Config) { c.Connections[1].Issuer = "http://127.0.0.1:9999/realms/x" }, nil},
		{"oidc issuer trailing slash", func(c *Config) { c.Connections[1].Issuer = "https://tenant.auth0.com/" }, nil},
		{"oidc issuer query", func(c *Config) { c.Connections[1].Issuer = "https://idp.corp.example?x=1" }, Problems{{"connections[1].issuer", "must not contain a query"}}},
		{"oidc scopes without openid", func(c *Config) { c.Connections[1].Scopes = []string{"email"} }, Problems{{"connections[1].scopes", "must include openid for kind oidc"}}},
		{"scope with space", func(c *Config) { c.Connections[1].Scopes = []string{"openid", "email profile"} },
			Problems{{"connections[1].scopes[1]", "must be one scope name without spaces"}}},
		{"issuer on google", func(c *Config) { c.Connections[0].Issuer = "https://accounts.google.com" },
			Problems{{"connections[0].issuer", "only applies to kind oidc; kind google knows its issuer"}}},

		// claims, patterns, domains
		{"claim mapping subject", func(c *Config) { c.Connections[1].ClaimMapping = map[string]string{"sub": "email", "subject": "oid"} },
			Problems{
				{"connections[1].claim_mapping.sub", "cannot be remapped: identities are keyed by the provider's own sub claim"},
				{"connections[1].claim_mapping.subject", "cannot be remapped: identities are keyed by the provider's own sub claim"},
			}},
		{"claim mapping on a preset", func(c *Config) { c.Connections[0].ClaimMapping = map[string]string{"email": "upn"} },
			Problems{{"connections[0].claim_mapping", "only applies to kind oidc"}}},
		{"claim mapping unknown", func(c *Config) { c.Connections[1].ClaimMapping = map[string]string{"mail": "upn"} },
			Problems{{"connections[1].claim_mapping.mail", "must be one of email, name, username, picture (did you mean email?)"}}},
		{"claim mapping empty claim", func(c *Config) { c.Connections[1].ClaimMapping = map[string]string{"name": " "} },
			Problems{{"connections[1].claim_mapping.name", "must name a claim of the provider"}}},
		{"email pattern", func(c *Config) { c.Connections[0].EmailPattern = "(" },
			Problems{{"connections[0].email_pattern", "is not a valid regular expression: missing closing ): `(`"}}},
		{"facebook email trusted", func(c *Config) {
			c.Connections[0].Kind, c.Connections[0].TrustEmailForLinking = KindFacebook, ptr(true)
		}, Problems{{"connections[0].trust_email_for_linking", "cannot be true for kind facebook: Facebook does not verify email addresses"}}},
		{"facebook email not trusted", func(c *Config) {
			c.Connections[0].Kind, c.Connections[0].TrustEmailForLinking = KindFacebook, ptr(false)
		}, nil},
		{"gitlab email trusted", func(c *Config) { c.Connections[4].TrustEmailForLinking = ptr(true) }, nil},
		{"allowed domain", func(c *Config) { c.Connections[0].AllowedDomains = []string{"example.com", "not a domain"} },
			Problems{{"connections[0].allowed_domains[1]", "must be a domain name such as example.com"}}},
		{"admin domain wildcard", func(c *Config) { c.Connections[0].AdminEmailDomains = []string{"*.example.com"} },
			Problems{{"connections[0].admin_email_domains[0]", "must be a domain name such as example.com"}}},

		// algorithms
		{"algs empty", func(c *Config) { c.Connections[1].AllowedAlgs = []string{} }, Problems{{"connections[1].allowed_algs", "must list at least one algorithm"}}},
		{"algs none", func(c *Config) { c.Connections[1].AllowedAlgs = []string{"RS256", "none"} },
			Problems{{"connections[1].allowed_algs[1]", "must never be none: it would accept unsigned tokens"}}},
		{"algs None", func(c *Config) { c.Connections[1].AllowedAlgs = []string{"None"} },
			Problems{{"connections[1].allowed_algs[0]", "must never be none: it would accept unsigned tokens"}}},
		{"algs lower case", func(c *Config) { c.Connections[1].AllowedAlgs = []string{"rs256"} },
			Problems{{"connections[1].allowed_algs[0]", "must be one of RS256, RS384, RS512, ES256, ES384, ES512, PS256, PS384, PS512, EdDSA, HS256, HS384, HS512 (did you mean RS256?)"}}},
		{"algs HMAC listed", func(c *Config) { c.Connections[1].AllowedAlgs = []string{"HS256"} }, nil},

		// auth params
		{"auth params owned", func(c *Config) {
			c.Connections[0].AuthParams = map[string]string{"state": "x", "Nonce": "y", "redirect_uri": "z", "request": "jwt", "prompt": "login"}
		}, Problems{
			{"connections[0].auth_params.Nonce", "is set by Sallyport and cannot be overridden"},
			{"connections[0].auth_params.redirect_uri", "is set by Sallyport and cannot be overridden"},
			{"connections[0].auth_params.request", "is set by Sallyport and cannot be overridden"},
			{"connections[0].auth_params.state", "is set by Sallyport and cannot be overridden"},
		}},
		{"auth params every owned name", func(c *Config) {
			c.Connections[0].AuthParams = map[string]string{}
			for _, k := range reservedParams {
				c.Connections[0].AuthParams[k] = "x"
			}
		}, func() Problems {
			var ps Problems
			for _, k := range sortedKeys(map[string]string{"state": "", "nonce": "", "code_challenge": "", "code_challenge_method": "", "redirect_uri": "",
				"client_id": "", "response_type": "", "scope": "", "request": "", "request_uri": "", "response_mode": ""}) {
				ps = append(ps, P{"connections[0].auth_params." + k, "is set by Sallyport and cannot be overridden"})
			}
			return ps
		}()},
		{"auth params empty name", func(c *Config) { c.Connections[0].AuthParams = map[string]string{"": "x"} },
			Problems{{"connections[0].auth_params", "parameter names must not be empty"}}},

		// microsoft
		{"tenant missing", func(c *Config) { c.Connections[2].Tenant, c.Connections[2].AllowedTenants = "", nil },
			Problems{{"connections[2].tenant", "is required for kind microsoft: common, organizations, consumers, a tenant ID or a tenant domain"}}},
		{"common without allowed tenants", func(c *Config) { c.Connections[2].Tenant, c.Connections[2].AllowedTenants = "common", nil },
			Problems{{"connections[2].allowed_tenants", "is required when tenant is common: list the tenant IDs that may sign in"}}},
		{"organizations without allowed tenants", func(c *Config) { c.Connections[2].AllowedTenants = nil },
			Problems{{"connections[2].allowed_tenants", "is required when tenant is organizations: list the tenant IDs that may sign in"}}},
		{"consumers with allowed tenants", func(c *Config) { c.Connections[2].Tenant = "consumers" },
			Problems{{"connections[2].allowed_tenants", "only applies when tenant is common or organizations"}}},
		{"tenant id", func(c *Config) { c.Connections[2].Tenant, c.Connections[2].AllowedTenants = testTenant, nil }, nil},
		{"tenant domain", func(c *Config) {
			c.Connections[2].Tenant, c.Connections[2].AllowedTenants = "contoso.onmicrosoft.com", nil
		}, nil},
		{"consumers", func(c *Config) { c.Connections[2].Tenant, c.Connections[2].AllowedTenants = "consumers", nil }, nil},
		{"tenant invalid", func(c *Config) { c.Connections[2].Tenant, c.Connections[2].AllowedTenants = "Common", nil },
			Problems{{"connections[2].tenant", "must be common, organizations, consumers, a tenant ID or a tenant domain"}}},
		{"allowed tenant not a GUID", func(c *Config) { c.Connections[2].AllowedTenants = []string{testTenant, "contoso.com"} },
			Problems{{"connections[2].allowed_tenants[1]", "must be a tenant ID such as 72f988bf-86f1-41af-91ab-2d7cd011db47"}}},
		{"tenant on oidc", func(c *Config) {
			c.Connections[1].Tenant, c.Connections[1].AllowedTenants = "common", []string{testTenant}
		},
			Problems{{"connections[1].tenant", "only applies to kind microsoft"}, {"connections[1].allowed_tenants", "only applies to kind microsoft"}}},

		// base_url
		{"base url on google", func(c *Config) { c.Connections[0].BaseURL = "https://google.example" },
			Problems{{"connections[0].base_url", "only applies to kinds github and gitlab"}}},
		{"base url http", func(c *Config) { c.Connections[4].BaseURL = "http://gitlab.example.com" },
			Problems{{"connections[4].base_url", "must be an https URL (http is allowed only on a loopback host such as 127.0.0.1)"}}},
		{"base url not a URL", func(c *Config) { c.Connections[4].BaseURL = "gitlab.example.com" }, Problems{{"connections[4].base_url", "must be an https URL"}}},
		{"github enterprise", func(c *Config) {
			c.Connections[4].Kind, c.Connections[4].BaseURL = KindGitHub, "https://github.example.com/"
		}, nil},
		{"gitlab.com", func(c *Config) { c.Connections[4].BaseURL = "" }, nil},

		// orgs
		{"org slug empty", func(c *Config) { c.Orgs[0].Slug = "" }, Problems{{"orgs[0].slug", "is required"}}},
		{"org slug bad", func(c *Config) { c.Orgs[0].Slug = "ACME" }, Problems{{"orgs[0].slug", slugRule}}},
		{"org slug repeated", func(c *Config) { c.Orgs = append(c.Orgs, Org{Slug: "acme", ProviderAssignment: "open"}) },
			Problems{{"orgs[1].slug", `"acme" is already used by orgs[0]`}}},
		{"org slug may equal a connection slug", func(c *Config) { c.Orgs[0].Slug = "google" }, nil},
		{"org domain invalid", func(c *Config) { c.Orgs[0].Domains = []string{"acme"} }, Problems{{"orgs[0].domains[0]", "must be a domain name such as example.com"}}},
		{"org domain repeated", func(c *Config) { c.Orgs[0].Domains = []string{"acme.com", "ACME.com."} }, Problems{{"orgs[0].domains[1]", "repeats domains[0]"}}},
		{"org domain IDN", func(c *Config) { c.Orgs[0].Domains = []string{"bücher.example"} }, nil},
		{"provider assignment", func(c *Config) { c.Orgs[0].ProviderAssignment = "closed" },
			Problems{{"orgs[0].provider_assignment", "must be one of open, assigned"}}},
		{"org connection problem", func(c *Config) { c.Orgs[0].Connections[0].ClientID = "" }, Problems{{"orgs[0].connections[0].client_id", "is required"}}},

		// clients
		{"client id empty", func(c *Config) { c.Clients[0].ID = "" }, Problems{{"clients[0].id", "is required"}}},
		{"client id space", func(c *Config) { c.Clients[0].ID = "my app" }, Problems{{"clients[0].id", "must not contain spaces or control characters"}}},
		{"client id repeated", func(c *Config) { c.Clients[1].ID = "web" }, Problems{{"clients[1].id", `"web" is already used by clients[0]`}}},
		{"public client with secret", func(c *Config) { c.Clients[1].Secret, c.Clients[1].SecretFile = "s", "/f" },
			Problems{
				{"clients[1].secret", "must not be set for a public client: public: true means the app cannot keep a secret"},
				{"clients[1].secret_file", "must not be set for a public client: public: true means the app cannot keep a secret"},
			}},
		{"confidential client without secret", func(c *Config) { c.Clients[0].Secret = "" },
			Problems{{"clients[0].secret", "is required for a confidential client, inline or by secret_file; set public: true for an app that cannot keep a secret"}}},
		{"client secret twice", func(c *Config) { c.Clients[0].SecretFile = "/f" },
			Problems{{"clients[0].secret_file", "set either secret or secret_file, not both"}}},
		{"redirect uris empty", func(c *Config) { c.Clients[0].RedirectURIs = nil }, Problems{{"clients[0].redirect_uris", "must list at least one URI"}}},
		{"redirect uri rules", func(c *Config) {
			c.Clients[0].RedirectURIs = []string{
				"https://app.example.com/cb",
				"",
				"https://app.example.com/cb#frag",
				"https://*.example.com/cb",
				"/callback",
				"http://app.example.com/cb",
				"http://127.0.0.2/cb",
				"com.example.app:/cb",
				"https://u@app.example.com/cb",
				"https:///cb",
				"https://app.example.com/cb",
			}
		}, Problems{
			{"clients[0].redirect_uris[1]", "must not be empty"},
			{"clients[0].redirect_uris[2]", "must not contain a fragment"},
			{"clients[0].redirect_uris[3]", "must not contain a wildcard (*): redirect URIs are matched exactly"},
			{"clients[0].redirect_uris[4]", "must be an absolute URL"},
			{"clients[0].redirect_uris[5]", "must use https (http only with a loopback host: 127.0.0.1, [::1] or localhost)"},
			{"clients[0].redirect_uris[6]", "must use https (http only with a loopback host: 127.0.0.1, [::1] or localhost)"},
			{"clients[0].redirect_uris[7]", "must use https; custom schemes such as com.example.app:/callback are allowed only for public clients"},
			{"clients[0].redirect_uris[8]", "must not contain a user name or password"},
			{"clients[0].redirect_uris[9]", "must be an absolute URL"},
			{"clients[0].redirect_uris[10]", "repeats redirect_uris[0]"},
		}},
		{"public client custom schemes", func(c *Config) {
			c.Clients[1].RedirectURIs = []string{"com.example.app:/cb", "myapp:/cb", "javascript:alert(1)", "http://[::1]:5000/cb", "http://localhost/cb"}
		}, Problems{
			{"clients[1].redirect_uris[1]", "must use https or a reverse-domain custom scheme such as com.example.app:/callback"},
			{"clients[1].redirect_uris[2]", "must use https or a reverse-domain custom scheme such as com.example.app:/callback"},
		}},
		{"post logout uri", func(c *Config) { c.Clients[0].PostLogoutRedirectURIs = []string{"https://app.example.com/#bye"} },
			Problems{{"clients[0].post_logout_redirect_uris[0]", "must not contain a fragment"}}},
		{"allowed connection", func(c *Config) { c.Clients[0].AllowedConnections = []string{"Google"} },
			Problems{{"clients[0].allowed_connections[0]", "must be a connection slug"}}},
		{"id token alg", func(c *Config) { c.Clients[0].IDTokenSigningAlg = "HS256" },
			Problems{{"clients[0].id_token_signing_alg", "must be one of RS256, ES256, EdDSA"}}},
		{"id token alg EdDSA", func(c *Config) { c.Clients[0].IDTokenSigningAlg = "EdDSA" }, nil},
		{"access token format", func(c *Config) { c.Clients[0].AccessTokenFormat = "JWT" },
			Problems{{"clients[0].access_token_format", "must be one of opaque, jwt (did you mean jwt?)"}}},
		{"token ttls", func(c *Config) { c.Clients[0].AccessTokenTTL, c.Clients[0].RefreshTokenTTL = 0, Duration(-time.Second) },
			Problems{{"clients[0].access_token_ttl", "must be positive"}, {"clients[0].refresh_token_ttl", "must be positive"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig(t)
			tt.modify(c)
			if diff := cmp.Diff(tt.want, c.Validate()); diff != "" {
				t.Errorf("Validate() problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := validConfig(t)
	c.Issuer = "http://sso.example.com"
	c.Connections[1].Issuer = "http://idp.corp.example"
	c.Clients[0].RedirectURIs = []string{"https://a.example/#x"}
	want := Problems{
		{"issuer", "must be an https URL (http is allowed only on a loopback host such as 127.0.0.1)"},
		{"connections[1].issuer", "must be an https URL (http is allowed only on a loopback host such as 127.0.0.1)"},
		{"clients[0].redirect_uris[0]", "must not contain a fragment"},
	}
	if diff := cmp.Diff(want, c.Validate()); diff != "" {
		t.Errorf("Validate() (-want +got):\n%s", diff)
	}
}

// A Config built in Go without ApplyDefaults is refused by name, not
// accepted with empty algorithms.
func TestValidateWithoutDefaults(t *testing.T) {
	c := Default()
	c.Clients = []Client{{ID: "app", Public: true, RedirectURIs: []string{"http://127.0.0.1/cb"}}}
	want := Problems{
		{"clients[0].id_token_signing_alg", "must be one of RS256, ES256, EdDSA"},
		{"clients[0].access_token_format", "must be one of opaque, jwt"},
		{"clients[0].access_token_ttl", "must be positive"},
		{"clients[0].refresh_token_ttl", "must be positive"},
	}
	if diff := cmp.Diff(want, c.Validate()); diff != "" {
		t.Errorf("Validate() (-want +got):\n%s", diff)
	}
	c.ApplyDefaults()
	if ps := c.Validate(); ps != nil {
		t.Errorf("after ApplyDefaults: %v", ps)
	}
}

func TestValidateNeverEchoesSecrets(t *testing.T) {
	c := validConfig(t)
	c.Database = "postgres://u:hunter2-db@db/x%zz"
	c.EncryptionKey = "hunter2-key!"
	c.Connections[3].PrivateKey = "hunter2-pem"
	for _, p := range c.Validate() {
		if strings.Contains(p.Message, "hunter2") {
			t.Errorf("problem repeats a secret: %v", p)
		}
	}
}

func TestWarnings(t *testing.T) {
	tests := []struct {
		name   string
		modify func(c *Config)
		want   []string
	}{
		{"defaults", func(*Config) {}, nil},
		{"private networks", func(c *Config) { c.InsecureAllowPrivateNetworks = true }, []string{
			"insecure_allow_private_networks is on: discovery, JWKS and handle fetches may reach loopback and private addresses; use it only for tests and the demo",
		}},
		{"rate limits off", func(c *Config) { c.RateLimits.Enabled = false }, []string{
			"rate_limits.enabled is false: sign-in, password, TOTP, reset and token endpoints are not rate limited",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.modify(c)
			if diff := cmp.Diff(tt.want, c.Warnings()); diff != "" {
				t.Errorf("Warnings() (-want +got):\n%s", diff)
			}
		})
	}
}
