-- Monitoring: the tenant's indicator library, assignments to agreements and
-- pilots, measurements (aggregate counts only), payment rules and outcome
-- payments.

CREATE TABLE indicator_definitions (
    tenant_id  uuid        NOT NULL REFERENCES tenants (id),
    code       text        NOT NULL,
    definition jsonb       NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, code)
);

CREATE TABLE indicator_assignments (
    tenant_id      uuid        NOT NULL REFERENCES tenants (id),
    id             uuid        NOT NULL,
    agreement_id   uuid        NOT NULL,
    pilot_id       uuid,
    indicator_code text        NOT NULL,
    assignment     jsonb       NOT NULL, -- baseline, targets, weight, frequency
    created_at     timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, agreement_id) REFERENCES agreements (tenant_id, id),
    FOREIGN KEY (tenant_id, pilot_id) REFERENCES pilots (tenant_id, id),
    FOREIGN KEY (tenant_id, indicator_code) REFERENCES indicator_definitions (tenant_id, code)
);
CREATE INDEX indicator_assignments_agreement_idx ON indicator_assignments (tenant_id, agreement_id);

-- Aggregate counts of people only (age band, gender, vulnerability): no
-- column can hold a name or a personal identifier.
CREATE TABLE measurements (
    tenant_id       uuid        NOT NULL REFERENCES tenants (id),
    id              uuid        NOT NULL,
    assignment_id   uuid        NOT NULL,
    period          text        NOT NULL,
    revision        integer     NOT NULL CHECK (revision >= 1),
    value_milli     bigint      NOT NULL,
    numerator_milli bigint,
    denominator_milli bigint CHECK (denominator_milli > 0),
    people          jsonb       NOT NULL DEFAULT '[]',
    evidence        text        NOT NULL DEFAULT '',
    organisation_id uuid        NOT NULL REFERENCES organisations (id),
    submitted_by    text        NOT NULL,
    submitted_at    timestamptz NOT NULL,
    status          text        NOT NULL CHECK (status IN ('draft', 'submitted', 'verified', 'rejected', 'disputed', 'locked')),
    decided_by      text        NOT NULL DEFAULT '',
    decided_at      timestamptz,
    reason          text        NOT NULL DEFAULT '',
    version         integer     NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, assignment_id, period, revision),
    FOREIGN KEY (tenant_id, assignment_id) REFERENCES indicator_assignments (tenant_id, id)
);

CREATE TABLE payment_rules (
    tenant_id     uuid        NOT NULL REFERENCES tenants (id),
    id            uuid        NOT NULL,
    assignment_id uuid        NOT NULL,
    rule          jsonb       NOT NULL,
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, assignment_id) REFERENCES indicator_assignments (tenant_id, id)
);

CREATE TABLE outcome_payments (
    tenant_id      uuid        NOT NULL REFERENCES tenants (id),
    id             uuid        NOT NULL,
    rule_id        uuid        NOT NULL,
    agreement_id   uuid        NOT NULL,
    measurement_id uuid        NOT NULL,
    period         text        NOT NULL,
    cents          bigint      NOT NULL CHECK (cents >= 0),
    earned_cents   bigint      NOT NULL CHECK (earned_cents >= 0),
    reason         text        NOT NULL,
    final          boolean     NOT NULL,
    status         text        NOT NULL CHECK (status IN ('computed', 'approved', 'paid', 'withheld', 'disputed')),
    note           text        NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    version        integer     NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, id),
    -- A rule computes once per period, however often verification is repeated.
    CONSTRAINT outcome_payments_rule_period_key UNIQUE (tenant_id, rule_id, period),
    FOREIGN KEY (tenant_id, rule_id) REFERENCES payment_rules (tenant_id, id),
    FOREIGN KEY (tenant_id, agreement_id) REFERENCES agreements (tenant_id, id),
    FOREIGN KEY (tenant_id, measurement_id) REFERENCES measurements (tenant_id, id)
);
CREATE INDEX outcome_payments_agreement_idx ON outcome_payments (tenant_id, agreement_id);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['indicator_definitions', 'indicator_assignments', 'measurements', 'payment_rules', 'outcome_payments'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant())', t);
        EXECUTE format('REVOKE ALL ON %I FROM PUBLIC', t);
    END LOOP;
END $$;
GRANT SELECT, INSERT ON indicator_definitions, indicator_assignments, payment_rules TO coprod_app;
GRANT SELECT, INSERT, UPDATE ON measurements, outcome_payments TO coprod_app;
