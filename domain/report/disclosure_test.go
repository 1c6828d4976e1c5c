package report_test

import (
	"testing"

	"github.com/coprod/coprod/domain/impact"
	"github.com/coprod/coprod/domain/report"
)

func cell(age, gender, vuln string, n int) report.PeopleCell {
	return report.PeopleCell{AgeBand: age, Gender: gender, Vulnerability: vuln, Count: n}
}

func counts(cs []report.Cell) map[string]int {
	out := map[string]int{}
	for _, c := range cs {
		k := c.Vulnerability + "/" + c.AgeBand + "/" + c.Gender
		if c.Count == nil {
			out[k] = -1
		} else {
			out[k] = *c.Count
		}
	}
	return out
}

func TestSuppressPrimaryAndComplementary(t *testing.T) {
	cells, totals := report.Suppress([]report.PeopleCell{
		cell("18-24", "female", "poverty", 3), // primary: under 5
		cell("25-34", "female", "poverty", 7), // complementary: smallest other
		cell("35-44", "male", "poverty", 20),
		cell("18-24", "male", "none", 5), // exactly the threshold: shown
		cell("25-34", "male", "none", 0), // zero: shown
	})
	got := counts(cells)
	want := map[string]int{
		"poverty/18-24/female": -1, "poverty/25-34/female": -1, "poverty/35-44/male": 20,
		"none/18-24/male": 5, "none/25-34/male": 0,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d", k, got[k], v)
		}
	}
	if totals["poverty"] == nil || *totals["poverty"] != 30 {
		t.Errorf("poverty total = %v, want 30", totals["poverty"])
	}
	// With the total shown, a lone hidden cell would be total - shown: there
	// must be at least two hidden cells in any group with one hidden.
	hidden := 0
	for _, c := range cells {
		if c.Vulnerability == "poverty" && c.Suppressed {
			hidden++
		}
	}
	if hidden < 2 {
		t.Errorf("poverty has %d hidden cells: the hidden one is recoverable from the total", hidden)
	}
}

func TestSuppressSpecialCategoryUsesTen(t *testing.T) {
	cells, totals := report.Suppress([]report.PeopleCell{
		cell("18-24", "female", "addiction", 9),
		cell("25-34", "female", "addiction", 12),
		cell("35-44", "female", "addiction", 30),
	})
	got := counts(cells)
	if got["addiction/18-24/female"] != -1 || got["addiction/25-34/female"] != -1 || got["addiction/35-44/female"] != 30 {
		t.Errorf("cells = %v", got)
	}
	if *totals["addiction"] != 51 {
		t.Errorf("total = %d", *totals["addiction"])
	}
}

func TestSuppressSmallGroupHidesTotal(t *testing.T) {
	cells, totals := report.Suppress([]report.PeopleCell{cell("18-24", "female", "migrant", 4), cell("25-34", "male", "migrant", 0)})
	if totals["migrant"] != nil {
		t.Errorf("total of a group of 4 people in a special category shown: %d", *totals["migrant"])
	}
	if got := counts(cells); got["migrant/18-24/female"] != -1 {
		t.Errorf("cells = %v", got)
	}
}

// Property: no shown group has exactly one hidden cell, and no shown count
// is under its threshold.
func FuzzSuppress(f *testing.F) {
	f.Add(3, 7, 20, 1)
	f.Fuzz(func(t *testing.T, a, b, c, d int) {
		in := []report.PeopleCell{}
		for i, n := range []int{a, b, c, d} {
			if n < 0 || n > 1000 {
				return
			}
			in = append(in, cell([]string{"0-17", "18-24", "25-34", "35-44"}[i], "female", []string{"poverty", "disability"}[i%2], n))
		}
		cells, totals := report.Suppress(in)
		hidden := map[string]int{}
		for _, c := range cells {
			if c.Suppressed {
				hidden[c.Vulnerability]++
				continue
			}
			min := report.MinCell
			if c.Vulnerability == "disability" {
				min = report.MinSpecialCell
			}
			if *c.Count > 0 && *c.Count < min {
				t.Fatalf("shown %s count %d under %d", c.Vulnerability, *c.Count, min)
			}
		}
		for v, n := range hidden {
			if n == 1 && totals[v] != nil {
				t.Fatalf("%s: one hidden cell with its total shown", v)
			}
		}
	})
}

// BenchmarkSuppress: a full table (8 age bands × 4 genders × 11 categories).
func BenchmarkSuppress(b *testing.B) {
	var in []report.PeopleCell
	n := 0
	for _, v := range impact.Vulnerabilities {
		for _, a := range impact.AgeBands {
			for _, g := range impact.Genders {
				n = (n*7 + 3) % 23
				in = append(in, cell(a, g, v, n))
			}
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		report.Suppress(in)
	}
}
