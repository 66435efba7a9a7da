package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"maps"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/sallyport/sallyport/internal/store"
	"github.com/sallyport/sallyport/internal/upstream"
)

// slugPattern is the shape of connection and org slugs: they appear in
// URL paths (/callback/{slug}, /orgs/{slug}/sso) and in tokens.
var slugPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

const slugRule = "must be 1 to 63 lower-case letters, digits and hyphens, starting with a letter or digit"

// Allowed values, in the order problems list them.
var (
	logLevels      = []string{"debug", "info", "warn", "error"}
	logFormats     = []string{"auto", "json", "text"}
	assignments    = []string{"open", "assigned"}
	idTokenAlgs    = []string{"RS256", "ES256", "EdDSA"}
	tokenFormats   = []string{"opaque", "jwt"}
	claimKeys      = []string{"email", "name", "username", "picture"}
	multiTenants   = []string{"common", "organizations"}
	upstreamAlgs   = []string{"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA", "HS256", "HS384", "HS512"}
	reservedParams = upstream.ReservedAuthParams()
)

// Validate checks the whole configuration and returns every problem found,
// in the order of the settings; nil means the configuration is usable.
// Load calls it after applying defaults; a program that builds a Config in
// Go calls [Config.ApplyDefaults] first. Messages never repeat a secret.
func (c *Config) Validate() Problems {
	var ps Problems
	if msg := issuerProblem(c.Issuer); msg != "" {
		ps.add("issuer", msg)
	}
	if msg := listenProblem(c.Listen); msg != "" {
		ps.add("listen", msg)
	}
	if msg := databaseProblem(c.Database); msg != "" {
		ps.add("database", msg)
	}
	checkFilePair(&ps, c.EncryptionKey, c.EncryptionKeyFile, "encryption_key", "encryption_key_file", "")
	if c.EncryptionKey != "" {
		if msg := keyRingProblem(c.EncryptionKey); msg != "" {
			ps.add("encryption_key", msg)
		}
	}
	checkOneOf(&ps, "log.level", c.Log.Level, logLevels)
	checkOneOf(&ps, "log.format", c.Log.Format, logFormats)

	idle, absolute := c.Sessions.Idle, c.Sessions.Absolute
	if idle <= 0 {
		ps.add("sessions.idle", "must be positive")
	}
	if absolute <= 0 {
		ps.add("sessions.absolute", "must be positive")
	}
	if idle > 0 && absolute > 0 && idle > absolute {
		ps.add("sessions.idle", "must not be longer than sessions.absolute ("+absolute.String()+")")
	}
	switch rl := c.RateLimits; {
	case rl.Enabled && rl.PerIPPerMinute <= 0:
		ps.add("rate_limits.per_ip_per_minute", "must be positive when rate limits are enabled")
	case rl.PerIPPerMinute < 0:
		ps.add("rate_limits.per_ip_per_minute", "must not be negative")
	}

	slugs := map[string]string{} // connection slug → path of its first use
	for i, cn := range c.Connections {
		validateConnection(&ps, cn, fmt.Sprintf("connections[%d]", i), slugs)
	}
	orgSlugs := map[string]string{}
	for i, o := range c.Orgs {
		validateOrg(&ps, o, fmt.Sprintf("orgs[%d]", i), orgSlugs, slugs)
	}
	clientIDs := map[string]string{}
	for i, cl := range c.Clients {
		validateClient(&ps, cl, fmt.Sprintf("clients[%d]", i), clientIDs)
	}
	return ps
}

// Warnings lists the weakening switches that are on, one sentence each, so
// `serve` can log them at every start and nobody runs that way unawares.
func (c *Config) Warnings() []string {
	var w []string
	if c.InsecureAllowPrivateNetworks {
		w = append(w, "insecure_allow_private_networks is on: discovery, JWKS and handle fetches may reach loopback and private addresses; use it only for tests and the demo")
	}
	if !c.RateLimits.Enabled {
		w = append(w, "rate_limits.enabled is false: sign-in, password, TOTP, reset and token endpoints are not rate limited")
	}
	return w
}

func validateConnection(ps *Problems, cn Connection, p string, slugs map[string]string) {
	field := func(name string) string { return p + "." + name }
	checkSlug(ps, field("slug"), cn.Slug, slugs, "; connection slugs are unique across global and org connections because each names /callback/{slug}")

	known := slices.Contains(kinds, cn.Kind)
	switch {
	case cn.Kind == "":
		ps.add(field("kind"), "is required: one of "+strings.Join(kinds, ", "))
	case !known:
		ps.add(field("kind"), "must be one of "+strings.Join(kinds, ", ")+hint(cn.Kind, kinds))
	}
	if cn.ClientID == "" {
		ps.add(field("client_id"), "is required")
	}

	// The client secret: every kind has one except Apple, whose secret is
	// a JWT Sallyport signs with the team's private key.
	if cn.Kind == KindApple {
		notFor(ps, field("client_secret"), cn.ClientSecret, "is not used by kind apple, which signs its own client secret; set team_id, key_id and private_key")
		notFor(ps, field("client_secret_file"), cn.ClientSecretFile, "is not used by kind apple, which signs its own client secret; set team_id, key_id and private_key")
		if cn.TeamID == "" {
			ps.add(field("team_id"), "is required for kind apple")
		}
		if cn.KeyID == "" {
			ps.add(field("key_id"), "is required for kind apple")
		}
		checkFilePair(ps, cn.PrivateKey, cn.PrivateKeyFile, field("private_key"), field("private_key_file"), "is required for kind apple: the .p8 key from Apple, inline or by private_key_file")
		if cn.PrivateKey != "" {
			if msg := appleKeyProblem(cn.PrivateKey); msg != "" {
				ps.add(field("private_key"), msg)
			}
		}
	} else {
		required := ""
		if known {
			required = "is required, inline or by client_secret_file"
		}
		checkFilePair(ps, cn.ClientSecret, cn.ClientSecretFile, field("client_secret"), field("client_secret_file"), required)
		const appleOnly = "only applies to kind apple"
		notFor(ps, field("team_id"), cn.TeamID, appleOnly)
		notFor(ps, field("key_id"), cn.KeyID, appleOnly)
		notFor(ps, field("private_key"), cn.PrivateKey, appleOnly)
		notFor(ps, field("private_key_file"), cn.PrivateKeyFile, appleOnly)
	}

	if cn.Kind == KindOIDC {
		switch {
		case cn.Issuer == "":
			ps.add(field("issuer"), "is required for kind oidc")
		default:
			if msg := upstreamURLProblem(cn.Issuer); msg != "" {
				ps.add(field("issuer"), msg)
			}
		}
		if len(cn.Scopes) > 0 && !slices.Contains(cn.Scopes, "openid") {
			ps.add(field("scopes"), "must include openid for kind oidc")
		}
	} else if known {
		notFor(ps, field("issuer"), cn.Issuer, "only applies to kind oidc; kind "+cn.Kind+" knows its issuer")
	}
	for i, s := range cn.Scopes {
		if strings.TrimSpace(s) == "" || strings.ContainsAny(s, " \t\r\n") {
			ps.add(fmt.Sprintf("%s[%d]", field("scopes"), i), "must be one scope name without spaces")
		}
	}

	if len(cn.ClaimMapping) > 0 && cn.Kind != KindOIDC {
		// The presets read each provider's documented claims (a mapping
		// could undo a rule such as GitHub's verified primary email).
		ps.add(field("claim_mapping"), "only applies to kind oidc")
	}
	for _, k := range sortedKeys(cn.ClaimMapping) {
		kp := field("claim_mapping") + "." + k
		switch {
		case k == "sub" || k == "subject":
			ps.add(kp, "cannot be remapped: identities are keyed by the provider's own sub claim")
		case !slices.Contains(claimKeys, k):
			ps.add(kp, "must be one of "+strings.Join(claimKeys, ", ")+hint(k, claimKeys))
		case strings.TrimSpace(cn.ClaimMapping[k]) == "":
			ps.add(kp, "must name a claim of the provider")
		}
	}
	if cn.EmailPattern != "" {
		if _, err := regexp.Compile(cn.EmailPattern); err != nil {
			ps.add(field("email_pattern"), "is not a valid regular expression: "+strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		}
	}
	if cn.Kind == KindFacebook && cn.TrustEmailForLinking != nil && *cn.TrustEmailForLinking {
		// Linking on an unverified address hands the account to whoever
		// typed it into Facebook.
		ps.add(field("trust_email_for_linking"), "cannot be true for kind facebook: Facebook does not verify email addresses")
	}
	checkDomains(ps, field("allowed_domains"), cn.AllowedDomains)
	checkDomains(ps, field("admin_email_domains"), cn.AdminEmailDomains)

	if len(cn.AllowedAlgs) == 0 {
		ps.add(field("allowed_algs"), "must list at least one algorithm")
	}
	for i, a := range cn.AllowedAlgs {
		ap := fmt.Sprintf("%s[%d]", field("allowed_algs"), i)
		switch {
		case strings.EqualFold(a, "none"):
			ps.add(ap, "must never be none: it would accept unsigned tokens")
		case !slices.Contains(upstreamAlgs, a):
			ps.add(ap, "must be one of "+strings.Join(upstreamAlgs, ", ")+caseHint(a, upstreamAlgs))
		}
	}
	for _, k := range sortedKeys(cn.AuthParams) {
		switch {
		case strings.TrimSpace(k) == "":
			ps.add(field("auth_params"), "parameter names must not be empty")
		case slices.Contains(reservedParams, strings.ToLower(k)):
			ps.add(field("auth_params")+"."+k, "is set by Sallyport and cannot be overridden")
		}
	}

	if cn.Kind == KindMicrosoft {
		validateTenant(ps, cn, p)
	} else {
		notFor(ps, field("tenant"), cn.Tenant, "only applies to kind microsoft")
		if len(cn.AllowedTenants) > 0 {
			ps.add(field("allowed_tenants"), "only applies to kind microsoft")
		}
	}

	if cn.Kind == KindGoogle {
		for i, d := range cn.HostedDomains {
			if n, err := store.NormalizeDomain(d); err != nil || n != d {
				ps.add(fmt.Sprintf("%s[%d]", field("hosted_domains"), i), "must be a lower-case domain name, like example.com")
			}
		}
	} else if len(cn.HostedDomains) > 0 {
		ps.add(field("hosted_domains"), "only applies to kind google")
	}

	if cn.Kind == KindGitHub || cn.Kind == KindGitLab {
		if cn.BaseURL != "" {
			if msg := upstreamURLProblem(cn.BaseURL); msg != "" {
				ps.add(field("base_url"), msg)
			}
		}
	} else {
		notFor(ps, field("base_url"), cn.BaseURL, "only applies to kinds github and gitlab")
	}
}

// validateTenant applies Entra ID's rules: a multi-tenant connection must
// name the tenants it accepts, or anyone with any Microsoft account could
// sign in.
func validateTenant(ps *Problems, cn Connection, p string) {
	switch t := cn.Tenant; {
	case t == "":
		ps.add(p+".tenant", "is required for kind microsoft: common, organizations, consumers, a tenant ID or a tenant domain")
	case slices.Contains(multiTenants, t):
		if len(cn.AllowedTenants) == 0 {
			ps.add(p+".allowed_tenants", "is required when tenant is "+t+": list the tenant IDs that may sign in")
		}
	case t == "consumers" || upstream.IsGUID(t) || validDomain(t):
		if len(cn.AllowedTenants) > 0 {
			ps.add(p+".allowed_tenants", "only applies when tenant is common or organizations")
		}
	default:
		ps.add(p+".tenant", "must be common, organizations, consumers, a tenant ID or a tenant domain")
	}
	for i, id := range cn.AllowedTenants {
		if !upstream.IsGUID(id) {
			ps.add(fmt.Sprintf("%s.allowed_tenants[%d]", p, i), "must be a tenant ID such as 72f988bf-86f1-41af-91ab-2d7cd011db47")
		}
	}
}

func validateOrg(ps *Problems, o Org, p string, orgSlugs, connSlugs map[string]string) {
	checkSlug(ps, p+".slug", o.Slug, orgSlugs, "")
	seen := map[string]int{}
	for i, dom := range o.Domains {
		dp := fmt.Sprintf("%s.domains[%d]", p, i)
		norm, err := store.NormalizeDomain(dom)
		if err != nil {
			ps.add(dp, "must be a domain name such as example.com")
			continue
		}
		if first, dup := seen[norm]; dup {
			ps.add(dp, fmt.Sprintf("repeats domains[%d]", first))
			continue
		}
		seen[norm] = i
	}
	checkOneOf(ps, p+".provider_assignment", o.ProviderAssignment, assignments)
	for i, cn := range o.Connections {
		validateConnection(ps, cn, fmt.Sprintf("%s.connections[%d]", p, i), connSlugs)
	}
}

func validateClient(ps *Problems, cl Client, p string, ids map[string]string) {
	field := func(name string) string { return p + "." + name }
	switch first, dup := ids[cl.ID]; {
	case cl.ID == "":
		ps.add(field("id"), "is required")
	case strings.ContainsFunc(cl.ID, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		ps.add(field("id"), "must not contain spaces or control characters")
	case dup:
		ps.add(field("id"), fmt.Sprintf("%q is already used by %s", cl.ID, first))
	default:
		ids[cl.ID] = p
	}
	if cl.Public {
		const msg = "must not be set for a public client: public: true means the app cannot keep a secret"
		notFor(ps, field("secret"), cl.Secret, msg)
		notFor(ps, field("secret_file"), cl.SecretFile, msg)
	} else {
		checkFilePair(ps, cl.Secret, cl.SecretFile, field("secret"), field("secret_file"),
			"is required for a confidential client, inline or by secret_file; set public: true for an app that cannot keep a secret")
	}
	if len(cl.RedirectURIs) == 0 {
		ps.add(field("redirect_uris"), "must list at least one URI")
	}
	checkRedirectURIs(ps, field("redirect_uris"), cl.RedirectURIs, cl.Public)
	checkRedirectURIs(ps, field("post_logout_redirect_uris"), cl.PostLogoutRedirectURIs, cl.Public)
	for i, s := range cl.AllowedConnections {
		if !slugPattern.MatchString(s) {
			ps.add(fmt.Sprintf("%s[%d]", field("allowed_connections"), i), "must be a connection slug")
		}
	}
	if !slices.Contains(idTokenAlgs, cl.IDTokenSigningAlg) {
		ps.add(field("id_token_signing_alg"), "must be one of "+strings.Join(idTokenAlgs, ", ")+caseHint(cl.IDTokenSigningAlg, idTokenAlgs))
	}
	checkOneOf(ps, field("access_token_format"), cl.AccessTokenFormat, tokenFormats)
	if cl.AccessTokenTTL <= 0 {
		ps.add(field("access_token_ttl"), "must be positive")
	}
	if cl.RefreshTokenTTL <= 0 {
		ps.add(field("refresh_token_ttl"), "must be positive")
	}
}

// checkSlug checks a slug's shape and that no earlier item used it.
func checkSlug(ps *Problems, path, slug string, used map[string]string, why string) {
	switch first, dup := used[slug]; {
	case slug == "":
		ps.add(path, "is required")
	case !slugPattern.MatchString(slug):
		ps.add(path, slugRule)
	case dup:
		ps.add(path, fmt.Sprintf("%q is already used by %s%s", slug, first, why))
	default:
		used[slug] = parentPath(path)
	}
}

// checkFilePair checks a setting that has a *_file variant. Load has read
// the file into the value by the time Validate runs, so a *_file still set
// means both were given, or a Config built in Go that Load never saw.
// required is the problem when neither is set; "" when optional.
func checkFilePair(ps *Problems, value, file, valuePath, filePath, required string) {
	valueName, fileName := lastKey(valuePath), lastKey(filePath)
	switch {
	case value != "" && file != "":
		ps.add(filePath, "set either "+valueName+" or "+fileName+", not both")
	case file != "":
		ps.add(filePath, "is read only by Load; set "+valueName+" to the content instead")
	case value == "" && required != "":
		ps.add(valuePath, required)
	}
}

func lastKey(path string) string {
	return path[strings.LastIndexByte(path, '.')+1:]
}

// notFor reports a setting that does not apply to the item's kind, so a
// setting the operator believes is in force is never silently ignored.
func notFor(ps *Problems, path, value, msg string) {
	if value != "" {
		ps.add(path, msg)
	}
}

func checkOneOf(ps *Problems, path, value string, allowed []string) {
	if !slices.Contains(allowed, value) {
		ps.add(path, "must be one of "+strings.Join(allowed, ", ")+hint(value, allowed))
	}
}

// hint suggests the allowed value a wrong one was probably meant to be.
func hint(value string, allowed []string) string {
	if h := caseHint(value, allowed); h != "" {
		return h
	}
	if s := suggest(value, allowed); s != "" {
		return " (did you mean " + s + "?)"
	}
	return ""
}

// caseHint suggests only a different spelling of case. Algorithm names are
// one letter apart from each other (HS256, RS256, PS256), so a spelling
// hint would propose a different algorithm, not a fix.
func caseHint(value string, allowed []string) string {
	for _, a := range allowed {
		if value != "" && strings.EqualFold(a, value) {
			return " (did you mean " + a + "?)"
		}
	}
	return ""
}

func checkDomains(ps *Problems, path string, domains []string) {
	for i, d := range domains {
		if !validDomain(d) {
			ps.add(fmt.Sprintf("%s[%d]", path, i), "must be a domain name such as example.com")
		}
	}
}

func validDomain(s string) bool {
	_, err := store.NormalizeDomain(s)
	return err == nil
}

// isLoopbackHost reports whether host names this machine: localhost,
// 127.0.0.0/8 or ::1. Plain http is tolerated there only, where nobody
// else can watch the traffic.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// issuerProblem checks Sallyport's own issuer. Apps compare it byte for
// byte with the "iss" of every token, so it has one spelling: no query,
// fragment or trailing slash.
func issuerProblem(raw string) string {
	if raw == "" {
		return "is required"
	}
	if msg := upstreamURLProblem(raw); msg != "" {
		return msg
	}
	if u, _ := url.Parse(raw); strings.HasSuffix(u.Path, "/") {
		return "must not end with a slash"
	}
	return ""
}

// upstreamURLProblem checks a URL Sallyport sends people or requests to:
// https, or http only on a loopback host (tests and local use). A trailing
// slash is allowed because some providers' issuers have one.
func upstreamURLProblem(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return "must be an https URL"
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopbackHost(u.Hostname()) {
			return "must be an https URL (http is allowed only on a loopback host such as 127.0.0.1)"
		}
	default:
		return "must be an https URL"
	}
	switch {
	case u.User != nil:
		return "must not contain a user name or password"
	case u.RawQuery != "" || u.ForceQuery:
		return "must not contain a query"
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "must not contain a fragment"
	}
	return ""
}

func listenProblem(listen string) string {
	if listen == "" {
		return "is required"
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "must be host:port, such as 127.0.0.1:8080 or :8080"
	}
	// Port 0 (any free port) is for tests that read the bound address.
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return "must end with a port from 0 to 65535"
	}
	if host != "" && net.ParseIP(host) == nil && !validHostname(host) {
		return "must have an IP address or a host name before the port"
	}
	return ""
}

func validHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range []byte(label) {
			if !(c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				return false
			}
		}
	}
	return true
}

// databaseProblem checks the database setting without echoing it: a
// PostgreSQL URL usually carries a password.
func databaseProblem(db string) string {
	switch {
	case db == "":
		return "is required"
	case strings.HasPrefix(db, "sqlite:"):
		if strings.TrimPrefix(db, "sqlite:") == "" {
			return "must name the database file: sqlite:PATH"
		}
	case strings.HasPrefix(db, "postgres://"), strings.HasPrefix(db, "postgresql://"):
		if _, err := url.Parse(db); err != nil {
			return "is not a valid postgres:// URL"
		}
	default:
		return "must be sqlite:PATH or a postgres:// URL"
	}
	return ""
}

// keyRingProblem checks an encryption key ring the way the secret package
// reads it: base64 keys (standard or URL alphabet, padded or not) separated
// by commas, newest first, each 32 bytes. Problems name a key's position,
// never its value.
func keyRingProblem(ring string) string {
	parts := strings.Split(ring, ",")
	which := func(i int) string {
		if len(parts) == 1 {
			return "the key"
		}
		return fmt.Sprintf("key %d of %d", i+1, len(parts))
	}
	seen := map[string]int{}
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			return which(i) + " is empty (a stray comma?)"
		}
		k, ok := decodeBase64(p)
		if !ok {
			return which(i) + " is not base64; generate one with: openssl rand -base64 32"
		}
		if len(k) != 32 {
			return fmt.Sprintf("%s is %d bytes, not 32; generate one with: openssl rand -base64 32", which(i), len(k))
		}
		if first, dup := seen[string(k)]; dup {
			return fmt.Sprintf("%s repeats key %d", which(i), first+1)
		}
		seen[string(k)] = i
	}
	return ""
}

func decodeBase64(s string) ([]byte, bool) {
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
	} {
		if k, err := enc.Strict().DecodeString(s); err == nil {
			return k, true
		}
	}
	return nil, false
}

// appleKeyProblem checks that an Apple key is what Apple issues: a P-256
// EC key in a PKCS#8 PEM block, so a pasted wrong file fails at start and
// not at the first sign-in.
func appleKeyProblem(key string) string {
	block, _ := pem.Decode([]byte(key))
	if block == nil {
		return "must be a PEM private key (the .p8 file from Apple)"
	}
	if block.Type != "PRIVATE KEY" {
		return "must be a PKCS#8 PEM block (BEGIN PRIVATE KEY), the .p8 file from Apple"
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return "is not a valid PKCS#8 private key"
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return "must be a P-256 EC key, as Apple issues"
	}
	return ""
}

// checkRedirectURIs checks redirect URIs, which are matched exactly: a
// loose one is an open door for stolen codes.
func checkRedirectURIs(ps *Problems, path string, uris []string, public bool) {
	seen := map[string]int{}
	for i, raw := range uris {
		ip := fmt.Sprintf("%s[%d]", path, i)
		if msg := redirectURIProblem(raw, public); msg != "" {
			ps.add(ip, msg)
			continue
		}
		if first, dup := seen[raw]; dup {
			ps.add(ip, fmt.Sprintf("repeats %s[%d]", lastKey(path), first))
			continue
		}
		seen[raw] = i
	}
}

func redirectURIProblem(raw string, public bool) string {
	if raw == "" {
		return "must not be empty"
	}
	if strings.Contains(raw, "*") {
		return "must not contain a wildcard (*): redirect URIs are matched exactly"
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return "must be an absolute URL"
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return "must not contain a fragment"
	}
	if u.User != nil {
		return "must not contain a user name or password"
	}
	switch u.Scheme {
	case "https":
		if u.Host == "" {
			return "must be an absolute URL"
		}
	case "http":
		if u.Host == "" {
			return "must be an absolute URL"
		}
		if h := u.Hostname(); h != "127.0.0.1" && h != "::1" && h != "localhost" {
			return "must use https (http only with a loopback host: 127.0.0.1, [::1] or localhost)"
		}
	default:
		if !public {
			return "must use https; custom schemes such as com.example.app:/callback are allowed only for public clients"
		}
		// RFC 8252 §7.1: a private-use scheme is a reverse domain name,
		// which also keeps out javascript:, data: and file:.
		if !strings.Contains(u.Scheme, ".") {
			return "must use https or a reverse-domain custom scheme such as com.example.app:/callback"
		}
	}
	return ""
}

// sortedKeys gives map entries a stable order, so problems come out the
// same on every run.
func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}
