package payment

import (
	"fmt"
	"slices"

	"github.com/coprod/coprod/domain"
)

// Limits of a schedule.
const (
	MaxInstalments = 100 // percentages of at least 1 summing to 100
	TotalPercent   = 100
)

// Schedule errors.
var (
	ErrSplitTotal   = domain.Errorf(domain.KindInvalid, "invalid_split_total", "the amount to split is from 0 to %d cents", MaxCents)
	ErrSplitCount   = domain.Errorf(domain.KindInvalid, "invalid_instalment_count", "a schedule has 1 to %d instalments", MaxInstalments)
	ErrSplitPercent = domain.Errorf(domain.KindInvalid, "invalid_instalment_percent", "an instalment is a whole percentage from 1 to 100")
	ErrSplitSum     = domain.Errorf(domain.KindInvalid, "instalment_percents_sum", "the instalment percentages sum to exactly %d", TotalPercent)
)

// Split divides totalCents (0..MaxCents) into instalments by whole
// percentages (each 1..100, summing to 100), in order, by the largest-remainder
// method: each instalment gets ⌊total × percent / 100⌋, then the leftover
// cents go one each to the instalments with the largest discarded remainder,
// ties to the earliest. The parts sum exactly to totalCents, each is within one
// cent of its exact share, and a larger percentage never gets less.
func Split(totalCents int64, percents []int) ([]int64, error) {
	if totalCents < 0 || totalCents > MaxCents {
		return nil, ErrSplitTotal.WithField("totalCents")
	}
	if len(percents) < 1 || len(percents) > MaxInstalments {
		return nil, ErrSplitCount.WithField("percents")
	}
	sum := 0
	for i, p := range percents {
		if p < 1 || p > TotalPercent {
			return nil, ErrSplitPercent.WithField(fmt.Sprintf("percents[%d]", i))
		}
		sum += p
	}
	if sum != TotalPercent {
		return nil, ErrSplitSum.WithMessage("the instalment percentages sum to %d, not %d", sum, TotalPercent).WithField("percents")
	}

	parts := make([]int64, len(percents))
	rems := make([]int64, len(percents)) // discarded remainders, in hundredths of a cent
	left := totalCents
	for i, p := range percents {
		exact := totalCents * int64(p) // ≤ 1e15: no overflow
		parts[i], rems[i] = exact/TotalPercent, exact%TotalPercent
		left -= parts[i]
	}
	// 0 ≤ left < len(percents): each floor discards less than one cent.
	order := make([]int, len(percents))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return int(rems[b] - rems[a]) }) // largest first, ties by index
	for _, i := range order[:left] {
		parts[i]++
	}
	return parts, nil
}
