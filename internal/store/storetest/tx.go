package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/sallyport/sallyport/internal/store"
)

var txTests = []subtest{
	{"Commit", testTxCommit},
	{"RollbackOnError", testTxRollbackOnError},
	{"RollbackOnPanic", testTxRollbackOnPanic},
	{"NothingPartial", testTxNothingPartial},
	{"AuditRolledBack", testTxAuditRolledBack},
	{"Ping", testPing},
}

var errBoom = errors.New("storetest: boom")

func testTxCommit(t *testing.T, s store.Store) {
	var u store.User
	var o store.Org
	ok(t, s.Tx(ctx, func(q store.Queries) error {
		o = store.Org{Slug: "acme", Name: "Acme", ProviderAssignment: store.AssignmentOpen}
		if err := q.CreateOrg(ctx, &o); err != nil {
			return err
		}
		u = store.User{Email: "ann@acme.com", Status: store.UserActive}
		if err := q.CreateUser(ctx, &u); err != nil {
			return err
		}
		// A transaction reads its own writes.
		got, err := q.GetUser(ctx, u.ID)
		if err != nil {
			return err
		}
		if got.Email != u.Email {
			t.Errorf("GetUser inside Tx = %+v; want its own write", got)
		}
		m := store.Membership{OrgID: o.ID, UserID: u.ID, Role: "admin", CreatedVia: store.ViaAdmin, CreatedAt: at(0)}
		return q.PutMembership(ctx, &m)
	}), "Tx")
	got, err := s.GetUser(ctx, u.ID)
	ok(t, err, "GetUser after commit")
	diff(t, "GetUser after commit", u, got)
	_, err = s.GetMembership(ctx, o.ID, u.ID)
	ok(t, err, "GetMembership after commit")
}

func testTxRollbackOnError(t *testing.T, s store.Store) {
	var userID string
	err := s.Tx(ctx, func(q store.Queries) error {
		u := store.User{Email: "ann@acme.com", Status: store.UserActive}
		if err := q.CreateUser(ctx, &u); err != nil {
			return err
		}
		userID = u.ID
		return errBoom
	})
	wantErr(t, err, errBoom, "Tx returning an error")
	gone(t, "GetUser after rollback", second(s.GetUser(ctx, userID)))
	gone(t, "GetUserByEmail after rollback", second(s.GetUserByEmail(ctx, "ann@acme.com")))

	// The store is usable afterwards, and the address is free.
	mkUser(t, s, "ann@acme.com")
}

func testTxRollbackOnPanic(t *testing.T, s store.Store) {
	var userID string
	recovered := func() (p any) {
		defer func() { p = recover() }()
		s.Tx(ctx, func(q store.Queries) error {
			u := store.User{Email: "ann@acme.com", Status: store.UserActive}
			if err := q.CreateUser(ctx, &u); err != nil {
				return err
			}
			userID = u.ID
			panic(errBoom)
		})
		return nil
	}()
	if recovered != errBoom {
		t.Fatalf("Tx with a panicking fn: recovered %v; want the panic re-raised with its value", recovered)
	}
	gone(t, "GetUser after a panic", second(s.GetUser(ctx, userID)))

	// The transaction's connection went back: on SQLite's single writer a
	// leaked transaction would block this write forever.
	mkUser(t, s, "ann@acme.com")
	ok(t, s.Tx(ctx, func(q store.Queries) error { return nil }), "Tx after a panic")
}

// A JIT sign-in that fails half-way leaves nothing: the user created before
// the failing identity insert is rolled back with it.
func testTxNothingPartial(t *testing.T, s store.Store) {
	conn := mkConn(t, s, "google", "")
	owner := mkUser(t, s, "owner@example.com")
	mkIdentity(t, s, owner.ID, conn.ID, "taken")

	for _, c := range []struct {
		name, connID, subject string
	}{
		{"missing connection", "no-such-connection", "x"},
		{"taken subject", conn.ID, "taken"},
	} {
		var userID string
		err := s.Tx(ctx, func(q store.Queries) error {
			u := store.User{Email: "new@example.com", Status: store.UserActive}
			if err := q.CreateUser(ctx, &u); err != nil {
				return err
			}
			userID = u.ID
			i := store.Identity{UserID: u.ID, ConnectionID: c.connID, Subject: c.subject, Claims: []byte(`{}`), LinkedAt: at(0)}
			return q.CreateIdentity(ctx, &i)
		})
		wantConflict(t, err, "Tx: CreateUser then CreateIdentity (%s)", c.name)
		gone(t, "GetUser after a failed Tx ("+c.name+")", second(s.GetUser(ctx, userID)))
		gone(t, "GetUserByEmail after a failed Tx ("+c.name+")", second(s.GetUserByEmail(ctx, "new@example.com")))
	}
	users, err := s.ListUsers(ctx, "", 100)
	ok(t, err, "ListUsers")
	if len(users) != 1 {
		t.Errorf("after two failed transactions there are %d users; want 1", len(users))
	}
}

func testTxAuditRolledBack(t *testing.T, s store.Store) {
	kept := appendEvents(t, s, store.AuditEvent{At: at(0), Type: "before", Outcome: "ok", Detail: []byte(`{}`)})
	err := s.Tx(ctx, func(q store.Queries) error {
		e := store.AuditEvent{At: at(time.Second), Type: "rolled.back", Outcome: "ok", Detail: []byte(`{}`)}
		if err := q.AppendAuditEvent(ctx, &e); err != nil {
			return err
		}
		return errBoom
	})
	wantErr(t, err, errBoom, "Tx")
	diff(t, "audit events after a rolled-back append", kept, listAudit(t, s, store.AuditFilter{}))
	after := appendEvents(t, s, store.AuditEvent{At: at(2 * time.Second), Type: "after", Outcome: "ok", Detail: []byte(`{}`)})
	diff(t, "audit events", newestFirst(append(kept, after...)), listAudit(t, s, store.AuditFilter{}))
}

func testPing(t *testing.T, s store.Store) {
	ok(t, s.Ping(ctx), "Ping")
}
