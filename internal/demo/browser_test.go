package demo

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sallyport/sallyport/internal/browsertest"
	"github.com/sallyport/sallyport/internal/testidp"
)

// These tests click through the demo in a real headless Chromium, for what
// an HTTP client cannot show: that the pages' links and buttons work, that
// each page's Content-Security-Policy lets its forms lead where they must
// (a form whose answer redirects to another origin is checked against
// form-action), and that the cookies of three servers sharing 127.0.0.1
// do not get in each other's way.

// choosePerson is the demo identity provider's button for a person.
func choosePerson(subject string) chromedp.Action[chromedp.Void] {
	return chromedp.Click(chromedp.CSS(`button[name="subject"][value="` + subject + `"]`))
}

// The demo app signs in against an interactive provider in a browser: the
// person is picked on the provider's page, the chooser's form answer
// redirects to the app, and the app shows the claims.
func TestBrowserAppWithInteractiveProvider(t *testing.T) {
	h := newAppHarnessWith(t, testidp.Config{Interactive: true}, testidp.User{Subject: "grace", Name: "Grace Hopper", Email: "grace@example.com", EmailVerified: true})

	b := browsertest.Start(t)
	b.Do("opening the app", chromedp.Navigate(h.app.URL+"/"), chromedp.Click(chromedp.CSS(`a.button.primary[href="/login"]`)))
	b.WaitFor(`button[name="subject"]`)
	b.Do("picking Grace", choosePerson("grace"))
	b.WaitFor("#id-token")
	if got := b.Text(".who .name"); got != "Grace Hopper" {
		t.Errorf("signed in as %q, want Grace Hopper", got)
	}
	if got := b.Text(`#id-token tr[data-claim="sub"] td`); got != "grace" {
		t.Errorf("sub %q, want grace", got)
	}
}

// A newcomer clicks through the whole demo: the app, Sallyport, the demo
// identity provider's page, back to the app's verified claims; refreshes;
// logs out and lands back in the app, signed out of it and of Sallyport.
func TestBrowserDemo(t *testing.T) {
	d := startDemo(t)
	b := browsertest.Start(t)

	b.Do("opening the demo app", chromedp.Navigate(d.AppURL()+"/"), chromedp.Click(chromedp.CSS(`a.button.primary[href="/login"]`)))
	// Sallyport may first show its own sign-in page, with the demo
	// identity provider as one way to sign in.
	b.WaitFor(`button[name="subject"], ul.providers`)
	if strings.HasPrefix(b.Location(), d.Issuer()+"/") {
		b.Do("continuing with the demo identity provider",
			chromedp.Click(`//a[contains(normalize-space(.), "Continue with `+ConnectionName+`")]`))
		b.WaitFor(`button[name="subject"]`)
	}
	if loc := b.Location(); !strings.HasPrefix(loc, d.IdPURL()+"/") {
		t.Fatalf("the chooser is at %s, want the demo identity provider %s", loc, d.IdPURL())
	}
	b.Do("picking Ada", choosePerson("ada"))
	b.WaitFor("#id-token")
	if loc := b.Location(); loc != d.AppURL()+"/" {
		t.Errorf("signed in at %s, want %s/", loc, d.AppURL())
	}
	for claim, want := range map[string]string{"iss": d.Issuer(), "email": "ada@acme.test", "name": "Ada Lovelace", "idp": ConnectionSlug} {
		if got := b.Text(`#id-token tr[data-claim="` + claim + `"] td`); got != want {
			t.Errorf("ID token claim %s = %q, want %q", claim, got, want)
		}
	}
	sub := b.Text(`#id-token tr[data-claim="sub"] td`)
	if got := b.Text(`#userinfo tr[data-claim="sub"] td`); sub == "" || sub == "ada" || got != sub {
		t.Errorf("sub: ID token %q, userinfo %q; want Sallyport's user id in both", sub, got)
	}

	b.Do("refreshing", chromedp.Click(chromedp.CSS(`form[action="/refresh"] button`)))
	b.WaitFor(`.notice[role="status"]`)
	if got := b.Text(`.notice[role="status"]`); !strings.HasPrefix(got, "Tokens refreshed") {
		t.Errorf("after refresh the notice says %q", got)
	}

	b.Do("logging out", chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)))
	b.WaitFor(`a.button.primary[href="/login"]`)
	if got := b.Text(`.notice[role="status"]`); got != "You are signed out of the demo app and of Sallyport." {
		t.Errorf("after logout the notice says %q", got)
	}
	// Sallyport's session ended too: its account page sends the browser
	// to sign in again.
	b.Do("opening Sallyport's account page", chromedp.Navigate(d.Issuer()+"/account"))
	b.WaitFor(`button[name="subject"], ul.providers`)
	if loc := b.Location(); strings.HasPrefix(loc, d.Issuer()+"/account") {
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
	b := browsertest.Start(t)
	b.Do("opening the demo app", chromedp.Navigate(d.AppURL()+"/"), chromedp.Click(chromedp.CSS(`a.button.primary[href="/login"]`)))
	b.WaitFor(`button[name="subject"]`)
	b.Do("picking Ada", choosePerson("ada"))
	b.WaitFor(`form[action="/consent"] button[value="allow"]`)
	if loc := b.Location(); !strings.HasPrefix(loc, d.Issuer()+"/consent?") {
		t.Fatalf("the consent page is at %s", loc)
	}
	b.Do("allowing the app", chromedp.Click(chromedp.CSS(`button[value="allow"]`)))
	b.WaitFor("#id-token")
	if got := b.Text(`#id-token tr[data-claim="email"] td`); got != "ada@acme.test" {
		t.Errorf("email claim = %q after consent", got)
	}
}
