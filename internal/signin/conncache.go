package signin

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/sallyport/sallyport/internal/session"
	"github.com/sallyport/sallyport/internal/store"
)

// ConnectionsTTL bounds how long the global connections are trusted from
// memory. Every app sign-in reads them three times (the authorize request
// checks connection=, begin and the callback each look theirs up), and
// they change only when a replica starts with a new configuration file.
// So a connection disabled, removed or given new settings there is
// refused, or used as changed, by every replica within this long: the
// same bound as a cached session (session.MaxCacheTTL) and an app's
// client record.
const ConnectionsTTL = session.MaxCacheTTL

// connectionCache is the global connections as last read, with the time
// of that read.
type connectionCache struct {
	mu      sync.Mutex // guards the fields below, and is held during a read so one read serves every waiting caller
	conns   []store.Connection
	fetched time.Time
	ok      bool
}

// globalConnections returns the global connections by slug, from memory
// when read within ConnectionsTTL. The slice and what it holds are shared:
// callers must not change them. A failed read is not kept.
func (s *Service) globalConnections(ctx context.Context) ([]store.Connection, error) {
	c := &s.connections
	c.mu.Lock()
	defer c.mu.Unlock()
	now := s.now()
	if c.ok && now.Sub(c.fetched) < ConnectionsTTL && !now.Before(c.fetched) {
		return c.conns, nil
	}
	conns, err := s.store.ListConnections(ctx, "")
	if err != nil {
		return nil, err
	}
	c.conns, c.fetched, c.ok = conns, now, true
	return conns, nil
}

// globalConnection finds the global connection slug among
// globalConnections. A linear search: there are dozens at most, and the
// databases order slugs by their own collations.
func (s *Service) globalConnection(ctx context.Context, slug string) (store.Connection, bool, error) {
	conns, err := s.globalConnections(ctx)
	if err != nil {
		return store.Connection{}, false, err
	}
	i := slices.IndexFunc(conns, func(c store.Connection) bool { return c.Slug == slug })
	if i < 0 {
		return store.Connection{}, false, nil
	}
	return conns[i], true, nil
}
