-- Which tenants a person belongs to, without their roles there: lets /v1/me
-- list a user's tenants, which RLS on tenant_memberships (rightly) hides from
-- a platform-level query. Maintained with tenant_memberships, in the same
-- transaction.
CREATE TABLE user_tenants (
    user_id   uuid NOT NULL REFERENCES users (id),
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    PRIMARY KEY (user_id, tenant_id)
);
REVOKE ALL ON user_tenants FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON user_tenants TO coprod_app;
