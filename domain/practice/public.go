package practice

import (
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain/call"
	"github.com/coprod/coprod/domain/impact"
	"github.com/coprod/coprod/domain/report"
)

// PublicPractice is what the catalogue publishes of a practice: its shape
// is part of the API, so it carries its own JSON names. Values are in the
// indicator's unit (not thousandths); counts of people under the disclosure
// threshold never appear.
type PublicPractice struct {
	ID            uuid.UUID         `json:"id"`
	Municipality  call.PublicTenant `json:"municipality"`
	Title         string            `json:"title"`
	PilotTitle    string            `json:"pilotTitle"`
	Outcome       string            `json:"outcome" enum:"scale,iterate,stop" doc:"The pilot's decision"`
	Problem       string            `json:"problem"`
	Approach      string            `json:"approach"`
	CostCents     int64             `json:"costCents"`
	Currency      string            `json:"currency" example:"EUR"`
	Evidence      string            `json:"evidence"`
	EvidenceLinks []string          `json:"evidenceLinks"`
	WhatWentWrong string            `json:"whatWentWrong"`
	PolicyArea    string            `json:"policyArea"`
	SDGTargets    []string          `json:"sdgTargets"`
	BESDomains    []string          `json:"besDomains"`
	Indicators    []PublicIndicator `json:"indicators"`
	Template      PublicTemplate    `json:"template" doc:"What a replication copies into a draft call"`
	// ReplicatesPracticeID names the practice this one replicated, if any.
	ReplicatesPracticeID *uuid.UUID `json:"replicatesPracticeId,omitempty"`
	// Replications and Comparison are read with the practice, not stored in it.
	Replications []PublicReplication `json:"replications"`
	Comparison   []ComparisonRow     `json:"comparison" doc:"Each indicator of this practice next to the same indicator of the practices that replicated it"`
	PublishedAt  time.Time           `json:"publishedAt"`
	UpdatedAt    time.Time           `json:"updatedAt"`
	Version      int                 `json:"version"`

	// Source is the full template a replication copies; kept beside the
	// public document, not shown.
	Source Template `json:"-"`
}

// PublicIndicator is one indicator of a practice.
type PublicIndicator struct {
	Code           string          `json:"code"`
	Name           string          `json:"name"`
	Unit           string          `json:"unit"`
	Direction      string          `json:"direction"`
	Baseline       *float64        `json:"baseline" doc:"Null when disclosure control hides it"`
	Target         float64         `json:"target"`
	TargetPeriod   string          `json:"targetPeriod"`
	Achieved       *float64        `json:"achieved" doc:"The latest verified value; null when none or hidden by disclosure control"`
	AchievedPeriod string          `json:"achievedPeriod,omitempty"`
	Suppressed     bool            `json:"suppressed,omitempty" doc:"A measured value is hidden: too few people"`
	People         []report.Cell   `json:"people"`
	PeopleTotals   map[string]*int `json:"peopleTotals"`
}

// PublicTemplate shows what a replication copies.
type PublicTemplate struct {
	Criteria      []call.PublicCriterion `json:"criteria"`
	PassThreshold float64                `json:"passThreshold"`
	Indicators    []PublicTemplateItem   `json:"indicators"`
}

// PublicTemplateItem is an indicator of the template with its rules.
type PublicTemplateItem struct {
	Code      string       `json:"code"`
	Name      string       `json:"name"`
	Weight    int          `json:"weight"`
	Frequency string       `json:"frequency"`
	Rules     []PublicRule `json:"rules"`
}

// PublicRule is a payment rule of the template.
type PublicRule struct {
	Trigger        string  `json:"trigger"`
	Direction      string  `json:"direction,omitempty"`
	Threshold      float64 `json:"threshold,omitempty"`
	UnitPriceCents int64   `json:"unitPriceCents,omitempty"`
	AmountCents    int64   `json:"amountCents,omitempty"`
	CapCents       int64   `json:"capCents"`
	Final          bool    `json:"final"`
}

// PublicReplication is a municipality that replicated the practice, and the
// practice its own pilot became, once published.
type PublicReplication struct {
	Municipality      call.PublicTenant `json:"municipality"`
	CreatedAt         time.Time         `json:"createdAt"`
	ReplicaPracticeID *uuid.UUID        `json:"replicaPracticeId,omitempty"`
	Outcome           string            `json:"outcome,omitempty"`
}

// ComparisonRow sets an indicator's achieved value here next to the
// replicas' achieved values of the same indicator.
type ComparisonRow struct {
	Code     string            `json:"code"`
	Name     string            `json:"name"`
	Unit     string            `json:"unit"`
	Source   ComparisonCell    `json:"source"`
	Replicas []ComparisonEntry `json:"replicas"`
}

// ComparisonCell is one practice's values of an indicator.
type ComparisonCell struct {
	Baseline *float64 `json:"baseline"`
	Target   float64  `json:"target"`
	Achieved *float64 `json:"achieved"`
}

// ComparisonEntry is one replica's column.
type ComparisonEntry struct {
	PracticeID   uuid.UUID         `json:"practiceId"`
	Municipality call.PublicTenant `json:"municipality"`
	Outcome      string            `json:"outcome"`
	ComparisonCell
}

func units(v impact.Value) float64 { return float64(v) / 1000 }

func unitsPtr(v *impact.Value) *float64 {
	if v == nil {
		return nil
	}
	f := units(*v)
	return &f
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// PublicView renders the practice for the catalogue.
func (p *Practice) PublicView(t call.PublicTenant) PublicPractice {
	v := PublicPractice{ID: p.ID, Municipality: t, Title: p.Title, PilotTitle: p.PilotTitle, Outcome: p.Outcome,
		Problem: p.Problem, Approach: p.Approach, CostCents: p.CostCents, Currency: "EUR", Evidence: p.Evidence,
		EvidenceLinks: nonNil(p.EvidenceLinks), WhatWentWrong: p.WhatWentWrong, PolicyArea: p.PolicyArea,
		SDGTargets: nonNil(p.SDGTargets), BESDomains: nonNil(p.BESDomains), Indicators: []PublicIndicator{},
		Replications: []PublicReplication{}, Comparison: []ComparisonRow{},
		PublishedAt: p.PublishedAt, UpdatedAt: p.UpdatedAt, Version: p.Version, Source: p.Template.Clone()}
	if p.ReplicatesID != uuid.Nil {
		id := p.ReplicatesID
		v.ReplicatesPracticeID = &id
	}
	for _, in := range p.Indicators {
		v.Indicators = append(v.Indicators, PublicIndicator{Code: in.Code, Name: in.Name, Unit: in.Unit, Direction: in.Direction,
			Baseline: unitsPtr(in.Baseline), Target: units(in.Target), TargetPeriod: in.TargetPeriod, Achieved: unitsPtr(in.Achieved),
			AchievedPeriod: in.AchievedPeriod, Suppressed: in.Suppressed, People: in.People, PeopleTotals: in.PeopleTotals})
	}
	v.Template = p.Template.Public()
	return v
}

// Public renders the template as the API shows it.
func (t Template) Public() PublicTemplate {
	out := PublicTemplate{Criteria: []call.PublicCriterion{}, PassThreshold: float64(t.PassThresholdBP) / 100, Indicators: []PublicTemplateItem{}}
	for _, c := range t.Criteria {
		out.Criteria = append(out.Criteria, call.PublicCriterion{Code: c.Code, Name: c.Name, Weight: c.Weight, MaxScore: c.MaxScore})
	}
	for _, ti := range t.Indicators {
		item := PublicTemplateItem{Code: ti.Definition.Code, Name: ti.Definition.Name, Weight: ti.Weight, Frequency: ti.Frequency, Rules: []PublicRule{}}
		for _, r := range ti.Rules {
			item.Rules = append(item.Rules, PublicRule{Trigger: string(r.Trigger), Direction: string(r.Direction), Threshold: float64(r.ThresholdMilli) / 1000,
				UnitPriceCents: r.UnitPriceCents, AmountCents: r.AmountCents, CapCents: r.CapCents, Final: r.Final})
		}
		out.Indicators = append(out.Indicators, item)
	}
	return out
}

// Compare fills the comparison of a practice with the replicas' practices.
func (p *PublicPractice) Compare(replicas []PublicPractice) {
	p.Comparison = []ComparisonRow{}
	for _, in := range p.Indicators {
		row := ComparisonRow{Code: in.Code, Name: in.Name, Unit: in.Unit, Replicas: []ComparisonEntry{},
			Source: ComparisonCell{Baseline: in.Baseline, Target: in.Target, Achieved: in.Achieved}}
		for _, r := range replicas {
			for _, ri := range r.Indicators {
				if ri.Code == in.Code {
					row.Replicas = append(row.Replicas, ComparisonEntry{PracticeID: r.ID, Municipality: r.Municipality, Outcome: r.Outcome,
						ComparisonCell: ComparisonCell{Baseline: ri.Baseline, Target: ri.Target, Achieved: ri.Achieved}})
				}
			}
		}
		p.Comparison = append(p.Comparison, row)
	}
}

// PublicFilter selects practices of the catalogue across municipalities.
type PublicFilter struct {
	RegionID   uuid.UUID
	TenantID   uuid.UUID
	PolicyArea string
	SDGTarget  string
	BESDomain  string
	Outcome    string
	Text       string
	Before     uuid.UUID // cursor: practices published before this one (newest first)
	Limit      int
}
