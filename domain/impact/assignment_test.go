package impact_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/coprod/coprod/domain/impact"
)

// validAssignment assigns validDefinition (people, increase, quarterly).
func validAssignment() impact.Assignment {
	return impact.Assignment{
		Indicator: "elderly_reached",
		Baseline:  impact.Baseline{Value: 40000, Date: time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC), Source: "Relazione sociale 2025"},
		Targets: []impact.Target{
			{Period: "2026-Q1", Value: 45000},
			{Period: "2026-Q2", Value: 50000},
			{Period: "2026-Q4", Value: 60000},
		},
		Weight: 30,
	}
}

func TestAssignmentValidate(t *testing.T) {
	t.Parallel()
	a := validAssignment()
	if err := a.Validate(validDefinition()); err != nil {
		t.Fatal(err)
	}
	if a.Frequency != impact.FrequencyQuarterly {
		t.Errorf("empty frequency filled with %q, want the definition's", a.Frequency)
	}

	readmissions := validDefinition()
	readmissions.Unit, readmissions.Denominator, readmissions.Aggregation = impact.UnitPercent, "Dimissioni", impact.AggregationMean
	readmissions.Direction = impact.Decrease
	occupancy := validDefinition()
	occupancy.Unit, occupancy.Denominator, occupancy.Aggregation = impact.UnitPercent, "Posti", impact.AggregationMean
	occupancy.Direction, occupancy.BandMin, occupancy.BandMax = impact.Band, ptr(80000), ptr(95000)

	tests := []struct {
		name        string
		def         func(*impact.Definition)
		edit        func(*impact.Assignment)
		code, field string
	}{
		{"coarser frequency", nil, func(a *impact.Assignment) {
			a.Frequency, a.Targets = impact.FrequencyAnnual, []impact.Target{{Period: "2026", Value: 50000}, {Period: "2027", Value: 60000}}
		}, "", ""},
		{"same frequency spelled out", nil, func(a *impact.Assignment) { a.Frequency = impact.FrequencyQuarterly }, "", ""},
		{"weight 1", nil, func(a *impact.Assignment) { a.Weight = 1 }, "", ""},
		{"weight 100", nil, func(a *impact.Assignment) { a.Weight = 100 }, "", ""},
		{"target equal to baseline", nil, func(a *impact.Assignment) { a.Targets[0].Value = 40000 }, "", ""},
		{"baseline inside the first period", nil, func(a *impact.Assignment) { a.Baseline.Date = time.Date(2026, 3, 31, 23, 0, 0, 0, time.UTC) }, "", ""},
		{"120 monthly targets", func(d *impact.Definition) { d.Frequency = impact.FrequencyMonthly }, func(a *impact.Assignment) { a.Targets = monthly(120) }, "", ""},

		{"invalid definition", func(d *impact.Definition) { d.Code = "X" }, nil, "invalid_indicator_code", "definition.code"},
		{"band definition without band", func(d *impact.Definition) { d.Direction = impact.Band }, nil, "band_required", "definition.bandMin"},
		{"other indicator", nil, func(a *impact.Assignment) { a.Indicator = "other" }, "indicator_mismatch", "indicator"},
		{"unknown frequency", nil, func(a *impact.Assignment) { a.Frequency = "weekly" }, "invalid_frequency", "frequency"},
		{"finer frequency", nil, func(a *impact.Assignment) { a.Frequency = impact.FrequencyMonthly }, "frequency_finer_than_definition", "frequency"},
		{"weight 0", nil, func(a *impact.Assignment) { a.Weight = 0 }, "invalid_indicator_weight", "weight"},
		{"weight 101", nil, func(a *impact.Assignment) { a.Weight = 101 }, "invalid_indicator_weight", "weight"},
		{"negative people", nil, func(a *impact.Assignment) { a.Baseline.Value = -1 }, "invalid_value_for_unit", "baseline.value"},
		{"baseline out of range", nil, func(a *impact.Assignment) { a.Baseline.Value = impact.MaxValue + 1 }, "value_out_of_range", "baseline.value"},
		{"baseline without date", nil, func(a *impact.Assignment) { a.Baseline.Date = time.Time{} }, "invalid_baseline_date", "baseline.date"},
		{"baseline after the first period", nil, func(a *impact.Assignment) { a.Baseline.Date = time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC) }, "invalid_baseline_date", "baseline.date"},
		{"baseline without source", nil, func(a *impact.Assignment) { a.Baseline.Source = "  " }, "invalid_baseline_source", "baseline.source"},
		{"no targets", nil, func(a *impact.Assignment) { a.Targets = nil }, "invalid_targets_count", "targets"},
		{"121 targets", func(d *impact.Definition) { d.Frequency = impact.FrequencyMonthly }, func(a *impact.Assignment) { a.Targets = monthly(121) }, "invalid_targets_count", "targets"},
		{"period of another frequency", nil, func(a *impact.Assignment) { a.Targets[1].Period = "2026-06" }, "invalid_period", "targets[1].period"},
		{"malformed period", nil, func(a *impact.Assignment) { a.Targets[0].Period = "Q1-2026" }, "invalid_period", "targets[0].period"},
		{"duplicate period", nil, func(a *impact.Assignment) { a.Targets[2].Period = "2026-Q2" }, "duplicate_target_period", "targets[2].period"},
		{"unsorted", nil, func(a *impact.Assignment) { a.Targets[0], a.Targets[1] = a.Targets[1], a.Targets[0] }, "targets_not_sorted", "targets[1].period"},
		{"target out of range", nil, func(a *impact.Assignment) { a.Targets[2].Value = impact.MaxValue + 1 }, "value_out_of_range", "targets[2].value"},
		{"increase target below baseline", nil, func(a *impact.Assignment) { a.Targets[1].Value = 39999 }, "target_against_direction", "targets[1].value"},
	}
	for _, tt := range tests {
		def := validDefinition()
		if tt.def != nil {
			tt.def(&def)
		}
		a := validAssignment()
		if tt.edit != nil {
			tt.edit(&a)
		}
		checkErr(t, tt.name, a.Validate(def), tt.code, tt.field)
	}

	byDef := []struct {
		name        string
		def         impact.Definition
		baseline    impact.Value
		targets     []impact.Value
		code, field string
	}{
		{"decrease", readmissions, 20000, []impact.Value{18000, 15000}, "", ""},
		{"decrease hold", readmissions, 20000, []impact.Value{20000, 20000}, "", ""},
		{"decrease target above baseline", readmissions, 20000, []impact.Value{18000, 20001}, "target_against_direction", "targets[1].value"},
		{"percent over 100", readmissions, 100001, []impact.Value{18000}, "invalid_value_for_unit", "baseline.value"},
		{"band", occupancy, 60000, []impact.Value{80000, 95000}, "", ""},
		{"band target below", occupancy, 60000, []impact.Value{79999}, "target_outside_band", "targets[0].value"},
		{"band target above", occupancy, 60000, []impact.Value{90000, 95001}, "target_outside_band", "targets[1].value"},
		{"band negative percent", occupancy, 60000, []impact.Value{-1}, "invalid_value_for_unit", "targets[0].value"},
	}
	for _, tt := range byDef {
		a := validAssignment()
		a.Baseline.Value = tt.baseline
		a.Targets = nil
		for i, x := range tt.targets {
			a.Targets = append(a.Targets, impact.Target{Period: fmt.Sprintf("2026-Q%d", i+1), Value: x})
		}
		checkErr(t, tt.name, a.Validate(tt.def), tt.code, tt.field)
	}
}

// monthly returns n monthly targets from January 2026, 50 people each.
func monthly(n int) []impact.Target {
	ts := make([]impact.Target, n)
	for i := range ts {
		ts[i] = impact.Target{Period: fmt.Sprintf("%d-%02d", 2026+i/12, 1+i%12), Value: 50000}
	}
	return ts
}
