-- A region's day-by-day sums of its municipalities' snapshots, kept by the
-- aggregate_region job, so the overview reads one row per day instead of
-- one per municipality and day. Owned by the region: the usual policy.
CREATE TABLE region_trend (
    tenant_id              uuid        NOT NULL REFERENCES tenants (id),
    day                    date        NOT NULL,
    municipalities         integer     NOT NULL,
    budget_committed_cents bigint      NOT NULL,
    paid_cents             bigint      NOT NULL,
    applications           integer     NOT NULL,
    active_agreements      integer     NOT NULL,
    computed_at            timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, day)
);
ALTER TABLE region_trend ENABLE ROW LEVEL SECURITY;
ALTER TABLE region_trend FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON region_trend
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());
REVOKE ALL ON region_trend FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE ON region_trend TO coprod_app;
