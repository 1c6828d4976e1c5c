package postgres

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/coprod/coprod/domain/agreement"
	"github.com/coprod/coprod/domain/call"
	"github.com/coprod/coprod/domain/opendata"
	"github.com/coprod/coprod/domain/organisation"
	"github.com/coprod/coprod/tenants"
)

// OpenData adapts the store to opendata.Store: reads in the tenant's scope.
func (s *Store) OpenData() opendata.Store { return openDataStore{s} }

type openDataStore struct{ s *Store }

func (o openDataStore) Atomic(ctx context.Context, tenant uuid.UUID, fn func(opendata.Tx) error) error {
	return o.s.run(ctx, tenant, func(tx pgx.Tx) error { return fn(openDataTx{tx: tx, tenant: tenant}) })
}

type openDataTx struct {
	tx     pgx.Tx
	tenant uuid.UUID
}

func (t openDataTx) Funder(ctx context.Context) (opendata.Funder, error) {
	f := opendata.Funder{ID: t.tenant}
	err := t.tx.QueryRow(ctx, `SELECT slug, name, COALESCE(istat_code, '') FROM tenants WHERE id = $1`, t.tenant).Scan(&f.Slug, &f.Name, &f.ISTAT)
	if errors.Is(err, pgx.ErrNoRows) {
		return f, tenants.ErrNotFound
	}
	return f, err
}

func (t openDataTx) Calls(ctx context.Context) ([]*call.Call, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+callColumns+` FROM calls WHERE tenant_id = $1 AND status <> 'draft' ORDER BY id`, t.tenant)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*call.Call, error) { return scanCall(row) })
}

func (t openDataTx) Agreements(ctx context.Context) ([]*agreement.Agreement, error) {
	return agreementRepo{&agreementTx{tx: t.tx, tenant: t.tenant}}.List(ctx, nil)
}

func (t openDataTx) Rankings(ctx context.Context) (map[uuid.UUID][]call.PublicRankEntry, error) {
	rows, err := t.tx.Query(ctx, `SELECT r.call_id, r.position, r.application_id, o.legal_name, o.fiscal_code, r.score_bp, r.admitted
		FROM ranking_entries r JOIN applications a ON a.tenant_id = r.tenant_id AND a.id = r.application_id
		JOIN organisations o ON o.id = a.lead_org_id
		JOIN calls c ON c.tenant_id = r.tenant_id AND c.id = r.call_id AND c.status IN ('ranked', 'concluded')
		WHERE r.tenant_id = $1 ORDER BY r.call_id, r.position`, t.tenant)
	if err != nil {
		return nil, err
	}
	out := map[uuid.UUID][]call.PublicRankEntry{}
	var id uuid.UUID
	var bp int64
	var e call.PublicRankEntry
	_, err = pgx.ForEachRow(rows, []any{&id, &e.Position, &e.ApplicationID, &e.LeadOrganisation, &e.LeadFiscalCode, &bp, &e.Admitted}, func() error {
		e.Score = float64(bp) / 100
		out[id] = append(out[id], e)
		return nil
	})
	return out, err
}

func (t openDataTx) Organisations(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]*organisation.Organisation, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+orgColumns+` FROM organisations WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[uuid.UUID]*organisation.Organisation, len(ids))
	for rows.Next() {
		o, err := scanOrg(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out[o.ID] = o
	}
	return out, rows.Err()
}
