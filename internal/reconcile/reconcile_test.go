package reconcile

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/store"
)

func TestDecide(t *testing.T) {
	const (
		notEligible    = "not a member, and the email is not eligible for the org"
		notProvisioned = "not a member, not invited, and provisioning is off"
		policyRefused  = "email refused by the connection's email policy"
		policyEarly    = "email refused by the connection's email policy before matching"
		notAssigned    = "org is in assigned mode and the user is not assigned this connection"
		otherAssigned  = "user is assigned other connections only"
		unverified     = "no verified email to match or create by"
		outsideDomain  = "email domain is not verified by the org"
		cannotVouch    = "email matches a user the org cannot vouch for"
		noAccount      = "no account and provisioning is off"
	)
	knownOK := Decision{Outcome: outcome.ExistingIdentity, UserID: "user-ann", UpdateIdentity: refreshed(globalConn), Reason: "known subject"}
	orgKnownOK := Decision{Outcome: outcome.ExistingIdentity, UserID: "user-ann", UpdateIdentity: refreshed(orgConn), Reason: "known subject"}
	orgJoinedJIT := func(role string) Decision {
		return Decision{Outcome: outcome.ExistingIdentity, UserID: "user-ann", UpdateIdentity: refreshed(orgConn),
			CreateMembership: joined("user-ann", role, store.ViaJIT), Reason: "known subject joins the org just in time"}
	}
	linkedBob := func(connID string) Decision {
		id := created("id-1", "user-bob", connID)
		return Decision{Outcome: outcome.Linked, UserID: "user-bob", CreateIdentity: id, Reason: "unknown subject linked to the signed-in user"}
	}
	memberLinked := Decision{Outcome: outcome.ExistingMembership, UserID: "user-ann", CreateIdentity: created("id-1", "user-ann", orgConn),
		Reason: "email matches a member in a verified domain"}
	globalJIT := func(admin bool) Decision {
		return Decision{Outcome: outcome.JITCreated, UserID: "id-1", CreateUser: newAnn("id-1", admin),
			CreateIdentity: created("id-2", "id-1", globalConn), Reason: "new user just in time"}
	}
	orgJIT := func(role string) Decision {
		return Decision{Outcome: outcome.JITCreated, UserID: "id-1", CreateUser: newAnn("id-1", false),
			CreateIdentity: created("id-2", "id-1", orgConn), CreateMembership: joined("id-1", role, store.ViaJIT), Reason: "new user just in time"}
	}
	newInvited := func(role string) Decision {
		return Decision{Outcome: outcome.InvitationConsumed, UserID: "id-1", CreateUser: newAnn("id-1", false),
			CreateIdentity: created("id-2", "id-1", orgConn), CreateMembership: joined("id-1", role, store.ViaInvitation),
			ConsumeInvitationID: "inv-1", Reason: "new user by invitation"}
	}

	tests := []struct {
		name string
		in   Input
		want Decision
	}{
		// 0. Input that contradicts itself.
		{"input: no NewID", global(func(in *Input) { in.NewID = nil }), refusal(outcome.Internal, "input: no NewID")},
		{"input: no Now", global(func(in *Input) { in.Now = time.Time{} }), refusal(outcome.Internal, "input: no Now")},
		{"input: unknown intent", global(intent("", nil)), refusal(outcome.Internal, "input: unknown intent ")},
		{"input: link without user", global(intent(store.IntentLink, nil)), refusal(outcome.Internal, "input: link intent without a signed-in user")},
		{"input: reauth without user", global(intent(store.IntentReauth, nil)), refusal(outcome.Internal, "input: reauth intent without a signed-in user")},
		{"input: org for a global connection", global(func(in *Input) { in.Org = org().Org }),
			refusal(outcome.Internal, "input: org given for a global connection")},
		{"input: org connection without org", org(func(in *Input) { in.Org = nil }), refusal(outcome.Internal, "input: org is not the connection's")},
		{"input: another org", org(func(in *Input) { in.Org.ID = "org-other" }), refusal(outcome.Internal, "input: org is not the connection's")},
		{"input: empty subject", global(func(in *Input) { in.Identity.Subject = "" }), refusal(outcome.IdentityInvalid, "identity has no subject")},
		{"input: email not normalised", global(email("Ann@ACME.com", true)), refusal(outcome.Internal, "input: identity email is not normalised")},
		{"input: email not an address", global(email("ann", true)), refusal(outcome.Internal, "input: identity email is not normalised")},
		{"input: existing identity at another connection", global(known, func(in *Input) { in.Existing.ConnectionID = "conn-other" }),
			refusal(outcome.Internal, "input: existing identity is not (connection, subject)")},
		{"input: existing identity with another subject", global(known, func(in *Input) { in.Existing.Subject = "sub-2" }),
			refusal(outcome.Internal, "input: existing identity is not (connection, subject)")},
		{"input: existing identity without owner", global(known, func(in *Input) { in.ExistingOwner = nil }),
			refusal(outcome.Internal, "input: existing owner is not the identity's user")},
		{"input: existing owner is someone else", global(known, func(in *Input) { in.ExistingOwner = bob() }),
			refusal(outcome.Internal, "input: existing owner is not the identity's user")},
		{"input: owner without identity", global(func(in *Input) { in.ExistingOwner = ann() }),
			refusal(outcome.Internal, "input: existing owner without an existing identity")},
		{"input: email user with another email", global(func(in *Input) { in.EmailUser = bob() }),
			refusal(outcome.Internal, "input: email user has another email")},
		{"input: membership of another org", org(known, member, func(in *Input) { in.Membership.OrgID = "org-other" }),
			refusal(outcome.Internal, "input: membership of another org")},
		{"input: membership on a global connection", global(emailUser, func(in *Input) { in.Membership = &store.Membership{OrgID: orgID, UserID: "user-ann"} }),
			refusal(outcome.Internal, "input: membership of another org")},
		{"input: membership of another user", org(known, member, func(in *Input) { in.Membership.UserID = "user-bob" }),
			refusal(outcome.Internal, "input: membership of another user")},
		{"input: membership without a user", org(func(in *Input) { in.Membership = &store.Membership{OrgID: orgID, UserID: "user-ann"} }),
			refusal(outcome.Internal, "input: membership of another user")},
		{"input: invitation to another org", org(invited, func(in *Input) { in.Invitation.OrgID = "org-other" }),
			refusal(outcome.Internal, "input: invitation for another org or email")},
		{"input: invitation for another email", org(invited, func(in *Input) { in.Invitation.Email = "bob@acme.com" }),
			refusal(outcome.Internal, "input: invitation for another org or email")},
		{"input: invitation on a global connection", global(invited), refusal(outcome.Internal, "input: invitation for another org or email")},
		{"input: assignment of another user", global(known, assignments("user-bob", globalConn)),
			refusal(outcome.Internal, "input: assignment of another user")},
		{"input: assignment for a user not yet created", global(provision, assignments("user-ann", globalConn)),
			refusal(outcome.Internal, "input: assignment of another user")},
		{"input: claims that do not marshal", global(known, func(in *Input) { in.Identity.Claims["bad"] = math.NaN() }),
			refusal(outcome.Internal, "claims do not marshal: json: unsupported value: NaN")},
		{"input: NewID returns empty", global(provision, func(in *Input) { in.NewID = func() string { return "" } }),
			refusal(outcome.Internal, "NewID returned an empty id")},
		{"input: NewID empty for the identity", global(intent(store.IntentLink, bob()), func(in *Input) { in.NewID = func() string { return "" } }),
			refusal(outcome.Internal, "NewID returned an empty id")},

		// 1. Known subject.
		{"known: global", global(known), knownOK},
		{"known: no claims is an empty object", global(known, func(in *Input) { in.Identity.Claims = nil }),
			Decision{Outcome: outcome.ExistingIdentity, UserID: "user-ann", Reason: "known subject",
				UpdateIdentity: func() *store.Identity { i := refreshed(globalConn); i.Claims = []byte("{}"); return i }()}},
		{"known: without email (AT Protocol)", global(known, email("", false)),
			Decision{Outcome: outcome.ExistingIdentity, UserID: "user-ann", Reason: "known subject",
				UpdateIdentity: func() *store.Identity { i := refreshed(globalConn); i.Email, i.EmailVerified = "", false; return i }()}},
		{"known: unverified email is recorded as unverified", global(known, email("ann@acme.com", false)),
			Decision{Outcome: outcome.ExistingIdentity, UserID: "user-ann", Reason: "known subject",
				UpdateIdentity: func() *store.Identity { i := refreshed(globalConn); i.EmailVerified = false; return i }()}},
		{"known: global fills an empty name", global(knownBy(func() *store.User { u := ann(); u.Name = ""; return u }())),
			Decision{Outcome: outcome.ExistingIdentity, UserID: "user-ann", UpdateIdentity: refreshed(globalConn),
				UpdateUser: renamed(ann(), "Ann"), Reason: "known subject"}},
		{"known: global keeps a set name", global(known, name("Annie")), knownOK},
		{"known: blank name changes nothing", global(knownBy(func() *store.User { u := ann(); u.Name = ""; return u }()), name("  ")),
			knownOK},
		{"known: org directory overwrites the name", org(known, member, name(" Ann Smith ")),
			Decision{Outcome: outcome.ExistingIdentity, UserID: "user-ann", UpdateIdentity: refreshed(orgConn),
				UpdateUser: renamed(ann(), "Ann Smith"), Reason: "known subject"}},
		{"known: org directory names who joins", org(known, orgProvision, name("Ann Smith")),
			func() Decision { d := orgJoinedJIT(RoleMember); d.UpdateUser = renamed(ann(), "Ann Smith"); return d }()},
		{"link: org connection keeps a non-member's name", org(intent(store.IntentLink, bob()), name("Robert")), linkedBob(orgConn)},
		{"known: link intent by the owner", global(known, intent(store.IntentLink, ann())), knownOK},
		{"known: link intent by another user", global(known, intent(store.IntentLink, bob())),
			refusal(outcome.ProviderSubjectConflict, "link intent: subject belongs to another user")},
		{"known: reauth by the owner", global(known, intent(store.IntentReauth, ann())), knownOK},
		{"known: reauth by another user", global(known, intent(store.IntentReauth, bob())),
			refusal(outcome.ProviderSubjectConflict, "reauth intent: subject belongs to another user")},
		{"known: conflict before policy", global(knownBy(disabled(ann())), intent(store.IntentLink, bob())),
			refusal(outcome.ProviderSubjectConflict, "link intent: subject belongs to another user")},

		// 1. Known subject at an org connection: membership.
		{"known org: member", org(known, member), orgKnownOK},
		{"known org: member without any email", org(known, member, email("", false)),
			Decision{Outcome: outcome.ExistingIdentity, UserID: "user-ann", Reason: "known subject",
				UpdateIdentity: func() *store.Identity { i := refreshed(orgConn); i.Email, i.EmailVerified = "", false; return i }()}},
		{"known org: invited", org(known, invited),
			Decision{Outcome: outcome.InvitationConsumed, UserID: "user-ann", UpdateIdentity: refreshed(orgConn),
				CreateMembership: joined("user-ann", RoleAdmin, store.ViaInvitation), ConsumeInvitationID: "inv-1",
				Reason: "known subject joins the org by invitation"}},
		{"known org: invitation wins over provisioning", org(known, invited, orgProvision),
			Decision{Outcome: outcome.InvitationConsumed, UserID: "user-ann", UpdateIdentity: refreshed(orgConn),
				CreateMembership: joined("user-ann", RoleAdmin, store.ViaInvitation), ConsumeInvitationID: "inv-1",
				Reason: "known subject joins the org by invitation"}},
		{"known org: expired invitation", org(known, invited, invitationExpired), refusal(outcome.NotAllowed, notProvisioned)},
		{"known org: consumed invitation, org provisions", org(known, invited, invitationConsumed, orgProvision), orgJoinedJIT(RoleMember)},
		{"known org: org provisions", org(known, orgProvision), orgJoinedJIT(RoleMember)},
		{"known org: connection provisions an admin", org(known, provision, adminDomains("acme.com")), orgJoinedJIT(RoleAdmin)},
		{"known org: not a member, provisioning off", org(known), refusal(outcome.NotAllowed, notProvisioned)},
		{"known org: outside domain", org(known, orgProvision, invited, email("ann@evil.example", true),
			func(in *Input) { in.Invitation.Email = "ann@evil.example" }), refusal(outcome.NotAllowed, notEligible)},
		{"known org: outside domain allowed", org(known, orgProvision, outsideAllowed, email("ann@evil.example", true)),
			Decision{Outcome: outcome.ExistingIdentity, UserID: "user-ann", Reason: "known subject joins the org just in time",
				UpdateIdentity:   func() *store.Identity { i := refreshed(orgConn); i.Email = "ann@evil.example"; return i }(),
				CreateMembership: joined("user-ann", RoleMember, store.ViaJIT)}},
		{"known org: unverified email", org(known, orgProvision, email("ann@acme.com", false)), refusal(outcome.NotAllowed, notEligible)},
		{"known org: no email", org(known, orgProvision, email("", false)), refusal(outcome.NotAllowed, notEligible)},

		// 4. Policy after a known subject.
		{"policy: disabled", global(knownBy(disabled(ann()))), refusal(outcome.AccountDisabled, "user user-ann is not active")},
		{"policy: unknown status", global(knownBy(func() *store.User { u := ann(); u.Status = ""; return u }())),
			refusal(outcome.AccountDisabled, "user user-ann is not active")},
		{"policy: disabled before assignment and pattern", global(knownBy(disabled(ann())), assignments("user-ann", "conn-x"), pattern(`^x@`)),
			refusal(outcome.AccountDisabled, "user user-ann is not active")},
		{"policy: assignment before pattern", global(known, assignments("user-ann", "conn-x"), pattern(`^x@`)),
			refusal(outcome.ProviderNotAssigned, otherAssigned)},
		{"policy: assigned mode, not assigned", org(known, member, assignedMode), refusal(outcome.ProviderNotAssigned, notAssigned)},
		{"policy: assigned mode, assigned elsewhere", org(known, member, assignedMode, assignments("user-ann", "conn-x")),
			refusal(outcome.ProviderNotAssigned, notAssigned)},
		{"policy: assigned mode, assigned", org(known, member, assignedMode, assignments("user-ann", orgConn)), orgKnownOK},
		{"policy: assigned other connections only", global(known, assignments("user-ann", "conn-x", "conn-y")),
			refusal(outcome.ProviderNotAssigned, otherAssigned)},
		{"policy: assigned this connection among others", global(known, assignments("user-ann", "conn-x", globalConn)), knownOK},
		{"policy: pattern refuses", global(known, pattern(`^[a-z]+@example\.com$`)), refusal(outcome.NotAllowed, policyRefused)},
		{"policy: pattern allows", global(known, pattern(`^[a-z]+@acme\.com$`)), knownOK},
		{"policy: pattern and no email", global(known, pattern(`.*`), email("", false)), refusal(outcome.NotAllowed, policyRefused)},
		{"policy: pattern and unverified email", global(known, pattern(`^[a-z]+@acme\.com$`), email("ann@acme.com", false)),
			refusal(outcome.NotAllowed, policyRefused)},
		{"policy: domain refuses", global(known, allowedDomains("example.com")), refusal(outcome.NotAllowed, policyRefused)},
		{"policy: domain allows", global(known, allowedDomains("example.com", "acme.com")), knownOK},
		{"policy: domains and no email", global(known, allowedDomains("acme.com"), email("", false)), refusal(outcome.NotAllowed, policyRefused)},
		{"policy: pattern allows, domain refuses", global(known, pattern(`acme`), allowedDomains("example.com")),
			refusal(outcome.NotAllowed, policyRefused)},
		{"policy: membership before policy", org(knownBy(disabled(ann()))), refusal(outcome.NotAllowed, notProvisioned)},

		// 2. Link intent, unknown subject.
		{"link: global", global(intent(store.IntentLink, bob())), linkedBob(globalConn)},
		{"link: no email needed", global(intent(store.IntentLink, bob()), email("", false)),
			Decision{Outcome: outcome.Linked, UserID: "user-bob", Reason: "unknown subject linked to the signed-in user",
				CreateIdentity: func() *store.Identity {
					i := created("id-1", "user-bob", globalConn)
					i.Email = ""
					i.EmailVerified = false
					return i
				}()}},
		{"link: org connection, no membership made", org(intent(store.IntentLink, bob()), orgProvision), linkedBob(orgConn)},
		{"link: ignores an email match", global(intent(store.IntentLink, bob()), emailUser), linkedBob(globalConn)},
		{"link: fills an empty name", global(intent(store.IntentLink, func() *store.User { u := bob(); u.Name = ""; return u }())),
			Decision{Outcome: outcome.Linked, UserID: "user-bob", CreateIdentity: created("id-1", "user-bob", globalConn),
				UpdateUser: func() *store.User { u := bob(); return renamed(u, "Ann") }(), Reason: "unknown subject linked to the signed-in user"}},
		{"link: disabled user", global(intent(store.IntentLink, disabled(bob()))), refusal(outcome.AccountDisabled, "user user-bob is not active")},
		{"link: user assigned elsewhere", global(intent(store.IntentLink, bob()), assignments("user-bob", "conn-x")),
			refusal(outcome.ProviderNotAssigned, otherAssigned)},
		{"link: user assigned here", global(intent(store.IntentLink, bob()), assignments("user-bob", globalConn)), linkedBob(globalConn)},
		{"link: pattern refuses", global(intent(store.IntentLink, bob()), pattern(`@example\.org$`)), refusal(outcome.NotAllowed, policyRefused)},
		{"reauth: unknown subject", global(intent(store.IntentReauth, ann()), emailUser, provision),
			refusal(outcome.NotAllowed, "reauth with a subject not linked to the signed-in user")},

		// 3. Unknown subject: the email.
		{"new: no email", global(provision, email("", false)), refusal(outcome.EmailUnverified, unverified)},
		{"new: unverified email", global(provision, email("ann@acme.com", false)), refusal(outcome.EmailUnverified, unverified)},
		{"new: unverified email never matches", org(emailUser, member, trust, email("ann@acme.com", false)),
			refusal(outcome.EmailUnverified, unverified)},
		{"new: outside domain", org(emailUser, member, trust, orgProvision, email("ann@evil.example", true),
			func(in *Input) { in.EmailUser.Email = "ann@evil.example" }), refusal(outcome.NotAllowed, outsideDomain)},
		{"new: unverified org domain", org(orgProvision, func(in *Input) { in.VerifiedDomains = nil }), refusal(outcome.NotAllowed, outsideDomain)},
		{"new: outside domain allowed, provisioned", org(orgProvision, outsideAllowed, email("ann@evil.example", true)),
			func() Decision {
				d := orgJIT(RoleMember)
				d.CreateUser.Email, d.CreateIdentity.Email = "ann@evil.example", "ann@evil.example"
				return d
			}()},
		{"new: outside domain allowed, never links", org(emailUser, member, trust, outsideAllowed, email("ann@evil.example", true),
			func(in *Input) { in.EmailUser.Email = "ann@evil.example" }), refusal(outcome.AmbiguousEmailMatch, cannotVouch)},
		{"new: pattern refuses before creating", org(orgProvision, invited, pattern(`^bob@`)), refusal(outcome.NotAllowed, policyEarly)},
		{"new: pattern refuses before revealing an account", global(emailUser, pattern(`^bob@`)), refusal(outcome.NotAllowed, policyEarly)},
		{"new: domains refuse before consuming an invitation", org(invited, allowedDomains("example.com")), refusal(outcome.NotAllowed, policyEarly)},
		{"new: pattern allows", global(provision, pattern(`^ann@acme\.com$`), allowedDomains("acme.com")), globalJIT(false)},

		// 3. Unknown subject: a user with that email.
		{"match: social connection", global(emailUser, provision), refusal(outcome.LinkConfirmationRequired, "email matches a user; a social connection never links by email")},
		{"match: social connection trusted", global(emailUser, trust), refusal(outcome.LinkConfirmationRequired, "email matches a user; a social connection never links by email")},
		{"match: org member, trusted", org(emailUser, member, trust), memberLinked},
		{"match: org member, trusted, name from the directory", org(emailUser, member, trust, name("Ann Smith")),
			Decision{Outcome: outcome.ExistingMembership, UserID: "user-ann", UpdateUser: renamed(ann(), "Ann Smith"),
				CreateIdentity: created("id-1", "user-ann", orgConn), Reason: "email matches a member in a verified domain"}},
		{"match: org member, untrusted", org(emailUser, member),
			refusal(outcome.LinkConfirmationRequired, "email matches an org user; the connection is not trusted for linking")},
		{"match: org invited, trusted", org(emailUser, invited, trust),
			Decision{Outcome: outcome.InvitationConsumed, UserID: "user-ann", CreateIdentity: created("id-1", "user-ann", orgConn),
				CreateMembership: joined("user-ann", RoleAdmin, store.ViaInvitation), ConsumeInvitationID: "inv-1",
				Reason: "email matches an invited user in a verified domain"}},
		{"match: org invited, untrusted", org(emailUser, invited),
			refusal(outcome.LinkConfirmationRequired, "email matches an org user; the connection is not trusted for linking")},
		{"match: org member and invited", org(emailUser, member, invited, trust), memberLinked},
		{"match: org neither member nor invited", org(emailUser, trust, orgProvision), refusal(outcome.AmbiguousEmailMatch, cannotVouch)},
		{"match: org expired invitation", org(emailUser, invited, invitationExpired, trust), refusal(outcome.AmbiguousEmailMatch, cannotVouch)},
		{"match: org user's own email unverified", org(func(in *Input) { in.EmailUser = ann(); in.EmailUser.EmailVerified = false }, member, trust),
			refusal(outcome.AmbiguousEmailMatch, cannotVouch)},
		{"match: org member disabled", org(func(in *Input) { in.EmailUser = disabled(ann()) }, member, trust),
			refusal(outcome.AccountDisabled, "user user-ann is not active")},
		{"match: org member, assigned mode", org(emailUser, member, trust, assignedMode), refusal(outcome.ProviderNotAssigned, notAssigned)},
		{"match: org member, assigned mode, assigned", org(emailUser, member, trust, assignedMode, assignments("user-ann", orgConn)), memberLinked},

		// 3. Unknown subject: no such user.
		{"create: invitation", org(invited), newInvited(RoleAdmin)},
		{"create: invitation without a role", org(invited, func(in *Input) { in.Invitation.Role = "" }), newInvited(RoleMember)},
		{"create: invitation wins over provisioning", org(invited, orgProvision, adminDomains("acme.com")), newInvited(RoleAdmin)},
		{"create: consumed invitation", org(invited, invitationConsumed), refusal(outcome.NotAllowed, noAccount)},
		{"create: expired invitation", org(invited, invitationExpired), refusal(outcome.NotAllowed, noAccount)},
		{"create: global jit", global(provision), globalJIT(false)},
		{"create: global jit admin", global(provision, adminDomains("example.com", "ACME.com")), globalJIT(true)},
		{"create: global jit, other admin domain", global(provision, adminDomains("example.com")), globalJIT(false)},
		{"create: global jit trims the name", global(provision, name("  Ann ")), globalJIT(false)},
		{"create: org jit by org", org(orgProvision), orgJIT(RoleMember)},
		{"create: org jit by connection", org(provision), orgJIT(RoleMember)},
		{"create: org jit admin role, not a Sallyport admin", org(provision, adminDomains("acme.com")), orgJIT(RoleAdmin)},
		{"create: global provisioning off", global(), refusal(outcome.NotAllowed, noAccount)},
		{"create: org provisioning off", org(), refusal(outcome.NotAllowed, noAccount)},
		{"create: org in assigned mode", org(orgProvision, assignedMode), refusal(outcome.ProviderNotAssigned, notAssigned)},
		{"create: invitation in assigned mode", org(invited, assignedMode), refusal(outcome.ProviderNotAssigned, notAssigned)},
	}

	seen := map[outcome.Code]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Decide(tt.in)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Decide() mismatch (-want +got):\n%s", diff)
			}
			assertSafeRefusal(t, got)
			if got.Outcome.Success() && got.UserID == "" {
				t.Errorf("success %s without a user", got.Outcome)
			}
			seen[got.Outcome] = true
		})
	}

	for _, c := range []outcome.Code{
		outcome.ExistingIdentity, outcome.ExistingMembership, outcome.InvitationConsumed, outcome.JITCreated, outcome.Linked,
		outcome.LinkConfirmationRequired, outcome.AmbiguousEmailMatch, outcome.ProviderSubjectConflict,
		outcome.EmailUnverified, outcome.NotAllowed, outcome.ProviderNotAssigned, outcome.AccountDisabled,
		outcome.IdentityInvalid, outcome.Internal,
	} {
		if !seen[c] {
			t.Errorf("no case decides %s", c)
		}
	}
	var extra []outcome.Code
	for c := range seen {
		if !c.Known() {
			extra = append(extra, c)
		}
	}
	if len(extra) > 0 {
		slices.Sort(extra)
		t.Errorf("outcomes outside the vocabulary: %v", extra)
	}
}
