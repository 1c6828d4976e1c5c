-- Practice catalogue: a decided pilot published as a practice other
-- municipalities can read and replicate (ADR 0016).

-- The practice as its municipality keeps it: tenant-owned, the usual policy.
-- template holds what a replication copies (criteria, indicators, payment
-- rules), captured at publication because the replicating tenant cannot
-- read these rows.
CREATE TABLE practices (
    tenant_id       uuid        NOT NULL REFERENCES tenants (id),
    id              uuid        NOT NULL,
    pilot_id        uuid        NOT NULL,
    agreement_id    uuid        NOT NULL,
    call_id         uuid,
    replicates_id   uuid,       -- the practice this one's call replicated, if any
    status          text        NOT NULL CHECK (status IN ('published', 'withdrawn')),
    doc             jsonb       NOT NULL,
    published_at    timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    version         integer     NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, pilot_id),
    FOREIGN KEY (tenant_id, pilot_id) REFERENCES pilots (tenant_id, id),
    FOREIGN KEY (tenant_id, agreement_id) REFERENCES agreements (tenant_id, id)
);
ALTER TABLE practices ENABLE ROW LEVEL SECURITY;
ALTER TABLE practices FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON practices
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

-- A replication, owned by the replicating municipality: its draft call and
-- its own copy of the practice's template (never shared with the source).
CREATE TABLE practice_replications (
    tenant_id          uuid        NOT NULL REFERENCES tenants (id),
    id                 uuid        NOT NULL,
    practice_id        uuid        NOT NULL, -- of another tenant: no foreign key across tenants
    source_tenant_id   uuid        NOT NULL REFERENCES tenants (id),
    call_id            uuid        NOT NULL,
    template           jsonb       NOT NULL,
    created_by         text        NOT NULL,
    created_at         timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, call_id),
    FOREIGN KEY (tenant_id, call_id) REFERENCES calls (tenant_id, id)
);
ALTER TABLE practice_replications ENABLE ROW LEVEL SECURITY;
ALTER TABLE practice_replications FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON practice_replications
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

-- The public catalogue: a copy of each published practice (only aggregates
-- that passed disclosure control), refreshed in the same transaction as each
-- change. Platform-level, like public_calls, so that the catalogue spans all
-- municipalities without lifting RLS on tenant rows.
CREATE TABLE public_practices (
    practice_id    uuid        PRIMARY KEY,
    tenant_id      uuid        NOT NULL REFERENCES tenants (id),
    region_id      uuid        REFERENCES tenants (id),
    policy_area    text        NOT NULL,
    outcome        text        NOT NULL,
    sdg_targets    text[]      NOT NULL DEFAULT '{}',
    bes_domains    text[]      NOT NULL DEFAULT '{}',
    search         text        NOT NULL, -- lower-cased title, problem and approach
    published_at   timestamptz NOT NULL,
    doc            jsonb       NOT NULL, -- the public view
    template       jsonb       NOT NULL, -- the full template a replication copies
    updated_at     timestamptz NOT NULL
);
CREATE INDEX public_practices_list_idx ON public_practices (published_at DESC, practice_id);
CREATE INDEX public_practices_region_idx ON public_practices (region_id);
CREATE INDEX public_practices_sdg_idx ON public_practices USING gin (sdg_targets);
CREATE INDEX public_practices_bes_idx ON public_practices USING gin (bes_domains);

-- Which municipality replicated which practice, and the practice its own
-- pilot later became: public facts, read with the source practice.
CREATE TABLE public_practice_replications (
    replication_id      uuid        PRIMARY KEY,
    practice_id         uuid        NOT NULL,
    tenant_id           uuid        NOT NULL REFERENCES tenants (id),
    call_id             uuid        NOT NULL,
    replica_practice_id uuid,
    created_at          timestamptz NOT NULL,
    UNIQUE (tenant_id, call_id)
);
CREATE INDEX public_practice_replications_practice_idx ON public_practice_replications (practice_id, created_at);

REVOKE ALL ON practices, practice_replications, public_practices, public_practice_replications FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE ON practices TO coprod_app;
GRANT SELECT, INSERT ON practice_replications TO coprod_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON public_practices TO coprod_app;
GRANT SELECT, INSERT, UPDATE ON public_practice_replications TO coprod_app;
