package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sallyport/sallyport/internal/store"
	"github.com/sallyport/sallyport/internal/store/sqlstore"
	"github.com/sallyport/sallyport/internal/store/sqlstore/sqltest"
)

// These are quick checks of the accounts queries on both dialects; the
// conformance suite in storetest is the full contract.

// eachDialect runs fn on a fresh, migrated SQLite file and on a private
// PostgreSQL schema (see sqltest for when PostgreSQL runs).
func eachDialect(t *testing.T, fn func(t *testing.T, db *sqlstore.DB)) {
	eachDialectRaw(t, func(t *testing.T, db *sqlstore.DB, _ *sql.DB) { fn(t, db) })
}

// eachDialectRaw is eachDialect plus a second, plain connection to the same
// database, for reaching past the store.
func eachDialectRaw(t *testing.T, fn func(t *testing.T, db *sqlstore.DB, raw *sql.DB)) {
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "test.db")
		db := openAccountsDB(t, "sqlite:"+path)
		fn(t, db, openRaw(t, "sqlite", path+"?_pragma=busy_timeout(10000)"))
	})
	t.Run("postgres", func(t *testing.T) {
		url := sqltest.NewSchema(t, sqltest.PostgresURL(t))
		fn(t, openAccountsDB(t, url), openRaw(t, "pgx", url))
	})
}

func openRaw(t *testing.T, driver, dsn string) *sql.DB {
	t.Helper()
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}

func openAccountsDB(t *testing.T, url string) *sqlstore.DB {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, sqlstore.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

func randHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: got %v, want %v", what, err, want)
	}
}

func diff(t *testing.T, what string, want, got any) {
	t.Helper()
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("%s (-want +got):\n%s", what, d)
	}
}

// at is a fixed, millisecond-precise UTC time.
var at = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func TestAccountsOrgs(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		acme := store.Org{Slug: "acme", Name: "Acme", SSORequired: true, AllowOutsideDomains: true}
		must(t, db.CreateOrg(ctx, &acme))
		if acme.ID == "" || acme.CreatedAt.IsZero() || acme.UpdatedAt.IsZero() || acme.ProviderAssignment != store.AssignmentOpen {
			t.Fatalf("CreateOrg did not fill in defaults: %+v", acme)
		}
		beta := store.Org{Slug: "beta", Name: "Beta", AutoProvision: true, ProviderAssignment: store.AssignmentAssigned, CreatedAt: at}
		must(t, db.CreateOrg(ctx, &beta))
		wantErr(t, "duplicate slug", db.CreateOrg(ctx, &store.Org{Slug: "acme", Name: "x"}), store.ErrConflict)

		got, err := db.GetOrg(ctx, acme.ID)
		must(t, err)
		diff(t, "GetOrg", acme, got)
		got, err = db.GetOrgBySlug(ctx, "beta")
		must(t, err)
		diff(t, "GetOrgBySlug", beta, got)
		_, err = db.GetOrg(ctx, "nope")
		wantErr(t, "GetOrg missing", err, store.ErrNotFound)
		_, err = db.GetOrgBySlug(ctx, "nope")
		wantErr(t, "GetOrgBySlug missing", err, store.ErrNotFound)

		list, err := db.ListOrgs(ctx)
		must(t, err)
		diff(t, "ListOrgs", []store.Org{acme, beta}, list)

		before := beta.UpdatedAt
		beta.Name, beta.SSORequired, beta.ProviderAssignment = "Beta Corp", true, store.AssignmentOpen
		must(t, db.UpdateOrg(ctx, &beta))
		if !beta.UpdatedAt.After(before) {
			t.Errorf("UpdateOrg did not bump UpdatedAt: %v", beta.UpdatedAt)
		}
		got, err = db.GetOrg(ctx, beta.ID)
		must(t, err)
		diff(t, "after UpdateOrg", beta, got)
		wantErr(t, "UpdateOrg missing", db.UpdateOrg(ctx, &store.Org{ID: "nope", Slug: "z"}), store.ErrNotFound)
		wantErr(t, "UpdateOrg slug taken", db.UpdateOrg(ctx, &store.Org{ID: beta.ID, Slug: "acme"}), store.ErrConflict)

		// Domains: only verified ones route.
		if err := db.AddOrgDomain(ctx, &store.OrgDomain{OrgID: acme.ID, Domain: "ACME.com"}); err == nil {
			t.Error("AddOrgDomain accepted an un-normalised domain")
		}
		d1 := store.OrgDomain{OrgID: acme.ID, Domain: "acme.com", Verified: true, CreatedAt: at}
		must(t, db.AddOrgDomain(ctx, &d1))
		d2 := store.OrgDomain{OrgID: acme.ID, Domain: "acme.org", CreatedAt: at}
		must(t, db.AddOrgDomain(ctx, &d2))
		must(t, db.AddOrgDomain(ctx, &store.OrgDomain{OrgID: beta.ID, Domain: "acme.com"}))
		wantErr(t, "duplicate domain", db.AddOrgDomain(ctx, &store.OrgDomain{OrgID: acme.ID, Domain: "acme.com"}), store.ErrConflict)
		wantErr(t, "domain of missing org", db.AddOrgDomain(ctx, &store.OrgDomain{OrgID: "nope", Domain: "x.com"}), store.ErrConflict)
		doms, err := db.ListOrgDomains(ctx, acme.ID)
		must(t, err)
		diff(t, "ListOrgDomains", []store.OrgDomain{d1, d2}, doms)

		orgs, err := db.OrgsByVerifiedDomain(ctx, "acme.com")
		must(t, err)
		diff(t, "OrgsByVerifiedDomain", []store.Org{acme}, orgs)
		must(t, db.SetOrgDomainVerified(ctx, beta.ID, "acme.com", true))
		orgs, err = db.OrgsByVerifiedDomain(ctx, "acme.com")
		must(t, err)
		diff(t, "OrgsByVerifiedDomain, two", []store.Org{acme, beta}, orgs)
		orgs, err = db.OrgsByVerifiedDomain(ctx, "acme.org")
		must(t, err)
		if len(orgs) != 0 {
			t.Errorf("an unverified domain routed: %v", orgs)
		}
		wantErr(t, "SetOrgDomainVerified missing", db.SetOrgDomainVerified(ctx, beta.ID, "nope.com", true), store.ErrNotFound)
		must(t, db.RemoveOrgDomain(ctx, beta.ID, "acme.com"))
		wantErr(t, "RemoveOrgDomain twice", db.RemoveOrgDomain(ctx, beta.ID, "acme.com"), store.ErrNotFound)

		// Delete cascades.
		u := store.User{Email: "ann@acme.com"}
		must(t, db.CreateUser(ctx, &u))
		must(t, db.PutMembership(ctx, &store.Membership{OrgID: acme.ID, UserID: u.ID, CreatedVia: store.ViaAdmin}))
		c := store.Connection{Slug: "acme-okta", OrgID: acme.ID, Kind: "oidc"}
		must(t, db.CreateConnection(ctx, &c))
		must(t, db.CreateInvitation(ctx, &store.Invitation{OrgID: acme.ID, Email: "bob@acme.com", TokenHash: []byte("h1"), ExpiresAt: at}))
		must(t, db.DeleteOrg(ctx, acme.ID))
		wantErr(t, "DeleteOrg twice", db.DeleteOrg(ctx, acme.ID), store.ErrNotFound)
		_, err = db.GetConnection(ctx, c.ID)
		wantErr(t, "org connection after DeleteOrg", err, store.ErrNotFound)
		_, err = db.GetMembership(ctx, acme.ID, u.ID)
		wantErr(t, "membership after DeleteOrg", err, store.ErrNotFound)
		doms, err = db.ListOrgDomains(ctx, acme.ID)
		must(t, err)
		if len(doms) != 0 {
			t.Errorf("domains survived DeleteOrg: %v", doms)
		}
		if _, err := db.GetUser(ctx, u.ID); err != nil {
			t.Errorf("DeleteOrg took the user with it: %v", err)
		}
	})
}

func TestAccountsUsers(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		if err := db.CreateUser(ctx, &store.User{Email: "Ann@Acme.com"}); err == nil || errors.Is(err, store.ErrConflict) {
			t.Errorf("CreateUser with an un-normalised email: %v", err)
		}
		ann := store.User{Email: "ann@acme.com", EmailVerified: true, Name: "Ann", PasswordHash: "$argon2id$x",
			TOTPSecretEnc: []byte{1, 2, 3}, Admin: true, CreatedAt: at}
		must(t, db.CreateUser(ctx, &ann))
		if ann.Status != store.UserActive || ann.UpdatedAt != at {
			t.Errorf("CreateUser defaults: %+v", ann)
		}
		wantErr(t, "duplicate email", db.CreateUser(ctx, &store.User{Email: "ann@acme.com"}), store.ErrConflict)
		// Users without email: any number, stored as NULL.
		var noEmail []store.User
		for range 3 {
			u := store.User{Name: "did:plc:x"}
			must(t, db.CreateUser(ctx, &u))
			noEmail = append(noEmail, u)
		}
		got, err := db.GetUser(ctx, ann.ID)
		must(t, err)
		diff(t, "GetUser", ann, got)
		got, err = db.GetUserByEmail(ctx, "ann@acme.com")
		must(t, err)
		diff(t, "GetUserByEmail", ann, got)
		_, err = db.GetUserByEmail(ctx, "")
		wantErr(t, `GetUserByEmail("")`, err, store.ErrNotFound)
		_, err = db.GetUserByEmail(ctx, "bob@acme.com")
		wantErr(t, "GetUserByEmail missing", err, store.ErrNotFound)
		got, err = db.GetUser(ctx, noEmail[0].ID)
		must(t, err)
		diff(t, "user without email", noEmail[0], got)

		// Paging in id order.
		all := append([]store.User{ann}, noEmail...)
		page, err := db.ListUsers(ctx, "", 2)
		must(t, err)
		diff(t, "ListUsers page 1", all[:2], page)
		page, err = db.ListUsers(ctx, page[1].ID, 0)
		must(t, err)
		diff(t, "ListUsers page 2", all[2:], page)

		ann.Email, ann.PasswordHash, ann.TOTPSecretEnc, ann.Status = "ann@acme.org", "", nil, store.UserDisabled
		must(t, db.UpdateUser(ctx, &ann))
		got, err = db.GetUser(ctx, ann.ID)
		must(t, err)
		diff(t, "after UpdateUser", ann, got)
		ann.Email = "ANN@acme.org"
		if err := db.UpdateUser(ctx, &ann); err == nil {
			t.Error("UpdateUser accepted an un-normalised email")
		}
		ann.Email = ""
		must(t, db.UpdateUser(ctx, &ann))
		wantErr(t, "UpdateUser missing", db.UpdateUser(ctx, &store.User{ID: "nope"}), store.ErrNotFound)

		must(t, db.DeleteUser(ctx, ann.ID))
		wantErr(t, "DeleteUser twice", db.DeleteUser(ctx, ann.ID), store.ErrNotFound)
	})
}

func TestAccountsMembershipsAndInvitations(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		org := store.Org{Slug: "acme", Name: "Acme"}
		must(t, db.CreateOrg(ctx, &org))
		ann := store.User{Email: "ann@acme.com"}
		must(t, db.CreateUser(ctx, &ann))
		bob := store.User{Email: "bob@acme.com"}
		must(t, db.CreateUser(ctx, &bob))

		m1 := store.Membership{OrgID: org.ID, UserID: ann.ID, Role: "admin", CreatedVia: store.ViaJIT, CreatedAt: at}
		must(t, db.PutMembership(ctx, &m1))
		m2 := store.Membership{OrgID: org.ID, UserID: bob.ID, CreatedVia: store.ViaInvitation, CreatedAt: at.Add(time.Second)}
		must(t, db.PutMembership(ctx, &m2))
		if m2.Role != "member" {
			t.Errorf("default role %q", m2.Role)
		}
		// Put again: role and break-glass change, CreatedVia and CreatedAt stay.
		again := store.Membership{OrgID: org.ID, UserID: ann.ID, Role: "member", BreakGlass: true, CreatedVia: store.ViaAdmin}
		must(t, db.PutMembership(ctx, &again))
		m1.Role, m1.BreakGlass = "member", true
		diff(t, "PutMembership update", m1, again)
		got, err := db.GetMembership(ctx, org.ID, ann.ID)
		must(t, err)
		diff(t, "GetMembership", m1, got)
		members, err := db.ListOrgMembers(ctx, org.ID)
		must(t, err)
		diff(t, "ListOrgMembers", []store.Membership{m1, m2}, members)
		mine, err := db.ListUserMemberships(ctx, bob.ID)
		must(t, err)
		diff(t, "ListUserMemberships", []store.Membership{m2}, mine)
		wantErr(t, "membership of missing user",
			db.PutMembership(ctx, &store.Membership{OrgID: org.ID, UserID: "nope", CreatedVia: store.ViaAdmin}), store.ErrConflict)
		must(t, db.DeleteMembership(ctx, org.ID, bob.ID))
		wantErr(t, "DeleteMembership twice", db.DeleteMembership(ctx, org.ID, bob.ID), store.ErrNotFound)
		_, err = db.GetMembership(ctx, org.ID, bob.ID)
		wantErr(t, "GetMembership missing", err, store.ErrNotFound)

		// Invitations.
		if err := db.CreateInvitation(ctx, &store.Invitation{OrgID: org.ID, Email: "Cy@acme.com", TokenHash: []byte("x"), ExpiresAt: at}); err == nil {
			t.Error("CreateInvitation accepted an un-normalised email")
		}
		now := at.Add(time.Hour)
		old := store.Invitation{OrgID: org.ID, Email: "cy@acme.com", TokenHash: store.HashToken("a"), ExpiresAt: now.Add(time.Hour), CreatedAt: at}
		must(t, db.CreateInvitation(ctx, &old))
		newer := store.Invitation{OrgID: org.ID, Email: "cy@acme.com", Role: "admin", TokenHash: store.HashToken("b"), ExpiresAt: now.Add(time.Hour), CreatedAt: at.Add(time.Minute)}
		must(t, db.CreateInvitation(ctx, &newer))
		expired := store.Invitation{OrgID: org.ID, Email: "cy@acme.com", TokenHash: store.HashToken("c"), ExpiresAt: now, CreatedAt: at.Add(2 * time.Minute)}
		must(t, db.CreateInvitation(ctx, &expired))
		wantErr(t, "duplicate token hash",
			db.CreateInvitation(ctx, &store.Invitation{OrgID: org.ID, Email: "dd@acme.com", TokenHash: store.HashToken("a"), ExpiresAt: now}), store.ErrConflict)

		got2, err := db.FindInvitation(ctx, org.ID, "cy@acme.com", now)
		must(t, err)
		diff(t, "FindInvitation newest open", newer, got2)
		_, err = db.FindInvitation(ctx, org.ID, "dd@acme.com", now)
		wantErr(t, "FindInvitation other email", err, store.ErrNotFound)

		_, err = db.ConsumeInvitation(ctx, expired.ID, now)
		wantErr(t, "consume expired", err, store.ErrNotFound)
		_, err = db.ConsumeInvitation(ctx, "nope", now)
		wantErr(t, "consume missing", err, store.ErrNotFound)
		used, err := db.ConsumeInvitation(ctx, newer.ID, now)
		must(t, err)
		newer.ConsumedAt = now
		diff(t, "ConsumeInvitation", newer, used)
		again2, err := db.ConsumeInvitation(ctx, newer.ID, now.Add(time.Second))
		wantErr(t, "consume twice", err, store.ErrConsumed)
		diff(t, "ErrConsumed returns the record", newer, again2)
		got2, err = db.FindInvitation(ctx, org.ID, "cy@acme.com", now)
		must(t, err)
		diff(t, "FindInvitation after consuming the newest", old, got2)

		// Exactly once under concurrency.
		const racers = 16
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins, consumed := 0, 0
		for range racers {
			wg.Go(func() {
				_, err := db.ConsumeInvitation(ctx, old.ID, now)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					wins++
				case errors.Is(err, store.ErrConsumed):
					consumed++
				default:
					t.Errorf("racing consume: %v", err)
				}
			})
		}
		wg.Wait()
		if wins != 1 || consumed != racers-1 {
			t.Errorf("racing consume: %d wins, %d ErrConsumed; want 1 and %d", wins, consumed, racers-1)
		}

		// Inside a transaction.
		inTx := store.Invitation{OrgID: org.ID, Email: "ed@acme.com", TokenHash: store.HashToken("d"), ExpiresAt: now.Add(time.Hour)}
		must(t, db.CreateInvitation(ctx, &inTx))
		must(t, db.Tx(ctx, func(q store.Queries) error {
			if _, err := q.ConsumeInvitation(ctx, inTx.ID, now); err != nil {
				return err
			}
			_, err := q.ConsumeInvitation(ctx, inTx.ID, now)
			if !errors.Is(err, store.ErrConsumed) {
				return fmt.Errorf("second consume in tx: %v", err)
			}
			return nil
		}))
	})
}

func TestAccountsConnectionsIdentitiesAssignments(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		org := store.Org{Slug: "acme", Name: "Acme"}
		must(t, db.CreateOrg(ctx, &org))
		google := store.Connection{Slug: "google", Kind: "google", AutoProvision: true, AdminEmailDomains: []string{"acme.com"},
			Settings: []byte(`{"client_id":"x"}`), SecretEnc: []byte{9, 9}}
		must(t, db.CreateConnection(ctx, &google))
		if google.Status != store.ConnectionDraft {
			t.Errorf("default status %q", google.Status)
		}
		github := store.Connection{Slug: "github", Kind: "github", Status: store.ConnectionActive, CreatedAt: at}
		must(t, db.CreateConnection(ctx, &github))
		okta := store.Connection{Slug: "acme-okta", OrgID: org.ID, Kind: "oidc", DisplayName: "Acme Okta",
			TrustEmailForLink: true, ValidatedAt: at, LastValidationError: "boom"}
		must(t, db.CreateConnection(ctx, &okta))
		wantErr(t, "duplicate slug", db.CreateConnection(ctx, &store.Connection{Slug: "google", Kind: "oidc"}), store.ErrConflict)
		wantErr(t, "connection of missing org", db.CreateConnection(ctx, &store.Connection{Slug: "x", OrgID: "nope", Kind: "oidc"}), store.ErrConflict)

		// Settings nil is stored as {}.
		github.Settings = []byte("{}")
		got, err := db.GetConnection(ctx, google.ID)
		must(t, err)
		diff(t, "GetConnection", google, got)
		got, err = db.GetConnectionBySlug(ctx, "acme-okta")
		must(t, err)
		okta.Settings = []byte("{}")
		diff(t, "GetConnectionBySlug", okta, got)
		global, err := db.ListConnections(ctx, "")
		must(t, err)
		diff(t, "ListConnections global", []store.Connection{github, google}, global)
		orgConns, err := db.ListConnections(ctx, org.ID)
		must(t, err)
		diff(t, "ListConnections org", []store.Connection{okta}, orgConns)
		all, err := db.ListAllConnections(ctx)
		must(t, err)
		diff(t, "ListAllConnections", []store.Connection{okta, github, google}, all)

		google.Status, google.AdminEmailDomains, google.ValidatedAt, google.SecretEnc = store.ConnectionActive, nil, at, nil
		must(t, db.UpdateConnection(ctx, &google))
		got, err = db.GetConnection(ctx, google.ID)
		must(t, err)
		diff(t, "after UpdateConnection", google, got)
		wantErr(t, "UpdateConnection missing", db.UpdateConnection(ctx, &store.Connection{ID: "nope", Slug: "q"}), store.ErrNotFound)

		// Identities.
		ann := store.User{Email: "ann@acme.com"}
		must(t, db.CreateUser(ctx, &ann))
		if err := db.CreateIdentity(ctx, &store.Identity{UserID: ann.ID, ConnectionID: google.ID, Subject: "s", Email: "Ann@acme.com"}); err == nil {
			t.Error("CreateIdentity accepted an un-normalised email")
		}
		i1 := store.Identity{UserID: ann.ID, ConnectionID: google.ID, Subject: "g-1", Email: "ann@acme.com", EmailVerified: true,
			Claims: []byte(`{"sub":"g-1"}`), TokensEnc: []byte{7}, LinkedAt: at}
		must(t, db.CreateIdentity(ctx, &i1))
		i2 := store.Identity{UserID: ann.ID, ConnectionID: github.ID, Subject: "42", LinkedAt: at.Add(time.Second)}
		must(t, db.CreateIdentity(ctx, &i2))
		i2.Claims = []byte("{}")
		wantErr(t, "subject taken", db.CreateIdentity(ctx, &store.Identity{UserID: ann.ID, ConnectionID: google.ID, Subject: "g-1"}), store.ErrConflict)
		wantErr(t, "identity of missing user", db.CreateIdentity(ctx, &store.Identity{UserID: "nope", ConnectionID: google.ID, Subject: "z"}), store.ErrConflict)

		gi, err := db.GetIdentity(ctx, i1.ID)
		must(t, err)
		diff(t, "GetIdentity", i1, gi)
		gi, err = db.GetIdentityBySubject(ctx, github.ID, "42")
		must(t, err)
		diff(t, "GetIdentityBySubject", i2, gi)
		_, err = db.GetIdentityBySubject(ctx, google.ID, "42")
		wantErr(t, "subject at another connection", err, store.ErrNotFound)
		ids, err := db.ListUserIdentities(ctx, ann.ID)
		must(t, err)
		diff(t, "ListUserIdentities", []store.Identity{i1, i2}, ids)

		// UpdateIdentityLogin never moves the identity.
		bob := store.User{Email: "bob@acme.com"}
		must(t, db.CreateUser(ctx, &bob))
		upd := i1
		upd.UserID, upd.ConnectionID, upd.Subject = bob.ID, github.ID, "stolen"
		upd.Email, upd.EmailVerified, upd.Claims, upd.TokensEnc, upd.LastLoginAt = "", false, []byte(`{"a":1}`), nil, at.Add(time.Hour)
		must(t, db.UpdateIdentityLogin(ctx, &upd))
		gi, err = db.GetIdentity(ctx, i1.ID)
		must(t, err)
		i1.Email, i1.EmailVerified, i1.Claims, i1.TokensEnc, i1.LastLoginAt = "", false, []byte(`{"a":1}`), nil, at.Add(time.Hour)
		diff(t, "after UpdateIdentityLogin", i1, gi)
		wantErr(t, "UpdateIdentityLogin missing", db.UpdateIdentityLogin(ctx, &store.Identity{ID: "nope"}), store.ErrNotFound)

		// Assignments.
		a1 := store.Assignment{UserID: ann.ID, ConnectionID: google.ID, AssignedBy: "cli", CreatedAt: at}
		must(t, db.PutAssignment(ctx, &a1))
		a2 := store.Assignment{UserID: ann.ID, ConnectionID: github.ID, CreatedAt: at.Add(time.Second)}
		must(t, db.PutAssignment(ctx, &a2))
		again := store.Assignment{UserID: ann.ID, ConnectionID: google.ID, AssignedBy: "admin-1"}
		must(t, db.PutAssignment(ctx, &again))
		a1.AssignedBy = "admin-1"
		diff(t, "PutAssignment again keeps CreatedAt", a1, again)
		as, err := db.ListUserAssignments(ctx, ann.ID)
		must(t, err)
		diff(t, "ListUserAssignments", []store.Assignment{a1, a2}, as)
		wantErr(t, "assignment of missing connection", db.PutAssignment(ctx, &store.Assignment{UserID: ann.ID, ConnectionID: "nope"}), store.ErrConflict)
		must(t, db.DeleteAssignment(ctx, ann.ID, github.ID))
		wantErr(t, "DeleteAssignment twice", db.DeleteAssignment(ctx, ann.ID, github.ID), store.ErrNotFound)

		// Deleting a connection cascades to its identities and assignments.
		must(t, db.DeleteConnection(ctx, google.ID))
		wantErr(t, "DeleteConnection twice", db.DeleteConnection(ctx, google.ID), store.ErrNotFound)
		_, err = db.GetIdentity(ctx, i1.ID)
		wantErr(t, "identity after DeleteConnection", err, store.ErrNotFound)
		as, err = db.ListUserAssignments(ctx, ann.ID)
		must(t, err)
		if len(as) != 0 {
			t.Errorf("assignments survived DeleteConnection: %v", as)
		}
		must(t, db.DeleteIdentity(ctx, i2.ID))
		wantErr(t, "DeleteIdentity twice", db.DeleteIdentity(ctx, i2.ID), store.ErrNotFound)

		// Deleting a user cascades to identities and memberships.
		i3 := store.Identity{UserID: bob.ID, ConnectionID: github.ID, Subject: "7"}
		must(t, db.CreateIdentity(ctx, &i3))
		must(t, db.PutMembership(ctx, &store.Membership{OrgID: org.ID, UserID: bob.ID, CreatedVia: store.ViaJIT}))
		must(t, db.DeleteUser(ctx, bob.ID))
		_, err = db.GetIdentity(ctx, i3.ID)
		wantErr(t, "identity after DeleteUser", err, store.ErrNotFound)
		_, err = db.GetMembership(ctx, org.ID, bob.ID)
		wantErr(t, "membership after DeleteUser", err, store.ErrNotFound)
	})
}

func TestAccountsAudit(t *testing.T) {
	eachDialectRaw(t, func(t *testing.T, db *sqlstore.DB, raw *sql.DB) {
		ctx := context.Background()
		var events []store.AuditEvent
		for i := range 7 {
			e := store.AuditEvent{At: at.Add(time.Duration(i) * time.Second), Type: "login.callback", Outcome: "jit_created",
				ActorID: "system", IP: "192.0.2.1", UserAgent: "test"}
			if i%2 == 0 {
				e.OrgID, e.UserID, e.ConnectionID = "org-a", "user-1", "conn-1"
				e.Detail = []byte(`{"n":1}`)
			} else {
				e.Type = "connection.activate"
			}
			must(t, db.AppendAuditEvent(ctx, &e))
			if e.ID == 0 || (i > 0 && e.ID <= events[i-1].ID) {
				t.Fatalf("AppendAuditEvent id %d after %v", e.ID, events)
			}
			if e.Detail == nil {
				e.Detail = []byte("{}")
			}
			events = append(events, e)
		}
		rev := func(idx ...int) []store.AuditEvent {
			var out []store.AuditEvent
			for _, i := range idx {
				out = append(out, events[i])
			}
			return out
		}
		for _, tc := range []struct {
			name string
			f    store.AuditFilter
			want []store.AuditEvent
		}{
			{"all", store.AuditFilter{}, rev(6, 5, 4, 3, 2, 1, 0)},
			{"limit", store.AuditFilter{Limit: 2}, rev(6, 5)},
			{"before", store.AuditFilter{BeforeID: events[5].ID, Limit: 2}, rev(4, 3)},
			{"org", store.AuditFilter{OrgID: "org-a"}, rev(6, 4, 2, 0)},
			{"user+before", store.AuditFilter{UserID: "user-1", BeforeID: events[4].ID}, rev(2, 0)},
			{"type", store.AuditFilter{Type: "connection.activate"}, rev(5, 3, 1)},
			{"org+type", store.AuditFilter{OrgID: "org-a", Type: "connection.activate"}, nil},
			{"before huge", store.AuditFilter{BeforeID: 1 << 40, Limit: 1}, rev(6)},
		} {
			got, err := db.ListAuditEvents(ctx, tc.f)
			must(t, err)
			diff(t, tc.name, tc.want, got)
		}
		// Reaching past the store on purpose: the schema's triggers refuse
		// any change, whatever code tries.
		for _, stmt := range []string{"UPDATE audit_events SET outcome = 'x'", "DELETE FROM audit_events"} {
			if _, err := raw.ExecContext(ctx, stmt); err == nil {
				t.Errorf("%s succeeded", stmt)
			}
		}
		got, err := db.ListAuditEvents(ctx, store.AuditFilter{})
		must(t, err)
		diff(t, "after refused changes", rev(6, 5, 4, 3, 2, 1, 0), got)
	})
}
