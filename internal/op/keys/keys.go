package keys

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/sallyport/sallyport/internal/audit"
	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/secret"
	"github.com/sallyport/sallyport/internal/store"
)

// The signing algorithms Sallyport offers, as JOSE names them.
const (
	RS256 = string(jose.RS256) // RSASSA-PKCS1-v1_5 with SHA-256: every client supports it; the default
	ES256 = string(jose.ES256) // ECDSA P-256 with SHA-256
	EdDSA = string(jose.EdDSA) // Ed25519
)

// RSABits is the size of RS256 keys: 2048 bits is what every client
// library accepts and what other OpenID Providers publish.
const RSABits = 2048

// Defaults for the zero values of Config.
const (
	DefaultRotationDelay    = 24 * time.Hour
	DefaultMaxTokenLifetime = 24 * time.Hour
	DefaultCacheTTL         = 30 * time.Second
)

// algorithms is every supported algorithm, in the order the JWKS lists
// their keys.
var algorithms = [...]string{RS256, ES256, EdDSA}

// Supported reports whether alg is one of RS256, ES256 and EdDSA.
func Supported(alg string) bool { return slices.Contains(algorithms[:], alg) }

// Errors callers branch on. Both reach callers inside an [outcome.Error]
// (invalid_request and conflict), so the CLI and admin API can answer them.
var (
	// ErrUnsupportedAlg: the algorithm is not RS256, ES256 or EdDSA.
	ErrUnsupportedAlg = errors.New("keys: unsupported signing algorithm")
	// ErrRotationPending: the algorithm already has a next key waiting for
	// its RotationDelay; rotating again would publish a key that never
	// signs.
	ErrRotationPending = errors.New("keys: a rotation is already pending")
)

// Config configures a Manager. Store and Keys are required; the rest
// default.
type Config struct {
	// Store holds the keys; every replica must use the same database.
	Store store.Store
	// Keys seals private keys at rest.
	Keys *secret.KeyRing
	// Audit records key creation, rotation and activation; nil means a
	// Recorder on Now.
	Audit *audit.Recorder
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand is the randomness for new keys; nil means crypto/rand. Since Go
	// 1.26 the standard library uses it for Ed25519 keys only (RSA and ECDSA
	// generation always read the system's secure source).
	Rand io.Reader
	// RotationDelay is how long a next key is published before Advance
	// makes it active (default 24 h). It must outlast what apps cache the
	// JWKS for, plus CacheTTL.
	RotationDelay time.Duration
	// MaxTokenLifetime is the longest lifetime of anything a key signs (ID
	// tokens, JWT access tokens): how long a retired key stays published
	// (default 24 h).
	MaxTokenLifetime time.Duration
	// CacheTTL is how long a replica keeps its copy of the key set
	// (default 30 s): a change on one replica reaches the others within it.
	CacheTTL time.Duration
	// Logger receives key lifecycle messages; nil discards them.
	Logger *slog.Logger
}

// Manager creates, rotates and serves the signing keys. It is safe for
// concurrent use, and any number of Managers (one per replica) may share a
// database.
type Manager struct {
	store            store.Store
	ring             *secret.KeyRing
	audit            *audit.Recorder
	clock            func() time.Time
	rand             io.Reader
	rotationDelay    time.Duration
	maxTokenLifetime time.Duration
	cacheTTL         time.Duration
	log              *slog.Logger

	// beforeLock, when set (by tests), runs before each locked transaction.
	beforeLock func()

	loadMu sync.Mutex // serialises loading and dropping set
	set    atomic.Pointer[keySet]

	mu      sync.Mutex         // guards the fields below
	signers map[string]*Signer // decrypted active keys, by kid
}

// New returns a Manager. It panics without a Store or a key ring, which is
// a wiring mistake rather than a run-time condition.
func New(cfg Config) *Manager {
	if cfg.Store == nil || cfg.Keys == nil {
		panic("keys: New needs a Store and a key ring")
	}
	m := &Manager{
		store:            cfg.Store,
		ring:             cfg.Keys,
		audit:            cfg.Audit,
		clock:            cfg.Now,
		rand:             cfg.Rand,
		rotationDelay:    cmp0(cfg.RotationDelay, DefaultRotationDelay),
		maxTokenLifetime: cmp0(cfg.MaxTokenLifetime, DefaultMaxTokenLifetime),
		cacheTTL:         cmp0(cfg.CacheTTL, DefaultCacheTTL),
		log:              cfg.Logger,
		signers:          make(map[string]*Signer),
	}
	if m.clock == nil {
		m.clock = time.Now
	}
	if m.rand == nil {
		m.rand = rand.Reader
	}
	if m.audit == nil {
		m.audit = audit.New(audit.Config{Now: m.clock})
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	return m
}

func cmp0(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// now is the clock at the store's precision, so a time written and read
// back compares equal.
func (m *Manager) now() time.Time { return m.clock().UTC().Truncate(time.Millisecond) }

// KeyInfo describes a signing key without any of its private material: a
// line of `sallyport keys list`.
type KeyInfo struct {
	KID         string
	Alg         string
	State       store.SigningKeyState
	CreatedAt   time.Time
	ActivatedAt time.Time // zero until active
	RetiredAt   time.Time // zero until retired
	RemoveAfter time.Time // retired keys: when Advance deletes it
	// ActivatesAfter is when Advance makes a next key active; zero for
	// other states.
	ActivatesAfter time.Time
}

func (m *Manager) info(k store.SigningKey) KeyInfo {
	i := KeyInfo{
		KID: k.KID, Alg: k.Alg, State: k.State,
		CreatedAt: k.CreatedAt, ActivatedAt: k.ActivatedAt, RetiredAt: k.RetiredAt, RemoveAfter: k.RemoveAfter,
	}
	if k.State == store.KeyNext {
		i.ActivatesAfter = m.activatesAfter(k)
	}
	return i
}

func (m *Manager) activatesAfter(k store.SigningKey) time.Time {
	return k.CreatedAt.Add(m.rotationDelay)
}

// List returns every key in the store, oldest first, read afresh (not from
// the cache).
func (m *Manager) List(ctx context.Context) ([]KeyInfo, error) {
	rows, err := m.store.ListSigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("keys: list: %w", err)
	}
	out := make([]KeyInfo, 0, len(rows))
	for _, k := range withoutLock(rows) {
		out = append(out, m.info(k))
	}
	return out, nil
}

// JWKS returns the public keys apps verify with: every next, active and
// retired key whose RemoveAfter has not passed, active keys first, each
// with "use": "sig", its "alg" and its kid. It comes from this replica's
// cache, at most CacheTTL old.
func (m *Manager) JWKS(ctx context.Context) (jose.JSONWebKeySet, error) {
	ks, err := m.keySet(ctx)
	if err != nil {
		return jose.JSONWebKeySet{}, err
	}
	now := m.now()
	set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(ks.published))}
	for _, p := range ks.published {
		if p.removeAfter.IsZero() || now.Before(p.removeAfter) {
			set.Keys = append(set.Keys, p.jwk)
		}
	}
	return set, nil
}

// Signer returns a signer for the active key of alg, creating that key
// (active at once) if the algorithm has none yet. The decrypted key is kept
// in memory while it stays active.
func (m *Manager) Signer(ctx context.Context, alg string) (*Signer, error) {
	if !Supported(alg) {
		return nil, unsupported(alg)
	}
	ks, err := m.keySet(ctx)
	if err != nil {
		return nil, err
	}
	k, ok := ks.active[alg]
	if !ok {
		if err := m.ensure(ctx, alg); err != nil {
			return nil, err
		}
		if ks, err = m.keySet(ctx); err != nil {
			return nil, err
		}
		if k, ok = ks.active[alg]; !ok {
			return nil, fmt.Errorf("keys: no usable active %s key after creating one (see the log)", alg)
		}
	}
	return m.signerFor(k)
}

func unsupported(alg string) error {
	return outcome.Wrap(outcome.InvalidRequest, fmt.Errorf("%w %q: use %s, %s or %s", ErrUnsupportedAlg, alg, RS256, ES256, EdDSA))
}
