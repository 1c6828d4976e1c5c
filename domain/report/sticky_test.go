package report_test

import (
	"slices"
	"testing"

	"github.com/coprod/coprod/domain/report"
)

func TestSuppressStickyHidesAgain(t *testing.T) {
	in := []report.PeopleCell{cell("18-24", "female", "poverty", 40), cell("25-34", "female", "poverty", 30), cell("35-44", "male", "poverty", 50)}
	// Yesterday 18-24 was 3 and hidden; today 40. Shown, 40 - 3 would tell
	// how many joined: it stays hidden, with a complementary cell.
	cells, totals := report.SuppressSticky(in, map[string]bool{report.CellKey("poverty", "18-24", "female"): true})
	got := counts(cells)
	if got["poverty/18-24/female"] != -1 || got["poverty/25-34/female"] != -1 || got["poverty/35-44/male"] != 50 {
		t.Errorf("cells = %v", got)
	}
	if *totals["poverty"] != 120 {
		t.Errorf("total = %v", totals["poverty"])
	}
}

// Across periods: a category hidden yesterday stays hidden today though it
// grew past the threshold, and today's complementary cell joins the pattern.
func TestCarryHidden(t *testing.T) {
	day1 := report.CarryHidden(nil, []report.PeopleCell{cell("18-24", "female", "poverty", 3), cell("25-34", "female", "poverty", 30),
		cell("35-44", "male", "poverty", 50)})
	want1 := []string{"poverty|18-24|female", "poverty|25-34|female"}
	if !slices.Equal(day1, want1) {
		t.Fatalf("day 1 hidden %v, want %v", day1, want1)
	}
	day2 := report.CarryHidden(day1, []report.PeopleCell{cell("18-24", "female", "poverty", 40), cell("25-34", "female", "poverty", 31),
		cell("35-44", "male", "poverty", 52), cell("45-54", "male", "poverty", 60)})
	if !slices.Equal(day2, want1) {
		t.Errorf("day 2 hidden %v, want the same pattern %v", day2, want1)
	}
	cells, _ := report.SuppressSticky([]report.PeopleCell{cell("18-24", "female", "poverty", 40)}, map[string]bool{"poverty|18-24|female": true})
	if cells[0].Count != nil {
		t.Errorf("a category hidden before is shown: %d", *cells[0].Count)
	}
}
