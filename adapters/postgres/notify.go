package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/coprod/coprod/domain/call"
	"github.com/coprod/coprod/domain/notify"
)

// Notify adapts the store to notify.Store (platform-level).
func (s *Store) Notify() notify.Store { return notifyStore{s} }

type notifyStore struct{ s *Store }

func (n notifyStore) Atomic(ctx context.Context, fn func(notify.Tx) error) error {
	return n.s.run(ctx, uuid.Nil, func(tx pgx.Tx) error { return fn(notifyTx{tx}) })
}

type notifyTx struct{ tx pgx.Tx }

func (t notifyTx) Notice(ctx context.Context, id uuid.UUID) (*call.Notice, error) {
	var n call.Notice
	err := t.tx.QueryRow(ctx, `SELECT id, organisation_id, tenant_id, kind, call_id, title, summary, created_at FROM organisation_notices WHERE id = $1`, id).
		Scan(&n.ID, &n.OrganisationID, &n.TenantID, &n.Kind, &n.CallID, &n.Title, &n.Summary, &n.At)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notify.ErrNoticeNotFound
	}
	return &n, err
}

func (t notifyTx) Recipients(ctx context.Context, org uuid.UUID) ([]notify.Recipient, error) {
	rows, err := t.tx.Query(ctx, `SELECT u.id, u.email, u.name, u.locale FROM organisation_members m JOIN users u ON u.id = m.user_id
		WHERE m.organisation_id = $1 AND u.email <> '' ORDER BY u.email`, org)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (notify.Recipient, error) {
		var r notify.Recipient
		err := row.Scan(&r.UserID, &r.Email, &r.Name, &r.Lang)
		return r, err
	})
}

// TenantLocale reads the tenant's default language: tenant_settings is
// tenant-owned, so this platform-level transaction scopes itself to the
// notice's tenant for the read (transaction-local).
func (t notifyTx) TenantLocale(ctx context.Context, tenant uuid.UUID) (string, error) {
	if err := scope(ctx, t.tx, tenant); err != nil {
		return "", err
	}
	var locale string
	err := t.tx.QueryRow(ctx, `SELECT locale FROM tenant_settings WHERE tenant_id = $1`, tenant).Scan(&locale)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return locale, err
}

func (t notifyTx) TenantName(ctx context.Context, tenant uuid.UUID) (string, error) {
	var name string
	err := t.tx.QueryRow(ctx, `SELECT name FROM tenants WHERE id = $1`, tenant).Scan(&name)
	return name, err
}

func (t notifyTx) Sent(ctx context.Context, key string) (bool, error) {
	var ok bool
	err := t.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM mail_sent_log WHERE key = $1)`, key).Scan(&ok)
	return ok, err
}

func (t notifyTx) MarkSent(ctx context.Context, key, messageID, recipient string, at time.Time) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO mail_sent_log (key, message_id, recipient, sent_at) VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO NOTHING`,
		key, messageID, recipient, at)
	return err
}

func (t notifyTx) Notify(ctx context.Context, user uuid.UUID, n notify.InApp) error {
	if user == uuid.Nil {
		return nil
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO user_notifications (id, user_id, tenant_id, kind, title, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		uuid.Must(uuid.NewV7()), user, n.TenantID, n.Kind, n.Title, n.At)
	return err
}

func (t notifyTx) Inbox(ctx context.Context, user, before uuid.UUID, limit int) ([]notify.InApp, error) {
	rows, err := t.tx.Query(ctx, `SELECT id, tenant_id, kind, title, created_at, read_at FROM user_notifications
		WHERE user_id = $1 AND ($2::uuid IS NULL OR id < $2) ORDER BY id DESC LIMIT $3`, user, nullUUID(before), limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (notify.InApp, error) {
		var n notify.InApp
		var read *time.Time
		err := row.Scan(&n.ID, &n.TenantID, &n.Kind, &n.Title, &n.At, &read)
		if read != nil {
			n.ReadAt = *read
		}
		return n, err
	})
}

func (t notifyTx) MarkRead(ctx context.Context, user, id uuid.UUID, at time.Time) error {
	tag, err := t.tx.Exec(ctx, `UPDATE user_notifications SET read_at = COALESCE(read_at, $3) WHERE user_id = $1 AND id = $2`, user, id, at)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return notify.ErrNotificationNotFound
	}
	return nil
}
