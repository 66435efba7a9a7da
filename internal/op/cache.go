package op

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/sallyport/sallyport/internal/store"
)

// Records every app sign-in reads several times and that change only when
// an administrator acts are kept in memory for a short while, as sessions
// are (session.MaxCacheTTL): a change made by another process or replica
// takes effect within the TTL.
const (
	// slugTTL bounds how long a connection's slug is trusted: it names the
	// connection in ID tokens (idp) and userinfo, and changes only when a
	// connection is renamed.
	slugTTL = time.Minute
	// clientTTL bounds how long a client (app) record is trusted: a client
	// disabled, deleted or given a new secret at run time is refused by
	// every replica within it. Authorize, the callback's transaction and
	// the token endpoint each read the client; the callback's read held
	// SQLite's single writer.
	clientTTL = 5 * time.Second
	// maxCached bounds each cache: clients and connections number in the
	// dozens, so this only limits what a flood of unknown ids can do.
	maxCached = 10_000
)

// ttlCache is a small map of values with the time each was read.
type ttlCache[V any] struct {
	ttl     time.Duration
	mu      sync.Mutex // guards entries
	entries map[string]ttlEntry[V]
}

type ttlEntry[V any] struct {
	v       V
	fetched time.Time
}

func (c *ttlCache[V]) get(key string, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || now.Sub(e.fetched) >= c.ttl || now.Before(e.fetched) {
		var zero V
		return zero, false
	}
	return e.v, true
}

func (c *ttlCache[V]) put(key string, v V, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= maxCached {
		c.entries = map[string]ttlEntry[V]{}
	}
	c.entries[key] = ttlEntry[V]{v: v, fetched: now}
}

// connectionSlug returns the slug of connection id, "" when it no longer
// exists. q is the caller's store or transaction.
func (p *Provider) connectionSlug(ctx context.Context, q store.Queries, id string) (string, error) {
	if id == "" {
		return "", nil
	}
	now := p.now()
	if slug, ok := p.slugs.get(id, now); ok {
		return slug, nil
	}
	c, err := q.GetConnection(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	p.slugs.put(id, c.Slug, now)
	return c.Slug, nil
}

// client returns the client id, from memory when read within clientTTL.
// A missing client is not remembered: registering it works at once.
func (p *Provider) client(ctx context.Context, q store.Queries, id string) (store.Client, error) {
	now := p.now()
	if c, ok := p.clients.get(id, now); ok {
		return c, nil
	}
	c, err := q.GetClient(ctx, id)
	if err != nil {
		return c, err
	}
	p.clients.put(id, c, now)
	return c, nil
}
