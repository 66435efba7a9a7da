package testidp

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

type kind int

const (
	kindGeneric kind = iota
	kindEntra
	kindGoogle
	kindApple
	kindGitHub
	kindFacebook
	kindGitLab
)

// oidc reports whether the kind issues ID tokens.
func (k kind) oidc() bool { return k != kindGitHub && k != kindFacebook }

// paths are a persona's endpoint paths below its base; Entra's contain
// {tenant}.
type paths struct {
	discovery, jwks, authorize, token, userinfo, emails, api string
}

var kindPaths = map[kind]paths{
	kindGeneric:  {"/.well-known/openid-configuration", "/jwks", "/authorize", "/token", "/userinfo", "", ""},
	kindGoogle:   {"/.well-known/openid-configuration", "/oauth2/v3/certs", "/o/oauth2/v2/auth", "/token", "/v1/userinfo", "", ""},
	kindApple:    {"/.well-known/openid-configuration", "/auth/keys", "/auth/authorize", "/auth/token", "", "", ""},
	kindGitLab:   {"/.well-known/openid-configuration", "/oauth/discovery/keys", "/oauth/authorize", "/oauth/token", "/oauth/userinfo", "", ""},
	kindGitHub:   {"", "", "/login/oauth/authorize", "/login/oauth/access_token", "/api/user", "/api/user/emails", "/api"},
	kindFacebook: {"", "", "/v19.0/dialog/oauth", "/graph/v19.0/oauth/access_token", "/graph/v19.0/me", "", "/graph/v19.0"},
	kindEntra: {"/{tenant}/v2.0/.well-known/openid-configuration", "/{tenant}/discovery/v2.0/keys",
		"/{tenant}/oauth2/v2.0/authorize", "/{tenant}/oauth2/v2.0/token", "/graph/oidc/userinfo", "", ""},
}

// persona is one imitated provider. Its fields are guarded by IdP.mu.
type persona struct {
	name   string
	kind   kind
	base   string // URL()+"/"+name
	issuer string // Entra: unused (per tenant)
	alg    string
	keys   []*signingKey // published; the last one signs
	rogue  *signingKey   // UnknownKID key
	// rogueSigned: the rogue key has signed, so UnknownKIDRefetch
	// publishes it in every JWKS served from now on.
	rogueSigned bool
	clients     map[string]*registeredClient
	users       []*User
	current     string
	opts        Options
	mis         Misbehavior
	appleSeen   map[string]bool // client+subject pairs that were sent the user field
}

type registeredClient struct {
	Client
	apple *AppleClient
}

// addPersona creates a persona and its routes; it fails if the name is
// taken.
func (p *IdP) addPersona(name string, k kind, trailingSlash bool) (*persona, error) {
	per := &persona{
		name:      name,
		kind:      k,
		base:      p.url + "/" + name,
		alg:       RS256,
		clients:   make(map[string]*registeredClient),
		appleSeen: make(map[string]bool),
	}
	per.issuer = per.base
	if trailingSlash {
		per.issuer += "/"
	}
	p.mu.Lock()
	if p.personas[name] != nil {
		p.mu.Unlock()
		return nil, fmt.Errorf("%w: persona %q exists", ErrInvalid, name)
	}
	p.personas[name] = per
	p.mu.Unlock()

	ps := kindPaths[k]
	route := func(method, path, endpoint string, h func(http.ResponseWriter, *http.Request, *persona)) {
		if path == "" {
			return
		}
		p.mux.Handle(method+" /"+name+path, p.wrap(per, endpoint, h))
	}
	route("GET", ps.discovery, EndpointDiscovery, p.handleDiscovery)
	route("GET", ps.jwks, EndpointJWKS, p.handleJWKS)
	route("GET", ps.authorize, EndpointAuthorize, p.handleAuthorize)
	route("POST", ps.authorize, EndpointAuthorize, p.handleChooser)
	route("POST", ps.token, EndpointToken, p.handleToken)
	if k == kindFacebook {
		route("GET", ps.token, EndpointToken, p.handleToken)
	}
	route("GET", ps.userinfo, EndpointUserinfo, p.handleUserinfo)
	if k.oidc() {
		route("POST", ps.userinfo, EndpointUserinfo, p.handleUserinfo)
	}
	route("GET", ps.emails, EndpointEmails, p.handleGitHubEmails)
	return per, nil
}

// wrap counts the request, logs it and applies the Slow switch.
func (p *IdP) wrap(per *persona, endpoint string, h func(http.ResponseWriter, *http.Request, *persona)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.counts[per.name+" "+endpoint]++
		slow := per.mis.Slow
		p.mu.Unlock()
		p.log.Debug("testidp: request", "persona", per.name, "endpoint", endpoint, "method", r.Method, "path", r.URL.Path)
		if slow > 0 {
			t := time.NewTimer(slow)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		w.Header().Set("Cache-Control", "no-store")
		h(w, r, per)
	})
}

// endpoints returns the URLs of a non-Entra persona.
func (per *persona) endpoints() Endpoints {
	ps := kindPaths[per.kind]
	u := func(path string) string {
		if path == "" {
			return ""
		}
		return per.base + path
	}
	e := Endpoints{
		Issuer: per.issuer, Discovery: u(ps.discovery), JWKS: u(ps.jwks), Authorize: u(ps.authorize),
		Token: u(ps.token), UserInfo: u(ps.userinfo), Emails: u(ps.emails), API: u(ps.api),
	}
	if per.kind == kindGeneric {
		// OIDC Discovery §4: remove a trailing slash before appending.
		e.Discovery = strings.TrimSuffix(per.issuer, "/") + ps.discovery
	}
	if !per.kind.oidc() {
		e.Issuer = per.base
	}
	return e
}

func (per *persona) user(subject string) *User {
	for _, u := range per.users {
		if u.Subject == subject {
			return u
		}
	}
	return nil
}

func (per *persona) validUser(u User) error {
	switch per.kind {
	case kindGitHub:
		if _, err := strconv.ParseInt(u.Subject, 10, 64); err != nil {
			return fmt.Errorf("%w: a GitHub user's Subject is its numeric id, not %q", ErrInvalid, u.Subject)
		}
		if u.Username == "" {
			return fmt.Errorf("%w: a GitHub user needs a Username (login)", ErrInvalid)
		}
	case kindEntra:
		if u.TenantID != "" && !isGUID(u.TenantID) {
			return fmt.Errorf("%w: Entra TenantID %q is not a GUID", ErrInvalid, u.TenantID)
		}
	}
	return nil
}

// isGUID reports whether s looks like 8-4-4-4-12 hex digits.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
				return false
			}
		}
	}
	return true
}
