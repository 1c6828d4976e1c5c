-- Per-tenant settings, planned reminders, and in-app notifications.

CREATE TABLE tenant_settings (
    tenant_id       uuid        NOT NULL REFERENCES tenants (id),
    reminder_days   integer[]   NOT NULL DEFAULT '{1,7}',
    escalation_days integer     NOT NULL DEFAULT 7,
    locale          text        NOT NULL DEFAULT 'it' CHECK (locale IN ('it', 'en')),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id)
);

-- One reminder per subject, period and kind: planning twice, or by two
-- workers at once, inserts it once.
CREATE TABLE reminders (
    tenant_id    uuid        NOT NULL REFERENCES tenants (id),
    id           uuid        NOT NULL,
    subject_type text        NOT NULL CHECK (subject_type IN ('measurement', 'deliverable')),
    subject_id   uuid        NOT NULL,
    period       text        NOT NULL DEFAULT '',
    kind         text        NOT NULL,
    agreement_id uuid        NOT NULL,
    title        text        NOT NULL,
    due_at       timestamptz NOT NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT reminders_once_key UNIQUE (tenant_id, subject_type, subject_id, period, kind),
    FOREIGN KEY (tenant_id, agreement_id) REFERENCES agreements (tenant_id, id)
);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['tenant_settings', 'reminders'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant())', t);
        EXECUTE format('REVOKE ALL ON %I FROM PUBLIC', t);
    END LOOP;
END $$;
GRANT SELECT, INSERT, UPDATE ON tenant_settings TO coprod_app;
GRANT SELECT, INSERT ON reminders TO coprod_app;

-- In-app notifications of a user (across tenants: a platform user hears
-- from every municipality). Titles only; details stay in the tenant.
CREATE TABLE user_notifications (
    id         uuid        PRIMARY KEY,
    user_id    uuid        NOT NULL REFERENCES users (id),
    tenant_id  uuid        NOT NULL REFERENCES tenants (id),
    kind       text        NOT NULL,
    title      text        NOT NULL,
    created_at timestamptz NOT NULL,
    read_at    timestamptz
);
CREATE INDEX user_notifications_user_idx ON user_notifications (user_id, created_at DESC, id DESC);
REVOKE ALL ON user_notifications FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE ON user_notifications TO coprod_app;
