package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/agreement"
	"github.com/coprod/coprod/domain/audit"
	"github.com/coprod/coprod/domain/pilot"
)

// Agreements adapts the store to agreement.Store; Pilots to pilot.Store.
func (s *Store) Agreements() agreement.Store { return agreementStore{s} }
func (s *Store) Pilots() pilot.Store         { return pilotStore{s} }

type agreementStore struct{ s *Store }

func (a agreementStore) Atomic(ctx context.Context, tenant uuid.UUID, fn func(agreement.Tx) error) error {
	if tenant == uuid.Nil {
		return errors.New("postgres: agreement transaction without a tenant")
	}
	return a.s.run(ctx, tenant, func(tx pgx.Tx) error { return fn(&agreementTx{tx: tx, tenant: tenant}) })
}

type pilotStore struct{ s *Store }

func (p pilotStore) Atomic(ctx context.Context, tenant uuid.UUID, fn func(pilot.Tx) error) error {
	if tenant == uuid.Nil {
		return errors.New("postgres: pilot transaction without a tenant")
	}
	return p.s.run(ctx, tenant, func(tx pgx.Tx) error { return fn(&agreementTx{tx: tx, tenant: tenant}) })
}

type agreementTx struct {
	tx     pgx.Tx
	tenant uuid.UUID
}

func (t *agreementTx) Agreements() agreement.Repository { return agreementRepo{t} }
func (t *agreementTx) Pilots() pilot.Repository         { return pilotRepo{t} }
func (t *agreementTx) Audit() audit.Log                 { return &auditLog{tx: t.tx, tenant: t.tenant} }

type partyJSON struct {
	OrganisationID   uuid.UUID `json:"organisationId"`
	Role             string    `json:"role"`
	BudgetShareCents int64     `json:"budgetShareCents"`
	SignedBy         string    `json:"signedBy,omitempty"`
	SignedAt         time.Time `json:"signedAt,omitzero"`
}

type agreementBudgetJSON struct {
	PublicCents          int64 `json:"publicCents"`
	OutcomeCents         int64 `json:"outcomeCents"`
	CofundingCashCents   int64 `json:"cofundingCashCents"`
	CofundingInKindCents int64 `json:"cofundingInKindCents"`
}

type instalmentJSON struct {
	Label   string `json:"label"`
	Percent int    `json:"percent"`
}

type agreementAmendmentJSON struct {
	Version int            `json:"version"`
	Reason  string         `json:"reason"`
	At      time.Time      `json:"at"`
	By      string         `json:"by"`
	Changes map[string]any `json:"changes"`
}

const agreementColumns = `tenant_id, id, call_id, title, objectives, obligations, revocation_grounds, parties, starts_on, ends_on, budget,
	payment_mode, schedule, officer_signed_by, officer_signed_at, status, status_reason, amendments, created_at, updated_at, version`

func agreementArgs(a *agreement.Agreement) ([]any, error) {
	ps := make([]partyJSON, 0, len(a.Parties))
	for _, p := range a.Parties {
		ps = append(ps, partyJSON(p))
	}
	ss := make([]instalmentJSON, 0, len(a.Schedule))
	for _, s := range a.Schedule {
		ss = append(ss, instalmentJSON(s))
	}
	ms := make([]agreementAmendmentJSON, 0, len(a.Amendments))
	for _, m := range a.Amendments {
		ms = append(ms, agreementAmendmentJSON(m))
	}
	var out []any
	for _, v := range []any{ps, agreementBudgetJSON(a.Budget), ss, ms} {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

func scanAgreement(row pgx.Row) (*agreement.Agreement, error) {
	var a agreement.Agreement
	var callID *uuid.UUID
	var parties, budget, schedule, amends []byte
	var signedAt *time.Time
	err := row.Scan(&a.TenantID, &a.ID, &callID, &a.Title, &a.Objectives, &a.Obligations, &a.RevocationGrounds, &parties, &a.Start, &a.End,
		&budget, &a.PaymentMode, &schedule, &a.OfficerSignedBy, &signedAt, &a.Status, &a.StatusReason, &amends, &a.CreatedAt, &a.UpdatedAt, &a.Version)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, agreement.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if callID != nil {
		a.CallID = *callID
	}
	if signedAt != nil {
		a.OfficerSignedAt = *signedAt
	}
	var ps []partyJSON
	var b agreementBudgetJSON
	var ss []instalmentJSON
	var ms []agreementAmendmentJSON
	for _, x := range []struct {
		b []byte
		v any
	}{{parties, &ps}, {budget, &b}, {schedule, &ss}, {amends, &ms}} {
		if err := json.Unmarshal(x.b, x.v); err != nil {
			return nil, fmt.Errorf("decode agreement %s: %w", a.ID, err)
		}
	}
	for _, p := range ps {
		a.Parties = append(a.Parties, agreement.Party(p))
	}
	a.Budget = agreement.Budget(b)
	for _, s := range ss {
		a.Schedule = append(a.Schedule, agreement.Instalment(s))
	}
	for _, m := range ms {
		a.Amendments = append(a.Amendments, agreement.Amendment(m))
	}
	return &a, nil
}

type agreementRepo struct{ t *agreementTx }

func (r agreementRepo) Add(ctx context.Context, a *agreement.Agreement) error {
	js, err := agreementArgs(a)
	if err != nil {
		return err
	}
	_, err = r.t.tx.Exec(ctx, `INSERT INTO agreements (tenant_id, id, call_id, title, objectives, obligations, revocation_grounds, parties, org_ids,
			starts_on, ends_on, budget, payment_mode, schedule, officer_signed_by, officer_signed_at, status, status_reason, amendments, created_at, updated_at, version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)`,
		r.t.tenant, a.ID, nullUUID(a.CallID), a.Title, nonNilStrings(a.Objectives), nonNilStrings(a.Obligations), nonNilStrings(a.RevocationGrounds),
		js[0], a.Organisations(), a.Start, a.End, js[1], a.PaymentMode, js[2], a.OfficerSignedBy, nullTime(a.OfficerSignedAt), a.Status,
		a.StatusReason, js[3], a.CreatedAt, a.UpdatedAt, a.Version)
	return translate(err)
}

func (r agreementRepo) Update(ctx context.Context, a *agreement.Agreement) error {
	js, err := agreementArgs(a)
	if err != nil {
		return err
	}
	tag, err := r.t.tx.Exec(ctx, `UPDATE agreements SET call_id = $3, title = $4, objectives = $5, obligations = $6, revocation_grounds = $7,
			parties = $8, org_ids = $9, starts_on = $10, ends_on = $11, budget = $12, payment_mode = $13, schedule = $14, officer_signed_by = $15,
			officer_signed_at = $16, status = $17, status_reason = $18, amendments = $19, updated_at = $20, version = $21
		WHERE tenant_id = $1 AND id = $2 AND version = $21 - 1`,
		r.t.tenant, a.ID, nullUUID(a.CallID), a.Title, nonNilStrings(a.Objectives), nonNilStrings(a.Obligations), nonNilStrings(a.RevocationGrounds),
		js[0], a.Organisations(), a.Start, a.End, js[1], a.PaymentMode, js[2], a.OfficerSignedBy, nullTime(a.OfficerSignedAt), a.Status,
		a.StatusReason, js[3], a.UpdatedAt, a.Version)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return domain.ErrStale
	}
	return nil
}

func (r agreementRepo) Get(ctx context.Context, id uuid.UUID) (*agreement.Agreement, error) {
	return scanAgreement(r.t.tx.QueryRow(ctx, `SELECT `+agreementColumns+` FROM agreements WHERE tenant_id = $1 AND id = $2`, r.t.tenant, id))
}

func (r agreementRepo) List(ctx context.Context, orgs []uuid.UUID, f agreement.Filter) ([]*agreement.Agreement, error) {
	rows, err := r.t.tx.Query(ctx, `SELECT `+agreementColumns+` FROM agreements WHERE tenant_id = $1 AND ($2::uuid[] IS NULL OR org_ids && $2)
		AND ($3::uuid IS NULL OR id > $3) ORDER BY id LIMIT $4`, r.t.tenant, orgs, nullUUID(f.After), f.Limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*agreement.Agreement, error) { return scanAgreement(row) })
}

const deliverableColumns = `tenant_id, id, agreement_id, title, due, status, note, submitted_by, reviewed_by, updated_at, version`

func scanDeliverable(row pgx.Row) (*agreement.Deliverable, error) {
	var d agreement.Deliverable
	err := row.Scan(&d.TenantID, &d.ID, &d.AgreementID, &d.Title, &d.Due, &d.Status, &d.Note, &d.SubmittedBy, &d.ReviewedBy, &d.UpdatedAt, &d.Version)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, agreement.ErrDeliverableNotFound
	}
	return &d, err
}

func (r agreementRepo) AddDeliverable(ctx context.Context, d *agreement.Deliverable) error {
	_, err := r.t.tx.Exec(ctx, `INSERT INTO deliverables (`+deliverableColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		r.t.tenant, d.ID, d.AgreementID, d.Title, d.Due, d.Status, d.Note, d.SubmittedBy, d.ReviewedBy, d.UpdatedAt, d.Version)
	return translate(err)
}

func (r agreementRepo) UpdateDeliverable(ctx context.Context, d *agreement.Deliverable) error {
	tag, err := r.t.tx.Exec(ctx, `UPDATE deliverables SET status = $3, note = $4, submitted_by = $5, reviewed_by = $6, updated_at = $7, version = $8
		WHERE tenant_id = $1 AND id = $2 AND version = $8 - 1`, r.t.tenant, d.ID, d.Status, d.Note, d.SubmittedBy, d.ReviewedBy, d.UpdatedAt, d.Version)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return domain.ErrStale
	}
	return nil
}

func (r agreementRepo) Deliverable(ctx context.Context, id uuid.UUID) (*agreement.Deliverable, error) {
	return scanDeliverable(r.t.tx.QueryRow(ctx, `SELECT `+deliverableColumns+` FROM deliverables WHERE tenant_id = $1 AND id = $2`, r.t.tenant, id))
}

func (r agreementRepo) Deliverables(ctx context.Context, agreementID uuid.UUID) ([]*agreement.Deliverable, error) {
	rows, err := r.t.tx.Query(ctx, `SELECT `+deliverableColumns+` FROM deliverables WHERE tenant_id = $1 AND agreement_id = $2 ORDER BY due, id`, r.t.tenant, agreementID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*agreement.Deliverable, error) { return scanDeliverable(row) })
}

type pilotRepo struct{ t *agreementTx }

const pilotColumns = `tenant_id, id, agreement_id, title, hypothesis, COALESCE(site_istat, ''), neighbourhood, cohort_size, starts_on, ends_on,
	status, decision, decision_note, follow_up_kind, follow_up_id, created_at, updated_at, version`

func scanPilot(row pgx.Row) (*pilot.Pilot, error) {
	var p pilot.Pilot
	var kind string
	var follow *uuid.UUID
	err := row.Scan(&p.TenantID, &p.ID, &p.AgreementID, &p.Title, &p.Hypothesis, &p.SiteISTAT, &p.Neighbourhood, &p.CohortSize, &p.Start, &p.End,
		&p.Status, &p.Decision, &p.DecisionNote, &kind, &follow, &p.CreatedAt, &p.UpdatedAt, &p.Version)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, pilot.ErrNotFound
	}
	if follow != nil {
		p.FollowUp = &pilot.FollowUp{Kind: kind, ID: *follow}
	}
	return &p, err
}

func followArgs(p *pilot.Pilot) (string, *uuid.UUID) {
	if p.FollowUp == nil {
		return "", nil
	}
	id := p.FollowUp.ID
	return p.FollowUp.Kind, &id
}

func (r pilotRepo) Add(ctx context.Context, p *pilot.Pilot) error {
	kind, follow := followArgs(p)
	_, err := r.t.tx.Exec(ctx, `INSERT INTO pilots (tenant_id, id, agreement_id, title, hypothesis, site_istat, neighbourhood, cohort_size, starts_on, ends_on,
			status, decision, decision_note, follow_up_kind, follow_up_id, created_at, updated_at, version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
		r.t.tenant, p.ID, p.AgreementID, p.Title, p.Hypothesis, nullString(p.SiteISTAT), p.Neighbourhood, p.CohortSize, p.Start, p.End,
		p.Status, p.Decision, p.DecisionNote, kind, follow, p.CreatedAt, p.UpdatedAt, p.Version)
	return translate(err)
}

func (r pilotRepo) Update(ctx context.Context, p *pilot.Pilot) error {
	kind, follow := followArgs(p)
	tag, err := r.t.tx.Exec(ctx, `UPDATE pilots SET status = $3, decision = $4, decision_note = $5, follow_up_kind = $6, follow_up_id = $7,
			updated_at = $8, version = $9 WHERE tenant_id = $1 AND id = $2 AND version = $9 - 1`,
		r.t.tenant, p.ID, p.Status, p.Decision, p.DecisionNote, kind, follow, p.UpdatedAt, p.Version)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return domain.ErrStale
	}
	return nil
}

func (r pilotRepo) Get(ctx context.Context, id uuid.UUID) (*pilot.Pilot, error) {
	return scanPilot(r.t.tx.QueryRow(ctx, `SELECT `+pilotColumns+` FROM pilots WHERE tenant_id = $1 AND id = $2`, r.t.tenant, id))
}

func (r pilotRepo) ForAgreement(ctx context.Context, agreementID uuid.UUID) ([]*pilot.Pilot, error) {
	rows, err := r.t.tx.Query(ctx, `SELECT `+pilotColumns+` FROM pilots WHERE tenant_id = $1 AND agreement_id = $2 ORDER BY id`, r.t.tenant, agreementID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*pilot.Pilot, error) { return scanPilot(row) })
}
