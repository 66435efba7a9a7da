package google

import (
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/testidp"
	"github.com/sallyport/sallyport/internal/upstream"
	"github.com/sallyport/sallyport/internal/upstream/oidc"
	"github.com/sallyport/sallyport/internal/upstream/upstreamtest"
)

// A Workspace user of acme.test.
var ada = testidp.User{
	Subject: "110169484474386276334", Email: "Ada@Acme.test", EmailVerified: true,
	Name: "Ada Lovelace", Picture: "https://lh3.example/ada.png",
	Claims: map[string]any{"hd": "acme.test", "given_name": "Ada", "family_name": "Lovelace"},
}

// A consumer account: gmail.com, no hd.
var bob = testidp.User{Subject: "104857600000000000001", Email: "bob@gmail.com", EmailVerified: true, Name: "Bob"}

// A consumer account registered with an outside address: verified once,
// at sign-up, but Google is not authoritative for it.
var carol = testidp.User{Subject: "104857600000000000002", Email: "carol@example.org", EmailVerified: true, Name: "Carol"}

func TestSignIn(t *testing.T) {
	idp := startIdP(t, ada)
	p := newProvider(t, idp, nil)
	if got, want := p.Issuer(), idp.Issuer(testidp.Google); got != want {
		t.Errorf("Issuer() = %q, want %q", got, want)
	}
	if !p.UsesPKCE() {
		t.Error("UsesPKCE() = false; Google takes S256")
	}
	id, err := signIn(t, idp, p)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	want := upstream.Identity{
		Subject: ada.Subject, Email: "ada@acme.test", EmailVerified: true,
		Name: "Ada Lovelace", Picture: "https://lh3.example/ada.png",
	}
	if diff := cmp.Diff(want, id, cmpopts.IgnoreFields(upstream.Identity{}, "Claims")); diff != "" {
		t.Errorf("identity (-want +got):\n%s", diff)
	}
	for k, v := range map[string]any{"hd": "acme.test", "azp": clientID, ClaimEmailAuthoritative: true} {
		if id.Claims[k] != v {
			t.Errorf("Claims[%q] = %#v, want %#v", k, id.Claims[k], v)
		}
	}
}

func TestLegacyIssuer(t *testing.T) {
	idp := startIdP(t, ada)
	upstreamtest.Must(t, idp.SetOptions(testidp.Google, testidp.Options{LegacyIssuer: true}))
	p := newProvider(t, idp, nil)
	id, err := signIn(t, idp, p)
	if err != nil {
		t.Fatalf("a token with the legacy issuer was refused: %v", err)
	}
	_, legacy, _ := strings.Cut(idp.Issuer(testidp.Google), "://")
	if id.Claims["iss"] != legacy {
		t.Errorf("iss = %#v, want the legacy %q", id.Claims["iss"], legacy)
	}
	if id.Subject != ada.Subject {
		t.Errorf("Subject = %q, want %q", id.Subject, ada.Subject)
	}
}

func TestOtherIssuersRefused(t *testing.T) {
	idp := startIdP(t, ada)
	p := newProvider(t, idp, nil)
	check := issuerCheck(DefaultIssuer)
	for _, iss := range []string{"accounts.google.com", "https://accounts.google.com"} {
		if err := check(iss, nil, nil); err != nil {
			t.Errorf("issuer %q refused: %v", iss, err)
		}
	}
	for _, iss := range []string{"http://accounts.google.com", "https://accounts.google.com/", "accounts.google.com/", "https://accounts.google.com.evil", "ACCOUNTS.GOOGLE.COM", ""} {
		if err := check(iss, nil, nil); err == nil {
			t.Errorf("issuer %q accepted", iss)
		}
	}
	// Against the IdP: a trailing slash is another issuer.
	upstreamtest.Must(t, idp.Misbehave(testidp.Google, testidp.Misbehavior{WrongIssuer: true}))
	_, err := signIn(t, idp, p)
	upstreamtest.WantRefusal(t, err, outcome.IdentityInvalid, oidc.ErrIssuer)
}

func TestHostedDomains(t *testing.T) {
	other := ada
	other.Subject, other.Email, other.Claims = "110169484474386276335", "eve@other.test", map[string]any{"hd": "other.test"}
	upper := ada
	upper.Subject, upper.Claims = "110169484474386276336", map[string]any{"hd": "ACME.test"}
	for _, tc := range []struct {
		name   string
		hosted []string
		user   testidp.User
		ok     bool
	}{
		{"workspace user of the allowed domain", []string{"acme.test"}, ada, true},
		{"one of several allowed domains", []string{"beta.test", "Acme.Test"}, ada, true},
		{"hd compared case-insensitively", []string{"acme.test"}, upper, true},
		{"workspace user of another domain", []string{"acme.test"}, other, false},
		{"consumer gmail account has no hd", []string{"acme.test"}, bob, false},
		{"consumer account with an outside address has no hd", []string{"acme.test"}, carol, false},
		{"consumer account whose address is in the allowed domain", []string{"example.org"}, carol, false},
		{"no allow-list: consumer accounts sign in", nil, bob, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			idp := startIdP(t, tc.user)
			p := newProvider(t, idp, func(c *Config) { c.HostedDomains = tc.hosted })
			id, err := signIn(t, idp, p)
			if !tc.ok {
				upstreamtest.WantRefusal(t, err, outcome.NotAllowed, ErrHostedDomain)
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if id.Subject != tc.user.Subject {
				t.Errorf("Subject = %q, want %q", id.Subject, tc.user.Subject)
			}
		})
	}
}

// The request's hd is a hint the browser can strip or change; only the
// token's claim decides.
func TestHostedDomainHintIsNotTrusted(t *testing.T) {
	idp := startIdP(t, bob)
	p := newProvider(t, idp, func(c *Config) { c.HostedDomains = []string{"acme.test"} })
	u, err := p.AuthCodeURL(t.Context(), upstream.AuthRequest{State: "s", Nonce: "n", CodeChallenge: strings.Repeat("c", 43), RedirectURI: redirectURI})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(u, "hd=acme.test") {
		t.Fatalf("URL %s lacks the hd hint", u)
	}
	_, err = signIn(t, idp, p) // testidp, like a tampered request, ignores hd
	upstreamtest.WantRefusal(t, err, outcome.NotAllowed, ErrHostedDomain)
}

func TestAuthCodeURLHostedDomainHint(t *testing.T) {
	idp := startIdP(t, ada)
	for _, tc := range []struct {
		name   string
		hosted []string
		params map[string]string
		want   []string // the hd values sent
	}{
		{"no allow-list", nil, nil, nil},
		{"one domain", []string{"Acme.Test"}, nil, []string{"acme.test"}},
		{"one domain, hd also in AuthParams", []string{"acme.test"}, map[string]string{"HD": "acme.test"}, []string{"acme.test"}},
		{"several domains: no single hint", []string{"acme.test", "beta.test"}, nil, nil},
		{"a bare hint without allow-list is passed on", nil, map[string]string{"hd": "acme.test"}, []string{"acme.test"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newProvider(t, idp, func(c *Config) { c.HostedDomains, c.AuthParams = tc.hosted, tc.params })
			raw, err := p.AuthCodeURL(t.Context(), upstream.AuthRequest{State: "s", Nonce: "n", CodeChallenge: strings.Repeat("c", 43), RedirectURI: redirectURI})
			if err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			if diff := cmp.Diff(tc.want, q["hd"]); diff != "" {
				t.Errorf("hd (-want +got):\n%s", diff)
			}
			if got := q.Get("scope"); got != "openid email profile" {
				t.Errorf("scope = %q, want openid email profile", got)
			}
			if q.Get("code_challenge_method") != "S256" {
				t.Errorf("no S256 challenge in %s", raw)
			}
		})
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	idp := startIdP(t, ada)
	for name, mod := range map[string]func(*Config){
		"no client id":                func(c *Config) { c.ClientID = "" },
		"no client secret":            func(c *Config) { c.ClientSecret = "" },
		"hosted domain not a domain":  func(c *Config) { c.HostedDomains = []string{"*"} },
		"hosted domain is an address": func(c *Config) { c.HostedDomains = []string{"ada@acme.test"} },
		"hd hint contradicts allow-list": func(c *Config) {
			c.HostedDomains, c.AuthParams = []string{"acme.test"}, map[string]string{"hd": "evil.test"}
		},
		"issuer not google's": func(c *Config) { c.Issuer = idp.Issuer(testidp.Generic) + "x" },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := config(idp)
			mod(&cfg)
			if _, err := New(t.Context(), cfg); err == nil {
				t.Error("New accepted the config")
			}
		})
	}
}

func TestEmailVerifiedAndAuthoritative(t *testing.T) {
	unverified := carol
	unverified.EmailVerified = false
	oldGoogle := bob
	oldGoogle.Claims = map[string]any{"email_verified": "true"} // older tokens send a string
	unverifiedWorkspace := ada
	unverifiedWorkspace.EmailVerified = false
	forged := carol
	forged.Claims = map[string]any{ClaimEmailAuthoritative: true} // not the token's to say
	for _, tc := range []struct {
		name                    string
		user                    testidp.User
		verified, authoritative bool
	}{
		{"workspace: verified, hd present", ada, true, true},
		{"gmail.com", bob, true, true},
		{"gmail.com, email_verified as the string \"true\"", oldGoogle, true, true},
		{"outside address: verified at sign-up only", carol, true, false},
		{"email_verified false", unverified, false, false},
		{"workspace, email_verified false", unverifiedWorkspace, false, false},
		{"a token claiming authority is overwritten", forged, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			idp := startIdP(t, tc.user)
			id, err := signIn(t, idp, newProvider(t, idp, nil))
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if id.Email == "" {
				t.Fatal("no email")
			}
			if id.EmailVerified != tc.verified {
				t.Errorf("EmailVerified = %v, want %v", id.EmailVerified, tc.verified)
			}
			if got := id.Claims[ClaimEmailAuthoritative]; got != tc.authoritative {
				t.Errorf("Claims[%s] = %#v, want %v", ClaimEmailAuthoritative, got, tc.authoritative)
			}
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
		{"wrong nonce", testidp.Misbehavior{WrongNonce: true}, outcome.IdentityInvalid, oidc.ErrNonce},
		{"wrong audience", testidp.Misbehavior{WrongAudience: true}, outcome.IdentityInvalid, oidc.ErrAudience},
	} {
		t.Run(tc.name, func(t *testing.T) {
			idp := startIdP(t, ada)
			p := newProvider(t, idp, nil)
			upstreamtest.Must(t, idp.Misbehave(testidp.Google, tc.m))
			_, err := signIn(t, idp, p)
			upstreamtest.WantRefusal(t, err, tc.code, tc.cause)
			if strings.Contains(err.Error(), clientSecret) {
				t.Errorf("error %q leaks the client secret", err)
			}
		})
	}
}
