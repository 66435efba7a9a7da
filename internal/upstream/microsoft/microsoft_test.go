package microsoft

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/testidp"
	"github.com/sallyport/sallyport/internal/upstream"
	"github.com/sallyport/sallyport/internal/upstream/oidc"
)

var ignoreClaims = cmpopts.IgnoreFields(upstream.Identity{}, "Claims")

// wantRefusal checks err's outcome and cause.
func wantRefusal(t *testing.T, err error, code outcome.Code, causes ...error) {
	t.Helper()
	if got := outcome.CodeOf(err); got != code {
		t.Fatalf("outcome = %q (%v), want %q", got, err, code)
	}
	for _, c := range causes {
		if !errors.Is(err, c) {
			t.Errorf("error %v does not wrap %v", err, c)
		}
	}
}

func TestSingleTenant(t *testing.T) {
	clk := newClock()
	idp := startIdP(t, clk, adele)
	p, _ := newProvider(t, config(idp, clk, strings.ToUpper(contosoTID)))

	if got, want := p.Issuer(), idp.EntraIssuer(contosoTID); got != want {
		t.Errorf("Issuer() = %q, want %q", got, want)
	}
	if got := p.TenantID(); got != contosoTID {
		t.Errorf("TenantID() = %q, want %q", got, contosoTID)
	}
	if !p.UsesPKCE() {
		t.Error("UsesPKCE() = false")
	}
	id, err := exchange(t, idp, p, adele.Subject)
	if err != nil {
		t.Fatal(err)
	}
	want := upstream.Identity{
		Subject:       contosoTID + ":" + adeleOID,
		Email:         "adele@contoso.example",
		EmailVerified: true,
		Name:          "Adele Vance",
		Username:      "adele@contoso.example",
	}
	if diff := cmp.Diff(want, id, ignoreClaims); diff != "" {
		t.Errorf("identity (-want +got):\n%s", diff)
	}
	if id.Claims["tid"] != contosoTID || id.Claims["oid"] != adeleOID {
		t.Errorf("claims tid=%v oid=%v, want %s and %s", id.Claims["tid"], id.Claims["oid"], contosoTID, adeleOID)
	}
	if n := idp.Requests(testidp.Entra, testidp.EndpointUserinfo); n != 0 {
		t.Errorf("userinfo (Graph) was called %d times", n)
	}
}

func TestAuthCodeURL(t *testing.T) {
	clk := newClock()
	idp := startIdP(t, clk, adele)
	cfg := config(idp, clk, "organizations", contosoTID)
	cfg.AuthParams = map[string]string{"domain_hint": "contoso.example", "code_challenge_method": "plain"}
	p, logs := newProvider(t, cfg)

	got, err := p.AuthCodeURL(context.Background(), upstream.AuthRequest{
		State: "st", Nonce: "no", CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		RedirectURI: redirectURI, LoginHint: "adele@contoso.example", Prompt: "select_account",
	})
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	if base, want := u.Scheme+"://"+u.Host+u.Path, idp.EntraEndpoints("organizations").Authorize; base != want {
		t.Errorf("endpoint = %s, want %s", base, want)
	}
	want := url.Values{
		"client_id":             {clientID},
		"redirect_uri":          {redirectURI},
		"response_type":         {"code"},
		"scope":                 {"openid profile email"},
		"state":                 {"st"},
		"nonce":                 {"no"},
		"code_challenge":        {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"},
		"code_challenge_method": {"S256"},
		"login_hint":            {"adele@contoso.example"},
		"prompt":                {"select_account"},
		"domain_hint":           {"contoso.example"},
	}
	if diff := cmp.Diff(want, u.Query()); diff != "" {
		t.Errorf("query (-want +got):\n%s", diff)
	}
	if !strings.Contains(logs.String(), "code_challenge_method") {
		t.Errorf("no warning about the dropped auth parameter; logs:\n%s", logs)
	}
	if _, err := p.AuthCodeURL(context.Background(), upstream.AuthRequest{State: "st", Nonce: "no", RedirectURI: redirectURI}); err == nil {
		t.Error("AuthCodeURL without a code challenge succeeded: PKCE must be used")
	}
}

func TestScopesAlwaysIncludeProfile(t *testing.T) {
	clk := newClock()
	idp := startIdP(t, clk, adele)
	cfg := config(idp, clk, contosoTID)
	cfg.Scopes = []string{"email", "offline_access"}
	p, _ := newProvider(t, cfg)
	got, err := p.AuthCodeURL(context.Background(), upstream.AuthRequest{State: "s", Nonce: "n", CodeChallenge: "c", RedirectURI: redirectURI})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(got)
	if s := u.Query().Get("scope"); s != "openid email offline_access profile" {
		t.Errorf("scope = %q: openid and profile (for oid) must always be asked for", s)
	}
}

func TestMultiTenant(t *testing.T) {
	for _, tenant := range []string{"common", "organizations"} {
		t.Run(tenant, func(t *testing.T) {
			clk := newClock()
			idp := startIdP(t, clk, adele, fabrikamUser)
			p, _ := newProvider(t, config(idp, clk, tenant, contosoTID, strings.ToUpper(fabrikamTID)))
			if got, want := p.Issuer(), idp.EntraAuthority()+"/{tenantid}/v2.0"; got != want {
				t.Errorf("Issuer() = %q, want the template %q", got, want)
			}
			if p.TenantID() != "" {
				t.Errorf("TenantID() = %q, want none", p.TenantID())
			}
			id, err := exchange(t, idp, p, adele.Subject)
			if err != nil {
				t.Fatal(err)
			}
			if want := contosoTID + ":" + adeleOID; id.Subject != want {
				t.Errorf("subject %q, want %q", id.Subject, want)
			}
			id, err = exchange(t, idp, p, fabrikamUser.Subject)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(id.Subject, fabrikamTID+":") || !id.EmailVerified {
				t.Errorf("fabrikam identity %+v", id)
			}
		})
	}
}

func TestTenantNotAllowed(t *testing.T) {
	for _, tenant := range []string{"common", "organizations"} {
		t.Run(tenant, func(t *testing.T) {
			clk := newClock()
			idp := startIdP(t, clk, adele, outsider)
			p, _ := newProvider(t, config(idp, clk, tenant, contosoTID))
			_, err := exchange(t, idp, p, outsider.Subject)
			wantRefusal(t, err, outcome.NotAllowed, ErrTenantNotAllowed)
			if _, err := exchange(t, idp, p, adele.Subject); err != nil {
				t.Errorf("allowed tenant refused: %v", err)
			}
		})
	}
}

func TestPersonalAccounts(t *testing.T) {
	t.Run("organizations refuses a consumers token", func(t *testing.T) {
		clk := newClock()
		idp := startIdP(t, clk, msa)
		// Entra itself never issues one: the organizations authority
		// refuses personal accounts.
		p, _ := newProvider(t, config(idp, clk, "organizations", contosoTID))
		if err := idp.SignInAs(testidp.Entra, msa.Subject); err != nil {
			t.Fatal(err)
		}
		u, err := p.AuthCodeURL(context.Background(), upstream.AuthRequest{State: "s", Nonce: "n", CodeChallenge: strings.Repeat("c", 43), RedirectURI: redirectURI})
		if err != nil {
			t.Fatal(err)
		}
		if resp := authorize(t, idp, u); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("testidp answered %d for an MSA user through organizations", resp.StatusCode)
		}
		// An authority that answers organizations as if it were common
		// (a misrouting, or a token replayed from a common flow) must
		// still not get a personal account in.
		rw := &rewriter{old: "/organizations/", new: "/common/"}
		cfg := config(idp, clk, "organizations", contosoTID)
		cfg.HTTPClient = clientWith(idp, rw)
		p, _ = newProvider(t, cfg)
		cb := signIn(t, idp, p, msa.Subject, func(u string) string { return strings.Replace(u, "/organizations/", "/common/", 1) })
		_, err = p.Exchange(context.Background(), cb)
		wantRefusal(t, err, outcome.IdentityInvalid, ErrPersonalAccount, oidc.ErrIssuer)
	})
	t.Run("common takes them when the consumers tenant is allowed", func(t *testing.T) {
		clk := newClock()
		idp := startIdP(t, clk, msa)
		p, _ := newProvider(t, config(idp, clk, "common", ConsumersTenantID))
		id, err := exchange(t, idp, p, msa.Subject)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(id.Subject, ConsumersTenantID+":") || id.Email != "someone@outlook.example" || !id.EmailVerified {
			t.Errorf("identity %+v", id)
		}
	})
	t.Run("consumers tenant", func(t *testing.T) {
		clk := newClock()
		idp := startIdP(t, clk, msa)
		p, _ := newProvider(t, config(idp, clk, "consumers"))
		if got, want := p.Issuer(), idp.EntraIssuer(testidp.EntraConsumersTenant); got != want {
			t.Errorf("Issuer() = %q, want %q", got, want)
		}
		id, err := exchange(t, idp, p, msa.Subject)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(id.Subject, ConsumersTenantID+":") {
			t.Errorf("subject %q", id.Subject)
		}
	})
}

func TestWrongIssuer(t *testing.T) {
	for _, tc := range []struct {
		tenant string
		user   testidp.User
	}{
		{"common", adele},
		{"organizations", adele},
		{contosoTID, adele},
		{"consumers", msa},
	} {
		t.Run(tc.tenant, func(t *testing.T) {
			clk := newClock()
			idp := startIdP(t, clk, tc.user)
			var allowed []string
			if tc.tenant == "common" || tc.tenant == "organizations" {
				allowed = []string{contosoTID}
			}
			p, _ := newProvider(t, config(idp, clk, tc.tenant, allowed...))
			if err := idp.Misbehave(testidp.Entra, testidp.Misbehavior{WrongIssuer: true}); err != nil {
				t.Fatal(err)
			}
			_, err := exchange(t, idp, p, tc.user.Subject)
			wantRefusal(t, err, outcome.IdentityInvalid, ErrIssuer, oidc.ErrIssuer)
		})
	}
}

func TestSingleTenantRefusesAnotherTenantsToken(t *testing.T) {
	clk := newClock()
	idp := startIdP(t, clk, fabrikamUser)
	// The code of a common flow, redeemed through contoso's token
	// endpoint: the tenant-specific authority would never issue it.
	rw := &rewriter{old: "/" + contosoTID + "/oauth2/v2.0/token", new: "/common/oauth2/v2.0/token"}
	cfg := config(idp, clk, contosoTID)
	cfg.HTTPClient = clientWith(idp, rw)
	p, _ := newProvider(t, cfg)
	cb := signIn(t, idp, p, fabrikamUser.Subject, func(u string) string { return strings.Replace(u, "/"+contosoTID+"/", "/common/", 1) })
	_, err := p.Exchange(context.Background(), cb)
	wantRefusal(t, err, outcome.IdentityInvalid, ErrTenantMismatch)
}

func TestSigningKeyIssuer(t *testing.T) {
	clk := newClock()
	for _, tc := range []struct {
		name string
		edit func(idp *testidp.IdP, key map[string]any)
		ok   bool
	}{
		{"templated, as published", func(*testidp.IdP, map[string]any) {}, true},
		{"absent", func(_ *testidp.IdP, k map[string]any) { delete(k, "issuer") }, true},
		{"the token's own tenant", func(idp *testidp.IdP, k map[string]any) { k["issuer"] = idp.EntraIssuer(contosoTID) }, true},
		{"another tenant", func(idp *testidp.IdP, k map[string]any) { k["issuer"] = idp.EntraIssuer(fabrikamTID) }, false},
		{"the personal-account keys", func(idp *testidp.IdP, k map[string]any) {
			k["issuer"] = idp.EntraIssuer(testidp.EntraConsumersTenant)
		}, false},
		{"another cloud's template", func(_ *testidp.IdP, k map[string]any) {
			k["issuer"] = "https://login.microsoftonline.us/{tenantid}/v2.0"
		}, false},
		{"not a string", func(_ *testidp.IdP, k map[string]any) { k["issuer"] = 42 }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			idp := startIdP(t, clk, adele)
			rw := &rewriter{}
			rw.jwks = func(k map[string]any) { tc.edit(idp, k) }
			cfg := config(idp, clk, "common", contosoTID)
			cfg.HTTPClient = clientWith(idp, rw)
			p, _ := newProvider(t, cfg)
			_, err := exchange(t, idp, p, adele.Subject)
			if tc.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			wantRefusal(t, err, outcome.IdentityInvalid, ErrKeyIssuer)
		})
	}
}

func TestEmailVerified(t *testing.T) {
	for _, tc := range []struct {
		name   string
		email  string
		claims map[string]any
		want   bool
	}{
		{"no xms_edov", "a@contoso.example", nil, false},
		{"xms_edov true", "a@contoso.example", map[string]any{"xms_edov": true}, true},
		{"xms_edov \"true\"", "a@contoso.example", map[string]any{"xms_edov": "true"}, true},
		{"xms_edov false", "a@contoso.example", map[string]any{"xms_edov": false}, false},
		{"xms_edov \"True\"", "a@contoso.example", map[string]any{"xms_edov": "True"}, false},
		{"xms_edov 1", "a@contoso.example", map[string]any{"xms_edov": 1}, false},
		{"email_verified is not Entra's word", "a@contoso.example", map[string]any{"email_verified": true}, false},
		{"no email", "", map[string]any{"xms_edov": true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			u := testidp.User{Subject: "u", Email: tc.email, EmailVerified: true, TenantID: contosoTID, Claims: tc.claims}
			idp := startIdP(t, clk, u)
			p, _ := newProvider(t, config(idp, clk, contosoTID))
			id, err := exchange(t, idp, p, u.Subject)
			if err != nil {
				t.Fatal(err)
			}
			if id.EmailVerified != tc.want {
				t.Errorf("EmailVerified = %v, want %v (email %q, claims %v)", id.EmailVerified, tc.want, id.Email, id.Claims)
			}
			if id.Email != tc.email {
				t.Errorf("Email = %q, want %q", id.Email, tc.email)
			}
		})
	}
}

func TestSubjectIsTenantAndObjectID(t *testing.T) {
	clk := newClock()
	const oid = "22222222-bbbb-4ccc-8ddd-000000000002"
	inContoso := testidp.User{Subject: "a", Email: "pat@contoso.example", TenantID: contosoTID, Claims: map[string]any{"oid": oid}}
	inFabrikam := testidp.User{Subject: "b", Email: "pat@contoso.example", TenantID: fabrikamTID, Claims: map[string]any{"oid": oid}}
	upper := testidp.User{Subject: "c", TenantID: contosoTID, Claims: map[string]any{"oid": strings.ToUpper(adeleOID)}}
	idp := startIdP(t, clk, inContoso, inFabrikam, upper)
	p, _ := newProvider(t, config(idp, clk, "common", contosoTID, fabrikamTID))

	a, err := exchange(t, idp, p, inContoso.Subject)
	if err != nil {
		t.Fatal(err)
	}
	b, err := exchange(t, idp, p, inFabrikam.Subject)
	if err != nil {
		t.Fatal(err)
	}
	if a.Subject != contosoTID+":"+oid || b.Subject != fabrikamTID+":"+oid {
		t.Errorf("subjects %q and %q, want tid:oid", a.Subject, b.Subject)
	}
	if a.Subject == b.Subject {
		t.Error("the same oid in two tenants gave one subject")
	}
	if a.Claims["sub"] == a.Subject || a.Claims["sub"] == "" {
		t.Errorf("sub claim %v", a.Claims["sub"])
	}
	c, err := exchange(t, idp, p, upper.Subject)
	if err != nil {
		t.Fatal(err)
	}
	if want := contosoTID + ":" + adeleOID; c.Subject != want {
		t.Errorf("subject %q, want the lower-cased %q", c.Subject, want)
	}
}

func TestObjectIDRequired(t *testing.T) {
	for _, oid := range []any{"", "not-a-guid", "{tenantid}", 7} {
		clk := newClock()
		u := testidp.User{Subject: "u", Email: "u@contoso.example", TenantID: contosoTID, Claims: map[string]any{"oid": oid}}
		idp := startIdP(t, clk, u)
		p, _ := newProvider(t, config(idp, clk, contosoTID))
		_, err := exchange(t, idp, p, u.Subject)
		wantRefusal(t, err, outcome.IdentityInvalid, ErrObjectID)
	}
}

func TestUsernameIsNeverTheEmail(t *testing.T) {
	clk := newClock()
	u := testidp.User{Subject: "u", Username: "adele@contoso.example", Name: "Adele", TenantID: contosoTID,
		Claims: map[string]any{"upn": "adele@contoso.example", "unique_name": "adele@contoso.example", "xms_edov": true}}
	idp := startIdP(t, clk, u)
	p, _ := newProvider(t, config(idp, clk, contosoTID))
	id, err := exchange(t, idp, p, u.Subject)
	if err != nil {
		t.Fatal(err)
	}
	want := upstream.Identity{Subject: id.Subject, Name: "Adele", Username: "adele@contoso.example"}
	if diff := cmp.Diff(want, id, ignoreClaims); diff != "" {
		t.Errorf("identity (-want +got):\n%s", diff)
	}
	// Without an email claim the generic provider would ask userinfo,
	// which at Entra is Microsoft Graph.
	if n := idp.Requests(testidp.Entra, testidp.EndpointUserinfo); n != 0 {
		t.Errorf("userinfo (Graph) was called %d times", n)
	}
}

func TestDomainTenant(t *testing.T) {
	clk := newClock()
	idp := startIdP(t, clk, adele)
	// testidp knows tenants by ID only; Entra answers a verified domain
	// with its tenant's document.
	rw := &rewriter{old: "/entra/contoso.example/", new: "/entra/" + contosoTID + "/"}
	cfg := config(idp, clk, "Contoso.Example")
	cfg.HTTPClient = clientWith(idp, rw)
	p, _ := newProvider(t, cfg)
	if p.TenantID() != contosoTID || p.Issuer() != idp.EntraIssuer(contosoTID) {
		t.Errorf("TenantID() = %q, Issuer() = %q", p.TenantID(), p.Issuer())
	}
	id, err := exchange(t, idp, p, adele.Subject)
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != contosoTID+":"+adeleOID {
		t.Errorf("subject %q", id.Subject)
	}
}

func TestNewRefuses(t *testing.T) {
	clk := newClock()
	idp := startIdP(t, clk, adele)
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string // in the error
		is   error
	}{
		{"no client id", func(c *Config) { c.ClientID = "" }, "ClientID is required", nil},
		{"no tenant", func(c *Config) { c.Tenant = "" }, "must be common, organizations", nil},
		{"single-label tenant", func(c *Config) { c.Tenant = "contoso" }, "must be common, organizations", nil},
		{"tenant with a path", func(c *Config) { c.Tenant = "common/../x" }, "must be common, organizations", nil},
		{"common without AllowedTenants", func(c *Config) { c.Tenant, c.AllowedTenants = "common", nil }, "needs AllowedTenants", nil},
		{"organizations without AllowedTenants", func(c *Config) { c.Tenant, c.AllowedTenants = "organizations", []string{} }, "needs AllowedTenants", nil},
		{"allowed tenant not a GUID", func(c *Config) { c.Tenant, c.AllowedTenants = "common", []string{"contoso.example"} }, "is not a tenant ID", nil},
		{"organizations allowing consumers", func(c *Config) {
			c.Tenant, c.AllowedTenants = "organizations", []string{contosoTID, ConsumersTenantID}
		}, "personal-account (consumers) tenant", nil},
		{"AllowedTenants for one tenant", func(c *Config) { c.Tenant, c.AllowedTenants = contosoTID, []string{contosoTID} }, "applies only when", nil},
		{"authority with a query", func(c *Config) { c.Authority += "?x=1" }, "authority", nil},
		{"wrong authority", func(c *Config) { c.Authority = idp.URL() + "/generic" }, "", oidc.ErrDiscovery},
		{"discovery of common with an exact issuer", func(c *Config) {
			c.HTTPClient = clientWith(idp, &rewriter{old: "/common/", new: "/" + contosoTID + "/"})
			c.Tenant, c.AllowedTenants = "common", []string{contosoTID}
		}, "", oidc.ErrDiscoveryIssuer},
		{"domain whose document names the template", func(c *Config) {
			c.HTTPClient = clientWith(idp, &rewriter{old: "/contoso.example/", new: "/common/"})
			c.Tenant = "contoso.example"
		}, "", oidc.ErrDiscoveryIssuer},
		{"tenant ID whose document names another", func(c *Config) {
			c.HTTPClient = clientWith(idp, &rewriter{old: "/" + contosoTID + "/", new: "/" + fabrikamTID + "/"})
		}, "", oidc.ErrDiscoveryIssuer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config(idp, clk, contosoTID)
			tc.mod(&cfg)
			_, err := New(context.Background(), cfg)
			switch {
			case err == nil:
				t.Fatal("New succeeded")
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Errorf("error %q, want it to say %q", err, tc.want)
			case tc.is != nil && !errors.Is(err, tc.is):
				t.Errorf("error %v does not wrap %v", err, tc.is)
			}
		})
	}

	t.Run("discovery issuer off by one byte", func(t *testing.T) {
		if err := idp.Misbehave(testidp.Entra, testidp.Misbehavior{DiscoveryIssuerMismatch: true}); err != nil {
			t.Fatal(err)
		}
		defer idp.Misbehave(testidp.Entra, testidp.Misbehavior{})
		for _, tenant := range []string{"common", contosoTID} {
			cfg := config(idp, clk, tenant)
			if tenant == "common" {
				cfg.AllowedTenants = []string{contosoTID}
			}
			if _, err := New(context.Background(), cfg); !errors.Is(err, oidc.ErrDiscoveryIssuer) {
				t.Errorf("%s: error %v, want ErrDiscoveryIssuer", tenant, err)
			}
		}
	})
}

func TestDiscoveryRefresh(t *testing.T) {
	clk := newClock()
	idp := startIdP(t, clk, adele)
	p, logs := newProvider(t, config(idp, clk, "common", contosoTID))
	discoveries := func() int { return idp.Requests(testidp.Entra, testidp.EndpointDiscovery) }
	signInOK := func() {
		t.Helper()
		if _, err := exchange(t, idp, p, adele.Subject); err != nil {
			t.Fatal(err)
		}
	}

	signInOK()
	clk.Advance(DiscoveryTTL - time.Minute)
	signInOK()
	if n := discoveries(); n != 1 {
		t.Fatalf("%d discovery fetches within a day, want 1", n)
	}
	clk.Advance(2 * time.Minute)
	signInOK()
	if n := discoveries(); n != 2 {
		t.Fatalf("%d discovery fetches after a day, want 2", n)
	}

	// A refreshed document that is wrong is not used; the old one is.
	if err := idp.Misbehave(testidp.Entra, testidp.Misbehavior{DiscoveryIssuerMismatch: true}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(DiscoveryTTL)
	signInOK()
	if n := discoveries(); n != 3 {
		t.Fatalf("%d discovery fetches, want 3", n)
	}
	if !strings.Contains(logs.String(), "keeping the previous document") {
		t.Errorf("no warning about the failed refresh; logs:\n%s", logs)
	}
	clk.Advance(DiscoveryRetry / 2)
	signInOK()
	if n := discoveries(); n != 3 {
		t.Fatalf("%d discovery fetches, want 3: retries wait %s", n, DiscoveryRetry)
	}
	clk.Advance(DiscoveryRetry)
	signInOK()
	if n := discoveries(); n != 4 {
		t.Fatalf("%d discovery fetches, want 4", n)
	}
}

func TestDiscoveryRefreshUsesChangedDocument(t *testing.T) {
	clk := newClock()
	idp := startIdP(t, clk, adele)
	cfg := config(idp, clk, contosoTID)
	cfg.AllowedAlgs = []string{"RS256", "ES256"}
	p, _ := newProvider(t, cfg)
	if _, err := exchange(t, idp, p, adele.Subject); err != nil {
		t.Fatal(err)
	}
	// Entra starts signing with ES256: until the document saying so is
	// fetched, ES256 is not among the algorithms it signs with.
	if err := idp.UseAlg(testidp.Entra, testidp.ES256); err != nil {
		t.Fatal(err)
	}
	_, err := exchange(t, idp, p, adele.Subject)
	wantRefusal(t, err, outcome.IdentityInvalid, oidc.ErrAlgorithm)
	clk.Advance(DiscoveryTTL)
	if _, err := exchange(t, idp, p, adele.Subject); err != nil {
		t.Fatalf("after the refresh: %v", err)
	}
}
