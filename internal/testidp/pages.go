package testidp

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"net/url"
	"sort"
)

//go:embed templates/pages.html
var templateFS embed.FS

var pages = template.Must(template.ParseFS(templateFS, "templates/pages.html"))

type chooserData struct {
	Persona  string
	Action   string
	Request  string
	CSRF     string
	ClientID string
	Users    []User
}

type formField struct{ Name, Value string }

// render writes a page with the headers every page gets.
func render(w http.ResponseWriter, status int, name string, data any, csp string) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		http.Error(w, "page failed", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", csp)
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// chooserCSP leaves out form-action: browsers apply it to every redirect
// after a submission, and picking a person redirects to the relying party
// (and on to its app). The form carries a single-use CSRF token and the
// page runs no script.
const chooserCSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"

const pageCSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"

func (p *IdP) errorPage(w http.ResponseWriter, status int, msg string) {
	render(w, status, "error", msg, pageCSP)
}

func (p *IdP) chooserPage(w http.ResponseWriter, d chooserData) {
	render(w, http.StatusOK, "chooser", d, chooserCSP)
}

// formPost renders the auto-submitting page of response_mode=form_post.
func (p *IdP) formPost(w http.ResponseWriter, action string, params url.Values) {
	var fields []formField
	for k, vs := range params {
		for _, v := range vs {
			fields = append(fields, formField{k, v})
		}
	}
	sort.Slice(fields, func(i, j int) bool { return fields[i].Name < fields[j].Name })
	nonce := random(16)
	origin := action
	if u, err := url.Parse(action); err == nil {
		origin = u.Scheme + "://" + u.Host
	}
	csp := "default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-" + nonce + "'; form-action " + origin + "; frame-ancestors 'none'"
	render(w, http.StatusOK, "formpost", struct {
		Action string
		Fields []formField
		Nonce  string
	}{action, fields, nonce}, csp)
}
