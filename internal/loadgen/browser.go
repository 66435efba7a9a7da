package loadgen

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
)

// maxHops bounds the redirects of one sign-in; the flow takes three
// (Sallyport → upstream → Sallyport → app), more than ten is a loop.
const maxHops = 10

// browser is one virtual browser and the app it signs in to. Its
// connections are kept from one sign-in to the next (keep-alive, as a real
// browser and a real app keep theirs); its cookies are not: every sign-in
// starts with an empty jar, a browser Sallyport has never seen.
type browser struct {
	l         *Loader
	transport *http.Transport
	app       *http.Client // the app's back-channel calls: no browser cookies
}

func (l *Loader) newBrowser() *browser {
	t := newTransport()
	return &browser{l: l, transport: t, app: &http.Client{Transport: t, Timeout: l.stepTimeout}}
}

func (b *browser) close() { b.transport.CloseIdleConnections() }

// signInError is a sign-in that did not end with a verified ID token. Kind
// groups like failures for counting: it names the step and the reason but
// never a token or a random value.
type signInError struct {
	Kind   string
	Detail string
}

func (e *signInError) Error() string { return e.Kind + ": " + e.Detail }

func fail(kind, format string, args ...any) error {
	return &signInError{Kind: kind, Detail: fmt.Sprintf(format, args...)}
}

// signIn runs one sign-in for the upstream user named by hint ("" for the
// upstream's default) and returns the ID token's subject.
func (b *browser) signIn(ctx context.Context, hint string) (string, error) {
	l := b.l
	state, nonce, verifier := randomString(), randomString(), randomString()
	challenge := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"client_id":             {l.cfg.ClientID},
		"redirect_uri":          {l.cfg.RedirectURI},
		"response_type":         {"code"},
		"scope":                 {"openid email profile"},
		"state":                 {state},
		"nonce":                 {nonce},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(challenge[:])},
		"code_challenge_method": {"S256"},
		"connection":            {l.cfg.Connection},
	}
	if hint != "" {
		q.Set("login_hint", hint)
	}
	final, err := b.follow(ctx, l.authorize+"?"+q.Encode())
	if err != nil {
		return "", err
	}
	code, err := l.appCallback(final, state)
	if err != nil {
		return "", err
	}
	rawIDToken, err := b.redeem(ctx, code, verifier)
	if err != nil {
		return "", err
	}
	idToken, err := l.verifier.Verify(ctx, rawIDToken)
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", fail("id token: invalid", "%v", err)
	}
	if idToken.Nonce != nonce {
		return "", fail("id token: nonce mismatch", "the ID token's nonce is not the one the app sent")
	}
	return idToken.Subject, nil
}

// follow is the browser's part: GET next, and every redirect after it,
// with a fresh cookie jar, until a redirect points at the app's redirect
// URI, which it returns without fetching.
func (b *browser) follow(ctx context.Context, next string) (*url.URL, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	c := &http.Client{
		Transport:     b.transport,
		Jar:           jar,
		Timeout:       b.l.stepTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	for range maxHops {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, next, nil)
		if err != nil {
			return nil, fail("redirect: bad URL", "%v", err)
		}
		where := b.l.where(req.URL)
		resp, err := c.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fail("GET "+where+": transport", "%v", err)
		}
		body := drain(resp)
		switch resp.StatusCode {
		case http.StatusFound, http.StatusSeeOther, http.StatusMovedPermanently, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		default:
			return nil, fail(fmt.Sprintf("GET %s answered %d", where, resp.StatusCode), "%s", body)
		}
		loc, err := resp.Location()
		if err != nil {
			return nil, fail("GET "+where+": redirect without a Location", "%v", err)
		}
		if b.l.isRedirectURI(loc) {
			return loc, nil
		}
		next = loc.String()
	}
	return nil, fail("redirect loop", "more than %d redirects", maxHops)
}

// appCallback is the app receiving the browser at its redirect URI: it
// takes the code only if the state is its own and, per RFC 9207, the
// response came from Sallyport.
func (l *Loader) appCallback(u *url.URL, state string) (string, error) {
	q := u.Query()
	if e := q.Get("error"); e != "" {
		return "", fail("app callback: error="+e, "%s", q.Get("error_description"))
	}
	if q.Get("state") != state {
		return "", fail("app callback: state mismatch", "the state is not the one the app sent")
	}
	if iss, ok := q["iss"]; ok || l.issParam {
		if len(iss) != 1 || iss[0] != l.cfg.Issuer {
			return "", fail("app callback: iss mismatch", "iss = %q, want %q", iss, l.cfg.Issuer)
		}
	}
	code := q.Get("code")
	if code == "" {
		return "", fail("app callback: no code", "the redirect carries neither a code nor an error")
	}
	return code, nil
}

// redeem is the app exchanging the code for tokens; it returns the raw ID
// token.
func (b *browser) redeem(ctx context.Context, code, verifier string) (string, error) {
	l := b.l
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {l.cfg.RedirectURI},
		"code_verifier": {verifier},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.token, strings.NewReader(form.Encode()))
	if err != nil {
		return "", fail("token: bad URL", "%v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// RFC 6749 §2.3.1: the credentials are form-encoded before Basic.
	req.SetBasicAuth(url.QueryEscape(l.cfg.ClientID), url.QueryEscape(l.cfg.ClientSecret))
	resp, err := b.app.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", fail("POST token: transport", "%v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fail("POST token: transport", "%v", err)
	}
	var tok struct {
		IDToken     string `json:"id_token"`
		AccessToken string `json:"access_token"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	jsonErr := json.Unmarshal(body, &tok)
	if resp.StatusCode != http.StatusOK {
		return "", fail(fmt.Sprintf("POST token answered %d %s", resp.StatusCode, tok.Error), "%s", tok.Description)
	}
	if jsonErr != nil {
		return "", fail("POST token: not JSON", "%v", jsonErr)
	}
	if tok.IDToken == "" || tok.AccessToken == "" {
		return "", fail("POST token: no id_token or access_token", "scope openid was asked for")
	}
	return tok.IDToken, nil
}

// where names a URL in error kinds: whose it is and its path, never its
// query, so like failures count together.
func (l *Loader) where(u *url.URL) string {
	if strings.EqualFold(u.Host, l.issuerHost) {
		return "sallyport " + u.Path
	}
	return "upstream " + u.Path
}

// drain reads what is left of a body, so the connection can be reused,
// and returns its text for error details: a page's words without its
// markup, where Sallyport's refusal pages name the outcome.
func drain(resp *http.Response) string {
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	text := string(body)
	if i := strings.Index(text, "<main"); i >= 0 {
		text = text[i:]
	}
	text = strings.Join(strings.Fields(markup.ReplaceAllString(text, " ")), " ")
	if len(text) > 300 {
		text = text[:300] + "…"
	}
	return text
}

// markup is an HTML tag or comment, good enough to read error pages.
var markup = regexp.MustCompile(`<[^>]*>`)

// randomString is 32 random bytes, base64url: state, nonce and PKCE
// verifier (43 characters, as RFC 7636 asks).
func randomString() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}
