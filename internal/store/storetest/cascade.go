package storetest

import (
	"testing"
	"time"

	"github.com/sallyport/sallyport/internal/store"
)

var cascadeTests = []subtest{
	{"DeleteUser", testCascadeDeleteUser},
	{"DeleteOrg", testCascadeDeleteOrg},
	{"DeleteConnection", testCascadeDeleteConnection},
	{"DeleteIdentity", testCascadeDeleteIdentity},
	{"DeleteClient", testCascadeDeleteClient},
}

// world is a small but complete installation: two orgs, two users (ann, the
// one deletions aim at, and bob, a bystander), global and org connections,
// identities, sessions, apps and every kind of token.
type world struct {
	acme, beta                    store.Org
	ann, bob                      store.User
	google, acmeSSO, betaSSO      store.Connection
	annGoogle, annAcme, bobGoogle store.Identity
	bobAcme                       store.Identity
	invitation                    store.Invitation
	flowGoogle, flowAcme          store.LoginFlow
	annSessGoogle, annSessAcme    store.Session
	bobSess                       store.Session
	app, app2                     store.Client
	reqApp, reqApp2               store.AuthzRequest
	// Grants: ann at app through acme-sso, ann at app2 through google, bob
	// at app through google.
	annApp, annApp2, bobApp tokens
	audit                   []store.AuditEvent
}

// tokens is what one grant issued.
type tokens struct {
	grant   store.Grant
	code    store.AuthCode
	access  store.AccessToken
	refresh store.RefreshToken
}

func buildWorld(t *testing.T, s store.Store) *world {
	t.Helper()
	w := &world{}
	w.acme, w.beta = mkOrg(t, s, "acme"), mkOrg(t, s, "beta")
	mkDomain(t, s, w.acme.ID, "acme.com", true)
	w.ann, w.bob = mkUser(t, s, "ann@acme.com"), mkUser(t, s, "bob@acme.com")
	mkMembership(t, s, w.acme.ID, w.ann.ID)
	mkMembership(t, s, w.acme.ID, w.bob.ID)
	mkMembership(t, s, w.beta.ID, w.ann.ID)
	w.invitation = mkInvitation(t, s, w.acme.ID, "dan@acme.com", at(time.Hour))

	w.google = mkConn(t, s, "google", "")
	w.acmeSSO = mkConn(t, s, "acme-sso", w.acme.ID)
	w.betaSSO = mkConn(t, s, "beta-sso", w.beta.ID)
	w.annGoogle = mkIdentity(t, s, w.ann.ID, w.google.ID, "ann-google")
	w.annAcme = mkIdentity(t, s, w.ann.ID, w.acmeSSO.ID, "ann-acme")
	w.bobGoogle = mkIdentity(t, s, w.bob.ID, w.google.ID, "bob-google")
	w.bobAcme = mkIdentity(t, s, w.bob.ID, w.acmeSSO.ID, "bob-acme")
	mkAssignment(t, s, w.ann.ID, w.google.ID)
	mkAssignment(t, s, w.ann.ID, w.acmeSSO.ID)
	mkAssignment(t, s, w.bob.ID, w.google.ID)
	w.flowGoogle = mkFlow(t, s, "google", w.google.ID, at(10*time.Minute))
	w.flowAcme = mkFlow(t, s, "acme", w.acmeSSO.ID, at(10*time.Minute))

	w.annSessGoogle = mkSession(t, s, "ann google", w.ann.ID, w.annGoogle.ID)
	w.annSessAcme = mkSession(t, s, "ann acme", w.ann.ID, w.annAcme.ID)
	w.bobSess = mkSession(t, s, "bob", w.bob.ID, w.bobGoogle.ID)

	w.app, w.app2 = mkClient(t, s, "app"), mkClient(t, s, "app2")
	w.reqApp = mkAuthzRequest(t, s, "req-app", w.app.ID, at(10*time.Minute))
	w.reqApp2 = mkAuthzRequest(t, s, "req-app2", w.app2.ID, at(10*time.Minute))
	issue := func(name string, c store.Client, u store.User, i store.Identity, sess store.Session, orgID string) tokens {
		g := grant("grant-"+name, c.ID, u.ID)
		g.IdentityID, g.ConnectionID, g.SessionID, g.OrgID = i.ID, i.ConnectionID, sess.IDHash, orgID
		mkConsent(t, s, u.ID, c.ID)
		return tokens{
			grant:   g,
			code:    mkCode(t, s, name, g, at(time.Minute)),
			access:  mkAccess(t, s, name, g, at(10*time.Minute)),
			refresh: mkRefresh(t, s, name, g, at(time.Hour)),
		}
	}
	w.annApp = issue("ann-app", w.app, w.ann, w.annAcme, w.annSessAcme, w.acme.ID)
	w.annApp2 = issue("ann-app2", w.app2, w.ann, w.annGoogle, w.annSessGoogle, "")
	w.bobApp = issue("bob-app", w.app, w.bob, w.bobGoogle, w.bobSess, "")

	w.audit = appendEvents(t, s,
		store.AuditEvent{At: at(0), Type: "login.callback", Outcome: "jit_created", ActorID: "system", UserID: w.ann.ID, OrgID: w.acme.ID, ConnectionID: w.acmeSSO.ID, Detail: []byte(`{}`)},
		store.AuditEvent{At: at(0), Type: "login.callback", Outcome: "existing_identity", ActorID: "system", UserID: w.ann.ID, ConnectionID: w.google.ID, Detail: []byte(`{}`)},
		store.AuditEvent{At: at(0), Type: "client.create", Outcome: "ok", ActorID: "cli", Detail: []byte(`{"client_id":"app"}`)},
	)
	return w
}

// gone and kept check the result of a look-up after a deletion.
func gone(t *testing.T, what string, err error) {
	t.Helper()
	if !errorsIsAny(err, store.ErrNotFound) {
		t.Errorf("%s: got %v, want ErrNotFound (it should have been deleted with its parent)", what, err)
	}
}

func kept(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: %v (it should have survived)", what, err)
	}
}

// tokensGone and tokensKept check a grant's code, access and refresh token.
// They spend the code and refresh token, so call them last.
func tokensGone(t *testing.T, s store.Store, name string, tk tokens) {
	t.Helper()
	gone(t, name+": ConsumeAuthCode", second(s.ConsumeAuthCode(ctx, tk.code.CodeHash, Now)))
	gone(t, name+": GetAccessToken", second(s.GetAccessToken(ctx, tk.access.TokenHash, Now)))
	gone(t, name+": RotateRefreshToken", second(s.RotateRefreshToken(ctx, tk.refresh.TokenHash, Now)))
}

func tokensKept(t *testing.T, s store.Store, name string, tk tokens) {
	t.Helper()
	kept(t, name+": ConsumeAuthCode", second(s.ConsumeAuthCode(ctx, tk.code.CodeHash, Now)))
	kept(t, name+": GetAccessToken", second(s.GetAccessToken(ctx, tk.access.TokenHash, Now)))
	kept(t, name+": RotateRefreshToken", second(s.RotateRefreshToken(ctx, tk.refresh.TokenHash, Now)))
}

// auditKept checks that every audit event outlived the deletion.
func (w *world) auditKept(t *testing.T, s store.Store) {
	t.Helper()
	diff(t, "audit events after a deletion", newestFirst(w.audit), listAudit(t, s, store.AuditFilter{}))
}

func listLen[T any](l []T, err error) (int, error) { return len(l), err }

func testCascadeDeleteUser(t *testing.T, s store.Store) {
	w := buildWorld(t, s)
	ok(t, s.DeleteUser(ctx, w.ann.ID), "DeleteUser")

	gone(t, "GetUser", second(s.GetUser(ctx, w.ann.ID)))
	gone(t, "GetIdentity(ann google)", second(s.GetIdentity(ctx, w.annGoogle.ID)))
	gone(t, "GetIdentityBySubject(ann acme)", second(s.GetIdentityBySubject(ctx, w.acmeSSO.ID, w.annAcme.Subject)))
	gone(t, "GetMembership(acme, ann)", second(s.GetMembership(ctx, w.acme.ID, w.ann.ID)))
	gone(t, "GetMembership(beta, ann)", second(s.GetMembership(ctx, w.beta.ID, w.ann.ID)))
	gone(t, "GetSession(ann google)", second(s.GetSession(ctx, w.annSessGoogle.IDHash, Now)))
	gone(t, "GetSession(ann acme)", second(s.GetSession(ctx, w.annSessAcme.IDHash, Now)))
	gone(t, "GetConsent(ann, app)", second(s.GetConsent(ctx, w.ann.ID, w.app.ID)))
	gone(t, "GetConsent(ann, app2)", second(s.GetConsent(ctx, w.ann.ID, w.app2.ID)))
	if n, err := listLen(s.ListUserAssignments(ctx, w.ann.ID)); err != nil || n != 0 {
		t.Errorf("ListUserAssignments(ann) after DeleteUser: %d rows, %v; want none", n, err)
	}
	if n, err := listLen(s.ListUserIdentities(ctx, w.ann.ID)); err != nil || n != 0 {
		t.Errorf("ListUserIdentities(ann) after DeleteUser: %d rows, %v; want none", n, err)
	}
	members, err := s.ListOrgMembers(ctx, w.acme.ID)
	ok(t, err, "ListOrgMembers")
	if len(members) != 1 || members[0].UserID != w.bob.ID {
		t.Errorf("ListOrgMembers(acme) after DeleteUser(ann) = %+v; want only bob", members)
	}

	kept(t, "GetUser(bob)", second(s.GetUser(ctx, w.bob.ID)))
	kept(t, "GetIdentity(bob google)", second(s.GetIdentity(ctx, w.bobGoogle.ID)))
	kept(t, "GetSession(bob)", second(s.GetSession(ctx, w.bobSess.IDHash, Now)))
	kept(t, "GetConsent(bob, app)", second(s.GetConsent(ctx, w.bob.ID, w.app.ID)))
	kept(t, "GetOrg(acme)", second(s.GetOrg(ctx, w.acme.ID)))
	kept(t, "GetConnection(google)", second(s.GetConnection(ctx, w.google.ID)))
	kept(t, "GetClient(app)", second(s.GetClient(ctx, w.app.ID)))
	if n, err := listLen(s.ListUserAssignments(ctx, w.bob.ID)); err != nil || n != 1 {
		t.Errorf("ListUserAssignments(bob) after DeleteUser(ann): %d rows, %v; want 1", n, err)
	}
	w.auditKept(t, s)
	tokensGone(t, s, "ann at app", w.annApp)
	tokensGone(t, s, "ann at app2", w.annApp2)
	tokensKept(t, s, "bob at app", w.bobApp)
}

func testCascadeDeleteOrg(t *testing.T, s store.Store) {
	w := buildWorld(t, s)
	ok(t, s.DeleteOrg(ctx, w.acme.ID), "DeleteOrg")

	gone(t, "GetOrg", second(s.GetOrg(ctx, w.acme.ID)))
	if n, err := listLen(s.ListOrgDomains(ctx, w.acme.ID)); err != nil || n != 0 {
		t.Errorf("ListOrgDomains(acme) after DeleteOrg: %d rows, %v; want none", n, err)
	}
	if n, err := listLen(s.OrgsByVerifiedDomain(ctx, "acme.com")); err != nil || n != 0 {
		t.Errorf("OrgsByVerifiedDomain(acme.com) after DeleteOrg: %d orgs, %v; want none", n, err)
	}
	gone(t, "GetMembership(acme, ann)", second(s.GetMembership(ctx, w.acme.ID, w.ann.ID)))
	gone(t, "GetMembership(acme, bob)", second(s.GetMembership(ctx, w.acme.ID, w.bob.ID)))
	gone(t, "FindInvitation", second(s.FindInvitation(ctx, w.acme.ID, w.invitation.Email, Now)))
	gone(t, "ConsumeInvitation", second(s.ConsumeInvitation(ctx, w.invitation.ID, Now)))
	gone(t, "GetConnection(acme-sso)", second(s.GetConnection(ctx, w.acmeSSO.ID)))
	gone(t, "GetConnectionBySlug(acme-sso)", second(s.GetConnectionBySlug(ctx, "acme-sso")))
	gone(t, "GetIdentity(ann at acme-sso)", second(s.GetIdentity(ctx, w.annAcme.ID)))
	gone(t, "GetIdentity(bob at acme-sso)", second(s.GetIdentity(ctx, w.bobAcme.ID)))
	if n, err := listLen(s.ListConnections(ctx, w.acme.ID)); err != nil || n != 0 {
		t.Errorf("ListConnections(acme) after DeleteOrg: %d rows, %v; want none", n, err)
	}

	kept(t, "GetUser(ann)", second(s.GetUser(ctx, w.ann.ID)))
	kept(t, "GetUser(bob)", second(s.GetUser(ctx, w.bob.ID)))
	kept(t, "GetMembership(beta, ann)", second(s.GetMembership(ctx, w.beta.ID, w.ann.ID)))
	kept(t, "GetConnection(google)", second(s.GetConnection(ctx, w.google.ID)))
	kept(t, "GetConnection(beta-sso)", second(s.GetConnection(ctx, w.betaSSO.ID)))
	kept(t, "GetIdentity(ann google)", second(s.GetIdentity(ctx, w.annGoogle.ID)))
	kept(t, "GetIdentity(bob google)", second(s.GetIdentity(ctx, w.bobGoogle.ID)))
	kept(t, "GetOrg(beta)", second(s.GetOrg(ctx, w.beta.ID)))
	w.auditKept(t, s)
}

func testCascadeDeleteConnection(t *testing.T, s store.Store) {
	w := buildWorld(t, s)
	ok(t, s.DeleteConnection(ctx, w.google.ID), "DeleteConnection")

	gone(t, "GetConnection", second(s.GetConnection(ctx, w.google.ID)))
	gone(t, "GetIdentity(ann google)", second(s.GetIdentity(ctx, w.annGoogle.ID)))
	gone(t, "GetIdentityBySubject(bob google)", second(s.GetIdentityBySubject(ctx, w.google.ID, w.bobGoogle.Subject)))
	gone(t, "ConsumeLoginFlow(google)", second(s.ConsumeLoginFlow(ctx, w.flowGoogle.IDHash, Now)))
	annAssigned, err := s.ListUserAssignments(ctx, w.ann.ID)
	ok(t, err, "ListUserAssignments")
	if len(annAssigned) != 1 || annAssigned[0].ConnectionID != w.acmeSSO.ID {
		t.Errorf("ListUserAssignments(ann) after DeleteConnection(google) = %+v; want only acme-sso", annAssigned)
	}
	if n, err := listLen(s.ListUserAssignments(ctx, w.bob.ID)); err != nil || n != 0 {
		t.Errorf("ListUserAssignments(bob) after DeleteConnection(google): %d rows, %v; want none", n, err)
	}

	kept(t, "GetUser(ann)", second(s.GetUser(ctx, w.ann.ID)))
	kept(t, "GetConnection(acme-sso)", second(s.GetConnection(ctx, w.acmeSSO.ID)))
	kept(t, "GetIdentity(ann acme)", second(s.GetIdentity(ctx, w.annAcme.ID)))
	kept(t, "ConsumeLoginFlow(acme)", second(s.ConsumeLoginFlow(ctx, w.flowAcme.IDHash, Now)))
	w.auditKept(t, s)
}

func testCascadeDeleteIdentity(t *testing.T, s store.Store) {
	w := buildWorld(t, s)
	ok(t, s.DeleteIdentity(ctx, w.annGoogle.ID), "DeleteIdentity")

	gone(t, "GetIdentity", second(s.GetIdentity(ctx, w.annGoogle.ID)))
	gone(t, "GetSession bound to the identity", second(s.GetSession(ctx, w.annSessGoogle.IDHash, Now)))
	gone(t, "GetAccessToken bound to the identity", second(s.GetAccessToken(ctx, w.annApp2.access.TokenHash, Now)))
	gone(t, "RotateRefreshToken bound to the identity", second(s.RotateRefreshToken(ctx, w.annApp2.refresh.TokenHash, Now)))

	kept(t, "GetUser", second(s.GetUser(ctx, w.ann.ID)))
	kept(t, "GetIdentity(ann acme)", second(s.GetIdentity(ctx, w.annAcme.ID)))
	kept(t, "GetSession(ann acme)", second(s.GetSession(ctx, w.annSessAcme.IDHash, Now)))
	kept(t, "GetConsent(ann, app2)", second(s.GetConsent(ctx, w.ann.ID, w.app2.ID)))
	w.auditKept(t, s)
	tokensKept(t, s, "ann at app (another identity)", w.annApp)
	tokensKept(t, s, "bob at app", w.bobApp)
}

func testCascadeDeleteClient(t *testing.T, s store.Store) {
	w := buildWorld(t, s)
	ok(t, s.DeleteClient(ctx, w.app.ID), "DeleteClient")

	gone(t, "GetClient", second(s.GetClient(ctx, w.app.ID)))
	gone(t, "GetConsent(ann, app)", second(s.GetConsent(ctx, w.ann.ID, w.app.ID)))
	gone(t, "GetConsent(bob, app)", second(s.GetConsent(ctx, w.bob.ID, w.app.ID)))
	gone(t, "GetAuthzRequest(app)", second(s.GetAuthzRequest(ctx, w.reqApp.ID, Now)))

	kept(t, "GetClient(app2)", second(s.GetClient(ctx, w.app2.ID)))
	kept(t, "GetConsent(ann, app2)", second(s.GetConsent(ctx, w.ann.ID, w.app2.ID)))
	kept(t, "GetAuthzRequest(app2)", second(s.GetAuthzRequest(ctx, w.reqApp2.ID, Now)))
	kept(t, "GetUser(ann)", second(s.GetUser(ctx, w.ann.ID)))
	kept(t, "GetSession(ann acme)", second(s.GetSession(ctx, w.annSessAcme.IDHash, Now)))
	w.auditKept(t, s)
	tokensGone(t, s, "ann at app", w.annApp)
	tokensGone(t, s, "bob at app", w.bobApp)
	tokensKept(t, s, "ann at app2", w.annApp2)
}
