package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sallyport/sallyport/internal/store"
)

// rowScanner is what *sql.Row and *sql.Rows share, so each record has one
// scan function for single-row and list queries alike.
type rowScanner interface {
	Scan(dest ...any) error
}

// scanFunc is a function as a rowScanner.
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// qualified prefixes each column of the list cols with the table alias
// alias, for a join whose tables share column names.
func qualified(alias, cols string) string {
	names := strings.Split(cols, ",")
	for i, n := range names {
		names[i] = alias + "." + strings.TrimSpace(n)
	}
	return strings.Join(names, ", ")
}

// opErr maps a driver error to the store's sentinels and names the
// operation. ErrNotFound goes back bare: it is the common, expected answer.
func opErr(op string, err error) error {
	err = mapErr(err)
	if err == nil || err == store.ErrNotFound {
		return err
	}
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}

// selectList runs a query and scans every row with scan.
func selectList[T any](ctx context.Context, db dbtx, op string, scan func(rowScanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, opErr(op, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, opErr(op, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, opErr(op, err)
	}
	return out, nil
}

// checkEmail refuses an address the caller did not normalise: case folding
// and IDNA are never left to the database, so an un-normalised key would
// silently create a second user for the same person.
func checkEmail(email string) error {
	if n, err := store.NormalizeEmail(email); err != nil || n != email {
		return fmt.Errorf("sqlstore: email %q is not normalised", email)
	}
	return nil
}

// checkDomain is checkEmail for a bare domain.
func checkDomain(domain string) error {
	if n, err := store.NormalizeDomain(domain); err != nil || n != domain {
		return fmt.Errorf("sqlstore: domain %q is not normalised", domain)
	}
	return nil
}

// defaultRole is the role of a membership or invitation that names none.
const defaultRole = "member"

// ---- orgs ----

const orgColumns = `id, slug, name, sso_required, auto_provision, allow_outside_domains, provider_assignment, created_at, updated_at`

func scanOrg(row rowScanner) (store.Org, error) {
	var o store.Org
	var created, updated sql.NullInt64
	if err := row.Scan(&o.ID, &o.Slug, &o.Name, &o.SSORequired, &o.AutoProvision, &o.AllowOutsideDomains,
		&o.ProviderAssignment, &created, &updated); err != nil {
		return store.Org{}, err
	}
	o.CreatedAt, o.UpdatedAt = fromMS(created), fromMS(updated)
	return o, nil
}

// CreateOrg inserts o, filling in ID, CreatedAt and UpdatedAt when unset and
// ProviderAssignment (open) when empty.
func (q queries) CreateOrg(ctx context.Context, o *store.Org) error {
	if o.ID == "" {
		o.ID = newID()
	}
	if o.CreatedAt.IsZero() {
		o.CreatedAt = nowUTC()
	}
	if o.UpdatedAt.IsZero() {
		o.UpdatedAt = o.CreatedAt
	}
	if o.ProviderAssignment == "" {
		o.ProviderAssignment = store.AssignmentOpen
	}
	_, err := q.w.ExecContext(ctx, `INSERT INTO orgs (`+orgColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		o.ID, o.Slug, o.Name, o.SSORequired, o.AutoProvision, o.AllowOutsideDomains,
		string(o.ProviderAssignment), ms(o.CreatedAt), ms(o.UpdatedAt))
	return opErr("create org", err)
}

func (q queries) GetOrg(ctx context.Context, id string) (store.Org, error) {
	o, err := scanOrg(q.r.QueryRowContext(ctx, `SELECT `+orgColumns+` FROM orgs WHERE id = $1`, id))
	return o, opErr("get org", err)
}

func (q queries) GetOrgBySlug(ctx context.Context, slug string) (store.Org, error) {
	o, err := scanOrg(q.r.QueryRowContext(ctx, `SELECT `+orgColumns+` FROM orgs WHERE slug = $1`, slug))
	return o, opErr("get org by slug", err)
}

// ListOrgs lists every org by slug.
func (q queries) ListOrgs(ctx context.Context) ([]store.Org, error) {
	return selectList(ctx, q.r, "list orgs", scanOrg, `SELECT `+orgColumns+` FROM orgs ORDER BY slug`)
}

// UpdateOrg writes every field but ID and CreatedAt, and bumps UpdatedAt.
func (q queries) UpdateOrg(ctx context.Context, o *store.Org) error {
	if o.ProviderAssignment == "" {
		o.ProviderAssignment = store.AssignmentOpen
	}
	updated := nowUTC()
	err := affectedOne(q.w.ExecContext(ctx, `UPDATE orgs SET slug = $2, name = $3, sso_required = $4,
		auto_provision = $5, allow_outside_domains = $6, provider_assignment = $7, updated_at = $8
		WHERE id = $1`,
		o.ID, o.Slug, o.Name, o.SSORequired, o.AutoProvision, o.AllowOutsideDomains,
		string(o.ProviderAssignment), ms(updated)))
	if err != nil {
		return opErr("update org", err)
	}
	o.UpdatedAt = updated
	return nil
}

// DeleteOrg deletes an org; the schema's foreign keys cascade to its
// domains, memberships, invitations and connections (and theirs).
func (q queries) DeleteOrg(ctx context.Context, id string) error {
	return opErr("delete org", affectedOne(q.w.ExecContext(ctx, `DELETE FROM orgs WHERE id = $1`, id)))
}

// ---- org domains ----

const orgDomainColumns = `org_id, domain, verified, created_at`

func scanOrgDomain(row rowScanner) (store.OrgDomain, error) {
	var d store.OrgDomain
	var created sql.NullInt64
	if err := row.Scan(&d.OrgID, &d.Domain, &d.Verified, &created); err != nil {
		return store.OrgDomain{}, err
	}
	d.CreatedAt = fromMS(created)
	return d, nil
}

// AddOrgDomain claims a domain for an org; ErrConflict if the org already
// has it or the org does not exist.
func (q queries) AddOrgDomain(ctx context.Context, d *store.OrgDomain) error {
	if err := checkDomain(d.Domain); err != nil {
		return err
	}
	if d.CreatedAt.IsZero() {
		d.CreatedAt = nowUTC()
	}
	_, err := q.w.ExecContext(ctx, `INSERT INTO org_domains (`+orgDomainColumns+`) VALUES ($1, $2, $3, $4)`,
		d.OrgID, d.Domain, d.Verified, ms(d.CreatedAt))
	return opErr("add org domain", err)
}

func (q queries) SetOrgDomainVerified(ctx context.Context, orgID, domain string, verified bool) error {
	return opErr("set org domain verified", affectedOne(q.w.ExecContext(ctx,
		`UPDATE org_domains SET verified = $3 WHERE org_id = $1 AND domain = $2`, orgID, domain, verified)))
}

func (q queries) RemoveOrgDomain(ctx context.Context, orgID, domain string) error {
	return opErr("remove org domain", affectedOne(q.w.ExecContext(ctx,
		`DELETE FROM org_domains WHERE org_id = $1 AND domain = $2`, orgID, domain)))
}

// ListOrgDomains lists an org's domains, verified or not, by domain.
func (q queries) ListOrgDomains(ctx context.Context, orgID string) ([]store.OrgDomain, error) {
	return selectList(ctx, q.r, "list org domains", scanOrgDomain,
		`SELECT `+orgDomainColumns+` FROM org_domains WHERE org_id = $1 ORDER BY domain`, orgID)
}

// OrgsByVerifiedDomain lists, by slug, the orgs that verified domain.
//
// The condition is the bare column "verified", written exactly like the
// predicate of the partial index org_domains_verified_domain, because a
// partial index serves a query only when its predicate appears in the
// query's WHERE as the same expression. PostgreSQL proves it either way, but
// SQLite compares expressions literally: "verified = TRUE" and "verified = 1"
// are different expressions to it, and "= 1" is a type error on PostgreSQL.
func (q queries) OrgsByVerifiedDomain(ctx context.Context, domain string) ([]store.Org, error) {
	return selectList(ctx, q.r, "orgs by verified domain", scanOrg, `SELECT `+orgColumns+` FROM orgs
		WHERE id IN (SELECT org_id FROM org_domains WHERE domain = $1 AND verified)
		ORDER BY slug`, domain)
}

// ---- memberships ----

const membershipColumns = `org_id, user_id, role, break_glass, created_via, created_at`

func scanMembership(row rowScanner) (store.Membership, error) {
	var m store.Membership
	var created sql.NullInt64
	if err := row.Scan(&m.OrgID, &m.UserID, &m.Role, &m.BreakGlass, &m.CreatedVia, &created); err != nil {
		return store.Membership{}, err
	}
	m.CreatedAt = fromMS(created)
	return m, nil
}

// PutMembership inserts a membership, or updates the role and break-glass
// flag of an existing one. CreatedVia and CreatedAt never change once set:
// m gets the stored values back. An empty Role means "member".
func (q queries) PutMembership(ctx context.Context, m *store.Membership) error {
	if m.Role == "" {
		m.Role = defaultRole
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = nowUTC()
	}
	var created sql.NullInt64
	err := q.w.QueryRowContext(ctx, `INSERT INTO memberships (`+membershipColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (org_id, user_id) DO UPDATE SET role = excluded.role, break_glass = excluded.break_glass
		RETURNING created_via, created_at`,
		m.OrgID, m.UserID, m.Role, m.BreakGlass, string(m.CreatedVia), ms(m.CreatedAt)).
		Scan(&m.CreatedVia, &created)
	if err != nil {
		return opErr("put membership", err)
	}
	m.CreatedAt = fromMS(created)
	return nil
}

func (q queries) GetMembership(ctx context.Context, orgID, userID string) (store.Membership, error) {
	m, err := scanMembership(q.r.QueryRowContext(ctx,
		`SELECT `+membershipColumns+` FROM memberships WHERE org_id = $1 AND user_id = $2`, orgID, userID))
	return m, opErr("get membership", err)
}

// ListOrgMembers lists an org's memberships, oldest first.
func (q queries) ListOrgMembers(ctx context.Context, orgID string) ([]store.Membership, error) {
	return selectList(ctx, q.r, "list org members", scanMembership,
		`SELECT `+membershipColumns+` FROM memberships WHERE org_id = $1 ORDER BY created_at, user_id`, orgID)
}

// ListUserMemberships lists a user's memberships, oldest first.
func (q queries) ListUserMemberships(ctx context.Context, userID string) ([]store.Membership, error) {
	return selectList(ctx, q.r, "list user memberships", scanMembership,
		`SELECT `+membershipColumns+` FROM memberships WHERE user_id = $1 ORDER BY created_at, org_id`, userID)
}

func (q queries) DeleteMembership(ctx context.Context, orgID, userID string) error {
	return opErr("delete membership", affectedOne(q.w.ExecContext(ctx,
		`DELETE FROM memberships WHERE org_id = $1 AND user_id = $2`, orgID, userID)))
}

// ---- invitations ----

const invitationColumns = `id, org_id, email, role, token_hash, expires_at, consumed_at, created_at`

func scanInvitation(row rowScanner) (store.Invitation, error) {
	var inv store.Invitation
	var expires, consumed, created sql.NullInt64
	if err := row.Scan(&inv.ID, &inv.OrgID, &inv.Email, &inv.Role, &inv.TokenHash,
		&expires, &consumed, &created); err != nil {
		return store.Invitation{}, err
	}
	inv.ExpiresAt, inv.ConsumedAt, inv.CreatedAt = fromMS(expires), fromMS(consumed), fromMS(created)
	return inv, nil
}

// CreateInvitation inserts inv, filling in ID and CreatedAt when unset and
// Role (member) when empty. The email must be normalised.
func (q queries) CreateInvitation(ctx context.Context, inv *store.Invitation) error {
	if err := checkEmail(inv.Email); err != nil {
		return err
	}
	if inv.ID == "" {
		inv.ID = newID()
	}
	if inv.Role == "" {
		inv.Role = defaultRole
	}
	if inv.CreatedAt.IsZero() {
		inv.CreatedAt = nowUTC()
	}
	_, err := q.w.ExecContext(ctx, `INSERT INTO invitations (`+invitationColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		inv.ID, inv.OrgID, inv.Email, inv.Role, inv.TokenHash,
		ms(inv.ExpiresAt), msOrNull(inv.ConsumedAt), ms(inv.CreatedAt))
	return opErr("create invitation", err)
}

// FindInvitation returns the newest open invitation for (org, email) at now.
func (q queries) FindInvitation(ctx context.Context, orgID, email string, now time.Time) (store.Invitation, error) {
	inv, err := scanInvitation(q.r.QueryRowContext(ctx, `SELECT `+invitationColumns+` FROM invitations
		WHERE org_id = $1 AND email = $2 AND consumed_at IS NULL AND expires_at > $3
		ORDER BY created_at DESC, id DESC LIMIT 1`, orgID, email, ms(now)))
	return inv, opErr("find invitation", err)
}

// ConsumeInvitation marks an open invitation used in one atomic statement,
// so exactly one of any number of concurrent callers gets it. The others
// learn why from a second read: (inv, ErrConsumed) if it was used (even if
// it has expired since), ErrNotFound if it is missing or expired unused.
func (q queries) ConsumeInvitation(ctx context.Context, id string, now time.Time) (store.Invitation, error) {
	inv, err := scanInvitation(q.w.QueryRowContext(ctx, `UPDATE invitations SET consumed_at = $1
		WHERE id = $2 AND consumed_at IS NULL AND expires_at > $1
		RETURNING `+invitationColumns, ms(now), id))
	if err == nil {
		return inv, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return store.Invitation{}, opErr("consume invitation", err)
	}
	// The update that beat this one has committed (or this is its
	// transaction), so any read now sees it.
	inv, err = scanInvitation(q.r.QueryRowContext(ctx,
		`SELECT `+invitationColumns+` FROM invitations WHERE id = $1`, id))
	if err != nil {
		return store.Invitation{}, opErr("consume invitation", err)
	}
	if !inv.ConsumedAt.IsZero() {
		return inv, store.ErrConsumed
	}
	return store.Invitation{}, store.ErrNotFound
}
