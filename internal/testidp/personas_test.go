package testidp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
)

func TestGoogle(t *testing.T) {
	idp := start(t, Config{})
	ctx, prov, conf := oidcSetup(t, idp, Google)
	must(t, idp.AddUser(Google, User{Subject: "1057", Email: "w@corp.example", EmailVerified: true, Claims: map[string]any{"hd": "corp.example"}}))
	if e := idp.Endpoints(Google); e.Authorize != idp.URL()+"/google/o/oauth2/v2/auth" || e.JWKS != idp.URL()+"/google/oauth2/v3/certs" {
		t.Errorf("endpoints %+v", e)
	}
	v := prov.Verifier(&oidc.Config{ClientID: "app"})

	tok := flow(t, ctx, idp, conf)
	idt, err := v.Verify(ctx, idToken(t, tok))
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	must(t, idt.Claims(&c))
	if c["azp"] != "app" || c["email_verified"] != true || c["hd"] != nil {
		t.Errorf("consumer claims %v", c)
	}

	tok = flow(t, ctx, idp, conf, oauth2.SetAuthURLParam("login_hint", "w@corp.example"))
	_, c = decode(t, idToken(t, tok))
	if c["hd"] != "corp.example" || c["sub"] != "1057" {
		t.Errorf("workspace claims %v", c)
	}

	must(t, idp.SetOptions(Google, Options{LegacyIssuer: true}))
	_, c = decode(t, idToken(t, flow(t, ctx, idp, conf)))
	if want := strings.TrimPrefix(idp.Issuer(Google), "http://"); c["iss"] != want {
		t.Errorf("legacy iss %v, want %q", c["iss"], want)
	}
}

func TestGitLab(t *testing.T) {
	idp := start(t, Config{})
	must(t, idp.AddClient(GitLab, Client{ID: "app", Secret: testSecret, RedirectURIs: []string{testRedirect}}))
	must(t, idp.AddUser(GitLab, User{Subject: "4242", Email: "dev@gitlab.example", EmailVerified: true, Name: "Dev", Username: "dev"}))
	ctx := oidc.ClientContext(t.Context(), idp.Client())
	prov, err := oidc.NewProvider(ctx, idp.Issuer(GitLab))
	if err != nil {
		t.Fatal(err)
	}
	e := idp.Endpoints(GitLab)
	want := Endpoints{Issuer: idp.URL() + "/gitlab", Discovery: idp.URL() + "/gitlab/.well-known/openid-configuration",
		JWKS: idp.URL() + "/gitlab/oauth/discovery/keys", Authorize: idp.URL() + "/gitlab/oauth/authorize",
		Token: idp.URL() + "/gitlab/oauth/token", UserInfo: idp.URL() + "/gitlab/oauth/userinfo"}
	if diff := cmp.Diff(want, e); diff != "" {
		t.Errorf("endpoints (-want +got):\n%s", diff)
	}
	conf := &oauth2.Config{ClientID: "app", ClientSecret: testSecret, Endpoint: prov.Endpoint(), RedirectURL: testRedirect,
		Scopes: []string{"openid", "profile", "email"}}
	tok := flow(t, ctx, idp, conf)
	idt, err := prov.Verifier(&oidc.Config{ClientID: "app"}).Verify(ctx, idToken(t, tok))
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	must(t, idt.Claims(&c))
	if c["sub"] != "4242" || c["email_verified"] != true || c["nickname"] != "dev" {
		t.Errorf("claims %v", c)
	}
	ui, err := prov.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil || ui.Subject != "4242" {
		t.Errorf("userinfo %v %v", ui, err)
	}
}

// appleSecret mints an Apple client secret.
func appleSecret(t *testing.T, key *ecdsa.PrivateKey, kid string, claims jwt.Claims) string {
	t.Helper()
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
		(&jose.SignerOptions{}).WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	s, err := jwt.Signed(sig).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestApple(t *testing.T) {
	idp := start(t, Config{})
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	must(t, idp.AddAppleClient(AppleClient{ID: "com.example.web", TeamID: "TEAM123456", KeyID: "KEY1234567",
		PublicKey: &key.PublicKey, RedirectURIs: []string{testRedirect}}))
	must(t, idp.AddUser(Apple, User{Subject: "001234.abcdef", Email: "x1y2@privaterelay.appleid.com", EmailVerified: true,
		Name: "Jane Appleseed"}))
	if err := idp.AddClient(Apple, Client{ID: "x", Secret: "y", RedirectURIs: []string{testRedirect}}); err == nil {
		t.Error("AddClient took an Apple client with a plain secret")
	}
	ctx := oidc.ClientContext(t.Context(), idp.Client())
	prov, err := oidc.NewProvider(ctx, idp.Issuer(Apple))
	must(t, err)
	now := time.Now()
	good := jwt.Claims{Issuer: "TEAM123456", Subject: "com.example.web", Audience: jwt.Audience{idp.Issuer(Apple)},
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(5 * time.Minute))}
	conf := &oauth2.Config{ClientID: "com.example.web", ClientSecret: appleSecret(t, key, "KEY1234567", good),
		Endpoint: prov.Endpoint(), RedirectURL: testRedirect, Scopes: []string{"openid", "name", "email"}}
	conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams

	// Query mode with name/email is refused, as Apple does.
	resp := get(t, idp, conf.AuthCodeURL("s"))
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(body), "response_mode must be form_post") {
		t.Errorf("query mode: %d %s", resp.StatusCode, body)
	}

	authorize := func() url.Values {
		resp := get(t, idp, conf.AuthCodeURL("st", oauth2.SetAuthURLParam("response_mode", "form_post"), oidc.Nonce("n1")))
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("form_post page: %d", resp.StatusCode)
		}
		req, err := FormPostRequest(resp)
		must(t, err)
		must(t, req.ParseForm())
		if req.URL.String() != testRedirect || req.Method != http.MethodPost {
			t.Errorf("form posts %s to %s", req.Method, req.URL)
		}
		return req.PostForm
	}
	first := authorize()
	var user struct {
		Name  struct{ FirstName, LastName string }
		Email string
	}
	must(t, json.Unmarshal([]byte(first.Get("user")), &user))
	if user.Name.FirstName != "Jane" || user.Name.LastName != "Appleseed" || user.Email != "x1y2@privaterelay.appleid.com" {
		t.Errorf("user field %s", first.Get("user"))
	}
	if first.Get("state") != "st" || first.Has("iss") {
		t.Errorf("form %v", first)
	}
	tok, err := conf.Exchange(ctx, first.Get("code"))
	must(t, err)
	idt, err := prov.Verifier(&oidc.Config{ClientID: "com.example.web"}).Verify(ctx, idToken(t, tok))
	must(t, err)
	_, c := decode(t, idToken(t, tok))
	if c["email_verified"] != "true" || c["is_private_email"] != "true" || idt.Nonce != "n1" || c["name"] != nil {
		t.Errorf("claims %v", c)
	}

	second := authorize()
	if second.Has("user") {
		t.Error("the user field came again on a second authorization")
	}
	must(t, idp.SetOptions(Apple, Options{BoolClaims: true}))
	tok, err = conf.Exchange(ctx, second.Get("code"))
	must(t, err)
	if _, c := decode(t, idToken(t, tok)); c["email_verified"] != true || c["is_private_email"] != true {
		t.Errorf("bool claims %v", c)
	}

	t.Run("client secret", func(t *testing.T) {
		other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		mod := func(f func(*jwt.Claims)) jwt.Claims { c := good; f(&c); return c }
		for name, secret := range map[string]string{
			"wrong key":     appleSecret(t, other, "KEY1234567", good),
			"wrong kid":     appleSecret(t, key, "OTHER", good),
			"wrong iss":     appleSecret(t, key, "KEY1234567", mod(func(c *jwt.Claims) { c.Issuer = "TEAM999999" })),
			"wrong sub":     appleSecret(t, key, "KEY1234567", mod(func(c *jwt.Claims) { c.Subject = "com.other" })),
			"wrong aud":     appleSecret(t, key, "KEY1234567", mod(func(c *jwt.Claims) { c.Audience = jwt.Audience{"https://appleid.apple.com"} })),
			"expired":       appleSecret(t, key, "KEY1234567", mod(func(c *jwt.Claims) { c.Expiry = jwt.NewNumericDate(now.Add(-time.Minute)) })),
			"too long":      appleSecret(t, key, "KEY1234567", mod(func(c *jwt.Claims) { c.Expiry = jwt.NewNumericDate(now.Add(15777001 * time.Second)) })),
			"not a JWT":     "s3cret",
			"HS256 instead": hsSecret(t, good),
		} {
			t.Run(name, func(t *testing.T) {
				c := *conf
				c.ClientSecret = secret
				_, err := c.Exchange(ctx, authorize().Get("code"))
				var re *oauth2.RetrieveError
				if !errors.As(err, &re) || re.ErrorCode != "invalid_client" {
					t.Errorf("exchange: %v", err)
				}
			})
		}
		// The longest allowed lifetime is fine.
		c := *conf
		c.ClientSecret = appleSecret(t, key, "KEY1234567", mod(func(c *jwt.Claims) { c.Expiry = jwt.NewNumericDate(now.Add(15777000 * time.Second)) }))
		if _, err := c.Exchange(ctx, authorize().Get("code")); err != nil {
			t.Errorf("six-month secret: %v", err)
		}
		// client_secret_basic is not accepted.
		c.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
		if _, err := c.Exchange(ctx, authorize().Get("code")); err == nil {
			t.Error("Basic auth accepted")
		}
	})
}

func hsSecret(t *testing.T, claims jwt.Claims) string {
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte(strings.Repeat("k", 32))}, nil)
	must(t, err)
	s, err := jwt.Signed(sig).Claims(claims).Serialize()
	must(t, err)
	return s
}

func githubSetup(t *testing.T) (*IdP, *oauth2.Config) {
	t.Helper()
	idp := start(t, Config{})
	must(t, idp.AddClient(GitHub, Client{ID: "Iv1.abc", Secret: testSecret, RedirectURIs: []string{"http://127.0.0.1:9/callback/github"}}))
	pub, priv := "public", "private"
	var emails []GitHubEmail
	for i := range 45 {
		emails = append(emails, GitHubEmail{Email: "old" + string(rune('a'+i%26)) + string(rune('0'+i/26)) + "@example.com", Visibility: &priv})
	}
	emails = append(emails, GitHubEmail{Email: "octo@example.com", Primary: true, Verified: true, Visibility: &pub})
	must(t, idp.AddUser(GitHub, User{Subject: "583231", Username: "octocat", GitHubEmails: emails}))
	e := idp.Endpoints(GitHub)
	return idp, &oauth2.Config{ClientID: "Iv1.abc", ClientSecret: testSecret, RedirectURL: "http://127.0.0.1:9/callback/github",
		Endpoint: oauth2.Endpoint{AuthURL: e.Authorize, TokenURL: e.Token}, Scopes: []string{"read:user", "user:email"}}
}

func TestGitHub(t *testing.T) {
	idp, conf := githubSetup(t)
	if err := idp.AddUser(GitHub, User{Subject: "octocat", Username: "octocat"}); err == nil {
		t.Error("a non-numeric GitHub id was accepted")
	}
	ctx := oidc.ClientContext(t.Context(), idp.Client())
	verifier := oauth2.GenerateVerifier()
	cb := callback(t, idp, conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
	if cb.Has("iss") || cb.Get("state") != "st" {
		t.Errorf("callback %v", cb)
	}
	tok, err := conf.Exchange(ctx, cb.Get("code"), oauth2.VerifierOption(verifier))
	must(t, err)
	if id, _ := tok.Extra("id_token").(string); tok.Extra("scope") != "read:user,user:email" || id != "" {
		t.Errorf("scope %v, id_token %v", tok.Extra("scope"), tok.Extra("id_token"))
	}

	api := func(u string) (*http.Response, []byte) {
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("Authorization", "token "+tok.AccessToken)
		resp, err := idp.Client().Do(req)
		must(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	_, b := api(idp.Endpoints(GitHub).UserInfo)
	var user map[string]any
	must(t, json.Unmarshal(b, &user))
	if user["id"] != float64(583231) || user["login"] != "octocat" || user["name"] != nil || user["email"] != "octo@example.com" {
		t.Errorf("/user %s", b)
	}

	// Follow the Link header through every page.
	var all []GitHubEmail
	next := idp.Endpoints(GitHub).Emails
	pages := 0
	for next != "" {
		resp, b := api(next)
		var page []GitHubEmail
		must(t, json.Unmarshal(b, &page))
		all = append(all, page...)
		pages++
		next = ""
		for _, l := range strings.Split(resp.Header.Get("Link"), ",") {
			if strings.Contains(l, `rel="next"`) {
				next = strings.Trim(strings.TrimSpace(strings.Split(l, ";")[0]), "<>")
			}
		}
	}
	if pages != 2 || len(all) != 46 || all[45].Email != "octo@example.com" || !all[45].Primary || !all[45].Verified {
		t.Errorf("%d pages, %d emails, last %+v", pages, len(all), all[len(all)-1])
	}
	resp, _ := api(idp.Endpoints(GitHub).Emails + "?page=2&per_page=30")
	if l := resp.Header.Get("Link"); !strings.Contains(l, `rel="prev"`) || strings.Contains(l, `rel="next"`) {
		t.Errorf("page 2 Link %q", l)
	}
}

func TestGitHubTokenEndpoint(t *testing.T) {
	idp, conf := githubSetup(t)
	tokenURL := idp.Endpoints(GitHub).Token
	form := func(code string) url.Values {
		return url.Values{"client_id": {"Iv1.abc"}, "client_secret": {testSecret}, "code": {code}}
	}
	code := func() string { return callback(t, idp, conf.AuthCodeURL("s")).Get("code") }

	resp, b := postForm(t, idp, tokenURL, form(code()), nil)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		t.Errorf("without Accept: Content-Type %q", ct)
	}
	if v, err := url.ParseQuery(string(b)); err != nil || v.Get("access_token") == "" || v.Get("token_type") != "bearer" {
		t.Errorf("form body %s", b)
	}
	resp, b = postForm(t, idp, tokenURL, form(code()), http.Header{"Accept": {"application/json"}})
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" || !json.Valid(b) {
		t.Errorf("with Accept: %q %s", ct, b)
	}

	for name, tc := range map[string]struct {
		form url.Values
		want string
	}{
		"bad code":     {form("nope"), "bad_verification_code"},
		"wrong secret": {url.Values{"client_id": {"Iv1.abc"}, "client_secret": {"x"}, "code": {code()}}, "incorrect_client_credentials"},
		"redirect":     {func() url.Values { f := form(code()); f.Set("redirect_uri", "http://127.0.0.1:9/x"); return f }(), "redirect_uri_mismatch"},
	} {
		t.Run(name, func(t *testing.T) {
			resp, b := postForm(t, idp, tokenURL, tc.form, http.Header{"Accept": {"application/json"}})
			var e struct{ Error string }
			json.Unmarshal(b, &e)
			if resp.StatusCode != 200 || e.Error != tc.want {
				t.Errorf("%d %s, want 200 %s", resp.StatusCode, b, tc.want)
			}
		})
	}

	t.Run("PKCE", func(t *testing.T) {
		c := callback(t, idp, conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))).Get("code")
		f := form(c)
		f.Set("code_verifier", oauth2.GenerateVerifier())
		_, b := postForm(t, idp, tokenURL, f, http.Header{"Accept": {"application/json"}})
		if !strings.Contains(string(b), "bad_verification_code") {
			t.Errorf("wrong verifier: %s", b)
		}
	})

	t.Run("subdirectory redirect", func(t *testing.T) {
		c := *conf
		c.RedirectURL = "http://127.0.0.1:9/callback/github/deeper"
		if cb := callback(t, idp, c.AuthCodeURL("s")); cb.Get("code") == "" {
			t.Errorf("callback %v", cb)
		}
		c.RedirectURL = "http://127.0.0.1:9/callback/githubx"
		resp := get(t, idp, c.AuthCodeURL("s"))
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("sibling path: %d", resp.StatusCode)
		}
	})

	t.Run("emails need the user:email scope", func(t *testing.T) {
		c := *conf
		c.Scopes = []string{"read:user"}
		tok, err := c.Exchange(oidc.ClientContext(t.Context(), idp.Client()), callback(t, idp, c.AuthCodeURL("s")).Get("code"))
		must(t, err)
		req, _ := http.NewRequest("GET", idp.Endpoints(GitHub).Emails, nil)
		tok.SetAuthHeader(req)
		resp, err := idp.Client().Do(req)
		must(t, err)
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("status %d, want 404", resp.StatusCode)
		}
	})
}

func TestFacebook(t *testing.T) {
	idp := start(t, Config{})
	const appSecret = "fb-app-secret"
	must(t, idp.AddClient(Facebook, Client{ID: "1234", Secret: appSecret, RedirectURIs: []string{testRedirect}}))
	must(t, idp.AddUser(Facebook, User{Subject: "10158", Name: "Phone Only"}))
	must(t, idp.AddUser(Facebook, User{Subject: "10159", Name: "Mark Z", Email: "mark@fb.example", EmailVerified: true}))
	e := idp.Endpoints(Facebook)
	if e.Authorize != idp.URL()+"/facebook/v19.0/dialog/oauth" || e.Token != idp.URL()+"/facebook/graph/v19.0/oauth/access_token" {
		t.Errorf("endpoints %+v", e)
	}
	conf := &oauth2.Config{ClientID: "1234", ClientSecret: appSecret, RedirectURL: testRedirect,
		Endpoint: oauth2.Endpoint{AuthURL: e.Authorize, TokenURL: e.Token, AuthStyle: oauth2.AuthStyleInParams},
		Scopes:   []string{"email", "public_profile"}}
	ctx := oidc.ClientContext(t.Context(), idp.Client())

	me := func(tok, proof string) (int, map[string]any) {
		q := url.Values{"fields": {"id,name,email,picture"}, "access_token": {tok}}
		if proof != "" {
			q.Set("appsecret_proof", proof)
		}
		resp := get(t, idp, e.UserInfo+"?"+q.Encode())
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	proof := func(tok string) string {
		m := hmac.New(sha256.New, []byte(appSecret))
		m.Write([]byte(tok))
		return hex.EncodeToString(m.Sum(nil))
	}

	for _, hint := range []string{"10158", "10159"} {
		tok, err := conf.Exchange(ctx, callback(t, idp, conf.AuthCodeURL("s", oauth2.SetAuthURLParam("login_hint", hint))).Get("code"))
		must(t, err)
		if status, m := me(tok.AccessToken, ""); status != 400 || !strings.Contains(m["error"].(map[string]any)["message"].(string), "appsecret_proof") {
			t.Errorf("without proof: %d %v", status, m)
		}
		if status, _ := me(tok.AccessToken, proof("other")); status != 400 {
			t.Errorf("wrong proof: %d", status)
		}
		status, m := me(tok.AccessToken, proof(tok.AccessToken))
		if status != 200 || m["id"] != hint {
			t.Fatalf("me: %d %v", status, m)
		}
		_, hasEmail := m["email"]
		if hasEmail != (hint == "10159") {
			t.Errorf("%s: email %v", hint, m["email"])
		}
		for k := range m {
			if strings.Contains(k, "verified") {
				t.Errorf("Facebook sent %s", k)
			}
		}
	}

	// A reused code fails in Graph's error format.
	code := callback(t, idp, conf.AuthCodeURL("s")).Get("code")
	q := url.Values{"client_id": {"1234"}, "client_secret": {appSecret}, "redirect_uri": {testRedirect}, "code": {code}}
	for i, want := range []int{200, 400} {
		resp := get(t, idp, e.Token+"?"+q.Encode())
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET token #%d: %d %v", i+1, resp.StatusCode, m)
		}
		if want == 400 && m["error"].(map[string]any)["type"] != "OAuthException" {
			t.Errorf("error %v", m)
		}
	}
}
