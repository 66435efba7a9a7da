package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// Config configures [New].
type Config struct {
	// Issuer is Sallyport's issuer; its discovery document gives every
	// endpoint the browsers and the app use.
	Issuer string
	// ClientID and ClientSecret are the app's credentials at Sallyport
	// (client_secret_basic).
	ClientID, ClientSecret string
	// RedirectURI is the app's registered redirect URI.
	RedirectURI string
	// Connection is the upstream connection's slug, sent as
	// connection=<slug> so Sallyport skips its chooser.
	Connection string
	// Users is how many upstream users the sign-ins cycle through, sent as
	// login_hint ([UserHint]); 0 sends none, and the upstream signs in its
	// first user every time.
	Users int
	// Timeout bounds each HTTP request; 0 means 30 s.
	Timeout time.Duration
	// Now is the clock latencies and run lengths are measured with; nil
	// means time.Now.
	Now func() time.Time
}

// Loader drives sign-ins against one Sallyport.
type Loader struct {
	cfg         Config
	now         func() time.Time
	redirect    *url.URL
	authorize   string
	token       string
	issParam    bool // the server promises RFC 9207 iss on every response
	verifier    *oidc.IDTokenVerifier
	keysClient  *http.Client
	issuerHost  string // tells Sallyport's hops from the upstream's in error kinds
	stepTimeout time.Duration
	next        atomic.Int64 // the sign-in count across phases; picks each one's user
}

// New fetches Sallyport's discovery document and prepares the ID-token
// verifier, whose keys are fetched once, at the first sign-in, and kept.
func New(ctx context.Context, cfg Config) (*Loader, error) {
	if cfg.Issuer == "" || cfg.ClientID == "" || cfg.RedirectURI == "" || cfg.Connection == "" {
		return nil, errors.New("loadgen: the issuer, client id, redirect URI and connection are required")
	}
	redirect, err := url.Parse(cfg.RedirectURI)
	if err != nil || redirect.Host == "" {
		return nil, fmt.Errorf("loadgen: redirect URI %q is not an absolute URL", cfg.RedirectURI)
	}
	iss, err := url.Parse(cfg.Issuer)
	if err != nil || iss.Host == "" {
		return nil, fmt.Errorf("loadgen: issuer %q is not an absolute URL", cfg.Issuer)
	}
	l := &Loader{cfg: cfg, now: cfg.Now, redirect: redirect, issuerHost: iss.Host, stepTimeout: cfg.Timeout}
	if l.now == nil {
		l.now = time.Now
	}
	if l.stepTimeout == 0 {
		l.stepTimeout = 30 * time.Second
	}
	// The key set keeps this client for its later fetches; it is its own
	// so no browser's connections are shared with it.
	l.keysClient = &http.Client{Transport: newTransport(), Timeout: l.stepTimeout}
	provider, err := oidc.NewProvider(oidc.ClientContext(ctx, l.keysClient), cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("loadgen: discovery: %w", err)
	}
	var extra struct {
		IssParam bool `json:"authorization_response_iss_parameter_supported"`
	}
	if err := provider.Claims(&extra); err != nil {
		return nil, fmt.Errorf("loadgen: discovery: %w", err)
	}
	ep := provider.Endpoint()
	if ep.AuthURL == "" || ep.TokenURL == "" {
		return nil, errors.New("loadgen: discovery names no authorization or token endpoint")
	}
	l.authorize, l.token, l.issParam = ep.AuthURL, ep.TokenURL, extra.IssParam
	// The key set fetches with this context's client, not with the
	// browsers': the keys come once, as any app would keep them.
	l.verifier = provider.VerifierContext(oidc.ClientContext(ctx, l.keysClient), &oidc.Config{ClientID: cfg.ClientID, Now: l.now})
	return l, nil
}

// Close drops the connections the ID-token key fetches kept.
func (l *Loader) Close() { l.keysClient.CloseIdleConnections() }

// newTransport is one browser's (or the app's) connection pool: keep-alive
// on, a few idle connections per host, no proxy from the environment.
func newTransport() *http.Transport {
	return &http.Transport{
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   false,
	}
}

// isRedirectURI reports whether u is the redirect URI: scheme, host and path
// equal, the query (code, state, iss) aside.
func (l *Loader) isRedirectURI(u *url.URL) bool {
	return strings.EqualFold(u.Scheme, l.redirect.Scheme) && strings.EqualFold(u.Host, l.redirect.Host) && u.Path == l.redirect.Path
}
