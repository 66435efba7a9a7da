package clients

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sallyport/sallyport/internal/audit"
	"github.com/sallyport/sallyport/internal/config"
	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/store"
)

// actorConfig is the audit actor of changes the configuration file makes.
const actorConfig = "config"

// SyncConfig makes the store hold the clients the configuration file
// declares: each is created, or updated to match the file (its secret
// hashed as [Create] hashes a generated one), or left untouched when it
// already matches, so a restart records nothing. Every client it writes is
// marked [store.ClientFromConfig]; a declared id that was created at run
// time is taken over by the file. A client the file declared and no longer
// does is disabled, not deleted — its tokens stop working, its consents
// and audit trail stay — and enabled again if it comes back; clients
// registered at run time are never touched. It runs in one transaction
// with an audit event per change, so a failed start leaves the store as it
// was. now stamps the clients it creates.
//
// The file's own validation has run (Load, or sallyport.New): SyncConfig
// applies the defaults again but does not repeat the checks.
func SyncConfig(ctx context.Context, st store.Store, rec *audit.Recorder, declared []config.Client, now time.Time) error {
	defaulted := config.Config{Clients: slices.Clone(declared)}
	defaulted.ApplyDefaults()
	return st.Tx(ctx, func(q store.Queries) error {
		existing, err := q.ListClients(ctx)
		if err != nil {
			return fmt.Errorf("clients: sync from the configuration file: %w", err)
		}
		inFile := make(map[string]bool, len(defaulted.Clients))
		for _, d := range defaulted.Clients {
			inFile[d.ID] = true
			if err := syncOne(ctx, q, rec, d, now); err != nil {
				return fmt.Errorf("clients: sync %s from the configuration file: %w", d.ID, err)
			}
		}
		for _, c := range existing {
			if c.Source != store.ClientFromConfig || inFile[c.ID] || c.Disabled {
				continue
			}
			if err := disableRemoved(ctx, q, rec, c); err != nil {
				return fmt.Errorf("clients: disable %s, no longer in the configuration file: %w", c.ID, err)
			}
		}
		return nil
	})
}

// disableRemoved disables c, a client the file owned and no longer
// declares. It stays marked ClientFromConfig, so the command line still
// leaves it alone and a file that declares it again enables it.
func disableRemoved(ctx context.Context, q store.Queries, rec *audit.Recorder, c store.Client) error {
	c.Disabled = true
	if err := q.UpdateClient(ctx, &c); err != nil {
		return err
	}
	return record(ctx, q, rec, "client.disable", outcome.Disabled, actorConfig, c.ID,
		map[string]any{"reason": "no longer in the configuration file"})
}

func syncOne(ctx context.Context, q store.Queries, rec *audit.Recorder, d config.Client, now time.Time) error {
	want := fromConfig(d)
	want.Source = store.ClientFromConfig
	if !d.Public {
		want.SecretHash = hashSecret(d.Secret)
	}
	have, err := q.GetClient(ctx, d.ID)
	if errors.Is(err, store.ErrNotFound) {
		want.CreatedAt, want.UpdatedAt = now, now
		if err := q.CreateClient(ctx, &want); err != nil {
			return err
		}
		return record(ctx, q, rec, "client.create", stateOutcome(want), actorConfig, want.ID, map[string]any{"public": want.Public})
	}
	if err != nil {
		return err
	}
	changed := changedFields(have, want)
	if len(changed) == 0 {
		return nil
	}
	want.AllowedOrgs = have.AllowedOrgs // not a setting of the file
	if err := q.UpdateClient(ctx, &want); err != nil {
		return err
	}
	return record(ctx, q, rec, "client.update", stateOutcome(want), actorConfig, want.ID, map[string]any{"changed": changed})
}

// changedFields names, by the file's keys, the settings in which a and b
// differ. "secret" means the hashes differ; neither is ever recorded.
// "source" means the file takes over a client it did not own: one
// registered at run time, or one stored before clients had a source.
func changedFields(a, b store.Client) []string {
	var out []string
	add := func(differ bool, name string) {
		if differ {
			out = append(out, name)
		}
	}
	add(a.Name != b.Name, "name")
	add(a.Public != b.Public, "public")
	add(!bytes.Equal(a.SecretHash, b.SecretHash), "secret")
	add(!slices.Equal(a.RedirectURIs, b.RedirectURIs), "redirect_uris")
	add(!slices.Equal(a.PostLogoutRedirectURIs, b.PostLogoutRedirectURIs), "post_logout_redirect_uris")
	add(a.SkipConsent != b.SkipConsent, "skip_consent")
	add(!slices.Equal(a.AllowedConnections, b.AllowedConnections), "allowed_connections")
	add(a.IDTokenSigningAlg != b.IDTokenSigningAlg, "id_token_signing_alg")
	add(a.AccessTokenFormat != b.AccessTokenFormat, "access_token_format")
	add(a.AccessTokenTTL != b.AccessTokenTTL, "access_token_ttl")
	add(a.RefreshTokenTTL != b.RefreshTokenTTL, "refresh_token_ttl")
	add(a.Disabled != b.Disabled, "disabled")
	add(a.Source != b.Source, "source")
	return out
}
