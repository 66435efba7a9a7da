package op

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/sallyport/sallyport/internal/store"
)

// slugTTL bounds how long a connection's slug is trusted from memory. A
// slug names a connection in ID tokens (idp) and userinfo; it changes
// only when an administrator renames a connection, so a minute's delay is
// harmless, while a read per userinfo request is a third of its cost.
const slugTTL = time.Minute

// slugCache maps connection ids to slugs.
type slugCache struct {
	mu      sync.Mutex // guards entries
	entries map[string]slugEntry
}

type slugEntry struct {
	slug    string
	fetched time.Time
}

// connectionSlug returns the slug of connection id, "" when it no longer
// exists. q is the caller's store or transaction.
func (p *Provider) connectionSlug(ctx context.Context, q store.Queries, id string) (string, error) {
	if id == "" {
		return "", nil
	}
	now := p.now()
	p.slugs.mu.Lock()
	e, ok := p.slugs.entries[id]
	p.slugs.mu.Unlock()
	if ok && now.Sub(e.fetched) < slugTTL {
		return e.slug, nil
	}
	c, err := q.GetConnection(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	p.slugs.mu.Lock()
	if p.slugs.entries == nil || len(p.slugs.entries) > 10_000 {
		p.slugs.entries = map[string]slugEntry{} // connections number in the dozens; this only bounds abuse
	}
	p.slugs.entries[id] = slugEntry{slug: c.Slug, fetched: now}
	p.slugs.mu.Unlock()
	return c.Slug, nil
}
