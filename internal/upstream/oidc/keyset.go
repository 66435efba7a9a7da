package oidc

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// minRSABits is the smallest RSA key accepted (RFC 7518 §3.3).
const minRSABits = 2048

// Key is one public signing key of a JWKS.
type Key struct {
	jose.JSONWebKey
	// Members are the JWK object's members as published, including ones
	// go-jose drops, such as the issuer member of Entra's keys.
	Members map[string]any
}

// KeySource finds the key that signed a token by its kid. An empty kid
// finds the only key of a set that holds exactly one.
type KeySource interface {
	Key(ctx context.Context, kid string) (*Key, error)
}

// KeySetConfig configures a [KeySet].
type KeySetConfig struct {
	// URL is the jwks_uri. Required.
	URL string
	// HTTPClient fetches it: netguard's. Required.
	HTTPClient *http.Client
	// MinRefetch is the least time between two fetches, the first one
	// included: an unknown kid triggers a refetch only when the last fetch
	// is at least this old. Zero means DefaultJWKSMinRefetch.
	MinRefetch time.Duration
	// Refresh is the age at which the keys are fetched again on their next
	// use, so keys the provider withdrew stop verifying; a failed refresh
	// keeps the old keys. Zero means DefaultJWKSRefresh.
	Refresh time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives refresh failures and skipped keys; nil discards.
	Logger *slog.Logger
}

// KeySet is a provider's JWKS, cached by kid. Keys for encryption (use
// enc, or key_ops without verify), symmetric keys, RSA keys under 2048 bits
// and key types go-jose cannot verify with are left out; a kid published
// twice keeps its first key. An unknown kid refetches the set once, shared
// by every caller waiting at that moment, and never more often than
// MinRefetch: a stream of tokens with made-up kids cannot make Sallyport
// hammer the provider.
type KeySet struct {
	cfg KeySetConfig

	mu        sync.Mutex // guards the fields below
	url       string
	keys      map[string]*Key // by kid; nil until the first successful fetch
	fetched   time.Time       // the last successful fetch
	attempted time.Time       // the last fetch, successful or not
	lastErr   error
	call      *fetchCall // the fetch in progress, if any
}

// fetchCall is one fetch that several callers may wait for.
type fetchCall struct {
	done chan struct{}
	err  error
}

// NewKeySet returns an empty set; the first Key fetches.
func NewKeySet(cfg KeySetConfig) *KeySet {
	if cfg.MinRefetch <= 0 {
		cfg.MinRefetch = DefaultJWKSMinRefetch
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = DefaultJWKSRefresh
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &KeySet{cfg: cfg, url: cfg.URL}
}

// URL returns the jwks_uri the set fetches.
func (s *KeySet) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

// SetURL points the set at a new jwks_uri (after a discovery refresh
// changed it). The cached keys stay usable until the next fetch, which the
// next Key makes at once.
func (s *KeySet) SetURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u == s.url {
		return
	}
	s.url = u
	s.fetched, s.attempted, s.lastErr = time.Time{}, time.Time{}, nil
}

// Key returns the key with this kid, fetching the set when it was never
// fetched, when it is older than Refresh, or when kid is unknown and the
// last fetch is at least MinRefetch old. Errors wrap [ErrUnknownKey], or
// [ErrJWKS] when no keys could ever be fetched.
func (s *KeySet) Key(ctx context.Context, kid string) (*Key, error) {
	now := s.cfg.Now()
	s.mu.Lock()
	k := s.lookup(kid)
	if k != nil && now.Sub(s.fetched) < s.cfg.Refresh {
		s.mu.Unlock()
		return k, nil
	}
	call := s.call
	if call == nil {
		if !s.attempted.IsZero() && now.Sub(s.attempted) < s.cfg.MinRefetch {
			err := s.missLocked(kid, now)
			s.mu.Unlock()
			if k != nil {
				return k, nil // due for a refresh, which must wait
			}
			return nil, err
		}
		call = s.startLocked(ctx, now)
	}
	s.mu.Unlock()

	select {
	case <-call.done:
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: waiting for the JWKS: %w", ErrJWKS, context.Cause(ctx))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := s.lookup(kid); k != nil {
		return k, nil
	}
	if s.keys == nil {
		return nil, fmt.Errorf("%w: %w", ErrJWKS, call.err)
	}
	if call.err != nil {
		return nil, fmt.Errorf("%w: kid %q (the refetch failed: %v)", ErrUnknownKey, kid, call.err)
	}
	return nil, fmt.Errorf("%w: kid %q is not in the JWKS at %s, even after a refetch", ErrUnknownKey, kid, s.url)
}

// Refresh fetches the set now, whatever its age (to validate a connection),
// and reports the fetch's error.
func (s *KeySet) Refresh(ctx context.Context) error {
	s.mu.Lock()
	call := s.call
	if call == nil {
		call = s.startLocked(ctx, s.cfg.Now())
	}
	s.mu.Unlock()
	select {
	case <-call.done:
		return call.err
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrJWKS, context.Cause(ctx))
	}
}

// missLocked explains a miss that may not refetch yet.
func (s *KeySet) missLocked(kid string, now time.Time) error {
	if s.keys == nil {
		return fmt.Errorf("%w: %w", ErrJWKS, s.lastErr)
	}
	return fmt.Errorf("%w: kid %q; the JWKS was fetched %s ago, under the %s between refetches",
		ErrUnknownKey, kid, now.Sub(s.attempted).Round(time.Millisecond), s.cfg.MinRefetch)
}

// lookup finds kid in the cached keys. The caller holds s.mu.
func (s *KeySet) lookup(kid string) *Key {
	if kid == "" && len(s.keys) == 1 {
		for _, k := range s.keys {
			return k
		}
	}
	return s.keys[kid]
}

// startLocked starts a fetch. The caller holds s.mu. The fetch does not
// end with the caller's context (others may wait for it); netguard's
// timeout bounds it.
func (s *KeySet) startLocked(ctx context.Context, now time.Time) *fetchCall {
	call := &fetchCall{done: make(chan struct{})}
	s.call, s.attempted = call, now
	u := s.url
	go func() {
		keys, err := s.fetch(context.WithoutCancel(ctx), u)
		s.mu.Lock()
		if err != nil {
			s.lastErr = err
			if s.keys != nil {
				s.cfg.Logger.Warn("oidc: JWKS refresh failed; keeping the cached keys", "url", u, "err", err.Error())
			}
		} else if u == s.url {
			s.keys, s.fetched, s.lastErr = keys, s.cfg.Now(), nil
		}
		s.call = nil
		call.err = err
		s.mu.Unlock()
		close(call.done)
	}()
	return call
}

// fetch GETs the JWKS and keeps its usable signing keys.
func (s *KeySet) fetch(ctx context.Context, u string) (map[string]*Key, error) {
	body, err := getJSON(ctx, s.cfg.HTTPClient, u, nil)
	if err != nil {
		return nil, err
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("%s: %w", u, err)
	}
	keys := make(map[string]*Key, len(set.Keys))
	for i, raw := range set.Keys {
		k, why := parseKey(raw)
		if why != "" {
			s.cfg.Logger.Debug("oidc: JWKS key skipped", "url", u, "index", i, "reason", why)
			continue
		}
		if _, dup := keys[k.KeyID]; dup {
			s.cfg.Logger.Warn("oidc: JWKS publishes a kid twice; keeping the first key", "url", u, "kid", k.KeyID)
			continue
		}
		keys[k.KeyID] = k
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s: no usable signing keys among %d", u, len(set.Keys))
	}
	return keys, nil
}

// parseKey reads one JWK, or says why it is not a usable signing key.
func parseKey(raw json.RawMessage) (*Key, string) {
	var members map[string]any
	if err := json.Unmarshal(raw, &members); err != nil {
		return nil, "not a JSON object"
	}
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(raw); err != nil {
		return nil, "unreadable: " + err.Error()
	}
	if jwk.Use != "" && jwk.Use != "sig" {
		return nil, "use is " + jwk.Use
	}
	if ops, ok := members["key_ops"].([]any); ok && !slices.Contains(ops, any("verify")) {
		return nil, "key_ops lacks verify"
	}
	switch pub := jwk.Key.(type) {
	case *rsa.PublicKey:
		if pub.N.BitLen() < minRSABits {
			return nil, fmt.Sprintf("RSA key of %d bits", pub.N.BitLen())
		}
	case *ecdsa.PublicKey, ed25519.PublicKey:
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
		// A provider published private material: use the public half.
		jwk = jwk.Public()
		for _, m := range []string{"d", "p", "q", "dp", "dq", "qi", "oth"} {
			delete(members, m)
		}
		if rk, ok := jwk.Key.(*rsa.PublicKey); ok && rk.N.BitLen() < minRSABits {
			return nil, fmt.Sprintf("RSA key of %d bits", rk.N.BitLen())
		}
	case []byte:
		return nil, "symmetric key: HMAC is never keyed from a JWKS"
	default:
		return nil, fmt.Sprintf("unsupported key type %T", pub)
	}
	return &Key{JSONWebKey: jwk, Members: members}, ""
}
