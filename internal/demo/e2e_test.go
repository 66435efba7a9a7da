package demo

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// These tests drive the whole demo with an HTTP client: the demo app,
// Sallyport's OpenID Provider and sign-in, and the demo identity
// provider's page, as a person clicking through would.

var (
	providerLink = regexp.MustCompile(`<a class="provider" href="([^"]+)">.*?<span>Continue with ` + ConnectionName + `</span>`)
	formAction   = regexp.MustCompile(`<form method="post" action="([^"]+)">`)
	hiddenField  = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	subClaim     = regexp.MustCompile(`<tr data-claim="sub"><th scope="row">sub</th><td><code>([^<]+)</code>`)
)

// signIn goes from the demo app's "Sign in with Sallyport" to the demo
// identity provider's page, through Sallyport's sign-in page if it shows
// one, and picks the person with subject there; it returns where the
// browser ends.
func signIn(t *testing.T, b *http.Client, d *Demo, subject string) page {
	t.Helper()
	p := get(t, b, d.AppURL()+"/login")
	if origin(p.url.String()) == d.Issuer() && p.url.Path == "/login" {
		m := providerLink.FindStringSubmatch(p.body)
		if m == nil {
			t.Fatalf("Sallyport's sign-in page at %s offers no %s:\n%s", p.url, ConnectionName, p.body)
		}
		p = get(t, b, resolve(t, p.url, html.UnescapeString(m[1])))
	}
	if !strings.HasPrefix(p.url.String(), d.IdPURL()) || !strings.Contains(p.body, "Choose who signs in") {
		t.Fatalf("expected the demo identity provider's page, got %d at %s:\n%s", p.status, p.url, p.body)
	}
	return pickPerson(t, b, p, subject)
}

// pickPerson presses a person's button on the demo identity provider's
// page.
func pickPerson(t *testing.T, b *http.Client, chooser page, subject string) page {
	t.Helper()
	m := formAction.FindStringSubmatch(chooser.body)
	if m == nil {
		t.Fatalf("the chooser has no form:\n%s", chooser.body)
	}
	form := url.Values{"subject": {subject}}
	for _, f := range hiddenField.FindAllStringSubmatch(chooser.body, -1) {
		form.Set(html.UnescapeString(f[1]), html.UnescapeString(f[2]))
	}
	if !strings.Contains(chooser.body, `name="subject" value="`+subject+`"`) {
		t.Fatalf("the chooser offers no %q:\n%s", subject, chooser.body)
	}
	return post(t, b, resolve(t, chooser.url, html.UnescapeString(m[1])), form)
}

func resolve(t *testing.T, base *url.URL, ref string) string {
	t.Helper()
	u, err := base.Parse(ref)
	if err != nil {
		t.Fatal(err)
	}
	return u.String()
}

// A newcomer's whole trip: the demo app sends them to Sallyport, Sallyport
// to the demo identity provider, where they pick Ada; back in the app the
// verified ID token names her with Sallyport's own subject and the demo
// connection; the tokens refresh (twice: the rotated refresh token is the
// one kept); logging out ends the Sallyport session too.
func TestDemoSignInRefreshLogout(t *testing.T) {
	d := startDemo(t)
	b := newBrowser(t)

	home := get(t, b, d.AppURL()+"/")
	if home.status != http.StatusOK || !strings.Contains(home.body, "Sign in with Sallyport") {
		t.Fatalf("the demo app's home: %d\n%s", home.status, home.body)
	}

	p := signIn(t, b, d, "ada")
	if p.status != http.StatusOK || origin(p.url.String()) != d.AppURL() || p.url.Path != "/" {
		t.Fatalf("sign-in ended with %d at %s:\n%s", p.status, p.url, p.body)
	}
	m := subClaim.FindStringSubmatch(p.body)
	if m == nil || m[1] == "ada" {
		t.Fatalf("the ID token's sub should be Sallyport's user id, not the upstream's subject; the page:\n%s", p.body)
	}
	sub := m[1]
	for _, want := range []string{
		`Signed in as <span class="name">Ada Lovelace</span>`,
		claimRow("iss", d.Issuer()),
		claimRow("aud", AppClientID),
		claimRow("email", "ada@acme.test"),
		claimRow("email_verified", "true"),
		claimRow("name", "Ada Lovelace"),
		claimRow("idp", ConnectionSlug),
		`<section id="userinfo"`,
		`Refresh tokens`,
		`held by the demo app`,
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the signed-in page lacks %s", want)
		}
	}
	if n := strings.Count(p.body, claimRow("sub", sub)); n != 2 {
		t.Errorf("sub %s appears in %d tables, want 2 (ID token and userinfo)", sub, n)
	}
	if t.Failed() {
		t.Fatalf("the signed-in page:\n%s", p.body)
	}

	for i := range 2 {
		r := post(t, b, d.AppURL()+"/refresh", nil)
		if !strings.Contains(r.body, "Tokens refreshed") || strings.Contains(r.body, "not yet</td>") || !strings.Contains(r.body, claimRow("sub", sub)) {
			t.Fatalf("refresh %d:\n%s", i+1, r.body)
		}
	}

	out := post(t, b, d.AppURL()+"/logout", nil)
	if origin(out.url.String()) != d.AppURL() || out.url.Path != "/" || !strings.Contains(out.body, "You are signed out of the demo app and of Sallyport.") {
		t.Fatalf("logout ended at %s:\n%s", out.url, out.body)
	}
	if strings.Contains(out.body, "ada@acme.test") {
		t.Error("the app still shows Ada after logout")
	}
	// Sallyport's session ended too: its account page sends the browser
	// to sign in again, which (with one connection) is the demo identity
	// provider's page.
	acct := get(t, b, d.Issuer()+"/account")
	if !strings.HasPrefix(acct.url.String(), d.IdPURL()+"/") || !strings.Contains(acct.body, "Choose who signs in") {
		t.Errorf("Sallyport's /account after logout ended at %s, want the demo identity provider's page:\n%s", acct.url, acct.body)
	}
}

// A person whose email the provider does not vouch for is refused by
// Sallyport with a page that says so, and the app signs nobody in.
func TestDemoRefusesUnverifiedEmail(t *testing.T) {
	d := startDemo(t)
	b := newBrowser(t)
	p := signIn(t, b, d, "alan")
	if p.status != http.StatusForbidden || origin(p.url.String()) != d.Issuer() {
		t.Fatalf("picking Alan ended with %d at %s:\n%s", p.status, p.url, p.body)
	}
	if home := get(t, b, d.AppURL()+"/"); strings.Contains(home.body, "Signed in as") {
		t.Errorf("the app signed someone in:\n%s", home.body)
	}
}
