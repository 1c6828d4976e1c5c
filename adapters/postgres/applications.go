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
	"github.com/coprod/coprod/domain/application"
	"github.com/coprod/coprod/domain/audit"
	"github.com/coprod/coprod/domain/call"
	"github.com/coprod/coprod/domain/evaluation"
)

// Applications adapts the store to application.Store.
func (s *Store) Applications() application.Store { return appStore{s} }

type appStore struct{ s *Store }

func (a appStore) Atomic(ctx context.Context, tenant uuid.UUID, fn func(application.Tx) error) error {
	if tenant == uuid.Nil {
		return errors.New("postgres: application transaction without a tenant")
	}
	return a.s.run(ctx, tenant, func(tx pgx.Tx) error { return fn(&appTx{tx: tx, tenant: tenant}) })
}

type appTx struct {
	tx     pgx.Tx
	tenant uuid.UUID
}

func (t *appTx) Applications() application.Repository { return appRepo{t} }
func (t *appTx) Calls() call.Repository               { return callRepo{&callTx{tx: t.tx, tenant: t.tenant}} }
func (t *appTx) Organisations() application.OrganisationReader {
	return orgRepo{t.tx}
}
func (t *appTx) Declarations() application.DeclarationReader { return declarationReader{t} }
func (t *appTx) Idempotency() application.Idempotency        { return idemRepo{t} }
func (t *appTx) Audit() audit.Log                            { return &auditLog{tx: t.tx, tenant: t.tenant} }

// Stored JSON shapes of an application.
type sectionJSON struct {
	Key   string `json:"key"`
	Title string `json:"title"`
	Body  string `json:"body"`
}

type budgetLineJSON struct {
	Description    string    `json:"description"`
	Category       string    `json:"category"`
	AmountCents    int64     `json:"amountCents"`
	Funding        string    `json:"funding"`
	Kind           string    `json:"kind,omitempty"`
	OrganisationID uuid.UUID `json:"organisationId,omitempty"`
}

type declarationsJSON struct {
	NoExclusionGrounds  bool `json:"noExclusionGrounds"`
	TruthfulInformation bool `json:"truthfulInformation"`
	PrivacyNotice       bool `json:"privacyNotice"`
}

type admissibilityJSON struct {
	Status    string    `json:"status"`
	Reasons   []string  `json:"reasons,omitempty"`
	ReplyBy   time.Time `json:"replyBy,omitzero"`
	Reply     string    `json:"reply,omitempty"`
	RepliedAt time.Time `json:"repliedAt,omitzero"`
	DecidedBy string    `json:"decidedBy,omitempty"`
	DecidedAt time.Time `json:"decidedAt,omitzero"`
}

func encodeApp(a *application.Application) (sections, budget, decl, adm []byte, err error) {
	ss := make([]sectionJSON, 0, len(a.Sections))
	for _, s := range a.Sections {
		ss = append(ss, sectionJSON(s))
	}
	bs := make([]budgetLineJSON, 0, len(a.Budget))
	for _, b := range a.Budget {
		bs = append(bs, budgetLineJSON(b))
	}
	if sections, err = json.Marshal(ss); err != nil {
		return
	}
	if budget, err = json.Marshal(bs); err != nil {
		return
	}
	if decl, err = json.Marshal(declarationsJSON(a.Declarations)); err != nil {
		return
	}
	adm, err = json.Marshal(admissibilityJSON(a.Admissibility))
	return
}

func uuids(s []uuid.UUID) []uuid.UUID {
	if s == nil {
		return []uuid.UUID{}
	}
	return s
}

const appColumns = `tenant_id, id, call_id, lead_org_id, partner_ids, title, sections, budget, declarations, status, submitted_at,
	COALESCE(receipt_sha256, ''), COALESCE(rules_version, 0), admissibility, created_by, created_at, updated_at, version`

func scanApp(row pgx.Row) (*application.Application, error) {
	var a application.Application
	var sections, budget, decl, adm []byte
	var submitted *time.Time
	var receipt string
	var rules int
	err := row.Scan(&a.TenantID, &a.ID, &a.CallID, &a.Lead, &a.Partners, &a.Title, &sections, &budget, &decl, &a.Status, &submitted,
		&receipt, &rules, &adm, &a.CreatedBy, &a.CreatedAt, &a.UpdatedAt, &a.Version)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, application.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	var ss []sectionJSON
	var bs []budgetLineJSON
	var d declarationsJSON
	var ad admissibilityJSON
	for _, x := range []struct {
		b []byte
		v any
	}{{sections, &ss}, {budget, &bs}, {decl, &d}, {adm, &ad}} {
		if err := json.Unmarshal(x.b, x.v); err != nil {
			return nil, fmt.Errorf("decode application %s: %w", a.ID, err)
		}
	}
	for _, s := range ss {
		a.Sections = append(a.Sections, application.Section(s))
	}
	for _, b := range bs {
		a.Budget = append(a.Budget, application.BudgetLine(b))
	}
	a.Declarations, a.Admissibility = application.Declarations(d), application.Admissibility(ad)
	if len(a.Partners) == 0 {
		a.Partners = nil
	}
	if submitted != nil {
		a.Receipt = &application.Receipt{SubmittedAt: *submitted, SHA256: receipt, RulesVersion: rules}
	}
	return &a, nil
}

type appRepo struct{ t *appTx }

func (r appRepo) Add(ctx context.Context, a *application.Application) error {
	sections, budget, decl, adm, err := encodeApp(a)
	if err != nil {
		return err
	}
	_, err = r.t.tx.Exec(ctx, `INSERT INTO applications (tenant_id, id, call_id, lead_org_id, partner_ids, org_ids, title, sections, budget,
			declarations, status, admissibility, created_by, created_at, updated_at, version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		r.t.tenant, a.ID, a.CallID, a.Lead, uuids(a.Partners), a.Organisations(), a.Title, sections, budget, decl, a.Status, adm,
		a.CreatedBy, a.CreatedAt, a.UpdatedAt, a.Version)
	return translate(err)
}

func (r appRepo) Update(ctx context.Context, a *application.Application) error {
	sections, budget, decl, adm, err := encodeApp(a)
	if err != nil {
		return err
	}
	var submitted *time.Time
	var receipt *string
	var rules *int
	if a.Receipt != nil {
		submitted, receipt, rules = &a.Receipt.SubmittedAt, &a.Receipt.SHA256, &a.Receipt.RulesVersion
	}
	tag, err := r.t.tx.Exec(ctx, `UPDATE applications SET partner_ids = $3, org_ids = $4, title = $5, sections = $6, budget = $7,
			declarations = $8, status = $9, submitted_at = $10, receipt_sha256 = $11, rules_version = $12, admissibility = $13,
			updated_at = $14, version = $15
		WHERE tenant_id = $1 AND id = $2 AND version = $15 - 1`,
		r.t.tenant, a.ID, uuids(a.Partners), a.Organisations(), a.Title, sections, budget, decl, a.Status, submitted, receipt, rules, adm,
		a.UpdatedAt, a.Version)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return domain.ErrStale
	}
	return nil
}

func (r appRepo) Get(ctx context.Context, id uuid.UUID) (*application.Application, error) {
	a, err := scanApp(r.t.tx.QueryRow(ctx, `SELECT `+appColumns+` FROM applications WHERE tenant_id = $1 AND id = $2`, r.t.tenant, id))
	if err != nil {
		return nil, err
	}
	rows, err := r.t.tx.Query(ctx, `SELECT id, name, content_type, size_bytes, sha256, blob_key, uploaded_by, uploaded_at
		FROM application_attachments WHERE tenant_id = $1 AND application_id = $2 ORDER BY uploaded_at, id`, r.t.tenant, id)
	if err != nil {
		return nil, err
	}
	a.Attachments, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (application.Attachment, error) {
		var f application.Attachment
		err := row.Scan(&f.ID, &f.Name, &f.ContentType, &f.Size, &f.SHA256, &f.Key, &f.UploadedBy, &f.UploadedAt)
		return f, err
	})
	return a, err
}

func (r appRepo) List(ctx context.Context, f application.Filter) ([]*application.Application, error) {
	var orgs []uuid.UUID
	if f.Orgs != nil {
		orgs = f.Orgs
	}
	rows, err := r.t.tx.Query(ctx, `SELECT `+appColumns+` FROM applications WHERE tenant_id = $1
		AND ($2::uuid IS NULL OR call_id = $2) AND ($3::uuid[] IS NULL OR org_ids && $3) AND ($4::uuid IS NULL OR id > $4)
		ORDER BY id LIMIT $5`, r.t.tenant, nullUUID(f.Call), orgs, nullUUID(f.After), f.Limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*application.Application, error) { return scanApp(row) })
}

func (r appRepo) AddAttachment(ctx context.Context, app uuid.UUID, f application.Attachment) error {
	_, err := r.t.tx.Exec(ctx, `INSERT INTO application_attachments (tenant_id, id, application_id, name, content_type, size_bytes, sha256, blob_key, uploaded_by, uploaded_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, r.t.tenant, f.ID, app, f.Name, f.ContentType, f.Size, f.SHA256, f.Key, f.UploadedBy, f.UploadedAt)
	return translate(err)
}

func (r appRepo) ReferencedKeys(ctx context.Context, keys []string) ([]string, error) {
	rows, err := r.t.tx.Query(ctx, `SELECT DISTINCT blob_key FROM application_attachments WHERE tenant_id = $1 AND blob_key = ANY($2)`, r.t.tenant, keys)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

type declarationReader struct{ t *appTx }

func (d declarationReader) Declaration(ctx context.Context, app, evaluator uuid.UUID) (evaluation.Declaration, bool, error) {
	var decl string
	err := d.t.tx.QueryRow(ctx, `SELECT declaration FROM evaluation_sheets WHERE tenant_id = $1 AND application_id = $2 AND evaluator_id = $3`,
		d.t.tenant, app, evaluator).Scan(&decl)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	return evaluation.Declaration(decl), err == nil, err
}

type idemRepo struct{ t *appTx }

func (r idemRepo) Get(ctx context.Context, key, subject string) (string, []byte, bool, error) {
	var req string
	var res []byte
	err := r.t.tx.QueryRow(ctx, `SELECT request, result FROM idempotency_keys WHERE tenant_id = $1 AND key = $2 AND subject = $3`,
		r.t.tenant, key, subject).Scan(&req, &res)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil, false, nil
	}
	return req, res, err == nil, err
}

func (r idemRepo) Put(ctx context.Context, key, subject, request string, result []byte, at time.Time) error {
	_, err := r.t.tx.Exec(ctx, `INSERT INTO idempotency_keys (tenant_id, key, subject, request, result, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		r.t.tenant, key, subject, request, result, at)
	return translate(err)
}
