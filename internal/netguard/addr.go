package netguard

import "net/netip"

// special is an address range a fetch must not reach, with why.
type special struct {
	prefix netip.Prefix
	why    string
}

func p(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// special4 lists the IPv4 ranges that are not public unicast (IANA IPv4
// Special-Purpose Address Registry, RFC 6890 and successors).
var special4 = []special{
	{p("0.0.0.0/8"), "in 0.0.0.0/8 (this network, unspecified)"},
	{p("10.0.0.0/8"), "private (RFC 1918)"},
	{p("100.64.0.0/10"), "shared address space (CGNAT, RFC 6598)"},
	{p("127.0.0.0/8"), "loopback"},
	{p("169.254.0.0/16"), "link-local (cloud metadata lives here)"},
	{p("172.16.0.0/12"), "private (RFC 1918)"},
	{p("192.0.0.0/24"), "IETF protocol assignments"},
	{p("192.0.2.0/24"), "documentation"},
	{p("192.88.99.0/24"), "6to4 relay anycast"},
	{p("192.168.0.0/16"), "private (RFC 1918)"},
	{p("198.18.0.0/15"), "benchmarking"},
	{p("198.51.100.0/24"), "documentation"},
	{p("203.0.113.0/24"), "documentation"},
	{p("224.0.0.0/4"), "multicast"},
	{p("255.255.255.255/32"), "broadcast"},
	{p("240.0.0.0/4"), "reserved"},
}

// special6 lists the IPv6 ranges inside or outside 2000::/3 that are named
// for a clearer message; anything else outside 2000::/3 is refused too.
var special6 = []special{
	{p("::/128"), "unspecified"},
	{p("::1/128"), "loopback"},
	{p("::/96"), "IPv4-compatible (deprecated)"},
	{p("::ffff:0:0:0/96"), "IPv4-translated"},
	{p("64:ff9b:1::/48"), "local-use NAT64"},
	{p("100::/64"), "discard-only"},
	{p("2001::/23"), "IETF protocol assignments (Teredo, benchmarking, ORCHID)"},
	{p("2001:db8::/32"), "documentation"},
	{p("2002::/16"), "6to4"},
	{p("3fff::/20"), "documentation"},
	{p("fc00::/7"), "unique local (private)"},
	{p("fe80::/10"), "link-local"},
	{p("fec0::/10"), "site-local (deprecated)"},
	{p("ff00::/8"), "multicast"},
}

var (
	globalUnicast6 = p("2000::/3")
	// nat64 is the well-known NAT64 prefix (RFC 6052): the address embeds
	// an IPv4 address, which is what is really reached.
	nat64 = p("64:ff9b::/96")
)

// classify says why a may not be reached, or "" when it is public unicast.
// IPv4-mapped and NAT64 IPv6 addresses are judged by the IPv4 address they
// carry.
func classify(a netip.Addr) string {
	if !a.IsValid() {
		return "not an IP address"
	}
	a = a.WithZone("")
	if a.Is4In6() {
		if why := classify(a.Unmap()); why != "" {
			return "IPv4-mapped, " + why
		}
		return ""
	}
	if a.Is4() {
		for _, s := range special4 {
			if s.prefix.Contains(a) {
				return s.why
			}
		}
		return ""
	}
	if nat64.Contains(a) {
		b := a.As16()
		if why := classify(netip.AddrFrom4([4]byte(b[12:]))); why != "" {
			return "NAT64, " + why
		}
		return ""
	}
	for _, s := range special6 {
		if s.prefix.Contains(a) {
			return s.why
		}
	}
	if !globalUnicast6.Contains(a) {
		return "not IPv6 global unicast (2000::/3)"
	}
	return ""
}
