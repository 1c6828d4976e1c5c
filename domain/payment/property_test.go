package payment_test

import (
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/coprod/coprod/domain/payment"
)

const cases = 2000

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)) }

// randomRule draws a valid rule of any trigger; values are mostly small,
// sometimes at the extremes.
func randomRule(r *rand.Rand) payment.Rule {
	rule := payment.Rule{Indicator: "ind", EvidenceRequired: r.IntN(4) == 0, Final: r.IntN(2) == 0}
	rule.Trigger = []payment.Trigger{payment.Threshold, payment.PerUnit, payment.Milestone}[r.IntN(3)]
	rule.Direction = []payment.Direction{payment.Increase, payment.Decrease}[r.IntN(2)]
	if rule.Trigger == payment.Milestone && r.IntN(2) == 0 {
		rule.Direction = ""
	}
	rule.CapCents = 1 + r.Int64N(10_000_000)
	if r.IntN(10) == 0 {
		rule.CapCents = payment.MaxCents - r.Int64N(3)
	}
	rule.BaselineMilli = randomMilli(r, 0)
	rule.ThresholdMilli = randomMilli(r, 0)
	switch rule.Trigger {
	case payment.PerUnit:
		rule.UnitPriceCents = 1 + r.Int64N(100_000)
		if r.IntN(10) == 0 {
			rule.UnitPriceCents = 1 + r.Int64N(payment.MaxCents)
		}
	default:
		rule.AmountCents = 1 + r.Int64N(rule.CapCents)
	}
	if err := rule.Validate(); err != nil {
		panic(err)
	}
	return rule
}

// randomMilli is a value near around, occasionally anywhere in int64.
func randomMilli(r *rand.Rand, around payment.Milli) payment.Milli {
	switch r.IntN(10) {
	case 0:
		return payment.Milli(r.Uint64())
	case 1:
		return []payment.Milli{math.MinInt64, math.MaxInt64, 0, -1, 1}[r.IntN(5)]
	}
	d := payment.Milli(r.Int64N(100_001) - 50_000)
	if around > 0 && d > math.MaxInt64-around || around < 0 && d < math.MinInt64-around {
		return around
	}
	return around + d
}

func randomMeasurement(r *rand.Rand, rule payment.Rule, period string) payment.Measurement {
	around := rule.BaselineMilli
	if rule.Trigger == payment.Threshold {
		around = rule.ThresholdMilli
	}
	return payment.Measurement{
		Period: period, ValueMilli: randomMilli(r, around),
		HasEvidence: r.IntN(8) != 0, Milestone: r.IntN(2) == 0,
	}
}

// reference is E(m) from the definition, with exact big-integer arithmetic,
// and the raw entitlement before the cap.
func reference(rule payment.Rule, m payment.Measurement) (earned int64, raw *big.Int) {
	raw = new(big.Int)
	switch rule.Trigger {
	case payment.Milestone:
		if m.Milestone {
			raw.SetInt64(rule.AmountCents)
		}
	case payment.Threshold:
		if rule.Direction == payment.Increase && m.ValueMilli >= rule.ThresholdMilli ||
			rule.Direction == payment.Decrease && m.ValueMilli <= rule.ThresholdMilli {
			raw.SetInt64(rule.AmountCents)
		}
	case payment.PerUnit:
		u := new(big.Int).Sub(big.NewInt(int64(m.ValueMilli)), big.NewInt(int64(rule.BaselineMilli)))
		if rule.Direction == payment.Decrease {
			u.Neg(u)
		}
		if u.Sign() > 0 {
			raw.Mul(u, big.NewInt(rule.UnitPriceCents))
			raw.Quo(raw, big.NewInt(1000)) // positive: truncation is floor
		}
	}
	if raw.Cmp(big.NewInt(rule.CapCents)) > 0 {
		return rule.CapCents, raw
	}
	return raw.Int64(), raw
}

func randomLedger(r *rand.Rand, rule payment.Rule) payment.Ledger {
	l := payment.Ledger{PaidOrComputedCents: r.Int64N(rule.CapCents + rule.CapCents/5 + 1), AgreementRemainingCents: r.Int64N(2 * rule.CapCents)}
	switch r.IntN(6) {
	case 0:
		l.PaidOrComputedCents = 0
	case 1:
		l.AgreementRemainingCents = math.MaxInt64
	case 2:
		l.AgreementRemainingCents = 0
	}
	for i := range r.IntN(4) {
		l.PeriodsPaid = append(l.PeriodsPaid, "old"+strconv.Itoa(i))
	}
	return l
}

// TestPropertyReference checks Compute against the formula
// Cents = min(max(0, E − paid), budget), E from exact arithmetic.
func TestPropertyReference(t *testing.T) {
	t.Parallel()
	r := newRand(1)
	for range cases {
		rule := randomRule(r)
		m := randomMeasurement(r, rule, "new")
		m.HasEvidence = true
		l := randomLedger(r, rule)
		d, err := payment.Compute(rule, m, l)
		if err != nil {
			t.Fatalf("Compute(%+v, %+v, %+v): %v", rule, m, l, err)
		}
		e, raw := reference(rule, m)
		want := min(max(0, e-l.PaidOrComputedCents), l.AgreementRemainingCents)
		capped := raw.Cmp(big.NewInt(rule.CapCents)) > 0 && raw.Cmp(big.NewInt(l.PaidOrComputedCents)) > 0
		limited := max(0, e-l.PaidOrComputedCents) > l.AgreementRemainingCents
		if d.Cents != want || d.EarnedCents != e || d.Capped != capped || d.BudgetLimited != limited || d.Reason == "" {
			t.Fatalf("Compute(%+v, %+v, %+v) = %+v; want cents %d, earned %d, capped %v, limited %v",
				rule, m, l, d, want, e, capped, limited)
		}
		if again, _ := payment.Compute(rule, m, l); again != d {
			t.Fatalf("not deterministic: %+v then %+v", d, again)
		}
	}
}

// TestPropertySequence runs random sequences of verifications (periods may
// repeat) against one rule and checks the invariants: every due is ≥ 0 and
// within the cap's and the budget's room, the total never exceeds the cap nor
// the initial budget, and, with the rule as the budget's only user and
// nothing withheld, the total equals min(the best entitlement, the budget).
// Half of the runs withhold some earlier payments, which return to the
// budget and leave the ledger.
func TestPropertySequence(t *testing.T) {
	t.Parallel()
	r := newRand(2)
	for range cases {
		rule := randomRule(r)
		b0 := r.Int64N(2*rule.CapCents + 1)
		if r.IntN(3) == 0 {
			b0 = math.MaxInt64
		}
		withhold := r.IntN(2) == 0
		l := payment.Ledger{AgreementRemainingCents: b0}
		var dues []int64 // the payments not withheld
		var best int64
		for range 1 + r.IntN(12) {
			m := randomMeasurement(r, rule, "p"+strconv.Itoa(r.IntN(8)))
			repeated := slices.Contains(l.PeriodsPaid, m.Period)
			d, err := payment.Compute(rule, m, l)
			if err != nil {
				if !errors.Is(err, payment.ErrEvidenceRequired) || repeated || !rule.EvidenceRequired || m.HasEvidence {
					t.Fatalf("Compute(%+v, %+v, %+v): %v", rule, m, l, err)
				}
				continue
			}
			room := max(0, rule.CapCents-l.PaidOrComputedCents)
			if d.Cents < 0 || d.Cents > room || d.Cents > l.AgreementRemainingCents || repeated && d.Cents != 0 {
				t.Fatalf("Compute(%+v, %+v, %+v) = %+v: out of bounds (room %d)", rule, m, l, d, room)
			}
			if !repeated {
				best = max(best, d.EarnedCents)
			}
			if !repeated && (d.Cents > 0 || r.IntN(2) == 0) { // zero dues may or may not be recorded
				l.PeriodsPaid = append(l.PeriodsPaid, m.Period)
			}
			l.PaidOrComputedCents += d.Cents
			l.AgreementRemainingCents -= d.Cents
			if d.Cents > 0 {
				dues = append(dues, d.Cents)
			}
			if withhold && len(dues) > 0 && r.IntN(3) == 0 {
				i := r.IntN(len(dues))
				l.PaidOrComputedCents -= dues[i]
				l.AgreementRemainingCents += dues[i]
				dues = slices.Delete(dues, i, i+1)
			}
		}
		var sum int64
		for _, d := range dues {
			sum += d
		}
		if sum != l.PaidOrComputedCents || sum > rule.CapCents || sum > b0 {
			t.Fatalf("rule %+v, budget %d: total %d (ledger %d) exceeds the cap or the budget", rule, b0, sum, l.PaidOrComputedCents)
		}
		if !withhold && sum != min(best, b0) {
			t.Fatalf("rule %+v, budget %d: total %d, want min(best entitlement %d, budget)", rule, b0, sum, best)
		}
	}
}

// TestPropertyMonotone checks that, from the same ledger, a better value (or
// an achieved milestone) never earns less than a worse one.
func TestPropertyMonotone(t *testing.T) {
	t.Parallel()
	r := newRand(3)
	for range cases {
		rule := randomRule(r)
		l := randomLedger(r, rule)
		a, b := randomMeasurement(r, rule, "new"), randomMeasurement(r, rule, "new")
		a.HasEvidence, b.HasEvidence = true, true
		// Make a the better one: by value in the rule's direction, and by milestone.
		if rule.Direction == payment.Decrease && a.ValueMilli > b.ValueMilli ||
			rule.Direction != payment.Decrease && a.ValueMilli < b.ValueMilli {
			a.ValueMilli, b.ValueMilli = b.ValueMilli, a.ValueMilli
		}
		a.Milestone, b.Milestone = a.Milestone || b.Milestone, a.Milestone && b.Milestone
		da, err := payment.Compute(rule, a, l)
		if err != nil {
			t.Fatal(err)
		}
		db, err := payment.Compute(rule, b, l)
		if err != nil {
			t.Fatal(err)
		}
		if da.Cents < db.Cents || da.EarnedCents < db.EarnedCents {
			t.Fatalf("rule %+v, ledger %+v: better %+v earns %+v, worse %+v earns %+v", rule, l, a, da, b, db)
		}
	}
}

// randomPercents draws k ≥ 1 whole percentages of at least 1 summing to 100.
func randomPercents(r *rand.Rand) []int {
	k := 1 + r.IntN(6)
	if r.IntN(5) == 0 {
		k = 1 + r.IntN(payment.MaxInstalments)
	}
	cuts := r.Perm(99)[:k-1]
	for i := range cuts {
		cuts[i]++
	}
	slices.Sort(cuts)
	ps := make([]int, k)
	prev := 0
	for i := range ps {
		next := 100
		if i < k-1 {
			next = cuts[i]
		}
		ps[i], prev = next-prev, next
	}
	if r.IntN(3) == 0 { // equal percentages are the interesting ties
		switch k {
		case 2, 4, 5, 10, 20, 25, 50, 100:
			for i := range ps {
				ps[i] = 100 / k
			}
		}
	}
	return ps
}

// TestPropertySplit checks that the parts sum to the total, that each is
// the floor or the ceiling of its exact share, and that a larger percentage
// never gets less (equal ones: the earlier gets at least as much, at most a
// cent more).
func TestPropertySplit(t *testing.T) {
	t.Parallel()
	r := newRand(4)
	for range cases {
		ps := randomPercents(r)
		var total int64
		switch r.IntN(3) {
		case 0:
			total = r.Int64N(int64(3 * len(ps)))
		case 1:
			total = r.Int64N(10_000_000)
		default:
			total = r.Int64N(payment.MaxCents + 1)
		}
		parts, err := payment.Split(total, ps)
		if err != nil {
			t.Fatalf("Split(%d, %v): %v", total, ps, err)
		}
		if len(parts) != len(ps) {
			t.Fatalf("Split(%d, %v) = %v: wrong length", total, ps, parts)
		}
		var sum int64
		for i, p := range parts {
			sum += p
			lo := total * int64(ps[i]) / 100
			hi := lo
			if total*int64(ps[i])%100 != 0 {
				hi++
			}
			if p < lo || p > hi {
				t.Fatalf("Split(%d, %v) = %v: part %d outside [%d, %d]", total, ps, parts, i, lo, hi)
			}
			for j := i + 1; j < len(ps); j++ {
				switch {
				case ps[i] > ps[j] && parts[i] < parts[j],
					ps[i] < ps[j] && parts[i] > parts[j],
					ps[i] == ps[j] && (parts[i] < parts[j] || parts[i] > parts[j]+1):
					t.Fatalf("Split(%d, %v) = %v: parts %d and %d out of order", total, ps, parts, i, j)
				}
			}
		}
		if sum != total {
			t.Fatalf("Split(%d, %v) = %v sums to %d", total, ps, parts, sum)
		}
	}
}
