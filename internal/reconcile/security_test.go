package reconcile

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/store"
)

// every returns the inputs built by base with each subset of mods applied.
func every(base func(...func(*Input)) Input, pre []func(*Input), mods map[string]func(*Input)) map[string]Input {
	names := make([]string, 0, len(mods))
	for n := range mods {
		names = append(names, n)
	}
	out := map[string]Input{}
	for mask := 0; mask < 1<<len(names); mask++ {
		ms := append([]func(*Input){}, pre...)
		label := ""
		for i, n := range names {
			if mask&(1<<i) != 0 {
				ms = append(ms, mods[n])
				label += "+" + n
			}
		}
		out[fmt.Sprintf("%d%s", mask, label)] = base(ms...)
	}
	return out
}

// An unverified (or missing) email never matches an account, consumes an
// invitation or creates a user, whatever else is true.
func TestUnverifiedEmailNeverMatchesOrCreates(t *testing.T) {
	for _, addr := range []string{"", "ann@acme.com"} {
		pre := []func(*Input){email(addr, false), emailUser}
		mods := map[string]func(*Input){"trust": trust, "provision": provision, "member": member}
		cases := every(org, pre, mods)
		for n, in := range every(org, pre, map[string]func(*Input){"invited": func(in *Input) {
			if addr != "" {
				invited(in)
			}
		}, "orgProvision": orgProvision, "outsideAllowed": outsideAllowed}) {
			cases["org"+n] = in
		}
		for n, in := range every(global, pre, map[string]func(*Input){"trust": trust, "provision": provision}) {
			cases["global"+n] = in
		}
		for n, in := range cases {
			t.Run(fmt.Sprintf("%q/%s", addr, n), func(t *testing.T) {
				got := Decide(in)
				want := refusal(outcome.EmailUnverified, "no verified email to match or create by")
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("Decide() mismatch (-want +got):\n%s", diff)
				}
				assertSafeRefusal(t, got)
			})
		}
	}
}

// Entra ID sends an email it has not verified (no xms_edov): even at an org
// connection whose org verified the domain, trusted for linking, with the
// existing account a member, it is never matched to that account.
func TestEntraUnverifiedEmailNeverMatched(t *testing.T) {
	in := org(func(in *Input) {
		in.Connection.Kind = "microsoft"
		in.Identity.Claims = map[string]any{"tid": "72f988bf-86f1-41af-91ab-2d7cd011db47", "oid": "00000000-0000-0000-0000-000000000001",
			"email": "ann@acme.com", "preferred_username": "ann@acme.com"}
	}, email("ann@acme.com", false), emailUser, member, invited, trust, orgProvision, provision)
	got := Decide(in)
	if got.Outcome != outcome.EmailUnverified {
		t.Errorf("Outcome = %s, want %s", got.Outcome, outcome.EmailUnverified)
	}
	assertSafeRefusal(t, got)
}

// The identity key is (connection, subject): the same subject at another
// connection is another identity. The caller supplies Existing=nil then,
// and Decide treats it as unknown; handed the other connection's identity
// by mistake, Decide refuses rather than sign its owner in.
func TestSameSubjectOtherConnection(t *testing.T) {
	t.Run("unknown here", func(t *testing.T) {
		got := Decide(global(emailUser, provision))
		if got.Outcome != outcome.LinkConfirmationRequired {
			t.Errorf("Outcome = %s, want %s", got.Outcome, outcome.LinkConfirmationRequired)
		}
		assertSafeRefusal(t, got)
		got = Decide(global(provision))
		if got.Outcome != outcome.JITCreated || got.CreateIdentity.ConnectionID != globalConn {
			t.Errorf("got %+v, want a new identity at %s", got, globalConn)
		}
	})
	t.Run("other connection's identity supplied", func(t *testing.T) {
		got := Decide(global(known, func(in *Input) { in.Existing.ConnectionID = orgConn }))
		if got.Outcome != outcome.Internal {
			t.Errorf("Outcome = %s, want %s", got.Outcome, outcome.Internal)
		}
		assertSafeRefusal(t, got)
	})
}

// A link intent whose subject already belongs to another user is a
// conflict, with no writes, whatever else would let the owner in.
func TestLinkSubjectOfAnotherUser(t *testing.T) {
	for _, base := range []func(...func(*Input)) Input{global, org} {
		for _, i := range []store.FlowIntent{store.IntentLink, store.IntentReauth} {
			got := Decide(base(known, intent(i, bob()), provision, trust))
			if got.Outcome != outcome.ProviderSubjectConflict {
				t.Errorf("%s: Outcome = %s, want %s", i, got.Outcome, outcome.ProviderSubjectConflict)
			}
			assertSafeRefusal(t, got)
		}
	}
}

// At an org connection, an email outside the org's verified domains never
// matches or creates anyone unless the org allows outside domains.
func TestOutsideDomainNeverMatchesOrCreates(t *testing.T) {
	outside := func(in *Input) {
		in.Identity.Email = "ann@evil.example"
		in.EmailUser = ann()
		in.EmailUser.Email = "ann@evil.example"
	}
	inviteOutside := func(in *Input) { invited(in); in.Invitation.Email = "ann@evil.example" }
	cases := every(org, []func(*Input){outside}, map[string]func(*Input){
		"member": member, "invited": inviteOutside, "trust": trust, "provision": provision, "orgProvision": orgProvision})
	for n, in := range every(org, []func(*Input){email("ann@evil.example", true)}, map[string]func(*Input){
		"invited": inviteOutside, "provision": provision, "orgProvision": orgProvision}) {
		cases["nouser"+n] = in
	}
	for n, in := range cases {
		t.Run(n, func(t *testing.T) {
			got := Decide(in)
			want := refusal(outcome.NotAllowed, "email domain is not verified by the org")
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Decide() mismatch (-want +got):\n%s", diff)
			}
			assertSafeRefusal(t, got)
		})
	}
}

// A social (global) connection never links on an email match, even when
// the connection is trusted for linking and provisioning is on.
func TestSocialNeverLinksByEmail(t *testing.T) {
	for n, in := range every(global, []func(*Input){emailUser}, map[string]func(*Input){"trust": trust, "provision": provision,
		"adminDomains": adminDomains("acme.com")}) {
		got := Decide(in)
		if got.Outcome != outcome.LinkConfirmationRequired {
			t.Errorf("%s: Outcome = %s, want %s", n, got.Outcome, outcome.LinkConfirmationRequired)
		}
		assertSafeRefusal(t, got)
	}
}

func TestHasWrites(t *testing.T) {
	for _, d := range []Decision{
		{CreateUser: &store.User{}}, {CreateIdentity: &store.Identity{}}, {UpdateIdentity: &store.Identity{}},
		{UpdateUser: &store.User{}}, {CreateMembership: &store.Membership{}}, {ConsumeInvitationID: "inv-1"},
	} {
		if !d.HasWrites() {
			t.Errorf("HasWrites() = false for %+v", d)
		}
	}
	if (Decision{Outcome: outcome.ExistingIdentity, UserID: "u", Reason: "r"}).HasWrites() {
		t.Error("HasWrites() = true without writes")
	}
}
