package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/audit"
	"github.com/coprod/coprod/domain/call"
	"github.com/coprod/coprod/domain/coprogramming"
	"github.com/coprod/coprod/domain/initiative"
)

// Coprogramming adapts the store to coprogramming.Store.
func (s *Store) Coprogramming() coprogramming.Store { return coprogrammingStore{s} }

// Initiatives adapts the store to initiative.Store.
func (s *Store) Initiatives() initiative.Store { return initiativeStore{s} }

type coprogrammingStore struct{ s *Store }

func (c coprogrammingStore) Atomic(ctx context.Context, tenant uuid.UUID, fn func(coprogramming.Tx) error) error {
	if tenant == uuid.Nil {
		return errors.New("postgres: co-programming transaction without a tenant")
	}
	return c.s.run(ctx, tenant, func(tx pgx.Tx) error { return fn(&coprogrammingTx{&callTx{tx: tx, tenant: tenant, store: c.s}}) })
}

type initiativeStore struct{ s *Store }

func (c initiativeStore) Atomic(ctx context.Context, tenant uuid.UUID, fn func(initiative.Tx) error) error {
	if tenant == uuid.Nil {
		return errors.New("postgres: initiative transaction without a tenant")
	}
	return c.s.run(ctx, tenant, func(tx pgx.Tx) error { return fn(&coprogrammingTx{&callTx{tx: tx, tenant: tenant, store: c.s}}) })
}

// coprogrammingTx serves both contexts: an initiative may open a process or draft a call.
type coprogrammingTx struct{ *callTx }

func (t *coprogrammingTx) Processes() coprogramming.Repository { return processRepo{t.callTx} }
func (t *coprogrammingTx) Initiatives() initiative.Repository  { return initiativeRepo{t.callTx} }
func (t *coprogrammingTx) Calls() call.Repository              { return callRepo{t.callTx} }
func (t *coprogrammingTx) Audit() audit.Log                    { return &auditLog{tx: t.tx, tenant: t.tenant} }

type processRepo struct{ t *callTx }

func encodeAct(a call.Act) ([]byte, error) {
	if a.Kind == "" {
		return nil, nil
	}
	return json.Marshal(actToJSON(a))
}

func (r processRepo) Add(ctx context.Context, p *coprogramming.Process) error {
	_, err := r.t.tx.Exec(ctx, `INSERT INTO coprogramming_processes (tenant_id, id, title, description, policy_area, territory,
		period_from, period_to, status, created_by, created_at, updated_at, version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		r.t.tenant, p.ID, p.Title, p.Description, p.PolicyArea, nonNilStrings(p.Territory), p.PeriodFrom, p.PeriodTo,
		p.Status, p.CreatedBy, p.CreatedAt, p.UpdatedAt, p.Version)
	return translate(err)
}

func (r processRepo) Update(ctx context.Context, p *coprogramming.Process) error {
	act, err := encodeAct(p.Act)
	if err != nil {
		return err
	}
	tag, err := r.t.tx.Exec(ctx, `UPDATE coprogramming_processes SET status = $3, priorities = $4, resources = $5, summary = $6,
		act = $7, cancel_reason = $8, opened_at = $9, closed_at = $10, published_at = $11, updated_at = $12, version = $13
		WHERE tenant_id = $1 AND id = $2 AND version = $13 - 1`,
		r.t.tenant, p.ID, p.Status, nonNilStrings(p.Outputs.Priorities), nonNilStrings(p.Outputs.Resources), p.Outputs.Summary,
		act, p.CancelReason, nullTime(p.OpenedAt), nullTime(p.ClosedAt), nullTime(p.PublishedAt), p.UpdatedAt, p.Version)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return domain.ErrStale
	}
	return nil
}

const processColumns = `id, title, description, policy_area, territory, period_from, period_to, status, priorities, resources,
	summary, act, cancel_reason, created_by, created_at, opened_at, closed_at, published_at, updated_at, version`

func scanProcess(tenant uuid.UUID, row pgx.Row) (*coprogramming.Process, error) {
	p := &coprogramming.Process{TenantID: tenant}
	var act []byte
	var opened, closed, published *time.Time
	if err := row.Scan(&p.ID, &p.Title, &p.Description, &p.PolicyArea, &p.Territory, &p.PeriodFrom, &p.PeriodTo, &p.Status,
		&p.Outputs.Priorities, &p.Outputs.Resources, &p.Outputs.Summary, &act, &p.CancelReason, &p.CreatedBy, &p.CreatedAt,
		&opened, &closed, &published, &p.UpdatedAt, &p.Version); err != nil {
		return nil, err
	}
	for _, x := range []struct {
		src *time.Time
		dst *time.Time
	}{{opened, &p.OpenedAt}, {closed, &p.ClosedAt}, {published, &p.PublishedAt}} {
		if x.src != nil {
			*x.dst = *x.src
		}
	}
	if len(act) > 0 {
		var a actJSON
		if err := json.Unmarshal(act, &a); err != nil {
			return nil, err
		}
		p.Act = actFromJSON(a)
	}
	return p, nil
}

func (r processRepo) Get(ctx context.Context, id uuid.UUID) (*coprogramming.Process, error) {
	p, err := scanProcess(r.t.tenant, r.t.tx.QueryRow(ctx, `SELECT `+processColumns+` FROM coprogramming_processes
		WHERE tenant_id = $1 AND id = $2`, r.t.tenant, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, coprogramming.ErrNotFound
	}
	return p, err
}

func (r processRepo) Hold(ctx context.Context, id uuid.UUID) (*coprogramming.Process, error) {
	p, err := scanProcess(r.t.tenant, r.t.tx.QueryRow(ctx, `SELECT `+processColumns+` FROM coprogramming_processes
		WHERE tenant_id = $1 AND id = $2 FOR SHARE`, r.t.tenant, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, coprogramming.ErrNotFound
	}
	return p, err
}

func (r processRepo) List(ctx context.Context, f coprogramming.Filter) ([]*coprogramming.Process, error) {
	rows, err := r.t.tx.Query(ctx, `SELECT `+processColumns+` FROM coprogramming_processes
		WHERE tenant_id = $1 AND ($2 = '' OR status = $2) AND ($3::uuid IS NULL OR id < $3)
		ORDER BY id DESC LIMIT $4`, r.t.tenant, string(f.Status), nullUUID(f.After), f.Limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*coprogramming.Process, error) { return scanProcess(r.t.tenant, row) })
}

func (r processRepo) AddContribution(ctx context.Context, c *coprogramming.Contribution) error {
	_, err := r.t.tx.Exec(ctx, `INSERT INTO coprogramming_contributions (tenant_id, id, process_id, kind, organisation_id,
		citizen_name, needs, data, resources, recorded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		r.t.tenant, c.ID, c.ProcessID, c.Kind, nullUUID(c.OrganisationID), c.CitizenName, c.Needs, c.Data, c.Resources, c.RecordedBy, c.CreatedAt)
	return translate(err)
}

func (r processRepo) Contributions(ctx context.Context, process uuid.UUID) ([]*coprogramming.Contribution, error) {
	rows, err := r.t.tx.Query(ctx, `SELECT id, kind, organisation_id, citizen_name, needs, data, resources, recorded_by, created_at
		FROM coprogramming_contributions WHERE tenant_id = $1 AND process_id = $2 ORDER BY id`, r.t.tenant, process)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*coprogramming.Contribution, error) {
		c := &coprogramming.Contribution{TenantID: r.t.tenant, ProcessID: process}
		var org *uuid.UUID
		if err := row.Scan(&c.ID, &c.Kind, &org, &c.CitizenName, &c.Needs, &c.Data, &c.Resources, &c.RecordedBy, &c.CreatedAt); err != nil {
			return nil, err
		}
		if org != nil {
			c.OrganisationID = *org
		}
		return c, nil
	})
}

func (r processRepo) LinkCall(ctx context.Context, process, callID uuid.UUID, at time.Time) error {
	_, err := r.t.tx.Exec(ctx, `INSERT INTO coprogramming_calls (tenant_id, call_id, process_id, created_at) VALUES ($1, $2, $3, $4)`,
		r.t.tenant, callID, process, at)
	return translate(err)
}

func (r processRepo) CallsOf(ctx context.Context, process uuid.UUID) ([]uuid.UUID, error) {
	rows, err := r.t.tx.Query(ctx, `SELECT call_id FROM coprogramming_calls WHERE tenant_id = $1 AND process_id = $2
		ORDER BY created_at, call_id`, r.t.tenant, process)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
}

type initiativeRepo struct{ t *callTx }

func (r initiativeRepo) Add(ctx context.Context, i *initiative.Initiative) error {
	_, err := r.t.tx.Exec(ctx, `INSERT INTO initiatives (tenant_id, id, organisation_id, title, problem, target_group, approach,
		policy_area, partners, resources_offered, status, proposed_by, proposed_at, updated_at, version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		r.t.tenant, i.ID, i.OrganisationID, i.Title, i.Problem, i.TargetGroup, i.Approach, i.PolicyArea, nonNilStrings(i.Partners),
		i.ResourcesOffered, i.Status, i.ProposedBy, i.ProposedAt, i.UpdatedAt, i.Version)
	return translate(err)
}

func (r initiativeRepo) Update(ctx context.Context, i *initiative.Initiative) error {
	tag, err := r.t.tx.Exec(ctx, `UPDATE initiatives SET status = $3, triage_deadline = $4, route = $5, process_id = $6, call_id = $7,
		decline_reason = $8, merged_into = $9, triaged_at = $10, updated_at = $11, version = $12
		WHERE tenant_id = $1 AND id = $2 AND version = $12 - 1`,
		r.t.tenant, i.ID, i.Status, nullTime(i.TriageDeadline), string(i.Route), nullUUID(i.ProcessID), nullUUID(i.CallID),
		i.DeclineReason, nullUUID(i.MergedInto), nullTime(i.TriagedAt), i.UpdatedAt, i.Version)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return domain.ErrStale
	}
	return nil
}

const initiativeColumns = `i.id, i.organisation_id, o.legal_name, i.title, i.problem, i.target_group, i.approach, i.policy_area,
	i.partners, i.resources_offered, i.status, i.triage_deadline, i.route, i.process_id, i.call_id, i.decline_reason, i.merged_into,
	i.proposed_by, i.proposed_at, i.triaged_at, i.updated_at, i.version`

func scanInitiative(tenant uuid.UUID, row pgx.Row) (*initiative.Initiative, error) {
	i := &initiative.Initiative{TenantID: tenant}
	var deadline, triaged *time.Time
	var process, callID, merged *uuid.UUID
	var route string
	if err := row.Scan(&i.ID, &i.OrganisationID, &i.OrganisationName, &i.Title, &i.Problem, &i.TargetGroup, &i.Approach, &i.PolicyArea,
		&i.Partners, &i.ResourcesOffered, &i.Status, &deadline, &route, &process, &callID, &i.DeclineReason, &merged,
		&i.ProposedBy, &i.ProposedAt, &triaged, &i.UpdatedAt, &i.Version); err != nil {
		return nil, err
	}
	i.Route = initiative.Route(route)
	if deadline != nil {
		i.TriageDeadline = *deadline
	}
	if triaged != nil {
		i.TriagedAt = *triaged
	}
	for _, x := range []struct {
		src *uuid.UUID
		dst *uuid.UUID
	}{{process, &i.ProcessID}, {callID, &i.CallID}, {merged, &i.MergedInto}} {
		if x.src != nil {
			*x.dst = *x.src
		}
	}
	return i, nil
}

func (r initiativeRepo) Get(ctx context.Context, id uuid.UUID) (*initiative.Initiative, error) {
	i, err := scanInitiative(r.t.tenant, r.t.tx.QueryRow(ctx, `SELECT `+initiativeColumns+`
		FROM initiatives i JOIN organisations o ON o.id = i.organisation_id WHERE i.tenant_id = $1 AND i.id = $2`, r.t.tenant, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, initiative.ErrNotFound
	}
	return i, err
}

func (r initiativeRepo) List(ctx context.Context, f initiative.Filter) ([]*initiative.Initiative, error) {
	rows, err := r.t.tx.Query(ctx, `SELECT `+initiativeColumns+`
		FROM initiatives i JOIN organisations o ON o.id = i.organisation_id
		WHERE i.tenant_id = $1 AND ($2 = '' OR i.status = $2) AND ($3::uuid[] IS NULL OR i.organisation_id = ANY ($3))
		  AND ($4::timestamptz IS NULL OR (i.status = 'in_triage' AND i.triage_deadline <= $4))
		  AND ($5::uuid IS NULL OR i.id < $5)
		ORDER BY i.id DESC LIMIT $6`,
		r.t.tenant, string(f.Status), f.Organisations, nullTime(f.OverdueAt), nullUUID(f.After), f.Limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*initiative.Initiative, error) { return scanInitiative(r.t.tenant, row) })
}

func (r initiativeRepo) Lock(ctx context.Context, ids ...uuid.UUID) error {
	rows, err := r.t.tx.Query(ctx, `SELECT id FROM initiatives WHERE tenant_id = $1 AND id = ANY ($2) ORDER BY id FOR UPDATE`, r.t.tenant, ids)
	if err != nil {
		return err
	}
	rows.Close()
	return rows.Err()
}
