package demo

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sallyport/sallyport/internal/testidp"
)

// These tests click through the demo in a real headless Chromium, for what
// an HTTP client cannot show: that the pages' links and buttons work, that
// each page's Content-Security-Policy lets its forms lead where they must
// (a form whose answer redirects to another origin is checked against
// form-action), and that the cookies of three servers sharing 127.0.0.1
// do not get in each other's way.

// chromiumPath is Debian's Chromium, the browser CI installs.
const chromiumPath = "/usr/bin/chromium"

const (
	// browserTestTimeout bounds each browser test, Chromium's start included.
	browserTestTimeout = 60 * time.Second
	// browserStepTimeout bounds one wait for a page.
	browserStepTimeout = 20 * time.Second
)

// chromium is one headless Chromium, driven for one test.
type chromium struct {
	t   *testing.T
	ctx context.Context
}

// startChromium starts headless Chromium with a fresh profile. Without
// Chromium the test is skipped, except under CI=true, where it fails: CI
// must run these tests.
func startChromium(t *testing.T) *chromium {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI must run the browser tests: %v", err)
		}
		t.Skipf("no %s (apt-get install chromium); skipping the browser tests", chromiumPath)
	}
	profile := t.TempDir() // made first, so it is removed after Chromium exits
	ctx, cancel := context.WithTimeout(context.Background(), browserTestTimeout)
	t.Cleanup(cancel)
	// On a closed network, without the background-networking flags
	// Chromium keeps dialling Google's hosts.
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromiumPath),
		chromedp.UserDataDir(profile),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	t.Cleanup(cancelAlloc)
	ctx, cancelBrowser := chromedp.NewContext(ctx, chromedp.WithErrorf(t.Logf))
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return &chromium{t: t, ctx: ctx}
}

// do runs steps and fails the test, saying what it was doing, on an error.
func (c *chromium) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	if err := chromedp.Do(c.ctx, steps...); err != nil {
		c.t.Fatalf("%s: %v%s", what, err, c.whereIs())
	}
}

// waitFor waits until the CSS selector sel is visible.
func (c *chromium) waitFor(sel string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, browserStepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		c.t.Fatalf("waiting for %s: %v%s", sel, err, c.whereIs())
	}
}

// text is the visible text of the first element that matches sel.
func (c *chromium) text(sel string) string {
	c.t.Helper()
	s, err := chromedp.Run(c.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		c.t.Fatalf("reading %s: %v%s", sel, err, c.whereIs())
	}
	return strings.TrimSpace(s)
}

// location is the browser's current URL.
func (c *chromium) location() string {
	c.t.Helper()
	s, err := chromedp.Run(c.ctx, chromedp.Location())
	if err != nil {
		c.t.Fatalf("reading the location: %v", err)
	}
	return s
}

// whereIs says where the browser is and what it shows, for failures.
func (c *chromium) whereIs() string {
	ctx, cancel := context.WithTimeout(c.ctx, 5*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return ""
	}
	body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	if len(body) > 800 {
		body = body[:800] + "…"
	}
	return "\nthe browser is at " + loc + ", showing:\n" + body
}

// choosePerson is the demo identity provider's button for a person.
func choosePerson(subject string) chromedp.Action[chromedp.Void] {
	return chromedp.Click(chromedp.CSS(`button[name="subject"][value="` + subject + `"]`))
}

// The demo app signs in against an interactive provider in a browser: the
// person is picked on the provider's page, the chooser's form answer
// redirects to the app, and the app shows the claims.
func TestBrowserAppWithInteractiveProvider(t *testing.T) {
	idp, err := testidp.Start(testidp.Config{Interactive: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	appURL := "http://" + ln.Addr().String()
	if err := idp.AddClient(testidp.Generic, testidp.Client{ID: appTestClient, Secret: appTestSecret, RedirectURIs: []string{appURL + "/callback"}}); err != nil {
		t.Fatal(err)
	}
	if err := idp.AddUser(testidp.Generic, testidp.User{Subject: "grace", Name: "Grace Hopper", Email: "grace@example.com", EmailVerified: true}); err != nil {
		t.Fatal(err)
	}
	ts := &httptest.Server{Listener: ln, Config: &http.Server{Handler: newApp(appConfig{
		Issuer: idp.Issuer(testidp.Generic), ClientID: appTestClient, ClientSecret: appTestSecret, URL: appURL})}}
	ts.Start()
	t.Cleanup(ts.Close)

	b := startChromium(t)
	b.do("opening the app", chromedp.Navigate(appURL+"/"), chromedp.Click(chromedp.CSS(`a.button.primary[href="/login"]`)))
	b.waitFor(`button[name="subject"]`)
	b.do("picking Grace", choosePerson("grace"))
	b.waitFor("#id-token")
	if got := b.text(".who .name"); got != "Grace Hopper" {
		t.Errorf("signed in as %q, want Grace Hopper", got)
	}
	if got := b.text(`#id-token tr[data-claim="sub"] td`); got != "grace" {
		t.Errorf("sub %q, want grace", got)
	}
}

// A newcomer clicks through the whole demo: the app, Sallyport, the demo
// identity provider's page, back to the app's verified claims; refreshes;
// logs out and lands back in the app, signed out of it and of Sallyport.
func TestBrowserDemo(t *testing.T) {
	d := startDemo(t)
	b := startChromium(t)

	b.do("opening the demo app", chromedp.Navigate(d.AppURL()+"/"), chromedp.Click(chromedp.CSS(`a.button.primary[href="/login"]`)))
	// Sallyport may first show its own sign-in page, with the demo
	// identity provider as one way to sign in.
	b.waitFor(`button[name="subject"], ul.providers`)
	if strings.HasPrefix(b.location(), d.Issuer()+"/") {
		b.do("continuing with the demo identity provider",
			chromedp.Click(`//a[contains(normalize-space(.), "Continue with `+ConnectionName+`")]`))
		b.waitFor(`button[name="subject"]`)
	}
	if loc := b.location(); !strings.HasPrefix(loc, d.IdPURL()+"/") {
		t.Fatalf("the chooser is at %s, want the demo identity provider %s", loc, d.IdPURL())
	}
	b.do("picking Ada", choosePerson("ada"))
	b.waitFor("#id-token")
	if loc := b.location(); loc != d.AppURL()+"/" {
		t.Errorf("signed in at %s, want %s/", loc, d.AppURL())
	}
	for claim, want := range map[string]string{"iss": d.Issuer(), "email": "ada@acme.test", "name": "Ada Lovelace", "idp": ConnectionSlug} {
		if got := b.text(`#id-token tr[data-claim="` + claim + `"] td`); got != want {
			t.Errorf("ID token claim %s = %q, want %q", claim, got, want)
		}
	}
	sub := b.text(`#id-token tr[data-claim="sub"] td`)
	if got := b.text(`#userinfo tr[data-claim="sub"] td`); sub == "" || sub == "ada" || got != sub {
		t.Errorf("sub: ID token %q, userinfo %q; want Sallyport's user id in both", sub, got)
	}

	b.do("refreshing", chromedp.Click(chromedp.CSS(`form[action="/refresh"] button`)))
	b.waitFor(`.notice[role="status"]`)
	if got := b.text(`.notice[role="status"]`); !strings.HasPrefix(got, "Tokens refreshed") {
		t.Errorf("after refresh the notice says %q", got)
	}

	b.do("logging out", chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)))
	b.waitFor(`a.button.primary[href="/login"]`)
	if got := b.text(`.notice[role="status"]`); got != "You are signed out of the demo app and of Sallyport." {
		t.Errorf("after logout the notice says %q", got)
	}
	// Sallyport's session ended too: its account page sends the browser
	// to sign in again.
	b.do("opening Sallyport's account page", chromedp.Navigate(d.Issuer()+"/account"))
	b.waitFor(`button[name="subject"], ul.providers`)
	if loc := b.location(); strings.HasPrefix(loc, d.Issuer()+"/account") {
		t.Errorf("Sallyport still shows the account after logout")
	}
}

// For an app that is not first-party, Sallyport asks the person first:
// Allow on the consent page sends the code on to the app (a form answer
// that redirects to another origin, which the page's CSP must let
// through), and the next sign-in remembers the answer.
func TestBrowserConsent(t *testing.T) {
	d, err := Start(context.Background(), Config{SallyportAddr: "127.0.0.1:0", AppAddr: "127.0.0.1:0", IdPAddr: "127.0.0.1:0", AskConsent: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		d.Shutdown(ctx)
	})
	b := startChromium(t)
	b.do("opening the demo app", chromedp.Navigate(d.AppURL()+"/"), chromedp.Click(chromedp.CSS(`a.button.primary[href="/login"]`)))
	b.waitFor(`button[name="subject"]`)
	b.do("picking Ada", choosePerson("ada"))
	b.waitFor(`form[action="/consent"] button[value="allow"]`)
	if loc := b.location(); !strings.HasPrefix(loc, d.Issuer()+"/consent?") {
		t.Fatalf("the consent page is at %s", loc)
	}
	b.do("allowing the app", chromedp.Click(chromedp.CSS(`button[value="allow"]`)))
	b.waitFor("#id-token")
	if got := b.text(`#id-token tr[data-claim="email"] td`); got != "ada@acme.test" {
		t.Errorf("email claim = %q after consent", got)
	}
}
