package sallyport

import (
	"net/http"
	"testing"

	"github.com/sallyport/sallyport/internal/testidp"
)

// BenchmarkSignIn is one full federated sign-in per iteration: /login/corp
// → testidp's authorize → /callback/corp (state, code exchange, ID token
// verification, reconciliation, session) → /account, each browser new. The
// upstream and the client run in the same process and on the same cores,
// so the figure is an upper bound on Sallyport's own cost.
func BenchmarkSignIn(b *testing.B) {
	h := newHarness(b, "", func(s *Settings) { s.RateLimits.Enabled = false })
	h.user(testidp.Generic, testidp.User{Subject: "ann-1", Email: "ann@example.com", EmailVerified: true, Name: "Ann"})
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		c := h.browser()
		resp, err := c.Get(h.ts.URL + "/login/corp")
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/account" {
			b.Fatalf("ended at %s with %d", resp.Request.URL, resp.StatusCode)
		}
		c.CloseIdleConnections()
	}
}
