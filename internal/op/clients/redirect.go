package clients

import (
	"strconv"
	"strings"
)

// loopbackHosts are the hosts whose http redirect URIs match on any port
// (RFC 8252 §7.3): the native app listens on a port the OS picks at run
// time. They are exactly the hosts config accepts in an http redirect URI,
// written as they appear in a URI's authority.
var loopbackHosts = []string{"127.0.0.1", "[::1]", "localhost"}

// MatchRedirectURI reports whether got is one of the registered redirect
// URIs. The comparison is on the raw strings, byte for byte, with nothing
// normalised (not case, not escapes, not a trailing slash), because every
// normalisation is a way for two different URIs to pass as one. The one
// exception is RFC 8252 §7.3: a registered http URI on a loopback host
// matches got on any port when everything else — scheme, host, path and
// query — is the same, byte for byte.
func MatchRedirectURI(registered []string, got string) bool {
	for _, r := range registered {
		if got == r {
			return true
		}
	}
	gotHost, gotRest, ok := splitLoopback(got)
	if !ok {
		return false
	}
	for _, r := range registered {
		if host, rest, ok := splitLoopback(r); ok && host == gotHost && rest == gotRest {
			return true
		}
	}
	return false
}

// splitLoopback splits an http URI on a loopback host into the host and
// what follows the authority (path and query), dropping the port. ok is
// false for anything else, and for anything a parser might read two ways:
// a user name (http://127.0.0.1@evil.example), a fragment, a port that is
// not a plain number from 1 to 65535.
func splitLoopback(uri string) (host, rest string, ok bool) {
	after, found := strings.CutPrefix(uri, "http://")
	if !found {
		return "", "", false
	}
	end := strings.IndexAny(after, "/?#")
	if end < 0 {
		end = len(after)
	}
	authority, rest := after[:end], after[end:]
	if strings.Contains(rest, "#") {
		return "", "", false
	}
	for _, h := range loopbackHosts {
		port, found := strings.CutPrefix(authority, h)
		if !found {
			continue
		}
		if port == "" {
			return h, rest, true
		}
		if p, found := strings.CutPrefix(port, ":"); found && validPort(p) {
			return h, rest, true
		}
	}
	return "", "", false
}

// validPort reports whether p is a port number written in plain decimal.
func validPort(p string) bool {
	if p == "" || len(p) > 5 || strings.TrimLeft(p, "0123456789") != "" {
		return false
	}
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535
}
