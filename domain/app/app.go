// Package app holds coprod's tenant-scoped use cases and the unit-of-work
// ports they run on. Each use case reads the principal, decides, and runs in
// one Store.Atomic transaction scoped to the principal's tenant, writing its
// audit record in that same transaction.
package app

import (
	"context"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/audit"
)

// Store opens transactions scoped to one tenant: the adapter makes every
// query of fn see only that tenant's rows (PostgreSQL row-level security).
type Store interface {
	Atomic(ctx context.Context, tenant uuid.UUID, fn func(Tx) error) error
}

// Tx is one tenant-scoped transaction.
type Tx interface {
	Audit() audit.Log
}

// Service holds the tenant-scoped use cases.
type Service struct {
	store Store
	now   domain.Clock
}

func New(store Store, now domain.Clock) *Service {
	if now == nil {
		now = domain.SystemClock
	}
	return &Service{store: store, now: now}
}

// Max page size of the audit trail.
const MaxAuditPage = 500

// AuditPage is one page of an audit trail; Next is the cursor of the
// following page, zero on the last one.
type AuditPage struct {
	Items []audit.Record
	Next  uuid.UUID
}

// AuditTrail returns a page of a tenant's audit trail, newest first: to the
// platform operator, and to the tenant's admins, officers and auditors.
func (s *Service) AuditTrail(ctx context.Context, tenant uuid.UUID, f audit.Filter) (AuditPage, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return AuditPage{}, err
	}
	if !p.IsOperator() && (p.TenantID != tenant || !p.Has(domain.RoleTenantAdmin, domain.RoleOfficer, domain.RoleAuditor)) {
		return AuditPage{}, domain.ErrForbidden
	}
	f.Limit, err = domain.PageSize(f.Limit, 50, MaxAuditPage)
	if err != nil {
		return AuditPage{}, err
	}
	want := f.Limit
	f.Limit++ // one more tells whether a next page exists
	var page AuditPage
	err = s.store.Atomic(ctx, tenant, func(tx Tx) (err error) {
		page.Items, err = tx.Audit().List(ctx, f)
		return err
	})
	page.Items, page.Next = domain.CutPage(page.Items, want, func(r audit.Record) uuid.UUID { return r.ID })
	return page, err
}
