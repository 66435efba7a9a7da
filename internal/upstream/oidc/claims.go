package oidc

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sallyport/sallyport/internal/store"
	"github.com/sallyport/sallyport/internal/upstream"
)

// Claims are the members of a verified ID token or userinfo answer, as JSON
// decodes them (numbers are float64).
type Claims map[string]any

// String returns the claim name when it is a JSON string, else "".
func (c Claims) String(name string) string {
	s, _ := c[name].(string)
	return s
}

// Bool reports whether the claim is JSON true or the exact string "true"
// (Apple and old Google tokens send strings). Anything else, a missing
// claim included, is false.
func (c Claims) Bool(name string) bool {
	switch v := c[name].(type) {
	case bool:
		return v
	case string:
		return v == "true"
	}
	return false
}

// Audience returns aud as a list: a single string or an array of strings
// (RFC 7519 §4.1.3). Anything else is ErrMalformed.
func (c Claims) Audience() ([]string, error) {
	switch v := c["aud"].(type) {
	case string:
		return []string{v}, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, a := range v {
			s, ok := a.(string)
			if !ok {
				return nil, fmt.Errorf("%w: aud holds a %T", ErrMalformed, a)
			}
			out = append(out, s)
		}
		return out, nil
	case nil:
		return nil, nil
	}
	return nil, fmt.Errorf("%w: aud is a %T", ErrMalformed, c["aud"])
}

// Time returns a NumericDate claim (seconds since the epoch, RFC 7519 §2)
// and whether it is present. A present claim that is not a finite number is
// ErrMalformed.
func (c Claims) Time(name string) (time.Time, bool, error) {
	v, ok := c[name]
	if !ok {
		return time.Time{}, false, nil
	}
	var f float64
	switch n := v.(type) {
	case float64:
		f = n
	case json.Number:
		var err error
		if f, err = n.Float64(); err != nil {
			return time.Time{}, true, fmt.Errorf("%w: %s is %q", ErrMalformed, name, n)
		}
	default:
		return time.Time{}, true, fmt.Errorf("%w: %s is a %T, not a number", ErrMalformed, name, v)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1<<53 {
		return time.Time{}, true, fmt.Errorf("%w: %s is out of range", ErrMalformed, name)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true, nil
}

// Fields of upstream.Identity a ClaimMapping may take from another claim.
// The subject is not one of them.
const (
	FieldEmail         = "email"
	FieldEmailVerified = "email_verified"
	FieldName          = "name"
	FieldPicture       = "picture"
	FieldUsername      = "username"
)

// defaultClaims names the claim each field comes from without a mapping.
var defaultClaims = map[string]string{
	FieldEmail:         "email",
	FieldEmailVerified: "email_verified",
	FieldName:          "name",
	FieldPicture:       "picture",
	FieldUsername:      "preferred_username",
}

// ErrSubjectNotMappable is returned by ClaimMapping.Validate for a mapping
// of the subject: identities are keyed by the provider's own sub, never by
// a claim an administrator picked (DESIGN.md §7, "Identity keys").
var ErrSubjectNotMappable = errors.New("oidc: the subject cannot be mapped: identities are keyed by the provider's sub")

// ClaimMapping takes Identity fields (the Field constants) from other claim
// names, such as {"email": "preferred_username"}.
//
// When email is mapped, email_verified is not assumed to speak for the
// mapped claim: the email counts as verified only if email_verified is
// mapped too, explicitly. Otherwise a verified mailbox in "email" would
// vouch for whatever "preferred_username" holds.
type ClaimMapping map[string]string

// Validate refuses a mapping of the subject, unknown fields and empty
// claim names.
func (m ClaimMapping) Validate() error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch {
		case k == "sub" || k == "subject":
			return ErrSubjectNotMappable
		case defaultClaims[k] == "":
			return fmt.Errorf("oidc: claim mapping: unknown field %q (want one of email, email_verified, name, picture, username)", k)
		case strings.TrimSpace(m[k]) == "":
			return fmt.Errorf("oidc: claim mapping: field %q maps to an empty claim name", k)
		}
	}
	return nil
}

func (m ClaimMapping) claim(field string) string {
	if c, ok := m[field]; ok {
		return c
	}
	return defaultClaims[field]
}

// IdentityFrom builds the identity verified claims describe. Subject is
// always sub. Email is normalised with store.NormalizeEmail, and dropped
// when it is not an address; EmailVerified is true only with an email and
// an email_verified of true or "true" (see ClaimMapping for mapped
// emails). Username (preferred_username) is for display only. Claims is c
// itself.
func IdentityFrom(c Claims, m ClaimMapping) upstream.Identity {
	id := upstream.Identity{
		Subject:  c.String("sub"),
		Name:     c.String(m.claim(FieldName)),
		Picture:  c.String(m.claim(FieldPicture)),
		Username: c.String(m.claim(FieldUsername)),
		Claims:   c,
	}
	emailClaim := m.claim(FieldEmail)
	if e, err := store.NormalizeEmail(c.String(emailClaim)); err == nil {
		id.Email = e
		_, mapped := m[FieldEmailVerified]
		if mapped || emailClaim == defaultClaims[FieldEmail] {
			id.EmailVerified = c.Bool(m.claim(FieldEmailVerified))
		}
	}
	return id
}

// tokenOnlyClaims describe the ID token itself: they never come from
// userinfo, whatever the ID token carries.
var tokenOnlyClaims = []string{"iss", "aud", "azp", "exp", "iat", "nbf", "nonce", "at_hash", "c_hash", "auth_time", "acr", "amr", "sid", "jti"}

// MergeUserinfo returns the ID token's claims completed by userinfo's. The
// ID token wins for every claim it carries; claims about the token itself
// (iss, aud, exp, nonce…) never come from userinfo; and the email and its
// email_verified flag come as a pair from the same source, so a userinfo
// flag never vouches for an ID-token address. emailClaim and
// verifiedClaim name the (possibly mapped) claims of the pair.
func MergeUserinfo(idToken, userinfo Claims, emailClaim, verifiedClaim string) Claims {
	out := make(Claims, len(idToken)+len(userinfo))
	_, idHasEmail := idToken[emailClaim]
	for k, v := range userinfo {
		if slices.Contains(tokenOnlyClaims, k) {
			continue
		}
		if idHasEmail && (k == emailClaim || k == verifiedClaim) {
			continue
		}
		out[k] = v
	}
	for k, v := range idToken {
		if !idHasEmail && k == verifiedClaim {
			if _, ok := userinfo[emailClaim]; ok {
				// The address comes from userinfo: so does its flag.
				continue
			}
		}
		out[k] = v
	}
	return out
}
