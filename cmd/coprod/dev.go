package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"

	"github.com/coprod/coprod/adapters/oidc/devprovider"
	"github.com/coprod/coprod/adapters/postgres"
	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/tenants"
	"github.com/coprod/coprod/tenants/istat"
)

// dev runs the whole service on one machine with no set-up: a PostgreSQL
// cluster under the data folder (unless COPROD_DATABASE_URL is set),
// migrations, a small demo and the API on loopback. Ctrl-C stops it all.
func dev(ctx context.Context, cfg Config, stdout, stderr io.Writer) error {
	log := newLogger(stderr, cfg.LogLevel)
	if cfg.DatabaseURL == "" {
		if _, running := readRuntimeFile(cfg.DataDir); running {
			return &usageError{fmt.Sprintf("coprod dev already runs on %s (see %s)", cfg.DataDir, runtimeFile(cfg.DataDir))}
		}
		fmt.Fprintf(stdout, "Starting PostgreSQL in %s …\n", cfg.DataDir)
		l, err := openLocalDB(ctx, cfg, log, nil)
		if err != nil {
			return err
		}
		defer func() {
			removeRuntimeFile(cfg.DataDir)
			if err := l.Stop(); err != nil {
				fmt.Fprintln(stderr, "coprod: stop PostgreSQL:", err)
			} else {
				fmt.Fprintln(stdout, "PostgreSQL stopped.")
			}
		}()
		if err := writeRuntimeFile(cfg.DataDir, l.Provisioned); err != nil {
			return err
		}
		cfg.DatabaseURL, cfg.MigrateDatabaseURL = l.AppURL, l.OwnerURL
	} else if cfg.MigrateDatabaseURL != "" {
		if err := migrateURL(ctx, cfg.MigrateDatabaseURL, log); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return err
	}
	token, err := devToken(cfg)
	if err != nil {
		return err
	}
	cfg.BootstrapToken = token
	if len(cfg.SecretsKey) == 0 {
		if cfg.SecretsKey, err = devSecretsKey(cfg.DataDir); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://" + ln.Addr().String()
	}

	pool, err := newPool(ctx, cfg.DatabaseURL, cfg.DBMaxConns)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := postgres.CheckServiceRole(ctx, pool); err != nil {
		return err
	}
	store := postgres.NewStore(pool)
	if err := seedDemo(ctx, store); err != nil {
		return fmt.Errorf("seed demo data: %w", err)
	}
	portsFile := filepath.Join(cfg.DataDir, "dev-idp-ports.json")
	var ports map[string]int
	if b, err := os.ReadFile(portsFile); err == nil {
		_ = json.Unmarshal(b, &ports)
	}
	idp, err := devprovider.Start(devRealms, ports)
	if err != nil {
		return fmt.Errorf("start the dev identity provider: %w", err)
	}
	defer idp.Stop()
	if b, err := json.Marshal(idp.Ports()); err == nil {
		_ = os.WriteFile(portsFile, b, 0o600)
	}
	platform, _ := idp.Client("platform")
	cfg.Platform = PlatformOIDC{Issuer: platform.Issuer, ClientID: platform.ClientID, ClientSecret: platform.ClientSecret,
		Audience: "coprod-platform", OperatorGroup: "platform_operator"}
	svc, err := wire(cfg, pool, log, true)
	if err != nil {
		return err
	}
	svc.watchAccess(ctx, pool, log)
	tokens, err := seedIdentity(ctx, svc, idp, cfg.DataDir)
	if err != nil {
		return fmt.Errorf("seed dev identities: %w", err)
	}
	metricsAddr, stopMetrics, err := serveMetrics(ctx, cfg, svc, log, true)
	if err != nil {
		return err
	}
	defer stopMetrics()
	metricsLine := "off"
	if metricsAddr != "" {
		metricsLine = "http://" + metricsAddr + "/metrics"
	}
	ready := make(chan string, 1)
	go func() {
		select {
		case <-ready:
			base := cfg.PublicURL
			fmt.Fprintf(stdout, `
coprod %s is running.
  API       %s/v1
  Docs      %s/docs
  OpenAPI   %s/openapi.json  (also .yaml)
  Ready     %s/readyz
  Metrics   %s

Log in from a browser (dev identity provider, pick a user):
  Milano staff   %s/v1/tenants/milano/auth/login?return_to=/v1/tenants/milano/me
  Platform       %s/v1/auth/login?return_to=/v1/me
Bearer tokens for curl, one per seeded user (valid 12 h):
  source %s
  curl -H "Authorization: Bearer $COPROD_TOKEN_MILANO_OFFICER" %s/v1/tenants/milano/me
Operator token for first set-up (kept in %s/bootstrap-token):
  export COPROD_TOKEN=%s
  curl -H "Authorization: Bearer $COPROD_TOKEN" %s/v1/tenants

Database (service role): %s
Press Ctrl-C to stop; data stays in %s for the next run.
`, version, base, base, base, base, metricsLine, base, base, tokens, base, cfg.DataDir, token, base, hostOf(cfg.DatabaseURL), cfg.DataDir)
		case <-ctx.Done():
		}
	}()
	return withJobs(ctx, cfg, svc, log, func() error { return listenAndServe(ctx, cfg, ln, svc.handler, log, ready) })
}

// demo is what `coprod dev` seeds: Lombardy with Milan and Bergamo.
var demo = map[string]bool{"015146": true, "016024": true}

// seedDemo onboards the demo tenants through the registry's own import, so
// a second start changes nothing.
func seedDemo(ctx context.Context, store *postgres.Store) error {
	full, err := istat.Parse(istat.Open())
	if err != nil {
		return err
	}
	ds := &istat.Dataset{}
	for _, m := range full.Municipalities {
		if demo[m.Code] {
			ds.Municipalities = append(ds.Municipalities, m)
		}
	}
	for _, r := range full.Regions {
		if r.Code == "03" {
			ds.Regions = append(ds.Regions, r)
		}
	}
	ctx = domain.WithPrincipal(ctx, domain.Principal{Subject: "coprod-dev-seed", Roles: []domain.Role{domain.RolePlatformOperator}})
	_, err = tenants.NewService(store.Registry(), nil).ImportISTAT(ctx, ds, true)
	return err
}
