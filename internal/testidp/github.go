package testidp

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// handleGitHubUser is GET /user: the numeric id, the login, a nullable
// name and only the public email (or null).
func (p *IdP) handleGitHubUser(w http.ResponseWriter, r *http.Request, per *persona) {
	g, u := p.tokenGrant(r, per)
	if g == nil {
		githubError(w, http.StatusUnauthorized, "Bad credentials")
		return
	}
	id, _ := strconv.ParseInt(u.Subject, 10, 64)
	var name, email any
	if u.Name != "" {
		name = u.Name
	}
	if pub := githubPublicEmail(u); pub != "" {
		email = pub
	}
	avatar := u.Picture
	if avatar == "" {
		avatar = fmt.Sprintf("%s/avatars/u/%d?v=4", per.base, id)
	}
	body := map[string]any{
		"login": u.Username, "id": id, "node_id": "U_" + b64([]byte(u.Subject)),
		"avatar_url": avatar, "html_url": per.base + "/" + u.Username,
		"url": per.base + "/api/users/" + u.Username, "type": "User", "site_admin": false,
		"name": name, "company": nil, "blog": "", "location": nil, "email": email, "bio": nil,
	}
	for k, v := range u.Claims {
		body[k] = v
	}
	writeJSON(w, http.StatusOK, body, false)
}

// githubPublicEmail is the address GET /user shows: the public one.
func githubPublicEmail(u *User) string {
	if len(u.GitHubEmails) == 0 {
		return u.Email
	}
	for _, e := range u.GitHubEmails {
		if e.Visibility != nil && *e.Visibility == "public" {
			return e.Email
		}
	}
	return ""
}

// githubEmails is the user's GET /user/emails list.
func githubEmails(u *User) []GitHubEmail {
	if len(u.GitHubEmails) > 0 || u.Email == "" {
		return u.GitHubEmails
	}
	vis := "public"
	return []GitHubEmail{{Email: u.Email, Primary: true, Verified: u.EmailVerified, Visibility: &vis}}
}

// handleGitHubEmails is GET /user/emails, paginated with page and
// per_page (default 30, at most 100) and a Link header. It needs the
// user:email or user scope; without it GitHub answers 404.
func (p *IdP) handleGitHubEmails(w http.ResponseWriter, r *http.Request, per *persona) {
	g, u := p.tokenGrant(r, per)
	if g == nil {
		githubError(w, http.StatusUnauthorized, "Bad credentials")
		return
	}
	scopes := strings.FieldsFunc(g.scope, func(c rune) bool { return c == ',' || c == ' ' })
	ok := false
	for _, s := range scopes {
		ok = ok || s == "user:email" || s == "user"
	}
	if !ok {
		githubError(w, http.StatusNotFound, "Not Found")
		return
	}
	q := r.URL.Query()
	page, err := strconv.Atoi(q.Get("page"))
	if err != nil || page < 1 {
		page = 1
	}
	per_page, err := strconv.Atoi(q.Get("per_page"))
	if err != nil || per_page < 1 {
		per_page = 30
	}
	per_page = min(per_page, 100)
	all := githubEmails(u)
	last := max(1, (len(all)+per_page-1)/per_page)
	lo := min((page-1)*per_page, len(all))
	hi := min(lo+per_page, len(all))
	link := func(n int, rel string) string {
		v := url.Values{"page": {strconv.Itoa(n)}, "per_page": {strconv.Itoa(per_page)}}
		return fmt.Sprintf("<%s/api/user/emails?%s>; rel=%q", per.base, v.Encode(), rel)
	}
	var links []string
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"), link(min(page-1, last), "prev"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	out := all[lo:hi]
	if out == nil {
		out = []GitHubEmail{}
	}
	writeJSON(w, http.StatusOK, out, false)
}

func githubError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"message": msg, "documentation_url": "https://docs.github.com/rest", "status": strconv.Itoa(status)}, false)
}
