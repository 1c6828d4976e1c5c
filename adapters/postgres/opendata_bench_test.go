package postgres_test

import (
	"context"
	"io"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/coprod/coprod/adapters/postgres"
	"github.com/coprod/coprod/adapters/postgres/postgrestest"
	"github.com/coprod/coprod/domain/opendata"
)

// BenchmarkNationalGrantsExport: every Italian municipality (7,900) with
// 10 signed agreements of two parties each (158,000 grants), streamed as
// one 360Giving package to a discarding writer. Reports the seconds per
// export and the peak heap growth seen while it ran.
func BenchmarkNationalGrantsExport(b *testing.B) {
	db := postgrestest.New(b)
	ctx := context.Background()
	super, err := pgx.Connect(ctx, db.SuperURL)
	if err != nil {
		b.Fatal(err)
	}
	defer super.Close(ctx)
	const municipalities = 7900
	for _, q := range []string{
		`INSERT INTO tenants (id, slug, name, kind, istat_code, status, created_at, updated_at)
			VALUES (gen_random_uuid(), 'regione-bench', 'Bench', 'region', '03', 'active', now(), now())`,
		`INSERT INTO tenants (id, slug, name, kind, istat_code, region_id, status, created_at, updated_at)
			SELECT gen_random_uuid(), 'comune-' || i, 'Comune ' || i, 'municipality', lpad(i::text, 6, '0'),
				(SELECT id FROM tenants WHERE slug = 'regione-bench'), 'active', now(), now()
			FROM generate_series(1, ` + strconv.Itoa(municipalities) + `) i`,
		`INSERT INTO organisations (id, fiscal_code, legal_name, legal_form, created_at, updated_at)
			SELECT gen_random_uuid(), lpad(i::text, 11, '0'), 'Cooperativa ' || i, 'social_cooperative', now(), now() FROM generate_series(1, 2000) i`,
		`WITH o AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM organisations)
		INSERT INTO agreements (tenant_id, id, title, objectives, parties, org_ids, starts_on, ends_on, budget, payment_mode,
				officer_signed_by, officer_signed_at, status, created_at, updated_at)
			SELECT t.id, gen_random_uuid(), 'Convenzione ' || k, '{"Inclusione"}',
				jsonb_build_array(jsonb_build_object('organisationId', o1.id, 'role', 'lead', 'budgetShareCents', 6000000),
					jsonb_build_object('organisationId', o2.id, 'role', 'partner', 'budgetShareCents', 4000000)),
				ARRAY[o1.id, o2.id], now(), now() + interval '2 years',
				'{"publicCents": 10000000, "outcomeCents": 0, "cofundingCashCents": 0, "cofundingInKindCents": 0}', 'cost_reimbursement',
				'rup', now(), 'active', now(), now()
			FROM tenants t CROSS JOIN generate_series(1, 10) k
			JOIN o o1 ON o1.n = 1 + (hashtext(t.id::text || k) & 1023)
			JOIN o o2 ON o2.n = 1025 + (hashtext(t.id::text || k) & 511)
			WHERE t.kind = 'municipality'`,
		`VACUUM ANALYZE tenants, organisations, agreements`,
	} {
		if _, err := super.Exec(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	rows, err := super.Query(ctx, `SELECT id FROM tenants WHERE kind = 'municipality' ORDER BY id`)
	if err != nil {
		b.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		b.Fatal(err)
	}
	svc := opendata.NewService(postgres.NewStore(db.App).OpenData(), opendata.Config{}, nil)
	var peak uint64
	b.ResetTimer()
	for b.Loop() {
		var before runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		done := make(chan struct{})
		go func() { // sample the heap while the export runs
			var m runtime.MemStats
			for {
				select {
				case <-done:
					return
				case <-time.After(50 * time.Millisecond):
					runtime.ReadMemStats(&m)
					if m.HeapAlloc > before.HeapAlloc && m.HeapAlloc-before.HeapAlloc > peak {
						peak = m.HeapAlloc - before.HeapAlloc
					}
				}
			}
		}()
		n, err := svc.WriteGrants(ctx, io.Discard, ids)
		close(done)
		if err != nil || n != municipalities*20 {
			b.Fatalf("export: %d grants, %v", n, err)
		}
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}
