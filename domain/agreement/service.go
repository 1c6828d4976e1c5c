package agreement

import (
	"context"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/audit"
)

// Store runs agreement use cases in one tenant-scoped transaction each.
type Store interface {
	Atomic(ctx context.Context, tenant uuid.UUID, fn func(Tx) error) error
}

// Tx is one transaction.
type Tx interface {
	Agreements() Repository
	Audit() audit.Log
}

// Repository keeps the agreements and deliverables of the transaction's tenant.
type Repository interface {
	Add(ctx context.Context, a *Agreement) error
	Update(ctx context.Context, a *Agreement) error // version check
	Get(ctx context.Context, id uuid.UUID) (*Agreement, error)
	// List returns up to f.Limit agreements after f.After, in id order,
	// of any of orgs (nil: all).
	List(ctx context.Context, orgs []uuid.UUID, f Filter) ([]*Agreement, error)
	AddDeliverable(ctx context.Context, d *Deliverable) error
	UpdateDeliverable(ctx context.Context, d *Deliverable) error
	Deliverable(ctx context.Context, id uuid.UUID) (*Deliverable, error)
	Deliverables(ctx context.Context, agreement uuid.UUID) ([]*Deliverable, error)
}

// Filter selects a page of a tenant's agreements.
type Filter struct {
	After uuid.UUID
	Limit int
}

// ErrDeliverableNotFound when absent.
var ErrDeliverableNotFound = domain.Errorf(domain.KindNotFound, "deliverable_not_found", "no such deliverable")

// Service holds the agreement use cases.
type Service struct {
	store Store
	now   domain.Clock
}

func NewService(store Store, now domain.Clock) *Service {
	if now == nil {
		now = domain.SystemClock
	}
	return &Service{store: store, now: now}
}

// Staff may manage (officer, tenant admin) or read (plus auditor, evaluator).
func manager(p domain.Principal, tenant uuid.UUID) bool {
	return p.TenantID == tenant && p.Has(domain.RoleOfficer, domain.RoleTenantAdmin)
}

func reader(p domain.Principal, tenant uuid.UUID, a *Agreement) bool {
	if p.TenantID == tenant && p.Has(domain.RoleOfficer, domain.RoleTenantAdmin, domain.RoleAuditor) {
		return true
	}
	return slices.ContainsFunc(a.Organisations(), func(o uuid.UUID) bool { return len(p.Orgs[o]) > 0 })
}

// CanRead reports whether p may read the agreement (for other contexts:
// pilots and measurements inherit it).
func CanRead(p domain.Principal, tenant uuid.UUID, a *Agreement) bool { return reader(p, tenant, a) }

// Create drafts an agreement (officer).
func (s *Service) Create(ctx context.Context, tenant uuid.UUID, in Agreement) (*Agreement, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	if !manager(p, tenant) {
		return nil, domain.ErrForbidden
	}
	a, err := New(tenant, in, s.now())
	if err != nil {
		return nil, err
	}
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		if err := tx.Agreements().Add(ctx, a); err != nil {
			return err
		}
		return tx.Audit().Append(ctx, audit.New(tenant, p, a.CreatedAt, "agreement.created", "agreement", a.ID, map[string]any{"title": a.Title}))
	})
	return a, err
}

// Get returns an agreement to staff and to its parties' members.
func (s *Service) Get(ctx context.Context, tenant, id uuid.UUID) (*Agreement, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	var out *Agreement
	err = s.store.Atomic(ctx, tenant, func(tx Tx) (err error) {
		out, err = tx.Agreements().Get(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !reader(p, tenant, out) {
		return nil, ErrNotFound
	}
	return out, nil
}

// List returns a page of the agreements the caller may read: all of them
// to staff, those of their organisations to parties' members.
func (s *Service) List(ctx context.Context, tenant uuid.UUID, f Filter) ([]*Agreement, uuid.UUID, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, uuid.Nil, err
	}
	var orgs []uuid.UUID
	if !(p.TenantID == tenant && p.Has(domain.RoleOfficer, domain.RoleTenantAdmin, domain.RoleAuditor)) {
		orgs = []uuid.UUID{}
		for o := range p.Orgs {
			orgs = append(orgs, o)
		}
		if len(orgs) == 0 {
			return nil, uuid.Nil, domain.ErrForbidden
		}
	}
	f.Limit, err = domain.PageSize(f.Limit, 50, 500)
	if err != nil {
		return nil, uuid.Nil, err
	}
	want := f.Limit
	f.Limit++
	var out []*Agreement
	err = s.store.Atomic(ctx, tenant, func(tx Tx) (err error) {
		out, err = tx.Agreements().List(ctx, orgs, f)
		return err
	})
	out, next := domain.CutPage(out, want, func(x *Agreement) uuid.UUID { return x.ID })
	return out, next, err
}

// change applies fn to an agreement under If-Match, with its audit record.
func (s *Service) change(ctx context.Context, tenant, id uuid.UUID, ifVersion int, action string,
	allow func(p domain.Principal, a *Agreement) error, fn func(p domain.Principal, a *Agreement, now time.Time) (map[string]any, error)) (*Agreement, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	var out *Agreement
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		a, err := tx.Agreements().Get(ctx, id)
		if err != nil {
			return err
		}
		if !reader(p, tenant, a) {
			return ErrNotFound
		}
		if err := allow(p, a); err != nil {
			return err
		}
		if ifVersion != 0 && ifVersion != a.Version {
			return domain.ErrStale
		}
		now := s.now()
		prev := a.Status
		summary, err := fn(p, a, now)
		if err != nil {
			return err
		}
		if summary == nil {
			summary = map[string]any{}
		}
		if prev != a.Status {
			summary["status"] = map[string]any{"from": prev, "to": a.Status}
		}
		a.Version++
		if err := tx.Agreements().Update(ctx, a); err != nil {
			return err
		}
		out = a
		return tx.Audit().Append(ctx, audit.New(tenant, p, now, "agreement."+action, "agreement", a.ID, summary))
	})
	return out, err
}

func onlyManager(tenant uuid.UUID) func(domain.Principal, *Agreement) error {
	return func(p domain.Principal, _ *Agreement) error {
		if !manager(p, tenant) {
			return domain.ErrForbidden
		}
		return nil
	}
}

// Update edits a draft (officer).
func (s *Service) Update(ctx context.Context, tenant, id uuid.UUID, in Agreement, ifVersion int) (*Agreement, error) {
	return s.change(ctx, tenant, id, ifVersion, "edited", onlyManager(tenant), func(_ domain.Principal, a *Agreement, now time.Time) (map[string]any, error) {
		return nil, a.Edit(in, now)
	})
}

// Sign records a signature: the officer's for the municipality, or an org
// admin's for their organisation (org given). The agreement is signed when
// everyone has signed.
func (s *Service) Sign(ctx context.Context, tenant, id, org uuid.UUID, ifVersion int) (*Agreement, error) {
	return s.change(ctx, tenant, id, ifVersion, "signature_added", func(p domain.Principal, a *Agreement) error {
		if org == uuid.Nil {
			if !manager(p, tenant) {
				return domain.ErrForbidden
			}
			return nil
		}
		if !slices.Contains(p.Orgs[org], domain.RoleOrgAdmin) {
			return domain.ErrForbidden.WithMessage("an organisation signs through its org admin")
		}
		return nil
	}, func(p domain.Principal, a *Agreement, now time.Time) (map[string]any, error) {
		if org == uuid.Nil {
			return map[string]any{"party": "municipality"}, a.SignOfficer(p.Subject, now)
		}
		return map[string]any{"party": org}, a.SignParty(org, p.Subject, now)
	})
}

// Transition activates, suspends, resumes, closes or terminates (officer).
func (s *Service) Transition(ctx context.Context, tenant, id uuid.UUID, action, reason string, ifVersion int) (*Agreement, error) {
	return s.change(ctx, tenant, id, ifVersion, action, onlyManager(tenant), func(_ domain.Principal, a *Agreement, now time.Time) (map[string]any, error) {
		_, err := a.Transition(action, reason, now)
		return map[string]any{"reason": reason}, err
	})
}

// Amend changes a signed agreement, versioned, with a reason (officer).
func (s *Service) Amend(ctx context.Context, tenant, id uuid.UUID, next Agreement, reason string, ifVersion int) (*Agreement, error) {
	return s.change(ctx, tenant, id, ifVersion, "amended", onlyManager(tenant), func(p domain.Principal, a *Agreement, now time.Time) (map[string]any, error) {
		am, err := a.Amend(next, reason, p.Subject, now)
		if err != nil {
			return nil, err
		}
		return map[string]any{"version": am.Version, "reason": am.Reason, "changes": am.Changes}, nil
	})
}

// AddDeliverable adds a requirement with a due date (officer).
func (s *Service) AddDeliverable(ctx context.Context, tenant, agreementID uuid.UUID, title string, due time.Time) (*Deliverable, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	if !manager(p, tenant) {
		return nil, domain.ErrForbidden
	}
	if len(title) < 3 || len(title) > 300 || due.IsZero() {
		return nil, ErrInvalid.WithMessage("a deliverable has a title (3-300) and a due date").WithField("title")
	}
	d := &Deliverable{TenantID: tenant, ID: domain.NewID(), AgreementID: agreementID, Title: title, Due: due, Status: "new", UpdatedAt: s.now(), Version: 1}
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		a, err := tx.Agreements().Get(ctx, agreementID)
		if err != nil {
			return err
		}
		if a.Status == StatusClosed || a.Status == StatusTerminated {
			return ErrTransition.WithMessage("the agreement is %s", a.Status)
		}
		if err := tx.Agreements().AddDeliverable(ctx, d); err != nil {
			return err
		}
		return tx.Audit().Append(ctx, audit.New(tenant, p, d.UpdatedAt, "deliverable.created", "deliverable", d.ID, map[string]any{"agreement": agreementID, "due": due}))
	})
	return d, err
}

// MoveDeliverable: a party's member submits; an officer takes it in review,
// approves or rejects it.
func (s *Service) MoveDeliverable(ctx context.Context, tenant, id uuid.UUID, to, note string, ifVersion int) (*Deliverable, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	var out *Deliverable
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		d, err := tx.Agreements().Deliverable(ctx, id)
		if err != nil {
			return err
		}
		a, err := tx.Agreements().Get(ctx, d.AgreementID)
		if err != nil {
			return err
		}
		if !reader(p, tenant, a) {
			return ErrDeliverableNotFound
		}
		party := slices.ContainsFunc(a.Organisations(), func(o uuid.UUID) bool { return len(p.Orgs[o]) > 0 })
		if (to == "submitted" && !party) || (to != "submitted" && !manager(p, tenant)) {
			return domain.ErrForbidden
		}
		if ifVersion != 0 && ifVersion != d.Version {
			return domain.ErrStale
		}
		now := s.now()
		if err := d.Move(to, note, p.Subject, now); err != nil {
			return err
		}
		d.Version++
		if err := tx.Agreements().UpdateDeliverable(ctx, d); err != nil {
			return err
		}
		out = d
		return tx.Audit().Append(ctx, audit.New(tenant, p, now, "deliverable."+to, "deliverable", d.ID, map[string]any{"note": d.Note}))
	})
	return out, err
}

// Deliverables lists an agreement's deliverables to its readers.
func (s *Service) Deliverables(ctx context.Context, tenant, agreementID uuid.UUID) ([]*Deliverable, error) {
	if _, err := s.Get(ctx, tenant, agreementID); err != nil {
		return nil, err
	}
	var out []*Deliverable
	err := s.store.Atomic(ctx, tenant, func(tx Tx) (err error) {
		out, err = tx.Agreements().Deliverables(ctx, agreementID)
		return err
	})
	return out, err
}
