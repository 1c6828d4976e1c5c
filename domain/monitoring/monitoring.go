// Package monitoring runs the reporting of agreements and pilots
// (rendicontazione): the tenant's indicator library, indicators assigned to
// an agreement or a pilot, measurements submitted by the partners and
// verified by an officer who is not the submitter (four eyes), outcome
// payments computed from verified measurements, and progress. The rules
// live in domain/impact and domain/payment; this package decides who may do
// what, when, in one transaction per change with its audit record.
package monitoring

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/agreement"
	"github.com/coprod/coprod/domain/audit"
	"github.com/coprod/coprod/domain/impact"
	"github.com/coprod/coprod/domain/payment"
	"github.com/coprod/coprod/domain/pilot"
)

// Assignment of a library indicator to an agreement (PilotID zero) or to one
// of its pilots.
type Assignment struct {
	TenantID    uuid.UUID
	ID          uuid.UUID
	AgreementID uuid.UUID
	PilotID     uuid.UUID
	impact.Assignment
	CreatedAt time.Time
}

// Measurement of an assignment for one period. Revision counts corrections:
// a correction is a new revision with a reason; earlier ones stay as they were.
type Measurement struct {
	TenantID       uuid.UUID
	ID             uuid.UUID
	AssignmentID   uuid.UUID
	Period         string
	Revision       int
	Value          impact.Value
	Numerator      *impact.Value
	Denominator    *impact.Value
	People         []impact.PeopleCount
	Evidence       string // where the evidence is (document reference or URL)
	OrganisationID uuid.UUID
	SubmittedBy    string
	SubmittedAt    time.Time
	Status         impact.MeasurementStatus
	DecidedBy      string
	DecidedAt      time.Time
	Reason         string // of a rejection, a dispute or a correction
	Version        int
}

// Rule is a payment rule attached to an assignment.
type Rule struct {
	TenantID     uuid.UUID
	AssignmentID uuid.UUID
	payment.Rule
	CreatedAt time.Time
}

// Payment is an outcome payment computed from a verified measurement.
type Payment struct {
	TenantID      uuid.UUID
	ID            uuid.UUID
	RuleID        uuid.UUID
	AgreementID   uuid.UUID
	MeasurementID uuid.UUID
	Period        string
	Cents         int64
	EarnedCents   int64
	Reason        string
	Final         bool
	Status        payment.Status
	Note          string // the approving act, or the reason of a withholding or dispute
	CreatedAt     time.Time
	UpdatedAt     time.Time
	Version       int
}

var (
	ErrAssignmentNotFound  = domain.Errorf(domain.KindNotFound, "assignment_not_found", "no such indicator assignment")
	ErrMeasurementNotFound = domain.Errorf(domain.KindNotFound, "measurement_not_found", "no such measurement")
	ErrPaymentNotFound     = domain.Errorf(domain.KindNotFound, "payment_not_found", "no such payment")
	ErrDefinitionNotFound  = domain.Errorf(domain.KindNotFound, "indicator_not_found", "no such indicator in this tenant's library")
	ErrAgreementNotLive    = domain.Errorf(domain.KindPrecondition, "agreement_not_active", "measurements are reported while the agreement is active")
	ErrPeriodTaken         = domain.Errorf(domain.KindConflict, "period_already_reported", "this period is already reported; correct the existing measurement instead")
	ErrLocked              = domain.Errorf(domain.KindPrecondition, "measurement_locked", "a verified measurement is locked; correct it with a new revision")
	ErrStep                = domain.Errorf(domain.KindPrecondition, "invalid_measurement_transition", "this measurement cannot take that step now")
	ErrInvalidPeriod       = domain.Errorf(domain.KindInvalid, "invalid_period", "the period does not match the assignment's frequency")
	ErrReason              = domain.Errorf(domain.KindInvalid, "reason_required", "a reason of 3-2000 characters is required")
	ErrNoOutcomeBudget     = domain.Errorf(domain.KindPrecondition, "no_outcome_payments", "the agreement pays no outcomes (cost reimbursement)")
	ErrEvidence            = domain.Errorf(domain.KindInvalid, "invalid_evidence", "evidence is a reference of at most 2000 characters")
	ErrAlreadyAssigned     = domain.Errorf(domain.KindConflict, "indicator_already_assigned", "this indicator is already assigned to the agreement (or to this pilot of it)")
)

// Store runs monitoring use cases in one tenant-scoped transaction each.
type Store interface {
	Atomic(ctx context.Context, tenant uuid.UUID, fn func(Tx) error) error
}

// Tx is one transaction.
type Tx interface {
	Agreements() agreement.Repository
	Pilots() pilot.Repository
	Library() Library
	Assignments() Assignments
	Measurements() Measurements
	Payments() Payments
	Audit() audit.Log
}

// Library of indicator definitions of the tenant.
type Library interface {
	Add(ctx context.Context, d impact.Definition) error // conflict when the code exists
	Get(ctx context.Context, code string) (*impact.Definition, error)
	// List returns up to f.Limit definitions after the code f.After, in
	// code order.
	List(ctx context.Context, f LibraryFilter) ([]impact.Definition, error)
}

// LibraryFilter selects a page of the library; a definition's code is its
// key, so pages follow the codes.
type LibraryFilter struct {
	After string // a code
	Limit int
}

// Assignments of indicators.
type Assignments interface {
	// Add stores a new assignment; ErrAlreadyAssigned when the agreement
	// (or the same pilot of it) has the indicator already, also when a
	// concurrent transaction assigned it first.
	Add(ctx context.Context, a *Assignment) error
	Get(ctx context.Context, id uuid.UUID) (*Assignment, error)
	ForAgreement(ctx context.Context, agreement uuid.UUID) ([]*Assignment, error)
}

// Measurements of assignments.
type Measurements interface {
	Add(ctx context.Context, m *Measurement) error
	Update(ctx context.Context, m *Measurement) error // version check
	Get(ctx context.Context, id uuid.UUID) (*Measurement, error)
	// Latest returns the latest revision of each period of an assignment.
	Latest(ctx context.Context, assignment uuid.UUID) ([]*Measurement, error)
	// LatestRevision is the latest revision of one period of an
	// assignment, 0 when it has none.
	LatestRevision(ctx context.Context, assignment uuid.UUID, period string) (int, error)
}

// Payments: rules and computed payments.
type Payments interface {
	AddRule(ctx context.Context, r *Rule) error
	Rules(ctx context.Context, assignment uuid.UUID) ([]*Rule, error)
	Add(ctx context.Context, p *Payment) error
	Update(ctx context.Context, p *Payment) error // version check
	Get(ctx context.Context, id uuid.UUID) (*Payment, error)
	ForRule(ctx context.Context, rule uuid.UUID) ([]*Payment, error)
	ForAgreement(ctx context.Context, agreement uuid.UUID) ([]*Payment, error)
}
