package audit

import (
	"net/http"
	"net/netip"
	"strings"
)

// RequestInfo returns the client address and user agent of r for an
// [Event]. The address is the host part of r.RemoteAddr, the TCP peer: it
// ignores X-Forwarded-For, which anyone can send. Behind a reverse proxy,
// use [Recorder.ClientIP] with the proxy's address configured. ip is ""
// when RemoteAddr is not an IP address (a Unix socket listener).
func RequestInfo(r *http.Request) (ip, userAgent string) {
	if a, ok := parseHost(r.RemoteAddr); ok {
		ip = a.String()
	}
	return ip, r.UserAgent()
}

// ClientIP returns the address of the client that sent r. When the TCP peer
// is one of Config.TrustedProxies, it walks X-Forwarded-For from the right,
// past every trusted proxy, to the first address no trusted proxy vouches
// for: entries further left were written by the client and may be forged.
// An entry that is not an address stops the walk at the last address known
// good. It returns "" when RemoteAddr is not an IP address.
func (rec *Recorder) ClientIP(r *http.Request) string {
	client, ok := parseHost(r.RemoteAddr)
	if !ok {
		return ""
	}
	if !rec.isTrusted(client) {
		return client.String()
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0 && rec.isTrusted(client); i-- {
		a, ok := parseHost(hops[i])
		if !ok {
			break
		}
		client = a
	}
	return client.String()
}

func (rec *Recorder) isTrusted(a netip.Addr) bool {
	a = a.WithZone("") // Prefix.Contains never matches a zoned address
	for _, p := range rec.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseHost reads an address as RemoteAddr and X-Forwarded-For write it:
// "192.0.2.1", "192.0.2.1:443", "2001:db8::1", "[2001:db8::1]:443" or
// "[2001:db8::1]". IPv4-mapped IPv6 addresses become IPv4, so an IPv4
// prefix matches them and they are recorded as people write them.
func parseHost(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		s = s[1 : len(s)-1]
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	return netip.Addr{}, false
}
