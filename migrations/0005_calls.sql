-- Calls for co-design, their questions and answers, and the public
-- projection that transparency reads serve without login.

CREATE TABLE calls (
    tenant_id                uuid        NOT NULL REFERENCES tenants (id),
    id                       uuid        NOT NULL,
    title                    text        NOT NULL,
    summary                  text        NOT NULL DEFAULT '',
    policy_area              text        NOT NULL DEFAULT '',
    objectives               text[]      NOT NULL DEFAULT '{}',
    budget_public_cents      bigint      NOT NULL DEFAULT 0 CHECK (budget_public_cents >= 0),
    cofunding_expected_cents bigint      NOT NULL DEFAULT 0 CHECK (cofunding_expected_cents >= 0),
    max_per_project_cents    bigint      NOT NULL DEFAULT 0 CHECK (max_per_project_cents >= 0),
    duration_months          integer     NOT NULL DEFAULT 0,
    eligibility              jsonb       NOT NULL DEFAULT '{}',
    exclusion_grounds        text[]      NOT NULL DEFAULT '{}',
    runs_service             boolean     NOT NULL DEFAULT false,
    criteria                 jsonb       NOT NULL DEFAULT '[]',
    pass_threshold_bp        bigint      NOT NULL DEFAULT 0 CHECK (pass_threshold_bp BETWEEN 0 AND 10000),
    publication_at           timestamptz,
    questions_deadline       timestamptz,
    submission_deadline      timestamptz,
    min_publication_days     integer     NOT NULL,
    acts                     jsonb       NOT NULL DEFAULT '[]',
    status                   text        NOT NULL CHECK (status IN ('draft', 'published', 'closed', 'evaluating', 'ranked', 'concluded', 'cancelled')),
    cancel_reason            text        NOT NULL DEFAULT '',
    rules_version            integer     NOT NULL DEFAULT 0,
    amendments               jsonb       NOT NULL DEFAULT '[]',
    created_by               text        NOT NULL,
    created_at               timestamptz NOT NULL,
    updated_at               timestamptz NOT NULL,
    version                  integer     NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT calls_published_dates CHECK (status = 'draft' OR (publication_at IS NOT NULL AND submission_deadline IS NOT NULL))
);
CREATE INDEX calls_status_idx ON calls (tenant_id, status, submission_deadline);
ALTER TABLE calls ENABLE ROW LEVEL SECURITY;
ALTER TABLE calls FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON calls
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

CREATE TABLE call_questions (
    tenant_id       uuid        NOT NULL REFERENCES tenants (id),
    id              uuid        NOT NULL,
    call_id         uuid        NOT NULL,
    organisation_id uuid        NOT NULL REFERENCES organisations (id),
    asked_by        text        NOT NULL,
    text            text        NOT NULL,
    asked_at        timestamptz NOT NULL,
    answer          text        NOT NULL DEFAULT '',
    answered_by     text        NOT NULL DEFAULT '',
    answered_at     timestamptz,
    published       boolean     NOT NULL DEFAULT false,
    version         integer     NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, call_id) REFERENCES calls (tenant_id, id)
);
CREATE INDEX call_questions_call_idx ON call_questions (tenant_id, call_id, asked_at);
ALTER TABLE call_questions ENABLE ROW LEVEL SECURITY;
ALTER TABLE call_questions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON call_questions
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

-- What the law requires to publish (Amministrazione trasparente): a copy of
-- every non-draft call with its published FAQ, refreshed by the use cases in
-- the same transaction as each change. Platform-level so that the public
-- list spans all municipalities without lifting RLS on tenant rows.
CREATE TABLE public_calls (
    call_id             uuid        PRIMARY KEY,
    tenant_id           uuid        NOT NULL REFERENCES tenants (id),
    region_id           uuid        REFERENCES tenants (id),
    title               text        NOT NULL,
    policy_area         text        NOT NULL,
    status              text        NOT NULL,
    publication_at      timestamptz NOT NULL,
    submission_deadline timestamptz NOT NULL,
    doc                 jsonb       NOT NULL,
    version             integer     NOT NULL,
    updated_at          timestamptz NOT NULL
);
CREATE INDEX public_calls_list_idx ON public_calls (publication_at DESC, call_id);
CREATE INDEX public_calls_tenant_idx ON public_calls (tenant_id);
CREATE INDEX public_calls_region_idx ON public_calls (region_id);

REVOKE ALL ON calls, call_questions, public_calls FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE ON calls TO coprod_app;
GRANT SELECT, INSERT, UPDATE ON call_questions TO coprod_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON public_calls TO coprod_app;
