package config

import (
	"crypto/elliptic"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

// env returns a lookupEnv over m, so no test depends on the process
// environment.
func env(m map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

// writeFile writes content to a new file in dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// problemsOf returns err as Problems, failing the test for nil or for any
// other kind of error.
func problemsOf(t *testing.T, err error) Problems {
	t.Helper()
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error = %v (%T), want Problems", err, err)
	}
	return ps
}

func ptr[T any](v T) *T { return &v }

func TestLoadFull(t *testing.T) {
	dir := t.TempDir()
	appleKey := testECKey(t, elliptic.P256())
	lookup := env(map[string]string{
		"SALLYPORT_ENCRYPTION_KEY": testKey2 + "," + testKey,
		"GOOGLE_SECRET":            "google-secret",
		"ENTRA_SECRET_FILE":        writeFile(t, dir, "entra", "entra-secret\n"),
		"APPLE_KEY_FILE":           writeFile(t, dir, "apple.p8", appleKey),
		"MY_APP_SECRET_FILE":       writeFile(t, dir, "my-app", "my-app-secret"),
	})
	got, err := Load("testdata/full.yaml", lookup)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := &Config{
		Issuer:        "https://sso.example.com",
		Listen:        ":8443",
		Database:      "postgres://sallyport@db.internal/sallyport?sslmode=require",
		EncryptionKey: testKey2 + "," + testKey,
		Log:           Log{Level: "debug", Format: "json"},
		Login:         Login{Password: true, TOTP: false},
		Sessions:      Sessions{Idle: Duration(30 * time.Minute), Absolute: Duration(24 * time.Hour)},
		RateLimits:    RateLimits{Enabled: true, PerIPPerMinute: 120},
		Connections: []Connection{
			{
				Slug: "google", Kind: "google", DisplayName: "Google",
				ClientID: "google-client.apps.googleusercontent.com", ClientSecret: "google-secret",
				Scopes:               []string{"openid", "email", "profile"},
				EmailPattern:         `^.*@example\.com$`,
				AllowedDomains:       []string{"example.com"},
				AutoProvision:        ptr(false),
				TrustEmailForLinking: ptr(true),
				AdminEmailDomains:    []string{"example.com"},
				AllowedAlgs:          []string{"RS256"},
				AuthParams:           map[string]string{"prompt": "select_account", "hd": "example.com"},
			},
			{
				Slug: "entra", Kind: "microsoft", ClientID: "00000000-0000-0000-0000-000000000001",
				ClientSecret: "entra-secret", Tenant: "organizations",
				AllowedTenants: []string{testTenant}, AllowedAlgs: []string{"RS256"},
			},
			{
				Slug: "apple", Kind: "apple", ClientID: "com.example.sso", TeamID: "TEAM123456", KeyID: "KEY1234567",
				PrivateKey: strings.TrimSuffix(appleKey, "\n"), AllowedAlgs: []string{"RS256"},
			},
			{
				Slug: "ghe", Kind: "github", ClientID: "Iv1.0123456789", ClientSecret: "gh-secret",
				BaseURL: "https://github.example.com", AllowedAlgs: []string{"RS256"},
			},
		},
		Orgs: []Org{{
			Slug: "acme", Name: "Acme", Domains: []string{"acme.com"},
			SSORequired: true, AutoProvision: true, ProviderAssignment: "assigned",
			Connections: []Connection{{
				Slug: "acme-okta", Kind: "oidc", Issuer: "https://acme.okta.com", ClientID: "acme-client",
				ClientSecret: "acme-secret", AllowedAlgs: []string{"RS256", "ES256"},
				ClaimMapping: map[string]string{"email": "preferred_username", "picture": "avatar"},
			}},
		}},
		Clients: []Client{
			{
				ID: "my-app", Name: "My App", Secret: "my-app-secret",
				RedirectURIs:           []string{"https://app.example.com/callback"},
				PostLogoutRedirectURIs: []string{"https://app.example.com/"},
				SkipConsent:            true,
				AllowedConnections:     []string{"google", "acme-okta"},
				IDTokenSigningAlg:      "ES256", AccessTokenFormat: "jwt",
				AccessTokenTTL: Duration(5 * time.Minute), RefreshTokenTTL: Duration(336 * time.Hour),
			},
			{
				ID: "cli", Public: true,
				RedirectURIs:      []string{"http://127.0.0.1/callback", "com.example.cli:/callback"},
				IDTokenSigningAlg: "RS256", AccessTokenFormat: "opaque",
				AccessTokenTTL: Duration(10 * time.Minute), RefreshTokenTTL: Duration(720 * time.Hour),
			},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load (-want +got):\n%s", diff)
	}

	// A loaded Config marshals back to a file that loads to the same
	// Config: *_file settings were replaced by their content, durations
	// are written as duration strings.
	out, err := yaml.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "idle: 30m\n") {
		t.Errorf("marshalled durations are not duration strings:\n%s", out)
	}
	again, err := LoadBytes(out, "marshalled", env(nil))
	if err != nil {
		t.Fatalf("reloading the marshalled config: %v\n%s", err, out)
	}
	if diff := cmp.Diff(got, again); diff != "" {
		t.Errorf("marshal round trip (-loaded +reloaded):\n%s", diff)
	}
}

// The brief's acceptance case: three different mistakes, all reported in
// one error, each by its exact field, in the order of the file.
func TestLoadReportsEveryProblem(t *testing.T) {
	_, err := Load("testdata/three_problems.yaml", env(map[string]string{"MY_APP_SECRET": "s3cret"}))
	want := Problems{
		{"issuer", "must be an https URL"},
		// A missing setting is reported where its item starts.
		{"connections[1].client_secret", "is required, inline or by client_secret_file"},
		{"connections[1].clinet_id", "unknown field; did you mean client_id?"},
	}
	if diff := cmp.Diff(want, problemsOf(t, err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	wantText := "issuer: must be an https URL\n" +
		"connections[1].client_secret: is required, inline or by client_secret_file\n" +
		"connections[1].clinet_id: unknown field; did you mean client_id?"
	if err.Error() != wantText {
		t.Errorf("Error() =\n%s\nwant\n%s", err, wantText)
	}
}

func TestLoadUnknownKeys(t *testing.T) {
	_, err := Load("testdata/unknown_keys.yaml", env(nil))
	want := Problems{
		{"isuer", "unknown field; did you mean issuer?"},
		{"log.colour", "unknown field"},
		{"sessions.idel", "unknown field; did you mean idle?"},
		{"connections[1].clinet_id", "unknown field; did you mean client_id?"},
		{"connections[1].client-secret", "unknown field; did you mean client_secret?"},
		{"orgs[0].domain", "unknown field; did you mean domains?"},
		{"orgs[0].connections[0].scope", "unknown field; did you mean scopes?"},
		{"clients[0].redirect_uri", "unknown field; did you mean redirect_uris?"},
		{"clients[0].${EXTRA}", "unknown field"}, // keys are never expanded
	}
	if diff := cmp.Diff(want, problemsOf(t, err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

// An environment value is data, never YAML: newlines, colons and ${...} in
// it stay part of the one string it replaces.
func TestLoadEnvCannotInjectYAML(t *testing.T) {
	secret := "x\nadmin: true\nclient_id: evil\n  - slug: injected"
	got, err := Load("testdata/injection.yaml", env(map[string]string{
		"GOOGLE_SECRET": secret,
		"GOOGLE_ID":     "${GOOGLE_SECRET}", // expanded once, not again
		"DISPLAY":       "null",             // a string, not YAML's null
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Connections) != 1 {
		t.Fatalf("got %d connections, want 1", len(got.Connections))
	}
	cn := got.Connections[0]
	for _, c := range []struct{ name, got, want string }{
		{"client_secret", cn.ClientSecret, secret},
		{"client_id", cn.ClientID, "${GOOGLE_SECRET}"},
		{"display_name", cn.DisplayName, "null"},
		{"email_pattern", cn.EmailPattern, `^.*@example\.com$`},
		{"auth_params.login_hint", cn.AuthParams["login_hint"], "${NOT_A_VAR} costs $5"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
}

func TestLoadEnvExpansion(t *testing.T) {
	const base = "issuer: https://sso.example.com\n"
	vars := env(map[string]string{"N": "5", "OFF": "false", "IDLE": "1h", "HOST": "sso.example.com", "EMPTY": "", "YES": "yes"})
	t.Run("values", func(t *testing.T) {
		// In block style a reference needs no quotes; inside { } it does,
		// because { and } are YAML flow indicators.
		yml := "issuer: https://${HOST}\nrate_limits:\n  enabled: ${OFF}\n  per_ip_per_minute: ${N}\nsessions: {idle: '${IDLE}'}\nencryption_key: ${EMPTY}\n"
		got, err := LoadBytes([]byte(yml), "test.yaml", vars)
		if err != nil {
			t.Fatal(err)
		}
		want := Default()
		want.Issuer = "https://sso.example.com"
		want.RateLimits = RateLimits{Enabled: false, PerIPPerMinute: 5}
		want.Sessions.Idle = Duration(time.Hour)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	tests := []struct {
		name string
		yaml string
		want Problems
	}{
		{"unset variable", "connections:\n  - {slug: google, kind: google, client_id: a, client_secret: '${GOOGLE_SECRET}'}\n",
			Problems{{"connections[0].client_secret", "environment variable GOOGLE_SECRET is not set"}}},
		{"two unset in one value", "database: postgres://${USER}:${PASS}@db/x\n", Problems{
			{"database", "environment variable USER is not set"},
			{"database", "environment variable PASS is not set"},
		}},
		{"unset in a list item", "clients:\n  - id: a\n    public: true\n    redirect_uris: [http://127.0.0.1/cb, '${CB}']\n",
			Problems{{"clients[0].redirect_uris[1]", "environment variable CB is not set"}}},
		{"unset in a map value", "connections:\n  - {slug: g, kind: google, client_id: a, client_secret: b, auth_params: {hd: '${HD}'}}\n",
			Problems{{"connections[0].auth_params.hd", "environment variable HD is not set"}}},
		{"unterminated", "database: 'sqlite:${HOME'\n", Problems{{"database", "has a ${ without its closing }; write $$ for a literal $"}}},
		{"not a name", "database: 'sqlite:${1X}'\n", Problems{{"database", "has a ${...} that is not an environment variable name (letters, digits and _); write $$ for a literal $"}}},
		{"no default syntax", "database: 'sqlite:${X:-a.db}'\n", Problems{{"database", "has a ${...} that is not an environment variable name (letters, digits and _); write $$ for a literal $"}}},
		{"yes is not a bool", "rate_limits: {enabled: '${YES}'}\n", Problems{{"rate_limits.enabled", "must be true or false"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadBytes([]byte(base+tt.yaml), "test.yaml", vars)
			if diff := cmp.Diff(tt.want, problemsOf(t, err)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadSecretFiles(t *testing.T) {
	dir := t.TempDir()
	const clientYAML = "issuer: https://sso.example.com\nclients:\n  - id: app\n    secret_file: %q\n    redirect_uris: [https://app.example.com/cb]\n"
	tests := []struct {
		name    string
		content *string // nil: no such file
		want    string
		problem string
	}{
		{"one newline dropped", ptr("s3cret\n"), "s3cret", ""},
		{"no newline", ptr("s3cret"), "s3cret", ""},
		{"CRLF dropped", ptr("s3cret\r\n"), "s3cret", ""},
		{"only one newline dropped", ptr("line1\nline2\n\n"), "line1\nline2\n", ""},
		{"spaces kept", ptr(" s3cret \n"), " s3cret ", ""},
		{"empty", ptr(""), "", "%s is empty"},
		{"only a newline", ptr("\n"), "", "%s is empty"},
		{"too large", ptr(strings.Repeat("a", maxSecretFile+1)), "", "%s is larger than 1 MiB; it is not a secret"},
		{"missing", nil, "", "cannot read the file: open %s: no such file or directory"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, fmt.Sprint("secret", i))
			if tt.content != nil {
				writeFile(t, dir, filepath.Base(path), *tt.content)
			}
			got, err := LoadBytes(fmt.Appendf(nil, clientYAML, path), "test.yaml", env(nil))
			if tt.problem != "" {
				want := Problems{{"clients[0].secret_file", fmt.Sprintf(tt.problem, path)}}
				if diff := cmp.Diff(want, problemsOf(t, err)); diff != "" {
					t.Errorf("problems (-want +got):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cl := got.Clients[0]; cl.Secret != tt.want || cl.SecretFile != "" {
				t.Errorf("secret, secret_file = %q, %q; want %q, \"\"", cl.Secret, cl.SecretFile, tt.want)
			}
		})
	}

	t.Run("value and file", func(t *testing.T) {
		yml := "encryption_key: " + testKey + "\nencryption_key_file: " + writeFile(t, dir, "key", testKey+"\n") + "\n"
		_, err := LoadBytes([]byte(yml), "test.yaml", env(nil))
		want := Problems{{"encryption_key_file", "set either encryption_key or encryption_key_file, not both"}}
		if diff := cmp.Diff(want, problemsOf(t, err)); diff != "" {
			t.Errorf("problems (-want +got):\n%s", diff)
		}
	})
	t.Run("encryption key file", func(t *testing.T) {
		yml := "encryption_key_file: " + writeFile(t, dir, "key2", testKey+"\n") + "\n"
		got, err := LoadBytes([]byte(yml), "test.yaml", env(nil))
		if err != nil {
			t.Fatal(err)
		}
		if got.EncryptionKey != testKey || got.EncryptionKeyFile != "" {
			t.Errorf("encryption_key, encryption_key_file = %q, %q", got.EncryptionKey, got.EncryptionKeyFile)
		}
	})
	// A bad key read from a file is reported at the setting the operator
	// wrote, and never quoted.
	t.Run("bad content named by its file setting", func(t *testing.T) {
		yml := "encryption_key_file: " + writeFile(t, dir, "short", "c2hvcnQ=\n") + "\n" +
			"connections:\n  - {slug: apple, kind: apple, client_id: a, team_id: T, key_id: K, private_key_file: " + writeFile(t, dir, "k.p8", "not pem") + "}\n"
		_, err := LoadBytes([]byte(yml), "test.yaml", env(nil))
		want := Problems{
			{"encryption_key_file", "the key is 5 bytes, not 32; generate one with: openssl rand -base64 32"},
			{"connections[0].private_key_file", "must be a PEM private key (the .p8 file from Apple)"},
		}
		if diff := cmp.Diff(want, problemsOf(t, err)); diff != "" {
			t.Errorf("problems (-want +got):\n%s", diff)
		}
	})
	t.Run("unreadable file is one problem", func(t *testing.T) {
		yml := "connections:\n  - {slug: g, kind: google, client_id: a, client_secret_file: " + filepath.Join(dir, "nope") + "}\n"
		_, err := LoadBytes([]byte(yml), "test.yaml", env(nil))
		want := Problems{{"connections[0].client_secret_file", "cannot read the file: open " + filepath.Join(dir, "nope") + ": no such file or directory"}}
		if diff := cmp.Diff(want, problemsOf(t, err)); diff != "" {
			t.Errorf("problems (-want +got):\n%s", diff)
		}
	})
}

func TestLoadListenAndIssuer(t *testing.T) {
	const public = "is required because listen %q is not a loopback address%s; set the public URL people reach Sallyport at, such as https://sso.example.com"
	const everywhere = " (it listens on every interface)"
	tests := []struct {
		yaml       string
		wantIssuer string
		want       Problems
	}{
		{"", "http://127.0.0.1:8080", nil},
		{"listen: 127.0.0.1:9000", "http://127.0.0.1:9000", nil},
		{"listen: localhost:9000", "http://localhost:9000", nil},
		{"listen: '[::1]:9000'", "http://[::1]:9000", nil},
		{"issuer: https://sso.example.com", "https://sso.example.com", nil},
		{"listen: ':8080'\nissuer: https://sso.example.com", "https://sso.example.com", nil},
		{"listen: ':8080'", "", Problems{{"issuer", fmt.Sprintf(public, ":8080", everywhere)}}},
		{"listen: 0.0.0.0:8080", "", Problems{{"issuer", fmt.Sprintf(public, "0.0.0.0:8080", everywhere)}}},
		{"listen: '[::]:8080'", "", Problems{{"issuer", fmt.Sprintf(public, "[::]:8080", everywhere)}}},
		{"listen: 10.0.0.5:8080", "", Problems{{"issuer", fmt.Sprintf(public, "10.0.0.5:8080", "")}}},
		{"listen: ':8080'\nissuer:", "", Problems{{"issuer", fmt.Sprintf(public, ":8080", everywhere)}}},
		{"listen: 8080", "", Problems{{"listen", "must be host:port, such as 127.0.0.1:8080 or :8080"}}},
	}
	for _, tt := range tests {
		t.Run(tt.yaml, func(t *testing.T) {
			got, err := LoadBytes([]byte(tt.yaml), "test.yaml", env(nil))
			if tt.want != nil {
				if diff := cmp.Diff(tt.want, problemsOf(t, err)); diff != "" {
					t.Errorf("problems (-want +got):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Issuer != tt.wantIssuer {
				t.Errorf("issuer = %q, want %q", got.Issuer, tt.wantIssuer)
			}
		})
	}
}

func TestLoadDecodeProblems(t *testing.T) {
	const conn = "connections:\n  - slug: g\n    kind: google\n    client_id: a\n    client_secret: b\n"
	tests := []struct {
		name string
		yaml string
		want Problems
	}{
		{"duration as number", "sessions: {idle: 12}", Problems{{"sessions.idle", "must be a duration such as 12h or 10m"}}},
		{"duration without unit", "clients:\n  - {id: a, public: true, redirect_uris: ['http://127.0.0.1/'], access_token_ttl: '600'}",
			Problems{{"clients[0].access_token_ttl", "must be a duration such as 12h or 10m"}}},
		{"yaml 1.1 boolean", "rate_limits: {enabled: yes}", Problems{{"rate_limits.enabled", "must be true or false"}}},
		{"pointer boolean", conn + "    auto_provision: maybe", Problems{{"connections[0].auto_provision", "must be true or false"}}},
		{"not a number", "rate_limits: {per_ip_per_minute: many}", Problems{{"rate_limits.per_ip_per_minute", "must be a whole number"}}},
		{"list expected", "connections: {slug: x}", Problems{{"connections", "must be a list"}}},
		{"item not a mapping", "connections: [google]", Problems{{"connections[0]", "must be a mapping of settings"}}},
		{"scalar expected", "issuer: [https://a.example]", Problems{{"issuer", "must be a single value, not a list or a mapping"}}},
		{"section not a mapping", "log: debug", Problems{{"log", "must be a mapping of settings"}}},
		{"map expected", conn + "    claim_mapping: [email]", Problems{{"connections[0].claim_mapping", "must be a mapping"}}},
		{"key set twice", "issuer: https://a.example\nlisten: 127.0.0.1:1\nissuer: https://b.example", Problems{{"issuer", "is set twice (first on line 1)"}}},
		{"map key set twice", conn + "    auth_params: {hd: a, hd: b}", Problems{{"connections[0].auth_params.hd", "is set twice (first on line 6)"}}},
		{"mapping as key", "? {a: b}\n: c", Problems{{"", "keys must be plain names"}}},
		{"root is a list", "- issuer", Problems{{"", "the file must be a mapping of settings, such as issuer: https://sso.example.com"}}},
		{"root is a string", "hello", Problems{{"", "the file must be a mapping of settings, such as issuer: https://sso.example.com"}}},
		{"syntax error", "issuer: [", Problems{{"", "test.yaml: line 1: did not find expected node content"}}},
		{"unquoted reference in a flow mapping", "connections:\n  - { slug: g, client_secret: ${G}, kind: google }",
			Problems{{"", "test.yaml: line 1: did not find expected ',' or '}' (inside { } or [ ], put ${...} references in quotes)"}}},
		{"two documents", "issuer: https://a.example\n---\nissuer: https://b.example\n", Problems{{"", "test.yaml: line 2: the file must hold one YAML document, not several"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadBytes([]byte(tt.yaml), "test.yaml", env(nil))
			if diff := cmp.Diff(tt.want, problemsOf(t, err)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadEmptyFileIsDefault(t *testing.T) {
	for _, yml := range []string{"", "# nothing yet\n", "---\n", "~\n", "log:\nconnections:\n"} {
		got, err := LoadBytes([]byte(yml), "test.yaml", env(nil))
		if err != nil {
			t.Errorf("LoadBytes(%q): %v", yml, err)
			continue
		}
		if diff := cmp.Diff(Default(), got); diff != "" {
			t.Errorf("LoadBytes(%q) (-Default +got):\n%s", yml, diff)
		}
	}
}

// Anchors, aliases and merge keys work as in any YAML reader, and the
// mapping's own keys win over merged ones.
func TestLoadAnchorsAndMerges(t *testing.T) {
	yml := `
connections:
  - &base {slug: one, kind: google, client_id: id, client_secret: &secret s3cret}
  - <<: *base
    slug: two
    display_name: Two
  - {slug: three, kind: github, client_id: id3, client_secret: *secret}
`
	got, err := LoadBytes([]byte(yml), "test.yaml", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	var summary []string
	for _, cn := range got.Connections {
		summary = append(summary, strings.Join([]string{cn.Slug, cn.Kind, cn.ClientID, cn.ClientSecret, cn.DisplayName}, "/"))
	}
	want := []string{"one/google/id/s3cret/", "two/google/id/s3cret/Two", "three/github/id3/s3cret/"}
	if diff := cmp.Diff(want, summary); diff != "" {
		t.Errorf("connections (-want +got):\n%s", diff)
	}
}

func TestLoadAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("connections:\n  - &a0 {slug: a, kind: google, client_id: a, client_secret: b}\n")
	for i := 1; i <= 40; i++ {
		fmt.Fprintf(&b, "  - &a%d {<<: [*a%d, *a%d]}\n", i, i-1, i-1)
	}
	_, err := LoadBytes([]byte(b.String()), "test.yaml", env(nil))
	ps := problemsOf(t, err)
	if !strings.Contains(ps.Error(), "the file expands to too many values; check its aliases") {
		t.Errorf("problems do not mention the aliases:\n%.2000s", ps.Error())
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "missing.yaml"), env(nil))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want fs.ErrNotExist", err)
	}
}

func TestLoadNilLookupUsesEnvironment(t *testing.T) {
	t.Setenv("SALLYPORT_TEST_ISSUER", "https://env.example.com")
	got, err := LoadBytes([]byte("issuer: ${SALLYPORT_TEST_ISSUER}\n"), "test.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Issuer != "https://env.example.com" {
		t.Errorf("issuer = %q", got.Issuer)
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"client_id", "client_secret", "client_secret_file", "issuer", "scopes", "slug", "kind"}
	tests := []struct{ unknown, want string }{
		{"clinet_id", "client_id"},
		{"client-id", "client_id"},
		{"Client_ID", "client_id"},
		{"isuer", "issuer"},
		{"scope", "scopes"},
		{"client_secret_fil", "client_secret_file"},
		{"colour", ""},
		{"id", ""},
		{"ab", ""},
	}
	for _, tt := range tests {
		if got := suggest(tt.unknown, known); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.unknown, got, tt.want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "", 3}, {"", "abc", 3}, {"kitten", "sitting", 3},
		{"clinet", "client", 1}, {"ab", "ba", 1}, {"issuer", "isuer", 1}, {"same", "same", 0},
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
