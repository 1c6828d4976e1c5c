package impact_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/impact"
)

func TestValidateCounts(t *testing.T) {
	t.Parallel()
	ok := []impact.PeopleCount{
		{AgeBand: "75+", Gender: "female", Vulnerability: "elderly_alone", Count: 12},
		{AgeBand: "75+", Gender: "male", Vulnerability: "elderly_alone", Count: 0},
		{AgeBand: "75+", Gender: "female", Vulnerability: "disability", Count: 10_000_000},
		{AgeBand: "0-17", Gender: "not_stated", Vulnerability: "minor_at_risk", Count: 3},
	}
	checkErr(t, "valid", impact.ValidateCounts(ok), "", "")
	checkErr(t, "none", impact.ValidateCounts(nil), "", "")

	// Every category is accepted.
	var all []impact.PeopleCount
	for _, a := range impact.AgeBands {
		for _, g := range impact.Genders {
			for _, v := range impact.Vulnerabilities {
				all = append(all, impact.PeopleCount{AgeBand: a, Gender: g, Vulnerability: v, Count: 1})
			}
		}
	}
	checkErr(t, "every cell", impact.ValidateCounts(all), "", "")

	tests := []struct {
		name        string
		edit        func(*impact.PeopleCount)
		code, field string
	}{
		{"age band unknown", func(c *impact.PeopleCount) { c.AgeBand = "18-29" }, "invalid_age_band", "counts[1].ageBand"},
		{"age band empty", func(c *impact.PeopleCount) { c.AgeBand = "" }, "invalid_age_band", "counts[1].ageBand"},
		{"gender unknown", func(c *impact.PeopleCount) { c.Gender = "F" }, "invalid_gender", "counts[1].gender"},
		{"vulnerability unknown", func(c *impact.PeopleCount) { c.Vulnerability = "refugee" }, "invalid_vulnerability", "counts[1].vulnerability"},
		{"negative count", func(c *impact.PeopleCount) { c.Count = -1 }, "invalid_count", "counts[1].count"},
		{"count too large", func(c *impact.PeopleCount) { c.Count = 10_000_001 }, "invalid_count", "counts[1].count"},
		{"duplicate cell", func(c *impact.PeopleCount) { c.Gender = "female" }, "duplicate_count_cell", "counts[1]"},
	}
	for _, tt := range tests {
		cs := append([]impact.PeopleCount(nil), ok...)
		tt.edit(&cs[1])
		checkErr(t, tt.name, impact.ValidateCounts(cs), tt.code, tt.field)
	}
}

func TestIsSpecialCategory(t *testing.T) {
	t.Parallel()
	special := map[string]bool{"disability": true, "addiction": true, "mental_health": true, "migrant": true, "violence": true}
	for _, v := range impact.Vulnerabilities {
		if got := impact.IsSpecialCategory(v); got != special[v] {
			t.Errorf("IsSpecialCategory(%q) = %v", v, got)
		}
	}
	if impact.IsSpecialCategory("") || impact.IsSpecialCategory("Disability") {
		t.Error("IsSpecialCategory accepts an unknown category")
	}
}

func TestCanTransition(t *testing.T) {
	t.Parallel()
	allowed := map[[2]impact.MeasurementStatus]bool{
		{impact.Draft, impact.Submitted}:    true,
		{impact.Submitted, impact.Verified}: true,
		{impact.Submitted, impact.Rejected}: true,
		{impact.Submitted, impact.Disputed}: true,
		{impact.Disputed, impact.Verified}:  true,
		{impact.Disputed, impact.Rejected}:  true,
		{impact.Verified, impact.Locked}:    true,
	}
	statuses := slices.Concat(impact.MeasurementStatuses, []impact.MeasurementStatus{"", "archived"})
	n := 0
	for _, from := range statuses {
		for _, to := range statuses {
			want := allowed[[2]impact.MeasurementStatus{from, to}]
			if got := impact.CanTransition(from, to); got != want {
				t.Errorf("CanTransition(%q, %q) = %v, want %v", from, to, got, want)
			}
			if want {
				n++
			}
		}
	}
	if n != len(allowed) {
		t.Errorf("%d allowed transitions among the statuses, want %d", n, len(allowed))
	}
}

func TestFourEyes(t *testing.T) {
	t.Parallel()
	const alice, bob = "0190b3c4-7d1e-7a00-8000-00000000000a", "0190b3c4-7d1e-7a00-8000-00000000000b"
	tests := []struct {
		submitter, verifier string
		code, field         string
	}{
		{alice, bob, "", ""},
		{alice, alice, "four_eyes", "verifier"},
		{alice, " 0190B3C4-7D1E-7A00-8000-00000000000A ", "four_eyes", "verifier"},
		{"", bob, "missing_actor", "submitter"},
		{alice, "  ", "missing_actor", "verifier"},
	}
	for _, tt := range tests {
		err := impact.FourEyes(tt.submitter, tt.verifier)
		checkErr(t, fmt.Sprintf("FourEyes(%q, %q)", tt.submitter, tt.verifier), err, tt.code, tt.field)
		if tt.code == "four_eyes" && domain.KindOf(err) != domain.KindForbidden {
			t.Errorf("four_eyes has kind %s, want forbidden", domain.KindOf(err))
		}
	}
}
