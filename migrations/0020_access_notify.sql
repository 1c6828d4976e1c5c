-- Changes of access — a user's removal, memberships of tenants and of
-- organisations, operator grants, a tenant's row or identity provider — are announced on the
-- channel coprod_access at commit, so that every coprod process forgets what
-- it remembered of them (ADR 0022). Payloads: 'u:<user id>', 't:<tenant id>',
-- '*' (a TRUNCATE: forget everything). A rolled-back change sends nothing.
CREATE FUNCTION notify_access_changed() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_LEVEL = 'STATEMENT' THEN
        PERFORM pg_notify('coprod_access', '*');
    ELSIF TG_TABLE_NAME = 'identity_providers' THEN
        PERFORM pg_notify('coprod_access', 't:' || COALESCE(NEW.tenant_id, OLD.tenant_id));
    ELSIF TG_TABLE_NAME IN ('tenants', 'users') THEN
        PERFORM pg_notify('coprod_access', (CASE TG_TABLE_NAME WHEN 'tenants' THEN 't:' ELSE 'u:' END) || COALESCE(NEW.id, OLD.id));
    ELSE
        PERFORM pg_notify('coprod_access', 'u:' || COALESCE(NEW.user_id, OLD.user_id));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER access_changed AFTER UPDATE OR DELETE ON tenants
    FOR EACH ROW EXECUTE FUNCTION notify_access_changed();
-- A user's row changes at every login (last_login_at); what is remembered of
-- it is the id, so only its removal is announced.
CREATE TRIGGER access_changed AFTER DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION notify_access_changed();
CREATE TRIGGER access_changed AFTER INSERT OR UPDATE OR DELETE ON tenant_memberships
    FOR EACH ROW EXECUTE FUNCTION notify_access_changed();
CREATE TRIGGER access_changed AFTER INSERT OR UPDATE OR DELETE ON organisation_members
    FOR EACH ROW EXECUTE FUNCTION notify_access_changed();
CREATE TRIGGER access_changed AFTER INSERT OR UPDATE OR DELETE ON platform_operators
    FOR EACH ROW EXECUTE FUNCTION notify_access_changed();
CREATE TRIGGER access_changed AFTER INSERT OR UPDATE OR DELETE ON identity_providers
    FOR EACH ROW EXECUTE FUNCTION notify_access_changed();
CREATE TRIGGER access_truncated AFTER TRUNCATE ON identity_providers
    FOR EACH STATEMENT EXECUTE FUNCTION notify_access_changed();
CREATE TRIGGER access_truncated AFTER TRUNCATE ON tenants
    FOR EACH STATEMENT EXECUTE FUNCTION notify_access_changed();
CREATE TRIGGER access_truncated AFTER TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION notify_access_changed();
CREATE TRIGGER access_truncated AFTER TRUNCATE ON tenant_memberships
    FOR EACH STATEMENT EXECUTE FUNCTION notify_access_changed();
CREATE TRIGGER access_truncated AFTER TRUNCATE ON organisation_members
    FOR EACH STATEMENT EXECUTE FUNCTION notify_access_changed();
CREATE TRIGGER access_truncated AFTER TRUNCATE ON platform_operators
    FOR EACH STATEMENT EXECUTE FUNCTION notify_access_changed();
