package reconcile

import (
	"regexp"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/store"
)

// fuzzInput builds an Input from fuzzed bits: mostly consistent facts, with
// a few contradictions mixed in, so every branch is reachable.
func fuzzInput(bits uint64, sel uint8, subject, name, claim string) Input {
	bit := func(i uint) bool { return bits&(1<<i) != 0 }
	emails := []string{"", "ann@acme.com", "eve@evil.example", "Ann@ACME.com", "bob@example.org", "carol@sub.acme.com"}
	users := func(id, addr string, i uint) *store.User {
		u := &store.User{ID: id, Email: addr, EmailVerified: !bit(i), Name: name, Status: store.UserActive}
		if bit(i + 1) {
			u.Status = store.UserDisabled
		}
		return u
	}

	in := global()
	if bit(0) {
		in = org()
		in.Org.AutoProvision = bit(1)
		in.Org.AllowOutsideDomains = bit(2)
		if bit(3) {
			in.Org.ProviderAssignment = store.AssignmentAssigned
		}
	}
	in.Policy.AutoProvision = bit(4)
	in.Policy.TrustEmailForLinking = bit(5)
	if bit(6) {
		in.Policy.EmailPattern = regexp.MustCompile(`^[a-z]+@(sub\.)?acme\.com$`)
	}
	if bit(7) {
		in.Policy.AllowedDomains = []string{"acme.com", "example.org"}
	}
	if bit(8) {
		in.Policy.AdminEmailDomains = []string{"acme.com"}
	}
	in.Intent = []store.FlowIntent{store.IntentLogin, store.IntentLogin, store.IntentLink, store.IntentReauth}[bits>>9&3]
	in.Identity.Subject = subject
	in.Identity.Email = emails[int(sel)%len(emails)]
	in.Identity.EmailVerified = bit(11)
	in.Identity.Name = name
	in.Identity.Claims = map[string]any{"sub": subject, claim: name}

	owner := users("user-ann", in.Identity.Email, 12)
	if bit(14) {
		owner = users("user-bob", "bob@example.org", 12)
	}
	if in.Intent != store.IntentLogin {
		in.IntentUser = owner
		if bit(15) {
			in.IntentUser = users("user-carol", "carol@sub.acme.com", 12)
		}
	}
	var deciding *store.User
	if bit(16) {
		knownBy(owner)(&in)
		in.Existing.Subject = subject
		if bit(17) && bit(18) {
			in.Existing.ConnectionID = "conn-other" // contradiction
		}
		deciding = owner
	}
	if bit(19) && in.Identity.Email != "" {
		in.EmailUser = users("user-dan", in.Identity.Email, 20)
		if bit(22) && bit(23) {
			in.EmailUser.Email = "zed@acme.com" // contradiction
		}
		if deciding == nil {
			deciding = in.EmailUser
		}
	}
	if in.Org != nil && bit(24) && deciding != nil {
		in.Membership = &store.Membership{OrgID: orgID, UserID: deciding.ID, Role: RoleMember}
	}
	if in.Org != nil && bit(25) {
		in.Invitation = &store.Invitation{ID: "inv-1", OrgID: orgID, Email: in.Identity.Email, Role: RoleAdmin, ExpiresAt: now.Add(time.Hour)}
		if bit(26) {
			in.Invitation.ExpiresAt = now.Add(-time.Second)
		}
		if bit(27) {
			in.Invitation.ConsumedAt = now.Add(-time.Minute)
		}
	}
	if in.Intent == store.IntentLink && in.Existing == nil {
		deciding = in.IntentUser
	}
	if bit(28) {
		uid := "user-zed"
		if deciding != nil && !bit(29) {
			uid = deciding.ID
		}
		conn := "conn-x"
		if bit(30) {
			conn = in.Connection.ID
		}
		in.Assignments = []store.Assignment{{UserID: uid, ConnectionID: conn}}
	}
	return in
}

func FuzzDecide(f *testing.F) {
	f.Add(uint64(0), uint8(1), "sub-1", "Ann", "email")
	f.Add(uint64(1<<0|1<<1|1<<11), uint8(1), "sub-1", "Ann", "email")
	f.Add(uint64(1<<0|1<<5|1<<11|1<<19|1<<24), uint8(1), "sub-1", "Ann", "name")
	f.Add(uint64(1<<4|1<<11|1<<19), uint8(1), "sub-1", "Ann", "name")
	f.Add(uint64(1<<0|1<<11|1<<19|1<<25|1<<5), uint8(1), "sub-2", "", "x")
	f.Add(uint64(2<<9|1<<16|1<<14), uint8(0), "sub-1", "Bob", "name")
	f.Add(uint64(1<<0|1<<2|1<<4|1<<11), uint8(2), "sub-9", "Eve", "email")
	f.Add(uint64(1<<4|1<<11|1<<28|1<<30), uint8(1), "", "Ann", "sub")
	f.Fuzz(func(t *testing.T, bits uint64, sel uint8, subject, name, claim string) {
		in := fuzzInput(bits, sel, subject, name, claim)
		d := Decide(in)

		again := fuzzInput(bits, sel, subject, name, claim)
		if diff := cmp.Diff(d, Decide(again)); diff != "" {
			t.Fatalf("Decide is not deterministic (-first +second):\n%s", diff)
		}
		if !d.Outcome.Known() {
			t.Fatalf("outcome %q is not in the vocabulary", d.Outcome)
		}
		if !d.Outcome.Success() {
			if d.HasWrites() || d.UserID != "" {
				t.Fatalf("refusal %s carries a user or writes: %+v", d.Outcome, d)
			}
			return
		}

		// Successes.
		if d.UserID == "" {
			t.Fatalf("success %s without a user", d.Outcome)
		}
		if (d.CreateIdentity == nil) == (d.UpdateIdentity == nil) {
			t.Fatalf("success must create or refresh exactly one identity: %+v", d)
		}
		if u := d.CreateUser; u != nil {
			if !in.Identity.EmailVerified || in.Identity.Email == "" || !u.EmailVerified || u.Email != in.Identity.Email {
				t.Fatalf("user created from an unverified email: identity %q verified=%v, user %+v", in.Identity.Email, in.Identity.EmailVerified, u)
			}
			if u.ID != d.UserID || u.Status != store.UserActive || d.CreateIdentity == nil {
				t.Fatalf("inconsistent new user: %+v", d)
			}
		}
		if d.UpdateUser != nil && (d.UpdateUser.ID != d.UserID || d.UpdateUser.Email != userByID(in, d.UserID).Email) {
			t.Fatalf("UpdateUser changes another user or the email: %+v", d.UpdateUser)
		}
		if i := d.CreateIdentity; i != nil && (i.UserID != d.UserID || i.ConnectionID != in.Connection.ID || i.Subject != in.Identity.Subject) {
			t.Fatalf("identity not keyed by (connection, subject) of the user: %+v", i)
		}
		if in.Existing != nil && (d.UserID != in.Existing.UserID || d.UpdateIdentity == nil || d.UpdateIdentity.ID != in.Existing.ID) {
			t.Fatalf("a known subject signed in someone else: %+v", d)
		}
		if !in.Identity.EmailVerified && d.UserID != idOf(in.ExistingOwner) && d.UserID != idOf(in.IntentUser) {
			t.Fatalf("an unverified email let %s in: %+v", d.UserID, d)
		}
		if in.Existing == nil && in.Intent == store.IntentLogin {
			if in.Org == nil && d.CreateUser == nil {
				t.Fatalf("a social connection linked an existing user by email: %+v", d)
			}
			if in.Org != nil && !in.Org.AllowOutsideDomains && store.EmailDomain(in.Identity.Email) != "acme.com" {
				t.Fatalf("an outside-domain email matched or created a user: %+v", d)
			}
		}
		if in.Intent == store.IntentReauth && d.UserID != in.IntentUser.ID {
			t.Fatalf("reauth signed in another user: %+v", d)
		}
		if m := d.CreateMembership; m != nil && (in.Org == nil || m.OrgID != in.Org.ID || m.UserID != d.UserID) {
			t.Fatalf("membership for the wrong org or user: %+v", m)
		}
		if d.ConsumeInvitationID != "" && (in.Invitation == nil || d.ConsumeInvitationID != in.Invitation.ID ||
			d.CreateMembership == nil || d.CreateMembership.CreatedVia != store.ViaInvitation || d.Outcome != outcome.InvitationConsumed) {
			t.Fatalf("invitation consumed without its membership: %+v", d)
		}
	})
}

func idOf(u *store.User) string {
	if u == nil {
		return "\x00none"
	}
	return u.ID
}

func userByID(in Input, id string) *store.User {
	for _, u := range []*store.User{in.ExistingOwner, in.IntentUser, in.EmailUser} {
		if u != nil && u.ID == id {
			return u
		}
	}
	return &store.User{}
}
