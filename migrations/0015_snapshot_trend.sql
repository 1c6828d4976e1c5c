-- The figures a region's trend sums, as columns: the trend of 1,500
-- municipalities over 90 days then sums columns instead of parsing 135,000
-- JSON documents.
ALTER TABLE report_snapshots
    ADD COLUMN budget_committed_cents bigint  NOT NULL DEFAULT 0,
    ADD COLUMN paid_cents             bigint  NOT NULL DEFAULT 0,
    ADD COLUMN applications           integer NOT NULL DEFAULT 0,
    ADD COLUMN active_agreements      integer NOT NULL DEFAULT 0;
UPDATE report_snapshots SET
    budget_committed_cents = COALESCE((figures->>'budgetCommittedCents')::bigint, 0),
    paid_cents = COALESCE((figures->>'paidCents')::bigint, 0),
    applications = COALESCE((figures->>'applications')::integer, 0),
    active_agreements = COALESCE((figures->'agreementsByStatus'->>'active')::integer, 0);
-- Covering: the trend is an index-only scan, never touching the documents.
CREATE INDEX report_snapshots_trend_idx ON report_snapshots (day, tenant_id)
    INCLUDE (budget_committed_cents, paid_cents, applications, active_agreements);
