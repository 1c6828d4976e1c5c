package evaluation

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
)

// Declaration is what a committee member declares about an application
// before seeing it (dichiarazione sul conflitto di interessi).
type Declaration string

// Declarations.
const (
	NoConflict Declaration = "no_conflict" // no conflict of interest: the member scores
	Abstain    Declaration = "abstain"     // the member abstains (si astiene) and gives no scores
)

// Valid reports whether d is a known declaration.
func (d Declaration) Valid() bool { return d == NoConflict || d == Abstain }

// MaxRationaleLen is the longest rationale of a score, in characters.
const MaxRationaleLen = 4000

// Recused reports whether a committee member who belongs to memberOrgs must
// abstain on an application whose organisations (lead and partners) are
// appOrgs: it does when the two share an organisation. Zero ids are ignored.
func Recused(memberOrgs []uuid.UUID, appOrgs []uuid.UUID) bool {
	for _, m := range memberOrgs {
		if m == uuid.Nil {
			continue
		}
		for _, a := range appOrgs {
			if m == a {
				return true
			}
		}
	}
	return false
}

// Score is one evaluator's score of one application on one criterion.
type Score struct {
	Criterion string // the criterion's code
	Value     int    // 0..MaxScore of the criterion
	Rationale string // motivazione, 1-4000 characters
}

// Sheet is one evaluator's sheet (scheda) for one application.
type Sheet struct {
	Evaluator   uuid.UUID
	Declaration Declaration
	Scores      []Score
}

// Sheet errors.
var (
	ErrEvaluator        = domain.Errorf(domain.KindInvalid, "invalid_evaluator", "a sheet names its evaluator")
	ErrDeclaration      = domain.Errorf(domain.KindInvalid, "invalid_declaration", "the declaration is no_conflict or abstain")
	ErrAbstentionScores = domain.Errorf(domain.KindInvalid, "abstention_with_scores", "an evaluator who abstains gives no scores")
	ErrUnknownCriterion = domain.Errorf(domain.KindInvalid, "unknown_criterion", "the score refers to no criterion of the call")
	ErrDuplicateScore   = domain.Errorf(domain.KindInvalid, "duplicate_score", "a sheet has one score per criterion")
	ErrMissingScore     = domain.Errorf(domain.KindInvalid, "missing_score", "a sheet scores every criterion of the call")
	ErrScoreOutOfRange  = domain.Errorf(domain.KindInvalid, "score_out_of_range", "a score runs from 0 to the criterion's maximum")
	ErrInvalidRationale = domain.Errorf(domain.KindInvalid, "invalid_rationale", "each score needs a rationale of 1-%d characters", MaxRationaleLen)
)

// ValidateSheet checks a sheet against the call's criteria (which it
// validates first). An abstention carries no scores; a no_conflict sheet has
// exactly one score per criterion, each within 0..MaxScore and with a
// rationale. The error names the offending field ("declaration",
// "scores[1].value", "scores" for a missing score).
func ValidateSheet(cs []Criterion, s Sheet) error {
	if err := ValidateCriteria(cs); err != nil {
		return err
	}
	if err := validateSheet(cs, index(cs), s); err != nil {
		return err // not returned bare: a nil *domain.Error is no nil error
	}
	return nil
}

// validateSheet checks s against criteria already validated.
func validateSheet(cs []Criterion, idx map[string]int, s Sheet) *domain.Error {
	if s.Evaluator == uuid.Nil {
		return ErrEvaluator.WithField("evaluator")
	}
	switch s.Declaration {
	case Abstain:
		if len(s.Scores) > 0 {
			return ErrAbstentionScores.WithField("scores")
		}
		return nil
	case NoConflict:
	default:
		return ErrDeclaration.WithField("declaration")
	}
	scored := make([]bool, len(cs))
	for i, sc := range s.Scores {
		field := func(name string) string { return fmt.Sprintf("scores[%d].%s", i, name) }
		j, ok := idx[sc.Criterion]
		if !ok {
			return ErrUnknownCriterion.WithMessage("no criterion of the call has code %q", sc.Criterion).WithField(field("criterion"))
		}
		if scored[j] {
			return ErrDuplicateScore.WithMessage("criterion %q is scored more than once", sc.Criterion).WithField(field("criterion"))
		}
		scored[j] = true
		if sc.Value < 0 || sc.Value > cs[j].MaxScore {
			return ErrScoreOutOfRange.WithMessage("a score on criterion %q runs from 0 to %d", sc.Criterion, cs[j].MaxScore).WithField(field("value"))
		}
		if !validRationale(sc.Rationale) {
			return ErrInvalidRationale.WithField(field("rationale"))
		}
	}
	for j, ok := range scored {
		if !ok {
			return ErrMissingScore.WithMessage("criterion %q has no score", cs[j].Code).WithField("scores")
		}
	}
	return nil
}

func validRationale(s string) bool {
	return strings.TrimSpace(s) != "" && utf8.ValidString(s) && utf8.RuneCountInString(s) <= MaxRationaleLen
}
