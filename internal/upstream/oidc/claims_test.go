package oidc_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/upstream/oidc"
	"github.com/sallyport/sallyport/internal/upstream/upstreamtest"
)

func TestUserinfoAnswers(t *testing.T) {
	k := newKeyring(t)
	clk := newClock()
	v := k.verifier(t, clk, nil)
	const at, sub = "the-access-token", "248289761001"
	jwtClaims := func(edit func(map[string]any)) map[string]any {
		c := map[string]any{"sub": sub, "iss": vIssuer, "aud": clientID, "email": "a@example.com"}
		if edit != nil {
			edit(c)
		}
		return c
	}
	for _, tc := range []struct {
		name   string
		status int
		ctype  string
		body   string
		code   outcome.Code
		cause  error
	}{
		{"JSON", 200, "application/json; charset=utf-8", `{"sub":"` + sub + `","email":"a@example.com"}`, "", nil},
		{"signed JWT", 200, "application/jwt", sign(t, "RS256", k.rsa, "rsa", jwtClaims(nil)), "", nil},
		{"signed JWT without iss and aud", 200, "application/jwt", sign(t, "ES256", k.ec, "ec", map[string]any{"sub": sub}), "", nil},
		{"JWT with a bad signature", 200, "application/jwt", sign(t, "RS256", k.rs384, "rsa", jwtClaims(nil)), outcome.IdentityInvalid, oidc.ErrSignature},
		{"JWT signed alg none", 200, "application/jwt", "eyJhbGciOiJub25lIn0.eyJzdWIiOiIyNDgyODk3NjEwMDEifQ.", outcome.IdentityInvalid, oidc.ErrAlgorithm},
		{"JWT from another issuer", 200, "application/jwt", sign(t, "RS256", k.rsa, "rsa", jwtClaims(func(c map[string]any) { c["iss"] = "https://evil.example" })), outcome.IdentityInvalid, oidc.ErrIssuer},
		{"JWT for another client", 200, "application/jwt", sign(t, "RS256", k.rsa, "rsa", jwtClaims(func(c map[string]any) { c["aud"] = "other" })), outcome.IdentityInvalid, oidc.ErrAudience},
		{"JWT about someone else", 200, "application/jwt", sign(t, "RS256", k.rsa, "rsa", jwtClaims(func(c map[string]any) { c["sub"] = "other" })), outcome.IdentityInvalid, oidc.ErrUserinfoSubject},
		{"JSON about someone else", 200, "application/json", `{"sub":"other"}`, outcome.IdentityInvalid, oidc.ErrUserinfoSubject},
		{"JSON without sub", 200, "application/json", `{"email":"a@example.com"}`, outcome.IdentityInvalid, oidc.ErrUserinfoSubject},
		{"not JSON", 200, "text/html", `<html>`, outcome.CodeExchangeFailed, oidc.ErrUserinfo},
		{"JSON null", 200, "application/json", `null`, outcome.CodeExchangeFailed, oidc.ErrUserinfo},
		{"401", 401, "application/json", `{"error":"invalid_token"}`, outcome.CodeExchangeFailed, oidc.ErrUserinfo},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") != "Bearer "+at {
					http.Error(w, "no token", http.StatusUnauthorized)
					return
				}
				w.Header().Set("Content-Type", tc.ctype)
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			c, err := oidc.FetchUserinfo(t.Context(), srv.Client(), srv.URL, v, at, sub)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("userinfo: %v", err)
				}
				if c.String("sub") != sub {
					t.Errorf("claims %v", c)
				}
				return
			}
			upstreamtest.WantRefusal(t, err, tc.code, tc.cause)
		})
	}
}

func TestMergeUserinfo(t *testing.T) {
	for _, tc := range []struct {
		name           string
		id, ui, want   oidc.Claims
		email, verFlag string
	}{
		{
			name: "the ID token wins; token claims never come from userinfo",
			id:   oidc.Claims{"sub": "s", "name": "From token", "iss": "i"},
			ui:   oidc.Claims{"sub": "s", "name": "From userinfo", "picture": "p", "nonce": "x", "aud": "evil", "exp": 9e9},
			want: oidc.Claims{"sub": "s", "name": "From token", "iss": "i", "picture": "p"},
		},
		{
			name: "an ID-token email keeps its own flag, even when missing",
			id:   oidc.Claims{"sub": "s", "email": "a@example.com"},
			ui:   oidc.Claims{"sub": "s", "email": "b@example.com", "email_verified": true},
			want: oidc.Claims{"sub": "s", "email": "a@example.com"},
		},
		{
			name: "a userinfo email brings its own flag, not the ID token's",
			id:   oidc.Claims{"sub": "s", "email_verified": true},
			ui:   oidc.Claims{"sub": "s", "email": "b@example.com"},
			want: oidc.Claims{"sub": "s", "email": "b@example.com"},
		},
		{
			name: "a userinfo email with its flag",
			id:   oidc.Claims{"sub": "s"},
			ui:   oidc.Claims{"sub": "s", "email": "b@example.com", "email_verified": "true"},
			want: oidc.Claims{"sub": "s", "email": "b@example.com", "email_verified": "true"},
		},
		{
			name:  "mapped email claims pair the same way",
			id:    oidc.Claims{"sub": "s", "mail": "a@example.com"},
			ui:    oidc.Claims{"sub": "s", "mail_ok": true},
			want:  oidc.Claims{"sub": "s", "mail": "a@example.com"},
			email: "mail", verFlag: "mail_ok",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			email, flag := "email", "email_verified"
			if tc.email != "" {
				email, flag = tc.email, tc.verFlag
			}
			if diff := cmp.Diff(tc.want, oidc.MergeUserinfo(tc.id, tc.ui, email, flag)); diff != "" {
				t.Errorf("merged (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAuthStyle(t *testing.T) {
	for _, tc := range []struct {
		methods []string
		secret  string
		want    oauth2.AuthStyle
		wantErr bool
	}{
		{nil, "s", oauth2.AuthStyleInHeader, false},
		{[]string{"client_secret_post", "client_secret_basic"}, "s", oauth2.AuthStyleInHeader, false},
		{[]string{"client_secret_post", "private_key_jwt"}, "s", oauth2.AuthStyleInParams, false},
		{[]string{"private_key_jwt"}, "s", 0, true},
		{[]string{"client_secret_basic"}, "", oauth2.AuthStyleInParams, false}, // a public client names itself in the body
	} {
		got, err := oidc.AuthStyle(tc.methods, tc.secret)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("AuthStyle(%q, %q) = %v, %v; want %v, error %v", tc.methods, tc.secret, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestPKCESupported(t *testing.T) {
	for _, tc := range []struct {
		methods []string
		want    bool
	}{
		{nil, true},
		{[]string{"S256"}, true},
		{[]string{"plain", "S256"}, true},
		{[]string{"plain"}, false},
	} {
		if got := oidc.PKCESupported(tc.methods); got != tc.want {
			t.Errorf("PKCESupported(%q) = %v, want %v", tc.methods, got, tc.want)
		}
	}
}

func TestClaimsBool(t *testing.T) {
	c := oidc.Claims{"t": true, "f": false, "st": "true", "sf": "false", "up": "True", "n": 1.0, "nil": nil}
	want := map[string]bool{"t": true, "f": false, "st": true, "sf": false, "up": false, "n": false, "nil": false, "missing": false}
	for name, w := range want {
		if got := c.Bool(name); got != w {
			t.Errorf("Bool(%q) = %v, want %v", name, got, w)
		}
	}
}
