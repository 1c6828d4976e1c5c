package impact

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/coprod/coprod/domain"
)

// Baseline is the value of an indicator before the intervention.
type Baseline struct {
	Value  Value
	Date   time.Time // when it was measured
	Source string    // where it comes from (a register, a survey, last year's report)
}

// Target is the value to reach by the end of a period.
type Target struct {
	Period string // "2026", "2026-H1", "2026-Q3" or "2026-05", of the assignment's frequency
	Value  Value
}

// Assignment attaches an indicator of the library to an agreement or a
// pilot, with its baseline, targets per period and weight.
type Assignment struct {
	Indicator string // the definition's code
	Baseline  Baseline
	Targets   []Target
	Weight    int    // 1-100: the indicator's weight among those of the agreement or pilot
	Frequency string // reporting frequency; empty means the definition's
}

// Limits of an assignment.
const (
	MinWeight  = 1
	MaxWeight  = 100
	MaxTargets = 120 // ten years of monthly targets
)

// Assignment errors. Each is returned with the offending field named
// ("weight", "baseline.date", "targets[2].period").
var (
	ErrIndicatorMismatch     = domain.Errorf(domain.KindInvalid, "indicator_mismatch", "the assignment names another indicator than the definition")
	ErrFrequencyTooFine      = domain.Errorf(domain.KindInvalid, "frequency_finer_than_definition", "an indicator cannot be reported more often than it is measured")
	ErrInvalidWeight         = domain.Errorf(domain.KindInvalid, "invalid_indicator_weight", "an indicator's weight is from %d to %d", MinWeight, MaxWeight)
	ErrInvalidBaselineDate   = domain.Errorf(domain.KindInvalid, "invalid_baseline_date", "the baseline has a date before the end of the first target period")
	ErrInvalidBaselineSource = domain.Errorf(domain.KindInvalid, "invalid_baseline_source", "the baseline names its source in 1-%d characters", MaxSourceLen)
	ErrTargetsCount          = domain.Errorf(domain.KindInvalid, "invalid_targets_count", "an assignment has 1 to %d targets", MaxTargets)
	ErrDuplicateTarget       = domain.Errorf(domain.KindInvalid, "duplicate_target_period", "a period has one target")
	ErrTargetsOrder          = domain.Errorf(domain.KindInvalid, "targets_not_sorted", "targets are listed by period, earliest first")
	ErrTargetDirection       = domain.Errorf(domain.KindInvalid, "target_against_direction", "a target does not lie on the worse side of the baseline")
	ErrTargetOutsideBand     = domain.Errorf(domain.KindInvalid, "target_outside_band", "a target of a band indicator lies within the band")
)

// Validate checks the assignment against its (library) definition:
//
//   - the definition itself normalizes (its errors come back with the field
//     prefixed "definition."); Indicator is its code;
//   - Frequency is valid and not finer than the definition's (data measured
//     quarterly cannot be reported monthly); empty means the definition's
//     and is filled in;
//   - Weight is 1-100;
//   - the baseline has a value in range for the unit, a date before the end
//     of the first target period and a source;
//   - there are 1 to MaxTargets targets, each of a period of the frequency,
//     sorted by period, one per period, with values in range for the unit;
//   - for increase no target is below the baseline, for decrease none is
//     above (a target equal to the baseline means "hold the level"); for band
//     the definition has both bounds and every target lies within them.
func (a *Assignment) Validate(def Definition) error {
	d := def
	if err := d.Normalize(); err != nil {
		var de *domain.Error
		if errors.As(err, &de) {
			return de.WithField("definition." + de.Field)
		}
		return err
	}
	if strings.TrimSpace(a.Indicator) != d.Code {
		return ErrIndicatorMismatch.WithMessage("the assignment names %q, the definition is %q", a.Indicator, d.Code).WithField("indicator")
	}
	freq := strings.TrimSpace(a.Frequency)
	if freq == "" {
		freq = d.Frequency
	}
	if !validFrequency(freq) {
		return ErrInvalidFrequency.WithField("frequency")
	}
	if monthsOf(freq) < monthsOf(d.Frequency) {
		return ErrFrequencyTooFine.WithMessage("%s is measured %s and cannot be reported %s", d.Code, d.Frequency, freq).WithField("frequency")
	}
	if a.Weight < MinWeight || a.Weight > MaxWeight {
		return ErrInvalidWeight.WithField("weight")
	}
	if err := checkValue(d.Unit, a.Baseline.Value); err != nil {
		return err.WithField("baseline.value")
	}
	if a.Baseline.Date.IsZero() {
		return ErrInvalidBaselineDate.WithField("baseline.date")
	}
	if !validText(strings.TrimSpace(a.Baseline.Source), 1, MaxSourceLen) {
		return ErrInvalidBaselineSource.WithField("baseline.source")
	}
	if len(a.Targets) < 1 || len(a.Targets) > MaxTargets {
		return ErrTargetsCount.WithField("targets")
	}
	var prev time.Time
	for i, t := range a.Targets {
		field := func(name string) string { return fmt.Sprintf("targets[%d].%s", i, name) }
		if !ValidPeriod(freq, t.Period) {
			return ErrInvalidPeriod.WithMessage("%q is not a %s period", t.Period, freq).WithField(field("period"))
		}
		start, _ := PeriodStart(t.Period)
		switch {
		case i > 0 && start.Equal(prev):
			return ErrDuplicateTarget.WithMessage("period %s has more than one target", t.Period).WithField(field("period"))
		case i > 0 && start.Before(prev):
			return ErrTargetsOrder.WithField(field("period"))
		}
		prev = start
		if i == 0 {
			end, _ := PeriodEnd(t.Period)
			if !a.Baseline.Date.Before(end) {
				return ErrInvalidBaselineDate.WithMessage("the baseline date is not before the end of the first target period, %s", t.Period).WithField("baseline.date")
			}
		}
		if err := checkValue(d.Unit, t.Value); err != nil {
			return err.WithField(field("value"))
		}
		switch d.Direction {
		case Increase:
			if t.Value < a.Baseline.Value {
				return ErrTargetDirection.WithMessage("the indicator should increase, but the target %s is below the baseline %s", t.Value, a.Baseline.Value).WithField(field("value"))
			}
		case Decrease:
			if t.Value > a.Baseline.Value {
				return ErrTargetDirection.WithMessage("the indicator should decrease, but the target %s is above the baseline %s", t.Value, a.Baseline.Value).WithField(field("value"))
			}
		case Band:
			if t.Value < *d.BandMin || t.Value > *d.BandMax {
				return ErrTargetOutsideBand.WithMessage("the target %s lies outside the band [%s, %s]", t.Value, *d.BandMin, *d.BandMax).WithField(field("value"))
			}
		}
	}
	a.Frequency = freq
	return nil
}
