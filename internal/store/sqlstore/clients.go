package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/sallyport/sallyport/internal/store"
)

const clientCols = `id, name, secret_hash, public, redirect_uris, post_logout_redirect_uris,
	allowed_connections, allowed_orgs, skip_consent, id_token_signing_alg, access_token_format,
	access_token_ttl_ms, refresh_token_ttl_ms, disabled, source, created_at, updated_at`

const (
	insertClientSQL = `INSERT INTO clients (` + clientCols + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`

	getClientSQL = `SELECT ` + clientCols + ` FROM clients WHERE id = $1`

	listClientsSQL = `SELECT ` + clientCols + ` FROM clients ORDER BY id`

	updateClientSQL = `UPDATE clients SET name = $2, secret_hash = $3, public = $4, redirect_uris = $5,
	post_logout_redirect_uris = $6, allowed_connections = $7, allowed_orgs = $8, skip_consent = $9,
	id_token_signing_alg = $10, access_token_format = $11, access_token_ttl_ms = $12,
	refresh_token_ttl_ms = $13, disabled = $14, source = $15, updated_at = $16
	WHERE id = $1`

	deleteClientSQL = `DELETE FROM clients WHERE id = $1`
)

// clientDefaults fills what the schema would default, so the record the
// caller holds matches the row.
func clientDefaults(c *store.Client) {
	if c.IDTokenSigningAlg == "" {
		c.IDTokenSigningAlg = "RS256"
	}
	if c.AccessTokenFormat == "" {
		c.AccessTokenFormat = "opaque"
	}
	if c.Source == "" {
		c.Source = store.ClientFromRuntime
	}
}

// CreateClient stores a new client; ID defaults to a new id, Source to
// ClientFromRuntime, CreatedAt to now and UpdatedAt to CreatedAt.
// ErrConflict when the id is taken.
func (q queries) CreateClient(ctx context.Context, c *store.Client) error {
	if c.ID == "" {
		c.ID = newID()
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = nowUTC()
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = c.CreatedAt
	}
	clientDefaults(c)
	_, err := q.w.ExecContext(ctx, insertClientSQL,
		c.ID, c.Name, bytesOrNull(c.SecretHash), c.Public, jsonList(c.RedirectURIs),
		jsonList(c.PostLogoutRedirectURIs), jsonList(c.AllowedConnections), jsonList(c.AllowedOrgs),
		c.SkipConsent, c.IDTokenSigningAlg, c.AccessTokenFormat,
		c.AccessTokenTTL.Milliseconds(), c.RefreshTokenTTL.Milliseconds(), c.Disabled, string(c.Source),
		ms(c.CreatedAt), ms(c.UpdatedAt))
	if err != nil {
		return fmt.Errorf("sqlstore: create client: %w", mapErr(err))
	}
	return nil
}

// GetClient returns one client.
func (q queries) GetClient(ctx context.Context, id string) (store.Client, error) {
	c, err := scanClient(q.r.QueryRowContext(ctx, getClientSQL, id).Scan)
	if err != nil {
		return store.Client{}, fmt.Errorf("sqlstore: get client: %w", mapErr(err))
	}
	return c, nil
}

// ListClients returns every client, by id.
func (q queries) ListClients(ctx context.Context) ([]store.Client, error) {
	rows, err := q.r.QueryContext(ctx, listClientsSQL)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list clients: %w", mapErr(err))
	}
	defer rows.Close()
	var out []store.Client
	for rows.Next() {
		c, err := scanClient(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: list clients: %w", mapErr(err))
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list clients: %w", mapErr(err))
	}
	return out, nil
}

// UpdateClient rewrites every field but ID and CreatedAt (an empty Source
// as ClientFromRuntime), and sets UpdatedAt to now. ErrNotFound when the
// client does not exist.
func (q queries) UpdateClient(ctx context.Context, c *store.Client) error {
	clientDefaults(c)
	updated := nowUTC()
	err := affectedOne(q.w.ExecContext(ctx, updateClientSQL,
		c.ID, c.Name, bytesOrNull(c.SecretHash), c.Public, jsonList(c.RedirectURIs),
		jsonList(c.PostLogoutRedirectURIs), jsonList(c.AllowedConnections), jsonList(c.AllowedOrgs),
		c.SkipConsent, c.IDTokenSigningAlg, c.AccessTokenFormat,
		c.AccessTokenTTL.Milliseconds(), c.RefreshTokenTTL.Milliseconds(), c.Disabled, string(c.Source),
		ms(updated)))
	if err != nil {
		return fmt.Errorf("sqlstore: update client: %w", err)
	}
	c.UpdatedAt = updated
	return nil
}

// DeleteClient deletes a client; the schema cascades its codes, tokens,
// consents and pending requests. ErrNotFound when it does not exist.
func (q queries) DeleteClient(ctx context.Context, id string) error {
	if err := affectedOne(q.w.ExecContext(ctx, deleteClientSQL, id)); err != nil {
		return fmt.Errorf("sqlstore: delete client: %w", err)
	}
	return nil
}

// scanClient reads clientCols.
func scanClient(scan func(dest ...any) error) (store.Client, error) {
	var (
		c                                  store.Client
		redirects, postLogout, conns, orgs string
		accessTTL, refreshTTL              int64
		createdAt, updatedAt               sql.NullInt64
	)
	if err := scan(&c.ID, &c.Name, &c.SecretHash, &c.Public, &redirects, &postLogout,
		&conns, &orgs, &c.SkipConsent, &c.IDTokenSigningAlg, &c.AccessTokenFormat,
		&accessTTL, &refreshTTL, &c.Disabled, &c.Source, &createdAt, &updatedAt); err != nil {
		return store.Client{}, err
	}
	var err error
	if c.RedirectURIs, err = parseList(redirects); err != nil {
		return store.Client{}, fmt.Errorf("client %s redirect_uris: %w", c.ID, err)
	}
	if c.PostLogoutRedirectURIs, err = parseList(postLogout); err != nil {
		return store.Client{}, fmt.Errorf("client %s post_logout_redirect_uris: %w", c.ID, err)
	}
	if c.AllowedConnections, err = parseList(conns); err != nil {
		return store.Client{}, fmt.Errorf("client %s allowed_connections: %w", c.ID, err)
	}
	if c.AllowedOrgs, err = parseList(orgs); err != nil {
		return store.Client{}, fmt.Errorf("client %s allowed_orgs: %w", c.ID, err)
	}
	c.AccessTokenTTL = time.Duration(accessTTL) * time.Millisecond
	c.RefreshTokenTTL = time.Duration(refreshTTL) * time.Millisecond
	c.CreatedAt = fromMS(createdAt)
	c.UpdatedAt = fromMS(updatedAt)
	return c, nil
}

const consentCols = `user_id, client_id, scopes, granted_at`

const (
	// ON CONFLICT … DO UPDATE with excluded.* is the upsert both dialects run.
	putConsentSQL = `INSERT INTO consents (` + consentCols + `) VALUES ($1, $2, $3, $4)
	ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at`

	getConsentSQL = `SELECT ` + consentCols + ` FROM consents WHERE user_id = $1 AND client_id = $2`

	deleteConsentSQL = `DELETE FROM consents WHERE user_id = $1 AND client_id = $2`
)

// PutConsent inserts or replaces a user's consent for a client; GrantedAt
// defaults to now.
func (q queries) PutConsent(ctx context.Context, c *store.Consent) error {
	if c.GrantedAt.IsZero() {
		c.GrantedAt = nowUTC()
	}
	_, err := q.w.ExecContext(ctx, putConsentSQL, c.UserID, c.ClientID, jsonList(c.Scopes), ms(c.GrantedAt))
	if err != nil {
		return fmt.Errorf("sqlstore: put consent: %w", mapErr(err))
	}
	return nil
}

// GetConsent returns a user's consent for a client.
func (q queries) GetConsent(ctx context.Context, userID, clientID string) (store.Consent, error) {
	var (
		c         store.Consent
		scopes    string
		grantedAt sql.NullInt64
	)
	err := q.r.QueryRowContext(ctx, getConsentSQL, userID, clientID).
		Scan(&c.UserID, &c.ClientID, &scopes, &grantedAt)
	if err != nil {
		return store.Consent{}, fmt.Errorf("sqlstore: get consent: %w", mapErr(err))
	}
	if c.Scopes, err = parseList(scopes); err != nil {
		return store.Consent{}, fmt.Errorf("sqlstore: get consent: scopes: %w", err)
	}
	c.GrantedAt = fromMS(grantedAt)
	return c, nil
}

// DeleteConsent forgets a consent; ErrNotFound when there is none.
func (q queries) DeleteConsent(ctx context.Context, userID, clientID string) error {
	if err := affectedOne(q.w.ExecContext(ctx, deleteConsentSQL, userID, clientID)); err != nil {
		return fmt.Errorf("sqlstore: delete consent: %w", err)
	}
	return nil
}
