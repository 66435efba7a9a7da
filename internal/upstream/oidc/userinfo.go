package oidc

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/sallyport/sallyport/internal/outcome"
)

// userinfo fetches the userinfo endpoint with the access token and returns
// its claims, JSON or a signed JWT (application/jwt, verified like an ID
// token's signature, with iss and aud checked when present). Its sub must
// be the ID token's. A transport error, a non-200 answer or an unreadable
// body is code_exchange_failed; a bad signature or another sub is
// identity_invalid.
func (p *Provider) userinfo(ctx context.Context, s *snapshot, accessToken, sub string) (Claims, error) {
	exchange := func(format string, args ...any) error {
		return outcome.Wrap(outcome.CodeExchangeFailed, fmt.Errorf("%w: "+format, append([]any{ErrUserinfo}, args...)...))
	}
	endpoint := s.doc.UserinfoEndpoint
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return nil, exchange("%s: %w", endpoint, err)
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/json, application/jwt")
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, exchange("%w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body) // netguard caps it
	if err != nil {
		return nil, exchange("%s: read: %w", endpoint, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, exchange("%s answered status %d", endpoint, resp.StatusCode)
	}

	var c Claims
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt == "application/jwt" {
		if c, err = s.verifier.verifyUserinfoJWT(ctx, strings.TrimSpace(string(body))); err != nil {
			return nil, failure(fmt.Errorf("userinfo: %w", err))
		}
	} else if err := json.Unmarshal(body, &c); err != nil || c == nil {
		return nil, exchange("%s: the answer is not a JSON object", endpoint)
	}

	got, _ := c["sub"].(string)
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(sub)) != 1 {
		return nil, outcome.Wrap(outcome.IdentityInvalid, fmt.Errorf("%w: userinfo sub %q, ID token sub %q", ErrUserinfoSubject, got, sub))
	}
	return c, nil
}
