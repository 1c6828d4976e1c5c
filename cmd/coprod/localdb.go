package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/coprod/coprod/adapters/postgres"
	"github.com/coprod/coprod/adapters/postgres/pgcluster"
)

const localDatabase = "coprod"

// localDB is the embedded default: a PostgreSQL cluster under the data
// folder, provisioned with coprod's roles and migrated.
type localDB struct {
	postgres.Provisioned
	cluster *pgcluster.Cluster // nil when another process (`coprod dev`) runs it
}

func (l *localDB) Stop() error {
	if l.cluster == nil {
		return nil
	}
	return l.cluster.Stop()
}

// runtimeFile records, while `coprod dev` runs, how to reach its cluster, so
// that `coprod tenants …` and `coprod migrate` can use it meanwhile.
func runtimeFile(dataDir string) string { return filepath.Join(dataDir, "dev.env") }

// openLocalDB starts the local cluster (or joins the one `coprod dev` runs),
// provisions the roles and applies migrations.
func openLocalDB(ctx context.Context, cfg Config, log *slog.Logger, pgLog io.Writer) (*localDB, error) {
	if urls, ok := readRuntimeFile(cfg.DataDir); ok {
		return &localDB{Provisioned: urls}, nil
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create the data folder: %w", err)
	}
	if _, err := pgcluster.BinDir(); err != nil {
		return nil, err
	}
	cluster, err := pgcluster.Start(ctx, pgcluster.Config{Dir: filepath.Join(cfg.DataDir, "pg"), Log: pgLog})
	if err != nil {
		return nil, err
	}
	l := &localDB{cluster: cluster}
	superURL := cluster.SuperuserURL("postgres")
	secret := passwordOf(superURL)
	l.Provisioned, err = postgres.Provision(ctx, superURL, localDatabase, derive(secret, postgres.OwnerRole), derive(secret, postgres.APIRole))
	if err == nil {
		err = migrateURL(ctx, l.OwnerURL, log)
	}
	if err != nil {
		_ = cluster.Stop()
		return nil, err
	}
	return l, nil
}

// derive gives each role its own password from the cluster's superuser
// password, so the data folder holds one secret only.
func derive(secret, role string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("coprod role password: " + role))
	return hex.EncodeToString(m.Sum(nil))[:32]
}

func passwordOf(url string) string {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return ""
	}
	return cfg.Password
}

func writeRuntimeFile(dataDir string, urls postgres.Provisioned) error {
	body := fmt.Sprintf("pid=%d\nCOPROD_DATABASE_URL=%s\nCOPROD_MIGRATE_DATABASE_URL=%s\n", os.Getpid(), urls.AppURL, urls.OwnerURL)
	return os.WriteFile(runtimeFile(dataDir), []byte(body), 0o600)
}

func readRuntimeFile(dataDir string) (postgres.Provisioned, bool) {
	b, err := os.ReadFile(runtimeFile(dataDir))
	if err != nil {
		return postgres.Provisioned{}, false
	}
	var urls postgres.Provisioned
	pid := 0
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, "=")
		switch k {
		case "pid":
			pid, _ = strconv.Atoi(v)
		case "COPROD_DATABASE_URL":
			urls.AppURL = v
		case "COPROD_MIGRATE_DATABASE_URL":
			urls.OwnerURL = v
		}
	}
	// A file left by a killed `coprod dev` names a dead process: ignore it.
	if pid <= 0 || syscall.Kill(pid, 0) != nil || urls.AppURL == "" {
		return postgres.Provisioned{}, false
	}
	return urls, true
}

func removeRuntimeFile(dataDir string) {
	if err := os.Remove(runtimeFile(dataDir)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintln(os.Stderr, "coprod: remove", runtimeFile(dataDir), err)
	}
}

// devToken returns the bootstrap operator token of `coprod dev`: the
// configured one, or one generated once and kept in the data folder.
func devToken(cfg Config) (string, error) {
	if cfg.BootstrapToken != "" {
		return cfg.BootstrapToken, nil
	}
	path := filepath.Join(cfg.DataDir, "bootstrap-token")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		return strings.TrimSpace(string(b)), nil
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	tok := hex.EncodeToString(raw[:])
	return tok, os.WriteFile(path, []byte(tok+"\n"), 0o600)
}

// migrateURL applies migrations as the owner at url.
func migrateURL(ctx context.Context, url string, log *slog.Logger) error {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return err
	}
	defer pool.Close()
	return postgres.Migrate(ctx, pool, log)
}

// migrate is `coprod migrate`: against COPROD_MIGRATE_DATABASE_URL, or the
// local cluster when no database is configured.
func migrate(ctx context.Context, cfg Config, log *slog.Logger) error {
	switch {
	case cfg.MigrateDatabaseURL != "":
		if err := migrateURL(ctx, cfg.MigrateDatabaseURL, log); err != nil {
			return err
		}
	case cfg.DatabaseURL != "":
		return &usageError{"migrate runs as the schema owner: set COPROD_MIGRATE_DATABASE_URL (COPROD_DATABASE_URL is the service's role, which may not change the schema)"}
	default:
		l, err := openLocalDB(ctx, cfg, log, nil)
		if err != nil {
			return err
		}
		if err := l.Stop(); err != nil {
			return err
		}
	}
	log.Info("database is up to date")
	return nil
}

var randRead = rand.Read
