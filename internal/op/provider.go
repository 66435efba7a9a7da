package op

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sallyport/sallyport/internal/audit"
	"github.com/sallyport/sallyport/internal/op/keys"
	"github.com/sallyport/sallyport/internal/ratelimit"
	"github.com/sallyport/sallyport/internal/session"
	"github.com/sallyport/sallyport/internal/store"
)

// Lifetimes of what the provider issues. Codes follow DESIGN.md §7; a
// pending request lives as long as a person may reasonably take to pick a
// provider and sign in there.
const (
	CodeTTL    = 60 * time.Second
	PendingTTL = 30 * time.Minute
)

// Paths the provider serves, relative to the issuer.
const (
	DiscoveryPath = "/.well-known/openid-configuration"
	JWKSPath      = "/oauth2/jwks"
	AuthorizePath = "/oauth2/authorize"
	ResumePath    = "/oauth2/authorize/resume"
	TokenPath     = "/oauth2/token"
	UserInfoPath  = "/oauth2/userinfo"
	RevokePath    = "/oauth2/revoke"
	LogoutPath    = "/oauth2/logout"
	ConsentPath   = "/consent"
)

// Upstream is what the provider needs from the sign-in service
// (internal/signin) to hand a pending request over to an upstream
// connection.
type Upstream interface {
	// BeginForRequest stores pending together with a new login flow
	// through the connection slug and returns the upstream URL to send the
	// browser to. The flow's callback completes pending (see
	// [Provider.Complete]). prompt is passed upstream ("login" to make the
	// upstream ask again).
	BeginForRequest(w http.ResponseWriter, r *http.Request, slug string, pending *store.AuthzRequest, loginHint, prompt string) (string, error)
	// ConnectionSlugs lists the active global connections a person can
	// choose on /login.
	ConnectionSlugs(ctx context.Context) ([]string, error)
}

// Pages renders the provider's browser-facing pages; the web server
// implements it. Errors become outcome pages; the consent page asks the
// person to let an app use their account.
type Pages interface {
	WriteError(w http.ResponseWriter, r *http.Request, err error)
	WriteConsent(w http.ResponseWriter, r *http.Request, clientName string, scopes []string, requestID string)
}

// Config configures a Provider. Every field but Limiter, Registry, Now,
// NewID and Logger is required.
type Config struct {
	Store    store.Store
	Keys     *keys.Manager
	Sessions *session.Manager
	Audit    *audit.Recorder
	Upstream Upstream
	Pages    Pages
	// Limiter limits token, revocation and userinfo requests per client
	// IP; nil means none (rate_limits.enabled: false).
	Limiter ratelimit.Limiter
	// Issuer is Sallyport's public base URL, byte for byte as apps see it.
	Issuer *url.URL
	// Registry receives the provider's metrics; nil skips them.
	Registry prometheus.Registerer
	Now      func() time.Time
	NewID    func() string
	Logger   *slog.Logger
}

// Provider is Sallyport's OpenID Provider for apps. See the package
// documentation for the flow it runs.
type Provider struct {
	store    store.Store
	keys     *keys.Manager
	sessions *session.Manager
	audit    *audit.Recorder
	upstream Upstream
	pages    Pages
	limiter  ratelimit.Limiter
	issuer   string // no trailing slash
	now      func() time.Time
	newID    func() string
	log      *slog.Logger

	discovery []byte                 // the discovery document, built once
	slugs     ttlCache[string]       // connection id → slug
	clients   ttlCache[store.Client] // client id → client

	// signing bounds concurrent ID-token signatures to all cores but one.
	// An RS256 signature is a millisecond of CPU; with every core signing,
	// a request holding SQLite's single writer waited behind them for the
	// CPU, and every other write waited behind it.
	signing chan struct{}

	tokens *prometheus.CounterVec
}

// New returns a Provider.
func New(cfg Config) (*Provider, error) {
	if cfg.Store == nil || cfg.Keys == nil || cfg.Sessions == nil || cfg.Audit == nil || cfg.Upstream == nil || cfg.Pages == nil || cfg.Issuer == nil {
		return nil, errors.New("op: Store, Keys, Sessions, Audit, Upstream, Pages and Issuer are required")
	}
	p := &Provider{
		store: cfg.Store, keys: cfg.Keys, sessions: cfg.Sessions, audit: cfg.Audit, upstream: cfg.Upstream,
		pages: cfg.Pages, limiter: cfg.Limiter, issuer: strings.TrimSuffix(cfg.Issuer.String(), "/"),
		now: cfg.Now, newID: cfg.NewID, log: cfg.Logger,
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.newID == nil {
		p.newID = func() string { return uuid.Must(uuid.NewV7()).String() }
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.slugs.ttl, p.clients.ttl = slugTTL, clientTTL
	p.signing = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)-1))
	var err error
	if p.discovery, err = discoveryDocument(p.issuer); err != nil {
		return nil, err
	}
	p.tokens = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sallyport_op_token_requests_total",
		Help: "Token endpoint requests by grant type and outcome.",
	}, []string{"grant_type", "outcome"})
	if cfg.Registry != nil {
		if err := cfg.Registry.Register(p.tokens); err != nil {
			return nil, fmt.Errorf("op: metrics: %w", err)
		}
	}
	return p, nil
}

// Mux is where the provider registers its routes; the web server
// implements it.
type Mux interface {
	HandleFunc(pattern string, f func(http.ResponseWriter, *http.Request))
	// AllowCrossOrigin exempts a pattern from cross-origin protection:
	// apps call the token, userinfo and revocation endpoints from their
	// own servers or origins, and post logout and authorization requests
	// from their own pages.
	AllowCrossOrigin(pattern string)
}

// Register adds the provider's routes (except the JWKS, see
// [JWKSHandler]) to mux.
func (p *Provider) Register(mux Mux) {
	mux.HandleFunc("GET "+DiscoveryPath, p.handleDiscovery)
	mux.HandleFunc("GET "+AuthorizePath, getOnly(p.handleAuthorize))
	mux.HandleFunc("POST "+AuthorizePath, p.handleAuthorize)
	mux.HandleFunc("GET "+ResumePath, getOnly(p.handleResume))
	mux.HandleFunc("GET "+ConsentPath, getOnly(p.handleConsentPage))
	mux.HandleFunc("POST "+ConsentPath, p.handleConsent)
	mux.HandleFunc("POST "+TokenPath, p.handleToken)
	mux.HandleFunc("OPTIONS "+TokenPath, handlePreflight)
	mux.HandleFunc("GET "+UserInfoPath, p.handleUserInfo)
	mux.HandleFunc("POST "+UserInfoPath, p.handleUserInfo)
	mux.HandleFunc("OPTIONS "+UserInfoPath, handlePreflight)
	mux.HandleFunc("POST "+RevokePath, p.handleRevoke)
	mux.HandleFunc("OPTIONS "+RevokePath, handlePreflight)
	mux.HandleFunc("GET "+LogoutPath, getOnly(p.handleLogout))
	mux.HandleFunc("POST "+LogoutPath, p.handleLogout)
	for _, pattern := range []string{"POST " + AuthorizePath, "POST " + TokenPath, "POST " + UserInfoPath, "POST " + RevokePath, "POST " + LogoutPath} {
		mux.AllowCrossOrigin(pattern)
	}
}

// getOnly answers 405 to HEAD on a GET route whose handler has effects
// (ServeMux routes HEAD to GET patterns).
func getOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h(w, r)
	}
}

// handlePreflight answers CORS preflights for the endpoints browser apps
// (public clients) call directly. They authenticate with a bearer token or
// a client credential, never a cookie, so any origin may call them.
func handlePreflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "GET, POST")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// limit applies the per-IP limit for one endpoint.
func (p *Provider) limit(ctx context.Context, what string, r *http.Request) error {
	if p.limiter == nil {
		return nil
	}
	d, err := p.limiter.Allow(ctx, what+":ip:"+p.audit.ClientIP(r))
	if err != nil {
		return err
	}
	return ratelimit.Refuse(d)
}

// randomToken returns 32 random bytes, base64url: codes, tokens and
// pending request ids.
func randomToken() string {
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// nowMS is the provider's clock at the store's precision.
func (p *Provider) nowMS() time.Time { return p.now().UTC().Truncate(time.Millisecond) }
