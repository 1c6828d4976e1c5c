// Package postgrestest gives each test its own PostgreSQL database, cloned
// from a migrated template, so tests run in parallel and never see each
// other's rows. The server is COPROD_TEST_DATABASE_URL when set (a role that
// may create roles and databases), otherwise one throwaway cluster that this
// test process starts itself from the installed PostgreSQL binaries. A test
// never skips for lack of a database.
package postgrestest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/coprod/coprod/adapters/postgres"
	"github.com/coprod/coprod/adapters/postgres/pgcluster"
)

// Password of the test roles. Fixed, so that test processes sharing one
// server (COPROD_TEST_DATABASE_URL) never reset each other's; test clusters
// listen on loopback only and live as long as the test process.
const password = "coprod-test"

var (
	once     sync.Once
	setupErr error
	cluster  *pgcluster.Cluster
	super    *pgxpool.Pool
	template string
	urls     postgres.Provisioned
)

// Main runs a package's tests, then stops the throwaway cluster. Use it in
// TestMain: func TestMain(m *testing.M) { postgrestest.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	Shutdown()
	os.Exit(code)
}

// Shutdown drops the template and stops the cluster if this process started it.
func Shutdown() {
	if super != nil {
		_, _ = super.Exec(context.Background(), `DROP DATABASE IF EXISTS `+pgx.Identifier{template}.Sanitize()+` WITH (FORCE)`)
		super.Close()
	}
	if cluster != nil {
		_ = cluster.Stop()
	}
}

func setup() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	superURL := os.Getenv("COPROD_TEST_DATABASE_URL")
	if superURL == "" {
		dir, err := os.MkdirTemp("", "coprod-test-pg-")
		if err != nil {
			return err
		}
		cluster, err = pgcluster.Start(ctx, pgcluster.Config{Dir: dir, Ephemeral: true})
		if err != nil {
			return fmt.Errorf("start a throwaway PostgreSQL cluster (set COPROD_TEST_DATABASE_URL to use a server of yours): %w", err)
		}
		superURL = cluster.SuperuserURL("postgres")
	}
	var err error
	if super, err = pgxpool.New(ctx, superURL); err != nil {
		return err
	}
	template = "coprod_tpl_" + randomSuffix()
	if urls, err = postgres.Provision(ctx, superURL, template, password, password); err != nil {
		return err
	}
	owner, err := pgxpool.New(ctx, urls.OwnerURL)
	if err != nil {
		return err
	}
	defer owner.Close()
	if err := postgres.Migrate(ctx, owner, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		return fmt.Errorf("migrate the template database: %w", err)
	}
	owner.Close() // a template must have no connections to be cloned
	_, err = super.Exec(ctx, `ALTER DATABASE `+pgx.Identifier{template}.Sanitize()+` WITH IS_TEMPLATE true`)
	return err
}

func randomSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// DB is one test's database.
type DB struct {
	Name     string
	App      *pgxpool.Pool // as coprod_api: RLS applies, like the service
	Owner    *pgxpool.Pool // as the schema owner, for tests that tamper with the schema
	AppURL   string
	OwnerURL string
	SuperURL string // superuser on this database, for catalog inspection
}

// New returns a fresh, migrated database for t, dropped when t ends.
func New(t testing.TB) *DB {
	t.Helper()
	once.Do(func() { setupErr = setup() })
	if setupErr != nil {
		t.Fatal(setupErr)
	}
	ctx := context.Background()
	name := "coprod_t_" + randomSuffix()
	if _, err := super.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()+` TEMPLATE `+pgx.Identifier{template}.Sanitize()+` OWNER `+postgres.OwnerRole+` STRATEGY FILE_COPY`); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	db := &DB{Name: name, AppURL: swapDB(urls.AppURL, name), OwnerURL: swapDB(urls.OwnerURL, name), SuperURL: swapDB(super.Config().ConnString(), name)}
	appCfg, err := pgxpool.ParseConfig(db.AppURL)
	if err != nil {
		t.Fatal(err)
	}
	postgres.ConfigurePool(appCfg) // as the service's pool
	if db.App, err = pgxpool.NewWithConfig(ctx, appCfg); err != nil {
		t.Fatal(err)
	}
	if db.Owner, err = pgxpool.New(ctx, db.OwnerURL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.App.Close()
		db.Owner.Close()
		if _, err := super.Exec(context.Background(), `DROP DATABASE IF EXISTS `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	return db
}

func swapDB(u, name string) string {
	cfg, err := pgx.ParseConfig(u)
	if err != nil {
		return u
	}
	return fmt.Sprintf("postgres://%s:%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Password, cfg.Host, cfg.Port, name)
}
