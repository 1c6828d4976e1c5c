-- Agreements (convenzioni), their deliverables, and pilots.

CREATE TABLE agreements (
    tenant_id          uuid        NOT NULL REFERENCES tenants (id),
    id                 uuid        NOT NULL,
    call_id            uuid,
    title              text        NOT NULL,
    objectives         text[]      NOT NULL DEFAULT '{}',
    obligations        text[]      NOT NULL DEFAULT '{}',
    revocation_grounds text[]      NOT NULL DEFAULT '{}',
    parties            jsonb       NOT NULL,
    org_ids            uuid[]      NOT NULL, -- the parties, for "my agreements"
    starts_on          timestamptz NOT NULL,
    ends_on            timestamptz NOT NULL,
    budget             jsonb       NOT NULL,
    payment_mode       text        NOT NULL CHECK (payment_mode IN ('cost_reimbursement', 'outcome_based', 'mixed')),
    schedule           jsonb       NOT NULL DEFAULT '[]',
    officer_signed_by  text        NOT NULL DEFAULT '',
    officer_signed_at  timestamptz,
    status             text        NOT NULL CHECK (status IN ('draft', 'signed', 'active', 'suspended', 'closed', 'terminated')),
    status_reason      text        NOT NULL DEFAULT '',
    amendments         jsonb       NOT NULL DEFAULT '[]',
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    version            integer     NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, call_id) REFERENCES calls (tenant_id, id)
);
CREATE INDEX agreements_orgs_idx ON agreements USING gin (org_ids);
ALTER TABLE agreements ENABLE ROW LEVEL SECURITY;
ALTER TABLE agreements FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON agreements
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

CREATE TABLE deliverables (
    tenant_id    uuid        NOT NULL REFERENCES tenants (id),
    id           uuid        NOT NULL,
    agreement_id uuid        NOT NULL,
    title        text        NOT NULL,
    due          timestamptz NOT NULL,
    status       text        NOT NULL CHECK (status IN ('new', 'submitted', 'in_review', 'approved', 'rejected')),
    note         text        NOT NULL DEFAULT '',
    submitted_by text        NOT NULL DEFAULT '',
    reviewed_by  text        NOT NULL DEFAULT '',
    updated_at   timestamptz NOT NULL,
    version      integer     NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, agreement_id) REFERENCES agreements (tenant_id, id)
);
CREATE INDEX deliverables_due_idx ON deliverables (tenant_id, status, due);
ALTER TABLE deliverables ENABLE ROW LEVEL SECURITY;
ALTER TABLE deliverables FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON deliverables
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

CREATE TABLE pilots (
    tenant_id     uuid        NOT NULL REFERENCES tenants (id),
    id            uuid        NOT NULL,
    agreement_id  uuid        NOT NULL,
    title         text        NOT NULL,
    hypothesis    text        NOT NULL,
    site_istat    text        CHECK (site_istat ~ '^[0-9]{6}$'),
    neighbourhood text        NOT NULL DEFAULT '',
    cohort_size   integer     NOT NULL CHECK (cohort_size > 0),
    starts_on     timestamptz NOT NULL,
    ends_on       timestamptz NOT NULL,
    status        text        NOT NULL CHECK (status IN ('designed', 'running', 'evaluating', 'decided')),
    decision      text        NOT NULL DEFAULT '' CHECK (decision IN ('', 'scale', 'iterate', 'stop')),
    decision_note text        NOT NULL DEFAULT '',
    follow_up_kind text       NOT NULL DEFAULT '' CHECK (follow_up_kind IN ('', 'call', 'agreement')),
    follow_up_id  uuid,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    version       integer     NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, agreement_id) REFERENCES agreements (tenant_id, id)
);
ALTER TABLE pilots ENABLE ROW LEVEL SECURITY;
ALTER TABLE pilots FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON pilots
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

REVOKE ALL ON agreements, deliverables, pilots FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE ON agreements, deliverables, pilots TO coprod_app;
