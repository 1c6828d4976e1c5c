package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/coprod/coprod/adapters/metrics"
	"github.com/coprod/coprod/adapters/postgres/postgrestest"
)

// startedWithMetrics runs `coprod args…` like started, and also returns the
// address of its metrics listener, read from its log. The API's base URL is
// "" for `worker`, which serves no API.
func startedWithMetrics(t *testing.T, getenv func(string) string, args ...string) (api, metrics string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		err := run(ctx, args, getenv, pw, pw)
		pw.CloseWithError(io.EOF)
		errc <- err
	}()
	apiRE := regexp.MustCompile(`"msg":"serving","addr":"([^"]+)"`)
	metricsRE := regexp.MustCompile(`"msg":"serving metrics","addr":"([^"]+)"`)
	apic, metricsc := make(chan string, 1), make(chan string, 1)
	var out strings.Builder
	var mu sync.Mutex
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			mu.Lock()
			out.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if m := apiRE.FindStringSubmatch(sc.Text()); m != nil {
				apic <- "http://" + m[1]
			}
			if m := metricsRE.FindStringSubmatch(sc.Text()); m != nil {
				metricsc <- "http://" + m[1] + "/metrics"
			}
		}
	}()
	stop = func() error {
		cancel()
		select {
		case err := <-errc:
			return err
		case <-time.After(60 * time.Second):
			t.Fatal("coprod did not stop within 60s")
			return nil
		}
	}
	t.Cleanup(func() { cancel() })
	deadline := time.After(90 * time.Second)
	for metrics == "" || (api == "" && args[0] != "worker") {
		select {
		case api = <-apic:
		case metrics = <-metricsc:
		case err := <-errc:
			mu.Lock()
			defer mu.Unlock()
			t.Fatalf("coprod %v exited early: %v\n%s", args, err, out.String())
		case <-deadline:
			t.Fatalf("coprod %v did not serve the API and metrics within 90s", args)
		}
	}
	return api, metrics, stop
}

func postJSON(t *testing.T, url, token string, body any) int {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(t.Context(), "POST", url, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// scrape fetches and parses an exposition.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, res.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("parse %s: %v", url, err)
	}
	return families
}

// series returns the metrics of a family whose labels include want.
func series(families map[string]*dto.MetricFamily, name string, want map[string]string) []*dto.Metric {
	var out []*dto.Metric
	f := families[name]
	if f == nil {
		return nil
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		out = append(out, m)
	}
	return out
}

// value of one counter, gauge or histogram (its count); -1 when absent.
func value(families map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	ms := series(families, name, want)
	if len(ms) != 1 {
		return -1
	}
	m := ms[0]
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Histogram != nil:
		return float64(m.GetHistogram().GetSampleCount())
	}
	return -1
}

// labelValues lists the values a label takes in a family.
func labelValues(families map[string]*dto.MetricFamily, name, label string) []string {
	var out []string
	for _, m := range series(families, name, nil) {
		for _, l := range m.GetLabel() {
			if l.GetName() == label {
				out = append(out, l.GetValue())
			}
		}
	}
	return out
}

// badSnapshotArgs is a take_snapshot job whose arguments do not decode: its
// only attempt fails.
type badSnapshotArgs struct {
	TenantID string `json:"tenant_id"`
}

func (badSnapshotArgs) Kind() string { return "take_snapshot" }

// TestMetrics serves the API with a cap of two tenant labels, makes
// requests for three tenants, runs jobs, and reads the metrics listener.
func TestMetrics(t *testing.T) {
	t.Parallel()
	db := postgrestest.New(t)
	base, metricsURL, stop := startedWithMetrics(t, env("COPROD_DATABASE_URL", db.AppURL, "COPROD_LISTEN", "127.0.0.1:0",
		"COPROD_BOOTSTRAP_TOKEN", testToken, "COPROD_SECRETS_KEY", strings.Repeat("0f", 32), "COPROD_BLOB_DIR", t.TempDir(),
		"COPROD_METRICS_TENANTS", "2", "COPROD_DB_MAX_CONNS", "7"), "serve")
	defer func() {
		if err := stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	}()
	for _, r := range []struct{ slug, name, code string }{{"regione-lombardia", "Lombardia", "03"}, {"regione-lazio", "Lazio", "12"}, {"regione-veneto", "Veneto", "05"}} {
		if status := postJSON(t, base+"/v1/tenants", testToken, map[string]any{"slug": r.slug, "name": r.name, "kind": "region", "istatCode": r.code}); status != 201 {
			t.Fatalf("create %s: %d", r.slug, status)
		}
	}
	// Two tenants get their own label, in the order first seen; the third is "other".
	for _, slug := range []string{"regione-lombardia", "regione-lombardia", "regione-lazio", "regione-veneto"} {
		if status, _ := get(t, base+"/v1/tenants/"+slug, testToken); status != 200 {
			t.Fatalf("GET %s: %d", slug, status)
		}
	}
	if status, _ := get(t, base+"/v1/tenants/atlantide", testToken); status != 404 {
		t.Fatalf("unknown tenant: %d", status)
	}
	if status, _ := get(t, base+"/no/such/route/42", ""); status != 404 {
		t.Fatalf("unknown route: %d", status)
	}
	// The public API does not expose the metrics.
	if status, body := get(t, base+"/metrics", ""); status != 404 || body["code"] != "route_not_found" {
		t.Errorf("GET /metrics on the API: %d %v, want 404 route_not_found", status, body)
	}

	// A job that fails for the last time (River retries up to MaxAttempts).
	rc, err := river.NewClient(riverpgxv5.New(db.App), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rc.Insert(t.Context(), badSnapshotArgs{TenantID: "not-a-uuid"}, &river.InsertOpts{MaxAttempts: 1}); err != nil {
		t.Fatal(err)
	}

	var m map[string]*dto.MetricFamily
	eventually(t, 30*time.Second, "job metrics", func() bool {
		m = scrape(t, metricsURL)
		return value(m, "coprod_job_runs_total", "kind", "sweep_call_deadlines", "outcome", "completed") >= 1 &&
			value(m, "coprod_job_runs_total", "kind", "take_snapshot", "outcome", "discarded") == 1
	})

	// HTTP latency by route template, method and status class.
	const hist = "coprod_http_request_duration_seconds"
	if n := value(m, hist, "route", "/v1/tenants/{tenant}", "method", "GET", "status", "2xx"); n != 4 {
		t.Errorf("GET /v1/tenants/{tenant} 2xx: count %v, want 4", n)
	}
	if n := value(m, hist, "route", "/v1/tenants/{tenant}", "method", "GET", "status", "4xx"); n != 1 {
		t.Errorf("GET /v1/tenants/{tenant} 4xx: count %v, want 1", n)
	}
	if n := value(m, hist, "route", "/v1/tenants", "method", "POST", "status", "2xx"); n != 3 {
		t.Errorf("POST /v1/tenants 2xx: count %v, want 3", n)
	}
	if n := value(m, hist, "route", "unmatched", "method", "GET", "status", "4xx"); n != 2 {
		t.Errorf("unmatched 4xx: count %v, want 2 (/no/such/route/42 and /metrics)", n)
	}
	for _, route := range labelValues(m, hist, "route") {
		if strings.Contains(route, "regione") || strings.Contains(route, "atlantide") || strings.Contains(route, "42") {
			t.Errorf("a raw path became a route label: %q", route)
		}
	}

	// Requests per tenant, capped at two label values.
	const perTenant = "coprod_http_tenant_requests_total"
	for _, c := range []struct {
		tenant string
		want   float64
	}{{"regione-lombardia", 2}, {"regione-lazio", 1}, {"other", 1}} {
		if n := value(m, perTenant, "tenant", c.tenant, "status", "2xx"); n != c.want {
			t.Errorf("%s{tenant=%q}: %v, want %v", perTenant, c.tenant, n, c.want)
		}
	}
	if n := value(m, perTenant, "tenant", "none", "status", "4xx"); n != 3 {
		t.Errorf("%s{tenant=none,status=4xx}: %v, want 3 (unknown tenant, unknown route, /metrics)", perTenant, n)
	}
	tenants := map[string]bool{}
	for _, v := range labelValues(m, perTenant, "tenant") {
		tenants[v] = true
	}
	if len(tenants) != 4 || tenants["regione-veneto"] {
		t.Errorf("tenant label values %v, want regione-lombardia, regione-lazio, other and none", tenants)
	}

	// Jobs: run latency by kind and outcome, and the queue wait.
	if n := value(m, "coprod_job_run_duration_seconds", "kind", "sweep_call_deadlines", "outcome", "completed"); n < 1 {
		t.Errorf("sweep run duration: count %v", n)
	}
	if n := value(m, "coprod_job_queue_wait_seconds", "kind", "take_snapshot"); n != 1 {
		t.Errorf("take_snapshot queue wait: count %v, want 1", n)
	}

	// The pool, read at scrape time.
	if n := value(m, "coprod_db_pool_max_connections"); n != 7 {
		t.Errorf("pool max connections %v, want 7 (COPROD_DB_MAX_CONNS)", n)
	}
	if n := value(m, "coprod_db_pool_total_connections"); n < 1 || n > 7 {
		t.Errorf("pool total connections %v", n)
	}
	if n := value(m, "coprod_db_pool_acquires_total"); n < 10 {
		t.Errorf("pool acquisitions %v, want at least one per request", n)
	}
	for _, name := range []string{"coprod_db_pool_acquired_connections", "coprod_db_pool_idle_connections", "coprod_db_pool_empty_acquires_total",
		"coprod_db_pool_acquire_seconds_total", "go_goroutines", "process_resident_memory_bytes"} {
		if value(m, name) < 0 {
			t.Errorf("%s missing", name)
		}
	}
}

// `coprod worker` serves metrics too (it has no API), and reports its jobs.
func TestWorkerMetrics(t *testing.T) {
	t.Parallel()
	db := postgrestest.New(t)
	_, metricsURL, stop := startedWithMetrics(t, env("COPROD_DATABASE_URL", db.AppURL, "COPROD_SECRETS_KEY", strings.Repeat("0f", 32),
		"COPROD_BLOB_DIR", t.TempDir()), "worker")
	eventually(t, 30*time.Second, "worker job metrics", func() bool {
		m := scrape(t, metricsURL)
		return value(m, "coprod_job_runs_total", "kind", "plan_reminders", "outcome", "completed") >= 1 &&
			value(m, "coprod_db_pool_max_connections") == 20
	})
	// The worker's liveness probe (deploy/kubernetes/base/worker.yaml).
	res, err := http.Get(strings.TrimSuffix(metricsURL, "/metrics") + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(body) != "ok\n" {
		t.Errorf("worker /healthz: %d %q", res.StatusCode, body)
	}
	if err := stop(); err != nil {
		t.Errorf("stop: %v", err)
	}
}

// serve refuses a busy metrics address (the deployment expects it there);
// off disables the listener; a bad one is a configuration error.
func TestMetricsAddress(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	db := postgrestest.New(t)
	getenv := func(kv ...string) func(string) string {
		return env(append([]string{"COPROD_DATABASE_URL", db.AppURL, "COPROD_LISTEN", "127.0.0.1:0", "COPROD_SECRETS_KEY", strings.Repeat("0f", 32),
			"COPROD_BLOB_DIR", t.TempDir()}, kv...)...)
	}
	err = run(t.Context(), []string{"serve"}, getenv("COPROD_METRICS_ADDR", busy.Addr().String()), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "COPROD_METRICS_ADDR") {
		t.Errorf("serve with a busy metrics address: %v, want a refusal naming COPROD_METRICS_ADDR", err)
	}
	err = run(t.Context(), []string{"serve"}, getenv("COPROD_METRICS_ADDR", "9090"), io.Discard, io.Discard)
	if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "COPROD_METRICS_ADDR") {
		t.Errorf("serve with a bad metrics address: %v, want a usage error", err)
	}
	// dev only warns: a developer's own Prometheus may hold the port.
	var devLog syncBuffer
	cfg := Config{MetricsAddr: busy.Addr().String()}
	addr, stopDev, err := serveMetrics(t.Context(), cfg, &services{metrics: metrics.New(metrics.Config{})}, slog.New(slog.NewJSONHandler(&devLog, nil)), true)
	if err != nil || addr != "" || !strings.Contains(devLog.String(), "address busy") {
		t.Errorf("dev with a busy metrics address: %q, %v, log %s; want a warning and no listener", addr, err, devLog.String())
	}
	stopDev()
	var out syncBuffer
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, []string{"serve"}, getenv("COPROD_METRICS_ADDR", "off"), &out, &out) }()
	eventually(t, 30*time.Second, "serve with metrics off", func() bool { return strings.Contains(out.String(), `"msg":"serving"`) })
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("serve with metrics off: %v", err)
	}
	if s := out.String(); !strings.Contains(s, "metrics disabled") || strings.Contains(s, "serving metrics") {
		t.Errorf("metrics off, log:\n%s", s)
	}
}
