package op

import (
	"testing"

	"github.com/sallyport/sallyport/internal/op/keys"
	"github.com/sallyport/sallyport/internal/store"
)

func TestCheckPKCE(t *testing.T) {
	s256 := store.AuthCode{CodeChallenge: rfc7636Challenge, CodeChallengeMethod: "S256"}
	tests := []struct {
		name     string
		code     store.AuthCode
		verifier string
		ok       bool
	}{
		{"RFC 7636 Appendix B", s256, rfc7636Verifier, true},
		{"no PKCE at all", store.AuthCode{}, "", true},
		{"wrong verifier", s256, rfc7636Verifier[:42] + "X", false},
		{"missing verifier", s256, "", false},
		{"the challenge as verifier", s256, rfc7636Challenge, false},
		// A verifier for a code issued without a challenge is a downgrade:
		// the request that got the code did not bind it.
		{"verifier without challenge", store.AuthCode{}, rfc7636Verifier, false},
		// Were a plain challenge ever stored, it must still not pass.
		{"plain challenge", store.AuthCode{CodeChallenge: rfc7636Verifier, CodeChallengeMethod: "plain"}, rfc7636Verifier, false},
		{"challenge without method", store.AuthCode{CodeChallenge: rfc7636Challenge}, rfc7636Verifier, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := checkPKCE(tt.code, tt.verifier)
			if (msg == "") != tt.ok {
				t.Errorf("checkPKCE = %q, want ok=%t", msg, tt.ok)
			}
		})
	}
}

// TestTokenHash checks at_hash against the example of OpenID Connect Core
// Appendix A.3 (RS256) and, for EdDSA, the left half of SHA-512 of the same
// token (computed with openssl dgst -sha512).
func TestTokenHash(t *testing.T) {
	const token = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
	tests := []struct{ alg, want string }{
		{keys.RS256, "77QmUPtjPfzWtF2AnpK9RQ"},
		{keys.ES256, "77QmUPtjPfzWtF2AnpK9RQ"},
		{keys.EdDSA, "q7nS86GgvvFaZkzALLWqJYaJIKw2wCDAVfCAsm5CrBM"},
	}
	for _, tt := range tests {
		if got := tokenHash(tt.alg, token); got != tt.want {
			t.Errorf("tokenHash(%s) = %q, want %q", tt.alg, got, tt.want)
		}
	}
}
