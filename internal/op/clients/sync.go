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
	"github.com/sallyport/sallyport/internal/store"
)

// actorConfig is the audit actor of changes the configuration file makes.
const actorConfig = "config"

// SyncConfig makes the store hold the clients the configuration file
// declares: each is created, or updated to match the file (its secret
// hashed as [Create] hashes a generated one), or left untouched when it
// already matches, so a restart records nothing. A declared id that was
// created at run time is taken over by the file. It runs in one
// transaction with an audit event per change, so a failed start leaves the
// store as it was. now stamps the clients it creates.
//
// The file's own validation has run (Load, or sallyport.New): SyncConfig
// applies the defaults again but does not repeat the checks.
//
// Clients removed from the file are not disabled yet: the store does not
// record which clients the file owns, and without that a client removed
// from the file cannot be told from one created at run time, which must
// stay. The clients table needs a source column for it.
func SyncConfig(ctx context.Context, st store.Store, rec *audit.Recorder, declared []config.Client, now time.Time) error {
	defaulted := config.Config{Clients: slices.Clone(declared)}
	defaulted.ApplyDefaults()
	return st.Tx(ctx, func(q store.Queries) error {
		for _, d := range defaulted.Clients {
			if err := syncOne(ctx, q, rec, d, now); err != nil {
				return fmt.Errorf("clients: sync %s from the configuration file: %w", d.ID, err)
			}
		}
		return nil
	})
}

func syncOne(ctx context.Context, q store.Queries, rec *audit.Recorder, d config.Client, now time.Time) error {
	want := fromConfig(d)
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
	return out
}
