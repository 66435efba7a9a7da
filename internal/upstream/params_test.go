package upstream

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func TestIsReservedAuthParam(t *testing.T) {
	for name, want := range map[string]bool{
		"state": true, "Nonce": true, "REDIRECT_URI": true, "code_challenge": true,
		"code_challenge_method": true, "client_id": true, "response_type": true,
		"scope": true, "request": true, "request_uri": true, "response_mode": true,
		"prompt": false, "login_hint": false, "hd": false, "client_secret": false, "": false,
	} {
		if got := IsReservedAuthParam(name); got != want {
			t.Errorf("IsReservedAuthParam(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestReservedAuthParamsIsACopy(t *testing.T) {
	l := ReservedAuthParams()
	l[0] = "prompt"
	if IsReservedAuthParam("prompt") || !IsReservedAuthParam("state") {
		t.Error("changing the returned slice changed the reserved list")
	}
}

func TestCheckAuthParams(t *testing.T) {
	tests := []struct {
		name   string
		params map[string]string
		bad    string // the name the error quotes; empty means no error
	}{
		{"nil", nil, ""},
		{"extra", map[string]string{"prompt": "login", "allow_signup": "false"}, ""},
		{"empty name", map[string]string{"": "x"}, `""`},
		{"reserved", map[string]string{"state": "x"}, `"state"`},
		{"reserved other case", map[string]string{"Response_Mode": "form_post"}, `"Response_Mode"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckAuthParams(tt.params)
			switch {
			case tt.bad == "" && err != nil:
				t.Errorf("CheckAuthParams(%v) = %v, want nil", tt.params, err)
			case tt.bad != "" && (err == nil || !strings.Contains(err.Error(), tt.bad)):
				t.Errorf("CheckAuthParams(%v) = %v, want an error naming %s", tt.params, err, tt.bad)
			}
		})
	}
}

func TestIsScopeName(t *testing.T) {
	for s, want := range map[string]bool{
		"read:user": true, "email": true, "https://www.googleapis.com/auth/drive": true,
		"": false, "a b": false, "a,b": false, "a\tb": false, "a\n": false, "\r": false,
	} {
		if got := IsScopeName(s); got != want {
			t.Errorf("IsScopeName(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestCheckEndpoint(t *testing.T) {
	for raw, ok := range map[string]bool{
		"https://idp.example.com/token": true,
		"http://idp.example.com/token":  true, // test overrides: http on any host
		"http://127.0.0.1:8080/api":     true,
		"/token":                        false,
		"idp.example.com/token":         false,
		"ftp://idp.example.com/":        false,
		"https://":                      false,
		"https://idp.example.com/%zz":   false,
	} {
		if err := CheckEndpoint(raw); (err == nil) != ok {
			t.Errorf("CheckEndpoint(%q) = %v, want ok %v", raw, err, ok)
		}
	}
}

func TestCheckBaseURL(t *testing.T) {
	tests := []struct {
		raw  string
		want string // substring of the error; empty means accepted
	}{
		{"https://git.example.com", ""},
		{"https://git.example.com/gitlab/", ""},
		{"http://127.0.0.1:8443", ""},
		{"http://[::1]:8443", ""},
		{"http://localhost:8443", ""},
		{"http://git.example.com", "http only on a loopback host"},
		{"git.example.com", "https URL"},
		{"ftp://git.example.com", "https URL"},
		{"https:opaque", "https URL"},
		{"https://u:p@git.example.com", "user name or password"},
		{"https://git.example.com/?x=1", "query"},
		{"https://git.example.com/?", "query"},
		{"https://git.example.com/#x", "fragment"},
		{"https://git.example.com/#", "fragment"},
	}
	for _, tt := range tests {
		u, err := CheckBaseURL(tt.raw)
		switch {
		case tt.want == "" && (err != nil || u == nil):
			t.Errorf("CheckBaseURL(%q) = %v, %v, want a URL", tt.raw, u, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("CheckBaseURL(%q) = %v, want an error containing %q", tt.raw, err, tt.want)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "127.0.0.1": true, "127.1.2.3": true, "::1": true,
		"example.com": false, "10.0.0.1": false, "::": false, "": false, "localhost.example.com": false,
	} {
		if got := IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestRedactURL(t *testing.T) {
	cause := errors.New("connection refused")
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"url error", &url.Error{Op: "Get", URL: "https://graph.example.com/me?appsecret_proof=s3cret", Err: cause}, cause},
		{"wrapped url error", fmt.Errorf("fetching: %w", &url.Error{Op: "Get", URL: "https://x/?t=1", Err: cause}), cause},
		{"other error", cause, cause},
		{"nil", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := RedactURL(tt.err)
			if got != tt.want {
				t.Errorf("RedactURL(%v) = %v, want %v", tt.err, got, tt.want)
			}
			if got != nil && strings.Contains(got.Error(), "s3cret") {
				t.Errorf("RedactURL kept the URL: %v", got)
			}
		})
	}
}

func TestClip(t *testing.T) {
	long := strings.Repeat("x", ClipLen+1)
	tests := []struct{ in, want string }{
		{"", ""},
		{"short", "short"},
		{long[:ClipLen], long[:ClipLen]},
		{long, long[:ClipLen] + "…"},
	}
	for _, tt := range tests {
		if got := Clip(tt.in); got != tt.want {
			t.Errorf("Clip(%d bytes) = %d bytes %q…, want %d bytes", len(tt.in), len(got), got[:min(len(got), 10)], len(tt.want))
		}
	}
}

func TestIsGUID(t *testing.T) {
	for s, want := range map[string]bool{
		"9188040d-6c67-4c5b-b112-36a304b66dad":  true,
		"9188040D-6C67-4C5B-B112-36A304B66DAD":  true,
		"00000000-0000-0000-0000-000000000000":  true,
		"9188040d6c674c5bb11236a304b66dad":      false,
		"9188040d-6c67-4c5b-b112-36a304b66da":   false,
		"9188040d-6c67-4c5b-b112-36a304b66dadd": false,
		"9188040g-6c67-4c5b-b112-36a304b66dad":  false,
		"9188040d_6c67-4c5b-b112-36a304b66dad":  false,
		"{9188040d-6c67-4c5b-b112-36a304b66da}": false,
		"":                                      false,
	} {
		if got := IsGUID(s); got != want {
			t.Errorf("IsGUID(%q) = %v, want %v", s, got, want)
		}
	}
}
