package tenantdump

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
)

// registry is the platform table of tenants: the tenant's own row is part of
// its export, found by id rather than by tenant_id.
const registry = "tenants"

type column struct {
	name, typ string // typ as format_type prints it, for casts from text
	identity  bool
}

type foreignKey struct {
	table, target string
	cols, refs    []string
}

type table struct {
	name     string
	cols     []column // without generated columns, which PostgreSQL recomputes
	pk       []string
	owned    bool // a tenant_id column (or the registry): rows of one tenant
	fks      []foreignKey
	selfRefs []foreignKey
}

func (t *table) colNames() []string {
	out := make([]string, len(t.cols))
	for i, c := range t.cols {
		out[i] = c.name
	}
	return out
}

func (t *table) hasIdentity() bool {
	return slices.ContainsFunc(t.cols, func(c column) bool { return c.identity })
}

// filter selects one tenant's rows of an owned table.
func (t *table) filter() string {
	if t.name == registry {
		return "id = $1"
	}
	return "tenant_id = $1"
}

// schema is what the export needs to know of the catalog.
type schema struct {
	tables map[string]*table
	order  []string // every table, referenced before referencing
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// readSchema reads tables, columns, keys and foreign keys of the public
// schema from pg_catalog, which every role may read. River's tables are the
// job queue, not tenant data: they are left out.
func readSchema(ctx context.Context, q querier) (*schema, error) {
	s := &schema{tables: map[string]*table{}}
	rows, err := q.Query(ctx, `SELECT c.relname::text,
			EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND a.attnum > 0 AND NOT a.attisdropped),
			COALESCE(ARRAY(SELECT a.attname::text FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY k(n, o)
				JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n
				WHERE i.indrelid = c.oid AND i.indisprimary ORDER BY k.o), '{}')
		FROM pg_class c
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
			AND c.relname NOT LIKE 'river\_%'`)
	if err != nil {
		return nil, fmt.Errorf("read tables: %w", err)
	}
	for rows.Next() {
		t := &table{}
		if err := rows.Scan(&t.name, &t.owned, &t.pk); err != nil {
			return nil, err
		}
		t.owned = t.owned || t.name == registry
		s.tables[t.name] = t
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read tables: %w", err)
	}

	rows, err = q.Query(ctx, `SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), a.attidentity <> ''
		FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
			AND a.attgenerated = ''
		ORDER BY c.relname, a.attnum`)
	if err != nil {
		return nil, fmt.Errorf("read columns: %w", err)
	}
	for rows.Next() {
		var tbl string
		var c column
		if err := rows.Scan(&tbl, &c.name, &c.typ, &c.identity); err != nil {
			return nil, err
		}
		if t := s.tables[tbl]; t != nil {
			t.cols = append(t.cols, c)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read columns: %w", err)
	}

	rows, err = q.Query(ctx, `SELECT src.relname::text, dst.relname::text,
			ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, o)
				JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o),
			ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, o)
				JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.o)
		FROM pg_constraint c JOIN pg_class src ON src.oid = c.conrelid JOIN pg_class dst ON dst.oid = c.confrelid
		WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace
		ORDER BY c.conname`)
	if err != nil {
		return nil, fmt.Errorf("read foreign keys: %w", err)
	}
	for rows.Next() {
		var fk foreignKey
		if err := rows.Scan(&fk.table, &fk.target, &fk.cols, &fk.refs); err != nil {
			return nil, err
		}
		t, ok := s.tables[fk.table]
		if !ok || s.tables[fk.target] == nil {
			continue
		}
		if fk.table == fk.target {
			t.selfRefs = append(t.selfRefs, fk)
		} else {
			t.fks = append(t.fks, fk)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read foreign keys: %w", err)
	}
	if s.tables[registry] == nil {
		return nil, fmt.Errorf("no %s table: is the database migrated?", registry)
	}
	s.order, err = topoOrder(s.tables)
	return s, err
}

// topoOrder sorts tables so that each comes after every table it references
// (ties by name, so the order is stable). A cycle between tables cannot be
// loaded row by row with immediate constraints: it is an error.
func topoOrder(tables map[string]*table) ([]string, error) {
	names := make([]string, 0, len(tables))
	for n := range tables {
		names = append(names, n)
	}
	sort.Strings(names)
	done := map[string]bool{}
	var out []string
	for len(out) < len(names) {
		progress := false
		for _, n := range names {
			if done[n] {
				continue
			}
			ready := true
			for _, fk := range tables[n].fks {
				if !done[fk.target] {
					ready = false
					break
				}
			}
			if ready {
				done[n] = true
				out = append(out, n)
				progress = true
			}
		}
		if !progress {
			var left []string
			for _, n := range names {
				if !done[n] {
					left = append(left, n)
				}
			}
			return nil, fmt.Errorf("foreign keys form a cycle among %s", strings.Join(left, ", "))
		}
	}
	return out, nil
}

// OwnedTables lists, in export order, the tables whose rows belong to one
// tenant: the registry and every table with a tenant_id column.
func OwnedTables(ctx context.Context, db Beginner) ([]string, error) {
	tx, err := db.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	s, err := readSchema(ctx, tx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range s.order {
		if s.tables[n].owned {
			out = append(out, n)
		}
	}
	return out, nil
}

func ident(s string) string { return pgx.Identifier{s}.Sanitize() }

func idents(ss []string) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = ident(s)
	}
	return strings.Join(out, ", ")
}

// textSelect is the select list that turns each column into PostgreSQL's own
// text form, named as the column, for row_to_json.
func (t *table) textSelect(alias string) string {
	parts := make([]string, len(t.cols))
	for i, c := range t.cols {
		parts[i] = alias + "." + ident(c.name) + "::text AS " + ident(c.name)
	}
	return strings.Join(parts, ", ")
}
