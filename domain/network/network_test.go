package network_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain/network"
)

func id(s string) uuid.UUID { return uuid.NewSHA1(uuid.NameSpaceOID, []byte(s)) }

func at(year int) time.Time { return time.Date(year, 6, 1, 12, 0, 0, 0, time.UTC) }

// The seeded network: Bergamo, Brescia and Como in the region; Torino in
// another. A and B apply together to Bergamo in 2024, sign and pilot there
// in 2025; A applies to Brescia in 2025 and signs there with C in 2026;
// B and C sign in Torino.
func seeded() (ms []network.Place, ties []network.Tie, alliances []network.Alliance) {
	ms = []network.Place{{ID: id("bergamo"), Slug: "bergamo", Name: "Bergamo"}, {ID: id("brescia"), Slug: "brescia", Name: "Brescia"},
		{ID: id("como"), Slug: "como", Name: "Como"}}
	a, b, c := id("A"), id("B"), id("C")
	for m, acts := range map[string][]network.Activity{
		"bergamo": {{Kind: network.KindApplication, At: at(2024), Orgs: []uuid.UUID{a, b}},
			{Kind: network.KindAgreement, At: at(2025), Orgs: []uuid.UUID{b, a}},
			{Kind: network.KindPilot, At: at(2025), Orgs: []uuid.UUID{a, b, a}}},
		"brescia": {{Kind: network.KindApplication, At: at(2025), Orgs: []uuid.UUID{a}},
			{Kind: network.KindAgreement, At: at(2026), Orgs: []uuid.UUID{a, c}}},
		"torino": {{Kind: network.KindAgreement, At: at(2025), Orgs: []uuid.UUID{b, c}}},
	} {
		t, al := network.Tally(id(m), acts)
		ties, alliances = append(ties, t...), append(alliances, al...)
	}
	return ms, ties, alliances
}

func TestTally(t *testing.T) {
	a, b := id("A"), id("B")
	ties, alliances := network.Tally(id("bergamo"), []network.Activity{
		{Kind: network.KindApplication, At: at(2024), Orgs: []uuid.UUID{a, b}},
		{Kind: network.KindAgreement, At: at(2025), Orgs: []uuid.UUID{b, a}},
		{Kind: network.KindPilot, At: at(2025), Orgs: []uuid.UUID{a, b, a}},
		// 31 December 23:30 in Rome is still 2025 in UTC.
		{Kind: network.KindPilot, At: time.Date(2025, 12, 31, 22, 30, 0, 0, time.UTC), Orgs: []uuid.UUID{a}},
	})
	got := map[string]network.Counts{}
	for _, ti := range ties {
		got[fmt.Sprint(ti.Organisation == a, ti.Year)] = ti.Counts
	}
	want := map[string]network.Counts{
		"true 2024": {Applications: 1}, "true 2025": {Agreements: 1, Pilots: 2},
		"false 2024": {Applications: 1}, "false 2025": {Agreements: 1, Pilots: 1},
	}
	if len(got) != len(want) {
		t.Fatalf("ties %+v", ties)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("tie %s: %+v, want %+v", k, got[k], w)
		}
	}
	if len(alliances) != 2 || alliances[0].Year != 2024 || alliances[0].Counts != (network.Counts{Applications: 1}) ||
		alliances[1].Counts != (network.Counts{Agreements: 1, Pilots: 1}) {
		t.Errorf("alliances %+v", alliances)
	}
	for _, al := range alliances {
		if bytes.Compare(al.Organisation[:], al.Partner[:]) >= 0 {
			t.Errorf("alliance not one ordered pair: %+v", al)
		}
	}
}

func edgeMap(g *network.Graph) map[string]network.Edge {
	names := map[uuid.UUID]string{}
	for _, n := range []string{"A", "B", "C", "bergamo", "brescia", "como", "torino"} {
		names[id(n)] = n
	}
	out := map[string]network.Edge{}
	for _, e := range g.Edges {
		out[names[e.Source]+"-"+names[e.Target]] = e
	}
	return out
}

func TestRegionGraphAndMetrics(t *testing.T) {
	ms, ties, alliances := seeded()
	g := network.Build(network.Place{ID: id("lombardia"), Name: "Lombardia"}, ms, ties, alliances, network.Scope{})
	if len(g.Nodes) != 6 {
		t.Errorf("nodes %+v, want Bergamo, Brescia, Como, A, B, C", g.Nodes)
	}
	for _, n := range g.Nodes {
		if n.ID == id("torino") {
			t.Errorf("a municipality of another region is a node")
		}
	}
	e := edgeMap(g)
	// A and B are ordered by id: find the alliance either way.
	ab, ok := e["A-B"]
	if !ok {
		ab = e["B-A"]
	}
	want := map[string]network.Counts{
		"A-bergamo": {Applications: 1, Agreements: 1, Pilots: 1}, "B-bergamo": {Applications: 1, Agreements: 1, Pilots: 1},
		"A-brescia": {Applications: 1, Agreements: 1}, "C-brescia": {Agreements: 1},
	}
	for k, w := range want {
		if e[k].Counts != w || e[k].Kind != network.EdgeTie {
			t.Errorf("edge %s: %+v, want %+v", k, e[k], w)
		}
	}
	if len(g.Edges) != 6 || ab.Counts != (network.Counts{Applications: 1, Agreements: 1, Pilots: 1}) || ab.FirstYear != 2024 || len(ab.Years) != 2 {
		t.Errorf("edges %+v", g.Edges)
	}
	if _, ok := e["B-C"]; ok {
		t.Errorf("Torino's alliance of B and C shows in Lombardia")
	}
	m := g.Metrics
	if len(m.SeveralMunicipalities) != 1 || m.SeveralMunicipalities[0].Organisation != id("A") || m.SeveralMunicipalities[0].Municipalities != 2 {
		t.Errorf("several municipalities: %+v", m.SeveralMunicipalities)
	}
	if len(m.WithoutPartnership) != 1 || m.WithoutPartnership[0].Slug != "como" {
		t.Errorf("without partnership: %+v", m.WithoutPartnership)
	}
	wantNew := []network.NewInYear{{2024, 2, 1}, {2025, 1, 0}, {2026, 1, 1}}
	if fmt.Sprint(m.NewAlliances) != fmt.Sprint(wantNew) {
		t.Errorf("new alliances %v, want %v", m.NewAlliances, wantNew)
	}

	// 2025 only: A–Bergamo began in 2024, so 2025 has one new tie (A–Brescia).
	g = network.Build(network.Place{}, ms, ties, alliances, network.Scope{Years: network.Years{From: 2025, To: 2025}})
	e = edgeMap(g)
	if len(g.Edges) != 4 || e["A-bergamo"].Counts != (network.Counts{Agreements: 1, Pilots: 1}) || e["A-bergamo"].FirstYear != 2024 {
		t.Errorf("2025 edges %+v", g.Edges)
	}
	if fmt.Sprint(g.Metrics.NewAlliances) != fmt.Sprint([]network.NewInYear{{2025, 1, 0}}) || len(g.Metrics.SeveralMunicipalities) != 1 {
		t.Errorf("2025 metrics %+v", g.Metrics)
	}
	if len(g.Nodes) != 5 { // C has nothing in 2025
		t.Errorf("2025 nodes %+v", g.Nodes)
	}
}

// The public network counts signed agreements only.
func TestPublicGraphIsAgreementsOnly(t *testing.T) {
	ms, ties, alliances := seeded()
	g := network.Build(network.Place{}, ms, ties, alliances, network.Scope{AgreementsOnly: true})
	for _, e := range g.Edges {
		if e.Applications != 0 || e.Pilots != 0 || e.Agreements == 0 {
			t.Errorf("public edge with other than agreements: %+v", e)
		}
	}
	e := edgeMap(g)
	if len(g.Edges) != 6 || e["A-brescia"].FirstYear != 2026 || e["A-bergamo"].FirstYear != 2025 {
		t.Errorf("public edges %+v", g.Edges)
	}
	if want := []network.NewInYear{{2025, 2, 1}, {2026, 2, 1}}; fmt.Sprint(g.Metrics.NewAlliances) != fmt.Sprint(want) {
		t.Errorf("public new alliances %v, want %v", g.Metrics.NewAlliances, want)
	}
}

func TestEmptyRegion(t *testing.T) {
	ms, _, _ := seeded()
	g := network.Build(network.Place{}, ms, nil, nil, network.Scope{})
	if len(g.Edges) != 0 || len(g.Nodes) != 3 || len(g.Metrics.WithoutPartnership) != 3 || g.Metrics.NewAlliances != nil {
		t.Errorf("empty region: %+v", g)
	}
}
