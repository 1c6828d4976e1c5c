// Package metrics exposes coprod's Prometheus metrics: HTTP latency per
// route, requests per tenant (bounded), River jobs per kind and the
// database pool. It imports no other adapter: the HTTP API and the job
// runner report to it through small observer interfaces that cmd/coprod
// wires, and the pool is read at scrape time.
package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Label values that stand for many.
const (
	OtherTenant = "other"     // a tenant past the cap of tenant label values
	NoTenant    = "none"      // a request outside any tenant (platform, public, health)
	Unmatched   = "unmatched" // a request that matched no route
	OtherMethod = "OTHER"     // a method outside the HTTP standard's
)

// Config of the metrics.
type Config struct {
	// TenantLabels is the most tenant label values kept (the first seen);
	// requests of further tenants are counted under "other".
	TenantLabels int
}

// Metrics holds one process's registry. Each Metrics has its own registry
// (not the global one), so that several services in one test process do
// not collide.
type Metrics struct {
	reg            *prometheus.Registry
	httpDuration   *prometheus.HistogramVec
	tenantRequests *prometheus.CounterVec
	jobs           *prometheus.CounterVec
	jobDuration    *prometheus.HistogramVec
	jobWait        *prometheus.HistogramVec
	tenants        tenantLabels
}

// New builds the registry with the Go runtime and process collectors.
func New(cfg Config) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "coprod", Subsystem: "http", Name: "request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route template, method and status class.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "method", "status"}),
		tenantRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "coprod", Subsystem: "http", Name: "tenant_requests_total",
			Help: "HTTP requests by tenant (slug; at most COPROD_METRICS_TENANTS values, the rest \"other\"; \"none\" outside tenants) and status class.",
		}, []string{"tenant", "status"}),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "coprod", Subsystem: "job", Name: "runs_total",
			Help: "Job runs by kind and outcome: completed, failed (retried later), discarded (failed for the last time), cancelled, snoozed.",
		}, []string{"kind", "outcome"}),
		jobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "coprod", Subsystem: "job", Name: "run_duration_seconds",
			Help:    "Time a job ran in its worker, by kind and outcome.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"kind", "outcome"}),
		jobWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "coprod", Subsystem: "job", Name: "queue_wait_seconds",
			Help:    "Time from when a job was due to when a worker started it, by kind.",
			Buckets: []float64{.01, .05, .1, .5, 1, 5, 10, 30, 60, 300, 1800},
		}, []string{"kind"}),
		tenants: tenantLabels{limit: cfg.TenantLabels, seen: map[string]bool{}},
	}
	m.reg.MustRegister(m.httpDuration, m.tenantRequests, m.jobs, m.jobDuration, m.jobWait,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the exposition (for the metrics listener only, never the
// public API's).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// WatchPool reports the database pool's statistics, read at each scrape.
func (m *Metrics) WatchPool(pool *pgxpool.Pool) { m.reg.MustRegister(poolCollector{pool}) }

// ObserveRequest records one answered request. route is the route template
// ("/v1/tenants/{tenant}/calls", or "" for none), never the raw path;
// tenant is the resolved tenant's slug, or "" when there is none.
func (m *Metrics) ObserveRequest(route, method string, status int, tenant string, took time.Duration) {
	if route == "" {
		route = Unmatched
	}
	class := statusClass(status)
	m.httpDuration.WithLabelValues(route, knownMethod(method), class).Observe(took.Seconds())
	m.tenantRequests.WithLabelValues(m.tenants.label(tenant), class).Inc()
}

// ObserveJob records one run of a job: its outcome, how long it waited
// past its due time and how long it ran.
func (m *Metrics) ObserveJob(kind, outcome string, waited, ran time.Duration) {
	m.jobs.WithLabelValues(kind, outcome).Inc()
	m.jobDuration.WithLabelValues(kind, outcome).Observe(ran.Seconds())
	m.jobWait.WithLabelValues(kind).Observe(max(waited, 0).Seconds())
}

// tenantLabels admits the first limit tenants seen as label values and
// folds any later one into "other": a process serves at most limit+2
// tenant series per status class, whatever the number of municipalities.
type tenantLabels struct {
	mu    sync.Mutex
	limit int
	seen  map[string]bool
}

func (t *tenantLabels) label(tenant string) string {
	if tenant == "" {
		return NoTenant
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.seen[tenant] {
		return tenant
	}
	if len(t.seen) >= t.limit {
		return OtherTenant
	}
	t.seen[tenant] = true
	return tenant
}

func statusClass(status int) string {
	if status == 0 {
		status = http.StatusOK // nothing written: net/http answers 200
	}
	if status < 100 || status > 599 {
		return "other"
	}
	return strconv.Itoa(status/100) + "xx"
}

// knownMethod keeps the method label bounded: a client may send any token.
func knownMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return OtherMethod
}

// poolCollector reads pgxpool's statistics when Prometheus scrapes.
type poolCollector struct{ pool *pgxpool.Pool }

var (
	poolAcquired     = poolDesc("acquired_connections", "Connections currently in use.")
	poolIdle         = poolDesc("idle_connections", "Connections idle in the pool.")
	poolConstructing = poolDesc("constructing_connections", "Connections being opened.")
	poolTotal        = poolDesc("total_connections", "Connections open (acquired, idle and being opened).")
	poolMax          = poolDesc("max_connections", "Largest size of the pool (COPROD_DB_MAX_CONNS).")
	poolAcquires     = poolDesc("acquires_total", "Successful acquisitions of a connection.")
	poolAcquireTime  = poolDesc("acquire_seconds_total", "Total time spent acquiring connections.")
	poolEmpty        = poolDesc("empty_acquires_total", "Acquisitions that had to wait because no idle connection was there.")
	poolEmptyWait    = poolDesc("empty_acquire_wait_seconds_total", "Total time those acquisitions waited.")
	poolCanceled     = poolDesc("canceled_acquires_total", "Acquisitions cancelled by their context.")
	poolNew          = poolDesc("new_connections_total", "Connections opened.")
	poolLifetime     = poolDesc("max_lifetime_destroys_total", "Connections closed for reaching their maximum lifetime.")
	poolIdleClosed   = poolDesc("max_idle_destroys_total", "Connections closed for being idle too long.")
)

func poolDesc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc("coprod_db_pool_"+name, help, nil, nil)
}

func (poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolAcquired, poolIdle, poolConstructing, poolTotal, poolMax, poolAcquires,
		poolAcquireTime, poolEmpty, poolEmptyWait, poolCanceled, poolNew, poolLifetime, poolIdleClosed} {
		ch <- d
	}
}

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.Stat()
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	gauge(poolAcquired, float64(s.AcquiredConns()))
	gauge(poolIdle, float64(s.IdleConns()))
	gauge(poolConstructing, float64(s.ConstructingConns()))
	gauge(poolTotal, float64(s.TotalConns()))
	gauge(poolMax, float64(s.MaxConns()))
	counter(poolAcquires, float64(s.AcquireCount()))
	counter(poolAcquireTime, s.AcquireDuration().Seconds())
	counter(poolEmpty, float64(s.EmptyAcquireCount()))
	counter(poolEmptyWait, s.EmptyAcquireWaitTime().Seconds())
	counter(poolCanceled, float64(s.CanceledAcquireCount()))
	counter(poolNew, float64(s.NewConnsCount()))
	counter(poolLifetime, float64(s.MaxLifetimeDestroyCount()))
	counter(poolIdleClosed, float64(s.MaxIdleDestroyCount()))
}
