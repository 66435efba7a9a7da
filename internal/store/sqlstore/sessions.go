package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/sallyport/sallyport/internal/store"
)

const sessionCols = `id_hash, user_id, org_id, connection_id, identity_id, amr, created_at,
	last_seen_at, idle_expires_at, absolute_expires_at, ip, user_agent, revoked_at`

const (
	insertSessionSQL = `INSERT INTO sessions (` + sessionCols + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`

	getSessionSQL = `SELECT ` + sessionCols + ` FROM sessions
	WHERE id_hash = $1 AND revoked_at IS NULL AND idle_expires_at > $2 AND absolute_expires_at > $2`

	// The idle expiry never passes the absolute one: CASE rather than
	// LEAST/MIN, because SQLite has no LEAST and PostgreSQL's MIN is only an
	// aggregate. Only a live session is touched, so a late touch cannot
	// bring an expired session back.
	touchSessionSQL = `UPDATE sessions SET last_seen_at = $1,
	idle_expires_at = CASE WHEN $2 < absolute_expires_at THEN $2 ELSE absolute_expires_at END
	WHERE id_hash = $3 AND revoked_at IS NULL AND idle_expires_at > $1 AND absolute_expires_at > $1`

	// COALESCE keeps the first revocation time, so revoking twice does not
	// push back the moment DeleteExpired may drop the row.
	revokeSessionSQL = `UPDATE sessions SET revoked_at = COALESCE(revoked_at, $1) WHERE id_hash = $2`

	revokeUserSessionsSQL = `UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL`
)

// CreateSession stores a new session; CreatedAt defaults to now and
// LastSeenAt to CreatedAt.
func (q queries) CreateSession(ctx context.Context, s *store.Session) error {
	if s.CreatedAt.IsZero() {
		s.CreatedAt = nowUTC()
	}
	if s.LastSeenAt.IsZero() {
		s.LastSeenAt = s.CreatedAt
	}
	_, err := q.w.ExecContext(ctx, insertSessionSQL,
		s.IDHash, s.UserID, strOrNull(s.OrgID), strOrNull(s.ConnectionID), strOrNull(s.IdentityID),
		jsonList(s.AMR), ms(s.CreatedAt), ms(s.LastSeenAt), ms(s.IdleExpiresAt), ms(s.AbsoluteExpiresAt),
		s.IP, s.UserAgent, msOrNull(s.RevokedAt))
	if err != nil {
		return fmt.Errorf("sqlstore: create session: %w", mapErr(err))
	}
	return nil
}

// GetSession returns the session only while it is unrevoked and neither
// expiry has passed at now.
func (q queries) GetSession(ctx context.Context, idHash []byte, now time.Time) (store.Session, error) {
	s, err := scanSession(q.r.QueryRowContext(ctx, getSessionSQL, idHash, ms(now)).Scan)
	if err != nil {
		return store.Session{}, fmt.Errorf("sqlstore: get session: %w", mapErr(err))
	}
	return s, nil
}

// TouchSession records activity and slides the idle expiry, capped at the
// absolute expiry. ErrNotFound when the session is missing, revoked or
// already expired at lastSeen.
func (q queries) TouchSession(ctx context.Context, idHash []byte, lastSeen, idleExpires time.Time) error {
	err := affectedOne(q.w.ExecContext(ctx, touchSessionSQL, ms(lastSeen), ms(idleExpires), idHash))
	if err != nil {
		return fmt.Errorf("sqlstore: touch session: %w", err)
	}
	return nil
}

// RevokeSession revokes one session; ErrNotFound when it does not exist.
func (q queries) RevokeSession(ctx context.Context, idHash []byte, now time.Time) error {
	if err := affectedOne(q.w.ExecContext(ctx, revokeSessionSQL, ms(now), idHash)); err != nil {
		return fmt.Errorf("sqlstore: revoke session: %w", err)
	}
	return nil
}

// RevokeUserSessions revokes every session of a user and returns how many
// were not revoked before.
func (q queries) RevokeUserSessions(ctx context.Context, userID string, now time.Time) (int, error) {
	res, err := q.w.ExecContext(ctx, revokeUserSessionsSQL, ms(now), userID)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: revoke user sessions: %w", mapErr(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlstore: revoke user sessions: %w", err)
	}
	return int(n), nil
}

// scanSession reads sessionCols.
func scanSession(scan func(dest ...any) error) (store.Session, error) {
	var (
		s                                     store.Session
		orgID, connectionID, identityID       sql.NullString
		amr                                   string
		createdAt, lastSeenAt, idle, absolute sql.NullInt64
		revokedAt                             sql.NullInt64
	)
	if err := scan(&s.IDHash, &s.UserID, &orgID, &connectionID, &identityID, &amr, &createdAt,
		&lastSeenAt, &idle, &absolute, &s.IP, &s.UserAgent, &revokedAt); err != nil {
		return store.Session{}, err
	}
	var err error
	if s.AMR, err = parseList(amr); err != nil {
		return store.Session{}, fmt.Errorf("session amr: %w", err)
	}
	s.OrgID = orgID.String
	s.ConnectionID = connectionID.String
	s.IdentityID = identityID.String
	s.CreatedAt = fromMS(createdAt)
	s.LastSeenAt = fromMS(lastSeenAt)
	s.IdleExpiresAt = fromMS(idle)
	s.AbsoluteExpiresAt = fromMS(absolute)
	s.RevokedAt = fromMS(revokedAt)
	return s, nil
}
