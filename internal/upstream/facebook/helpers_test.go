package facebook

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
	clientID     = "fb-app-id"
	clientSecret = "fb-app-secret"
	redirectURI  = "https://sso.example.com/callback/facebook"
)

// startIdP starts testidp (https when tls) with our client and users.
func startIdP(t *testing.T, tls bool, users ...testidp.User) *testidp.IdP {
	t.Helper()
	idp, err := testidp.Start(testidp.Config{Now: clock, TLS: tls})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Close() })
	if err := idp.AddClient(testidp.Facebook, testidp.Client{ID: clientID, Secret: clientSecret, RedirectURIs: []string{redirectURI}}); err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if err := idp.AddUser(testidp.Facebook, u); err != nil {
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

// newProvider points a provider at testidp's Facebook persona: the dialog
// URL is overridden, the token and /me URLs are derived from GraphBaseURL
// and the default version (v19.0, as testidp serves); mod adjusts the
// config.
func newProvider(t *testing.T, idp *testidp.IdP, mod func(*Config)) (*Provider, *logBuffer) {
	t.Helper()
	e := idp.Endpoints(testidp.Facebook)
	logs := &logBuffer{}
	cfg := Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		AuthURL:      e.Authorize,
		GraphBaseURL: strings.TrimSuffix(e.API, "/"+DefaultGraphVersion),
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

// sent is one request a recorder saw.
type sent struct {
	path   string
	query  url.Values
	bearer string
}

// recorder is a transport that remembers the requests sent and runs
// after (if set) once a response has arrived.
type recorder struct {
	base  http.RoundTripper
	after func(req *http.Request)
	mu    sync.Mutex // guards reqs
	reqs  []sent
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	bearer, _ := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
	r.mu.Lock()
	r.reqs = append(r.reqs, sent{path: req.URL.Path, query: req.URL.Query(), bearer: bearer})
	r.mu.Unlock()
	resp, err := r.base.RoundTrip(req)
	if err == nil && r.after != nil {
		r.after(req)
	}
	return resp, err
}

func (r *recorder) seen() []sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sent(nil), r.reqs...)
}
