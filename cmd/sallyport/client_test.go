package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sallyport/sallyport"
	"github.com/sallyport/sallyport/internal/audit"
	"github.com/sallyport/sallyport/internal/config"
	"github.com/sallyport/sallyport/internal/op/clients"
	"github.com/sallyport/sallyport/internal/store"
	"github.com/sallyport/sallyport/internal/store/sqlstore"
	"github.com/sallyport/sallyport/internal/store/sqlstore/sqltest"
)

// clientEnv is a configuration file on a migrated SQLite database in a
// temporary directory.
type clientEnv struct {
	config string
	dbURL  string
}

func newClientEnv(t *testing.T, extraYAML string) clientEnv {
	t.Helper()
	return newClientEnvOn(t, "sqlite:"+filepath.Join(t.TempDir(), "s.db"), extraYAML)
}

// newClientEnvOn is newClientEnv on the database at dbURL.
func newClientEnvOn(t *testing.T, dbURL, extraYAML string) clientEnv {
	t.Helper()
	dir := t.TempDir()
	cfg := writeFile(t, filepath.Join(dir, "c.yaml"), fmt.Sprintf("database: %q\n%s", dbURL, extraYAML))
	ce := clientEnv{config: cfg, dbURL: dbURL}
	if code, _, stderr := ce.run(t, "migrate"); code != 0 {
		t.Fatalf("migrate: %d %s", code, stderr)
	}
	return ce
}

// run runs `sallyport args... --config FILE` in process.
func (ce clientEnv) run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), append(args, "--config", ce.config), &out, &errOut)
	return code, out.String(), errOut.String()
}

// client reads a client straight from the store.
func (ce clientEnv) client(t *testing.T, id string) (store.Client, error) {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: ce.dbURL})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	return db.GetClient(context.Background(), id)
}

// sync does what a start does to the file's clients: the declared ones
// become the file's, the file's others are disabled.
func (ce clientEnv) sync(t *testing.T, declared ...config.Client) {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: ce.dbURL})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := clients.SyncConfig(context.Background(), db, audit.New(audit.Config{}), declared, time.Now()); err != nil {
		t.Fatal(err)
	}
}

func (ce clientEnv) audit(t *testing.T) []string {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: ce.dbURL})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	evs, err := db.ListAuditEvents(context.Background(), store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(evs) - 1; i >= 0; i-- {
		out = append(out, evs[i].Type+" "+evs[i].ActorID)
	}
	return out
}

var secretLine = regexp.MustCompile(`(?m)^client_secret: (\S+)$`)

func printedSecret(t *testing.T, stdout string) string {
	t.Helper()
	m := secretLine.FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("no client_secret line in:\n%s", stdout)
	}
	if !strings.Contains(stdout, "it will not be shown again") {
		t.Errorf("the secret is printed without saying it is shown once:\n%s", stdout)
	}
	return m[1]
}

// create → list → rotate-secret → disable → delete, each audited as "cli".
func TestClientCommands(t *testing.T) {
	ce := newClientEnv(t, "")

	code, stdout, stderr := ce.run(t, "client", "create", "my-app", "--name", "My App",
		"--redirect-uri", "https://app.example.com/cb", "--redirect-uri", "http://127.0.0.1/cb?x=1,2")
	if code != 0 {
		t.Fatalf("create: %d %s", code, stderr)
	}
	first := printedSecret(t, stdout)
	if !strings.Contains(stdout, "my-app") {
		t.Errorf("create does not print the client id:\n%s", stdout)
	}

	c, err := ce.client(t, "my-app")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"https://app.example.com/cb", "http://127.0.0.1/cb?x=1,2"}, c.RedirectURIs); diff != "" {
		t.Errorf("redirect URIs (-want +got):\n%s", diff)
	}
	if !clients.VerifySecret(c, first) {
		t.Error("the printed secret does not verify")
	}

	code, stdout, _ = ce.run(t, "client", "list")
	if code != 0 {
		t.Fatalf("list: %d", code)
	}
	row := regexp.MustCompile(`(?m)^my-app\s+My App\s+confidential\s+https://app\.example\.com/cb http://127\.0\.0\.1/cb\?x=1,2\s+no$`)
	if !strings.HasPrefix(stdout, "ID") || !row.MatchString(stdout) {
		t.Errorf("list does not show the client as a table row:\n%s", stdout)
	}
	for _, leak := range []string{first, hex.EncodeToString(c.SecretHash), base64.StdEncoding.EncodeToString(c.SecretHash), base64.RawURLEncoding.EncodeToString(c.SecretHash)} {
		if strings.Contains(stdout, leak) {
			t.Errorf("list prints the secret or its hash:\n%s", stdout)
		}
	}

	code, stdout, stderr = ce.run(t, "client", "rotate-secret", "my-app")
	if code != 0 {
		t.Fatalf("rotate-secret: %d %s", code, stderr)
	}
	second := printedSecret(t, stdout)
	c, _ = ce.client(t, "my-app")
	if clients.VerifySecret(c, first) || !clients.VerifySecret(c, second) {
		t.Errorf("after rotation: old verifies %v, new verifies %v", clients.VerifySecret(c, first), clients.VerifySecret(c, second))
	}

	if code, _, stderr = ce.run(t, "client", "disable", "my-app"); code != 0 {
		t.Fatalf("disable: %d %s", code, stderr)
	}
	if c, _ = ce.client(t, "my-app"); !c.Disabled || clients.VerifySecret(c, second) {
		t.Error("the disabled client still verifies")
	}
	if _, stdout, _ = ce.run(t, "client", "list"); !regexp.MustCompile(`(?m)^my-app .*\byes$`).MatchString(stdout) {
		t.Errorf("list does not show the client disabled:\n%s", stdout)
	}

	if code, _, stderr = ce.run(t, "client", "delete", "my-app"); code != 0 {
		t.Fatalf("delete: %d %s", code, stderr)
	}
	if _, err := ce.client(t, "my-app"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
	if _, stdout, _ = ce.run(t, "client", "list"); strings.Contains(stdout, "my-app") {
		t.Errorf("list still shows the deleted client:\n%s", stdout)
	}

	want := []string{"client.create cli", "client.rotate_secret cli", "client.disable cli", "client.delete cli"}
	if diff := cmp.Diff(want, ce.audit(t)); diff != "" {
		t.Errorf("audit (-want +got):\n%s", diff)
	}
}

func TestClientCreatePublic(t *testing.T) {
	ce := newClientEnv(t, "")
	code, stdout, stderr := ce.run(t, "client", "create", "cli-app", "--public", "--redirect-uri", "http://127.0.0.1/cb")
	if code != 0 {
		t.Fatalf("create: %d %s", code, stderr)
	}
	if strings.Contains(stdout, "client_secret") || !strings.Contains(stdout, "PKCE") {
		t.Errorf("public create output:\n%s", stdout)
	}
	if _, stdout, _ = ce.run(t, "client", "list"); !regexp.MustCompile(`(?m)^cli-app\s+-\s+public\s`).MatchString(stdout) {
		t.Errorf("list:\n%s", stdout)
	}
	code, _, stderr = ce.run(t, "client", "rotate-secret", "cli-app")
	if code == 0 || !strings.Contains(stderr, "public") {
		t.Errorf("rotate-secret of a public client: %d %q", code, stderr)
	}
}

// Every refusal says exactly what is wrong, names the flag at fault and
// exits non-zero, having changed nothing.
func TestClientRefusals(t *testing.T) {
	ce := newClientEnv(t, `clients:
  - id: from-file
    secret: a-secret-chosen-by-the-operator
    redirect_uris: [https://file.example/cb]
`)
	if code, _, stderr := ce.run(t, "client", "create", "taken", "--redirect-uri", "https://app.example.com/cb"); code != 0 {
		t.Fatalf("create: %d %s", code, stderr)
	}
	ce.sync(t, config.Client{ID: "from-file", Secret: "a-secret-chosen-by-the-operator", RedirectURIs: []string{"https://file.example/cb"}})
	tests := []struct {
		name string
		args []string
		want []string // lines of stderr
	}{
		{
			"http redirect uri",
			[]string{"client", "create", "app", "--redirect-uri", "https://ok.example/cb", "--redirect-uri", "http://app.example.com/cb"},
			[]string{`sallyport: --redirect-uri "http://app.example.com/cb": must use https (http only with a loopback host: 127.0.0.1, [::1] or localhost)`},
		},
		{
			"several problems",
			[]string{"client", "create", "app", "--redirect-uri", "https://app.example.com/cb#frag", "--id-token-signing-alg", "HS256", "--post-logout-redirect-uri", "https://*.example.com/"},
			[]string{
				`sallyport: --redirect-uri "https://app.example.com/cb#frag": must not contain a fragment`,
				`sallyport: --post-logout-redirect-uri "https://*.example.com/": must not contain a wildcard (*): redirect URIs are matched exactly`,
				`sallyport: --id-token-signing-alg: must be one of RS256, ES256, EdDSA`,
			},
		},
		{
			"duplicate id",
			[]string{"client", "create", "taken", "--redirect-uri", "https://other.example/cb"},
			[]string{`sallyport: A client with the id "taken" already exists. Choose another id.`},
		},
		{
			"missing client",
			[]string{"client", "disable", "nope"},
			[]string{`sallyport: There is no client "nope".`},
		},
		{
			"declared in the file",
			[]string{"client", "rotate-secret", "from-file"},
			[]string{`sallyport: client "from-file" comes from the configuration file; change it there, and it takes effect at the next start`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := ce.audit(t)
			code, stdout, stderr := ce.run(t, tt.args...)
			if code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			if diff := cmp.Diff(tt.want, strings.Split(strings.TrimSpace(stderr), "\n")); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
			if stdout != "" {
				t.Errorf("stdout on a refusal: %q", stdout)
			}
			if diff := cmp.Diff(before, ce.audit(t)); diff != "" {
				t.Errorf("a refusal was audited:\n%s", diff)
			}
		})
	}
	if _, err := ce.client(t, "app"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused create stored the client: %v", err)
	}
}

// The verbs leave the configuration file's clients to the file — both the
// ones it declares and the ones disabled for leaving it — going by what
// the store records, not by the file this command reads: a client
// registered here stays the command line's until a start takes it over.
func TestClientVerbsLeaveConfigClientsAlone(t *testing.T) {
	const yaml = `clients:
  - id: kept
    secret: a-secret-chosen-by-the-operator
    redirect_uris: [https://kept.example/cb]
  - id: tool
    secret: another-secret-chosen-by-the-operator
    redirect_uris: [https://tool.example/cb]
`
	t.Run("sqlite", func(t *testing.T) { testClientVerbsLeaveConfigClientsAlone(t, newClientEnv(t, yaml)) })
	t.Run("postgres", func(t *testing.T) {
		testClientVerbsLeaveConfigClientsAlone(t, newClientEnvOn(t, sqltest.NewSchema(t, sqltest.PostgresURL(t)), yaml))
	})
}

func testClientVerbsLeaveConfigClientsAlone(t *testing.T, ce clientEnv) {
	kept := config.Client{ID: "kept", Secret: "a-secret-chosen-by-the-operator", RedirectURIs: []string{"https://kept.example/cb"}}
	gone := config.Client{ID: "gone", Secret: "a-third-secret", RedirectURIs: []string{"https://gone.example/cb"}}
	ce.sync(t, kept, gone)
	ce.sync(t, kept) // the file no longer declares gone
	if c, err := ce.client(t, "gone"); err != nil || !c.Disabled || c.Source != store.ClientFromConfig {
		t.Fatalf("gone after leaving the file: %+v, %v; want disabled, the file's", c, err)
	}
	before := ce.audit(t)

	for _, id := range []string{"kept", "gone"} {
		stored, err := ce.client(t, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, verb := range [][]string{
			{"create", id, "--redirect-uri", "https://other.example/cb"},
			{"rotate-secret", id}, {"disable", id}, {"enable", id}, {"delete", id},
		} {
			t.Run(id+"/"+verb[0], func(t *testing.T) {
				code, stdout, stderr := ce.run(t, append([]string{"client"}, verb...)...)
				want := fmt.Sprintf("sallyport: client %q comes from the configuration file; change it there, and it takes effect at the next start\n", id)
				if code != 1 || stdout != "" || stderr != want {
					t.Errorf("= %d, %q, %q; want 1, no output, %q", code, stdout, stderr, want)
				}
				if got, err := ce.client(t, id); err != nil || !cmp.Equal(stored, got) {
					t.Errorf("the refused verb changed the client: %+v, %v", got, err)
				}
			})
		}
	}
	if diff := cmp.Diff(before, ce.audit(t)); diff != "" {
		t.Errorf("a refusal was audited:\n%s", diff)
	}

	// tool is in the file but no start has synced it: the command line's.
	if code, _, stderr := ce.run(t, "client", "create", "tool", "--redirect-uri", "https://tool.example/cb"); code != 0 {
		t.Fatalf("create tool: %d %s", code, stderr)
	}
	if code, _, stderr := ce.run(t, "client", "disable", "tool"); code != 0 {
		t.Errorf("disable tool: %d %s", code, stderr)
	}
}

// The verbs work on a database someone migrated; on any other they say so
// rather than migrate it behind the operator's back.
func TestClientRefusesUnmigratedDatabase(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, filepath.Join(dir, "c.yaml"), fmt.Sprintf("database: %q\n", "sqlite:"+filepath.Join(dir, "s.db")))
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"client", "list", "--config", cfg}, &stdout, &stderr)
	if code == 0 || !strings.Contains(stderr.String(), "sallyport migrate") {
		t.Errorf("list on an empty database: %d %q", code, stderr.String())
	}
}

func TestClientHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"client", "--help"}, &stdout, &stderr); code != 0 {
		t.Fatalf("client --help: %d", code)
	}
	for _, verb := range []string{"create", "list", "rotate-secret", "disable", "enable", "delete"} {
		if !strings.Contains(stdout.String(), "client "+verb) {
			t.Errorf("client --help does not list %s:\n%s", verb, stdout.String())
		}
		var out bytes.Buffer
		if code := run(context.Background(), []string{"client", verb, "--help"}, &out, &stderr); code != 0 || !strings.Contains(out.String(), "--config") {
			t.Errorf("client %s --help: %d\n%s", verb, code, out.String())
		}
	}
}

// Starting the server syncs the file's clients into the store, where the
// client verbs see them; a start after the file drops one disables it.
func TestServerStartSyncsConfigClients(t *testing.T) {
	ce := newClientEnv(t, "")
	settings := sallyport.DefaultSettings()
	settings.Database = ce.dbURL
	settings.EncryptionKey = newKey(t)
	start := func(declared ...config.Client) {
		t.Helper()
		settings.Clients = declared
		srv, err := sallyport.New(context.Background(), sallyport.Config{Settings: settings, CleanupInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Close(); err != nil {
			t.Fatal(err)
		}
	}
	start(config.Client{ID: "from-file", Secret: "a-secret-chosen-by-the-operator", RedirectURIs: []string{"https://file.example/cb"}})
	c, err := ce.client(t, "from-file")
	if err != nil || !clients.VerifySecret(c, "a-secret-chosen-by-the-operator") || c.Source != store.ClientFromConfig {
		t.Fatalf("after start: %+v, %v; want the file's client with its secret", c, err)
	}
	if _, stdout, _ := ce.run(t, "client", "list"); !strings.Contains(stdout, "from-file") {
		t.Errorf("list:\n%s", stdout)
	}

	start()
	if c, err := ce.client(t, "from-file"); err != nil || !c.Disabled {
		t.Errorf("after a start without it: %+v, %v; want it disabled", c, err)
	}
	var clientEvents []string
	for _, e := range ce.audit(t) {
		if strings.HasPrefix(e, "client.") {
			clientEvents = append(clientEvents, e)
		}
	}
	if diff := cmp.Diff([]string{"client.create config", "client.disable config"}, clientEvents); diff != "" {
		t.Errorf("client audit events (-want +got):\n%s", diff)
	}
}
