// Package postgres implements coprod's stores on PostgreSQL with pgx:
// tenant-scoped transactions (row-level security reads app.tenant_id),
// repositories, error translation, migrations and the checks that the
// service's database role cannot bypass isolation.
package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/app"
	"github.com/coprod/coprod/domain/audit"
	"github.com/coprod/coprod/domain/organisation"
	"github.com/coprod/coprod/tenants"
)

// DB is a *pgxpool.Pool in production and may be a pgx.Tx in tests, where
// Begin opens a savepoint.
type DB interface {
	Begin(ctx context.Context) (pgx.Tx, error)
	// SendBatch runs reads that need one round trip (see OpenData).
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// Store implements app.Store; Registry() gives its tenants.Store.
type Store struct {
	db     DB
	outbox Outbox
	access *accessCache // shared by the store's copies
}

// Outbox turns domain events into jobs inserted in the transaction that
// produced them (adapters/jobs implements it with River's InsertTx).
type Outbox interface {
	Publish(ctx context.Context, tx pgx.Tx, events ...domain.Event) error
}

// WithOutbox returns the store publishing events through o. Without one,
// events are dropped: tests of persistence alone need no job queue.
func (s *Store) WithOutbox(o Outbox) *Store { return &Store{db: s.db, outbox: o, access: s.access} }

func (s *Store) publish(ctx context.Context, tx pgx.Tx, events ...domain.Event) error {
	if s.outbox == nil || len(events) == 0 {
		return nil
	}
	return s.outbox.Publish(ctx, tx, events...)
}

var (
	_ app.Store     = (*Store)(nil)
	_ tenants.Store = registry{}
)

func NewStore(db DB) *Store { return &Store{db: db, access: newAccessCache()} }

// Atomic runs fn in a transaction scoped to tenant: RLS policies compare each
// row's tenant_id with the transaction-local app.tenant_id.
func (s *Store) Atomic(ctx context.Context, tenant uuid.UUID, fn func(app.Tx) error) error {
	if tenant == uuid.Nil {
		return errors.New("postgres: tenant-scoped transaction without a tenant")
	}
	return s.run(ctx, tenant, func(tx pgx.Tx) error { return fn(&tenantTx{tx: tx, tenant: tenant}) })
}

// PlatformAtomic implements tenants.Store: a transaction scoped to no
// tenant, where tenant-owned rows are invisible except through Audit(tenant).
func (s *Store) PlatformAtomic(ctx context.Context, fn func(tenants.Tx) error) error {
	return s.run(ctx, uuid.Nil, func(tx pgx.Tx) error { return fn(&platformTx{tx: tx}) })
}

// Registry adapts the store to tenants.Store, whose Atomic has no tenant.
func (s *Store) Registry() tenants.Store { return registry{s} }

type registry struct{ s *Store }

func (r registry) Atomic(ctx context.Context, fn func(tenants.Tx) error) error {
	return r.s.PlatformAtomic(ctx, fn)
}

// Lookup is one statement sent on its own (the registry is platform-level:
// no scope to set), remembered until the tenant's row changes (access.go).
func (r registry) Lookup(ctx context.Context, id uuid.UUID, slug string) (*tenants.Tenant, error) {
	return r.s.access.tenant(tenantKey{id, slug}, func() (*tenants.Tenant, error) {
		var out *tenants.Tenant
		b := &pgx.Batch{}
		b.Queue(`SELECT `+tenantColumns+` FROM tenants WHERE ($1::uuid IS NOT NULL AND id = $1) OR ($1::uuid IS NULL AND slug = $2)`,
			nullUUID(id), slug).QueryRow(func(row pgx.Row) (err error) {
			out, err = scanTenant(row)
			return err
		})
		if err := r.s.readScoped(ctx, uuid.Nil, b); err != nil {
			return nil, err
		}
		return out, nil
	})
}

func (s *Store) run(ctx context.Context, tenant uuid.UUID, fn func(pgx.Tx) error) error {
	var changes []string
	tracked := func(tx pgx.Tx) error {
		a := &accessTx{Tx: tx}
		err := fn(a)
		changes = a.changes
		return err
	}
	var err error
	if p, ok := s.db.(txBeginner); ok {
		// BEGIN and the scope in one round trip: the begin query runs both
		// statements through the simple protocol (the id is a UUID's own
		// text, hex and dashes, so it is a safe literal). SET LOCAL is
		// set_config(…, true) as a utility statement: PostgreSQL neither
		// plans nor executes a query for it (about 40 µs less a request).
		begin := "BEGIN; SET LOCAL app.tenant_id = '" + scopeValue(tenant) + "'"
		err = pgx.BeginTxFunc(ctx, p, pgx.TxOptions{BeginQuery: begin}, tracked)
	} else {
		err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
			if err := scope(ctx, tx, tenant); err != nil {
				return err
			}
			return tracked(tx)
		})
	}
	if err == nil {
		// Committed: forget before the caller answers, so that its next
		// request reads what it just changed.
		for _, c := range changes {
			s.access.forget(c)
		}
	}
	return translate(err)
}

// scopeValue is app.tenant_id's value for tenant: empty for none.
func scopeValue(tenant uuid.UUID) string {
	if tenant == uuid.Nil {
		return ""
	}
	return tenant.String()
}

// readScoped sends b's reads in tenant's scope as one round trip: a batch
// without BEGIN runs as one implicit transaction, so the set_config(…, true)
// queued first scopes exactly these reads and dies with them. Were it ever
// not applied, row-level security would return nothing (fail closed). For
// hot reads only (authentication, national exports); writes use run.
func (s *Store) readScoped(ctx context.Context, tenant uuid.UUID, b *pgx.Batch) error {
	b.QueuedQueries = append([]*pgx.QueuedQuery{{SQL: "SELECT set_config('app.tenant_id', $1, true)", Arguments: []any{scopeValue(tenant)}}},
		b.QueuedQueries...)
	return translate(s.db.SendBatch(ctx, b).Close())
}

// txBeginner is a pool (production): it can begin with a query of ours.
// A pgx.Tx (tests) opens savepoints, scoped by a statement of their own.
type txBeginner interface {
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

// scope sets the tenant of the rest of the transaction; is_local=true makes
// the setting die with it, committed or not, so a pooled connection never
// carries a tenant into its next transaction.
func scope(ctx context.Context, tx pgx.Tx, tenant uuid.UUID) error {
	if _, err := tx.Exec(ctx, "SELECT set_config('app.tenant_id', $1, true)", scopeValue(tenant)); err != nil {
		return fmt.Errorf("scope transaction to tenant: %w", err)
	}
	return nil
}

type tenantTx struct {
	tx     pgx.Tx
	tenant uuid.UUID
}

func (t *tenantTx) Audit() audit.Log { return &auditLog{tx: t.tx, tenant: t.tenant} }

type platformTx struct {
	tx pgx.Tx
}

func (t *platformTx) Tenants() tenants.Repository { return &tenantRepo{tx: t.tx} }

// Audit writes to one tenant's trail from a platform transaction: each call
// re-scopes the transaction to that tenant first, so RLS still checks it.
func (t *platformTx) Audit(tenant uuid.UUID) audit.Log {
	return &auditLog{tx: t.tx, tenant: tenant, rescope: true}
}

// constraintErrors maps unique constraints to the domain errors they mean.
var constraintErrors = map[string]*domain.Error{
	"tenants_slug_key":              tenants.ErrSlugTaken,
	"tenants_istat_key":             tenants.ErrISTATTaken,
	"organisations_fiscal_code_key": organisation.ErrFiscalCodeTaken,
	"codesign_tables_call_key":      domain.Errorf(domain.KindConflict, "table_already_convened", "this call's table is already convened"),
	"invitations_pending_key": domain.Errorf(domain.KindConflict, "invitation_pending",
		"this address already has a pending invitation for that role"),
}

var errInvalidText = domain.Errorf(domain.KindInvalid, "invalid_text", "text may not contain NUL characters")

// translate turns driver errors into domain errors where they mean something
// to the caller; anything else stays internal, wrapped with context.
func translate(err error) error {
	if err == nil {
		return nil
	}
	var de *domain.Error
	var done *internalError
	if errors.As(err, &de) || errors.As(err, &done) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			if e, ok := constraintErrors[pe.ConstraintName]; ok {
				return e
			}
			return domain.Errorf(domain.KindConflict, "conflict", "this would duplicate an existing record")
		case "23503":
			return domain.Errorf(domain.KindInvalid, "reference_invalid", "a referenced record does not exist")
		case "23514", "22001", "22P02":
			return domain.Errorf(domain.KindInvalid, "invalid_value", "a value breaks a rule of the data")
		case "22021", "22P05":
			// JSON may carry \u0000, which PostgreSQL's text refuses (found by fuzzing).
			return errInvalidText
		case "40001", "40P01":
			return domain.Errorf(domain.KindConflict, "concurrent_update", "another change happened at the same time; retry")
		}
	}
	return &internalError{err}
}

// internalError marks a driver error already translated (and so wrapped once).
type internalError struct{ err error }

func (e *internalError) Error() string { return "postgres: " + e.err.Error() }
func (e *internalError) Unwrap() error { return e.err }

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
