package reconcile

import (
	"encoding/json"
	"regexp"
	"strings"
	"time"

	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/store"
	"github.com/sallyport/sallyport/internal/upstream"
)

// Membership roles Decide grants.
const (
	RoleMember = "member"
	RoleAdmin  = "admin"
)

// Policy is a connection's sign-in policy, parsed by the caller from the
// connection's settings with every default already resolved. Decide reads
// these fields only, never the copies on store.Connection.
type Policy struct {
	// EmailPattern, when set, must match the identity's verified email.
	EmailPattern *regexp.Regexp
	// AllowedDomains, when set, must contain the verified email's domain.
	AllowedDomains []string
	// AutoProvision creates users (and, on org connections, memberships)
	// on first sign-in.
	AutoProvision bool
	// TrustEmailForLinking lets an org connection link a verified email in
	// one of the org's verified domains to that org's existing member or
	// invitee. It never matters for a global connection.
	TrustEmailForLinking bool
	// AdminEmailDomains make jit users admins: Sallyport-wide on a global
	// connection, the org's "admin" role on an org connection.
	AdminEmailDomains []string
}

// Input is everything Decide knows: the verified identity and what the store
// holds about it. The caller looks the facts up; Decide never does.
type Input struct {
	// Now stamps every record Decide creates or refreshes.
	Now time.Time
	// NewID returns a fresh id for each record Decide creates.
	NewID func() string

	// Connection is the connection the callback arrived at.
	Connection store.Connection
	// Policy is Connection's parsed sign-in policy.
	Policy Policy
	// Org is the connection's org; nil for a global connection.
	Org *store.Org
	// VerifiedDomains are Org's verified email domains, normalised.
	VerifiedDomains []string

	// Intent is what the login flow is for.
	Intent store.FlowIntent
	// IntentUser is the signed-in user of a link or reauth flow.
	IntentUser *store.User

	// Identity is what the provider verified; Email is normalised with
	// store.NormalizeEmail or empty.
	Identity upstream.Identity

	// Existing is the identity found by (Connection.ID, Identity.Subject).
	Existing *store.Identity
	// ExistingOwner is Existing's user.
	ExistingOwner *store.User
	// EmailUser is the user whose email is Identity.Email, looked up only
	// when that email is present and verified.
	EmailUser *store.User
	// Membership is ExistingOwner's membership in Org when Existing is set,
	// else EmailUser's.
	Membership *store.Membership
	// Invitation is an invitation to Org for Identity.Email. One that is
	// consumed or expired at Now is ignored.
	Invitation *store.Invitation
	// Assignments are the deciding user's assignments (ExistingOwner's,
	// IntentUser's on a link, else EmailUser's).
	Assignments []store.Assignment
}

// Decision is one outcome and the writes that carry it out. A refusal (an
// outcome that is not a success) has no UserID and no writes.
type Decision struct {
	// Outcome is the decision's code from DESIGN.md §4.
	Outcome outcome.Code
	// UserID is the user who signs in (or links); set on every success.
	UserID string

	// CreateUser is a user to create before anything else.
	CreateUser *store.User
	// CreateIdentity is an identity to link to UserID.
	CreateIdentity *store.Identity
	// UpdateIdentity is the existing identity refreshed for this sign-in
	// (store.Queries.UpdateIdentityLogin).
	UpdateIdentity *store.Identity
	// UpdateUser is UserID's record with its profile refreshed.
	UpdateUser *store.User
	// CreateMembership puts UserID in the org.
	CreateMembership *store.Membership
	// ConsumeInvitationID is an invitation to consume.
	ConsumeInvitationID string

	// Reason is a short internal explanation for the audit detail; it is
	// never shown to people.
	Reason string
}

// HasWrites reports whether d asks for any write.
func (d Decision) HasWrites() bool {
	return d.CreateUser != nil || d.CreateIdentity != nil || d.UpdateIdentity != nil ||
		d.UpdateUser != nil || d.CreateMembership != nil || d.ConsumeInvitationID != ""
}

// plan is a decision before policy and before ids are drawn.
type plan struct {
	code         outcome.Code
	reason       string
	user         *store.User // nil: create a user from the identity
	link         bool        // create an identity (else refresh Existing)
	membership   *store.Membership
	invitationID string
}

// Decide turns a verified identity and the store's facts into one outcome
// and the writes to make, in the order the package documentation gives.
func Decide(in Input) Decision {
	if code, reason := in.check(); code != "" {
		return refuse(code, reason)
	}
	claims, err := claimsJSON(in.Identity.Claims)
	if err != nil {
		return refuse(outcome.Internal, "claims do not marshal: "+err.Error())
	}
	var p plan
	switch {
	case in.Existing != nil:
		p = in.knownSubject()
	case in.Intent == store.IntentLink:
		p = plan{code: outcome.Linked, reason: "unknown subject linked to the signed-in user", user: in.IntentUser, link: true}
	case in.Intent == store.IntentReauth:
		return refuse(outcome.NotAllowed, "reauth with a subject not linked to the signed-in user")
	default:
		p = in.unknownSubject()
	}
	if !p.code.Success() {
		return refuse(p.code, p.reason)
	}
	if code, reason := in.policy(p.user); code != "" {
		return refuse(code, reason)
	}
	return in.build(p, claims)
}

func refuse(code outcome.Code, reason string) Decision {
	return Decision{Outcome: code, Reason: reason}
}

// check refuses input whose facts contradict each other.
func (in *Input) check() (outcome.Code, string) {
	switch {
	case in.NewID == nil:
		return outcome.Internal, "input: no NewID"
	case in.Now.IsZero():
		return outcome.Internal, "input: no Now"
	}
	switch in.Intent {
	case store.IntentLogin:
	case store.IntentLink, store.IntentReauth:
		if in.IntentUser == nil {
			return outcome.Internal, "input: " + string(in.Intent) + " intent without a signed-in user"
		}
	default:
		return outcome.Internal, "input: unknown intent " + string(in.Intent)
	}
	if in.Connection.OrgID == "" {
		if in.Org != nil {
			return outcome.Internal, "input: org given for a global connection"
		}
	} else if in.Org == nil || in.Org.ID != in.Connection.OrgID {
		return outcome.Internal, "input: org is not the connection's"
	}
	id := in.Identity
	if id.Subject == "" {
		return outcome.IdentityInvalid, "identity has no subject"
	}
	if id.Email != "" {
		if n, err := store.NormalizeEmail(id.Email); err != nil || n != id.Email {
			return outcome.Internal, "input: identity email is not normalised"
		}
	}
	if e := in.Existing; e != nil {
		switch {
		case e.ConnectionID != in.Connection.ID || e.Subject != id.Subject:
			return outcome.Internal, "input: existing identity is not (connection, subject)"
		case in.ExistingOwner == nil || in.ExistingOwner.ID != e.UserID:
			return outcome.Internal, "input: existing owner is not the identity's user"
		}
	} else if in.ExistingOwner != nil {
		return outcome.Internal, "input: existing owner without an existing identity"
	}
	if in.EmailUser != nil && in.emailVerified() && in.EmailUser.Email != id.Email {
		return outcome.Internal, "input: email user has another email"
	}
	if m := in.Membership; m != nil {
		owner := in.EmailUser
		if in.Existing != nil {
			owner = in.ExistingOwner
		}
		switch {
		case in.Org == nil || m.OrgID != in.Org.ID:
			return outcome.Internal, "input: membership of another org"
		case owner == nil || m.UserID != owner.ID:
			return outcome.Internal, "input: membership of another user"
		}
	}
	if inv := in.Invitation; inv != nil && (in.Org == nil || inv.OrgID != in.Org.ID || inv.Email != id.Email) {
		return outcome.Internal, "input: invitation for another org or email"
	}
	return "", ""
}

// knownSubject is step 1: (connection, subject) is already linked.
func (in *Input) knownSubject() plan {
	owner := in.ExistingOwner
	if in.Intent != store.IntentLogin && in.IntentUser.ID != owner.ID {
		return plan{code: outcome.ProviderSubjectConflict, reason: string(in.Intent) + " intent: subject belongs to another user"}
	}
	p := plan{code: outcome.ExistingIdentity, reason: "known subject", user: owner}
	if in.Org == nil || in.Membership != nil {
		return p
	}
	switch {
	case !in.orgEligible():
		return plan{code: outcome.NotAllowed, reason: "not a member, and the email is not eligible for the org"}
	case in.openInvitation():
		p.code, p.reason = outcome.InvitationConsumed, "known subject joins the org by invitation"
		p.membership, p.invitationID = in.invitedMembership(), in.Invitation.ID
	case in.provisioning():
		p.reason = "known subject joins the org just in time"
		p.membership = in.jitMembership()
	default:
		return plan{code: outcome.NotAllowed, reason: "not a member, not invited, and provisioning is off"}
	}
	return p
}

// unknownSubject is step 3: a login whose subject nobody has yet.
func (in *Input) unknownSubject() plan {
	if !in.emailVerified() {
		return plan{code: outcome.EmailUnverified, reason: "no verified email to match or create by"}
	}
	if in.Org != nil && !in.orgEligible() {
		return plan{code: outcome.NotAllowed, reason: "email domain is not verified by the org"}
	}
	if !in.emailAllowed() {
		return plan{code: outcome.NotAllowed, reason: "email refused by the connection's email policy before matching"}
	}
	if u := in.EmailUser; u != nil {
		if in.Org == nil {
			return plan{code: outcome.LinkConfirmationRequired, reason: "email matches a user; a social connection never links by email"}
		}
		member, invited := in.Membership != nil, in.openInvitation()
		if !in.domainVerified() || !u.EmailVerified || (!member && !invited) {
			return plan{code: outcome.AmbiguousEmailMatch, reason: "email matches a user the org cannot vouch for"}
		}
		if !in.Policy.TrustEmailForLinking {
			return plan{code: outcome.LinkConfirmationRequired, reason: "email matches an org user; the connection is not trusted for linking"}
		}
		if member {
			return plan{code: outcome.ExistingMembership, reason: "email matches a member in a verified domain", user: u, link: true}
		}
		return plan{code: outcome.InvitationConsumed, reason: "email matches an invited user in a verified domain", user: u, link: true,
			membership: in.invitedMembership(), invitationID: in.Invitation.ID}
	}
	if in.openInvitation() {
		return plan{code: outcome.InvitationConsumed, reason: "new user by invitation", link: true,
			membership: in.invitedMembership(), invitationID: in.Invitation.ID}
	}
	if in.provisioning() {
		p := plan{code: outcome.JITCreated, reason: "new user just in time", link: true}
		if in.Org != nil {
			p.membership = in.jitMembership()
		}
		return p
	}
	return plan{code: outcome.NotAllowed, reason: "no account and provisioning is off"}
}

// policy is step 4 on the deciding user (nil: the user about to be created).
func (in *Input) policy(u *store.User) (outcome.Code, string) {
	uid := ""
	if u != nil {
		if u.Status != store.UserActive {
			return outcome.AccountDisabled, "user " + u.ID + " is not active"
		}
		uid = u.ID
	}
	assigned := false
	for _, a := range in.Assignments {
		if uid == "" || a.UserID != uid {
			return outcome.Internal, "input: assignment of another user"
		}
		assigned = assigned || a.ConnectionID == in.Connection.ID
	}
	if !assigned {
		if in.Org != nil && in.Org.ProviderAssignment == store.AssignmentAssigned {
			return outcome.ProviderNotAssigned, "org is in assigned mode and the user is not assigned this connection"
		}
		if len(in.Assignments) > 0 {
			return outcome.ProviderNotAssigned, "user is assigned other connections only"
		}
	}
	if !in.emailAllowed() {
		return outcome.NotAllowed, "email refused by the connection's email policy"
	}
	return "", ""
}

// build draws ids and spells out the writes of a plan that passed policy.
func (in *Input) build(p plan, claims []byte) Decision {
	d := Decision{Outcome: p.code, Reason: p.reason, ConsumeInvitationID: p.invitationID}
	id := in.Identity
	if p.user == nil {
		if !in.emailVerified() { // unreachable: step 3 refuses first
			return refuse(outcome.Internal, "would create a user from an unverified email")
		}
		d.CreateUser = &store.User{
			ID:            in.NewID(),
			Email:         id.Email,
			EmailVerified: true,
			Name:          strings.TrimSpace(id.Name),
			Admin:         in.Org == nil && in.adminDomain() && p.code == outcome.JITCreated,
			Status:        store.UserActive,
			CreatedAt:     in.Now,
			UpdatedAt:     in.Now,
		}
		d.UserID = d.CreateUser.ID
		if d.UserID == "" {
			return refuse(outcome.Internal, "NewID returned an empty id")
		}
	} else {
		d.UserID = p.user.ID
		d.UpdateUser = in.profile(p.user, in.memberAfter(p))
	}
	if p.link {
		d.CreateIdentity = &store.Identity{
			ID:            in.NewID(),
			UserID:        d.UserID,
			ConnectionID:  in.Connection.ID,
			Subject:       id.Subject,
			Email:         id.Email,
			EmailVerified: id.EmailVerified,
			Claims:        claims,
			LinkedAt:      in.Now,
			LastLoginAt:   in.Now,
		}
		if d.CreateIdentity.ID == "" {
			return refuse(outcome.Internal, "NewID returned an empty id")
		}
	} else {
		u := *in.Existing
		u.Email, u.EmailVerified, u.Claims, u.LastLoginAt = id.Email, id.EmailVerified, claims, in.Now
		d.UpdateIdentity = &u
	}
	if p.membership != nil {
		m := *p.membership
		m.UserID = d.UserID
		d.CreateMembership = &m
	}
	return d
}

// profile is the user refreshed from the identity, or nil when nothing
// changes. Only the name: an org connection is authoritative for the names
// of its org's members and overwrites them; otherwise the name only fills
// an empty one.
func (in *Input) profile(u *store.User, orgMember bool) *store.User {
	name := strings.TrimSpace(in.Identity.Name)
	if name == "" || name == u.Name || (u.Name != "" && !orgMember) {
		return nil
	}
	c := *u
	c.Name, c.UpdatedAt = name, in.Now
	return &c
}

// memberAfter reports whether the plan's user is a member of the
// connection's org once the plan is carried out.
func (in *Input) memberAfter(p plan) bool {
	if in.Org == nil || p.user == nil {
		return false
	}
	return p.membership != nil || (in.Membership != nil && in.Membership.UserID == p.user.ID)
}

func (in *Input) emailVerified() bool {
	return in.Identity.Email != "" && in.Identity.EmailVerified
}

func (in *Input) emailDomain() string {
	e := in.Identity.Email
	return e[strings.LastIndexByte(e, '@')+1:]
}

// domainVerified reports whether the org verified the email's domain.
func (in *Input) domainVerified() bool {
	return in.emailVerified() && hasDomain(in.VerifiedDomains, in.emailDomain())
}

// orgEligible reports whether the email may match or create anyone in the
// org: verified, and in a verified domain unless the org allows others.
func (in *Input) orgEligible() bool {
	return in.emailVerified() && (in.Org.AllowOutsideDomains || in.domainVerified())
}

// emailAllowed applies the connection's email pattern and domain list to
// the verified email (an unverified one counts as none).
func (in *Input) emailAllowed() bool {
	pol := in.Policy
	if pol.EmailPattern == nil && len(pol.AllowedDomains) == 0 {
		return true
	}
	if !in.emailVerified() {
		return false
	}
	if pol.EmailPattern != nil && !pol.EmailPattern.MatchString(in.Identity.Email) {
		return false
	}
	return len(pol.AllowedDomains) == 0 || hasDomain(pol.AllowedDomains, in.emailDomain())
}

func (in *Input) adminDomain() bool {
	return in.emailVerified() && hasDomain(in.Policy.AdminEmailDomains, in.emailDomain())
}

func (in *Input) provisioning() bool {
	return in.Policy.AutoProvision || (in.Org != nil && in.Org.AutoProvision)
}

// openInvitation reports whether Invitation may be consumed at Now by this
// identity's verified email.
func (in *Input) openInvitation() bool {
	inv := in.Invitation
	return inv != nil && in.emailVerified() && inv.ConsumedAt.IsZero() && in.Now.Before(inv.ExpiresAt)
}

func (in *Input) invitedMembership() *store.Membership {
	role := in.Invitation.Role
	if role == "" {
		role = RoleMember
	}
	return &store.Membership{OrgID: in.Org.ID, Role: role, CreatedVia: store.ViaInvitation, CreatedAt: in.Now}
}

func (in *Input) jitMembership() *store.Membership {
	role := RoleMember
	if in.adminDomain() {
		role = RoleAdmin
	}
	return &store.Membership{OrgID: in.Org.ID, Role: role, CreatedVia: store.ViaJIT, CreatedAt: in.Now}
}

func hasDomain(list []string, domain string) bool {
	for _, d := range list {
		if strings.EqualFold(d, domain) {
			return true
		}
	}
	return false
}

// claimsJSON marshals the claims deterministically: encoding/json sorts map
// keys at every depth. No claims is an empty object.
func claimsJSON(claims map[string]any) ([]byte, error) {
	if len(claims) == 0 {
		return []byte("{}"), nil
	}
	return json.Marshal(claims)
}
