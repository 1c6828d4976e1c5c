// Package practice is the catalogue of practices: a decided pilot (scale,
// iterate or stop) that its municipality publishes for others to learn from
// and replicate. A practice shows its problem, approach, cost, evidence,
// what went wrong, and its indicators as aggregates that passed disclosure
// control (DOMAIN.md §4). It carries a template (the source call's criteria,
// the indicators and their payment rules) that another municipality copies
// into a draft call of its own: a replication.
package practice

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/call"
	"github.com/coprod/coprod/domain/evaluation"
	"github.com/coprod/coprod/domain/impact"
	"github.com/coprod/coprod/domain/payment"
	"github.com/coprod/coprod/domain/report"
)

// Status of a practice.
type Status string

const (
	StatusPublished Status = "published"
	StatusWithdrawn Status = "withdrawn" // unpublished: out of the catalogue, kept for the record
)

// Content is what the officer writes about a practice.
type Content struct {
	Title         string
	Problem       string
	Approach      string
	CostCents     int64
	Evidence      string
	EvidenceLinks []string // https URLs, or paths of coprod documents ("/v1/…")
	WhatWentWrong string
	PolicyArea    string
	SDGTargets    []string // empty: those of the indicators
	BESDomains    []string // empty: those of the indicators
}

// Indicator of a practice: baseline, target and achieved value as
// aggregates. Measured values of people or households under the disclosure
// threshold are nil with Suppressed set; targets are goals, not counts of
// anyone, and are shown as they are.
type Indicator struct {
	Code           string
	Name           string
	Unit           string
	Direction      string
	Baseline       *impact.Value
	Target         impact.Value
	TargetPeriod   string
	Achieved       *impact.Value
	AchievedPeriod string
	Suppressed     bool // a measured value was hidden by disclosure control
	People         []report.Cell
	PeopleTotals   map[string]*int
}

// TemplateIndicator is an indicator a replication starts from: its
// definition (the replicating municipality may lack it), weight, frequency
// and payment rules. Baselines and targets are local and not copied; a
// per-unit rule's baseline is cleared for the same reason.
type TemplateIndicator struct {
	Definition impact.Definition
	Weight     int
	Frequency  string
	Rules      []payment.Rule
}

// Template is what replicating a practice copies.
type Template struct {
	Criteria        []evaluation.Criterion
	PassThresholdBP int64
	DurationMonths  int
	Objectives      []string
	Indicators      []TemplateIndicator
}

// Practice is a decided pilot published to the catalogue.
type Practice struct {
	TenantID     uuid.UUID
	ID           uuid.UUID
	PilotID      uuid.UUID
	AgreementID  uuid.UUID
	CallID       uuid.UUID // the call the agreement followed, if any
	ReplicatesID uuid.UUID // the practice that call replicated, if any
	Content
	Outcome     string // the pilot's decision: scale, iterate or stop
	PilotTitle  string
	Indicators  []Indicator
	Template    Template
	Status      Status
	PublishedAt time.Time
	UpdatedAt   time.Time
	Version     int
}

// Replication is a draft call of one municipality created from another's
// practice, with its own copy of the template.
type Replication struct {
	TenantID       uuid.UUID
	ID             uuid.UUID
	PracticeID     uuid.UUID
	SourceTenantID uuid.UUID
	CallID         uuid.UUID
	Template       Template
	CreatedBy      string
	CreatedAt      time.Time
}

var (
	ErrNotFound         = domain.Errorf(domain.KindNotFound, "practice_not_found", "no such practice")
	ErrPilotNotDecided  = domain.Errorf(domain.KindPrecondition, "pilot_not_decided", "a practice is published from a pilot once it is decided (scale, iterate or stop)")
	ErrAlreadyPublished = domain.Errorf(domain.KindConflict, "practice_already_published", "this pilot is already published as a practice")
	ErrWithdrawn        = domain.Errorf(domain.KindPrecondition, "practice_withdrawn", "the practice is withdrawn from the catalogue")
	ErrOwnPractice      = domain.Errorf(domain.KindPrecondition, "own_practice", "a municipality replicates another municipality's practice, not its own")
	ErrInvalid          = domain.Errorf(domain.KindInvalid, "invalid_practice", "the practice is not valid")
)

// Limits.
const (
	MaxText     = 20000 // characters of problem, approach, evidence, what went wrong
	MaxLinks    = 20
	MaxCost     = payment.MaxCents
	MaxTitleLen = 300
)

func text(s string, required bool) (string, bool) {
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	return s, n <= MaxText && (!required || n > 0)
}

// Validate normalises and checks the officer's content.
func (c *Content) Validate() error {
	var ok bool
	c.Title = strings.TrimSpace(c.Title)
	if n := utf8.RuneCountInString(c.Title); n < 3 || n > MaxTitleLen {
		return ErrInvalid.WithMessage("the title is 3-%d characters", MaxTitleLen).WithField("title")
	}
	if c.Problem, ok = text(c.Problem, true); !ok {
		return ErrInvalid.WithMessage("the problem is 1-%d characters", MaxText).WithField("problem")
	}
	if c.Approach, ok = text(c.Approach, true); !ok {
		return ErrInvalid.WithMessage("the approach is 1-%d characters", MaxText).WithField("approach")
	}
	if c.Evidence, ok = text(c.Evidence, false); !ok {
		return ErrInvalid.WithField("evidence")
	}
	if c.WhatWentWrong, ok = text(c.WhatWentWrong, false); !ok {
		return ErrInvalid.WithField("whatWentWrong")
	}
	if c.CostCents < 0 || c.CostCents > MaxCost {
		return ErrInvalid.WithMessage("the cost is 0-%d cents", MaxCost).WithField("costCents")
	}
	if !slices.Contains(call.PolicyAreas, c.PolicyArea) {
		return call.ErrInvalidPolicy.WithField("policyArea")
	}
	if len(c.EvidenceLinks) > MaxLinks {
		return ErrInvalid.WithMessage("at most %d evidence links", MaxLinks).WithField("evidenceLinks")
	}
	for _, l := range c.EvidenceLinks {
		if !(strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "/v1/")) || len(l) > 2000 || strings.ContainsAny(l, " \t\r\n") {
			return ErrInvalid.WithMessage("an evidence link is an https URL or the path of a coprod document (/v1/…)").WithField("evidenceLinks")
		}
	}
	for i, s := range c.SDGTargets {
		c.SDGTargets[i] = strings.ToLower(s)
		if !impact.ValidSDGTarget(s) {
			return ErrInvalid.WithMessage("%q is not an SDG target (\"3.4\", \"10.a\")", s).WithField("sdgTargets")
		}
	}
	for _, b := range c.BESDomains {
		if !slices.Contains(impact.BESDomains, b) {
			return ErrInvalid.WithMessage("%q is not a BES domain", b).WithField("besDomains")
		}
	}
	c.SDGTargets, c.BESDomains = sortedSet(c.SDGTargets), sortedSet(c.BESDomains)
	return nil
}

func sortedSet(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

// Source is what a practice is built from: the decided pilot's indicators,
// as the municipality holds them.
type Source struct {
	Indicators []SourceIndicator
	Call       *call.Call // the call the agreement followed; nil if none
}

// SourceIndicator is one assignment of the pilot with its latest verified
// measurement (nil when none).
type SourceIndicator struct {
	Definition impact.Definition
	Assignment impact.Assignment
	Latest     *Measured
	Rules      []payment.Rule
}

// Measured is a verified value with its people counts.
type Measured struct {
	Period string
	Value  impact.Value
	People []impact.PeopleCount
}

// threshold is the least count of people a definition shows.
func threshold(d impact.Definition) int {
	t := max(d.MinCellSize, report.MinCell)
	if d.SpecialCategory {
		t = max(t, report.MinSpecialCell)
	}
	return t
}

// counted reports whether values of the unit count people (or households,
// which are as identifying in a small cohort).
func counted(unit string) bool { return unit == impact.UnitPeople || unit == impact.UnitHouseholds }

// disclose returns v, or nil when it is a count of people under the
// threshold (zero discloses no one and is shown).
func disclose(d impact.Definition, v impact.Value) *impact.Value {
	if counted(d.Unit) && v > 0 && v < impact.Value(threshold(d))*1000 {
		return nil
	}
	return &v
}

// Build derives a practice's indicators and template from its source. Every
// people count goes through report.Suppress, and every measured value in
// people under the threshold is withheld: nothing Build returns can reveal
// a cell disclosure control hides.
func Build(src Source) ([]Indicator, Template) {
	inds := []Indicator{}
	tpl := Template{Indicators: []TemplateIndicator{}, Criteria: []evaluation.Criterion{}, Objectives: []string{}}
	if c := src.Call; c != nil {
		tpl.Criteria = slices.Clone(c.Criteria)
		tpl.PassThresholdBP, tpl.DurationMonths, tpl.Objectives = c.PassThresholdBP, c.DurationMonths, slices.Clone(c.Objectives)
		if tpl.Criteria == nil {
			tpl.Criteria = []evaluation.Criterion{}
		}
		if tpl.Objectives == nil {
			tpl.Objectives = []string{}
		}
	}
	for _, si := range src.Indicators {
		d, as := si.Definition, si.Assignment
		ind := Indicator{Code: d.Code, Name: d.Name, Unit: d.Unit, Direction: string(d.Direction), People: []report.Cell{}, PeopleTotals: map[string]*int{}}
		if n := len(as.Targets); n > 0 {
			ind.Target, ind.TargetPeriod = as.Targets[n-1].Value, as.Targets[n-1].Period
		}
		ind.Baseline = disclose(d, as.Baseline.Value)
		ind.Suppressed = ind.Baseline == nil
		if m := si.Latest; m != nil {
			ind.AchievedPeriod = m.Period
			ind.Achieved = disclose(d, m.Value)
			ind.Suppressed = ind.Suppressed || ind.Achieved == nil
			cells := make([]report.PeopleCell, 0, len(m.People))
			for _, pc := range m.People {
				cells = append(cells, report.PeopleCell{AgeBand: pc.AgeBand, Gender: pc.Gender, Vulnerability: pc.Vulnerability, Count: pc.Count, Special: d.SpecialCategory})
			}
			ind.People, ind.PeopleTotals = report.Suppress(cells)
			if counted(d.Unit) && ind.Achieved != nil && !protectMargin(ind.People, ind.PeopleTotals) {
				ind.Achieved, ind.Suppressed = nil, true
			}
		}
		inds = append(inds, ind)
		ti := TemplateIndicator{Definition: d, Weight: as.Weight, Frequency: as.Frequency, Rules: []payment.Rule{}}
		for _, r := range si.Rules {
			r.ID = uuid.Nil
			r.BaselineMilli = 0 // the source's baseline is its own; the replicating municipality sets its own
			ti.Rules = append(ti.Rules, r)
		}
		tpl.Indicators = append(tpl.Indicators, ti)
	}
	return inds, tpl
}

// protectMargin guards the one margin Suppress does not know about: an
// achieved value in people may be the sum of the cells, and then a lone
// hidden category would be that value minus the categories shown. The
// smallest other non-zero category is hidden with it; when there is none,
// it reports false and the value must be withheld.
func protectMargin(cells []report.Cell, totals map[string]*int) bool {
	var hidden []string
	for v, t := range totals {
		if t == nil {
			hidden = append(hidden, v)
		}
	}
	if len(hidden) != 1 {
		return true
	}
	other := ""
	for v, t := range totals {
		if t != nil && *t > 0 && (other == "" || *t < *totals[other] || *t == *totals[other] && v < other) {
			other = v
		}
	}
	if other == "" {
		return false
	}
	totals[other] = nil
	for i := range cells {
		if cells[i].Vulnerability == other && cells[i].Count != nil && *cells[i].Count > 0 {
			cells[i].Count, cells[i].Suppressed = nil, true
		}
	}
	return true
}

// Tags are the SDG targets and BES domains of the indicators' definitions.
func Tags(src Source) (sdg, bes []string) {
	for _, si := range src.Indicators {
		sdg = append(sdg, si.Definition.SDGTargets...)
		bes = append(bes, si.Definition.BESDomains...)
	}
	return sortedSet(sdg), sortedSet(bes)
}

// Clone is a deep copy of the template, so that a replication never shares
// a slice with its source.
func (t Template) Clone() Template {
	out := Template{Criteria: slices.Clone(t.Criteria), PassThresholdBP: t.PassThresholdBP, DurationMonths: t.DurationMonths,
		Objectives: slices.Clone(t.Objectives)}
	for _, ti := range t.Indicators {
		d := ti.Definition
		d.SDGTargets, d.BESDomains, d.IRISMetrics = slices.Clone(d.SDGTargets), slices.Clone(d.BESDomains), slices.Clone(d.IRISMetrics)
		out.Indicators = append(out.Indicators, TemplateIndicator{Definition: d, Weight: ti.Weight, Frequency: ti.Frequency, Rules: slices.Clone(ti.Rules)})
	}
	return out
}

// DraftCall is the call a replication starts from: the practice's
// criteria, objectives and policy area, with the approach as its summary.
// Budget, dates, eligibility territory and acts are the replicating
// municipality's to set.
func (p PublicPractice) DraftCall(title string) call.Call {
	t := p.Source.Clone()
	if strings.TrimSpace(title) == "" {
		title = p.Title
		if r := []rune(title); len(r) > MaxTitleLen-10 {
			title = string(r[:MaxTitleLen-10])
		}
		title = "Replica: " + title
	}
	return call.Call{Title: title, Summary: p.Approach, PolicyArea: p.PolicyArea, Objectives: t.Objectives,
		DurationMonths: t.DurationMonths, Criteria: t.Criteria, PassThresholdBP: t.PassThresholdBP}
}
