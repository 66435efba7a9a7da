// Package clients manages the downstream apps — OAuth clients — that sign
// their users in through Sallyport: creating them with a secret shown once,
// rotating that secret, disabling, enabling and deleting them, syncing the
// ones the configuration file declares, and the two checks the OP makes on
// every request, [VerifySecret] and [MatchRedirectURI].
//
// A client is validated exactly as the configuration file's clients are
// (redirect URIs, algorithms, lifetimes), so an app registered from the
// command line obeys the same rules as one declared in the file. Every
// change is written with its audit event in one transaction; an event
// names the client in its detail ("client_id") and, being readable by
// administrators, never holds a secret or its hash.
package clients

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sallyport/sallyport/internal/audit"
	"github.com/sallyport/sallyport/internal/config"
	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/store"
)

// Spec is what an administrator chooses when registering a client. The
// secret is not part of it: Create generates one.
type Spec struct {
	// ID is the OAuth client_id.
	ID string
	// Name is shown on the consent page.
	Name string
	// Public marks an app that cannot keep a secret (a single-page or
	// native app): it gets none and must use PKCE S256.
	Public bool
	// RedirectURIs are matched exactly (loopback http: any port).
	RedirectURIs []string
	// PostLogoutRedirectURIs are where /oauth2/logout may send people back.
	PostLogoutRedirectURIs []string
	// SkipConsent is for first-party apps.
	SkipConsent bool
	// AllowedConnections limits the connection slugs the app may use;
	// empty means all.
	AllowedConnections []string
	// IDTokenSigningAlg is RS256, ES256 or EdDSA; "" means RS256.
	IDTokenSigningAlg string
	// AccessTokenFormat is opaque or jwt; "" means opaque.
	AccessTokenFormat string
	// AccessTokenTTL is how long an access token lives; 0 means 10m.
	AccessTokenTTL time.Duration
	// RefreshTokenTTL is how long a refresh token lives unused; 0 means 720h.
	RefreshTokenTTL time.Duration
}

// Validate checks s by the configuration file's rules for clients and
// returns every problem, each naming its setting by the file's key
// ("redirect_uris[0]", "id_token_signing_alg"); nil means s is usable.
func (s Spec) Validate() config.Problems {
	_, ps := s.check()
	return ps
}

// check validates s and returns the client it describes, defaults applied.
// It runs config's own validation on a configuration holding s alone, so
// the rules live in one place, and keeps the problems about s.
func (s Spec) check() (store.Client, config.Problems) {
	cl := config.Client{
		ID: s.ID, Name: s.Name, Public: s.Public,
		RedirectURIs: s.RedirectURIs, PostLogoutRedirectURIs: s.PostLogoutRedirectURIs,
		SkipConsent: s.SkipConsent, AllowedConnections: s.AllowedConnections,
		IDTokenSigningAlg: s.IDTokenSigningAlg, AccessTokenFormat: s.AccessTokenFormat,
		AccessTokenTTL: config.Duration(s.AccessTokenTTL), RefreshTokenTTL: config.Duration(s.RefreshTokenTTL),
	}
	if !s.Public {
		// The file's rule "a confidential client needs a secret" is met:
		// Create generates the secret, nobody chooses it.
		cl.Secret = "generated"
	}
	cfg := config.Default()
	cfg.Clients = []config.Client{cl}
	cfg.ApplyDefaults()
	var ps config.Problems
	for _, p := range cfg.Validate() {
		const prefix = "clients[0]"
		if f, ok := strings.CutPrefix(p.Field, prefix); ok {
			ps = append(ps, config.Problem{Field: strings.TrimPrefix(f, "."), Message: p.Message})
		}
	}
	if len(ps) > 0 {
		return store.Client{}, ps
	}
	return fromConfig(cfg.Clients[0]), nil
}

// fromConfig is the stored form of a validated, defaulted config client,
// without its secret hash.
func fromConfig(cl config.Client) store.Client {
	return store.Client{
		ID: cl.ID, Name: cl.Name, Public: cl.Public,
		RedirectURIs: cl.RedirectURIs, PostLogoutRedirectURIs: cl.PostLogoutRedirectURIs,
		AllowedConnections: cl.AllowedConnections, SkipConsent: cl.SkipConsent,
		IDTokenSigningAlg: cl.IDTokenSigningAlg, AccessTokenFormat: cl.AccessTokenFormat,
		AccessTokenTTL: time.Duration(cl.AccessTokenTTL), RefreshTokenTTL: time.Duration(cl.RefreshTokenTTL),
		Disabled: cl.Disabled,
	}
}

// invalid is the outcome error for a spec that breaks the rules; the
// problems stay reachable with errors.As for a caller that lists them.
func invalid(ps config.Problems) error {
	return &outcome.Error{Code: outcome.InvalidRequest, Message: "The client settings are invalid:\n" + ps.Error(), Err: ps}
}

func notFound(id string, err error) error {
	return &outcome.Error{Code: outcome.NotFound, Message: fmt.Sprintf("There is no client %q.", id), Err: err}
}

// get reads a client in a transaction, turning a missing one into an
// outcome a person can read.
func get(ctx context.Context, q store.Queries, id string) (store.Client, error) {
	c, err := q.GetClient(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return c, notFound(id, err)
	}
	return c, err
}

// stateOutcome is the outcome an audit event of a client change carries:
// what the change left the client as, usable or not. The vocabulary has no
// codes for created/updated/deleted yet.
func stateOutcome(c store.Client) outcome.Code {
	if c.Disabled {
		return outcome.Disabled
	}
	return outcome.Activated
}

// record writes the audit event of one change to client id.
func record(ctx context.Context, q store.Queries, rec *audit.Recorder, typ string, code outcome.Code, actor, id string, detail map[string]any) error {
	d := map[string]any{"client_id": id}
	for k, v := range detail {
		d[k] = v
	}
	return rec.Record(ctx, q, audit.Event{Type: typ, Outcome: code, ActorID: actor, Detail: d})
}

// Create registers a client and returns it with its secret, "" for a
// public client. It is a [store.ClientFromRuntime] client: removing
// clients from the configuration file never disables it. The secret exists only in this return value: the store
// keeps its hash, so show it to the administrator once and drop it. A spec
// that breaks the rules fails with an InvalidRequest outcome wrapping
// [config.Problems]; an id already taken fails with a Conflict outcome.
func Create(ctx context.Context, st store.Store, rec *audit.Recorder, s Spec, actor string) (store.Client, string, error) {
	c, ps := s.check()
	if ps != nil {
		return store.Client{}, "", invalid(ps)
	}
	c.Source = store.ClientFromRuntime
	var secret string
	if !c.Public {
		secret, c.SecretHash = newSecret()
	}
	err := st.Tx(ctx, func(q store.Queries) error {
		if err := q.CreateClient(ctx, &c); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return &outcome.Error{Code: outcome.Conflict, Message: fmt.Sprintf("A client with the id %q already exists. Choose another id.", c.ID), Err: err}
			}
			return err
		}
		return record(ctx, q, rec, "client.create", stateOutcome(c), actor, c.ID, map[string]any{"public": c.Public})
	})
	if err != nil {
		return store.Client{}, "", fmt.Errorf("clients: create %s: %w", s.ID, err)
	}
	return c, secret, nil
}

// RotateSecret gives a confidential client a new secret and returns it,
// to be shown once. The old secret stops working when this returns.
func RotateSecret(ctx context.Context, st store.Store, rec *audit.Recorder, id, actor string) (string, error) {
	var secret string
	err := st.Tx(ctx, func(q store.Queries) error {
		c, err := get(ctx, q, id)
		if err != nil {
			return err
		}
		if c.Public {
			return outcome.New(outcome.InvalidRequest, fmt.Sprintf("Client %q is public: it has no secret to rotate.", id))
		}
		secret, c.SecretHash = newSecret()
		if err := q.UpdateClient(ctx, &c); err != nil {
			return err
		}
		return record(ctx, q, rec, "client.rotate_secret", stateOutcome(c), actor, id, nil)
	})
	if err != nil {
		return "", fmt.Errorf("clients: rotate secret of %s: %w", id, err)
	}
	return secret, nil
}

// Disable refuses every request of the client from now on, keeping its
// registration so [Enable] can undo it. Disabling a disabled client changes
// nothing and records nothing.
func Disable(ctx context.Context, st store.Store, rec *audit.Recorder, id, actor string) error {
	return setDisabled(ctx, st, rec, id, actor, true)
}

// Enable undoes [Disable].
func Enable(ctx context.Context, st store.Store, rec *audit.Recorder, id, actor string) error {
	return setDisabled(ctx, st, rec, id, actor, false)
}

func setDisabled(ctx context.Context, st store.Store, rec *audit.Recorder, id, actor string, disabled bool) error {
	typ := "client.enable"
	if disabled {
		typ = "client.disable"
	}
	err := st.Tx(ctx, func(q store.Queries) error {
		c, err := get(ctx, q, id)
		if err != nil || c.Disabled == disabled {
			return err
		}
		c.Disabled = disabled
		if err := q.UpdateClient(ctx, &c); err != nil {
			return err
		}
		return record(ctx, q, rec, typ, stateOutcome(c), actor, id, nil)
	})
	if err != nil {
		return fmt.Errorf("clients: %s %s: %w", strings.TrimPrefix(typ, "client."), id, err)
	}
	return nil
}

// Delete removes a client with its codes, tokens, consents and pending
// requests. It cannot be undone; [Disable] can.
func Delete(ctx context.Context, st store.Store, rec *audit.Recorder, id, actor string) error {
	err := st.Tx(ctx, func(q store.Queries) error {
		if err := q.DeleteClient(ctx, id); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return notFound(id, err)
			}
			return err
		}
		// Disabled: the vocabulary's nearest word for "can no longer be used".
		return record(ctx, q, rec, "client.delete", outcome.Disabled, actor, id, nil)
	})
	if err != nil {
		return fmt.Errorf("clients: delete %s: %w", id, err)
	}
	return nil
}

// List returns every client, by id.
func List(ctx context.Context, q store.Queries) ([]store.Client, error) {
	cs, err := q.ListClients(ctx)
	if err != nil {
		return nil, fmt.Errorf("clients: list: %w", err)
	}
	return cs, nil
}
