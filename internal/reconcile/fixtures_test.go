package reconcile

import (
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/store"
	"github.com/sallyport/sallyport/internal/upstream"
)

// Fixtures: Ann (ann@acme.com) signs in with subject sub-1, either at the
// global connection conn-google or at conn-acme, the connection of org
// acme, which verified acme.com. Bob is another user.

var (
	now     = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	earlier = now.Add(-30 * 24 * time.Hour)
)

const (
	globalConn = "conn-google"
	orgConn    = "conn-acme"
	orgID      = "org-acme"
	annClaims  = `{"email":"ann@acme.com","name":"Ann","sub":"sub-1"}`
)

// counter is a NewID that answers id-1, id-2, ...
func counter() func() string {
	n := 0
	return func() string { n++; return fmt.Sprintf("id-%d", n) }
}

func ann() *store.User {
	return &store.User{ID: "user-ann", Email: "ann@acme.com", EmailVerified: true, Name: "Ann",
		Status: store.UserActive, CreatedAt: earlier, UpdatedAt: earlier}
}

func bob() *store.User {
	return &store.User{ID: "user-bob", Email: "bob@example.org", EmailVerified: true, Name: "Bob",
		Status: store.UserActive, CreatedAt: earlier, UpdatedAt: earlier}
}

func annIdentity() upstream.Identity {
	return upstream.Identity{Subject: "sub-1", Email: "ann@acme.com", EmailVerified: true, Name: "Ann",
		Claims: map[string]any{"sub": "sub-1", "email": "ann@acme.com", "name": "Ann"}}
}

// global is Ann's login at the global connection, changed by mods in order.
func global(mods ...func(*Input)) Input {
	in := Input{
		Now:        now,
		NewID:      counter(),
		Connection: store.Connection{ID: globalConn, Slug: "google", Kind: "google", Status: store.ConnectionActive},
		Intent:     store.IntentLogin,
		Identity:   annIdentity(),
	}
	for _, m := range mods {
		m(&in)
	}
	return in
}

// org is Ann's login at org acme's connection, changed by mods in order.
func org(mods ...func(*Input)) Input {
	in := global()
	in.Connection = store.Connection{ID: orgConn, Slug: "acme-okta", OrgID: orgID, Kind: "oidc", Status: store.ConnectionActive}
	in.Org = &store.Org{ID: orgID, Slug: "acme", Name: "Acme", ProviderAssignment: store.AssignmentOpen}
	in.VerifiedDomains = []string{"acme.com"}
	for _, m := range mods {
		m(&in)
	}
	return in
}

// known links (connection, sub-1) to Ann.
func known(in *Input) { knownBy(ann())(in) }

// knownBy links (connection, sub-1) to u.
func knownBy(u *store.User) func(*Input) {
	return func(in *Input) {
		in.Existing = &store.Identity{ID: "ident-1", UserID: u.ID, ConnectionID: in.Connection.ID, Subject: "sub-1",
			Email: "old@acme.com", Claims: []byte(`{"old":true}`), LinkedAt: earlier, LastLoginAt: earlier}
		in.ExistingOwner = u
	}
}

// emailUser makes Ann the user with the identity's email.
func emailUser(in *Input) { in.EmailUser = ann() }

// member makes the deciding user (the existing owner, else the email user)
// a member of acme.
func member(in *Input) {
	u := in.EmailUser
	if in.ExistingOwner != nil {
		u = in.ExistingOwner
	}
	in.Membership = &store.Membership{OrgID: orgID, UserID: u.ID, Role: RoleMember, CreatedVia: store.ViaAdmin, CreatedAt: earlier}
}

// invited gives ann@acme.com an open invitation to acme as an admin.
func invited(in *Input) {
	in.Invitation = &store.Invitation{ID: "inv-1", OrgID: orgID, Email: "ann@acme.com", Role: RoleAdmin,
		TokenHash: []byte("h"), ExpiresAt: now.Add(time.Hour), CreatedAt: earlier}
}

func invitationExpired(in *Input)  { in.Invitation.ExpiresAt = now }
func invitationConsumed(in *Input) { in.Invitation.ConsumedAt = earlier }
func provision(in *Input)          { in.Policy.AutoProvision = true }
func orgProvision(in *Input)       { in.Org.AutoProvision = true }
func trust(in *Input)              { in.Policy.TrustEmailForLinking = true }
func assignedMode(in *Input)       { in.Org.ProviderAssignment = store.AssignmentAssigned }
func outsideAllowed(in *Input)     { in.Org.AllowOutsideDomains = true }

func email(addr string, verified bool) func(*Input) {
	return func(in *Input) { in.Identity.Email, in.Identity.EmailVerified = addr, verified }
}

func name(n string) func(*Input) { return func(in *Input) { in.Identity.Name = n } }

func intent(i store.FlowIntent, u *store.User) func(*Input) {
	return func(in *Input) { in.Intent, in.IntentUser = i, u }
}

func assignments(userID string, conns ...string) func(*Input) {
	return func(in *Input) {
		for _, c := range conns {
			in.Assignments = append(in.Assignments, store.Assignment{UserID: userID, ConnectionID: c, AssignedBy: "cli", CreatedAt: earlier})
		}
	}
}

func pattern(expr string) func(*Input) {
	return func(in *Input) { in.Policy.EmailPattern = regexp.MustCompile(expr) }
}

func allowedDomains(d ...string) func(*Input) {
	return func(in *Input) { in.Policy.AllowedDomains = d }
}
func adminDomains(d ...string) func(*Input) {
	return func(in *Input) { in.Policy.AdminEmailDomains = d }
}

func disabled(u *store.User) *store.User { u.Status = store.UserDisabled; return u }

// Expected records.

func refreshed(connID string) *store.Identity {
	return &store.Identity{ID: "ident-1", UserID: "user-ann", ConnectionID: connID, Subject: "sub-1",
		Email: "ann@acme.com", EmailVerified: true, Claims: []byte(annClaims), LinkedAt: earlier, LastLoginAt: now}
}

func created(id, userID, connID string) *store.Identity {
	return &store.Identity{ID: id, UserID: userID, ConnectionID: connID, Subject: "sub-1",
		Email: "ann@acme.com", EmailVerified: true, Claims: []byte(annClaims), LinkedAt: now, LastLoginAt: now}
}

func newAnn(id string, admin bool) *store.User {
	return &store.User{ID: id, Email: "ann@acme.com", EmailVerified: true, Name: "Ann", Admin: admin,
		Status: store.UserActive, CreatedAt: now, UpdatedAt: now}
}

func joined(userID, role string, via store.MembershipVia) *store.Membership {
	return &store.Membership{OrgID: orgID, UserID: userID, Role: role, CreatedVia: via, CreatedAt: now}
}

func renamed(u *store.User, n string) *store.User { u.Name, u.UpdatedAt = n, now; return u }

func refusal(code outcome.Code, reason string) Decision {
	return Decision{Outcome: code, Reason: reason}
}

// assertSafeRefusal fails when a refusal carries a user or any write.
func assertSafeRefusal(t *testing.T, d Decision) {
	t.Helper()
	if d.Outcome.Success() {
		return
	}
	if d.HasWrites() || d.UserID != "" {
		t.Errorf("refusal %s carries a user or writes: %+v", d.Outcome, d)
	}
}
