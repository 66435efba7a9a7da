// Package reconcile decides who a verified upstream identity is and whether
// that person may enter (DESIGN.md §5). It is pure: no I/O, no clock, no
// randomness. The caller reads the store, fills an [Input], calls [Decide],
// and applies the writes of the [Decision] in one transaction (or none of
// them: a refusal carries no writes and no user).
//
// # Decision order
//
// Decide runs these steps in order and stops at the first that answers.
//
//  0. Input check. Facts that contradict each other (an Existing identity
//     for another connection or subject, an owner that is not its user, an
//     EmailUser with another email, a membership, invitation or assignment
//     of someone else, an org that is not the connection's) are a caller
//     bug: internal, never a guess. An empty subject is identity_invalid.
//  1. Known subject: (connection, subject) is linked to ExistingOwner.
//     A link or reauth intent by another user → provider_subject_conflict.
//     Otherwise existing_identity, and for an org connection the owner's
//     membership is reconciled: a member signs in; a non-member whose
//     email is eligible (below) and has an open invitation consumes it
//     (invitation_consumed); one whose email is eligible while provisioning
//     is on (org or connection) gets a "jit" membership (existing_identity);
//     anyone else is not_allowed.
//  2. Unknown subject with a link intent → a new identity for IntentUser
//     (linked). A reauth intent with an unknown subject is not_allowed: it
//     cannot prove the signed-in user, and it must never become a sign-in
//     as somebody else.
//  3. Unknown subject, login intent. The email must be present and verified
//     (email_unverified). For an org connection the email is eligible only
//     when its domain is one of the org's verified domains, or the org
//     allows outside domains (not_allowed). Then the connection's email
//     policy (below) runs, before anyone is matched or created, so a
//     refused person learns nothing about existing accounts and no user is
//     ever created for them. Then:
//     - A user with that email exists. On a global (social) connection →
//     link_confirmation_required, always: an email match is never linked
//     silently there, whatever Policy.TrustEmailForLinking says. On an
//     org connection whose org verified the email's domain, for a user
//     whose own email is verified and who is a member (existing_membership)
//     or invited (invitation_consumed), the identity is linked only when
//     Policy.TrustEmailForLinking is set; without it →
//     link_confirmation_required. Anything else → ambiguous_email_match.
//     - No such user: an open invitation (org connections) → a new user,
//     identity and membership (invitation_consumed); provisioning on
//     (Policy.AutoProvision, or Org.AutoProvision for org connections) →
//     a new user and identity, plus a "jit" membership for an org
//     connection (jit_created); else not_allowed.
//  4. Policy on the deciding user (existing or about to be created), in
//     this order: a status other than active → account_disabled; org in
//     assigned mode without an assignment for this connection, or a user
//     with assignments none of which is this connection →
//     provider_not_assigned; the email policy → not_allowed. New users
//     have no assignments, so nobody is provisioned into an org in
//     assigned mode: an administrator creates and assigns them first.
//
// # Email policy
//
// Policy.EmailPattern and Policy.AllowedDomains are matched against the
// identity's email only when the provider verified it: an unverified email
// counts as none, and with either set, no email is not_allowed. The pattern
// uses regexp MatchString semantics, so it should be anchored (^…$).
//
// # Writes on success
//
// Every success refreshes the identity that signed in (UpdateIdentity:
// email, verified flag, claims, last login) or creates it (CreateIdentity).
// New users come only from a verified email and get EmailVerified true;
// User.Admin is set for a global connection's jit user whose email domain
// is in Policy.AdminEmailDomains, while on an org connection that domain
// gives the membership role "admin" instead. An invitation's membership
// takes the invitation's role.
//
// Profile refresh (UpdateUser) touches the name only; the store keeps no
// picture. An org connection is the organization's directory and is
// authoritative for the names of that org's members (including one who
// joins in this decision), so it overwrites them; otherwise (a global
// connection, or an org connection linked by a non-member) the provider's
// name only fills an empty one. The user's email is never changed
// here: it is the key other connections match on and where password resets
// go, so changing it is an account action, not a side effect of signing in.
package reconcile
