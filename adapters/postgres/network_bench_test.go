package postgres_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/coprod/coprod/adapters/postgres"
	"github.com/coprod/coprod/adapters/postgres/postgrestest"
	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/network"
)

// BenchmarkRegionNetwork: a region of Lombardia's size (1,500
// municipalities), 2,000 organisations, each municipality tied to 8 of
// them in each of 3 years and with 4 alliances a year (36,000 ties,
// 18,000 alliances), read and built into the graph. Reports p95.
func BenchmarkRegionNetwork(b *testing.B) {
	db := postgrestest.New(b)
	ctx := context.Background()
	super, err := pgx.Connect(ctx, db.SuperURL)
	if err != nil {
		b.Fatal(err)
	}
	defer super.Close(ctx)
	region := uuid.New()
	const municipalities = 1500
	for _, q := range []string{
		`INSERT INTO tenants (id, slug, name, kind, istat_code, status, created_at, updated_at)
			VALUES ($1, 'regione-bench', 'Bench', 'region', '03', 'active', now(), now())`,
		`INSERT INTO tenants (id, slug, name, kind, istat_code, region_id, status, created_at, updated_at)
			SELECT gen_random_uuid(), 'comune-' || i, 'Comune ' || i, 'municipality', lpad(i::text, 6, '0'), $1, 'active', now(), now()
			FROM generate_series(1, 1500) i`,
		`INSERT INTO organisations (id, fiscal_code, legal_name, legal_form, created_at, updated_at)
			SELECT gen_random_uuid(), lpad(i::text, 11, '0'), 'Cooperativa ' || i, 'social_cooperative', now(), now() FROM generate_series(1, 2000) i`,
		`WITH o AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM organisations),
			m AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM tenants WHERE region_id = $1)
		INSERT INTO network_ties (tenant_id, organisation_id, year, applications, agreements, pilots, computed_at)
			SELECT m.id, o.id, y, 2, 1, k % 2, now() FROM m CROSS JOIN generate_series(0, 7) k CROSS JOIN generate_series(2024, 2026) y
			JOIN o ON o.n = 1 + ((m.n * 7 + k * 131 + y) % 2000)`,
		`WITH o AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM organisations),
			m AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM tenants WHERE region_id = $1)
		INSERT INTO network_alliances (tenant_id, organisation_id, partner_id, year, applications, agreements, pilots, computed_at)
			SELECT m.id, least(o1.id, o2.id), greatest(o1.id, o2.id), y, 1, 1, 0, now()
			FROM m CROSS JOIN generate_series(0, 3) k CROSS JOIN generate_series(2024, 2026) y
			JOIN o o1 ON o1.n = 1 + ((m.n * 7 + k * 131 + y) % 2000)
			JOIN o o2 ON o2.n = 1 + ((m.n * 7 + (k + 4) * 131 + y) % 2000)`,
	} {
		var args []any
		if strings.Contains(q, "$1") {
			args = append(args, region)
		}
		if _, err := super.Exec(ctx, q, args...); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := super.Exec(ctx, `VACUUM ANALYZE tenants, organisations, network_ties, network_alliances`); err != nil {
		b.Fatal(err)
	}
	svc := network.NewService(postgres.NewStore(db.App).Network(), nil)
	analyst := domain.WithPrincipal(ctx, domain.Principal{Subject: "ana", TenantID: region, Roles: []domain.Role{domain.RoleRegionalAnalyst}})
	var took []time.Duration
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		g, err := svc.Region(analyst, region, network.Years{})
		took = append(took, time.Since(start))
		if err != nil || len(g.Edges) < municipalities*8 || len(g.Metrics.WithoutPartnership) != 0 {
			b.Fatalf("network: %v (%d edges)", err, len(g.Edges))
		}
	}
	b.StopTimer()
	slices.Sort(took)
	b.ReportMetric(float64(took[(len(took)*95)/100].Microseconds())/1000, "p95-ms")
}
