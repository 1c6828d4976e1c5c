package network

import (
	"cmp"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"
)

// NodeKind: an organisation or a municipality.
type NodeKind string

const (
	NodeOrganisation NodeKind = "organisation"
	NodeMunicipality NodeKind = "municipality"
)

// EdgeKind: organisation–municipality (a tie) or organisation–organisation
// (an alliance).
type EdgeKind string

const (
	EdgeTie      EdgeKind = "organisation_municipality"
	EdgeAlliance EdgeKind = "organisation_organisation"
)

// Node of the graph.
type Node struct {
	ID   uuid.UUID
	Kind NodeKind
	Slug string // municipalities only
	Name string
}

// YearCounts are an edge's counts in one year.
type YearCounts struct {
	Year int
	Counts
}

// Edge links an organisation (Source) to a municipality or to another
// organisation (Target), with its counts over the years shown and year by
// year. FirstYear is the first year the pair appears in any year, shown or
// not: the year the partnership began.
type Edge struct {
	Source, Target uuid.UUID
	Kind           EdgeKind
	Counts
	Years     []YearCounts
	FirstYear int
}

// Reach: an organisation and the municipalities it worked with.
type Reach struct {
	Organisation   uuid.UUID
	Name           string
	Municipalities int
}

// NewInYear counts the pairs whose partnership began in a year.
type NewInYear struct {
	Year                     int
	OrganisationMunicipality int
	OrganisationOrganisation int
}

// Metrics a region asks for.
type Metrics struct {
	// Organisations active in two or more of the region's municipalities
	// in the years shown, most municipalities first.
	SeveralMunicipalities []Reach
	// The region's municipalities with no tie in the years shown.
	WithoutPartnership []Place
	// New alliances per year: pairs (organisation–municipality, and
	// organisation–organisation) whose first year is that year; every year
	// from the first to the last with activity, within the years shown.
	NewAlliances []NewInYear
}

// Graph of a region's network.
type Graph struct {
	Region         Place
	Years          Years
	AgreementsOnly bool
	Nodes          []Node
	Edges          []Edge
	Metrics        Metrics
	ComputedAt     time.Time // latest computation of the ties read; zero when none
}

// Scope of a graph.
type Scope struct {
	Years
	// AgreementsOnly keeps only signed agreements (the public network).
	AgreementsOnly bool
}

func (sc Scope) shows(year int) bool {
	return (sc.From == 0 || year >= sc.From) && (sc.To == 0 || year <= sc.To)
}

func (sc Scope) counts(c Counts) Counts {
	if sc.AgreementsOnly {
		return Counts{Agreements: c.Agreements}
	}
	return c
}

type pair struct{ a, b uuid.UUID }

// edgeAcc gathers one pair's counts; years are few, so a sorted slice.
type edgeAcc struct {
	first  int
	byYear []YearCounts
}

func (e *edgeAcc) add(year int, c Counts, shown bool) {
	if e.first == 0 || year < e.first {
		e.first = year
	}
	if !shown {
		return
	}
	i, found := slices.BinarySearchFunc(e.byYear, year, func(y YearCounts, year int) int { return cmp.Compare(y.Year, year) })
	if found {
		e.byYear[i].Counts = e.byYear[i].Counts.Plus(c)
		return
	}
	e.byYear = slices.Insert(e.byYear, i, YearCounts{Year: year, Counts: c})
}

// Build lays out the graph of a region from its municipalities' ties and
// alliances. Rows of a municipality outside the region are dropped, so the
// graph never shows another region's places whatever the store returned.
// Municipalities are all nodes (one without ties is a finding);
// organisations are nodes when they have an edge in the years shown.
func Build(region Place, municipalities []Place, ties []Tie, alliances []Alliance, sc Scope) *Graph {
	ours := map[uuid.UUID]bool{}
	for _, m := range municipalities {
		ours[m.ID] = true
	}
	tieAcc := map[pair]*edgeAcc{}
	allyAcc := map[pair]*edgeAcc{}
	acc := func(m map[pair]*edgeAcc, k pair) *edgeAcc {
		if m[k] == nil {
			m[k] = &edgeAcc{}
		}
		return m[k]
	}
	for _, t := range ties {
		c := sc.counts(t.Counts)
		if !ours[t.Municipality] || c.Total() == 0 {
			continue
		}
		acc(tieAcc, pair{t.Organisation, t.Municipality}).add(t.Year, c, sc.shows(t.Year))
	}
	for _, a := range alliances {
		c := sc.counts(a.Counts)
		if !ours[a.Municipality] || c.Total() == 0 {
			continue
		}
		k := pair{a.Organisation, a.Partner}
		if compareID(k.a, k.b) > 0 {
			k = pair{k.b, k.a}
		}
		acc(allyAcc, k).add(a.Year, c, sc.shows(a.Year))
	}

	g := &Graph{Region: region, Years: sc.Years, AgreementsOnly: sc.AgreementsOnly, Nodes: []Node{}, Edges: []Edge{}}
	orgs := map[uuid.UUID]bool{}
	reach := map[uuid.UUID]int{}
	tied := map[uuid.UUID]bool{}
	newTies, newAllies := map[int]int{}, map[int]int{}
	minYear, maxYear := 0, 0
	seen := func(y int) {
		if minYear == 0 || y < minYear {
			minYear = y
		}
		maxYear = max(maxYear, y)
	}
	edges := func(m map[pair]*edgeAcc, kind EdgeKind, news map[int]int) {
		for k, e := range m {
			if sc.shows(e.first) {
				news[e.first]++
			}
			if len(e.byYear) == 0 {
				continue // no activity in the years shown
			}
			ed := Edge{Source: k.a, Target: k.b, Kind: kind, FirstYear: e.first, Years: e.byYear}
			for _, y := range e.byYear {
				ed.Counts = ed.Counts.Plus(y.Counts)
				seen(y.Year)
			}
			g.Edges = append(g.Edges, ed)
			orgs[k.a] = true
			if kind == EdgeTie {
				reach[k.a]++
				tied[k.b] = true
			} else {
				orgs[k.b] = true
			}
		}
	}
	edges(tieAcc, EdgeTie, newTies)
	edges(allyAcc, EdgeAlliance, newAllies)
	slices.SortFunc(g.Edges, func(a, b Edge) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), compareID(a.Source, b.Source), compareID(a.Target, b.Target))
	})

	ms := slices.Clone(municipalities)
	slices.SortFunc(ms, func(a, b Place) int { return cmp.Or(cmp.Compare(a.Name, b.Name), compareID(a.ID, b.ID)) })
	for _, m := range ms {
		g.Nodes = append(g.Nodes, Node{ID: m.ID, Kind: NodeMunicipality, Slug: m.Slug, Name: m.Name})
		if !tied[m.ID] {
			g.Metrics.WithoutPartnership = append(g.Metrics.WithoutPartnership, m)
		}
	}
	ids := slices.SortedFunc(maps.Keys(orgs), compareID)
	for _, id := range ids {
		g.Nodes = append(g.Nodes, Node{ID: id, Kind: NodeOrganisation})
		if reach[id] >= 2 {
			g.Metrics.SeveralMunicipalities = append(g.Metrics.SeveralMunicipalities, Reach{Organisation: id, Municipalities: reach[id]})
		}
	}
	slices.SortStableFunc(g.Metrics.SeveralMunicipalities, func(a, b Reach) int { return cmp.Compare(b.Municipalities, a.Municipalities) })
	if minYear > 0 {
		for y := minYear; y <= maxYear; y++ {
			g.Metrics.NewAlliances = append(g.Metrics.NewAlliances, NewInYear{Year: y, OrganisationMunicipality: newTies[y], OrganisationOrganisation: newAllies[y]})
		}
	}
	return g
}

// name fills in the organisations' names, and sorts them by name.
func (g *Graph) name(names map[uuid.UUID]string) {
	for i := range g.Nodes {
		if g.Nodes[i].Kind == NodeOrganisation {
			g.Nodes[i].Name = names[g.Nodes[i].ID]
		}
	}
	byName := func(a, b Node) int {
		if a.Kind != b.Kind {
			return cmp.Compare(a.Kind, b.Kind) // municipalities first
		}
		return cmp.Or(cmp.Compare(a.Name, b.Name), compareID(a.ID, b.ID))
	}
	slices.SortStableFunc(g.Nodes, byName)
	several := g.Metrics.SeveralMunicipalities
	for i := range several {
		several[i].Name = names[several[i].Organisation]
	}
	slices.SortFunc(several, func(a, b Reach) int {
		return cmp.Or(cmp.Compare(b.Municipalities, a.Municipalities), cmp.Compare(a.Name, b.Name), compareID(a.Organisation, b.Organisation))
	})
}
