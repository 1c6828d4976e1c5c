-- The network of partnerships, as aggregates only: which organisations
-- worked with a municipality (network_ties) and with each other in its
-- processes (network_alliances), counted by kind and year. Each
-- municipality's snapshot job fills its own rows in its own scope. A
-- region's analysts read its municipalities' rows through a second,
-- read-only policy, as for report_snapshots; no tenant row is lifted.
-- Organisations are platform-wide, with public names.
CREATE TABLE network_ties (
    tenant_id       uuid        NOT NULL REFERENCES tenants (id),
    organisation_id uuid        NOT NULL REFERENCES organisations (id),
    year            integer     NOT NULL CHECK (year BETWEEN 1900 AND 9999),
    applications    integer     NOT NULL CHECK (applications >= 0),
    agreements      integer     NOT NULL CHECK (agreements >= 0),
    pilots          integer     NOT NULL CHECK (pilots >= 0),
    computed_at     timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, organisation_id, year)
);
ALTER TABLE network_ties ENABLE ROW LEVEL SECURITY;
ALTER TABLE network_ties FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON network_ties
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());
CREATE POLICY region_reads ON network_ties FOR SELECT
    USING (tenant_id IN (SELECT t.id FROM tenants t WHERE t.region_id = app_current_tenant()));

-- Two organisations in the same process; organisation_id < partner_id, so
-- a pair has one row per municipality and year.
CREATE TABLE network_alliances (
    tenant_id       uuid        NOT NULL REFERENCES tenants (id),
    organisation_id uuid        NOT NULL REFERENCES organisations (id),
    partner_id      uuid        NOT NULL REFERENCES organisations (id),
    year            integer     NOT NULL CHECK (year BETWEEN 1900 AND 9999),
    applications    integer     NOT NULL CHECK (applications >= 0),
    agreements      integer     NOT NULL CHECK (agreements >= 0),
    pilots          integer     NOT NULL CHECK (pilots >= 0),
    computed_at     timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, organisation_id, partner_id, year),
    CONSTRAINT network_alliances_ordered CHECK (organisation_id < partner_id)
);
ALTER TABLE network_alliances ENABLE ROW LEVEL SECURITY;
ALTER TABLE network_alliances FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON network_alliances
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());
CREATE POLICY region_reads ON network_alliances FOR SELECT
    USING (tenant_id IN (SELECT t.id FROM tenants t WHERE t.region_id = app_current_tenant()));

REVOKE ALL ON network_ties, network_alliances FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON network_ties, network_alliances TO coprod_app;
