package pilot

import (
	"context"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/agreement"
	"github.com/coprod/coprod/domain/audit"
)

// Store runs pilot use cases in one tenant-scoped transaction each.
type Store interface {
	Atomic(ctx context.Context, tenant uuid.UUID, fn func(Tx) error) error
}

// Tx is one transaction.
type Tx interface {
	Pilots() Repository
	Agreements() agreement.Repository
	Audit() audit.Log
}

// Repository keeps pilots.
type Repository interface {
	Add(ctx context.Context, p *Pilot) error
	Update(ctx context.Context, p *Pilot) error // version check
	Get(ctx context.Context, id uuid.UUID) (*Pilot, error)
	ForAgreement(ctx context.Context, agreement uuid.UUID) ([]*Pilot, error)
}

// Service holds the pilot use cases.
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

func manager(p domain.Principal, tenant uuid.UUID) bool {
	return p.TenantID == tenant && p.Has(domain.RoleOfficer, domain.RoleTenantAdmin)
}

// Create designs a pilot inside a signed or active agreement (officer).
func (s *Service) Create(ctx context.Context, tenant, agreementID uuid.UUID, in Pilot) (*Pilot, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	if !manager(p, tenant) {
		return nil, domain.ErrForbidden
	}
	var out *Pilot
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		a, err := tx.Agreements().Get(ctx, agreementID)
		if err != nil {
			return err
		}
		if a.Status != agreement.StatusSigned && a.Status != agreement.StatusActive {
			return agreement.ErrTransition.WithMessage("pilots run inside a signed or active agreement; this one is %s", a.Status)
		}
		pl, err := New(tenant, agreementID, in, s.now())
		if err != nil {
			return err
		}
		if err := tx.Pilots().Add(ctx, pl); err != nil {
			return err
		}
		out = pl
		return tx.Audit().Append(ctx, audit.New(tenant, p, pl.CreatedAt, "pilot.designed", "pilot", pl.ID, map[string]any{"agreement": agreementID}))
	})
	return out, err
}

// Get returns a pilot to whoever may read its agreement.
func (s *Service) Get(ctx context.Context, tenant, id uuid.UUID) (*Pilot, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	var out *Pilot
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		pl, err := tx.Pilots().Get(ctx, id)
		if err != nil {
			return err
		}
		a, err := tx.Agreements().Get(ctx, pl.AgreementID)
		if err != nil {
			return err
		}
		if !agreement.CanRead(p, tenant, a) {
			return ErrNotFound
		}
		out = pl
		return nil
	})
	return out, err
}

// Change starts, evaluates or decides a pilot (officer), under If-Match.
func (s *Service) Change(ctx context.Context, tenant, id uuid.UUID, action, decision, note string, follow *FollowUp, ifVersion int) (*Pilot, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	if !manager(p, tenant) {
		return nil, domain.ErrForbidden
	}
	var out *Pilot
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		pl, err := tx.Pilots().Get(ctx, id)
		if err != nil {
			return err
		}
		if ifVersion != 0 && ifVersion != pl.Version {
			return domain.ErrStale
		}
		now := s.now()
		prev := pl.Status
		if action == "decide" {
			err = pl.Decide(decision, note, follow, now)
		} else {
			err = pl.Transition(action, now)
		}
		if err != nil {
			return err
		}
		pl.Version++
		if err := tx.Pilots().Update(ctx, pl); err != nil {
			return err
		}
		out = pl
		summary := map[string]any{"status": map[string]any{"from": prev, "to": pl.Status}}
		if action == "decide" {
			summary["decision"], summary["note"] = decision, note
			if follow != nil {
				summary["followUp"] = map[string]any{"kind": follow.Kind, "id": follow.ID}
			}
		}
		return tx.Audit().Append(ctx, audit.New(tenant, p, now, "pilot."+action, "pilot", pl.ID, summary))
	})
	return out, err
}

// For lists the pilots of an agreement to whoever may read it.
func (s *Service) For(ctx context.Context, tenant, agreementID uuid.UUID) ([]*Pilot, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	var out []*Pilot
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		a, err := tx.Agreements().Get(ctx, agreementID)
		if err != nil {
			return err
		}
		if !agreement.CanRead(p, tenant, a) {
			return agreement.ErrNotFound
		}
		out, err = tx.Pilots().ForAgreement(ctx, agreementID)
		return err
	})
	return out, err
}
