package sqlstore

import (
	"context"
	"database/sql"

	"github.com/sallyport/sallyport/internal/store"
)

// Audit events are append-only: there is no UPDATE or DELETE of
// audit_events anywhere in the store, and the schema's triggers refuse one
// from anywhere else.

const auditColumns = `id, at, type, outcome, actor_id, user_id, org_id, connection_id, ip, user_agent, detail`

func scanAuditEvent(row rowScanner) (store.AuditEvent, error) {
	var e store.AuditEvent
	var at sql.NullInt64
	var userID, orgID, connectionID sql.NullString
	var detail string
	if err := row.Scan(&e.ID, &at, &e.Type, &e.Outcome, &e.ActorID, &userID, &orgID, &connectionID,
		&e.IP, &e.UserAgent, &detail); err != nil {
		return store.AuditEvent{}, err
	}
	e.At = fromMS(at)
	e.UserID, e.OrgID, e.ConnectionID = userID.String, orgID.String, connectionID.String
	e.Detail = []byte(detail)
	return e, nil
}

// AppendAuditEvent records e and sets its ID (and At, when unset). A nil
// Detail is stored as "{}".
func (q queries) AppendAuditEvent(ctx context.Context, e *store.AuditEvent) error {
	if e.At.IsZero() {
		e.At = nowUTC()
	}
	err := q.w.QueryRowContext(ctx, `INSERT INTO audit_events
		(at, type, outcome, actor_id, user_id, org_id, connection_id, ip, user_agent, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		RETURNING id`,
		ms(e.At), e.Type, e.Outcome, e.ActorID, strOrNull(e.UserID), strOrNull(e.OrgID),
		strOrNull(e.ConnectionID), e.IP, e.UserAgent, jsonObject(e.Detail)).Scan(&e.ID)
	return opErr("append audit event", err)
}

// listAuditEvents is one fixed text for every filter: an empty filter value
// (an empty string or 0) switches its condition off. CAST pins $4 to BIGINT for
// PostgreSQL, which would otherwise infer integer from "= 0" and refuse ids
// beyond 2^31; SQLite reads the cast as a no-op on an integer.
const listAuditEvents = `SELECT ` + auditColumns + ` FROM audit_events
	WHERE ($1 = '' OR org_id = $1)
	  AND ($2 = '' OR user_id = $2)
	  AND ($3 = '' OR type = $3)
	  AND (CAST($4 AS BIGINT) = 0 OR id < CAST($4 AS BIGINT))
	ORDER BY id DESC
	LIMIT $5`

// ListAuditEvents lists the events that match f, newest first: those with
// ID below f.BeforeID (0 = from the newest), at most f.Limit (0 = 100,
// capped at 1000).
func (q queries) ListAuditEvents(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, error) {
	return selectList(ctx, q.r, "list audit events", scanAuditEvent, listAuditEvents,
		f.OrgID, f.UserID, f.Type, f.BeforeID, pageSize(f.Limit))
}
