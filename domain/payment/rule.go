package payment

import (
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
)

// Milli is an indicator value in thousandths of the indicator's unit
// (1500 is 1.5 units). It mirrors impact.Value without importing it.
type Milli int64

// Trigger is what makes a rule pay.
type Trigger string

// Triggers.
const (
	Threshold Trigger = "threshold" // a fixed amount once the value reaches a threshold
	PerUnit   Trigger = "per_unit"  // a price per unit of improvement beyond the baseline
	Milestone Trigger = "milestone" // a fixed amount once a milestone is verified achieved
)

// Direction says which way is better for the indicator.
type Direction string

// Directions.
const (
	Increase Direction = "increase" // higher is better
	Decrease Direction = "decrease" // lower is better
)

// Limits.
const (
	MaxCents        int64 = 10_000_000_000_000 // 1e13 cents, 100 billion euro: the largest amount, price or cap
	MaxIndicatorLen       = 100                // bytes of Rule.Indicator
	MaxPeriodLen          = 64                 // bytes of Measurement.Period
)

// Rule is a payment rule of an outcome-based agreement (pay-by-result).
// Money is in euro cents, values in thousandths of the indicator's unit.
type Rule struct {
	ID        uuid.UUID // assigned by the caller; not checked by Validate
	Indicator string    // the indicator's code
	Trigger   Trigger
	Direction Direction // required for per_unit and threshold; optional for milestone

	BaselineMilli  Milli // per_unit: units are counted beyond the baseline; ignored otherwise
	ThresholdMilli Milli // threshold: the value to reach (≥ for increase, ≤ for decrease); ignored otherwise
	UnitPriceCents int64 // per_unit: price per whole unit beyond the baseline (> 0); must be 0 otherwise
	AmountCents    int64 // threshold and milestone: the amount paid once when reached (> 0, ≤ CapCents); must be 0 for per_unit
	CapCents       int64 // the most this rule ever pays, in total (> 0)

	Final            bool // interim (false) or final (true) payment; informational, Compute does not use it
	EvidenceRequired bool // a measurement without evidence cannot be computed
}

// Rule errors. Each is returned with the offending field named.
var (
	ErrIndicator            = domain.Errorf(domain.KindInvalid, "invalid_payment_indicator", "a payment rule names its indicator (1-%d bytes)", MaxIndicatorLen)
	ErrTrigger              = domain.Errorf(domain.KindInvalid, "invalid_payment_trigger", "the trigger is threshold, per_unit or milestone")
	ErrDirection            = domain.Errorf(domain.KindInvalid, "invalid_payment_direction", "the direction is increase or decrease")
	ErrCap                  = domain.Errorf(domain.KindInvalid, "invalid_payment_cap", "the cap is from 1 to %d cents", MaxCents)
	ErrUnitPrice            = domain.Errorf(domain.KindInvalid, "invalid_unit_price", "a per-unit rule has a unit price from 1 to %d cents", MaxCents)
	ErrAmount               = domain.Errorf(domain.KindInvalid, "invalid_payment_amount", "a threshold or milestone rule has an amount from 1 cent to its cap")
	ErrUnitPriceNotAllowed  = domain.Errorf(domain.KindInvalid, "unit_price_not_applicable", "only a per-unit rule has a unit price")
	ErrAmountNotAllowed     = domain.Errorf(domain.KindInvalid, "amount_not_applicable", "a per-unit rule has no fixed amount")
	ErrAmountAboveCap       = domain.Errorf(domain.KindInvalid, "payment_amount_above_cap", "the amount cannot exceed the rule's cap")
	ErrPeriod               = domain.Errorf(domain.KindInvalid, "invalid_measurement_period", "a measurement names its period (1-%d bytes)", MaxPeriodLen)
	ErrLedger               = domain.Errorf(domain.KindInvalid, "invalid_payment_ledger", "the amounts of a ledger are never negative")
	ErrEvidenceRequired     = domain.Errorf(domain.KindPrecondition, "evidence_required", "this payment rule requires evidence for the measurement")
	ErrInvalidTransition    = domain.Errorf(domain.KindPrecondition, "invalid_payment_transition", "the payment cannot move to this status")
	ErrTransitionNoteNeeded = domain.Errorf(domain.KindInvalid, "payment_transition_note_required", "this change of status needs a note: the formal act for approval, the reason for withholding or dispute")
)

// Validate checks the rule; the error names the offending field
// ("indicator", "trigger", "direction", "capCents", "unitPriceCents",
// "amountCents").
func (r *Rule) Validate() error {
	if !validText(r.Indicator, MaxIndicatorLen) {
		return ErrIndicator.WithField("indicator")
	}
	switch r.Trigger {
	case Threshold, PerUnit, Milestone:
	default:
		return ErrTrigger.WithField("trigger")
	}
	switch r.Direction {
	case Increase, Decrease:
	case "":
		if r.Trigger != Milestone {
			return ErrDirection.WithMessage("a %s rule needs a direction: increase or decrease", r.Trigger).WithField("direction")
		}
	default:
		return ErrDirection.WithField("direction")
	}
	if r.CapCents < 1 || r.CapCents > MaxCents {
		return ErrCap.WithField("capCents")
	}
	if r.UnitPriceCents < 0 || r.UnitPriceCents > MaxCents {
		return ErrUnitPrice.WithField("unitPriceCents")
	}
	if r.AmountCents < 0 || r.AmountCents > MaxCents {
		return ErrAmount.WithField("amountCents")
	}
	if r.Trigger == PerUnit {
		if r.UnitPriceCents == 0 {
			return ErrUnitPrice.WithField("unitPriceCents")
		}
		if r.AmountCents != 0 {
			return ErrAmountNotAllowed.WithField("amountCents")
		}
		return nil
	}
	if r.UnitPriceCents != 0 {
		return ErrUnitPriceNotAllowed.WithField("unitPriceCents")
	}
	if r.AmountCents == 0 {
		return ErrAmount.WithField("amountCents")
	}
	if r.AmountCents > r.CapCents {
		return ErrAmountAboveCap.WithField("amountCents")
	}
	return nil
}

func validText(s string, max int) bool {
	return strings.TrimSpace(s) != "" && len(s) <= max && utf8.ValidString(s)
}
