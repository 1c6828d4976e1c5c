package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/audit"
	"github.com/coprod/coprod/domain/monitoring"
	"github.com/coprod/coprod/domain/report"
)

// Reports adapts the store to report.Store.
func (s *Store) Reports() report.Store { return reportStore{s} }

type reportStore struct{ s *Store }

func (r reportStore) Atomic(ctx context.Context, tenant uuid.UUID, fn func(report.Tx) error) error {
	return r.s.run(ctx, tenant, func(tx pgx.Tx) error { return fn(&reportTx{tx: tx, tenant: tenant, store: r.s}) })
}

type reportTx struct {
	tx     pgx.Tx
	tenant uuid.UUID
	store  *Store
}

func (t *reportTx) Monitoring() monitoring.Tx {
	return &monitoringTx{&agreementTx{tx: t.tx, tenant: t.tenant}}
}

func (t *reportTx) Audit() audit.Log { return &auditLog{tx: t.tx, tenant: t.tenant} }
func (t *reportTx) Publish(ctx context.Context, events ...domain.Event) error {
	return t.store.publish(ctx, t.tx, events...)
}

// countBy runs a "SELECT key, count" query into a map.
func (t *reportTx) countBy(ctx context.Context, q string) (map[string]int, error) {
	rows, err := t.tx.Query(ctx, q, t.tenant)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	var k string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&k, &n}, func() error { out[k] = n; return nil })
	return out, err
}

func (t *reportTx) Compute(ctx context.Context, now time.Time) (report.Figures, error) {
	var f report.Figures
	var err error
	for _, q := range []struct {
		into *map[string]int
		sql  string
	}{
		{&f.CallsByStatus, `SELECT status, count(*) FROM calls WHERE tenant_id = $1 GROUP BY status`},
		{&f.CallsByPolicyArea, `SELECT policy_area, count(*) FROM calls WHERE tenant_id = $1 AND status <> 'draft' GROUP BY policy_area`},
		{&f.ApplicationsByStatus, `SELECT status, count(*) FROM applications WHERE tenant_id = $1 GROUP BY status`},
		{&f.Agreements, `SELECT status, count(*) FROM agreements WHERE tenant_id = $1 GROUP BY status`},
		{&f.PilotsByStatus, `SELECT status, count(*) FROM pilots WHERE tenant_id = $1 GROUP BY status`},
	} {
		if *q.into, err = t.countBy(ctx, q.sql); err != nil {
			return f, fmt.Errorf("report figures: %w", err)
		}
	}
	for _, n := range f.ApplicationsByStatus {
		f.Applications += n
	}
	err = t.tx.QueryRow(ctx, `SELECT
			COALESCE((SELECT sum((budget->>'publicCents')::bigint) FROM agreements
				WHERE tenant_id = $1 AND status IN ('signed', 'active', 'suspended', 'closed')), 0),
			COALESCE((SELECT sum(cents) FROM outcome_payments WHERE tenant_id = $1 AND status = 'paid'), 0)`, t.tenant).
		Scan(&f.BudgetCommittedCents, &f.PaidCents)
	if err != nil {
		return f, fmt.Errorf("report money: %w", err)
	}
	rows, err := t.tx.Query(ctx, `SELECT COALESCE(c.policy_area, ''),
			COALESCE(sum((a.budget->>'publicCents')::bigint) FILTER (WHERE a.status IN ('signed', 'active', 'suspended', 'closed')), 0),
			COALESCE(sum(p.paid), 0)
		FROM agreements a
		LEFT JOIN calls c ON c.tenant_id = a.tenant_id AND c.id = a.call_id
		LEFT JOIN (SELECT agreement_id, sum(cents) AS paid FROM outcome_payments WHERE tenant_id = $1 AND status = 'paid'
			GROUP BY agreement_id) p ON p.agreement_id = a.id
		WHERE a.tenant_id = $1 GROUP BY 1`, t.tenant)
	if err != nil {
		return f, fmt.Errorf("report money by area: %w", err)
	}
	f.MoneyByPolicyArea = map[string]report.Money{}
	var area string
	var m report.Money
	if _, err := pgx.ForEachRow(rows, []any{&area, &m.CommittedCents, &m.PaidCents}, func() error {
		if m != (report.Money{}) {
			f.MoneyByPolicyArea[area] = m
		}
		return nil
	}); err != nil {
		return f, err
	}
	// People: the latest verified or locked revision of the latest period
	// measured of each assignment, its cells summed by category.
	rows, err = t.tx.Query(ctx, `WITH latest AS (
			SELECT DISTINCT ON (assignment_id) people FROM measurements
			WHERE tenant_id = $1 AND status IN ('verified', 'locked')
			ORDER BY assignment_id, period DESC, revision DESC)
		SELECT c->>'AgeBand', c->>'Gender', c->>'Vulnerability', sum((c->>'Count')::bigint)
		FROM latest, jsonb_array_elements(people) c
		GROUP BY 1, 2, 3 ORDER BY 3, 1, 2`, t.tenant)
	if err != nil {
		return f, fmt.Errorf("report people: %w", err)
	}
	f.People = []report.PeopleCell{}
	var c report.PeopleCell
	_, err = pgx.ForEachRow(rows, []any{&c.AgeBand, &c.Gender, &c.Vulnerability, &c.Count}, func() error {
		f.People = append(f.People, c)
		return nil
	})
	return f, err
}

func (t *reportTx) Put(ctx context.Context, s report.Snapshot) error {
	b, err := json.Marshal(s.Figures)
	if err != nil {
		return err
	}
	f := s.Figures
	_, err = t.tx.Exec(ctx, `INSERT INTO report_snapshots (tenant_id, day, figures, taken_at, budget_committed_cents, paid_cents, applications, active_agreements)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (tenant_id, day) DO UPDATE SET figures = EXCLUDED.figures, taken_at = EXCLUDED.taken_at,
			budget_committed_cents = EXCLUDED.budget_committed_cents, paid_cents = EXCLUDED.paid_cents,
			applications = EXCLUDED.applications, active_agreements = EXCLUDED.active_agreements`,
		s.TenantID, s.Day, b, s.TakenAt, f.BudgetCommittedCents, f.PaidCents, f.Applications, f.Agreements["active"])
	return translate(err)
}

func (t *reportTx) Latest(ctx context.Context, from, to time.Time) ([]report.Snapshot, error) {
	// JIT compiling costs more than this query of 1,500 index probes takes
	// (measured: ~190 ms against ~25 ms).
	if _, err := t.tx.Exec(ctx, `SET LOCAL jit = off`); err != nil {
		return nil, err
	}
	// One index probe per tenant of the registry that may have snapshots
	// here (the tenant and, for a region, its municipalities; row-level
	// security still decides what is read): the documents of other days are
	// never touched.
	return t.snapshots(ctx, `SELECT s.tenant_id, s.day, s.figures, s.taken_at
		FROM tenants t CROSS JOIN LATERAL (SELECT tenant_id, day, figures, taken_at FROM report_snapshots r
			WHERE r.tenant_id = t.id AND r.day BETWEEN $1 AND $2 ORDER BY r.day DESC LIMIT 1) s
		WHERE t.id = $3 OR t.region_id = $3 ORDER BY s.tenant_id`, from, to, t.tenant)
}

func (t *reportTx) Trend(ctx context.Context, from, to time.Time) ([]report.TrendPoint, error) {
	rows, err := t.tx.Query(ctx, `SELECT day, municipalities, budget_committed_cents, paid_cents, applications, active_agreements
		FROM region_trend WHERE tenant_id = $1 AND day BETWEEN $2 AND $3 AND municipalities > 0 ORDER BY day`, t.tenant, from, to)
	if err != nil {
		return nil, err
	}
	var out []report.TrendPoint
	var p report.TrendPoint
	_, err = pgx.ForEachRow(rows, []any{&p.Day, &p.Municipalities, &p.BudgetCommittedCents, &p.PaidCents, &p.Applications, &p.ActiveAgreements},
		func() error { out = append(out, p); return nil })
	return out, err
}

func (t *reportTx) SumDay(ctx context.Context, day time.Time) (report.TrendPoint, error) {
	p := report.TrendPoint{Day: day}
	// Serialise the sums of one region and day until commit: a sum that
	// started before another snapshot committed never overwrites a later one.
	if _, err := t.tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('region_trend:' || $1::text || ':' || $2::date, 0))`, t.tenant, day); err != nil {
		return p, err
	}
	err := t.tx.QueryRow(ctx, `SELECT count(*), COALESCE(sum(budget_committed_cents), 0), COALESCE(sum(paid_cents), 0),
			COALESCE(sum(applications), 0), COALESCE(sum(active_agreements), 0)
		FROM report_snapshots WHERE day = $1 AND tenant_id <> $2`, day, t.tenant).
		Scan(&p.Municipalities, &p.BudgetCommittedCents, &p.PaidCents, &p.Applications, &p.ActiveAgreements)
	return p, err
}

func (t *reportTx) PutTrend(ctx context.Context, p report.TrendPoint, at time.Time) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO region_trend (tenant_id, day, municipalities, budget_committed_cents, paid_cents, applications, active_agreements, computed_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (tenant_id, day) DO UPDATE SET municipalities = EXCLUDED.municipalities, budget_committed_cents = EXCLUDED.budget_committed_cents,
			paid_cents = EXCLUDED.paid_cents, applications = EXCLUDED.applications, active_agreements = EXCLUDED.active_agreements,
			computed_at = EXCLUDED.computed_at`,
		t.tenant, p.Day, p.Municipalities, p.BudgetCommittedCents, p.PaidCents, p.Applications, p.ActiveAgreements, at)
	return translate(err)
}

func (t *reportTx) Previous(ctx context.Context, day time.Time) (*report.Snapshot, error) {
	snaps, err := t.snapshots(ctx, `SELECT tenant_id, day, figures, taken_at FROM report_snapshots
		WHERE tenant_id = $1 AND day < $2 ORDER BY day DESC LIMIT 1`, t.tenant, day)
	if err != nil || len(snaps) == 0 {
		return nil, err
	}
	return &snaps[0], nil
}

func (t *reportTx) Region(ctx context.Context) (uuid.UUID, error) {
	var region *uuid.UUID
	err := t.tx.QueryRow(ctx, `SELECT region_id FROM tenants WHERE id = $1`, t.tenant).Scan(&region)
	if err != nil || region == nil {
		return uuid.Nil, err
	}
	return *region, nil
}

func (t *reportTx) snapshots(ctx context.Context, q string, args ...any) ([]report.Snapshot, error) {
	rows, err := t.tx.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	var out []report.Snapshot
	var s report.Snapshot
	var fig []byte
	_, err = pgx.ForEachRow(rows, []any{&s.TenantID, &s.Day, &fig, &s.TakenAt}, func() error {
		s.Figures = report.Figures{}
		if err := json.Unmarshal(fig, &s.Figures); err != nil {
			return fmt.Errorf("decode snapshot of %s: %w", s.TenantID, err)
		}
		out = append(out, s)
		return nil
	})
	return out, err
}
