-- Co-programming processes (art. 55 c. 2) with their contributions and the
-- calls drafted from their outputs, and the bottom-up initiatives that
-- organisations propose to a municipality.

CREATE TABLE coprogramming_processes (
    tenant_id     uuid        NOT NULL REFERENCES tenants (id),
    id            uuid        NOT NULL,
    title         text        NOT NULL,
    description   text        NOT NULL DEFAULT '',
    policy_area   text        NOT NULL,
    territory     text[]      NOT NULL DEFAULT '{}',
    period_from   date        NOT NULL,
    period_to     date        NOT NULL CHECK (period_to >= period_from),
    status        text        NOT NULL CHECK (status IN ('draft', 'open', 'closed', 'published', 'cancelled')),
    priorities    text[]      NOT NULL DEFAULT '{}',
    resources     text[]      NOT NULL DEFAULT '{}',
    summary       text        NOT NULL DEFAULT '',
    act           jsonb,
    cancel_reason text        NOT NULL DEFAULT '',
    created_by    text        NOT NULL,
    created_at    timestamptz NOT NULL,
    opened_at     timestamptz,
    closed_at     timestamptz,
    published_at  timestamptz,
    updated_at    timestamptz NOT NULL,
    version       integer     NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT coprogramming_published_act CHECK (status <> 'published' OR (act IS NOT NULL AND published_at IS NOT NULL))
);
CREATE INDEX coprogramming_processes_status_idx ON coprogramming_processes (tenant_id, status, id DESC);

-- A citizen's contribution keeps at most a name: there is no column for any
-- other personal data.
CREATE TABLE coprogramming_contributions (
    tenant_id       uuid        NOT NULL REFERENCES tenants (id),
    id              uuid        NOT NULL,
    process_id      uuid        NOT NULL,
    kind            text        NOT NULL CHECK (kind IN ('organisation', 'citizen')),
    organisation_id uuid        REFERENCES organisations (id),
    citizen_name    text        NOT NULL DEFAULT '',
    needs           text        NOT NULL DEFAULT '',
    data            text        NOT NULL DEFAULT '',
    resources       text        NOT NULL DEFAULT '',
    recorded_by     text        NOT NULL,
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, process_id) REFERENCES coprogramming_processes (tenant_id, id),
    CONSTRAINT coprogramming_contribution_kind CHECK (
        (kind = 'organisation' AND organisation_id IS NOT NULL AND citizen_name = '') OR
        (kind = 'citizen' AND organisation_id IS NULL))
);
CREATE INDEX coprogramming_contributions_process_idx ON coprogramming_contributions (tenant_id, process_id, id);

-- The link from a call to the process it was drafted from, kept apart from
-- the calls table so the call stays unaware of where it came from.
CREATE TABLE coprogramming_calls (
    tenant_id  uuid        NOT NULL REFERENCES tenants (id),
    call_id    uuid        NOT NULL,
    process_id uuid        NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, call_id),
    FOREIGN KEY (tenant_id, call_id) REFERENCES calls (tenant_id, id),
    FOREIGN KEY (tenant_id, process_id) REFERENCES coprogramming_processes (tenant_id, id)
);
CREATE INDEX coprogramming_calls_process_idx ON coprogramming_calls (tenant_id, process_id);

CREATE TABLE initiatives (
    tenant_id         uuid        NOT NULL REFERENCES tenants (id),
    id                uuid        NOT NULL,
    organisation_id   uuid        NOT NULL REFERENCES organisations (id),
    title             text        NOT NULL,
    problem           text        NOT NULL,
    target_group      text        NOT NULL,
    approach          text        NOT NULL,
    policy_area       text        NOT NULL DEFAULT '',
    partners          text[]      NOT NULL DEFAULT '{}',
    resources_offered text        NOT NULL DEFAULT '',
    status            text        NOT NULL CHECK (status IN ('proposed', 'in_triage', 'accepted', 'declined', 'merged', 'withdrawn')),
    triage_deadline   timestamptz,
    route             text        NOT NULL DEFAULT '' CHECK (route IN ('', 'coprogramming', 'call')),
    process_id        uuid,
    call_id           uuid,
    decline_reason    text        NOT NULL DEFAULT '',
    merged_into       uuid,
    proposed_by       text        NOT NULL,
    proposed_at       timestamptz NOT NULL,
    triaged_at        timestamptz,
    updated_at        timestamptz NOT NULL,
    version           integer     NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, process_id) REFERENCES coprogramming_processes (tenant_id, id),
    FOREIGN KEY (tenant_id, call_id) REFERENCES calls (tenant_id, id),
    FOREIGN KEY (tenant_id, merged_into) REFERENCES initiatives (tenant_id, id),
    CONSTRAINT initiatives_triage CHECK (status NOT IN ('in_triage', 'accepted', 'declined', 'merged') OR triage_deadline IS NOT NULL),
    CONSTRAINT initiatives_outcome CHECK (
        (status <> 'accepted' OR (route = 'coprogramming' AND process_id IS NOT NULL) OR (route = 'call' AND call_id IS NOT NULL)) AND
        (status <> 'declined' OR decline_reason <> '') AND
        (status <> 'merged' OR (merged_into IS NOT NULL AND merged_into <> id)))
);
CREATE INDEX initiatives_list_idx ON initiatives (tenant_id, id DESC);
CREATE INDEX initiatives_triage_idx ON initiatives (tenant_id, triage_deadline) WHERE status = 'in_triage';

ALTER TABLE coprogramming_processes ENABLE ROW LEVEL SECURITY;
ALTER TABLE coprogramming_processes FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON coprogramming_processes
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());
ALTER TABLE coprogramming_contributions ENABLE ROW LEVEL SECURITY;
ALTER TABLE coprogramming_contributions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON coprogramming_contributions
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());
ALTER TABLE coprogramming_calls ENABLE ROW LEVEL SECURITY;
ALTER TABLE coprogramming_calls FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON coprogramming_calls
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());
ALTER TABLE initiatives ENABLE ROW LEVEL SECURITY;
ALTER TABLE initiatives FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON initiatives
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

REVOKE ALL ON coprogramming_processes, coprogramming_contributions, coprogramming_calls, initiatives FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE ON coprogramming_processes TO coprod_app;
GRANT SELECT, INSERT ON coprogramming_contributions, coprogramming_calls TO coprod_app;
GRANT SELECT, INSERT, UPDATE ON initiatives TO coprod_app;
