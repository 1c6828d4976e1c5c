package postgres

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/audit"
	"github.com/coprod/coprod/domain/call"
	"github.com/coprod/coprod/domain/codesign"
	"github.com/coprod/coprod/domain/committee"
)

// Codesign adapts the store to codesign.Store.
func (s *Store) Codesign() codesign.Store { return codesignStore{s} }

type codesignStore struct{ s *Store }

func (c codesignStore) Atomic(ctx context.Context, tenant uuid.UUID, fn func(codesign.Tx) error) error {
	if tenant == uuid.Nil {
		return errors.New("postgres: co-design transaction without a tenant")
	}
	return c.s.run(ctx, tenant, func(tx pgx.Tx) error { return fn(&codesignTx{&callTx{tx: tx, tenant: tenant, store: c.s}}) })
}

type codesignTx struct{ *callTx }

func (t *codesignTx) Calls() call.Repository       { return callRepo{t.callTx} }
func (t *codesignTx) Rankings() committee.Rankings { return rankingRepo{t.callTx} }
func (t *codesignTx) Tables() codesign.Repository  { return tableRepo{t.callTx} }
func (t *codesignTx) Audit() audit.Log             { return &auditLog{tx: t.tx, tenant: t.tenant} }

type tableRepo struct{ t *callTx }

func (r tableRepo) Add(ctx context.Context, t *codesign.Table) error {
	_, err := r.t.tx.Exec(ctx, `INSERT INTO codesign_tables (tenant_id, id, call_id, participants, status, convened_at, version)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, r.t.tenant, t.ID, t.CallID, t.Participants, t.Status, t.ConvenedAt, t.Version)
	return translate(err)
}

func (r tableRepo) Update(ctx context.Context, t *codesign.Table) error {
	act, err := json.Marshal(actToJSON(t.ApprovalAct))
	if err != nil {
		return err
	}
	tag, err := r.t.tx.Exec(ctx, `UPDATE codesign_tables SET status = $3, approved_version = $4, approval_act = $5, version = $6
		WHERE tenant_id = $1 AND id = $2 AND version = $6 - 1`, r.t.tenant, t.ID, t.Status, nullUUID(t.ApprovedVersion), act, t.Version)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return domain.ErrStale
	}
	return nil
}

func (r tableRepo) ForCall(ctx context.Context, callID uuid.UUID) (*codesign.Table, error) {
	t := codesign.Table{TenantID: r.t.tenant, CallID: callID}
	var approved *uuid.UUID
	var act []byte
	err := r.t.tx.QueryRow(ctx, `SELECT id, participants, status, convened_at, approved_version, approval_act, version
		FROM codesign_tables WHERE tenant_id = $1 AND call_id = $2`, r.t.tenant, callID).
		Scan(&t.ID, &t.Participants, &t.Status, &t.ConvenedAt, &approved, &act, &t.Version)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, codesign.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if approved != nil {
		t.ApprovedVersion = *approved
	}
	if len(act) > 0 {
		var a actJSON
		if err := json.Unmarshal(act, &a); err != nil {
			return nil, err
		}
		t.ApprovalAct = actFromJSON(a)
	}
	return &t, nil
}

type attendeeJSON struct {
	OrganisationID uuid.UUID `json:"organisationId,omitzero"`
	Name           string    `json:"name"`
	Role           string    `json:"role"`
}

func (r tableRepo) AddSession(ctx context.Context, s *codesign.Session) error {
	as := make([]attendeeJSON, 0, len(s.Attendees))
	for _, a := range s.Attendees {
		as = append(as, attendeeJSON(a))
	}
	b, err := json.Marshal(as)
	if err != nil {
		return err
	}
	_, err = r.t.tx.Exec(ctx, `INSERT INTO codesign_sessions (tenant_id, id, table_id, held_on, attendees, minutes, decisions, recorded_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, r.t.tenant, s.ID, s.TableID, s.Date, b, s.Minutes, nonNilStrings(s.Decisions), s.By)
	return translate(err)
}

func (r tableRepo) Sessions(ctx context.Context, table uuid.UUID) ([]*codesign.Session, error) {
	rows, err := r.t.tx.Query(ctx, `SELECT id, table_id, held_on, attendees, minutes, decisions, recorded_by FROM codesign_sessions
		WHERE tenant_id = $1 AND table_id = $2 ORDER BY held_on, id`, r.t.tenant, table)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*codesign.Session, error) {
		s := &codesign.Session{TenantID: r.t.tenant}
		var b []byte
		if err := row.Scan(&s.ID, &s.TableID, &s.Date, &b, &s.Minutes, &s.Decisions, &s.By); err != nil {
			return nil, err
		}
		var as []attendeeJSON
		if err := json.Unmarshal(b, &as); err != nil {
			return nil, err
		}
		for _, a := range as {
			s.Attendees = append(s.Attendees, codesign.Attendee(a))
		}
		return s, nil
	})
}

func (r tableRepo) AddVersion(ctx context.Context, v *codesign.ProjectVersion) error {
	_, err := r.t.tx.Exec(ctx, `INSERT INTO project_versions (tenant_id, id, table_id, number, content, content_hash, author, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, r.t.tenant, v.ID, v.TableID, v.Number, v.Content, v.ContentHash, v.Author, v.CreatedAt)
	return translate(err)
}

func (r tableRepo) Versions(ctx context.Context, table uuid.UUID) ([]*codesign.ProjectVersion, error) {
	rows, err := r.t.tx.Query(ctx, `SELECT id, table_id, number, content, content_hash, author, created_at FROM project_versions
		WHERE tenant_id = $1 AND table_id = $2 ORDER BY number`, r.t.tenant, table)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*codesign.ProjectVersion, error) {
		v := &codesign.ProjectVersion{TenantID: r.t.tenant}
		err := row.Scan(&v.ID, &v.TableID, &v.Number, &v.Content, &v.ContentHash, &v.Author, &v.CreatedAt)
		return v, err
	})
}
