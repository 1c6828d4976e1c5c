package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/adapters/httpapi"
	"github.com/coprod/coprod/adapters/postgres/postgrestest"
	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/tenants"
)

// tenantAuth stands for the OIDC authenticator in the benchmark: "Bearer
// auditor:<tenant id>" is an auditor of that tenant. Everything else (the
// HTTP server and its timeouts, middleware, rate limiter, use cases,
// PostgreSQL under RLS) is the real thing.
type tenantAuth struct{}

func (tenantAuth) Authenticate(_ context.Context, r *http.Request, _ uuid.UUID) (domain.Principal, bool, error) {
	id, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer auditor:")
	if !ok {
		return domain.Principal{}, false, nil
	}
	t, err := uuid.Parse(id)
	return domain.Principal{Subject: "auditor-" + id, TenantID: t, Roles: []domain.Role{domain.RoleAuditor}}, err == nil, nil
}

// BenchmarkNoisyTenant measures what one tenant's flood does to another:
// tenant B reads its audit trail (GET …/audit-events?limit=20, one
// transaction under RLS) 40 times a second, alone, then while tenant A
// floods the same route (1,500 requests a second offered), against the
// real server with the default per-tenant limit (100/s, burst 200) and,
// for comparison, with no limit. It reports B's p50 and p99 in
// milliseconds, A's requests answered per second and the share of them
// answered 429.
func BenchmarkNoisyTenant(b *testing.B) {
	ctx := context.Background()
	db := postgrestest.New(b)
	cfg, _, err := loadConfig("bench", env("COPROD_RATE_TENANT", "100", "COPROD_RATE_CLIENT", "20", "COPROD_DATABASE_URL", db.AppURL, "COPROD_SECRETS_KEY", strings.Repeat("cd", 32),
		"COPROD_BLOB_DIR", b.TempDir(), "COPROD_WORKERS", "false"), nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	svc, err := wire(cfg, db.App, log, false)
	if err != nil {
		b.Fatal(err)
	}
	remember(b, svc, db.App)
	op := domain.WithPrincipal(ctx, domain.Principal{Subject: "op", Roles: []domain.Role{domain.RolePlatformOperator}})
	if _, err := svc.tenants.Create(op, tenants.CreateInput{Slug: "regione-lombardia", Name: "Lombardia", Kind: tenants.KindRegion, ISTATCode: "03"}); err != nil {
		b.Fatal(err)
	}
	ids := map[string]uuid.UUID{}
	for _, tn := range []struct{ slug, code string }{{"milano", "015146"}, {"bergamo", "016024"}} {
		t, err := svc.tenants.Create(op, tenants.CreateInput{Slug: tn.slug, Name: tn.slug, Kind: tenants.KindMunicipality, ISTATCode: tn.code, Region: "regione-lombardia"})
		if err != nil {
			b.Fatal(err)
		}
		// A trail to read: the activation plus a few suspensions.
		if _, err := svc.tenants.ChangeStatus(op, tn.slug, "activate", "", 0); err != nil {
			b.Fatal(err)
		}
		for range 10 {
			if _, err := svc.tenants.ChangeStatus(op, tn.slug, "suspend", "bench", 0); err != nil {
				b.Fatal(err)
			}
			if _, err := svc.tenants.ChangeStatus(op, tn.slug, "resume", "bench", 0); err != nil {
				b.Fatal(err)
			}
		}
		ids[tn.slug] = t.ID
	}
	serveWith := func(rate httpapi.RateLimit) string {
		deps := svc.deps
		deps.Auth = []httpapi.Authenticator{tenantAuth{}}
		deps.Observer = nil
		_, h := httpapi.New(httpapi.Config{Version: "bench", MaxBodyBytes: cfg.MaxBodyBytes, Rate: rate}, deps)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		sctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = listenAndServe(sctx, cfg, ln, h, log, nil)
		}()
		b.Cleanup(func() { stop(); <-done })
		return "http://" + ln.Addr().String()
	}
	limited, unlimited := serveWith(cfg.Rate), serveWith(httpapi.RateLimit{})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	get := func(base, tenant string) (int, error) {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/v1/tenants/"+tenant+"/audit-events?limit=20", nil)
		req.Header.Set("Authorization", "Bearer auditor:"+ids[tenant].String())
		res, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode, nil
	}

	const floodRate = 1500 // ~15 times A's limit, above what this server serves
	run := func(b *testing.B, base string, flood bool) {
		var attempted, refused atomic.Int64
		var wg sync.WaitGroup
		fctx, stopFlood := context.WithCancel(ctx)
		if flood {
			// Open loop: A offers floodRate requests a second whatever the
			// answers, as a runaway script or integration would; 64
			// connections carry them, and what they cannot carry is dropped.
			work := make(chan struct{}, 64)
			wg.Go(func() {
				defer close(work)
				tick := time.NewTicker(10 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-fctx.Done():
						return
					case <-tick.C:
					}
					for range floodRate / 100 {
						select {
						case work <- struct{}{}:
						default:
						}
					}
				}
			})
			for range 64 {
				wg.Go(func() {
					for range work {
						status, err := get(base, "milano")
						if err != nil {
							continue
						}
						attempted.Add(1)
						if status == http.StatusTooManyRequests {
							refused.Add(1)
						}
					}
				})
			}
			time.Sleep(time.Second) // let the flood empty A's bucket
			attempted.Store(0)
			refused.Store(0)
		}
		// B is a well-behaved tenant: 40 requests a second, under its own
		// limit, 400 of them whatever b.N is (the run lasts 10 s; ns/op is
		// not the figure here).
		var took []time.Duration
		start := time.Now()
		tick := time.NewTicker(25 * time.Millisecond)
		defer tick.Stop()
		for range 400 {
			<-tick.C
			t0 := time.Now()
			status, err := get(base, "bergamo")
			if err != nil || status != 200 {
				b.Fatalf("tenant B: %d %v", status, err)
			}
			took = append(took, time.Since(t0))
		}
		elapsed := time.Since(start)
		stopFlood()
		wg.Wait()
		slices.Sort(took)
		pct := func(p float64) float64 {
			return float64(took[min(len(took)-1, int(float64(len(took))*p))].Microseconds()) / 1000
		}
		b.ReportMetric(0, "ns/op")
		b.ReportMetric(pct(0.50), "B-p50-ms")
		b.ReportMetric(pct(0.99), "B-p99-ms")
		if flood {
			b.ReportMetric(float64(attempted.Load())/elapsed.Seconds(), "A-answered/s")
			b.ReportMetric(100*float64(refused.Load())/float64(max(1, attempted.Load())), "A-429-%")
		}
	}
	b.Run("alone", func(b *testing.B) { run(b, limited, false) })
	b.Run("flooded-limited", func(b *testing.B) { run(b, limited, true) })
	b.Run("flooded-unlimited", func(b *testing.B) { run(b, unlimited, true) })
}
