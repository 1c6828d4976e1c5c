package evaluation_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/evaluation"
)

// checkErr fails unless err is the domain error with code and field, or
// both are empty and err is nil.
func checkErr(t *testing.T, name string, err error, code, field string) {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Errorf("%s: unexpected error %v", name, err)
		}
		return
	}
	var de *domain.Error
	if !errors.As(err, &de) {
		t.Errorf("%s: got %v, want %s", name, err, code)
		return
	}
	if de.Code != code || de.Field != field {
		t.Errorf("%s: got %s (field %q), want %s (field %q)", name, de.Code, de.Field, code, field)
	}
}

// sixtyForty is the call of the worked examples: quality 60% scored out of
// 10, network 40% scored out of 5.
func sixtyForty() []evaluation.Criterion {
	return []evaluation.Criterion{
		{Code: "quality", Name: "Qualità del progetto", Weight: 60, MaxScore: 10},
		{Code: "network", Name: "Rete territoriale", Weight: 40, MaxScore: 5},
	}
}

func id(n byte) uuid.UUID {
	var u uuid.UUID
	u[0], u[15] = 0x10, n
	return u
}

func scored(evaluator byte, values ...any) evaluation.Sheet {
	s := evaluation.Sheet{Evaluator: id(evaluator), Declaration: evaluation.NoConflict}
	for i := 0; i < len(values); i += 2 {
		s.Scores = append(s.Scores, evaluation.Score{Criterion: values[i].(string), Value: values[i+1].(int), Rationale: "motivazione"})
	}
	return s
}

func abstained(evaluator byte) evaluation.Sheet {
	return evaluation.Sheet{Evaluator: id(evaluator), Declaration: evaluation.Abstain}
}

func TestValidateCriteria(t *testing.T) {
	t.Parallel()
	thirty := func() []evaluation.Criterion {
		cs := make([]evaluation.Criterion, 30)
		for i := range cs {
			cs[i] = evaluation.Criterion{Code: fmt.Sprintf("c%02d", i), Name: "Criterio", Weight: 3, MaxScore: 10}
		}
		cs[29].Weight = 13 // 29 × 3 + 13 = 100
		return cs
	}
	edit := func(f func([]evaluation.Criterion) []evaluation.Criterion) []evaluation.Criterion {
		return f(sixtyForty())
	}
	cases := []struct {
		name        string
		cs          []evaluation.Criterion
		code, field string
	}{
		{"valid", sixtyForty(), "", ""},
		{"single criterion", []evaluation.Criterion{{Code: "all", Name: "Tutto", Weight: 100, MaxScore: 1}}, "", ""},
		{"thirty criteria", thirty(), "", ""},
		{"code charset and length 40", edit(func(cs []evaluation.Criterion) []evaluation.Criterion {
			cs[0].Code = "a-b_c" + strings.Repeat("9", 35)
			return cs
		}), "", ""},
		{"max score bounds", edit(func(cs []evaluation.Criterion) []evaluation.Criterion {
			cs[0].MaxScore, cs[1].MaxScore = 1, 1000
			return cs
		}), "", ""},
		{"none", nil, "invalid_criteria_count", "criteria"},
		{"thirty-one", append(thirty(), evaluation.Criterion{Code: "x", Name: "X", Weight: 1, MaxScore: 1}), "invalid_criteria_count", "criteria"},
		{"empty code", edit(func(cs []evaluation.Criterion) []evaluation.Criterion { cs[0].Code = ""; return cs }), "invalid_criterion_code", "criteria[0].code"},
		{"upper case code", edit(func(cs []evaluation.Criterion) []evaluation.Criterion { cs[1].Code = "Network"; return cs }), "invalid_criterion_code", "criteria[1].code"},
		{"code with space", edit(func(cs []evaluation.Criterion) []evaluation.Criterion { cs[1].Code = "net work"; return cs }), "invalid_criterion_code", "criteria[1].code"},
		{"accented code", edit(func(cs []evaluation.Criterion) []evaluation.Criterion { cs[0].Code = "qualità"; return cs }), "invalid_criterion_code", "criteria[0].code"},
		{"code of 41", edit(func(cs []evaluation.Criterion) []evaluation.Criterion {
			cs[1].Code = strings.Repeat("a", 41)
			return cs
		}), "invalid_criterion_code", "criteria[1].code"},
		{"duplicate code", edit(func(cs []evaluation.Criterion) []evaluation.Criterion { cs[1].Code = "quality"; return cs }), "duplicate_criterion_code", "criteria[1].code"},
		{"blank name", edit(func(cs []evaluation.Criterion) []evaluation.Criterion { cs[0].Name = "  "; return cs }), "invalid_criterion_name", "criteria[0].name"},
		{"long name", edit(func(cs []evaluation.Criterion) []evaluation.Criterion {
			cs[1].Name = strings.Repeat("è", 201)
			return cs
		}), "invalid_criterion_name", "criteria[1].name"},
		{"zero weight", edit(func(cs []evaluation.Criterion) []evaluation.Criterion { cs[0].Weight = 0; return cs }), "invalid_criterion_weight", "criteria[0].weight"},
		{"negative weight", edit(func(cs []evaluation.Criterion) []evaluation.Criterion {
			cs[0].Weight, cs[1].Weight = -10, 110
			return cs
		}), "invalid_criterion_weight", "criteria[0].weight"},
		{"weight over 100", edit(func(cs []evaluation.Criterion) []evaluation.Criterion { cs[1].Weight = 101; return cs }), "invalid_criterion_weight", "criteria[1].weight"},
		{"weights sum to 99", edit(func(cs []evaluation.Criterion) []evaluation.Criterion { cs[1].Weight = 39; return cs }), "criteria_weights_sum", "criteria"},
		{"weights sum to 101", edit(func(cs []evaluation.Criterion) []evaluation.Criterion { cs[1].Weight = 41; return cs }), "criteria_weights_sum", "criteria"},
		{"max score zero", edit(func(cs []evaluation.Criterion) []evaluation.Criterion { cs[1].MaxScore = 0; return cs }), "invalid_criterion_max_score", "criteria[1].maxScore"},
		{"max score 1001", edit(func(cs []evaluation.Criterion) []evaluation.Criterion { cs[0].MaxScore = 1001; return cs }), "invalid_criterion_max_score", "criteria[0].maxScore"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			checkErr(t, tc.name, evaluation.ValidateCriteria(tc.cs), tc.code, tc.field)
		})
	}
	if err := evaluation.ValidateCriteria(nil); domain.KindOf(err) != domain.KindInvalid || !errors.Is(err, evaluation.ErrCriteriaCount) {
		t.Errorf("kind/sentinel of %v", err)
	}
}

func TestValidateSheet(t *testing.T) {
	t.Parallel()
	valid := func() evaluation.Sheet { return scored(1, "quality", 7, "network", 3) }
	edit := func(f func(*evaluation.Sheet)) evaluation.Sheet {
		s := valid()
		f(&s)
		return s
	}
	cases := []struct {
		name        string
		cs          []evaluation.Criterion
		s           evaluation.Sheet
		code, field string
	}{
		{"valid", sixtyForty(), valid(), "", ""},
		{"scores in any order, bounds", sixtyForty(), scored(1, "network", 5, "quality", 0), "", ""},
		{"abstention", sixtyForty(), abstained(1), "", ""},
		{"long multibyte rationale", sixtyForty(), edit(func(s *evaluation.Sheet) { s.Scores[0].Rationale = strings.Repeat("è", 4000) }), "", ""},
		{"invalid criteria", nil, valid(), "invalid_criteria_count", "criteria"},
		{"no evaluator", sixtyForty(), edit(func(s *evaluation.Sheet) { s.Evaluator = uuid.Nil }), "invalid_evaluator", "evaluator"},
		{"no declaration", sixtyForty(), edit(func(s *evaluation.Sheet) { s.Declaration = "" }), "invalid_declaration", "declaration"},
		{"unknown declaration", sixtyForty(), edit(func(s *evaluation.Sheet) { s.Declaration = "conflict" }), "invalid_declaration", "declaration"},
		{"abstention with scores", sixtyForty(), edit(func(s *evaluation.Sheet) { s.Declaration = evaluation.Abstain }), "abstention_with_scores", "scores"},
		{"no scores", sixtyForty(), edit(func(s *evaluation.Sheet) { s.Scores = nil }), "missing_score", "scores"},
		{"missing score", sixtyForty(), edit(func(s *evaluation.Sheet) { s.Scores = s.Scores[1:] }), "missing_score", "scores"},
		{"unknown criterion", sixtyForty(), edit(func(s *evaluation.Sheet) {
			s.Scores = append(s.Scores, evaluation.Score{Criterion: "price", Value: 1, Rationale: "x"})
		}), "unknown_criterion", "scores[2].criterion"},
		{"duplicate score", sixtyForty(), edit(func(s *evaluation.Sheet) { s.Scores[1].Criterion = "quality" }), "duplicate_score", "scores[1].criterion"},
		{"negative value", sixtyForty(), edit(func(s *evaluation.Sheet) { s.Scores[0].Value = -1 }), "score_out_of_range", "scores[0].value"},
		{"value over max", sixtyForty(), edit(func(s *evaluation.Sheet) { s.Scores[1].Value = 6 }), "score_out_of_range", "scores[1].value"},
		{"no rationale", sixtyForty(), edit(func(s *evaluation.Sheet) { s.Scores[0].Rationale = "" }), "invalid_rationale", "scores[0].rationale"},
		{"blank rationale", sixtyForty(), edit(func(s *evaluation.Sheet) { s.Scores[1].Rationale = " \n\t" }), "invalid_rationale", "scores[1].rationale"},
		{"rationale of 4001", sixtyForty(), edit(func(s *evaluation.Sheet) { s.Scores[0].Rationale = strings.Repeat("a", 4001) }), "invalid_rationale", "scores[0].rationale"},
		{"invalid UTF-8 rationale", sixtyForty(), edit(func(s *evaluation.Sheet) { s.Scores[0].Rationale = "ok\xff" }), "invalid_rationale", "scores[0].rationale"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			checkErr(t, tc.name, evaluation.ValidateSheet(tc.cs, tc.s), tc.code, tc.field)
		})
	}
}

func TestRecused(t *testing.T) {
	t.Parallel()
	lead, partner, other := id(1), id(2), id(3)
	cases := []struct {
		name        string
		member, app []uuid.UUID
		want        bool
	}{
		{"member of the lead", []uuid.UUID{other, lead}, []uuid.UUID{lead, partner}, true},
		{"member of a partner", []uuid.UUID{partner}, []uuid.UUID{lead, partner}, true},
		{"unrelated", []uuid.UUID{other}, []uuid.UUID{lead, partner}, false},
		{"member of no organisation", nil, []uuid.UUID{lead}, false},
		{"application without organisations", []uuid.UUID{lead}, nil, false},
		{"zero ids never match", []uuid.UUID{uuid.Nil}, []uuid.UUID{uuid.Nil, lead}, false},
	}
	for _, tc := range cases {
		if got := evaluation.Recused(tc.member, tc.app); got != tc.want {
			t.Errorf("%s: Recused = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestConsolidateWorkedExamples(t *testing.T) {
	t.Parallel()
	one := func(max int) []evaluation.Criterion {
		return []evaluation.Criterion{{Code: "c", Name: "C", Weight: 100, MaxScore: max}}
	}
	three := []evaluation.Criterion{
		{Code: "a", Name: "A", Weight: 50, MaxScore: 10},
		{Code: "b", Name: "B", Weight: 30, MaxScore: 7},
		{Code: "c", Name: "C", Weight: 20, MaxScore: 3},
	}
	cases := []struct {
		name      string
		cs        []evaluation.Criterion
		sheets    []evaluation.Sheet
		want      int64
		per       map[string]int64
		abstained int
	}{
		// E1: 60×7/10 + 40×3/5 = 42 + 24 = 66; E2: 48 + 32 = 80; E3 abstains.
		// Mean 73.00 points = 7300 bp; quality 15/20 = 7500, network 7/10 = 7000.
		{"60/40, one abstention", sixtyForty(),
			[]evaluation.Sheet{scored(1, "quality", 7, "network", 3), scored(2, "quality", 8, "network", 4), abstained(3)},
			7300, map[string]int64{"quality": 7500, "network": 7000}, 1},
		// 100 × 1/32 = 3.125 points = 312.5 bp → 313 (half up, not to even).
		{"half up, one evaluator", one(32), []evaluation.Sheet{scored(1, "c", 1)},
			313, map[string]int64{"c": 313}, 0},
		// (100 × 1/1000 + 0 + 0 + 0) / 4 = 0.025 points = 2.5 bp → 3.
		{"half up, mean of four", one(1000),
			[]evaluation.Sheet{scored(1, "c", 1), scored(2, "c", 0), scored(3, "c", 0), scored(4, "c", 0)},
			3, map[string]int64{"c": 3}, 0},
		// 100 × 1/3 = 33.333… points → 3333 bp; 2/3 → 6666.67 → 6667.
		{"a third rounds down", one(3), []evaluation.Sheet{scored(1, "c", 1)}, 3333, map[string]int64{"c": 3333}, 0},
		{"two thirds round up", one(3), []evaluation.Sheet{scored(1, "c", 2)}, 6667, map[string]int64{"c": 6667}, 0},
		// Sums a 14/20, b 12/14, c 3/6: 100 × (50×14/10 + 30×12/7 + 20×3/3) / 2
		// = 50 × (70 + 360/7 + 20) = 7071.43 bp → 7071; b: 10000 × 12/14 = 8571.43 → 8571.
		{"three criteria, exact until the end", three,
			[]evaluation.Sheet{scored(1, "a", 8, "b", 5, "c", 2), abstained(9), scored(2, "a", 6, "b", 7, "c", 1)},
			7071, map[string]int64{"a": 7000, "b": 8571, "c": 5000}, 1},
		{"full marks", sixtyForty(), []evaluation.Sheet{scored(1, "quality", 10, "network", 5)},
			10000, map[string]int64{"quality": 10000, "network": 10000}, 0},
		{"all zero", sixtyForty(), []evaluation.Sheet{scored(1, "quality", 0, "network", 0), abstained(2), abstained(3)},
			0, map[string]int64{"quality": 0, "network": 0}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := evaluation.Consolidate(tc.cs, tc.sheets, 1)
			if err != nil {
				t.Fatal(err)
			}
			if res.ScoreBP != tc.want || res.Abstained != tc.abstained || res.Evaluators != len(tc.sheets)-tc.abstained {
				t.Errorf("got %+v, want %d bp with %d abstained", res, tc.want, tc.abstained)
			}
			if fmt.Sprint(res.PerCriterion) != fmt.Sprint(tc.per) {
				t.Errorf("per criterion %v, want %v", res.PerCriterion, tc.per)
			}
			// Reversing the sheets changes nothing.
			rev := make([]evaluation.Sheet, len(tc.sheets))
			for i, s := range tc.sheets {
				rev[len(rev)-1-i] = s
			}
			again, err := evaluation.Consolidate(tc.cs, rev, 1)
			if err != nil || fmt.Sprint(again) != fmt.Sprint(res) {
				t.Errorf("reversed: %+v %v, want %+v", again, err, res)
			}
		})
	}
}

func TestConsolidateErrors(t *testing.T) {
	t.Parallel()
	a, b := scored(1, "quality", 7, "network", 3), scored(2, "quality", 8, "network", 4)
	bad := scored(2, "quality", 11, "network", 4)
	cases := []struct {
		name        string
		cs          []evaluation.Criterion
		sheets      []evaluation.Sheet
		quorum      int
		code, field string
		kind        domain.Kind
	}{
		{"quorum met exactly", sixtyForty(), []evaluation.Sheet{a, abstained(3), b}, 2, "", "", 0},
		{"invalid criteria", nil, []evaluation.Sheet{a}, 1, "invalid_criteria_count", "criteria", domain.KindInvalid},
		{"zero quorum", sixtyForty(), []evaluation.Sheet{a}, 0, "invalid_quorum", "quorum", domain.KindInvalid},
		{"no sheets", sixtyForty(), nil, 1, "no_valid_evaluations", "", domain.KindPrecondition},
		{"all abstained", sixtyForty(), []evaluation.Sheet{abstained(1), abstained(2)}, 1, "no_valid_evaluations", "", domain.KindPrecondition},
		{"all abstained, quorum 3", sixtyForty(), []evaluation.Sheet{abstained(1), abstained(2), abstained(3)}, 3, "no_valid_evaluations", "", domain.KindPrecondition},
		{"quorum not reached", sixtyForty(), []evaluation.Sheet{a, abstained(3), b}, 3, "quorum_not_reached", "", domain.KindPrecondition},
		{"abstentions do not count for the quorum", sixtyForty(), []evaluation.Sheet{a, abstained(2)}, 2, "quorum_not_reached", "", domain.KindPrecondition},
		{"invalid sheet", sixtyForty(), []evaluation.Sheet{a, bad}, 1, "score_out_of_range", "sheets[1].scores[0].value", domain.KindInvalid},
		{"incomplete sheet", sixtyForty(), []evaluation.Sheet{scored(2, "quality", 8), a}, 1, "missing_score", "sheets[0].scores", domain.KindInvalid},
		{"duplicate evaluator", sixtyForty(), []evaluation.Sheet{a, abstained(1)}, 1, "duplicate_evaluator", "sheets[1].evaluator", domain.KindInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := evaluation.Consolidate(tc.cs, tc.sheets, tc.quorum)
			checkErr(t, tc.name, err, tc.code, tc.field)
			if err != nil && domain.KindOf(err) != tc.kind {
				t.Errorf("kind %v, want %v", domain.KindOf(err), tc.kind)
			}
		})
	}
}

func TestValidateThreshold(t *testing.T) {
	t.Parallel()
	for bp, ok := range map[int64]bool{-1: false, 0: true, 6000: true, 10000: true, 10001: false} {
		if err := evaluation.ValidateThreshold(bp); (err == nil) != ok {
			t.Errorf("%d: %v", bp, err)
		}
	}
}

func TestRankTieBreaks(t *testing.T) {
	t.Parallel()
	// Weights: x 30, y 30, z 40: the tie-break order is z, x, y.
	cs := []evaluation.Criterion{
		{Code: "x", Name: "X", Weight: 30, MaxScore: 10},
		{Code: "y", Name: "Y", Weight: 30, MaxScore: 10},
		{Code: "z", Name: "Z", Weight: 40, MaxScore: 10},
	}
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	cand := func(app byte, at time.Duration, bp, x, y, z int64) evaluation.Candidate {
		return evaluation.Candidate{Application: id(app), SubmittedAt: t0.Add(at),
			Result: evaluation.Result{ScoreBP: bp, PerCriterion: map[string]int64{"x": x, "y": y, "z": z}}}
	}
	cases := []struct {
		name  string
		cands []evaluation.Candidate
		want  []byte // application ids in ranking order
	}{
		{"score decides before anything else", []evaluation.Candidate{
			cand(1, 0, 7000, 9000, 9000, 9000), cand(2, time.Hour, 7001, 0, 0, 0)}, []byte{2, 1}},
		{"largest weight decides first", []evaluation.Candidate{
			cand(1, 0, 7000, 9000, 9000, 5000), cand(2, time.Hour, 7000, 5000, 5000, 5001)}, []byte{2, 1}},
		{"then the next weight, equal weights in call order", []evaluation.Candidate{
			cand(1, 0, 7000, 6000, 9999, 5000), cand(2, time.Hour, 7000, 6001, 0, 5000)}, []byte{2, 1}},
		{"then the following criterion", []evaluation.Candidate{
			cand(1, 0, 7000, 6000, 4000, 5000), cand(2, time.Hour, 7000, 6000, 4001, 5000)}, []byte{2, 1}},
		{"missing criterion counts as zero", []evaluation.Candidate{
			{Application: id(1), SubmittedAt: t0, Result: evaluation.Result{ScoreBP: 7000}},
			cand(2, time.Hour, 7000, 0, 0, 1)}, []byte{2, 1}},
		{"then the earlier submission", []evaluation.Candidate{
			cand(1, time.Nanosecond, 7000, 6000, 4000, 5000), cand(2, 0, 7000, 6000, 4000, 5000)}, []byte{2, 1}},
		{"submission instants, not zones", []evaluation.Candidate{
			{Application: id(1), SubmittedAt: t0.Add(time.Minute).In(time.FixedZone("CET", 3600)), Result: evaluation.Result{ScoreBP: 5}},
			{Application: id(2), SubmittedAt: t0, Result: evaluation.Result{ScoreBP: 5}}}, []byte{2, 1}},
		{"then the smaller id", []evaluation.Candidate{
			cand(3, 0, 7000, 6000, 4000, 5000), cand(2, 0, 7000, 6000, 4000, 5000), cand(4, 0, 7000, 6000, 4000, 5000)}, []byte{2, 3, 4}},
		{"all levels together", []evaluation.Candidate{
			cand(9, 0, 6000, 0, 0, 0), cand(8, 0, 8000, 0, 0, 0), cand(7, time.Hour, 7000, 1, 0, 0), cand(6, 0, 7000, 1, 0, 0),
			cand(5, 0, 7000, 0, 0, 1), cand(4, 0, 7000, 0, 5, 0), cand(3, 0, 7000, 1, 0, 0)}, []byte{8, 5, 3, 6, 7, 4, 9}},
		{"nobody", nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := evaluation.Rank(cs, tc.cands, 7000)
			if len(got) != len(tc.want) {
				t.Fatalf("%d entries, want %d", len(got), len(tc.want))
			}
			for i, e := range got {
				if e.Application != id(tc.want[i]) || e.Position != i+1 {
					t.Fatalf("entry %d: %+v, want application %d", i, e, tc.want[i])
				}
			}
		})
	}
}

func TestRankAdmission(t *testing.T) {
	t.Parallel()
	cands := []evaluation.Candidate{
		{Application: id(1), Result: evaluation.Result{ScoreBP: 5999}},
		{Application: id(2), Result: evaluation.Result{ScoreBP: 6000}},
		{Application: id(3), Result: evaluation.Result{ScoreBP: 10000}},
		{Application: id(4), Result: evaluation.Result{ScoreBP: 0}},
	}
	want := []evaluation.Entry{
		{Position: 1, Application: id(3), ScoreBP: 10000, Admitted: true},
		{Position: 2, Application: id(2), ScoreBP: 6000, Admitted: true},
		{Position: 3, Application: id(1), ScoreBP: 5999, Admitted: false},
		{Position: 4, Application: id(4), ScoreBP: 0, Admitted: false},
	}
	got := evaluation.Rank(sixtyForty(), cands, 6000)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if cands[0].Application != id(1) {
		t.Error("Rank modified its input")
	}
	for _, e := range evaluation.Rank(sixtyForty(), cands, 0) {
		if !e.Admitted {
			t.Errorf("threshold 0 refuses %+v", e)
		}
	}
}
