package payment_test

import (
	"errors"
	"math"
	"testing"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/payment"
)

// perUnitInc pays 250 € per unit above a baseline of 10 units, up to 10 000 €.
var perUnitInc = payment.Rule{
	ID: uuid.UUID{1}, Indicator: "employed_after_6m", Trigger: payment.PerUnit, Direction: payment.Increase,
	BaselineMilli: 10_000, UnitPriceCents: 25_000, CapCents: 1_000_000,
}

// perUnitDec pays 400 € per point of drop-out rate below 20, up to 5 000 €.
var perUnitDec = payment.Rule{
	Indicator: "dropout_rate", Trigger: payment.PerUnit, Direction: payment.Decrease,
	BaselineMilli: 20_000, UnitPriceCents: 40_000, CapCents: 500_000,
}

// thresholdInc pays 5 000 € once the attendance reaches 75%.
var thresholdInc = payment.Rule{
	Indicator: "attendance_pct", Trigger: payment.Threshold, Direction: payment.Increase,
	ThresholdMilli: 75_000, AmountCents: 500_000, CapCents: 500_000, Final: true,
}

// thresholdDec pays 2 000 € once waiting days fall to 5 or fewer.
var thresholdDec = payment.Rule{
	Indicator: "waiting_days", Trigger: payment.Threshold, Direction: payment.Decrease,
	ThresholdMilli: 5_000, AmountCents: 200_000, CapCents: 300_000,
}

// milestone pays 1 500 € once the centre opens; it has no direction.
var milestone = payment.Rule{
	Indicator: "centre_open", Trigger: payment.Milestone, AmountCents: 150_000, CapCents: 150_000,
}

// with returns a copy of r changed by f.
func with(r payment.Rule, f func(*payment.Rule)) payment.Rule {
	f(&r)
	return r
}

func meas(period string, v payment.Milli) payment.Measurement {
	return payment.Measurement{Period: period, ValueMilli: v, HasEvidence: true}
}

// budget is an agreement budget that never limits the examples.
const budget = 1 << 50

func TestCompute(t *testing.T) {
	t.Parallel()
	fresh := payment.Ledger{AgreementRemainingCents: budget}
	rounding := with(perUnitInc, func(r *payment.Rule) { r.BaselineMilli, r.UnitPriceCents = 0, 333 })
	exactCap := with(perUnitInc, func(r *payment.Rule) { r.BaselineMilli, r.UnitPriceCents, r.CapCents = 0, 1000, 100_000 })
	huge := with(perUnitInc, func(r *payment.Rule) {
		r.BaselineMilli, r.UnitPriceCents, r.CapCents = math.MinInt64, payment.MaxCents, payment.MaxCents
	})
	hugeDec := with(huge, func(r *payment.Rule) { r.Direction, r.BaselineMilli = payment.Decrease, math.MaxInt64 })
	evidence := with(thresholdInc, func(r *payment.Rule) { r.EvidenceRequired = true })

	tests := []struct {
		name string
		rule payment.Rule
		m    payment.Measurement
		l    payment.Ledger
		want payment.Due
	}{
		// per_unit, increase: 2.5 units × 250 €.
		{"per unit increase", perUnitInc, meas("2025", 12_500), fresh,
			payment.Due{Cents: 62_500, EarnedCents: 62_500, Reason: payment.ReasonImprovement}},
		{"per unit increase: one thousandth", perUnitInc, meas("2025", 10_001), fresh,
			payment.Due{Cents: 25, EarnedCents: 25, Reason: payment.ReasonImprovement}},
		{"per unit increase: at baseline", perUnitInc, meas("2025", 10_000), fresh,
			payment.Due{Reason: payment.ReasonNoImprovement}},
		{"per unit increase: below baseline", perUnitInc, meas("2025", 9_000), fresh,
			payment.Due{Reason: payment.ReasonNoImprovement}},
		// per_unit, decrease: 20 → 17.75 is 2.25 units × 400 €.
		{"per unit decrease", perUnitDec, meas("2025", 17_750), fresh,
			payment.Due{Cents: 90_000, EarnedCents: 90_000, Reason: payment.ReasonImprovement}},
		{"per unit decrease: worse than baseline", perUnitDec, meas("2025", 20_500), fresh,
			payment.Due{Reason: payment.ReasonNoImprovement}},

		// Rounding down: 1.5 × 3.33 € = 4.995 € → 4.99 €.
		{"round down half", rounding, meas("2025", 1_500), fresh,
			payment.Due{Cents: 499, EarnedCents: 499, Reason: payment.ReasonImprovement}},
		{"round down 0.999", rounding, meas("2025", 3), fresh,
			payment.Due{Reason: payment.ReasonBelowOneCent}},
		{"round down 1.332", rounding, meas("2025", 4), fresh,
			payment.Due{Cents: 1, EarnedCents: 1, Reason: payment.ReasonImprovement}},
		// 1.75 units × 10.01 € = 17.5175 € → 17.51 €.
		{"round down decrease", with(perUnitDec, func(r *payment.Rule) { r.BaselineMilli, r.UnitPriceCents = 10_000, 1001 }),
			meas("2025", 8_250), fresh, payment.Due{Cents: 1751, EarnedCents: 1751, Reason: payment.ReasonImprovement}},

		// Cumulative: 4 units earn 1 000 €, of which 625 € were computed.
		{"cumulative: further improvement", perUnitInc, meas("2026", 14_000),
			payment.Ledger{PaidOrComputedCents: 62_500, PeriodsPaid: []string{"2025"}, AgreementRemainingCents: budget},
			payment.Due{Cents: 37_500, EarnedCents: 100_000, Reason: payment.ReasonImprovement}},
		{"cumulative: same value again", perUnitInc, meas("2026", 12_500),
			payment.Ledger{PaidOrComputedCents: 62_500, PeriodsPaid: []string{"2025"}, AgreementRemainingCents: budget},
			payment.Due{EarnedCents: 62_500, Reason: payment.ReasonNothingFurther}},
		{"cumulative: worse later period", perUnitInc, meas("2026", 11_000),
			payment.Ledger{PaidOrComputedCents: 62_500, PeriodsPaid: []string{"2025"}, AgreementRemainingCents: budget},
			payment.Due{EarnedCents: 25_000, Reason: payment.ReasonNothingFurther}},
		{"cumulative: decrease improves further", perUnitDec, meas("2026", 16_000),
			payment.Ledger{PaidOrComputedCents: 90_000, PeriodsPaid: []string{"2025"}, AgreementRemainingCents: budget},
			payment.Due{Cents: 70_000, EarnedCents: 160_000, Reason: payment.ReasonImprovement}},

		// Threshold, increase: reached exactly, missed by a thousandth, already paid.
		{"threshold increase reached", thresholdInc, meas("2025", 75_000), fresh,
			payment.Due{Cents: 500_000, EarnedCents: 500_000, Reason: payment.ReasonReached}},
		{"threshold increase missed", thresholdInc, meas("2025", 74_999), fresh,
			payment.Due{Reason: payment.ReasonNotReached}},
		{"threshold paid once", thresholdInc, meas("2026", 90_000),
			payment.Ledger{PaidOrComputedCents: 500_000, PeriodsPaid: []string{"2025"}, AgreementRemainingCents: budget},
			payment.Due{EarnedCents: 500_000, Reason: payment.ReasonNothingFurther}},
		// Threshold, decrease.
		{"threshold decrease reached", thresholdDec, meas("2025", 5_000), fresh,
			payment.Due{Cents: 200_000, EarnedCents: 200_000, Reason: payment.ReasonReached}},
		{"threshold decrease below", thresholdDec, meas("2025", -1), fresh,
			payment.Due{Cents: 200_000, EarnedCents: 200_000, Reason: payment.ReasonReached}},
		{"threshold decrease missed", thresholdDec, meas("2025", 5_001), fresh,
			payment.Due{Reason: payment.ReasonNotReached}},

		// Milestone: the value does not matter.
		{"milestone achieved", milestone, payment.Measurement{Period: "2025-Q2", Milestone: true, ValueMilli: -5}, fresh,
			payment.Due{Cents: 150_000, EarnedCents: 150_000, Reason: payment.ReasonAchieved}},
		{"milestone not achieved", milestone, payment.Measurement{Period: "2025-Q2", ValueMilli: 1 << 40}, fresh,
			payment.Due{Reason: payment.ReasonNotAchieved}},
		{"milestone paid once", milestone, payment.Measurement{Period: "2025-Q3", Milestone: true},
			payment.Ledger{PaidOrComputedCents: 150_000, PeriodsPaid: []string{"2025-Q2"}, AgreementRemainingCents: budget},
			payment.Due{EarnedCents: 150_000, Reason: payment.ReasonNothingFurther}},

		// Cap: reached exactly, exceeded, partly used, used up.
		{"cap reached exactly", exactCap, meas("2025", 100_000), fresh,
			payment.Due{Cents: 100_000, EarnedCents: 100_000, Reason: payment.ReasonImprovement}},
		{"cap exceeded", exactCap, meas("2025", 100_001), fresh,
			payment.Due{Cents: 100_000, EarnedCents: 100_000, Reason: payment.ReasonImprovement, Capped: true}},
		{"cap exceeded after earlier payments", exactCap, meas("2026", 120_000),
			payment.Ledger{PaidOrComputedCents: 80_000, PeriodsPaid: []string{"2025"}, AgreementRemainingCents: budget},
			payment.Due{Cents: 20_000, EarnedCents: 100_000, Reason: payment.ReasonImprovement, Capped: true}},
		{"cap used up", exactCap, meas("2027", 150_000),
			payment.Ledger{PaidOrComputedCents: 100_000, PeriodsPaid: []string{"2025", "2026"}, AgreementRemainingCents: budget},
			payment.Due{EarnedCents: 100_000, Reason: payment.ReasonCapReached, Capped: true}},
		{"ledger above a lowered cap", exactCap, meas("2027", 150_000),
			payment.Ledger{PaidOrComputedCents: 130_000, AgreementRemainingCents: budget},
			payment.Due{EarnedCents: 100_000, Reason: payment.ReasonCapReached, Capped: true}},

		// Agreement budget.
		{"budget limits", perUnitInc, meas("2025", 12_500), payment.Ledger{AgreementRemainingCents: 30_000},
			payment.Due{Cents: 30_000, EarnedCents: 62_500, Reason: payment.ReasonImprovement, BudgetLimited: true}},
		{"budget exactly enough", perUnitInc, meas("2025", 12_500), payment.Ledger{AgreementRemainingCents: 62_500},
			payment.Due{Cents: 62_500, EarnedCents: 62_500, Reason: payment.ReasonImprovement}},
		{"budget exhausted", perUnitInc, meas("2025", 12_500), payment.Ledger{},
			payment.Due{EarnedCents: 62_500, Reason: payment.ReasonBudgetExhausted, BudgetLimited: true}},
		{"budget and cap both limit", exactCap, meas("2025", 200_000), payment.Ledger{AgreementRemainingCents: 1},
			payment.Due{Cents: 1, EarnedCents: 100_000, Reason: payment.ReasonImprovement, Capped: true, BudgetLimited: true}},
		{"budget shortfall paid later", perUnitInc, meas("2026", 12_500),
			payment.Ledger{PaidOrComputedCents: 30_000, PeriodsPaid: []string{"2025"}, AgreementRemainingCents: budget},
			payment.Due{Cents: 32_500, EarnedCents: 62_500, Reason: payment.ReasonImprovement}},

		// Evidence.
		{"evidence present", evidence, meas("2025", 80_000), fresh,
			payment.Due{Cents: 500_000, EarnedCents: 500_000, Reason: payment.ReasonReached}},
		{"evidence not required", thresholdInc, payment.Measurement{Period: "2025", ValueMilli: 80_000}, fresh,
			payment.Due{Cents: 500_000, EarnedCents: 500_000, Reason: payment.ReasonReached}},
		{"already computed wins over missing evidence", evidence, payment.Measurement{Period: "2025", ValueMilli: 80_000},
			payment.Ledger{PaidOrComputedCents: 500_000, PeriodsPaid: []string{"2025"}, AgreementRemainingCents: budget},
			payment.Due{EarnedCents: 500_000, Reason: payment.ReasonAlreadyComputed}},

		// Idempotency: a period already computed earns nothing, whatever its value.
		{"already computed", perUnitInc, meas("2025", 50_000),
			payment.Ledger{PaidOrComputedCents: 62_500, PeriodsPaid: []string{"2024", "2025"}, AgreementRemainingCents: budget},
			payment.Due{EarnedCents: 1_000_000, Reason: payment.ReasonAlreadyComputed}},

		// No overflow at the extremes of int64.
		{"extreme increase", huge, meas("2025", math.MaxInt64), fresh,
			payment.Due{Cents: payment.MaxCents, EarnedCents: payment.MaxCents, Reason: payment.ReasonImprovement, Capped: true}},
		{"extreme decrease", hugeDec, meas("2025", math.MinInt64), fresh,
			payment.Due{Cents: payment.MaxCents, EarnedCents: payment.MaxCents, Reason: payment.ReasonImprovement, Capped: true}},
		{"extreme one step", huge, meas("2025", math.MinInt64+1), fresh,
			payment.Due{Cents: payment.MaxCents / 1000, EarnedCents: payment.MaxCents / 1000, Reason: payment.ReasonImprovement}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := payment.Compute(tt.rule, tt.m, tt.l)
			if err != nil {
				t.Fatalf("Compute: %v", err)
			}
			if got != tt.want {
				t.Errorf("Compute = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestComputeErrors(t *testing.T) {
	t.Parallel()
	evidence := with(perUnitInc, func(r *payment.Rule) { r.EvidenceRequired = true })
	tests := []struct {
		name  string
		rule  payment.Rule
		m     payment.Measurement
		l     payment.Ledger
		want  *domain.Error
		kind  domain.Kind
		field string
	}{
		{"evidence missing", evidence, payment.Measurement{Period: "2025", ValueMilli: 12_000}, payment.Ledger{AgreementRemainingCents: budget},
			payment.ErrEvidenceRequired, domain.KindPrecondition, "evidence"},
		{"evidence missing, nothing earned either", evidence, payment.Measurement{Period: "2025", ValueMilli: 0}, payment.Ledger{},
			payment.ErrEvidenceRequired, domain.KindPrecondition, "evidence"},
		{"invalid rule", with(perUnitInc, func(r *payment.Rule) { r.CapCents = 0 }), meas("2025", 1), payment.Ledger{},
			payment.ErrCap, domain.KindInvalid, "capCents"},
		{"blank period", perUnitInc, meas(" ", 1), payment.Ledger{}, payment.ErrPeriod, domain.KindInvalid, "period"},
		{"long period", perUnitInc, meas(string(make([]byte, 65)), 1), payment.Ledger{}, payment.ErrPeriod, domain.KindInvalid, "period"},
		{"negative paid", perUnitInc, meas("2025", 1), payment.Ledger{PaidOrComputedCents: -1},
			payment.ErrLedger, domain.KindInvalid, "ledger.paidOrComputedCents"},
		{"negative budget", perUnitInc, meas("2025", 1), payment.Ledger{AgreementRemainingCents: -1},
			payment.ErrLedger, domain.KindInvalid, "ledger.agreementRemainingCents"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := payment.Compute(tt.rule, tt.m, tt.l)
			checkErr(t, err, tt.want, tt.kind, tt.field)
			if d != (payment.Due{}) {
				t.Errorf("Due on error = %+v, want zero", d)
			}
		})
	}
}

func checkErr(t *testing.T, err error, want *domain.Error, kind domain.Kind, field string) {
	t.Helper()
	var de *domain.Error
	if !errors.As(err, &de) {
		t.Fatalf("error = %v, want %v", err, want)
	}
	if !errors.Is(err, want) || de.Kind != kind || de.Field != field {
		t.Errorf("error = %v (kind %v, field %q), want %s (kind %v, field %q)", err, de.Kind, de.Field, want.Code, kind, field)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		rule  payment.Rule
		want  *domain.Error // nil: valid
		field string
	}{
		{"per unit", perUnitInc, nil, ""},
		{"per unit decrease", perUnitDec, nil, ""},
		{"threshold", thresholdInc, nil, ""},
		{"threshold decrease", thresholdDec, nil, ""},
		{"milestone without direction", milestone, nil, ""},
		{"milestone with direction", with(milestone, func(r *payment.Rule) { r.Direction = payment.Decrease }), nil, ""},
		{"limits", with(thresholdInc, func(r *payment.Rule) { r.AmountCents, r.CapCents = payment.MaxCents, payment.MaxCents }), nil, ""},
		{"nil id is the caller's business", with(perUnitInc, func(r *payment.Rule) { r.ID = uuid.Nil }), nil, ""},

		{"no indicator", with(perUnitInc, func(r *payment.Rule) { r.Indicator = " " }), payment.ErrIndicator, "indicator"},
		{"long indicator", with(perUnitInc, func(r *payment.Rule) { r.Indicator = string(make([]byte, 101)) }), payment.ErrIndicator, "indicator"},
		{"bad utf-8 indicator", with(perUnitInc, func(r *payment.Rule) { r.Indicator = "\xff" }), payment.ErrIndicator, "indicator"},
		{"no trigger", with(perUnitInc, func(r *payment.Rule) { r.Trigger = "" }), payment.ErrTrigger, "trigger"},
		{"unknown trigger", with(perUnitInc, func(r *payment.Rule) { r.Trigger = "bonus" }), payment.ErrTrigger, "trigger"},
		{"per unit without direction", with(perUnitInc, func(r *payment.Rule) { r.Direction = "" }), payment.ErrDirection, "direction"},
		{"threshold without direction", with(thresholdInc, func(r *payment.Rule) { r.Direction = "" }), payment.ErrDirection, "direction"},
		{"unknown direction", with(milestone, func(r *payment.Rule) { r.Direction = "band" }), payment.ErrDirection, "direction"},
		{"zero cap", with(perUnitInc, func(r *payment.Rule) { r.CapCents = 0 }), payment.ErrCap, "capCents"},
		{"negative cap", with(perUnitInc, func(r *payment.Rule) { r.CapCents = -1 }), payment.ErrCap, "capCents"},
		{"cap too large", with(perUnitInc, func(r *payment.Rule) { r.CapCents = payment.MaxCents + 1 }), payment.ErrCap, "capCents"},
		{"per unit without price", with(perUnitInc, func(r *payment.Rule) { r.UnitPriceCents = 0 }), payment.ErrUnitPrice, "unitPriceCents"},
		{"negative price", with(perUnitInc, func(r *payment.Rule) { r.UnitPriceCents = -1 }), payment.ErrUnitPrice, "unitPriceCents"},
		{"price too large", with(perUnitInc, func(r *payment.Rule) { r.UnitPriceCents = payment.MaxCents + 1 }), payment.ErrUnitPrice, "unitPriceCents"},
		{"per unit with amount", with(perUnitInc, func(r *payment.Rule) { r.AmountCents = 1 }), payment.ErrAmountNotAllowed, "amountCents"},
		{"threshold without amount", with(thresholdInc, func(r *payment.Rule) { r.AmountCents = 0 }), payment.ErrAmount, "amountCents"},
		{"milestone negative amount", with(milestone, func(r *payment.Rule) { r.AmountCents = -5 }), payment.ErrAmount, "amountCents"},
		{"amount too large", with(milestone, func(r *payment.Rule) { r.AmountCents = payment.MaxCents + 1 }), payment.ErrAmount, "amountCents"},
		{"amount above cap", with(thresholdInc, func(r *payment.Rule) { r.AmountCents = r.CapCents + 1 }), payment.ErrAmountAboveCap, "amountCents"},
		{"threshold with price", with(thresholdInc, func(r *payment.Rule) { r.UnitPriceCents = 1 }), payment.ErrUnitPriceNotAllowed, "unitPriceCents"},
		{"milestone with price", with(milestone, func(r *payment.Rule) { r.UnitPriceCents = 1 }), payment.ErrUnitPriceNotAllowed, "unitPriceCents"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.rule.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			checkErr(t, err, tt.want, domain.KindInvalid, tt.field)
		})
	}
}

// TestIdempotent repeats a verification: the second computation of a period
// earns nothing, and recomputing from the same ledger gives the same Due.
func TestIdempotent(t *testing.T) {
	t.Parallel()
	for _, r := range []payment.Rule{perUnitInc, perUnitDec, thresholdInc, thresholdDec, milestone} {
		t.Run(string(r.Trigger)+"/"+r.Indicator, func(t *testing.T) {
			t.Parallel()
			m := payment.Measurement{Period: "2025", ValueMilli: 90_000, HasEvidence: true, Milestone: true}
			if r.Direction == payment.Decrease {
				m.ValueMilli = 1_000
			}
			l := payment.Ledger{PaidOrComputedCents: 10, PeriodsPaid: []string{"2024"}, AgreementRemainingCents: budget}
			first, err := payment.Compute(r, m, l)
			if err != nil || first.Cents == 0 {
				t.Fatalf("first Compute = %+v, %v; want a payment", first, err)
			}
			again, _ := payment.Compute(r, m, l)
			if again != first {
				t.Errorf("recomputed from the same ledger: %+v, then %+v", first, again)
			}
			l.PaidOrComputedCents += first.Cents
			l.AgreementRemainingCents -= first.Cents
			l.PeriodsPaid = append(l.PeriodsPaid, m.Period)
			second, err := payment.Compute(r, m, l)
			if err != nil || second.Cents != 0 || second.Reason != payment.ReasonAlreadyComputed {
				t.Errorf("repeated verification = %+v, %v; want 0, already computed", second, err)
			}
		})
	}
}

func TestSplit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		total    int64
		percents []int
		want     []int64
	}{
		{"30/30/40", 100_000, []int{30, 30, 40}, []int64{30_000, 30_000, 40_000}},
		{"30/30/40 of a cent", 1, []int{30, 30, 40}, []int64{0, 0, 1}},
		{"30/30/40 of two cents", 2, []int{30, 30, 40}, []int64{1, 0, 1}},
		{"30/30/40 odd", 100_001, []int{30, 30, 40}, []int64{30_000, 30_000, 40_001}},
		{"33/33/34 of 10", 10, []int{33, 33, 34}, []int64{3, 3, 4}},
		{"33/34/33 of 100", 100, []int{33, 34, 33}, []int64{33, 34, 33}},
		{"equal shares: earliest first", 2, []int{25, 25, 25, 25}, []int64{1, 1, 0, 0}},
		{"50/50 of one cent", 1, []int{50, 50}, []int64{1, 0}},
		{"40/60 of one cent", 1, []int{40, 60}, []int64{0, 1}},
		{"all in one", 12_345, []int{100}, []int64{12_345}},
		{"zero", 0, []int{20, 80}, []int64{0, 0}},
		{"max", payment.MaxCents, []int{1, 99}, []int64{payment.MaxCents / 100, payment.MaxCents / 100 * 99}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := payment.Split(tt.total, tt.percents)
			if err != nil {
				t.Fatalf("Split: %v", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("Split = %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("Split = %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestSplitErrors(t *testing.T) {
	t.Parallel()
	hundred := make([]int, 101)
	for i := range hundred {
		hundred[i] = 1
	}
	tests := []struct {
		name     string
		total    int64
		percents []int
		want     *domain.Error
		field    string
	}{
		{"negative total", -1, []int{100}, payment.ErrSplitTotal, "totalCents"},
		{"total too large", payment.MaxCents + 1, []int{100}, payment.ErrSplitTotal, "totalCents"},
		{"no instalments", 100, nil, payment.ErrSplitCount, "percents"},
		{"too many instalments", 100, hundred, payment.ErrSplitCount, "percents"},
		{"zero percent", 100, []int{0, 100}, payment.ErrSplitPercent, "percents[0]"},
		{"negative percent", 100, []int{110, -10}, payment.ErrSplitPercent, "percents[0]"},
		{"over 100", 100, []int{50, 101}, payment.ErrSplitPercent, "percents[1]"},
		{"sum 99", 100, []int{30, 30, 39}, payment.ErrSplitSum, "percents"},
		{"sum 101", 100, []int{30, 30, 41}, payment.ErrSplitSum, "percents"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			parts, err := payment.Split(tt.total, tt.percents)
			if parts != nil {
				t.Errorf("parts on error = %v", parts)
			}
			checkErr(t, err, tt.want, domain.KindInvalid, tt.field)
		})
	}
}

func TestCanTransition(t *testing.T) {
	t.Parallel()
	all := []payment.Status{payment.Computed, payment.Approved, payment.Paid, payment.Withheld, payment.Disputed, "", "cancelled"}
	allowed := map[[2]payment.Status]bool{
		{payment.Computed, payment.Approved}: true,
		{payment.Computed, payment.Withheld}: true,
		{payment.Computed, payment.Disputed}: true,
		{payment.Approved, payment.Paid}:     true,
		{payment.Approved, payment.Withheld}: true,
		{payment.Approved, payment.Disputed}: true,
		{payment.Disputed, payment.Computed}: true,
		{payment.Disputed, payment.Withheld}: true,
	}
	for _, from := range all {
		for _, to := range all {
			if got, want := payment.CanTransition(from, to), allowed[[2]payment.Status{from, to}]; got != want {
				t.Errorf("CanTransition(%q, %q) = %v, want %v", from, to, got, want)
			}
		}
	}
	for i, s := range all {
		if got, want := s.Valid(), i < 5; got != want {
			t.Errorf("%q.Valid() = %v, want %v", s, got, want)
		}
	}
}

func TestTransition(t *testing.T) {
	t.Parallel()
	tests := []struct {
		from, to payment.Status
		note     string
		want     *domain.Error
		kind     domain.Kind
		field    string
	}{
		{payment.Computed, payment.Approved, "determina n. 123/2025", nil, 0, ""},
		{payment.Computed, payment.Approved, " ", payment.ErrTransitionNoteNeeded, domain.KindInvalid, "note"},
		{payment.Approved, payment.Paid, "", nil, 0, ""},
		{payment.Approved, payment.Withheld, "evidence incomplete", nil, 0, ""},
		{payment.Computed, payment.Withheld, "", payment.ErrTransitionNoteNeeded, domain.KindInvalid, "note"},
		{payment.Approved, payment.Disputed, "", payment.ErrTransitionNoteNeeded, domain.KindInvalid, "note"},
		{payment.Disputed, payment.Computed, "", nil, 0, ""},
		{payment.Paid, payment.Withheld, "too late", payment.ErrInvalidTransition, domain.KindPrecondition, "status"},
		{payment.Computed, payment.Paid, "skip approval", payment.ErrInvalidTransition, domain.KindPrecondition, "status"},
		{payment.Withheld, payment.Computed, "x", payment.ErrInvalidTransition, domain.KindPrecondition, "status"},
	}
	for _, tt := range tests {
		err := payment.Transition(tt.from, tt.to, tt.note)
		if tt.want == nil {
			if err != nil {
				t.Errorf("Transition(%q, %q): %v", tt.from, tt.to, err)
			}
			continue
		}
		checkErr(t, err, tt.want, tt.kind, tt.field)
	}
}
