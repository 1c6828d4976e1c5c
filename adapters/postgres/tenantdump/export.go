// Package tenantdump exports all rows of one tenant as NDJSON and imports
// them again, for moving a municipality between databases and for
// tenant-level backups (ADR 0014).
//
// It is driven by the catalog, not by a list: every table with a tenant_id
// column is exported, with the tenant's registry row, in foreign-key order;
// a table added by a later migration is covered without changing this
// package. Values travel in PostgreSQL's own text form under fixed session
// settings (UTC, ISO dates, hex bytea), so they come back byte for byte.
// Platform rows the tenant's rows reference (users, organisations, the
// region) travel too, and are inserted only where absent.
//
// File layout, one JSON object per line:
//
//	{"format":"coprod-tenant-export","version":1,"schema":{...},"tenant":{...},"exportedAt":...}
//	{"table":"calls","row":{"tenant_id":"…","id":"…",…}}
//	…
//	{"end":{"rows":N,"sha256":"<hex of every byte before this line>"}}
package tenantdump

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/coprod/coprod/domain"
)

// Format names the file kind; Version changes when the layout does.
const (
	Format  = "coprod-tenant-export"
	Version = 1
)

// Beginner opens transactions: a *pgxpool.Pool or a *pgx.Conn.
type Beginner interface {
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

// Header is the first line of an export.
type Header struct {
	Format     string    `json:"format"`
	Version    int       `json:"version"`
	Schema     Schema    `json:"schema"`
	Tenant     Tenant    `json:"tenant"`
	ExportedAt time.Time `json:"exportedAt"`
}

// Schema identifies the migrations applied to the exporting database: the
// latest version and a SHA-256 over every applied (version, checksum).
type Schema struct {
	Version  int    `json:"version"`
	Checksum string `json:"checksum"`
}

// Tenant names the exported tenant.
type Tenant struct {
	ID   uuid.UUID `json:"id"`
	Slug string    `json:"slug"`
}

// End is the last line: how many rows came before and the SHA-256 of every
// byte before it, so a truncated or altered file is refused.
type End struct {
	Rows   int    `json:"rows"`
	SHA256 string `json:"sha256"`
}

// Summary reports what an export or import did.
type Summary struct {
	Tenant   Tenant
	Rows     int            // data lines in the file
	Tables   map[string]int // data lines per table
	Skipped  int            // import: rows already present, left as they were
	SHA256   string         // of the file up to its end line, as the end line says
	Warnings []string
}

var (
	ErrTenantNotFound = domain.Errorf(domain.KindNotFound, "tenant_not_found", "no tenant with this slug or id")
	ErrTenantExists   = domain.Errorf(domain.KindConflict, "tenant_exists", "the tenant already exists in this database")
	ErrSlugTaken      = domain.Errorf(domain.KindConflict, "tenant_slug_taken", "another tenant has this slug in this database")
	ErrSchemaMismatch = domain.Errorf(domain.KindPrecondition, "export_schema_mismatch", "the file was exported from a database at another schema version")
	ErrCorrupt        = domain.Errorf(domain.KindInvalid, "export_corrupt", "the file is not a complete, unaltered tenant export")
	ErrClash          = domain.Errorf(domain.KindConflict, "export_row_clash", "a row of the file clashes with a different row of this database")
)

func corrupt(format string, args ...any) error {
	return domain.Errorf(domain.KindInvalid, ErrCorrupt.Code, "%s (nothing was imported)", fmt.Sprintf(format, args...))
}

// scope fixes every setting that changes how values print, so export and
// import agree on the text form, and binds the transaction to the tenant
// for row-level security.
func scope(ctx context.Context, tx pgx.Tx, tenant uuid.UUID) error {
	_, err := tx.Exec(ctx, `SELECT set_config('TimeZone', 'UTC', true), set_config('DateStyle', 'ISO, YMD', true),
		set_config('IntervalStyle', 'postgres', true), set_config('extra_float_digits', '3', true),
		set_config('bytea_output', 'hex', true), set_config('app.tenant_id', $1, true)`, tenant.String())
	return err
}

func schemaVersion(ctx context.Context, q querier) (Schema, error) {
	var s Schema
	err := q.QueryRow(ctx, `SELECT COALESCE(max(version), 0),
			encode(sha256(convert_to(COALESCE(string_agg(version::text || ':' || checksum, ',' ORDER BY version), ''), 'UTF8')), 'hex')
		FROM schema_migrations`).Scan(&s.Version, &s.Checksum)
	if err != nil {
		return s, fmt.Errorf("read schema version: %w", err)
	}
	return s, nil
}

// rowText is one row as exported: its JSON and, when needed, its values.
type rowText struct {
	json string
	vals map[string]*string
}

func parseRow(js string) (rowText, error) {
	r := rowText{json: js}
	return r, json.Unmarshal([]byte(js), &r.vals)
}

// tuple is the text of cols in r, or false if any is NULL.
func (r rowText) tuple(cols []string) ([]string, bool) {
	out := make([]string, len(cols))
	for i, c := range cols {
		v := r.vals[c]
		if v == nil {
			return nil, false
		}
		out[i] = *v
	}
	return out, true
}

// Export writes every row of the tenant ref (slug or id) to w, in one
// repeatable-read, read-only transaction scoped to that tenant.
func Export(ctx context.Context, db Beginner, ref string, w io.Writer, now time.Time) (Summary, error) {
	sum := Summary{Tables: map[string]int{}}
	tx, err := db.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return sum, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	err = tx.QueryRow(ctx, `SELECT id, slug FROM tenants WHERE slug = $1 OR id::text = lower($1)`, ref).Scan(&sum.Tenant.ID, &sum.Tenant.Slug)
	if errors.Is(err, pgx.ErrNoRows) {
		return sum, ErrTenantNotFound
	} else if err != nil {
		return sum, fmt.Errorf("find tenant %s: %w", ref, err)
	}
	if err := scope(ctx, tx, sum.Tenant.ID); err != nil {
		return sum, err
	}
	ver, err := schemaVersion(ctx, tx)
	if err != nil {
		return sum, err
	}
	s, err := readSchema(ctx, tx)
	if err != nil {
		return sum, err
	}
	platform, err := platformRows(ctx, tx, s, sum.Tenant.ID)
	if err != nil {
		return sum, err
	}

	h := sha256.New()
	bw := bufio.NewWriterSize(w, 1<<16)
	out := io.MultiWriter(bw, h)
	head, err := json.Marshal(Header{Format: Format, Version: Version, Schema: ver, Tenant: sum.Tenant, ExportedAt: now.UTC()})
	if err != nil {
		return sum, err
	}
	if _, err := fmt.Fprintf(out, "%s\n", head); err != nil {
		return sum, err
	}
	emit := func(tbl, js string) error {
		sum.Rows++
		sum.Tables[tbl]++
		_, err := fmt.Fprintf(out, `{"table":%s,"row":%s}`+"\n", quote(tbl), js)
		return err
	}
	for _, name := range s.order {
		t := s.tables[name]
		rows := platform[name]
		if !t.owned && len(rows) == 0 {
			continue
		}
		if t.owned {
			if err := exportOwned(ctx, tx, t, sum.Tenant.ID, &rows, func(js string) error { return emit(name, js) }); err != nil {
				return sum, err
			}
		}
		if len(rows) > 0 {
			if rows, err = parentFirst(rows, t.selfRefs); err != nil {
				return sum, fmt.Errorf("%s: %w", name, err)
			}
			for _, r := range rows {
				if err := emit(name, r.json); err != nil {
					return sum, err
				}
			}
		}
	}
	sum.SHA256 = hex.EncodeToString(h.Sum(nil))
	end, err := json.Marshal(struct {
		End End `json:"end"`
	}{End{Rows: sum.Rows, SHA256: sum.SHA256}})
	if err != nil {
		return sum, err
	}
	if _, err := fmt.Fprintf(bw, "%s\n", end); err != nil {
		return sum, err
	}
	if err := bw.Flush(); err != nil {
		return sum, err
	}
	return sum, tx.Commit(ctx)
}

// exportOwned streams the tenant's rows of t in primary-key order. Rows of a
// table that references itself are added to buf instead, to be put parents
// first.
func exportOwned(ctx context.Context, tx pgx.Tx, t *table, tenant uuid.UUID, buf *[]rowText, emit func(string) error) error {
	order := "1"
	if len(t.pk) > 0 {
		parts := make([]string, len(t.pk))
		for i, c := range t.pk {
			parts[i] = "t." + ident(c)
		}
		order = strings.Join(parts, ", ")
	}
	rows, err := tx.Query(ctx, `SELECT row_to_json(x)::text FROM `+ident(t.name)+` t, LATERAL (SELECT `+t.textSelect("t")+`) x
		WHERE t.`+t.filter()+` ORDER BY `+order, tenant)
	if err != nil {
		return fmt.Errorf("export %s: %w", t.name, err)
	}
	defer rows.Close()
	var js string
	for rows.Next() {
		if err := rows.Scan(&js); err != nil {
			return fmt.Errorf("export %s: %w", t.name, err)
		}
		if len(t.selfRefs) > 0 {
			r, err := parseRow(js)
			if err != nil {
				return err
			}
			*buf = append(*buf, r)
			continue
		}
		if err := emit(js); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("export %s: %w", t.name, err)
	}
	return nil
}

// platformRows gathers the rows outside the tenant that its rows reference
// through foreign keys (users, organisations, its region), transitively.
// They go into the file so that an import into an empty database succeeds;
// the import inserts them only where absent.
func platformRows(ctx context.Context, tx pgx.Tx, s *schema, tenant uuid.UUID) (map[string][]rowText, error) {
	type want struct {
		fk     foreignKey
		tuples [][]string
	}
	seenTuple := map[string]bool{}
	var queue []want
	// need queues the tuples of fk not asked for yet; references to the
	// tenant itself are its own row, exported anyway.
	need := func(fk foreignKey, tuples [][]string) {
		var fresh [][]string
		for _, tp := range tuples {
			if fk.target == registry && len(tp) == 1 && tp[0] == tenant.String() {
				continue
			}
			key := fk.target + "\x00" + strings.Join(fk.refs, ",") + "\x00" + strings.Join(tp, "\x00")
			if !seenTuple[key] {
				seenTuple[key] = true
				fresh = append(fresh, tp)
			}
		}
		if len(fresh) > 0 {
			queue = append(queue, want{fk, fresh})
		}
	}
	external := func(fk foreignKey) bool { return !s.tables[fk.target].owned || fk.target == registry }

	for _, name := range s.order {
		t := s.tables[name]
		if !t.owned {
			continue
		}
		fks := t.fks
		if name == registry {
			fks = append(fks[:len(fks):len(fks)], t.selfRefs...)
		}
		for _, fk := range fks {
			if !external(fk) {
				continue
			}
			notNull := make([]string, len(fk.cols))
			casts := make([]string, len(fk.cols))
			for i, c := range fk.cols {
				notNull[i] = ident(c) + " IS NOT NULL"
				casts[i] = ident(c) + "::text"
			}
			rows, err := tx.Query(ctx, `SELECT DISTINCT `+strings.Join(casts, ", ")+` FROM `+ident(name)+
				` WHERE `+t.filter()+` AND `+strings.Join(notNull, " AND ")+` ORDER BY 1`, tenant)
			if err != nil {
				return nil, fmt.Errorf("references of %s: %w", name, err)
			}
			var tuples [][]string
			for rows.Next() {
				tp := make([]string, len(fk.cols))
				ptrs := make([]any, len(tp))
				for i := range tp {
					ptrs[i] = &tp[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					rows.Close()
					return nil, err
				}
				tuples = append(tuples, tp)
			}
			if err := rows.Err(); err != nil {
				return nil, fmt.Errorf("references of %s: %w", name, err)
			}
			need(fk, tuples)
		}
	}

	out := map[string][]rowText{}
	seenRow := map[string]bool{}
	for len(queue) > 0 {
		wt := queue[0]
		queue = queue[1:]
		t := s.tables[wt.fk.target]
		keys, err := json.Marshal(wt.tuples)
		if err != nil {
			return nil, err
		}
		match := make([]string, len(wt.fk.refs))
		for i, c := range wt.fk.refs {
			match[i] = "t." + ident(c) + "::text"
		}
		rows, err := tx.Query(ctx, `SELECT row_to_json(x)::text FROM `+ident(t.name)+` t
			JOIN jsonb_array_elements($1::jsonb) k ON k.value = jsonb_build_array(`+strings.Join(match, ", ")+`),
			LATERAL (SELECT `+t.textSelect("t")+`) x`, string(keys))
		if err != nil {
			return nil, fmt.Errorf("referenced rows of %s: %w", t.name, err)
		}
		var fetched []rowText
		for rows.Next() {
			var js string
			if err := rows.Scan(&js); err != nil {
				rows.Close()
				return nil, err
			}
			r, err := parseRow(js)
			if err != nil {
				rows.Close()
				return nil, err
			}
			fetched = append(fetched, r)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("referenced rows of %s: %w", t.name, err)
		}
		for _, r := range fetched {
			if seenRow[t.name+"\x00"+r.json] {
				continue
			}
			seenRow[t.name+"\x00"+r.json] = true
			out[t.name] = append(out[t.name], r)
			for _, fk := range append(t.fks[:len(t.fks):len(t.fks)], t.selfRefs...) {
				if !external(fk) {
					continue
				}
				if tp, ok := r.tuple(fk.cols); ok {
					need(fk, [][]string{tp})
				}
			}
		}
	}
	for name := range out {
		sort.Slice(out[name], func(i, j int) bool { return out[name][i].json < out[name][j].json })
	}
	return out, nil
}

// parentFirst orders rows of a table that references itself so each row
// comes after the row it references (a region before its municipalities),
// keeping the given order otherwise.
func parentFirst(rows []rowText, selfRefs []foreignKey) ([]rowText, error) {
	if len(selfRefs) == 0 {
		return rows, nil
	}
	for i := range rows {
		if rows[i].vals == nil {
			r, err := parseRow(rows[i].json)
			if err != nil {
				return nil, err
			}
			rows[i] = r
		}
	}
	key := func(fk foreignKey, tp []string) string {
		return strings.Join(fk.refs, ",") + "\x00" + strings.Join(tp, "\x00")
	}
	present := map[string]bool{}
	for _, r := range rows {
		for _, fk := range selfRefs {
			if tp, ok := r.tuple(fk.refs); ok {
				present[key(fk, tp)] = true
			}
		}
	}
	done := map[string]bool{}
	out := make([]rowText, 0, len(rows))
	placed := make([]bool, len(rows))
	for len(out) < len(rows) {
		progress := false
		for i, r := range rows {
			if placed[i] {
				continue
			}
			ready := true
			for _, fk := range selfRefs {
				if tp, ok := r.tuple(fk.cols); ok && present[key(fk, tp)] && !done[key(fk, tp)] {
					// A row referencing itself is its own parent.
					if self, ok := r.tuple(fk.refs); !ok || key(fk, self) != key(fk, tp) {
						ready = false
					}
				}
			}
			if ready {
				placed[i], progress = true, true
				out = append(out, r)
				for _, fk := range selfRefs {
					if tp, ok := r.tuple(fk.refs); ok {
						done[key(fk, tp)] = true
					}
				}
			}
		}
		if !progress {
			return nil, errors.New("rows reference each other in a cycle")
		}
	}
	return out, nil
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
