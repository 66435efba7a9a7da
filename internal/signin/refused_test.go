package signin

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/store"
)

// A refusal is audited even when the browser has already gone away (its
// request context is cancelled).
func TestRefusalAuditedAfterClientLeft(t *testing.T) {
	db, keys := openStore(t)
	svc := newTestService(t, db, keys, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := httptest.NewRequest("GET", "/callback/corp", nil).WithContext(ctx)
	svc.refused(ctx, r, "login.callback", outcome.New(outcome.InvalidState, ""), store.Connection{}, "corp")

	events, err := db.ListAuditEvents(context.Background(), store.AuditFilter{Type: "login.callback"})
	if err != nil || len(events) != 1 || events[0].Outcome != string(outcome.InvalidState) {
		t.Fatalf("audit events %+v, %v; want the invalid_state refusal", events, err)
	}
}
