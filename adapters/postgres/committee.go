package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/application"
	"github.com/coprod/coprod/domain/audit"
	"github.com/coprod/coprod/domain/call"
	"github.com/coprod/coprod/domain/committee"
	"github.com/coprod/coprod/domain/evaluation"
)

// Committee adapts the store to committee.Store.
func (s *Store) Committee() committee.Store { return committeeStore{s} }

type committeeStore struct{ s *Store }

func (c committeeStore) Atomic(ctx context.Context, tenant uuid.UUID, fn func(committee.Tx) error) error {
	if tenant == uuid.Nil {
		return errors.New("postgres: committee transaction without a tenant")
	}
	return c.s.run(ctx, tenant, func(tx pgx.Tx) error { return fn(&committeeTx{&callTx{tx: tx, tenant: tenant, store: c.s}}) })
}

type committeeTx struct{ *callTx }

func (t *committeeTx) Applications() application.Repository {
	return appRepo{&appTx{tx: t.tx, tenant: t.tenant}}
}
func (t *committeeTx) Members() committee.Members   { return memberRepo{t.callTx} }
func (t *committeeTx) Sheets() committee.Sheets     { return sheetRepo{t.callTx} }
func (t *committeeTx) Rankings() committee.Rankings { return rankingRepo{t.callTx} }
func (t *committeeTx) Audit() audit.Log             { return &auditLog{tx: t.tx, tenant: t.tenant} }

type memberRepo struct{ t *callTx }

func (r memberRepo) Put(ctx context.Context, m committee.Member) error {
	_, err := r.t.tx.Exec(ctx, `INSERT INTO committee_members (tenant_id, call_id, user_id, role, org_ids, created_at) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (tenant_id, call_id, user_id) DO UPDATE SET role = EXCLUDED.role, org_ids = EXCLUDED.org_ids`,
		r.t.tenant, m.CallID, m.UserID, m.Role, uuids(m.Orgs), m.At)
	return translate(err)
}

func (r memberRepo) Get(ctx context.Context, callID, user uuid.UUID) (*committee.Member, error) {
	m := committee.Member{CallID: callID, UserID: user}
	err := r.t.tx.QueryRow(ctx, `SELECT role, org_ids, created_at FROM committee_members WHERE tenant_id = $1 AND call_id = $2 AND user_id = $3`,
		r.t.tenant, callID, user).Scan(&m.Role, &m.Orgs, &m.At)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, committee.ErrNotMember
	}
	return &m, err
}

func (r memberRepo) List(ctx context.Context, callID uuid.UUID) ([]committee.Member, error) {
	rows, err := r.t.tx.Query(ctx, `SELECT call_id, user_id, role, org_ids, created_at FROM committee_members WHERE tenant_id = $1 AND call_id = $2 ORDER BY created_at`,
		r.t.tenant, callID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (committee.Member, error) {
		var m committee.Member
		err := row.Scan(&m.CallID, &m.UserID, &m.Role, &m.Orgs, &m.At)
		return m, err
	})
}

func (r memberRepo) UserOrgs(ctx context.Context, user uuid.UUID) ([]uuid.UUID, error) {
	rows, err := r.t.tx.Query(ctx, `SELECT organisation_id FROM organisation_members WHERE user_id = $1`, user)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
}

type scoreJSON struct {
	Criterion string `json:"criterion"`
	Value     int    `json:"value"`
	Rationale string `json:"rationale"`
}

type sheetRepo struct{ t *callTx }

func (r sheetRepo) scan(row pgx.Row) (*committee.Sheet, error) {
	var s committee.Sheet
	var decl string
	var scores []byte
	var submitted *time.Time
	err := row.Scan(&s.ApplicationID, &s.Evaluator, &decl, &s.DeclaredAt, &scores, &submitted, &s.Version)
	if err != nil {
		return nil, err
	}
	s.Declaration = evaluation.Declaration(decl)
	var ss []scoreJSON
	if err := json.Unmarshal(scores, &ss); err != nil {
		return nil, err
	}
	for _, x := range ss {
		s.Scores = append(s.Scores, evaluation.Score(x))
	}
	if submitted != nil {
		s.SubmittedAt = *submitted
	}
	return &s, nil
}

const sheetColumns = `application_id, evaluator_id, declaration, declared_at, scores, submitted_at, version`

func (r sheetRepo) Get(ctx context.Context, app, evaluator uuid.UUID) (*committee.Sheet, error) {
	s, err := r.scan(r.t.tx.QueryRow(ctx, `SELECT `+sheetColumns+` FROM evaluation_sheets WHERE tenant_id = $1 AND application_id = $2 AND evaluator_id = $3`,
		r.t.tenant, app, evaluator))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return s, err
}

func (r sheetRepo) Put(ctx context.Context, s *committee.Sheet) error {
	ss := make([]scoreJSON, 0, len(s.Scores))
	for _, x := range s.Scores {
		ss = append(ss, scoreJSON(x))
	}
	scores, err := json.Marshal(ss)
	if err != nil {
		return err
	}
	if s.Version == 1 {
		_, err = r.t.tx.Exec(ctx, `INSERT INTO evaluation_sheets (tenant_id, application_id, evaluator_id, declaration, declared_at, scores, submitted_at, version)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 1)`, r.t.tenant, s.ApplicationID, s.Evaluator, string(s.Declaration), s.DeclaredAt, scores, nullTime(s.SubmittedAt))
		return translate(err)
	}
	tag, err := r.t.tx.Exec(ctx, `UPDATE evaluation_sheets SET scores = $4, submitted_at = $5, version = $6
		WHERE tenant_id = $1 AND application_id = $2 AND evaluator_id = $3 AND version = $6 - 1`,
		r.t.tenant, s.ApplicationID, s.Evaluator, scores, nullTime(s.SubmittedAt), s.Version)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return domain.ErrStale
	}
	return nil
}

func (r sheetRepo) ForApplication(ctx context.Context, app uuid.UUID) ([]committee.Sheet, error) {
	rows, err := r.t.tx.Query(ctx, `SELECT `+sheetColumns+` FROM evaluation_sheets WHERE tenant_id = $1 AND application_id = $2 ORDER BY evaluator_id`,
		r.t.tenant, app)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (committee.Sheet, error) {
		s, err := r.scan(row)
		if err != nil {
			return committee.Sheet{}, err
		}
		return *s, nil
	})
}

type rankingRepo struct{ t *callTx }

func (r rankingRepo) Put(ctx context.Context, callID uuid.UUID, entries []committee.Entry) error {
	for _, e := range entries {
		per, err := json.Marshal(e.PerCriterion)
		if err != nil {
			return err
		}
		if _, err := r.t.tx.Exec(ctx, `INSERT INTO ranking_entries (tenant_id, call_id, application_id, position, score_bp, per_criterion, admitted)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, r.t.tenant, callID, e.Application, e.Position, e.ScoreBP, per, e.Admitted); err != nil {
			return translate(err)
		}
	}
	return nil
}

func (r rankingRepo) Get(ctx context.Context, callID uuid.UUID) ([]committee.Entry, error) {
	rows, err := r.t.tx.Query(ctx, `SELECT r.application_id, r.position, r.score_bp, r.per_criterion, r.admitted, a.lead_org_id
		FROM ranking_entries r JOIN applications a ON a.tenant_id = r.tenant_id AND a.id = r.application_id
		WHERE r.tenant_id = $1 AND r.call_id = $2 ORDER BY r.position`, r.t.tenant, callID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (committee.Entry, error) {
		var e committee.Entry
		var per []byte
		if err := row.Scan(&e.Application, &e.Position, &e.ScoreBP, &per, &e.Admitted, &e.Lead); err != nil {
			return e, err
		}
		return e, json.Unmarshal(per, &e.PerCriterion)
	})
}

var _ call.Repository = callRepo{}
