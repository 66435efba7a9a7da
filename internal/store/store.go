// Package store defines Sallyport's records and the Store interface that
// every storage backend implements. The conformance suite in
// [github.com/sallyport/sallyport/internal/store/storetest] is the contract:
// a backend is correct when that suite passes against it.
//
// Conventions shared by every record and method:
//   - Times are UTC with millisecond precision; a zero time.Time means "not set"
//     and is stored as NULL.
//   - An empty string in an optional reference (OrgID, Email, ...) is stored as
//     NULL.
//   - Tokens, codes, state and session ids are never stored: only their
//     SHA-256 hashes (see [HashToken]).
//   - Byte fields named *Enc hold ciphertext from the secret key ring; the
//     store never sees plaintext secrets.
//   - Lookups that find nothing return [ErrNotFound]; writes that would break
//     a uniqueness or reference rule return [ErrConflict].
package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"time"
)

// Sentinel errors callers branch on. Backends wrap them with %w.
var (
	// ErrNotFound: no record matched (or a one-time record is expired).
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: a uniqueness or reference rule would be broken.
	ErrConflict = errors.New("store: conflict")
	// ErrConsumed: a one-time record (code, refresh token, invitation) was
	// already used. Methods that return it also return the record, so the
	// caller can revoke what the first use issued.
	ErrConsumed = errors.New("store: already consumed")
)

// HashToken is the one way a bearer secret (session id, state, code,
// refresh token, invitation token) becomes a store key.
func HashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// ProviderAssignment says whether an org lets every member use every
// connection (open) or only the connections assigned to them (assigned).
type ProviderAssignment string

const (
	AssignmentOpen     ProviderAssignment = "open"
	AssignmentAssigned ProviderAssignment = "assigned"
)

// Org is a tenant: an organization with its own connections and members.
type Org struct {
	ID                  string
	Slug                string
	Name                string
	SSORequired         bool
	AutoProvision       bool
	AllowOutsideDomains bool // emails outside the verified domains may match or create users
	ProviderAssignment  ProviderAssignment
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// OrgDomain is an email domain claimed by an org. Only verified domains route
// sign-ins and match users.
type OrgDomain struct {
	OrgID     string
	Domain    string // normalised with NormalizeDomain
	Verified  bool
	CreatedAt time.Time
}

// UserStatus is whether a user may sign in.
type UserStatus string

const (
	UserActive   UserStatus = "active"
	UserDisabled UserStatus = "disabled"
)

// User is a person known to Sallyport.
type User struct {
	ID            string
	Email         string // normalised with NormalizeEmail; "" for users without one (AT Protocol)
	EmailVerified bool
	Name          string
	PasswordHash  string // argon2id PHC string; "" for SSO-only users
	TOTPSecretEnc []byte // encrypted TOTP seed; nil when not enrolled
	Admin         bool   // Sallyport-wide administrator
	Status        UserStatus
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// MembershipVia records how a membership came to be.
type MembershipVia string

const (
	ViaInvitation MembershipVia = "invitation"
	ViaJIT        MembershipVia = "jit"
	ViaAdmin      MembershipVia = "admin"
)

// Membership puts a user in an org with a role.
type Membership struct {
	OrgID      string
	UserID     string
	Role       string // "member" or "admin"
	BreakGlass bool   // may use a password even when the org requires SSO
	CreatedVia MembershipVia
	CreatedAt  time.Time
}

// Invitation lets a person with Email join OrgID once.
type Invitation struct {
	ID         string
	OrgID      string
	Email      string
	Role       string
	TokenHash  []byte
	ExpiresAt  time.Time
	ConsumedAt time.Time
	CreatedAt  time.Time
}

// ConnectionStatus is a connection's place in its lifecycle
// (draft → validate → active, or disabled).
type ConnectionStatus string

const (
	ConnectionDraft            ConnectionStatus = "draft"
	ConnectionValidationFailed ConnectionStatus = "validation_failed"
	ConnectionActive           ConnectionStatus = "active"
	ConnectionDisabled         ConnectionStatus = "disabled"
)

// Connection is an upstream identity provider Sallyport signs people in
// through. OrgID "" means a global (social) connection.
type Connection struct {
	ID                  string
	Slug                string // unique; names the callback path /callback/{slug}
	OrgID               string
	Kind                string // oidc, google, microsoft, github, apple, facebook, gitlab, atproto
	DisplayName         string
	Status              ConnectionStatus
	Settings            []byte // JSON owned by the upstream package; never holds a plaintext secret
	SecretEnc           []byte // encrypted client secret or private key
	AutoProvision       bool
	TrustEmailForLink   bool
	AdminEmailDomains   []string
	LastValidationError string
	ValidatedAt         time.Time
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// Identity links a user to a subject at a connection. (ConnectionID, Subject)
// is the only key an upstream identity is ever found by.
type Identity struct {
	ID            string
	UserID        string
	ConnectionID  string
	Subject       string
	Email         string
	EmailVerified bool
	Claims        []byte // JSON of the last verified claims
	TokensEnc     []byte // encrypted upstream tokens, only when the connection asks
	LinkedAt      time.Time
	LastLoginAt   time.Time
}

// Assignment lets a user sign in through a connection when assignment is in
// force for them.
type Assignment struct {
	UserID       string
	ConnectionID string
	AssignedBy   string
	CreatedAt    time.Time
}

// FlowIntent is what a login flow is for.
type FlowIntent string

const (
	IntentLogin  FlowIntent = "login"
	IntentLink   FlowIntent = "link"
	IntentReauth FlowIntent = "reauth"
)

// LoginFlow is one trip to an upstream and back. It is found by the hash of
// its state and consumed exactly once.
type LoginFlow struct {
	IDHash             []byte
	ConnectionID       string
	OrgID              string
	Intent             FlowIntent
	IntentUserID       string
	Issuer             string // the issuer the browser was sent to (mix-up defence)
	Nonce              string
	PKCEVerifierEnc    []byte
	ProviderStateEnc   []byte // encrypted provider-specific state (DPoP key, PAR data, ...)
	ReturnTo           string
	AuthzRequestID     string
	BrowserBindingHash []byte
	CreatedAt          time.Time
	ExpiresAt          time.Time
	ConsumedAt         time.Time
}

// Session is a signed-in browser.
type Session struct {
	IDHash            []byte
	UserID            string
	OrgID             string
	ConnectionID      string
	IdentityID        string
	AMR               []string
	CreatedAt         time.Time
	LastSeenAt        time.Time
	IdleExpiresAt     time.Time
	AbsoluteExpiresAt time.Time
	IP                string
	UserAgent         string
	RevokedAt         time.Time
}

// ClientSource records who owns a client. It exists so that a client
// removed from the configuration file can be told from one registered at
// run time: the first is disabled at the next start, the second stays; and
// so that the command line leaves the file's clients to the file.
type ClientSource string

const (
	// ClientFromConfig marks a client the configuration file declares (or
	// declared): each start makes it match the file.
	ClientFromConfig ClientSource = "config"
	// ClientFromRuntime marks a client registered at run time (the command
	// line); "" means the same when writing.
	ClientFromRuntime ClientSource = "runtime"
)

// Client is a downstream app that signs its users in through Sallyport.
type Client struct {
	ID                     string
	Name                   string
	SecretHash             []byte // nil for public clients
	Public                 bool
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	AllowedConnections     []string
	AllowedOrgs            []string
	SkipConsent            bool
	IDTokenSigningAlg      string
	AccessTokenFormat      string // "opaque" or "jwt"
	AccessTokenTTL         time.Duration
	RefreshTokenTTL        time.Duration
	Disabled               bool
	Source                 ClientSource // "" is stored as ClientFromRuntime
	CreatedAt              time.Time
	UpdatedAt              time.Time
}

// AuthzRequest is a pending /oauth2/authorize request kept server-side while
// the person signs in.
type AuthzRequest struct {
	ID         string
	ClientID   string
	Params     []byte // JSON of the validated request
	CreatedAt  time.Time
	ExpiresAt  time.Time
	ConsumedAt time.Time
}

// Grant facts shared by codes, access tokens and refresh tokens: what the
// person consented to and how they signed in. GrantID ties together every
// token issued from one authorization code, so a replayed code or refresh
// token revokes them all.
type Grant struct {
	GrantID      string
	ClientID     string
	UserID       string
	SessionID    []byte // IDHash of the browser session
	IdentityID   string
	ConnectionID string
	OrgID        string
	Scopes       []string
	Nonce        string
	AuthTime     time.Time
	AMR          []string
}

// AuthCode is an authorization code, single-use and short-lived.
type AuthCode struct {
	CodeHash            []byte
	Grant               Grant
	RedirectURI         string
	CodeChallenge       string
	CodeChallengeMethod string
	CreatedAt           time.Time
	ExpiresAt           time.Time
	ConsumedAt          time.Time
}

// AccessToken is an opaque access token.
type AccessToken struct {
	TokenHash []byte
	Grant     Grant
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt time.Time
}

// RefreshToken rotates on every use; a reused one revokes its grant.
type RefreshToken struct {
	TokenHash []byte
	Grant     Grant
	CreatedAt time.Time
	ExpiresAt time.Time
	RotatedAt time.Time // set when exchanged for a successor
	RevokedAt time.Time
}

// Consent remembers that a user let a client have some scopes.
type Consent struct {
	UserID    string
	ClientID  string
	Scopes    []string
	GrantedAt time.Time
}

// SigningKeyState is a signing key's place in rotation.
type SigningKeyState string

const (
	KeyNext    SigningKeyState = "next"    // published in the JWKS, not yet signing
	KeyActive  SigningKeyState = "active"  // signing
	KeyRetired SigningKeyState = "retired" // published until its tokens expire
)

// SigningKey is one of Sallyport's own token signing keys.
type SigningKey struct {
	KID           string
	Alg           string
	PrivateKeyEnc []byte
	PublicJWK     []byte // JSON
	State         SigningKeyState
	CreatedAt     time.Time
	ActivatedAt   time.Time
	RetiredAt     time.Time
	RemoveAfter   time.Time // drop from the JWKS after this
}

// AuditEvent is one recorded decision. Events are append-only: the store
// offers no way to change or delete one.
type AuditEvent struct {
	ID           int64
	At           time.Time
	Type         string // e.g. "login.callback", "connection.activate"
	Outcome      string // an outcome code from DESIGN.md §4
	ActorID      string // who acted: a user id, "cli", "system", "config"
	UserID       string // whom it concerns
	OrgID        string
	ConnectionID string
	IP           string
	UserAgent    string
	Detail       []byte // JSON object
}

// AuditFilter selects audit events, newest first.
type AuditFilter struct {
	OrgID    string
	UserID   string
	Type     string
	BeforeID int64 // page: only events with ID < BeforeID; 0 = from the newest
	Limit    int   // 0 = 100
}

// Store is the whole persistence layer: the queries plus transactions.
type Store interface {
	Queries
	// Tx runs fn in one transaction and commits when fn returns nil; any
	// error (or panic) rolls back. Inside fn use only q: calling the outer
	// Store from fn may deadlock on SQLite, which has a single writer.
	Tx(ctx context.Context, fn func(q Queries) error) error
	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	// Close releases the database.
	Close() error
}

// Queries is every read and write, usable directly or inside Tx.
type Queries interface {
	// Orgs
	CreateOrg(ctx context.Context, o *Org) error // sets ID if empty, CreatedAt, UpdatedAt
	GetOrg(ctx context.Context, id string) (Org, error)
	GetOrgBySlug(ctx context.Context, slug string) (Org, error)
	ListOrgs(ctx context.Context) ([]Org, error)
	UpdateOrg(ctx context.Context, o *Org) error
	DeleteOrg(ctx context.Context, id string) error // cascades domains, memberships, invitations, org connections

	AddOrgDomain(ctx context.Context, d *OrgDomain) error
	SetOrgDomainVerified(ctx context.Context, orgID, domain string, verified bool) error
	RemoveOrgDomain(ctx context.Context, orgID, domain string) error
	ListOrgDomains(ctx context.Context, orgID string) ([]OrgDomain, error)
	// OrgsByVerifiedDomain lists the orgs that verified the domain (routing).
	OrgsByVerifiedDomain(ctx context.Context, domain string) ([]Org, error)

	// Users
	CreateUser(ctx context.Context, u *User) error
	GetUser(ctx context.Context, id string) (User, error)
	GetUserByEmail(ctx context.Context, email string) (User, error)
	ListUsers(ctx context.Context, afterID string, limit int) ([]User, error)
	UpdateUser(ctx context.Context, u *User) error
	DeleteUser(ctx context.Context, id string) error // cascades identities, memberships, sessions, assignments, grants

	// Memberships and invitations
	PutMembership(ctx context.Context, m *Membership) error // insert or update role/break-glass
	GetMembership(ctx context.Context, orgID, userID string) (Membership, error)
	ListOrgMembers(ctx context.Context, orgID string) ([]Membership, error)
	ListUserMemberships(ctx context.Context, userID string) ([]Membership, error)
	DeleteMembership(ctx context.Context, orgID, userID string) error

	CreateInvitation(ctx context.Context, inv *Invitation) error
	// FindInvitation finds an open (unconsumed, unexpired) invitation for (org, email).
	FindInvitation(ctx context.Context, orgID, email string, now time.Time) (Invitation, error)
	// ConsumeInvitation marks it used once: ErrNotFound if missing or expired,
	// ErrConsumed if already used.
	ConsumeInvitation(ctx context.Context, id string, now time.Time) (Invitation, error)

	// Connections
	CreateConnection(ctx context.Context, c *Connection) error
	GetConnection(ctx context.Context, id string) (Connection, error)
	GetConnectionBySlug(ctx context.Context, slug string) (Connection, error)
	ListConnections(ctx context.Context, orgID string) ([]Connection, error) // orgID "" = global ones
	ListAllConnections(ctx context.Context) ([]Connection, error)
	UpdateConnection(ctx context.Context, c *Connection) error
	DeleteConnection(ctx context.Context, id string) error // cascades identities, assignments, flows

	// Identities
	CreateIdentity(ctx context.Context, i *Identity) error // ErrConflict if (connection, subject) is taken
	GetIdentity(ctx context.Context, id string) (Identity, error)
	GetIdentityBySubject(ctx context.Context, connectionID, subject string) (Identity, error)
	ListUserIdentities(ctx context.Context, userID string) ([]Identity, error)
	UpdateIdentityLogin(ctx context.Context, i *Identity) error // email, claims, tokens, last login
	DeleteIdentity(ctx context.Context, id string) error

	// Assignments
	PutAssignment(ctx context.Context, a *Assignment) error
	ListUserAssignments(ctx context.Context, userID string) ([]Assignment, error)
	DeleteAssignment(ctx context.Context, userID, connectionID string) error

	// Login flows
	CreateLoginFlow(ctx context.Context, f *LoginFlow) error
	// ConsumeLoginFlow returns the flow and marks it used, exactly once across
	// all callers and replicas; ErrNotFound when missing, expired or used.
	ConsumeLoginFlow(ctx context.Context, idHash []byte, now time.Time) (LoginFlow, error)

	// Sessions
	CreateSession(ctx context.Context, s *Session) error
	// GetSession returns a live session: ErrNotFound when missing, revoked or expired at now.
	GetSession(ctx context.Context, idHash []byte, now time.Time) (Session, error)
	TouchSession(ctx context.Context, idHash []byte, lastSeen, idleExpires time.Time) error
	RevokeSession(ctx context.Context, idHash []byte, now time.Time) error
	RevokeUserSessions(ctx context.Context, userID string, now time.Time) (int, error)

	// Clients
	CreateClient(ctx context.Context, c *Client) error
	GetClient(ctx context.Context, id string) (Client, error)
	ListClients(ctx context.Context) ([]Client, error)
	UpdateClient(ctx context.Context, c *Client) error
	DeleteClient(ctx context.Context, id string) error // cascades its codes, tokens, consents, pending requests

	CreateAuthzRequest(ctx context.Context, r *AuthzRequest) error
	GetAuthzRequest(ctx context.Context, id string, now time.Time) (AuthzRequest, error)
	ConsumeAuthzRequest(ctx context.Context, id string, now time.Time) (AuthzRequest, error)

	CreateAuthCode(ctx context.Context, c *AuthCode) error
	// ConsumeAuthCode: ErrNotFound if missing or expired; (code, ErrConsumed)
	// if already redeemed, so the caller can revoke c.Grant.GrantID.
	ConsumeAuthCode(ctx context.Context, codeHash []byte, now time.Time) (AuthCode, error)

	CreateAccessToken(ctx context.Context, t *AccessToken) error
	GetAccessToken(ctx context.Context, tokenHash []byte, now time.Time) (AccessToken, error) // live only
	// GetAccessTokenUser is GetAccessToken and GetUser(t.Grant.UserID) in
	// one read.
	GetAccessTokenUser(ctx context.Context, tokenHash []byte, now time.Time) (AccessToken, User, error)
	RevokeAccessToken(ctx context.Context, tokenHash []byte, now time.Time) error

	CreateRefreshToken(ctx context.Context, t *RefreshToken) error
	// RotateRefreshToken marks the old token rotated and returns it, once;
	// (old, ErrConsumed) when it was already rotated or revoked (reuse),
	// ErrNotFound when missing or expired.
	RotateRefreshToken(ctx context.Context, tokenHash []byte, now time.Time) (RefreshToken, error)
	// GetRefreshToken returns the token whether or not it was rotated or
	// revoked (RFC 7009 revocation must learn which client owns it before
	// acting); ErrNotFound when missing or expired. It changes nothing.
	GetRefreshToken(ctx context.Context, tokenHash []byte, now time.Time) (RefreshToken, error)
	RevokeRefreshToken(ctx context.Context, tokenHash []byte, now time.Time) error
	// RevokeGrant revokes every access and refresh token of a grant.
	RevokeGrant(ctx context.Context, grantID string, now time.Time) error

	PutConsent(ctx context.Context, c *Consent) error
	GetConsent(ctx context.Context, userID, clientID string) (Consent, error)
	DeleteConsent(ctx context.Context, userID, clientID string) error

	// Signing keys
	CreateSigningKey(ctx context.Context, k *SigningKey) error
	ListSigningKeys(ctx context.Context) ([]SigningKey, error)
	UpdateSigningKey(ctx context.Context, k *SigningKey) error
	DeleteSigningKey(ctx context.Context, kid string) error

	// Audit (append-only)
	AppendAuditEvent(ctx context.Context, e *AuditEvent) error // sets ID
	ListAuditEvents(ctx context.Context, f AuditFilter) ([]AuditEvent, error)

	// DeleteExpired removes expired flows, sessions, codes, tokens, pending
	// requests and spent invitations older than now. Idempotent; safe on
	// every replica at once. Returns how many rows went.
	DeleteExpired(ctx context.Context, now time.Time) (int64, error)
}
