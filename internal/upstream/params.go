package upstream

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
)

// reservedAuthParams are the authorization request parameters Sallyport
// sets itself. A request object could carry any of them, and the response
// mode decides where the callback reads them from, so those are reserved
// too. Compared case-insensitively.
var reservedAuthParams = []string{
	"state", "nonce", "code_challenge", "code_challenge_method", "redirect_uri",
	"client_id", "response_type", "scope", "request", "request_uri", "response_mode",
}

// ReservedAuthParams returns the authorization request parameters that
// Sallyport sets itself, so a connection's extra parameters may not name
// them. The caller owns the returned slice.
func ReservedAuthParams() []string { return slices.Clone(reservedAuthParams) }

// IsReservedAuthParam reports whether name, compared case-insensitively,
// is one of [ReservedAuthParams].
func IsReservedAuthParam(name string) bool {
	return slices.Contains(reservedAuthParams, strings.ToLower(name))
}

// CheckAuthParams refuses extra authorization request parameters with an
// empty or reserved name ([IsReservedAuthParam]). Providers that build the
// request themselves (github, facebook) refuse such a configuration;
// the generic OpenID Connect provider drops them with a warning instead.
func CheckAuthParams(params map[string]string) error {
	for k := range params {
		if k == "" || IsReservedAuthParam(k) {
			return fmt.Errorf("auth parameter %q is set by Sallyport", k)
		}
	}
	return nil
}

// IsScopeName reports whether s is one scope (or permission) name: not
// empty, without white space or the comma some providers separate scopes
// with.
func IsScopeName(s string) bool {
	return s != "" && !strings.ContainsAny(s, " \t\r\n,")
}

// CheckEndpoint accepts an absolute http or https URL. It is for the
// endpoint overrides tests point at a local fake, so plain http is allowed
// on any host; an operator's base URL goes through [CheckBaseURL].
func CheckEndpoint(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", raw)
	}
	return nil
}

// CheckBaseURL checks an instance's base URL, the rule the config file
// applies to base_url: https (http only on a loopback host, for tests),
// with a host and no user info, query or fragment. The error says what is
// wrong, for the caller to prefix with the setting's name.
func CheckBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "" || u.Opaque != "" || (u.Scheme != "https" && u.Scheme != "http"):
		return nil, errors.New("must be an https URL with a host")
	case u.Scheme == "http" && !IsLoopback(u.Hostname()):
		return nil, errors.New("must be https (http only on a loopback host)")
	case u.User != nil:
		return nil, errors.New("must not contain a user name or password")
	case u.RawQuery != "" || u.ForceQuery:
		return nil, errors.New("must not contain a query")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return nil, errors.New("must not contain a fragment")
	}
	return u, nil
}

// IsLoopback reports whether host, as [url.URL.Hostname] returns it, is
// localhost or a loopback address.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// RedactURL drops the URL a [*url.Error] names, keeping what went wrong:
// a request URL may carry a secret (Facebook's appsecret_proof) or more
// than a log line should.
func RedactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// ClipLen is how many bytes of upstream text [Clip] keeps.
const ClipLen = 200

// Clip bounds text from an upstream before it goes into an error or a log
// line: at most [ClipLen] bytes, then "…".
func Clip(s string) string {
	if len(s) > ClipLen {
		return s[:ClipLen] + "…"
	}
	return s
}

// IsGUID reports whether s is a GUID in its usual 8-4-4-4-12 hex form,
// the way Microsoft Entra ID writes tenant and object ids.
func IsGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range []byte(s) {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}
