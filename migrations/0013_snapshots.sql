-- Daily snapshots of each tenant's key figures: aggregates only. A region's
-- analysts read those of the municipalities of their region through a
-- second, read-only policy; no other tenant row is ever readable by a region.
CREATE TABLE report_snapshots (
    tenant_id uuid        NOT NULL REFERENCES tenants (id),
    day       date        NOT NULL,
    figures   jsonb       NOT NULL,
    taken_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, day)
);
ALTER TABLE report_snapshots ENABLE ROW LEVEL SECURITY;
ALTER TABLE report_snapshots FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON report_snapshots
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());
CREATE POLICY region_reads ON report_snapshots FOR SELECT
    USING (tenant_id IN (SELECT t.id FROM tenants t WHERE t.region_id = app_current_tenant()));
REVOKE ALL ON report_snapshots FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE ON report_snapshots TO coprod_app;
