package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/testidp"
	"github.com/sallyport/sallyport/internal/upstream"
)

var octocat = testidp.User{
	Subject:  "583231",
	Username: "octocat",
	Name:     "The Octocat",
	Picture:  "https://avatars.example/u/583231",
	GitHubEmails: []testidp.GitHubEmail{
		{Email: "Octo@Example.COM", Primary: true, Verified: true, Visibility: ptr("private")},
		{Email: "octo@old.example", Verified: true, Visibility: ptr("public")},
	},
}

func TestAuthCodeURL(t *testing.T) {
	p, _ := newProvider(t, startIdP(t, false), func(c *Config) {
		c.AuthURL = "https://github.com/login/oauth/authorize"
		c.AuthParams = map[string]string{"allow_signup": "false"}
	})
	got, err := p.AuthCodeURL(context.Background(), upstream.AuthRequest{
		State: "st", Nonce: "never-sent", CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		RedirectURI: redirectURI, LoginHint: "octocat", Prompt: "select_account",
	})
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	if base := u.Scheme + "://" + u.Host + u.Path; base != "https://github.com/login/oauth/authorize" {
		t.Errorf("endpoint = %s", base)
	}
	want := url.Values{
		"client_id":             {clientID},
		"redirect_uri":          {redirectURI},
		"response_type":         {"code"},
		"scope":                 {"read:user user:email"},
		"state":                 {"st"},
		"code_challenge":        {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"},
		"code_challenge_method": {"S256"},
		"login":                 {"octocat"},
		"prompt":                {"select_account"},
		"allow_signup":          {"false"},
	}
	if diff := cmp.Diff(want, u.Query()); diff != "" {
		t.Errorf("query (-want +got):\n%s", diff)
	}
}

func TestAuthCodeURLPromptOtherThanSelectAccountIsDropped(t *testing.T) {
	p, _ := newProvider(t, startIdP(t, false), nil)
	got, err := p.AuthCodeURL(context.Background(), upstream.AuthRequest{State: "s", CodeChallenge: "c", RedirectURI: redirectURI, Prompt: "consent"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got, "prompt=") {
		t.Errorf("URL %s carries a prompt GitHub does not know", got)
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
	idp := startIdP(t, false, octocat)
	p, _ := newProvider(t, idp, nil)
	got, err := p.Exchange(context.Background(), signIn(t, idp, p))
	if err != nil {
		t.Fatal(err)
	}
	want := upstream.Identity{
		Subject:       "583231",
		Email:         "octo@example.com",
		EmailVerified: true,
		Name:          "The Octocat",
		Picture:       "https://avatars.example/u/583231",
		Username:      "octocat",
		Claims: map[string]any{
			"id": int64(583231), "login": "octocat", "name": "The Octocat",
			"avatar_url": "https://avatars.example/u/583231", "html_url": idp.Issuer(testidp.GitHub) + "/octocat",
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("identity (-want +got):\n%s", diff)
	}
}

// The subject is the numeric id, so a renamed login is the same identity
// and a login is never a key.
func TestSubjectIsNumericIDNotLogin(t *testing.T) {
	idp := startIdP(t, false, testidp.User{Subject: "42", Username: "1337"})
	p, _ := newProvider(t, idp, nil)
	first, err := p.Exchange(context.Background(), signIn(t, idp, p))
	if err != nil {
		t.Fatal(err)
	}
	if err := idp.AddUser(testidp.GitHub, testidp.User{Subject: "42", Username: "renamed"}); err != nil {
		t.Fatal(err)
	}
	second, err := p.Exchange(context.Background(), signIn(t, idp, p))
	if err != nil {
		t.Fatal(err)
	}
	got := []string{first.Subject, first.Username, second.Subject, second.Username}
	if diff := cmp.Diff([]string{"42", "1337", "42", "renamed"}, got); diff != "" {
		t.Errorf("subject, login before and after a rename (-want +got):\n%s", diff)
	}
}

func TestExchangeRefusesWrongPKCEVerifier(t *testing.T) {
	idp := startIdP(t, false, octocat)
	p, _ := newProvider(t, idp, nil)
	cb := signIn(t, idp, p)
	cb.CodeVerifier = strings.Repeat("x", 43)
	_, err := p.Exchange(context.Background(), cb)
	if got := outcome.CodeOf(err); got != outcome.CodeExchangeFailed {
		t.Fatalf("outcome = %q (%v), want %q", got, err, outcome.CodeExchangeFailed)
	}
}

func TestEmail(t *testing.T) {
	many := func(n, primary int, verified bool) []testidp.GitHubEmail {
		out := make([]testidp.GitHubEmail, n)
		for i := range out {
			out[i] = testidp.GitHubEmail{Email: fmt.Sprintf("n%04d@example.com", i), Verified: true}
		}
		out[primary] = testidp.GitHubEmail{Email: "Primary@Example.com", Primary: true, Verified: verified}
		return out
	}
	tests := []struct {
		name         string
		emails       []testidp.GitHubEmail
		scopes       []string
		wantEmail    string
		wantVerified bool
		wantRequests int // GET /user/emails
	}{
		{
			name:      "verified primary on the first page",
			emails:    many(3, 1, true),
			wantEmail: "primary@example.com", wantVerified: true, wantRequests: 1,
		},
		{
			name:      "verified primary on page 2",
			emails:    many(150, 120, true),
			wantEmail: "primary@example.com", wantVerified: true, wantRequests: 2,
		},
		{
			name:         "primary beyond the page bound",
			emails:       many(MaxEmailPages*100+50, MaxEmailPages*100+10, true),
			wantRequests: MaxEmailPages,
		},
		{
			name:         "unverified primary is ignored, verified others too",
			emails:       many(3, 0, false),
			wantRequests: 1,
		},
		{
			name: "only a verified non-primary address",
			emails: []testidp.GitHubEmail{
				{Email: "other@example.com", Verified: true, Visibility: ptr("private")},
			},
			wantRequests: 1,
		},
		{
			name: "public email of /user is ignored",
			emails: []testidp.GitHubEmail{
				{Email: "public@example.com", Verified: true, Visibility: ptr("public")},
				{Email: "main@example.com", Primary: true, Verified: false},
			},
			wantRequests: 1,
		},
		{
			name: "without user:email, /user/emails is not read",
			emails: []testidp.GitHubEmail{
				{Email: "public@example.com", Primary: true, Verified: true, Visibility: ptr("public")},
			},
			scopes:       []string{"read:user"},
			wantRequests: 0,
		},
		{
			name: "the wider user scope allows /user/emails",
			emails: []testidp.GitHubEmail{
				{Email: "main@example.com", Primary: true, Verified: true},
			},
			scopes:    []string{"user"},
			wantEmail: "main@example.com", wantVerified: true, wantRequests: 1,
		},
		{
			name:         "no addresses at all",
			wantRequests: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idp := startIdP(t, false, testidp.User{Subject: "7", Username: "seven", GitHubEmails: tt.emails})
			p, logs := newProvider(t, idp, func(c *Config) { c.Scopes = tt.scopes })
			id, err := p.Exchange(context.Background(), signIn(t, idp, p))
			if err != nil {
				t.Fatal(err)
			}
			got := []any{id.Email, id.EmailVerified, idp.Requests(testidp.GitHub, testidp.EndpointEmails)}
			want := []any{tt.wantEmail, tt.wantVerified, tt.wantRequests}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("email, verified, /user/emails requests (-want +got):\n%s", diff)
			}
			if tt.wantRequests == 0 && !strings.Contains(logs.String(), "not granted user:email") {
				t.Errorf("no debug line about the missing scope; logs:\n%s", logs)
			}
		})
	}
}

func TestExchangeCodeFailures(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(t *testing.T, idp *testidp.IdP, p *Provider, cb upstream.Callback) (*Provider, upstream.Callback)
		wantCause string
	}{
		{
			name: "replayed code: bad_verification_code with HTTP 200",
			setup: func(t *testing.T, idp *testidp.IdP, p *Provider, cb upstream.Callback) (*Provider, upstream.Callback) {
				if _, err := p.Exchange(context.Background(), cb); err != nil {
					t.Fatal(err)
				}
				return p, cb
			},
			wantCause: "bad_verification_code",
		},
		{
			name: "token error: bad_verification_code with HTTP 200",
			setup: func(t *testing.T, idp *testidp.IdP, p *Provider, cb upstream.Callback) (*Provider, upstream.Callback) {
				if err := idp.Misbehave(testidp.GitHub, testidp.Misbehavior{TokenError: true}); err != nil {
					t.Fatal(err)
				}
				return p, cb
			},
			wantCause: "bad_verification_code",
		},
		{
			name: "wrong client secret",
			setup: func(t *testing.T, idp *testidp.IdP, _ *Provider, cb upstream.Callback) (*Provider, upstream.Callback) {
				p, _ := newProvider(t, idp, func(c *Config) { c.ClientSecret = "wrong" })
				return p, cb
			},
			wantCause: "incorrect_client_credentials",
		},
		{
			name: "token endpoint unreachable",
			setup: func(t *testing.T, idp *testidp.IdP, _ *Provider, cb upstream.Callback) (*Provider, upstream.Callback) {
				p, _ := newProvider(t, idp, func(c *Config) { c.TokenURL = idp.URL() + "/nowhere" })
				return p, cb
			},
			wantCause: "HTTP 404",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idp := startIdP(t, false, octocat)
			p, _ := newProvider(t, idp, nil)
			p, cb := tt.setup(t, idp, p, signIn(t, idp, p))
			_, err := p.Exchange(context.Background(), cb)
			if got := outcome.CodeOf(err); got != outcome.CodeExchangeFailed {
				t.Fatalf("outcome = %q (%v), want %q", got, err, outcome.CodeExchangeFailed)
			}
			if !errors.Is(err, errToken) || !strings.Contains(err.Error(), tt.wantCause) {
				t.Errorf("cause = %v, want errToken mentioning %q", err, tt.wantCause)
			}
		})
	}
}

func TestExchangeUpstreamErrors(t *testing.T) {
	idp := startIdP(t, false, octocat)
	p, _ := newProvider(t, idp, nil)
	if err := idp.Misbehave(testidp.GitHub, testidp.Misbehavior{ErrorCallback: true}); err != nil {
		t.Fatal(err)
	}
	denied := signIn(t, idp, p)
	if denied.Params.Get("error") != "access_denied" {
		t.Fatalf("testidp sent %v, want an error callback", denied.Params)
	}
	for name, tt := range map[string]struct {
		cb    upstream.Callback
		cause error
	}{
		"error=access_denied": {denied, errCallback},
		"no code":             {upstream.Callback{Params: url.Values{"state": {"s"}}}, errNoCode},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := p.Exchange(context.Background(), tt.cb)
			if got := outcome.CodeOf(err); got != outcome.UpstreamError {
				t.Fatalf("outcome = %q (%v), want %q", got, err, outcome.UpstreamError)
			}
			if !errors.Is(err, tt.cause) {
				t.Errorf("cause = %v, want %v", err, tt.cause)
			}
		})
	}
	if n := idp.Requests(testidp.GitHub, testidp.EndpointToken); n != 0 {
		t.Errorf("the token endpoint was called %d times after error callbacks", n)
	}
}

func TestExchangeRefusesUnusableID(t *testing.T) {
	for name, id := range map[string]any{
		"null":      nil,
		"string":    "583231",
		"zero":      0,
		"negative":  -5,
		"fraction":  1.5,
		"too large": 1e30,
	} {
		t.Run(name, func(t *testing.T) {
			claims := map[string]any{"id": id}
			idp := startIdP(t, false, testidp.User{Subject: "9", Username: "nine", Claims: claims})
			rec := &recorder{base: idp.Client().Transport}
			p, logs := newProvider(t, idp, func(c *Config) { c.HTTPClient = &http.Client{Transport: rec} })
			_, err := p.Exchange(context.Background(), signIn(t, idp, p))
			if got := outcome.CodeOf(err); got != outcome.IdentityInvalid {
				t.Fatalf("outcome = %q (%v), want %q", got, err, outcome.IdentityInvalid)
			}
			if !errors.Is(err, errIdentity) {
				t.Errorf("cause = %v, want errIdentity", err)
			}
			tokens := rec.seen()
			if len(tokens) == 0 {
				t.Fatal("no access token was sent to /user")
			}
			for _, tok := range tokens {
				if strings.Contains(err.Error(), tok) || strings.Contains(logs.String(), tok) {
					t.Errorf("the access token leaked into the error or the logs")
				}
			}
		})
	}
}

func TestEnterpriseEndpoints(t *testing.T) {
	p, err := New(Config{ClientID: clientID, ClientSecret: clientSecret, BaseURL: "https://GitHub.Example.com/"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := p.AuthCodeURL(context.Background(), upstream.AuthRequest{State: "s", CodeChallenge: "c", RedirectURI: redirectURI})
	if err != nil {
		t.Fatal(err)
	}
	got := []any{strings.Split(u, "?")[0], p.oauth.Endpoint.TokenURL, p.apiURL("/user"), p.enterprise}
	want := []any{
		"https://github.example.com/login/oauth/authorize",
		"https://github.example.com/login/oauth/access_token",
		"https://github.example.com/api/v3/user",
		true,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("authorize, token, /user, enterprise (-want +got):\n%s", diff)
	}

	dot, err := New(Config{ClientID: clientID, ClientSecret: clientSecret, BaseURL: "https://github.com"})
	if err != nil {
		t.Fatal(err)
	}
	got = []any{dot.oauth.Endpoint.AuthURL, dot.oauth.Endpoint.TokenURL, dot.apiURL("/user"), dot.enterprise}
	want = []any{DefaultAuthURL, DefaultTokenURL, DefaultAPIBaseURL + "/user", false}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("BaseURL https://github.com: authorize, token, /user, enterprise (-want +got):\n%s", diff)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	ok := Config{ClientID: clientID, ClientSecret: clientSecret}
	tests := map[string]func(*Config){
		"no client id":                  func(c *Config) { c.ClientID = "" },
		"no client secret":              func(c *Config) { c.ClientSecret = "" },
		"scope with a space":            func(c *Config) { c.Scopes = []string{"read:user user:email"} },
		"scope with a comma":            func(c *Config) { c.Scopes = []string{"read:user,user:email"} },
		"reserved auth param":           func(c *Config) { c.AuthParams = map[string]string{"State": "x"} },
		"base URL over http":            func(c *Config) { c.BaseURL = "http://github.example.com" },
		"base URL without scheme":       func(c *Config) { c.BaseURL = "github.example.com" },
		"base URL ftp":                  func(c *Config) { c.BaseURL = "ftp://github.example.com" },
		"base URL with user info":       func(c *Config) { c.BaseURL = "https://u:p@github.example.com" },
		"base URL with query":           func(c *Config) { c.BaseURL = "https://github.example.com/?x=1" },
		"base URL with fragment":        func(c *Config) { c.BaseURL = "https://github.example.com/#x" },
		"trust emails without BaseURL":  func(c *Config) { c.TrustEnterpriseEmails = true },
		"trust emails on github.com":    func(c *Config) { c.BaseURL, c.TrustEnterpriseEmails = "https://github.com", true },
		"API base URL not absolute":     func(c *Config) { c.APIBaseURL = "/api" },
		"token URL with another scheme": func(c *Config) { c.TokenURL = "file:///etc/passwd" },
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
	loop := ok
	loop.BaseURL = "http://127.0.0.1:8443"
	if _, err := New(loop); err != nil {
		t.Errorf("New refused an http base URL on loopback: %v", err)
	}
}

// TestEnterpriseEmails signs in through a GitHub Enterprise Server whose
// OAuth endpoints come from BaseURL alone (testidp serves them under
// BASE/login/oauth/*, over https); only the API base is overridden,
// because testidp serves it at BASE/api rather than BASE/api/v3.
func TestEnterpriseEmails(t *testing.T) {
	tests := []struct {
		name         string
		trust        bool
		verified     bool // what the server says about the primary address
		wantVerified bool
	}{
		{"untrusted, unverified primary", false, false, false},
		{"untrusted, primary said to be verified", false, true, false},
		{"trusted, unverified primary", true, false, true},
		{"trusted, verified primary", true, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idp := startIdP(t, true, testidp.User{Subject: "11", Username: "ghes", GitHubEmails: []testidp.GitHubEmail{
				{Email: "ghes@corp.example", Primary: true, Verified: tt.verified},
			}})
			p, logs := newProvider(t, idp, func(c *Config) {
				c.AuthURL, c.TokenURL = "", ""
				c.BaseURL = idp.Issuer(testidp.GitHub)
				c.TrustEnterpriseEmails = tt.trust
			})
			id, err := p.Exchange(context.Background(), signIn(t, idp, p))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]any{"11", "ghes@corp.example", tt.wantVerified}, []any{id.Subject, id.Email, id.EmailVerified}); diff != "" {
				t.Errorf("subject, email, verified (-want +got):\n%s", diff)
			}
			if warned := strings.Contains(logs.String(), "TrustEnterpriseEmails is on"); warned != tt.trust {
				t.Errorf("warning logged = %v, want %v", warned, tt.trust)
			}
		})
	}
}

func TestLinkNext(t *testing.T) {
	const api = "https://api.github.com/user/emails"
	tests := []struct {
		name   string
		values []string
		want   string
	}{
		{"next and last", []string{`<` + api + `?page=2&per_page=100>; rel="next", <` + api + `?page=5&per_page=100>; rel="last"`}, api + "?page=2&per_page=100"},
		{"last page", []string{`<` + api + `?page=1>; rel="first", <` + api + `?page=4>; rel="prev"`}, ""},
		{"next after prev", []string{`<a>; rel="prev", <b>; rel="next"`}, "b"},
		{"several rel values", []string{`<c>; rel="last next"`}, "c"},
		{"unquoted, upper case", []string{`<d>; REL=next`}, "d"},
		{"second header value", []string{`<a>; rel="prev"`, `<e>; rel="next"`}, "e"},
		{"no header", nil, ""},
		{"garbage", []string{`rel="next"`}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := linkNext(tt.values); got != tt.want {
				t.Errorf("linkNext(%q) = %q, want %q", tt.values, got, tt.want)
			}
		})
	}
}

// The access token goes with every page, so a next link must stay on the
// API's /user/emails.
func TestNextPageStaysOnTheAPI(t *testing.T) {
	p, err := New(Config{ClientID: clientID, ClientSecret: clientSecret})
	if err != nil {
		t.Fatal(err)
	}
	cur, _ := url.Parse(DefaultAPIBaseURL + "/user/emails?per_page=100")
	tests := []struct {
		link    string
		want    string
		wantErr bool
	}{
		{`<https://api.github.com/user/emails?page=2>; rel="next"`, "https://api.github.com/user/emails?page=2", false},
		{`</user/emails?page=3>; rel="next"`, "https://api.github.com/user/emails?page=3", false},
		{`<https://evil.example/user/emails?page=2>; rel="next"`, "", true},
		{`<http://api.github.com/user/emails?page=2>; rel="next"`, "", true},
		{`<https://api.github.com/user/repos?page=2>; rel="next"`, "", true},
		{`<https://x@api.github.com/user/emails?page=2>; rel="next"`, "", true},
	}
	for _, tt := range tests {
		got, err := p.nextPage(cur, []string{tt.link})
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("nextPage(%s) = %q, %v; want %q, error %v", tt.link, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !errors.Is(err, errAPI) {
			t.Errorf("nextPage(%s) error %v is not errAPI", tt.link, err)
		}
	}
}
