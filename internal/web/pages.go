package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// Templates shared by every page rather than rendered on their own: the
// layout (head, banner, main landmark) and small parts such as the
// provider mark and a formatted time.
var sharedTemplates = []string{"templates/layout.html", "templates/parts.html"}

// pageFuncs are the helpers the templates may call.
var pageFuncs = template.FuncMap{
	// datetime is the machine-readable form for <time datetime>.
	"datetime": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	// date and clock are what a person reads. The server does not know the
	// reader's time zone, so it says UTC rather than pretend.
	"date":  func(t time.Time) string { return t.UTC().Format("2 Jan 2006") },
	"clock": func(t time.Time) string { return t.UTC().Format("15:04 UTC") },
}

// parsePages parses every page in templates/ into its own template set
// built on a clone of the shared layout. One set per page lets each define
// "title" and "main" without the definitions of the others clashing.
func parsePages() (map[string]*template.Template, error) {
	base, err := template.New("layout").Funcs(pageFuncs).ParseFS(templateFS, sharedTemplates...)
	if err != nil {
		return nil, fmt.Errorf("web: parse layout: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: list templates: %w", err)
	}
	pages := map[string]*template.Template{}
	for _, name := range names {
		if isShared(name) {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, name)
		if err != nil {
			return nil, fmt.Errorf("web: parse %s: %w", name, err)
		}
		pages[strings.TrimSuffix(path.Base(name), ".html")] = t
	}
	return pages, nil
}

func isShared(name string) bool {
	for _, s := range sharedTemplates {
		if s == name {
			return true
		}
	}
	return false
}

// executePage renders the named page inside the layout into buf.
func (s *Server) executePage(buf *bytes.Buffer, name string, data any) error {
	t, ok := s.pages[name]
	if !ok {
		return fmt.Errorf("web: no page template %q", name)
	}
	return t.ExecuteTemplate(buf, "layout", data)
}

// writePage renders a page and sends it with status 200. It renders into a
// buffer first so a template failure can still become an error page
// rather than half a page. Every page rendered here belongs to a sign-in
// or a session, so none may be stored by a browser or a proxy.
func (s *Server) writePage(w http.ResponseWriter, r *http.Request, name string, data any) {
	var buf bytes.Buffer
	if err := s.executePage(&buf, name, data); err != nil {
		s.WriteError(w, r, fmt.Errorf("web: render %s: %w", name, err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}
