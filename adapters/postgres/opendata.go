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

// Published sends the five reads as one scoped batch (readScoped): one
// round trip per tenant whatever it publishes (national exports read
// thousands; the exports' tests need the rows, so a missing scope fails).
func (o openDataStore) Published(ctx context.Context, tenant uuid.UUID, statuses []agreement.Status) (*opendata.Published, error) {
	p := &opendata.Published{Funder: opendata.Funder{ID: tenant}, Rankings: map[uuid.UUID][]call.PublicRankEntry{},
		Organisations: map[uuid.UUID]*organisation.Organisation{}}
	err := func() error {
		b := &pgx.Batch{}
		b.Queue(`SELECT slug, name, COALESCE(istat_code, '') FROM tenants WHERE id = $1`, tenant).QueryRow(func(row pgx.Row) error {
			err := row.Scan(&p.Funder.Slug, &p.Funder.Name, &p.Funder.ISTAT)
			if errors.Is(err, pgx.ErrNoRows) {
				return tenants.ErrNotFound
			}
			return err
		})
		b.Queue(`SELECT `+callColumns+` FROM calls WHERE tenant_id = $1 AND status <> 'draft' ORDER BY id`, tenant).Query(func(rows pgx.Rows) error {
			var err error
			p.Calls, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (*call.Call, error) { return scanCall(row) })
			return err
		})
		b.Queue(`SELECT r.call_id, r.position, r.application_id, o.legal_name, o.fiscal_code, r.score_bp, r.admitted
			FROM ranking_entries r JOIN applications a ON a.tenant_id = r.tenant_id AND a.id = r.application_id
			JOIN organisations o ON o.id = a.lead_org_id
			JOIN calls c ON c.tenant_id = r.tenant_id AND c.id = r.call_id AND c.status IN ('ranked', 'concluded')
			WHERE r.tenant_id = $1 ORDER BY r.call_id, r.position`, tenant).Query(func(rows pgx.Rows) error {
			var id uuid.UUID
			var bp int64
			var e call.PublicRankEntry
			_, err := pgx.ForEachRow(rows, []any{&id, &e.Position, &e.ApplicationID, &e.LeadOrganisation, &e.LeadFiscalCode, &bp, &e.Admitted}, func() error {
				e.Score = float64(bp) / 100
				p.Rankings[id] = append(p.Rankings[id], e)
				return nil
			})
			return err
		})
		// Every awarded agreement: open data has no page size.
		b.Queue(`SELECT `+agreementColumns+` FROM agreements WHERE tenant_id = $1 AND status = ANY($2) ORDER BY id`, tenant, statuses).Query(func(rows pgx.Rows) error {
			var err error
			p.Agreements, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (*agreement.Agreement, error) { return scanAgreement(row) })
			return err
		})
		b.Queue(`SELECT `+orgColumns+` FROM organisations WHERE id IN (
				SELECT unnest(org_ids) FROM agreements WHERE tenant_id = $1 AND status = ANY($2))`, tenant, statuses).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				org, err := scanOrg(rows)
				if err != nil {
					return err
				}
				p.Organisations[org.ID] = org
			}
			return rows.Err()
		})
		return o.s.readScoped(ctx, tenant, b)
	}()
	return p, err
}
