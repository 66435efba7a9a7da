package signin

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/sallyport/sallyport/internal/reconcile"
	"github.com/sallyport/sallyport/internal/secret"
	"github.com/sallyport/sallyport/internal/store"
	"github.com/sallyport/sallyport/internal/upstream"
)

// ProviderParams is what a kind's constructor gets to build a provider for
// one connection.
type ProviderParams struct {
	Connection store.Connection
	Settings   Settings
	Secret     string       // the opened client secret (Apple: the private key PEM)
	HTTPClient *http.Client // netguard's client: admin-supplied URLs only go through it
	Now        func() time.Time
	Logger     *slog.Logger
}

// NewProvider builds the provider of one kind. Discovery and other network
// work may happen here; the registry keeps the result until the connection
// changes.
type NewProvider func(ctx context.Context, p ProviderParams) (upstream.Provider, error)

// registry builds each connection's provider once and keeps it until the
// connection's UpdatedAt moves. Failures are not kept: the next sign-in
// tries again, so a provider that was down at start recovers by itself.
type registry struct {
	kinds  map[string]NewProvider
	keys   *secret.KeyRing
	client *http.Client
	now    func() time.Time
	log    *slog.Logger

	mu      sync.Mutex // guards entries
	entries map[string]*providerEntry
}

type providerEntry struct {
	updated  time.Time
	provider upstream.Provider
	policy   reconcile.Policy
}

func (r *registry) supports(kind string) bool { _, ok := r.kinds[kind]; return ok }

// get returns the provider and the reconciliation policy of c.
func (r *registry) get(ctx context.Context, c store.Connection) (*providerEntry, error) {
	r.mu.Lock()
	e, ok := r.entries[c.ID]
	r.mu.Unlock()
	if ok && e.updated.Equal(c.UpdatedAt) {
		return e, nil
	}
	build, ok := r.kinds[c.Kind]
	if !ok {
		return nil, fmt.Errorf("signin: connection %s: kind %q is not available in this build", c.Slug, c.Kind)
	}
	settings, err := ParseSettings(c)
	if err != nil {
		return nil, err
	}
	secretValue, err := OpenSecret(r.keys, c)
	if err != nil {
		return nil, err
	}
	policy, err := policyOf(c, settings)
	if err != nil {
		return nil, err
	}
	p, err := build(ctx, ProviderParams{Connection: c, Settings: settings, Secret: secretValue, HTTPClient: r.client, Now: r.now,
		Logger: r.log.With("connection", c.Slug)})
	if err != nil {
		return nil, fmt.Errorf("signin: connection %s: %w", c.Slug, err)
	}
	e = &providerEntry{updated: c.UpdatedAt, provider: p, policy: policy}
	r.mu.Lock()
	r.entries[c.ID] = e
	r.mu.Unlock()
	return e, nil
}
