package evaluation

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/coprod/coprod/domain"
)

// Limits on a call's criteria.
const (
	MaxCriteria       = 30    // criteria in one call
	MaxCodeLen        = 40    // bytes of a criterion code
	MaxNameLen        = 200   // characters of a criterion name
	MaxMaxScore       = 1000  // the largest maximum score of a criterion
	TotalWeight       = 100   // the weights of a call sum to this
	MaxBP       int64 = 10000 // basis points of a full score, 100.00 points
)

// Criterion is an evaluation criterion of a call (criterio di valutazione).
type Criterion struct {
	Code     string // stable key: a-z, 0-9, _ and -, 1-40 characters
	Name     string
	Weight   int // percent; the weights of a call sum to 100
	MaxScore int // scores run from 0 to MaxScore, 1..1000
}

// Criteria errors.
var (
	ErrCriteriaCount      = domain.Errorf(domain.KindInvalid, "invalid_criteria_count", "a call has 1 to %d evaluation criteria", MaxCriteria)
	ErrCriterionCode      = domain.Errorf(domain.KindInvalid, "invalid_criterion_code", "a criterion code is 1-%d characters among a-z, 0-9, _ and -", MaxCodeLen)
	ErrDuplicateCriterion = domain.Errorf(domain.KindInvalid, "duplicate_criterion_code", "criterion codes are unique within a call")
	ErrCriterionName      = domain.Errorf(domain.KindInvalid, "invalid_criterion_name", "a criterion name is 1-%d characters", MaxNameLen)
	ErrCriterionWeight    = domain.Errorf(domain.KindInvalid, "invalid_criterion_weight", "a criterion weight is a percentage from 1 to 100")
	ErrWeightsSum         = domain.Errorf(domain.KindInvalid, "criteria_weights_sum", "the criterion weights sum to exactly %d", TotalWeight)
	ErrCriterionMaxScore  = domain.Errorf(domain.KindInvalid, "invalid_criterion_max_score", "a criterion's maximum score is 1 to %d", MaxMaxScore)
)

// ValidateCriteria checks a call's criteria; the error names the offending
// field ("criteria", "criteria[2].weight", "criteria[0].maxScore").
func ValidateCriteria(cs []Criterion) error {
	if len(cs) < 1 || len(cs) > MaxCriteria {
		return ErrCriteriaCount.WithField("criteria")
	}
	seen := make(map[string]bool, len(cs))
	sum := 0
	for i, c := range cs {
		field := func(name string) string { return fmt.Sprintf("criteria[%d].%s", i, name) }
		if !validCode(c.Code) {
			return ErrCriterionCode.WithField(field("code"))
		}
		if seen[c.Code] {
			return ErrDuplicateCriterion.WithMessage("criterion code %q appears more than once", c.Code).WithField(field("code"))
		}
		seen[c.Code] = true
		if strings.TrimSpace(c.Name) == "" || !utf8.ValidString(c.Name) || utf8.RuneCountInString(c.Name) > MaxNameLen {
			return ErrCriterionName.WithField(field("name"))
		}
		if c.Weight < 1 || c.Weight > TotalWeight {
			return ErrCriterionWeight.WithField(field("weight"))
		}
		if c.MaxScore < 1 || c.MaxScore > MaxMaxScore {
			return ErrCriterionMaxScore.WithField(field("maxScore"))
		}
		sum += c.Weight
	}
	if sum != TotalWeight {
		return ErrWeightsSum.WithMessage("the criterion weights sum to %d, not %d", sum, TotalWeight).WithField("criteria")
	}
	return nil
}

func validCode(s string) bool {
	if s == "" || len(s) > MaxCodeLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if (b < 'a' || b > 'z') && (b < '0' || b > '9') && b != '_' && b != '-' {
			return false
		}
	}
	return true
}

// index maps the codes of valid criteria to their position.
func index(cs []Criterion) map[string]int {
	idx := make(map[string]int, len(cs))
	for i, c := range cs {
		idx[c.Code] = i
	}
	return idx
}
