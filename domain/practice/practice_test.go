package practice_test

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain/call"
	"github.com/coprod/coprod/domain/evaluation"
	"github.com/coprod/coprod/domain/impact"
	"github.com/coprod/coprod/domain/payment"
	"github.com/coprod/coprod/domain/practice"
	"github.com/coprod/coprod/domain/report"
)

func cellThreshold(vuln string, special bool) int {
	if special || impact.IsSpecialCategory(vuln) {
		return report.MinSpecialCell
	}
	return report.MinCell
}

// TestNeverPublishesASuppressedCell builds practices from random small
// counts and checks the published document, as JSON, the way a reader sees
// it: no count of people under its threshold, no group whose total and
// shown cells would give away a lone hidden cell, and no measured value in
// people under the threshold.
func TestNeverPublishesASuppressedCell(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(2026, 11))
	hiddenSeen, shownSeen := 0, 0
	for iter := range 3000 {
		special := rng.IntN(4) == 0
		def := impact.Definition{Code: "people_reached", Name: "People reached", Unit: impact.UnitPeople, Direction: impact.Increase,
			SpecialCategory: special, MinCellSize: 5}
		if special {
			def.MinCellSize = 10
		}
		seen := map[string]bool{}
		var people []impact.PeopleCount
		for range rng.IntN(12) {
			pc := impact.PeopleCount{AgeBand: impact.AgeBands[rng.IntN(3)], Gender: impact.Genders[rng.IntN(2)],
				Vulnerability: impact.Vulnerabilities[rng.IntN(4)], Count: rng.IntN(25)}
			if k := report.CellKey(pc.Vulnerability, pc.AgeBand, pc.Gender); !seen[k] {
				seen[k] = true
				people = append(people, pc)
			}
		}
		baseline, achieved := impact.Value(rng.IntN(15)*1000), impact.Value(rng.IntN(15)*1000)
		if rng.IntN(2) == 0 { // the value is often the people counted: a margin of the table
			achieved = 0
			for _, pc := range people {
				achieved += impact.Value(pc.Count * 1000)
			}
		}
		src := practice.Source{Indicators: []practice.SourceIndicator{{
			Definition: def,
			Assignment: impact.Assignment{Indicator: def.Code, Weight: 100, Baseline: impact.Baseline{Value: baseline},
				Targets: []impact.Target{{Period: "2027", Value: baseline + 10_000}}},
			Latest: &practice.Measured{Period: "2027", Value: achieved, People: people},
		}}}
		inds, tpl := practice.Build(src)
		p := &practice.Practice{ID: uuid.New(), Indicators: inds, Template: tpl, Version: 1}
		b, err := json.Marshal(p.PublicView(call.PublicTenant{}))
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Indicators []struct {
				Baseline, Achieved *float64
				People             []report.Cell
				PeopleTotals       map[string]*int
			}
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		least := float64(max(def.MinCellSize, cellThreshold("", special)))
		for _, in := range doc.Indicators {
			for name, v := range map[string]*float64{"baseline": in.Baseline, "achieved": in.Achieved} {
				if v != nil && *v > 0 && *v < least {
					t.Fatalf("iteration %d: %s %v people published (threshold %v)", iter, name, *v, least)
				}
			}
			hidden := map[string]int{}
			for _, c := range in.People {
				if c.Count == nil {
					hidden[c.Vulnerability]++
					hiddenSeen++
					continue
				}
				shownSeen++
				if n := *c.Count; n > 0 && n < cellThreshold(c.Vulnerability, special) {
					t.Fatalf("iteration %d: a cell of %d people (%s) is published: %s", iter, n, c.Vulnerability, b)
				}
			}
			hiddenGroups := 0
			for vuln, n := range hidden {
				if total := in.PeopleTotals[vuln]; total != nil && n == 1 {
					t.Fatalf("iteration %d: one hidden cell of %s with its total %d shown: recoverable by subtraction", iter, vuln, *total)
				}
				if in.PeopleTotals[vuln] == nil {
					hiddenGroups++
				}
			}
			// With the value shown (possibly the sum of all cells), a lone
			// hidden category would be the value minus the others.
			if in.Achieved != nil && *in.Achieved > 0 && hiddenGroups == 1 {
				t.Fatalf("iteration %d: one hidden category next to the achieved value %v: recoverable by subtraction: %s", iter, *in.Achieved, b)
			}
		}
	}
	if hiddenSeen == 0 || shownSeen == 0 {
		t.Fatalf("the random counts never exercised both sides: %d hidden, %d shown", hiddenSeen, shownSeen)
	}
}

func TestBuildTemplateIsACopy(t *testing.T) {
	t.Parallel()
	c := &call.Call{Criteria: []evaluation.Criterion{{Code: "q", Name: "Qualità", Weight: 60, MaxScore: 10}, {Code: "c", Name: "Costo", Weight: 40, MaxScore: 10}},
		PassThresholdBP: 6000, DurationMonths: 24, Objectives: []string{"Ridurre l'isolamento"}}
	def := impact.Definition{Code: "elderly_alone_home_care", Name: "Anziani soli", Unit: impact.UnitPeople, Direction: impact.Increase, SDGTargets: []string{"10.2", "3.4"}, BESDomains: []string{"social_relationships"}}
	src := practice.Source{Call: c, Indicators: []practice.SourceIndicator{{Definition: def,
		Assignment: impact.Assignment{Indicator: def.Code, Weight: 100, Frequency: "quarterly", Baseline: impact.Baseline{Value: 40_000, Date: time.Now()}},
		Rules:      []payment.Rule{{ID: uuid.New(), Indicator: def.Code, Trigger: payment.PerUnit, Direction: payment.Increase, BaselineMilli: 40_000, UnitPriceCents: 5000, CapCents: 200_000}}}}}
	_, tpl := practice.Build(src)
	c.Criteria[0].Weight = 1
	if tpl.Criteria[0].Weight != 60 {
		t.Errorf("the template shares the call's criteria")
	}
	r := tpl.Indicators[0].Rules[0]
	if r.ID != uuid.Nil || r.BaselineMilli != 0 || r.UnitPriceCents != 5000 {
		t.Errorf("template rule: %+v (no id, no source baseline, same price)", r)
	}
	clone := tpl.Clone()
	clone.Criteria[1].Weight, clone.Indicators[0].Rules[0].CapCents = 7, 1
	clone.Indicators[0].Definition.SDGTargets[0] = "1.1"
	if tpl.Criteria[1].Weight != 40 || tpl.Indicators[0].Rules[0].CapCents != 200_000 || tpl.Indicators[0].Definition.SDGTargets[0] != "10.2" {
		t.Errorf("Clone shares memory with its source: %+v", tpl)
	}
	sdg, bes := practice.Tags(src)
	if len(sdg) != 2 || sdg[0] != "10.2" || len(bes) != 1 {
		t.Errorf("tags: %v %v", sdg, bes)
	}
}

func TestContentValidate(t *testing.T) {
	t.Parallel()
	ok := practice.Content{Title: "Custodi sociali", Problem: "Isolamento", Approach: "Visite", PolicyArea: "elderly", SDGTargets: []string{"10.2", "3.4", "10.2"}}
	if err := ok.Validate(); err != nil || len(ok.SDGTargets) != 2 {
		t.Fatalf("valid content: %v %v", err, ok.SDGTargets)
	}
	for name, mut := range map[string]func(*practice.Content){
		"short title": func(c *practice.Content) { c.Title = "ab" },
		"no problem":  func(c *practice.Content) { c.Problem = " " },
		"policy":      func(c *practice.Content) { c.PolicyArea = "sport" },
		"sdg":         func(c *practice.Content) { c.SDGTargets = []string{"18.1"} },
		"bes":         func(c *practice.Content) { c.BESDomains = []string{"happiness"} },
		"link":        func(c *practice.Content) { c.EvidenceLinks = []string{"http://example.org"} },
		"cost":        func(c *practice.Content) { c.CostCents = -1 },
	} {
		c := ok
		c.SDGTargets = nil
		mut(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
