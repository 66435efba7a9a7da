package signin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"

	"github.com/sallyport/sallyport/internal/audit"
	"github.com/sallyport/sallyport/internal/config"
	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/reconcile"
	"github.com/sallyport/sallyport/internal/secret"
	"github.com/sallyport/sallyport/internal/store"
)

// Settings is the non-secret part of a connection, stored as JSON in
// store.Connection.Settings. The secret (client secret, or Apple's private
// key) is sealed separately in SecretEnc.
type Settings struct {
	Issuer         string            `json:"issuer,omitempty"`
	ClientID       string            `json:"client_id"`
	Scopes         []string          `json:"scopes,omitempty"`
	ClaimMapping   map[string]string `json:"claim_mapping,omitempty"`
	EmailPattern   string            `json:"email_pattern,omitempty"`
	AllowedDomains []string          `json:"allowed_domains,omitempty"`
	AllowedAlgs    []string          `json:"allowed_algs,omitempty"`
	AuthParams     map[string]string `json:"auth_params,omitempty"`
	Tenant         string            `json:"tenant,omitempty"`
	AllowedTenants []string          `json:"allowed_tenants,omitempty"`
	TeamID         string            `json:"team_id,omitempty"`
	KeyID          string            `json:"key_id,omitempty"`
	HostedDomains  []string          `json:"hosted_domains,omitempty"`
	BaseURL        string            `json:"base_url,omitempty"`
	// Source is "config" for connections declared in the file: they are
	// disabled when they leave it, while connections made at run time stay.
	Source string `json:"source,omitempty"`
}

// sourceConfig marks connections that the configuration file owns.
const sourceConfig = "config"

// ParseSettings decodes a stored connection's settings.
func ParseSettings(c store.Connection) (Settings, error) {
	var s Settings
	if len(c.Settings) == 0 {
		return s, nil
	}
	if err := json.Unmarshal(c.Settings, &s); err != nil {
		return s, fmt.Errorf("signin: connection %s: settings: %w", c.Slug, err)
	}
	return s, nil
}

// secretAAD binds a sealed connection secret to its connection, so a
// ciphertext copied onto another row does not open.
func secretAAD(connectionID string) []byte { return []byte("connection/" + connectionID + "/secret") }

// OpenSecret decrypts a connection's client secret or private key.
func OpenSecret(keys *secret.KeyRing, c store.Connection) (string, error) {
	if len(c.SecretEnc) == 0 {
		return "", nil
	}
	b, err := keys.Decrypt(c.SecretEnc, secretAAD(c.ID))
	if err != nil {
		return "", fmt.Errorf("signin: connection %s: open secret: %w", c.Slug, err)
	}
	return string(b), nil
}

// policyOf compiles what reconcile needs from a connection's settings.
func policyOf(c store.Connection, s Settings) (reconcile.Policy, error) {
	p := reconcile.Policy{
		AllowedDomains:       s.AllowedDomains,
		AutoProvision:        c.AutoProvision,
		TrustEmailForLinking: c.TrustEmailForLink,
		AdminEmailDomains:    c.AdminEmailDomains,
	}
	if s.EmailPattern != "" {
		re, err := regexp.Compile(s.EmailPattern)
		if err != nil {
			return p, fmt.Errorf("signin: connection %s: email_pattern: %w", c.Slug, err)
		}
		p.EmailPattern = re
	}
	return p, nil
}

// kindDisplayNames names each kind on its button when the file gives no
// display name.
var kindDisplayNames = map[string]string{
	config.KindOIDC: "Single sign-on", config.KindGoogle: "Google", config.KindMicrosoft: "Microsoft",
	config.KindGitHub: "GitHub", config.KindApple: "Apple", config.KindFacebook: "Facebook", config.KindGitLab: "GitLab",
}

// SyncConfig creates or updates the global connections declared in the
// configuration file, all active, and disables config-declared connections
// that are no longer in it. It runs in one transaction with an audit event
// per change, so a failed start leaves the store as it was.
func SyncConfig(ctx context.Context, st store.Store, keys *secret.KeyRing, rec *audit.Recorder, declared []config.Connection, newID func() string) error {
	return st.Tx(ctx, func(q store.Queries) error {
		existing, err := q.ListConnections(ctx, "")
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, d := range declared {
			seen[d.Slug] = true
			if err := syncOne(ctx, q, keys, rec, d, newID); err != nil {
				return fmt.Errorf("signin: connections: %s: %w", d.Slug, err)
			}
		}
		for _, c := range existing {
			s, err := ParseSettings(c)
			if err != nil {
				return err
			}
			if s.Source != sourceConfig || seen[c.Slug] || c.Status == store.ConnectionDisabled {
				continue
			}
			c.Status = store.ConnectionDisabled
			if err := q.UpdateConnection(ctx, &c); err != nil {
				return err
			}
			if err := rec.Record(ctx, q, audit.Event{Type: "connection.disable", Outcome: outcome.Disabled, ActorID: "config", ConnectionID: c.ID,
				Detail: map[string]any{"slug": c.Slug, "reason": "no longer in the configuration file"}}); err != nil {
				return err
			}
		}
		return nil
	})
}

func syncOne(ctx context.Context, q store.Queries, keys *secret.KeyRing, rec *audit.Recorder, d config.Connection, newID func() string) error {
	s := Settings{
		Issuer: d.Issuer, ClientID: d.ClientID, Scopes: d.Scopes, ClaimMapping: d.ClaimMapping,
		EmailPattern: d.EmailPattern, AllowedDomains: d.AllowedDomains, AllowedAlgs: d.AllowedAlgs,
		AuthParams: d.AuthParams, Tenant: d.Tenant, AllowedTenants: d.AllowedTenants,
		TeamID: d.TeamID, KeyID: d.KeyID, HostedDomains: d.HostedDomains, BaseURL: d.BaseURL, Source: sourceConfig,
	}
	settings, err := json.Marshal(s)
	if err != nil {
		return err
	}
	secretValue := d.ClientSecret
	if d.Kind == config.KindApple {
		secretValue = d.PrivateKey
	}
	// No kind links on a verified email by default (DESIGN §7: self-hosted
	// IdPs only when the connection says so; social ones need the person
	// to prove the account).
	trust := false
	if d.TrustEmailForLinking != nil {
		trust = *d.TrustEmailForLinking
	}
	display := d.DisplayName
	if display == "" {
		display = kindDisplayNames[d.Kind]
	}

	c, err := q.GetConnectionBySlug(ctx, d.Slug)
	creating := errors.Is(err, store.ErrNotFound)
	switch {
	case creating:
		c = store.Connection{ID: newID(), Slug: d.Slug, Kind: d.Kind}
	case err != nil:
		return err
	case c.OrgID != "":
		return fmt.Errorf("the slug belongs to an organization's connection")
	case c.Kind != d.Kind:
		return fmt.Errorf("kind changed from %s to %s: give the new connection another slug", c.Kind, d.Kind)
	}
	secretChanged := creating || !sameSecret(keys, c, secretValue)
	unchanged := !creating && !secretChanged && string(c.Settings) == string(settings) && c.DisplayName == display &&
		c.AutoProvision == d.AutoProvisionOrDefault() && c.TrustEmailForLink == trust &&
		slices.Equal(c.AdminEmailDomains, d.AdminEmailDomains) && c.Status == store.ConnectionActive
	if unchanged {
		return nil
	}
	if secretChanged {
		if c.SecretEnc, err = keys.Encrypt([]byte(secretValue), secretAAD(c.ID)); err != nil {
			return err
		}
	}
	c.DisplayName, c.Settings, c.Status = display, settings, store.ConnectionActive
	c.AutoProvision, c.TrustEmailForLink, c.AdminEmailDomains = d.AutoProvisionOrDefault(), trust, d.AdminEmailDomains
	typ := "connection.update"
	if creating {
		typ = "connection.create"
		err = q.CreateConnection(ctx, &c)
	} else {
		err = q.UpdateConnection(ctx, &c)
	}
	if err != nil {
		return err
	}
	return rec.Record(ctx, q, audit.Event{Type: typ, Outcome: outcome.Activated, ActorID: "config", ConnectionID: c.ID,
		Detail: map[string]any{"slug": c.Slug, "kind": c.Kind}})
}

// sameSecret reports whether c's sealed secret opens to value.
func sameSecret(keys *secret.KeyRing, c store.Connection, value string) bool {
	if len(c.SecretEnc) == 0 {
		return false
	}
	got, err := OpenSecret(keys, c)
	return err == nil && got == value
}
