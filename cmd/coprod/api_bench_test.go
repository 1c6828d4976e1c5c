package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/coprod/coprod/adapters/oidc/oidctest"
	"github.com/coprod/coprod/adapters/postgres/postgrestest"
	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/identity"
	"github.com/coprod/coprod/tenants/istat"
)

// BenchmarkAPI measures three requests — listing a municipality's calls,
// reading an application, submitting a measurement — through coprod and
// through a raw baseline in the same run: plain net/http and pgx running
// the same SQL, with no authentication, no use case and no row-level
// security (a superuser connection). coprod runs with a real OIDC
// provider's token, as a process that hears changes of access (ADR 0022),
// RLS on, then with RLS disabled on the tables involved; load spread over 10
// tenants, then over every municipality of Italy (7,904, all with the same
// data), for the baseline too, so that what PostgreSQL's spread costs is
// told apart from what coprod's costs. Load: a Go
// client on loopback, 16 concurrent requests, 3 s per cell, five rounds, each
// comparison made within a round and the medians reported with their range.
// It prints one table (throughput, p50, p99, ratios) and the process's
// resident memory idle and under load; docs/performance.md keeps the
// figures.
func BenchmarkAPI(b *testing.B) {
	ctx := context.Background()
	db := postgrestest.New(b)
	idp := oidctest.Start(b, oidctest.Config{AccessTokenAudience: "coprod-platform-api", AccessTokenTTL: time.Hour, Users: []oidctest.User{
		{Subject: "chiara", Email: "chiara@coop.example", EmailVerified: true, Name: "Chiara"}},
		Clients: []oidctest.Client{{ID: "coprod-platform", Secret: "secret-p", RedirectURIs: []string{"https://coprod.example/v1/auth/callback"}}}})
	cfg, _, err := loadConfig("bench", env("COPROD_DATABASE_URL", db.AppURL, "COPROD_SECRETS_KEY", strings.Repeat("ab", 32),
		"COPROD_BLOB_DIR", b.TempDir(), "COPROD_RATE_TENANT", "0", "COPROD_RATE_CLIENT", "0"), nil, nil) // throughput, not the limits
	if err != nil {
		b.Fatal(err)
	}
	cfg.Platform = PlatformOIDC{Issuer: idp.Issuer, ClientID: "coprod-platform", ClientSecret: "secret-p", Audience: "coprod-platform-api"}
	svc, err := wire(cfg, db.App, slog.New(slog.NewTextHandler(io.Discard, nil)), true)
	if err != nil {
		b.Fatal(err)
	}
	remember(b, svc, db.App)
	op := domain.WithPrincipal(ctx, domain.Principal{Subject: "op", Roles: []domain.Role{domain.RolePlatformOperator}})
	f, err := os.Open("../../tenants/istat/comuni.csv")
	if err != nil {
		b.Fatal(err)
	}
	ds, err := istat.Parse(f)
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	if _, err := svc.tenants.ImportISTAT(op, ds, true); err != nil {
		b.Fatal(err)
	}
	// Chiara, of the platform's provider, registers the organisations of
	// Milano's year (so she is their admin), which is copied to every
	// municipality, organisations unchanged.
	chiara, err := svc.ids.Provision(op, identity.Identity{Issuer: idp.Issuer, Subject: "chiara", Email: "chiara@coop.example"})
	if err != nil {
		b.Fatal(err)
	}
	var milano uuid.UUID
	if err := db.App.QueryRow(ctx, `SELECT id FROM tenants WHERE slug = 'milano'`).Scan(&milano); err != nil {
		b.Fatal(err)
	}
	lead, partner := scaleTemplate(b, svc, milano, domain.WithPrincipal(ctx, domain.Principal{Subject: "chiara", UserID: chiara.ID}))
	super, err := pgx.Connect(ctx, db.SuperURL)
	if err != nil {
		b.Fatal(err)
	}
	defer super.Close(ctx)
	scaleCopy(b, super, milano, lead, partner, 1<<30, false, []string{"calls", "applications", "agreements", "pilots",
		"indicator_definitions", "indicator_assignments"})
	// Chiara also audits every municipality (a role granted by the
	// operator), so that she may list their calls.
	if _, err := super.Exec(ctx, `INSERT INTO tenant_memberships (tenant_id, user_id, role, source, created_at)
		SELECT id, $1, 'auditor', 'operator', now() FROM tenants WHERE kind = 'municipality'`, chiara.ID); err != nil {
		b.Fatal(err)
	}
	if _, err := super.Exec(ctx, `VACUUM ANALYZE`); err != nil {
		b.Fatal(err)
	}
	// What each request addresses, per tenant.
	type target struct {
		id, slug, app string
		assignments   []string
	}
	var all []target
	rows, err := super.Query(ctx, `SELECT t.id, t.slug, (SELECT a.id FROM applications a WHERE a.tenant_id = t.id LIMIT 1),
			ARRAY(SELECT i.id FROM indicator_assignments i WHERE i.tenant_id = t.id ORDER BY i.id)
		FROM tenants t WHERE t.kind = 'municipality' ORDER BY (t.id = $1) DESC, t.id`, milano)
	if err != nil {
		b.Fatal(err)
	}
	var id, app uuid.UUID
	var slug string
	var as []uuid.UUID
	if _, err := pgx.ForEachRow(rows, []any{&id, &slug, &app, &as}, func() error {
		t := target{id: id.String(), slug: slug, app: app.String()}
		for _, a := range as {
			t.assignments = append(t.assignments, a.String())
		}
		all = append(all, t)
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	token := idp.AccessToken(b, "coprod-platform", "chiara").AccessToken

	coprod := httptest.NewServer(svc.handler)
	defer coprod.Close()
	rawPool, err := pgxpool.New(ctx, db.SuperURL)
	if err != nil {
		b.Fatal(err)
	}
	defer rawPool.Close()
	raw := httptest.NewServer(rawBaseline(rawPool))
	defer raw.Close()

	// Each (assignment, period) is measured once: a counter per assignment
	// walks the months from January 2000 (the year's measurements are 2025-26).
	var periods sync.Map
	period := func(assignment string) string {
		v, _ := periods.LoadOrStore(assignment, new(atomic.Int64))
		n := v.(*atomic.Int64).Add(1) - 1
		return fmt.Sprintf("%04d-%02d", 2000+n/12, 1+n%12)
	}
	// Chiara lists calls as an auditor, reads her organisation's
	// application and reports its measurements.
	type request struct{ method, path, body, token string }
	ops := []struct {
		name string
		make func(t target, rawServer bool) request
	}{
		{"list calls", func(t target, rawServer bool) request {
			if rawServer {
				return request{"GET", "/calls/" + t.id, "", ""}
			}
			return request{"GET", "/v1/tenants/" + t.slug + "/calls?limit=20", "", token}
		}},
		{"read application", func(t target, rawServer bool) request {
			if rawServer {
				return request{"GET", "/applications/" + t.id + "/" + t.app, "", ""}
			}
			return request{"GET", "/v1/tenants/" + t.slug + "/applications/" + t.app, "", token}
		}},
		{"submit measurement", func(t target, rawServer bool) request {
			a := t.assignments[rand.IntN(len(t.assignments))]
			body := `{"period":"` + period(a) + `","value":42,"evidence":"registro",` +
				`"people":[{"ageBand":"75+","gender":"female","vulnerability":"elderly_alone","count":12}]}`
			if rawServer {
				return request{"POST", "/measurements/" + t.id + "/" + a + "?org=" + lead.String(), body, ""}
			}
			return request{"POST", "/v1/tenants/" + t.slug + "/indicator-assignments/" + a + "/measurements", body, token}
		}},
	}
	const concurrency, rounds = 16, 5
	duration := 3 * time.Second
	if v := os.Getenv("COPROD_BENCH_SECONDS"); v != "" {
		s, _ := strconv.Atoi(v)
		duration = time.Duration(s) * time.Second
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}}
	var peakRSS atomic.Int64
	type result struct {
		rps      float64
		p50, p99 time.Duration
		// CPU per request: this process (server, baseline and client) and
		// PostgreSQL's processes, in µs.
		goCPU, pgCPU float64
	}
	load := func(b *testing.B, base string, rawServer bool, ts []target, mk func(target, bool) request) result {
		var mu sync.Mutex
		var took []time.Duration
		goBefore, pgBefore := processCPU(), postgresCPU()
		stop := time.Now().Add(duration)
		var wg sync.WaitGroup
		var failed atomic.Value
		for range concurrency {
			wg.Go(func() {
				var mine []time.Duration
				for time.Now().Before(stop) {
					r := mk(ts[rand.IntN(len(ts))], rawServer)
					req, _ := http.NewRequestWithContext(ctx, r.method, base+r.path, strings.NewReader(r.body))
					if r.token != "" {
						req.Header.Set("Authorization", "Bearer "+r.token)
					}
					if r.body != "" {
						req.Header.Set("Content-Type", "application/json")
					}
					start := time.Now()
					res, err := client.Do(req)
					if err != nil {
						failed.Store(err.Error())
						return
					}
					body, _ := io.ReadAll(res.Body)
					res.Body.Close()
					mine = append(mine, time.Since(start))
					if res.StatusCode >= 300 {
						failed.Store(fmt.Sprintf("%s %s: %d %s", r.method, r.path, res.StatusCode, body))
						return
					}
				}
				mu.Lock()
				took = append(took, mine...)
				mu.Unlock()
			})
		}
		done := make(chan struct{})
		go func() { // resident memory while the load runs
			for {
				select {
				case <-done:
					return
				case <-time.After(100 * time.Millisecond):
					if r := residentBytes(); r > peakRSS.Load() {
						peakRSS.Store(r)
					}
				}
			}
		}()
		wg.Wait()
		close(done)
		if f := failed.Load(); f != nil {
			b.Fatal(f)
		}
		goCPU, pgCPU := processCPU()-goBefore, postgresCPU()-pgBefore
		slices.Sort(took)
		n := float64(len(took))
		return result{rps: n / duration.Seconds(), p50: took[len(took)/2], p99: took[len(took)*99/100],
			goCPU: float64(goCPU.Microseconds()) / n, pgCPU: float64(pgCPU.Microseconds()) / n}
	}
	rls := func(on bool) {
		verb := "ENABLE"
		if !on {
			verb = "DISABLE"
		}
		for _, t := range []string{"calls", "applications", "application_attachments", "agreements", "indicator_assignments", "measurements", "audit_events"} {
			if _, err := super.Exec(ctx, "ALTER TABLE "+t+" "+verb+" ROW LEVEL SECURITY"); err != nil {
				b.Fatal(err)
			}
		}
	}
	// Steady state: each tenant is read once through both servers before
	// any cell, so that coprod's first request of a (user, tenant) pair —
	// which reads the caller's grants, the tenant and its provider, then
	// remembers them (ADR 0022) — and PostgreSQL's first touch of a
	// tenant's pages are not what the cells measure.
	warm := make(chan target)
	var warmed sync.WaitGroup
	for range concurrency {
		warmed.Go(func() {
			for t := range warm {
				for _, rawServer := range []bool{false, true} {
					base := coprod.URL
					if rawServer {
						base = raw.URL
					}
					r := ops[1].make(t, rawServer)
					req, _ := http.NewRequestWithContext(ctx, r.method, base+r.path, nil)
					if r.token != "" {
						req.Header.Set("Authorization", "Bearer "+r.token)
					}
					res, err := client.Do(req)
					if err != nil {
						b.Error(err)
						continue
					}
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
			}
		})
	}
	for _, t := range all {
		warm <- t
	}
	close(warm)
	warmed.Wait()
	debug.FreeOSMemory() // idle: what is live, not the warm-up's garbage
	idle := residentBytes()
	ten := all[:10]
	var table strings.Builder
	fmt.Fprintf(&table, "\n%-19s %-24s %9s %9s %9s %12s %12s\n", "request", "server", "req/s", "p50 ms", "p99 ms", "Go µs/req", "PG µs/req")
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	for _, o := range ops {
		b.Run(strings.ReplaceAll(o.name, " ", "-"), func(b *testing.B) {
			// Five rounds; in each, every coprod cell runs right after the
			// baseline cell it is compared with, and the ratios are taken
			// within the round. A 2-core virtual machine drifts by ±20%
			// between cells a minute apart (the baseline's own CPU per
			// request does); the medians over rounds, with their ranges,
			// are what a reader can trust. Writes vary the most: the
			// tables grow, and PostgreSQL's background work lands in
			// whichever cell runs.
			const rawTen, onTen, offTen, rawAll, onAll = 0, 1, 2, 3, 4
			cells := make([][]result, 5)
			var ratioTen, ratioAll, overhead, flat, rawFlat []float64
			for b.Loop() {
				for range rounds {
					var r [5]result
					r[rawTen] = load(b, raw.URL, true, ten, o.make)
					r[onTen] = load(b, coprod.URL, false, ten, o.make)
					rls(false)
					r[offTen] = load(b, coprod.URL, false, ten, o.make)
					rls(true)
					r[rawAll] = load(b, raw.URL, true, all, o.make)
					r[onAll] = load(b, coprod.URL, false, all, o.make)
					for c := range r {
						cells[c] = append(cells[c], r[c])
					}
					ratioTen = append(ratioTen, r[onTen].rps/r[rawTen].rps)
					ratioAll = append(ratioAll, r[onAll].rps/r[rawAll].rps)
					overhead = append(overhead, 100*(r[offTen].rps-r[onTen].rps)/r[offTen].rps)
					flat = append(flat, float64(r[onAll].p99)/float64(r[onTen].p99))
					rawFlat = append(rawFlat, float64(r[rawAll].p99)/float64(r[rawTen].p99))
				}
			}
			med := func(xs []float64) float64 {
				xs = slices.Clone(xs)
				slices.Sort(xs)
				return xs[len(xs)/2]
			}
			of := func(rs []result, f func(result) float64) float64 {
				var xs []float64
				for _, r := range rs {
					xs = append(xs, f(r))
				}
				return med(xs)
			}
			spread := func(xs []float64, format string) string {
				return fmt.Sprintf(format+" ["+format+" – "+format+"]", med(xs), slices.Min(xs), slices.Max(xs))
			}
			for c, name := range []string{"raw baseline", "coprod, 10 tenants", "coprod, RLS off", "raw, 7,904 tenants", "coprod, 7,904 tenants"} {
				rs := cells[c]
				fmt.Fprintf(&table, "%-19s %-24s %9.0f %9.2f %9.2f %12.0f %12.0f\n", o.name, name,
					of(rs, func(r result) float64 { return r.rps }), of(rs, func(r result) float64 { return ms(r.p50) }),
					of(rs, func(r result) float64 { return ms(r.p99) }), of(rs, func(r result) float64 { return r.goCPU }),
					of(rs, func(r result) float64 { return r.pgCPU }))
			}
			fmt.Fprintf(&table, "%-19s medians over %d rounds [range]: coprod/raw throughput %s×, 7,904 tenants %s×; RLS overhead %s%%; "+
				"p99 7,904 vs 10 tenants %s× (raw %s×)\n", o.name, len(ratioTen), spread(ratioTen, "%.2f"), spread(ratioAll, "%.2f"),
				spread(overhead, "%+.1f"), spread(flat, "%.2f"), spread(rawFlat, "%.2f"))
			rps := func(r result) float64 { return r.rps }
			b.ReportMetric(of(cells[onTen], rps), "coprod-req/s")
			b.ReportMetric(of(cells[rawTen], rps), "raw-req/s")
			b.ReportMetric(med(ratioTen), "ratio")
			b.ReportMetric(of(cells[onTen], func(r result) float64 { return ms(r.p99) }), "p99-ms")
		})
	}
	fmt.Fprintf(&table, "resident memory of the process (server, client and baseline): idle %d MiB, under load at most %d MiB\n",
		idle>>20, peakRSS.Load()>>20)
	b.Log(table.String())
}

// processCPU is the CPU time this process has used (user and system).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// postgresCPU is the CPU time used so far by the live processes named
// postgres (the test cluster's, on this host), from /proc (Linux).
func postgresCPU() time.Duration {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var ticks int64
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		open, end := strings.IndexByte(string(b), '('), strings.LastIndexByte(string(b), ')')
		if open < 0 || end < open || string(b[open+1:end]) != "postgres" {
			continue
		}
		fields := strings.Fields(string(b[end+1:])) // state is field 3: utime, stime are 14, 15
		if len(fields) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(fields[11], 10, 64)
		st, _ := strconv.ParseInt(fields[12], 10, 64)
		ticks += u + st
	}
	return time.Duration(ticks) * 10 * time.Millisecond // USER_HZ = 100 on Linux
}

// residentBytes is this process's resident set size (Linux).
func residentBytes() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// rawBaseline serves the three requests with plain net/http and pgx: the
// SQL coprod's adapters run (columns, filters, order, limits, the audit
// record), on a connection that row-level security does not bind, with no
// authentication, no use case and no domain types.
func rawBaseline(pool *pgxpool.Pool) http.Handler {
	mux := http.NewServeMux()
	rowsJSON := func(w http.ResponseWriter, rows pgx.Rows) {
		out := []map[string]any{}
		fields := rows.FieldDescriptions()
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			m := make(map[string]any, len(vals))
			for i, v := range vals {
				m[fields[i].Name] = v
			}
			out = append(out, m)
		}
		if err := rows.Err(); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	}
	mux.HandleFunc("GET /calls/{tenant}", func(w http.ResponseWriter, r *http.Request) {
		rows, err := pool.Query(r.Context(), `SELECT tenant_id, id, title, summary, policy_area, objectives, budget_public_cents,
				cofunding_expected_cents, max_per_project_cents, duration_months, eligibility, exclusion_grounds, runs_service, criteria,
				pass_threshold_bp, publication_at, questions_deadline, submission_deadline, min_publication_days, acts, status,
				cancel_reason, rules_version, amendments, created_by, created_at, updated_at, version
			FROM calls WHERE tenant_id = $1 AND ($2 = '' OR status = $2) AND ($3::uuid IS NULL OR id > $3) ORDER BY id LIMIT $4`,
			r.PathValue("tenant"), "", nil, 21)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		rowsJSON(w, rows)
	})
	mux.HandleFunc("GET /applications/{tenant}/{id}", func(w http.ResponseWriter, r *http.Request) {
		var app map[string]any
		err := pgx.BeginFunc(r.Context(), pool, func(tx pgx.Tx) error {
			rows, err := tx.Query(r.Context(), `SELECT tenant_id, id, call_id, lead_org_id, partner_ids, title, sections, budget, declarations,
					status, submitted_at, COALESCE(receipt_sha256, ''), COALESCE(rules_version, 0), admissibility, created_by, created_at,
					updated_at, version FROM applications WHERE tenant_id = $1 AND id = $2`, r.PathValue("tenant"), r.PathValue("id"))
			if err != nil {
				return err
			}
			app, err = pgx.CollectOneRow(rows, pgx.RowToMap)
			if err != nil {
				return err
			}
			rows, err = tx.Query(r.Context(), `SELECT id, name, content_type, size_bytes, sha256, blob_key, uploaded_by, uploaded_at
				FROM application_attachments WHERE tenant_id = $1 AND application_id = $2 ORDER BY uploaded_at, id`, r.PathValue("tenant"), r.PathValue("id"))
			if err != nil {
				return err
			}
			app["attachments"], err = pgx.CollectRows(rows, pgx.RowToMap)
			return err
		})
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(app)
	})
	mux.HandleFunc("POST /measurements/{tenant}/{assignment}", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Period   string
			Value    float64
			Evidence string
			People   json.RawMessage
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		tenant, assignment, id := r.PathValue("tenant"), r.PathValue("assignment"), uuid.New()
		now := time.Now().UTC()
		err := pgx.BeginFunc(r.Context(), pool, func(tx pgx.Tx) error {
			rows, err := tx.Query(r.Context(), `SELECT tenant_id, id, agreement_id, pilot_id, assignment, created_at
				FROM indicator_assignments WHERE tenant_id = $1 AND id = $2`, tenant, assignment)
			if err != nil {
				return err
			}
			as, err := pgx.CollectOneRow(rows, pgx.RowToMap)
			if err != nil {
				return err
			}
			rows, err = tx.Query(r.Context(), `SELECT tenant_id, id, call_id, title, objectives, obligations, revocation_grounds, parties,
					starts_on, ends_on, budget, payment_mode, schedule, officer_signed_by, officer_signed_at, status, status_reason, amendments,
					created_at, updated_at, version
				FROM agreements WHERE tenant_id = $1 AND id = $2`, tenant, as["agreement_id"])
			if err != nil {
				return err
			}
			ag, err := pgx.CollectOneRow(rows, pgx.RowToMap)
			if err != nil {
				return err
			}
			if ag["status"] != "active" {
				return fmt.Errorf("agreement not active")
			}
			var rev int
			if err := tx.QueryRow(r.Context(), `SELECT COALESCE(max(revision), 0) FROM measurements WHERE tenant_id = $1 AND assignment_id = $2 AND period = $3`,
				tenant, assignment, in.Period).Scan(&rev); err != nil {
				return err
			}
			if rev > 0 {
				return fmt.Errorf("period taken")
			}
			if _, err := tx.Exec(r.Context(), `INSERT INTO measurements (tenant_id, id, assignment_id, period, revision, value_milli, numerator_milli,
					denominator_milli, people, evidence, organisation_id, submitted_by, submitted_at, status, decided_by, decided_at, reason, version)
				VALUES ($1, $2, $3, $4, 1, $5, NULL, NULL, $6, $7, $8, 'raw', $9, 'submitted', '', NULL, '', 1)`,
				tenant, id, assignment, in.Period, int64(in.Value*1000), []byte(in.People), in.Evidence, r.URL.Query().Get("org"), now); err != nil {
				return err
			}
			_, err = tx.Exec(r.Context(), `INSERT INTO audit_events (tenant_id, id, at, actor, action, object_type, object_id, summary)
				VALUES ($1, $2, $3, 'raw', 'measurement.submitted', 'measurement', $4, $5)`, tenant, uuid.New(), now, id,
				map[string]any{"assignment": assignment, "period": in.Period})
			return err
		})
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		_ = json.NewEncoder(w).Encode(map[string]any{"id": id, "period": in.Period, "status": "submitted", "submittedAt": now})
	})
	return mux
}
