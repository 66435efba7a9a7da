package microsoft

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/sallyport/sallyport/internal/testidp"
	"github.com/sallyport/sallyport/internal/upstream"
	"github.com/sallyport/sallyport/internal/upstream/upstreamtest"
)

const (
	clientID     = "entra-app"
	clientSecret = "entra-secret-0123456789"
	redirectURI  = "https://sso.example.com/callback/entra"

	contosoTID  = "2f6a1c3e-1111-4a2b-8c3d-4e5f6a7b8c9d"
	fabrikamTID = "7d2b9e4f-2222-4c3d-9e4f-5a6b7c8d9e0f"
	outsiderTID = "0c0c0c0c-3333-4d4e-8f5a-6b7c8d9e0f1a"

	adeleOID = "11111111-aaaa-4bbb-8ccc-000000000001"
)

// Users of the Entra persona, by Subject (testidp's handle; Entra's sub is
// derived from it and never seen by Sallyport as a key).
var (
	adele = testidp.User{Subject: "adele", Email: "Adele@Contoso.example", Name: "Adele Vance",
		Username: "adele@contoso.example", TenantID: contosoTID,
		Claims: map[string]any{"oid": adeleOID, "xms_edov": true}}
	fabrikamUser = testidp.User{Subject: "fabrikam", Email: "lee@fabrikam.example", Name: "Lee Gu",
		TenantID: fabrikamTID, Claims: map[string]any{"xms_edov": true}}
	outsider = testidp.User{Subject: "outsider", Email: "eve@outsider.example", Name: "Eve",
		TenantID: outsiderTID, Claims: map[string]any{"xms_edov": true}}
	msa = testidp.User{Subject: "msa", Email: "someone@outlook.example", Name: "Someone",
		TenantID: testidp.EntraConsumersTenant, Claims: map[string]any{"xms_edov": true}}
)

func newClock() *upstreamtest.Clock { return upstreamtest.NewClock(upstreamtest.Epoch) }

// startIdP starts testidp over https with our client and users.
func startIdP(t *testing.T, clk *upstreamtest.Clock, users ...testidp.User) *testidp.IdP {
	t.Helper()
	idp := upstreamtest.NewIdP(t, testidp.Config{Now: clk.Now, TLS: true})
	upstreamtest.AddClient(t, idp, testidp.Entra, testidp.Client{ID: clientID, Secret: clientSecret, RedirectURIs: []string{redirectURI}}, users...)
	return idp
}

// config is a provider configuration for testidp's Entra persona.
func config(idp *testidp.IdP, clk *upstreamtest.Clock, tenant string, allowed ...string) Config {
	return Config{
		ClientID: clientID, ClientSecret: clientSecret, Tenant: tenant, AllowedTenants: allowed,
		Authority: idp.EntraAuthority(), HTTPClient: idp.Client(), Now: clk.Now,
	}
}

// newProvider builds a provider from cfg, logging into the returned
// buffer.
func newProvider(t *testing.T, cfg Config) (*Provider, *upstreamtest.LogBuffer) {
	t.Helper()
	var logs *upstreamtest.LogBuffer
	cfg.Logger, logs = upstreamtest.NewLogger()
	p, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p, logs
}

// browser is what a test's browser does to the authorization URL before
// following it (nil: nothing).
type browser func(authURL string) string

// signIn signs subject in through p: it asks p for the authorization URL,
// lets testidp approve it, and returns the callback Sallyport would get.
func signIn(t *testing.T, idp *testidp.IdP, p *Provider, subject string, b browser) upstream.Callback {
	t.Helper()
	if err := idp.SignInAs(testidp.Entra, subject); err != nil {
		t.Fatal(err)
	}
	verifier := oauth2.GenerateVerifier()
	const state, nonce = "state-0123456789", "nonce-0123456789"
	u, err := p.AuthCodeURL(context.Background(), upstream.AuthRequest{
		State: state, Nonce: nonce, CodeChallenge: oauth2.S256ChallengeFromVerifier(verifier), RedirectURI: redirectURI,
	})
	if err != nil {
		t.Fatal(err)
	}
	if b != nil {
		u = b(u)
	}
	params := upstreamtest.Authorize(t, idp.Client(), u)
	if got := params.Get("state"); got != state {
		t.Fatalf("callback state = %q, want %q", got, state)
	}
	return upstream.Callback{Params: params, Nonce: nonce, CodeVerifier: verifier, RedirectURI: redirectURI}
}

// authorize GETs an authorization URL without following the redirect.
func authorize(t *testing.T, idp *testidp.IdP, authURL string) *http.Response {
	t.Helper()
	resp, err := upstreamtest.NoRedirects(idp.Client()).Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// exchange signs subject in and exchanges the callback.
func exchange(t *testing.T, idp *testidp.IdP, p *Provider, subject string) (upstream.Identity, error) {
	t.Helper()
	cb := signIn(t, idp, p, subject, nil)
	return p.Exchange(context.Background(), cb)
}

// rewriter is a transport that stands for an authority misbehaving: it
// rewrites request paths (old to new) and lets jwks edit every JWKS key
// before the provider sees it.
type rewriter struct {
	base     http.RoundTripper
	old, new string
	jwks     func(key map[string]any)
}

func (r *rewriter) RoundTrip(req *http.Request) (*http.Response, error) {
	if r.old != "" && strings.Contains(req.URL.Path, r.old) {
		req = req.Clone(req.Context())
		req.URL.Path = strings.Replace(req.URL.Path, r.old, r.new, 1)
		req.URL.RawPath = ""
	}
	resp, err := r.base.RoundTrip(req)
	if err != nil || r.jwks == nil || !strings.HasSuffix(req.URL.Path, "/discovery/v2.0/keys") {
		return resp, err
	}
	defer resp.Body.Close()
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		return nil, err
	}
	for _, k := range set.Keys {
		r.jwks(k)
	}
	b, err := json.Marshal(set)
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
	return resp, nil
}

// clientWith returns idp's client with r in front of its transport.
func clientWith(idp *testidp.IdP, r *rewriter) *http.Client {
	c := *idp.Client()
	r.base = c.Transport
	c.Transport = r
	return &c
}
