package tenantdump

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// ImportOptions changes what an import accepts.
type ImportOptions struct {
	// SkipExisting imports into a database where the tenant already exists:
	// rows already present (same key) are left as they are, the others are
	// inserted. Without it such an import is refused.
	SkipExisting bool
}

const batchRows = 500

type dataLine struct {
	Table string             `json:"table"`
	Row   map[string]*string `json:"row"`
	End   *End               `json:"end"`
}

// Import reads an export from r and inserts its rows in one transaction,
// scoped to the exported tenant so row-level security checks every tenant
// row: all or nothing. It refuses a file from another schema version, a
// truncated or altered file, and a tenant that already exists (unless
// opt.SkipExisting).
func Import(ctx context.Context, db Beginner, r io.Reader, opt ImportOptions) (Summary, error) {
	sum := Summary{Tables: map[string]int{}}
	br := bufio.NewReaderSize(r, 1<<16)
	h := sha256.New()
	lineNo := 0
	next := func() ([]byte, error) {
		b, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			if len(b) == 0 {
				return nil, io.EOF
			}
			return nil, corrupt("line %d is cut short", lineNo+1)
		}
		if err != nil {
			return nil, err
		}
		lineNo++
		return b, nil
	}

	first, err := next()
	if errors.Is(err, io.EOF) {
		return sum, corrupt("the file is empty")
	} else if err != nil {
		return sum, err
	}
	h.Write(first)
	var head Header
	dec := json.NewDecoder(bytes.NewReader(first))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&head); err != nil || head.Format != Format {
		return sum, corrupt("line 1 is not a %s header", Format)
	}
	if head.Version != Version {
		return sum, corrupt("format version %d, this coprod reads version %d", head.Version, Version)
	}
	if head.Tenant.ID == uuid.Nil {
		return sum, corrupt("the header names no tenant")
	}
	sum.Tenant = head.Tenant

	tx, err := db.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return sum, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	if err := scope(ctx, tx, head.Tenant.ID); err != nil {
		return sum, err
	}
	ver, err := schemaVersion(ctx, tx)
	if err != nil {
		return sum, err
	}
	if ver != head.Schema {
		return sum, fmt.Errorf("%w: the file is at migration %d (%.12s), this database at %d (%.12s); migrate both to the same version (nothing was imported)",
			ErrSchemaMismatch, head.Schema.Version, head.Schema.Checksum, ver.Version, ver.Checksum)
	}
	var exists bool
	var slugOwner *uuid.UUID
	err = tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM tenants WHERE id = $1), (SELECT id FROM tenants WHERE slug = $2 AND id <> $1)`,
		head.Tenant.ID, head.Tenant.Slug).Scan(&exists, &slugOwner)
	if err != nil {
		return sum, err
	}
	if slugOwner != nil {
		return sum, fmt.Errorf("%w: %s is tenant %s here, the file's tenant is %s (nothing was imported)", ErrSlugTaken, head.Tenant.Slug, *slugOwner, head.Tenant.ID)
	}
	if exists && !opt.SkipExisting {
		return sum, fmt.Errorf("%w: %s (%s) is already here; import refuses to mix its rows with existing ones (--skip-existing keeps the existing rows and adds the missing ones; nothing was imported)",
			ErrTenantExists, head.Tenant.Slug, head.Tenant.ID)
	}
	s, err := readSchema(ctx, tx)
	if err != nil {
		return sum, err
	}

	// Rows are inserted in batches of one table and one mode: the tenant's
	// rows must be new (unless SkipExisting), platform rows are inserted
	// only where absent.
	var (
		batch      []map[string]*string
		batchTable *table
		batchSkip  bool
		batchLine  int
	)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		n, err := insert(ctx, tx, batchTable, batch, batchSkip)
		if err != nil {
			return fmt.Errorf("line %d (%s): %w (nothing was imported)", batchLine, batchTable.name, err)
		}
		sum.Skipped += len(batch) - n
		batch = batch[:0]
		return nil
	}
	tenantID := head.Tenant.ID.String()
	var end *End
	for {
		b, err := next()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return sum, err
		}
		if end != nil {
			return sum, corrupt("line %d follows the end line", lineNo)
		}
		var dl dataLine
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&dl); err != nil {
			return sum, corrupt("line %d is not valid JSON: %v", lineNo, err)
		}
		if dl.End != nil {
			if dl.Table != "" || dl.Row != nil {
				return sum, corrupt("line %d mixes data and end", lineNo)
			}
			end = dl.End
			continue
		}
		h.Write(b)
		t := s.tables[dl.Table]
		if t == nil {
			return sum, corrupt("line %d: no table %q in this database", lineNo, dl.Table)
		}
		if len(dl.Row) != len(t.cols) {
			return sum, corrupt("line %d: %s has %d columns here, the row has %d", lineNo, t.name, len(t.cols), len(dl.Row))
		}
		for _, c := range t.cols {
			if _, ok := dl.Row[c.name]; !ok {
				return sum, corrupt("line %d: the %s row lacks column %s", lineNo, t.name, c.name)
			}
		}
		// Whose row: a tenant_id must be the file's tenant; a registry row is
		// the tenant's own or a platform row (its region).
		skip := true
		switch {
		case t.name == registry:
			skip = dl.Row["id"] == nil || *dl.Row["id"] != tenantID || opt.SkipExisting
		case t.owned:
			if v := dl.Row["tenant_id"]; v == nil || *v != tenantID {
				return sum, corrupt("line %d: a %s row of another tenant", lineNo, t.name)
			}
			skip = opt.SkipExisting
		}
		if t != batchTable || skip != batchSkip || len(batch) >= batchRows {
			if err := flush(); err != nil {
				return sum, err
			}
			batchTable, batchSkip, batchLine = t, skip, lineNo
		}
		batch = append(batch, dl.Row)
		sum.Rows++
		sum.Tables[t.name]++
	}
	if end == nil {
		return sum, corrupt("no end line: the file is truncated")
	}
	sum.SHA256 = hex.EncodeToString(h.Sum(nil))
	if end.Rows != sum.Rows || end.SHA256 != sum.SHA256 {
		return sum, corrupt("the end line does not match the %d rows read: the file was altered or cut", sum.Rows)
	}
	if err := flush(); err != nil {
		return sum, err
	}
	for _, name := range s.order {
		w, err := advanceIdentities(ctx, tx, s.tables[name])
		if err != nil {
			return sum, err
		}
		sum.Warnings = append(sum.Warnings, w...)
	}
	return sum, tx.Commit(ctx)
}

// insert adds rows to t, each value cast from its text form to the column's
// type; it returns how many were inserted. An identity column keeps the
// exported value.
func insert(ctx context.Context, tx pgx.Tx, t *table, rows []map[string]*string, skipExisting bool) (int, error) {
	vals := make([]string, len(t.cols))
	for i, c := range t.cols {
		vals[i] = "(r->>" + quoteLiteral(c.name) + ")::" + c.typ
	}
	sql := `INSERT INTO ` + ident(t.name) + ` (` + idents(t.colNames()) + `) `
	if t.hasIdentity() {
		sql += `OVERRIDING SYSTEM VALUE `
	}
	sql += `SELECT ` + strings.Join(vals, ", ") + ` FROM jsonb_array_elements($1::jsonb) r`
	if skipExisting {
		sql += ` ON CONFLICT DO NOTHING`
	}
	js, err := json.Marshal(rows)
	if err != nil {
		return 0, err
	}
	tag, err := tx.Exec(ctx, sql, string(js))
	if err != nil {
		return 0, err
	}
	n := int(tag.RowsAffected())
	if n == len(rows) || len(t.pk) == 0 {
		return n, nil
	}
	// A row skipped must be there under its own key; one skipped for
	// clashing on another unique key (the same user, slug or fiscal code
	// under another id) would break the references to it.
	match := make([]string, len(t.pk))
	for i, k := range t.pk {
		for _, c := range t.cols {
			if c.name == k {
				match[i] = "t." + ident(k) + " = (r->>" + quoteLiteral(k) + ")::" + c.typ
			}
		}
	}
	var clash []string
	err = tx.QueryRow(ctx, `SELECT COALESCE(array_agg(r::text), '{}') FROM jsonb_array_elements($1::jsonb) r
		WHERE NOT EXISTS (SELECT 1 FROM `+ident(t.name)+` t WHERE `+strings.Join(match, " AND ")+`)`, string(js)).Scan(&clash)
	if err != nil {
		return 0, err
	}
	if len(clash) > 0 {
		return 0, fmt.Errorf("%w: %d %s rows clash with rows already here under another key, e.g. %.300s",
			ErrClash, len(clash), t.name, clash[0])
	}
	return n, nil
}

// advanceIdentities moves the sequence of each identity column past the
// values imported, so new rows do not collide with them. It needs UPDATE on
// the sequence; without it the import says so instead of failing.
func advanceIdentities(ctx context.Context, tx pgx.Tx, t *table) ([]string, error) {
	var warn []string
	for _, c := range t.cols {
		if !c.identity {
			continue
		}
		var seq *string
		var may bool
		err := tx.QueryRow(ctx, `SELECT s, s IS NOT NULL AND has_sequence_privilege(s, 'UPDATE')
			FROM pg_get_serial_sequence($1, $2) s`, ident(t.name), c.name).Scan(&seq, &may)
		if err != nil {
			return nil, fmt.Errorf("sequence of %s.%s: %w", t.name, c.name, err)
		}
		if seq == nil {
			continue
		}
		if !may {
			warn = append(warn, fmt.Sprintf("%s.%s: no UPDATE on sequence %s, not advanced", t.name, c.name, *seq))
			continue
		}
		_, err = tx.Exec(ctx, `SELECT setval($1::regclass, m) FROM (SELECT max(`+ident(c.name)+`) AS m FROM `+ident(t.name)+`) x
			WHERE m IS NOT NULL AND m > COALESCE(pg_sequence_last_value($1::regclass), 0)`, *seq)
		if err != nil {
			return nil, fmt.Errorf("advance %s: %w", *seq, err)
		}
	}
	return warn, nil
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
