package clients

import "testing"

func TestMatchRedirectURI(t *testing.T) {
	registered := []string{
		"https://app.example.com/callback",
		"https://app.example.com/cb?tenant=a",
		"http://127.0.0.1/native",
		"http://[::1]:8080/native",
		"http://localhost/cb",
		"com.example.app:/oauth",
	}
	tests := []struct {
		name string
		got  string
		want bool
	}{
		{"exact https", "https://app.example.com/callback", true},
		{"exact with query", "https://app.example.com/cb?tenant=a", true},
		{"exact custom scheme", "com.example.app:/oauth", true},
		{"trailing slash", "https://app.example.com/callback/", false},
		{"no path", "https://app.example.com", false},
		{"host case", "https://APP.example.com/callback", false},
		{"scheme case", "HTTPS://app.example.com/callback", false},
		{"path case", "https://app.example.com/Callback", false},
		{"http instead of https", "http://app.example.com/callback", false},
		{"port on non-loopback", "https://app.example.com:443/callback", false},
		{"other port on non-loopback", "https://app.example.com:8443/callback", false},
		{"different path", "https://app.example.com/other", false},
		{"dot segments", "https://app.example.com/x/../callback", false},
		{"extra query", "https://app.example.com/callback?next=/admin", false},
		{"empty query", "https://app.example.com/callback?", false},
		{"other query value", "https://app.example.com/cb?tenant=b", false},
		{"added query parameter", "https://app.example.com/cb?tenant=a&x=1", false},
		{"fragment", "https://app.example.com/callback#frag", false},
		{"empty fragment", "https://app.example.com/callback#", false},
		{"encoded path", "https://app.example.com/%63allback", false},
		{"encoded slash", "https://app.example.com%2Fcallback", false},
		{"userinfo", "https://evil.example@app.example.com/callback", false},
		{"suffix host", "https://app.example.com.evil.example/callback", false},
		{"custom scheme other path", "com.example.app:/oauth2", false},
		{"empty", "", false},

		{"loopback v4 any port", "http://127.0.0.1:51234/native", true},
		{"loopback v4 no port", "http://127.0.0.1/native", true},
		{"loopback v4 highest port", "http://127.0.0.1:65535/native", true},
		{"loopback v6 other port", "http://[::1]:1/native", true},
		{"loopback v6 no port", "http://[::1]/native", true},
		{"localhost any port", "http://localhost:3000/cb", true},
		{"loopback port 0", "http://127.0.0.1:0/native", false},
		{"loopback port too big", "http://127.0.0.1:65536/native", false},
		{"loopback empty port", "http://127.0.0.1:/native", false},
		{"loopback signed port", "http://127.0.0.1:+80/native", false},
		{"loopback port then host", "http://127.0.0.1:80.evil.example/native", false},
		{"loopback userinfo", "http://127.0.0.1@evil.example/native", false},
		{"loopback userinfo with port", "http://127.0.0.1:8080@evil.example/native", false},
		{"loopback as userinfo of loopback", "http://evil@127.0.0.1:8080/native", false},
		{"loopback backslash", "http://127.0.0.1:8080\\@evil.example/native", false},
		{"loopback other host", "http://127.0.0.2:8080/native", false},
		{"loopback host swapped", "http://localhost:8080/native", false},
		{"loopback v6 spelled out", "http://[0:0:0:0:0:0:0:1]:8080/native", false},
		{"loopback v4 as v6", "http://[::ffff:127.0.0.1]:8080/native", false},
		{"loopback https", "https://127.0.0.1:8080/native", false},
		{"loopback scheme case", "HTTP://127.0.0.1:8080/native", false},
		{"loopback localhost case", "http://LOCALHOST:3000/cb", false},
		{"loopback trailing slash", "http://127.0.0.1:8080/native/", false},
		{"loopback different path", "http://127.0.0.1:8080/other", false},
		{"loopback path case", "http://127.0.0.1:8080/Native", false},
		{"loopback encoded path", "http://127.0.0.1:8080/%6eative", false},
		{"loopback extra query", "http://127.0.0.1:8080/native?x=1", false},
		{"loopback empty query", "http://127.0.0.1:8080/native?", false},
		{"loopback fragment", "http://127.0.0.1:8080/native#x", false},
		{"loopback no path", "http://127.0.0.1:8080", false},
		{"loopback dot segment", "http://127.0.0.1:8080/x/../native", false},
		{"loopback suffix host", "http://127.0.0.1.evil.example:8080/native", false},
		{"localhost suffix host", "http://localhost.evil.example:3000/cb", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MatchRedirectURI(registered, tt.got); got != tt.want {
				t.Errorf("MatchRedirectURI(%q) = %v, want %v", tt.got, got, tt.want)
			}
		})
	}
}

// A registered loopback URI's own query takes part in the match.
func TestMatchRedirectURILoopbackQuery(t *testing.T) {
	registered := []string{"http://127.0.0.1/cb?app=1"}
	for got, want := range map[string]bool{
		"http://127.0.0.1:9000/cb?app=1": true,
		"http://127.0.0.1:9000/cb?app=2": false,
		"http://127.0.0.1:9000/cb":       false,
	} {
		if MatchRedirectURI(registered, got) != want {
			t.Errorf("MatchRedirectURI(%q) = %v, want %v", got, !want, want)
		}
	}
	if MatchRedirectURI(nil, "http://127.0.0.1:9000/cb") {
		t.Error("matched with nothing registered")
	}
}
