-- Applications to calls, their attachments (files live in the blob store),
-- idempotency keys, and the committee's evaluation.

CREATE TABLE applications (
    tenant_id     uuid        NOT NULL REFERENCES tenants (id),
    id            uuid        NOT NULL,
    call_id       uuid        NOT NULL,
    lead_org_id   uuid        NOT NULL REFERENCES organisations (id),
    partner_ids   uuid[]      NOT NULL DEFAULT '{}',
    org_ids       uuid[]      NOT NULL, -- lead and partners, for "my applications"
    title         text        NOT NULL DEFAULT '',
    sections      jsonb       NOT NULL DEFAULT '[]',
    budget        jsonb       NOT NULL DEFAULT '[]',
    declarations  jsonb       NOT NULL DEFAULT '{}',
    status        text        NOT NULL CHECK (status IN ('draft', 'submitted', 'withdrawn')),
    submitted_at  timestamptz,
    receipt_sha256 text,
    rules_version integer,
    admissibility jsonb       NOT NULL DEFAULT '{"status": "pending"}',
    created_by    text        NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    version       integer     NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, call_id) REFERENCES calls (tenant_id, id),
    CONSTRAINT applications_receipt CHECK (status = 'draft' OR (submitted_at IS NOT NULL AND receipt_sha256 IS NOT NULL))
);
CREATE INDEX applications_call_idx ON applications (tenant_id, call_id, id);
CREATE INDEX applications_orgs_idx ON applications USING gin (org_ids);
ALTER TABLE applications ENABLE ROW LEVEL SECURITY;
ALTER TABLE applications FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON applications
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

CREATE TABLE application_attachments (
    tenant_id      uuid        NOT NULL REFERENCES tenants (id),
    id             uuid        NOT NULL,
    application_id uuid        NOT NULL,
    name           text        NOT NULL,
    content_type   text        NOT NULL,
    size_bytes     bigint      NOT NULL CHECK (size_bytes >= 0),
    sha256         text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    blob_key       text        NOT NULL,
    uploaded_by    text        NOT NULL,
    uploaded_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, application_id) REFERENCES applications (tenant_id, id)
);
CREATE INDEX application_attachments_app_idx ON application_attachments (tenant_id, application_id);
ALTER TABLE application_attachments ENABLE ROW LEVEL SECURITY;
ALTER TABLE application_attachments FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON application_attachments
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

-- The outcome of requests made with an Idempotency-Key, per caller.
CREATE TABLE idempotency_keys (
    tenant_id  uuid        NOT NULL REFERENCES tenants (id),
    key        text        NOT NULL,
    subject    text        NOT NULL,
    request    text        NOT NULL,
    result     bytea       NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, key, subject)
);
ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE idempotency_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON idempotency_keys
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

-- The evaluation committee of a call (commissione di valutazione).
CREATE TABLE committee_members (
    tenant_id  uuid        NOT NULL REFERENCES tenants (id),
    call_id    uuid        NOT NULL,
    user_id    uuid        NOT NULL REFERENCES users (id),
    role       text        NOT NULL CHECK (role IN ('chair', 'member', 'secretary')),
    org_ids    uuid[]      NOT NULL DEFAULT '{}', -- organisations the member belongs to, for automatic recusal
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, call_id, user_id),
    FOREIGN KEY (tenant_id, call_id) REFERENCES calls (tenant_id, id)
);
ALTER TABLE committee_members ENABLE ROW LEVEL SECURITY;
ALTER TABLE committee_members FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON committee_members
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

-- One sheet per evaluator and application: the conflict-of-interest
-- declaration first, then the scores with their rationale.
CREATE TABLE evaluation_sheets (
    tenant_id      uuid        NOT NULL REFERENCES tenants (id),
    application_id uuid        NOT NULL,
    evaluator_id   uuid        NOT NULL REFERENCES users (id),
    declaration    text        NOT NULL CHECK (declaration IN ('no_conflict', 'abstain', 'recused')),
    declared_at    timestamptz NOT NULL,
    scores         jsonb       NOT NULL DEFAULT '[]',
    submitted_at   timestamptz,
    version        integer     NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, application_id, evaluator_id),
    FOREIGN KEY (tenant_id, application_id) REFERENCES applications (tenant_id, id)
);
ALTER TABLE evaluation_sheets ENABLE ROW LEVEL SECURITY;
ALTER TABLE evaluation_sheets FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON evaluation_sheets
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

-- The published ranking (graduatoria) of a call.
CREATE TABLE ranking_entries (
    tenant_id      uuid        NOT NULL REFERENCES tenants (id),
    call_id        uuid        NOT NULL,
    application_id uuid        NOT NULL,
    position       integer     NOT NULL CHECK (position >= 1),
    score_bp       bigint      NOT NULL CHECK (score_bp BETWEEN 0 AND 10000),
    per_criterion  jsonb       NOT NULL,
    admitted       boolean     NOT NULL,
    PRIMARY KEY (tenant_id, call_id, application_id),
    UNIQUE (tenant_id, call_id, position),
    FOREIGN KEY (tenant_id, call_id) REFERENCES calls (tenant_id, id),
    FOREIGN KEY (tenant_id, application_id) REFERENCES applications (tenant_id, id)
);
ALTER TABLE ranking_entries ENABLE ROW LEVEL SECURITY;
ALTER TABLE ranking_entries FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ranking_entries
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

REVOKE ALL ON applications, application_attachments, idempotency_keys, committee_members, evaluation_sheets, ranking_entries FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE ON applications TO coprod_app;
GRANT SELECT, INSERT ON application_attachments TO coprod_app;
GRANT SELECT, INSERT ON idempotency_keys TO coprod_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON committee_members TO coprod_app;
GRANT SELECT, INSERT, UPDATE ON evaluation_sheets TO coprod_app;
GRANT SELECT, INSERT ON ranking_entries TO coprod_app;
