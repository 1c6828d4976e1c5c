package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"riverqueue.com/riverui"

	"github.com/coprod/coprod/adapters/blobfs"
	"github.com/coprod/coprod/adapters/httpapi"
	"github.com/coprod/coprod/adapters/jobs"
	"github.com/coprod/coprod/adapters/mail"
	"github.com/coprod/coprod/adapters/metrics"
	"github.com/coprod/coprod/adapters/oidc"
	"github.com/coprod/coprod/adapters/postgres"
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

// services are the use cases of one process, wired to their adapters.
type services struct {
	store     *postgres.Store
	tenants   *tenants.Service
	app       *app.Service
	ids       *identity.Service
	orgs      *organisation.Service
	calls     *call.Service
	apps      *application.Service
	runner    *jobs.Runner
	notify    *notify.Service
	reminders *reminder.Service
	reports   *report.Service
	network   *network.Service
	deps      httpapi.Deps
	handler   http.Handler
	metrics   *metrics.Metrics
}

// watchAccess lets the store remember principals and tenants for as long as
// it hears every process's changes of access (ADR 0022), until ctx ends.
// The API processes run it; the workers read fresh.
func (s *services) watchAccess(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) {
	go s.store.WatchAccess(ctx, pool.Config().ConnConfig, func(err error) {
		log.Warn("not hearing changes of access: principals and tenants are read fresh until it listens again", "err", err)
	})
}

func (s *services) agreements() *agreement.Service  { return s.deps.Agreements }
func (s *services) monitoring() *monitoring.Service { return s.deps.Monitoring }

// wire builds everything behind the API by hand: stores, use cases, the
// OIDC client and the HTTP handler. dev admits loopback http issuers.
func wire(cfg Config, pool *pgxpool.Pool, log *slog.Logger, dev bool) (*services, error) {
	if len(cfg.SecretsKey) == 0 {
		return nil, &usageError{"COPROD_SECRETS_KEY is required: 32 random bytes as 64 hex characters (openssl rand -hex 32); it seals client secrets at rest"}
	}
	var previous [][]byte
	if len(cfg.SecretsKeyPrevious) > 0 {
		previous = append(previous, cfg.SecretsKeyPrevious)
	}
	sealer, err := postgres.NewSealer(cfg.SecretsKey, previous...)
	if err != nil {
		return nil, err
	}
	// One registry per process: the API and the workers report to it, the
	// pool is read at each scrape; served apart from the API (serveMetrics).
	mx := metrics.New(metrics.Config{TenantLabels: cfg.MetricsTenants})
	mx.WatchPool(pool)
	runner, err := jobs.New(pool, jobs.Config{Work: cfg.Workers, Logger: log, MaxWorkers: cfg.Jobs.Concurrency,
		JobTimeout: cfg.Jobs.Timeout, RescueAfter: cfg.Jobs.RescueAfter, SnapshotHourUTC: cfg.Jobs.SnapshotHour, Observer: mx})
	if err != nil {
		return nil, err
	}
	// Use cases publish events; the runner inserts their jobs in the same transaction.
	store := postgres.NewStore(pool).WithOutbox(runner)
	blobs, err := blobfs.New(cfg.BlobDir)
	if err != nil {
		return nil, fmt.Errorf("blob store in %s: %w", cfg.BlobDir, err)
	}
	oc := oidc.NewClient(false)
	var platform *identity.Provider
	if pl := cfg.Platform; pl.Issuer != "" {
		platform = &identity.Provider{Issuer: pl.Issuer, ClientID: pl.ClientID, ClientSecret: pl.ClientSecret, Audience: pl.Audience,
			Scopes: []string{"openid", "email", "profile", "groups"},
			Claims: identity.ClaimMapping{EmailClaim: "email", NameClaim: "name", GroupsClaim: "groups"}}
		if pl.OperatorGroup != "" {
			platform.Claims.GroupRoles = map[string][]domain.Role{pl.OperatorGroup: {domain.RolePlatformOperator}}
		}
	}
	mailer, err := newMailer(cfg, log)
	if err != nil {
		return nil, err
	}
	s := &services{
		store:   store,
		runner:  runner,
		metrics: mx,
		tenants: tenants.NewService(store.Registry(), nil),
		app:     app.New(store, nil),
		orgs:    organisation.NewService(store.Organisations(), nil),
		calls:   call.NewService(store.Calls(), nil),
		apps:    application.NewService(store.Applications(), blobs, nil),
		ids: identity.NewService(store.Identity(sealer), oc, nil, identity.Config{
			IdleTimeout: cfg.SessionIdle, AbsoluteTimeout: cfg.SessionAbsolute, AllowLoopbackHTTP: dev, Platform: platform}),
	}
	s.notify = notify.NewService(store.Notify(), mailer, nil, cfg.PublicURL)
	reminders := store.Reminders()
	s.reminders = reminder.NewService(reminders, nil)
	s.reports = report.NewService(store.Reports(), nil)
	s.network = network.NewService(store.Network(), nil)
	runner.Bind(jobs.Deps{Calls: s.calls, Deadlines: store.Deadlines(), Notify: s.notify, Reminders: s.reminders, Reports: s.reports, Network: s.network,
		Applications: s.apps,
		DeliverReminder: func(ctx context.Context, tenant, id uuid.UUID) (int, error) {
			return reminder.Deliver(ctx, reminders.Delivery(), mailer, domain.SystemClock, tenant, id)
		},
		ActiveTenants: func(ctx context.Context) ([]uuid.UUID, error) { return activeTenants(ctx, s.tenants) },
	})
	auth := []httpapi.Authenticator{&httpapi.IdentityAuth{IDs: s.ids, OIDC: oidcPort{oc}}}
	if bt := httpapi.NewBootstrapToken(cfg.BootstrapToken); bt != nil {
		auth = append(auth, bt)
	}
	dashboard, err := riverui.NewHandler(&riverui.HandlerOpts{Endpoints: riverui.NewEndpoints(runner.Client(), nil),
		Prefix: "/admin/jobs", Logger: log, JobListHideArgsByDefault: true})
	if err != nil {
		return nil, fmt.Errorf("job dashboard: %w", err)
	}
	if err := dashboard.Start(context.Background()); err != nil {
		return nil, fmt.Errorf("job dashboard: %w", err)
	}
	s.deps = httpapi.Deps{
		Tenants: s.tenants, App: s.app, IDs: s.ids, Orgs: s.orgs, Calls: s.calls, Apps: s.apps, Committee: committee.NewService(store.Committee(), nil), Public: call.NewTransparency(store.PublicCalls()), Notices: call.NewNoticeBoard(store),
		Agreements: agreement.NewService(store.Agreements(), nil), Pilots: pilot.NewService(store.Pilots(), nil),
		Monitoring: monitoring.NewService(store.Monitoring(), nil), Codesign: codesign.NewService(store.Codesign(), nil), OIDC: oidcPort{oc},
		Ready: func(ctx context.Context) error {
			ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			if err := pool.Ping(ctx); err != nil {
				return err
			}
			return postgres.CheckMigrated(ctx, pool)
		},
		Auth:          auth,
		Log:           log,
		JobsDashboard: dashboard,
		Notify:        s.notify,
		Reminders:     s.reminders,
		Reports:       s.reports,
		Network:       s.network,
		OpenData:      opendata.NewService(store.OpenData(), opendata.Config{BaseURL: cfg.PublicURL}, nil),
		Practices:     practice.NewService(store.Practices(), nil),
		Catalogue:     practice.NewCatalogue(store.PublicPractices()),
		ActiveTenants: func(ctx context.Context) ([]uuid.UUID, error) { return activeTenants(ctx, s.tenants) },
		Observer:      mx,
	}
	s.deps.Coprogramming = coprogramming.NewService(store.Coprogramming(), nil)
	s.deps.Initiatives = initiative.NewService(store.Initiatives(), nil)
	_, s.handler = httpapi.New(httpapi.Config{Version: version, PublicURL: cfg.PublicURL, MaxBodyBytes: cfg.MaxBodyBytes, SessionMaxAge: cfg.SessionAbsolute, Rate: cfg.Rate}, s.deps)
	return s, nil
}

// oidcPort adapts the oidc adapter to the port httpapi declares, so that
// neither adapter imports the other.
type oidcPort struct{ c *oidc.Client }

func (o oidcPort) AuthCodeURL(ctx context.Context, p *identity.Provider, redirectURI, state, nonce, verifier string) (string, error) {
	return o.c.AuthCodeURL(ctx, p, redirectURI, state, nonce, verifier)
}

func (o oidcPort) Exchange(ctx context.Context, p *identity.Provider, redirectURI, code, verifier, nonce string) (identity.Identity, string, error) {
	return o.c.Exchange(ctx, p, redirectURI, code, verifier, nonce)
}

func (o oidcPort) Metadata(ctx context.Context, issuer string) (httpapi.ProviderMetadata, error) {
	m, err := o.c.Metadata(ctx, issuer)
	return httpapi.ProviderMetadata{IssParameterSupported: m.IssParameterSupported, EndSessionEndpoint: m.EndSessionEndpoint}, err
}

func (o oidcPort) VerifyBearer(ctx context.Context, p *identity.Provider, token string) (identity.Identity, error) {
	id, err := o.c.VerifyBearer(ctx, p, token)
	if errors.Is(err, oidc.ErrKeySetUnavailable) {
		return id, err // an outage of the provider, logged as such
	}
	return id, err
}

// newMailer sends through COPROD_SMTP_* or, when no host is set, writes the
// messages to the log (development, tests).
func newMailer(cfg Config, log *slog.Logger) (notify.Mailer, error) {
	if cfg.SMTP.Host == "" {
		return logMailer{log}, nil
	}
	return mail.New(cfg.SMTP)
}

type logMailer struct{ log *slog.Logger }

func (l logMailer) Send(ctx context.Context, m notify.Message) error {
	l.log.InfoContext(ctx, "e-mail (no SMTP server configured)", "to", m.To, "subject", m.Subject, "message_id", m.MessageID)
	return nil
}

// activeTenants lists active tenants for platform-level scheduling; the
// system acts as the operator for this listing only.
func activeTenants(ctx context.Context, reg *tenants.Service) ([]uuid.UUID, error) {
	ctx = domain.WithPrincipal(ctx, domain.Principal{Subject: "system", Roles: []domain.Role{domain.RolePlatformOperator}})
	var out []uuid.UUID
	f := tenants.Filter{Status: tenants.StatusActive, Limit: tenants.MaxLimit}
	for {
		page, err := reg.List(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, t := range page.Items {
			out = append(out, t.ID)
		}
		if page.Next == uuid.Nil {
			return out, nil
		}
		f.After = page.Next
	}
}
