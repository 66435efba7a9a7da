package store

import (
	"encoding/hex"
	"errors"
	"testing"
)

func TestNormalizeEmail(t *testing.T) {
	tests := []struct {
		in, want string
		err      error
	}{
		{"ann@example.com", "ann@example.com", nil},
		{"  Ann.Lee@Example.COM \n", "ann.lee@example.com", nil},
		{"ann@EXAMPLE.com.", "ann@example.com", nil},
		// IDNA: the Unicode and punycode spellings are one user.
		{"Ann@Bücher.Example", "ann@xn--bcher-kva.example", nil},
		{"ann@xn--bcher-kva.example", "ann@xn--bcher-kva.example", nil},
		{"ANN@BÜCHER.EXAMPLE", "ann@xn--bcher-kva.example", nil},
		// The last @ separates the domain.
		{`"a@b"@example.com`, "", ErrInvalidEmail},
		{"", "", ErrInvalidEmail},
		{"ann", "", ErrInvalidEmail},
		{"@example.com", "", ErrInvalidEmail},
		{"ann@", "", ErrInvalidEmail},
		{"ann@localhost", "", ErrInvalidEmail},
		{"a nn@example.com", "", ErrInvalidEmail},
		{"ann@exa mple.com", "", ErrInvalidEmail},
		{"ann@-bad-.com", "", ErrInvalidEmail},
		{"<ann@example.com>", "", ErrInvalidEmail},
	}
	for _, tt := range tests {
		got, err := NormalizeEmail(tt.in)
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.err)
		}
		if err == nil {
			again, _ := NormalizeEmail(got)
			if again != got {
				t.Errorf("NormalizeEmail is not idempotent on %q: %q", got, again)
			}
		}
	}
}

func TestNormalizeDomainAndEmailDomain(t *testing.T) {
	if got, err := NormalizeDomain(" ACME.Test. "); got != "acme.test" || err != nil {
		t.Errorf("NormalizeDomain = %q, %v", got, err)
	}
	if got := EmailDomain("ann@xn--bcher-kva.example"); got != "xn--bcher-kva.example" {
		t.Errorf("EmailDomain = %q", got)
	}
}

// HashToken is plain SHA-256, so every replica (and any tool reading the
// database) derives the same key from a token.
func TestHashTokenIsSHA256(t *testing.T) {
	const abcSHA256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if got := hex.EncodeToString(HashToken("abc")); got != abcSHA256 {
		t.Errorf("HashToken(abc) = %s", got)
	}
}
