package gitlab

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/oauth2"

	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/testidp"
	"github.com/sallyport/sallyport/internal/upstream"
	"github.com/sallyport/sallyport/internal/upstream/oidc"
	"github.com/sallyport/sallyport/internal/upstream/upstreamtest"
)

var grace = testidp.User{
	Subject: "4242", Email: "Grace@Example.com", EmailVerified: true,
	Name: "Grace Hopper", Picture: "https://gitlab.example/uploads/grace.png", Username: "ghopper",
}

func TestSignIn(t *testing.T) {
	idp := startIdP(t, grace)
	p := newProvider(t, idp, nil)
	if got, want := p.Issuer(), idp.Issuer(testidp.GitLab); got != want {
		t.Errorf("Issuer() = %q, want %q", got, want)
	}
	id, err := signIn(t, idp, p)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	want := upstream.Identity{
		Subject: "4242", Email: "grace@example.com", EmailVerified: true,
		Name: "Grace Hopper", Picture: "https://gitlab.example/uploads/grace.png", Username: "ghopper",
	}
	if diff := cmp.Diff(want, id, cmpopts.IgnoreFields(upstream.Identity{}, "Claims")); diff != "" {
		t.Errorf("identity (-want +got):\n%s", diff)
	}
	if id.Claims["nickname"] != "ghopper" {
		t.Errorf("Claims[nickname] = %#v", id.Claims["nickname"])
	}
}

// The issuer is the base URL, relative root included (testidp serves the
// persona under /gitlab), and a trailing slash in the configuration is
// not part of it.
func TestBaseURLWithRelativeRootAndTrailingSlash(t *testing.T) {
	idp := startIdP(t, grace)
	p := newProvider(t, idp, func(c *Config) { c.BaseURL += "/" })
	if got, want := p.Issuer(), idp.Issuer(testidp.GitLab); got != want {
		t.Errorf("Issuer() = %q, want %q", got, want)
	}
	if _, err := signIn(t, idp, p); err != nil {
		t.Fatalf("Exchange: %v", err)
	}
}

func TestEmailVerified(t *testing.T) {
	unverified := grace
	unverified.EmailVerified = false
	stringly := grace
	stringly.Claims = map[string]any{"email_verified": "true"} // GitLab sends booleans
	for _, tc := range []struct {
		name string
		user testidp.User
		want bool
	}{
		{"verified", grace, true},
		{"unverified", unverified, false},
		{"a string is not GitLab's boolean", stringly, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			idp := startIdP(t, tc.user)
			id, err := signIn(t, idp, newProvider(t, idp, nil))
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			if id.Email != "grace@example.com" {
				t.Errorf("Email = %q", id.Email)
			}
			if id.EmailVerified != tc.want {
				t.Errorf("EmailVerified = %v, want %v", id.EmailVerified, tc.want)
			}
		})
	}
}

func TestPKCE(t *testing.T) {
	idp := startIdP(t, grace)
	p := newProvider(t, idp, nil)
	if !p.UsesPKCE() {
		t.Fatal("UsesPKCE() = false; GitLab takes S256")
	}
	raw, err := p.AuthCodeURL(t.Context(), upstream.AuthRequest{
		State: "s", Nonce: "n", CodeChallenge: oauth2.S256ChallengeFromVerifier("v"), RedirectURI: redirectURI,
	})
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if q.Get("code_challenge") != oauth2.S256ChallengeFromVerifier("v") || q.Get("code_challenge_method") != "S256" {
		t.Errorf("no S256 challenge in %s", raw)
	}
	if got := q.Get("scope"); got != "openid profile email" {
		t.Errorf("scope = %q, want openid profile email", got)
	}
	if _, err := p.AuthCodeURL(t.Context(), upstream.AuthRequest{State: "s", Nonce: "n", RedirectURI: redirectURI}); err == nil {
		t.Error("AuthCodeURL accepted a request without a code challenge")
	}

	// The verifier really reaches the token endpoint: another one fails.
	cb := callback(t, idp, p)
	cb.CodeVerifier = oauth2.GenerateVerifier()
	_, err = p.Exchange(t.Context(), cb)
	upstreamtest.WantRefusal(t, err, outcome.CodeExchangeFailed, oidc.ErrTokenEndpoint)
}

func TestSubjectMustBeNumeric(t *testing.T) {
	for _, sub := range []string{"ghopper", "0042", "42a", "-42", "12345678901234567890"} {
		t.Run(sub, func(t *testing.T) {
			u := grace
			u.Subject = sub
			idp := startIdP(t, u)
			_, err := signIn(t, idp, newProvider(t, idp, nil))
			upstreamtest.WantRefusal(t, err, outcome.IdentityInvalid, ErrSubject)
		})
	}
}

func TestRefusals(t *testing.T) {
	for _, tc := range []struct {
		name  string
		m     testidp.Misbehavior
		code  outcome.Code
		cause error
	}{
		{"error callback", testidp.Misbehavior{ErrorCallback: true}, outcome.UpstreamError, oidc.ErrUpstream},
		{"token endpoint error", testidp.Misbehavior{TokenError: true}, outcome.CodeExchangeFailed, oidc.ErrTokenEndpoint},
		{"bad signature", testidp.Misbehavior{BadSignature: true}, outcome.IdentityInvalid, oidc.ErrSignature},
		{"wrong issuer", testidp.Misbehavior{WrongIssuer: true}, outcome.IdentityInvalid, oidc.ErrIssuer},
		{"expired", testidp.Misbehavior{Expired: true}, outcome.IdentityInvalid, oidc.ErrExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			idp := startIdP(t, grace)
			p := newProvider(t, idp, nil)
			upstreamtest.Must(t, idp.Misbehave(testidp.GitLab, tc.m))
			_, err := signIn(t, idp, p)
			upstreamtest.WantRefusal(t, err, tc.code, tc.cause)
			if strings.Contains(err.Error(), clientSecret) {
				t.Errorf("error %q leaks the client secret", err)
			}
		})
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	idp := startIdP(t, grace)
	for name, mod := range map[string]func(*Config){
		"no client id":              func(c *Config) { c.ClientID = "" },
		"no client secret":          func(c *Config) { c.ClientSecret = "" },
		"http on a public host":     func(c *Config) { c.BaseURL = "http://gitlab.example.com" },
		"not a URL":                 func(c *Config) { c.BaseURL = "gitlab.example.com" },
		"query":                     func(c *Config) { c.BaseURL += "?x=1" },
		"fragment":                  func(c *Config) { c.BaseURL += "#x" },
		"user info":                 func(c *Config) { c.BaseURL = strings.Replace(c.BaseURL, "://", "://u:p@", 1) },
		"not the instance's issuer": func(c *Config) { c.BaseURL += "/sub" },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := config(idp)
			mod(&cfg)
			if _, err := New(t.Context(), cfg); err == nil {
				t.Errorf("New accepted BaseURL %q", cfg.BaseURL)
			}
		})
	}
}

func TestDiscoveryIssuerMismatch(t *testing.T) {
	idp := startIdP(t, grace)
	upstreamtest.Must(t, idp.Misbehave(testidp.GitLab, testidp.Misbehavior{DiscoveryIssuerMismatch: true}))
	_, err := New(t.Context(), config(idp))
	if !errors.Is(err, oidc.ErrDiscoveryIssuer) {
		t.Errorf("New: %v; want %v", err, oidc.ErrDiscoveryIssuer)
	}
}

func TestDefaultBaseURL(t *testing.T) {
	got, err := baseURL("https://gitlab.com/")
	if err != nil || got != DefaultBaseURL {
		t.Errorf("baseURL(https://gitlab.com/) = %q, %v", got, err)
	}
}
