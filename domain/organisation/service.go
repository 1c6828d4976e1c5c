package organisation

import (
	"context"

	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
)

// Service holds the organisation use cases.
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

// isAdmin: the operator, or an org_admin of org.
func isAdmin(p domain.Principal, org uuid.UUID) bool {
	return p.IsOperator() || slices.Contains(p.Orgs[org], domain.RoleOrgAdmin)
}

// Register records an organisation. A platform user who registers it
// becomes its first org_admin; the operator may register on its behalf.
func (s *Service) Register(ctx context.Context, o Organisation) (*Organisation, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	if !p.IsOperator() && (p.UserID == uuid.Nil || p.TenantID != uuid.Nil) {
		// Municipal staff act for their municipality, not for an organisation.
		return nil, domain.ErrForbidden.WithMessage("organisations are registered by platform users or the operator")
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	now := s.now()
	o.ID, o.CreatedAt, o.UpdatedAt, o.Version = domain.NewID(), now, now, 1
	err = s.store.Atomic(ctx, func(tx Tx) error {
		if err := tx.Organisations().Add(ctx, &o); err != nil {
			return err
		}
		if p.UserID == uuid.Nil {
			return nil
		}
		return tx.Organisations().PutMember(ctx, Member{OrganisationID: o.ID, UserID: p.UserID, Role: domain.RoleOrgAdmin, CreatedAt: now})
	})
	if err != nil {
		return nil, err
	}
	return &o, nil
}

// Update changes an organisation's profile (org_admin or operator); the
// fiscal code identifies it and never changes. ifVersion must be current.
func (s *Service) Update(ctx context.Context, id uuid.UUID, in Organisation, ifVersion int) (*Organisation, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	if !isAdmin(p, id) {
		return nil, domain.ErrForbidden
	}
	var out *Organisation
	err = s.store.Atomic(ctx, func(tx Tx) error {
		cur, err := tx.Organisations().Get(ctx, id)
		if err != nil {
			return err
		}
		if ifVersion != cur.Version {
			return domain.ErrStale
		}
		in.ID, in.FiscalCode, in.CreatedAt, in.Version = cur.ID, cur.FiscalCode, cur.CreatedAt, cur.Version+1
		if err := in.Validate(); err != nil {
			return err
		}
		in.UpdatedAt = s.now()
		if err := tx.Organisations().Update(ctx, &in); err != nil {
			return err
		}
		out = &in
		return nil
	})
	return out, err
}

// Get returns an organisation; organisations are public information.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (*Organisation, error) {
	var out *Organisation
	err := s.store.Atomic(ctx, func(tx Tx) (err error) {
		out, err = tx.Organisations().Get(ctx, id)
		return err
	})
	return out, err
}

// List searches organisations by legal name or fiscal code.
func (s *Service) List(ctx context.Context, f Filter) ([]*Organisation, uuid.UUID, error) {
	var err error
	f.Limit, err = domain.PageSize(f.Limit, 50, 500)
	if err != nil {
		return nil, uuid.Nil, err
	}
	f.Query = strings.TrimSpace(f.Query)
	want := f.Limit
	f.Limit++
	var out []*Organisation
	err = s.store.Atomic(ctx, func(tx Tx) (err error) {
		out, err = tx.Organisations().List(ctx, f)
		return err
	})
	out, next := domain.CutPage(out, want, func(x *Organisation) uuid.UUID { return x.ID })
	return out, next, err
}

// Members lists who acts for an organisation, to its members and the operator.
func (s *Service) Members(ctx context.Context, org uuid.UUID) ([]Member, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	if !p.IsOperator() && len(p.Orgs[org]) == 0 {
		return nil, domain.ErrForbidden
	}
	var out []Member
	err = s.store.Atomic(ctx, func(tx Tx) (err error) {
		if _, err = tx.Organisations().Get(ctx, org); err != nil {
			return err
		}
		out, err = tx.Organisations().Members(ctx, org)
		return err
	})
	return out, err
}

// SetMember gives the platform user with that e-mail a role in the
// organisation (org_admin only). The user must have logged in once.
func (s *Service) SetMember(ctx context.Context, org uuid.UUID, email string, role domain.Role) (*Member, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	if !isAdmin(p, org) {
		return nil, domain.ErrForbidden
	}
	if role != domain.RoleOrgAdmin && role != domain.RoleOrgMember {
		return nil, ErrInvalidRole.WithField("role")
	}
	m := &Member{OrganisationID: org, Role: role, CreatedAt: s.now()}
	err = s.store.Atomic(ctx, func(tx Tx) error {
		if _, err := tx.Organisations().Get(ctx, org); err != nil {
			return err
		}
		user, err := tx.Organisations().UserByEmail(ctx, strings.ToLower(strings.TrimSpace(email)))
		if err != nil {
			return err
		}
		m.UserID = user
		if err := tx.Organisations().PutMember(ctx, *m); err != nil {
			return err
		}
		return lastAdminGuard(ctx, tx, org)
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// RemoveMember ends a user's role in the organisation (org_admin only).
func (s *Service) RemoveMember(ctx context.Context, org, user uuid.UUID) error {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return err
	}
	if !isAdmin(p, org) {
		return domain.ErrForbidden
	}
	return s.store.Atomic(ctx, func(tx Tx) error {
		if err := tx.Organisations().RemoveMember(ctx, org, user); err != nil {
			return err
		}
		return lastAdminGuard(ctx, tx, org)
	})
}

// lastAdminGuard refuses, inside the transaction, a change that leaves an
// organisation with members but no org_admin.
func lastAdminGuard(ctx context.Context, tx Tx, org uuid.UUID) error {
	ms, err := tx.Organisations().Members(ctx, org)
	if err != nil {
		return err
	}
	if len(ms) > 0 && !slices.ContainsFunc(ms, func(m Member) bool { return m.Role == domain.RoleOrgAdmin }) {
		return ErrLastAdmin
	}
	return nil
}
