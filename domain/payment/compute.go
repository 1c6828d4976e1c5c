package payment

import (
	"math/bits"
	"slices"
)

// Measurement is a verified measurement of the rule's indicator for one period.
type Measurement struct {
	Period      string // the reporting period ("2025", "2025-Q3"): the idempotency key of a rule's payments
	ValueMilli  Milli  // the verified value; not used by milestone rules
	HasEvidence bool   // evidence is attached
	Milestone   bool   // milestone rules: the milestone was verified achieved
}

// Ledger is what a rule and its agreement have already computed, as the
// caller reads it from its payment records.
type Ledger struct {
	// PaidOrComputedCents is the total already computed for this rule in any
	// status except withheld (and cancelled, if the caller has it).
	PaidOrComputedCents int64
	// PeriodsPaid lists the periods that already have a payment computed for
	// this rule, in any status; a measurement of one of them earns nothing.
	PeriodsPaid []string
	// AgreementRemainingCents is what is left of the agreement's outcome budget,
	// shared by all its rules.
	AgreementRemainingCents int64
}

// Due is what a measurement earns under a rule.
type Due struct {
	Cents         int64  // the amount to compute for this period: never negative
	EarnedCents   int64  // E(m): the rule's total entitlement at this measurement, after the cap
	Reason        string // one of the Reason constants
	Capped        bool   // the rule's cap reduced the amount
	BudgetLimited bool   // the agreement's remaining budget reduced the amount
}

// Reasons reported in Due.Reason; stable, suitable for display and audit.
const (
	ReasonAlreadyComputed = "already computed"                         // the period is in Ledger.PeriodsPaid
	ReasonNoImprovement   = "no improvement beyond the baseline"       // per_unit: the value is not better than the baseline
	ReasonBelowOneCent    = "improvement worth less than one cent"     // per_unit: better than the baseline, but it rounds down to 0
	ReasonNotReached      = "threshold not reached"                    // threshold
	ReasonNotAchieved     = "milestone not achieved"                   // milestone
	ReasonNothingFurther  = "nothing beyond what was already computed" // earned, but no more than the ledger's total
	ReasonCapReached      = "rule cap reached"                         // more was earned, but the cap leaves nothing
	ReasonBudgetExhausted = "agreement budget exhausted"               // something is due, but the budget leaves nothing
	ReasonImprovement     = "improvement beyond the baseline"          // per_unit pays
	ReasonReached         = "threshold reached"                        // threshold pays
	ReasonAchieved        = "milestone achieved"                       // milestone pays
)

// Compute decides what a verified measurement m earns under rule r, given
// the ledger l of what the rule and its agreement already computed:
//
//	Cents = min( max(0, E(m) − l.PaidOrComputedCents), l.AgreementRemainingCents )
//
// where E(m) is the rule's total entitlement at m, at most r.CapCents (see
// the package documentation for E per trigger, the rounding and the order of
// the checks). It is pure, deterministic and uses integers only.
func Compute(r Rule, m Measurement, l Ledger) (Due, error) {
	if err := r.Validate(); err != nil {
		return Due{}, err
	}
	if !validText(m.Period, MaxPeriodLen) {
		return Due{}, ErrPeriod.WithField("period")
	}
	if l.PaidOrComputedCents < 0 {
		return Due{}, ErrLedger.WithField("ledger.paidOrComputedCents")
	}
	if l.AgreementRemainingCents < 0 {
		return Due{}, ErrLedger.WithField("ledger.agreementRemainingCents")
	}

	raw, zeroReason, payReason := entitlement(r, m)
	earned := min(raw, uint64(r.CapCents)) // ≤ MaxCents, fits in int64
	d := Due{EarnedCents: int64(earned)}

	if slices.Contains(l.PeriodsPaid, m.Period) {
		d.Reason = ReasonAlreadyComputed
		return d, nil
	}
	if r.EvidenceRequired && !m.HasEvidence {
		return Due{}, ErrEvidenceRequired.WithField("evidence")
	}

	paid := uint64(l.PaidOrComputedCents)
	switch {
	case raw == 0:
		d.Reason = zeroReason
		return d, nil
	case raw <= paid:
		d.Reason = ReasonNothingFurther
		return d, nil
	}
	// raw > paid: without the cap the period would earn raw − paid.
	d.Capped = raw > earned
	if earned <= paid {
		d.Reason = ReasonCapReached
		return d, nil
	}
	d.Cents = int64(earned - paid)
	d.Reason = payReason
	if d.Cents > l.AgreementRemainingCents {
		d.Cents = l.AgreementRemainingCents
		d.BudgetLimited = true
		if d.Cents == 0 {
			d.Reason = ReasonBudgetExhausted
		}
	}
	return d, nil
}

// entitlement returns the rule's raw entitlement at m, before the cap, saturated
// at the largest uint64 (far above any cap), with the reasons to report
// when it is zero and when it pays.
func entitlement(r Rule, m Measurement) (raw uint64, zero, pays string) {
	switch r.Trigger {
	case Milestone:
		if !m.Milestone {
			return 0, ReasonNotAchieved, ""
		}
		return uint64(r.AmountCents), "", ReasonAchieved
	case Threshold:
		reached := m.ValueMilli >= r.ThresholdMilli
		if r.Direction == Decrease {
			reached = m.ValueMilli <= r.ThresholdMilli
		}
		if !reached {
			return 0, ReasonNotReached, ""
		}
		return uint64(r.AmountCents), "", ReasonReached
	default: // PerUnit
		better, worse := m.ValueMilli, r.BaselineMilli
		if r.Direction == Decrease {
			better, worse = worse, better
		}
		if better <= worse {
			return 0, ReasonNoImprovement, ""
		}
		// better > worse, so the two's-complement difference is the true
		// difference, which is below 2^64.
		units := uint64(better) - uint64(worse)
		hi, lo := bits.Mul64(units, uint64(r.UnitPriceCents))
		if hi >= 1000 { // the quotient would not fit in 64 bits: saturate
			return ^uint64(0), "", ReasonImprovement
		}
		q, _ := bits.Div64(hi, lo, 1000) // floor: round down
		if q == 0 {
			return 0, ReasonBelowOneCent, ""
		}
		return q, "", ReasonImprovement
	}
}
