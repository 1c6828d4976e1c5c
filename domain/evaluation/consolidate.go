package evaluation

import (
	"fmt"
	"math/big"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
)

// Result is an application's consolidated evaluation.
type Result struct {
	// ScoreBP is the consolidated score in basis points: 0..10000 stands for
	// 0.00..100.00 points.
	ScoreBP int64
	// PerCriterion maps each criterion code to the mean score on it, in basis
	// points of the criterion's maximum (0..10000), rounded half up on its own.
	PerCriterion map[string]int64
	Evaluators   int // non-abstaining evaluators whose sheets were averaged
	Abstained    int // evaluators who abstained
}

// Consolidation errors.
var (
	ErrDuplicateEvaluator = domain.Errorf(domain.KindInvalid, "duplicate_evaluator", "an evaluator hands in one sheet per application")
	ErrInvalidQuorum      = domain.Errorf(domain.KindInvalid, "invalid_quorum", "the quorum is at least one evaluator")
	ErrNoValidEvaluations = domain.Errorf(domain.KindPrecondition, "no_valid_evaluations", "no committee member scored this application: all abstained")
	ErrQuorumNotReached   = domain.Errorf(domain.KindPrecondition, "quorum_not_reached", "fewer committee members than the quorum scored this application")
)

// Consolidate computes an application's consolidated score from the sheets
// of its evaluators: the mean, over the non-abstaining evaluators, of
// Σ_c weight_c × value_c / maxScore_c, computed exactly and rounded half up
// to basis points once, at the end (see the package documentation for the
// formulas). The result does not depend on the order of the sheets.
//
// Every sheet must be valid and complete (see [ValidateSheet]; the error's
// field is prefixed with "sheets[i]."), and each evaluator hands in at most
// one: the caller passes the submitted sheets only, never drafts, so that an
// incomplete sheet is an error rather than silently left out. quorum (>= 1)
// is the least number of non-abstaining evaluators; with none the error is
// "no_valid_evaluations", with fewer than quorum "quorum_not_reached", both
// of kind precondition.
func Consolidate(cs []Criterion, sheets []Sheet, quorum int) (Result, error) {
	if err := ValidateCriteria(cs); err != nil {
		return Result{}, err
	}
	if quorum < 1 {
		return Result{}, ErrInvalidQuorum.WithField("quorum")
	}
	idx := index(cs)
	seen := make(map[uuid.UUID]bool, len(sheets))
	sums := make([]int64, len(cs)) // Σ_e value_ec
	var res Result
	for i, s := range sheets {
		if err := validateSheet(cs, idx, s); err != nil {
			return Result{}, err.WithField(fmt.Sprintf("sheets[%d].%s", i, err.Field))
		}
		if seen[s.Evaluator] {
			return Result{}, ErrDuplicateEvaluator.WithField(fmt.Sprintf("sheets[%d].evaluator", i))
		}
		seen[s.Evaluator] = true
		if s.Declaration == Abstain {
			res.Abstained++
			continue
		}
		res.Evaluators++
		for _, sc := range s.Scores {
			sums[idx[sc.Criterion]] += int64(sc.Value)
		}
	}
	if res.Evaluators == 0 {
		return Result{}, ErrNoValidEvaluations
	}
	if res.Evaluators < quorum {
		return Result{}, ErrQuorumNotReached.WithMessage("%d committee members scored this application; the quorum is %d", res.Evaluators, quorum)
	}

	n := int64(res.Evaluators)
	// total = Σ_c 100 × weight_c × sum_c / (maxScore_c × n), exactly.
	total := new(big.Rat)
	term := new(big.Rat)
	res.PerCriterion = make(map[string]int64, len(cs))
	for j, c := range cs {
		den := int64(c.MaxScore) * n
		term.SetFrac64(100*int64(c.Weight)*sums[j], den)
		total.Add(total, term)
		res.PerCriterion[c.Code] = roundHalfUp(MaxBP*sums[j], den)
	}
	res.ScoreBP = roundHalfUpRat(total)
	return res, nil
}

// roundHalfUp returns ⌊num/den + ½⌋ for num >= 0 and den > 0.
func roundHalfUp(num, den int64) int64 {
	return (2*num + den) / (2 * den)
}

// roundHalfUpRat returns ⌊r + ½⌋ for r >= 0 that fits an int64.
func roundHalfUpRat(r *big.Rat) int64 {
	num := new(big.Int).Lsh(r.Num(), 1) // 2p
	num.Add(num, r.Denom())             // 2p + q
	den := new(big.Int).Lsh(r.Denom(), 1)
	return num.Quo(num, den).Int64() // ⌊(2p + q) / 2q⌋, non-negative
}
