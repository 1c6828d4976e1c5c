package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/tenants"
)

type tenantRepo struct {
	tx pgx.Tx
}

const tenantColumns = `id, slug, name, kind, COALESCE(istat_code, ''), region_id, population, status, created_at, updated_at, version`

func scanTenant(row pgx.Row) (*tenants.Tenant, error) {
	var t tenants.Tenant
	var region *uuid.UUID
	if err := row.Scan(&t.ID, &t.Slug, &t.Name, &t.Kind, &t.ISTATCode, &region, &t.Population, &t.Status, &t.CreatedAt, &t.UpdatedAt, &t.Version); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, tenants.ErrNotFound
		}
		return nil, err
	}
	if region != nil {
		t.RegionID = *region
	}
	return &t, nil
}

func nullUUID(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Add inserts tenants with COPY when there are many (the ISTAT import adds
// ~8,000 at once), with INSERT otherwise so a unique violation names its
// constraint.
func (r *tenantRepo) Add(ctx context.Context, ts ...*tenants.Tenant) error {
	if len(ts) < 50 {
		for _, t := range ts {
			_, err := r.tx.Exec(ctx, `INSERT INTO tenants (id, slug, name, kind, istat_code, region_id, population, status, created_at, updated_at, version)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
				t.ID, t.Slug, t.Name, t.Kind, nullString(t.ISTATCode), nullUUID(t.RegionID), t.Population, t.Status, t.CreatedAt, t.UpdatedAt, t.Version)
			if err != nil {
				return translate(err)
			}
		}
		return nil
	}
	_, err := r.tx.CopyFrom(ctx, pgx.Identifier{"tenants"},
		[]string{"id", "slug", "name", "kind", "istat_code", "region_id", "population", "status", "created_at", "updated_at", "version"},
		pgx.CopyFromSlice(len(ts), func(i int) ([]any, error) {
			t := ts[i]
			return []any{t.ID, t.Slug, t.Name, string(t.Kind), nullString(t.ISTATCode), nullUUID(t.RegionID), t.Population, string(t.Status), t.CreatedAt, t.UpdatedAt, t.Version}, nil
		}))
	return translate(err)
}

func (r *tenantRepo) Update(ctx context.Context, t *tenants.Tenant) error {
	changedAccess(r.tx, tenantChanged(t.ID))
	tag, err := r.tx.Exec(ctx, `UPDATE tenants SET name = $2, population = $3, status = $4, region_id = $5, updated_at = $6, version = $7
		WHERE id = $1 AND version = $7 - 1`,
		t.ID, t.Name, t.Population, t.Status, nullUUID(t.RegionID), t.UpdatedAt, t.Version)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return domain.ErrStale
	}
	return nil
}

func (r *tenantRepo) Get(ctx context.Context, id uuid.UUID) (*tenants.Tenant, error) {
	return scanTenant(r.tx.QueryRow(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE id = $1`, id))
}

func (r *tenantRepo) GetBySlug(ctx context.Context, slug string) (*tenants.Tenant, error) {
	return scanTenant(r.tx.QueryRow(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE slug = $1`, slug))
}

func (r *tenantRepo) ByISTAT(ctx context.Context) (map[tenants.Kind]map[string]*tenants.Tenant, error) {
	rows, err := r.tx.Query(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE istat_code IS NOT NULL`)
	if err != nil {
		return nil, err
	}
	out := map[tenants.Kind]map[string]*tenants.Tenant{tenants.KindRegion: {}, tenants.KindMunicipality: {}}
	for rows.Next() {
		t, err := scanTenant(rows)
		if err != nil {
			return nil, err
		}
		out[t.Kind][t.ISTATCode] = t
	}
	return out, rows.Err()
}

func (r *tenantRepo) List(ctx context.Context, f tenants.Filter) ([]*tenants.Tenant, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.Kind != "" {
		add("kind = $%d", f.Kind)
	}
	if f.Status != "" {
		add("status = $%d", f.Status)
	}
	if f.RegionID != uuid.Nil {
		add("region_id = $%d", f.RegionID)
	}
	if f.After != uuid.Nil {
		add("id > $%d", f.After)
	}
	q := `SELECT ` + tenantColumns + ` FROM tenants`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, f.Limit)
	q += fmt.Sprintf(" ORDER BY id LIMIT $%d", len(args))
	rows, err := r.tx.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*tenants.Tenant, error) { return scanTenant(row) })
}
