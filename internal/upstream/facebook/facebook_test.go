package facebook

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/testidp"
	"github.com/sallyport/sallyport/internal/upstream"
)

var ann = testidp.User{
	Subject:       "10158000000000001",
	Name:          "Ann Example",
	Email:         "Ann@Example.COM",
	EmailVerified: true, // what testidp is told; Facebook never says so
	Picture:       "https://scontent.example/ann.jpg",
}

func TestAuthCodeURL(t *testing.T) {
	tests := []struct {
		name     string
		version  string
		endpoint string
	}{
		{"default version", "", "https://www.facebook.com/v19.0/dialog/oauth"},
		{"pinned version", "v21.0", "https://www.facebook.com/v21.0/dialog/oauth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(Config{ClientID: clientID, ClientSecret: clientSecret, GraphVersion: tt.version,
				AuthParams: map[string]string{"display": "popup"}})
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.AuthCodeURL(context.Background(), upstream.AuthRequest{
				State: "st", Nonce: "never-sent", CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
				RedirectURI: redirectURI, LoginHint: "ann@example.com", Prompt: "login",
			})
			if err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse(got)
			if err != nil {
				t.Fatal(err)
			}
			if base := u.Scheme + "://" + u.Host + u.Path; base != tt.endpoint {
				t.Errorf("endpoint = %s, want %s", base, tt.endpoint)
			}
			want := url.Values{
				"client_id":             {clientID},
				"redirect_uri":          {redirectURI},
				"response_type":         {"code"},
				"scope":                 {"email,public_profile"},
				"state":                 {"st"},
				"code_challenge":        {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"},
				"code_challenge_method": {"S256"},
				"auth_type":             {"reauthenticate"},
				"display":               {"popup"},
			}
			if diff := cmp.Diff(want, u.Query()); diff != "" {
				t.Errorf("query (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGraphURLsFollowTheVersion(t *testing.T) {
	p, err := New(Config{ClientID: clientID, ClientSecret: clientSecret, GraphVersion: "v21.0"})
	if err != nil {
		t.Fatal(err)
	}
	got := []string{p.oauth.Endpoint.TokenURL, p.meURL}
	want := []string{"https://graph.facebook.com/v21.0/oauth/access_token", "https://graph.facebook.com/v21.0/me"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("token and /me URLs (-want +got):\n%s", diff)
	}
}

func TestAuthCodeURLRefusesIncompleteRequest(t *testing.T) {
	p, _ := newProvider(t, startIdP(t, false), nil)
	for _, req := range []upstream.AuthRequest{
		{CodeChallenge: "c", RedirectURI: redirectURI},
		{State: "s", RedirectURI: redirectURI},
		{State: "s", CodeChallenge: "c"},
	} {
		if _, err := p.AuthCodeURL(context.Background(), req); err == nil {
			t.Errorf("AuthCodeURL(%+v) succeeded", req)
		}
	}
}

func TestExchange(t *testing.T) {
	idp := startIdP(t, false, ann)
	p, _ := newProvider(t, idp, nil)
	got, err := p.Exchange(context.Background(), signIn(t, idp, p))
	if err != nil {
		t.Fatal(err)
	}
	want := upstream.Identity{
		Subject:       "10158000000000001",
		Email:         "ann@example.com",
		EmailVerified: false,
		Name:          "Ann Example",
		Picture:       "https://scontent.example/ann.jpg",
		Claims: map[string]any{
			"id": "10158000000000001", "name": "Ann Example", "first_name": "Ann", "last_name": "Example",
			"email": "Ann@Example.COM", "picture": "https://scontent.example/ann.jpg",
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("identity (-want +got):\n%s", diff)
	}
}

// The HMAC itself, on the well-known HMAC-SHA256 example
// (key "key", message "The quick brown fox jumps over the lazy dog").
func TestAppSecretProofVector(t *testing.T) {
	got := AppSecretProof("key", "The quick brown fox jumps over the lazy dog")
	const want = "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
	if got != want {
		t.Errorf("AppSecretProof = %s, want %s", got, want)
	}
}

// GET /me carries the token in the Authorization header only and the
// proof computed from it; testidp refuses a call without a correct proof,
// so the sign-in succeeding is half the test.
func TestMeRequest(t *testing.T) {
	idp := startIdP(t, false, ann)
	rec := &recorder{base: idp.Client().Transport}
	p, _ := newProvider(t, idp, func(c *Config) { c.HTTPClient = &http.Client{Transport: rec} })
	if _, err := p.Exchange(context.Background(), signIn(t, idp, p)); err != nil {
		t.Fatal(err)
	}
	var me *sent
	for _, r := range rec.seen() {
		if strings.HasSuffix(r.path, "/"+DefaultGraphVersion+"/me") {
			me = &r
		}
	}
	if me == nil {
		t.Fatalf("no GET /me among %+v", rec.seen())
	}
	if me.bearer == "" {
		t.Fatal("GET /me carried no bearer token")
	}
	want := url.Values{"fields": {MeFields}, "appsecret_proof": {AppSecretProof(clientSecret, me.bearer)}}
	if diff := cmp.Diff(want, me.query); diff != "" {
		t.Errorf("GET /me query (-want +got):\n%s", diff)
	}
}

func TestWrongAppSecret(t *testing.T) {
	t.Run("at the token endpoint", func(t *testing.T) {
		idp := startIdP(t, false, ann)
		p, _ := newProvider(t, idp, func(c *Config) { c.ClientSecret = "not-the-secret" })
		_, err := p.Exchange(context.Background(), signIn(t, idp, p))
		if got := outcome.CodeOf(err); got != outcome.CodeExchangeFailed || !errors.Is(err, errToken) {
			t.Fatalf("error = %v (%q), want %q from errToken", err, got, outcome.CodeExchangeFailed)
		}
		if idp.Requests(testidp.Facebook, testidp.EndpointUserinfo) != 0 {
			t.Error("GET /me was called after the code exchange failed")
		}
	})

	// The app secret changes at Facebook between the code exchange and
	// GET /me, so the proof is made with a secret Facebook no longer
	// holds: Graph refuses it, and so does Exchange.
	t.Run("in the appsecret_proof", func(t *testing.T) {
		idp := startIdP(t, false, ann)
		tokenPath := strings.TrimPrefix(idp.Endpoints(testidp.Facebook).Token, idp.URL())
		rec := &recorder{base: idp.Client().Transport, after: func(req *http.Request) {
			if req.URL.Path == tokenPath {
				if err := idp.AddClient(testidp.Facebook, testidp.Client{ID: clientID, Secret: "rotated", RedirectURIs: []string{redirectURI}}); err != nil {
					t.Error(err)
				}
			}
		}}
		p, logs := newProvider(t, idp, func(c *Config) { c.HTTPClient = &http.Client{Transport: rec} })
		_, err := p.Exchange(context.Background(), signIn(t, idp, p))
		if got := outcome.CodeOf(err); got != outcome.CodeExchangeFailed || !errors.Is(err, errGraph) {
			t.Fatalf("error = %v (%q), want %q from errGraph", err, got, outcome.CodeExchangeFailed)
		}
		if !strings.Contains(err.Error(), "appsecret_proof") {
			t.Errorf("cause %v does not say the proof was refused", err)
		}
		for _, r := range rec.seen() {
			for _, secret := range []string{r.bearer, r.query.Get("appsecret_proof")} {
				if secret != "" && (strings.Contains(err.Error(), secret) || strings.Contains(logs.String(), secret)) {
					t.Errorf("a token or proof leaked into the error or the logs: %v", err)
				}
			}
		}
	})
}

func TestEmail(t *testing.T) {
	tests := []struct {
		name      string
		email     string
		scopes    []string
		wantEmail string
	}{
		{"present: normalised, never verified", "Ann@Example.COM", nil, "ann@example.com"},
		{"absent: a phone-only account", "", nil, ""},
		{"not granted: no email permission", "ann@example.com", []string{"public_profile"}, ""},
		{"not an address", "not-an-address", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := ann
			u.Email = tt.email
			idp := startIdP(t, false, u)
			p, _ := newProvider(t, idp, func(c *Config) { c.Scopes = tt.scopes })
			id, err := p.Exchange(context.Background(), signIn(t, idp, p))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]any{tt.wantEmail, false}, []any{id.Email, id.EmailVerified}); diff != "" {
				t.Errorf("email, verified (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSilhouetteIsNoPicture(t *testing.T) {
	u := ann
	u.Picture = ""
	idp := startIdP(t, false, u)
	p, _ := newProvider(t, idp, nil)
	id, err := p.Exchange(context.Background(), signIn(t, idp, p))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := id.Claims["picture"]; id.Picture != "" || ok {
		t.Errorf("picture = %q, claims %v; want none for the default silhouette", id.Picture, id.Claims)
	}
}

func TestExchangeUpstreamErrors(t *testing.T) {
	idp := startIdP(t, false, ann)
	p, _ := newProvider(t, idp, nil)
	if err := idp.Misbehave(testidp.Facebook, testidp.Misbehavior{ErrorCallback: true}); err != nil {
		t.Fatal(err)
	}
	denied := signIn(t, idp, p)
	if denied.Params.Get("error") != "access_denied" {
		t.Fatalf("testidp sent %v, want an error callback", denied.Params)
	}
	for name, tt := range map[string]struct {
		cb    upstream.Callback
		cause error
		says  string
	}{
		"error=access_denied": {denied, errCallback, `error_reason="user_denied"`},
		"no code":             {upstream.Callback{Params: url.Values{"state": {"s"}}}, errNoCode, ""},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := p.Exchange(context.Background(), tt.cb)
			if got := outcome.CodeOf(err); got != outcome.UpstreamError {
				t.Fatalf("outcome = %q (%v), want %q", got, err, outcome.UpstreamError)
			}
			if !errors.Is(err, tt.cause) || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("cause = %v, want %v saying %s", err, tt.cause, tt.says)
			}
		})
	}
	if n := idp.Requests(testidp.Facebook, testidp.EndpointToken); n != 0 {
		t.Errorf("the token endpoint was called %d times after error callbacks", n)
	}
}

func TestExchangeCodeFailures(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, idp *testidp.IdP, cb *upstream.Callback)
		says  string
	}{
		{
			name: "token error",
			setup: func(t *testing.T, idp *testidp.IdP, _ *upstream.Callback) {
				if err := idp.Misbehave(testidp.Facebook, testidp.Misbehavior{TokenError: true}); err != nil {
					t.Fatal(err)
				}
			},
			says: "OAuthException code 100 subcode 36009",
		},
		{
			name:  "wrong PKCE verifier",
			setup: func(_ *testing.T, _ *testidp.IdP, cb *upstream.Callback) { cb.CodeVerifier = strings.Repeat("x", 43) },
			says:  "HTTP 400",
		},
		{
			name:  "another redirect URI",
			setup: func(_ *testing.T, _ *testidp.IdP, cb *upstream.Callback) { cb.RedirectURI += "/elsewhere" },
			says:  "subcode 36008",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idp := startIdP(t, false, ann)
			p, _ := newProvider(t, idp, nil)
			cb := signIn(t, idp, p)
			tt.setup(t, idp, &cb)
			_, err := p.Exchange(context.Background(), cb)
			if got := outcome.CodeOf(err); got != outcome.CodeExchangeFailed || !errors.Is(err, errToken) {
				t.Fatalf("error = %v (%q), want %q from errToken", err, got, outcome.CodeExchangeFailed)
			}
			if !strings.Contains(err.Error(), tt.says) {
				t.Errorf("cause %v does not say %q", err, tt.says)
			}
		})
	}
}

func TestIdentityRefusesUnusableID(t *testing.T) {
	p, _ := newProvider(t, startIdP(t, false), nil)
	for _, body := range []string{`{}`, `{"id":null}`, `{"id":""}`, `{"id":10158000000000001}`, `{"id":"` + strings.Repeat("1", 256) + `"}`} {
		var me meAnswer
		if err := json.Unmarshal([]byte(body), &me); err != nil {
			t.Fatal(err)
		}
		_, err := p.identity(context.Background(), me)
		if got := outcome.CodeOf(err); got != outcome.IdentityInvalid || !errors.Is(err, errIdentity) {
			t.Errorf("identity(%.40s) error = %v (%q), want %q from errIdentity", body, err, got, outcome.IdentityInvalid)
		}
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	ok := Config{ClientID: clientID, ClientSecret: clientSecret}
	tests := map[string]func(*Config){
		"no app id":                   func(c *Config) { c.ClientID = "" },
		"no app secret":               func(c *Config) { c.ClientSecret = "" },
		"version without v":           func(c *Config) { c.GraphVersion = "19.0" },
		"version without minor":       func(c *Config) { c.GraphVersion = "v19" },
		"version not a version":       func(c *Config) { c.GraphVersion = "latest" },
		"version with a path":         func(c *Config) { c.GraphVersion = "v19.0/../me" },
		"scope with a comma":          func(c *Config) { c.Scopes = []string{"email,public_profile"} },
		"scope with a space":          func(c *Config) { c.Scopes = []string{"email public_profile"} },
		"reserved auth param":         func(c *Config) { c.AuthParams = map[string]string{"redirect_uri": "https://evil.example"} },
		"graph base URL not absolute": func(c *Config) { c.GraphBaseURL = "graph.facebook.com" },
		"token URL not http":          func(c *Config) { c.TokenURL = "file:///etc/passwd" },
	}
	for name, mod := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := ok
			mod(&cfg)
			if _, err := New(cfg); err == nil {
				t.Errorf("New accepted %+v", cfg)
			}
		})
	}
}
