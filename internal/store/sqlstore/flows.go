package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/sallyport/sallyport/internal/store"
)

// Login flows and pending authorization requests are one-time records: each
// is consumed by a single UPDATE … RETURNING whose WHERE clause admits only an
// unconsumed, unexpired row. The database decides the race (SQLite has one
// writer; PostgreSQL re-checks the WHERE clause after waiting on the row
// lock), so exactly one caller on any replica gets the row and every other
// one sees no row: missing, expired and reused all answer ErrNotFound.

const loginFlowCols = `id_hash, connection_id, org_id, intent, intent_user_id, issuer, nonce,
	pkce_verifier_enc, provider_state_enc, return_to, authz_request_id, browser_binding_hash,
	created_at, expires_at, consumed_at`

const (
	insertLoginFlowSQL = `INSERT INTO login_flows (` + loginFlowCols + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`

	consumeLoginFlowSQL = `UPDATE login_flows SET consumed_at = $1
	WHERE id_hash = $2 AND consumed_at IS NULL AND expires_at > $1
	RETURNING ` + loginFlowCols
)

// CreateLoginFlow stores a new login flow; CreatedAt defaults to now.
func (q queries) CreateLoginFlow(ctx context.Context, f *store.LoginFlow) error {
	if f.CreatedAt.IsZero() {
		f.CreatedAt = nowUTC()
	}
	_, err := q.w.ExecContext(ctx, insertLoginFlowSQL,
		f.IDHash, f.ConnectionID, strOrNull(f.OrgID), string(f.Intent), strOrNull(f.IntentUserID),
		f.Issuer, f.Nonce, bytesOrNull(f.PKCEVerifierEnc), bytesOrNull(f.ProviderStateEnc),
		f.ReturnTo, strOrNull(f.AuthzRequestID), f.BrowserBindingHash,
		ms(f.CreatedAt), ms(f.ExpiresAt), msOrNull(f.ConsumedAt))
	if err != nil {
		return fmt.Errorf("sqlstore: create login flow: %w", mapErr(err))
	}
	return nil
}

// ConsumeLoginFlow marks the flow used and returns it, exactly once.
func (q queries) ConsumeLoginFlow(ctx context.Context, idHash []byte, now time.Time) (store.LoginFlow, error) {
	f, err := scanLoginFlow(q.w.QueryRowContext(ctx, consumeLoginFlowSQL, ms(now), idHash).Scan)
	if err != nil {
		return store.LoginFlow{}, fmt.Errorf("sqlstore: consume login flow: %w", mapErr(err))
	}
	return f, nil
}

// scanLoginFlow reads loginFlowCols.
func scanLoginFlow(scan func(dest ...any) error) (store.LoginFlow, error) {
	var (
		f                                   store.LoginFlow
		intent                              string
		orgID, intentUserID, authzRequestID sql.NullString
		createdAt, expiresAt, consumedAt    sql.NullInt64
	)
	if err := scan(&f.IDHash, &f.ConnectionID, &orgID, &intent, &intentUserID, &f.Issuer, &f.Nonce,
		&f.PKCEVerifierEnc, &f.ProviderStateEnc, &f.ReturnTo, &authzRequestID, &f.BrowserBindingHash,
		&createdAt, &expiresAt, &consumedAt); err != nil {
		return store.LoginFlow{}, err
	}
	f.OrgID = orgID.String
	f.Intent = store.FlowIntent(intent)
	f.IntentUserID = intentUserID.String
	f.AuthzRequestID = authzRequestID.String
	f.CreatedAt = fromMS(createdAt)
	f.ExpiresAt = fromMS(expiresAt)
	f.ConsumedAt = fromMS(consumedAt)
	return f, nil
}

const authzRequestCols = `id, client_id, params, created_at, expires_at, consumed_at`

const (
	insertAuthzRequestSQL = `INSERT INTO authz_requests (` + authzRequestCols + `)
	VALUES ($1, $2, $3, $4, $5, $6)`

	getAuthzRequestSQL = `SELECT ` + authzRequestCols + ` FROM authz_requests
	WHERE id = $1 AND consumed_at IS NULL AND expires_at > $2`

	consumeAuthzRequestSQL = `UPDATE authz_requests SET consumed_at = $1
	WHERE id = $2 AND consumed_at IS NULL AND expires_at > $1
	RETURNING ` + authzRequestCols
)

// CreateAuthzRequest stores a pending authorization request; ID defaults to a
// new id and CreatedAt to now.
func (q queries) CreateAuthzRequest(ctx context.Context, r *store.AuthzRequest) error {
	if r.ID == "" {
		r.ID = newID()
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = nowUTC()
	}
	params := string(r.Params)
	if params == "" {
		params = "{}" // the column's default; a TEXT column, so bind a string, never bytes
	}
	_, err := q.w.ExecContext(ctx, insertAuthzRequestSQL,
		r.ID, r.ClientID, params, ms(r.CreatedAt), ms(r.ExpiresAt), msOrNull(r.ConsumedAt))
	if err != nil {
		return fmt.Errorf("sqlstore: create authz request: %w", mapErr(err))
	}
	return nil
}

// GetAuthzRequest returns the request only while it is unconsumed and
// unexpired at now.
func (q queries) GetAuthzRequest(ctx context.Context, id string, now time.Time) (store.AuthzRequest, error) {
	r, err := scanAuthzRequest(q.r.QueryRowContext(ctx, getAuthzRequestSQL, id, ms(now)).Scan)
	if err != nil {
		return store.AuthzRequest{}, fmt.Errorf("sqlstore: get authz request: %w", mapErr(err))
	}
	return r, nil
}

// ConsumeAuthzRequest marks the request used and returns it, exactly once.
func (q queries) ConsumeAuthzRequest(ctx context.Context, id string, now time.Time) (store.AuthzRequest, error) {
	r, err := scanAuthzRequest(q.w.QueryRowContext(ctx, consumeAuthzRequestSQL, ms(now), id).Scan)
	if err != nil {
		return store.AuthzRequest{}, fmt.Errorf("sqlstore: consume authz request: %w", mapErr(err))
	}
	return r, nil
}

// scanAuthzRequest reads authzRequestCols.
func scanAuthzRequest(scan func(dest ...any) error) (store.AuthzRequest, error) {
	var (
		r                                store.AuthzRequest
		params                           string
		createdAt, expiresAt, consumedAt sql.NullInt64
	)
	if err := scan(&r.ID, &r.ClientID, &params, &createdAt, &expiresAt, &consumedAt); err != nil {
		return store.AuthzRequest{}, err
	}
	r.Params = []byte(params)
	r.CreatedAt = fromMS(createdAt)
	r.ExpiresAt = fromMS(expiresAt)
	r.ConsumedAt = fromMS(consumedAt)
	return r, nil
}
