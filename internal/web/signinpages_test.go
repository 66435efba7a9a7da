package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/net/html"

	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/store"
)

// fakeSignIn is a SignIn that answers what its fields say and records the
// calls it gets. Handlers run on the server's goroutines, hence the lock.
type fakeSignIn struct {
	mu sync.Mutex

	options     []LoginOption
	optionsErr  error
	beginURL    string
	beginErr    error
	callbackTo  string
	callbackApp *url.URL
	callbackErr error
	account     *Account // nil: signed out
	accountErr  error
	logoutErr   error

	begins    []beginCall
	callbacks []callbackCall
	logouts   int
}

type beginCall struct{ Connection, ReturnTo, RequestID string }

type callbackCall struct {
	Connection, Method string
	Form               url.Values // the query for GET, the body's fields for POST
}

func (f *fakeSignIn) LoginOptions(context.Context, string) ([]LoginOption, error) {
	return f.options, f.optionsErr
}

func (f *fakeSignIn) Begin(w http.ResponseWriter, r *http.Request, connection, returnTo, requestID string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.begins = append(f.begins, beginCall{connection, returnTo, requestID})
	return f.beginURL, f.beginErr
}

func (f *fakeSignIn) Callback(w http.ResponseWriter, r *http.Request, connection string) (Landing, error) {
	form := r.URL.Query()
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err != nil {
			return Landing{}, err
		}
		form = r.PostForm
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.callbacks = append(f.callbacks, callbackCall{connection, r.Method, form})
	return Landing{Path: f.callbackTo, App: f.callbackApp}, f.callbackErr
}

func (f *fakeSignIn) Account(*http.Request) (Account, error) {
	if f.accountErr != nil {
		return Account{}, f.accountErr
	}
	if f.account == nil {
		return Account{}, ErrSignedOut
	}
	return *f.account, nil
}

func (f *fakeSignIn) Logout(http.ResponseWriter, *http.Request) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logouts++
	return f.logoutErr
}

func (f *fakeSignIn) calls() ([]beginCall, []callbackCall, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.begins, f.callbacks, f.logouts
}

// newSignInFixture serves the pages over real HTTP with the issuer set to
// the test server's own origin, as in production, so that same-origin
// means what it does there. Its client does not follow redirects: the
// tests read each 303.
func newSignInFixture(t *testing.T, fake *fakeSignIn) *fixture {
	t.Helper()
	var srv *Server
	ready := make(chan struct{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-ready
		srv.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	hs.Client().CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	logs := &logBuffer{}
	reg := prometheus.NewRegistry()
	var err error
	srv, err = New(Config{
		Issuer:   mustURL(t, hs.URL),
		Logger:   slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Registry: reg,
		Ready:    alwaysReady,
		SignIn:   fake,
	})
	if err != nil {
		t.Fatal(err)
	}
	close(ready)
	return &fixture{srv: srv, http: hs, logs: logs, reg: reg}
}

var (
	goldenTime = time.Date(2026, 3, 14, 9, 26, 0, 0, time.UTC)

	someOptions = []LoginOption{
		{Slug: "google", Kind: "google", DisplayName: "Google"},
		{Slug: "github", Kind: "github", DisplayName: "GitHub"},
		{Slug: "apple", Kind: "apple", DisplayName: "Apple"},
		{Slug: "corp", Kind: "oidc", DisplayName: "Corp IdP"},
	}

	someAccount = &Account{
		User:       store.User{ID: "u1", Email: "ada@example.com", EmailVerified: true, Name: "Ada Lovelace"},
		SignedInAt: goldenTime,
		Via:        "Google",
		Identities: []LinkedIdentity{
			{ConnectionName: "Google", Kind: "google", Email: "ada@example.com", LinkedAt: goldenTime.Add(-90 * 24 * time.Hour), LastLoginAt: goldenTime},
			{ConnectionName: "GitHub", Kind: "github", Email: "ada@users.noreply.github.com", LinkedAt: goldenTime.Add(-30 * 24 * time.Hour)},
		},
	}

	// appleForm is what Apple's form_post sends; user is unsigned JSON
	// that anyone could fill with quotes and markup.
	appleForm = url.Values{
		"code":     {"c0de.abc"},
		"state":    {"st4te-xyz"},
		"id_token": {"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIwMDEifQ.c2ln"},
		"user":     {`{"name":{"firstName":"Zoë","lastName":"O'Brien \"><script>alert(1)</script>"},"email":"zoe@example.com"}`},
	}
)

func postForm(form url.Values, header http.Header) (io.Reader, http.Header) {
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	for k, v := range header {
		h[k] = v
	}
	return strings.NewReader(form.Encode()), h
}

func TestSignInRoutesNeedSignIn(t *testing.T) {
	f := newFixture(t, nil)
	for _, p := range []string{"/login", "/login/google", "/callback/google", "/account", "/logout"} {
		if resp, _ := f.get(t, p, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s without SignIn = %d, want 404", p, resp.StatusCode)
		}
	}
}

// TestLoginPageGolden pins every state of the chooser; refresh with
// go test ./internal/web -run Golden -update.
func TestLoginPageGolden(t *testing.T) {
	tests := []struct {
		file  string
		fake  *fakeSignIn
		query string
		want  []string
	}{
		{"login.html", &fakeSignIn{options: someOptions}, "", []string{"Continue with Google", `href="/login/corp"`}},
		{"login_empty.html", &fakeSignIn{}, "", []string{"No way to sign in is set up yet", "<code>connections:</code>"}},
		{"login_signed_out.html", &fakeSignIn{options: someOptions}, "?signed_out=1", []string{`role="status">You are signed out.`}},
		{"login_signed_in.html", &fakeSignIn{options: someOptions, account: someAccount}, "", []string{"<strong>Ada Lovelace</strong>", `href="/account"`}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f := newSignInFixture(t, tt.fake)
			resp, body := f.get(t, "/login"+tt.query, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET /login%s = %d\n%s", tt.query, resp.StatusCode, body)
			}
			checkPageHeaders(t, resp)
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("the page lacks %q", w)
				}
			}
			wantNotice := tt.query != ""
			if got := strings.Contains(body, "You are signed out"); got != wantNotice {
				t.Errorf("signed-out notice shown = %v, want %v", got, wantNotice)
			}
			golden(t, tt.file, []byte(body))
		})
	}
}

// checkPageHeaders checks what every sign-in page must send.
func checkPageHeaders(t *testing.T, resp *http.Response) {
	t.Helper()
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	if got := resp.Header.Get("Content-Type"); got != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q", got)
	}
}

// TestLoginEscapesAndCarriesReturnTo follows each button of the chooser:
// names are escaped, and a hostile return_to reaches Begin as the very
// string the browser sent, never as markup on the page.
func TestLoginEscapesAndCarriesReturnTo(t *testing.T) {
	const hostile = `"><script>alert(1)</script>//evil.example/?a=1&b=2`
	fake := &fakeSignIn{
		options: []LoginOption{
			{Slug: "google", Kind: "google", DisplayName: "Google"},
			{Slug: "corp idp", Kind: "oidc", DisplayName: `<b>Corp & "Co"</b>`},
			{Slug: "odd/slug?x", Kind: "", DisplayName: ""},
		},
		beginURL: "https://idp.example/authorize?x=1",
	}
	f := newSignInFixture(t, fake)

	_, body := f.get(t, "/login?"+url.Values{"return_to": {hostile}}.Encode(), nil)
	for _, raw := range []string{"<script>", "<b>Corp", `"Co"`} {
		if strings.Contains(body, raw) {
			t.Errorf("the page contains %q unescaped", raw)
		}
	}
	if !strings.Contains(body, "Continue with &lt;b&gt;Corp &amp; &#34;Co&#34;&lt;/b&gt;") {
		t.Errorf("the hostile display name is not shown escaped:\n%s", body)
	}
	doc := parseHTML(t, body)
	var hrefs []string
	for _, a := range findAll(doc, hasClass("a", "provider")) {
		hrefs = append(hrefs, attr(a, "href"))
	}
	rt := url.Values{"return_to": {hostile}}.Encode()
	want := []string{"/login/google?" + rt, "/login/corp%20idp?" + rt, "/login/odd%2Fslug%3Fx?" + rt}
	if diff := cmp.Diff(want, hrefs); diff != "" {
		t.Fatalf("button links (-want +got):\n%s", diff)
	}
	if !strings.Contains(body, "Continue with odd/slug?x") {
		t.Error("an option without a display name is not shown by its slug")
	}

	for _, h := range hrefs {
		resp, _ := f.get(t, h, nil)
		if resp.StatusCode != http.StatusSeeOther {
			t.Errorf("GET %s = %d, want 303", h, resp.StatusCode)
		}
	}
	begins, _, _ := fake.calls()
	wantBegins := []beginCall{{"google", hostile, ""}, {"corp idp", hostile, ""}, {"odd/slug?x", hostile, ""}}
	if diff := cmp.Diff(wantBegins, begins); diff != "" {
		t.Errorf("Begin calls (-want +got):\n%s", diff)
	}

	t.Run("no return_to", func(t *testing.T) {
		_, body := f.get(t, "/login", nil)
		if !strings.Contains(body, `href="/login/google"`) || strings.Contains(body, "return_to") {
			t.Errorf("links carry a return_to nobody asked for:\n%s", body)
		}
	})
}

func TestLoginOptionsError(t *testing.T) {
	f := newSignInFixture(t, &fakeSignIn{optionsErr: errors.New("db: connection refused")})
	resp, body := f.get(t, "/login", nil)
	if resp.StatusCode != http.StatusInternalServerError || strings.Contains(body, "refused") {
		t.Errorf("GET /login = %d\n%s", resp.StatusCode, body)
	}
}

func TestBegin(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		status     int
		code       outcome.Code
		retryAfter string
	}{
		{"redirects", nil, http.StatusSeeOther, "", ""},
		{"invalid_state", outcome.New(outcome.InvalidState, ""), http.StatusBadRequest, outcome.InvalidState, ""},
		{"not_found", outcome.New(outcome.NotFound, ""), http.StatusNotFound, outcome.NotFound, ""},
		{"rate_limited", rateLimited(1500 * time.Millisecond), http.StatusTooManyRequests, outcome.RateLimited, "2"},
		{"upstream unreachable", outcome.Wrap(outcome.CodeExchangeFailed, errors.New("dial tcp")), http.StatusBadGateway, outcome.CodeExchangeFailed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeSignIn{beginURL: "https://accounts.example/o/authorize?client_id=x&state=s", beginErr: tt.err}
			f := newSignInFixture(t, fake)
			resp, body := f.get(t, "/login/google?return_to=%2Fapps%2Fwiki", nil)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d\n%s", resp.StatusCode, tt.status, body)
			}
			if got := resp.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", got)
			}
			if got := resp.Header.Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tt.retryAfter)
			}
			if tt.err == nil {
				if got := resp.Header.Get("Location"); got != fake.beginURL {
					t.Errorf("Location = %q, want %q", got, fake.beginURL)
				}
			} else {
				if !strings.Contains(body, "<code>"+string(tt.code)+"</code>") || !strings.Contains(body, tt.code.Sentence()) {
					t.Errorf("not the %s outcome page:\n%s", tt.code, body)
				}
				if !strings.Contains(body, `href="/login"`) {
					t.Error("the outcome page does not lead back to /login")
				}
			}
			begins, _, _ := fake.calls()
			if diff := cmp.Diff([]beginCall{{"google", "/apps/wiki", ""}}, begins); diff != "" {
				t.Errorf("Begin calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCallbackGet(t *testing.T) {
	tests := []struct {
		name     string
		to       string
		err      error
		status   int
		location string
	}{
		{"signs in", "/apps/wiki?tab=1", nil, http.StatusSeeOther, "/apps/wiki?tab=1"},
		{"invalid_state", "", outcome.New(outcome.InvalidState, ""), http.StatusBadRequest, ""},
		{"not_allowed", "", outcome.New(outcome.NotAllowed, ""), http.StatusForbidden, ""},
		{"upstream error", "", outcome.New(outcome.UpstreamError, ""), http.StatusBadGateway, ""},
		// Whatever the service returns, the browser never leaves the site.
		{"scheme-relative path", "//evil.example/x", nil, http.StatusSeeOther, "/account"},
		{"backslash path", `/\evil.example`, nil, http.StatusSeeOther, "/account"},
		{"absolute URL", "https://evil.example/", nil, http.StatusSeeOther, "/account"},
		{"empty", "", nil, http.StatusSeeOther, "/account"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeSignIn{callbackTo: tt.to, callbackErr: tt.err}
			f := newSignInFixture(t, fake)
			resp, body := f.get(t, "/callback/google?code=abc&state=xyz", nil)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d\n%s", resp.StatusCode, tt.status, body)
			}
			if got := resp.Header.Get("Location"); got != tt.location {
				t.Errorf("Location = %q, want %q", got, tt.location)
			}
			_, calls, _ := fake.calls()
			want := []callbackCall{{"google", "GET", url.Values{"code": {"abc"}, "state": {"xyz"}}}}
			if diff := cmp.Diff(want, calls); diff != "" {
				t.Errorf("Callback calls (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCallbackPostCrossSite is Apple's form_post: the POST comes from
// another site without our cookies, so it gets the re-post page instead
// of Callback, and the page's form, posted from our origin, reaches
// Callback with exactly the fields Apple sent.
func TestCallbackPostCrossSite(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
	}{
		{"cross-site", http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://appleid.apple.com"}}},
		{"same-site, other origin", http.Header{"Sec-Fetch-Site": {"same-site"}}},
		{"old browser, foreign origin", http.Header{"Origin": {"https://appleid.apple.com"}}},
		{"old browser, null origin", http.Header{"Origin": {"null"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeSignIn{callbackTo: "/account"}
			f := newSignInFixture(t, fake)
			body1, h := postForm(appleForm, tt.header)
			resp, body := f.do(t, "POST", "/callback/apple", body1, h)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d, want 200\n%s", resp.StatusCode, body)
			}
			checkPageHeaders(t, resp)
			if _, calls, _ := fake.calls(); len(calls) != 0 {
				t.Fatalf("Callback ran for a cross-site POST: %+v", calls)
			}
			if strings.Contains(body, "<script>alert") || !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
				t.Errorf("the user field is not escaped:\n%s", body)
			}

			doc := parseHTML(t, body)
			scripts := findAll(doc, func(n *html.Node) bool { return n.Data == "script" })
			if len(scripts) != 1 || attr(scripts[0], "src") != "/static/repost.js" || scripts[0].FirstChild != nil {
				t.Errorf("want exactly one external script, /static/repost.js; got %d", len(scripts))
			}
			forms := findAll(doc, func(n *html.Node) bool { return n.Data == "form" })
			if len(forms) != 1 {
				t.Fatalf("%d forms, want 1", len(forms))
			}
			form := forms[0]
			if attr(form, "method") != "post" || attr(form, "action") != "/callback/apple?repost=1" {
				t.Errorf("form method=%q action=%q", attr(form, "method"), attr(form, "action"))
			}
			got := url.Values{}
			for _, in := range findAll(form, func(n *html.Node) bool { return n.Data == "input" }) {
				if attr(in, "type") != "hidden" {
					t.Errorf("input %q is not hidden", attr(in, "name"))
				}
				got.Add(attr(in, "name"), attr(in, "value"))
			}
			if diff := cmp.Diff(appleForm, got); diff != "" {
				t.Errorf("hidden fields (-sent +forwarded):\n%s", diff)
			}
			buttons := findAll(form, func(n *html.Node) bool { return n.Data == "button" })
			if len(buttons) != 1 || text(buttons[0]) != "Continue" {
				t.Error("the form has no Continue button for browsers without script")
			}

			// The browser submits the form from our own page.
			body2, h2 := postForm(got, http.Header{"Sec-Fetch-Site": {"same-origin"}})
			resp, _ = f.do(t, "POST", attr(form, "action"), body2, h2)
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account" {
				t.Errorf("re-post = %d to %q, want 303 to /account", resp.StatusCode, resp.Header.Get("Location"))
			}
			_, calls, _ := fake.calls()
			if diff := cmp.Diff([]callbackCall{{"apple", "POST", appleForm}}, calls); diff != "" {
				t.Errorf("Callback calls (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCallbackPostSameOrigin: a POST from our own origin, or from no
// browser at all, goes straight to Callback and never gets the re-post
// page, so the re-post cannot loop.
func TestCallbackPostSameOrigin(t *testing.T) {
	tests := []struct {
		name   string
		path   string
		header func(f *fixture) http.Header
	}{
		{"same-origin", "/callback/apple", func(*fixture) http.Header { return http.Header{"Sec-Fetch-Site": {"same-origin"}} }},
		{"typed by the person", "/callback/apple", func(*fixture) http.Header { return http.Header{"Sec-Fetch-Site": {"none"}} }},
		{"old browser, our origin", "/callback/apple", func(f *fixture) http.Header { return http.Header{"Origin": {f.http.URL}} }},
		{"not a browser", "/callback/apple", func(*fixture) http.Header { return nil }},
		{"old browser's re-post with null origin", "/callback/apple?repost=1", func(*fixture) http.Header { return http.Header{"Origin": {"null"}} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeSignIn{callbackTo: "/account"}
			f := newSignInFixture(t, fake)
			b, h := postForm(appleForm, tt.header(f))
			resp, body := f.do(t, "POST", tt.path, b, h)
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account" {
				t.Fatalf("got %d to %q, want 303 to /account\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
			}
			_, calls, _ := fake.calls()
			if diff := cmp.Diff([]callbackCall{{"apple", "POST", appleForm}}, calls); diff != "" {
				t.Errorf("Callback calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCallbackPostRefusals(t *testing.T) {
	many := func(n int) url.Values {
		v := url.Values{}
		for i := range n {
			v.Set(fmt.Sprintf("f%02d", i), "x")
		}
		return v
	}
	tests := []struct {
		name   string
		path   string
		form   url.Values
		header http.Header
		status int
		calls  int
	}{
		{"32 fields", "/callback/apple", many(32), http.Header{"Sec-Fetch-Site": {"same-origin"}}, http.StatusSeeOther, 1},
		{"33 fields", "/callback/apple", many(33), http.Header{"Sec-Fetch-Site": {"same-origin"}}, http.StatusBadRequest, 0},
		{"33 fields cross-site", "/callback/apple", many(33), http.Header{"Sec-Fetch-Site": {"cross-site"}}, http.StatusBadRequest, 0},
		// A browser that still says cross-site on the re-post was not sent
		// by our page; showing the page again could loop.
		{"re-post still cross-site", "/callback/apple?repost=1", appleForm, http.Header{"Sec-Fetch-Site": {"cross-site"}}, http.StatusBadRequest, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeSignIn{callbackTo: "/account"}
			f := newSignInFixture(t, fake)
			b, h := postForm(tt.form, tt.header)
			resp, body := f.do(t, "POST", tt.path, b, h)
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d, want %d\n%s", resp.StatusCode, tt.status, body)
			}
			if tt.status == http.StatusBadRequest && !strings.Contains(body, "<code>invalid_request</code>") {
				t.Errorf("not the invalid_request page:\n%s", body)
			}
			if _, calls, _ := fake.calls(); len(calls) != tt.calls {
				t.Errorf("Callback ran %d times, want %d", len(calls), tt.calls)
			}
		})
	}
	t.Run("body over the limit", func(t *testing.T) {
		fake := &fakeSignIn{}
		f := newSignInFixture(t, fake)
		b, h := postForm(url.Values{"user": {strings.Repeat("x", DefaultMaxBodyBytes)}}, http.Header{"Sec-Fetch-Site": {"cross-site"}})
		if resp, _ := f.do(t, "POST", "/callback/apple", b, h); resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("status = %d, want 413", resp.StatusCode)
		}
	})
}

// TestRepostPageGolden pins the re-post page; refresh with -update.
func TestRepostPageGolden(t *testing.T) {
	f := newSignInFixture(t, &fakeSignIn{})
	b, h := postForm(appleForm, http.Header{"Sec-Fetch-Site": {"cross-site"}})
	_, body := f.do(t, "POST", "/callback/apple", b, h)
	golden(t, "repost.html", []byte(body))
}

func TestRepostScript(t *testing.T) {
	f := newSignInFixture(t, &fakeSignIn{})
	resp, body := f.get(t, "/static/repost.js", nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Fatalf("GET /static/repost.js = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if !strings.Contains(body, `getElementById("repost")`) || strings.Contains(body, "http") {
		t.Errorf("unexpected script:\n%s", body)
	}
}

func TestAccount(t *testing.T) {
	t.Run("signed out", func(t *testing.T) {
		f := newSignInFixture(t, &fakeSignIn{})
		resp, _ := f.get(t, "/account", nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?return_to=%2Faccount" {
			t.Errorf("GET /account = %d to %q, want 303 to /login?return_to=%%2Faccount", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
	t.Run("lookup fails", func(t *testing.T) {
		f := newSignInFixture(t, &fakeSignIn{accountErr: errors.New("db down")})
		if resp, _ := f.get(t, "/account", nil); resp.StatusCode != http.StatusInternalServerError {
			t.Errorf("GET /account = %d, want 500", resp.StatusCode)
		}
	})
	t.Run("signed in", func(t *testing.T) {
		acct := *someAccount
		acct.User.Name = `Ada <i>"Countess"</i>`
		f := newSignInFixture(t, &fakeSignIn{account: &acct})
		resp, body := f.get(t, "/account", nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /account = %d\n%s", resp.StatusCode, body)
		}
		checkPageHeaders(t, resp)
		if strings.Contains(body, "<i>") {
			t.Error("the name is not escaped")
		}
		doc := parseHTML(t, body)
		var rows [][]string
		for _, tr := range findAll(doc, func(n *html.Node) bool { return n.Data == "tr" }) {
			var cells []string
			for c := tr.FirstChild; c != nil; c = c.NextSibling {
				if c.Type == html.ElementNode {
					cells = append(cells, text(c))
				}
			}
			rows = append(rows, cells)
		}
		want := [][]string{
			{"Provider", "Email", "Linked", "Last sign-in"},
			{"Google", "ada@example.com", "14 Dec 2025, 09:26 UTC", "14 Mar 2026, 09:26 UTC"},
			{"GitHub", "ada@users.noreply.github.com", "12 Feb 2026, 09:26 UTC", "Never"},
		}
		if diff := cmp.Diff(want, rows); diff != "" {
			t.Errorf("identities table (-want +got):\n%s", diff)
		}
		forms := findAll(doc, func(n *html.Node) bool { return n.Data == "form" })
		if len(forms) != 1 || attr(forms[0], "method") != "post" || attr(forms[0], "action") != "/logout" {
			t.Error("no sign-out form posting to /logout")
		}
	})
}

func TestAccountPageGolden(t *testing.T) {
	f := newSignInFixture(t, &fakeSignIn{account: someAccount})
	_, body := f.get(t, "/account", nil)
	golden(t, "account.html", []byte(body))
}

func TestLogout(t *testing.T) {
	t.Run("confirm page", func(t *testing.T) {
		fake := &fakeSignIn{account: someAccount}
		f := newSignInFixture(t, fake)
		resp, body := f.get(t, "/logout", nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /logout = %d", resp.StatusCode)
		}
		checkPageHeaders(t, resp)
		forms := findAll(parseHTML(t, body), func(n *html.Node) bool { return n.Data == "form" })
		if len(forms) != 1 || attr(forms[0], "method") != "post" || attr(forms[0], "action") != "/logout" {
			t.Error("no form posting to /logout")
		}
		if _, _, n := fake.calls(); n != 0 {
			t.Error("GET /logout signed out")
		}
		golden(t, "logout.html", []byte(body))
	})
	tests := []struct {
		name     string
		header   http.Header
		err      error
		status   int
		location string
		logouts  int
	}{
		{"same-origin", http.Header{"Sec-Fetch-Site": {"same-origin"}}, nil, http.StatusSeeOther, "/login?signed_out=1", 1},
		{"cross-site", http.Header{"Sec-Fetch-Site": {"cross-site"}}, nil, http.StatusForbidden, "", 0},
		{"foreign origin", http.Header{"Origin": {"https://evil.example"}}, nil, http.StatusForbidden, "", 0},
		{"logout fails", http.Header{"Sec-Fetch-Site": {"same-origin"}}, errors.New("db down"), http.StatusInternalServerError, "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeSignIn{account: someAccount, logoutErr: tt.err}
			f := newSignInFixture(t, fake)
			resp, body := f.do(t, "POST", "/logout", nil, tt.header)
			if resp.StatusCode != tt.status || resp.Header.Get("Location") != tt.location {
				t.Errorf("POST /logout = %d to %q, want %d to %q\n%s", resp.StatusCode, resp.Header.Get("Location"), tt.status, tt.location, body)
			}
			if _, _, n := fake.calls(); n != tt.logouts {
				t.Errorf("Logout ran %d times, want %d", n, tt.logouts)
			}
		})
	}
}

func parseHTML(t *testing.T, body string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// findAll returns the elements under n, in document order, that match.
func findAll(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for d := range n.Descendants() {
		if d.Type == html.ElementNode && match(d) {
			out = append(out, d)
		}
	}
	return out
}

func hasClass(tag, class string) func(*html.Node) bool {
	return func(n *html.Node) bool {
		return n.Data == tag && strings.Contains(" "+attr(n, "class")+" ", " "+class+" ")
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// text is the element's text with whitespace collapsed.
func text(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// With one way to sign in, /login has nothing to ask and goes straight to
// it, carrying return_to and an app's pending request; not right after
// signing out (it would sign the person straight back in), and not for a
// signed-in person who came to switch accounts.
func TestLoginWithOneOptionGoesStraightToIt(t *testing.T) {
	fake := &fakeSignIn{options: []LoginOption{{Slug: "corp", Kind: "oidc", DisplayName: "Corp IdP"}}}
	f := newSignInFixture(t, fake)
	resp, _ := f.get(t, "/login?return_to=%2Faccount&request=abc", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login/corp?request=abc&return_to=%2Faccount" {
		t.Errorf("GET /login = %d to %q, want 303 to /login/corp with return_to and request", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := f.get(t, "/login?signed_out=1", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /login?signed_out=1 = %d, want the page", resp.StatusCode)
	}
	fake.account = &Account{User: store.User{Name: "Ann"}}
	if resp, _ := f.get(t, "/login", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /login signed in = %d, want the page to switch accounts", resp.StatusCode)
	}
	if resp, _ := f.get(t, "/login?request=abc", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("GET /login?request= signed in = %d, want 303: the app's request needs a new sign-in", resp.StatusCode)
	}
}
