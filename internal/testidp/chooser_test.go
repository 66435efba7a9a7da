package testidp

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"
)

// chooser is what the chooser page offers.
type chooser struct {
	action   string
	hidden   url.Values
	subjects []string
}

func parseChooser(t *testing.T, resp *http.Response) chooser {
	t.Helper()
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("chooser: status %d", resp.StatusCode)
	}
	doc, err := html.Parse(resp.Body)
	must(t, err)
	c := chooser{hidden: url.Values{}}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch {
			case n.Data == "form":
				c.action = attr(n, "action")
			case n.Data == "input" && attr(n, "type") == "hidden":
				c.hidden.Add(attr(n, "name"), attr(n, "value"))
			case n.Data == "button" && attr(n, "name") == "subject":
				c.subjects = append(c.subjects, attr(n, "value"))
			}
		}
		for k := n.FirstChild; k != nil; k = k.NextSibling {
			walk(k)
		}
	}
	walk(doc)
	return c
}

func (c chooser) post(t *testing.T, idp *IdP, pageURL string, extra url.Values) (*http.Response, []byte) {
	t.Helper()
	u, err := url.Parse(pageURL)
	must(t, err)
	form := url.Values{}
	for k, v := range c.hidden {
		form[k] = v
	}
	for k, v := range extra {
		form[k] = v
	}
	return postForm(t, idp, u.ResolveReference(&url.URL{Path: c.action}).String(), form, nil)
}

func TestChooser(t *testing.T) {
	idp := start(t, Config{Interactive: true})
	ctx, _, conf := oidcSetup(t, idp, Generic)
	must(t, idp.AddUser(Generic, User{Subject: "bob", Email: "bob@example.com", Name: "Bob <script>"}))
	authURL := conf.AuthCodeURL("st")

	resp := get(t, idp, conf.AuthCodeURL("st"))
	for h, want := range map[string]string{"X-Frame-Options": "DENY", "Content-Type": "text/html; charset=utf-8"} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "script-src") {
		t.Errorf("CSP %q", csp)
	}
	page := parseChooser(t, resp)
	if diff := cmp.Diff([]string{"alice", "bob"}, page.subjects); diff != "" {
		t.Errorf("subjects (-want +got):\n%s", diff)
	}
	if page.hidden.Get("request") == "" || page.hidden.Get("csrf") == "" {
		t.Fatalf("hidden fields %v", page.hidden)
	}

	resp2, body := page.post(t, idp, authURL, url.Values{"subject": {"bob"}})
	if resp2.StatusCode != http.StatusFound {
		t.Fatalf("choose bob: %d %s", resp2.StatusCode, body)
	}
	loc, _ := url.Parse(resp2.Header.Get("Location"))
	tok, err := conf.Exchange(ctx, loc.Query().Get("code"))
	must(t, err)
	if _, c := decode(t, idToken(t, tok)); c["sub"] != "bob" || loc.Query().Get("state") != "st" {
		t.Errorf("sub %v, callback %v", c["sub"], loc.Query())
	}

	// The page's token is single-use.
	if resp, _ := page.post(t, idp, authURL, url.Values{"subject": {"bob"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("replayed choice: %d", resp.StatusCode)
	}

	// A wrong CSRF token is refused (and burns the request).
	page = parseChooser(t, get(t, idp, conf.AuthCodeURL("st")))
	bad := page
	bad.hidden = url.Values{"request": {page.hidden.Get("request")}, "csrf": {"forged"}}
	if resp, _ := bad.post(t, idp, authURL, url.Values{"subject": {"alice"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("forged csrf: %d", resp.StatusCode)
	}
	if resp, _ := page.post(t, idp, authURL, url.Values{"subject": {"alice"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("after a forged attempt: %d", resp.StatusCode)
	}

	// Cancel answers access_denied to the client.
	page = parseChooser(t, get(t, idp, conf.AuthCodeURL("st")))
	resp3, _ := page.post(t, idp, authURL, url.Values{"cancel": {"1"}})
	loc, _ = url.Parse(resp3.Header.Get("Location"))
	if resp3.StatusCode != http.StatusFound || loc.Query().Get("error") != "access_denied" || loc.Query().Get("state") != "st" {
		t.Errorf("cancel: %d %v", resp3.StatusCode, loc)
	}
}

func TestChooserPerPersona(t *testing.T) {
	idp := start(t, Config{})
	_, _, conf := oidcSetup(t, idp, Google)
	must(t, idp.SetOptions(Google, Options{Interactive: true}))
	page := parseChooser(t, get(t, idp, conf.AuthCodeURL("s")))
	if len(page.subjects) != 1 {
		t.Errorf("subjects %v", page.subjects)
	}
	// The generic persona still approves at once.
	_, _, gconf := oidcSetup(t, idp, Generic)
	if cb := callback(t, idp, gconf.AuthCodeURL("s")); cb.Get("code") == "" {
		t.Errorf("generic callback %v", cb)
	}
}
