package signin

import (
	"context"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/sallyport/sallyport/internal/audit"
	"github.com/sallyport/sallyport/internal/flow"
	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/session"
	"github.com/sallyport/sallyport/internal/store"
)

// A refusal is audited even when the browser has already gone away (its
// request context is cancelled).
func TestRefusalAuditedAfterClientLeft(t *testing.T) {
	db, keys := openStore(t)
	issuer, _ := url.Parse("https://sso.example.test")
	svc, err := New(Config{
		Store: db, Keys: keys, Issuer: issuer, Audit: audit.New(audit.Config{}),
		Flows:    flow.New(flow.Config{Store: db, Keys: keys}),
		Sessions: session.New(session.Config{Store: db}),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := httptest.NewRequest("GET", "/callback/corp", nil).WithContext(ctx)
	svc.refused(ctx, r, "login.callback", outcome.New(outcome.InvalidState, ""), store.Connection{}, "corp")

	events, err := db.ListAuditEvents(context.Background(), store.AuditFilter{Type: "login.callback"})
	if err != nil || len(events) != 1 || events[0].Outcome != string(outcome.InvalidState) {
		t.Fatalf("audit events %+v, %v; want the invalid_state refusal", events, err)
	}
}
