package testidp

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Persona names for the built-in personas. Extra generic personas get the
// name given to [IdP.AddGeneric].
const (
	Generic  = "generic"  // plain OIDC with RFC 9207 iss
	Entra    = "entra"    // Microsoft Entra ID v2.0, multi-tenant
	Google   = "google"   // Google OIDC: azp, hd, optional legacy issuer
	Apple    = "apple"    // Sign in with Apple: form_post, JWT client secrets
	GitHub   = "github"   // GitHub OAuth app: no ID token, REST API
	Facebook = "facebook" // Facebook Login: Graph API with appsecret_proof
	GitLab   = "gitlab"   // GitLab OIDC: numeric sub
)

// Endpoint names counted by [IdP.Requests].
const (
	EndpointDiscovery = "discovery"
	EndpointJWKS      = "jwks"
	EndpointAuthorize = "authorize"
	EndpointToken     = "token"
	EndpointUserinfo  = "userinfo" // also GitHub's /user and Facebook's /me
	EndpointEmails    = "emails"   // GitHub's /user/emails
)

// Signing algorithms a persona can sign ID tokens with.
const (
	RS256 = "RS256" // RSA 2048, the default
	ES256 = "ES256" // EC P-256
)

// Sentinel errors.
var (
	ErrUnknownPersona = errors.New("testidp: unknown persona")
	ErrUnknownUser    = errors.New("testidp: unknown user")
	ErrInvalid        = errors.New("testidp: invalid argument")
)

// Config configures [Start].
type Config struct {
	// Listener is where the IdP serves; nil listens on 127.0.0.1:0.
	Listener net.Listener
	// TLS serves https with a freshly made self-signed certificate for
	// 127.0.0.1, ::1 and localhost; [IdP.Client] trusts it.
	TLS bool
	// Now is the clock for token times and code expiry; nil is time.Now.
	Now func() time.Time
	// Logger receives one line per request at debug level; nil discards.
	Logger *slog.Logger
	// Interactive makes every persona show a chooser page instead of
	// approving at once (see [Options.Interactive]).
	Interactive bool
}

// Client is an OAuth client registered with a persona.
type Client struct {
	ID           string
	Secret       string
	RedirectURIs []string // exact match (GitHub: the path may be a subdirectory)
}

// User is a person known to a persona. Which fields a persona uses follows
// the provider it imitates; Claims are extra ID-token and userinfo claims
// (tid, oid, xms_edov, hd, groups…) merged over the ones built from the
// other fields.
type User struct {
	Subject       string // the persona's stable id (GitHub, GitLab: numeric)
	Email         string
	EmailVerified bool
	Name          string
	Picture       string
	Username      string // preferred_username, GitHub login, GitLab nickname
	Claims        map[string]any
	GitHubEmails  []GitHubEmail // GitHub /user/emails; empty: derived from Email
	TenantID      string        // Entra home tenant GUID; empty: EntraDefaultTenant
}

// GitHubEmail is one entry of GitHub's GET /user/emails.
type GitHubEmail struct {
	Email      string  `json:"email"`
	Primary    bool    `json:"primary"`
	Verified   bool    `json:"verified"`
	Visibility *string `json:"visibility"` // "public", "private" or null
}

// Options are per-persona behaviours real providers show, as opposed to
// [Misbehavior]. The zero value is each provider's usual behaviour.
type Options struct {
	// Interactive shows the chooser page instead of approving at once.
	Interactive bool
	// LegacyIssuer (Google) puts the issuer without its scheme in iss,
	// as Google's legacy "accounts.google.com" does.
	LegacyIssuer bool
	// BoolClaims (Apple) sends email_verified and is_private_email as
	// JSON booleans rather than the strings "true"/"false".
	BoolClaims bool
}

// Endpoints are a persona's URLs. Empty fields don't exist for it.
type Endpoints struct {
	Issuer    string // OIDC issuer; GitHub and Facebook: the persona's base URL
	Discovery string
	JWKS      string
	Authorize string
	Token     string
	UserInfo  string // GitHub: GET /user; Facebook: GET /me
	Emails    string // GitHub: GET /user/emails
	API       string // GitHub API base (like https://api.github.com); Facebook Graph base
}

// IdP is a running identity provider. Its methods are safe for concurrent
// use.
type IdP struct {
	now    func() time.Time
	log    *slog.Logger
	url    string
	srv    *http.Server
	ln     net.Listener
	client *http.Client
	mux    *http.ServeMux
	done   chan struct{}

	mu          sync.Mutex // guards the fields below
	interactive bool
	personas    map[string]*persona
	codes       map[string]*grant
	tokens      map[string]*grant
	pending     map[string]*pendingAuth
	counts      map[string]int
}

// Start starts an IdP with the built-in personas.
func Start(cfg Config) (*IdP, error) {
	ln := cfg.Listener
	if ln == nil {
		var err error
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("testidp: listen: %w", err)
		}
	}
	p := &IdP{
		now:         cfg.Now,
		log:         cfg.Logger,
		ln:          ln,
		mux:         http.NewServeMux(),
		done:        make(chan struct{}),
		interactive: cfg.Interactive,
		personas:    make(map[string]*persona),
		codes:       make(map[string]*grant),
		tokens:      make(map[string]*grant),
		pending:     make(map[string]*pendingAuth),
		counts:      make(map[string]int),
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	scheme := "http"
	p.client = &http.Client{Transport: &http.Transport{}}
	p.srv = &http.Server{Handler: p.mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(p.log.Handler(), slog.LevelDebug)}
	if cfg.TLS {
		cert, pool, err := selfSigned()
		if err != nil {
			ln.Close()
			return nil, err
		}
		p.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		p.client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
		scheme = "https"
	}
	p.url = scheme + "://" + hostPort(ln.Addr())
	for _, name := range []string{Generic, Entra, Google, Apple, GitHub, Facebook, GitLab} {
		k := map[string]kind{Generic: kindGeneric, Entra: kindEntra, Google: kindGoogle, Apple: kindApple,
			GitHub: kindGitHub, Facebook: kindFacebook, GitLab: kindGitLab}[name]
		if _, err := p.addPersona(name, k, false); err != nil {
			ln.Close()
			return nil, err
		}
	}
	go func() {
		defer close(p.done)
		var err error
		if cfg.TLS {
			err = p.srv.ServeTLS(ln, "", "")
		} else {
			err = p.srv.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			p.log.Error("testidp: serve", "err", err)
		}
	}()
	return p, nil
}

func hostPort(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok && ta.IP.IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", fmt.Sprint(ta.Port))
	}
	return a.String()
}

// selfSigned makes a P-256 certificate for the loopback names and a pool
// that trusts it, in the manner of httptest.NewTLSServer.
func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("testidp: tls key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("testidp: tls serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"Sallyport testidp"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("testidp: tls certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("testidp: tls certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}

// URL returns the server's base URL, like http://127.0.0.1:41234.
func (p *IdP) URL() string { return p.url }

// Client returns an HTTP client that trusts the server's certificate
// (a plain client when serving http). It follows redirects as
// http.Client does; set CheckRedirect on a copy to stop at them.
func (p *IdP) Client() *http.Client { return p.client }

// Close stops the server and waits for it.
func (p *IdP) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := p.srv.Shutdown(ctx)
	<-p.done
	if t, ok := p.client.Transport.(*http.Transport); ok {
		t.CloseIdleConnections()
	}
	return err
}

// EntraAuthority returns the Entra persona's authority base, the stand-in
// for https://login.microsoftonline.com: tenants live below it.
func (p *IdP) EntraAuthority() string { return p.url + "/" + Entra }

// Issuer returns a persona's issuer; for GitHub and Facebook, its base
// URL; for Entra, the issuer of EntraDefaultTenant. Empty for an unknown
// persona.
func (p *IdP) Issuer(persona string) string {
	return p.Endpoints(persona).Issuer
}

// Endpoints returns a persona's URLs; zero for an unknown persona. For
// Entra they are those of EntraDefaultTenant; use [IdP.EntraEndpoints]
// for another tenant.
func (p *IdP) Endpoints(persona string) Endpoints {
	p.mu.Lock()
	defer p.mu.Unlock()
	per := p.personas[persona]
	if per == nil {
		return Endpoints{}
	}
	if per.kind == kindEntra {
		return per.entraEndpoints(EntraDefaultTenant)
	}
	return per.endpoints()
}

// AddGeneric adds another generic OIDC persona under URL()+"/"+name; with
// trailingSlash its issuer ends in "/" (as Auth0's and Authentik's do). It
// returns the issuer.
func (p *IdP) AddGeneric(name string, trailingSlash bool) (string, error) {
	if name == "" || strings.ContainsAny(name, "/{}?#% ") {
		return "", fmt.Errorf("%w: persona name %q", ErrInvalid, name)
	}
	per, err := p.addPersona(name, kindGeneric, trailingSlash)
	if err != nil {
		return "", err
	}
	return per.issuer, nil
}

// AddClient registers a client with a persona. For Apple use
// [IdP.AddAppleClient].
func (p *IdP) AddClient(persona string, c Client) error {
	if c.ID == "" || len(c.RedirectURIs) == 0 {
		return fmt.Errorf("%w: a client needs an ID and redirect URIs", ErrInvalid)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	per := p.personas[persona]
	if per == nil {
		return fmt.Errorf("%w: %q", ErrUnknownPersona, persona)
	}
	if per.kind == kindApple {
		return fmt.Errorf("%w: Apple clients authenticate with a JWT; use AddAppleClient", ErrInvalid)
	}
	c.RedirectURIs = append([]string(nil), c.RedirectURIs...)
	per.clients[c.ID] = &registeredClient{Client: c}
	return nil
}

// AddUser adds or replaces (by Subject) a user of a persona. The first
// user added becomes the current user.
func (p *IdP) AddUser(persona string, u User) error {
	if u.Subject == "" {
		return fmt.Errorf("%w: a user needs a Subject", ErrInvalid)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	per := p.personas[persona]
	if per == nil {
		return fmt.Errorf("%w: %q", ErrUnknownPersona, persona)
	}
	if err := per.validUser(u); err != nil {
		return err
	}
	u.Claims = cloneClaims(u.Claims)
	u.GitHubEmails = append([]GitHubEmail(nil), u.GitHubEmails...)
	for i, old := range per.users {
		if old.Subject == u.Subject {
			per.users[i] = &u
			return nil
		}
	}
	per.users = append(per.users, &u)
	if per.current == "" {
		per.current = u.Subject
	}
	return nil
}

// SignInAs makes subject the user a persona approves without asking.
func (p *IdP) SignInAs(persona, subject string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	per := p.personas[persona]
	if per == nil {
		return fmt.Errorf("%w: %q", ErrUnknownPersona, persona)
	}
	if per.user(subject) == nil {
		return fmt.Errorf("%w: %q", ErrUnknownUser, subject)
	}
	per.current = subject
	return nil
}

// SetOptions sets a persona's [Options].
func (p *IdP) SetOptions(persona string, o Options) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	per := p.personas[persona]
	if per == nil {
		return fmt.Errorf("%w: %q", ErrUnknownPersona, persona)
	}
	per.opts = o
	return nil
}

// Misbehave makes a persona misbehave as m says; the zero Misbehavior
// restores correct behaviour.
func (p *IdP) Misbehave(persona string, m Misbehavior) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	per := p.personas[persona]
	if per == nil {
		return fmt.Errorf("%w: %q", ErrUnknownPersona, persona)
	}
	if m.UnknownKID != per.mis.UnknownKID {
		per.rogue = nil
	}
	per.mis = m
	return nil
}

// RotateKeys gives a persona a new current signing key of the same
// algorithm; the previous key stays published.
func (p *IdP) RotateKeys(persona string) error {
	return p.rotate(persona, "")
}

// UseAlg rotates a persona to a new current key for alg ([RS256] or
// [ES256]); the previous key stays published.
func (p *IdP) UseAlg(persona, alg string) error {
	if alg != RS256 && alg != ES256 {
		return fmt.Errorf("%w: algorithm %q", ErrInvalid, alg)
	}
	return p.rotate(persona, alg)
}

func (p *IdP) rotate(persona, alg string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	per := p.personas[persona]
	if per == nil {
		return fmt.Errorf("%w: %q", ErrUnknownPersona, persona)
	}
	if _, err := per.currentKey(); err != nil { // the key being replaced
		return err
	}
	if alg == "" {
		alg = per.alg
	}
	k, err := newSigningKey(alg)
	if err != nil {
		return err
	}
	per.alg = alg
	per.keys = append(per.keys, k)
	return nil
}

// Requests returns how many requests a persona's endpoint has answered
// (see the Endpoint constants).
func (p *IdP) Requests(persona, endpoint string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts[persona+" "+endpoint]
}

// random returns n random bytes, base64url-encoded.
func random(n int) string {
	b := make([]byte, n)
	if _, err := io.ReadFull(rand.Reader, b); err != nil {
		panic("testidp: crypto/rand: " + err.Error())
	}
	return b64(b)
}

func cloneClaims(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
