package initiative

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/audit"
	"github.com/coprod/coprod/domain/call"
	"github.com/coprod/coprod/domain/coprogramming"
)

// Store runs initiative use cases in one tenant-scoped transaction each.
type Store interface {
	Atomic(ctx context.Context, tenant uuid.UUID, fn func(Tx) error) error
}

// Tx is one transaction.
type Tx interface {
	Initiatives() Repository
	Processes() coprogramming.Repository
	Calls() call.Repository
	Audit() audit.Log
}

// Filter selects a page of a tenant's initiatives, newest first.
type Filter struct {
	Status        Status
	Organisations []uuid.UUID // only these organisations' initiatives; nil: all
	OverdueAt     time.Time   // non-zero: only those in triage whose deadline is at or before this time
	After         uuid.UUID   // cursor
	Limit         int
}

// Repository keeps the initiatives of the transaction's tenant.
type Repository interface {
	Add(ctx context.Context, i *Initiative) error
	// Update saves i if the stored version is i.Version-1 (domain.ErrStale otherwise).
	Update(ctx context.Context, i *Initiative) error
	Get(ctx context.Context, id uuid.UUID) (*Initiative, error) // ErrNotFound
	List(ctx context.Context, f Filter) ([]*Initiative, error)
	// Lock holds the initiatives until the transaction ends, taken in id
	// order so that two merges never deadlock.
	Lock(ctx context.Context, ids ...uuid.UUID) error
}

// Service holds the initiative use cases.
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

// Now is the service's clock, for views that flag overdue initiatives.
func (s *Service) Now() time.Time { return s.now() }

// Propose records an organisation's initiative to a municipality; only a
// member of that organisation may propose for it.
func (s *Service) Propose(ctx context.Context, tenant, org uuid.UUID, in Initiative) (*Initiative, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	if org == uuid.Nil || len(p.Orgs[org]) == 0 {
		return nil, domain.ErrForbidden.WithMessage("you do not act for that organisation")
	}
	i, err := Propose(tenant, org, in, p.Subject, s.now())
	if err != nil {
		return nil, err
	}
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		if err := tx.Initiatives().Add(ctx, i); err != nil {
			return err
		}
		saved, err := tx.Initiatives().Get(ctx, i.ID) // with the organisation's name
		if err != nil {
			return err
		}
		i = saved
		return tx.Audit().Append(ctx, audit.New(tenant, p, i.ProposedAt, "initiative.proposed", "initiative", i.ID,
			map[string]any{"title": i.Title, "organisation": org}))
	})
	return i, err
}

// change loads an initiative, applies fn under the If-Match check, saves it
// and writes its audit record, in one transaction (officer).
func (s *Service) change(ctx context.Context, tenant, id uuid.UUID, ifVersion int, action string, fn func(tx Tx, p domain.Principal, i *Initiative, now time.Time) (map[string]any, error)) (*Initiative, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	if !coprogramming.Officer(p, tenant) {
		return nil, domain.ErrForbidden
	}
	return s.update(ctx, tenant, id, ifVersion, p, action, fn)
}

func (s *Service) update(ctx context.Context, tenant, id uuid.UUID, ifVersion int, p domain.Principal, action string, fn func(tx Tx, p domain.Principal, i *Initiative, now time.Time) (map[string]any, error)) (*Initiative, error) {
	var out *Initiative
	err := s.store.Atomic(ctx, tenant, func(tx Tx) error {
		i, err := tx.Initiatives().Get(ctx, id)
		if err != nil {
			return err
		}
		if ifVersion != 0 && ifVersion != i.Version {
			return domain.ErrStale
		}
		now, prev := s.now(), i.Status
		summary, err := fn(tx, p, i, now)
		if err != nil {
			return err
		}
		if summary == nil {
			summary = map[string]any{}
		}
		if prev != i.Status {
			summary["status"] = map[string]any{"from": prev, "to": i.Status}
		}
		i.Version++
		if err := tx.Initiatives().Update(ctx, i); err != nil {
			return err
		}
		out = i
		return tx.Audit().Append(ctx, audit.New(tenant, p, now, "initiative."+action, "initiative", i.ID, summary))
	})
	return out, err
}

// SetDeadline sets or moves the triage deadline (officer).
func (s *Service) SetDeadline(ctx context.Context, tenant, id uuid.UUID, at time.Time, ifVersion int) (*Initiative, error) {
	return s.change(ctx, tenant, id, ifVersion, "deadline_set", func(_ Tx, _ domain.Principal, i *Initiative, now time.Time) (map[string]any, error) {
		return map[string]any{"deadline": at.UTC()}, i.SetDeadline(at.UTC(), now)
	})
}

// Accept says where an accepted initiative goes: into co-programming (an
// existing process of the tenant, or a new draft one) or into a new draft call.
type Accept struct {
	Route     Route
	ProcessID uuid.UUID // coprogramming: an existing process; zero: a new one
	// For a new process: its policy area (default: the initiative's) and
	// period (default: twelve months from today).
	PolicyArea           string
	PeriodFrom, PeriodTo time.Time
}

// Accept triages the initiative as accepted and creates or links what it
// goes into, in the same transaction (officer).
func (s *Service) Accept(ctx context.Context, tenant, id uuid.UUID, in Accept, ifVersion int) (*Initiative, error) {
	return s.change(ctx, tenant, id, ifVersion, "accepted", func(tx Tx, p domain.Principal, i *Initiative, now time.Time) (map[string]any, error) {
		if err := i.CanTriage(); err != nil { // before creating anything
			return nil, err
		}
		switch in.Route {
		case RouteCoprogramming:
			pid := in.ProcessID
			if pid != uuid.Nil {
				pr, err := tx.Processes().Hold(ctx, pid)
				if err != nil {
					return nil, err
				}
				if pr.Status != coprogramming.StatusDraft && pr.Status != coprogramming.StatusOpen {
					return nil, ErrProcessClosed
				}
			} else {
				pr, err := s.newProcess(ctx, tx, p, i, in, now)
				if err != nil {
					return nil, err
				}
				pid = pr.ID
			}
			return map[string]any{"route": in.Route, "coprogramming": pid}, i.AcceptIntoProcess(pid, now)
		case RouteCall:
			c, err := call.NewDraft(tenant, i.DraftCall(), p.Subject, now)
			if err != nil {
				return nil, err
			}
			if err := tx.Calls().Add(ctx, c); err != nil {
				return nil, err
			}
			if err := tx.Audit().Append(ctx, audit.New(tenant, p, now, "call.created", "call", c.ID,
				map[string]any{"title": c.Title, "initiative": i.ID})); err != nil {
				return nil, err
			}
			return map[string]any{"route": in.Route, "call": c.ID}, i.AcceptIntoCall(c.ID, now)
		}
		return nil, ErrInvalidRoute.WithField("route")
	})
}

func (s *Service) newProcess(ctx context.Context, tx Tx, p domain.Principal, i *Initiative, in Accept, now time.Time) (*coprogramming.Process, error) {
	area := in.PolicyArea
	if area == "" {
		area = i.PolicyArea
	}
	from, to := in.PeriodFrom, in.PeriodTo
	if from.IsZero() {
		from = now.Truncate(24 * time.Hour)
	}
	if to.IsZero() {
		to = from.AddDate(1, 0, -1)
	}
	pr, err := coprogramming.New(i.TenantID, coprogramming.Process{Title: i.Title, PolicyArea: area, PeriodFrom: from, PeriodTo: to,
		Description: "From the initiative of " + i.OrganisationName + ": " + i.Problem}, p.Subject, now)
	if err != nil {
		return nil, err
	}
	if err := tx.Processes().Add(ctx, pr); err != nil {
		return nil, err
	}
	return pr, tx.Audit().Append(ctx, audit.New(i.TenantID, p, now, "coprogramming.created", "coprogramming", pr.ID,
		map[string]any{"title": pr.Title, "initiative": i.ID}))
}

// Decline refuses the initiative with its reasons (officer).
func (s *Service) Decline(ctx context.Context, tenant, id uuid.UUID, reason string, ifVersion int) (*Initiative, error) {
	return s.change(ctx, tenant, id, ifVersion, "declined", func(_ Tx, _ domain.Principal, i *Initiative, now time.Time) (map[string]any, error) {
		return map[string]any{"reason": reason}, i.Decline(reason, now)
	})
}

// Merge merges the initiative into another of the same tenant (officer);
// an id of another tenant is not found.
func (s *Service) Merge(ctx context.Context, tenant, id, into uuid.UUID, ifVersion int) (*Initiative, error) {
	return s.change(ctx, tenant, id, ifVersion, "merged", func(tx Tx, _ domain.Principal, i *Initiative, now time.Time) (map[string]any, error) {
		if into == i.ID {
			return nil, ErrInvalidMerge.WithField("into")
		}
		// Two crossed merges (a into b, b into a) must not both pass: the
		// second waits here and then reads the first's target as merged.
		if err := tx.Initiatives().Lock(ctx, i.ID, into); err != nil {
			return nil, err
		}
		target, err := tx.Initiatives().Get(ctx, into)
		if err != nil {
			return nil, err
		}
		return map[string]any{"into": into}, i.MergeInto(target, now)
	})
}

// Withdraw lets a member of the proposing organisation take it back before triage.
func (s *Service) Withdraw(ctx context.Context, tenant, id uuid.UUID) (*Initiative, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	return s.update(ctx, tenant, id, 0, p, "withdrawn", func(_ Tx, p domain.Principal, i *Initiative, now time.Time) (map[string]any, error) {
		if len(p.Orgs[i.OrganisationID]) == 0 {
			return nil, domain.ErrForbidden.WithMessage("only the proposing organisation withdraws its initiative")
		}
		return nil, i.Withdraw(now)
	})
}

// Get returns an initiative to the tenant's staff and to the proposing
// organisation's members; anyone else reads it in the public register.
func (s *Service) Get(ctx context.Context, tenant, id uuid.UUID) (*Initiative, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	var out *Initiative
	err = s.store.Atomic(ctx, tenant, func(tx Tx) (err error) {
		out, err = tx.Initiatives().Get(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !coprogramming.Staff(p, tenant) && len(p.Orgs[out.OrganisationID]) == 0 {
		return nil, ErrNotFound
	}
	return out, nil
}

// List returns a page of initiatives: all of the tenant's to its staff, to
// anyone else those of the organisations they act for.
func (s *Service) List(ctx context.Context, tenant uuid.UUID, f Filter) ([]*Initiative, uuid.UUID, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, uuid.Nil, err
	}
	if !coprogramming.Staff(p, tenant) {
		f.Organisations = slices.Collect(maps.Keys(p.Orgs))
		if len(f.Organisations) == 0 {
			return nil, uuid.Nil, domain.ErrForbidden
		}
	}
	return s.list(ctx, tenant, f)
}

func (s *Service) list(ctx context.Context, tenant uuid.UUID, f Filter) ([]*Initiative, uuid.UUID, error) {
	var err error
	f.Limit, err = domain.PageSize(f.Limit, 50, 200)
	if err != nil {
		return nil, uuid.Nil, err
	}
	want := f.Limit
	f.Limit++
	var out []*Initiative
	err = s.store.Atomic(ctx, tenant, func(tx Tx) (err error) {
		out, err = tx.Initiatives().List(ctx, f)
		return err
	})
	out, next := domain.CutPage(out, want, func(x *Initiative) uuid.UUID { return x.ID })
	return out, next, err
}

// Register is the public register of a municipality's initiatives and
// their status, for anyone without login; overdue ones are flagged.
func (s *Service) Register(ctx context.Context, tenant uuid.UUID, f Filter) ([]Public, uuid.UUID, error) {
	f.Organisations = nil
	items, next, err := s.list(ctx, tenant, f)
	if err != nil {
		return nil, uuid.Nil, err
	}
	now := s.now()
	out := make([]Public, 0, len(items))
	for _, i := range items {
		out = append(out, i.PublicView(now))
	}
	return out, next, nil
}
