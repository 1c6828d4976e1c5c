package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/audit"
	"github.com/coprod/coprod/domain/impact"
	"github.com/coprod/coprod/domain/notify"
	"github.com/coprod/coprod/domain/reminder"
)

// Reminders adapts the store to reminder.Store and reminder.DeliveryStore.
func (s *Store) Reminders() reminderStore { return reminderStore{s} }

type reminderStore struct{ s *Store }

func (r reminderStore) Atomic(ctx context.Context, tenant uuid.UUID, fn func(reminder.Tx) error) error {
	return r.s.run(ctx, tenant, func(tx pgx.Tx) error { return fn(&reminderTx{tx: tx, tenant: tenant, store: r.s}) })
}

// Delivery is the same store seen by reminder delivery.
func (r reminderStore) Delivery() reminder.DeliveryStore { return deliveryStore(r) }

type deliveryStore struct{ s *Store }

func (d deliveryStore) Atomic(ctx context.Context, tenant uuid.UUID, fn func(reminder.DeliveryTx) error) error {
	return d.s.run(ctx, tenant, func(tx pgx.Tx) error { return fn(&reminderTx{tx: tx, tenant: tenant, store: d.s}) })
}

type reminderTx struct {
	tx     pgx.Tx
	tenant uuid.UUID
	store  *Store
}

func (t *reminderTx) Audit() audit.Log { return &auditLog{tx: t.tx, tenant: t.tenant} }
func (t *reminderTx) Publish(ctx context.Context, events ...domain.Event) error {
	return t.store.publish(ctx, t.tx, events...)
}

func (t *reminderTx) Settings(ctx context.Context) (reminder.Settings, error) {
	s := reminder.DefaultSettings()
	err := t.tx.QueryRow(ctx, `SELECT reminder_days, escalation_days, locale FROM tenant_settings WHERE tenant_id = $1`, t.tenant).
		Scan(&s.DaysBefore, &s.EscalationDays, &s.Locale)
	if errors.Is(err, pgx.ErrNoRows) {
		return reminder.DefaultSettings(), nil
	}
	return s, err
}

func (t *reminderTx) PutSettings(ctx context.Context, s reminder.Settings) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO tenant_settings (tenant_id, reminder_days, escalation_days, locale, updated_at) VALUES ($1, $2, $3, $4, now())
		ON CONFLICT (tenant_id) DO UPDATE SET reminder_days = EXCLUDED.reminder_days, escalation_days = EXCLUDED.escalation_days,
			locale = EXCLUDED.locale, updated_at = now()`, t.tenant, s.DaysBefore, s.EscalationDays, s.Locale)
	return translate(err)
}

// DueItems: each target period of each assignment of an active agreement
// (submitted when any revision beyond a draft exists), and each
// deliverable of an active agreement (submitted once it left new/rejected).
func (t *reminderTx) DueItems(ctx context.Context) ([]reminder.Due, error) {
	var out []reminder.Due
	rows, err := t.tx.Query(ctx, `SELECT ia.id, ia.agreement_id, ia.assignment, d.definition->>'Name',
			COALESCE((SELECT array_agg(DISTINCT m.period) FROM measurements m WHERE m.tenant_id = ia.tenant_id AND m.assignment_id = ia.id
				AND m.status <> 'draft'), '{}')
		FROM indicator_assignments ia
		JOIN agreements a ON a.tenant_id = ia.tenant_id AND a.id = ia.agreement_id AND a.status = 'active'
		JOIN indicator_definitions d ON d.tenant_id = ia.tenant_id AND d.code = ia.indicator_code
		WHERE ia.tenant_id = $1`, t.tenant)
	if err != nil {
		return nil, err
	}
	type row struct {
		id, agreement uuid.UUID
		as            impact.Assignment
		name          string
		reported      []string
	}
	var rs []row
	for rows.Next() {
		var r row
		var raw []byte
		if err := rows.Scan(&r.id, &r.agreement, &raw, &r.name, &r.reported); err != nil {
			rows.Close()
			return nil, err
		}
		if err := jsonUnmarshal(raw, &r.as); err != nil {
			rows.Close()
			return nil, err
		}
		rs = append(rs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, r := range rs {
		for _, tg := range r.as.Targets {
			at, err := reminder.DueAt(tg.Period)
			if err != nil {
				continue
			}
			submitted := false
			for _, p := range r.reported {
				submitted = submitted || p == tg.Period
			}
			out = append(out, reminder.Due{SubjectType: "measurement", SubjectID: r.id, Period: tg.Period, AgreementID: r.agreement,
				Title: r.name, At: at, Submitted: submitted})
		}
	}
	drows, err := t.tx.Query(ctx, `SELECT d.id, d.agreement_id, d.title, d.due, d.status NOT IN ('new', 'rejected')
		FROM deliverables d JOIN agreements a ON a.tenant_id = d.tenant_id AND a.id = d.agreement_id AND a.status = 'active'
		WHERE d.tenant_id = $1 AND d.status <> 'approved'`, t.tenant)
	if err != nil {
		return nil, err
	}
	defer drows.Close()
	for drows.Next() {
		d := reminder.Due{SubjectType: "deliverable"}
		if err := drows.Scan(&d.SubjectID, &d.AgreementID, &d.Title, &d.At, &d.Submitted); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, drows.Err()
}

func (t *reminderTx) Add(ctx context.Context, r *reminder.Reminder) (bool, error) {
	tag, err := t.tx.Exec(ctx, `INSERT INTO reminders (tenant_id, id, subject_type, subject_id, period, kind, agreement_id, title, due_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT ON CONSTRAINT reminders_once_key DO NOTHING`,
		t.tenant, r.ID, r.SubjectType, r.SubjectID, r.Period, r.Kind, r.AgreementID, r.Title, r.DueAt, r.CreatedAt)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

func (t *reminderTx) Get(ctx context.Context, id uuid.UUID) (*reminder.Reminder, error) {
	r := reminder.Reminder{TenantID: t.tenant, ID: id}
	err := t.tx.QueryRow(ctx, `SELECT subject_type, subject_id, period, kind, agreement_id, title, due_at, created_at FROM reminders
		WHERE tenant_id = $1 AND id = $2`, t.tenant, id).Scan(&r.SubjectType, &r.SubjectID, &r.Period, &r.Kind, &r.AgreementID, &r.Title, &r.DueAt, &r.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, domain.Errorf(domain.KindNotFound, "reminder_not_found", "no such reminder")
	}
	return &r, err
}

func (t *reminderTx) StillDue(ctx context.Context, r *reminder.Reminder) (bool, error) {
	var submitted bool
	var err error
	if r.SubjectType == "measurement" {
		err = t.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM measurements WHERE tenant_id = $1 AND assignment_id = $2 AND period = $3 AND status <> 'draft')`,
			t.tenant, r.SubjectID, r.Period).Scan(&submitted)
	} else {
		err = t.tx.QueryRow(ctx, `SELECT status NOT IN ('new', 'rejected') FROM deliverables WHERE tenant_id = $1 AND id = $2`, t.tenant, r.SubjectID).Scan(&submitted)
	}
	return !submitted, err
}

func (t *reminderTx) Recipients(ctx context.Context, r *reminder.Reminder) ([]reminder.Recipient, error) {
	var rows pgx.Rows
	var err error
	if r.Kind == "escalation" {
		rows, err = t.tx.Query(ctx, `SELECT DISTINCT u.id, u.email, u.name, u.locale FROM tenant_memberships m JOIN users u ON u.id = m.user_id
			WHERE m.tenant_id = $1 AND m.role = 'officer' AND u.email <> '' ORDER BY u.email`, t.tenant)
	} else {
		rows, err = t.tx.Query(ctx, `SELECT DISTINCT u.id, u.email, u.name, u.locale FROM agreements a
			JOIN organisation_members om ON om.organisation_id = ANY (a.org_ids) JOIN users u ON u.id = om.user_id
			WHERE a.tenant_id = $1 AND a.id = $2 AND u.email <> '' ORDER BY u.email`, t.tenant, r.AgreementID)
	}
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (reminder.Recipient, error) {
		var rc reminder.Recipient
		err := row.Scan(&rc.UserID, &rc.Email, &rc.Name, &rc.Lang)
		return rc, err
	})
}

func (t *reminderTx) Sent(ctx context.Context, key string) (bool, error) {
	return notifyTx{t.tx}.Sent(ctx, key)
}
func (t *reminderTx) MarkSent(ctx context.Context, key, messageID, recipient string, at time.Time) error {
	return notifyTx{t.tx}.MarkSent(ctx, key, messageID, recipient, at)
}
func (t *reminderTx) Notify(ctx context.Context, user uuid.UUID, n notify.InApp) error {
	return notifyTx{t.tx}.Notify(ctx, user, n)
}
