package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/coprod/coprod/adapters/postgres"
	"github.com/coprod/coprod/adapters/postgres/postgrestest"
	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/app"
	"github.com/coprod/coprod/domain/audit"
	"github.com/coprod/coprod/tenants"
)

var operator = domain.Principal{Subject: "test-operator", Roles: []domain.Role{domain.RolePlatformOperator}}

func operatorCtx(t *testing.T) context.Context { return domain.WithPrincipal(t.Context(), operator) }

// twoTenants onboards a region and a municipality, each with audit records,
// through the real use cases; it returns their ids.
func twoTenants(t *testing.T, store *postgres.Store) (a, b uuid.UUID) {
	t.Helper()
	svc := tenants.NewService(store.Registry(), nil)
	ctx := operatorCtx(t)
	region, err := svc.Create(ctx, tenants.CreateInput{Slug: "regione-lombardia", Name: "Lombardia", Kind: tenants.KindRegion, ISTATCode: "03"})
	if err != nil {
		t.Fatal(err)
	}
	town, err := svc.Create(ctx, tenants.CreateInput{Slug: "milano", Name: "Milano", Kind: tenants.KindMunicipality, ISTATCode: "015146", Region: "regione-lombardia"})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []uuid.UUID{region.ID, town.ID} {
		if _, err := svc.ChangeStatus(ctx, id.String(), "activate", "", 0); err != nil {
			t.Fatal(err)
		}
	}
	return region.ID, town.ID
}

func countAudit(t *testing.T, tx pgx.Tx) (total int, tenants map[uuid.UUID]int) {
	t.Helper()
	rows, err := tx.Query(t.Context(), `SELECT tenant_id, count(*) FROM audit_events GROUP BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	tenants = map[uuid.UUID]int{}
	var id uuid.UUID
	var n int
	if _, err := pgx.ForEachRow(rows, []any{&id, &n}, func() error { tenants[id] = n; total += n; return nil }); err != nil {
		t.Fatal(err)
	}
	return total, tenants
}

func TestIsolationAsAppRole(t *testing.T) {
	t.Parallel()
	db := postgrestest.New(t)
	store := postgres.NewStore(db.App)
	a, b := twoTenants(t, store)
	ctx := t.Context()

	// Each tenant has its own records (created + activated).
	var ownerCount int
	if err := db.Owner.QueryRow(ctx, `SELECT count(*) FROM audit_events`).Scan(&ownerCount); err != nil {
		t.Fatalf("owner reads under forced RLS with no tenant: %v", err)
	}
	if ownerCount != 0 {
		t.Errorf("owner sees %d audit rows without a tenant: FORCE must apply to the owner too", ownerCount)
	}

	t.Run("no tenant set sees zero rows", func(t *testing.T) {
		tx, err := db.App.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		if total, _ := countAudit(t, tx); total != 0 {
			t.Errorf("no tenant: %d rows visible, want 0", total)
		}
	})

	t.Run("tenant A sees only A", func(t *testing.T) {
		err := pgx.BeginFunc(ctx, db.App, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT set_config('app.tenant_id', $1, true)`, a.String()); err != nil {
				return err
			}
			total, by := countAudit(t, tx)
			if total == 0 || by[b] != 0 || len(by) != 1 {
				t.Errorf("tenant A sees %v, want only A's rows", by)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("tenant A cannot write a row of B", func(t *testing.T) {
		err := store.Atomic(ctx, a, func(tx app.Tx) error {
			return tx.Audit().Append(ctx, audit.Record{ID: domain.NewID(), At: time.Now(), Actor: "x", Action: "x", ObjectType: "x", ObjectID: b})
		})
		if err != nil {
			t.Fatalf("writing under A's own id must work: %v", err)
		}
		err = pgx.BeginFunc(ctx, db.App, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT set_config('app.tenant_id', $1, true)`, a.String()); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO audit_events (tenant_id, id, at, actor, action, object_type, object_id) VALUES ($1, $2, now(), 'x', 'x', 'x', $1)`, b, domain.NewID())
			return err
		})
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "42501" {
			t.Errorf("insert of B's row under A: got %v, want a row-level security violation (42501)", err)
		}
	})

	t.Run("audit trail is append-only", func(t *testing.T) {
		for _, q := range []string{`UPDATE audit_events SET actor = 'forged'`, `DELETE FROM audit_events`, `TRUNCATE audit_events`} {
			err := pgx.BeginFunc(ctx, db.App, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, `SELECT set_config('app.tenant_id', $1, true)`, a.String()); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, q)
				return err
			})
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || pe.Code != "42501" {
				t.Errorf("%s: got %v, want permission denied", q, err)
			}
		}
	})

	t.Run("use case reads only its tenant", func(t *testing.T) {
		svc := app.New(store, nil)
		page, err := svc.AuditTrail(operatorCtx(t), b, audit.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) == 0 {
			t.Fatal("B's trail is empty")
		}
		for _, r := range page.Items {
			if r.TenantID != b {
				t.Errorf("B's trail holds a record of %s", r.TenantID)
			}
		}
	})
}

// TestPooledConnectionsNeverCarryATenant interleaves transactions of two
// tenants on a pool of two connections, some of them failing midway, and
// checks every transaction starts with no tenant and sees only its own rows.
func TestPooledConnectionsNeverCarryATenant(t *testing.T) {
	t.Parallel()
	db := postgrestest.New(t)
	a, b := twoTenants(t, postgres.NewStore(db.App))
	ctx := t.Context()
	cfg, err := pgxpool.ParseConfig(db.AppURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns, cfg.MinConns = 2, 2
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	store := postgres.NewStore(pool)

	const rounds = 200
	var wg sync.WaitGroup
	errs := make(chan error, 4*rounds)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				tenant, other := a, b
				if (i+w)%2 == 1 {
					tenant, other = b, a
				}
				// A raw transaction first: it must start unscoped.
				err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
					var setting string
					if err := tx.QueryRow(ctx, `SELECT COALESCE(current_setting('app.tenant_id', true), '')`).Scan(&setting); err != nil {
						return err
					}
					if setting != "" {
						return fmt.Errorf("transaction started with tenant %q from a previous one", setting)
					}
					var n int
					if err := tx.QueryRow(ctx, `SELECT count(*) FROM audit_events`).Scan(&n); err != nil {
						return err
					}
					if n != 0 {
						return fmt.Errorf("unscoped transaction sees %d rows", n)
					}
					return nil
				})
				if err != nil {
					errs <- err
					return
				}
				// Then a scoped one through the store, failing midway every third time.
				fail := errors.New("midway failure")
				err = store.Atomic(ctx, tenant, func(tx app.Tx) error {
					page, err := tx.Audit().List(ctx, audit.Filter{Limit: 100})
					if err != nil {
						return err
					}
					for _, r := range page {
						if r.TenantID == other {
							return fmt.Errorf("tenant %s sees a row of %s", tenant, other)
						}
					}
					if i%3 == 0 {
						return fail
					}
					return nil
				})
				if err != nil && !errors.Is(err, fail) {
					errs <- err
					return
				}
				// And a transaction that errors in SQL after scoping.
				_ = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
					if _, err := tx.Exec(ctx, `SELECT set_config('app.tenant_id', $1, true)`, tenant.String()); err != nil {
						return err
					}
					_, err := tx.Exec(ctx, `SELECT 1/0`)
					return err
				})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
