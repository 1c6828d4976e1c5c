package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/agreement"
	"github.com/coprod/coprod/domain/audit"
	"github.com/coprod/coprod/domain/call"
	"github.com/coprod/coprod/domain/monitoring"
	"github.com/coprod/coprod/domain/pilot"
	"github.com/coprod/coprod/domain/practice"
)

// Practices adapts the store to practice.Store; PublicPractices serves the
// catalogue (platform-level, no tenant).
func (s *Store) Practices() practice.Store              { return practiceStore{s} }
func (s *Store) PublicPractices() practice.PublicReader { return practiceReader{s} }

type practiceStore struct{ s *Store }

func (p practiceStore) Atomic(ctx context.Context, tenant uuid.UUID, fn func(practice.Tx) error) error {
	if tenant == uuid.Nil {
		return errors.New("postgres: practice transaction without a tenant")
	}
	return p.s.run(ctx, tenant, func(tx pgx.Tx) error {
		return fn(&practiceTx{agreementTx: &agreementTx{tx: tx, tenant: tenant}, calls: &callTx{tx: tx, tenant: tenant, store: p.s}})
	})
}

// practiceTx reads a pilot's agreement, call and monitoring rows, and
// writes practices, replications and the catalogue, in one transaction.
type practiceTx struct {
	*agreementTx
	calls *callTx
}

func (t *practiceTx) Practices() practice.Repository        { return practiceRepo{t.agreementTx} }
func (t *practiceTx) Replications() practice.Replications   { return replicationRepo{t.agreementTx} }
func (t *practiceTx) Catalogue() practice.Projection        { return catalogue{t.agreementTx} }
func (t *practiceTx) Calls() call.Repository                { return callRepo{t.calls} }
func (t *practiceTx) Agreements() agreement.Repository      { return agreementRepo{t.agreementTx} }
func (t *practiceTx) Pilots() pilot.Repository              { return pilotRepo{t.agreementTx} }
func (t *practiceTx) Library() monitoring.Library           { return libraryRepo{t.agreementTx} }
func (t *practiceTx) Assignments() monitoring.Assignments   { return assignmentRepo{t.agreementTx} }
func (t *practiceTx) Measurements() monitoring.Measurements { return measurementRepo{t.agreementTx} }
func (t *practiceTx) Payments() monitoring.Payments         { return paymentRepo{t.agreementTx} }
func (t *practiceTx) Audit() audit.Log                      { return &auditLog{tx: t.tx, tenant: t.tenant} }

// The practice is stored as JSON of the domain type beside its keys, like
// the indicator library: its fields are the stored format.
type practiceRepo struct{ t *agreementTx }

func (r practiceRepo) Add(ctx context.Context, p *practice.Practice) error {
	doc, err := json.Marshal(p)
	if err != nil {
		return err
	}
	_, err = r.t.tx.Exec(ctx, `INSERT INTO practices (tenant_id, id, pilot_id, agreement_id, call_id, replicates_id, status, doc, published_at, updated_at, version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		r.t.tenant, p.ID, p.PilotID, p.AgreementID, nullUUID(p.CallID), nullUUID(p.ReplicatesID), p.Status, doc, p.PublishedAt, p.UpdatedAt, p.Version)
	if err = translate(err); domain.KindOf(err) == domain.KindConflict {
		return practice.ErrAlreadyPublished
	}
	return err
}

func (r practiceRepo) Update(ctx context.Context, p *practice.Practice) error {
	doc, err := json.Marshal(p)
	if err != nil {
		return err
	}
	tag, err := r.t.tx.Exec(ctx, `UPDATE practices SET call_id = $3, replicates_id = $4, status = $5, doc = $6, updated_at = $7, version = $8
		WHERE tenant_id = $1 AND id = $2 AND version = $8 - 1`,
		r.t.tenant, p.ID, nullUUID(p.CallID), nullUUID(p.ReplicatesID), p.Status, doc, p.UpdatedAt, p.Version)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return domain.ErrStale
	}
	return nil
}

func (r practiceRepo) Get(ctx context.Context, id uuid.UUID) (*practice.Practice, error) {
	var p practice.Practice
	err := r.t.tx.QueryRow(ctx, `SELECT doc FROM practices WHERE tenant_id = $1 AND id = $2`, r.t.tenant, id).Scan(&p)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, practice.ErrNotFound
	}
	return &p, err
}

type replicationRepo struct{ t *agreementTx }

const replicationColumns = `tenant_id, id, practice_id, source_tenant_id, call_id, template, created_by, created_at`

func scanReplication(row pgx.Row) (*practice.Replication, error) {
	var r practice.Replication
	err := row.Scan(&r.TenantID, &r.ID, &r.PracticeID, &r.SourceTenantID, &r.CallID, &r.Template, &r.CreatedBy, &r.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, practice.ErrReplicationNotFound
	}
	return &r, err
}

func (r replicationRepo) Add(ctx context.Context, rep *practice.Replication) error {
	_, err := r.t.tx.Exec(ctx, `INSERT INTO practice_replications (`+replicationColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		r.t.tenant, rep.ID, rep.PracticeID, rep.SourceTenantID, rep.CallID, rep.Template, rep.CreatedBy, rep.CreatedAt)
	return translate(err)
}

func (r replicationRepo) Get(ctx context.Context, id uuid.UUID) (*practice.Replication, error) {
	return scanReplication(r.t.tx.QueryRow(ctx, `SELECT `+replicationColumns+` FROM practice_replications WHERE tenant_id = $1 AND id = $2`, r.t.tenant, id))
}

func (r replicationRepo) ForCall(ctx context.Context, callID uuid.UUID) (*practice.Replication, error) {
	return scanReplication(r.t.tx.QueryRow(ctx, `SELECT `+replicationColumns+` FROM practice_replications WHERE tenant_id = $1 AND call_id = $2`, r.t.tenant, callID))
}

// catalogue writes the platform-level copies from a tenant's transaction.
type catalogue struct{ t *agreementTx }

func publicTenant(ctx context.Context, tx pgx.Tx, id uuid.UUID) (call.PublicTenant, *uuid.UUID, error) {
	var t call.PublicTenant
	var region *uuid.UUID
	err := tx.QueryRow(ctx, `SELECT id, slug, name, region_id FROM tenants WHERE id = $1`, id).Scan(&t.ID, &t.Slug, &t.Name, &region)
	if region != nil {
		t.RegionID = *region
	}
	return t, region, err
}

func (c catalogue) Put(ctx context.Context, p *practice.Practice) error {
	t, region, err := publicTenant(ctx, c.t.tx, p.TenantID)
	if err != nil {
		return err
	}
	view := p.PublicView(t)
	doc, err := json.Marshal(view)
	if err != nil {
		return err
	}
	tpl, err := json.Marshal(view.Source)
	if err != nil {
		return err
	}
	search := strings.ToLower(p.Title + "\n" + p.Problem + "\n" + p.Approach + "\n" + p.WhatWentWrong)
	if _, err := c.t.tx.Exec(ctx, `INSERT INTO public_practices (practice_id, tenant_id, region_id, policy_area, outcome, sdg_targets, bes_domains,
			search, published_at, doc, template, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		ON CONFLICT (practice_id) DO UPDATE SET policy_area = EXCLUDED.policy_area, outcome = EXCLUDED.outcome, sdg_targets = EXCLUDED.sdg_targets,
			bes_domains = EXCLUDED.bes_domains, search = EXCLUDED.search, doc = EXCLUDED.doc, template = EXCLUDED.template, updated_at = EXCLUDED.updated_at`,
		p.ID, p.TenantID, region, p.PolicyArea, p.Outcome, view.SDGTargets, view.BESDomains, search, p.PublishedAt, doc, tpl, p.UpdatedAt); err != nil {
		return err
	}
	if p.CallID == uuid.Nil {
		return nil
	}
	// A practice from a replicated call becomes that replication's outcome.
	_, err = c.t.tx.Exec(ctx, `UPDATE public_practice_replications SET replica_practice_id = $3 WHERE tenant_id = $1 AND call_id = $2`,
		p.TenantID, p.CallID, p.ID)
	return err
}

func (c catalogue) Delete(ctx context.Context, p *practice.Practice) error {
	if _, err := c.t.tx.Exec(ctx, `DELETE FROM public_practices WHERE tenant_id = $1 AND practice_id = $2`, p.TenantID, p.ID); err != nil {
		return err
	}
	_, err := c.t.tx.Exec(ctx, `UPDATE public_practice_replications SET replica_practice_id = NULL WHERE tenant_id = $1 AND replica_practice_id = $2`,
		p.TenantID, p.ID)
	return err
}

func (c catalogue) Get(ctx context.Context, id uuid.UUID) (*practice.PublicPractice, error) {
	return readPractice(ctx, c.t.tx, id)
}

func (c catalogue) AddReplication(ctx context.Context, r *practice.Replication) error {
	_, err := c.t.tx.Exec(ctx, `INSERT INTO public_practice_replications (replication_id, practice_id, tenant_id, call_id, created_at)
		VALUES ($1, $2, $3, $4, $5)`, r.ID, r.PracticeID, r.TenantID, r.CallID, r.CreatedAt)
	return translate(err)
}

func readPractice(ctx context.Context, tx pgx.Tx, id uuid.UUID) (*practice.PublicPractice, error) {
	var p practice.PublicPractice
	err := tx.QueryRow(ctx, `SELECT doc, template FROM public_practices WHERE practice_id = $1`, id).Scan(&p, &p.Source)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, practice.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return &p, nil
}

type practiceReader struct{ s *Store }

func (r practiceReader) PublicPractices(ctx context.Context, f practice.PublicFilter) ([]practice.PublicPractice, error) {
	var out []practice.PublicPractice
	err := r.s.run(ctx, uuid.Nil, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT doc FROM public_practices
			WHERE ($1::uuid IS NULL OR region_id = $1) AND ($2::uuid IS NULL OR tenant_id = $2) AND ($3 = '' OR policy_area = $3)
			  AND ($4 = '' OR sdg_targets @> ARRAY[$4]) AND ($5 = '' OR bes_domains @> ARRAY[$5]) AND ($6 = '' OR outcome = $6)
			  AND ($7 = '' OR search LIKE '%' || $7 || '%')
			  AND ($8::uuid IS NULL OR (published_at, practice_id) < (SELECT published_at, practice_id FROM public_practices WHERE practice_id = $8))
			ORDER BY published_at DESC, practice_id DESC LIMIT $9`,
			nullUUID(f.RegionID), nullUUID(f.TenantID), f.PolicyArea, strings.ToLower(f.SDGTarget), f.BESDomain, f.Outcome,
			escapeLike(strings.ToLower(strings.TrimSpace(f.Text))), nullUUID(f.Before), f.Limit)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (practice.PublicPractice, error) {
			var p practice.PublicPractice
			err := row.Scan(&p)
			return p, err
		})
		return err
	})
	return out, err
}

func (r practiceReader) PublicPractice(ctx context.Context, id uuid.UUID) (*practice.PublicPractice, error) {
	var out *practice.PublicPractice
	err := r.s.run(ctx, uuid.Nil, func(tx pgx.Tx) (err error) {
		out, err = readPractice(ctx, tx, id)
		return err
	})
	return out, err
}

func (r practiceReader) PublicReplications(ctx context.Context, id uuid.UUID) ([]practice.PublicReplication, error) {
	var out []practice.PublicReplication
	err := r.s.run(ctx, uuid.Nil, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT t.id, t.slug, t.name, t.region_id, r.created_at, r.replica_practice_id
			FROM public_practice_replications r JOIN tenants t ON t.id = r.tenant_id
			WHERE r.practice_id = $1 ORDER BY r.created_at, r.replication_id`, id)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (practice.PublicReplication, error) {
			var p practice.PublicReplication
			var region *uuid.UUID
			err := row.Scan(&p.Municipality.ID, &p.Municipality.Slug, &p.Municipality.Name, &region, &p.CreatedAt, &p.ReplicaPracticeID)
			if region != nil {
				p.Municipality.RegionID = *region
			}
			return p, err
		})
		return err
	})
	return out, err
}
