package postgres

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/coprod/coprod/domain/audit"
)

type auditLog struct {
	tx      pgx.Tx
	tenant  uuid.UUID
	rescope bool // platform transaction: scope to the tenant before each write
}

func (l *auditLog) Append(ctx context.Context, recs ...audit.Record) error {
	if len(recs) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	if l.rescope { // one round trip: scope, insert, unscope
		b.Queue("SELECT set_config('app.tenant_id', $1, true)", l.tenant.String())
	}
	for _, r := range recs {
		if r.Summary == nil {
			r.Summary = map[string]any{}
		}
		b.Queue(`INSERT INTO audit_events (tenant_id, id, at, actor, action, object_type, object_id, summary)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			l.tenant, r.ID, r.At, r.Actor, r.Action, r.ObjectType, r.ObjectID, r.Summary)
	}
	if l.rescope {
		b.Queue("SELECT set_config('app.tenant_id', '', true)")
	}
	return translate(l.tx.SendBatch(ctx, b).Close())
}

func (l *auditLog) List(ctx context.Context, f audit.Filter) ([]audit.Record, error) {
	rows, err := l.tx.Query(ctx, `SELECT tenant_id, id, at, actor, action, object_type, object_id, summary
		FROM audit_events
		WHERE tenant_id = $1
		  AND ($2::uuid IS NULL OR object_id = $2)
		  AND ($3::uuid IS NULL OR id < $3)
		ORDER BY id DESC LIMIT $4`,
		l.tenant, nullUUID(f.ObjectID), nullUUID(f.Before), f.Limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (audit.Record, error) {
		var r audit.Record
		err := row.Scan(&r.TenantID, &r.ID, &r.At, &r.Actor, &r.Action, &r.ObjectType, &r.ObjectID, &r.Summary)
		return r, err
	})
}
