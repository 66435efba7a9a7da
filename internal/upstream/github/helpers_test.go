package github

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/sallyport/sallyport/internal/testidp"
	"github.com/sallyport/sallyport/internal/upstream"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func clock() time.Time { return testNow }

const (
	clientID     = "gh-client"
	clientSecret = "gh-secret"
	redirectURI  = "https://sso.example.com/callback/github"
)

// startIdP starts testidp (https when tls) with our client and users.
func startIdP(t *testing.T, tls bool, users ...testidp.User) *testidp.IdP {
	t.Helper()
	idp, err := testidp.Start(testidp.Config{Now: clock, TLS: tls})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Close() })
	if err := idp.AddClient(testidp.GitHub, testidp.Client{ID: clientID, Secret: clientSecret, RedirectURIs: []string{redirectURI}}); err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if err := idp.AddUser(testidp.GitHub, u); err != nil {
			t.Fatal(err)
		}
	}
	return idp
}

// logBuffer collects a provider's log lines.
type logBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (l *logBuffer) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(b)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// newProvider points a github.com provider at testidp's GitHub persona;
// mod adjusts the config.
func newProvider(t *testing.T, idp *testidp.IdP, mod func(*Config)) (*Provider, *logBuffer) {
	t.Helper()
	e := idp.Endpoints(testidp.GitHub)
	logs := &logBuffer{}
	cfg := Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		AuthURL:      e.Authorize,
		TokenURL:     e.Token,
		APIBaseURL:   e.API,
		HTTPClient:   idp.Client(),
		Now:          clock,
		Logger:       slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if mod != nil {
		mod(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p, logs
}

// signIn runs the browser's part: it asks p for the authorization URL,
// lets testidp approve it, and returns the callback Sallyport would get.
func signIn(t *testing.T, idp *testidp.IdP, p *Provider) upstream.Callback {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	const state = "state-0123456789"
	u, err := p.AuthCodeURL(context.Background(), upstream.AuthRequest{
		State: state, CodeChallenge: oauth2.S256ChallengeFromVerifier(verifier), RedirectURI: redirectURI,
	})
	if err != nil {
		t.Fatal(err)
	}
	params := follow(t, idp, u)
	if got := params.Get("state"); got != state {
		t.Fatalf("callback state = %q, want %q", got, state)
	}
	return upstream.Callback{Params: params, CodeVerifier: verifier, RedirectURI: redirectURI}
}

// follow GETs an authorization URL and returns the parameters of the
// redirect to Sallyport's callback.
func follow(t *testing.T, idp *testidp.IdP, authURL string) url.Values {
	t.Helper()
	c := *idp.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize answered %s, want a redirect", resp.Status)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(loc.String(), redirectURI+"?") {
		t.Fatalf("redirected to %s, want %s", loc, redirectURI)
	}
	return loc.Query()
}

// recorder is a transport that remembers the bearer tokens sent.
type recorder struct {
	base http.RoundTripper
	mu   sync.Mutex // guards tokens
	// tokens are the access tokens seen in Authorization headers.
	tokens []string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if tok, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer "); ok {
		r.mu.Lock()
		r.tokens = append(r.tokens, tok)
		r.mu.Unlock()
	}
	return r.base.RoundTrip(req)
}

func (r *recorder) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.tokens...)
}

func ptr[T any](v T) *T { return &v }
