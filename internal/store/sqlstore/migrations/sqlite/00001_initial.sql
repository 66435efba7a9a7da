-- Sallyport's schema on SQLite. The PostgreSQL twin is
-- ../postgres/00001_initial.sql; keep the two in step, column for column.
--
-- Conventions: times are INTEGER milliseconds since the Unix epoch (UTC);
-- booleans are INTEGER 0/1; lists and JSON objects are TEXT; tokens, codes,
-- state and session ids are stored only as SHA-256 hashes (BLOB); *_enc
-- columns hold key-ring ciphertext. STRICT tables refuse a value of the
-- wrong type instead of storing it.

-- +goose Up
CREATE TABLE orgs (
    id                    TEXT PRIMARY KEY,
    slug                  TEXT NOT NULL UNIQUE,
    name                  TEXT NOT NULL,
    sso_required          INTEGER NOT NULL DEFAULT 0 CHECK (sso_required IN (0, 1)),
    auto_provision        INTEGER NOT NULL DEFAULT 0 CHECK (auto_provision IN (0, 1)),
    allow_outside_domains INTEGER NOT NULL DEFAULT 0 CHECK (allow_outside_domains IN (0, 1)),
    provider_assignment   TEXT NOT NULL DEFAULT 'open' CHECK (provider_assignment IN ('open', 'assigned')),
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
) STRICT;

CREATE TABLE org_domains (
    org_id     TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    domain     TEXT NOT NULL,
    verified   INTEGER NOT NULL DEFAULT 0 CHECK (verified IN (0, 1)),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, domain)
) STRICT;
CREATE INDEX org_domains_verified_domain ON org_domains (domain) WHERE verified;

CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    email           TEXT UNIQUE,
    email_verified  INTEGER NOT NULL DEFAULT 0 CHECK (email_verified IN (0, 1)),
    name            TEXT NOT NULL DEFAULT '',
    password_hash   TEXT,
    totp_secret_enc BLOB,
    admin           INTEGER NOT NULL DEFAULT 0 CHECK (admin IN (0, 1)),
    status          TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;

CREATE TABLE memberships (
    org_id      TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role        TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('member', 'admin')),
    break_glass INTEGER NOT NULL DEFAULT 0 CHECK (break_glass IN (0, 1)),
    created_via TEXT NOT NULL CHECK (created_via IN ('invitation', 'jit', 'admin')),
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (org_id, user_id)
) STRICT;
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE invitations (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    email       TEXT NOT NULL,
    role        TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('member', 'admin')),
    token_hash  BLOB NOT NULL UNIQUE,
    expires_at  INTEGER NOT NULL,
    consumed_at INTEGER,
    created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX invitations_org_email ON invitations (org_id, email);

CREATE TABLE connections (
    id                      TEXT PRIMARY KEY,
    slug                    TEXT NOT NULL UNIQUE,
    org_id                  TEXT REFERENCES orgs (id) ON DELETE CASCADE,
    kind                    TEXT NOT NULL,
    display_name            TEXT NOT NULL DEFAULT '',
    status                  TEXT NOT NULL DEFAULT 'draft'
                            CHECK (status IN ('draft', 'validation_failed', 'active', 'disabled')),
    settings                TEXT NOT NULL DEFAULT '{}',
    secret_enc              BLOB,
    auto_provision          INTEGER NOT NULL DEFAULT 1 CHECK (auto_provision IN (0, 1)),
    trust_email_for_linking INTEGER NOT NULL DEFAULT 0 CHECK (trust_email_for_linking IN (0, 1)),
    admin_email_domains     TEXT NOT NULL DEFAULT '[]',
    last_validation_error   TEXT NOT NULL DEFAULT '',
    validated_at            INTEGER,
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL
) STRICT;
CREATE INDEX connections_org ON connections (org_id);

CREATE TABLE identities (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    connection_id  TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    subject        TEXT NOT NULL,
    email          TEXT,
    email_verified INTEGER NOT NULL DEFAULT 0 CHECK (email_verified IN (0, 1)),
    claims         TEXT NOT NULL DEFAULT '{}',
    tokens_enc     BLOB,
    linked_at      INTEGER NOT NULL,
    last_login_at  INTEGER,
    UNIQUE (connection_id, subject)
) STRICT;
CREATE INDEX identities_user ON identities (user_id);

CREATE TABLE assignments (
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    connection_id TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    assigned_by   TEXT NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (user_id, connection_id)
) STRICT;
CREATE INDEX assignments_connection ON assignments (connection_id);

CREATE TABLE clients (
    id                        TEXT PRIMARY KEY,
    name                      TEXT NOT NULL DEFAULT '',
    secret_hash               BLOB,
    public                    INTEGER NOT NULL DEFAULT 0 CHECK (public IN (0, 1)),
    redirect_uris             TEXT NOT NULL DEFAULT '[]',
    post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]',
    allowed_connections       TEXT NOT NULL DEFAULT '[]',
    allowed_orgs              TEXT NOT NULL DEFAULT '[]',
    skip_consent              INTEGER NOT NULL DEFAULT 0 CHECK (skip_consent IN (0, 1)),
    id_token_signing_alg      TEXT NOT NULL DEFAULT 'RS256',
    access_token_format       TEXT NOT NULL DEFAULT 'opaque' CHECK (access_token_format IN ('opaque', 'jwt')),
    access_token_ttl_ms       INTEGER NOT NULL,
    refresh_token_ttl_ms      INTEGER NOT NULL,
    disabled                  INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at                INTEGER NOT NULL,
    updated_at                INTEGER NOT NULL,
    -- a public client has no secret; a confidential one always has one
    CHECK ((public = 1 AND secret_hash IS NULL) OR (public = 0 AND secret_hash IS NOT NULL))
) STRICT;

CREATE TABLE authz_requests (
    id          TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    params      TEXT NOT NULL DEFAULT '{}',
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    consumed_at INTEGER
) STRICT;
CREATE INDEX authz_requests_expires ON authz_requests (expires_at);

CREATE TABLE login_flows (
    id_hash              BLOB PRIMARY KEY,
    connection_id        TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    org_id               TEXT REFERENCES orgs (id) ON DELETE CASCADE,
    intent               TEXT NOT NULL CHECK (intent IN ('login', 'link', 'reauth')),
    intent_user_id       TEXT REFERENCES users (id) ON DELETE CASCADE,
    issuer               TEXT NOT NULL DEFAULT '',
    nonce                TEXT NOT NULL DEFAULT '',
    pkce_verifier_enc    BLOB,
    provider_state_enc   BLOB,
    return_to            TEXT NOT NULL DEFAULT '',
    authz_request_id     TEXT REFERENCES authz_requests (id) ON DELETE CASCADE,
    browser_binding_hash BLOB NOT NULL,
    created_at           INTEGER NOT NULL,
    expires_at           INTEGER NOT NULL,
    consumed_at          INTEGER
) STRICT;
CREATE INDEX login_flows_expires ON login_flows (expires_at);

CREATE TABLE sessions (
    id_hash             BLOB PRIMARY KEY,
    user_id             TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    org_id              TEXT REFERENCES orgs (id) ON DELETE CASCADE,
    connection_id       TEXT REFERENCES connections (id) ON DELETE CASCADE,
    identity_id         TEXT REFERENCES identities (id) ON DELETE CASCADE,
    amr                 TEXT NOT NULL DEFAULT '[]',
    created_at          INTEGER NOT NULL,
    last_seen_at        INTEGER NOT NULL,
    idle_expires_at     INTEGER NOT NULL,
    absolute_expires_at INTEGER NOT NULL,
    ip                  TEXT NOT NULL DEFAULT '',
    user_agent          TEXT NOT NULL DEFAULT '',
    revoked_at          INTEGER
) STRICT;
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_absolute_expires ON sessions (absolute_expires_at);

-- Codes, access tokens and refresh tokens share the grant columns: one
-- grant_id ties together everything issued from one authorization code.
CREATE TABLE auth_codes (
    code_hash             BLOB PRIMARY KEY,
    grant_id              TEXT NOT NULL,
    client_id             TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id               TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id_hash       BLOB,
    identity_id           TEXT REFERENCES identities (id) ON DELETE CASCADE,
    connection_id         TEXT REFERENCES connections (id) ON DELETE CASCADE,
    org_id                TEXT REFERENCES orgs (id) ON DELETE CASCADE,
    scopes                TEXT NOT NULL DEFAULT '[]',
    nonce                 TEXT NOT NULL DEFAULT '',
    auth_time             INTEGER NOT NULL,
    amr                   TEXT NOT NULL DEFAULT '[]',
    redirect_uri          TEXT NOT NULL,
    code_challenge        TEXT NOT NULL DEFAULT '',
    code_challenge_method TEXT NOT NULL DEFAULT '',
    created_at            INTEGER NOT NULL,
    expires_at            INTEGER NOT NULL,
    consumed_at           INTEGER
) STRICT;
CREATE INDEX auth_codes_expires ON auth_codes (expires_at);

CREATE TABLE access_tokens (
    token_hash      BLOB PRIMARY KEY,
    grant_id        TEXT NOT NULL,
    client_id       TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id_hash BLOB,
    identity_id     TEXT REFERENCES identities (id) ON DELETE CASCADE,
    connection_id   TEXT REFERENCES connections (id) ON DELETE CASCADE,
    org_id          TEXT REFERENCES orgs (id) ON DELETE CASCADE,
    scopes          TEXT NOT NULL DEFAULT '[]',
    nonce           TEXT NOT NULL DEFAULT '',
    auth_time       INTEGER NOT NULL,
    amr             TEXT NOT NULL DEFAULT '[]',
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    revoked_at      INTEGER
) STRICT;
CREATE INDEX access_tokens_grant ON access_tokens (grant_id);
CREATE INDEX access_tokens_expires ON access_tokens (expires_at);

CREATE TABLE refresh_tokens (
    token_hash      BLOB PRIMARY KEY,
    grant_id        TEXT NOT NULL,
    client_id       TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id_hash BLOB,
    identity_id     TEXT REFERENCES identities (id) ON DELETE CASCADE,
    connection_id   TEXT REFERENCES connections (id) ON DELETE CASCADE,
    org_id          TEXT REFERENCES orgs (id) ON DELETE CASCADE,
    scopes          TEXT NOT NULL DEFAULT '[]',
    nonce           TEXT NOT NULL DEFAULT '',
    auth_time       INTEGER NOT NULL,
    amr             TEXT NOT NULL DEFAULT '[]',
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    rotated_at      INTEGER,
    revoked_at      INTEGER
) STRICT;
CREATE INDEX refresh_tokens_grant ON refresh_tokens (grant_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);

CREATE TABLE consents (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scopes     TEXT NOT NULL DEFAULT '[]',
    granted_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, client_id)
) STRICT;

CREATE TABLE signing_keys (
    kid             TEXT PRIMARY KEY,
    alg             TEXT NOT NULL,
    private_key_enc BLOB NOT NULL,
    public_jwk      TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('next', 'active', 'retired')),
    created_at      INTEGER NOT NULL,
    activated_at    INTEGER,
    retired_at      INTEGER,
    remove_after    INTEGER
) STRICT;

-- Audit events outlive what they describe, so they hold plain ids, no
-- foreign keys. They are append-only: the triggers below refuse any UPDATE
-- or DELETE, whatever code tries.
CREATE TABLE audit_events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    at            INTEGER NOT NULL,
    type          TEXT NOT NULL,
    outcome       TEXT NOT NULL,
    actor_id      TEXT NOT NULL DEFAULT '',
    user_id       TEXT,
    org_id        TEXT,
    connection_id TEXT,
    ip            TEXT NOT NULL DEFAULT '',
    user_agent    TEXT NOT NULL DEFAULT '',
    detail        TEXT NOT NULL DEFAULT '{}'
) STRICT;
CREATE INDEX audit_events_org ON audit_events (org_id, id);
CREATE INDEX audit_events_user ON audit_events (user_id, id);

-- +goose StatementBegin
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE audit_events;
DROP TABLE signing_keys;
DROP TABLE consents;
DROP TABLE refresh_tokens;
DROP TABLE access_tokens;
DROP TABLE auth_codes;
DROP TABLE sessions;
DROP TABLE login_flows;
DROP TABLE authz_requests;
DROP TABLE clients;
DROP TABLE assignments;
DROP TABLE identities;
DROP TABLE connections;
DROP TABLE invitations;
DROP TABLE memberships;
DROP TABLE users;
DROP TABLE org_domains;
DROP TABLE orgs;
