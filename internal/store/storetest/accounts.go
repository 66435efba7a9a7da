package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sallyport/sallyport/internal/store"
)

var accountTests = []subtest{
	{"OrgCRUD", testOrgCRUD},
	{"OrgDomains", testOrgDomains},
	{"UserCRUD", testUserCRUD},
	{"UsersWithoutEmail", testUsersWithoutEmail},
	{"UserEmailRules", testUserEmailRules},
	{"ListUsersPaging", testListUsersPaging},
	{"Memberships", testMemberships},
	{"Invitations", testInvitations},
}

func testOrgCRUD(t *testing.T, s store.Store) {
	a := store.Org{
		Slug: "acme", Name: "Acme", SSORequired: true, AutoProvision: true,
		AllowOutsideDomains: true, ProviderAssignment: store.AssignmentAssigned,
	}
	ok(t, s.CreateOrg(ctx, &a), "CreateOrg")
	if a.ID == "" {
		t.Fatal("CreateOrg left ID empty; it must set one")
	}
	checkStamp(t, "CreateOrg CreatedAt", a.CreatedAt)
	checkStamp(t, "CreateOrg UpdatedAt", a.UpdatedAt)

	b := store.Org{ID: "org-chosen-id", Slug: "beta", Name: "Beta", ProviderAssignment: store.AssignmentOpen}
	ok(t, s.CreateOrg(ctx, &b), "CreateOrg with an ID")
	if b.ID != "org-chosen-id" {
		t.Errorf("CreateOrg replaced a given ID with %q", b.ID)
	}

	got, err := s.GetOrg(ctx, a.ID)
	ok(t, err, "GetOrg")
	diff(t, "GetOrg", a, got)
	got, err = s.GetOrgBySlug(ctx, "beta")
	ok(t, err, "GetOrgBySlug")
	diff(t, "GetOrgBySlug", b, got)
	list, err := s.ListOrgs(ctx)
	ok(t, err, "ListOrgs")
	diff(t, "ListOrgs", []store.Org{a, b}, list, sortOrgs)

	// Update every mutable field, slug included.
	upd := a
	upd.Slug, upd.Name = "acme-corp", "Acme Corp"
	upd.SSORequired, upd.AutoProvision, upd.AllowOutsideDomains = false, false, false
	upd.ProviderAssignment = store.AssignmentOpen
	ok(t, s.UpdateOrg(ctx, &upd), "UpdateOrg")
	checkStamp(t, "UpdateOrg UpdatedAt", upd.UpdatedAt)
	if upd.UpdatedAt.Before(a.UpdatedAt) {
		t.Errorf("UpdateOrg moved UpdatedAt back from %v to %v", a.UpdatedAt, upd.UpdatedAt)
	}
	got, err = s.GetOrg(ctx, a.ID)
	ok(t, err, "GetOrg after update")
	diff(t, "GetOrg after UpdateOrg", upd, got)
	if !got.CreatedAt.Equal(a.CreatedAt) {
		t.Errorf("UpdateOrg changed CreatedAt from %v to %v", a.CreatedAt, got.CreatedAt)
	}
	_, err = s.GetOrgBySlug(ctx, "acme")
	wantNotFound(t, err, "GetOrgBySlug(old slug)")

	// Uniqueness.
	dup := store.Org{Slug: "beta", Name: "Other", ProviderAssignment: store.AssignmentOpen}
	wantConflict(t, s.CreateOrg(ctx, &dup), "CreateOrg with a taken slug")
	dupID := store.Org{ID: b.ID, Slug: "gamma", Name: "Gamma", ProviderAssignment: store.AssignmentOpen}
	wantConflict(t, s.CreateOrg(ctx, &dupID), "CreateOrg with a taken ID")
	steal := b
	steal.Slug = "acme-corp"
	wantConflict(t, s.UpdateOrg(ctx, &steal), "UpdateOrg to a taken slug")

	// Missing rows.
	_, err = s.GetOrg(ctx, "no-such-org")
	wantNotFound(t, err, "GetOrg(missing)")
	_, err = s.GetOrgBySlug(ctx, "no-such-org")
	wantNotFound(t, err, "GetOrgBySlug(missing)")
	ghost := store.Org{ID: "no-such-org", Slug: "ghost", Name: "Ghost", ProviderAssignment: store.AssignmentOpen}
	wantNotFound(t, s.UpdateOrg(ctx, &ghost), "UpdateOrg(missing)")
	wantNotFound(t, s.DeleteOrg(ctx, "no-such-org"), "DeleteOrg(missing)")

	ok(t, s.DeleteOrg(ctx, b.ID), "DeleteOrg")
	_, err = s.GetOrg(ctx, b.ID)
	wantNotFound(t, err, "GetOrg after DeleteOrg")
	wantNotFound(t, s.DeleteOrg(ctx, b.ID), "DeleteOrg twice")
	list, err = s.ListOrgs(ctx)
	ok(t, err, "ListOrgs")
	diff(t, "ListOrgs after delete", []store.Org{upd}, list, sortOrgs)
}

func testOrgDomains(t *testing.T, s store.Store) {
	acme, beta := mkOrg(t, s, "acme"), mkOrg(t, s, "beta")
	d1 := store.OrgDomain{OrgID: acme.ID, Domain: "acme.com", CreatedAt: at(0)}
	d2 := store.OrgDomain{OrgID: acme.ID, Domain: "acme.net", Verified: true, CreatedAt: at(time.Second)}
	d3 := store.OrgDomain{OrgID: beta.ID, Domain: "acme.com", CreatedAt: at(2 * time.Second)} // two orgs may claim one domain
	for _, d := range []*store.OrgDomain{&d1, &d2, &d3} {
		ok(t, s.AddOrgDomain(ctx, d), "AddOrgDomain(%s, %s)", d.OrgID, d.Domain)
	}
	list, err := s.ListOrgDomains(ctx, acme.ID)
	ok(t, err, "ListOrgDomains")
	diff(t, "ListOrgDomains(acme)", []store.OrgDomain{d1, d2}, list, sortDomains)

	byDomain := func(domain string, want ...store.Org) {
		t.Helper()
		got, err := s.OrgsByVerifiedDomain(ctx, domain)
		ok(t, err, "OrgsByVerifiedDomain(%s)", domain)
		diff(t, "OrgsByVerifiedDomain("+domain+")", want, got, sortOrgs)
	}
	byDomain("acme.com") // claimed twice, verified by neither: routes nowhere
	byDomain("acme.net", acme)
	byDomain("nobody.example")

	ok(t, s.SetOrgDomainVerified(ctx, acme.ID, "acme.com", true), "SetOrgDomainVerified")
	byDomain("acme.com", acme)
	ok(t, s.SetOrgDomainVerified(ctx, beta.ID, "acme.com", true), "SetOrgDomainVerified")
	byDomain("acme.com", acme, beta)
	ok(t, s.SetOrgDomainVerified(ctx, acme.ID, "acme.com", false), "SetOrgDomainVerified(false)")
	byDomain("acme.com", beta)
	list, err = s.ListOrgDomains(ctx, acme.ID)
	ok(t, err, "ListOrgDomains")
	diff(t, "ListOrgDomains after unverify", []store.OrgDomain{d1, d2}, list, sortDomains)

	dup := d1
	wantConflict(t, s.AddOrgDomain(ctx, &dup), "AddOrgDomain twice")
	orphan := store.OrgDomain{OrgID: "no-such-org", Domain: "orphan.example", CreatedAt: at(0)}
	wantConflict(t, s.AddOrgDomain(ctx, &orphan), "AddOrgDomain for a missing org")
	wantNotFound(t, s.SetOrgDomainVerified(ctx, acme.ID, "missing.example", true), "SetOrgDomainVerified(missing)")
	wantNotFound(t, s.RemoveOrgDomain(ctx, acme.ID, "missing.example"), "RemoveOrgDomain(missing)")

	ok(t, s.RemoveOrgDomain(ctx, acme.ID, "acme.net"), "RemoveOrgDomain")
	wantNotFound(t, s.RemoveOrgDomain(ctx, acme.ID, "acme.net"), "RemoveOrgDomain twice")
	byDomain("acme.net")
	list, err = s.ListOrgDomains(ctx, acme.ID)
	ok(t, err, "ListOrgDomains")
	diff(t, "ListOrgDomains after remove", []store.OrgDomain{d1}, list, sortDomains)
}

func testUserCRUD(t *testing.T, s store.Store) {
	u := store.User{
		Email: "ann@example.com", EmailVerified: true, Name: "Ann",
		PasswordHash:  "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2g",
		TOTPSecretEnc: []byte{0, 1, 2, 0xfe, 0xff}, Admin: true, Status: store.UserActive,
	}
	ok(t, s.CreateUser(ctx, &u), "CreateUser")
	if u.ID == "" {
		t.Fatal("CreateUser left ID empty; it must set one")
	}
	checkStamp(t, "CreateUser CreatedAt", u.CreatedAt)
	checkStamp(t, "CreateUser UpdatedAt", u.UpdatedAt)
	got, err := s.GetUser(ctx, u.ID)
	ok(t, err, "GetUser")
	diff(t, "GetUser", u, got)
	got, err = s.GetUserByEmail(ctx, "ann@example.com")
	ok(t, err, "GetUserByEmail")
	diff(t, "GetUserByEmail", u, got)

	// An SSO-only user: no password, no TOTP (an empty slice is "none" too).
	v := store.User{ID: "user-chosen-id", Email: "bob@example.com", Name: "Bob", TOTPSecretEnc: []byte{}, Status: store.UserDisabled}
	ok(t, s.CreateUser(ctx, &v), "CreateUser(SSO-only)")
	if v.ID != "user-chosen-id" {
		t.Errorf("CreateUser replaced a given ID with %q", v.ID)
	}
	got, err = s.GetUser(ctx, v.ID)
	ok(t, err, "GetUser")
	diff(t, "GetUser(SSO-only)", v, got)
	if got.PasswordHash != "" || len(got.TOTPSecretEnc) != 0 {
		t.Errorf("SSO-only user came back with password %q, TOTP %x", got.PasswordHash, got.TOTPSecretEnc)
	}

	// Update every mutable field.
	upd := u
	upd.Email, upd.EmailVerified, upd.Name = "ann@new.example", false, "Ann B."
	upd.PasswordHash, upd.TOTPSecretEnc, upd.Admin, upd.Status = "", nil, false, store.UserDisabled
	ok(t, s.UpdateUser(ctx, &upd), "UpdateUser")
	checkStamp(t, "UpdateUser UpdatedAt", upd.UpdatedAt)
	got, err = s.GetUser(ctx, u.ID)
	ok(t, err, "GetUser after update")
	diff(t, "GetUser after UpdateUser", upd, got)
	if !got.CreatedAt.Equal(u.CreatedAt) {
		t.Errorf("UpdateUser changed CreatedAt from %v to %v", u.CreatedAt, got.CreatedAt)
	}
	_, err = s.GetUserByEmail(ctx, "ann@example.com")
	wantNotFound(t, err, "GetUserByEmail(old email)")
	got, err = s.GetUserByEmail(ctx, "ann@new.example")
	ok(t, err, "GetUserByEmail(new email)")
	diff(t, "GetUserByEmail(new email)", upd, got)

	// Give the password and TOTP back: nil → value works too.
	upd.PasswordHash, upd.TOTPSecretEnc = "$argon2id$v=19$m=65536,t=3,p=4$bmV3$bmV3", []byte("sealed")
	ok(t, s.UpdateUser(ctx, &upd), "UpdateUser")
	got, err = s.GetUser(ctx, u.ID)
	ok(t, err, "GetUser after update")
	diff(t, "GetUser after second UpdateUser", upd, got)

	// Missing rows.
	_, err = s.GetUser(ctx, "no-such-user")
	wantNotFound(t, err, "GetUser(missing)")
	_, err = s.GetUserByEmail(ctx, "nobody@example.com")
	wantNotFound(t, err, "GetUserByEmail(missing)")
	ghost := store.User{ID: "no-such-user", Email: "ghost@example.com", Status: store.UserActive}
	wantNotFound(t, s.UpdateUser(ctx, &ghost), "UpdateUser(missing)")
	wantNotFound(t, s.DeleteUser(ctx, "no-such-user"), "DeleteUser(missing)")
	dupID := store.User{ID: v.ID, Email: "carl@example.com", Status: store.UserActive}
	wantConflict(t, s.CreateUser(ctx, &dupID), "CreateUser with a taken ID")

	ok(t, s.DeleteUser(ctx, v.ID), "DeleteUser")
	_, err = s.GetUser(ctx, v.ID)
	wantNotFound(t, err, "GetUser after DeleteUser")
	_, err = s.GetUserByEmail(ctx, "bob@example.com")
	wantNotFound(t, err, "GetUserByEmail after DeleteUser")
	wantNotFound(t, s.DeleteUser(ctx, v.ID), "DeleteUser twice")
}

// Users without an email (AT Protocol) are NULL in a unique column: any
// number of them may exist and none is ever found by email.
func testUsersWithoutEmail(t *testing.T, s store.Store) {
	var ids []string
	for i := range 3 {
		u := store.User{Name: "did:plc:" + strings.Repeat("x", i+1), Status: store.UserActive}
		ok(t, s.CreateUser(ctx, &u), "CreateUser without email #%d", i)
		got, err := s.GetUser(ctx, u.ID)
		ok(t, err, "GetUser")
		diff(t, "GetUser(no email)", u, got)
		ids = append(ids, u.ID)
	}
	_, err := s.GetUserByEmail(ctx, "")
	wantNotFound(t, err, `GetUserByEmail("")`)

	// A user may lose and regain an email.
	a := mkUser(t, s, "ann@example.com")
	a.Email = ""
	ok(t, s.UpdateUser(ctx, &a), "UpdateUser to no email")
	got, err := s.GetUser(ctx, a.ID)
	ok(t, err, "GetUser")
	diff(t, "GetUser after dropping the email", a, got)
	_, err = s.GetUserByEmail(ctx, "")
	wantNotFound(t, err, `GetUserByEmail("") with four email-less users`)
	_, err = s.GetUserByEmail(ctx, "ann@example.com")
	wantNotFound(t, err, "GetUserByEmail(dropped email)")
	b := mkUser(t, s, "ann@example.com") // the address is free again
	if b.ID == a.ID {
		t.Errorf("a new user reused ID %s", a.ID)
	}
	users, err := s.ListUsers(ctx, "", 100)
	ok(t, err, "ListUsers")
	if len(users) != 5 {
		t.Errorf("ListUsers returned %d users, want 5", len(users))
	}
}

func testUserEmailRules(t *testing.T, s store.Store) {
	// Two spellings of one address normalise to one key: the second is a
	// conflict, not a second user.
	e1, err := store.NormalizeEmail("Ann@Bücher.Example ")
	ok(t, err, "NormalizeEmail")
	e2, err := store.NormalizeEmail("ann@xn--bcher-kva.example")
	ok(t, err, "NormalizeEmail")
	if e1 != e2 {
		t.Fatalf("NormalizeEmail: %q != %q", e1, e2)
	}
	first := mkUser(t, s, e1)
	second := store.User{Email: e2, Status: store.UserActive}
	wantConflict(t, s.CreateUser(ctx, &second), "CreateUser with the same normalised email")
	third := store.User{Email: "bob@example.com", Status: store.UserActive}
	ok(t, s.CreateUser(ctx, &third), "CreateUser")
	third.Email = e1
	wantConflict(t, s.UpdateUser(ctx, &third), "UpdateUser to a taken email")

	// The store refuses an address that is not in normal form rather than
	// storing a second spelling of someone's key (or folding it itself).
	for _, bad := range []string{"Carol@Example.com", " carol@example.com", "carol@EXAMPLE.COM", "carol@bücher.example", "not-an-address"} {
		u := store.User{Email: bad, Status: store.UserActive}
		if err := s.CreateUser(ctx, &u); err == nil {
			t.Errorf("CreateUser(%q) succeeded; an un-normalised email must be refused", bad)
		}
		upd := third
		upd.Email = bad
		if err := s.UpdateUser(ctx, &upd); err == nil {
			t.Errorf("UpdateUser(%q) succeeded; an un-normalised email must be refused", bad)
		}
	}
	got, err := s.GetUser(ctx, third.ID)
	ok(t, err, "GetUser")
	if got.Email != "bob@example.com" {
		t.Errorf("after refused updates the email is %q, want bob@example.com", got.Email)
	}
	users, err := s.ListUsers(ctx, "", 100)
	ok(t, err, "ListUsers")
	if len(users) != 2 {
		t.Errorf("ListUsers returned %d users after refused creations, want 2", len(users))
	}

	// A look-up with another spelling never finds another user: either it
	// normalises to the same user or it finds nothing.
	got, err = s.GetUserByEmail(ctx, strings.ToUpper(e1))
	if err == nil && got.ID != first.ID {
		t.Errorf("GetUserByEmail(%q) found %s, want %s or an error", strings.ToUpper(e1), got.ID, first.ID)
	}
}

func testListUsersPaging(t *testing.T, s store.Store) {
	var all []store.User
	for i := range 7 {
		all = append(all, mkUser(t, s, "user"+string(rune('a'+i))+"@example.com"))
	}
	slices.SortFunc(all, func(a, b store.User) int { return strings.Compare(a.ID, b.ID) })
	got, err := s.ListUsers(ctx, "", 100)
	ok(t, err, "ListUsers")
	diff(t, "ListUsers (ordered by ID)", all, got)

	var paged []store.User
	after := ""
	for range 10 {
		page, err := s.ListUsers(ctx, after, 3)
		ok(t, err, "ListUsers(%q, 3)", after)
		if len(page) > 3 {
			t.Fatalf("ListUsers(%q, 3) returned %d users", after, len(page))
		}
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
		after = page[len(page)-1].ID
	}
	diff(t, "ListUsers pages", all, paged)
}

func testMemberships(t *testing.T, s store.Store) {
	acme, beta := mkOrg(t, s, "acme"), mkOrg(t, s, "beta")
	ann, bob := mkUser(t, s, "ann@acme.com"), mkUser(t, s, "bob@acme.com")
	m1 := store.Membership{OrgID: acme.ID, UserID: ann.ID, Role: "admin", BreakGlass: true, CreatedVia: store.ViaInvitation, CreatedAt: at(0)}
	m2 := store.Membership{OrgID: acme.ID, UserID: bob.ID, Role: "member", CreatedVia: store.ViaJIT, CreatedAt: at(time.Second)}
	m3 := store.Membership{OrgID: beta.ID, UserID: ann.ID, Role: "member", CreatedVia: store.ViaAdmin, CreatedAt: at(2 * time.Second)}
	for _, m := range []*store.Membership{&m1, &m2, &m3} {
		ok(t, s.PutMembership(ctx, m), "PutMembership")
	}
	got, err := s.GetMembership(ctx, acme.ID, ann.ID)
	ok(t, err, "GetMembership")
	diff(t, "GetMembership", m1, got)
	members, err := s.ListOrgMembers(ctx, acme.ID)
	ok(t, err, "ListOrgMembers")
	diff(t, "ListOrgMembers", []store.Membership{m1, m2}, members, sortMembers)
	mine, err := s.ListUserMemberships(ctx, ann.ID)
	ok(t, err, "ListUserMemberships")
	diff(t, "ListUserMemberships", []store.Membership{m1, m3}, mine, sortMembers)

	// Put on an existing (org, user) updates role and break-glass only; it
	// never makes a second row.
	again := m1
	again.Role, again.BreakGlass = "member", false
	again.CreatedVia, again.CreatedAt = store.ViaAdmin, at(time.Hour)
	ok(t, s.PutMembership(ctx, &again), "PutMembership (update)")
	want := m1
	want.Role, want.BreakGlass = "member", false
	got, err = s.GetMembership(ctx, acme.ID, ann.ID)
	ok(t, err, "GetMembership")
	diff(t, "GetMembership after a second Put", want, got)
	members, err = s.ListOrgMembers(ctx, acme.ID)
	ok(t, err, "ListOrgMembers")
	diff(t, "ListOrgMembers after a second Put", []store.Membership{want, m2}, members, sortMembers)

	orphanUser := store.Membership{OrgID: acme.ID, UserID: "no-such-user", Role: "member", CreatedVia: store.ViaAdmin, CreatedAt: at(0)}
	wantConflict(t, s.PutMembership(ctx, &orphanUser), "PutMembership for a missing user")
	orphanOrg := store.Membership{OrgID: "no-such-org", UserID: ann.ID, Role: "member", CreatedVia: store.ViaAdmin, CreatedAt: at(0)}
	wantConflict(t, s.PutMembership(ctx, &orphanOrg), "PutMembership for a missing org")

	_, err = s.GetMembership(ctx, beta.ID, bob.ID)
	wantNotFound(t, err, "GetMembership(missing)")
	wantNotFound(t, s.DeleteMembership(ctx, beta.ID, bob.ID), "DeleteMembership(missing)")
	ok(t, s.DeleteMembership(ctx, acme.ID, ann.ID), "DeleteMembership")
	_, err = s.GetMembership(ctx, acme.ID, ann.ID)
	wantNotFound(t, err, "GetMembership after delete")
	wantNotFound(t, s.DeleteMembership(ctx, acme.ID, ann.ID), "DeleteMembership twice")
	mine, err = s.ListUserMemberships(ctx, ann.ID)
	ok(t, err, "ListUserMemberships")
	diff(t, "ListUserMemberships after delete", []store.Membership{m3}, mine, sortMembers)
}

func testInvitations(t *testing.T, s store.Store) {
	acme, beta := mkOrg(t, s, "acme"), mkOrg(t, s, "beta")
	inv := store.Invitation{
		OrgID: acme.ID, Email: "dan@acme.com", Role: "admin", TokenHash: store.HashToken("invitation dan"),
		ExpiresAt: at(7 * 24 * time.Hour), CreatedAt: at(-time.Minute),
	}
	ok(t, s.CreateInvitation(ctx, &inv), "CreateInvitation")
	if inv.ID == "" {
		t.Fatal("CreateInvitation left ID empty; it must set one")
	}
	got, err := s.FindInvitation(ctx, acme.ID, "dan@acme.com", Now)
	ok(t, err, "FindInvitation")
	diff(t, "FindInvitation", inv, got)

	_, err = s.FindInvitation(ctx, acme.ID, "eve@acme.com", Now)
	wantNotFound(t, err, "FindInvitation(other email)")
	_, err = s.FindInvitation(ctx, beta.ID, "dan@acme.com", Now)
	wantNotFound(t, err, "FindInvitation(other org)")
	_, err = s.FindInvitation(ctx, acme.ID, "dan@acme.com", inv.ExpiresAt.Add(time.Millisecond))
	wantNotFound(t, err, "FindInvitation after expiry")

	expired := mkInvitation(t, s, acme.ID, "eve@acme.com", at(-time.Millisecond))
	_, err = s.FindInvitation(ctx, acme.ID, "eve@acme.com", Now)
	wantNotFound(t, err, "FindInvitation(expired)")
	_, err = s.ConsumeInvitation(ctx, expired.ID, Now)
	wantNotFound(t, err, "ConsumeInvitation(expired)")
	_, err = s.ConsumeInvitation(ctx, "no-such-invitation", Now)
	wantNotFound(t, err, "ConsumeInvitation(missing)")

	got, err = s.ConsumeInvitation(ctx, inv.ID, Now)
	ok(t, err, "ConsumeInvitation")
	want := inv
	want.ConsumedAt = Now
	diff(t, "ConsumeInvitation", want, got)
	got, err = s.ConsumeInvitation(ctx, inv.ID, at(time.Minute))
	wantErr(t, err, store.ErrConsumed, "ConsumeInvitation twice")
	diff(t, "ConsumeInvitation twice: the record returned with ErrConsumed", want, got)
	_, err = s.FindInvitation(ctx, acme.ID, "dan@acme.com", Now)
	wantNotFound(t, err, "FindInvitation after consumption")

	dup := store.Invitation{OrgID: beta.ID, Email: "x@beta.com", Role: "member", TokenHash: inv.TokenHash, ExpiresAt: at(time.Hour), CreatedAt: at(0)}
	wantConflict(t, s.CreateInvitation(ctx, &dup), "CreateInvitation with a taken token hash")
	orphan := store.Invitation{OrgID: "no-such-org", Email: "x@beta.com", Role: "member", TokenHash: store.HashToken("orphan"), ExpiresAt: at(time.Hour), CreatedAt: at(0)}
	wantConflict(t, s.CreateInvitation(ctx, &orphan), "CreateInvitation for a missing org")
}
