package evaluation_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain/evaluation"
)

// randomCriteria draws 1..30 valid criteria; small maxima make ties likely.
func randomCriteria(r *rand.Rand) []evaluation.Criterion {
	k := 1 + r.IntN(evaluation.MaxCriteria)
	if r.IntN(2) == 0 {
		k = 1 + r.IntN(4)
	}
	// k-1 distinct cuts in 1..99 split 100 into k weights of at least 1.
	cuts := r.Perm(99)[:k-1]
	for i := range cuts {
		cuts[i]++
	}
	slices.Sort(cuts)
	cs := make([]evaluation.Criterion, k)
	prev := 0
	for i := range cs {
		next := 100
		if i < k-1 {
			next = cuts[i]
		}
		max := 1 + r.IntN(10)
		if r.IntN(3) == 0 {
			max = 1 + r.IntN(evaluation.MaxMaxScore)
		}
		cs[i] = evaluation.Criterion{Code: fmt.Sprintf("c%d", i), Name: "Criterio", Weight: next - prev, MaxScore: max}
		prev = next
	}
	return cs
}

func randomSheets(r *rand.Rand, cs []evaluation.Criterion) []evaluation.Sheet {
	sheets := make([]evaluation.Sheet, r.IntN(9))
	for i := range sheets {
		s := evaluation.Sheet{Evaluator: uuid.UUID{1, byte(i + 1)}, Declaration: evaluation.NoConflict}
		if r.IntN(4) == 0 {
			s.Declaration = evaluation.Abstain
		} else {
			for _, j := range r.Perm(len(cs)) { // scores in any order
				s.Scores = append(s.Scores, evaluation.Score{Criterion: cs[j].Code, Value: r.IntN(cs[j].MaxScore + 1), Rationale: "m"})
			}
		}
		sheets[i] = s
	}
	return sheets
}

// reference computes the consolidated score straight from the definition:
// each evaluator's Σ weight × value / max, averaged, rounded half up.
func reference(cs []evaluation.Criterion, sheets []evaluation.Sheet) int64 {
	maxOf := map[string]evaluation.Criterion{}
	for _, c := range cs {
		maxOf[c.Code] = c
	}
	sum, n := new(big.Rat), 0
	for _, s := range sheets {
		if s.Declaration == evaluation.Abstain {
			continue
		}
		n++
		for _, sc := range s.Scores {
			c := maxOf[sc.Criterion]
			sum.Add(sum, big.NewRat(int64(c.Weight*sc.Value), int64(c.MaxScore)))
		}
	}
	bp := new(big.Rat).Mul(sum, big.NewRat(100, int64(n)))
	bp.Add(bp, big.NewRat(1, 2))
	return new(big.Int).Div(bp.Num(), bp.Denom()).Int64() // floor, bp >= 0
}

func shuffled[T any](r *rand.Rand, s []T) []T {
	c := slices.Clone(s)
	r.Shuffle(len(c), func(i, j int) { c[i], c[j] = c[j], c[i] })
	return c
}

func TestConsolidateProperties(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(20260302, 55))
	ok := 0
	for iter := range 1000 {
		cs := randomCriteria(r)
		sheets := randomSheets(r, cs)
		quorum := 1 + r.IntN(3)
		res, err := evaluation.Consolidate(cs, sheets, quorum)
		scoring := 0
		for _, s := range sheets {
			if s.Declaration == evaluation.NoConflict {
				scoring++
			}
		}
		switch {
		case scoring == 0:
			if !errors.Is(err, evaluation.ErrNoValidEvaluations) {
				t.Fatalf("%d: no scoring evaluator: %v", iter, err)
			}
			continue
		case scoring < quorum:
			if !errors.Is(err, evaluation.ErrQuorumNotReached) {
				t.Fatalf("%d: %d scoring for quorum %d: %v", iter, scoring, quorum, err)
			}
			continue
		case err != nil:
			t.Fatalf("%d: %v", iter, err)
		}
		ok++
		if res.ScoreBP < 0 || res.ScoreBP > evaluation.MaxBP {
			t.Fatalf("%d: ScoreBP %d out of range", iter, res.ScoreBP)
		}
		if want := reference(cs, sheets); res.ScoreBP != want {
			t.Fatalf("%d: ScoreBP %d, reference %d", iter, res.ScoreBP, want)
		}
		if res.Evaluators != scoring || res.Abstained != len(sheets)-scoring || len(res.PerCriterion) != len(cs) {
			t.Fatalf("%d: counts %+v", iter, res)
		}
		for _, c := range cs {
			if v, found := res.PerCriterion[c.Code]; !found || v < 0 || v > evaluation.MaxBP {
				t.Fatalf("%d: per criterion %s = %d (%v)", iter, c.Code, v, found)
			}
		}
		// Order independence.
		again, err := evaluation.Consolidate(cs, shuffled(r, sheets), quorum)
		if err != nil || fmt.Sprint(again) != fmt.Sprint(res) {
			t.Fatalf("%d: shuffled %+v %v, want %+v", iter, again, err, res)
		}
		// Monotonicity: raise one score of one scoring evaluator.
		var i int
		for i = r.IntN(len(sheets)); sheets[i].Declaration != evaluation.NoConflict; i = (i + 1) % len(sheets) {
		}
		raised := slices.Clone(sheets)
		raised[i].Scores = slices.Clone(sheets[i].Scores)
		j := r.IntN(len(raised[i].Scores))
		sc := &raised[i].Scores[j]
		max := cs[slices.IndexFunc(cs, func(c evaluation.Criterion) bool { return c.Code == sc.Criterion })].MaxScore
		if sc.Value < max {
			sc.Value += 1 + r.IntN(max-sc.Value)
		}
		up, err := evaluation.Consolidate(cs, raised, quorum)
		if err != nil || up.ScoreBP < res.ScoreBP || up.PerCriterion[sc.Criterion] < res.PerCriterion[sc.Criterion] {
			t.Fatalf("%d: raising a score: %+v %v, was %+v", iter, up, err, res)
		}
	}
	if ok < 500 {
		t.Fatalf("only %d of 1000 inputs consolidated; the generator is too weak", ok)
	}
}

// before is the ranking order written out independently of the package.
func before(cs []evaluation.Criterion, a, b evaluation.Candidate) bool {
	if a.Result.ScoreBP != b.Result.ScoreBP {
		return a.Result.ScoreBP > b.Result.ScoreBP
	}
	for w := 100; w >= 1; w-- {
		for _, c := range cs {
			if c.Weight == w && a.Result.PerCriterion[c.Code] != b.Result.PerCriterion[c.Code] {
				return a.Result.PerCriterion[c.Code] > b.Result.PerCriterion[c.Code]
			}
		}
	}
	if !a.SubmittedAt.Equal(b.SubmittedAt) {
		return a.SubmittedAt.Before(b.SubmittedAt)
	}
	return bytes.Compare(a.Application[:], b.Application[:]) < 0
}

func TestRankProperties(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(117, 2017))
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for iter := range 1000 {
		cs := randomCriteria(r)
		cands := make([]evaluation.Candidate, r.IntN(25))
		used := map[uuid.UUID]bool{}
		for i := range cands {
			var app uuid.UUID
			for app == uuid.Nil || used[app] {
				app[r.IntN(2)*15] = byte(r.IntN(256)) // few distinct bytes: ids share prefixes
				app[7] = byte(r.IntN(3))
			}
			used[app] = true
			per := map[string]int64{}
			for _, c := range cs {
				per[c.Code] = int64(r.IntN(3)) * 5000
			}
			cands[i] = evaluation.Candidate{
				Application: app,
				SubmittedAt: t0.Add(time.Duration(r.IntN(3)) * time.Second),
				Result:      evaluation.Result{ScoreBP: int64(r.IntN(5)) * 2500, PerCriterion: per},
			}
		}
		threshold := int64(r.IntN(int(evaluation.MaxBP) + 1))
		if r.IntN(2) == 0 {
			threshold = int64(r.IntN(5)) * 2500 // on a score, to test >=
		}
		input := slices.Clone(cands)
		got := evaluation.Rank(cs, cands, threshold)
		if fmt.Sprint(input) != fmt.Sprint(cands) {
			t.Fatalf("%d: Rank modified its input", iter)
		}
		if len(got) != len(cands) {
			t.Fatalf("%d: %d entries for %d candidates", iter, len(got), len(cands))
		}
		byApp := map[uuid.UUID]evaluation.Candidate{}
		for _, c := range cands {
			byApp[c.Application] = c
		}
		for i, e := range got {
			c, found := byApp[e.Application]
			if !found {
				t.Fatalf("%d: entry %+v is no candidate, or appears twice", iter, e)
			}
			delete(byApp, e.Application)
			if e.Position != i+1 || e.ScoreBP != c.Result.ScoreBP || e.Admitted != (c.Result.ScoreBP >= threshold) {
				t.Fatalf("%d: entry %d %+v for %+v, threshold %d", iter, i, e, c, threshold)
			}
			if i > 0 {
				prev := cands[slices.IndexFunc(cands, func(p evaluation.Candidate) bool { return p.Application == got[i-1].Application })]
				if got[i-1].ScoreBP < e.ScoreBP || !before(cs, prev, c) {
					t.Fatalf("%d: entries %d and %d out of order", iter, i-1, i)
				}
			}
		}
		if again := evaluation.Rank(cs, shuffled(r, cands), threshold); !slices.Equal(again, got) {
			t.Fatalf("%d: shuffled input ranks differently", iter)
		}
	}
}

// byteReader turns fuzz bytes into small numbers, zero once exhausted.
type byteReader struct{ b []byte }

func (r *byteReader) next() int {
	if len(r.b) == 0 {
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return int(v)
}

func FuzzConsolidate(f *testing.F) {
	f.Add([]byte{1, 0, 9, 3, 0, 7, 3, 0, 8, 4, 1}, uint8(1))
	f.Add([]byte{0, 31, 5, 2, 0, 1, 2, 3, 4, 5}, uint8(2))
	f.Add([]byte{3, 50, 0, 4, 30, 1, 200, 20, 3, 255, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, quorum uint8) {
		in := &byteReader{data}
		k := 1 + in.next()%5
		cs := make([]evaluation.Criterion, k)
		left := 100
		for i := range cs {
			w := left
			if i < k-1 {
				w = 1 + in.next()%(left-(k-1-i))
			}
			left -= w
			cs[i] = evaluation.Criterion{Code: fmt.Sprintf("c%d", i), Name: "C", Weight: w, MaxScore: 1 + (in.next()<<8|in.next())%evaluation.MaxMaxScore}
		}
		sheets := make([]evaluation.Sheet, in.next()%9)
		raw := false // whether a value may break the rules
		for i := range sheets {
			sheets[i] = evaluation.Sheet{Evaluator: uuid.UUID{byte(1 + in.next()%8)}, Declaration: evaluation.NoConflict}
			if in.next()%4 == 0 {
				sheets[i].Declaration = evaluation.Abstain
				continue
			}
			for _, c := range cs {
				v := in.next()<<8 | in.next()
				if v&0x8000 != 0 {
					raw = true
					v -= 0x8000 + 100 // possibly negative or over the maximum
				} else {
					v %= c.MaxScore + 1
				}
				sheets[i].Scores = append(sheets[i].Scores, evaluation.Score{Criterion: c.Code, Value: v, Rationale: "m"})
			}
		}
		res, err := evaluation.Consolidate(cs, sheets, int(quorum))
		if err != nil {
			return
		}
		if res.ScoreBP < 0 || res.ScoreBP > evaluation.MaxBP {
			t.Fatalf("ScoreBP %d out of range", res.ScoreBP)
		}
		if !raw {
			if want := reference(cs, sheets); res.ScoreBP != want {
				t.Fatalf("ScoreBP %d, reference %d", res.ScoreBP, want)
			}
		}
		slices.Reverse(sheets)
		again, err := evaluation.Consolidate(cs, sheets, int(quorum))
		if err != nil || fmt.Sprint(again) != fmt.Sprint(res) {
			t.Fatalf("reversed: %+v %v, want %+v", again, err, res)
		}
	})
}
