package flow

import (
	"net/url"
	"strings"
)

// maxReturnToLen bounds a return_to: longer ones are abuse, not navigation.
const maxReturnToLen = 2048

// SafeReturnTo reports whether s is safe to redirect to after sign-in: an
// absolute path on our own origin ("/account?tab=links"). It refuses
// anything a browser could read as another origin or a script: schemes
// ("https:", "javascript:"), scheme-relative "//host", "/\host" (browsers
// treat "\" as "/"), any byte outside printable ASCII (browsers drop tabs
// and newlines, so "/\t/evil" would become "//evil"), and the same tricks
// hidden behind percent-encoding ("/%2F%2Fevil.com"), in case a later hop
// decodes the path before redirecting again. It returns s unchanged when
// safe; "" is not safe.
func SafeReturnTo(s string) (string, bool) {
	if s == "" || len(s) > maxReturnToLen {
		return "", false
	}
	// Decode a few layers deep, checking each; anything still encoded
	// after that is refused rather than trusted.
	cur := s
	for range 3 {
		if !safePath(cur) {
			return "", false
		}
		next, err := url.PathUnescape(cur)
		if err != nil {
			return "", false
		}
		if next == cur {
			return checkParsed(s)
		}
		cur = next
	}
	return "", false
}

// safePath is the check on one layer of decoding: a single leading "/",
// then printable ASCII with no backslash.
func safePath(s string) bool {
	if len(s) == 0 || s[0] != '/' {
		return false
	}
	if len(s) > 1 && (s[1] == '/' || s[1] == '\\') {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			return false
		}
	}
	return true
}

// checkParsed makes sure Go's own URL parser agrees that s names no other
// origin.
func checkParsed(s string) (string, bool) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" ||
		!strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return "", false
	}
	return s, true
}
