package keys

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/sallyport/sallyport/internal/store"
)

// keySet is one replica's copy of the keys, read from the store at once.
// It is never modified after it is built.
type keySet struct {
	expires   time.Time
	published []published                 // the JWKS, active keys first
	active    map[string]store.SigningKey // alg → the key that signs
}

type published struct {
	jwk         jose.JSONWebKey
	removeAfter time.Time
}

// keySet returns the cached set, loading it from the store when it is
// older than CacheTTL or was dropped by a change on this replica.
func (m *Manager) keySet(ctx context.Context) (*keySet, error) {
	if ks := m.set.Load(); ks != nil && m.now().Before(ks.expires) {
		return ks, nil
	}
	m.loadMu.Lock()
	defer m.loadMu.Unlock()
	if ks := m.set.Load(); ks != nil && m.now().Before(ks.expires) {
		return ks, nil
	}
	ks, err := m.load(ctx)
	if err != nil {
		return nil, err
	}
	m.set.Store(ks)
	m.mu.Lock()
	for kid, s := range m.signers {
		if ks.active[s.alg].KID != kid {
			delete(m.signers, kid) // no longer signs: forget the private key
		}
	}
	m.mu.Unlock()
	return ks, nil
}

// invalidate drops the cached set after a change on this replica. It waits
// for a load in flight, which may have read the store before the change,
// so that load's result is dropped too.
func (m *Manager) invalidate() {
	m.loadMu.Lock()
	m.set.Store(nil)
	m.loadMu.Unlock()
}

func (m *Manager) load(ctx context.Context) (*keySet, error) {
	rows, err := m.store.ListSigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("keys: load: %w", err)
	}
	now := m.now()
	ks := &keySet{expires: now.Add(m.cacheTTL), active: make(map[string]store.SigningKey)}
	type entry struct {
		published
		k store.SigningKey
	}
	var entries []entry
	for _, k := range withoutLock(rows) {
		if !k.RemoveAfter.IsZero() && !now.Before(k.RemoveAfter) {
			continue // due for removal: neither published nor signing
		}
		jwk, err := parsePublic(k)
		if err != nil {
			// A broken row must not take the JWKS down with it; it is
			// neither published nor used, and the operator hears of it.
			m.log.Error("signing key ignored", "kid", k.KID, "alg", k.Alg, "err", err)
			continue
		}
		entries = append(entries, entry{published{jwk, k.RemoveAfter}, k})
		if k.State == store.KeyActive {
			if cur, ok := ks.active[k.Alg]; !ok || cmpActive(k, cur) > 0 {
				ks.active[k.Alg] = k
			}
		}
	}
	slices.SortStableFunc(entries, func(a, b entry) int {
		return cmp.Or(
			cmp.Compare(stateRank(a.k.State), stateRank(b.k.State)),
			cmp.Compare(algRank(a.k.Alg), algRank(b.k.Alg)),
			b.k.CreatedAt.Compare(a.k.CreatedAt), // newest first
		)
	})
	for _, e := range entries {
		ks.published = append(ks.published, e.published)
	}
	return ks, nil
}

// cmpActive orders active keys of one algorithm, so that every replica
// picks the same one should two ever be active: the greatest is the latest
// activated, then the latest created, then the greater kid.
func cmpActive(a, b store.SigningKey) int {
	return cmp.Or(
		a.ActivatedAt.Compare(b.ActivatedAt),
		a.CreatedAt.Compare(b.CreatedAt),
		cmp.Compare(a.KID, b.KID),
	)
}

func stateRank(s store.SigningKeyState) int {
	switch s {
	case store.KeyActive:
		return 0
	case store.KeyNext:
		return 1
	}
	return 2
}

func algRank(alg string) int {
	if i := slices.Index(algorithms[:], alg); i >= 0 {
		return i
	}
	return len(algorithms)
}
