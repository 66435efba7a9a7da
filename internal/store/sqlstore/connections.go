package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/sallyport/sallyport/internal/store"
)

// jsonObject is the value to bind for a JSON object held in a TEXT column:
// nil becomes "{}". It is bound as a string, never []byte, because SQLite's
// STRICT tables refuse a BLOB in a TEXT column.
func jsonObject(b []byte) string {
	if len(b) == 0 {
		return "{}"
	}
	return string(b)
}

// ---- connections ----

const connectionColumns = `id, slug, org_id, kind, display_name, status, settings, secret_enc, auto_provision,
	trust_email_for_linking, admin_email_domains, last_validation_error, validated_at, created_at, updated_at`

func scanConnection(row rowScanner) (store.Connection, error) {
	var c store.Connection
	var orgID sql.NullString
	var settings, adminDomains string
	var validated, created, updated sql.NullInt64
	if err := row.Scan(&c.ID, &c.Slug, &orgID, &c.Kind, &c.DisplayName, &c.Status, &settings, &c.SecretEnc,
		&c.AutoProvision, &c.TrustEmailForLink, &adminDomains, &c.LastValidationError,
		&validated, &created, &updated); err != nil {
		return store.Connection{}, err
	}
	domains, err := parseList(adminDomains)
	if err != nil {
		return store.Connection{}, fmt.Errorf("connection %s: admin_email_domains: %w", c.ID, err)
	}
	c.OrgID, c.Settings, c.AdminEmailDomains = orgID.String, []byte(settings), domains
	c.ValidatedAt, c.CreatedAt, c.UpdatedAt = fromMS(validated), fromMS(created), fromMS(updated)
	return c, nil
}

// checkConnection refuses un-normalised admin email domains and fills in
// the default status.
func checkConnection(c *store.Connection) error {
	for _, d := range c.AdminEmailDomains {
		if err := checkDomain(d); err != nil {
			return err
		}
	}
	if c.Status == "" {
		c.Status = store.ConnectionDraft
	}
	return nil
}

// CreateConnection inserts c, filling in ID, CreatedAt and UpdatedAt when
// unset and Status (draft) when empty. ErrConflict if the slug is taken or
// the org does not exist.
func (q queries) CreateConnection(ctx context.Context, c *store.Connection) error {
	if err := checkConnection(c); err != nil {
		return err
	}
	if c.ID == "" {
		c.ID = newID()
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = nowUTC()
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = c.CreatedAt
	}
	_, err := q.w.ExecContext(ctx, `INSERT INTO connections (`+connectionColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		c.ID, c.Slug, strOrNull(c.OrgID), c.Kind, c.DisplayName, string(c.Status), jsonObject(c.Settings),
		bytesOrNull(c.SecretEnc), c.AutoProvision, c.TrustEmailForLink, jsonList(c.AdminEmailDomains),
		c.LastValidationError, msOrNull(c.ValidatedAt), ms(c.CreatedAt), ms(c.UpdatedAt))
	return opErr("create connection", err)
}

func (q queries) GetConnection(ctx context.Context, id string) (store.Connection, error) {
	c, err := scanConnection(q.r.QueryRowContext(ctx, `SELECT `+connectionColumns+` FROM connections WHERE id = $1`, id))
	return c, opErr("get connection", err)
}

func (q queries) GetConnectionBySlug(ctx context.Context, slug string) (store.Connection, error) {
	c, err := scanConnection(q.r.QueryRowContext(ctx, `SELECT `+connectionColumns+` FROM connections WHERE slug = $1`, slug))
	return c, opErr("get connection by slug", err)
}

// ListConnections lists, by slug, an org's connections, or the global ones
// when orgID is "". It picks one of two texts rather than folding both
// cases into one OR, so each stays a plain index lookup in both dialects.
func (q queries) ListConnections(ctx context.Context, orgID string) ([]store.Connection, error) {
	if orgID == "" {
		return selectList(ctx, q.r, "list connections", scanConnection,
			`SELECT `+connectionColumns+` FROM connections WHERE org_id IS NULL ORDER BY slug`)
	}
	return selectList(ctx, q.r, "list connections", scanConnection,
		`SELECT `+connectionColumns+` FROM connections WHERE org_id = $1 ORDER BY slug`, orgID)
}

// ListAllConnections lists every connection, global and org, by slug.
func (q queries) ListAllConnections(ctx context.Context) ([]store.Connection, error) {
	return selectList(ctx, q.r, "list all connections", scanConnection,
		`SELECT `+connectionColumns+` FROM connections ORDER BY slug`)
}

// UpdateConnection writes every field but ID, OrgID, Kind and CreatedAt, and
// bumps UpdatedAt. OrgID and Kind are fixed at creation: the identities
// linked through a connection belong to its org and its kind's subjects, so
// moving it to another org (or reading its subjects as another provider's)
// would hand those identities to the wrong tenant.
func (q queries) UpdateConnection(ctx context.Context, c *store.Connection) error {
	if err := checkConnection(c); err != nil {
		return err
	}
	updated := nowUTC()
	err := affectedOne(q.w.ExecContext(ctx, `UPDATE connections SET slug = $2, display_name = $3, status = $4,
		settings = $5, secret_enc = $6, auto_provision = $7, trust_email_for_linking = $8,
		admin_email_domains = $9, last_validation_error = $10, validated_at = $11, updated_at = $12
		WHERE id = $1`,
		c.ID, c.Slug, c.DisplayName, string(c.Status), jsonObject(c.Settings), bytesOrNull(c.SecretEnc),
		c.AutoProvision, c.TrustEmailForLink, jsonList(c.AdminEmailDomains), c.LastValidationError,
		msOrNull(c.ValidatedAt), ms(updated)))
	if err != nil {
		return opErr("update connection", err)
	}
	c.UpdatedAt = updated
	return nil
}

// DeleteConnection deletes a connection; the schema's foreign keys cascade
// to its identities, assignments, flows, sessions and grants.
func (q queries) DeleteConnection(ctx context.Context, id string) error {
	return opErr("delete connection", affectedOne(q.w.ExecContext(ctx, `DELETE FROM connections WHERE id = $1`, id)))
}

// ---- identities ----

const identityColumns = `id, user_id, connection_id, subject, email, email_verified, claims, tokens_enc,
	linked_at, last_login_at`

func scanIdentity(row rowScanner) (store.Identity, error) {
	var i store.Identity
	var email sql.NullString
	var claims string
	var linked, lastLogin sql.NullInt64
	if err := row.Scan(&i.ID, &i.UserID, &i.ConnectionID, &i.Subject, &email, &i.EmailVerified, &claims,
		&i.TokensEnc, &linked, &lastLogin); err != nil {
		return store.Identity{}, err
	}
	i.Email, i.Claims = email.String, []byte(claims)
	i.LinkedAt, i.LastLoginAt = fromMS(linked), fromMS(lastLogin)
	return i, nil
}

// CreateIdentity links a subject at a connection to a user, filling in ID
// and LinkedAt when unset. ErrConflict if (connection, subject) is taken or
// the user or connection does not exist. A non-empty Email must be
// normalised.
func (q queries) CreateIdentity(ctx context.Context, i *store.Identity) error {
	if i.Email != "" {
		if err := checkEmail(i.Email); err != nil {
			return err
		}
	}
	if i.ID == "" {
		i.ID = newID()
	}
	if i.LinkedAt.IsZero() {
		i.LinkedAt = nowUTC()
	}
	_, err := q.w.ExecContext(ctx, `INSERT INTO identities (`+identityColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		i.ID, i.UserID, i.ConnectionID, i.Subject, strOrNull(i.Email), i.EmailVerified, jsonObject(i.Claims),
		bytesOrNull(i.TokensEnc), ms(i.LinkedAt), msOrNull(i.LastLoginAt))
	return opErr("create identity", err)
}

func (q queries) GetIdentity(ctx context.Context, id string) (store.Identity, error) {
	i, err := scanIdentity(q.r.QueryRowContext(ctx, `SELECT `+identityColumns+` FROM identities WHERE id = $1`, id))
	return i, opErr("get identity", err)
}

// GetIdentityBySubject finds the identity for (connection, subject): the only
// key an upstream identity is ever found by.
func (q queries) GetIdentityBySubject(ctx context.Context, connectionID, subject string) (store.Identity, error) {
	i, err := scanIdentity(q.r.QueryRowContext(ctx, `SELECT `+identityColumns+` FROM identities
		WHERE connection_id = $1 AND subject = $2`, connectionID, subject))
	return i, opErr("get identity by subject", err)
}

// ListUserIdentities lists a user's identities in the order they were linked.
func (q queries) ListUserIdentities(ctx context.Context, userID string) ([]store.Identity, error) {
	return selectList(ctx, q.r, "list user identities", scanIdentity,
		`SELECT `+identityColumns+` FROM identities WHERE user_id = $1 ORDER BY linked_at, id`, userID)
}

// UpdateIdentityLogin records a sign-in: it writes Email, EmailVerified,
// Claims, TokensEnc and LastLoginAt (now when unset) and nothing else, so a
// sign-in can never move an identity to another user, connection or subject.
func (q queries) UpdateIdentityLogin(ctx context.Context, i *store.Identity) error {
	if i.Email != "" {
		if err := checkEmail(i.Email); err != nil {
			return err
		}
	}
	if i.LastLoginAt.IsZero() {
		i.LastLoginAt = nowUTC()
	}
	return opErr("update identity login", affectedOne(q.w.ExecContext(ctx, `UPDATE identities
		SET email = $2, email_verified = $3, claims = $4, tokens_enc = $5, last_login_at = $6
		WHERE id = $1`,
		i.ID, strOrNull(i.Email), i.EmailVerified, jsonObject(i.Claims), bytesOrNull(i.TokensEnc),
		ms(i.LastLoginAt))))
}

func (q queries) DeleteIdentity(ctx context.Context, id string) error {
	return opErr("delete identity", affectedOne(q.w.ExecContext(ctx, `DELETE FROM identities WHERE id = $1`, id)))
}

// ---- assignments ----

const assignmentColumns = `user_id, connection_id, assigned_by, created_at`

func scanAssignment(row rowScanner) (store.Assignment, error) {
	var a store.Assignment
	var created sql.NullInt64
	if err := row.Scan(&a.UserID, &a.ConnectionID, &a.AssignedBy, &created); err != nil {
		return store.Assignment{}, err
	}
	a.CreatedAt = fromMS(created)
	return a, nil
}

// PutAssignment assigns a connection to a user, or records who assigned it
// again; CreatedAt is kept from the first assignment and written back to a.
// ErrConflict if the user or connection does not exist.
func (q queries) PutAssignment(ctx context.Context, a *store.Assignment) error {
	if a.CreatedAt.IsZero() {
		a.CreatedAt = nowUTC()
	}
	var created sql.NullInt64
	err := q.w.QueryRowContext(ctx, `INSERT INTO assignments (`+assignmentColumns+`) VALUES ($1, $2, $3, $4)
		ON CONFLICT (user_id, connection_id) DO UPDATE SET assigned_by = excluded.assigned_by
		RETURNING created_at`,
		a.UserID, a.ConnectionID, a.AssignedBy, ms(a.CreatedAt)).Scan(&created)
	if err != nil {
		return opErr("put assignment", err)
	}
	a.CreatedAt = fromMS(created)
	return nil
}

// ListUserAssignments lists a user's assignments, oldest first.
func (q queries) ListUserAssignments(ctx context.Context, userID string) ([]store.Assignment, error) {
	return selectList(ctx, q.r, "list user assignments", scanAssignment,
		`SELECT `+assignmentColumns+` FROM assignments WHERE user_id = $1 ORDER BY created_at, connection_id`, userID)
}

func (q queries) DeleteAssignment(ctx context.Context, userID, connectionID string) error {
	return opErr("delete assignment", affectedOne(q.w.ExecContext(ctx,
		`DELETE FROM assignments WHERE user_id = $1 AND connection_id = $2`, userID, connectionID)))
}
