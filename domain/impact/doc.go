// Package impact holds the pure rules of the impact model of outcome-based
// agreements (convenzioni) and pilots: indicator definitions, their
// assignment with baseline and targets, progress and status, and the rules
// of measurements. It follows the INDIGO impact-bond data standard
// (Government Outcomes Lab, v4.1.0) in spirit. It persists nothing and
// speaks no HTTP; use cases wire it.
//
// # Values
//
// An indicator value is a [Value]: an int64 count of thousandths of the
// indicator's unit (12.5 % is 12500, 3 people are 3000), so that all
// arithmetic is exact and deterministic. [ParseValue] and [Value.String]
// convert to and from decimal text ("12.5", "3", "-0.125"); in JSON a value
// is a bare number (12.5). Values lie within ±999,999,999,999.999
// ([MinValue], [MaxValue]): 15 significant digits, which an IEEE 754 double
// (a JavaScript client) carries exactly.
//
// # Definitions (the tenant's library)
//
// A [Definition] is an indicator: code, name, definition, calculation
// (numerator, and denominator for ratios), unit, type (output, outcome,
// impact), direction (increase, decrease, band), aggregation across periods,
// frequency, data source, verification method, tags (UN SDG targets, ISTAT
// BES domains, IRIS+ metric ids), whether it concerns special-category data
// (GDPR art. 9) and the minimum cell size for counts of people (5 by
// default, at least 10 for special-category data). [Definition.Normalize]
// fills defaults and validates; [Seed] is a starter library.
//
// # Assignments, progress and status
//
// An [Assignment] attaches a definition to an agreement or pilot with a
// baseline, a target per period and a weight. Periods are "2026", "2026-H1",
// "2026-Q3" or "2026-05" ([ValidPeriod], [PeriodStart], [PeriodEnd]: UTC,
// end exclusive).
//
// Progress ([ProgressBP]) is the share of the way from baseline to target
// covered by the actual value, in basis points (10000 = target reached):
//
//	increase: (actual − baseline) / (target − baseline)
//	decrease: (baseline − actual) / (baseline − target)
//	band:     10000 inside [BandMin, BandMax], 0 outside
//
// computed exactly and rounded once, half up, to a whole basis point:
//
//	progressBP = ⌊(20000 × num + den) / (2 × den)⌋,  den > 0
//
// then clamped to [0, 20000]: worse than the baseline is 0, over-achievement
// is kept up to twice the way. When target == baseline (or the target lies
// on the wrong side, which validation refuses) progress is 10000 once actual
// has reached or passed the target in the indicator's direction, else 0.
//
// The share of a period elapsed ([ElapsedBP]) is rounded half up the same
// way and clamped to [0, 10000]. [StatusOf] compares the two:
//
//	on_track  progress ≥ elapsed − 1000 ([OnTrackLagBP])
//	at_risk   progress ≥ elapsed − 2500 ([AtRiskLagBP])
//	off_track otherwise
//	not_started before any measurement (progress passed as [NoMeasurement])
//
// # Measurements
//
// A measurement reports a value per period with aggregate counts of the
// people concerned ([PeopleCount]: age band × gender × vulnerability), never
// personal data. It moves draft → submitted → verified | rejected | disputed
// → locked ([CanTransition]); a rejected measurement is replaced by a new
// version. The verifier is never the submitter ([FourEyes]).
package impact
