package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/sallyport/sallyport/internal/store"
)

const signingKeyCols = `kid, alg, private_key_enc, public_jwk, state, created_at, activated_at,
	retired_at, remove_after`

const (
	insertSigningKeySQL = `INSERT INTO signing_keys (` + signingKeyCols + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`

	listSigningKeysSQL = `SELECT ` + signingKeyCols + ` FROM signing_keys ORDER BY created_at, kid`

	updateSigningKeySQL = `UPDATE signing_keys SET alg = $2, state = $3, activated_at = $4,
	retired_at = $5, remove_after = $6
	WHERE kid = $1`

	deleteSigningKeySQL = `DELETE FROM signing_keys WHERE kid = $1`
)

// CreateSigningKey stores a new signing key; CreatedAt defaults to now.
// ErrConflict when the kid is taken.
func (q queries) CreateSigningKey(ctx context.Context, k *store.SigningKey) error {
	if k.CreatedAt.IsZero() {
		k.CreatedAt = nowUTC()
	}
	_, err := q.w.ExecContext(ctx, insertSigningKeySQL,
		k.KID, k.Alg, k.PrivateKeyEnc, string(k.PublicJWK), string(k.State), ms(k.CreatedAt),
		msOrNull(k.ActivatedAt), msOrNull(k.RetiredAt), msOrNull(k.RemoveAfter))
	if err != nil {
		return fmt.Errorf("sqlstore: create signing key: %w", mapErr(err))
	}
	return nil
}

// ListSigningKeys returns every signing key, oldest first.
func (q queries) ListSigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	rows, err := q.r.QueryContext(ctx, listSigningKeysSQL)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list signing keys: %w", mapErr(err))
	}
	defer rows.Close()
	var out []store.SigningKey
	for rows.Next() {
		var (
			k                                              store.SigningKey
			publicJWK, state                               string
			createdAt, activatedAt, retiredAt, removeAfter sql.NullInt64
		)
		if err := rows.Scan(&k.KID, &k.Alg, &k.PrivateKeyEnc, &publicJWK, &state, &createdAt,
			&activatedAt, &retiredAt, &removeAfter); err != nil {
			return nil, fmt.Errorf("sqlstore: list signing keys: %w", mapErr(err))
		}
		k.PublicJWK = []byte(publicJWK)
		k.State = store.SigningKeyState(state)
		k.CreatedAt = fromMS(createdAt)
		k.ActivatedAt = fromMS(activatedAt)
		k.RetiredAt = fromMS(retiredAt)
		k.RemoveAfter = fromMS(removeAfter)
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list signing keys: %w", mapErr(err))
	}
	return out, nil
}

// UpdateSigningKey writes a key's alg, state and rotation times; the key
// material never changes. ErrNotFound when the kid does not exist.
func (q queries) UpdateSigningKey(ctx context.Context, k *store.SigningKey) error {
	err := affectedOne(q.w.ExecContext(ctx, updateSigningKeySQL,
		k.KID, k.Alg, string(k.State), msOrNull(k.ActivatedAt), msOrNull(k.RetiredAt), msOrNull(k.RemoveAfter)))
	if err != nil {
		return fmt.Errorf("sqlstore: update signing key: %w", err)
	}
	return nil
}

// DeleteSigningKey deletes a key; ErrNotFound when it does not exist.
func (q queries) DeleteSigningKey(ctx context.Context, kid string) error {
	if err := affectedOne(q.w.ExecContext(ctx, deleteSigningKeySQL, kid)); err != nil {
		return fmt.Errorf("sqlstore: delete signing key: %w", err)
	}
	return nil
}
