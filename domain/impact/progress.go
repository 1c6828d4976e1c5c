package impact

import (
	"math/big"
	"time"
)

// Basis points of progress and of elapsed time.
const (
	FullBP        int64 = 10000 // the target reached; the whole period elapsed
	MaxProgressBP int64 = 20000 // over-achievement is shown up to twice the way
)

// Status thresholds: progress may lag the share of the period elapsed by up
// to OnTrackLagBP and still be on track, by up to AtRiskLagBP and be at
// risk; beyond that it is off track.
const (
	OnTrackLagBP int64 = 1000 // 10 percentage points
	AtRiskLagBP  int64 = 2500 // 25 percentage points
)

// NoMeasurement passed as progress to StatusOf means that no measurement
// exists yet. ProgressBP never returns a negative number.
const NoMeasurement int64 = -1

// Status of an assignment's progress against the time elapsed.
type Status string

// Statuses.
const (
	NotStarted Status = "not_started" // no measurement yet
	OnTrack    Status = "on_track"
	AtRisk     Status = "at_risk"
	OffTrack   Status = "off_track"
)

// ProgressBP is the share of the way from baseline to target that actual
// has covered, in basis points (10000 = target reached), by direction:
//
//	increase: (actual − baseline) / (target − baseline)
//	decrease: (baseline − actual) / (baseline − target)
//	band:     10000 if BandMin ≤ actual ≤ BandMax, else 0
//
// The quotient is computed exactly (arbitrary precision, no overflow for
// any int64) and rounded once, half up: ⌊(20000 × num + den) / (2 × den)⌋
// with den > 0. The result is then clamped to [0, MaxProgressBP]: a value
// worse than the baseline is 0, over-achievement is kept up to twice the way.
//
// When the way has no length or points backwards (target == baseline, or a
// target on the wrong side of the baseline, which Assignment.Validate
// refuses), progress is 10000 if actual has reached or passed the target in
// the indicator's direction (actual ≥ target for increase, ≤ for decrease)
// and 0 otherwise. For band, a missing bound is open on that side. An
// unknown direction gives 0. For a fixed baseline and target, the result is
// non-decreasing in actual for increase and non-increasing for decrease.
func ProgressBP(def Definition, baseline, target, actual Value) int64 {
	var num, den *big.Int
	switch def.Direction {
	case Increase:
		if target <= baseline {
			return reached(actual >= target)
		}
		num, den = diff(actual, baseline), diff(target, baseline)
	case Decrease:
		if target >= baseline {
			return reached(actual <= target)
		}
		num, den = diff(baseline, actual), diff(baseline, target)
	case Band:
		in := (def.BandMin == nil || actual >= *def.BandMin) && (def.BandMax == nil || actual <= *def.BandMax)
		return reached(in)
	default:
		return 0
	}
	return roundedBP(num, den, 2*FullBP, MaxProgressBP)
}

func reached(ok bool) int64 {
	if ok {
		return FullBP
	}
	return 0
}

// diff is a − b without overflow.
func diff(a, b Value) *big.Int {
	return new(big.Int).Sub(big.NewInt(int64(a)), big.NewInt(int64(b)))
}

// roundedBP returns ⌊(twice × num + den) / (2 × den)⌋ clamped to [0, max],
// that is num/den × twice/2 rounded half up; den must be positive.
func roundedBP(num, den *big.Int, twice, max int64) int64 {
	n := new(big.Int).Mul(num, big.NewInt(twice))
	n.Add(n, den)
	d := new(big.Int).Lsh(den, 1)
	q := n.Div(n, d) // Euclidean division: the floor, since d > 0
	switch {
	case q.Sign() < 0:
		return 0
	case q.Cmp(big.NewInt(max)) > 0:
		return max
	}
	return q.Int64()
}

// StatusOf compares progress with the share of the period elapsed, both in
// basis points:
//
//	on_track  if progress ≥ elapsed − OnTrackLagBP (1000)
//	at_risk   if progress ≥ elapsed − AtRiskLagBP (2500)
//	off_track otherwise
//
// A negative progress (NoMeasurement) means that nothing has been measured
// yet: the status is not_started.
func StatusOf(progressBP, elapsedBP int64) Status {
	switch {
	case progressBP < 0:
		return NotStarted
	case progressBP >= elapsedBP-OnTrackLagBP:
		return OnTrack
	case progressBP >= elapsedBP-AtRiskLagBP:
		return AtRisk
	}
	return OffTrack
}

// ElapsedBP is the share of [start, end) elapsed at now, in basis points
// from 0 to 10000, rounded half up: 0 until start, 10000 from end on. An
// empty or inverted span is 0 before end and 10000 from end on. Spans are
// measured with time.Time.Sub, exact for spans under 292 years.
func ElapsedBP(start, end, now time.Time) int64 {
	switch {
	case !now.Before(end):
		return FullBP
	case !now.After(start):
		return 0
	}
	// Here start < now < end, so the span is positive.
	return roundedBP(big.NewInt(int64(now.Sub(start))), big.NewInt(int64(end.Sub(start))), 2*FullBP, FullBP)
}
