// Package netguard builds the HTTP client for every URL that an admin or a
// user supplied: discovery documents, JWKS, handles, DID documents and PDS
// endpoints (DESIGN.md §7, "Abuse"). Such a URL must not turn Sallyport into
// a proxy toward its own network, so the client refuses loopback, private,
// link-local and other special-purpose addresses, and ports other than 80
// and 443, when it dials: the check sees the address actually connected to,
// after DNS resolution and after every redirect, so neither DNS rebinding
// nor a redirect can slip past it. Every response body is capped and every
// request has a deadline.
package netguard

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// Defaults of [Config].
const (
	DefaultTimeout      = 10 * time.Second
	DefaultMaxBodyBytes = 1 << 20
	DefaultUserAgent    = "Sallyport"
)

// maxRedirects is how many redirects one request may follow.
const maxRedirects = 5

// Errors a caller can branch on with errors.Is; the client wraps them with
// what was refused.
var (
	// ErrBlockedAddress means the client refused to connect to an address
	// (a special-purpose IP, a port other than 80 and 443, or a network
	// other than TCP).
	ErrBlockedAddress = errors.New("netguard: blocked address")
	// ErrBodyTooLarge means a response body was longer than the cap, as
	// declared by its Content-Length or found while reading it.
	ErrBodyTooLarge = errors.New("netguard: response body too large")
	// ErrRedirect means a redirect was refused: too many of them, or one
	// from https down to http.
	ErrRedirect = errors.New("netguard: redirect refused")
)

// Config configures the client [New] returns.
type Config struct {
	// InsecureAllowPrivateNetworks turns the address and port checks off,
	// so the client reaches loopback and private addresses on any port.
	// Only tests and the demo set it; New logs a warning when it is on.
	InsecureAllowPrivateNetworks bool
	// Timeout bounds a whole request: dial, TLS, redirects and reading
	// the body. Zero means DefaultTimeout.
	Timeout time.Duration
	// MaxBodyBytes caps every response body. Zero means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// UserAgent is sent when a request sets none, such as "Sallyport/1.2.0".
	// Empty means DefaultUserAgent.
	UserAgent string
	// RootCAs replaces the system roots (tests trust an httptest server).
	RootCAs *x509.CertPool
	// Logger receives the warning about InsecureAllowPrivateNetworks.
	Logger *slog.Logger
}

// maxIdleConnsPerHost is how many idle connections to one upstream host
// the pool keeps: enough for a burst of concurrent callbacks to one
// provider to reuse its connections.
const maxIdleConnsPerHost = 64

// New returns the client for fetching admin- or user-supplied URLs. It
// dials only TCP to public addresses on ports 80 and 443 (unless
// InsecureAllowPrivateNetworks), ignores proxy environment variables,
// follows at most 5 redirects and never from https to http, fails reads
// past MaxBodyBytes with [ErrBodyTooLarge], and gives up after Timeout.
// Build one per process and share it: it keeps a connection pool.
func New(cfg Config) *http.Client {
	return newClient(cfg, nil)
}

// newClient is New with exempt, which lets tests reach one loopback server
// while everything else stays guarded.
func newClient(cfg Config, exempt func(netip.AddrPort) bool) *http.Client {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent
	}
	if cfg.InsecureAllowPrivateNetworks {
		log := cfg.Logger
		if log == nil {
			log = slog.New(slog.DiscardHandler)
		}
		log.Warn("netguard: InsecureAllowPrivateNetworks is on: fetches of configured URLs may reach loopback, private and link-local addresses on any port; use it only for tests and the demo")
	}
	g := &guard{insecure: cfg.InsecureAllowPrivateNetworks, exempt: exempt}
	dialer := &net.Dialer{
		Timeout:        cfg.Timeout,
		KeepAlive:      30 * time.Second,
		ControlContext: g.control,
	}
	transport := &http.Transport{
		Proxy:               nil, // a proxy would dial for us, out of the guard's sight
		DialContext:         dialer.DialContext,
		TLSClientConfig:     &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:   true,
		TLSHandshakeTimeout: cfg.Timeout,
		MaxIdleConns:        100,
		// Sign-ins reach one upstream token endpoint concurrently. With
		// net/http's default of 2 idle connections per host, every
		// callback past the second closed its connection afterwards and
		// the next one dialled (and, over HTTPS, shook hands) anew; under a
		// load of 32 concurrent sign-ins that was 2 % of Sallyport's CPU on
		// plain loopback HTTP alone.
		MaxIdleConnsPerHost:    maxIdleConnsPerHost,
		IdleConnTimeout:        90 * time.Second,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
	return &http.Client{
		Transport:     &capTransport{base: transport, max: cfg.MaxBodyBytes, userAgent: cfg.UserAgent},
		CheckRedirect: checkRedirect,
		Timeout:       cfg.Timeout,
	}
}

// checkRedirect allows at most maxRedirects redirects and none from https
// to http. The new address is checked by the dialer like the first one.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > maxRedirects {
		return fmt.Errorf("%w: more than %d redirects", ErrRedirect, maxRedirects)
	}
	if prev := via[len(via)-1]; prev.URL.Scheme == "https" && req.URL.Scheme != "https" {
		return fmt.Errorf("%w: from https to %s", ErrRedirect, req.URL.Scheme)
	}
	return nil
}

// guard decides which connections the dialer may open.
type guard struct {
	insecure bool
	exempt   func(netip.AddrPort) bool // tests only
}

// control runs after the socket is created and before it connects, once
// for every address the dialer tries, so a refusal sends no packet.
func (g *guard) control(_ context.Context, network, address string, _ syscall.RawConn) error {
	if network != "tcp4" && network != "tcp6" {
		return fmt.Errorf("%w: network %s", ErrBlockedAddress, network)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrBlockedAddress, address, err)
	}
	return g.check(ap)
}

// check refuses ap unless its address is public and its port is 80 or 443.
func (g *guard) check(ap netip.AddrPort) error {
	if g.insecure || (g.exempt != nil && g.exempt(ap)) {
		return nil
	}
	if why := classify(ap.Addr()); why != "" {
		return fmt.Errorf("%w: %s is %s", ErrBlockedAddress, ap, why)
	}
	if p := ap.Port(); p != 80 && p != 443 {
		return fmt.Errorf("%w: %s: only ports 80 and 443 are allowed", ErrBlockedAddress, ap)
	}
	return nil
}

// capTransport sets the User-Agent and caps response bodies.
type capTransport struct {
	base      http.RoundTripper
	max       int64
	userAgent string
}

// RoundTrip implements http.RoundTripper.
func (t *capTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("User-Agent") == "" {
		req = req.Clone(req.Context()) // a RoundTripper must not modify the caller's request
		req.Header.Set("User-Agent", t.userAgent)
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.ContentLength > t.max {
		resp.Body.Close()
		return nil, fmt.Errorf("%w: Content-Length %d is over %d bytes", ErrBodyTooLarge, resp.ContentLength, t.max)
	}
	resp.Body = &capBody{rc: resp.Body, max: t.max, left: t.max}
	return resp, nil
}

// capBody fails a read that would go past max bytes. It reads one byte
// more than it allows so that a body of exactly max bytes still succeeds.
type capBody struct {
	rc   io.ReadCloser
	max  int64
	left int64 // bytes still allowed; -1 once the cap was hit
}

func (b *capBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, b.tooLarge()
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	if int64(n) > b.left {
		n = int(b.left)
		b.left = -1
		return n, b.tooLarge()
	}
	b.left -= int64(n)
	return n, err
}

func (b *capBody) tooLarge() error {
	return fmt.Errorf("%w: over %d bytes", ErrBodyTooLarge, b.max)
}

func (b *capBody) Close() error { return b.rc.Close() }
