// Package httpapi is coprod's HTTP API: huma operations on net/http,
// OpenAPI 3.1, RFC 9457 problems, request ids, JSON access logs and
// authentication. It authenticates; the use cases authorize.
package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/agreement"
	"github.com/coprod/coprod/domain/app"
	"github.com/coprod/coprod/domain/application"
	"github.com/coprod/coprod/domain/call"
	"github.com/coprod/coprod/domain/codesign"
	"github.com/coprod/coprod/domain/committee"
	"github.com/coprod/coprod/domain/coprogramming"
	"github.com/coprod/coprod/domain/identity"
	"github.com/coprod/coprod/domain/initiative"
	"github.com/coprod/coprod/domain/monitoring"
	"github.com/coprod/coprod/domain/network"
	"github.com/coprod/coprod/domain/notify"
	"github.com/coprod/coprod/domain/opendata"
	"github.com/coprod/coprod/domain/organisation"
	"github.com/coprod/coprod/domain/pilot"
	"github.com/coprod/coprod/domain/practice"
	"github.com/coprod/coprod/domain/reminder"
	"github.com/coprod/coprod/domain/report"
	"github.com/coprod/coprod/tenants"
)

// Authenticator turns a request's credentials into a principal. ok is false
// when the request carries no credentials this authenticator understands;
// an error means credentials were presented and are not valid.
// tenant is the tenant of the route (zero on platform routes): credentials
// are only valid for the tenant whose provider issued them, or the platform.
type Authenticator interface {
	Authenticate(ctx context.Context, r *http.Request, tenant uuid.UUID) (p domain.Principal, ok bool, err error)
}

// Config of the HTTP API.
type Config struct {
	Version      string
	PublicURL    string // e.g. https://coprod.example.it; shown in the OpenAPI servers
	MaxBodyBytes int64
	// SessionMaxAge is the lifetime of the session cookie (the absolute
	// timeout of sessions); default 12 h.
	SessionMaxAge time.Duration
	// Rate limits requests per tenant and per anonymous client; the zero
	// value limits nothing.
	Rate RateLimit
}

// Deps are the use cases and probes the API serves.
type Deps struct {
	Tenants    *tenants.Service
	App        *app.Service
	IDs        *identity.Service // nil: no login (foundation-only deployments, some tests)
	Orgs       *organisation.Service
	Calls      *call.Service
	Apps       *application.Service
	Committee  *committee.Service
	Public     *call.Transparency
	Notices    *call.NoticeBoard
	Agreements *agreement.Service
	Pilots     *pilot.Service
	Monitoring *monitoring.Service
	Codesign   *codesign.Service
	Notify     *notify.Service
	Reminders  *reminder.Service
	Reports    *report.Service
	OpenData   *opendata.Service
	Network    *network.Service
	// Co-programming and bottom-up initiatives: the steps before a call.
	Coprogramming *coprogramming.Service
	Initiatives   *initiative.Service
	Practices     *practice.Service
	Catalogue     *practice.Catalogue
	// ActiveTenants lists the active tenants (the national open-data export).
	ActiveTenants func(context.Context) ([]uuid.UUID, error)
	// JobsDashboard (River UI) is mounted at /admin/jobs/ for platform operators only.
	JobsDashboard http.Handler
	OIDC          OIDC
	Ready         func(context.Context) error // database reachable and schema current
	Auth          []Authenticator
	Log           *slog.Logger
	// Observer, if set, is told about every answered request (metrics).
	Observer RequestObserver
}

// RequestObserver is told about each request once it is answered. route is
// the matched route template without its method ("/v1/tenants/{tenant}"),
// "" when none matched: never the raw path, whose values are unbounded.
// tenant is the slug of the route's tenant once resolved, else "".
type RequestObserver interface {
	ObserveRequest(route, method string, status int, tenant string, took time.Duration)
}

// Server holds the API's dependencies.
type Server struct {
	cfg           Config
	tenants       *tenants.Service
	app           *app.Service
	ids           *identity.Service
	orgs          *organisation.Service
	calls         *call.Service
	apps          *application.Service
	committee     *committee.Service
	transparency  *call.Transparency
	notices       *call.NoticeBoard
	agreements    *agreement.Service
	pilots        *pilot.Service
	monitoring    *monitoring.Service
	codesign      *codesign.Service
	notify        *notify.Service
	reminders     *reminder.Service
	reports       *report.Service
	openData      *opendata.Service
	network       *network.Service
	coprogramming *coprogramming.Service
	initiatives   *initiative.Service
	practices     *practice.Service
	catalogue     *practice.Catalogue
	activeTenants func(context.Context) ([]uuid.UUID, error)
	// exports bounds the national open-data downloads streaming at once:
	// each holds a few pool connections for seconds, and they are public.
	exports  chan struct{}
	oidc     OIDC
	ready    func(context.Context) error
	auth     []Authenticator
	log      *slog.Logger
	observer RequestObserver
	rate     *rateLimits
	api      huma.API
	mux      *http.ServeMux
}

func init() {
	huma.NewError = humaError
}

// New builds the API and returns it with its handler, which already has the
// request-id, logging, recovery and body-limit middleware.
func New(cfg Config, d Deps) (*Server, http.Handler) {
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.SessionMaxAge == 0 {
		cfg.SessionMaxAge = 12 * time.Hour
	}
	s := &Server{cfg: cfg, tenants: d.Tenants, app: d.App, ids: d.IDs, orgs: d.Orgs, calls: d.Calls, apps: d.Apps, committee: d.Committee,
		transparency: d.Public, notices: d.Notices, agreements: d.Agreements, pilots: d.Pilots, monitoring: d.Monitoring, codesign: d.Codesign,
		notify: d.Notify, reminders: d.Reminders, reports: d.Reports, openData: d.OpenData, activeTenants: d.ActiveTenants,
		oidc: d.OIDC, ready: d.Ready, auth: d.Auth, log: d.Log, observer: d.Observer,
		network: d.Network,
	}
	s.coprogramming, s.initiatives = d.Coprogramming, d.Initiatives
	s.practices, s.catalogue = d.Practices, d.Catalogue
	s.rate = newRateLimits(cfg.Rate)
	mux := http.NewServeMux()
	hc := huma.DefaultConfig("coprod", cfg.Version)
	hc.Info.Description = "Co-design of social services between municipalities and third-sector organisations (Italian Third Sector Code, art. 55)."
	hc.OpenAPIPath = "/openapi"
	hc.DocsPath = "/docs"
	hc.SchemasPath = "/schemas"
	hc.CreateHooks = nil // no "$schema" member in bodies: responses are plain data
	if cfg.PublicURL != "" {
		hc.Servers = []*huma.Server{{URL: cfg.PublicURL}}
	}
	hc.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer", Description: "A bearer token: the bootstrap operator token, or (with per-tenant login) an OIDC access token."},
	}
	s.mux = mux
	s.exports = make(chan struct{}, MaxNationalExports)
	s.api = humago.New(mux, hc)
	s.api.UseMiddleware(s.authenticate)
	s.registerHealth()
	s.registerTenants()
	s.registerAudit()
	s.registerIdentity()
	s.registerOrganisations()
	s.registerCalls()
	s.registerApplications()
	s.registerCommittee()
	s.registerAgreements()
	s.registerMonitoring()
	s.registerCodesign()
	s.registerCoprogramming()
	s.registerInitiatives()
	s.registerNotifications()
	s.registerReports()
	s.registerReportPage()
	s.registerOpenData()
	s.registerNetwork()
	s.registerPractices()
	s.documentRateLimit()
	if d.JobsDashboard != nil {
		mux.Handle("/admin/jobs/", s.operatorOnly(d.JobsDashboard))
	}
	// Unsafe cross-origin browser requests (a form on another site posting
	// with our session cookie) are refused before any handler runs; API
	// clients send no Origin or Sec-Fetch-Site and pass. 401: the browser's
	// credentials are not accepted from another origin.
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, newProblem(http.StatusUnauthorized, "cross_origin_refused", "cross-origin requests that change state are refused"), requestIDFrom(r.Context()))
	}))
	return s, s.middleware(csrf.Handler(mux))
}

// API exposes the huma API (the OpenAPI document) to tests and tools.
func (s *Server) API() huma.API { return s.api }

type requestInfo struct {
	id     string
	tenant string
}

type requestInfoKey struct{}

func requestIDFrom(ctx context.Context) string {
	if ri, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok {
		return ri.id
	}
	return ""
}

// setLogTenant records the tenant of the request for the access log.
func setLogTenant(ctx context.Context, tenant string) {
	if ri, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok {
		ri.tenant = tenant
	}
}

// validRequestID: 1–128 of A–Z a–z 0–9 . _ : - (a caller's id is echoed
// in headers and logs; anything else is replaced).
func validRequestID(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// middleware adds, around every route: a request id (accepted when well
// formed, generated otherwise, echoed), a body limit, panic recovery that
// answers a bare 500, and one JSON access-log line.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			var b [12]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		ri := &requestInfo{id: id}
		ctx := context.WithValue(r.Context(), requestInfoKey{}, ri)
		w.Header().Set("X-Request-Id", id)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		rec := &statusRecorder{ResponseWriter: w}
		r = r.WithContext(ctx)
		limit := s.cfg.MaxBodyBytes
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/attachments") {
			limit = maxUploadBytes // uploads have their own, larger limit
		}
		r.Body = http.MaxBytesReader(rec, r.Body, limit)
		route := ""
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(ctx, "panic", "panic", v, "stack", string(debug.Stack()))
				if rec.status == 0 {
					writeProblem(rec, newProblem(http.StatusInternalServerError, "internal", "internal error"), id)
				}
			}
			s.log.LogAttrs(ctx, slog.LevelInfo, "request", slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Int("status", rec.status), slog.Int64("bytes", rec.bytes),
				slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000))
			if s.observer != nil {
				s.observer.ObserveRequest(route, r.Method, rec.status, ri.tenant, time.Since(start))
			}
		}()
		if mux, ok := s.mux, s.mux != nil; ok {
			h, pattern := mux.Handler(r)
			// "GET /v1/tenants/{tenant}": the method is a label of its own.
			route = pattern
			if _, path, ok := strings.Cut(pattern, " "); ok {
				route = path
			}
			if pattern == "" {
				// Unknown routes and methods answer a problem too, not the mux's plain text.
				probe := &headerProbe{header: http.Header{}}
				h.ServeHTTP(probe, r)
				code, msg := "route_not_found", "no such route"
				if probe.status == http.StatusMethodNotAllowed {
					code, msg = "method_not_allowed", "this route does not accept "+r.Method
					rec.Header().Set("Allow", probe.header.Get("Allow"))
				}
				writeProblem(rec, newProblem(max(probe.status, 400), code, msg), id)
				return
			}
		}
		next.ServeHTTP(rec, r)
	})
}

// headerProbe records what the mux would answer for an unmatched route.
type headerProbe struct {
	header http.Header
	status int
}

func (p *headerProbe) Header() http.Header         { return p.header }
func (p *headerProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *headerProbe) WriteHeader(code int)        { p.status = code }

func writeProblem(w http.ResponseWriter, p *Problem, requestID string) {
	p.RequestID = requestID
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_ = jsonEncode(w, p)
}

// operatorOnly lets platform operators through to a handler outside huma
// (the job dashboard), authorizing before the handler runs; anyone else
// gets a problem.
func (s *Server) operatorOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, a := range s.auth {
			p, ok, err := a.Authenticate(r.Context(), r, uuid.Nil)
			if err != nil {
				break
			}
			if ok {
				if !p.IsOperator() {
					writeProblem(w, newProblem(http.StatusForbidden, "forbidden", "the job dashboard is for platform operators"), requestIDFrom(r.Context()))
					return
				}
				next.ServeHTTP(w, r.WithContext(domain.WithPrincipal(r.Context(), p)))
				return
			}
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="coprod"`)
		writeProblem(w, newProblem(http.StatusUnauthorized, "unauthenticated", "authentication is required"), requestIDFrom(r.Context()))
	})
}
