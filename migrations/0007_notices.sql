-- Notices to organisations about the calls they apply to: an amendment, the
-- closure, a cancellation, the published ranking. Written in the same
-- transaction as the change. Platform-level because an organisation reads
-- its notices from every municipality at once; they carry only what is
-- public anyway (the call's title and the kind of change).
CREATE TABLE organisation_notices (
    id              uuid        PRIMARY KEY,
    organisation_id uuid        NOT NULL REFERENCES organisations (id),
    tenant_id       uuid        NOT NULL REFERENCES tenants (id),
    kind            text        NOT NULL,
    call_id         uuid        NOT NULL,
    title           text        NOT NULL,
    summary         jsonb       NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL
);
CREATE INDEX organisation_notices_org_idx ON organisation_notices (organisation_id, id DESC);
REVOKE ALL ON organisation_notices FROM PUBLIC;
GRANT SELECT, INSERT ON organisation_notices TO coprod_app;
