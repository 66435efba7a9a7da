// Code generated as a placeholder; delete each stub as its real method lands.

package sqlstore

import (
	"context"
	"time"

	"github.com/sallyport/sallyport/internal/store"
)

var (
	_ = time.Time{}
	_ context.Context
)

func (q queries) CreateLoginFlow(ctx context.Context, f *store.LoginFlow) error {
	panic("sqlstore: CreateLoginFlow not implemented")
}
func (q queries) ConsumeLoginFlow(ctx context.Context, idHash []byte, now time.Time) (store.LoginFlow, error) {
	panic("sqlstore: ConsumeLoginFlow not implemented")
}
func (q queries) CreateSession(ctx context.Context, s *store.Session) error {
	panic("sqlstore: CreateSession not implemented")
}
func (q queries) GetSession(ctx context.Context, idHash []byte, now time.Time) (store.Session, error) {
	panic("sqlstore: GetSession not implemented")
}
func (q queries) TouchSession(ctx context.Context, idHash []byte, lastSeen, idleExpires time.Time) error {
	panic("sqlstore: TouchSession not implemented")
}
func (q queries) RevokeSession(ctx context.Context, idHash []byte, now time.Time) error {
	panic("sqlstore: RevokeSession not implemented")
}
func (q queries) RevokeUserSessions(ctx context.Context, userID string, now time.Time) (int, error) {
	panic("sqlstore: RevokeUserSessions not implemented")
}
func (q queries) CreateClient(ctx context.Context, c *store.Client) error {
	panic("sqlstore: CreateClient not implemented")
}
func (q queries) GetClient(ctx context.Context, id string) (store.Client, error) {
	panic("sqlstore: GetClient not implemented")
}
func (q queries) ListClients(ctx context.Context) ([]store.Client, error) {
	panic("sqlstore: ListClients not implemented")
}
func (q queries) UpdateClient(ctx context.Context, c *store.Client) error {
	panic("sqlstore: UpdateClient not implemented")
}
func (q queries) DeleteClient(ctx context.Context, id string) error {
	panic("sqlstore: DeleteClient not implemented")
}
func (q queries) CreateAuthzRequest(ctx context.Context, r *store.AuthzRequest) error {
	panic("sqlstore: CreateAuthzRequest not implemented")
}
func (q queries) GetAuthzRequest(ctx context.Context, id string, now time.Time) (store.AuthzRequest, error) {
	panic("sqlstore: GetAuthzRequest not implemented")
}
func (q queries) ConsumeAuthzRequest(ctx context.Context, id string, now time.Time) (store.AuthzRequest, error) {
	panic("sqlstore: ConsumeAuthzRequest not implemented")
}
func (q queries) CreateAuthCode(ctx context.Context, c *store.AuthCode) error {
	panic("sqlstore: CreateAuthCode not implemented")
}
func (q queries) ConsumeAuthCode(ctx context.Context, codeHash []byte, now time.Time) (store.AuthCode, error) {
	panic("sqlstore: ConsumeAuthCode not implemented")
}
func (q queries) CreateAccessToken(ctx context.Context, t *store.AccessToken) error {
	panic("sqlstore: CreateAccessToken not implemented")
}
func (q queries) GetAccessToken(ctx context.Context, tokenHash []byte, now time.Time) (store.AccessToken, error) {
	panic("sqlstore: GetAccessToken not implemented")
}
func (q queries) RevokeAccessToken(ctx context.Context, tokenHash []byte, now time.Time) error {
	panic("sqlstore: RevokeAccessToken not implemented")
}
func (q queries) CreateRefreshToken(ctx context.Context, t *store.RefreshToken) error {
	panic("sqlstore: CreateRefreshToken not implemented")
}
func (q queries) RotateRefreshToken(ctx context.Context, tokenHash []byte, now time.Time) (store.RefreshToken, error) {
	panic("sqlstore: RotateRefreshToken not implemented")
}
func (q queries) RevokeRefreshToken(ctx context.Context, tokenHash []byte, now time.Time) error {
	panic("sqlstore: RevokeRefreshToken not implemented")
}
func (q queries) RevokeGrant(ctx context.Context, grantID string, now time.Time) error {
	panic("sqlstore: RevokeGrant not implemented")
}
func (q queries) PutConsent(ctx context.Context, c *store.Consent) error {
	panic("sqlstore: PutConsent not implemented")
}
func (q queries) GetConsent(ctx context.Context, userID, clientID string) (store.Consent, error) {
	panic("sqlstore: GetConsent not implemented")
}
func (q queries) DeleteConsent(ctx context.Context, userID, clientID string) error {
	panic("sqlstore: DeleteConsent not implemented")
}
func (q queries) CreateSigningKey(ctx context.Context, k *store.SigningKey) error {
	panic("sqlstore: CreateSigningKey not implemented")
}
func (q queries) ListSigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	panic("sqlstore: ListSigningKeys not implemented")
}
func (q queries) UpdateSigningKey(ctx context.Context, k *store.SigningKey) error {
	panic("sqlstore: UpdateSigningKey not implemented")
}
func (q queries) DeleteSigningKey(ctx context.Context, kid string) error {
	panic("sqlstore: DeleteSigningKey not implemented")
}
func (q queries) DeleteExpired(ctx context.Context, now time.Time) (int64, error) {
	panic("sqlstore: DeleteExpired not implemented")
}
