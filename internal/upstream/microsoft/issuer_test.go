package microsoft

import (
	"errors"
	"testing"

	"github.com/sallyport/sallyport/internal/upstream/oidc"
)

// TestCheckIssuer is the issuer rule table, without HTTP: the end-to-end
// tests cover what testidp can produce, this covers what it cannot (a tid
// that is not a GUID, a v1.0 token, a forged template).
func TestCheckIssuer(t *testing.T) {
	const authority = "https://login.microsoftonline.com"
	template := authority + "/{tenantid}/v2.0"
	issuerOf := func(tid string) string { return authority + "/" + tid + "/v2.0" }
	common := &Provider{authority: authority, tenant: "common", multi: true, issuer: template}
	organizations := &Provider{authority: authority, tenant: "organizations", multi: true, issuer: template}
	single := &Provider{authority: authority, tenant: contosoTID, issuer: issuerOf(contosoTID), tenantID: contosoTID}
	templated := &oidc.Key{Members: map[string]any{"issuer": template}}

	for _, tc := range []struct {
		name   string
		p      *Provider
		iss    string
		claims oidc.Claims
		key    *oidc.Key
		want   error // nil: accepted
	}{
		{"common", common, issuerOf(contosoTID), oidc.Claims{"tid": contosoTID, "ver": "2.0"}, templated, nil},
		{"common, consumers tenant", common, issuerOf(ConsumersTenantID), oidc.Claims{"tid": ConsumersTenantID}, templated, nil},
		{"single tenant", single, issuerOf(contosoTID), oidc.Claims{"tid": contosoTID}, templated, nil},
		{"key without issuer", common, issuerOf(contosoTID), oidc.Claims{"tid": contosoTID}, &oidc.Key{}, nil},
		{"key with the exact issuer", common, issuerOf(contosoTID), oidc.Claims{"tid": contosoTID},
			&oidc.Key{Members: map[string]any{"issuer": issuerOf(contosoTID)}}, nil},

		{"tid missing", common, issuerOf(contosoTID), oidc.Claims{}, templated, ErrTenantID},
		{"tid a number", common, issuerOf(contosoTID), oidc.Claims{"tid": 1.0}, templated, ErrTenantID},
		{"tid a domain", common, authority + "/contoso.example/v2.0", oidc.Claims{"tid": "contoso.example"}, templated, ErrTenantID},
		{"tid the placeholder", common, template, oidc.Claims{"tid": "{tenantid}"}, templated, ErrTenantID},
		{"v1.0 token", common, "https://sts.windows.net/" + contosoTID + "/", oidc.Claims{"tid": contosoTID, "ver": "1.0"}, templated, ErrTokenVersion},
		{"v1.0 issuer", common, "https://sts.windows.net/" + contosoTID + "/", oidc.Claims{"tid": contosoTID}, templated, ErrIssuer},
		{"iss of another tenant", common, issuerOf(fabrikamTID), oidc.Claims{"tid": contosoTID}, templated, ErrIssuer},
		{"iss the template itself", common, template, oidc.Claims{"tid": contosoTID}, templated, ErrIssuer},
		{"iss with a trailing slash", common, issuerOf(contosoTID) + "/", oidc.Claims{"tid": contosoTID}, templated, ErrIssuer},
		{"iss in another case", common, issuerOf(contosoTID), oidc.Claims{"tid": "2F6A1C3E-1111-4A2B-8C3D-4E5F6A7B8C9D"}, templated, ErrIssuer},
		{"iss of another cloud", common, "https://login.microsoftonline.us/" + contosoTID + "/v2.0", oidc.Claims{"tid": contosoTID}, templated, ErrIssuer},
		{"no key (HMAC)", common, issuerOf(contosoTID), oidc.Claims{"tid": contosoTID}, nil, ErrKeyIssuer},
		{"key of another tenant", common, issuerOf(contosoTID), oidc.Claims{"tid": contosoTID},
			&oidc.Key{Members: map[string]any{"issuer": issuerOf(fabrikamTID)}}, ErrKeyIssuer},
		{"organizations, consumers tenant", organizations, issuerOf(ConsumersTenantID), oidc.Claims{"tid": ConsumersTenantID}, templated, ErrPersonalAccount},
		{"single tenant, another tid", single, issuerOf(fabrikamTID), oidc.Claims{"tid": fabrikamTID}, templated, ErrTenantMismatch},
		{"single tenant, right tid, wrong iss", single, issuerOf(fabrikamTID), oidc.Claims{"tid": contosoTID}, templated, ErrIssuer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.checkIssuer(tc.iss, tc.claims, tc.key)
			switch {
			case tc.want == nil && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Errorf("error %v, want %v", err, tc.want)
			}
		})
	}
}

func TestIsDomain(t *testing.T) {
	for s, want := range map[string]bool{
		"contoso.example": true, "a-b.c0.example": true, "contoso": false, "-a.example": false,
		"a..example": false, "a/b.example": false, "a.example.": false, "ä.example": false,
	} {
		if got := isDomain(s); got != want {
			t.Errorf("isDomain(%q) = %v, want %v", s, got, want)
		}
	}
}
