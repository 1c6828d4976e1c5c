package coprogramming

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/audit"
	"github.com/coprod/coprod/domain/call"
)

// Store runs co-programming use cases in one tenant-scoped transaction each.
type Store interface {
	Atomic(ctx context.Context, tenant uuid.UUID, fn func(Tx) error) error
}

// Tx is one transaction.
type Tx interface {
	Processes() Repository
	Calls() call.Repository
	Audit() audit.Log
}

// Filter selects a page of a tenant's processes, newest first.
type Filter struct {
	Status Status
	After  uuid.UUID // cursor: processes older than this id
	Limit  int
}

// Repository keeps the processes of the transaction's tenant.
type Repository interface {
	Add(ctx context.Context, p *Process) error
	// Update saves p if the stored version is p.Version-1 (domain.ErrStale otherwise).
	Update(ctx context.Context, p *Process) error
	Get(ctx context.Context, id uuid.UUID) (*Process, error) // ErrNotFound
	// Hold is Get, and keeps the process from changing status until the
	// transaction ends: a contribution or a link made while it is open
	// cannot land after a concurrent close.
	Hold(ctx context.Context, id uuid.UUID) (*Process, error)
	List(ctx context.Context, f Filter) ([]*Process, error)
	AddContribution(ctx context.Context, c *Contribution) error
	Contributions(ctx context.Context, process uuid.UUID) ([]*Contribution, error)
	// LinkCall records that a call was drafted from the process.
	LinkCall(ctx context.Context, process, call uuid.UUID, at time.Time) error
	// CallsOf lists the calls drafted from the process, oldest first.
	CallsOf(ctx context.Context, process uuid.UUID) ([]uuid.UUID, error)
}

// Service holds the co-programming use cases.
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

// Officer reports whether p runs the tenant's procedures (officer, tenant admin).
func Officer(p domain.Principal, tenant uuid.UUID) bool {
	return p.TenantID == tenant && p.Has(domain.RoleOfficer, domain.RoleTenantAdmin)
}

// Staff reports whether p reads everything of the tenant (officer, tenant admin, auditor).
func Staff(p domain.Principal, tenant uuid.UUID) bool {
	return p.TenantID == tenant && p.Has(domain.RoleOfficer, domain.RoleTenantAdmin, domain.RoleAuditor)
}

func (s *Service) officer(ctx context.Context, tenant uuid.UUID) (domain.Principal, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return p, err
	}
	if !Officer(p, tenant) {
		return p, domain.ErrForbidden
	}
	return p, nil
}

// Create drafts a process (officer, tenant admin).
func (s *Service) Create(ctx context.Context, tenant uuid.UUID, in Process) (*Process, error) {
	p, err := s.officer(ctx, tenant)
	if err != nil {
		return nil, err
	}
	out, err := New(tenant, in, p.Subject, s.now())
	if err != nil {
		return nil, err
	}
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		if err := tx.Processes().Add(ctx, out); err != nil {
			return err
		}
		return tx.Audit().Append(ctx, audit.New(tenant, p, out.CreatedAt, "coprogramming.created", "coprogramming", out.ID,
			map[string]any{"title": out.Title, "policyArea": out.PolicyArea}))
	})
	return out, err
}

// change loads a process, applies fn under the If-Match check and saves it
// with its audit record, in one transaction.
func (s *Service) change(ctx context.Context, tenant, id uuid.UUID, ifVersion int, action string, fn func(p *Process, now time.Time) (map[string]any, error)) (*Process, error) {
	pr, err := s.officer(ctx, tenant)
	if err != nil {
		return nil, err
	}
	var out *Process
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		p, err := tx.Processes().Get(ctx, id)
		if err != nil {
			return err
		}
		if ifVersion != 0 && ifVersion != p.Version {
			return domain.ErrStale
		}
		now, prev := s.now(), p.Status
		summary, err := fn(p, now)
		if err != nil {
			return err
		}
		if summary == nil {
			summary = map[string]any{}
		}
		summary["status"] = map[string]any{"from": prev, "to": p.Status}
		p.Version++
		if err := tx.Processes().Update(ctx, p); err != nil {
			return err
		}
		out = p
		return tx.Audit().Append(ctx, audit.New(tenant, pr, now, "coprogramming."+action, "coprogramming", p.ID, summary))
	})
	return out, err
}

// Open starts accepting contributions.
func (s *Service) Open(ctx context.Context, tenant, id uuid.UUID, ifVersion int) (*Process, error) {
	return s.change(ctx, tenant, id, ifVersion, "opened", func(p *Process, now time.Time) (map[string]any, error) {
		return nil, p.Open(now)
	})
}

// Close stops contributions.
func (s *Service) Close(ctx context.Context, tenant, id uuid.UUID, ifVersion int) (*Process, error) {
	return s.change(ctx, tenant, id, ifVersion, "closed", func(p *Process, now time.Time) (map[string]any, error) {
		return nil, p.Close(now)
	})
}

// Publish publishes the outputs by their formal act.
func (s *Service) Publish(ctx context.Context, tenant, id uuid.UUID, out Outputs, act call.Act, ifVersion int) (*Process, error) {
	return s.change(ctx, tenant, id, ifVersion, "published", func(p *Process, now time.Time) (map[string]any, error) {
		return map[string]any{"act": act.Number, "priorities": len(out.Priorities)}, p.Publish(out, act, now)
	})
}

// Cancel abandons the process with a reason.
func (s *Service) Cancel(ctx context.Context, tenant, id uuid.UUID, reason string, ifVersion int) (*Process, error) {
	return s.change(ctx, tenant, id, ifVersion, "cancelled", func(p *Process, now time.Time) (map[string]any, error) {
		return map[string]any{"reason": reason}, p.Cancel(reason, now)
	})
}

// Contribute records an organisation's contribution: only a member of that
// organisation may make it, and only while the process is open.
func (s *Service) Contribute(ctx context.Context, tenant, id, org uuid.UUID, in Contribution) (*Contribution, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	if org == uuid.Nil || len(p.Orgs[org]) == 0 {
		return nil, domain.ErrForbidden.WithMessage("you do not act for that organisation")
	}
	in.Kind, in.OrganisationID, in.CitizenName = KindOrganisation, org, ""
	return s.contribute(ctx, tenant, id, p, in, false)
}

// RecordCitizen records a citizen's contribution (officer): at most a name.
func (s *Service) RecordCitizen(ctx context.Context, tenant, id uuid.UUID, in Contribution) (*Contribution, error) {
	p, err := s.officer(ctx, tenant)
	if err != nil {
		return nil, err
	}
	in.Kind, in.OrganisationID = KindCitizen, uuid.Nil
	return s.contribute(ctx, tenant, id, p, in, true)
}

func (s *Service) contribute(ctx context.Context, tenant, id uuid.UUID, p domain.Principal, in Contribution, staff bool) (*Contribution, error) {
	var out *Contribution
	err := s.store.Atomic(ctx, tenant, func(tx Tx) error {
		pr, err := tx.Processes().Hold(ctx, id)
		if err != nil {
			return err
		}
		if pr.Status == StatusDraft && !staff {
			return ErrNotFound // a draft does not exist for outsiders
		}
		c, err := pr.Contribute(in, p.Subject, s.now())
		if err != nil {
			return err
		}
		if err := tx.Processes().AddContribution(ctx, c); err != nil {
			return err
		}
		out = c
		summary := map[string]any{"process": pr.ID, "kind": c.Kind}
		if c.Kind == KindOrganisation {
			summary["organisation"] = c.OrganisationID
		}
		return tx.Audit().Append(ctx, audit.New(tenant, p, c.CreatedAt, "coprogramming.contributed", "coprogramming_contribution", c.ID, summary))
	})
	return out, err
}

// View is a process with the calls drafted from it.
type View struct {
	*Process
	Calls []uuid.UUID
}

// Get returns a process: staff see drafts too; anyone else sees it once
// opened (organisations must find it to contribute).
func (s *Service) Get(ctx context.Context, tenant, id uuid.UUID) (*View, error) {
	p, _ := domain.PrincipalFrom(ctx)
	var out *View
	err := s.store.Atomic(ctx, tenant, func(tx Tx) error {
		pr, err := tx.Processes().Get(ctx, id)
		if err != nil {
			return err
		}
		if pr.Status == StatusDraft && !Staff(p, tenant) {
			return ErrNotFound
		}
		calls, err := tx.Processes().CallsOf(ctx, id)
		out = &View{Process: pr, Calls: calls}
		return err
	})
	return out, err
}

// List returns a page of the tenant's processes: all to staff, the
// non-draft ones to anyone else.
func (s *Service) List(ctx context.Context, tenant uuid.UUID, f Filter) ([]*Process, uuid.UUID, error) {
	p, _ := domain.PrincipalFrom(ctx)
	var err error
	f.Limit, err = domain.PageSize(f.Limit, 50, 200)
	if err != nil {
		return nil, uuid.Nil, err
	}
	staff := Staff(p, tenant)
	if !staff && f.Status == StatusDraft {
		return nil, uuid.Nil, nil
	}
	var out []*Process
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		for len(out) <= f.Limit { // drafts are skipped for outsiders, so a page may take several reads
			page, err := tx.Processes().List(ctx, Filter{Status: f.Status, After: f.After, Limit: f.Limit + 1})
			if err != nil {
				return err
			}
			for _, pr := range page {
				if staff || pr.Status != StatusDraft {
					out = append(out, pr)
				}
			}
			if len(page) <= f.Limit {
				return nil
			}
			f.After = page[len(page)-1].ID
		}
		return nil
	})
	var next uuid.UUID
	if len(out) > f.Limit {
		out, next = out[:f.Limit], out[f.Limit-1].ID
	}
	return out, next, err
}

// Contributions lists a process's contributions: all to staff, to an
// organisation's members that organisation's own.
func (s *Service) Contributions(ctx context.Context, tenant, id uuid.UUID) ([]*Contribution, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	staff := Staff(p, tenant)
	var out []*Contribution
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		pr, err := tx.Processes().Get(ctx, id)
		if err != nil {
			return err
		}
		if pr.Status == StatusDraft && !staff {
			return ErrNotFound
		}
		all, err := tx.Processes().Contributions(ctx, id)
		for _, c := range all {
			if staff || c.Kind == KindOrganisation && len(p.Orgs[c.OrganisationID]) > 0 {
				out = append(out, c)
			}
		}
		return err
	})
	return out, err
}

// CreateCall drafts a call from the published outputs and records the link,
// with the call's own audit record, in one transaction (officer).
func (s *Service) CreateCall(ctx context.Context, tenant, id uuid.UUID) (*call.Call, error) {
	p, err := s.officer(ctx, tenant)
	if err != nil {
		return nil, err
	}
	var out *call.Call
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		pr, err := tx.Processes().Get(ctx, id)
		if err != nil {
			return err
		}
		in, err := pr.DraftCall()
		if err != nil {
			return err
		}
		now := s.now()
		c, err := call.NewDraft(tenant, in, p.Subject, now)
		if err != nil {
			return err
		}
		if err := tx.Calls().Add(ctx, c); err != nil {
			return err
		}
		if err := tx.Processes().LinkCall(ctx, pr.ID, c.ID, now); err != nil {
			return err
		}
		if err := tx.Audit().Append(ctx, audit.New(tenant, p, now, "call.created", "call", c.ID,
			map[string]any{"title": c.Title, "coprogramming": pr.ID})); err != nil {
			return err
		}
		out = c
		return tx.Audit().Append(ctx, audit.New(tenant, p, now, "coprogramming.call_created", "coprogramming", pr.ID, map[string]any{"call": c.ID}))
	})
	return out, err
}

// Published returns the tenant's published processes with their outputs, to
// anyone without login, newest first.
func (s *Service) Published(ctx context.Context, tenant uuid.UUID) ([]*View, error) {
	var out []*View
	err := s.store.Atomic(ctx, tenant, func(tx Tx) error {
		ps, err := tx.Processes().List(ctx, Filter{Status: StatusPublished, Limit: 500})
		if err != nil {
			return err
		}
		for _, pr := range ps {
			calls, err := tx.Processes().CallsOf(ctx, pr.ID)
			if err != nil {
				return err
			}
			out = append(out, &View{Process: pr, Calls: calls})
		}
		return nil
	})
	return out, err
}
