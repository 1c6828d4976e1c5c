-- Foundation: the tenant registry, the tenant-scoping function RLS policies
-- use, and the append-only audit trail.

-- The tenant a transaction acts for, set with
--   SELECT set_config('app.tenant_id', '<uuid>', true)
-- NULLIF: once a local setting has been set in a session, it reads '' (not
-- NULL) after the transaction ends; '' must mean "no tenant", not an error.
-- An inlinable SQL function, so the planner evaluates it once per query.
CREATE FUNCTION app_current_tenant() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid $$;

-- Platform-level registry of municipalities and regions. Not tenant-owned:
-- the platform operator manages it, and every request resolves its tenant here.
CREATE TABLE tenants (
    id          uuid        PRIMARY KEY,
    slug        text        NOT NULL CONSTRAINT tenants_slug_key UNIQUE,
    name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kind        text        NOT NULL CHECK (kind IN ('municipality', 'region')),
    istat_code  text        CHECK (istat_code ~ '^[0-9]{2}$' OR istat_code ~ '^[0-9]{6}$'),
    region_id   uuid        REFERENCES tenants (id),
    population  integer     NOT NULL DEFAULT 0 CHECK (population >= 0),
    status      text        NOT NULL CHECK (status IN ('provisioning', 'active', 'suspended', 'offboarded')),
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    version     integer     NOT NULL DEFAULT 1 CHECK (version >= 1),
    CONSTRAINT tenants_region_parent CHECK ((kind = 'region') = (region_id IS NULL)),
    CONSTRAINT tenants_slug_format CHECK (slug ~ '^[a-z0-9](?:[a-z0-9]|-[a-z0-9]){1,62}$')
);
CREATE UNIQUE INDEX tenants_istat_key ON tenants (kind, istat_code) WHERE istat_code IS NOT NULL;
CREATE INDEX tenants_region_idx ON tenants (region_id, id);
CREATE INDEX tenants_kind_status_idx ON tenants (kind, status, id);

-- The audit trail of each tenant: who did what to which object, and when.
-- Append-only for the service: coprod_app may INSERT and SELECT, nothing else.
CREATE TABLE audit_events (
    tenant_id   uuid        NOT NULL REFERENCES tenants (id),
    id          uuid        NOT NULL,
    at          timestamptz NOT NULL,
    actor       text        NOT NULL,
    action      text        NOT NULL,
    object_type text        NOT NULL,
    object_id   uuid        NOT NULL,
    summary     jsonb       NOT NULL DEFAULT '{}',
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX audit_events_object_idx ON audit_events (tenant_id, object_id, id);
ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_events
    USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO coprod_app;
GRANT SELECT, INSERT, UPDATE ON tenants TO coprod_app;
GRANT SELECT, INSERT ON audit_events TO coprod_app;
