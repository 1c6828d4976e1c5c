package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/coprod/coprod/adapters/postgres/postgrestest"
	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/call"
	"github.com/coprod/coprod/domain/evaluation"
	"github.com/coprod/coprod/domain/impact"
	"github.com/coprod/coprod/domain/monitoring"
	"github.com/coprod/coprod/domain/organisation"
	"github.com/coprod/coprod/domain/pilot"
	"github.com/coprod/coprod/tenants/istat"
)

// BenchmarkScale measures coprod at national scale: every Italian
// municipality onboarded from the ISTAT list (7,904 comuni in 20 regions),
// each with a busy year of activity — 20 published calls, 10 active
// agreements, 5 running pilots × 5 monthly indicators × 12 verified
// measurements — and Lombardia's 1,506 municipalities with 90 days of
// nightly snapshots. It reports:
//   - RegionOverview: Lombardia's regional overview, read by the region
//     through row-level security (the use case), p95;
//   - RegionOverviewHTTP: the same as JSON over HTTP through the real
//     handler (authentication, encoding), p95 and response size;
//   - National360Giving, NationalOCDS: the national open-data exports
//     streamed over HTTP, seconds per export and the heap's peak growth
//     while one runs (memory that does not grow with the export's size).
//
// How the data is made: one municipality's year is built through the use
// cases (so every row is what the product writes), then copied to every
// other municipality with SQL, ids remapped and the parties drawn from a
// pool of 2,000 organisations; Lombardia's snapshots of today are taken by
// the snapshot use case (its own cost is reported), copied to the 89 days
// before (what the nightly job would have left), and the region's daily
// sums are made by the aggregate job's use case, day by day.
//
// COPROD_BENCH_MUNICIPALITIES limits how many municipalities receive the
// copied activity (for a quick run while developing); unset means all.
func BenchmarkScale(b *testing.B) {
	ctx := context.Background()
	db := postgrestest.New(b)
	const token = "bench-operator-token-0123456789abcdef"
	cfg, _, err := loadConfig("bench", env("COPROD_DATABASE_URL", db.AppURL, "COPROD_SECRETS_KEY", strings.Repeat("cd", 32),
		"COPROD_BLOB_DIR", b.TempDir(), "COPROD_BOOTSTRAP_TOKEN", token), nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	svc, err := wire(cfg, db.App, slog.New(slog.NewTextHandler(io.Discard, nil)), true)
	if err != nil {
		b.Fatal(err)
	}
	op := domain.WithPrincipal(ctx, domain.Principal{Subject: "op", Roles: []domain.Role{domain.RolePlatformOperator}})

	// Onboarding: the ISTAT import, as `coprod tenants import-istat --activate`.
	f, err := os.Open("../../tenants/istat/comuni.csv")
	if err != nil {
		b.Fatal(err)
	}
	ds, err := istat.Parse(f)
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	res, err := svc.tenants.ImportISTAT(op, ds, true)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("onboarded %d regions and %d municipalities in %s", res.RegionsCreated, res.MunicipalitiesCreated, time.Since(start).Round(time.Millisecond))
	var lombardia, template uuid.UUID
	if err := db.App.QueryRow(ctx, `SELECT id FROM tenants WHERE slug = 'regione-lombardia'`).Scan(&lombardia); err != nil {
		b.Fatal(err)
	}
	if err := db.App.QueryRow(ctx, `SELECT id FROM tenants WHERE slug = 'milano'`).Scan(&template); err != nil {
		b.Fatal(err)
	}

	// A year of Milano's activity through the use cases.
	start = time.Now()
	op = domain.WithPrincipal(ctx, domain.Principal{Subject: "op", Roles: []domain.Role{domain.RolePlatformOperator}})
	lead, partner := scaleTemplate(b, svc, template, op)
	b.Logf("template municipality built through the use cases in %s", time.Since(start).Round(time.Millisecond))

	// Copied to every other municipality.
	super, err := pgx.Connect(ctx, db.SuperURL)
	if err != nil {
		b.Fatal(err)
	}
	defer super.Close(ctx)
	limit := 1 << 30
	if v := os.Getenv("COPROD_BENCH_MUNICIPALITIES"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	start = time.Now()
	rows := scaleCopy(b, super, template, lead, partner, limit, true, scaleTables)
	b.Logf("activity copied: %d rows in %s", rows, time.Since(start).Round(time.Second))

	// Lombardia's snapshots of today, by the snapshot use case.
	var members []uuid.UUID
	r, err := db.App.Query(ctx, `SELECT id FROM tenants WHERE region_id = $1 ORDER BY id`, lombardia)
	if err != nil {
		b.Fatal(err)
	}
	if members, err = pgx.CollectRows(r, pgx.RowTo[uuid.UUID]); err != nil {
		b.Fatal(err)
	}
	system := func(t uuid.UUID) context.Context {
		return domain.WithPrincipal(ctx, domain.Principal{Subject: "system", TenantID: t, Roles: []domain.Role{domain.RoleSystem}})
	}
	start = time.Now()
	for _, m := range members {
		if _, err := svc.reports.Take(system(m), m); err != nil {
			b.Fatal(err)
		}
	}
	took := time.Since(start)
	b.Logf("%d snapshots taken in %s (%.1f ms each)", len(members), took.Round(time.Millisecond), float64(took.Milliseconds())/float64(len(members)))
	if _, err := super.Exec(ctx, `INSERT INTO report_snapshots (tenant_id, day, figures, taken_at, budget_committed_cents, paid_cents, applications, active_agreements)
		SELECT s.tenant_id, s.day - d, s.figures, s.taken_at - d * interval '1 day', s.budget_committed_cents, s.paid_cents, s.applications, s.active_agreements
		FROM report_snapshots s, generate_series(1, 89) d`); err != nil {
		b.Fatal(err)
	}
	today := time.Now().UTC()
	for d := 0; d < 90; d++ {
		if err := svc.reports.AggregateRegion(system(lombardia), lombardia, today.AddDate(0, 0, -d)); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := super.Exec(ctx, `VACUUM ANALYZE`); err != nil {
		b.Fatal(err)
	}

	analyst := domain.WithPrincipal(ctx, domain.Principal{Subject: "ana", TenantID: lombardia, Roles: []domain.Role{domain.RoleRegionalAnalyst}})
	b.Run("RegionOverview", func(b *testing.B) {
		var took []time.Duration
		for b.Loop() {
			start := time.Now()
			rep, err := svc.reports.Region(analyst, lombardia, time.Time{}, time.Time{})
			took = append(took, time.Since(start))
			if err != nil || len(rep.Municipalities) != len(members) || len(rep.Trend) != 90 {
				b.Fatalf("report: %v", err)
			}
		}
		b.ReportMetric(p95(took), "p95-ms")
	})
	srv := httptest.NewServer(svc.handler)
	defer srv.Close()
	fetch := func(b *testing.B, path string) int64 {
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer res.Body.Close()
		n, err := io.Copy(io.Discard, res.Body)
		if err != nil || res.StatusCode != 200 {
			b.Fatalf("GET %s: %d %v", path, res.StatusCode, err)
		}
		return n
	}
	b.Run("RegionOverviewHTTP", func(b *testing.B) {
		var took []time.Duration
		var size int64
		for b.Loop() {
			start := time.Now()
			size = fetch(b, "/v1/tenants/regione-lombardia/region-report")
			took = append(took, time.Since(start))
		}
		b.ReportMetric(p95(took), "p95-ms")
		b.ReportMetric(float64(size)/(1<<20), "MiB/response")
	})
	export := func(path string) func(*testing.B) {
		return func(b *testing.B) {
			var peak uint64
			var size int64
			for b.Loop() {
				var before runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				done := make(chan struct{})
				go func() { // sample the heap while the export streams
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
				size = fetch(b, path)
				close(done)
			}
			b.ReportMetric(float64(size)/(1<<20), "MiB/export")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		}
	}
	b.Run("National360Giving", export("/v1/public/open-data/360giving.json"))
	b.Run("NationalOCDS", export("/v1/public/open-data/ocds.json"))
}

func p95(took []time.Duration) float64 {
	slices.Sort(took)
	return float64(took[(len(took)*95)/100].Microseconds()) / 1000
}

// scaleTemplate builds a municipality's year through the use cases and
// returns its two partner organisations, registered by registrar (who
// becomes their admin when a user).
func scaleTemplate(b *testing.B, svc *services, tenant uuid.UUID, registrar context.Context) (lead, partner uuid.UUID) {
	ctx := context.Background()
	officer := domain.WithPrincipal(ctx, domain.Principal{Subject: "rup", TenantID: tenant, Roles: []domain.Role{domain.RoleOfficer}})
	var orgs [2]*organisation.Organisation
	for i, fc := range []string{"04123456784", "05234567898"} {
		o, err := svc.orgs.Register(registrar, organisation.Organisation{FiscalCode: fc, LegalName: "Ente " + fc, LegalForm: "social_cooperative"})
		if err != nil {
			b.Fatal(err)
		}
		orgs[i] = o
	}
	party := func(org uuid.UUID) context.Context {
		return domain.WithPrincipal(ctx, domain.Principal{Subject: "admin-" + org.String()[:8], UserID: uuid.New(), TenantID: tenant,
			Orgs: map[uuid.UUID][]domain.Role{org: {domain.RoleOrgAdmin}}})
	}
	now := time.Now().UTC()
	areas := []string{"elderly", "youth", "poverty_inclusion", "disability", "minors_families"}
	var calls []*call.Call
	for i := range 20 {
		c, err := svc.calls.CreateDraft(officer, tenant, call.Call{Title: fmt.Sprintf("Avviso %d", i+1), Summary: "Co-progettazione", PolicyArea: areas[i%len(areas)],
			Objectives: []string{"Inclusione"}, DurationMonths: 24, Budget: call.Budget{PublicCents: 50_000_000, MaxPerProjectCents: 25_000_000},
			Criteria:          []evaluation.Criterion{{Code: "q", Name: "Qualità", Weight: 100, MaxScore: 10}},
			QuestionsDeadline: now.Add(10 * 24 * time.Hour), SubmissionDeadline: now.Add(30 * 24 * time.Hour)})
		if err != nil {
			b.Fatal(err)
		}
		if c, err = svc.calls.Publish(officer, tenant, c.ID, call.Act{Kind: "call", Number: strconv.Itoa(i + 1), Date: now, URL: "https://albo.example.it/" + strconv.Itoa(i+1)}, c.Version); err != nil {
			b.Fatal(err)
		}
		calls = append(calls, c)
	}
	// An application of the lead organisation to the first call.
	if _, err := svc.apps.Create(party(orgs[0].ID), tenant, calls[0].ID, orgs[0].ID); err != nil {
		b.Fatal(err)
	}
	// Five monthly indicators about people, from the starter library.
	var defs []string
	for _, d := range impact.Seed() {
		if d.Unit == impact.UnitPeople && d.Direction == impact.Increase && d.Denominator == "" && len(defs) < 5 {
			d.Code += "_monthly"
			d.Frequency = impact.FrequencyMonthly
			if _, err := svc.monitoring().Define(officer, tenant, d); err != nil {
				b.Fatal(err)
			}
			defs = append(defs, d.Code)
		}
	}
	if len(defs) != 5 {
		b.Fatalf("the starter library has %d monthly-able people indicators", len(defs))
	}
	yearAgo := time.Date(now.Year()-1, now.Month(), 1, 0, 0, 0, 0, time.UTC)
	var periods []string
	for m := range 12 {
		periods = append(periods, yearAgo.AddDate(0, m, 0).Format("2006-01"))
	}
	for i := range 10 {
		draft := agreementFor(orgs[0].ID, yearAgo)
		draft.CallID = calls[i].ID
		draft.Budget.PublicCents, draft.Parties[0].BudgetShareCents = 20_000_000, 20_000_000
		a, err := svc.agreements().Create(officer, tenant, draft)
		if err != nil {
			b.Fatal(err)
		}
		if a, err = svc.agreements().Sign(officer, tenant, a.ID, uuid.Nil, 0); err != nil {
			b.Fatal(err)
		}
		if a, err = svc.agreements().Sign(party(orgs[0].ID), tenant, a.ID, orgs[0].ID, 0); err != nil {
			b.Fatal(err)
		}
		if a, err = svc.agreements().Transition(officer, tenant, a.ID, "activate", "", 0); err != nil {
			b.Fatal(err)
		}
		if i >= 5 {
			continue
		}
		pl, err := svc.deps.Pilots.Create(officer, tenant, a.ID, pilot.Pilot{Title: fmt.Sprintf("Sperimentazione %d", i+1), Hypothesis: "Se… allora…",
			CohortSize: 60, Start: yearAgo, End: yearAgo.AddDate(2, 0, 0)})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := svc.deps.Pilots.Change(officer, tenant, pl.ID, "start", "", "", nil, 0); err != nil {
			b.Fatal(err)
		}
		for k, code := range defs {
			var targets []impact.Target
			for m, p := range periods {
				targets = append(targets, impact.Target{Period: p, Value: impact.Value((20 + m) * 1000)})
			}
			as, err := svc.monitoring().Assign(officer, tenant, a.ID, pl.ID, impact.Assignment{Indicator: code, Weight: 20,
				Baseline: impact.Baseline{Value: 10_000, Date: yearAgo.AddDate(0, -1, 0), Source: "registro"}, Targets: targets})
			if err != nil {
				b.Fatal(err)
			}
			for m, p := range periods {
				ms, err := svc.monitoring().Submit(party(orgs[0].ID), tenant, as.ID, monitoring.SubmitInput{Period: p, Value: impact.Value((18 + m + k) * 1000),
					Evidence: "registro presenze", People: []impact.PeopleCount{
						{AgeBand: "75+", Gender: "female", Vulnerability: "elderly_alone", Count: 8 + m},
						{AgeBand: "65-74", Gender: "male", Vulnerability: "elderly_alone", Count: (m + k) % 6},
						{AgeBand: "45-54", Gender: "female", Vulnerability: "poverty", Count: 10 + k},
					}})
				if err != nil {
					b.Fatal(err)
				}
				if _, _, err := svc.monitoring().Decide(officer, tenant, ms.ID, "verified", "", ms.Version); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	return orgs[0].ID, orgs[1].ID
}

// scaleTables are the tenant tables the scale benchmark copies, in
// foreign-key order (tables of the template with no rows copy nothing).
var scaleTables = []string{"calls", "applications", "agreements", "deliverables", "pilots", "indicator_definitions",
	"indicator_assignments", "measurements", "payment_rules", "outcome_payments"}

// scaleCopy copies the template municipality's rows of tables to up to
// limit other municipalities, with ids remapped per tenant and, with
// remap, the two template organisations replaced by two of a pool of
// 2,000. It returns the rows written.
func scaleCopy(b *testing.B, super *pgx.Conn, template, lead, partner uuid.UUID, limit int, remap bool, tables []string) int64 {
	ctx := context.Background()
	// The municipalities that receive the copy, and the organisations that
	// stand for the template's two there: the same two, or two of a pool.
	targets := `SELECT id AS tenant_id, '` + lead.String() + `'::uuid AS lead, '` + partner.String() + `'::uuid AS partner
		FROM tenants WHERE kind = 'municipality' AND id <> '` + template.String() + `' ORDER BY slug LIMIT ` + strconv.Itoa(limit)
	if remap {
		if _, err := super.Exec(ctx, `INSERT INTO organisations (id, fiscal_code, legal_name, legal_form, created_at, updated_at)
			SELECT gen_random_uuid(), lpad(i::text, 11, '0'), 'Cooperativa ' || i, 'social_cooperative', now(), now() FROM generate_series(1, 2000) i`); err != nil {
			b.Fatal(err)
		}
		targets = `WITH o AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM organisations WHERE legal_name LIKE 'Cooperativa %')
			SELECT t.tenant_id, o1.id AS lead, o2.id AS partner FROM (` + targets + `) t
			JOIN o o1 ON o1.n = 1 + (hashtext(t.tenant_id::text) & 1023)
			JOIN o o2 ON o2.n = 1025 + (hashtext(t.tenant_id::text || 'p') & 511)`
	}
	if _, err := super.Exec(ctx, `CREATE TEMP TABLE scale_targets AS `+targets); err != nil {
		b.Fatal(err)
	}
	var written int64
	for _, table := range tables {
		r, err := super.Query(ctx, `SELECT column_name, data_type, udt_name FROM information_schema.columns
			WHERE table_schema = 'public' AND table_name = $1 AND is_generated = 'NEVER' ORDER BY ordinal_position`, table)
		if err != nil {
			b.Fatal(err)
		}
		type column struct{ name, typ, udt string }
		cols, err := pgx.CollectRows(r, func(r pgx.CollectableRow) (column, error) {
			var c column
			return c, r.Scan(&c.name, &c.typ, &c.udt)
		})
		if err != nil {
			b.Fatal(err)
		}
		var names, exprs []string
		for _, c := range cols {
			names = append(names, c.name)
			src := "s." + c.name
			switch {
			case c.name == "tenant_id":
				exprs = append(exprs, "m.tenant_id")
			case c.udt == "uuid" && (c.name == "organisation_id" || c.name == "lead_org_id"):
				exprs = append(exprs, fmt.Sprintf("CASE %s WHEN '%s' THEN m.lead WHEN '%s' THEN m.partner ELSE %s END", src, lead, partner, src))
			case c.udt == "uuid" && (c.name == "id" || strings.HasSuffix(c.name, "_id")):
				exprs = append(exprs, fmt.Sprintf("md5(m.tenant_id::text || %s::text)::uuid", src))
			case c.udt == "jsonb" || c.udt == "_uuid" || c.udt == "text":
				exprs = append(exprs, fmt.Sprintf("replace(replace(%s::text, '%s', m.lead::text), '%s', m.partner::text)::%s", src, lead, partner, c.udt))
			default:
				exprs = append(exprs, src)
			}
		}
		tag, err := super.Exec(ctx, fmt.Sprintf(`INSERT INTO %s (%s) SELECT %s FROM %s s CROSS JOIN scale_targets m WHERE s.tenant_id = '%s'`,
			table, strings.Join(names, ", "), strings.Join(exprs, ", "), table, template))
		if err != nil {
			b.Fatalf("copy %s: %v", table, err)
		}
		written += tag.RowsAffected()
	}
	return written
}
