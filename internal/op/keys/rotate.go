package keys

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sallyport/sallyport/internal/audit"
	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/store"
)

// lockKID is the kid of the row that serialises key changes across
// replicas (see the package documentation). A thumbprint is base64url, so
// no real key can have it.
const lockKID = "~lock"

// lockAttempts bounds how often a locked change is retried when the store
// reports a conflict on the lock row.
const lockAttempts = 5

func withoutLock(rows []store.SigningKey) []store.SigningKey {
	return slices.DeleteFunc(rows, func(k store.SigningKey) bool { return k.KID == lockKID })
}

// locked runs fn in one transaction that holds the key lock, handing it
// every key as of after the lock was taken and the time then. fn may run
// more than once (a conflict retries the whole transaction), so it must set
// whatever it reports afresh each time.
func (m *Manager) locked(ctx context.Context, fn func(q store.Queries, keys []store.SigningKey, now time.Time) error) error {
	if m.beforeLock != nil {
		m.beforeLock()
	}
	var err error
	for range lockAttempts {
		err = m.store.Tx(ctx, func(q store.Queries) error {
			// Inserting the lock row waits while another transaction holds
			// it; every statement after it sees that transaction's commit.
			lock := store.SigningKey{KID: lockKID, Alg: lockKID, PrivateKeyEnc: []byte{0}, PublicJWK: []byte("{}"),
				State: store.KeyNext, CreatedAt: m.now()}
			if err := q.CreateSigningKey(ctx, &lock); err != nil {
				return fmt.Errorf("keys: take the key lock: %w", err)
			}
			rows, err := q.ListSigningKeys(ctx)
			if err != nil {
				return fmt.Errorf("keys: list: %w", err)
			}
			if err := fn(q, withoutLock(rows), m.now()); err != nil {
				return err
			}
			if err := q.DeleteSigningKey(ctx, lockKID); err != nil {
				return fmt.Errorf("keys: release the key lock: %w", err)
			}
			return nil
		})
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return err
}

// Ensure makes sure RS256, and each of algs, has an active key, creating
// one (active at once) where there is none, and that every such key opens
// with the key ring. Run it at start; replicas starting together end with
// one active key per algorithm.
func (m *Manager) Ensure(ctx context.Context, algs ...string) error {
	want := []string{RS256}
	for _, alg := range algs {
		if !Supported(alg) {
			return unsupported(alg)
		}
		if !slices.Contains(want, alg) {
			want = append(want, alg)
		}
	}
	for _, alg := range want {
		if err := m.ensure(ctx, alg); err != nil {
			return err
		}
	}
	for _, alg := range want {
		if _, err := m.Signer(ctx, alg); err != nil {
			return err
		}
	}
	return nil
}

// ensure creates an active key for alg unless the store has one.
func (m *Manager) ensure(ctx context.Context, alg string) error {
	defer m.invalidate() // whatever happened, the cache may be behind the store
	rows, err := m.store.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("keys: list: %w", err)
	}
	if hasActive(rows, alg) {
		return nil
	}
	k, err := m.newKey(alg)
	if err != nil {
		return err
	}
	created := false
	err = m.locked(ctx, func(q store.Queries, keys []store.SigningKey, now time.Time) error {
		created = false
		if hasActive(keys, alg) {
			return nil // another replica was first
		}
		k.State, k.CreatedAt, k.ActivatedAt = store.KeyActive, now, now
		if err := q.CreateSigningKey(ctx, &k); err != nil {
			return fmt.Errorf("keys: store %s key: %w", alg, err)
		}
		if err := m.audit.Record(ctx, q, audit.Event{Type: "keys.create", Outcome: outcome.Activated, ActorID: "system",
			Detail: map[string]any{"kid": k.KID, "alg": alg}}); err != nil {
			return err
		}
		created = true
		return nil
	})
	if err != nil {
		return err
	}
	if created {
		m.log.Info("signing key created and active", "kid", k.KID, "alg", alg)
	}
	return nil
}

func hasActive(keys []store.SigningKey, alg string) bool {
	return slices.ContainsFunc(keys, func(k store.SigningKey) bool { return k.Alg == alg && k.State == store.KeyActive })
}

// Rotate publishes a new key for alg as next: it appears in the JWKS at
// once and starts signing when Advance finds it older than RotationDelay.
// actor ("cli", a user id) is recorded in the audit event. It fails with
// [ErrRotationPending] while alg already has a next key.
func (m *Manager) Rotate(ctx context.Context, alg, actor string) (KeyInfo, error) {
	if !Supported(alg) {
		return KeyInfo{}, unsupported(alg)
	}
	if actor == "" {
		return KeyInfo{}, errors.New("keys: rotate: the actor is required for the audit trail")
	}
	k, err := m.newKey(alg)
	if err != nil {
		return KeyInfo{}, err
	}
	defer m.invalidate()
	err = m.locked(ctx, func(q store.Queries, keys []store.SigningKey, now time.Time) error {
		for _, p := range keys {
			if p.Alg == alg && p.State == store.KeyNext {
				return outcome.Wrap(outcome.Conflict, fmt.Errorf("%w: %s key %s becomes active after %s",
					ErrRotationPending, alg, p.KID, m.activatesAfter(p).Format(time.RFC3339)))
			}
		}
		k.State, k.CreatedAt = store.KeyNext, now
		if err := q.CreateSigningKey(ctx, &k); err != nil {
			return fmt.Errorf("keys: store %s key: %w", alg, err)
		}
		return m.audit.Record(ctx, q, audit.Event{Type: "keys.rotate", Outcome: outcome.KeyPublished, ActorID: actor,
			Detail: map[string]any{"kid": k.KID, "alg": alg, "activates_after": m.activatesAfter(k)}})
	})
	if err != nil {
		return KeyInfo{}, err
	}
	m.log.Info("signing key published as next", "kid", k.KID, "alg", alg, "activates_after", m.activatesAfter(k))
	return m.info(k), nil
}

// Advance moves keys along their lifecycle: a next key published for
// RotationDelay becomes active and the active key it replaces becomes
// retired, to stay published until RemoveAfter; retired keys past
// RemoveAfter are deleted. Run it periodically on every replica: it is
// idempotent, writes nothing when nothing is due, and concurrent calls
// make each change once.
func (m *Manager) Advance(ctx context.Context) error {
	rows, err := m.store.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("keys: list: %w", err)
	}
	if m.plan(withoutLock(rows), m.now()).empty() {
		return nil
	}
	defer m.invalidate()
	var done plan
	err = m.locked(ctx, func(q store.Queries, keys []store.SigningKey, now time.Time) error {
		done = m.plan(keys, now)
		for _, k := range done.retire { // before activating: one active key per algorithm at every step
			if err := q.UpdateSigningKey(ctx, &k); err != nil {
				return fmt.Errorf("keys: retire %s: %w", k.KID, err)
			}
		}
		for _, a := range done.activate {
			if err := q.UpdateSigningKey(ctx, &a.key); err != nil {
				return fmt.Errorf("keys: activate %s: %w", a.key.KID, err)
			}
			if err := m.audit.Record(ctx, q, audit.Event{Type: "keys.activate", Outcome: outcome.Activated, ActorID: "system",
				Detail: map[string]any{"kid": a.key.KID, "alg": a.key.Alg, "retired": a.retired}}); err != nil {
				return err
			}
		}
		for _, k := range done.remove {
			if err := q.DeleteSigningKey(ctx, k.KID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("keys: remove %s: %w", k.KID, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, a := range done.activate {
		m.log.Info("signing key active", "kid", a.key.KID, "alg", a.key.Alg, "retired", a.retired)
	}
	for _, k := range done.retire {
		m.log.Info("signing key retired", "kid", k.KID, "alg", k.Alg, "remove_after", k.RemoveAfter)
	}
	for _, k := range done.remove {
		m.log.Info("signing key removed", "kid", k.KID, "alg", k.Alg)
	}
	return nil
}

// plan is what Advance changes.
type plan struct {
	retire   []store.SigningKey // with their new state and times
	activate []activation
	remove   []store.SigningKey
}

type activation struct {
	key     store.SigningKey // with its new state and times
	retired []string         // the kids it replaces
}

func (p plan) empty() bool { return len(p.retire)+len(p.activate)+len(p.remove) == 0 }

// plan decides Advance's changes from every key and the time.
func (m *Manager) plan(keys []store.SigningKey, now time.Time) plan {
	var p plan
	byAlg := make(map[string][]store.SigningKey)
	var algs []string
	for _, k := range keys {
		if k.State == store.KeyRetired && !k.RemoveAfter.IsZero() && !now.Before(k.RemoveAfter) {
			p.remove = append(p.remove, k)
			continue
		}
		if _, seen := byAlg[k.Alg]; !seen {
			algs = append(algs, k.Alg)
		}
		byAlg[k.Alg] = append(byAlg[k.Alg], k)
	}
	// A key that signed must stay published as long as its tokens live,
	// and other replicas may sign with it until their cache expires.
	keep := now.Add(m.maxTokenLifetime + m.cacheTTL)
	retire := func(k store.SigningKey, removeAfter time.Time) store.SigningKey {
		k.State, k.RetiredAt, k.RemoveAfter = store.KeyRetired, now, removeAfter
		return k
	}
	slices.SortFunc(algs, func(a, b string) int { return algRank(a) - algRank(b) })
	for _, alg := range algs {
		var actives, ready []store.SigningKey
		for _, k := range byAlg[alg] {
			switch {
			case k.State == store.KeyActive:
				actives = append(actives, k)
			case k.State == store.KeyNext && !now.Before(m.activatesAfter(k)):
				ready = append(ready, k)
			}
		}
		if len(ready) > 0 {
			// Only one next key per algorithm is ever created; should there
			// be more, the newest wins and the others, which never signed,
			// go at once.
			newest := slices.MaxFunc(ready, cmpCreated)
			a := activation{key: newest}
			a.key.State, a.key.ActivatedAt = store.KeyActive, now
			for _, k := range ready {
				if k.KID != newest.KID {
					p.retire = append(p.retire, retire(k, now))
				}
			}
			for _, k := range actives {
				p.retire = append(p.retire, retire(k, keep))
				a.retired = append(a.retired, k.KID)
			}
			p.activate = append(p.activate, a)
			continue
		}
		if len(actives) > 1 {
			// Never made by this package (a restored backup, a hand-edited
			// row): repaired to the key every replica already signs with
			// (see cmpActive). The others may have signed: keep them
			// published.
			winner := slices.MaxFunc(actives, cmpActive)
			for _, k := range actives {
				if k.KID != winner.KID {
					p.retire = append(p.retire, retire(k, keep))
				}
			}
		}
	}
	return p
}

// cmpCreated orders keys by creation, then kid.
func cmpCreated(a, b store.SigningKey) int {
	return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.KID, b.KID))
}
