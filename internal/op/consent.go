package op

import (
	"errors"
	"net/http"
	"slices"

	"github.com/sallyport/sallyport/internal/audit"
	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/store"
)

// handleConsentPage asks the signed-in person whether the app of a pending
// request may use their account.
func (p *Provider) handleConsentPage(w http.ResponseWriter, r *http.Request) {
	rs, ok := p.resume(w, r, r.URL.Query().Get("request"))
	if !ok {
		return
	}
	name := rs.client.Name
	if name == "" {
		name = rs.client.ID
	}
	p.pages.WriteConsent(w, r, name, rs.ap.Scopes, rs.id)
}

// handleConsent records the person's answer. Allowing remembers the
// scopes for this app and issues the code; denying tells the app
// access_denied. Cross-origin protection (the web middleware) keeps other
// sites from answering for the person.
func (p *Provider) handleConsent(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		p.refusePage(w, r, "oauth2.consent", outcome.Wrap(outcome.InvalidRequest, err))
		return
	}
	rs, ok := p.resume(w, r, r.PostForm.Get("request"))
	if !ok {
		return
	}
	id, ap, c, si := rs.id, rs.ap, rs.client, rs.si
	switch r.PostForm.Get("decision") {
	case "allow":
		p.finishPending(w, r, id, c, ap, si.sess, func(q store.Queries) error {
			scopes := ap.Scopes
			if prev, err := q.GetConsent(ctx, si.user.ID, c.ID); err == nil {
				scopes = union(prev.Scopes, scopes)
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			return q.PutConsent(ctx, &store.Consent{UserID: si.user.ID, ClientID: c.ID, Scopes: scopes, GrantedAt: p.nowMS()})
		})
	case "deny":
		err := p.store.Tx(ctx, func(q store.Queries) error {
			if _, err := q.ConsumeAuthzRequest(ctx, id, p.now()); err != nil {
				if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConsumed) {
					return errPendingGone
				}
				return err
			}
			return p.audit.Record(ctx, q, audit.Event{Type: "oauth2.consent", Outcome: outcome.ConsentDenied, ActorID: si.user.ID, UserID: si.user.ID,
				IP: p.audit.ClientIP(r), UserAgent: r.UserAgent(), Detail: map[string]any{"client_id": c.ID}})
		})
		if err != nil {
			p.refusePage(w, r, "oauth2.consent", err)
			return
		}
		p.redirectError(w, r, ap.RedirectURI, ap.State, &authzError{oauth: "access_denied", description: "the person did not allow the app"})
	default:
		p.refusePage(w, r, "oauth2.consent", outcome.New(outcome.InvalidRequest, "Choose Allow or Deny."))
	}
}

// union returns a's elements followed by b's that a lacks.
func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
