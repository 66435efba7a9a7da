package testidp

import (
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/net/html"
)

// AppleClient is a Sign in with Apple client (a Services ID) with the key
// its client-secret JWTs are signed with.
type AppleClient struct {
	ID           string // the Services ID: client_id
	TeamID       string // iss of the client secret
	KeyID        string // kid of the client secret
	PublicKey    *ecdsa.PublicKey
	RedirectURIs []string
}

// appleSecretMaxTTL is Apple's limit on exp - iat of a client secret.
const appleSecretMaxTTL = 15777000

// AddAppleClient registers a client with the Apple persona. Its
// client_secret must be an ES256 JWT signed by the key: header kid = KeyID;
// iss = TeamID, sub = ID, aud = the Apple issuer, exp after now and at
// most 15777000 s after iat.
func (p *IdP) AddAppleClient(c AppleClient) error {
	if c.ID == "" || c.TeamID == "" || c.KeyID == "" || c.PublicKey == nil || len(c.RedirectURIs) == 0 {
		return fmt.Errorf("%w: an Apple client needs ID, TeamID, KeyID, PublicKey and RedirectURIs", ErrInvalid)
	}
	c.RedirectURIs = append([]string(nil), c.RedirectURIs...)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.personas[Apple].clients[c.ID] = &registeredClient{Client: Client{ID: c.ID, RedirectURIs: c.RedirectURIs}, apple: &c}
	return nil
}

// verifyAppleSecret checks an Apple client-secret JWT.
func verifyAppleSecret(secret string, c *AppleClient, aud string, now time.Time) error {
	if c == nil {
		return errors.New("not an Apple client")
	}
	jws, err := jose.ParseSigned(secret, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return fmt.Errorf("client_secret is not an ES256 JWT: %w", err)
	}
	if len(jws.Signatures) != 1 || jws.Signatures[0].Header.KeyID != c.KeyID {
		return errors.New("client_secret kid is not the registered key id")
	}
	payload, err := jws.Verify(c.PublicKey)
	if err != nil {
		return errors.New("client_secret signature does not verify")
	}
	var cl struct {
		Iss, Sub string
		Aud      any
		Iat, Exp *float64
	}
	if err := json.Unmarshal(payload, &cl); err != nil {
		return fmt.Errorf("client_secret claims: %w", err)
	}
	switch {
	case cl.Iss != c.TeamID:
		return errors.New("client_secret iss is not the team id")
	case cl.Sub != c.ID:
		return errors.New("client_secret sub is not the client id")
	case !audHas(cl.Aud, aud):
		return errors.New("client_secret aud is not the Apple issuer")
	case cl.Iat == nil || cl.Exp == nil:
		return errors.New("client_secret needs iat and exp")
	case int64(*cl.Iat) > now.Add(time.Minute).Unix():
		return errors.New("client_secret iat is in the future")
	case int64(*cl.Exp) <= now.Unix():
		return errors.New("client_secret has expired")
	case int64(*cl.Exp)-int64(*cl.Iat) > appleSecretMaxTTL:
		return errors.New("client_secret lives longer than 15777000 s")
	}
	return nil
}

// FormPostRequest turns a response_mode=form_post answer (the
// auto-submitting HTML page) into the POST request a browser would send:
// to the form's action, with its hidden fields form-encoded. It reads and
// closes resp.Body.
func FormPostRequest(resp *http.Response) (*http.Request, error) {
	defer resp.Body.Close()
	doc, err := html.Parse(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("testidp: form post: %w", err)
	}
	var action string
	var found bool
	form := url.Values{}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "form":
				if !found {
					found = true
					action = attr(n, "action")
				}
			case "input":
				if attr(n, "type") == "hidden" {
					form.Add(attr(n, "name"), attr(n, "value"))
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if !found || action == "" {
		return nil, errors.New("testidp: form post: no form in the page")
	}
	req, err := http.NewRequest(http.MethodPost, action, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("testidp: form post: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req, nil
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

// audHas reports whether a JWT aud (a string or an array) names want.
func audHas(aud any, want string) bool {
	switch a := aud.(type) {
	case string:
		return a == want
	case []any:
		for _, x := range a {
			if x == want {
				return true
			}
		}
	}
	return false
}
