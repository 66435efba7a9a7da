package sallyport

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/sallyport/sallyport/internal/config"
	"github.com/sallyport/sallyport/internal/testidp"
)

// The token and userinfo benchmarks run the endpoints over real HTTP
// (TLS, keep-alive) against SQLite, with go-oidc's client on the other
// end, all in one process on the same cores.

// benchApp signs one person in and returns the app with a browser that
// holds a Sallyport session, so further authorizations skip the upstream.
func benchApp(b *testing.B) (*harness, *testApp, *http.Client) {
	h := newHarness(b, "", func(s *Settings) {
		s.RateLimits.Enabled = false
		withApp(func(c *config.Client) { c.AllowedConnections = []string{"corp"} })(s)
	})
	h.user(testidp.Generic, testidp.User{Subject: "ann-1", Email: "ann@example.com", EmailVerified: true, Name: "Ann"})
	a := h.app()
	br := h.browser()
	a.authorize(br, "s", "n", oauth2.GenerateVerifier())
	return h, a, br
}

// BenchmarkTokenCodeExchange is one authorization_code grant per
// iteration: client authentication, code consumption, access and refresh
// token storage and one RS256 ID token signature. Issuing each code (an
// authorization with the session in place) is outside the timer.
func BenchmarkTokenCodeExchange(b *testing.B) {
	_, a, br := benchApp(b)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		verifier := oauth2.GenerateVerifier()
		code := a.authorize(br, "s", "n", verifier).Query().Get("code")
		b.StartTimer()
		if _, err := a.oauth.Exchange(a.ctx, code, oauth2.VerifierOption(verifier)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTokenRefresh is one refresh_token grant per iteration: the
// token rotates, a new access and refresh token are stored and an ID
// token is signed.
func BenchmarkTokenRefresh(b *testing.B) {
	_, a, br := benchApp(b)
	verifier := oauth2.GenerateVerifier()
	tok, err := a.oauth.Exchange(a.ctx, a.authorize(br, "s", "n", verifier).Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		b.Fatal(err)
	}
	refresh := tok.RefreshToken
	client := a.h.ts.Client()
	b.ReportAllocs()
	for b.Loop() {
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}
		req, _ := http.NewRequest(http.MethodPost, a.oauth.Endpoint.TokenURL, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(appID, appSecret)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		var body struct {
			RefreshToken string `json:"refresh_token"`
		}
		err = jsonDecode(resp, &body)
		if err != nil || resp.StatusCode != http.StatusOK || body.RefreshToken == "" {
			b.Fatalf("refresh: %d %v", resp.StatusCode, err)
		}
		refresh = body.RefreshToken
	}
}

// BenchmarkUserInfo is GET /oauth2/userinfo with a bearer token from 8
// concurrent clients (4 per core on this 2-core machine); ns/op is the
// inverse of the throughput.
func BenchmarkUserInfo(b *testing.B) {
	_, a, br := benchApp(b)
	verifier := oauth2.GenerateVerifier()
	tok, err := a.oauth.Exchange(a.ctx, a.authorize(br, "s", "n", verifier).Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		b.Fatal(err)
	}
	endpoint := a.provider.UserInfoEndpoint()
	b.ReportAllocs()
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		client := *a.h.ts.Client()
		client.Transport = a.h.ts.Client().Transport.(*http.Transport).Clone()
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodGet, endpoint, nil)
			req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var body struct {
				Sub string `json:"sub"`
			}
			if err := jsonDecode(resp, &body); err != nil || resp.StatusCode != http.StatusOK || body.Sub == "" {
				b.Fatalf("userinfo: %d %v", resp.StatusCode, err)
			}
		}
	})
}

// jsonDecode reads and closes a JSON response body.
func jsonDecode(resp *http.Response, v any) error {
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}
