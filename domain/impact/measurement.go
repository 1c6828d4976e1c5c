package impact

import (
	"fmt"
	"slices"
	"strings"

	"github.com/coprod/coprod/domain"
)

// PeopleCount is one cell of the aggregate count of the people a
// measurement concerns: how many people of an age band, a gender and a
// vulnerability category.
//
// By design there is no field for a name, a fiscal code, a date of birth or
// any other personal identifier, nor free text: coprod keeps no personal
// data about beneficiaries, only these aggregate counts (DOMAIN.md §4).
// Disclosure control (suppressing cells under the indicator's MinCellSize)
// happens where counts are shown across tenants, not here.
type PeopleCount struct {
	AgeBand       string // one of AgeBands
	Gender        string // one of Genders
	Vulnerability string // one of Vulnerabilities
	Count         int    // 0..MaxCount
}

// Categories of a PeopleCount.
var (
	AgeBands        = []string{"0-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75+"}
	Genders         = []string{"female", "male", "other", "not_stated"}
	Vulnerabilities = []string{
		"none", "disability", "elderly_alone", "poverty", "migrant", "addiction",
		"mental_health", "homeless", "violence", "minor_at_risk", "other",
	}
)

// MaxCount is the largest count of one cell.
const MaxCount = 10_000_000

// Count errors, with the field named ("counts[3].ageBand").
var (
	ErrInvalidAgeBand       = domain.Errorf(domain.KindInvalid, "invalid_age_band", "the age band is one of %s", strings.Join(AgeBands, ", "))
	ErrInvalidGender        = domain.Errorf(domain.KindInvalid, "invalid_gender", "the gender is one of %s", strings.Join(Genders, ", "))
	ErrInvalidVulnerability = domain.Errorf(domain.KindInvalid, "invalid_vulnerability", "the vulnerability is one of %s", strings.Join(Vulnerabilities, ", "))
	ErrInvalidCount         = domain.Errorf(domain.KindInvalid, "invalid_count", "a count is from 0 to %d", MaxCount)
	ErrDuplicateCell        = domain.Errorf(domain.KindInvalid, "duplicate_count_cell", "an age band, gender and vulnerability appear together once")
)

// ValidateCounts checks the cells of a measurement: known categories,
// counts from 0 to MaxCount and no two cells with the same age band, gender
// and vulnerability. No cells at all is valid.
func ValidateCounts(cs []PeopleCount) error {
	type cell struct{ age, gender, vuln string }
	seen := make(map[cell]bool, len(cs))
	for i, c := range cs {
		field := func(name string) string { return fmt.Sprintf("counts[%d].%s", i, name) }
		if !slices.Contains(AgeBands, c.AgeBand) {
			return ErrInvalidAgeBand.WithField(field("ageBand"))
		}
		if !slices.Contains(Genders, c.Gender) {
			return ErrInvalidGender.WithField(field("gender"))
		}
		if !slices.Contains(Vulnerabilities, c.Vulnerability) {
			return ErrInvalidVulnerability.WithField(field("vulnerability"))
		}
		if c.Count < 0 || c.Count > MaxCount {
			return ErrInvalidCount.WithField(field("count"))
		}
		k := cell{c.AgeBand, c.Gender, c.Vulnerability}
		if seen[k] {
			return ErrDuplicateCell.WithMessage("the cell %s, %s, %s appears more than once", c.AgeBand, c.Gender, c.Vulnerability).WithField(fmt.Sprintf("counts[%d]", i))
		}
		seen[k] = true
	}
	return nil
}

// IsSpecialCategory reports whether a vulnerability category reveals data
// that coprod treats as special-category data under GDPR art. 9: disability,
// addiction and mental_health are health data; migrant and violence are not
// art. 9 categories as such, but often reveal them (ethnic origin, health,
// sex life) and expose people to harm, so they get the same protection
// (a minimum cell size of at least SpecialMinCellSize).
func IsSpecialCategory(vulnerability string) bool {
	switch vulnerability {
	case "disability", "addiction", "mental_health", "migrant", "violence":
		return true
	}
	return false
}

// MeasurementStatus is the state of a measurement in its verification.
type MeasurementStatus string

// Measurement statuses.
const (
	Draft     MeasurementStatus = "draft"     // being written by the partner
	Submitted MeasurementStatus = "submitted" // handed in for verification
	Verified  MeasurementStatus = "verified"  // accepted by the municipality
	Rejected  MeasurementStatus = "rejected"  // refused; a corrected one is a new version
	Disputed  MeasurementStatus = "disputed"  // contested, pending resolution
	Locked    MeasurementStatus = "locked"    // final: used for payment, never changes
)

// MeasurementStatuses lists the statuses in their order along the workflow.
var MeasurementStatuses = []MeasurementStatus{Draft, Submitted, Verified, Rejected, Disputed, Locked}

// CanTransition reports whether a measurement may move from one status to
// another:
//
//	draft     → submitted
//	submitted → verified | rejected | disputed
//	disputed  → verified | rejected
//	verified  → locked
//
// Nothing else: a rejected measurement is corrected by submitting a new
// version (a new measurement in draft), not by a transition; a locked one
// never changes; a status never "transitions" to itself.
func CanTransition(from, to MeasurementStatus) bool {
	switch from {
	case Draft:
		return to == Submitted
	case Submitted:
		return to == Verified || to == Rejected || to == Disputed
	case Disputed:
		return to == Verified || to == Rejected
	case Verified:
		return to == Locked
	}
	return false
}

// Four-eyes errors.
var (
	ErrFourEyes     = domain.Errorf(domain.KindForbidden, "four_eyes", "the verifier of a measurement is never its submitter")
	ErrMissingActor = domain.Errorf(domain.KindInvalid, "missing_actor", "the submitter and the verifier are both known")
)

// FourEyes enforces the four-eyes principle on a measurement: the verifier
// is never the submitter. The two ids are compared after trimming and
// without regard to case (a UUID in upper or lower case is the same user);
// an empty id fails closed with "missing_actor".
func FourEyes(submitter, verifier string) error {
	s, v := strings.TrimSpace(submitter), strings.TrimSpace(verifier)
	if s == "" {
		return ErrMissingActor.WithField("submitter")
	}
	if v == "" {
		return ErrMissingActor.WithField("verifier")
	}
	if strings.EqualFold(s, v) {
		return ErrFourEyes.WithField("verifier")
	}
	return nil
}
