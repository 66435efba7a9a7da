package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sallyport/sallyport/internal/audit"
	"github.com/sallyport/sallyport/internal/config"
	"github.com/sallyport/sallyport/internal/op/clients"
	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/store"
	"github.com/sallyport/sallyport/internal/store/sqlstore"
)

// cliActor is the audit actor of every change made from the command line.
const cliActor = "cli"

// clientCmd groups the verbs on downstream apps (OAuth clients).
type clientCmd struct {
	Create       clientCreateCmd       `cmd:"" help:"Register an app and print its client secret, once."`
	List         clientListCmd         `cmd:"" help:"List the registered apps (never their secrets)."`
	RotateSecret clientRotateSecretCmd `cmd:"" name:"rotate-secret" help:"Give an app a new client secret, printed once; the old one stops working at once."`
	Disable      clientDisableCmd      `cmd:"" help:"Refuse every request of an app from now on, keeping its registration."`
	Enable       clientEnableCmd       `cmd:"" help:"Let a disabled app sign people in again."`
	Delete       clientDeleteCmd       `cmd:"" help:"Delete an app with its codes, tokens and consents. It cannot be undone; disable can."`
}

// clientDB is the configured database, opened for one command.
type clientDB struct {
	db  *sqlstore.DB
	rec *audit.Recorder
}

// openClients opens the configured database for a client verb.
func (f configFlag) openClients(e *env) (*clientDB, error) {
	_, _, db, err := f.openCurrentStore(e)
	if err != nil {
		return nil, err
	}
	return &clientDB{db: db, rec: audit.New(audit.Config{})}, nil
}

// refuseDeclared refuses a change to a client the configuration file owns
// (store.ClientFromConfig), whether the file still declares it or it was
// disabled for leaving the file: each start makes such a client match the
// file, so the file is where to change it. The store, not this command's
// file, says who owns a client, so a file edited since the last start
// changes nothing here. An id the store does not hold is left to the verb.
func (c *clientDB) refuseDeclared(e *env, id string) error {
	cl, err := c.db.GetClient(e.ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if cl.Source != store.ClientFromConfig {
		return nil
	}
	return refuse(e, fmt.Sprintf("client %q comes from the configuration file; change it there, and it takes effect at the next start", id))
}

// refuse prints a refusal and ends the command with exit code 1.
func refuse(e *env, msg string) error {
	fmt.Fprintln(e.stderr, "sallyport:", msg)
	return silentExit(1)
}

// clientFailure reports err: a refusal (an outcome a person caused) as its
// sentence, anything else as our own failure.
func clientFailure(e *env, err error, flagOf func(config.Problem) string) error {
	var ps config.Problems
	if errors.As(err, &ps) {
		for _, p := range ps {
			name := p.Field
			if flagOf != nil {
				name = flagOf(p)
			}
			fmt.Fprintf(e.stderr, "sallyport: %s: %s\n", name, p.Message)
		}
		return silentExit(1)
	}
	if oe := outcome.From(err); oe.Code != outcome.Internal {
		return refuse(e, oe.Sentence())
	}
	return err
}

type clientCreateCmd struct {
	configFlag
	ID                    string        `arg:"" name:"client-id" help:"The OAuth client_id the app will send, such as my-app."`
	Name                  string        `help:"The name people see on the consent page."`
	Public                bool          `help:"The app cannot keep a secret (single-page or native app): it gets none and must use PKCE (S256)."`
	RedirectURI           []string      `name:"redirect-uri" required:"" sep:"none" placeholder:"URI" help:"Where Sallyport may send people back with a code; repeat for several. Matched exactly: https, or http on 127.0.0.1, [::1] or localhost (any port); public apps may also use a reverse-domain scheme such as com.example.app:/callback."`
	PostLogoutRedirectURI []string      `name:"post-logout-redirect-uri" sep:"none" placeholder:"URI" help:"Where /oauth2/logout may send people back; repeat for several."`
	SkipConsent           bool          `help:"Do not ask people to consent: for your own (first-party) apps."`
	AllowedConnection     []string      `name:"allowed-connection" sep:"none" placeholder:"SLUG" help:"Only allow sign-in through this connection; repeat for several. Default: all."`
	IDTokenSigningAlg     string        `name:"id-token-signing-alg" placeholder:"ALG" help:"RS256 (default), ES256 or EdDSA."`
	AccessTokenFormat     string        `name:"access-token-format" placeholder:"FORMAT" help:"opaque (default) or jwt."`
	AccessTokenTTL        time.Duration `name:"access-token-ttl" placeholder:"DURATION" help:"How long an access token lives (default 10m)."`
	RefreshTokenTTL       time.Duration `name:"refresh-token-ttl" placeholder:"DURATION" help:"How long an unused refresh token lives (default 720h)."`
}

// Run registers the client and prints the secret, the only time it exists
// outside the app.
func (c *clientCreateCmd) Run(e *env) error {
	cdb, err := c.openClients(e)
	if err != nil {
		return err
	}
	defer cdb.db.Close()
	if err := cdb.refuseDeclared(e, c.ID); err != nil {
		return err
	}
	spec := clients.Spec{
		ID: c.ID, Name: c.Name, Public: c.Public,
		RedirectURIs: c.RedirectURI, PostLogoutRedirectURIs: c.PostLogoutRedirectURI,
		SkipConsent: c.SkipConsent, AllowedConnections: c.AllowedConnection,
		IDTokenSigningAlg: c.IDTokenSigningAlg, AccessTokenFormat: c.AccessTokenFormat,
		AccessTokenTTL: c.AccessTokenTTL, RefreshTokenTTL: c.RefreshTokenTTL,
	}
	client, secret, err := clients.Create(e.ctx, cdb.db, cdb.rec, spec, cliActor)
	if err != nil {
		return clientFailure(e, err, c.flagOf)
	}
	if client.Public {
		fmt.Fprintf(e.stdout, "Created public client %s. It has no secret: it must use PKCE (S256).\n", client.ID)
		return nil
	}
	fmt.Fprintf(e.stdout, "Created confidential client %s.\n\n", client.ID)
	printSecret(e.stdout, client.ID, secret)
	return nil
}

// printSecret prints a client's credentials and says they are shown once.
func printSecret(w io.Writer, id, secret string) {
	fmt.Fprintf(w, "client_id:     %s\nclient_secret: %s\n\n", id, secret)
	fmt.Fprintf(w, "Copy the secret into the app's configuration now: it will not be shown again. If it is lost, run `sallyport client rotate-secret %s` to make a new one.\n", id)
}

// flagOf names a problem by the flag or argument that set it, with the
// value when it is one of several ("--redirect-uri \"http://…\"").
func (c *clientCreateCmd) flagOf(p config.Problem) string {
	key, index := p.Field, -1
	if open := strings.IndexByte(key, '['); open >= 0 && strings.HasSuffix(key, "]") {
		if n, err := strconv.Atoi(key[open+1 : len(key)-1]); err == nil {
			key, index = key[:open], n
		}
	}
	flags := map[string]struct {
		name   string
		values []string
	}{
		"id":                        {"<client-id>", nil},
		"name":                      {"--name", nil},
		"redirect_uris":             {"--redirect-uri", c.RedirectURI},
		"post_logout_redirect_uris": {"--post-logout-redirect-uri", c.PostLogoutRedirectURI},
		"allowed_connections":       {"--allowed-connection", c.AllowedConnection},
		"id_token_signing_alg":      {"--id-token-signing-alg", nil},
		"access_token_format":       {"--access-token-format", nil},
		"access_token_ttl":          {"--access-token-ttl", nil},
		"refresh_token_ttl":         {"--refresh-token-ttl", nil},
	}
	f, ok := flags[key]
	switch {
	case !ok:
		return p.Field
	case index >= 0 && index < len(f.values):
		return fmt.Sprintf("%s %q", f.name, f.values[index])
	default:
		return f.name
	}
}

type clientListCmd struct {
	configFlag
}

// Run prints one line per client. Secrets and their hashes never appear.
func (c *clientListCmd) Run(e *env) error {
	cdb, err := c.openClients(e)
	if err != nil {
		return err
	}
	defer cdb.db.Close()
	list, err := clients.List(e.ctx, cdb.db)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Fprintln(e.stdout, "No clients yet. Register one with `sallyport client create`.")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tTYPE\tREDIRECT URIS\tDISABLED")
	for _, cl := range list {
		typ := "confidential"
		if cl.Public {
			typ = "public"
		}
		name := cl.Name
		if name == "" {
			name = "-"
		}
		disabled := "no"
		if cl.Disabled {
			disabled = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", cl.ID, name, typ, strings.Join(cl.RedirectURIs, " "), disabled)
	}
	return tw.Flush()
}

// clientIDArg is the argument of the verbs that act on one client.
type clientIDArg struct {
	configFlag
	ID string `arg:"" name:"client-id" help:"The client's id, as client list shows it."`
}

type clientRotateSecretCmd struct{ clientIDArg }

// Run replaces the secret and prints the new one, once.
func (c *clientRotateSecretCmd) Run(e *env) error {
	cdb, err := c.openClients(e)
	if err != nil {
		return err
	}
	defer cdb.db.Close()
	if err := cdb.refuseDeclared(e, c.ID); err != nil {
		return err
	}
	secret, err := clients.RotateSecret(e.ctx, cdb.db, cdb.rec, c.ID, cliActor)
	if err != nil {
		return clientFailure(e, err, nil)
	}
	fmt.Fprintf(e.stdout, "Client %s has a new secret; the old one no longer works.\n\n", c.ID)
	printSecret(e.stdout, c.ID, secret)
	return nil
}

// changeClient runs one state change on a run-time client: open the
// store, refuse config-owned clients, act, and print what happened.
func (c *clientIDArg) changeClient(e *env, act func(ctx context.Context, st store.Store, rec *audit.Recorder, id, actor string) error, done string) error {
	cdb, err := c.openClients(e)
	if err != nil {
		return err
	}
	defer cdb.db.Close()
	if err := cdb.refuseDeclared(e, c.ID); err != nil {
		return err
	}
	if err := act(e.ctx, cdb.db, cdb.rec, c.ID, cliActor); err != nil {
		return clientFailure(e, err, nil)
	}
	fmt.Fprintln(e.stdout, done)
	return nil
}

type clientDisableCmd struct{ clientIDArg }

// Run disables the client.
func (c *clientDisableCmd) Run(e *env) error {
	return c.changeClient(e, clients.Disable, fmt.Sprintf(
		"Client %s is disabled: its sign-in and token requests are refused. `sallyport client enable %s` undoes it.", c.ID, c.ID))
}

type clientEnableCmd struct{ clientIDArg }

// Run enables the client.
func (c *clientEnableCmd) Run(e *env) error {
	return c.changeClient(e, clients.Enable, fmt.Sprintf("Client %s is enabled.", c.ID))
}

type clientDeleteCmd struct{ clientIDArg }

// Run deletes the client.
func (c *clientDeleteCmd) Run(e *env) error {
	return c.changeClient(e, clients.Delete, fmt.Sprintf("Client %s is deleted, with its codes, tokens and consents.", c.ID))
}

// Help adds examples to `client create --help`.
func (c *clientCreateCmd) Help() string {
	return `Examples:
  A web app that keeps a secret:
    sallyport client create my-app --name "My App" --redirect-uri https://app.example.com/callback
  A native or single-page app, on any loopback port:
    sallyport client create my-cli --public --redirect-uri http://127.0.0.1/callback`
}
