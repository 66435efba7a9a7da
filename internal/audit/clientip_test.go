package audit

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestRequestInfo(t *testing.T) {
	tests := []struct {
		remote, xff, wantIP string
	}{
		{"192.0.2.1:1234", "", "192.0.2.1"},
		{"[2001:db8::1]:443", "", "2001:db8::1"},
		{"[::ffff:192.0.2.1]:443", "", "192.0.2.1"},
		{"192.0.2.1", "", "192.0.2.1"},
		{"[fe80::1%eth0]:80", "", "fe80::1%eth0"},
		{"192.0.2.1:1234", "198.51.100.9", "192.0.2.1"}, // never trusts the header
		{"@", "", ""}, // Unix socket listener
		{"", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.remote, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			r.Header.Set("User-Agent", "test-agent")
			if tt.xff != "" {
				r.Header.Set("X-Forwarded-For", tt.xff)
			}
			ip, ua := RequestInfo(r)
			if ip != tt.wantIP || ua != "test-agent" {
				t.Errorf("RequestInfo = %q, %q; want %q, %q", ip, ua, tt.wantIP, "test-agent")
			}
		})
	}
}

func TestClientIP(t *testing.T) {
	proxies := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("fd00::/8"),
		netip.MustParsePrefix("192.0.2.7/32"),
		netip.MustParsePrefix("172.16.5.9/12"), // not masked: New masks it
	}
	tests := []struct {
		name    string
		trusted []netip.Prefix
		remote  string
		xff     []string // one element per header line
		want    string
	}{
		{"no proxies configured", nil, "10.0.0.1:5000", []string{"198.51.100.9"}, "10.0.0.1"},
		{"direct client, no header", proxies, "203.0.113.5:5000", nil, "203.0.113.5"},
		{"spoofed header from an untrusted peer", proxies, "203.0.113.5:5000", []string{"198.51.100.9, 10.0.0.1"}, "203.0.113.5"},
		{"trusted proxy", proxies, "10.0.0.1:5000", []string{"198.51.100.9"}, "198.51.100.9"},
		{"trusted proxy, header port", proxies, "10.0.0.1:5000", []string{"198.51.100.9:61000"}, "198.51.100.9"},
		{"trusted proxy, no header", proxies, "10.0.0.1:5000", nil, "10.0.0.1"},
		{"client spoofs through the proxy", proxies, "10.0.0.1:5000", []string{"6.6.6.6, 198.51.100.9"}, "198.51.100.9"},
		{"client spoofs a trusted address", proxies, "10.0.0.1:5000", []string{"10.9.9.9, 198.51.100.9"}, "198.51.100.9"},
		{"chain of trusted proxies", proxies, "10.0.0.1:5000", []string{"198.51.100.9, 192.0.2.7, 10.2.3.4"}, "198.51.100.9"},
		{"several header lines", proxies, "10.0.0.1:5000", []string{"6.6.6.6", "198.51.100.9, 10.2.3.4"}, "198.51.100.9"},
		{"all hops trusted", proxies, "10.0.0.1:5000", []string{"10.0.0.3, 10.0.0.2"}, "10.0.0.3"},
		{"garbage hop stops the walk", proxies, "10.0.0.1:5000", []string{"198.51.100.9, unknown, 10.0.0.2"}, "10.0.0.2"},
		{"garbage from the first proxy", proxies, "10.0.0.1:5000", []string{"not-an-ip"}, "10.0.0.1"},
		{"empty hop", proxies, "10.0.0.1:5000", []string{"198.51.100.9,"}, "10.0.0.1"},
		{"ipv6 proxy and client", proxies, "[fd00::1]:443", []string{"2001:db8::5"}, "2001:db8::5"},
		{"ipv6 bracketed hop", proxies, "[fd00::1]:443", []string{"[2001:db8::5]:1234"}, "2001:db8::5"},
		{"ipv4-mapped peer matches ipv4 prefix", proxies, "[::ffff:10.0.0.1]:443", []string{"198.51.100.9"}, "198.51.100.9"},
		{"zoned peer", proxies, "[fd00::1%eth0]:443", []string{"198.51.100.9"}, "198.51.100.9"},
		{"unmasked prefix", proxies, "172.20.0.1:80", []string{"198.51.100.9"}, "198.51.100.9"},
		{"unix socket", proxies, "@", []string{"198.51.100.9"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := New(Config{TrustedProxies: tt.trusted})
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := rec.ClientIP(r); got != tt.want {
				t.Errorf("ClientIP = %q, want %q", got, tt.want)
			}
		})
	}
}
