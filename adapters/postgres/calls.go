package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/audit"
	"github.com/coprod/coprod/domain/call"
	"github.com/coprod/coprod/domain/evaluation"
)

// Calls adapts the store to call.Store.
func (s *Store) Calls() call.Store { return callStore{s} }

// PublicCalls serves the public projection (platform-level, no tenant).
func (s *Store) PublicCalls() call.PublicReader { return publicReader{s} }

type callStore struct{ s *Store }

func (c callStore) Atomic(ctx context.Context, tenant uuid.UUID, fn func(call.Tx) error) error {
	if tenant == uuid.Nil {
		return errors.New("postgres: call transaction without a tenant")
	}
	return c.s.run(ctx, tenant, func(tx pgx.Tx) error { return fn(&callTx{tx: tx, tenant: tenant, store: c.s}) })
}

type callTx struct {
	tx     pgx.Tx
	tenant uuid.UUID
	store  *Store
}

func (t *callTx) Publish(ctx context.Context, events ...domain.Event) error {
	if t.store == nil {
		return errors.New("postgres: publish outside a store transaction")
	}
	return t.store.publish(ctx, t.tx, events...)
}

func (t *callTx) Calls() call.Repository             { return callRepo{t} }
func (t *callTx) Questions() call.QuestionRepository { return questionRepo{t} }
func (t *callTx) Public() call.PublicProjection      { return projection{t} }
func (t *callTx) Notices() call.Notices              { return noticeRepo{t} }
func (t *callTx) Audit() audit.Log                   { return &auditLog{tx: t.tx, tenant: t.tenant} }

// Stored JSON shapes: explicit, so renaming a Go field never breaks old rows.
type criterionJSON struct {
	Code     string `json:"code"`
	Name     string `json:"name"`
	Weight   int    `json:"weight"`
	MaxScore int    `json:"maxScore"`
}

type eligibilityJSON struct {
	RUNTSRequired bool     `json:"runtsRequired"`
	LegalForms    []string `json:"legalForms"`
	Territory     []string `json:"territory"`
}

type actJSON struct {
	Kind   string `json:"kind"`
	Number string `json:"number"`
	Date   string `json:"date"`
	URL    string `json:"url"`
}

type amendmentJSON struct {
	RulesVersion int            `json:"rulesVersion"`
	Reason       string         `json:"reason"`
	At           time.Time      `json:"at"`
	By           string         `json:"by"`
	Act          actJSON        `json:"act"`
	Changes      map[string]any `json:"changes"`
}

func actToJSON(a call.Act) actJSON {
	return actJSON{Kind: a.Kind, Number: a.Number, Date: a.Date.Format(time.DateOnly), URL: a.URL}
}

func actFromJSON(a actJSON) call.Act {
	d, _ := time.Parse(time.DateOnly, a.Date)
	return call.Act{Kind: a.Kind, Number: a.Number, Date: d, URL: a.URL}
}

func encodeCall(c *call.Call) (crit, elig, acts, amends []byte, err error) {
	cs := make([]criterionJSON, 0, len(c.Criteria))
	for _, x := range c.Criteria {
		cs = append(cs, criterionJSON{x.Code, x.Name, x.Weight, x.MaxScore})
	}
	as := make([]actJSON, 0, len(c.Acts))
	for _, a := range c.Acts {
		as = append(as, actToJSON(a))
	}
	ms := make([]amendmentJSON, 0, len(c.Amendments))
	for _, m := range c.Amendments {
		ms = append(ms, amendmentJSON{m.RulesVersion, m.Reason, m.At, m.By, actToJSON(m.Act), m.Changes})
	}
	e := eligibilityJSON{c.Eligibility.RUNTSRequired, nonNilStrings(c.Eligibility.LegalForms), nonNilStrings(c.Eligibility.Territory)}
	if crit, err = json.Marshal(cs); err != nil {
		return
	}
	if elig, err = json.Marshal(e); err != nil {
		return
	}
	if acts, err = json.Marshal(as); err != nil {
		return
	}
	amends, err = json.Marshal(ms)
	return
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

const callColumns = `tenant_id, id, title, summary, policy_area, objectives, budget_public_cents, cofunding_expected_cents,
	max_per_project_cents, duration_months, eligibility, exclusion_grounds, runs_service, criteria, pass_threshold_bp,
	publication_at, questions_deadline, submission_deadline, min_publication_days, acts, status, cancel_reason,
	rules_version, amendments, created_by, created_at, updated_at, version`

func scanCall(row pgx.Row) (*call.Call, error) {
	var c call.Call
	var crit, elig, acts, amends []byte
	var pub, qd, sd *time.Time
	err := row.Scan(&c.TenantID, &c.ID, &c.Title, &c.Summary, &c.PolicyArea, &c.Objectives, &c.Budget.PublicCents,
		&c.Budget.CofundingExpectedCents, &c.Budget.MaxPerProjectCents, &c.DurationMonths, &elig, &c.ExclusionGrounds,
		&c.RunsService, &crit, &c.PassThresholdBP, &pub, &qd, &sd, &c.MinPublicationDays, &acts, &c.Status, &c.CancelReason,
		&c.RulesVersion, &amends, &c.CreatedBy, &c.CreatedAt, &c.UpdatedAt, &c.Version)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, call.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	for _, p := range []struct {
		dst *time.Time
		src *time.Time
	}{{&c.PublicationAt, pub}, {&c.QuestionsDeadline, qd}, {&c.SubmissionDeadline, sd}} {
		if p.src != nil {
			*p.dst = *p.src
		}
	}
	var cs []criterionJSON
	var e eligibilityJSON
	var as []actJSON
	var ms []amendmentJSON
	for _, d := range []struct {
		b []byte
		v any
	}{{crit, &cs}, {elig, &e}, {acts, &as}, {amends, &ms}} {
		if err := json.Unmarshal(d.b, d.v); err != nil {
			return nil, fmt.Errorf("decode call %s: %w", c.ID, err)
		}
	}
	for _, x := range cs {
		c.Criteria = append(c.Criteria, evaluation.Criterion{Code: x.Code, Name: x.Name, Weight: x.Weight, MaxScore: x.MaxScore})
	}
	c.Eligibility = call.Eligibility{RUNTSRequired: e.RUNTSRequired, LegalForms: e.LegalForms, Territory: e.Territory}
	for _, a := range as {
		c.Acts = append(c.Acts, actFromJSON(a))
	}
	for _, m := range ms {
		c.Amendments = append(c.Amendments, call.Amendment{RulesVersion: m.RulesVersion, Reason: m.Reason, At: m.At, By: m.By, Act: actFromJSON(m.Act), Changes: m.Changes})
	}
	return &c, nil
}

type callRepo struct{ t *callTx }

func (r callRepo) Add(ctx context.Context, c *call.Call) error {
	crit, elig, acts, amends, err := encodeCall(c)
	if err != nil {
		return err
	}
	_, err = r.t.tx.Exec(ctx, `INSERT INTO calls (`+callColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
		$16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28)`,
		r.t.tenant, c.ID, c.Title, c.Summary, c.PolicyArea, nonNilStrings(c.Objectives), c.Budget.PublicCents, c.Budget.CofundingExpectedCents,
		c.Budget.MaxPerProjectCents, c.DurationMonths, elig, nonNilStrings(c.ExclusionGrounds), c.RunsService, crit, c.PassThresholdBP,
		nullTime(c.PublicationAt), nullTime(c.QuestionsDeadline), nullTime(c.SubmissionDeadline), c.MinPublicationDays, acts, c.Status,
		c.CancelReason, c.RulesVersion, amends, c.CreatedBy, c.CreatedAt, c.UpdatedAt, c.Version)
	return translate(err)
}

func (r callRepo) Update(ctx context.Context, c *call.Call) error {
	crit, elig, acts, amends, err := encodeCall(c)
	if err != nil {
		return err
	}
	tag, err := r.t.tx.Exec(ctx, `UPDATE calls SET title = $3, summary = $4, policy_area = $5, objectives = $6, budget_public_cents = $7,
			cofunding_expected_cents = $8, max_per_project_cents = $9, duration_months = $10, eligibility = $11, exclusion_grounds = $12,
			runs_service = $13, criteria = $14, pass_threshold_bp = $15, publication_at = $16, questions_deadline = $17,
			submission_deadline = $18, min_publication_days = $19, acts = $20, status = $21, cancel_reason = $22, rules_version = $23,
			amendments = $24, updated_at = $25, version = $26
		WHERE tenant_id = $1 AND id = $2 AND version = $26 - 1`,
		r.t.tenant, c.ID, c.Title, c.Summary, c.PolicyArea, nonNilStrings(c.Objectives), c.Budget.PublicCents, c.Budget.CofundingExpectedCents,
		c.Budget.MaxPerProjectCents, c.DurationMonths, elig, nonNilStrings(c.ExclusionGrounds), c.RunsService, crit, c.PassThresholdBP,
		nullTime(c.PublicationAt), nullTime(c.QuestionsDeadline), nullTime(c.SubmissionDeadline), c.MinPublicationDays, acts, c.Status,
		c.CancelReason, c.RulesVersion, amends, c.UpdatedAt, c.Version)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return domain.ErrStale
	}
	return nil
}

func (r callRepo) Get(ctx context.Context, id uuid.UUID) (*call.Call, error) {
	return scanCall(r.t.tx.QueryRow(ctx, `SELECT `+callColumns+` FROM calls WHERE tenant_id = $1 AND id = $2`, r.t.tenant, id))
}

func (r callRepo) List(ctx context.Context, f call.Filter) ([]*call.Call, error) {
	rows, err := r.t.tx.Query(ctx, `SELECT `+callColumns+` FROM calls WHERE tenant_id = $1
		AND ($2 = '' OR status = $2) AND ($3::uuid IS NULL OR id > $3) ORDER BY id LIMIT $4`,
		r.t.tenant, string(f.Status), nullUUID(f.After), f.Limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*call.Call, error) { return scanCall(row) })
}

type questionRepo struct{ t *callTx }

const questionColumns = `tenant_id, id, call_id, organisation_id, asked_by, text, asked_at, answer, answered_by, answered_at, published, version`

func scanQuestion(row pgx.Row) (*call.Question, error) {
	var q call.Question
	var at *time.Time
	err := row.Scan(&q.TenantID, &q.ID, &q.CallID, &q.OrganisationID, &q.AskedBy, &q.Text, &q.AskedAt, &q.Answer, &q.AnsweredBy, &at, &q.Published, &q.Version)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, call.ErrQuestionNotFound
	}
	if at != nil {
		q.AnsweredAt = *at
	}
	return &q, err
}

func (r questionRepo) Add(ctx context.Context, q *call.Question) error {
	_, err := r.t.tx.Exec(ctx, `INSERT INTO call_questions (`+questionColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		r.t.tenant, q.ID, q.CallID, q.OrganisationID, q.AskedBy, q.Text, q.AskedAt, q.Answer, q.AnsweredBy, nullTime(q.AnsweredAt), q.Published, q.Version)
	return translate(err)
}

func (r questionRepo) Update(ctx context.Context, q *call.Question) error {
	tag, err := r.t.tx.Exec(ctx, `UPDATE call_questions SET answer = $3, answered_by = $4, answered_at = $5, published = $6, version = $7
		WHERE tenant_id = $1 AND id = $2 AND version = $7 - 1`, r.t.tenant, q.ID, q.Answer, q.AnsweredBy, nullTime(q.AnsweredAt), q.Published, q.Version)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return domain.ErrStale
	}
	return nil
}

func (r questionRepo) Get(ctx context.Context, id uuid.UUID) (*call.Question, error) {
	return scanQuestion(r.t.tx.QueryRow(ctx, `SELECT `+questionColumns+` FROM call_questions WHERE tenant_id = $1 AND id = $2`, r.t.tenant, id))
}

func (r questionRepo) ForCall(ctx context.Context, callID uuid.UUID) ([]*call.Question, error) {
	rows, err := r.t.tx.Query(ctx, `SELECT `+questionColumns+` FROM call_questions WHERE tenant_id = $1 AND call_id = $2 ORDER BY asked_at, id`, r.t.tenant, callID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*call.Question, error) { return scanQuestion(row) })
}

type projection struct{ t *callTx }

func (p projection) Put(ctx context.Context, c *call.Call, faq []*call.Question) error {
	var t call.PublicTenant
	var region *uuid.UUID
	if err := p.t.tx.QueryRow(ctx, `SELECT id, slug, name, region_id FROM tenants WHERE id = $1`, c.TenantID).Scan(&t.ID, &t.Slug, &t.Name, &region); err != nil {
		return err
	}
	if region != nil {
		t.RegionID = *region
	}
	view := c.PublicView(t, faq)
	// The ranking is public once published (lead organisations are public bodies' partners, not people).
	rows, err := p.t.tx.Query(ctx, `SELECT r.position, r.application_id, o.legal_name, o.fiscal_code, r.score_bp, r.admitted
		FROM ranking_entries r JOIN applications a ON a.tenant_id = r.tenant_id AND a.id = r.application_id
		JOIN organisations o ON o.id = a.lead_org_id
		WHERE r.tenant_id = $1 AND r.call_id = $2 ORDER BY r.position`, c.TenantID, c.ID)
	if err != nil {
		return err
	}
	var bp int64
	var e call.PublicRankEntry
	if _, err := pgx.ForEachRow(rows, []any{&e.Position, &e.ApplicationID, &e.LeadOrganisation, &e.LeadFiscalCode, &bp, &e.Admitted}, func() error {
		e.Score = float64(bp) / 100
		view.Ranking = append(view.Ranking, e)
		return nil
	}); err != nil {
		return err
	}
	doc, err := json.Marshal(view)
	if err != nil {
		return err
	}
	_, err = p.t.tx.Exec(ctx, `INSERT INTO public_calls (call_id, tenant_id, region_id, title, policy_area, status, publication_at, submission_deadline, doc, version, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (call_id) DO UPDATE SET title = EXCLUDED.title, policy_area = EXCLUDED.policy_area, status = EXCLUDED.status,
			submission_deadline = EXCLUDED.submission_deadline, doc = EXCLUDED.doc, version = public_calls.version + 1, updated_at = EXCLUDED.updated_at`,
		c.ID, c.TenantID, region, c.Title, c.PolicyArea, c.Status, c.PublicationAt, c.SubmissionDeadline, doc, 1, c.UpdatedAt)
	return err
}

func (p projection) Delete(ctx context.Context, tenant, id uuid.UUID) error {
	_, err := p.t.tx.Exec(ctx, `DELETE FROM public_calls WHERE tenant_id = $1 AND call_id = $2`, tenant, id)
	return err
}

type publicReader struct{ s *Store }

func (r publicReader) PublicCalls(ctx context.Context, f call.PublicFilter) ([]call.PublicCall, error) {
	var out []call.PublicCall
	err := r.s.run(ctx, uuid.Nil, func(tx pgx.Tx) error {
		var openAt *time.Time
		if !f.OpenAt.IsZero() {
			openAt = &f.OpenAt
		}
		rows, err := tx.Query(ctx, `SELECT doc FROM public_calls
			WHERE ($1::uuid IS NULL OR region_id = $1) AND ($2::uuid IS NULL OR tenant_id = $2) AND ($3 = '' OR policy_area = $3)
			  AND ($4::timestamptz IS NULL OR (status = 'published' AND publication_at <= $4 AND submission_deadline > $4))
			  AND ($5 = '' OR lower(title) LIKE '%' || $5 || '%' OR lower(doc->>'summary') LIKE '%' || $5 || '%')
			  AND ($6::uuid IS NULL OR (publication_at, call_id) < (SELECT publication_at, call_id FROM public_calls WHERE call_id = $6))
			ORDER BY publication_at DESC, call_id DESC LIMIT $7`,
			nullUUID(f.RegionID), nullUUID(f.TenantID), f.PolicyArea, openAt, escapeLike(strings.ToLower(strings.TrimSpace(f.Text))), nullUUID(f.Before), f.Limit)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (call.PublicCall, error) {
			var c call.PublicCall
			err := row.Scan(&c)
			return c, err
		})
		return err
	})
	return out, err
}

func (r publicReader) PublicCall(ctx context.Context, id uuid.UUID) (*call.PublicCall, error) {
	var c call.PublicCall
	err := r.s.run(ctx, uuid.Nil, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT doc FROM public_calls WHERE call_id = $1`, id).Scan(&c)
	})
	if errors.Is(err, pgx.ErrNoRows) || errors.Is(errors.Unwrap(err), pgx.ErrNoRows) {
		return nil, call.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return &c, nil
}

type noticeRepo struct{ t *callTx }

// Applicants writes one notice per organisation of the call's live
// applications, in one statement.
func (r noticeRepo) Applicants(ctx context.Context, c *call.Call, kind string, summary map[string]any, at time.Time) ([]uuid.UUID, error) {
	if summary == nil {
		summary = map[string]any{}
	}
	rows, err := r.t.tx.Query(ctx, `INSERT INTO organisation_notices (id, organisation_id, tenant_id, kind, call_id, title, summary, created_at)
		SELECT gen_random_uuid(), org, $1, $3, $2, $4, $5, $6
		FROM (SELECT DISTINCT unnest(org_ids) AS org FROM applications
		      WHERE tenant_id = $1 AND call_id = $2 AND status IN ('draft', 'submitted')) AS o
		RETURNING id`,
		r.t.tenant, c.ID, kind, c.Title, summary, at)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
}

// Notices reads an organisation's notices, newest first (platform-level).
func (s *Store) Notices(ctx context.Context, org uuid.UUID, before uuid.UUID, limit int) ([]call.Notice, error) {
	var out []call.Notice
	err := s.run(ctx, uuid.Nil, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, organisation_id, tenant_id, kind, call_id, title, summary, created_at FROM organisation_notices
			WHERE organisation_id = $1 AND ($2::uuid IS NULL OR (created_at, id) < (SELECT created_at, id FROM organisation_notices WHERE id = $2))
			ORDER BY created_at DESC, id DESC LIMIT $3`, org, nullUUID(before), limit)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (call.Notice, error) {
			var n call.Notice
			err := row.Scan(&n.ID, &n.OrganisationID, &n.TenantID, &n.Kind, &n.CallID, &n.Title, &n.Summary, &n.At)
			return n, err
		})
		return err
	})
	return out, err
}

// Overdue lists published calls past their deadline, for the sweeper.
func (r publicReader) Overdue(ctx context.Context, at time.Time, limit int) ([]call.Ref, error) {
	var out []call.Ref
	err := r.s.run(ctx, uuid.Nil, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT tenant_id, call_id FROM public_calls WHERE status = 'published' AND submission_deadline <= $1
			ORDER BY submission_deadline LIMIT $2`, at, limit)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (call.Ref, error) {
			var r call.Ref
			err := row.Scan(&r.TenantID, &r.CallID)
			return r, err
		})
		return err
	})
	return out, err
}

// Deadlines serves the sweeper.
func (s *Store) Deadlines() call.DeadlineReader { return publicReader{s} }
