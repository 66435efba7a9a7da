package sallyport

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/sallyport/sallyport/internal/browsertest"
	"github.com/sallyport/sallyport/internal/config"
	"github.com/sallyport/sallyport/internal/flow"
	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/session"
	"github.com/sallyport/sallyport/internal/testidp"
)

// These tests drive the sign-in pages in a real headless Chromium, for
// what an HTTP client with a cookie jar cannot show: that the browser keeps
// our __Host- cookies, follows the pages' links and forms, runs the
// re-post script, and applies SameSite=Lax to a POST from another site.
//
// Sallyport is served over plain http on 127.0.0.1: Chromium counts
// loopback as a secure context and keeps Secure and __Host- cookies there,
// so no certificate is needed. The upstream, testidp, is reached as
// http://localhost:PORT, another site than 127.0.0.1, so the trip to the
// upstream and back is cross-site, as with a real provider.

// browserHarness is a harness served as a browser sees it (see the top of
// this file), recording the POST callbacks Sallyport receives.
type browserHarness struct {
	*harness

	mu    sync.Mutex // guards posts
	posts []callbackPost
}

// callbackPost is what one POST /callback/{connection} brought.
type callbackPost struct {
	RawQuery   string // "repost=1" on the same-origin re-post
	FetchSite  string // Sec-Fetch-Site
	FlowCookie bool   // the browser sent __Host-sallyport_flow
}

// newBrowserHarness starts testidp on localhost and Sallyport over http on
// 127.0.0.1, with the "corp" connection of newHarness (which serves TLS and
// keeps testidp on 127.0.0.1, the same site). With formPost the
// upstream answers with response_mode=form_post (see
// TestBrowserCrossSiteFormPost).
func newBrowserHarness(t *testing.T, formPost bool) *browserHarness {
	t.Helper()
	idpLn := listenLoopback(t)
	upstream := idpLn // where the browser and Sallyport reach the upstream
	if formPost {
		upstream = listenLoopback(t)
	}
	idp, err := testidp.Start(testidp.Config{Listener: namedListener{idpLn, localhostAddr(upstream)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Close() })
	if formPost {
		front := &httptest.Server{Listener: namedListener{upstream, localhostAddr(upstream)},
			Config: &http.Server{Handler: formPostFront(idp, idpLn.Addr().String())}}
		front.Start()
		t.Cleanup(front.Close)
	}

	ln := listenLoopback(t)
	issuer := "http://" + ln.Addr().String()
	if err := idp.AddClient(testidp.Generic, testidp.Client{ID: corpClient, Secret: corpSecret,
		RedirectURIs: []string{issuer + "/callback/corp"}}); err != nil {
		t.Fatal(err)
	}
	settings := DefaultSettings()
	settings.Issuer = issuer
	settings.Database = "sqlite:" + filepath.Join(t.TempDir(), "sallyport.db")
	settings.EncryptionKey = randomKey(t)
	settings.InsecureAllowPrivateNetworks = true
	settings.Connections = []config.Connection{
		{Slug: "corp", Kind: config.KindOIDC, DisplayName: "Corp IdP", Issuer: idp.Issuer(testidp.Generic), ClientID: corpClient, ClientSecret: corpSecret},
		// A second way to sign in, so /login shows its chooser rather
		// than going straight to the only one.
		{Slug: "backup", Kind: config.KindOIDC, DisplayName: "Backup IdP", Issuer: idp.Issuer(testidp.Generic), ClientID: corpClient, ClientSecret: corpSecret},
	}
	clk := &clock{}
	logger := slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelError}))
	srv, err := New(context.Background(), Config{Settings: settings, Logger: logger, CleanupInterval: -1, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	bh := &browserHarness{}
	ts := &httptest.Server{Listener: ln, Config: &http.Server{Handler: bh.record(srv.Handler())}}
	ts.Start()
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	bh.harness = &harness{t: t, clock: clk, srv: srv, ts: ts, idp: idp}
	return bh
}

// testLog writes Sallyport's errors (a 500's cause) to the test log, shown
// when a test fails.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// record notes every POST callback before Sallyport handles it.
func (bh *browserHarness) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/callback/") {
			_, err := r.Cookie(flow.CookieName)
			p := callbackPost{RawQuery: r.URL.RawQuery, FetchSite: r.Header.Get("Sec-Fetch-Site"), FlowCookie: err == nil}
			bh.mu.Lock()
			bh.posts = append(bh.posts, p)
			bh.mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
}

func (bh *browserHarness) callbackPosts() []callbackPost {
	bh.mu.Lock()
	defer bh.mu.Unlock()
	return append([]callbackPost(nil), bh.posts...)
}

// formPostFront is the upstream's front door for TestBrowserCrossSiteFormPost:
// a reverse proxy to testidp (listening at idpAddr) that adds
// response_mode=form_post to the generic persona's authorization requests.
// Sallyport's oidc kind always asks for the query response mode (and
// refuses response_mode in auth_params), so without this testidp would
// redirect; with it, testidp answers as Sign in with Apple does: a page on
// the upstream's own site whose form posts code, state and iss to
// Sallyport's callback.
func formPostFront(idp *testidp.IdP, idpAddr string) http.Handler {
	authorize, _ := url.Parse(idp.Endpoints(testidp.Generic).Authorize)
	target := &url.URL{Scheme: "http", Host: idpAddr}
	return &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		if authorize != nil && pr.In.URL.Path == authorize.Path {
			q := pr.Out.URL.Query()
			q.Set("response_mode", "form_post")
			pr.Out.URL.RawQuery = q.Encode()
		}
	}}
}

func listenLoopback(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// namedListener is a listener that reports another address, so that
// testidp and httptest build their URLs from it.
type namedListener struct {
	net.Listener
	addr net.Addr
}

func (l namedListener) Addr() net.Addr { return l.addr }

// hostAddr is an address written with a host name.
type hostAddr string

func (a hostAddr) Network() string { return "tcp" }
func (a hostAddr) String() string  { return string(a) }

// localhostAddr is ln's loopback address written as localhost:PORT.
func localhostAddr(ln net.Listener) net.Addr {
	return hostAddr(net.JoinHostPort("localhost", strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)))
}

// continueWith is the /login button of a connection.
func continueWith(name string) string {
	return `//a[contains(normalize-space(.), "Continue with ` + name + `")]`
}

// A person signs in from /login, sees their account, and signs out; the
// browser keeps the session cookie with all its protections.
func TestBrowserSignIn(t *testing.T) {
	h := newBrowserHarness(t, false)
	h.user(testidp.Generic, testidp.User{Subject: "ann-1", Email: "Ann@Example.com", EmailVerified: true, Name: "Ann Lee"})
	b := browsertest.Start(t)

	b.Do("signing in", chromedp.Navigate(h.ts.URL+"/login"), chromedp.Click(continueWith("Corp IdP")))
	b.WaitFor("section.profile")
	if u := b.URL(); u.Path != "/account" {
		t.Errorf("signed in at %s, want /account", u)
	}
	if name := b.Text(".profile .name"); name != "Ann Lee" {
		t.Errorf("/account shows the name %q, want Ann Lee", name)
	}
	if email := b.Text(".profile .email"); !strings.HasPrefix(email, "ann@example.com") {
		t.Errorf("/account shows the email %q, want ann@example.com", email)
	}

	c := b.Cookies(h.ts.URL)[session.CookieName]
	switch {
	case c == nil:
		t.Fatalf("the browser has no %s cookie", session.CookieName)
	case !c.HTTPOnly || !c.Secure || c.SameSite != network.CookieSameSiteLax || c.Path != "/" || c.Domain != "127.0.0.1":
		t.Errorf("session cookie: HttpOnly %t, Secure %t, SameSite %q, Path %q, Domain %q; want HttpOnly, Secure, Lax, / and the host only",
			c.HTTPOnly, c.Secure, c.SameSite, c.Path, c.Domain)
	}

	b.Do("signing out", chromedp.Click(chromedp.CSS(`form[action="/logout"] button[type="submit"]`)))
	b.WaitFor(`.notice[role="status"]`)
	if u := b.URL(); u.Path != "/login" {
		t.Errorf("signed out at %s, want /login", u)
	}
	if s := b.Text(`.notice[role="status"]`); s != "You are signed out." {
		t.Errorf("notice %q", s)
	}
	if _, ok := b.Cookies(h.ts.URL)[session.CookieName]; ok {
		t.Error("the session cookie outlived sign-out")
	}

	b.Do("opening /account", chromedp.Navigate(h.ts.URL+"/account"))
	b.WaitFor("ul.providers")
	if u := b.URL(); u.Path != "/login" || u.Query().Get("return_to") != "/account" {
		t.Errorf("/account after sign-out ended at %s, want /login?return_to=/account", u)
	}
}

// A sign-in the upstream spoils ends on the outcome page: the person reads
// the outcome sentence, nothing of the error behind it, and "Start again"
// works.
func TestBrowserOutcomePage(t *testing.T) {
	h := newBrowserHarness(t, false)
	h.user(testidp.Generic, testidp.User{Subject: "ann-1", Email: "ann@example.com", EmailVerified: true, Name: "Ann Lee"})
	if err := h.idp.Misbehave(testidp.Generic, testidp.Misbehavior{BadSignature: true}); err != nil {
		t.Fatal(err)
	}
	b := browsertest.Start(t)

	b.Do("signing in", chromedp.Navigate(h.ts.URL+"/login"), chromedp.Click(continueWith("Corp IdP")))
	b.WaitFor("p.sentence")
	if u := b.URL(); u.Path != "/callback/corp" {
		t.Errorf("the outcome page is at %s, want /callback/corp", u)
	}
	want := outcome.IdentityInvalid.Sentence()
	if s := b.Text("p.sentence"); s != want {
		t.Errorf("the page says %q, want %q", s, want)
	}

	// The reason Sallyport refused is in the audit log, for the operator;
	// neither it nor any Go error text is on the page.
	ev := h.lastAudit("login.callback")
	var detail struct{ Reason string }
	if err := json.Unmarshal(ev.Detail, &detail); err != nil || detail.Reason == "" {
		t.Fatalf("audit detail %s (%v), want the reason", ev.Detail, err)
	}
	page := b.HTML()
	for _, leak := range []string{detail.Reason, "oidc:", "upstream:", "jose", "goroutine", "panic", ".go:", "%!"} {
		if strings.Contains(page, leak) {
			t.Errorf("the outcome page shows %q", leak)
		}
	}
	if !strings.Contains(page, string(outcome.IdentityInvalid)) {
		t.Errorf("the outcome page does not give the code %s to quote", outcome.IdentityInvalid)
	}

	if err := h.idp.Misbehave(testidp.Generic, testidp.Misbehavior{}); err != nil {
		t.Fatal(err)
	}
	b.Do("starting again", chromedp.Click(`//a[normalize-space(.)="Start again"]`))
	b.WaitFor("ul.providers")
	if u := b.URL(); u.Path != "/login" {
		t.Errorf("Start again led to %s, want /login", u)
	}
	b.Do("signing in again", chromedp.Click(continueWith("Corp IdP")))
	b.WaitFor("section.profile")
}

// A callback POSTed from another site (Sign in with Apple's form_post) is
// finished by the same-origin re-post, in a real browser, with the flow
// cookie still SameSite=Lax.
//
// The browser starts the flow on 127.0.0.1, which sets the Lax flow cookie,
// and goes to the upstream on localhost, another site. Sallyport's oidc
// kind cannot ask testidp's generic persona for form_post itself (the
// response mode is Sallyport's to set, and its oidc kind uses the query),
// so the upstream is reached through formPostFront, which asks for it: the
// upstream then answers as Apple does, with a page on its own site that
// auto-submits code, state and iss to /callback/corp. That POST is
// cross-site, so the browser leaves the Lax cookie out; Sallyport answers
// with the re-post page, whose script posts the same fields from
// 127.0.0.1, with the cookie, and the person lands signed in.
func TestBrowserCrossSiteFormPost(t *testing.T) {
	h := newBrowserHarness(t, true)
	h.user(testidp.Generic, testidp.User{Subject: "ann-1", Email: "ann@example.com", EmailVerified: true, Name: "Ann Lee"})
	b := browsertest.Start(t)

	b.Do("signing in", chromedp.Navigate(h.ts.URL+"/login"), chromedp.Click(continueWith("Corp IdP")))
	b.WaitFor("section.profile")
	if u := b.URL(); u.Path != "/account" {
		t.Errorf("signed in at %s, want /account", u)
	}
	if name := b.Text(".profile .name"); name != "Ann Lee" {
		t.Errorf("/account shows %q, want Ann Lee", name)
	}

	posts := h.callbackPosts()
	if len(posts) != 2 {
		t.Fatalf("%d POST callbacks, want the cross-site one and the re-post: %+v", len(posts), posts)
	}
	if p := posts[0]; p.RawQuery != "" || p.FetchSite != "cross-site" || p.FlowCookie {
		t.Errorf("first POST %+v; want it cross-site, without the flow cookie", p)
	}
	if p := posts[1]; p.RawQuery != "repost=1" || p.FetchSite != "same-origin" || !p.FlowCookie {
		t.Errorf("re-post %+v; want ?repost=1, same-origin, with the flow cookie", p)
	}
	if c := b.Cookies(h.ts.URL)[session.CookieName]; c == nil || c.SameSite != network.CookieSameSiteLax {
		t.Errorf("session cookie %+v, want SameSite=Lax", c)
	}
}
