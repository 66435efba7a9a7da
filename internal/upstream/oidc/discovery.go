package oidc

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Defaults of the caches.
const (
	DefaultDiscoveryTTL   = 24 * time.Hour
	DefaultDiscoveryRetry = time.Minute
	DefaultJWKSMinRefetch = 30 * time.Second
	DefaultJWKSRefresh    = time.Hour
)

// Discovery is the part of an OpenID Provider's metadata (OIDC Discovery
// §3) Sallyport uses. A value from [Discover] has been checked: the issuer
// is the configured one byte for byte and the endpoints Sallyport needs are
// absolute URLs.
type Discovery struct {
	Issuer                   string   `json:"issuer"`
	AuthorizationEndpoint    string   `json:"authorization_endpoint"`
	TokenEndpoint            string   `json:"token_endpoint"`
	UserinfoEndpoint         string   `json:"userinfo_endpoint,omitempty"`
	JWKSURI                  string   `json:"jwks_uri"`
	ResponseTypes            []string `json:"response_types_supported,omitempty"`
	ScopesSupported          []string `json:"scopes_supported,omitempty"`
	IDTokenSigningAlgs       []string `json:"id_token_signing_alg_values_supported,omitempty"`
	CodeChallengeMethods     []string `json:"code_challenge_methods_supported,omitempty"`
	TokenEndpointAuthMethods []string `json:"token_endpoint_auth_methods_supported,omitempty"`
	// IssParameterSupported is RFC 9207's
	// authorization_response_iss_parameter_supported: every callback must
	// then carry iss.
	IssParameterSupported bool `json:"authorization_response_iss_parameter_supported,omitempty"`
	// Raw is the whole document as fetched (nil for hand-made metadata),
	// for presets that read members not listed here.
	Raw json.RawMessage `json:"-"`
}

// DiscoveryURL is where issuer's metadata lives: the issuer with any
// trailing slash removed, then /.well-known/openid-configuration (OIDC
// Discovery §4; RFC 8414's path-inserting rule is a different thing).
func DiscoveryURL(issuer string) string {
	return strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
}

// Discover fetches and checks issuer's discovery document with client,
// which must be netguard's for an admin-supplied issuer. The document's
// issuer must equal issuer byte for byte ([ErrDiscoveryIssuer]); other
// failures wrap [ErrDiscovery].
func Discover(ctx context.Context, client *http.Client, issuer string) (Discovery, error) {
	if err := checkIssuerURL(issuer); err != nil {
		return Discovery{}, err
	}
	u := DiscoveryURL(issuer)
	body, err := getJSON(ctx, client, u, nil)
	if err != nil {
		return Discovery{}, fmt.Errorf("%w: %w", ErrDiscovery, err)
	}
	var d Discovery
	if err := json.Unmarshal(body, &d); err != nil {
		return Discovery{}, fmt.Errorf("%w: %s: %w", ErrDiscovery, u, err)
	}
	d.Raw = body
	if d.Issuer != issuer {
		return Discovery{}, fmt.Errorf("%w: the document at %s names issuer %q, but the configured issuer is %q; "+
			"they must match byte for byte (a trailing slash counts): configure the issuer exactly as the provider names it",
			ErrDiscoveryIssuer, u, d.Issuer, issuer)
	}
	if err := d.Check(); err != nil {
		return Discovery{}, err
	}
	return d, nil
}

// Check validates metadata, fetched or written by hand: the authorization,
// token and JWKS endpoints are required, every endpoint is an absolute
// http(s) URL without a fragment, https when the issuer is, and
// response_types_supported, when present, includes code.
func (d *Discovery) Check() error {
	if err := checkIssuerURL(d.Issuer); err != nil {
		return err
	}
	secure := strings.HasPrefix(d.Issuer, "https://")
	for _, e := range []struct {
		name, value string
		required    bool
	}{
		{"authorization_endpoint", d.AuthorizationEndpoint, true},
		{"token_endpoint", d.TokenEndpoint, true},
		{"jwks_uri", d.JWKSURI, true},
		{"userinfo_endpoint", d.UserinfoEndpoint, false},
	} {
		if e.value == "" {
			if e.required {
				return fmt.Errorf("%w: %s of %s is missing", ErrDiscovery, e.name, d.Issuer)
			}
			continue
		}
		u, err := url.Parse(e.value)
		switch {
		case err != nil || u.Host == "" || u.Fragment != "" || (u.Scheme != "https" && u.Scheme != "http"):
			return fmt.Errorf("%w: %s %q of %s is not an absolute http(s) URL", ErrDiscovery, e.name, e.value, d.Issuer)
		case secure && u.Scheme != "https":
			return fmt.Errorf("%w: %s %q of %s is not https, though the issuer is", ErrDiscovery, e.name, e.value, d.Issuer)
		}
	}
	if len(d.ResponseTypes) > 0 && !slices.Contains(d.ResponseTypes, "code") {
		return fmt.Errorf("%w: %s does not support response_type code (it lists %q)", ErrDiscovery, d.Issuer, d.ResponseTypes)
	}
	return nil
}

// checkIssuerURL: an issuer is an absolute http(s) URL with no query or
// fragment (OIDC Discovery §3). Whether plain http is acceptable (loopback
// only) is the configuration's decision.
func checkIssuerURL(issuer string) error {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.RawQuery != "" || u.Fragment != "" || strings.Contains(issuer, "#") {
		return fmt.Errorf("%w: issuer %q is not an absolute http(s) URL without query or fragment", ErrDiscovery, issuer)
	}
	return nil
}

// getJSON GETs u, asking for JSON with header added, and returns the body
// of a 200 answer. The media type is not checked: providers label JSON
// in many ways, and parsing decides.
func getJSON(ctx context.Context, client *http.Client, u string, header http.Header) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", u, err)
	}
	req.Header.Set("Accept", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err // *url.Error names the URL
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body) // netguard caps it
	if err != nil {
		return nil, fmt.Errorf("%s: read: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: status %d", u, resp.StatusCode)
	}
	return body, nil
}

// DiscoveryCacheConfig configures a [DiscoveryCache].
type DiscoveryCacheConfig struct {
	// Issuer is the configured issuer, byte-exact. Required.
	Issuer string
	// HTTPClient fetches the document: netguard's. Required.
	HTTPClient *http.Client
	// TTL is how long a document is used before it is fetched again;
	// zero means DefaultDiscoveryTTL.
	TTL time.Duration
	// RetryInterval is how long a failed refresh waits before the next
	// try, while the stale document is served; zero means
	// DefaultDiscoveryRetry.
	RetryInterval time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives refresh failures; nil discards them.
	Logger *slog.Logger
}

// DiscoveryCache keeps one issuer's discovery document. A document older
// than TTL is fetched again on the next Get (one fetch however many
// callers wait); when that fails the stale document is served and the
// failure logged, and the next try waits RetryInterval. Cache-Control is
// not honoured: providers send no-store or short lifetimes for documents
// that change a few times a year.
type DiscoveryCache struct {
	cfg   DiscoveryCacheConfig
	group singleflight.Group

	mu        sync.Mutex // guards the fields below
	doc       *Discovery
	fetched   time.Time // when doc was fetched
	attempted time.Time // the last fetch, successful or not
	lastErr   error
}

// NewDiscoveryCache returns an empty cache; the first Get fetches.
func NewDiscoveryCache(cfg DiscoveryCacheConfig) *DiscoveryCache {
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultDiscoveryTTL
	}
	if cfg.RetryInterval <= 0 {
		cfg.RetryInterval = DefaultDiscoveryRetry
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &DiscoveryCache{cfg: cfg}
}

// Get returns the current document, fetching it when there is none or it
// is older than TTL. The result is shared: callers must not modify it.
func (c *DiscoveryCache) Get(ctx context.Context) (*Discovery, error) {
	now := c.cfg.Now()
	c.mu.Lock()
	doc, fetched, attempted, lastErr := c.doc, c.fetched, c.attempted, c.lastErr
	c.mu.Unlock()
	if doc != nil && now.Sub(fetched) < c.cfg.TTL {
		return doc, nil
	}
	if lastErr != nil && now.Sub(attempted) < c.cfg.RetryInterval {
		if doc != nil {
			return doc, nil // stale, while the last refresh failure cools down
		}
		return nil, lastErr
	}
	ch := c.group.DoChan("discovery", func() (any, error) {
		return c.refresh(context.WithoutCancel(ctx))
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			if doc != nil {
				return doc, nil
			}
			return nil, r.Err
		}
		return r.Val.(*Discovery), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", ErrDiscovery, context.Cause(ctx))
	}
}

// refresh fetches the document unless another caller just did.
func (c *DiscoveryCache) refresh(ctx context.Context) (*Discovery, error) {
	now := c.cfg.Now()
	c.mu.Lock()
	if c.doc != nil && now.Sub(c.fetched) < c.cfg.TTL {
		doc := c.doc
		c.mu.Unlock()
		return doc, nil
	}
	c.attempted = now
	c.mu.Unlock()

	d, err := Discover(ctx, c.cfg.HTTPClient, c.cfg.Issuer)

	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.lastErr = err
		if c.doc != nil {
			c.cfg.Logger.Warn("oidc: discovery refresh failed; serving the cached document",
				"issuer", c.cfg.Issuer, "age", now.Sub(c.fetched).String(), "err", err.Error())
		}
		return nil, err
	}
	c.doc, c.fetched, c.lastErr = &d, c.cfg.Now(), nil
	return c.doc, nil
}
