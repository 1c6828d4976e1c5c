package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/coprod/coprod/domain/network"
	"github.com/coprod/coprod/tenants"
)

// Network adapts the store to network.Store.
func (s *Store) Network() network.Store { return networkStore{s} }

type networkStore struct{ s *Store }

func (n networkStore) Atomic(ctx context.Context, tenant uuid.UUID, fn func(network.Tx) error) error {
	return n.s.run(ctx, tenant, func(tx pgx.Tx) error { return fn(networkTx{tx: tx, tenant: tenant}) })
}

type networkTx struct {
	tx     pgx.Tx
	tenant uuid.UUID
}

// Activities: submitted applications (lead and partners), agreements once
// signed (dated by the officer's signature, as in open data), and pilots
// that started, with the parties of their agreement.
func (t networkTx) Activities(ctx context.Context) ([]network.Activity, error) {
	rows, err := t.tx.Query(ctx, `
		SELECT 'application', submitted_at, org_ids FROM applications
			WHERE tenant_id = $1 AND status = 'submitted'
		UNION ALL
		SELECT 'agreement', COALESCE(officer_signed_at, starts_on), org_ids FROM agreements
			WHERE tenant_id = $1 AND status IN ('signed', 'active', 'suspended', 'closed', 'terminated')
		UNION ALL
		SELECT 'pilot', p.starts_on, a.org_ids FROM pilots p
			JOIN agreements a ON a.tenant_id = p.tenant_id AND a.id = p.agreement_id
			WHERE p.tenant_id = $1 AND p.status IN ('running', 'evaluating', 'decided')`, t.tenant)
	if err != nil {
		return nil, fmt.Errorf("network activities: %w", err)
	}
	var out []network.Activity
	var a network.Activity
	var kind string
	_, err = pgx.ForEachRow(rows, []any{&kind, &a.At, &a.Orgs}, func() error {
		a.Kind = network.Kind(kind)
		out = append(out, a)
		a.Orgs = nil
		return nil
	})
	return out, err
}

// Replace deletes and inserts (COPY is refused on tables with row-level
// security, so the rows go in as arrays).
func (t networkTx) Replace(ctx context.Context, ties []network.Tie, alliances []network.Alliance, at time.Time) error {
	for _, q := range []string{`DELETE FROM network_ties WHERE tenant_id = $1`, `DELETE FROM network_alliances WHERE tenant_id = $1`} {
		if _, err := t.tx.Exec(ctx, q, t.tenant); err != nil {
			return translate(err)
		}
	}
	var orgs, partners []uuid.UUID
	var years, apps, agrs, pilots []int
	for _, x := range ties {
		orgs, years = append(orgs, x.Organisation), append(years, x.Year)
		apps, agrs, pilots = append(apps, x.Applications), append(agrs, x.Agreements), append(pilots, x.Pilots)
	}
	if len(ties) > 0 {
		if _, err := t.tx.Exec(ctx, `INSERT INTO network_ties (tenant_id, organisation_id, year, applications, agreements, pilots, computed_at)
			SELECT $1, o, y, ap, ag, pi, $7 FROM unnest($2::uuid[], $3::int[], $4::int[], $5::int[], $6::int[]) AS u(o, y, ap, ag, pi)`,
			t.tenant, orgs, years, apps, agrs, pilots, at); err != nil {
			return translate(err)
		}
	}
	orgs, years, apps, agrs, pilots = orgs[:0], years[:0], apps[:0], agrs[:0], pilots[:0]
	for _, x := range alliances {
		orgs, partners, years = append(orgs, x.Organisation), append(partners, x.Partner), append(years, x.Year)
		apps, agrs, pilots = append(apps, x.Applications), append(agrs, x.Agreements), append(pilots, x.Pilots)
	}
	if len(alliances) > 0 {
		if _, err := t.tx.Exec(ctx, `INSERT INTO network_alliances (tenant_id, organisation_id, partner_id, year, applications, agreements, pilots, computed_at)
			SELECT $1, o, p, y, ap, ag, pi, $8 FROM unnest($2::uuid[], $3::uuid[], $4::int[], $5::int[], $6::int[], $7::int[]) AS u(o, p, y, ap, ag, pi)`,
			t.tenant, orgs, partners, years, apps, agrs, pilots, at); err != nil {
			return translate(err)
		}
	}
	return nil
}

func (t networkTx) Region(ctx context.Context) (network.Place, []network.Place, bool, error) {
	r := network.Place{ID: t.tenant}
	var kind string
	err := t.tx.QueryRow(ctx, `SELECT slug, name, kind FROM tenants WHERE id = $1`, t.tenant).Scan(&r.Slug, &r.Name, &kind)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, nil, false, tenants.ErrNotFound
	}
	if err != nil || kind != string(tenants.KindRegion) {
		return r, nil, false, err
	}
	rows, err := t.tx.Query(ctx, `SELECT id, slug, name FROM tenants WHERE region_id = $1 AND status IN ('active', 'suspended') ORDER BY name, id`, t.tenant)
	if err != nil {
		return r, nil, false, err
	}
	ms := []network.Place{}
	var p network.Place
	_, err = pgx.ForEachRow(rows, []any{&p.ID, &p.Slug, &p.Name}, func() error { ms = append(ms, p); return nil })
	return r, ms, err == nil, err
}

// Ties and Alliances name the region's municipalities explicitly; the
// region_reads policy is the backstop.
func (t networkTx) Ties(ctx context.Context) ([]network.Tie, error) {
	rows, err := t.tx.Query(ctx, `SELECT tenant_id, organisation_id, year, applications, agreements, pilots FROM network_ties
		WHERE tenant_id IN (SELECT id FROM tenants WHERE region_id = $1)`, t.tenant)
	if err != nil {
		return nil, err
	}
	var out []network.Tie
	var x network.Tie
	_, err = pgx.ForEachRow(rows, []any{&x.Municipality, &x.Organisation, &x.Year, &x.Applications, &x.Agreements, &x.Pilots},
		func() error { out = append(out, x); return nil })
	return out, err
}

func (t networkTx) Alliances(ctx context.Context) ([]network.Alliance, error) {
	rows, err := t.tx.Query(ctx, `SELECT tenant_id, organisation_id, partner_id, year, applications, agreements, pilots FROM network_alliances
		WHERE tenant_id IN (SELECT id FROM tenants WHERE region_id = $1)`, t.tenant)
	if err != nil {
		return nil, err
	}
	var out []network.Alliance
	var x network.Alliance
	_, err = pgx.ForEachRow(rows, []any{&x.Municipality, &x.Organisation, &x.Partner, &x.Year, &x.Applications, &x.Agreements, &x.Pilots},
		func() error { out = append(out, x); return nil })
	return out, err
}

func (t networkTx) ComputedAt(ctx context.Context) (time.Time, error) {
	var at *time.Time
	err := t.tx.QueryRow(ctx, `SELECT max(computed_at) FROM network_ties WHERE tenant_id IN (SELECT id FROM tenants WHERE region_id = $1)`,
		t.tenant).Scan(&at)
	if err != nil || at == nil {
		return time.Time{}, err
	}
	return at.UTC(), nil
}

func (t networkTx) OrganisationNames(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]string, error) {
	out := map[uuid.UUID]string{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := t.tx.Query(ctx, `SELECT id, legal_name FROM organisations WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, err
	}
	var id uuid.UUID
	var name string
	_, err = pgx.ForEachRow(rows, []any{&id, &name}, func() error { out[id] = name; return nil })
	return out, err
}
