package op

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/go-jose/go-jose/v4"

	"github.com/sallyport/sallyport/internal/audit"
	"github.com/sallyport/sallyport/internal/op/clients"
	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/session"
	"github.com/sallyport/sallyport/internal/store"
)

// hintClaims are what RP-initiated logout reads from an id_token_hint.
type hintClaims struct {
	Issuer   string       `json:"iss"`
	Subject  string       `json:"sub"`
	Audience audienceList `json:"aud"`
}

// audienceList is aud as a string or an array (RFC 7519 §4.1.3).
type audienceList []string

func (a *audienceList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audienceList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*a = many
	return nil
}

var errBadHint = outcome.New(outcome.InvalidRequest, "The app's sign-out request could not be verified. Sign out from your Sallyport account page instead.")

// verifyHint checks that an id_token_hint is an ID token we signed. Its
// expiry does not matter: apps send the last one they hold, often long
// expired (RP-Initiated Logout 1.0 §2).
func (p *Provider) verifyHint(ctx context.Context, hint string) (hintClaims, error) {
	jws, err := jose.ParseSigned(hint, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA})
	if err != nil || len(jws.Signatures) != 1 {
		return hintClaims{}, errBadHint
	}
	set, err := p.keys.JWKS(ctx)
	if err != nil {
		return hintClaims{}, err
	}
	found := set.Key(jws.Signatures[0].Header.KeyID)
	if len(found) != 1 {
		return hintClaims{}, errBadHint
	}
	payload, err := jws.Verify(found[0])
	if err != nil {
		return hintClaims{}, errBadHint
	}
	var hc hintClaims
	if err := json.Unmarshal(payload, &hc); err != nil || hc.Issuer != p.issuer || hc.Subject == "" || len(hc.Audience) == 0 {
		return hintClaims{}, errBadHint
	}
	return hc, nil
}

// handleLogout is RP-initiated logout (/oauth2/logout). With a valid
// id_token_hint for the person signed in here (or nobody), the session
// ends at once and the browser returns to a post_logout_redirect_uri the
// app registered, with state. Without one, the person is asked on the
// sign-out page: a link on another site must not sign anyone out. Never
// an open redirect: an unregistered post_logout_redirect_uri is refused.
// A POST is sent on to the same request as a GET, made by the browser.
func (p *Provider) handleLogout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	values, err := authorizeValues(r)
	if err != nil {
		p.refusePage(w, r, "oauth2.logout", err)
		return
	}
	for _, name := range []string{"id_token_hint", "client_id", "post_logout_redirect_uri", "state"} {
		if len(values[name]) > 1 {
			p.refusePage(w, r, "oauth2.logout", outcome.New(outcome.InvalidRequest, "The app's sign-out request repeats "+name+". Sign out from your Sallyport account page instead."))
			return
		}
	}
	if r.Method == http.MethodPost {
		// The POSTs apps send carry no session cookie to say whose session
		// to end: a form on the app's site posts cross-site (the cookie is
		// SameSite=Lax), and an app's server that calls this endpoint
		// (zitadel's rp.EndSession does) has no cookie at all. The browser
		// itself must come here, as a top-level GET.
		q := url.Values{}
		for _, name := range []string{"id_token_hint", "client_id", "post_logout_redirect_uri", "state"} {
			if v := values.Get(name); v != "" {
				q.Set(name, v)
			}
		}
		redirect(w, r, p.issuer+LogoutPath+"?"+q.Encode())
		return
	}
	hint, clientID, returnTo := values.Get("id_token_hint"), values.Get("client_id"), values.Get("post_logout_redirect_uri")

	var hc hintClaims
	if hint != "" {
		if hc, err = p.verifyHint(ctx, hint); err != nil {
			p.refuse(r, "oauth2.logout", outcome.CodeOf(err), clientID, "", err)
			p.pages.WriteError(w, r, err)
			return
		}
		if clientID == "" && len(hc.Audience) == 1 {
			clientID = hc.Audience[0]
		}
		if clientID != "" && !slices.Contains(hc.Audience, clientID) {
			p.refuse(r, "oauth2.logout", outcome.InvalidRequest, clientID, hc.Subject, errors.New("client_id is not the hint's audience"))
			p.pages.WriteError(w, r, errBadHint)
			return
		}
	}

	var target *url.URL
	if returnTo != "" {
		c, err := p.store.GetClient(ctx, clientID)
		if clientID == "" || errors.Is(err, store.ErrNotFound) || (err == nil && (c.Disabled || !clients.MatchRedirectURI(c.PostLogoutRedirectURIs, returnTo))) {
			err := outcome.New(outcome.InvalidRequest, "The app asked to return to an address it has not registered for sign-out, so Sallyport will not send you there. Sign out from your Sallyport account page instead.")
			p.refuse(r, "oauth2.logout", outcome.InvalidRequest, clientID, hc.Subject, fmt.Errorf("post_logout_redirect_uri %q is not registered", audit.Clip(returnTo, 200)))
			p.pages.WriteError(w, r, err)
			return
		}
		if err != nil {
			p.pages.WriteError(w, r, err)
			return
		}
		if target, err = url.Parse(returnTo); err != nil {
			p.pages.WriteError(w, r, err)
			return
		}
		if state := values.Get("state"); state != "" {
			q := target.Query()
			q.Set("state", state)
			target.RawQuery = q.Encode()
		}
	}

	sess, err := p.sessions.Current(r)
	signedIn := err == nil
	if err != nil && !errors.Is(err, session.ErrNoSession) {
		p.pages.WriteError(w, r, err)
		return
	}
	if hint == "" || (signedIn && sess.UserID != hc.Subject) {
		// Nobody vouched for this request, or it names someone else:
		// let the person decide.
		redirect(w, r, "/logout")
		return
	}
	if signedIn {
		if err := p.sessions.End(ctx, w, r); err != nil {
			p.pages.WriteError(w, r, err)
			return
		}
		err := p.audit.RecordAlone(ctx, p.store, audit.Event{Type: "session.logout", Outcome: outcome.SignedOut, ActorID: sess.UserID, UserID: sess.UserID,
			ConnectionID: sess.ConnectionID, IP: p.audit.ClientIP(r), UserAgent: r.UserAgent(), Detail: map[string]any{"client_id": clientID, "via": "rp_initiated"}})
		if err != nil {
			p.log.Error("writing the audit event of a logout failed", "err", err)
		}
	}
	if target == nil {
		redirect(w, r, "/login?signed_out=1")
		return
	}
	redirect(w, r, target.String())
}
