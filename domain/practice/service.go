package practice

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/audit"
	"github.com/coprod/coprod/domain/call"
	"github.com/coprod/coprod/domain/impact"
	"github.com/coprod/coprod/domain/monitoring"
	"github.com/coprod/coprod/domain/payment"
	"github.com/coprod/coprod/domain/pilot"
)

// Store runs practice use cases in one tenant-scoped transaction each.
type Store interface {
	Atomic(ctx context.Context, tenant uuid.UUID, fn func(Tx) error) error
}

// Tx is one transaction: the practice's own rows, the catalogue projection,
// and the rows a practice is built from.
type Tx interface {
	monitoring.Tx // agreements, pilots, indicators, measurements, payment rules, audit
	Practices() Repository
	Replications() Replications
	Catalogue() Projection
	Calls() call.Repository
}

// Repository keeps the practices of the transaction's tenant.
type Repository interface {
	Add(ctx context.Context, p *Practice) error               // ErrAlreadyPublished for a pilot published before
	Update(ctx context.Context, p *Practice) error            // saves if the stored version is p.Version-1 (domain.ErrStale otherwise)
	Get(ctx context.Context, id uuid.UUID) (*Practice, error) // ErrNotFound
}

// Replications keeps the transaction's tenant's replications.
type Replications interface {
	Add(ctx context.Context, r *Replication) error
	Get(ctx context.Context, id uuid.UUID) (*Replication, error)       // ErrReplicationNotFound
	ForCall(ctx context.Context, call uuid.UUID) (*Replication, error) // ErrReplicationNotFound
}

// Projection is the catalogue's copy, platform-level and readable from any
// tenant's transaction; use cases refresh it in the same transaction as the
// change.
type Projection interface {
	// Put publishes p (and, when p's call replicated a practice, links p
	// to that replication).
	Put(ctx context.Context, p *Practice) error
	// Delete takes p out of the catalogue (and unlinks it from a replication).
	Delete(ctx context.Context, p *Practice) error
	// Get reads a published practice of any tenant, with its full template.
	Get(ctx context.Context, id uuid.UUID) (*PublicPractice, error) // ErrNotFound
	// AddReplication records publicly that r's tenant replicated a practice.
	AddReplication(ctx context.Context, r *Replication) error
}

var ErrReplicationNotFound = domain.Errorf(domain.KindNotFound, "replication_not_found", "no such replication")

// Service holds the practice use cases.
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

func officer(ctx context.Context, tenant uuid.UUID) (domain.Principal, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return p, err
	}
	if p.TenantID != tenant || !p.Has(domain.RoleOfficer, domain.RoleTenantAdmin) {
		return p, domain.ErrForbidden
	}
	return p, nil
}

// staff may read the tenant's practices and replications: every municipal
// role, as for its calls and monitoring (a replication is a copy of a public
// template and names a draft call they can read already).
func staff(p domain.Principal, tenant uuid.UUID) bool {
	return p.TenantID == tenant && p.Has(domain.RoleOfficer, domain.RoleTenantAdmin, domain.RoleAuditor, domain.RoleEvaluator)
}

// build reads what a practice of pilot pl is made of, in this tenant.
func build(ctx context.Context, tx Tx, pl *pilot.Pilot, pr *Practice) error {
	a, err := tx.Agreements().Get(ctx, pl.AgreementID)
	if err != nil {
		return err
	}
	var src Source
	pr.AgreementID, pr.CallID, pr.ReplicatesID = a.ID, a.CallID, uuid.Nil
	if a.CallID != uuid.Nil {
		if src.Call, err = tx.Calls().Get(ctx, a.CallID); err != nil {
			return err
		}
		rep, err := tx.Replications().ForCall(ctx, a.CallID)
		switch {
		case err == nil:
			pr.ReplicatesID = rep.PracticeID
		case !errors.Is(err, ErrReplicationNotFound):
			return err
		}
	}
	all, err := tx.Assignments().ForAgreement(ctx, a.ID)
	if err != nil {
		return err
	}
	// The pilot's own indicators; the agreement's when the pilot has none.
	mine := slices.DeleteFunc(slices.Clone(all), func(as *monitoring.Assignment) bool { return as.PilotID != pl.ID })
	if len(mine) == 0 {
		mine = slices.DeleteFunc(all, func(as *monitoring.Assignment) bool { return as.PilotID != uuid.Nil })
	}
	for _, as := range mine {
		def, err := tx.Library().Get(ctx, as.Indicator)
		if err != nil {
			return err
		}
		si := SourceIndicator{Definition: *def, Assignment: as.Assignment}
		ms, err := tx.Measurements().Latest(ctx, as.ID)
		if err != nil {
			return err
		}
		for _, m := range ms {
			if (m.Status == impact.Locked || m.Status == impact.Verified) && (si.Latest == nil || m.Period > si.Latest.Period) {
				si.Latest = &Measured{Period: m.Period, Value: m.Value, People: m.People}
			}
		}
		rules, err := tx.Payments().Rules(ctx, as.ID)
		if err != nil {
			return err
		}
		for _, r := range rules {
			si.Rules = append(si.Rules, r.Rule)
		}
		src.Indicators = append(src.Indicators, si)
	}
	pr.Indicators, pr.Template = Build(src)
	sdg, bes := Tags(src)
	if len(pr.SDGTargets) == 0 {
		pr.SDGTargets = sdg
	}
	if len(pr.BESDomains) == 0 {
		pr.BESDomains = bes
	}
	pr.PilotTitle, pr.Outcome = pl.Title, pl.Decision
	return nil
}

// Publish publishes a decided pilot of the tenant as a practice (officer):
// stopped pilots too, since what did not work is as useful to others.
func (s *Service) Publish(ctx context.Context, tenant, pilotID uuid.UUID, in Content) (*Practice, error) {
	p, err := officer(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var out *Practice
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		pl, err := tx.Pilots().Get(ctx, pilotID)
		if err != nil {
			return err
		}
		if pl.Status != pilot.StatusDecided {
			return ErrPilotNotDecided.WithMessage("the pilot is %s; a practice is published once it is decided", pl.Status)
		}
		now := s.now()
		pr := &Practice{TenantID: tenant, ID: domain.NewID(), PilotID: pl.ID, Content: in, Status: StatusPublished, PublishedAt: now, UpdatedAt: now, Version: 1}
		if err := build(ctx, tx, pl, pr); err != nil {
			return err
		}
		if err := tx.Practices().Add(ctx, pr); err != nil {
			return err
		}
		if err := tx.Catalogue().Put(ctx, pr); err != nil {
			return err
		}
		out = pr
		return tx.Audit().Append(ctx, audit.New(tenant, p, now, "practice.published", "practice", pr.ID,
			map[string]any{"pilot": pl.ID, "outcome": pr.Outcome, "replicates": pr.ReplicatesID}))
	})
	return out, err
}

// Update replaces the practice's content under If-Match and refreshes its
// indicators and template from the pilot as they are now (officer).
func (s *Service) Update(ctx context.Context, tenant, id uuid.UUID, in Content, ifVersion int) (*Practice, error) {
	p, err := officer(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	return s.change(ctx, p, tenant, id, ifVersion, "practice.updated", func(tx Tx, pr *Practice) error {
		if pr.Status != StatusPublished {
			return ErrWithdrawn
		}
		pl, err := tx.Pilots().Get(ctx, pr.PilotID)
		if err != nil {
			return err
		}
		pr.Content = in
		if err := build(ctx, tx, pl, pr); err != nil {
			return err
		}
		return tx.Catalogue().Put(ctx, pr)
	})
}

// Withdraw takes the practice out of the catalogue under If-Match (officer);
// its replications keep their copies.
func (s *Service) Withdraw(ctx context.Context, tenant, id uuid.UUID, ifVersion int) (*Practice, error) {
	p, err := officer(ctx, tenant)
	if err != nil {
		return nil, err
	}
	return s.change(ctx, p, tenant, id, ifVersion, "practice.withdrawn", func(tx Tx, pr *Practice) error {
		if pr.Status != StatusPublished {
			return ErrWithdrawn
		}
		pr.Status = StatusWithdrawn
		return tx.Catalogue().Delete(ctx, pr)
	})
}

func (s *Service) change(ctx context.Context, p domain.Principal, tenant, id uuid.UUID, ifVersion int, action string, fn func(Tx, *Practice) error) (*Practice, error) {
	var out *Practice
	err := s.store.Atomic(ctx, tenant, func(tx Tx) error {
		pr, err := tx.Practices().Get(ctx, id)
		if err != nil {
			return err
		}
		if ifVersion != 0 && ifVersion != pr.Version {
			return domain.ErrStale
		}
		now := s.now()
		pr.Version++
		pr.UpdatedAt = now
		if err := fn(tx, pr); err != nil {
			return err
		}
		if err := tx.Practices().Update(ctx, pr); err != nil {
			return err
		}
		out = pr
		return tx.Audit().Append(ctx, audit.New(tenant, p, now, action, "practice", pr.ID, map[string]any{"version": pr.Version, "status": pr.Status}))
	})
	return out, err
}

// Get returns a practice, withdrawn ones included, to the tenant's staff.
func (s *Service) Get(ctx context.Context, tenant, id uuid.UUID) (*Practice, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	if !staff(p, tenant) {
		return nil, domain.ErrForbidden
	}
	var out *Practice
	err = s.store.Atomic(ctx, tenant, func(tx Tx) (err error) {
		out, err = tx.Practices().Get(ctx, id)
		return err
	})
	return out, err
}

// Replicate creates, for an officer of another municipality, a draft call
// from a published practice: its criteria, objectives and policy area, and
// a replication holding its own copy of the indicators and payment rules,
// in one transaction with the call's audit record. The copy comes from the
// catalogue, the only part of another tenant this tenant can read.
func (s *Service) Replicate(ctx context.Context, tenant, practiceID uuid.UUID, title string) (*Replication, *call.Call, error) {
	p, err := officer(ctx, tenant)
	if err != nil {
		return nil, nil, err
	}
	var rep *Replication
	var c *call.Call
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		src, err := tx.Catalogue().Get(ctx, practiceID)
		if err != nil {
			return err
		}
		if src.Municipality.ID == tenant {
			return ErrOwnPractice
		}
		now := s.now()
		if c, err = call.AddDraft(ctx, tx, p, tenant, src.DraftCall(title), now); err != nil {
			return err
		}
		rep = &Replication{TenantID: tenant, ID: domain.NewID(), PracticeID: src.ID, SourceTenantID: src.Municipality.ID, CallID: c.ID,
			Template: src.Source.Clone(), CreatedBy: p.Subject, CreatedAt: now}
		if err := tx.Replications().Add(ctx, rep); err != nil {
			return err
		}
		if err := tx.Catalogue().AddReplication(ctx, rep); err != nil {
			return err
		}
		return tx.Audit().Append(ctx, audit.New(tenant, p, now, "practice.replicated", "call", c.ID,
			map[string]any{"practice": src.ID, "sourceMunicipality": src.Municipality.Slug, "replication": rep.ID}))
	})
	if err != nil {
		return nil, nil, err
	}
	return rep, c, nil
}

// LocalIndicator is what the replicating municipality sets itself for an
// indicator of the template: its own baseline and targets.
type LocalIndicator struct {
	Code     string
	Baseline impact.Baseline
	Targets  []impact.Target
}

var (
	ErrNotOfReplication = domain.Errorf(domain.KindPrecondition, "agreement_not_of_replication", "the template applies to an agreement that follows the replicated call")
	ErrNotInTemplate    = domain.Errorf(domain.KindInvalid, "indicator_not_in_template", "each indicator is one of the template's, once")
)

// Apply assigns indicators of a replication's template to an agreement that
// follows the replicated call (or to one of its pilots), with the
// municipality's own baselines and targets and the template's weights,
// frequencies and, unless skipRules, payment rules (a per-unit rule counts
// from the new baseline). An indicator missing from the tenant's library is
// added from the template's definition. One transaction: all or nothing.
func (s *Service) Apply(ctx context.Context, tenant, replicationID, agreementID, pilotID uuid.UUID, locals []LocalIndicator, skipRules bool) ([]*monitoring.Assignment, []*monitoring.Rule, error) {
	p, err := officer(ctx, tenant)
	if err != nil {
		return nil, nil, err
	}
	if len(locals) == 0 {
		return nil, nil, ErrNotInTemplate.WithMessage("name at least one indicator of the template").WithField("indicators")
	}
	var assigned []*monitoring.Assignment
	var rules []*monitoring.Rule
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		assigned, rules = nil, nil
		rep, err := tx.Replications().Get(ctx, replicationID)
		if err != nil {
			return err
		}
		a, err := tx.Agreements().Get(ctx, agreementID)
		if err != nil {
			return err
		}
		if a.CallID != rep.CallID {
			return ErrNotOfReplication
		}
		now := s.now()
		seen := map[string]bool{}
		for i, l := range locals {
			idx := slices.IndexFunc(rep.Template.Indicators, func(ti TemplateIndicator) bool { return ti.Definition.Code == l.Code })
			if idx < 0 || seen[l.Code] {
				return ErrNotInTemplate.WithField(fmt.Sprintf("indicators[%d].code", i))
			}
			seen[l.Code] = true
			ti := rep.Template.Indicators[idx]
			switch _, err := tx.Library().Get(ctx, l.Code); {
			case errors.Is(err, monitoring.ErrDefinitionNotFound):
				d := ti.Definition
				if err := d.Normalize(); err != nil {
					return err
				}
				if err := tx.Library().Add(ctx, d); err != nil {
					return err
				}
			case err != nil:
				return err
			}
			as, err := monitoring.AssignIn(ctx, tx, p, tenant, agreementID, pilotID,
				impact.Assignment{Indicator: l.Code, Baseline: l.Baseline, Targets: l.Targets, Weight: ti.Weight, Frequency: ti.Frequency}, now)
			if err != nil {
				return err
			}
			assigned = append(assigned, as)
			if skipRules {
				continue
			}
			for _, r := range ti.Rules {
				if r.Trigger == payment.PerUnit {
					r.BaselineMilli = payment.Milli(l.Baseline.Value)
				}
				rule, err := monitoring.AddRuleIn(ctx, tx, p, tenant, as.ID, r, now)
				if err != nil {
					return err
				}
				rules = append(rules, rule)
			}
		}
		return tx.Audit().Append(ctx, audit.New(tenant, p, now, "practice.template_applied", "agreement", agreementID,
			map[string]any{"replication": rep.ID, "practice": rep.PracticeID, "assignments": len(assigned), "rules": len(rules)}))
	})
	if err != nil {
		return nil, nil, err
	}
	return assigned, rules, nil
}

// Replication returns one of the tenant's replications to its staff.
func (s *Service) Replication(ctx context.Context, tenant, id uuid.UUID) (*Replication, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	if !staff(p, tenant) {
		return nil, domain.ErrForbidden
	}
	var out *Replication
	err = s.store.Atomic(ctx, tenant, func(tx Tx) (err error) {
		out, err = tx.Replications().Get(ctx, id)
		return err
	})
	return out, err
}

// PublicReader serves the catalogue across tenants, without login.
type PublicReader interface {
	PublicPractices(ctx context.Context, f PublicFilter) ([]PublicPractice, error)
	PublicPractice(ctx context.Context, id uuid.UUID) (*PublicPractice, error) // ErrNotFound
	// PublicReplications lists who replicated a practice, oldest first.
	PublicReplications(ctx context.Context, practice uuid.UUID) ([]PublicReplication, error)
}

// Catalogue is the public, searchable catalogue of practices.
type Catalogue struct{ r PublicReader }

func NewCatalogue(r PublicReader) *Catalogue { return &Catalogue{r: r} }

// Limits of a catalogue page.
const MaxPage = 200

// List returns a page of practices, newest first.
func (c *Catalogue) List(ctx context.Context, f PublicFilter) ([]PublicPractice, uuid.UUID, error) {
	var err error
	f.Limit, err = domain.PageSize(f.Limit, 50, MaxPage)
	if err != nil {
		return nil, uuid.Nil, err
	}
	if len(f.Text) > 200 {
		return nil, uuid.Nil, domain.Errorf(domain.KindInvalid, "invalid_text", "search text is at most 200 characters").WithField("q")
	}
	if f.SDGTarget != "" && !impact.ValidSDGTarget(f.SDGTarget) {
		return nil, uuid.Nil, ErrInvalid.WithMessage("%q is not an SDG target", f.SDGTarget).WithField("sdgTarget")
	}
	if f.BESDomain != "" && !slices.Contains(impact.BESDomains, f.BESDomain) {
		return nil, uuid.Nil, ErrInvalid.WithMessage("%q is not a BES domain", f.BESDomain).WithField("besDomain")
	}
	want := f.Limit
	f.Limit++
	out, err := c.r.PublicPractices(ctx, f)
	out, next := domain.CutPage(out, want, func(x PublicPractice) uuid.UUID { return x.ID })
	return out, next, err
}

// Get returns a practice with who replicated it and, for replicas whose own
// pilot is published, their indicators side by side with its own.
func (c *Catalogue) Get(ctx context.Context, id uuid.UUID) (*PublicPractice, error) {
	p, err := c.r.PublicPractice(ctx, id)
	if err != nil {
		return nil, err
	}
	reps, err := c.r.PublicReplications(ctx, id)
	if err != nil {
		return nil, err
	}
	p.Replications = reps
	if p.Replications == nil {
		p.Replications = []PublicReplication{}
	}
	var replicas []PublicPractice
	for i, r := range p.Replications {
		if r.ReplicaPracticeID == nil {
			continue
		}
		rp, err := c.r.PublicPractice(ctx, *r.ReplicaPracticeID)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		p.Replications[i].Outcome = rp.Outcome
		replicas = append(replicas, *rp)
	}
	p.Compare(replicas)
	return p, nil
}
