package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"regexp"
	"slices"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/coprod/coprod/migrations"
)

// AppRole is the group role the service's login role must belong to. The
// migrations grant it what the service needs and nothing more; it owns no
// table and cannot bypass row-level security.
const AppRole = "coprod_app"

// migrationLock serialises concurrent `coprod migrate` runs (several pods
// starting at once) with a session advisory lock.
const migrationLock = 7_031_986_055

var migrationName = regexp.MustCompile(`^(\d{4})_[a-z0-9_]+\.sql$`)

// Migration is one embedded schema file.
type Migration struct {
	Version  int
	Name     string
	SQL      string
	Checksum string
}

// Migrations lists the embedded schema files in order.
func Migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(migrations.FS, ".")
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("migrations: %s does not match NNNN_name.sql", e.Name())
		}
		b, err := fs.ReadFile(migrations.FS, e.Name())
		if err != nil {
			return nil, err
		}
		v, _ := strconv.Atoi(m[1])
		sum := sha256.Sum256(b)
		if len(out) > 0 && out[len(out)-1].Version == v {
			return nil, fmt.Errorf("migrations: two files with version %d", v)
		}
		out = append(out, Migration{Version: v, Name: e.Name(), SQL: string(b), Checksum: hex.EncodeToString(sum[:])})
	}
	return out, nil
}

// Migrate applies coprod's pending migrations, each in its own transaction,
// then River's, then grants the app role River's tables. It runs as the
// schema owner (never as the service's role) and is safe to run concurrently.
func Migrate(ctx context.Context, owner *pgxpool.Pool, log *slog.Logger) error {
	all, err := Migrations()
	if err != nil {
		return err
	}
	conn, err := owner.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("connect as schema owner: %w", err)
	}
	defer conn.Release()
	var super bool
	if err := conn.QueryRow(ctx, `SELECT rolsuper FROM pg_roles WHERE rolname = current_user`).Scan(&super); err != nil {
		return err
	}
	var roleExists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, AppRole).Scan(&roleExists); err != nil {
		return err
	}
	if !roleExists {
		return fmt.Errorf("role %s does not exist: as a superuser, run `CREATE ROLE %s NOLOGIN; CREATE ROLE coprod_api LOGIN PASSWORD '…' IN ROLE %s;` and point COPROD_DATABASE_URL at coprod_api", AppRole, AppRole, AppRole)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return err
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLock) //nolint:errcheck
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	applied, err := appliedMigrations(ctx, conn.Conn())
	if err != nil {
		return err
	}
	for _, m := range all {
		if sum, ok := applied[m.Version]; ok {
			if sum != m.Checksum {
				return fmt.Errorf("migration %s was changed after it was applied: add a new migration instead", m.Name)
			}
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)`, m.Version, m.Name, m.Checksum)
			return err
		})
		if err != nil {
			return fmt.Errorf("apply %s: %w", m.Name, err)
		}
		log.InfoContext(ctx, "migration applied", "migration", m.Name)
	}
	migrator, err := rivermigrate.New(riverpgxv5.New(owner), &rivermigrate.Config{Logger: log})
	if err != nil {
		return err
	}
	res, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return fmt.Errorf("river migrations: %w", err)
	}
	for _, v := range res.Versions {
		log.InfoContext(ctx, "river migration applied", "version", v.Version, "name", v.Name)
	}
	// River's tables are platform infrastructure (job rows carry tenant ids in
	// their args, never personal data); the service needs DML on them.
	_, err = conn.Exec(ctx, `DO $$
	DECLARE t record;
	BEGIN
		GRANT SELECT ON schema_migrations TO coprod_app;
		FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE 'river\_%' LOOP
			EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO coprod_app', t.tablename);
		END LOOP;
		FOR t IN SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema() AND sequencename LIKE 'river\_%' LOOP
			EXECUTE format('GRANT USAGE, SELECT ON SEQUENCE %I TO coprod_app', t.sequencename);
		END LOOP;
	END $$`)
	if err != nil {
		return fmt.Errorf("grant river tables: %w", err)
	}
	_ = super
	return nil
}

func appliedMigrations(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}) (map[int]string, error) {
	rows, err := q.Query(ctx, `SELECT version, checksum FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	out := map[int]string{}
	var v int
	var sum string
	_, err = pgx.ForEachRow(rows, []any{&v, &sum}, func() error { out[v] = sum; return nil })
	return out, err
}

// ErrNotMigrated means the database schema is behind the binary.
var ErrNotMigrated = errors.New("database schema is not current: run `coprod migrate`")

// CheckMigrated reports whether every embedded migration and River's are
// applied; /readyz calls it, as the service's own role.
func CheckMigrated(ctx context.Context, pool *pgxpool.Pool) error {
	all, err := Migrations()
	if err != nil {
		return err
	}
	applied, err := appliedMigrations(ctx, pool)
	if err != nil {
		return errors.Join(ErrNotMigrated, err)
	}
	for _, m := range all {
		if applied[m.Version] != m.Checksum {
			return fmt.Errorf("%w (missing or changed: %s)", ErrNotMigrated, m.Name)
		}
	}
	migrator, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return err
	}
	existing, err := migrator.ExistingVersions(ctx)
	if err != nil {
		return errors.Join(ErrNotMigrated, err)
	}
	want := migrator.AllVersions()
	if len(want) > 0 && !slices.ContainsFunc(existing, func(m rivermigrate.Migration) bool { return m.Version == want[len(want)-1].Version }) {
		return fmt.Errorf("%w (river migration %d missing)", ErrNotMigrated, want[len(want)-1].Version)
	}
	return nil
}

// CheckServiceRole refuses a database role that could see across tenants:
// a superuser, a role with BYPASSRLS, or the owner of a table all ignore
// row-level security. The service calls it at start, before serving.
func CheckServiceRole(ctx context.Context, pool *pgxpool.Pool) error {
	var (
		user          string
		super, bypass bool
		member        bool
		owned         []string
	)
	err := pool.QueryRow(ctx, `SELECT current_user, r.rolsuper, r.rolbypassrls, pg_has_role(current_user, $1, 'USAGE'),
			COALESCE((SELECT array_agg(c.relname::text ORDER BY c.relname) FROM pg_class c
			  WHERE c.relkind IN ('r', 'p', 'v', 'm') AND c.relnamespace = current_schema()::regnamespace
			    AND pg_has_role(current_user, c.relowner, 'USAGE')), '{}')
		FROM pg_roles r WHERE r.rolname = current_user`, AppRole).Scan(&user, &super, &bypass, &member, &owned)
	if err != nil {
		return fmt.Errorf("inspect database role: %w", err)
	}
	switch {
	case super:
		return fmt.Errorf("database role %q is a superuser, which bypasses row-level security: connect the service as a member of %s", user, AppRole)
	case bypass:
		return fmt.Errorf("database role %q has BYPASSRLS: connect the service as a member of %s without it", user, AppRole)
	case len(owned) > 0:
		return fmt.Errorf("database role %q owns (or inherits ownership of) %v; owners bypass row-level security unless forced and can drop it: connect as a role that owns nothing", user, owned)
	case !member:
		return fmt.Errorf("database role %q is not a member of %s: GRANT %s TO %s", user, AppRole, AppRole, user)
	}
	return nil
}
