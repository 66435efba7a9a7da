package sallyport

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/sallyport/sallyport/internal/config"
	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/signin"
	"github.com/sallyport/sallyport/internal/testidp"
	"github.com/sallyport/sallyport/internal/upstream"
	"github.com/sallyport/sallyport/internal/upstream/apple"
	"github.com/sallyport/sallyport/internal/upstream/microsoft"
)

// The presets' own tests cover each provider's rules against testidp; these
// drive them through Sallyport itself (flows, cookies, reconciliation,
// pages). The real providers' endpoints are fixed, so each test points its
// kind at testidp by swapping the constructor for the test's duration.

func withKind(t *testing.T, kind string, build signin.NewProvider) {
	t.Helper()
	old := providerKinds[kind]
	providerKinds[kind] = build
	t.Cleanup(func() { providerKinds[kind] = old })
}

const otherTenant = "0b9f8e7d-6c5b-4a39-8271-605f4e3d2c1b"

func TestEntraThroughSallyport(t *testing.T) {
	var authority string
	withKind(t, config.KindMicrosoft, func(ctx context.Context, p signin.ProviderParams) (upstream.Provider, error) {
		return microsoft.New(ctx, microsoft.Config{
			ClientID: p.Settings.ClientID, ClientSecret: p.Secret, Tenant: p.Settings.Tenant, AllowedTenants: p.Settings.AllowedTenants,
			Authority: authority, HTTPClient: p.HTTPClient, Now: p.Now, Logger: p.Logger,
		})
	})
	h := newHarness(t, "", func(s *Settings) {
		s.Connections = append(s.Connections, config.Connection{Slug: "entra", Kind: config.KindMicrosoft, ClientID: corpClient, ClientSecret: corpSecret,
			Tenant: "organizations", AllowedTenants: []string{testidp.EntraDefaultTenant}})
	})
	authority = h.idp.EntraAuthority()
	if err := h.idp.AddClient(testidp.Entra, testidp.Client{ID: corpClient, Secret: corpSecret, RedirectURIs: []string{h.ts.URL + "/callback/entra"}}); err != nil {
		t.Fatal(err)
	}

	t.Run("allowed tenant, verified email", func(t *testing.T) {
		h.user(testidp.Entra, testidp.User{Subject: "e-1", Email: "erin@contoso.example", Name: "Erin",
			Claims: map[string]any{"xms_edov": true}})
		if r := h.signIn(h.browser(), "entra"); r.url.Path != "/account" || !strings.Contains(r.body, "erin@contoso.example") {
			t.Fatalf("ended at %s (%d)", r.url, r.status)
		}
	})
	t.Run("tenant outside the allow-list", func(t *testing.T) {
		h.user(testidp.Entra, testidp.User{Subject: "e-2", Email: "mallory@fabrikam.example", TenantID: otherTenant,
			Claims: map[string]any{"xms_edov": true}})
		r := h.signIn(h.browser(), "entra")
		if r.status != http.StatusForbidden || !strings.Contains(r.body, outcome.NotAllowed.Sentence()) {
			t.Fatalf("ended at %s with %d, want 403 not_allowed", r.url, r.status)
		}
	})
	t.Run("email without xms_edov never matches an existing account", func(t *testing.T) {
		// ann@example.com exists through the corp connection...
		h.user(testidp.Generic, testidp.User{Subject: "ann-1", Email: "ann@example.com", EmailVerified: true})
		if r := h.signIn(h.browser(), "corp"); r.url.Path != "/account" {
			t.Fatalf("corp sign-in ended at %s", r.url)
		}
		users := h.countUsers()
		// ...and an Entra account claims her address without proving it.
		h.user(testidp.Entra, testidp.User{Subject: "e-3", Email: "ann@example.com"})
		r := h.signIn(h.browser(), "entra")
		if r.status != http.StatusForbidden || !strings.Contains(r.body, outcome.EmailUnverified.Sentence()) {
			t.Fatalf("ended at %s with %d, want 403 email_unverified", r.url, r.status)
		}
		if h.countUsers() != users {
			t.Error("an unverified Entra email created or matched a user")
		}
	})
}

// Apple answers with a cross-site form POST. Sallyport answers that POST
// with a page that re-posts the fields from its own origin, so the
// SameSite=Lax flow cookie comes along; the state binding then decides.
func TestAppleFormPostThroughSallyport(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))

	var ends testidp.Endpoints
	withKind(t, config.KindApple, func(ctx context.Context, p signin.ProviderParams) (upstream.Provider, error) {
		return apple.New(apple.Config{
			ClientID: p.Settings.ClientID, TeamID: p.Settings.TeamID, KeyID: p.Settings.KeyID, PrivateKeyPEM: p.Secret,
			Issuer: ends.Issuer, AuthURL: ends.Authorize, TokenURL: ends.Token, JWKSURL: ends.JWKS,
			HTTPClient: p.HTTPClient, Now: p.Now, Logger: p.Logger,
		})
	})
	h := newHarness(t, "", func(s *Settings) {
		s.Connections = append(s.Connections, config.Connection{Slug: "apple", Kind: config.KindApple, ClientID: "com.example.sso",
			TeamID: "TEAM123456", KeyID: "KEY1234567", PrivateKey: keyPEM})
	})
	ends = h.idp.Endpoints(testidp.Apple)
	if err := h.idp.AddAppleClient(testidp.AppleClient{ID: "com.example.sso", TeamID: "TEAM123456", KeyID: "KEY1234567",
		PublicKey: &key.PublicKey, RedirectURIs: []string{h.ts.URL + "/callback/apple"}}); err != nil {
		t.Fatal(err)
	}
	h.user(testidp.Apple, testidp.User{Subject: "001234.apple", Email: "abc@privaterelay.appleid.com", EmailVerified: true, Name: "Ada Apple"})

	// formPost starts a sign-in in starter and returns the cross-site POST
	// Apple's page would make.
	formPost := func(starter *http.Client) *http.Request {
		t.Helper()
		step := noRedirects(starter)
		resp, err := step.Get(h.ts.URL + "/login/apple")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		resp, err = step.Get(resp.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		post, err := testidp.FormPostRequest(resp)
		if err != nil {
			t.Fatal(err)
		}
		post.Header.Set("Sec-Fetch-Site", "cross-site") // what a browser says for Apple's POST
		post.Header.Set("Origin", "https://appleid.apple.com")
		return post
	}
	// deliver sends the cross-site POST from browser b, then submits the
	// re-post page same-origin, as its script does.
	deliver := func(b *http.Client, post *http.Request) result {
		t.Helper()
		resp, err := b.Do(post)
		if err != nil {
			t.Fatal(err)
		}
		page, err := html.Parse(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("cross-site POST answered %d", resp.StatusCode)
		}
		action, fields := repostForm(page)
		if action == "" || fields.Get("state") == "" {
			t.Fatal("the answer to the cross-site POST is not a re-post form carrying the state")
		}
		target, err := resp.Request.URL.Parse(action)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPost, target.String(), strings.NewReader(fields.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.Header.Set("Origin", h.ts.URL)
		resp, err = b.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body := new(strings.Builder)
		_, _ = io.Copy(body, resp.Body)
		return result{status: resp.StatusCode, url: resp.Request.URL, body: body.String()}
	}

	t.Run("happy path", func(t *testing.T) {
		b := h.browser()
		r := deliver(b, formPost(b))
		if r.url.Path != "/account" || !strings.Contains(r.body, "Ada Apple") {
			t.Fatalf("ended at %s with %d", r.url, r.status)
		}
	})
	t.Run("state of another browser", func(t *testing.T) {
		post := formPost(h.browser())
		r := deliver(h.browser(), post)
		if r.status != http.StatusBadRequest || !strings.Contains(r.body, outcome.InvalidState.Sentence()) {
			t.Fatalf("ended at %s with %d, want 400 invalid_state", r.url, r.status)
		}
	})
}

// repostForm finds the form of Sallyport's re-post page: its action and
// hidden fields.
func repostForm(n *html.Node) (string, url.Values) {
	var action string
	fields := url.Values{}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			attr := func(k string) string {
				for _, a := range n.Attr {
					if a.Key == k {
						return a.Val
					}
				}
				return ""
			}
			switch {
			case n.Data == "form" && strings.EqualFold(attr("method"), "post"):
				action = attr("action")
			case n.Data == "input" && attr("type") == "hidden":
				fields.Add(attr("name"), attr("value"))
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return action, fields
}
