package postgres_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/coprod/coprod/adapters/postgres"
	"github.com/coprod/coprod/adapters/postgres/postgrestest"
	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/impact"
	"github.com/coprod/coprod/domain/report"
)

// BenchmarkRegionReport: the overview of a region of 1,500 municipalities
// (Lombardia's size), each with a nightly snapshot for the default 90 days
// (135,000 snapshots), read as a regional analyst through row-level
// security, with the region's day sums kept by the aggregate job. Reports
// the p95 of the iterations.
func BenchmarkRegionReport(b *testing.B) {
	db := postgrestest.New(b)
	ctx := context.Background()
	super, err := pgx.Connect(ctx, db.SuperURL)
	if err != nil {
		b.Fatal(err)
	}
	defer super.Close(ctx)
	region := uuid.New()
	if _, err := super.Exec(ctx, `INSERT INTO tenants (id, slug, name, kind, istat_code, status, created_at, updated_at)
		VALUES ($1, 'regione-bench', 'Bench', 'region', '03', 'active', now(), now())`, region); err != nil {
		b.Fatal(err)
	}
	const municipalities, days = 1500, 90
	if _, err := super.Exec(ctx, `INSERT INTO tenants (id, slug, name, kind, istat_code, region_id, status, created_at, updated_at)
		SELECT gen_random_uuid(), 'comune-' || i, 'Comune ' || i, 'municipality', lpad(i::text, 6, '0'), $1, 'active', now(), now()
		FROM generate_series(1, $2) i`, region, municipalities); err != nil {
		b.Fatal(err)
	}
	// Figures of a busy municipality: 20 calls, 10 agreements, 5 pilots × 5
	// indicators, people over 30 categories.
	f := report.Figures{CallsByStatus: map[string]int{"published": 5, "closed": 5, "ranked": 5, "concluded": 5},
		CallsByPolicyArea: map[string]int{"elderly": 10, "youth": 10}, Applications: 60,
		ApplicationsByStatus: map[string]int{"submitted": 50, "withdrawn": 10}, Agreements: map[string]int{"active": 8, "closed": 2},
		BudgetCommittedCents: 1_000_000_00, PaidCents: 250_000_00, PilotsByStatus: map[string]int{"running": 5},
		IndicatorsByStatus: map[string]int{"on_track": 15, "at_risk": 7, "off_track": 3},
		IndicatorsBySDG:    map[string]map[string]int{"3": {"on_track": 10}, "10": {"at_risk": 7}},
		IndicatorsByBES:    map[string]map[string]int{"health": {"on_track": 10}},
		MoneyByPolicyArea:  map[string]report.Money{"elderly": {CommittedCents: 600_000_00, PaidCents: 100_000_00}}}
	for i, v := range impact.Vulnerabilities[:6] {
		for j, a := range impact.AgeBands[3:8] {
			f.People = append(f.People, report.PeopleCell{AgeBand: a, Gender: "female", Vulnerability: v, Count: (i*7 + j*3) % 25,
				Special: impact.IsSpecialCategory(v)})
		}
	}
	doc, _ := json.Marshal(f)
	if _, err := super.Exec(ctx, `INSERT INTO report_snapshots (tenant_id, day, figures, taken_at, budget_committed_cents, paid_cents, applications, active_agreements)
		SELECT t.id, d::date, $2::jsonb, d, 100000000, 25000000, 60, 8 FROM tenants t, generate_series(current_date - ($3::int - 1), current_date, interval '1 day') d
		WHERE t.region_id = $1`, region, doc, days); err != nil {
		b.Fatal(err)
	}
	// What the aggregate jobs keep for the region (one row per day).
	if _, err := super.Exec(ctx, `INSERT INTO region_trend (tenant_id, day, municipalities, budget_committed_cents, paid_cents, applications, active_agreements, computed_at)
		SELECT $1, day, count(*), sum(budget_committed_cents), sum(paid_cents), sum(applications), sum(active_agreements), now()
		FROM report_snapshots GROUP BY day`, region); err != nil {
		b.Fatal(err)
	}
	if _, err := super.Exec(ctx, `VACUUM ANALYZE report_snapshots, region_trend, tenants`); err != nil {
		b.Fatal(err)
	}
	svc := report.NewService(postgres.NewStore(db.App).Reports(), nil)
	analyst := domain.WithPrincipal(ctx, domain.Principal{Subject: "ana", TenantID: region, Roles: []domain.Role{domain.RoleRegionalAnalyst}})
	// One run of the aggregate job for today (1,500 snapshots summed).
	system := domain.WithPrincipal(ctx, domain.Principal{Subject: "system", TenantID: region, Roles: []domain.Role{domain.RoleSystem}})
	start := time.Now()
	if err := svc.AggregateRegion(system, region, time.Now()); err != nil {
		b.Fatal(err)
	}
	aggregate := time.Since(start)
	var took []time.Duration
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		r, err := svc.Region(analyst, region, time.Time{}, time.Time{})
		took = append(took, time.Since(start))
		if err != nil || len(r.Municipalities) != municipalities || len(r.Trend) != days {
			b.Fatalf("report: %v (%d municipalities, %d days)", err, len(r.Municipalities), len(r.Trend))
		}
	}
	b.StopTimer()
	slices.Sort(took)
	b.ReportMetric(float64(took[(len(took)*95)/100].Microseconds())/1000, "p95-ms")
	b.ReportMetric(float64(aggregate.Microseconds())/1000, "aggregate-ms")
}
