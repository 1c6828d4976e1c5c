package impact

import (
	"time"

	"github.com/coprod/coprod/domain"
)

// Frequencies: how often an indicator is measured, and the period kinds.
const (
	FrequencyMonthly    = "monthly"    // "2026-05"
	FrequencyQuarterly  = "quarterly"  // "2026-Q3"
	FrequencySemiannual = "semiannual" // "2026-H1"
	FrequencyAnnual     = "annual"     // "2026"
)

// Frequencies lists the frequencies from the finest to the coarsest.
var Frequencies = []string{FrequencyMonthly, FrequencyQuarterly, FrequencySemiannual, FrequencyAnnual}

// The years a period may name.
const (
	MinYear = 2000
	MaxYear = 2100
)

// ErrInvalidPeriod is returned for a period that names no known period.
var ErrInvalidPeriod = domain.Errorf(domain.KindInvalid, "invalid_period", `a period is "2026" (annual), "2026-H1" (semiannual), "2026-Q3" (quarterly) or "2026-05" (monthly), with a year from %d to %d`, MinYear, MaxYear)

// monthsOf is the length in months of a frequency's periods, 0 if unknown.
func monthsOf(freq string) int {
	switch freq {
	case FrequencyMonthly:
		return 1
	case FrequencyQuarterly:
		return 3
	case FrequencySemiannual:
		return 6
	case FrequencyAnnual:
		return 12
	}
	return 0
}

// validFrequency reports whether freq is one of Frequencies.
func validFrequency(freq string) bool { return monthsOf(freq) != 0 }

// parsePeriod returns the frequency of p and its first month (1-12).
func parsePeriod(p string) (freq string, year, month int, ok bool) {
	if len(p) != 4 && len(p) != 7 {
		return "", 0, 0, false
	}
	if !digits(p[:4]) {
		return "", 0, 0, false
	}
	year = int(p[0]-'0')*1000 + int(p[1]-'0')*100 + int(p[2]-'0')*10 + int(p[3]-'0')
	if year < MinYear || year > MaxYear {
		return "", 0, 0, false
	}
	if len(p) == 4 {
		return FrequencyAnnual, year, 1, true
	}
	if p[4] != '-' {
		return "", 0, 0, false
	}
	a, b := p[5], p[6]
	switch {
	case a == 'H' && (b == '1' || b == '2'):
		return FrequencySemiannual, year, 1 + 6*int(b-'1'), true
	case a == 'Q' && b >= '1' && b <= '4':
		return FrequencyQuarterly, year, 1 + 3*int(b-'1'), true
	case a >= '0' && a <= '1' && b >= '0' && b <= '9':
		m := int(a-'0')*10 + int(b-'0')
		if m >= 1 && m <= 12 {
			return FrequencyMonthly, year, m, true
		}
	}
	return "", 0, 0, false
}

// ValidPeriod reports whether p is a period of frequency freq: "2026" for
// annual, "2026-H1" or "2026-H2" for semiannual, "2026-Q1".."2026-Q4" for
// quarterly, "2026-01".."2026-12" for monthly, with a year from MinYear to
// MaxYear. Letters are upper case.
func ValidPeriod(freq, p string) bool {
	f, _, _, ok := parsePeriod(p)
	return ok && f == freq
}

// PeriodFrequency returns the frequency whose period p is.
func PeriodFrequency(p string) (string, bool) {
	f, _, _, ok := parsePeriod(p)
	return f, ok
}

// PeriodStart returns the first instant of period p, at midnight UTC.
func PeriodStart(p string) (time.Time, error) {
	_, y, m, ok := parsePeriod(p)
	if !ok {
		return time.Time{}, ErrInvalidPeriod.WithMessage("%q is not a period: use 2026, 2026-H1, 2026-Q3 or 2026-05 (years %d-%d)", p, MinYear, MaxYear)
	}
	return time.Date(y, time.Month(m), 1, 0, 0, 0, 0, time.UTC), nil
}

// PeriodEnd returns the exclusive end of period p, at midnight UTC: the
// first instant of the next period ("2026-Q3" ends at 2026-10-01T00:00Z,
// "2026" at 2027-01-01T00:00Z).
func PeriodEnd(p string) (time.Time, error) {
	f, y, m, ok := parsePeriod(p)
	if !ok {
		return time.Time{}, ErrInvalidPeriod.WithMessage("%q is not a period: use 2026, 2026-H1, 2026-Q3 or 2026-05 (years %d-%d)", p, MinYear, MaxYear)
	}
	return time.Date(y, time.Month(m+monthsOf(f)), 1, 0, 0, 0, 0, time.UTC), nil
}
