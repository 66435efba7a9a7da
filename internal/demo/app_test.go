package demo

import (
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/sallyport/sallyport/internal/testidp"
)

// These tests run the demo app against testidp's generic persona as its
// OpenID provider: the app is an ordinary relying party, so its sign-in,
// its checks and its refusals can be tested before and apart from
// Sallyport. The whole demo, through Sallyport, is in demo_test.go.

const (
	appTestClient = "demo-app"
	appTestSecret = "demo-app-secret"
)

// appHarness is the demo app with testidp as its provider.
type appHarness struct {
	t   *testing.T
	idp *testidp.IdP
	app *httptest.Server
}

func newAppHarness(t *testing.T) *appHarness {
	t.Helper()
	return newAppHarnessWith(t, testidp.Config{}, testidp.User{Subject: "ada", Name: "Ada Lovelace", Email: "ada@acme.test", EmailVerified: true})
}

// newAppHarnessWith starts the provider with cfg and the person u, and the
// demo app as its client.
func newAppHarnessWith(t *testing.T, cfg testidp.Config, u testidp.User) *appHarness {
	t.Helper()
	idp, err := testidp.Start(cfg)
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
	if err := idp.AddUser(testidp.Generic, u); err != nil {
		t.Fatal(err)
	}
	a := newApp(appConfig{Issuer: idp.Issuer(testidp.Generic), ClientID: appTestClient, ClientSecret: appTestSecret, URL: appURL})
	ts := &httptest.Server{Listener: ln, Config: &http.Server{Handler: a}}
	ts.Start()
	t.Cleanup(ts.Close)
	return &appHarness{t: t, idp: idp, app: ts}
}

// newBrowser is an HTTP client with its own cookie jar that follows
// redirects, as a browser does.
func newBrowser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar}
}

// page is an answer read whole.
type page struct {
	status int
	url    *url.URL
	body   string
}

func get(t *testing.T, c *http.Client, u string) page {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return read(t, resp)
}

func post(t *testing.T, c *http.Client, u string, form url.Values) page {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatalf("POST %s: %v", u, err)
	}
	return read(t, resp)
}

func read(t *testing.T, resp *http.Response) page {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return page{status: resp.StatusCode, url: resp.Request.URL, body: string(b)}
}

// claimRow is how the app shows one claim of a table.
func claimRow(name, value string) string {
	return `<tr data-claim="` + name + `"><th scope="row">` + name + `</th><td><code>` + value + `</code></td></tr>`
}

// The app signs in against a standard provider, shows the verified claims
// and userinfo, and a local logout (the provider has no
// end_session_endpoint) signs it out.
func TestAppSignInAgainstAProvider(t *testing.T) {
	h := newAppHarness(t)
	b := newBrowser(t)

	home := get(t, b, h.app.URL+"/")
	if home.status != http.StatusOK || !strings.Contains(home.body, `href="/login"`) || !strings.Contains(home.body, "Sign in with Sallyport") {
		t.Fatalf("signed-out home: %d\n%s", home.status, home.body)
	}

	signedIn := get(t, b, h.app.URL+"/login")
	if signedIn.status != http.StatusOK || signedIn.url.Path != "/" {
		t.Fatalf("sign-in ended at %s with %d:\n%s", signedIn.url, signedIn.status, signedIn.body)
	}
	for _, want := range []string{
		"Signed in as <span class=\"name\">Ada Lovelace</span>",
		claimRow("sub", "ada"),
		claimRow("email", "ada@acme.test"),
		claimRow("iss", h.idp.Issuer(testidp.Generic)),
		claimRow("aud", appTestClient),
		`<section id="userinfo"`,
	} {
		if !strings.Contains(signedIn.body, want) {
			t.Errorf("the signed-in page lacks %s:\n%s", want, signedIn.body)
		}
	}
	if n := strings.Count(signedIn.body, claimRow("sub", "ada")); n != 2 {
		t.Errorf("sub appears in %d tables, want 2 (ID token and userinfo)", n)
	}

	// This provider gives no refresh token: the app says so and stays
	// signed in.
	refreshed := post(t, b, h.app.URL+"/refresh", nil)
	if !strings.Contains(refreshed.body, "gave the demo app no refresh token") || !strings.Contains(refreshed.body, claimRow("sub", "ada")) {
		t.Errorf("refresh without a refresh token:\n%s", refreshed.body)
	}

	out := post(t, b, h.app.URL+"/logout", nil)
	if out.url.Path != "/" || !strings.Contains(out.body, "Sign in with Sallyport") || strings.Contains(out.body, "ada@acme.test") {
		t.Errorf("after logout at %s:\n%s", out.url, out.body)
	}
}

// The callback refuses what did not start in this browser, a state used
// once already, and a provider's error, each with a page that says to
// start again; none signs anyone in.
func TestAppCallbackRefusals(t *testing.T) {
	h := newAppHarness(t)
	noRedirect := func(c *http.Client) *http.Client {
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		return c
	}

	t.Run("no sign-in started", func(t *testing.T) {
		p := get(t, newBrowser(t), h.app.URL+"/callback?code=x&state=y")
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, "Start again") {
			t.Errorf("%d\n%s", p.status, p.body)
		}
	})

	t.Run("another state", func(t *testing.T) {
		b := noRedirect(newBrowser(t))
		resp, err := b.Get(h.app.URL + "/login")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		p := get(t, b, h.app.URL+"/callback?code=x&state=forged")
		if p.status != http.StatusBadRequest {
			t.Errorf("%d\n%s", p.status, p.body)
		}
	})

	t.Run("state replayed", func(t *testing.T) {
		b := noRedirect(newBrowser(t))
		// Follow the trip by hand to keep the callback URL.
		resp, err := b.Get(h.app.URL + "/login")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		resp, err = b.Get(resp.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		callback := resp.Header.Get("Location")
		if first := get(t, b, callback); first.status != http.StatusSeeOther {
			t.Fatalf("first callback: %d\n%s", first.status, first.body)
		}
		// A second browser holding the same callback URL, and the first
		// browser again: neither signs in.
		if p := get(t, newBrowser(t), callback); p.status != http.StatusBadRequest {
			t.Errorf("callback in another browser: %d", p.status)
		}
		if p := get(t, b, callback); p.status != http.StatusBadRequest {
			t.Errorf("callback replayed: %d", p.status)
		}
	})

	t.Run("provider error", func(t *testing.T) {
		if err := h.idp.Misbehave(testidp.Generic, testidp.Misbehavior{ErrorCallback: true}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.idp.Misbehave(testidp.Generic, testidp.Misbehavior{}) })
		p := get(t, newBrowser(t), h.app.URL+"/login")
		if !strings.Contains(p.body, "access_denied") || !strings.Contains(p.body, "Start again") || strings.Contains(p.body, "Signed in as") {
			t.Errorf("%d\n%s", p.status, p.body)
		}
	})
}

// An ID token that fails a check signs nobody in.
func TestAppRefusesBadIDTokens(t *testing.T) {
	for name, m := range map[string]testidp.Misbehavior{
		"bad signature":          {BadSignature: true},
		"wrong nonce":            {WrongNonce: true},
		"no nonce":               {DropNonce: true},
		"wrong audience":         {WrongAudience: true},
		"expired":                {Expired: true},
		"userinfo about another": {UserinfoSubjectMismatch: true},
	} {
		t.Run(name, func(t *testing.T) {
			h := newAppHarness(t)
			if err := h.idp.Misbehave(testidp.Generic, m); err != nil {
				t.Fatal(err)
			}
			p := get(t, newBrowser(t), h.app.URL+"/login")
			if p.status != http.StatusBadGateway || strings.Contains(p.body, "Signed in as") || !strings.Contains(p.body, "Start again") {
				t.Errorf("%d at %s\n%s", p.status, p.url, p.body)
			}
		})
	}
}

// A cross-site form post to the app's state-changing routes is refused.
func TestAppRefusesCrossSitePosts(t *testing.T) {
	h := newAppHarness(t)
	for _, path := range []string{"/refresh", "/logout"} {
		req, _ := http.NewRequest(http.MethodPost, h.app.URL+path, nil)
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site POST %s: %d, want 403", path, resp.StatusCode)
		}
	}
}
