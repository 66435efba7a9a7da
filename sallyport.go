// Package sallyport is the embeddable Sallyport server: a single-sign-on
// broker that signs people in through upstream identity providers and hands
// apps a verified user over OpenID Connect.
//
// The sallyport command is a thin wrapper around this package; a Go program
// can mount the same server in its own mux:
//
//	srv, err := sallyport.New(ctx, sallyport.Config{Settings: settings})
//	if err != nil { ... }
//	defer srv.Close()
//	mux.Handle("/", srv.Handler())
package sallyport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sallyport/sallyport/internal/audit"
	"github.com/sallyport/sallyport/internal/config"
	"github.com/sallyport/sallyport/internal/flow"
	"github.com/sallyport/sallyport/internal/netguard"
	"github.com/sallyport/sallyport/internal/op"
	"github.com/sallyport/sallyport/internal/op/clients"
	"github.com/sallyport/sallyport/internal/op/keys"
	"github.com/sallyport/sallyport/internal/ratelimit"
	"github.com/sallyport/sallyport/internal/secret"
	"github.com/sallyport/sallyport/internal/session"
	"github.com/sallyport/sallyport/internal/signin"
	"github.com/sallyport/sallyport/internal/store"
	"github.com/sallyport/sallyport/internal/store/sqlstore"
	"github.com/sallyport/sallyport/internal/telemetry"
	"github.com/sallyport/sallyport/internal/web"
)

// Settings is the content of Sallyport's configuration file (see the
// configuration reference in README.md).
type Settings = config.Config

// DefaultSettings returns settings that run on a laptop: 127.0.0.1:8080 and
// embedded SQLite under ./sallyport-data.
func DefaultSettings() *Settings { return config.Default() }

// LoadSettings reads a configuration file, expanding ${ENV} references from
// the process environment. The error lists every problem, each naming its
// field.
func LoadSettings(path string) (*Settings, error) {
	return config.Load(path, lookupEnv)
}

// lookupEnv resolves ${ENV} references in configuration files.
var lookupEnv = os.LookupEnv

// Config configures New.
type Config struct {
	// Settings is the configuration; nil means DefaultSettings.
	Settings *Settings
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// SkipMigrations leaves the schema alone at start. New then fails
	// unless the schema is already current (someone ran `sallyport migrate`).
	SkipMigrations bool
	// Now is the clock for flows, sessions, tokens and audit events; nil
	// means time.Now. Tests move it forward instead of sleeping.
	Now func() time.Time
	// CleanupInterval is how often expired flows, sessions, codes and
	// tokens are deleted; 0 means every minute, negative disables it.
	CleanupInterval time.Duration
}

// Server is a running Sallyport: the store, the key ring and the HTTP
// handler. It owns a background clean-up loop until Close.
type Server struct {
	settings    *Settings
	log         *slog.Logger
	now         func() time.Time
	db          *sqlstore.DB
	ring        *secret.KeyRing
	signingKeys *keys.Manager
	registry    *prometheus.Registry
	web         *web.Server

	stopCleanup context.CancelFunc
	cleanupDone chan struct{}
	closeOnce   sync.Once
	closeErr    error
}

// New opens the database, migrates it (unless told not to), loads the
// encryption key ring and builds the HTTP handler.
func New(ctx context.Context, cfg Config) (_ *Server, err error) {
	settings := cfg.Settings
	if settings == nil {
		settings = DefaultSettings()
	}
	settings.ApplyDefaults() // a Go caller may leave defaults unset, as a file may
	if problems := settings.Validate(); len(problems) > 0 {
		return nil, fmt.Errorf("sallyport: invalid settings:\n%w", problems)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	for _, w := range settings.Warnings() {
		log.Warn(w)
	}

	for i, c := range settings.Connections {
		if _, ok := providerKinds[c.Kind]; !ok {
			return nil, fmt.Errorf("sallyport: connections[%d].kind: %s sign-in is not available in this build yet", i, c.Kind)
		}
	}

	ring, err := secret.Load(settings.EncryptionKey, settings.DatabaseIsDefaultSQLite(), config.DefaultDataDir, log)
	if err != nil {
		return nil, fmt.Errorf("sallyport: %w", err)
	}

	db, err := sqlstore.Open(ctx, sqlstore.Config{URL: settings.Database, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("sallyport: %w", err)
	}
	defer func() {
		if err != nil { // every failure below leaves nothing open
			db.Close()
		}
	}()
	if cfg.SkipMigrations {
		current, err := db.SchemaCurrent(ctx)
		if err != nil || !current {
			return nil, errors.Join(errors.New("sallyport: the database schema is not current: run `sallyport migrate` or start without --no-migrate"), err)
		}
	} else if _, err := db.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("sallyport: %w", err)
	}

	issuer, err := url.Parse(settings.Issuer)
	if err != nil { // Validate already refused this; keep the check local anyway
		return nil, fmt.Errorf("sallyport: issuer: %w", err)
	}
	registry := telemetry.NewRegistry()
	recorder := audit.New(audit.Config{Now: now})
	signingKeys := keys.New(keys.Config{Store: db, Keys: ring, Audit: recorder, Now: now, Logger: log})
	if err := signingKeys.Ensure(ctx); err != nil {
		return nil, fmt.Errorf("sallyport: signing keys: %w", err)
	}
	if err := signin.SyncConfig(ctx, db, ring, recorder, settings.Connections, newID); err != nil {
		return nil, fmt.Errorf("sallyport: %w", err)
	}
	if err := clients.SyncConfig(ctx, db, recorder, settings.Clients, now()); err != nil {
		return nil, fmt.Errorf("sallyport: %w", err)
	}
	var limiter ratelimit.Limiter
	if settings.RateLimits.Enabled {
		perMinute := settings.RateLimits.PerIPPerMinute
		limiter = ratelimit.NewMemory(ratelimit.MemoryConfig{Rate: float64(perMinute), Burst: perMinute})
	}
	sessions := session.New(session.Config{Store: db, Now: now, Idle: time.Duration(settings.Sessions.Idle), Absolute: time.Duration(settings.Sessions.Absolute), Logger: log})
	svc, err := signin.New(signin.Config{
		Store:      db,
		Keys:       ring,
		Flows:      flow.New(flow.Config{Store: db, Keys: ring, Now: now, Logger: log}),
		Sessions:   sessions,
		Audit:      recorder,
		Limiter:    limiter,
		Kinds:      providerKinds,
		HTTPClient: netguard.New(netguard.Config{InsecureAllowPrivateNetworks: settings.InsecureAllowPrivateNetworks, Logger: log}),
		Issuer:     issuer,
		Registry:   registry,
		NewID:      newID,
		Now:        now,
		Logger:     log,
	})
	if err != nil {
		return nil, fmt.Errorf("sallyport: %w", err)
	}
	for _, c := range settings.Connections {
		log.Info("connection", "slug", c.Slug, "kind", c.Kind, "callback_url", svc.CallbackURL(c.Slug))
	}
	ws, err := web.New(web.Config{
		Issuer:   issuer,
		Logger:   log,
		Registry: registry,
		Ready:    db,
		SignIn:   svc,
	})
	if err != nil {
		return nil, fmt.Errorf("sallyport: %w", err)
	}

	ws.Handle("GET "+op.JWKSPath, op.JWKSHandler(signingKeys, log))
	provider, err := op.New(op.Config{
		Store:    db,
		Keys:     signingKeys,
		Sessions: sessions,
		Audit:    recorder,
		Upstream: svc,
		Pages:    ws,
		Limiter:  limiter,
		Issuer:   issuer,
		Registry: registry,
		Now:      now,
		NewID:    newID,
		Logger:   log,
	})
	if err != nil {
		return nil, fmt.Errorf("sallyport: %w", err)
	}
	provider.Register(ws)
	svc.UseAuthorizations(provider)

	s := &Server{settings: settings, log: log, now: now, db: db, ring: ring, signingKeys: signingKeys, registry: registry, web: ws}
	s.startCleanup(cfg.CleanupInterval)
	return s, nil
}

// startCleanup deletes expired rows on an interval. Every replica may run
// it: the deletes are idempotent.
func (s *Server) startCleanup(interval time.Duration) {
	s.cleanupDone = make(chan struct{})
	if interval < 0 {
		s.stopCleanup = func() {}
		close(s.cleanupDone)
		return
	}
	if interval == 0 {
		interval = time.Minute
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stopCleanup = cancel
	go func() {
		defer close(s.cleanupDone)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				n, err := s.db.DeleteExpired(ctx, s.now())
				switch {
				case err != nil && ctx.Err() == nil:
					s.log.Error("deleting expired rows failed", "err", err)
				case n > 0:
					s.log.Debug("deleted expired rows", "rows", n)
				}
				// Signing-key rotation moves on by itself: a published
				// next key becomes active after the delay, retired keys
				// leave the JWKS once nothing they signed is still valid.
				if err := s.signingKeys.Advance(ctx); err != nil && ctx.Err() == nil {
					s.log.Error("advancing signing-key rotation failed", "err", err)
				}
			}
		}
	}()
}

// Handler serves every Sallyport route.
func (s *Server) Handler() http.Handler { return s.web.Handler() }

// Settings returns the settings the server runs with.
func (s *Server) Settings() *Settings { return s.settings }

// store returns the persistence layer (for tests and, later, admin verbs).
func (s *Server) store() store.Store { return s.db }

// Close stops background work and closes the database. Call it after the
// HTTP server has finished its in-flight requests.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.stopCleanup()
		<-s.cleanupDone
		s.closeErr = s.db.Close()
	})
	return s.closeErr
}

// newID makes record ids: UUIDv7, so they sort by creation time.
func newID() string { return uuid.Must(uuid.NewV7()).String() }
