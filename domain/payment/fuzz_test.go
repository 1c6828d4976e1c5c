package payment_test

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/payment"
)

// FuzzCompute feeds arbitrary rules, measurements and ledgers to Compute: it
// never panics, fails only with domain errors, and a Due always respects the
// bounds and the exact formula.
func FuzzCompute(f *testing.F) {
	f.Add(uint8(1), true, int64(10_000), int64(0), int64(12_500), int64(25_000), int64(0), int64(1_000_000), int64(0), int64(1<<40), false, true, false, "2025", "")
	f.Add(uint8(0), false, int64(0), int64(5_000), int64(5_000), int64(0), int64(200_000), int64(300_000), int64(0), int64(100), true, true, false, "2025", "2024")
	f.Add(uint8(2), true, int64(0), int64(0), int64(0), int64(0), int64(150_000), int64(150_000), int64(0), int64(1<<40), true, false, true, "Q1", "Q1")
	f.Add(uint8(1), true, int64(math.MinInt64), int64(0), int64(math.MaxInt64), payment.MaxCents, int64(0), payment.MaxCents, int64(5), int64(math.MaxInt64), false, false, false, "x", "y")
	f.Add(uint8(1), false, int64(math.MaxInt64), int64(0), int64(math.MinInt64), int64(1), int64(0), int64(1), int64(-1), int64(-1), false, false, false, "", "")
	f.Fuzz(func(t *testing.T, trig uint8, increase bool, baseline, threshold, value, price, amount, capCents, paid, budget int64,
		evidenceRequired, hasEvidence, milestone bool, period, paidPeriod string) {
		rule := payment.Rule{
			Indicator: "ind", Trigger: []payment.Trigger{payment.Threshold, payment.PerUnit, payment.Milestone, "other"}[trig%4],
			Direction: payment.Decrease, BaselineMilli: payment.Milli(baseline), ThresholdMilli: payment.Milli(threshold),
			UnitPriceCents: price, AmountCents: amount, CapCents: capCents, EvidenceRequired: evidenceRequired,
		}
		if increase {
			rule.Direction = payment.Increase
		}
		m := payment.Measurement{Period: period, ValueMilli: payment.Milli(value), HasEvidence: hasEvidence, Milestone: milestone}
		l := payment.Ledger{PaidOrComputedCents: paid, AgreementRemainingCents: budget}
		if paidPeriod != "" {
			l.PeriodsPaid = []string{paidPeriod}
		}
		d, err := payment.Compute(rule, m, l)
		if again, err2 := payment.Compute(rule, m, l); again != d || (err == nil) != (err2 == nil) {
			t.Fatalf("not deterministic: %+v, %v then %+v, %v", d, err, again, err2)
		}
		if err != nil {
			if k := domain.KindOf(err); k != domain.KindInvalid && k != domain.KindPrecondition {
				t.Fatalf("error of kind %v: %v", k, err)
			}
			if errors.Is(err, payment.ErrEvidenceRequired) && (!evidenceRequired || hasEvidence) {
				t.Fatalf("evidence error without cause: %v", err)
			}
			if d != (payment.Due{}) {
				t.Fatalf("Due on error: %+v", d)
			}
			return
		}
		if rule.Validate() != nil || paid < 0 || budget < 0 {
			t.Fatalf("accepted an invalid input: %+v %+v %+v", rule, m, l)
		}
		if d.Cents < 0 || d.Cents > budget || d.Cents > max(0, capCents-paid) || d.EarnedCents < 0 || d.EarnedCents > capCents {
			t.Fatalf("Compute(%+v, %+v, %+v) = %+v: out of bounds", rule, m, l, d)
		}
		if slices.Contains(l.PeriodsPaid, period) {
			if d.Cents != 0 || d.Reason != payment.ReasonAlreadyComputed {
				t.Fatalf("repeated period paid: %+v", d)
			}
			return
		}
		e, _ := reference(rule, m)
		if want := min(max(0, e-paid), budget); d.Cents != want || d.EarnedCents != e {
			t.Fatalf("Compute(%+v, %+v, %+v) = %+v, want cents %d, earned %d", rule, m, l, d, want, e)
		}
	})
}
