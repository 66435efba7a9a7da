package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sallyport/sallyport/internal/store"
)

// Codes, access tokens and refresh tokens share the grant columns, in this
// order, right after their hash column. grantArgs binds them and grantRow
// scans them, so the three tables cannot drift apart in code.
const grantCols = `grant_id, client_id, user_id, session_id_hash, identity_id, connection_id,
	org_id, scopes, nonce, auth_time, amr`

// grantArgs is the bind list for grantCols. An empty GrantID gets a new id:
// "" would otherwise tie unrelated tokens into one family for RevokeGrant.
func grantArgs(g *store.Grant) []any {
	if g.GrantID == "" {
		g.GrantID = newID()
	}
	return []any{g.GrantID, g.ClientID, g.UserID, bytesOrNull(g.SessionID), strOrNull(g.IdentityID),
		strOrNull(g.ConnectionID), strOrNull(g.OrgID), jsonList(g.Scopes), g.Nonce, ms(g.AuthTime),
		jsonList(g.AMR)}
}

// grantRow receives grantCols from a scan.
type grantRow struct {
	g                               store.Grant
	identityID, connectionID, orgID sql.NullString
	scopes, amr                     string
	authTime                        sql.NullInt64
}

// dest returns the scan destinations for grantCols.
func (r *grantRow) dest() []any {
	return []any{&r.g.GrantID, &r.g.ClientID, &r.g.UserID, &r.g.SessionID, &r.identityID,
		&r.connectionID, &r.orgID, &r.scopes, &r.g.Nonce, &r.authTime, &r.amr}
}

// grant finishes the scanned grant.
func (r *grantRow) grant() (store.Grant, error) {
	g := r.g
	var err error
	if g.Scopes, err = parseList(r.scopes); err != nil {
		return store.Grant{}, fmt.Errorf("grant %s scopes: %w", g.GrantID, err)
	}
	if g.AMR, err = parseList(r.amr); err != nil {
		return store.Grant{}, fmt.Errorf("grant %s amr: %w", g.GrantID, err)
	}
	g.IdentityID = r.identityID.String
	g.ConnectionID = r.connectionID.String
	g.OrgID = r.orgID.String
	g.AuthTime = fromMS(r.authTime)
	return g, nil
}

// Authorization codes.

const authCodeCols = `code_hash, ` + grantCols + `, redirect_uri, code_challenge,
	code_challenge_method, created_at, expires_at, consumed_at`

const (
	insertAuthCodeSQL = `INSERT INTO auth_codes (` + authCodeCols + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`

	consumeAuthCodeSQL = `UPDATE auth_codes SET consumed_at = $1
	WHERE code_hash = $2 AND consumed_at IS NULL AND expires_at > $1
	RETURNING ` + authCodeCols

	getAuthCodeSQL = `SELECT ` + authCodeCols + ` FROM auth_codes WHERE code_hash = $1`
)

// CreateAuthCode stores a new code; CreatedAt defaults to now and an empty
// Grant.GrantID to a new id.
func (q queries) CreateAuthCode(ctx context.Context, c *store.AuthCode) error {
	if c.CreatedAt.IsZero() {
		c.CreatedAt = nowUTC()
	}
	args := make([]any, 0, 18)
	args = append(args, c.CodeHash)
	args = append(args, grantArgs(&c.Grant)...)
	args = append(args, c.RedirectURI, c.CodeChallenge, c.CodeChallengeMethod,
		ms(c.CreatedAt), ms(c.ExpiresAt), msOrNull(c.ConsumedAt))
	if _, err := q.w.ExecContext(ctx, insertAuthCodeSQL, args...); err != nil {
		return fmt.Errorf("sqlstore: create auth code: %w", mapErr(err))
	}
	return nil
}

// ConsumeAuthCode redeems a code exactly once. When the atomic UPDATE finds
// nothing to redeem, a second look tells reuse (the code, ErrConsumed, so
// the caller can revoke its grant) from a missing or expired code
// (ErrNotFound). A consumed code counts as reused even after it expired, as
// long as the row exists: a late replay still revokes what it issued.
func (q queries) ConsumeAuthCode(ctx context.Context, codeHash []byte, now time.Time) (store.AuthCode, error) {
	c, err := scanAuthCode(q.w.QueryRowContext(ctx, consumeAuthCodeSQL, ms(now), codeHash).Scan)
	if err == nil {
		return c, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return store.AuthCode{}, fmt.Errorf("sqlstore: consume auth code: %w", mapErr(err))
	}
	// On the writer, so the look sees at least what the UPDATE saw.
	c, err = scanAuthCode(q.w.QueryRowContext(ctx, getAuthCodeSQL, codeHash).Scan)
	if err != nil {
		return store.AuthCode{}, fmt.Errorf("sqlstore: consume auth code: %w", mapErr(err))
	}
	if !c.ConsumedAt.IsZero() {
		return c, fmt.Errorf("sqlstore: consume auth code: %w", store.ErrConsumed)
	}
	return store.AuthCode{}, fmt.Errorf("sqlstore: consume auth code: expired: %w", store.ErrNotFound)
}

// scanAuthCode reads authCodeCols.
func scanAuthCode(scan func(dest ...any) error) (store.AuthCode, error) {
	var (
		c                                store.AuthCode
		g                                grantRow
		createdAt, expiresAt, consumedAt sql.NullInt64
	)
	dest := make([]any, 0, 18)
	dest = append(dest, &c.CodeHash)
	dest = append(dest, g.dest()...)
	dest = append(dest, &c.RedirectURI, &c.CodeChallenge, &c.CodeChallengeMethod,
		&createdAt, &expiresAt, &consumedAt)
	if err := scan(dest...); err != nil {
		return store.AuthCode{}, err
	}
	var err error
	if c.Grant, err = g.grant(); err != nil {
		return store.AuthCode{}, err
	}
	c.CreatedAt = fromMS(createdAt)
	c.ExpiresAt = fromMS(expiresAt)
	c.ConsumedAt = fromMS(consumedAt)
	return c, nil
}

// Access tokens.

const accessTokenCols = `token_hash, ` + grantCols + `, created_at, expires_at, revoked_at`

const (
	insertAccessTokenSQL = `INSERT INTO access_tokens (` + accessTokenCols + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`

	getAccessTokenSQL = `SELECT ` + accessTokenCols + ` FROM access_tokens
	WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2`

	// COALESCE keeps the first revocation time.
	revokeAccessTokenSQL = `UPDATE access_tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE token_hash = $2`

	revokeGrantAccessSQL = `UPDATE access_tokens SET revoked_at = $1 WHERE grant_id = $2 AND revoked_at IS NULL`
)

// CreateAccessToken stores a new access token; CreatedAt defaults to now.
func (q queries) CreateAccessToken(ctx context.Context, t *store.AccessToken) error {
	if t.CreatedAt.IsZero() {
		t.CreatedAt = nowUTC()
	}
	args := make([]any, 0, 15)
	args = append(args, t.TokenHash)
	args = append(args, grantArgs(&t.Grant)...)
	args = append(args, ms(t.CreatedAt), ms(t.ExpiresAt), msOrNull(t.RevokedAt))
	if _, err := q.w.ExecContext(ctx, insertAccessTokenSQL, args...); err != nil {
		return fmt.Errorf("sqlstore: create access token: %w", mapErr(err))
	}
	return nil
}

// GetAccessToken returns the token only while it is unrevoked and unexpired.
func (q queries) GetAccessToken(ctx context.Context, tokenHash []byte, now time.Time) (store.AccessToken, error) {
	t, err := scanAccessToken(q.r.QueryRowContext(ctx, getAccessTokenSQL, tokenHash, ms(now)).Scan)
	if err != nil {
		return store.AccessToken{}, fmt.Errorf("sqlstore: get access token: %w", mapErr(err))
	}
	return t, nil
}

// getAccessTokenUserSQL is getAccessTokenSQL joined with the token's user:
// userinfo needs both, and a point read's cost is mostly per statement
// (database/sql, the driver, SQLite's read lock), not per row. A user's
// deletion cascades to their tokens, so the inner join loses no live token.
var getAccessTokenUserSQL = `SELECT ` + qualified("t", accessTokenCols) + `, ` + qualified("u", userColumns) + `
	FROM access_tokens t JOIN users u ON u.id = t.user_id
	WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > $2`

// GetAccessTokenUser returns a live access token (as GetAccessToken does)
// and its user, in one statement.
func (q queries) GetAccessTokenUser(ctx context.Context, tokenHash []byte, now time.Time) (store.AccessToken, store.User, error) {
	row := q.r.QueryRowContext(ctx, getAccessTokenUserSQL, tokenHash, ms(now))
	var u store.User
	// Each scan function fills its own part of one row: the innermost
	// call scans the whole row, then each converts what it read.
	t, err := scanAccessToken(func(tokenDest ...any) error {
		var err error
		u, err = scanUser(scanFunc(func(userDest ...any) error {
			return row.Scan(append(tokenDest, userDest...)...)
		}))
		return err
	})
	if err != nil {
		return store.AccessToken{}, store.User{}, fmt.Errorf("sqlstore: get access token and user: %w", mapErr(err))
	}
	return t, u, nil
}

// RevokeAccessToken revokes one access token; ErrNotFound when it does not
// exist.
func (q queries) RevokeAccessToken(ctx context.Context, tokenHash []byte, now time.Time) error {
	if err := affectedOne(q.w.ExecContext(ctx, revokeAccessTokenSQL, ms(now), tokenHash)); err != nil {
		return fmt.Errorf("sqlstore: revoke access token: %w", err)
	}
	return nil
}

// scanAccessToken reads accessTokenCols.
func scanAccessToken(scan func(dest ...any) error) (store.AccessToken, error) {
	var (
		t                               store.AccessToken
		g                               grantRow
		createdAt, expiresAt, revokedAt sql.NullInt64
	)
	dest := make([]any, 0, 15)
	dest = append(dest, &t.TokenHash)
	dest = append(dest, g.dest()...)
	dest = append(dest, &createdAt, &expiresAt, &revokedAt)
	if err := scan(dest...); err != nil {
		return store.AccessToken{}, err
	}
	var err error
	if t.Grant, err = g.grant(); err != nil {
		return store.AccessToken{}, err
	}
	t.CreatedAt = fromMS(createdAt)
	t.ExpiresAt = fromMS(expiresAt)
	t.RevokedAt = fromMS(revokedAt)
	return t, nil
}

// Refresh tokens.

const refreshTokenCols = `token_hash, ` + grantCols + `, created_at, expires_at, rotated_at, revoked_at`

const (
	insertRefreshTokenSQL = `INSERT INTO refresh_tokens (` + refreshTokenCols + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`

	rotateRefreshTokenSQL = `UPDATE refresh_tokens SET rotated_at = $1
	WHERE token_hash = $2 AND rotated_at IS NULL AND revoked_at IS NULL AND expires_at > $1
	RETURNING ` + refreshTokenCols

	getRefreshTokenSQL = `SELECT ` + refreshTokenCols + ` FROM refresh_tokens WHERE token_hash = $1`

	// Unlike getRefreshTokenSQL (reuse detection, where a late replay of a
	// spent token still counts), an expired token is simply gone here.
	getUnexpiredRefreshTokenSQL = `SELECT ` + refreshTokenCols + ` FROM refresh_tokens
	WHERE token_hash = $1 AND expires_at > $2`

	// COALESCE keeps the first revocation time.
	revokeRefreshTokenSQL = `UPDATE refresh_tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE token_hash = $2`

	revokeGrantRefreshSQL = `UPDATE refresh_tokens SET revoked_at = $1 WHERE grant_id = $2 AND revoked_at IS NULL`
)

// CreateRefreshToken stores a new refresh token; CreatedAt defaults to now.
func (q queries) CreateRefreshToken(ctx context.Context, t *store.RefreshToken) error {
	if t.CreatedAt.IsZero() {
		t.CreatedAt = nowUTC()
	}
	args := make([]any, 0, 16)
	args = append(args, t.TokenHash)
	args = append(args, grantArgs(&t.Grant)...)
	args = append(args, ms(t.CreatedAt), ms(t.ExpiresAt), msOrNull(t.RotatedAt), msOrNull(t.RevokedAt))
	if _, err := q.w.ExecContext(ctx, insertRefreshTokenSQL, args...); err != nil {
		return fmt.Errorf("sqlstore: create refresh token: %w", mapErr(err))
	}
	return nil
}

// RotateRefreshToken marks a live token rotated and returns it, exactly
// once. When the atomic UPDATE finds nothing, a second look tells reuse (the
// token, ErrConsumed: it was already rotated or revoked, and the caller
// revokes the family) from a missing or expired token (ErrNotFound). As with
// codes, a spent token counts as reused while its row exists.
func (q queries) RotateRefreshToken(ctx context.Context, tokenHash []byte, now time.Time) (store.RefreshToken, error) {
	t, err := scanRefreshToken(q.w.QueryRowContext(ctx, rotateRefreshTokenSQL, ms(now), tokenHash).Scan)
	if err == nil {
		return t, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return store.RefreshToken{}, fmt.Errorf("sqlstore: rotate refresh token: %w", mapErr(err))
	}
	// On the writer, so the look sees at least what the UPDATE saw.
	t, err = scanRefreshToken(q.w.QueryRowContext(ctx, getRefreshTokenSQL, tokenHash).Scan)
	if err != nil {
		return store.RefreshToken{}, fmt.Errorf("sqlstore: rotate refresh token: %w", mapErr(err))
	}
	if !t.RotatedAt.IsZero() || !t.RevokedAt.IsZero() {
		return t, fmt.Errorf("sqlstore: rotate refresh token: %w", store.ErrConsumed)
	}
	return store.RefreshToken{}, fmt.Errorf("sqlstore: rotate refresh token: expired: %w", store.ErrNotFound)
}

// GetRefreshToken returns an unexpired refresh token whatever its rotation
// or revocation state, so revocation can check the client that owns it.
func (q queries) GetRefreshToken(ctx context.Context, tokenHash []byte, now time.Time) (store.RefreshToken, error) {
	t, err := scanRefreshToken(q.r.QueryRowContext(ctx, getUnexpiredRefreshTokenSQL, tokenHash, ms(now)).Scan)
	if err != nil {
		return store.RefreshToken{}, fmt.Errorf("sqlstore: get refresh token: %w", mapErr(err))
	}
	return t, nil
}

// RevokeRefreshToken revokes one refresh token; ErrNotFound when it does not
// exist.
func (q queries) RevokeRefreshToken(ctx context.Context, tokenHash []byte, now time.Time) error {
	if err := affectedOne(q.w.ExecContext(ctx, revokeRefreshTokenSQL, ms(now), tokenHash)); err != nil {
		return fmt.Errorf("sqlstore: revoke refresh token: %w", err)
	}
	return nil
}

// RevokeGrant revokes every access and refresh token of a grant that is not
// revoked yet. Two statements: run it inside Tx when it must be atomic with
// other writes. No error when the grant has no tokens.
func (q queries) RevokeGrant(ctx context.Context, grantID string, now time.Time) error {
	if _, err := q.w.ExecContext(ctx, revokeGrantAccessSQL, ms(now), grantID); err != nil {
		return fmt.Errorf("sqlstore: revoke grant access tokens: %w", mapErr(err))
	}
	if _, err := q.w.ExecContext(ctx, revokeGrantRefreshSQL, ms(now), grantID); err != nil {
		return fmt.Errorf("sqlstore: revoke grant refresh tokens: %w", mapErr(err))
	}
	return nil
}

// scanRefreshToken reads refreshTokenCols.
func scanRefreshToken(scan func(dest ...any) error) (store.RefreshToken, error) {
	var (
		t                                          store.RefreshToken
		g                                          grantRow
		createdAt, expiresAt, rotatedAt, revokedAt sql.NullInt64
	)
	dest := make([]any, 0, 16)
	dest = append(dest, &t.TokenHash)
	dest = append(dest, g.dest()...)
	dest = append(dest, &createdAt, &expiresAt, &rotatedAt, &revokedAt)
	if err := scan(dest...); err != nil {
		return store.RefreshToken{}, err
	}
	var err error
	if t.Grant, err = g.grant(); err != nil {
		return store.RefreshToken{}, err
	}
	t.CreatedAt = fromMS(createdAt)
	t.ExpiresAt = fromMS(expiresAt)
	t.RotatedAt = fromMS(rotatedAt)
	t.RevokedAt = fromMS(revokedAt)
	return t, nil
}
