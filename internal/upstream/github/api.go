package github

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/upstream"
)

// user reads GET /user. A failed request is code_exchange_failed; an
// answer without a positive integer id is identity_invalid.
func (p *Provider) user(ctx context.Context, token string) (upstream.Identity, error) {
	var u map[string]any
	if _, err := p.get(ctx, p.apiURL("/user"), token, &u); err != nil {
		return upstream.Identity{}, outcome.Wrap(outcome.CodeExchangeFailed, err)
	}
	num, ok := u["id"].(json.Number)
	if !ok {
		return upstream.Identity{}, outcome.Wrap(outcome.IdentityInvalid, fmt.Errorf("%w: id is %s", errIdentity, describe(u["id"])))
	}
	id, err := strconv.ParseInt(num.String(), 10, 64)
	if err != nil || id <= 0 {
		return upstream.Identity{}, outcome.Wrap(outcome.IdentityInvalid, fmt.Errorf("%w: id %q is not a positive integer", errIdentity, upstream.Clip(num.String())))
	}
	login, _ := u["login"].(string)
	name, _ := u["name"].(string) // null for users who set none
	avatar, _ := u["avatar_url"].(string)
	html, _ := u["html_url"].(string)
	claims := map[string]any{"id": id}
	for k, v := range map[string]string{"login": login, "name": name, "avatar_url": avatar, "html_url": html} {
		if v != "" {
			claims[k] = v
		}
	}
	return upstream.Identity{
		Subject:  subject(id),
		Name:     name,
		Picture:  avatar,
		Username: login,
		Claims:   claims,
	}, nil
}

// email is one entry of GET /user/emails.
type email struct {
	Email    string `json:"email"`
	Primary  bool   `json:"primary"`
	Verified bool   `json:"verified"`
}

// primaryEmail finds the primary address in GET /user/emails, following
// Link rel="next" for at most MaxEmailPages pages. found is false when
// there is none within them. GitHub has one primary address, so the first
// one seen ends the search whether or not it is verified.
func (p *Provider) primaryEmail(ctx context.Context, token string) (e email, found bool, err error) {
	next := p.apiURL("/user/emails") + "?per_page=100"
	for page := 0; page < MaxEmailPages && next != ""; page++ {
		var list []email
		h, err := p.get(ctx, next, token, &list)
		if err != nil {
			return email{}, false, err
		}
		for _, e := range list {
			if e.Primary {
				return e, true, nil
			}
		}
		cur, _ := url.Parse(next)
		next, err = p.nextPage(cur, h.Values("Link"))
		if err != nil {
			return email{}, false, err
		}
	}
	if next != "" {
		p.log.DebugContext(ctx, "github: no primary address in the first pages of /user/emails; giving up", "pages", MaxEmailPages)
	}
	return email{}, false, nil
}

// nextPage returns the rel="next" target of the Link headers, resolved
// against cur, or "" for the last page. The access token goes with the
// request, so a target outside the API's /user/emails is refused.
func (p *Provider) nextPage(cur *url.URL, links []string) (string, error) {
	target := linkNext(links)
	if target == "" {
		return "", nil
	}
	u, err := cur.Parse(target)
	if err != nil {
		return "", fmt.Errorf("%w: GET /user/emails: unreadable Link next %q", errAPI, upstream.Clip(target))
	}
	want := p.apiURL("/user/emails")
	if u.Scheme+"://"+u.Host+u.Path != want || u.User != nil {
		return "", fmt.Errorf("%w: GET /user/emails: Link next %q leaves %s", errAPI, upstream.Clip(target), want)
	}
	u.Fragment = ""
	return u.String(), nil
}

// linkNext returns the target of the first rel="next" link in RFC 8288
// Link header values, or "".
func linkNext(values []string) string {
	for _, v := range values {
		for len(v) > 0 {
			lt := strings.IndexByte(v, '<')
			if lt < 0 {
				break
			}
			gt := strings.IndexByte(v[lt:], '>')
			if gt < 0 {
				break
			}
			target := v[lt+1 : lt+gt]
			rest := v[lt+gt+1:]
			params := rest
			if comma := strings.IndexByte(rest, ','); comma >= 0 {
				params, rest = rest[:comma], rest[comma+1:]
			} else {
				rest = ""
			}
			for param := range strings.SplitSeq(params, ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(param), "=")
				if !ok || !strings.EqualFold(strings.TrimSpace(k), "rel") {
					continue
				}
				for rel := range strings.FieldsSeq(strings.Trim(strings.TrimSpace(val), `"`)) {
					if strings.EqualFold(rel, "next") {
						return target
					}
				}
			}
			v = rest
		}
	}
	return ""
}

// apiURL is the API base followed by path.
func (p *Provider) apiURL(path string) string {
	return p.apiBase.Scheme + "://" + p.apiBase.Host + p.apiBase.Path + path
}

// get fetches an API URL with the access token and decodes its JSON body
// into v, numbers as json.Number. Errors name the path, never the token.
func (p *Provider) get(ctx context.Context, rawURL, token string, v any) (http.Header, error) {
	path := rawURL
	if u, err := url.Parse(rawURL); err == nil {
		path = strings.TrimPrefix(u.Path, p.apiBase.Path)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: GET %s: %v", errAPI, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", APIVersion)
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: GET %s: %v", errAPI, path, upstream.RedactURL(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: GET %s: reading the body: %v", errAPI, path, err)
	case len(body) > maxBody:
		return nil, fmt.Errorf("%w: GET %s: body over %d bytes", errAPI, path, maxBody)
	case resp.StatusCode != http.StatusOK:
		var ge struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(body, &ge)
		return nil, fmt.Errorf("%w: GET %s: HTTP %d: %q", errAPI, path, resp.StatusCode, upstream.Clip(ge.Message))
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return nil, fmt.Errorf("%w: GET %s: %v", errAPI, path, err)
	}
	return resp.Header, nil
}

// describe names a JSON value's kind for an error.
func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "missing or null"
	case string:
		return fmt.Sprintf("the string %q, not a number", upstream.Clip(v))
	default:
		return fmt.Sprintf("a %T, not a number", v)
	}
}
