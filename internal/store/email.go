package store

import (
	"errors"
	"strings"

	"golang.org/x/net/idna"
)

// ErrInvalidEmail is returned by NormalizeEmail for input that is not an
// address.
var ErrInvalidEmail = errors.New("store: invalid email address")

// domainProfile converts internationalised domains to their ASCII (punycode)
// form with the rules browsers and mail systems use for lookups.
var domainProfile = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.Transitional(false))

// NormalizeEmail is the one place an email address becomes a store key:
// surrounding space trimmed, lower-cased, and the domain converted to its
// IDNA ASCII form, so "Ann@Bücher.Example " and "ann@xn--bcher-kva.example"
// are the same user. Case folding is never left to database collation.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return "", ErrInvalidEmail
	}
	local := strings.ToLower(s[:at])
	if strings.ContainsAny(local, " \t\r\n<>()[]\\,;:\"@") {
		return "", ErrInvalidEmail
	}
	domain, err := NormalizeDomain(s[at+1:])
	if err != nil {
		return "", ErrInvalidEmail
	}
	return local + "@" + domain, nil
}

// NormalizeDomain lower-cases a domain and converts it to IDNA ASCII form.
func NormalizeDomain(s string) (string, error) {
	s = strings.TrimSuffix(strings.TrimSpace(s), ".")
	if s == "" {
		return "", ErrInvalidEmail
	}
	ascii, err := domainProfile.ToASCII(s)
	if err != nil || !strings.Contains(ascii, ".") {
		return "", ErrInvalidEmail
	}
	return strings.ToLower(ascii), nil
}

// EmailDomain returns the domain part of a normalised address.
func EmailDomain(email string) string {
	return email[strings.LastIndexByte(email, '@')+1:]
}
