package flow

import "testing"

func TestSafeReturnTo(t *testing.T) {
	tests := []struct {
		in   string
		safe bool
	}{
		{"/", true},
		{"/account", true},
		{"/account/links?tab=github&x=1#top", true},
		{"/oauth2/authorize?client_id=app&redirect_uri=https%3A%2F%2Fapp.example%2Fcb", true},
		{"/a/b/../c", true},
		{"/%7Euser", true},

		{"", false},
		{"account", false},
		{"//evil.com", false},
		{"///evil.com", false},
		{"/\\evil.com", false},
		{"\\\\evil.com", false},
		{"/\\/evil.com", false},
		{"/%2F%2Fevil.com", false},
		{"/%2f/evil.com", false},
		{"/%5Cevil.com", false},
		{"/%5c%5cevil.com", false},
		{"/%252F%252Fevil.com", false},
		{"/%25252F%25252Fevil.com", false},
		{"https://evil.com", false},
		{"http:evil.com", false},
		{"https:/evil.com", false},
		{"javascript:alert(1)", false},
		{"JavaScript:alert(1)", false},
		{"data:text/html,<script>alert(1)</script>", false},
		{"\t//evil.com", false},
		{"/\t/evil.com", false},
		{"/\n/evil.com", false},
		{"/\r\nLocation: https://evil.com", false},
		{"/%09/evil.com", false},
		{"/%0d%0aSet-Cookie:x=y", false},
		{"/%00", false},
		{" /account", false},
		{"/account with space", false},
		{"/\x7f", false},
		{"/caf\u00e9", false},
		{"/\uff0f/evil.com", false},
		{"/%", false},
		{"/%zz", false},
		{"/" + string(make([]byte, maxReturnToLen)), false},
	}
	for _, tt := range tests {
		got, ok := SafeReturnTo(tt.in)
		if ok != tt.safe {
			t.Errorf("SafeReturnTo(%q) ok = %v, want %v", tt.in, ok, tt.safe)
			continue
		}
		want := ""
		if tt.safe {
			want = tt.in
		}
		if got != want {
			t.Errorf("SafeReturnTo(%q) = %q, want %q", tt.in, got, want)
		}
	}
}

func FuzzSafeReturnTo(f *testing.F) {
	for _, s := range []string{"/", "/a?b=c", "//evil.com", "/\\evil", "/%2F%2Fevil", "https://x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := SafeReturnTo(s)
		if !ok {
			return
		}
		if got != s || len(s) == 0 || s[0] != '/' || (len(s) > 1 && (s[1] == '/' || s[1] == '\\')) {
			t.Fatalf("SafeReturnTo(%q) accepted an unsafe value", s)
		}
		for i := 0; i < len(s); i++ {
			if s[i] <= ' ' || s[i] >= 0x7f || s[i] == '\\' {
				t.Fatalf("SafeReturnTo(%q) accepted byte %#x", s, s[i])
			}
		}
	})
}
