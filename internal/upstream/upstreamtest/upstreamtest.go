// Package upstreamtest is the scaffolding the tests of the upstream
// provider packages share: a running testidp, an HTTP client allowed to
// reach it on loopback, a browser that drives its authorize endpoint to
// the callback parameters, and checks on outcome refusals. Like
// net/http/httptest it is a normal package, imported only by tests.
package upstreamtest

import (
	"bytes"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/sallyport/sallyport/internal/netguard"
	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/testidp"
	"github.com/sallyport/sallyport/internal/upstream"
)

// Epoch is the instant the provider tests' clocks start at.
var Epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Clock is a clock a test moves; testidp and the provider share it.
type Clock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

// NewClock returns a Clock that reads t until it is advanced.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// NewIdP starts testidp with cfg and closes it when the test ends.
func NewIdP(t testing.TB, cfg testidp.Config) *testidp.IdP {
	t.Helper()
	idp, err := testidp.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Close() })
	return idp
}

// AddClient registers c with persona, then the users; the first user is
// the one who signs in.
func AddClient(t testing.TB, idp *testidp.IdP, persona string, c testidp.Client, users ...testidp.User) {
	t.Helper()
	Must(t, idp.AddClient(persona, c))
	AddUsers(t, idp, persona, users...)
}

// AddUsers adds users to persona.
func AddUsers(t testing.TB, idp *testidp.IdP, persona string, users ...testidp.User) {
	t.Helper()
	for _, u := range users {
		Must(t, idp.AddUser(persona, u))
	}
}

// Must fails the test at once when err is not nil.
func Must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// ClientConfig is the netguard configuration of [Client]: the insecure
// switch on, since testidp listens on loopback, and testidp's certificate
// trusted when it serves https.
func ClientConfig(idp *testidp.IdP) netguard.Config {
	var roots *x509.CertPool
	if tr, ok := idp.Client().Transport.(*http.Transport); ok && tr.TLSClientConfig != nil {
		roots = tr.TLSClientConfig.RootCAs
	}
	return netguard.Config{InsecureAllowPrivateNetworks: true, RootCAs: roots}
}

// Client returns a netguard client that can reach idp.
func Client(idp *testidp.IdP) *http.Client { return netguard.New(ClientConfig(idp)) }

// NoRedirects returns a copy of c that hands back redirects instead of
// following them, as a browser's first request to authorize looks.
func NoRedirects(c *http.Client) *http.Client {
	b := *c
	b.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &b
}

// Authorize plays the browser at an authorization URL: it GETs authURL
// with browser (testidp's [testidp.IdP.Client]) and returns the parameters
// the IdP sends back to authURL's redirect_uri, from the redirect's query
// or, when authURL asks for response_mode=form_post, from the
// self-submitting form.
func Authorize(t testing.TB, browser *http.Client, authURL string) url.Values {
	t.Helper()
	au, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	redirectURI := au.Query().Get("redirect_uri")
	formPost := au.Query().Get("response_mode") == "form_post"
	resp, err := NoRedirects(browser).Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	if formPost {
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			t.Fatalf("authorize answered %s, want the form_post page", resp.Status)
		}
		req, err := testidp.FormPostRequest(resp)
		if err != nil {
			t.Fatal(err)
		}
		if req.Method != http.MethodPost || req.URL.String() != redirectURI {
			t.Fatalf("the page posts %s %s, want POST %s", req.Method, req.URL, redirectURI)
		}
		if err := req.ParseForm(); err != nil {
			t.Fatal(err)
		}
		return req.PostForm
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize answered %s, want a redirect: %s", resp.Status, body)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if dest := (url.URL{Scheme: loc.Scheme, Host: loc.Host, Path: loc.Path}); loc.RawQuery == "" || dest.String() != redirectURI {
		t.Fatalf("redirected to %s, want %s", loc, redirectURI)
	}
	return loc.Query()
}

// Callback plays the browser through one OpenID Connect sign-in with
// PKCE: fresh random state, nonce and verifier, p's authorization URL for
// redirectURI, [Authorize], and a check that the state came back. It
// returns the callback the flow would hand to Exchange.
func Callback(t testing.TB, browser *http.Client, p upstream.Provider, redirectURI string) upstream.Callback {
	t.Helper()
	state, nonce, verifier := oauth2.GenerateVerifier(), oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
	u, err := p.AuthCodeURL(t.Context(), upstream.AuthRequest{
		State: state, Nonce: nonce, CodeChallenge: oauth2.S256ChallengeFromVerifier(verifier), RedirectURI: redirectURI,
	})
	if err != nil {
		t.Fatalf("AuthCodeURL: %v", err)
	}
	params := Authorize(t, browser, u)
	if got := params.Get("state"); got != state {
		t.Fatalf("state came back as %q, want %q", got, state)
	}
	return upstream.Callback{Params: params, Nonce: nonce, CodeVerifier: verifier, RedirectURI: redirectURI}
}

// WantRefusal checks that err is an outcome error with code whose cause
// wraps cause (when not nil).
func WantRefusal(t testing.TB, err error, code outcome.Code, cause error) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted; want %s (%v)", code, cause)
	}
	var oe *outcome.Error
	if !errors.As(err, &oe) {
		t.Fatalf("error %v (%T) carries no outcome; want %s", err, err, code)
	}
	if oe.Code != code {
		t.Errorf("outcome %s, want %s (error: %v)", oe.Code, code, err)
	}
	if cause != nil && !errors.Is(err, cause) {
		t.Errorf("cause %v; want it to wrap %q", err, cause)
	}
}

// LogBuffer collects a provider's log lines; it is safe for concurrent
// use.
type LogBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

// NewLogger returns a debug-level text logger writing into a new buffer.
func NewLogger() (*slog.Logger, *LogBuffer) {
	l := &LogBuffer{}
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug})), l
}

// Write appends b to the buffer.
func (l *LogBuffer) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(b)
}

// String returns everything logged so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
