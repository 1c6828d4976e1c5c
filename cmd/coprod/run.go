package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/coprod/coprod/adapters/httpapi"
	"github.com/coprod/coprod/adapters/postgres"
)

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

const usage = `coprod — co-design of social services between municipalities and third-sector organisations

Usage:
  coprod dev                      run everything locally: PostgreSQL under the data folder, demo data, the API
  coprod serve                    serve the API and work background jobs (needs COPROD_DATABASE_URL; COPROD_WORKERS=false: API only)
  coprod worker                   work background jobs only
  coprod migrate                  apply database migrations (needs COPROD_MIGRATE_DATABASE_URL, or none for the local cluster)
  coprod tenants <command>        create, list, show, activate, suspend, resume, offboard, import-istat
  coprod version                  print the version

Every command takes -h for its flags; flags override COPROD_* environment variables.
`

// run is the whole program behind main, so tests can call it: args without
// the program name, the environment as a function, and where to write.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return &usageError{"no command given"}
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		cfg, _, err := loadConfig(cmd, getenv, rest, nil)
		if err != nil {
			return err
		}
		if strings.HasPrefix(cfg.PublicURL, "http://") {
			// Session cookies are Secure: plain http is for `coprod dev` on loopback only.
			return &usageError{"COPROD_PUBLIC_URL must be https for serve (plain http is only for `coprod dev` on loopback)"}
		}
		return serve(ctx, cfg, newLogger(stdout, cfg.LogLevel), nil)
	case "dev":
		cfg, _, err := loadConfig(cmd, getenv, rest, map[string]string{"COPROD_LISTEN": "127.0.0.1:8080", "COPROD_METRICS_ADDR": "127.0.0.1:9090"})
		if err != nil {
			return err
		}
		return dev(ctx, cfg, stdout, stderr)
	case "worker":
		cfg, _, err := loadConfig(cmd, getenv, rest, nil)
		if err != nil {
			return err
		}
		return worker(ctx, cfg, newLogger(stdout, cfg.LogLevel))
	case "migrate":
		cfg, _, err := loadConfig(cmd, getenv, rest, nil)
		if err != nil {
			return err
		}
		return migrate(ctx, cfg, newLogger(stderr, cfg.LogLevel))
	case "tenants":
		return tenantsCmd(ctx, rest, getenv, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, versionString())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return &usageError{fmt.Sprintf("unknown command %q", cmd)}
	}
}

func versionString() string {
	rev := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				rev = " " + s.Value[:12]
			}
		}
	}
	return fmt.Sprintf("coprod %s%s (%s)", version, rev, runtime.Version())
}

// newLogger writes JSON lines; request ids and tenants come from the
// request's context (httpapi.LogHandler).
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(httpapi.LogHandler(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})))
}

func newPool(ctx context.Context, url string, maxConns int) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = int32(maxConns)
	if cfg.ConnConfig.RuntimeParams == nil {
		cfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "coprod"
	// A runaway query must not hold a connection forever.
	if _, ok := cfg.ConnConfig.RuntimeParams["statement_timeout"]; !ok {
		cfg.ConnConfig.RuntimeParams["statement_timeout"] = "60000"
	}
	postgres.ConfigurePool(cfg)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to PostgreSQL at %s: %w", hostOf(url), err)
	}
	return pool, nil
}

func hostOf(url string) string {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return "?"
	}
	return fmt.Sprintf("%s:%d/%s as %s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, cfg.ConnConfig.User)
}

func indent(s string) string { return "  " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n  ") }
