package web

import (
	"net/http"
	"strings"
)

// The OpenID Provider's pages (internal/op renders through these, so the
// provider never imports web).

// consentPage is what consent.html shows.
type consentPage struct {
	ClientName string
	Scopes     []string // what the person reads: one phrase per scope
	RequestID  string
}

// scopeWords says in words what each scope gives an app.
var scopeWords = map[string]string{
	"openid":         "Your Sallyport user id, to recognise you when you come back",
	"profile":        "Your name",
	"email":          "Your email address and whether it is verified",
	"offline_access": "Access while you are away, until you sign out of the app",
}

// WriteConsent asks the signed-in person whether an app may use their
// account for the scopes of a pending request.
func (s *Server) WriteConsent(w http.ResponseWriter, r *http.Request, clientName string, scopes []string, requestID string) {
	page := consentPage{ClientName: clientName, RequestID: requestID}
	for _, sc := range scopes {
		if words, ok := scopeWords[sc]; ok {
			page.Scopes = append(page.Scopes, words)
		} else {
			page.Scopes = append(page.Scopes, sc)
		}
	}
	w.Header().Set("Content-Security-Policy", contentSecurityPolicyFormsLeave)
	s.writePage(w, r, "consent", page)
}

// browserOAuthPaths are the /oauth2/ paths a person's browser visits:
// their errors are pages, not JSON.
var browserOAuthPaths = []string{"/oauth2/authorize", "/oauth2/logout"}

func isBrowserOAuthPath(p string) bool {
	for _, b := range browserOAuthPaths {
		if p == b || strings.HasPrefix(p, b+"/") {
			return true
		}
	}
	return false
}
