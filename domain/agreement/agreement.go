// Package agreement models the partnership agreement (convenzione) that
// follows a co-design: parties and their budget shares, objectives,
// duration, budget with co-funding, payment mode and schedule, deliverables,
// signatures, lifecycle draft → signed → active ⇄ suspended → closed |
// terminated, and versioned amendments. Pilots (sperimentazioni) run inside
// an agreement: designed → running → evaluating → decided (scale | iterate |
// stop), linked to their follow-up.
package agreement

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
)

// Status of an agreement.
type Status string

const (
	StatusDraft      Status = "draft"
	StatusSigned     Status = "signed"
	StatusActive     Status = "active"
	StatusSuspended  Status = "suspended"
	StatusClosed     Status = "closed"
	StatusTerminated Status = "terminated"
)

// Party is an organisation bound by the agreement.
type Party struct {
	OrganisationID   uuid.UUID
	Role             string // lead or partner
	BudgetShareCents int64  // its share of the public contribution
	SignedBy         string
	SignedAt         time.Time
}

// Budget of the agreement, in cents.
type Budget struct {
	PublicCents          int64 // public contribution
	OutcomeCents         int64 // the part of it paid on verified outcomes
	CofundingCashCents   int64
	CofundingInKindCents int64
}

// Instalment of the payment schedule (e.g. 30% advance, 30% milestone, 40% final).
type Instalment struct {
	Label   string
	Percent int
}

// Amendment is a versioned change of a signed agreement.
type Amendment struct {
	Version int
	Reason  string
	At      time.Time
	By      string
	Changes map[string]any
}

// Agreement (convenzione) between a municipality and organisations.
type Agreement struct {
	TenantID          uuid.UUID
	ID                uuid.UUID
	CallID            uuid.UUID // the call it follows, if any
	Title             string
	Objectives        []string
	Obligations       []string
	RevocationGrounds []string
	Parties           []Party
	Start, End        time.Time
	Budget            Budget
	PaymentMode       string // cost_reimbursement, outcome_based, mixed
	Schedule          []Instalment
	OfficerSignedBy   string
	OfficerSignedAt   time.Time
	Status            Status
	StatusReason      string
	Amendments        []Amendment
	CreatedAt         time.Time
	UpdatedAt         time.Time
	Version           int
}

var (
	ErrNotFound       = domain.Errorf(domain.KindNotFound, "agreement_not_found", "no such agreement")
	ErrNotDraft       = domain.Errorf(domain.KindPrecondition, "agreement_not_draft", "only a draft agreement is edited; a signed one changes by amendment")
	ErrTransition     = domain.Errorf(domain.KindPrecondition, "invalid_agreement_transition", "this status change is not allowed")
	ErrInvalid        = domain.Errorf(domain.KindInvalid, "invalid_agreement", "the agreement is not valid")
	ErrParties        = domain.Errorf(domain.KindInvalid, "invalid_parties", "one lead and distinct partners; budget shares are non-negative and sum to at most the public contribution")
	ErrSchedule       = domain.Errorf(domain.KindInvalid, "invalid_schedule", "instalments have a label and percentages (1-100) summing to 100")
	ErrBudget         = domain.Errorf(domain.KindInvalid, "invalid_budget", "amounts are non-negative cents and the outcome part does not exceed the public contribution")
	ErrPaymentMode    = domain.Errorf(domain.KindInvalid, "invalid_payment_mode", "cost_reimbursement, outcome_based or mixed; outcome modes need an outcome budget")
	ErrDates          = domain.Errorf(domain.KindInvalid, "invalid_dates", "the agreement ends after it starts")
	ErrNotParty       = domain.Errorf(domain.KindForbidden, "not_a_party", "you do not act for a party of this agreement")
	ErrAlreadySigned  = domain.Errorf(domain.KindConflict, "already_signed", "already signed")
	ErrReasonRequired = domain.Errorf(domain.KindInvalid, "reason_required", "a reason of 3-2000 characters is required")
)

// PaymentModes accepted.
var PaymentModes = []string{"cost_reimbursement", "outcome_based", "mixed"}

func textList(list []string, max int) bool {
	if len(list) > max {
		return false
	}
	for _, s := range list {
		if strings.TrimSpace(s) == "" || utf8.RuneCountInString(s) > 4000 {
			return false
		}
	}
	return true
}

// Validate checks the agreement's content.
func (a *Agreement) Validate() error {
	a.Title = strings.TrimSpace(a.Title)
	if n := utf8.RuneCountInString(a.Title); n < 3 || n > 300 {
		return ErrInvalid.WithMessage("the title is 3-300 characters").WithField("title")
	}
	if !textList(a.Objectives, 50) || len(a.Objectives) == 0 {
		return ErrInvalid.WithMessage("objectives: 1-50 non-empty texts").WithField("objectives")
	}
	if !textList(a.Obligations, 100) || !textList(a.RevocationGrounds, 50) {
		return ErrInvalid.WithMessage("obligations and revocation grounds are non-empty texts").WithField("obligations")
	}
	if a.Start.IsZero() || !a.End.After(a.Start) {
		return ErrDates.WithField("end")
	}
	b := a.Budget
	if b.PublicCents < 0 || b.OutcomeCents < 0 || b.CofundingCashCents < 0 || b.CofundingInKindCents < 0 || b.OutcomeCents > b.PublicCents || b.PublicCents > 1e13 {
		return ErrBudget.WithField("budget")
	}
	if !slices.Contains(PaymentModes, a.PaymentMode) || (a.PaymentMode != "cost_reimbursement") != (b.OutcomeCents > 0) {
		return ErrPaymentMode.WithField("paymentMode")
	}
	leads, seen, shares := 0, map[uuid.UUID]bool{}, int64(0)
	for _, p := range a.Parties {
		if p.OrganisationID == uuid.Nil || seen[p.OrganisationID] || (p.Role != "lead" && p.Role != "partner") || p.BudgetShareCents < 0 {
			return ErrParties.WithField("parties")
		}
		seen[p.OrganisationID] = true
		shares += p.BudgetShareCents
		if p.Role == "lead" {
			leads++
		}
	}
	if leads != 1 || shares > b.PublicCents || len(a.Parties) > 21 {
		return ErrParties.WithField("parties")
	}
	if len(a.Schedule) > 0 {
		sum := 0
		for _, in := range a.Schedule {
			if strings.TrimSpace(in.Label) == "" || in.Percent < 1 || in.Percent > 100 {
				return ErrSchedule.WithField("schedule")
			}
			sum += in.Percent
		}
		if sum != 100 {
			return ErrSchedule.WithField("schedule")
		}
	}
	return nil
}

// New validates a draft agreement.
func New(tenant uuid.UUID, a Agreement, now time.Time) (*Agreement, error) {
	a.TenantID, a.ID, a.Status, a.CreatedAt, a.UpdatedAt, a.Version = tenant, domain.NewID(), StatusDraft, now, now, 1
	a.OfficerSignedBy, a.OfficerSignedAt, a.Amendments, a.StatusReason = "", time.Time{}, nil, ""
	for i := range a.Parties {
		a.Parties[i].SignedBy, a.Parties[i].SignedAt = "", time.Time{}
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	return &a, nil
}

// Edit replaces a draft's content.
func (a *Agreement) Edit(next Agreement, now time.Time) error {
	if a.Status != StatusDraft {
		return ErrNotDraft
	}
	n, err := New(a.TenantID, next, now)
	if err != nil {
		return err
	}
	n.ID, n.CreatedAt, n.Version = a.ID, a.CreatedAt, a.Version
	*a = *n
	return nil
}

// Party returns the party acting as org, if any.
func (a *Agreement) Party(org uuid.UUID) *Party {
	for i := range a.Parties {
		if a.Parties[i].OrganisationID == org {
			return &a.Parties[i]
		}
	}
	return nil
}

// Organisations of the agreement.
func (a *Agreement) Organisations() []uuid.UUID {
	out := make([]uuid.UUID, 0, len(a.Parties))
	for _, p := range a.Parties {
		out = append(out, p.OrganisationID)
	}
	return out
}

func (a *Agreement) allSigned() bool {
	if a.OfficerSignedBy == "" {
		return false
	}
	for _, p := range a.Parties {
		if p.SignedBy == "" {
			return false
		}
	}
	return true
}

// SignOfficer records the municipality's signature (the responsible officer).
func (a *Agreement) SignOfficer(by string, now time.Time) error {
	if a.Status != StatusDraft {
		return ErrTransition.WithMessage("only a draft is signed; this agreement is %s", a.Status)
	}
	if a.OfficerSignedBy != "" {
		return ErrAlreadySigned
	}
	a.OfficerSignedBy, a.OfficerSignedAt, a.UpdatedAt = by, now, now
	if a.allSigned() {
		a.Status = StatusSigned
	}
	return nil
}

// SignParty records the signature of a party's org admin.
func (a *Agreement) SignParty(org uuid.UUID, by string, now time.Time) error {
	if a.Status != StatusDraft {
		return ErrTransition.WithMessage("only a draft is signed; this agreement is %s", a.Status)
	}
	p := a.Party(org)
	if p == nil {
		return ErrNotParty
	}
	if p.SignedBy != "" {
		return ErrAlreadySigned
	}
	p.SignedBy, p.SignedAt, a.UpdatedAt = by, now, now
	if a.allSigned() {
		a.Status = StatusSigned
	}
	return nil
}

var transitions = map[string]struct {
	from       []Status
	to         Status
	needReason bool
}{
	"activate":  {[]Status{StatusSigned}, StatusActive, false},
	"suspend":   {[]Status{StatusActive}, StatusSuspended, true},
	"resume":    {[]Status{StatusSuspended}, StatusActive, false},
	"close":     {[]Status{StatusActive}, StatusClosed, false},
	"terminate": {[]Status{StatusActive, StatusSuspended}, StatusTerminated, true},
}

// Transition applies activate, suspend, resume, close or terminate.
func (a *Agreement) Transition(action, reason string, now time.Time) (Status, error) {
	tr, ok := transitions[action]
	if !ok {
		return "", ErrTransition.WithMessage("unknown action %q", action)
	}
	if !slices.Contains(tr.from, a.Status) {
		return "", ErrTransition.WithMessage("cannot %s an agreement that is %s", action, a.Status)
	}
	if n := utf8.RuneCountInString(strings.TrimSpace(reason)); tr.needReason && (n < 3 || n > 2000) {
		return "", ErrReasonRequired.WithField("reason")
	}
	prev := a.Status
	a.Status, a.StatusReason, a.UpdatedAt = tr.to, strings.TrimSpace(reason), now
	return prev, nil
}

// Amend changes a signed or active agreement's end date, budget, objectives
// or schedule, with a reason; the change is versioned.
func (a *Agreement) Amend(next Agreement, reason, by string, now time.Time) (*Amendment, error) {
	if a.Status != StatusSigned && a.Status != StatusActive && a.Status != StatusSuspended {
		return nil, ErrTransition.WithMessage("only a signed agreement is amended; this one is %s", a.Status)
	}
	if n := utf8.RuneCountInString(strings.TrimSpace(reason)); n < 3 || n > 2000 {
		return nil, ErrReasonRequired.WithField("reason")
	}
	changes := map[string]any{}
	cand := *a
	if !next.End.IsZero() && !next.End.Equal(a.End) {
		changes["end"] = map[string]any{"from": a.End, "to": next.End}
		cand.End = next.End
	}
	if next.Budget != (Budget{}) && next.Budget != a.Budget {
		changes["budget"] = map[string]any{"from": a.Budget, "to": next.Budget}
		cand.Budget = next.Budget
	}
	if next.Objectives != nil && !slices.Equal(next.Objectives, a.Objectives) {
		changes["objectives"] = map[string]any{"from": a.Objectives, "to": next.Objectives}
		cand.Objectives = next.Objectives
	}
	if next.Schedule != nil && !slices.Equal(next.Schedule, a.Schedule) {
		changes["schedule"] = map[string]any{"from": a.Schedule, "to": next.Schedule}
		cand.Schedule = next.Schedule
	}
	if len(changes) == 0 {
		return nil, ErrInvalid.WithMessage("the amendment changes nothing")
	}
	if err := cand.Validate(); err != nil {
		return nil, err
	}
	am := Amendment{Version: len(a.Amendments) + 2, Reason: strings.TrimSpace(reason), At: now, By: by, Changes: changes}
	cand.Amendments = append(slices.Clone(a.Amendments), am)
	cand.UpdatedAt = now
	*a = cand
	return &am, nil
}

// Deliverable is a requirement with a due date, reviewed by the municipality.
type Deliverable struct {
	TenantID    uuid.UUID
	ID          uuid.UUID
	AgreementID uuid.UUID
	Title       string
	Due         time.Time
	Status      string // new, submitted, in_review, approved, rejected
	Note        string // the party's submission note, or the reviewer's reason
	SubmittedBy string
	ReviewedBy  string
	UpdatedAt   time.Time
	Version     int
}

var deliverableFlow = map[string][]string{
	"new": {"submitted"}, "submitted": {"in_review"}, "in_review": {"approved", "rejected"}, "rejected": {"submitted"},
}

// ErrDeliverable is a refused deliverable step.
var ErrDeliverable = domain.Errorf(domain.KindPrecondition, "invalid_deliverable_transition", "this deliverable step is not allowed")

// Move advances a deliverable: new → submitted → in_review → approved |
// rejected; a rejected one may be submitted again.
func (d *Deliverable) Move(to, note, by string, now time.Time) error {
	if !slices.Contains(deliverableFlow[d.Status], to) {
		return ErrDeliverable.WithMessage("a %s deliverable cannot become %s", d.Status, to)
	}
	if to == "rejected" && strings.TrimSpace(note) == "" {
		return ErrReasonRequired.WithField("note")
	}
	if to == "submitted" {
		d.SubmittedBy = by
	} else {
		d.ReviewedBy = by
	}
	d.Status, d.Note, d.UpdatedAt = to, strings.TrimSpace(note), now
	return nil
}
