-- The co-design table of a ranked call: sessions and project versions.
CREATE TABLE codesign_tables (
    tenant_id        uuid        NOT NULL REFERENCES tenants (id),
    id               uuid        NOT NULL,
    call_id          uuid        NOT NULL,
    participants     uuid[]      NOT NULL,
    status           text        NOT NULL CHECK (status IN ('open', 'approved')),
    convened_at      timestamptz NOT NULL,
    approved_version uuid,
    approval_act     jsonb,
    version          integer     NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT codesign_tables_call_key UNIQUE (tenant_id, call_id),
    FOREIGN KEY (tenant_id, call_id) REFERENCES calls (tenant_id, id)
);

CREATE TABLE codesign_sessions (
    tenant_id  uuid        NOT NULL REFERENCES tenants (id),
    id         uuid        NOT NULL,
    table_id   uuid        NOT NULL,
    held_on    timestamptz NOT NULL,
    attendees  jsonb       NOT NULL,
    minutes    text        NOT NULL,
    decisions  text[]      NOT NULL DEFAULT '{}',
    recorded_by text       NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, table_id) REFERENCES codesign_tables (tenant_id, id)
);

CREATE TABLE project_versions (
    tenant_id    uuid        NOT NULL REFERENCES tenants (id),
    id           uuid        NOT NULL,
    table_id     uuid        NOT NULL,
    number       integer     NOT NULL CHECK (number >= 1),
    content      text        NOT NULL,
    content_hash text        NOT NULL CHECK (content_hash ~ '^[0-9a-f]{64}$'),
    author       text        NOT NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, table_id, number),
    FOREIGN KEY (tenant_id, table_id) REFERENCES codesign_tables (tenant_id, id)
);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['codesign_tables', 'codesign_sessions', 'project_versions'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant())', t);
        EXECUTE format('REVOKE ALL ON %I FROM PUBLIC', t);
    END LOOP;
END $$;
GRANT SELECT, INSERT, UPDATE ON codesign_tables TO coprod_app;
GRANT SELECT, INSERT ON codesign_sessions, project_versions TO coprod_app;
