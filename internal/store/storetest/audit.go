package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sallyport/sallyport/internal/store"
)

var keyTests = []subtest{
	{"SigningKeys", testSigningKeys},
}

var auditTests = []subtest{
	{"AppendAndList", testAuditAppendAndList},
	{"Filters", testAuditFilters},
	{"Paging", testAuditPaging},
	{"DefaultLimit", testAuditDefaultLimit},
}

func testSigningKeys(t *testing.T, s store.Store) {
	next := store.SigningKey{
		KID: "k-next", Alg: "RS256", PrivateKeyEnc: []byte("sealed rsa key"),
		PublicJWK: []byte(`{"kty":"RSA","kid":"k-next","n":"0vx7","e":"AQAB"}`), State: store.KeyNext, CreatedAt: at(0),
	}
	active := store.SigningKey{
		KID: "k-active", Alg: "ES256", PrivateKeyEnc: []byte{0, 1, 2, 3},
		PublicJWK: []byte(`{"kty":"EC","crv":"P-256","kid":"k-active","x":"a","y":"b"}`), State: store.KeyActive,
		CreatedAt: at(-48 * time.Hour), ActivatedAt: at(-24 * time.Hour),
	}
	retired := store.SigningKey{
		KID: "k-retired", Alg: "EdDSA", PrivateKeyEnc: []byte("sealed ed25519 key"),
		PublicJWK: []byte(`{"kty":"OKP","crv":"Ed25519","kid":"k-retired","x":"c"}`), State: store.KeyRetired,
		CreatedAt: at(-96 * time.Hour), ActivatedAt: at(-72 * time.Hour), RetiredAt: at(-24 * time.Hour), RemoveAfter: at(24 * time.Hour),
	}
	for _, k := range []*store.SigningKey{&next, &active, &retired} {
		ok(t, s.CreateSigningKey(ctx, k), "CreateSigningKey(%s)", k.KID)
	}
	list, err := s.ListSigningKeys(ctx)
	ok(t, err, "ListSigningKeys")
	diff(t, "ListSigningKeys", []store.SigningKey{next, active, retired}, list, sortKeys)

	// Rotation: next → active, active → retired.
	next.State, next.ActivatedAt = store.KeyActive, at(time.Minute)
	active.State, active.RetiredAt, active.RemoveAfter = store.KeyRetired, at(time.Minute), at(25*time.Hour)
	ok(t, s.UpdateSigningKey(ctx, &next), "UpdateSigningKey")
	ok(t, s.UpdateSigningKey(ctx, &active), "UpdateSigningKey")
	list, err = s.ListSigningKeys(ctx)
	ok(t, err, "ListSigningKeys")
	diff(t, "ListSigningKeys after rotation", []store.SigningKey{next, active, retired}, list, sortKeys)

	dup := retired
	wantConflict(t, s.CreateSigningKey(ctx, &dup), "CreateSigningKey with a taken kid")
	ghost := next
	ghost.KID = "no-such-key"
	wantNotFound(t, s.UpdateSigningKey(ctx, &ghost), "UpdateSigningKey(missing)")
	wantNotFound(t, s.DeleteSigningKey(ctx, "no-such-key"), "DeleteSigningKey(missing)")
	ok(t, s.DeleteSigningKey(ctx, retired.KID), "DeleteSigningKey")
	wantNotFound(t, s.DeleteSigningKey(ctx, retired.KID), "DeleteSigningKey twice")
	list, err = s.ListSigningKeys(ctx)
	ok(t, err, "ListSigningKeys")
	diff(t, "ListSigningKeys after delete", []store.SigningKey{next, active}, list, sortKeys)
}

// appendEvents appends events in order and returns them as stored (with IDs),
// checking that IDs increase in append order.
func appendEvents(t *testing.T, q store.Queries, events ...store.AuditEvent) []store.AuditEvent {
	t.Helper()
	var out []store.AuditEvent
	for _, e := range events {
		ok(t, q.AppendAuditEvent(ctx, &e), "AppendAuditEvent(%s)", e.Type)
		if e.ID <= 0 {
			t.Fatalf("AppendAuditEvent set ID %d; want a positive id", e.ID)
		}
		if n := len(out); n > 0 && e.ID <= out[n-1].ID {
			t.Fatalf("AppendAuditEvent: id %d after id %d; ids must increase in append order", e.ID, out[n-1].ID)
		}
		out = append(out, e)
	}
	return out
}

// newestFirst returns the events in the order ListAuditEvents promises.
func newestFirst(events []store.AuditEvent) []store.AuditEvent {
	out := slices.Clone(events)
	slices.Reverse(out)
	return out
}

func listAudit(t *testing.T, s store.Queries, f store.AuditFilter) []store.AuditEvent {
	t.Helper()
	got, err := s.ListAuditEvents(ctx, f)
	ok(t, err, "ListAuditEvents(%+v)", f)
	return got
}

func testAuditAppendAndList(t *testing.T, s store.Store) {
	events := appendEvents(t, s,
		store.AuditEvent{
			At: at(0), Type: "login.callback", Outcome: "jit_created", ActorID: "system",
			UserID: "user-1", OrgID: "org-1", ConnectionID: "conn-1", IP: "192.0.2.1", UserAgent: "Mozilla/5.0",
			Detail: []byte(`{"email":"ann@acme.com","roles":["member"]}`),
		},
		// Every optional reference empty (stored as NULL, read back as "").
		store.AuditEvent{At: at(time.Second), Type: "connection.activate", Outcome: "activated", ActorID: "cli", Detail: []byte(`{}`)},
		// The same instant as another event: order is by id, not time.
		store.AuditEvent{At: at(time.Second), Type: "login.password", Outcome: "invalid_credentials", IP: "2001:db8::2", Detail: []byte(`{"n":1}`)},
	)
	diff(t, "ListAuditEvents (newest first)", newestFirst(events), listAudit(t, s, store.AuditFilter{}))
}

func testAuditFilters(t *testing.T, s store.Store) {
	var in []store.AuditEvent
	for i, c := range []struct{ org, user, typ string }{
		{"org-a", "user-1", "login.callback"},
		{"org-a", "user-2", "login.callback"},
		{"org-b", "user-1", "login.callback"},
		{"org-a", "user-1", "member.add"},
		{"", "user-1", "login.password"},
		{"org-b", "", "connection.activate"},
		{"", "", "keys.rotate"},
	} {
		in = append(in, store.AuditEvent{
			At: at(time.Duration(i) * time.Second), Type: c.typ, Outcome: "ok", ActorID: "system",
			OrgID: c.org, UserID: c.user, Detail: []byte(fmt.Sprintf(`{"i":%d}`, i)),
		})
	}
	events := appendEvents(t, s, in...)
	pick := func(idx ...int) []store.AuditEvent {
		var out []store.AuditEvent
		for _, i := range slices.Backward(idx) {
			out = append(out, events[i])
		}
		return out
	}
	for _, c := range []struct {
		f    store.AuditFilter
		want []store.AuditEvent
	}{
		{store.AuditFilter{OrgID: "org-a"}, pick(0, 1, 3)},
		{store.AuditFilter{UserID: "user-1"}, pick(0, 2, 3, 4)},
		{store.AuditFilter{Type: "login.callback"}, pick(0, 1, 2)},
		{store.AuditFilter{OrgID: "org-a", UserID: "user-1"}, pick(0, 3)},
		{store.AuditFilter{OrgID: "org-b", Type: "login.callback"}, pick(2)},
		{store.AuditFilter{OrgID: "org-a", UserID: "user-1", Type: "member.add"}, pick(3)},
		{store.AuditFilter{OrgID: "org-c"}, nil},
		{store.AuditFilter{Type: "no.such.type"}, nil},
		{store.AuditFilter{UserID: "user-1", Limit: 2}, pick(3, 4)},
		{store.AuditFilter{UserID: "user-1", BeforeID: events[3].ID}, pick(0, 2)},
		{store.AuditFilter{BeforeID: events[0].ID}, nil},
	} {
		diff(t, fmt.Sprintf("ListAuditEvents(%+v)", c.f), c.want, listAudit(t, s, c.f))
	}
}

func testAuditPaging(t *testing.T, s store.Store) {
	var in []store.AuditEvent
	for i := range 9 {
		in = append(in, store.AuditEvent{At: at(time.Duration(i) * time.Second), Type: "t", Outcome: "ok", Detail: []byte(`{}`)})
	}
	events := appendEvents(t, s, in...)
	diff(t, "ListAuditEvents(Limit 4)", newestFirst(events)[:4], listAudit(t, s, store.AuditFilter{Limit: 4}))

	var paged []store.AuditEvent
	var before int64
	for range 10 {
		page := listAudit(t, s, store.AuditFilter{BeforeID: before, Limit: 4})
		if len(page) > 4 {
			t.Fatalf("ListAuditEvents(Limit 4) returned %d events", len(page))
		}
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
		before = page[len(page)-1].ID
	}
	diff(t, "ListAuditEvents pages", newestFirst(events), paged)
}

func testAuditDefaultLimit(t *testing.T, s store.Store) {
	// 105 appends in one transaction (a bulk write on a single writer).
	var events []store.AuditEvent
	ok(t, s.Tx(ctx, func(q store.Queries) error {
		events = nil
		for i := range 105 {
			e := store.AuditEvent{At: at(time.Duration(i) * time.Millisecond), Type: "bulk", Outcome: "ok", Detail: []byte(`{}`)}
			if err := q.AppendAuditEvent(ctx, &e); err != nil {
				return err
			}
			events = append(events, e)
		}
		return nil
	}), "Tx appending 105 events")
	for i := 1; i < len(events); i++ {
		if events[i].ID <= events[i-1].ID {
			t.Fatalf("AppendAuditEvent: id %d after id %d; ids must increase in append order", events[i].ID, events[i-1].ID)
		}
	}
	got := listAudit(t, s, store.AuditFilter{})
	diff(t, "ListAuditEvents with Limit 0 (= 100)", newestFirst(events)[:100], got)
}
