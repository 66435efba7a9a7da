package storetest

import (
	"testing"
	"time"

	"github.com/sallyport/sallyport/internal/store"
)

var connectionTests = []subtest{
	{"ConnectionCRUD", testConnectionCRUD},
	{"ConnectionSlugNamespace", testConnectionSlugNamespace},
	{"IdentityCRUD", testIdentityCRUD},
	{"IdentityUniqueness", testIdentityUniqueness},
	{"Assignments", testAssignments},
}

func testConnectionCRUD(t *testing.T, s store.Store) {
	acme, beta := mkOrg(t, s, "acme"), mkOrg(t, s, "beta")
	google := store.Connection{
		Slug: "google", Kind: "google", DisplayName: "Google", Status: store.ConnectionActive,
		Settings:  []byte(`{"client_id":"123.apps.googleusercontent.com","scopes":["openid","email"]}`),
		SecretEnc: []byte{9, 8, 7, 0, 1}, AutoProvision: true, TrustEmailForLink: true,
		AdminEmailDomains: []string{"example.com", "example.org"},
		ValidatedAt:       at(-time.Hour),
	}
	ok(t, s.CreateConnection(ctx, &google), "CreateConnection(global)")
	if google.ID == "" {
		t.Fatal("CreateConnection left ID empty; it must set one")
	}
	checkStamp(t, "CreateConnection CreatedAt", google.CreatedAt)
	checkStamp(t, "CreateConnection UpdatedAt", google.UpdatedAt)

	// A draft org connection with every optional field empty.
	okta := store.Connection{
		ID: "conn-chosen-id", Slug: "acme-okta", OrgID: acme.ID, Kind: "oidc", Status: store.ConnectionDraft,
		Settings: []byte(`{}`),
	}
	ok(t, s.CreateConnection(ctx, &okta), "CreateConnection(org)")
	if okta.ID != "conn-chosen-id" {
		t.Errorf("CreateConnection replaced a given ID with %q", okta.ID)
	}
	github := mkConn(t, s, "github", "")
	betaConn := mkConn(t, s, "beta-entra", beta.ID)

	got, err := s.GetConnection(ctx, google.ID)
	ok(t, err, "GetConnection")
	diff(t, "GetConnection(global)", google, got)
	got, err = s.GetConnectionBySlug(ctx, "acme-okta")
	ok(t, err, "GetConnectionBySlug")
	diff(t, "GetConnectionBySlug(org)", okta, got)

	list := func(orgID string, want ...store.Connection) {
		t.Helper()
		got, err := s.ListConnections(ctx, orgID)
		ok(t, err, "ListConnections(%q)", orgID)
		diff(t, "ListConnections("+orgID+")", want, got, sortConnections)
	}
	list("", google, github)
	list(acme.ID, okta)
	list(beta.ID, betaConn)
	list("no-such-org")
	all, err := s.ListAllConnections(ctx)
	ok(t, err, "ListAllConnections")
	diff(t, "ListAllConnections", []store.Connection{google, okta, github, betaConn}, all, sortConnections)

	// Update: validation failed, then active; lists and secrets replaced.
	upd := okta
	upd.Slug, upd.DisplayName, upd.Kind = "acme-sso", "Acme SSO", "oidc"
	upd.Status, upd.LastValidationError = store.ConnectionValidationFailed, "discovery: 404 Not Found"
	upd.Settings, upd.SecretEnc = []byte(`{"issuer":"https://acme.okta.com"}`), []byte("sealed secret")
	upd.AutoProvision, upd.TrustEmailForLink = true, true
	upd.AdminEmailDomains, upd.ValidatedAt = []string{"acme.com"}, at(0)
	ok(t, s.UpdateConnection(ctx, &upd), "UpdateConnection")
	checkStamp(t, "UpdateConnection UpdatedAt", upd.UpdatedAt)
	got, err = s.GetConnection(ctx, okta.ID)
	ok(t, err, "GetConnection after update")
	diff(t, "GetConnection after UpdateConnection", upd, got)
	if !got.CreatedAt.Equal(okta.CreatedAt) {
		t.Errorf("UpdateConnection changed CreatedAt from %v to %v", okta.CreatedAt, got.CreatedAt)
	}
	_, err = s.GetConnectionBySlug(ctx, "acme-okta")
	wantNotFound(t, err, "GetConnectionBySlug(old slug)")

	// And back to empty: lists, secret, error and validation time cleared.
	upd.Status, upd.LastValidationError, upd.SecretEnc = store.ConnectionActive, "", nil
	upd.AdminEmailDomains, upd.ValidatedAt, upd.AutoProvision = nil, time.Time{}, false
	ok(t, s.UpdateConnection(ctx, &upd), "UpdateConnection")
	got, err = s.GetConnection(ctx, okta.ID)
	ok(t, err, "GetConnection after update")
	diff(t, "GetConnection after clearing fields", upd, got)

	// Missing rows and references.
	_, err = s.GetConnection(ctx, "no-such-connection")
	wantNotFound(t, err, "GetConnection(missing)")
	_, err = s.GetConnectionBySlug(ctx, "no-such-connection")
	wantNotFound(t, err, "GetConnectionBySlug(missing)")
	ghost := store.Connection{ID: "no-such-connection", Slug: "ghost", Kind: "oidc", Status: store.ConnectionDraft, Settings: []byte(`{}`)}
	wantNotFound(t, s.UpdateConnection(ctx, &ghost), "UpdateConnection(missing)")
	wantNotFound(t, s.DeleteConnection(ctx, "no-such-connection"), "DeleteConnection(missing)")
	orphan := store.Connection{Slug: "orphan", OrgID: "no-such-org", Kind: "oidc", Status: store.ConnectionDraft, Settings: []byte(`{}`)}
	wantConflict(t, s.CreateConnection(ctx, &orphan), "CreateConnection for a missing org")
	dupID := store.Connection{ID: google.ID, Slug: "other", Kind: "oidc", Status: store.ConnectionDraft, Settings: []byte(`{}`)}
	wantConflict(t, s.CreateConnection(ctx, &dupID), "CreateConnection with a taken ID")

	ok(t, s.DeleteConnection(ctx, github.ID), "DeleteConnection")
	_, err = s.GetConnection(ctx, github.ID)
	wantNotFound(t, err, "GetConnection after DeleteConnection")
	wantNotFound(t, s.DeleteConnection(ctx, github.ID), "DeleteConnection twice")
	list("", google)
}

// Global and org connections share one slug namespace: the slug names the
// callback path /callback/{slug}.
func testConnectionSlugNamespace(t *testing.T, s store.Store) {
	acme, beta := mkOrg(t, s, "acme"), mkOrg(t, s, "beta")
	mkConn(t, s, "shared", "")
	mkConn(t, s, "acme-sso", acme.ID)
	for _, c := range []store.Connection{
		{Slug: "shared", OrgID: acme.ID},   // org after global
		{Slug: "acme-sso", OrgID: ""},      // global after org
		{Slug: "acme-sso", OrgID: beta.ID}, // another org's
		{Slug: "shared", OrgID: ""},        // global twice
	} {
		c.Kind, c.Status, c.Settings = "oidc", store.ConnectionDraft, []byte(`{}`)
		wantConflict(t, s.CreateConnection(ctx, &c), "CreateConnection(slug %q, org %q)", c.Slug, c.OrgID)
	}
	b := mkConn(t, s, "beta-sso", beta.ID)
	b.Slug = "shared"
	wantConflict(t, s.UpdateConnection(ctx, &b), "UpdateConnection to a global connection's slug")
	all, err := s.ListAllConnections(ctx)
	ok(t, err, "ListAllConnections")
	if len(all) != 3 {
		t.Errorf("ListAllConnections returned %d connections, want 3", len(all))
	}
}

func testIdentityCRUD(t *testing.T, s store.Store) {
	ann := mkUser(t, s, "ann@example.com")
	google, corp := mkConn(t, s, "google", ""), mkConn(t, s, "corp", "")
	i1 := store.Identity{
		UserID: ann.ID, ConnectionID: google.ID, Subject: "108123456789",
		Email: "ann@example.com", EmailVerified: true,
		Claims:    []byte(`{"sub":"108123456789","email":"ann@example.com","email_verified":true}`),
		TokensEnc: []byte{1, 2, 3}, LinkedAt: at(-24 * time.Hour), LastLoginAt: at(-time.Hour),
	}
	ok(t, s.CreateIdentity(ctx, &i1), "CreateIdentity")
	if i1.ID == "" {
		t.Fatal("CreateIdentity left ID empty; it must set one")
	}
	// No email, no tokens, never signed in since linking.
	i2 := store.Identity{ID: "identity-chosen-id", UserID: ann.ID, ConnectionID: corp.ID, Subject: "ann", Claims: []byte(`{}`), LinkedAt: at(0)}
	ok(t, s.CreateIdentity(ctx, &i2), "CreateIdentity(minimal)")
	if i2.ID != "identity-chosen-id" {
		t.Errorf("CreateIdentity replaced a given ID with %q", i2.ID)
	}

	got, err := s.GetIdentity(ctx, i1.ID)
	ok(t, err, "GetIdentity")
	diff(t, "GetIdentity", i1, got)
	got, err = s.GetIdentityBySubject(ctx, corp.ID, "ann")
	ok(t, err, "GetIdentityBySubject")
	diff(t, "GetIdentityBySubject", i2, got)
	list, err := s.ListUserIdentities(ctx, ann.ID)
	ok(t, err, "ListUserIdentities")
	diff(t, "ListUserIdentities", []store.Identity{i1, i2}, list, sortIdentities)

	// UpdateIdentityLogin refreshes what the upstream said at sign-in; it
	// never moves the identity to another user, connection or subject.
	bob := mkUser(t, s, "bob@example.com")
	upd := i1
	upd.Email, upd.EmailVerified = "ann@new.example", false
	upd.Claims, upd.TokensEnc, upd.LastLoginAt = []byte(`{"sub":"108123456789"}`), nil, at(0)
	ok(t, s.UpdateIdentityLogin(ctx, &upd), "UpdateIdentityLogin")
	got, err = s.GetIdentity(ctx, i1.ID)
	ok(t, err, "GetIdentity after update")
	diff(t, "GetIdentity after UpdateIdentityLogin", upd, got)
	hijack := upd
	hijack.UserID, hijack.Subject, hijack.LastLoginAt = bob.ID, "someone-else", at(time.Minute)
	ok(t, s.UpdateIdentityLogin(ctx, &hijack), "UpdateIdentityLogin")
	got, err = s.GetIdentity(ctx, i1.ID)
	ok(t, err, "GetIdentity after update")
	if got.UserID != ann.ID || got.Subject != i1.Subject || got.ConnectionID != google.ID {
		t.Errorf("UpdateIdentityLogin rewrote the identity key: user %s subject %q connection %s", got.UserID, got.Subject, got.ConnectionID)
	}
	if !got.LastLoginAt.Equal(at(time.Minute)) {
		t.Errorf("UpdateIdentityLogin: LastLoginAt = %v, want %v", got.LastLoginAt, at(time.Minute))
	}

	_, err = s.GetIdentity(ctx, "no-such-identity")
	wantNotFound(t, err, "GetIdentity(missing)")
	_, err = s.GetIdentityBySubject(ctx, google.ID, "no-such-subject")
	wantNotFound(t, err, "GetIdentityBySubject(missing)")
	_, err = s.GetIdentityBySubject(ctx, corp.ID, i1.Subject)
	wantNotFound(t, err, "GetIdentityBySubject(subject known only at another connection)")
	ghost := store.Identity{ID: "no-such-identity", UserID: ann.ID, ConnectionID: google.ID, Subject: "ghost", Claims: []byte(`{}`), LastLoginAt: at(0)}
	wantNotFound(t, s.UpdateIdentityLogin(ctx, &ghost), "UpdateIdentityLogin(missing)")
	wantNotFound(t, s.DeleteIdentity(ctx, "no-such-identity"), "DeleteIdentity(missing)")

	ok(t, s.DeleteIdentity(ctx, i2.ID), "DeleteIdentity")
	_, err = s.GetIdentity(ctx, i2.ID)
	wantNotFound(t, err, "GetIdentity after DeleteIdentity")
	_, err = s.GetIdentityBySubject(ctx, corp.ID, "ann")
	wantNotFound(t, err, "GetIdentityBySubject after DeleteIdentity")
	wantNotFound(t, s.DeleteIdentity(ctx, i2.ID), "DeleteIdentity twice")
	list, err = s.ListUserIdentities(ctx, ann.ID)
	ok(t, err, "ListUserIdentities")
	if len(list) != 1 || list[0].ID != i1.ID {
		t.Errorf("ListUserIdentities after delete = %v, want only %s", list, i1.ID)
	}
}

// (connection, subject) is the only identity key; the same subject at another
// connection is another identity.
func testIdentityUniqueness(t *testing.T, s store.Store) {
	ann, bob := mkUser(t, s, "ann@example.com"), mkUser(t, s, "bob@example.com")
	google, corp := mkConn(t, s, "google", ""), mkConn(t, s, "corp", "")
	mkIdentity(t, s, ann.ID, google.ID, "12345")
	mkIdentity(t, s, bob.ID, corp.ID, "12345") // same subject, other connection

	for _, userID := range []string{ann.ID, bob.ID} {
		i := store.Identity{UserID: userID, ConnectionID: google.ID, Subject: "12345", Claims: []byte(`{}`), LinkedAt: at(0)}
		wantConflict(t, s.CreateIdentity(ctx, &i), "CreateIdentity with a taken (connection, subject)")
	}
	dupID := mkIdentity(t, s, ann.ID, corp.ID, "ann-at-corp")
	again := store.Identity{ID: dupID.ID, UserID: ann.ID, ConnectionID: google.ID, Subject: "other", Claims: []byte(`{}`), LinkedAt: at(0)}
	wantConflict(t, s.CreateIdentity(ctx, &again), "CreateIdentity with a taken ID")

	noUser := store.Identity{UserID: "no-such-user", ConnectionID: google.ID, Subject: "x", Claims: []byte(`{}`), LinkedAt: at(0)}
	wantConflict(t, s.CreateIdentity(ctx, &noUser), "CreateIdentity for a missing user")
	noConn := store.Identity{UserID: ann.ID, ConnectionID: "no-such-connection", Subject: "x", Claims: []byte(`{}`), LinkedAt: at(0)}
	wantConflict(t, s.CreateIdentity(ctx, &noConn), "CreateIdentity for a missing connection")

	got, err := s.GetIdentityBySubject(ctx, google.ID, "12345")
	ok(t, err, "GetIdentityBySubject")
	if got.UserID != ann.ID {
		t.Errorf("GetIdentityBySubject(google, 12345) belongs to %s, want %s", got.UserID, ann.ID)
	}
	got, err = s.GetIdentityBySubject(ctx, corp.ID, "12345")
	ok(t, err, "GetIdentityBySubject")
	if got.UserID != bob.ID {
		t.Errorf("GetIdentityBySubject(corp, 12345) belongs to %s, want %s", got.UserID, bob.ID)
	}
}

func testAssignments(t *testing.T, s store.Store) {
	ann, bob := mkUser(t, s, "ann@example.com"), mkUser(t, s, "bob@example.com")
	google, corp := mkConn(t, s, "google", ""), mkConn(t, s, "corp", "")
	a1 := store.Assignment{UserID: ann.ID, ConnectionID: google.ID, AssignedBy: "admin-1", CreatedAt: at(0)}
	a2 := store.Assignment{UserID: ann.ID, ConnectionID: corp.ID, CreatedAt: at(time.Second)}
	a3 := store.Assignment{UserID: bob.ID, ConnectionID: corp.ID, AssignedBy: "cli", CreatedAt: at(2 * time.Second)}
	for _, a := range []*store.Assignment{&a1, &a2, &a3} {
		ok(t, s.PutAssignment(ctx, a), "PutAssignment")
	}
	got, err := s.ListUserAssignments(ctx, ann.ID)
	ok(t, err, "ListUserAssignments")
	diff(t, "ListUserAssignments", []store.Assignment{a1, a2}, got, sortAssignments)

	// Put is idempotent: the same pair again is not a second row.
	again := a1
	ok(t, s.PutAssignment(ctx, &again), "PutAssignment twice")
	got, err = s.ListUserAssignments(ctx, ann.ID)
	ok(t, err, "ListUserAssignments")
	if len(got) != 2 {
		t.Errorf("ListUserAssignments after a repeated Put has %d rows, want 2", len(got))
	}

	noUser := store.Assignment{UserID: "no-such-user", ConnectionID: google.ID, CreatedAt: at(0)}
	wantConflict(t, s.PutAssignment(ctx, &noUser), "PutAssignment for a missing user")
	noConn := store.Assignment{UserID: ann.ID, ConnectionID: "no-such-connection", CreatedAt: at(0)}
	wantConflict(t, s.PutAssignment(ctx, &noConn), "PutAssignment for a missing connection")

	ok(t, s.DeleteAssignment(ctx, ann.ID, google.ID), "DeleteAssignment")
	wantNotFound(t, s.DeleteAssignment(ctx, ann.ID, google.ID), "DeleteAssignment twice")
	wantNotFound(t, s.DeleteAssignment(ctx, bob.ID, google.ID), "DeleteAssignment(missing)")
	got, err = s.ListUserAssignments(ctx, ann.ID)
	ok(t, err, "ListUserAssignments")
	diff(t, "ListUserAssignments after delete", []store.Assignment{a2}, got, sortAssignments)
	got, err = s.ListUserAssignments(ctx, bob.ID)
	ok(t, err, "ListUserAssignments")
	diff(t, "ListUserAssignments(bob)", []store.Assignment{a3}, got, sortAssignments)
}
