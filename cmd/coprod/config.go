package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/coprod/coprod/adapters/httpapi"
	"github.com/coprod/coprod/adapters/mail"
	"github.com/coprod/coprod/adapters/postgres"
	"github.com/coprod/coprod/domain/identity"
)

// Config is read from COPROD_* environment variables; flags of the same
// name (without the prefix, kebab-case) override them.
type Config struct {
	DatabaseURL        string
	MigrateDatabaseURL string
	Listen             string
	PublicURL          string
	BootstrapToken     string
	DataDir            string
	BlobDir            string
	LogLevel           slog.Level
	MaxBodyBytes       int64
	ShutdownTimeout    time.Duration
	ReadHeaderTimeout  time.Duration // a client slower to send its headers is cut
	Rate               httpapi.RateLimit
	DBMaxConns         int
	MetricsAddr        string // the Prometheus listener; "" when off
	MetricsTenants     int    // tenant label values kept; the rest are "other"

	Workers bool        // this process works background jobs
	Jobs    JobSettings // concurrency and timeouts of the job workers
	SMTP    mail.Config // e-mail; Host empty: messages go to the log

	SecretsKey, SecretsKeyPrevious []byte // AES-256 keys sealing secrets at rest
	SessionIdle, SessionAbsolute   time.Duration
	Platform                       PlatformOIDC
}

// JobSettings tune the workers.
type JobSettings struct {
	Concurrency  int           // jobs worked at once per process
	Timeout      time.Duration // a job running longer is cancelled
	RescueAfter  time.Duration // a job still "running" this long (its worker died) is retried
	SnapshotHour int           // nightly report snapshots at this hour, UTC
}

// PlatformOIDC is the identity provider of organisation members, regional
// analysts and operators.
type PlatformOIDC struct {
	Issuer, ClientID, ClientSecret, Audience, OperatorGroup string
}

// setting is one configuration entry: its variable, flag, default and doc
// (the README's configuration table lists the same).
type setting struct {
	env, flag, def, doc string
	secret              bool
}

var settings = []setting{
	{env: "COPROD_DATABASE_URL", flag: "database-url", doc: "PostgreSQL URL of the service's role (a member of coprod_app). Empty: `dev` starts a local cluster under the data folder", secret: true},
	{env: "COPROD_MIGRATE_DATABASE_URL", flag: "migrate-database-url", doc: "PostgreSQL URL of the schema owner, for `migrate`", secret: true},
	{env: "COPROD_LISTEN", flag: "listen", def: ":8080", doc: "address the API listens on (`dev`: 127.0.0.1:8080)"},
	{env: "COPROD_PUBLIC_URL", flag: "public-url", doc: "external base URL of the API, e.g. https://coprod.example.it"},
	{env: "COPROD_BOOTSTRAP_TOKEN", flag: "bootstrap-token", doc: "operator token for first set-up (at least 32 characters); empty disables it", secret: true},
	{env: "COPROD_DATA_DIR", flag: "data-dir", def: ".coprod", doc: "project data folder of `dev`: local PostgreSQL cluster and dev secrets"},
	{env: "COPROD_BLOB_DIR", flag: "blob-dir", doc: "folder of uploaded files (attachments); default <data folder>/blobs"},
	{env: "COPROD_LOG_LEVEL", flag: "log-level", def: "info", doc: "debug, info, warn or error"},
	{env: "COPROD_MAX_BODY_BYTES", flag: "max-body-bytes", def: "1048576", doc: "largest request body accepted (413 above)"},
	{env: "COPROD_READ_HEADER_TIMEOUT", flag: "read-header-timeout", def: "5s", doc: "a client must send its request headers within this long, or its connection is closed"},
	{env: "COPROD_RATE_TENANT", flag: "rate-tenant", def: "100", doc: "requests per second of one tenant (all its signed-in callers together; each platform user has a bucket of its own); 0: no limit"},
	{env: "COPROD_RATE_TENANT_BURST", flag: "rate-tenant-burst", def: "200", doc: "requests a tenant may send at once above its rate"},
	{env: "COPROD_RATE_CLIENT", flag: "rate-client", def: "20", doc: "requests per second of one anonymous client IP address; 0: no limit"},
	{env: "COPROD_RATE_CLIENT_BURST", flag: "rate-client-burst", def: "50", doc: "requests an anonymous client may send at once above its rate"},
	{env: "COPROD_SHUTDOWN_TIMEOUT", flag: "shutdown-timeout", def: "30s", doc: "how long SIGTERM waits for requests in flight"},
	{env: "COPROD_DB_MAX_CONNS", flag: "db-max-conns", def: "20", doc: "size of the database connection pool"},
	{env: "COPROD_METRICS_ADDR", flag: "metrics-addr", def: ":9090", doc: "address of the Prometheus listener serving /metrics, apart from the API (`dev`: 127.0.0.1:9090, skipped if busy); off disables it"},
	{env: "COPROD_METRICS_TENANTS", flag: "metrics-tenants", def: "100", doc: "most tenants with a label value of their own in the metrics; requests of the others count as \"other\""},
	{env: "COPROD_WORKERS", flag: "workers", def: "true", doc: "work background jobs in this process (serve); false for API-only replicas"},
	{env: "COPROD_JOB_CONCURRENCY", flag: "job-concurrency", def: "10", doc: "jobs worked at once by one process"},
	{env: "COPROD_JOB_TIMEOUT", flag: "job-timeout", def: "1m", doc: "a job running longer is cancelled and retried"},
	{env: "COPROD_JOB_RESCUE_AFTER", flag: "job-rescue-after", def: "10m", doc: "a job left running by a dead worker is retried after this long (at least the job timeout)"},
	{env: "COPROD_SNAPSHOT_HOUR", flag: "snapshot-hour", def: "2", doc: "hour (UTC, 0-23) of the nightly report snapshots"},
	{env: "COPROD_SMTP_HOST", flag: "smtp-host", doc: "SMTP server for e-mail; empty: e-mails are only logged"},
	{env: "COPROD_SMTP_PORT", flag: "smtp-port", def: "587", doc: "SMTP port"},
	{env: "COPROD_SMTP_USERNAME", flag: "smtp-username", doc: "SMTP user (AUTH PLAIN over TLS)"},
	{env: "COPROD_SMTP_PASSWORD", flag: "smtp-password", doc: "SMTP password", secret: true},
	{env: "COPROD_SMTP_FROM", flag: "smtp-from", def: "coprod@localhost", doc: "sender address"},
	{env: "COPROD_SMTP_STARTTLS", flag: "smtp-starttls", def: "opportunistic", doc: "opportunistic, required or none"},
	{env: "COPROD_SECRETS_KEY", flag: "secrets-key", doc: "32-byte key (64 hex characters) sealing secrets at rest, e.g. `openssl rand -hex 32`; required by serve (dev keeps one in the data folder)", secret: true},
	{env: "COPROD_SECRETS_KEY_PREVIOUS", flag: "secrets-key-previous", doc: "the previous key during a rotation: values sealed with it still open", secret: true},
	{env: "COPROD_SESSION_IDLE_TIMEOUT", flag: "session-idle-timeout", def: "30m", doc: "a browser session unused this long ends"},
	{env: "COPROD_SESSION_ABSOLUTE_TIMEOUT", flag: "session-absolute-timeout", def: "12h", doc: "a browser session ends this long after login"},
	{env: "COPROD_PLATFORM_OIDC_ISSUER", flag: "platform-oidc-issuer", doc: "issuer of the platform's identity provider (organisations, regional analysts, operators)"},
	{env: "COPROD_PLATFORM_OIDC_CLIENT_ID", flag: "platform-oidc-client-id", doc: "client id of coprod at the platform provider"},
	{env: "COPROD_PLATFORM_OIDC_CLIENT_SECRET", flag: "platform-oidc-client-secret", doc: "client secret of coprod at the platform provider", secret: true},
	{env: "COPROD_PLATFORM_OIDC_AUDIENCE", flag: "platform-oidc-audience", doc: "audience that the platform provider's API access tokens carry"},
	{env: "COPROD_PLATFORM_OIDC_OPERATOR_GROUP", flag: "platform-oidc-operator-group", doc: "value of the groups claim that makes a platform user an operator"},
}

// loadConfig reads the environment, then the flags in args, and validates
// everything, reporting every problem at once.
func loadConfig(name string, getenv func(string) string, args []string, defaults map[string]string) (Config, []string, error) {
	fs := flag.NewFlagSet("coprod "+name, flag.ContinueOnError)
	vals := map[string]*string{}
	for _, s := range settings {
		def := s.def
		if d, ok := defaults[s.env]; ok {
			def = d
		}
		if v := getenv(s.env); v != "" {
			def = v
		}
		shown := def
		if s.secret && def != "" {
			shown = "(set)"
		}
		vals[s.env] = fs.String(s.flag, def, s.doc+" ["+s.env+"]")
		if s.secret {
			fs.Lookup(s.flag).DefValue = shown
		}
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, nil, err
	}
	get := func(env string) string { return strings.TrimSpace(*vals[env]) }
	var problems []string
	bad := func(env, format string, a ...any) {
		problems = append(problems, fmt.Sprintf("%s: %s", env, fmt.Sprintf(format, a...)))
	}
	cfg := Config{
		DatabaseURL:        get("COPROD_DATABASE_URL"),
		MigrateDatabaseURL: get("COPROD_MIGRATE_DATABASE_URL"),
		Listen:             get("COPROD_LISTEN"),
		PublicURL:          strings.TrimRight(get("COPROD_PUBLIC_URL"), "/"),
		BootstrapToken:     get("COPROD_BOOTSTRAP_TOKEN"),
		DataDir:            get("COPROD_DATA_DIR"),
		BlobDir:            get("COPROD_BLOB_DIR"),
	}
	for _, env := range []string{"COPROD_DATABASE_URL", "COPROD_MIGRATE_DATABASE_URL"} {
		if v := get(env); v != "" {
			if _, err := pgxpool.ParseConfig(v); err != nil {
				bad(env, "not a PostgreSQL URL (postgres://user:password@host:5432/db): %v", redactErr(err))
			}
		}
	}
	if _, port, err := net.SplitHostPort(cfg.Listen); err != nil || port == "" {
		bad("COPROD_LISTEN", "want host:port or :port, got %q", cfg.Listen)
	}
	if cfg.PublicURL != "" {
		u, err := url.Parse(cfg.PublicURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad("COPROD_PUBLIC_URL", "want an absolute http(s) URL, got %q", cfg.PublicURL)
		}
	}
	if n := len(cfg.BootstrapToken); n > 0 && n < 32 {
		bad("COPROD_BOOTSTRAP_TOKEN", "too short (%d characters): use at least 32, e.g. `openssl rand -hex 32`", n)
	}
	if cfg.DataDir == "" {
		bad("COPROD_DATA_DIR", "must not be empty")
	}
	if cfg.BlobDir == "" {
		cfg.BlobDir = filepath.Join(cfg.DataDir, "blobs")
	}
	if err := cfg.LogLevel.UnmarshalText([]byte(get("COPROD_LOG_LEVEL"))); err != nil {
		bad("COPROD_LOG_LEVEL", "want debug, info, warn or error, got %q", get("COPROD_LOG_LEVEL"))
	}
	n, err := strconv.ParseInt(get("COPROD_MAX_BODY_BYTES"), 10, 64)
	if err != nil || n < 1024 || n > 1<<30 {
		bad("COPROD_MAX_BODY_BYTES", "want a number of bytes between 1024 and 1073741824, got %q", get("COPROD_MAX_BODY_BYTES"))
	}
	cfg.MaxBodyBytes = n
	d, err := time.ParseDuration(get("COPROD_SHUTDOWN_TIMEOUT"))
	if err != nil || d <= 0 {
		bad("COPROD_SHUTDOWN_TIMEOUT", "want a positive duration such as 30s, got %q", get("COPROD_SHUTDOWN_TIMEOUT"))
	}
	cfg.ShutdownTimeout = d
	if d, err := time.ParseDuration(get("COPROD_READ_HEADER_TIMEOUT")); err != nil || d < 100*time.Millisecond || d > 5*time.Minute {
		bad("COPROD_READ_HEADER_TIMEOUT", "want a duration between 100ms and 5m, got %q", get("COPROD_READ_HEADER_TIMEOUT"))
	} else {
		cfg.ReadHeaderTimeout = d
	}
	for _, r := range []struct {
		env, burstEnv string
		rate          *float64
		burst         *int
	}{{"COPROD_RATE_TENANT", "COPROD_RATE_TENANT_BURST", &cfg.Rate.TenantRate, &cfg.Rate.TenantBurst},
		{"COPROD_RATE_CLIENT", "COPROD_RATE_CLIENT_BURST", &cfg.Rate.ClientRate, &cfg.Rate.ClientBurst}} {
		if v, err := strconv.ParseFloat(get(r.env), 64); err != nil || v != 0 && (v < 0.01 || v > 1e6) || v != v {
			bad(r.env, "want 0 (no limit) or requests per second between 0.01 and 1000000, got %q", get(r.env))
		} else {
			*r.rate = v
		}
		if n, err := strconv.Atoi(get(r.burstEnv)); err != nil || n < 1 || n > 1e6 {
			bad(r.burstEnv, "want a number of requests between 1 and 1000000, got %q", get(r.burstEnv))
		} else {
			*r.burst = n
		}
	}
	c, err := strconv.Atoi(get("COPROD_DB_MAX_CONNS"))
	if err != nil || c < 2 || c > 1000 {
		bad("COPROD_DB_MAX_CONNS", "want a number between 2 and 1000, got %q", get("COPROD_DB_MAX_CONNS"))
	}
	cfg.DBMaxConns = c
	if cfg.MetricsAddr = get("COPROD_METRICS_ADDR"); cfg.MetricsAddr == "off" {
		cfg.MetricsAddr = ""
	} else if _, port, err := net.SplitHostPort(cfg.MetricsAddr); err != nil || port == "" {
		bad("COPROD_METRICS_ADDR", "want host:port, :port or off, got %q", cfg.MetricsAddr)
	} else if cfg.MetricsAddr == cfg.Listen && port != "0" {
		bad("COPROD_METRICS_ADDR", "must differ from COPROD_LISTEN (%s): metrics are not served on the API's listener", cfg.Listen)
	}
	if n, err := strconv.Atoi(get("COPROD_METRICS_TENANTS")); err != nil || n < 0 || n > 10000 {
		bad("COPROD_METRICS_TENANTS", "want a number between 0 and 10000, got %q", get("COPROD_METRICS_TENANTS"))
	} else {
		cfg.MetricsTenants = n
	}
	switch get("COPROD_WORKERS") {
	case "true", "1", "yes":
		cfg.Workers = true
	case "false", "0", "no":
	default:
		bad("COPROD_WORKERS", "want true or false, got %q", get("COPROD_WORKERS"))
	}
	if n, err := strconv.Atoi(get("COPROD_JOB_CONCURRENCY")); err != nil || n < 1 || n > 1000 {
		bad("COPROD_JOB_CONCURRENCY", "want a number between 1 and 1000, got %q", get("COPROD_JOB_CONCURRENCY"))
	} else {
		cfg.Jobs.Concurrency = n
	}
	if d, err := time.ParseDuration(get("COPROD_JOB_TIMEOUT")); err != nil || d <= 0 {
		bad("COPROD_JOB_TIMEOUT", "want a positive duration such as 1m, got %q", get("COPROD_JOB_TIMEOUT"))
	} else {
		cfg.Jobs.Timeout = d
	}
	if d, err := time.ParseDuration(get("COPROD_JOB_RESCUE_AFTER")); err != nil || d <= 0 {
		bad("COPROD_JOB_RESCUE_AFTER", "want a positive duration such as 10m, got %q", get("COPROD_JOB_RESCUE_AFTER"))
	} else if d < cfg.Jobs.Timeout {
		bad("COPROD_JOB_RESCUE_AFTER", "must be at least COPROD_JOB_TIMEOUT (%s), got %s", cfg.Jobs.Timeout, d)
	} else {
		cfg.Jobs.RescueAfter = d
	}
	if h, err := strconv.Atoi(get("COPROD_SNAPSHOT_HOUR")); err != nil || h < 0 || h > 23 {
		bad("COPROD_SNAPSHOT_HOUR", "want an hour from 0 to 23, got %q", get("COPROD_SNAPSHOT_HOUR"))
	} else {
		cfg.Jobs.SnapshotHour = h
	}
	port, err := strconv.Atoi(get("COPROD_SMTP_PORT"))
	if err != nil || port < 1 || port > 65535 {
		bad("COPROD_SMTP_PORT", "want a port number, got %q", get("COPROD_SMTP_PORT"))
	}
	cfg.SMTP = mail.Config{Host: get("COPROD_SMTP_HOST"), Port: port, Username: get("COPROD_SMTP_USERNAME"), Password: get("COPROD_SMTP_PASSWORD"),
		From: get("COPROD_SMTP_FROM"), FromName: "coprod", StartTLS: get("COPROD_SMTP_STARTTLS")}
	if !strings.Contains(cfg.SMTP.From, "@") {
		bad("COPROD_SMTP_FROM", "want an e-mail address, got %q", cfg.SMTP.From)
	}
	switch cfg.SMTP.StartTLS {
	case "opportunistic", "required", "none":
	default:
		bad("COPROD_SMTP_STARTTLS", "want opportunistic, required or none, got %q", cfg.SMTP.StartTLS)
	}
	for _, k := range []struct {
		env string
		dst *[]byte
	}{{"COPROD_SECRETS_KEY", &cfg.SecretsKey}, {"COPROD_SECRETS_KEY_PREVIOUS", &cfg.SecretsKeyPrevious}} {
		if v := get(k.env); v != "" {
			key, err := postgres.ParseKey(v)
			if err != nil {
				bad(k.env, "%v", err)
			}
			*k.dst = key
		}
	}
	for _, d := range []struct {
		env string
		dst *time.Duration
	}{{"COPROD_SESSION_IDLE_TIMEOUT", &cfg.SessionIdle}, {"COPROD_SESSION_ABSOLUTE_TIMEOUT", &cfg.SessionAbsolute}} {
		v, err := time.ParseDuration(get(d.env))
		if err != nil || v < time.Minute || v > 30*24*time.Hour {
			bad(d.env, "want a duration between 1m and 720h, got %q", get(d.env))
		}
		*d.dst = v
	}
	cfg.Platform = PlatformOIDC{Issuer: get("COPROD_PLATFORM_OIDC_ISSUER"), ClientID: get("COPROD_PLATFORM_OIDC_CLIENT_ID"),
		ClientSecret: get("COPROD_PLATFORM_OIDC_CLIENT_SECRET"), Audience: get("COPROD_PLATFORM_OIDC_AUDIENCE"),
		OperatorGroup: get("COPROD_PLATFORM_OIDC_OPERATOR_GROUP")}
	if pl := cfg.Platform; pl.Issuer != "" || pl.ClientID != "" || pl.ClientSecret != "" || pl.Audience != "" {
		if pl.Issuer == "" || pl.ClientID == "" || pl.ClientSecret == "" || pl.Audience == "" {
			bad("COPROD_PLATFORM_OIDC_*", "set all of ISSUER, CLIENT_ID, CLIENT_SECRET and AUDIENCE, or none")
		} else if !identity.ValidIssuer(pl.Issuer, false) {
			bad("COPROD_PLATFORM_OIDC_ISSUER", "want an https URL, got %q", pl.Issuer)
		}
	}
	if len(problems) > 0 {
		return cfg, nil, &usageError{"invalid configuration:\n  " + strings.Join(problems, "\n  ")}
	}
	return cfg, fs.Args(), nil
}

// redactErr drops anything that could echo a password from a parse error.
func redactErr(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "://"); i >= 0 {
		return "malformed URL"
	}
	return msg
}

// usageError is a mistake of the caller: exit code 2, no stack of causes.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func exitCode(err error) int {
	var ue *usageError
	if errors.As(err, &ue) || errors.Is(err, flag.ErrHelp) {
		return 2
	}
	return 1
}
