package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/sallyport/sallyport/internal/store"
)

// CookieName is the session cookie (DESIGN.md §9). The __Host- prefix makes
// browsers refuse it unless it is Secure, has Path=/ and no Domain, so a
// sibling subdomain cannot plant or overwrite one.
const CookieName = "__Host-sallyport_session"

// Defaults for the zero values of Config.
const (
	DefaultIdle       = 12 * time.Hour
	DefaultAbsolute   = 168 * time.Hour
	DefaultCacheTTL   = 2 * time.Second
	DefaultTouchEvery = time.Minute
	DefaultCacheSize  = 10_000
)

// MaxCacheTTL is the longest a replica may trust a cached session: a
// revocation must be seen on every replica within it.
const MaxCacheTTL = 5 * time.Second

// idBytes is the size of a session id: 32 random bytes, which encode to
// idLen characters of unpadded base64url.
const (
	idBytes = 32
	idLen   = 43
)

// ErrNoSession: the request carries no live session (no cookie, a
// malformed or unknown one, or a revoked or expired session).
var ErrNoSession = errors.New("session: no live session")

// Config configures a Manager.
type Config struct {
	// Store keeps the sessions. Required.
	Store store.Store
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand is the source of session ids; nil means crypto/rand.
	Rand io.Reader
	// Idle is how long a session lives without requests; zero means
	// DefaultIdle.
	Idle time.Duration
	// Absolute is how long a session lives at most; zero means
	// DefaultAbsolute.
	Absolute time.Duration
	// CacheTTL is how long a looked-up session is trusted without asking
	// the store again; zero means DefaultCacheTTL, a negative value turns
	// the cache off, and values above MaxCacheTTL are lowered to it.
	CacheTTL time.Duration
	// TouchEvery is how often a session's last-seen time and idle expiry
	// are written; zero means DefaultTouchEvery.
	TouchEvery time.Duration
	// CacheSize bounds the cache; zero means DefaultCacheSize.
	CacheSize int
	// Logger receives warnings; nil discards them.
	Logger *slog.Logger
}

// StartParams describes the sign-in a session is started for.
type StartParams struct {
	UserID       string   // required
	OrgID        string   // the org the sign-in belonged to, if any
	ConnectionID string   // the upstream connection, "" for a password
	IdentityID   string   // the linked identity used, if any
	AMR          []string // how the person authenticated (RFC 8176 values)
	IP           string
	UserAgent    string
}

// Manager starts, finds and ends browser sessions. It is safe for
// concurrent use; the only state it keeps is a cache that any replica may
// drop at any time.
type Manager struct {
	store      store.Store
	now        func() time.Time
	rand       io.Reader
	idle       time.Duration
	absolute   time.Duration
	cacheTTL   time.Duration
	touchEvery time.Duration
	cacheSize  int
	log        *slog.Logger

	mu sync.Mutex // guards the fields below
	// cache maps SHA-256(session id) to the session as last read.
	cache map[[sha256.Size]byte]*entry
	// gen counts forgets: a lookup that raced one does not cache its answer,
	// so a session revoked here is never cached again by a lookup that read
	// it just before the revocation.
	gen uint64
}

type entry struct {
	s       store.Session
	fetched time.Time
}

// New returns a Manager. It panics when Store is missing: that is a wiring
// mistake, not a run-time condition.
func New(cfg Config) *Manager {
	if cfg.Store == nil {
		panic("session: Config.Store is required")
	}
	m := &Manager{
		store: cfg.Store, now: cfg.Now, rand: cfg.Rand, idle: cfg.Idle, absolute: cfg.Absolute,
		cacheTTL: cfg.CacheTTL, touchEvery: cfg.TouchEvery, cacheSize: cfg.CacheSize, log: cfg.Logger,
		cache: map[[sha256.Size]byte]*entry{},
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.rand == nil {
		m.rand = rand.Reader
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.idle <= 0 {
		m.idle = DefaultIdle
	}
	if m.absolute <= 0 {
		m.absolute = DefaultAbsolute
	}
	switch {
	case m.cacheTTL == 0:
		m.cacheTTL = DefaultCacheTTL
	case m.cacheTTL < 0:
		m.cacheTTL = 0
	case m.cacheTTL > MaxCacheTTL:
		m.log.Warn("session cache TTL lowered: revocations must reach every replica within 5s",
			"configured", cfg.CacheTTL, "used", MaxCacheTTL)
		m.cacheTTL = MaxCacheTTL
	}
	if m.touchEvery <= 0 {
		m.touchEvery = DefaultTouchEvery
	}
	if m.cacheSize <= 0 {
		m.cacheSize = DefaultCacheSize
	}
	return m
}

// Start signs the browser in: it creates a session with a new random id
// through q (so the caller can make it part of the sign-in's transaction),
// revokes through q the session the request arrived with, if any, and sets
// the session cookie on w. Call it before writing anything else to w. If
// the caller's transaction then rolls back, the cookie names no session and
// the browser is simply signed out.
func (m *Manager) Start(ctx context.Context, q store.Queries, w http.ResponseWriter, r *http.Request, p StartParams) (store.Session, error) {
	if p.UserID == "" {
		return store.Session{}, errors.New("session: start: no user")
	}
	var raw [idBytes]byte
	if _, err := io.ReadFull(m.rand, raw[:]); err != nil {
		return store.Session{}, fmt.Errorf("session: read random: %w", err)
	}
	id := base64.RawURLEncoding.EncodeToString(raw[:])
	now := m.now().UTC().Truncate(time.Millisecond) // the store's precision

	if old, ok := cookieKey(r); ok {
		if err := q.RevokeSession(ctx, old[:], now); err != nil && !errors.Is(err, store.ErrNotFound) {
			return store.Session{}, fmt.Errorf("session: revoke the previous session: %w", err)
		}
		m.forget(func(k [sha256.Size]byte, _ *entry) bool { return k == old })
	}

	s := store.Session{
		IDHash:            store.HashToken(id),
		UserID:            p.UserID,
		OrgID:             p.OrgID,
		ConnectionID:      p.ConnectionID,
		IdentityID:        p.IdentityID,
		CreatedAt:         now,
		LastSeenAt:        now,
		IdleExpiresAt:     now.Add(min(m.idle, m.absolute)),
		AbsoluteExpiresAt: now.Add(m.absolute),
		IP:                p.IP,
		UserAgent:         p.UserAgent,
	}
	if len(p.AMR) > 0 {
		s.AMR = slices.Clone(p.AMR)
	}
	if err := q.CreateSession(ctx, &s); err != nil {
		return store.Session{}, fmt.Errorf("session: start: %w", err)
	}
	http.SetCookie(w, m.cookie(id, int(m.absolute/time.Second)))
	return s, nil
}

// Current returns the live session the request's cookie names, or
// [ErrNoSession]. Other errors mean the store failed. The returned record is
// shared with the cache: do not modify its slices.
func (m *Manager) Current(r *http.Request) (store.Session, error) {
	key, ok := cookieKey(r)
	if !ok {
		return store.Session{}, ErrNoSession
	}
	now := m.now()

	m.mu.Lock()
	gen := m.gen
	if e := m.cache[key]; e != nil {
		if now.Sub(e.fetched) < m.cacheTTL && live(&e.s, now) {
			s, touch := m.claimTouch(e, now)
			m.mu.Unlock()
			if touch {
				return m.touch(r.Context(), key, s, now)
			}
			return s, nil
		}
		delete(m.cache, key)
	}
	m.mu.Unlock()

	s, err := m.store.GetSession(r.Context(), key[:], now)
	if errors.Is(err, store.ErrNotFound) {
		return store.Session{}, ErrNoSession
	}
	if err != nil {
		return store.Session{}, fmt.Errorf("session: look up: %w", err)
	}
	e := &entry{s: s, fetched: now}
	m.mu.Lock()
	s, touch := m.claimTouch(e, now)
	if m.cacheTTL > 0 && m.gen == gen {
		m.put(key, e, now)
	}
	m.mu.Unlock()
	if touch {
		return m.touch(r.Context(), key, s, now)
	}
	return s, nil
}

// End signs the browser out: it revokes the session, forgets it on this
// process at once, and clears the cookie, even when the store fails.
func (m *Manager) End(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	http.SetCookie(w, m.cookie("", -1))
	key, ok := cookieKey(r)
	if !ok {
		return nil
	}
	err := m.store.RevokeSession(ctx, key[:], m.now())
	m.forget(func(k [sha256.Size]byte, _ *entry) bool { return k == key })
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("session: end: %w", err)
	}
	return nil
}

// RevokeUser revokes every session of a user (account disabled, password
// changed) and forgets them on this process at once; other replicas see it
// within CacheTTL. It returns how many sessions were live.
func (m *Manager) RevokeUser(ctx context.Context, userID string) (int, error) {
	n, err := m.store.RevokeUserSessions(ctx, userID, m.now())
	m.forget(func(_ [sha256.Size]byte, e *entry) bool { return e.s.UserID == userID })
	if err != nil {
		return 0, fmt.Errorf("session: revoke user: %w", err)
	}
	return n, nil
}

// claimTouch reports whether the session is due a touch and, if so, marks
// it touched in e so concurrent requests don't write too. m.mu is held.
func (m *Manager) claimTouch(e *entry, now time.Time) (store.Session, bool) {
	if now.Sub(e.s.LastSeenAt) < m.touchEvery {
		return e.s, false
	}
	e.s.LastSeenAt = now
	e.s.IdleExpiresAt = now.Add(m.idle)
	if e.s.IdleExpiresAt.After(e.s.AbsoluteExpiresAt) {
		e.s.IdleExpiresAt = e.s.AbsoluteExpiresAt
	}
	return e.s, true
}

// touch writes the slid idle expiry. A session the store no longer finds
// live was revoked or expired elsewhere; any other failure costs only the
// slide, so the request goes on.
func (m *Manager) touch(ctx context.Context, key [sha256.Size]byte, s store.Session, now time.Time) (store.Session, error) {
	err := m.store.TouchSession(ctx, key[:], now, s.IdleExpiresAt)
	if errors.Is(err, store.ErrNotFound) {
		m.forget(func(k [sha256.Size]byte, _ *entry) bool { return k == key })
		return store.Session{}, ErrNoSession
	}
	if err != nil {
		m.log.Warn("session: touch failed", "user_id", s.UserID, "error", err)
	}
	return s, nil
}

// put caches e, making room when the cache is full: first by dropping
// stale entries, then arbitrary ones. m.mu is held.
func (m *Manager) put(key [sha256.Size]byte, e *entry, now time.Time) {
	if _, ok := m.cache[key]; !ok && len(m.cache) >= m.cacheSize {
		for k, old := range m.cache {
			if now.Sub(old.fetched) >= m.cacheTTL {
				delete(m.cache, k)
			}
		}
		for k := range m.cache {
			if len(m.cache) < m.cacheSize {
				break
			}
			delete(m.cache, k)
		}
	}
	m.cache[key] = e
}

// forget drops the cached entries drop selects.
func (m *Manager) forget(drop func([sha256.Size]byte, *entry) bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gen++
	for k, e := range m.cache {
		if drop(k, e) {
			delete(m.cache, k)
		}
	}
}

func (m *Manager) cookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     CookieName,
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		Secure:   true,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	}
}

// live reports whether s may be used at now, by the record alone.
func live(s *store.Session, now time.Time) bool {
	return s.RevokedAt.IsZero() && now.Before(s.IdleExpiresAt) && now.Before(s.AbsoluteExpiresAt)
}

// cookieKey returns SHA-256 of the request's session id (the store key,
// as store.HashToken computes it) when the cookie holds one we could have
// made; anything else is no session, without asking the store.
func cookieKey(r *http.Request) ([sha256.Size]byte, bool) {
	c, err := r.Cookie(CookieName)
	if err != nil || !wellFormed(c.Value) {
		return [sha256.Size]byte{}, false
	}
	var buf [idLen]byte
	copy(buf[:], c.Value)
	return sha256.Sum256(buf[:]), true
}

// wellFormed reports whether s is 32 bytes in canonical unpadded base64url.
func wellFormed(s string) bool {
	if len(s) != idLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if b64val(s[i]) < 0 {
			return false
		}
	}
	// 43 characters carry 258 bits: the last two must be zero.
	return b64val(s[idLen-1])&3 == 0
}

func b64val(c byte) int {
	switch {
	case 'A' <= c && c <= 'Z':
		return int(c - 'A')
	case 'a' <= c && c <= 'z':
		return int(c-'a') + 26
	case '0' <= c && c <= '9':
		return int(c-'0') + 52
	case c == '-':
		return 62
	case c == '_':
		return 63
	}
	return -1
}
