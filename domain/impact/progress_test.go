package impact_test

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/coprod/coprod/domain/impact"
)

var (
	increase = impact.Definition{Direction: impact.Increase}
	decrease = impact.Definition{Direction: impact.Decrease}
)

func TestProgressBP(t *testing.T) {
	t.Parallel()
	band := impact.Definition{Direction: impact.Band, BandMin: ptr(80000), BandMax: ptr(95000)}
	tests := []struct {
		name                     string
		def                      impact.Definition
		baseline, target, actual string
		want                     int64
	}{
		// Worked examples.
		{"increase halfway", increase, "40", "60", "50", 5000},
		{"increase a third, rounded down", increase, "10", "13", "11", 3333},         // 3333.33
		{"increase two thirds, rounded up", increase, "10", "13", "12", 6667},        // 6666.67
		{"increase exactly half a point rounds up", increase, "0", "20", "0.001", 1}, // 0.5
		{"increase 1.5 points rounds up", increase, "0", "20", "0.003", 2},           // 1.5
		{"increase under half a point", increase, "0", "30", "0.001", 0},             // 0.33
		{"increase reached", increase, "120", "150", "150", 10000},
		{"increase at baseline", increase, "120", "150", "120", 0},
		{"increase over-achieved", increase, "100", "200", "250", 15000},
		{"increase capped at twice the way", increase, "100", "200", "400", 20000},
		{"increase worse than baseline", increase, "100", "200", "50", 0},
		{"increase from a negative baseline", increase, "-10", "10", "0", 5000},
		{"readmissions down halfway", decrease, "20", "15", "17.5", 5000},
		{"readmissions beyond target", decrease, "20", "15", "14", 12000},
		{"readmissions capped", decrease, "20", "15", "5", 20000},
		{"readmissions up: clamped", decrease, "20", "15", "22", 0},
		{"days to first contact", decrease, "30", "10", "25", 2500},
		{"decrease a third", decrease, "13", "10", "12", 3333},
		{"decrease two thirds", decrease, "13", "10", "11", 6667},
		// Target equal to the baseline: hold the level.
		{"hold increase: kept", increase, "50", "50", "50", 10000},
		{"hold increase: passed", increase, "50", "50", "80", 10000},
		{"hold increase: lost", increase, "50", "50", "49.999", 0},
		{"hold decrease: kept", decrease, "5", "5", "5", 10000},
		{"hold decrease: better", decrease, "5", "5", "1", 10000},
		{"hold decrease: worse", decrease, "5", "5", "5.001", 0},
		// A target on the wrong side (refused by Validate) is a threshold.
		{"increase target below baseline: reached", increase, "50", "40", "40", 10000},
		{"increase target below baseline: missed", increase, "50", "40", "39", 0},
		{"decrease target above baseline: reached", decrease, "10", "12", "11", 10000},
		{"decrease target above baseline: missed", decrease, "10", "12", "13", 0},
		// Band: inside or not, baseline and target do not matter.
		{"band below", band, "0", "90", "79.999", 0},
		{"band lower bound", band, "0", "90", "80", 10000},
		{"band inside", band, "0", "90", "88", 10000},
		{"band upper bound", band, "0", "90", "95", 10000},
		{"band above", band, "0", "90", "95.001", 0},
		{"band open below", impact.Definition{Direction: impact.Band, BandMax: ptr(10)}, "0", "0", "-999", 10000},
		{"band open above", impact.Definition{Direction: impact.Band, BandMin: ptr(10)}, "0", "0", "999", 10000},
		{"unknown direction", impact.Definition{Direction: "up"}, "0", "10", "10", 0},
	}
	for _, tt := range tests {
		got := impact.ProgressBP(tt.def, v(t, tt.baseline), v(t, tt.target), v(t, tt.actual))
		if got != tt.want {
			t.Errorf("%s: ProgressBP(%s, %s → %s, actual %s) = %d, want %d", tt.name, tt.def.Direction, tt.baseline, tt.target, tt.actual, got, tt.want)
		}
	}
}

// TestProgressBPExtremes: no overflow anywhere in the int64 range.
func TestProgressBPExtremes(t *testing.T) {
	t.Parallel()
	const lo, hi = impact.Value(math.MinInt64), impact.Value(math.MaxInt64)
	tests := []struct {
		def                      impact.Definition
		baseline, target, actual impact.Value
		want                     int64
	}{
		{increase, lo, hi, 0, 5000},
		{increase, lo, hi, hi, 10000},
		{increase, lo, hi, lo, 0},
		{increase, lo, lo + 1, hi, 20000},
		{decrease, hi, lo, 0, 5000},
		{decrease, hi, hi - 1, lo, 20000},
		{decrease, hi, lo, hi, 0},
		{increase, 0, 1, hi, 20000},
	}
	for _, tt := range tests {
		if got := impact.ProgressBP(tt.def, tt.baseline, tt.target, tt.actual); got != tt.want {
			t.Errorf("ProgressBP(%s, %d → %d, %d) = %d, want %d", tt.def.Direction, tt.baseline, tt.target, tt.actual, got, tt.want)
		}
	}
}

// reference computes progress with rational arithmetic, independently of
// the implementation: round half up of 10000 × num/den, clamped.
func reference(def impact.Definition, baseline, target, actual impact.Value) int64 {
	b, tg, a := big.NewInt(int64(baseline)), big.NewInt(int64(target)), big.NewInt(int64(actual))
	var num, den *big.Int
	if def.Direction == impact.Increase {
		num, den = new(big.Int).Sub(a, b), new(big.Int).Sub(tg, b)
	} else {
		num, den = new(big.Int).Sub(b, a), new(big.Int).Sub(b, tg)
	}
	if den.Sign() <= 0 {
		if num.Cmp(den) >= 0 { // actual reached or passed the target
			return 10000
		}
		return 0
	}
	r := new(big.Rat).SetFrac(num, den)
	r.Mul(r, big.NewRat(10000, 1))
	r.Add(r, big.NewRat(1, 2))
	q := new(big.Int).Div(r.Num(), r.Denom()) // floor, since Denom > 0
	switch {
	case q.Sign() < 0:
		return 0
	case q.Cmp(big.NewInt(20000)) > 0:
		return 20000
	}
	return q.Int64()
}

// TestProgressBPProperties: monotone in actual (non-decreasing for increase,
// non-increasing for decrease), within [0, 20000], and equal to an
// independent rational computation.
func TestProgressBPProperties(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(7, 2026))
	draw := func() impact.Value {
		switch r.IntN(4) {
		case 0:
			return impact.Value(r.Int64N(201) - 100) // tiny: ties and exact halves
		case 1:
			return impact.Value(r.Int64N(200_001)) // 0..200 units
		case 2:
			return impact.Value(r.Int64N(int64(impact.MaxValue))*2 - int64(impact.MaxValue))
		default:
			return impact.Value(r.Uint64()) // anywhere in int64
		}
	}
	for i := 0; i < 50000; i++ {
		def := increase
		if i%2 == 1 {
			def = decrease
		}
		baseline, target := draw(), draw()
		a1, a2 := draw(), draw()
		if a1 > a2 {
			a1, a2 = a2, a1
		}
		p1, p2 := impact.ProgressBP(def, baseline, target, a1), impact.ProgressBP(def, baseline, target, a2)
		if p1 < 0 || p1 > impact.MaxProgressBP || p2 < 0 || p2 > impact.MaxProgressBP {
			t.Fatalf("out of range: %d, %d", p1, p2)
		}
		if def.Direction == impact.Increase && p1 > p2 || def.Direction == impact.Decrease && p1 < p2 {
			t.Fatalf("%s, baseline %d, target %d: ProgressBP(%d) = %d, ProgressBP(%d) = %d", def.Direction, baseline, target, a1, p1, a2, p2)
		}
		if want := reference(def, baseline, target, a1); p1 != want {
			t.Fatalf("%s, baseline %d, target %d, actual %d: ProgressBP = %d, reference %d", def.Direction, baseline, target, a1, p1, want)
		}
		// Reaching the target is exactly 10000.
		if def.Direction == impact.Increase && target > baseline || def.Direction == impact.Decrease && target < baseline {
			if got := impact.ProgressBP(def, baseline, target, target); got != impact.FullBP {
				t.Fatalf("%s, baseline %d, target %d reached: %d", def.Direction, baseline, target, got)
			}
		}
	}
}

func TestStatusOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		progress, elapsed int64
		want              impact.Status
	}{
		{impact.NoMeasurement, 5000, impact.NotStarted},
		{-5, 0, impact.NotStarted},
		{0, 0, impact.OnTrack},
		{0, 1000, impact.OnTrack},
		{0, 1001, impact.AtRisk},
		{0, 2500, impact.AtRisk},
		{0, 2501, impact.OffTrack},
		{5000, 5000, impact.OnTrack},
		{4000, 5000, impact.OnTrack}, // lag of exactly 1000
		{3999, 5000, impact.AtRisk},
		{2500, 5000, impact.AtRisk}, // lag of exactly 2500
		{2499, 5000, impact.OffTrack},
		{9000, 10000, impact.OnTrack},
		{8999, 10000, impact.AtRisk},
		{7500, 10000, impact.AtRisk},
		{7499, 10000, impact.OffTrack},
		{20000, 10000, impact.OnTrack},
		{0, 10000, impact.OffTrack},
	}
	for _, tt := range tests {
		if got := impact.StatusOf(tt.progress, tt.elapsed); got != tt.want {
			t.Errorf("StatusOf(%d, %d) = %s, want %s", tt.progress, tt.elapsed, got, tt.want)
		}
	}
}

func TestElapsedBP(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tenDays := t0.AddDate(0, 0, 10)
	tests := []struct {
		name            string
		start, end, now time.Time
		want            int64
	}{
		{"before", t0, tenDays, t0.Add(-time.Hour), 0},
		{"at start", t0, tenDays, t0, 0},
		{"one day of ten", t0, tenDays, t0.AddDate(0, 0, 1), 1000},
		{"half", t0, tenDays, t0.AddDate(0, 0, 5), 5000},
		{"at end", t0, tenDays, tenDays, 10000},
		{"after", t0, tenDays, tenDays.AddDate(1, 0, 0), 10000},
		{"half a basis point rounds up", t0, t0.Add(20000), t0.Add(1), 1},
		{"under half a basis point", t0, t0.Add(30000), t0.Add(1), 0},
		{"just before the end", t0, t0.Add(20000), t0.Add(19999), 10000},
		{"in another zone", t0, tenDays, t0.AddDate(0, 0, 5).In(time.FixedZone("CET", 3600)), 5000},
		{"a century, no overflow", time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2050, 1, 1, 0, 0, 0, 0, time.UTC), 5000},
		{"empty span, before", t0, t0, t0.Add(-1), 0},
		{"empty span, at end", t0, t0, t0, 10000},
		{"inverted span, before", tenDays, t0, t0.Add(-1), 0},
		{"inverted span, after", tenDays, t0, t0.Add(1), 10000},
	}
	for _, tt := range tests {
		if got := impact.ElapsedBP(tt.start, tt.end, tt.now); got != tt.want {
			t.Errorf("%s: ElapsedBP = %d, want %d", tt.name, got, tt.want)
		}
	}
	// Monotone in now and within bounds.
	prev := int64(-1)
	for h := -24; h <= 24*11; h++ {
		got := impact.ElapsedBP(t0, tenDays, t0.Add(time.Duration(h)*time.Hour))
		if got < prev || got < 0 || got > 10000 {
			t.Fatalf("ElapsedBP at hour %d = %d after %d", h, got, prev)
		}
		prev = got
	}
}
