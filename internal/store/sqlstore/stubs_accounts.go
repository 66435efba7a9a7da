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

func (q queries) CreateOrg(ctx context.Context, o *store.Org) error {
	panic("sqlstore: CreateOrg not implemented")
}
func (q queries) GetOrg(ctx context.Context, id string) (store.Org, error) {
	panic("sqlstore: GetOrg not implemented")
}
func (q queries) GetOrgBySlug(ctx context.Context, slug string) (store.Org, error) {
	panic("sqlstore: GetOrgBySlug not implemented")
}
func (q queries) ListOrgs(ctx context.Context) ([]store.Org, error) {
	panic("sqlstore: ListOrgs not implemented")
}
func (q queries) UpdateOrg(ctx context.Context, o *store.Org) error {
	panic("sqlstore: UpdateOrg not implemented")
}
func (q queries) DeleteOrg(ctx context.Context, id string) error {
	panic("sqlstore: DeleteOrg not implemented")
}
func (q queries) AddOrgDomain(ctx context.Context, d *store.OrgDomain) error {
	panic("sqlstore: AddOrgDomain not implemented")
}
func (q queries) SetOrgDomainVerified(ctx context.Context, orgID, domain string, verified bool) error {
	panic("sqlstore: SetOrgDomainVerified not implemented")
}
func (q queries) RemoveOrgDomain(ctx context.Context, orgID, domain string) error {
	panic("sqlstore: RemoveOrgDomain not implemented")
}
func (q queries) ListOrgDomains(ctx context.Context, orgID string) ([]store.OrgDomain, error) {
	panic("sqlstore: ListOrgDomains not implemented")
}
func (q queries) OrgsByVerifiedDomain(ctx context.Context, domain string) ([]store.Org, error) {
	panic("sqlstore: OrgsByVerifiedDomain not implemented")
}
func (q queries) CreateUser(ctx context.Context, u *store.User) error {
	panic("sqlstore: CreateUser not implemented")
}
func (q queries) GetUser(ctx context.Context, id string) (store.User, error) {
	panic("sqlstore: GetUser not implemented")
}
func (q queries) GetUserByEmail(ctx context.Context, email string) (store.User, error) {
	panic("sqlstore: GetUserByEmail not implemented")
}
func (q queries) ListUsers(ctx context.Context, afterID string, limit int) ([]store.User, error) {
	panic("sqlstore: ListUsers not implemented")
}
func (q queries) UpdateUser(ctx context.Context, u *store.User) error {
	panic("sqlstore: UpdateUser not implemented")
}
func (q queries) DeleteUser(ctx context.Context, id string) error {
	panic("sqlstore: DeleteUser not implemented")
}
func (q queries) PutMembership(ctx context.Context, m *store.Membership) error {
	panic("sqlstore: PutMembership not implemented")
}
func (q queries) GetMembership(ctx context.Context, orgID, userID string) (store.Membership, error) {
	panic("sqlstore: GetMembership not implemented")
}
func (q queries) ListOrgMembers(ctx context.Context, orgID string) ([]store.Membership, error) {
	panic("sqlstore: ListOrgMembers not implemented")
}
func (q queries) ListUserMemberships(ctx context.Context, userID string) ([]store.Membership, error) {
	panic("sqlstore: ListUserMemberships not implemented")
}
func (q queries) DeleteMembership(ctx context.Context, orgID, userID string) error {
	panic("sqlstore: DeleteMembership not implemented")
}
func (q queries) CreateInvitation(ctx context.Context, inv *store.Invitation) error {
	panic("sqlstore: CreateInvitation not implemented")
}
func (q queries) FindInvitation(ctx context.Context, orgID, email string, now time.Time) (store.Invitation, error) {
	panic("sqlstore: FindInvitation not implemented")
}
func (q queries) ConsumeInvitation(ctx context.Context, id string, now time.Time) (store.Invitation, error) {
	panic("sqlstore: ConsumeInvitation not implemented")
}
func (q queries) CreateConnection(ctx context.Context, c *store.Connection) error {
	panic("sqlstore: CreateConnection not implemented")
}
func (q queries) GetConnection(ctx context.Context, id string) (store.Connection, error) {
	panic("sqlstore: GetConnection not implemented")
}
func (q queries) GetConnectionBySlug(ctx context.Context, slug string) (store.Connection, error) {
	panic("sqlstore: GetConnectionBySlug not implemented")
}
func (q queries) ListConnections(ctx context.Context, orgID string) ([]store.Connection, error) {
	panic("sqlstore: ListConnections not implemented")
}
func (q queries) ListAllConnections(ctx context.Context) ([]store.Connection, error) {
	panic("sqlstore: ListAllConnections not implemented")
}
func (q queries) UpdateConnection(ctx context.Context, c *store.Connection) error {
	panic("sqlstore: UpdateConnection not implemented")
}
func (q queries) DeleteConnection(ctx context.Context, id string) error {
	panic("sqlstore: DeleteConnection not implemented")
}
func (q queries) CreateIdentity(ctx context.Context, i *store.Identity) error // ErrConflict if (connection, subject) is taken { panic("sqlstore: CreateIdentity not implemented") }
func (q queries) GetIdentity(ctx context.Context, id string) (store.Identity, error) {
	panic("sqlstore: GetIdentity not implemented")
}
func (q queries) GetIdentityBySubject(ctx context.Context, connectionID, subject string) (store.Identity, error) {
	panic("sqlstore: GetIdentityBySubject not implemented")
}
func (q queries) ListUserIdentities(ctx context.Context, userID string) ([]store.Identity, error) {
	panic("sqlstore: ListUserIdentities not implemented")
}
func (q queries) UpdateIdentityLogin(ctx context.Context, i *store.Identity) error {
	panic("sqlstore: UpdateIdentityLogin not implemented")
}
func (q queries) DeleteIdentity(ctx context.Context, id string) error {
	panic("sqlstore: DeleteIdentity not implemented")
}
func (q queries) PutAssignment(ctx context.Context, a *store.Assignment) error {
	panic("sqlstore: PutAssignment not implemented")
}
func (q queries) ListUserAssignments(ctx context.Context, userID string) ([]store.Assignment, error) {
	panic("sqlstore: ListUserAssignments not implemented")
}
func (q queries) DeleteAssignment(ctx context.Context, userID, connectionID string) error {
	panic("sqlstore: DeleteAssignment not implemented")
}
func (q queries) AppendAuditEvent(ctx context.Context, e *store.AuditEvent) error {
	panic("sqlstore: AppendAuditEvent not implemented")
}
func (q queries) ListAuditEvents(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, error) {
	panic("sqlstore: ListAuditEvents not implemented")
}
