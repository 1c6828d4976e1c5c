-- Identity: users, per-tenant identity providers, memberships and roles,
-- invitations, and the platform-level login state (attempts, sessions).

-- A person as their identity provider knows them. Platform-level: the same
-- person may act in several tenants (an organisation member, an analyst).
-- Only what login needs: no other personal data.
CREATE TABLE users (
    id            uuid        PRIMARY KEY,
    issuer        text        NOT NULL,
    subject       text        NOT NULL,
    email         text        NOT NULL DEFAULT '',
    name          text        NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL,
    last_login_at timestamptz,
    CONSTRAINT users_issuer_subject_key UNIQUE (issuer, subject)
);
CREATE INDEX users_email_idx ON users (lower(email));

-- The identity provider of one tenant. The client secret is sealed with
-- AES-GCM by the service (COPROD_SECRETS_KEY) before it reaches the database.
CREATE TABLE identity_providers (
    tenant_id             uuid        NOT NULL REFERENCES tenants (id),
    issuer                text        NOT NULL,
    client_id             text        NOT NULL,
    client_secret_sealed  bytea       NOT NULL,
    scopes                text[]      NOT NULL,
    audience              text        NOT NULL,
    email_claim           text        NOT NULL,
    name_claim            text        NOT NULL,
    groups_claim          text        NOT NULL,
    group_roles           jsonb       NOT NULL DEFAULT '{}',
    allowed_email_domains text[]      NOT NULL DEFAULT '{}',
    updated_at            timestamptz NOT NULL,
    version               integer     NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id)
);
ALTER TABLE identity_providers ENABLE ROW LEVEL SECURITY;
ALTER TABLE identity_providers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON identity_providers
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

-- Roles of a user inside one tenant (tenant_admin, officer, evaluator,
-- auditor; regional_analyst in a region). source says where the role came
-- from: the provider's claims (re-synced at each login), an invitation, or
-- the platform operator.
CREATE TABLE tenant_memberships (
    tenant_id  uuid        NOT NULL REFERENCES tenants (id),
    user_id    uuid        NOT NULL REFERENCES users (id),
    role       text        NOT NULL CHECK (role IN ('tenant_admin', 'officer', 'evaluator', 'auditor', 'regional_analyst')),
    source     text        NOT NULL CHECK (source IN ('claims', 'invitation', 'operator')),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, user_id, role, source)
);
CREATE INDEX tenant_memberships_user_idx ON tenant_memberships (tenant_id, user_id);
ALTER TABLE tenant_memberships ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_memberships FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenant_memberships
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

-- A tenant admin invites by e-mail; the invitation is accepted at the
-- invitee's first login with that (verified) e-mail.
CREATE TABLE invitations (
    tenant_id   uuid        NOT NULL REFERENCES tenants (id),
    id          uuid        NOT NULL,
    email       text        NOT NULL CHECK (email = lower(email) AND email LIKE '%_@_%'),
    role        text        NOT NULL CHECK (role IN ('tenant_admin', 'officer', 'evaluator', 'auditor', 'regional_analyst')),
    invited_by  text        NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    accepted_by uuid        REFERENCES users (id),
    accepted_at timestamptz,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX invitations_pending_key ON invitations (tenant_id, email, role) WHERE accepted_at IS NULL;
ALTER TABLE invitations ENABLE ROW LEVEL SECURITY;
ALTER TABLE invitations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON invitations
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

-- Platform operators (besides the bootstrap token, meant for first set-up).
CREATE TABLE platform_operators (
    user_id    uuid        PRIMARY KEY REFERENCES users (id),
    granted_by text        NOT NULL,
    created_at timestamptz NOT NULL
);

-- Browser login in progress: state, nonce and PKCE verifier kept
-- server-side, bound to the browser (hash of a cookie) and to the realm
-- (realm_tenant_id: whose provider; NULL for the platform's). Single use:
-- the callback deletes the row it consumes.
CREATE TABLE login_attempts (
    state_hash      bytea       PRIMARY KEY,
    realm_tenant_id uuid        REFERENCES tenants (id),
    browser_hash    bytea       NOT NULL,
    nonce           text        NOT NULL,
    pkce_verifier   text        NOT NULL,
    return_to       text        NOT NULL,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL
);
CREATE INDEX login_attempts_expiry_idx ON login_attempts (expires_at);

-- Browser sessions: only the SHA-256 of the 256-bit id is stored. Sessions
-- are authentication infrastructure, looked up by hash before any tenant is
-- in scope; realm_tenant_id says whose provider authenticated the user, and
-- a session is honoured only on that realm's routes (or the platform's).
CREATE TABLE sessions (
    id_hash         bytea       PRIMARY KEY,
    user_id         uuid        NOT NULL REFERENCES users (id),
    realm_tenant_id uuid        REFERENCES tenants (id),
    created_at      timestamptz NOT NULL,
    last_seen_at    timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    id_token_sealed bytea
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expiry_idx ON sessions (expires_at);

REVOKE ALL ON users, identity_providers, tenant_memberships, invitations, platform_operators, login_attempts, sessions FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE ON users TO coprod_app;
GRANT SELECT, INSERT, UPDATE ON identity_providers TO coprod_app;
GRANT SELECT, INSERT, DELETE ON tenant_memberships TO coprod_app;
GRANT SELECT, INSERT, UPDATE ON invitations TO coprod_app;
GRANT SELECT, INSERT, DELETE ON platform_operators TO coprod_app;
GRANT SELECT, INSERT, DELETE ON login_attempts TO coprod_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON sessions TO coprod_app;
