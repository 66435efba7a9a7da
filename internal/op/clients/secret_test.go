package clients

import (
	"encoding/base64"
	"testing"

	"github.com/sallyport/sallyport/internal/store"
)

func TestNewSecret(t *testing.T) {
	s1, h1 := newSecret()
	s2, _ := newSecret()
	raw, err := base64.RawURLEncoding.DecodeString(s1)
	if err != nil || len(raw) != 32 {
		t.Fatalf("secret %q: %d bytes, %v; want 32 bytes of base64url", s1, len(raw), err)
	}
	if s1 == s2 {
		t.Error("two secrets are equal")
	}
	if string(h1) == s1 || len(h1) != 32 {
		t.Errorf("hash %x is not a SHA-256 of the secret", h1)
	}
}

func TestVerifySecret(t *testing.T) {
	secret, hash := newSecret()
	confidential := store.Client{ID: "app", SecretHash: hash}
	tests := []struct {
		name      string
		c         store.Client
		presented string
		want      bool
	}{
		{"right secret", confidential, secret, true},
		{"wrong secret", confidential, secret + "x", false},
		{"the hash itself", confidential, string(hash), false},
		{"empty", confidential, "", false},
		{"prefix", confidential, secret[:42], false},
		{"disabled", store.Client{ID: "app", SecretHash: hash, Disabled: true}, secret, false},
		{"public", store.Client{ID: "spa", Public: true, SecretHash: hash}, secret, false},
		{"no stored hash", store.Client{ID: "app"}, "", false},
		{"short stored hash", store.Client{ID: "app", SecretHash: hash[:16]}, secret, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := VerifySecret(tt.c, tt.presented); got != tt.want {
				t.Errorf("VerifySecret = %v, want %v", got, tt.want)
			}
		})
	}
}
