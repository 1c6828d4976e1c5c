package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/agreement"
	"github.com/coprod/coprod/domain/audit"
	"github.com/coprod/coprod/domain/impact"
	"github.com/coprod/coprod/domain/monitoring"
	"github.com/coprod/coprod/domain/pilot"
)

// Monitoring adapts the store to monitoring.Store.
func (s *Store) Monitoring() monitoring.Store { return monitoringStore{s} }

type monitoringStore struct{ s *Store }

func (m monitoringStore) Atomic(ctx context.Context, tenant uuid.UUID, fn func(monitoring.Tx) error) error {
	if tenant == uuid.Nil {
		return errors.New("postgres: monitoring transaction without a tenant")
	}
	return m.s.run(ctx, tenant, func(tx pgx.Tx) error { return fn(&monitoringTx{&agreementTx{tx: tx, tenant: tenant}}) })
}

type monitoringTx struct{ *agreementTx }

func (t *monitoringTx) Agreements() agreement.Repository      { return agreementRepo{t.agreementTx} }
func (t *monitoringTx) Pilots() pilot.Repository              { return pilotRepo{t.agreementTx} }
func (t *monitoringTx) Library() monitoring.Library           { return libraryRepo{t.agreementTx} }
func (t *monitoringTx) Assignments() monitoring.Assignments   { return assignmentRepo{t.agreementTx} }
func (t *monitoringTx) Measurements() monitoring.Measurements { return measurementRepo{t.agreementTx} }
func (t *monitoringTx) Payments() monitoring.Payments         { return paymentRepo{t.agreementTx} }
func (t *monitoringTx) Audit() audit.Log                      { return &auditLog{tx: t.tx, tenant: t.tenant} }

// The library stores definitions as JSON of the domain type; its fields are
// the stored format, so renaming one needs a migration of this column.
type libraryRepo struct{ t *agreementTx }

func (r libraryRepo) Add(ctx context.Context, d impact.Definition) error {
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	_, err = r.t.tx.Exec(ctx, `INSERT INTO indicator_definitions (tenant_id, code, definition, created_at) VALUES ($1, $2, $3, now())`, r.t.tenant, d.Code, b)
	var conflict = translate(err)
	if domain.KindOf(conflict) == domain.KindConflict {
		return domain.Errorf(domain.KindConflict, "indicator_code_taken", "the library already has an indicator with this code").WithField("code")
	}
	return conflict
}

func (r libraryRepo) Get(ctx context.Context, code string) (*impact.Definition, error) {
	var b []byte
	err := r.t.tx.QueryRow(ctx, `SELECT definition FROM indicator_definitions WHERE tenant_id = $1 AND code = $2`, r.t.tenant, code).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, monitoring.ErrDefinitionNotFound
	}
	if err != nil {
		return nil, err
	}
	var d impact.Definition
	return &d, json.Unmarshal(b, &d)
}

func (r libraryRepo) List(ctx context.Context, f monitoring.LibraryFilter) ([]impact.Definition, error) {
	// Codes compare as bytes, whatever the database's collation, so that
	// the cursor and the order agree.
	rows, err := r.t.tx.Query(ctx, `SELECT definition FROM indicator_definitions WHERE tenant_id = $1 AND code COLLATE "C" > $2
		ORDER BY code COLLATE "C" LIMIT $3`, r.t.tenant, f.After, f.Limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (impact.Definition, error) {
		var b []byte
		var d impact.Definition
		if err := row.Scan(&b); err != nil {
			return d, err
		}
		return d, json.Unmarshal(b, &d)
	})
}

type assignmentRepo struct{ t *agreementTx }

func scanAssignment(row pgx.Row) (*monitoring.Assignment, error) {
	var a monitoring.Assignment
	var pilotID *uuid.UUID
	var b []byte
	err := row.Scan(&a.TenantID, &a.ID, &a.AgreementID, &pilotID, &b, &a.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, monitoring.ErrAssignmentNotFound
	}
	if err != nil {
		return nil, err
	}
	if pilotID != nil {
		a.PilotID = *pilotID
	}
	return &a, json.Unmarshal(b, &a.Assignment)
}

const assignmentColumns = `tenant_id, id, agreement_id, pilot_id, assignment, created_at`

func (r assignmentRepo) Add(ctx context.Context, a *monitoring.Assignment) error {
	b, err := json.Marshal(a.Assignment)
	if err != nil {
		return err
	}
	// No unique index (rows assigned twice before the rule may exist): a
	// transaction lock on (agreement, pilot, indicator) serialises
	// concurrent assignments, and the insert, a statement after the lock,
	// sees what the first one committed.
	if _, err := r.t.tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('indicator_assignment:' || $1::uuid || ':' || $2::uuid || ':' || $3::uuid || ':' || $4::text, 0))`,
		r.t.tenant, a.AgreementID, a.PilotID, a.Indicator); err != nil {
		return translate(err)
	}
	tag, err := r.t.tx.Exec(ctx, `INSERT INTO indicator_assignments (tenant_id, id, agreement_id, pilot_id, indicator_code, assignment, created_at)
		SELECT $1::uuid, $2::uuid, $3::uuid, $4::uuid, $5::text, $6::jsonb, $7::timestamptz
		WHERE NOT EXISTS (SELECT FROM indicator_assignments WHERE tenant_id = $1 AND agreement_id = $3
			AND pilot_id IS NOT DISTINCT FROM $4 AND indicator_code = $5)`,
		r.t.tenant, a.ID, a.AgreementID, nullUUID(a.PilotID), a.Indicator, b, a.CreatedAt)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return monitoring.ErrAlreadyAssigned.WithField("indicator")
	}
	return nil
}

func (r assignmentRepo) Get(ctx context.Context, id uuid.UUID) (*monitoring.Assignment, error) {
	return scanAssignment(r.t.tx.QueryRow(ctx, `SELECT `+assignmentColumns+` FROM indicator_assignments WHERE tenant_id = $1 AND id = $2`, r.t.tenant, id))
}

func (r assignmentRepo) ForAgreement(ctx context.Context, agreementID uuid.UUID) ([]*monitoring.Assignment, error) {
	rows, err := r.t.tx.Query(ctx, `SELECT `+assignmentColumns+` FROM indicator_assignments WHERE tenant_id = $1 AND agreement_id = $2 ORDER BY id`, r.t.tenant, agreementID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*monitoring.Assignment, error) { return scanAssignment(row) })
}

type measurementRepo struct{ t *agreementTx }

const measurementColumns = `tenant_id, id, assignment_id, period, revision, value_milli, numerator_milli, denominator_milli, people, evidence,
	organisation_id, submitted_by, submitted_at, status, decided_by, decided_at, reason, version`

func scanMeasurement(row pgx.Row) (*monitoring.Measurement, error) {
	var m monitoring.Measurement
	var num, den *int64
	var people []byte
	var decided *time.Time
	err := row.Scan(&m.TenantID, &m.ID, &m.AssignmentID, &m.Period, &m.Revision, &m.Value, &num, &den, &people, &m.Evidence,
		&m.OrganisationID, &m.SubmittedBy, &m.SubmittedAt, &m.Status, &m.DecidedBy, &decided, &m.Reason, &m.Version)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, monitoring.ErrMeasurementNotFound
	}
	if err != nil {
		return nil, err
	}
	if num != nil {
		v := impact.Value(*num)
		m.Numerator = &v
	}
	if den != nil {
		v := impact.Value(*den)
		m.Denominator = &v
	}
	if decided != nil {
		m.DecidedAt = *decided
	}
	return &m, json.Unmarshal(people, &m.People)
}

func milliPtr(v *impact.Value) *int64 {
	if v == nil {
		return nil
	}
	n := int64(*v)
	return &n
}

func (r measurementRepo) Add(ctx context.Context, m *monitoring.Measurement) error {
	people, err := json.Marshal(nonNilCounts(m.People))
	if err != nil {
		return err
	}
	_, err = r.t.tx.Exec(ctx, `INSERT INTO measurements (`+measurementColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
		r.t.tenant, m.ID, m.AssignmentID, m.Period, m.Revision, int64(m.Value), milliPtr(m.Numerator), milliPtr(m.Denominator), people, m.Evidence,
		m.OrganisationID, m.SubmittedBy, m.SubmittedAt, string(m.Status), m.DecidedBy, nullTime(m.DecidedAt), m.Reason, m.Version)
	if domain.KindOf(translate(err)) == domain.KindConflict {
		return monitoring.ErrPeriodTaken
	}
	return translate(err)
}

func nonNilCounts(c []impact.PeopleCount) []impact.PeopleCount {
	if c == nil {
		return []impact.PeopleCount{}
	}
	return c
}

func (r measurementRepo) Update(ctx context.Context, m *monitoring.Measurement) error {
	tag, err := r.t.tx.Exec(ctx, `UPDATE measurements SET status = $3, decided_by = $4, decided_at = $5, reason = $6, version = $7
		WHERE tenant_id = $1 AND id = $2 AND version = $7 - 1 AND status <> 'locked'`,
		r.t.tenant, m.ID, string(m.Status), m.DecidedBy, nullTime(m.DecidedAt), m.Reason, m.Version)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return domain.ErrStale
	}
	return nil
}

func (r measurementRepo) Get(ctx context.Context, id uuid.UUID) (*monitoring.Measurement, error) {
	return scanMeasurement(r.t.tx.QueryRow(ctx, `SELECT `+measurementColumns+` FROM measurements WHERE tenant_id = $1 AND id = $2`, r.t.tenant, id))
}

func (r measurementRepo) Latest(ctx context.Context, assignment uuid.UUID) ([]*monitoring.Measurement, error) {
	rows, err := r.t.tx.Query(ctx, `SELECT DISTINCT ON (period) `+measurementColumns+` FROM measurements
		WHERE tenant_id = $1 AND assignment_id = $2 ORDER BY period, revision DESC`, r.t.tenant, assignment)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*monitoring.Measurement, error) { return scanMeasurement(row) })
}

// LatestRevision reads the unique index (tenant_id, assignment_id, period,
// revision) only: a submission must not decode every period reported.
func (r measurementRepo) LatestRevision(ctx context.Context, assignment uuid.UUID, period string) (int, error) {
	var rev int
	err := r.t.tx.QueryRow(ctx, `SELECT COALESCE(max(revision), 0) FROM measurements WHERE tenant_id = $1 AND assignment_id = $2 AND period = $3`,
		r.t.tenant, assignment, period).Scan(&rev)
	return rev, err
}

type paymentRepo struct{ t *agreementTx }

func (r paymentRepo) AddRule(ctx context.Context, rule *monitoring.Rule) error {
	b, err := json.Marshal(rule.Rule)
	if err != nil {
		return err
	}
	_, err = r.t.tx.Exec(ctx, `INSERT INTO payment_rules (tenant_id, id, assignment_id, rule, created_at) VALUES ($1, $2, $3, $4, $5)`,
		r.t.tenant, rule.ID, rule.AssignmentID, b, rule.CreatedAt)
	return translate(err)
}

func (r paymentRepo) Rules(ctx context.Context, assignment uuid.UUID) ([]*monitoring.Rule, error) {
	rows, err := r.t.tx.Query(ctx, `SELECT assignment_id, rule, created_at FROM payment_rules WHERE tenant_id = $1 AND assignment_id = $2 ORDER BY id`,
		r.t.tenant, assignment)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*monitoring.Rule, error) {
		rule := &monitoring.Rule{TenantID: r.t.tenant}
		var b []byte
		if err := row.Scan(&rule.AssignmentID, &b, &rule.CreatedAt); err != nil {
			return nil, err
		}
		return rule, json.Unmarshal(b, &rule.Rule)
	})
}

const paymentColumns = `tenant_id, id, rule_id, agreement_id, measurement_id, period, cents, earned_cents, reason, final, status, note, created_at, updated_at, version`

func scanPayment(row pgx.Row) (*monitoring.Payment, error) {
	var p monitoring.Payment
	err := row.Scan(&p.TenantID, &p.ID, &p.RuleID, &p.AgreementID, &p.MeasurementID, &p.Period, &p.Cents, &p.EarnedCents, &p.Reason, &p.Final,
		&p.Status, &p.Note, &p.CreatedAt, &p.UpdatedAt, &p.Version)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, monitoring.ErrPaymentNotFound
	}
	return &p, err
}

func (r paymentRepo) Add(ctx context.Context, p *monitoring.Payment) error {
	_, err := r.t.tx.Exec(ctx, `INSERT INTO outcome_payments (`+paymentColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		r.t.tenant, p.ID, p.RuleID, p.AgreementID, p.MeasurementID, p.Period, p.Cents, p.EarnedCents, p.Reason, p.Final, string(p.Status), p.Note,
		p.CreatedAt, p.UpdatedAt, p.Version)
	return translate(err)
}

func (r paymentRepo) Update(ctx context.Context, p *monitoring.Payment) error {
	tag, err := r.t.tx.Exec(ctx, `UPDATE outcome_payments SET status = $3, note = $4, updated_at = $5, version = $6
		WHERE tenant_id = $1 AND id = $2 AND version = $6 - 1`, r.t.tenant, p.ID, string(p.Status), p.Note, p.UpdatedAt, p.Version)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return domain.ErrStale
	}
	return nil
}

func (r paymentRepo) Get(ctx context.Context, id uuid.UUID) (*monitoring.Payment, error) {
	return scanPayment(r.t.tx.QueryRow(ctx, `SELECT `+paymentColumns+` FROM outcome_payments WHERE tenant_id = $1 AND id = $2`, r.t.tenant, id))
}

func (r paymentRepo) list(ctx context.Context, where string, arg uuid.UUID) ([]*monitoring.Payment, error) {
	rows, err := r.t.tx.Query(ctx, `SELECT `+paymentColumns+` FROM outcome_payments WHERE tenant_id = $1 AND `+where+` = $2 ORDER BY created_at, id`, r.t.tenant, arg)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*monitoring.Payment, error) { return scanPayment(row) })
}

func (r paymentRepo) ForRule(ctx context.Context, rule uuid.UUID) ([]*monitoring.Payment, error) {
	return r.list(ctx, "rule_id", rule)
}

func (r paymentRepo) ForAgreement(ctx context.Context, agreementID uuid.UUID) ([]*monitoring.Payment, error) {
	return r.list(ctx, "agreement_id", agreementID)
}
