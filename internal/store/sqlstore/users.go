package sqlstore

import (
	"context"
	"database/sql"

	"github.com/sallyport/sallyport/internal/store"
)

const userColumns = `id, email, email_verified, name, password_hash, totp_secret_enc, admin, status, created_at, updated_at`

func scanUser(row rowScanner) (store.User, error) {
	var u store.User
	var email, password sql.NullString
	var created, updated sql.NullInt64
	if err := row.Scan(&u.ID, &email, &u.EmailVerified, &u.Name, &password, &u.TOTPSecretEnc,
		&u.Admin, &u.Status, &created, &updated); err != nil {
		return store.User{}, err
	}
	u.Email, u.PasswordHash = email.String, password.String
	u.CreatedAt, u.UpdatedAt = fromMS(created), fromMS(updated)
	return u, nil
}

// checkUser refuses an email the caller did not normalise and fills in the
// default status.
func checkUser(u *store.User) error {
	if u.Email != "" {
		if err := checkEmail(u.Email); err != nil {
			return err
		}
	}
	if u.Status == "" {
		u.Status = store.UserActive
	}
	return nil
}

// CreateUser inserts u, filling in ID, CreatedAt and UpdatedAt when unset and
// Status (active) when empty. Email must be normalised, or "" (stored as
// NULL, so any number of users may have none); ErrConflict if another user
// has it.
func (q queries) CreateUser(ctx context.Context, u *store.User) error {
	if err := checkUser(u); err != nil {
		return err
	}
	if u.ID == "" {
		u.ID = newID()
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt = nowUTC()
	}
	if u.UpdatedAt.IsZero() {
		u.UpdatedAt = u.CreatedAt
	}
	_, err := q.w.ExecContext(ctx, `INSERT INTO users (`+userColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		u.ID, strOrNull(u.Email), u.EmailVerified, u.Name, strOrNull(u.PasswordHash), bytesOrNull(u.TOTPSecretEnc),
		u.Admin, string(u.Status), ms(u.CreatedAt), ms(u.UpdatedAt))
	return opErr("create user", err)
}

func (q queries) GetUser(ctx context.Context, id string) (store.User, error) {
	u, err := scanUser(q.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	return u, opErr("get user", err)
}

// GetUserByEmail finds the user with a normalised email; "" matches no one.
func (q queries) GetUserByEmail(ctx context.Context, email string) (store.User, error) {
	if email == "" {
		return store.User{}, store.ErrNotFound
	}
	u, err := scanUser(q.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE email = $1`, email))
	return u, opErr("get user by email", err)
}

// ListUsers pages through users in id order (ids are UUIDv7, so that is
// creation order): those after afterID ("" = from the start), at most limit
// (0 = 100, capped at 1000).
func (q queries) ListUsers(ctx context.Context, afterID string, limit int) ([]store.User, error) {
	return selectList(ctx, q.r, "list users", scanUser,
		`SELECT `+userColumns+` FROM users WHERE id > $1 ORDER BY id LIMIT $2`, afterID, pageSize(limit))
}

// pageSize turns a caller's limit into one the store serves.
func pageSize(limit int) int {
	switch {
	case limit <= 0:
		return 100
	case limit > 1000:
		return 1000
	}
	return limit
}

// UpdateUser writes every field but ID and CreatedAt, and bumps UpdatedAt.
func (q queries) UpdateUser(ctx context.Context, u *store.User) error {
	if err := checkUser(u); err != nil {
		return err
	}
	updated := nowUTC()
	err := affectedOne(q.w.ExecContext(ctx, `UPDATE users SET email = $2, email_verified = $3, name = $4,
		password_hash = $5, totp_secret_enc = $6, admin = $7, status = $8, updated_at = $9
		WHERE id = $1`,
		u.ID, strOrNull(u.Email), u.EmailVerified, u.Name, strOrNull(u.PasswordHash), bytesOrNull(u.TOTPSecretEnc),
		u.Admin, string(u.Status), ms(updated)))
	if err != nil {
		return opErr("update user", err)
	}
	u.UpdatedAt = updated
	return nil
}

// DeleteUser deletes a user; the schema's foreign keys cascade to their
// identities, memberships, sessions, assignments, consents, codes and tokens.
func (q queries) DeleteUser(ctx context.Context, id string) error {
	return opErr("delete user", affectedOne(q.w.ExecContext(ctx, `DELETE FROM users WHERE id = $1`, id)))
}
