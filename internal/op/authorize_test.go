package op

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sallyport/sallyport/internal/store"
)

// slugsUpstream is an Upstream with a fixed list of active connections;
// parseAuthorize only asks for the list.
type slugsUpstream []string

func (s slugsUpstream) ConnectionSlugs(context.Context) ([]string, error) { return s, nil }

func (slugsUpstream) BeginForRequest(http.ResponseWriter, *http.Request, string, *store.AuthzRequest, string, string) (string, error) {
	return "", errors.New("op test: BeginForRequest is not used here")
}

// rfc7636Verifier and rfc7636Challenge are the S256 example of RFC 7636
// Appendix B.
const (
	rfc7636Verifier  = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	rfc7636Challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
)

func TestParseAuthorize(t *testing.T) {
	const redirect = "https://app.example.com/cb"
	confidential := store.Client{ID: "app"}
	public := store.Client{ID: "spa", Public: true}
	restricted := store.Client{ID: "app", AllowedConnections: []string{"corp"}}
	p := &Provider{upstream: slugsUpstream{"corp", "other"}}

	base := func() url.Values {
		return url.Values{"client_id": {"app"}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {"openid email"},
			"state": {"st"}, "nonce": {"n"}, "code_challenge": {rfc7636Challenge}, "code_challenge_method": {"S256"}}
	}
	want := func(tweak func(*authzParams)) *authzParams {
		ap := authzParams{ClientID: "app", RedirectURI: redirect, State: "st", Nonce: "n", Scopes: []string{"openid", "email"},
			CodeChallenge: rfc7636Challenge, CodeChallengeMethod: "S256", MaxAge: -1}
		if tweak != nil {
			tweak(&ap)
		}
		return &ap
	}
	tests := []struct {
		name    string
		client  store.Client
		edit    func(url.Values)
		want    *authzParams // nil when refused
		wantErr string       // the OAuth error code of a refusal
	}{
		{name: "S256", client: confidential, want: want(nil)},
		{name: "confidential without PKCE", client: confidential, edit: func(v url.Values) { v.Del("code_challenge"); v.Del("code_challenge_method") },
			want: want(func(ap *authzParams) { ap.CodeChallenge, ap.CodeChallengeMethod = "", "" })},
		{name: "public with S256", client: public, want: want(func(ap *authzParams) { ap.ClientID = "spa" })},

		// PKCE: S256 only, required for public clients, no downgrade.
		{name: "public without PKCE", client: public, edit: func(v url.Values) { v.Del("code_challenge"); v.Del("code_challenge_method") }, wantErr: "invalid_request"},
		{name: "plain", client: confidential, edit: func(v url.Values) { v.Set("code_challenge", rfc7636Verifier); v.Set("code_challenge_method", "plain") }, wantErr: "invalid_request"},
		{name: "public with plain", client: public, edit: func(v url.Values) { v.Set("code_challenge", rfc7636Verifier); v.Set("code_challenge_method", "plain") }, wantErr: "invalid_request"},
		{name: "challenge without method (plain by default)", client: confidential, edit: func(v url.Values) { v.Del("code_challenge_method") }, wantErr: "invalid_request"},
		{name: "method without challenge", client: confidential, edit: func(v url.Values) { v.Del("code_challenge") }, wantErr: "invalid_request"},
		{name: "lower-case method", client: confidential, edit: func(v url.Values) { v.Set("code_challenge_method", "s256") }, wantErr: "invalid_request"},
		{name: "challenge too short", client: confidential, edit: func(v url.Values) { v.Set("code_challenge", rfc7636Challenge[:42]) }, wantErr: "invalid_request"},
		{name: "challenge with a foreign character", client: confidential, edit: func(v url.Values) { v.Set("code_challenge", rfc7636Challenge[:42]+"+") }, wantErr: "invalid_request"},

		// Response type and mode.
		{name: "no response_type", client: confidential, edit: func(v url.Values) { v.Del("response_type") }, wantErr: "invalid_request"},
		{name: "implicit", client: confidential, edit: func(v url.Values) { v.Set("response_type", "token") }, wantErr: "unsupported_response_type"},
		{name: "hybrid", client: confidential, edit: func(v url.Values) { v.Set("response_type", "code id_token") }, wantErr: "unsupported_response_type"},
		{name: "response_mode=fragment", client: confidential, edit: func(v url.Values) { v.Set("response_mode", "fragment") }, wantErr: "invalid_request"},
		{name: "response_mode=query", client: confidential, edit: func(v url.Values) { v.Set("response_mode", "query") }, want: want(nil)},

		// Scopes: openid required, unknown ones dropped, canonical order.
		{name: "no openid", client: confidential, edit: func(v url.Values) { v.Set("scope", "email profile") }, wantErr: "invalid_scope"},
		{name: "unknown scopes dropped", client: confidential, edit: func(v url.Values) { v.Set("scope", "offline_access admin email openid") },
			want: want(func(ap *authzParams) { ap.Scopes = []string{"openid", "email", "offline_access"} })},

		// Each parameter once; no request objects.
		{name: "state twice", client: confidential, edit: func(v url.Values) { v.Add("state", "other") }, wantErr: "invalid_request"},
		{name: "code_challenge twice", client: confidential, edit: func(v url.Values) { v.Add("code_challenge", rfc7636Challenge) }, wantErr: "invalid_request"},
		{name: "request object", client: confidential, edit: func(v url.Values) { v.Set("request", "a.b.c") }, wantErr: "request_not_supported"},
		{name: "request_uri", client: confidential, edit: func(v url.Values) { v.Set("request_uri", "https://evil.example/r") }, wantErr: "request_uri_not_supported"},

		// Lengths.
		{name: "state too long", client: confidential, edit: func(v url.Values) { v.Set("state", strings.Repeat("s", maxStateLen+1)) }, wantErr: "invalid_request"},
		{name: "nonce too long", client: confidential, edit: func(v url.Values) { v.Set("nonce", strings.Repeat("n", maxNonceLen+1)) }, wantErr: "invalid_request"},
		{name: "login_hint too long", client: confidential, edit: func(v url.Values) { v.Set("login_hint", strings.Repeat("h", maxLoginHintLen+1)) }, wantErr: "invalid_request"},

		// prompt and max_age.
		{name: "prompt=none login", client: confidential, edit: func(v url.Values) { v.Set("prompt", "none login") }, wantErr: "invalid_request"},
		{name: "unknown prompt", client: confidential, edit: func(v url.Values) { v.Set("prompt", "sometimes") }, wantErr: "invalid_request"},
		{name: "prompt=login consent", client: confidential, edit: func(v url.Values) { v.Set("prompt", "login consent") },
			want: want(func(ap *authzParams) { ap.Prompt = []string{"login", "consent"} })},
		{name: "negative max_age", client: confidential, edit: func(v url.Values) { v.Set("max_age", "-1") }, wantErr: "invalid_request"},
		{name: "max_age not a number", client: confidential, edit: func(v url.Values) { v.Set("max_age", "1h") }, wantErr: "invalid_request"},
		{name: "max_age=0", client: confidential, edit: func(v url.Values) { v.Set("max_age", "0") }, want: want(func(ap *authzParams) { ap.MaxAge = 0 })},

		// connection= and allowed_connections.
		{name: "connection allowed", client: restricted, edit: func(v url.Values) { v.Set("connection", "corp"); v.Set("login_hint", "ann@example.com") },
			want: want(func(ap *authzParams) { ap.Connection, ap.LoginHint = "corp", "ann@example.com" })},
		{name: "connection outside allowed_connections", client: restricted, edit: func(v url.Values) { v.Set("connection", "other") }, wantErr: "access_denied"},
		{name: "connection that does not exist", client: confidential, edit: func(v url.Values) { v.Set("connection", "nope") }, wantErr: "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			values := base()
			values.Set("client_id", tt.client.ID)
			if tt.edit != nil {
				tt.edit(values)
			}
			got, aerr := p.parseAuthorize(context.Background(), values, tt.client)
			if tt.want == nil {
				if aerr == nil || aerr.oauth != tt.wantErr {
					t.Fatalf("parseAuthorize = %+v, %v; want %s", got, aerr, tt.wantErr)
				}
				return
			}
			if aerr != nil {
				t.Fatalf("parseAuthorize refused: %v", aerr)
			}
			if diff := cmp.Diff(*tt.want, got); diff != "" {
				t.Errorf("parseAuthorize (-want +got):\n%s", diff)
			}
		})
	}
}
