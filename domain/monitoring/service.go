package monitoring

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/agreement"
	"github.com/coprod/coprod/domain/audit"
	"github.com/coprod/coprod/domain/impact"
	"github.com/coprod/coprod/domain/payment"
)

// Service holds the monitoring use cases.
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

func officer(p domain.Principal, tenant uuid.UUID) bool {
	return p.TenantID == tenant && p.Has(domain.RoleOfficer, domain.RoleTenantAdmin)
}

func staffReader(p domain.Principal, tenant uuid.UUID) bool {
	return p.TenantID == tenant && p.Has(domain.RoleOfficer, domain.RoleTenantAdmin, domain.RoleAuditor, domain.RoleEvaluator)
}

func partyOf(p domain.Principal, a *agreement.Agreement) (uuid.UUID, bool) {
	for _, o := range a.Organisations() {
		if len(p.Orgs[o]) > 0 {
			return o, true
		}
	}
	return uuid.Nil, false
}

func reason(s string) (string, error) {
	s = strings.TrimSpace(s)
	if n := utf8.RuneCountInString(s); n < 3 || n > 2000 {
		return "", ErrReason.WithField("reason")
	}
	return s, nil
}

// SeedLibrary adds the standard social-service indicators the tenant does
// not have yet (officer); it returns how many were added.
func (s *Service) SeedLibrary(ctx context.Context, tenant uuid.UUID) (int, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return 0, err
	}
	if !officer(p, tenant) {
		return 0, domain.ErrForbidden
	}
	added := 0
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		added = 0
		have, err := domain.AllPages(500, func(d impact.Definition) string { return d.Code }, func(after string, limit int) ([]impact.Definition, error) {
			return tx.Library().List(ctx, LibraryFilter{After: after, Limit: limit})
		})
		if err != nil {
			return err
		}
		codes := map[string]bool{}
		for _, d := range have {
			codes[d.Code] = true
		}
		for _, d := range impact.Seed() {
			if codes[d.Code] {
				continue
			}
			if err := d.Normalize(); err != nil {
				return err
			}
			if err := tx.Library().Add(ctx, d); err != nil {
				return err
			}
			added++
		}
		return tx.Audit().Append(ctx, audit.New(tenant, p, s.now(), "indicators.seeded", "tenant", tenant, map[string]any{"added": added}))
	})
	return added, err
}

// Define adds an indicator to the tenant's library (officer).
func (s *Service) Define(ctx context.Context, tenant uuid.UUID, d impact.Definition) (*impact.Definition, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	if !officer(p, tenant) {
		return nil, domain.ErrForbidden
	}
	if err := d.Normalize(); err != nil {
		return nil, err
	}
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		if err := tx.Library().Add(ctx, d); err != nil {
			return err
		}
		return tx.Audit().Append(ctx, audit.New(tenant, p, s.now(), "indicator.defined", "tenant", tenant, map[string]any{"code": d.Code}))
	})
	return &d, err
}

// Library returns a page of the tenant's indicators, in code order, to
// anyone acting in the tenant; the string is the code to continue after,
// empty on the last page.
func (s *Service) Library(ctx context.Context, tenant uuid.UUID, f LibraryFilter) ([]impact.Definition, string, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, "", err
	}
	// The tenant's staff, the organisations (which report against it) and
	// the operator; not a platform user with no part here (an analyst of
	// another region).
	if !p.IsOperator() && (p.TenantID != tenant || len(p.Roles) == 0 && len(p.Orgs) == 0) {
		return nil, "", domain.ErrForbidden
	}
	f.Limit, err = domain.PageSize(f.Limit, 50, 500)
	if err != nil {
		return nil, "", err
	}
	want := f.Limit
	f.Limit++
	var out []impact.Definition
	err = s.store.Atomic(ctx, tenant, func(tx Tx) (err error) {
		out, err = tx.Library().List(ctx, f)
		return err
	})
	out, next := domain.CutPage(out, want, func(d impact.Definition) string { return d.Code })
	return out, next, err
}

// Assign attaches an indicator to an agreement, or to one of its pilots (officer).
func (s *Service) Assign(ctx context.Context, tenant, agreementID, pilotID uuid.UUID, in impact.Assignment) (*Assignment, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	if !officer(p, tenant) {
		return nil, domain.ErrForbidden
	}
	var out *Assignment
	err = s.store.Atomic(ctx, tenant, func(tx Tx) (err error) {
		out, err = AssignIn(ctx, tx, p, tenant, agreementID, pilotID, in, s.now())
		return err
	})
	return out, err
}

// AssignIn attaches an indicator in tx, with its audit record: Assign, and
// use cases of other contexts that assign inside their own transaction (a
// replication's template), share it. The caller has checked that p is an
// officer of tenant.
func AssignIn(ctx context.Context, tx Tx, p domain.Principal, tenant, agreementID, pilotID uuid.UUID, in impact.Assignment, now time.Time) (*Assignment, error) {
	a, err := tx.Agreements().Get(ctx, agreementID)
	if err != nil {
		return nil, err
	}
	if a.Status == agreement.StatusClosed || a.Status == agreement.StatusTerminated {
		return nil, ErrAgreementNotLive
	}
	if pilotID != uuid.Nil {
		pl, err := tx.Pilots().Get(ctx, pilotID)
		if err != nil {
			return nil, err
		}
		if pl.AgreementID != agreementID {
			return nil, domain.Errorf(domain.KindInvalid, "pilot_of_another_agreement", "the pilot belongs to another agreement").WithField("pilotId")
		}
	}
	def, err := tx.Library().Get(ctx, in.Indicator)
	if err != nil {
		return nil, err
	}
	if in.Frequency == "" {
		in.Frequency = def.Frequency // reported as often as it is measured, unless said otherwise
	}
	if err := in.Validate(*def); err != nil {
		return nil, err
	}
	// An indicator is measured once per agreement, or once per pilot of it:
	// a second assignment would count its progress and its payments twice.
	// Add refuses it (ErrAlreadyAssigned), concurrent transactions included.
	as := &Assignment{TenantID: tenant, ID: domain.NewID(), AgreementID: agreementID, PilotID: pilotID, Assignment: in, CreatedAt: now}
	if err := tx.Assignments().Add(ctx, as); err != nil {
		return nil, err
	}
	return as, tx.Audit().Append(ctx, audit.New(tenant, p, as.CreatedAt, "indicator.assigned", "agreement", agreementID,
		map[string]any{"assignment": as.ID, "indicator": in.Indicator, "pilot": pilotID}))
}

// AddRule attaches a payment rule to an assignment of an outcome-based or
// mixed agreement (officer).
func (s *Service) AddRule(ctx context.Context, tenant, assignmentID uuid.UUID, r payment.Rule) (*Rule, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	if !officer(p, tenant) {
		return nil, domain.ErrForbidden
	}
	var out *Rule
	err = s.store.Atomic(ctx, tenant, func(tx Tx) (err error) {
		out, err = AddRuleIn(ctx, tx, p, tenant, assignmentID, r, s.now())
		return err
	})
	return out, err
}

// AddRuleIn attaches a payment rule in tx, with its audit record (see AssignIn).
func AddRuleIn(ctx context.Context, tx Tx, p domain.Principal, tenant, assignmentID uuid.UUID, r payment.Rule, now time.Time) (*Rule, error) {
	as, err := tx.Assignments().Get(ctx, assignmentID)
	if err != nil {
		return nil, err
	}
	a, err := tx.Agreements().Get(ctx, as.AgreementID)
	if err != nil {
		return nil, err
	}
	if a.Budget.OutcomeCents == 0 {
		return nil, ErrNoOutcomeBudget
	}
	r.ID, r.Indicator = domain.NewID(), as.Indicator
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if r.CapCents > a.Budget.OutcomeCents {
		return nil, domain.Errorf(domain.KindInvalid, "cap_over_outcome_budget", "a rule's cap cannot exceed the agreement's outcome budget").WithField("capCents")
	}
	rule := &Rule{TenantID: tenant, AssignmentID: assignmentID, Rule: r, CreatedAt: now}
	if err := tx.Payments().AddRule(ctx, rule); err != nil {
		return nil, err
	}
	return rule, tx.Audit().Append(ctx, audit.New(tenant, p, rule.CreatedAt, "payment_rule.added", "agreement", a.ID,
		map[string]any{"rule": r.ID, "trigger": r.Trigger, "capCents": r.CapCents}))
}

// SubmitInput is what a partner reports for one period.
type SubmitInput struct {
	Period      string
	Value       impact.Value
	Numerator   *impact.Value
	Denominator *impact.Value
	People      []impact.PeopleCount
	Evidence    string
}

func (in SubmitInput) validate(as *Assignment) error {
	freq := as.Frequency
	if !impact.ValidPeriod(freq, in.Period) {
		return ErrInvalidPeriod.WithField("period")
	}
	if err := impact.ValidateCounts(in.People); err != nil {
		return err
	}
	if utf8.RuneCountInString(in.Evidence) > 2000 {
		return ErrEvidence.WithField("evidence")
	}
	if in.Denominator != nil && *in.Denominator <= 0 {
		return domain.Errorf(domain.KindInvalid, "invalid_denominator", "a denominator is positive").WithField("denominator")
	}
	return nil
}

// Submit reports a measurement for a period (a member of one of the parties).
func (s *Service) Submit(ctx context.Context, tenant, assignmentID uuid.UUID, in SubmitInput) (*Measurement, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	var out *Measurement
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		as, a, err := s.load(ctx, tx, p, tenant, assignmentID)
		if err != nil {
			return err
		}
		org, ok := partyOf(p, a)
		if !ok {
			return domain.ErrForbidden.WithMessage("measurements are reported by the agreement's parties")
		}
		if a.Status != agreement.StatusActive {
			return ErrAgreementNotLive
		}
		if err := in.validate(as); err != nil {
			return err
		}
		rev, err := tx.Measurements().LatestRevision(ctx, assignmentID, in.Period)
		if err != nil {
			return err
		}
		if rev > 0 {
			return ErrPeriodTaken
		}
		now := s.now()
		m := &Measurement{TenantID: tenant, ID: domain.NewID(), AssignmentID: assignmentID, Period: in.Period, Revision: 1, Value: in.Value,
			Numerator: in.Numerator, Denominator: in.Denominator, People: in.People, Evidence: strings.TrimSpace(in.Evidence),
			OrganisationID: org, SubmittedBy: p.Subject, SubmittedAt: now, Status: "submitted", Version: 1}
		if err := tx.Measurements().Add(ctx, m); err != nil {
			return err
		}
		out = m
		return tx.Audit().Append(ctx, audit.New(tenant, p, now, "measurement.submitted", "measurement", m.ID,
			map[string]any{"assignment": assignmentID, "period": in.Period, "value": in.Value.String()}))
	})
	return out, err
}

// load returns an assignment and its agreement, if the caller may read them.
func (s *Service) load(ctx context.Context, tx Tx, p domain.Principal, tenant, assignmentID uuid.UUID) (*Assignment, *agreement.Agreement, error) {
	as, err := tx.Assignments().Get(ctx, assignmentID)
	if err != nil {
		return nil, nil, err
	}
	a, err := tx.Agreements().Get(ctx, as.AgreementID)
	if err != nil {
		return nil, nil, err
	}
	if _, party := partyOf(p, a); !party && !staffReader(p, tenant) {
		return nil, nil, ErrAssignmentNotFound
	}
	return as, a, nil
}

// Correct reports a new revision of a rejected, disputed or verified
// measurement, with a reason; the earlier revision stays as it was.
func (s *Service) Correct(ctx context.Context, tenant, measurementID uuid.UUID, in SubmitInput, why string) (*Measurement, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	why, err = reason(why)
	if err != nil {
		return nil, err
	}
	var out *Measurement
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		old, err := tx.Measurements().Get(ctx, measurementID)
		if err != nil {
			return err
		}
		as, a, err := s.load(ctx, tx, p, tenant, old.AssignmentID)
		if err != nil {
			return err
		}
		org, ok := partyOf(p, a)
		if !ok {
			return domain.ErrForbidden
		}
		switch old.Status {
		case "rejected", "disputed", "verified", "locked":
		default:
			return ErrStep.WithMessage("a %s measurement is not corrected; it is still under review", old.Status)
		}
		rev, err := tx.Measurements().LatestRevision(ctx, old.AssignmentID, old.Period)
		if err != nil {
			return err
		}
		if rev != old.Revision {
			return ErrStep.WithMessage("correct the latest revision (%d) of this period", rev)
		}
		in.Period = old.Period
		if err := in.validate(as); err != nil {
			return err
		}
		now := s.now()
		m := &Measurement{TenantID: tenant, ID: domain.NewID(), AssignmentID: old.AssignmentID, Period: old.Period, Revision: old.Revision + 1,
			Value: in.Value, Numerator: in.Numerator, Denominator: in.Denominator, People: in.People, Evidence: strings.TrimSpace(in.Evidence),
			OrganisationID: org, SubmittedBy: p.Subject, SubmittedAt: now, Status: "submitted", Reason: why, Version: 1}
		if err := tx.Measurements().Add(ctx, m); err != nil {
			return err
		}
		out = m
		return tx.Audit().Append(ctx, audit.New(tenant, p, now, "measurement.corrected", "measurement", m.ID,
			map[string]any{"supersedes": old.ID, "revision": m.Revision, "reason": why, "value": in.Value.String()}))
	})
	return out, err
}

// Decide verifies, rejects or disputes a measurement. Verification and
// rejection belong to an officer who is not the submitter; verification
// locks the measurement and computes the outcome payments it earns, in the
// same transaction. A dispute may be raised by the officer or the parties.
func (s *Service) Decide(ctx context.Context, tenant, measurementID uuid.UUID, to impact.MeasurementStatus, why string, ifVersion int) (*Measurement, []*Payment, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, nil, err
	}
	var out *Measurement
	var pays []*Payment
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		pays = nil
		m, err := tx.Measurements().Get(ctx, measurementID)
		if err != nil {
			return err
		}
		as, a, err := s.load(ctx, tx, p, tenant, m.AssignmentID)
		if err != nil {
			return err
		}
		_, party := partyOf(p, a)
		switch {
		case to == "disputed" && !party && !officer(p, tenant):
			return domain.ErrForbidden
		case to != "disputed" && !officer(p, tenant):
			return domain.ErrForbidden
		}
		if m.Status == "locked" {
			return ErrLocked
		}
		if ifVersion != 0 && ifVersion != m.Version {
			return domain.ErrStale
		}
		if !impact.CanTransition(m.Status, to) {
			return ErrStep.WithMessage("a %s measurement cannot become %s", m.Status, to)
		}
		if to == "verified" || to == "rejected" {
			if err := impact.FourEyes(m.SubmittedBy, p.Subject); err != nil {
				return err
			}
		}
		if to != "verified" {
			if why, err = reason(why); err != nil {
				return err
			}
		}
		now := s.now()
		m.Status, m.DecidedBy, m.DecidedAt, m.Reason = to, p.Subject, now, strings.TrimSpace(why)
		if to == "verified" {
			m.Status = "locked" // a verified measurement is locked at once: nothing changes it any more
			if pays, err = s.computePayments(ctx, tx, a, as, m, now); err != nil {
				return err
			}
		}
		m.Version++
		if err := tx.Measurements().Update(ctx, m); err != nil {
			return err
		}
		out = m
		summary := map[string]any{"to": to, "reason": m.Reason}
		if len(pays) > 0 {
			var total int64
			for _, py := range pays {
				total += py.Cents
			}
			summary["paymentsComputedCents"] = total
		}
		return tx.Audit().Append(ctx, audit.New(tenant, p, now, "measurement."+string(to), "measurement", m.ID, summary))
	})
	return out, pays, err
}

// computePayments applies every rule of the assignment to a verified
// measurement. A rule computes at most once per period (the unique key of
// payments backs this up), so verifying a correction pays only any further
// improvement.
func (s *Service) computePayments(ctx context.Context, tx Tx, a *agreement.Agreement, as *Assignment, m *Measurement, now time.Time) ([]*Payment, error) {
	rules, err := tx.Payments().Rules(ctx, as.ID)
	if err != nil || len(rules) == 0 {
		return nil, err
	}
	all, err := tx.Payments().ForAgreement(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	var spent int64
	for _, py := range all {
		if py.Status != payment.Withheld {
			spent += py.Cents
		}
	}
	var out []*Payment
	for _, r := range rules {
		ledger := payment.Ledger{AgreementRemainingCents: max(0, a.Budget.OutcomeCents-spent)}
		for _, py := range all {
			if py.RuleID != r.ID {
				continue
			}
			ledger.PeriodsPaid = append(ledger.PeriodsPaid, py.Period)
			if py.Status != payment.Withheld {
				ledger.PaidOrComputedCents += py.Cents
			}
		}
		due, err := payment.Compute(r.Rule, payment.Measurement{Period: m.Period, ValueMilli: payment.Milli(m.Value), HasEvidence: m.Evidence != ""}, ledger)
		if err != nil {
			var de *domain.Error
			if errors.As(err, &de) && de.Code == "evidence_required" {
				return nil, err // the officer cannot verify without the evidence the rule demands
			}
			return nil, err
		}
		if slices.Contains(ledger.PeriodsPaid, m.Period) {
			continue // already computed for this period: idempotent
		}
		py := &Payment{TenantID: a.TenantID, ID: domain.NewID(), RuleID: r.ID, AgreementID: a.ID, MeasurementID: m.ID, Period: m.Period,
			Cents: due.Cents, EarnedCents: due.EarnedCents, Reason: string(due.Reason), Final: r.Final, Status: payment.Computed,
			CreatedAt: now, UpdatedAt: now, Version: 1}
		if err := tx.Payments().Add(ctx, py); err != nil {
			return nil, err
		}
		spent += py.Cents
		all = append(all, py)
		out = append(out, py)
	}
	return out, nil
}

// MovePayment approves (with the act in note), pays, withholds or disputes
// an outcome payment (officer; a party may dispute).
func (s *Service) MovePayment(ctx context.Context, tenant, paymentID uuid.UUID, to payment.Status, note string, ifVersion int) (*Payment, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	var out *Payment
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		py, err := tx.Payments().Get(ctx, paymentID)
		if err != nil {
			return err
		}
		a, err := tx.Agreements().Get(ctx, py.AgreementID)
		if err != nil {
			return err
		}
		_, party := partyOf(p, a)
		if !officer(p, tenant) && !(party && to == payment.Disputed) {
			if !party && !staffReader(p, tenant) {
				return ErrPaymentNotFound
			}
			return domain.ErrForbidden
		}
		if ifVersion != 0 && ifVersion != py.Version {
			return domain.ErrStale
		}
		if err := payment.Transition(py.Status, to, note); err != nil {
			return err
		}
		now := s.now()
		prev := py.Status
		py.Status, py.Note, py.UpdatedAt = to, strings.TrimSpace(note), now
		py.Version++
		if err := tx.Payments().Update(ctx, py); err != nil {
			return err
		}
		out = py
		return tx.Audit().Append(ctx, audit.New(tenant, p, now, "payment."+string(to), "payment", py.ID,
			map[string]any{"from": prev, "to": to, "note": py.Note, "cents": py.Cents}))
	})
	return out, err
}

// Measurements lists the latest revision of each period of an assignment.
func (s *Service) Measurements(ctx context.Context, tenant, assignmentID uuid.UUID) ([]*Measurement, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	var out []*Measurement
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		if _, _, err := s.load(ctx, tx, p, tenant, assignmentID); err != nil {
			return err
		}
		out, err = tx.Measurements().Latest(ctx, assignmentID)
		return err
	})
	return out, err
}

// Payments lists the outcome payments of an agreement.
func (s *Service) Payments(ctx context.Context, tenant, agreementID uuid.UUID) ([]*Payment, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	var out []*Payment
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		a, err := tx.Agreements().Get(ctx, agreementID)
		if err != nil {
			return err
		}
		if _, party := partyOf(p, a); !party && !staffReader(p, tenant) {
			return agreement.ErrNotFound
		}
		out, err = tx.Payments().ForAgreement(ctx, agreementID)
		return err
	})
	return out, err
}
