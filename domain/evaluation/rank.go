package evaluation

import (
	"bytes"
	"cmp"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
)

// Candidate is an admissible, not withdrawn application with its
// consolidated evaluation; the caller leaves out the others.
type Candidate struct {
	Application uuid.UUID
	SubmittedAt time.Time
	Result      Result
}

// Entry is a line of the ranking (graduatoria).
type Entry struct {
	Position    int // 1-based, distinct
	Application uuid.UUID
	ScoreBP     int64
	Admitted    bool // ScoreBP >= thresholdBP: admitted to the co-design table
}

// ErrInvalidThreshold is the error of ValidateThreshold.
var ErrInvalidThreshold = domain.Errorf(domain.KindInvalid, "invalid_threshold", "the pass threshold is 0 to 10000 basis points (0.00 to 100.00 points)")

// ValidateThreshold checks a call's pass threshold in basis points.
func ValidateThreshold(thresholdBP int64) error {
	if thresholdBP < 0 || thresholdBP > MaxBP {
		return ErrInvalidThreshold.WithField("thresholdBP")
	}
	return nil
}

// Rank orders the candidates into the ranking: by ScoreBP, highest first;
// ties go (1) to the higher Result.PerCriterion on the criterion of cs with
// the largest weight, then the next largest weight, criteria of equal weight
// in the order of cs (a code absent from PerCriterion counts as 0); then (2)
// to the earlier SubmittedAt; then (3) to the smaller Application, comparing
// the UUIDs' bytes. The order is total, so positions are 1..n and the output
// does not depend on the order of cands. An entry is admitted when ScoreBP >=
// thresholdBP.
//
// cs are the call's validated criteria and thresholdBP its validated pass
// threshold (see [ValidateThreshold]); cands hold only admissible, not
// withdrawn applications, each once: the caller filters them. Rank does not
// modify cands.
func Rank(cs []Criterion, cands []Candidate, thresholdBP int64) []Entry {
	order := tieBreakOrder(cs)
	sorted := slices.Clone(cands)
	slices.SortFunc(sorted, func(a, b Candidate) int { return compare(order, a, b) })
	out := make([]Entry, len(sorted))
	for i, c := range sorted {
		out[i] = Entry{
			Position:    i + 1,
			Application: c.Application,
			ScoreBP:     c.Result.ScoreBP,
			Admitted:    c.Result.ScoreBP >= thresholdBP,
		}
	}
	return out
}

// tieBreakOrder lists the criterion codes by weight, largest first, equal
// weights in the call's order.
func tieBreakOrder(cs []Criterion) []string {
	byWeight := slices.Clone(cs)
	slices.SortStableFunc(byWeight, func(a, b Criterion) int { return cmp.Compare(b.Weight, a.Weight) })
	codes := make([]string, len(byWeight))
	for i, c := range byWeight {
		codes[i] = c.Code
	}
	return codes
}

// compare is negative when a ranks before b.
func compare(order []string, a, b Candidate) int {
	if c := cmp.Compare(b.Result.ScoreBP, a.Result.ScoreBP); c != 0 {
		return c
	}
	for _, code := range order {
		if c := cmp.Compare(b.Result.PerCriterion[code], a.Result.PerCriterion[code]); c != 0 {
			return c
		}
	}
	if c := a.SubmittedAt.Compare(b.SubmittedAt); c != 0 {
		return c
	}
	return bytes.Compare(a.Application[:], b.Application[:])
}
