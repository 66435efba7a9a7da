package op

import (
	"errors"
	"net/http"

	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/store"
)

// handleRevoke is token revocation (RFC 7009). The client authenticates as
// at the token endpoint and may revoke only its own tokens. Revoking a
// refresh token revokes its whole grant, access tokens included
// (§2.1 lets the server do so, and a person signing out of an app means
// it). The answer is 200 whether or not the token existed, so a client
// learns nothing about tokens that are not its own.
func (p *Provider) handleRevoke(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c, form, err := p.clientRequest(w, r, "oauth2.revoke")
	if err != nil {
		return
	}
	token := form.Get("token")
	if token == "" {
		err := invalidTokenRequest("token is missing")
		p.refuse(r, "oauth2.revoke", outcome.InvalidRequest, c.ID, "", err)
		writeTokenError(w, err)
		return
	}
	hash := store.HashToken(token)
	err = p.store.Tx(ctx, func(q store.Queries) error {
		now := p.nowMS()
		// The hint only orders the look-ups (§2.1): try both.
		lookups := []func() (store.Grant, bool, error){
			func() (store.Grant, bool, error) {
				at, err := q.GetAccessToken(ctx, hash, now)
				if errors.Is(err, store.ErrNotFound) || (err == nil && at.Grant.ClientID != c.ID) {
					return store.Grant{}, false, nil
				}
				if err != nil {
					return store.Grant{}, false, err
				}
				return at.Grant, true, q.RevokeAccessToken(ctx, hash, now)
			},
			func() (store.Grant, bool, error) {
				rt, err := q.GetRefreshToken(ctx, hash, now)
				if errors.Is(err, store.ErrNotFound) || (err == nil && rt.Grant.ClientID != c.ID) {
					return store.Grant{}, false, nil
				}
				if err != nil {
					return store.Grant{}, false, err
				}
				return rt.Grant, true, q.RevokeGrant(ctx, rt.Grant.GrantID, now)
			},
		}
		if form.Get("token_type_hint") == "refresh_token" {
			lookups[0], lookups[1] = lookups[1], lookups[0]
		}
		for _, lookup := range lookups {
			g, found, err := lookup()
			if err != nil {
				return err
			}
			if found {
				return p.auditToken(ctx, q, r, outcome.TokenRevoked, c.ID, g, "revoked by the client")
			}
		}
		return nil
	})
	if err != nil {
		p.log.Error("revocation failed", "err", err)
		writeTokenError(w, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.WriteHeader(http.StatusOK)
}
