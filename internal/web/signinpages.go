package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sallyport/sallyport/internal/outcome"
)

// The sign-in pages. Each handler parses the request, makes one call to
// the SignIn service and renders the answer; metrics, audit and every
// decision belong to the service.
//
//	GET  /login                   the chooser
//	GET  /login/{connection}      Begin, then 303 to the upstream
//	GET  /callback/{connection}   Callback, then 303 to where the person was going
//	POST /callback/{connection}   the same, after a same-origin re-post when the POST came from another site
//	GET  /account                 who is signed in, or 303 to /login
//	GET  /logout                  the confirmation page
//	POST /logout                  Logout, then 303 to /login?signed_out=1

// maxCallbackFields caps the form fields a POST callback may carry. Apple
// sends four (code, state, id_token, user); a few more leave room for
// error, error_description and iss.
const maxCallbackFields = 32

// repostParam marks the same-origin re-post of a cross-site callback, so
// that it is never answered with the re-post page again. It proves nothing
// and needs not: a request that carries it without being same-origin also
// arrives without the flow's SameSite=Lax cookie, and Callback refuses it.
const repostParam = "repost"

// accountPath is where a signed-in person lands by default and where a
// signed-out one is sent back to after signing in.
const accountPath = "/account"

var (
	errTooManyFields = outcome.New(outcome.InvalidRequest,
		"The sign-in provider sent more data than expected. Please start again.")
	errRepostCrossSite = outcome.New(outcome.InvalidRequest,
		"This sign-in could not be finished because the browser sent it from another site twice. Please start again.")
)

// registerSignIn adds the sign-in routes. Only the POST callback is exempt
// from cross-origin protection: Apple (and any provider using
// response_mode=form_post) posts it from its own site by design.
func (s *Server) registerSignIn() {
	s.mux.HandleFunc("GET /login", s.handleLogin)
	// ServeMux also routes HEAD to GET patterns; a HEAD (a link checker, a
	// prefetch) must never start a flow or burn a callback's state.
	s.mux.HandleFunc("GET /login/{connection}", getOnly(s.handleBegin))
	s.mux.HandleFunc("GET /callback/{connection}", getOnly(s.handleCallback))
	s.mux.HandleFunc("POST /callback/{connection}", s.handleCallbackPost)
	s.AllowCrossOrigin("POST /callback/{connection}")
	s.mux.HandleFunc("GET /account", s.handleAccount)
	s.mux.HandleFunc("GET /logout", s.handleLogoutConfirm)
	s.mux.HandleFunc("POST /logout", s.handleLogout)
}

// getOnly answers 405 to HEAD on a GET route whose handler has effects.
func getOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h(w, r)
	}
}

// loginPage is what login.html shows.
type loginPage struct {
	Options    []loginButton
	SignedInAs string // name or email of the current session's user; "" when signed out
	SignedOut  bool   // the person just signed out
}

// loginButton is one "Continue with …" link.
type loginButton struct {
	Href string
	Name string
	Mark string // a letter or two for the provider's kind; "" draws a generic key
}

// handleLogin shows the chooser. A signed-in person sees it too, to switch
// accounts, with a way back to their account.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	returnTo, requestID := q.Get("return_to"), q.Get("request")
	opts, err := s.signIn.LoginOptions(r.Context(), requestID)
	if err != nil {
		s.WriteError(w, r, err)
		return
	}
	page := loginPage{SignedOut: q.Has("signed_out")}
	acct, err := s.signIn.Account(r)
	signedIn := err == nil
	if len(opts) == 1 && !page.SignedOut && (requestID != "" || !signedIn) && r.Method == http.MethodGet {
		// One way to sign in: no choice to show. Not right after signing
		// out, which would sign the person straight back in, and not for
		// a signed-in person who came to switch accounts.
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, beginHref(opts[0].Slug, returnTo, requestID), http.StatusSeeOther)
		return
	}
	switch {
	case errors.Is(err, ErrSignedOut):
	case err != nil:
		s.WriteError(w, r, err)
		return
	default:
		page.SignedInAs = displayName(acct)
		page.SignedOut = false
	}
	for _, o := range opts {
		name := o.DisplayName
		if name == "" {
			name = o.Slug
		}
		page.Options = append(page.Options, loginButton{Href: beginHref(o.Slug, returnTo, requestID), Name: name, Mark: mark(o.Kind, name)})
	}
	s.writePage(w, r, "login", page)
}

// beginHref is the link that starts a flow through the connection. The
// return_to travels as data, escaped; Begin alone decides whether it is an
// acceptable place to land.
func beginHref(slug, returnTo, requestID string) string {
	u := segmentURL("/login/", slug)
	q := url.Values{}
	if returnTo != "" {
		q.Set("return_to", returnTo)
	}
	if requestID != "" {
		q.Set("request", requestID)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// mark is the small neutral badge drawn beside a provider's name: a letter
// or two, never a brand's logo, so the page loads nothing from anyone else.
func mark(kind, name string) string {
	switch kind {
	case "oidc":
		return "" // enterprise and self-hosted IdPs share the generic key
	case "google":
		return "G"
	case "microsoft":
		return "M"
	case "github":
		return "GH"
	case "apple":
		return "A"
	case "facebook":
		return "f"
	case "gitlab":
		return "GL"
	case "atproto":
		return "@"
	}
	if r, _ := utf8.DecodeRuneInString(name); r != utf8.RuneError && unicode.IsLetter(r) {
		return string(unicode.ToUpper(r))
	}
	return ""
}

// handleBegin starts a flow and sends the browser to the upstream.
func (s *Server) handleBegin(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	to, err := s.signIn.Begin(w, r, r.PathValue("connection"), q.Get("return_to"), q.Get("request"))
	if err != nil {
		s.WriteError(w, r, err)
		return
	}
	// The answer sets the flow cookie; no cache may replay it.
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// handleCallback finishes a flow that came back with a GET (the query).
func (s *Server) handleCallback(w http.ResponseWriter, r *http.Request) {
	s.finishCallback(w, r)
}

// handleCallbackPost finishes a flow that came back with a POST
// (response_mode=form_post). A POST from another site arrives without the
// SameSite=Lax cookies that bind the flow to this browser, so it is not
// handed to Callback: the browser gets a page that posts the same fields
// to the same path from our own origin, and that request carries them.
func (s *Server) handleCallbackPost(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if !errors.As(err, &mbe) {
			err = outcome.Wrap(outcome.InvalidRequest, err)
		}
		s.WriteError(w, r, err)
		return
	}
	n := 0
	for _, vs := range r.PostForm {
		n += len(vs)
	}
	if n > maxCallbackFields {
		s.WriteError(w, r, errTooManyFields)
		return
	}
	fetchSite := r.Header.Get("Sec-Fetch-Site")
	if s.crossSite(r) {
		if !r.URL.Query().Has(repostParam) {
			w.Header().Set("Content-Security-Policy", contentSecurityPolicyFormsLeave)
			s.writePage(w, r, "repost", repostPage{Action: repostAction(r.PathValue("connection")), Fields: formFields(r.PostForm)})
			return
		}
		if fetchSite != "" {
			// A browser that says so came from another site even on the
			// re-post: something other than our page sent it. Answering
			// with the page again could loop.
			s.WriteError(w, r, errRepostCrossSite)
			return
		}
		// An older browser without Sec-Fetch-Site: its re-post may say
		// Origin: null because our pages send no referrer. Callback
		// decides, on the flow cookie.
	}
	s.finishCallback(w, r)
}

// crossSite reports whether a browser sent r from a page that is not ours.
// Sec-Fetch-Site is decisive when present ("none" is the person's own
// navigation); otherwise an Origin other than the issuer's (including
// "null") counts as cross-site. A request with neither is no browser's
// form post and goes to Callback, which needs the flow cookie anyway.
func (s *Server) crossSite(r *http.Request) bool {
	switch site := r.Header.Get("Sec-Fetch-Site"); site {
	case "same-origin", "none":
		return false
	case "":
	default:
		return true
	}
	origin := r.Header.Get("Origin")
	return origin != "" && !strings.EqualFold(origin, s.origin)
}

// finishCallback hands the callback to the service and sends the browser
// on. The landing path is checked once more here: whatever went wrong
// upstream, this handler never redirects off the site.
func (s *Server) finishCallback(w http.ResponseWriter, r *http.Request) {
	landing, err := s.signIn.Callback(w, r, r.PathValue("connection"))
	if err != nil {
		s.WriteError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	if landing.App != nil {
		http.Redirect(w, r, landing.App.String(), http.StatusSeeOther)
		return
	}
	to := landing.Path
	if !localPath(to) {
		s.log.LogAttrs(r.Context(), slog.LevelError, "callback returned a path off the site; landing on the account page",
			slog.String("route", routeLabel(r)), slog.String("request_id", RequestID(r.Context())))
		to = accountPath
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// localPath reports whether p is a path on this site: it starts with one
// slash and cannot be read by a browser as a scheme-relative URL ("//x",
// "/\x") or carry a control character.
func localPath(p string) bool {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, `/\`) {
		return false
	}
	return !strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// repostPage is what repost.html shows: a form that posts Fields to Action.
type repostPage struct {
	Action string
	Fields []formField
}

// formField is one hidden input of the re-post form.
type formField struct{ Name, Value string }

// repostAction is the callback path the re-post goes to, marked so that
// it is never answered with the re-post page again.
func repostAction(connection string) string {
	u := segmentURL("/callback/", connection)
	u.RawQuery = repostParam + "=1"
	return u.String()
}

// segmentURL is prefix followed by seg as one escaped path segment, so a
// slash or question mark in seg cannot change the route.
func segmentURL(prefix, seg string) url.URL {
	return url.URL{Path: prefix + seg, RawPath: prefix + url.PathEscape(seg)}
}

// formFields flattens a form in a stable order: names sorted, the values of
// one name in the order they came.
func formFields(form url.Values) []formField {
	names := make([]string, 0, len(form))
	for name := range form {
		names = append(names, name)
	}
	slices.Sort(names)
	var out []formField
	for _, name := range names {
		for _, v := range form[name] {
			out = append(out, formField{Name: name, Value: v})
		}
	}
	return out
}

// accountPage is what account.html shows.
type accountPage struct {
	Account
	Initial string // the avatar's letter
}

// handleAccount shows who is signed in; a signed-out browser is sent to
// sign in and brought back here.
func (s *Server) handleAccount(w http.ResponseWriter, r *http.Request) {
	acct, err := s.signIn.Account(r)
	if errors.Is(err, ErrSignedOut) {
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, "/login?"+url.Values{"return_to": {accountPath}}.Encode(), http.StatusSeeOther)
		return
	}
	if err != nil {
		s.WriteError(w, r, err)
		return
	}
	s.writePage(w, r, "account", accountPage{Account: acct, Initial: initial(displayName(acct))})
}

// displayName is how the pages name the signed-in person.
func displayName(a Account) string {
	switch {
	case a.User.Name != "":
		return a.User.Name
	case a.User.Email != "":
		return a.User.Email
	}
	return "your account"
}

func initial(name string) string {
	if r, _ := utf8.DecodeRuneInString(name); unicode.IsLetter(r) || unicode.IsDigit(r) {
		return string(unicode.ToUpper(r))
	}
	return "?"
}

// handleLogoutConfirm asks before signing out: a GET must change nothing,
// and a link to /logout from anywhere must not end a session.
func (s *Server) handleLogoutConfirm(w http.ResponseWriter, r *http.Request) {
	s.writePage(w, r, "logout", nil)
}

// handleLogout ends the session. Cross-origin protection has already
// refused a POST sent from another site.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if err := s.signIn.Logout(w, r); err != nil {
		s.WriteError(w, r, fmt.Errorf("web: logout: %w", err))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, "/login?signed_out=1", http.StatusSeeOther)
}
