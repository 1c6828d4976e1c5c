package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/app"
	"github.com/coprod/coprod/domain/audit"
	"github.com/coprod/coprod/domain/call"
	"github.com/coprod/coprod/domain/evaluation"
	"github.com/coprod/coprod/domain/impact"
	"github.com/coprod/coprod/domain/monitoring"
	"github.com/coprod/coprod/domain/payment"
	"github.com/coprod/coprod/domain/pilot"
	"github.com/coprod/coprod/domain/practice"
	"github.com/coprod/coprod/tenants"
)

type practiceBundle struct {
	*agreementBundle
	bergamo   uuid.UUID
	clk       *clock
	calls     *call.Service
	mon       *monitoring.Service
	pilots    *pilot.Service
	practices *practice.Service
	catalogue *practice.Catalogue
}

func setupPractices(t *testing.T) *practiceBundle {
	t.Helper()
	ab := setupAgreements(t)
	reg := tenants.NewService(ab.store.Registry(), nil)
	bg, err := reg.Create(operatorCtx(t), tenants.CreateInput{Slug: "bergamo", Name: "Bergamo", Kind: tenants.KindMunicipality, ISTATCode: "016024", Region: "regione-lombardia"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.ChangeStatus(operatorCtx(t), bg.ID.String(), "activate", "", 0); err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2027, 5, 1, 9, 0, 0, 0, time.UTC)}
	return &practiceBundle{agreementBundle: ab, bergamo: bg.ID, clk: clk, calls: call.NewService(ab.store.Calls(), clk.now),
		mon: monitoring.NewService(ab.store.Monitoring(), clk.now), pilots: pilot.NewService(ab.store.Pilots(), clk.now),
		practices: practice.NewService(ab.store.Practices(), clk.now), catalogue: practice.NewCatalogue(ab.store.PublicPractices())}
}

func (pb *practiceBundle) officer(t *testing.T, tenant uuid.UUID) context.Context {
	return domain.WithPrincipal(t.Context(), domain.Principal{Subject: "rup-" + tenant.String()[:4], TenantID: tenant, Roles: []domain.Role{domain.RoleOfficer}})
}

// evaluatedPilot runs, in tenant, an active agreement following callID (if
// any) with a pilot whose indicator elderly_alone_home_care (special
// category: threshold 10) has a verified value and people counts, and a
// per-unit payment rule; the pilot is left in evaluation.
func (pb *practiceBundle) evaluatedPilot(t *testing.T, tenant, callID uuid.UUID, value impact.Value, people []impact.PeopleCount) (*pilot.Pilot, *monitoring.Assignment) {
	t.Helper()
	officer := pb.officer(t, tenant)
	draft := pb.draft()
	draft.CallID = callID
	a, err := pb.agreements.Create(officer, tenant, draft)
	if err != nil {
		t.Fatal(err)
	}
	for _, org := range []uuid.UUID{uuid.Nil, pb.lead.ID, pb.part.ID} {
		who := officer
		if org != uuid.Nil {
			p := pb.adminOf(org)
			p.TenantID = tenant
			who = domain.WithPrincipal(t.Context(), p)
		}
		if a, err = pb.agreements.Sign(who, tenant, a.ID, org, 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err = pb.agreements.Transition(officer, tenant, a.ID, "activate", "", 0); err != nil {
		t.Fatal(err)
	}
	pl, err := pb.pilots.Create(officer, tenant, a.ID, pilot.Pilot{Title: "Custodi sociali di quartiere", Hypothesis: "Le visite riducono l'isolamento",
		CohortSize: 60, Start: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2027, 12, 31, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pb.mon.SeedLibrary(officer, tenant); err != nil {
		t.Fatal(err)
	}
	as, err := pb.mon.Assign(officer, tenant, a.ID, pl.ID, impact.Assignment{Indicator: "elderly_alone_home_care", Weight: 100,
		Baseline: impact.Baseline{Value: 40_000, Date: time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC), Source: "SIUSS 2026"},
		Targets:  []impact.Target{{Period: "2027-Q2", Value: 70_000}, {Period: "2027-Q4", Value: 100_000}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pb.mon.AddRule(officer, tenant, as.ID, payment.Rule{Trigger: payment.PerUnit, Direction: payment.Increase, BaselineMilli: 40_000,
		UnitPriceCents: 5_000, CapCents: 200_000}); err != nil {
		t.Fatal(err)
	}
	party := pb.adminOf(pb.lead.ID)
	party.TenantID = tenant
	m, err := pb.mon.Submit(domain.WithPrincipal(t.Context(), party), tenant, as.ID, monitoring.SubmitInput{Period: "2027-Q2", Value: value, People: people, Evidence: "fogli firma"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := pb.mon.Decide(officer, tenant, m.ID, "verified", "", 0); err != nil {
		t.Fatal(err)
	}
	for _, step := range []string{"start", "evaluate"} {
		if pl, err = pb.pilots.Change(officer, tenant, pl.ID, step, "", "", nil, 0); err != nil {
			t.Fatal(err)
		}
	}
	return pl, as
}

func content() practice.Content {
	return practice.Content{Title: "Custodi sociali per anziani soli", Problem: "Anziani soli senza rete", Approach: "Visite settimanali di volontari formati",
		CostCents: 12_000_000, Evidence: "Valutazione del servizio sociale", EvidenceLinks: []string{"https://comune.milano.it/valutazione.pdf"},
		WhatWentWrong: "Reclutamento dei volontari lento", PolicyArea: "elderly"}
}

func TestPracticePublishAndCatalogue(t *testing.T) {
	t.Parallel()
	pb := setupPractices(t)
	milan, bergamo := pb.officer(t, pb.milan), pb.officer(t, pb.bergamo)
	// 12 women 75+ (shown), 4 men 75+ (hidden, under 10 for this art. 9
	// indicator, so the 12 is hidden too: complementary), 3 women 65-74
	// alone in their group (hidden with its total).
	people := []impact.PeopleCount{
		{AgeBand: "75+", Gender: "female", Vulnerability: "elderly_alone", Count: 12},
		{AgeBand: "75+", Gender: "male", Vulnerability: "elderly_alone", Count: 4},
		{AgeBand: "65-74", Gender: "female", Vulnerability: "disability", Count: 3},
	}
	pl, _ := pb.evaluatedPilot(t, pb.milan, uuid.Nil, 55_000, people)

	if _, err := pb.practices.Publish(milan, pb.milan, pl.ID, content()); !errors.Is(err, practice.ErrPilotNotDecided) {
		t.Errorf("publish a pilot in evaluation: %v", err)
	}
	pl, err := pb.pilots.Change(milan, pb.milan, pl.ID, "decide", "stop", "Costi troppo alti per il risultato", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Another municipality cannot publish Milan's pilot: for it, the pilot does not exist.
	if _, err := pb.practices.Publish(bergamo, pb.bergamo, pl.ID, content()); domain.KindOf(err) != domain.KindNotFound {
		t.Errorf("Bergamo publishes Milan's pilot: %v", err)
	}
	if _, err := pb.practices.Publish(bergamo, pb.milan, pl.ID, content()); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("Bergamo's officer acts in Milan: %v", err)
	}
	bad := content()
	bad.PolicyArea = "sport"
	if _, err := pb.practices.Publish(milan, pb.milan, pl.ID, bad); domain.KindOf(err) != domain.KindInvalid {
		t.Errorf("invalid policy area: %v", err)
	}
	// A stopped pilot is published: what failed is worth as much.
	pr, err := pb.practices.Publish(milan, pb.milan, pl.ID, content())
	if err != nil {
		t.Fatal(err)
	}
	if pr.Outcome != "stop" || len(pr.Indicators) != 1 || !slices.Equal(pr.SDGTargets, []string{"1.3", "10.2"}) {
		t.Fatalf("practice: %+v", pr)
	}
	if _, err := pb.practices.Publish(milan, pb.milan, pl.ID, content()); !errors.Is(err, practice.ErrAlreadyPublished) {
		t.Errorf("the same pilot twice: %v", err)
	}

	pub, err := pb.catalogue.Get(t.Context(), pr.ID)
	if err != nil {
		t.Fatal(err)
	}
	in := pub.Indicators[0]
	if in.Achieved == nil || *in.Achieved != 55 || in.Baseline == nil || *in.Baseline != 40 || in.Target != 100 {
		t.Errorf("indicator: %+v", in)
	}
	// No published cell is under the threshold; the catalogue document holds no 12, 4 or 3.
	doc, _ := json.Marshal(pub)
	for _, c := range in.People {
		if c.Count != nil && *c.Count > 0 && *c.Count < 10 {
			t.Errorf("cell of %d published", *c.Count)
		}
		if c.Count != nil && *c.Count > 0 {
			t.Errorf("cell %+v shown although its group has a hidden cell", c)
		}
	}
	// The disability group is hidden whole; with the achieved value published,
	// elderly_alone's total (16) is hidden too, or 55 minus it would be a margin.
	if len(in.PeopleTotals) != 2 || in.PeopleTotals["disability"] != nil || in.PeopleTotals["elderly_alone"] != nil {
		t.Errorf("totals: %v", in.PeopleTotals)
	}
	if pub.Municipality.Slug != "milano" || pub.Municipality.RegionID != pb.region || len(pub.Replications) != 0 {
		t.Errorf("public practice: %s", doc)
	}

	// Searchable without login across municipalities.
	for name, f := range map[string]practice.PublicFilter{
		"region": {RegionID: pb.region}, "sdg": {SDGTarget: "10.2"}, "bes": {BESDomain: "social_relationships"},
		"outcome": {Outcome: "stop"}, "text": {Text: "VOLONTARI"}, "policy": {PolicyArea: "elderly"}, "municipality": {TenantID: pb.milan},
	} {
		if items, _, err := pb.catalogue.List(t.Context(), f); err != nil || len(items) != 1 || items[0].ID != pr.ID {
			t.Errorf("filter %s: %d items, %v", name, len(items), err)
		}
	}
	for name, f := range map[string]practice.PublicFilter{
		"other region": {RegionID: pb.milan}, "sdg": {SDGTarget: "4.1"}, "outcome": {Outcome: "scale"}, "text": {Text: "biblioteca"},
		"municipality": {TenantID: pb.bergamo},
	} {
		if items, _, err := pb.catalogue.List(t.Context(), f); err != nil || len(items) != 0 {
			t.Errorf("filter %s: %d items, %v", name, len(items), err)
		}
	}
	if _, _, err := pb.catalogue.List(t.Context(), practice.PublicFilter{SDGTarget: "18.1"}); domain.KindOf(err) != domain.KindInvalid {
		t.Errorf("bad SDG target: %v", err)
	}

	// Update under If-Match; another tenant cannot touch it.
	next := content()
	next.WhatWentWrong = "Reclutamento lento e abbandoni dopo tre mesi"
	if _, err := pb.practices.Update(bergamo, pb.bergamo, pr.ID, next, 0); !errors.Is(err, practice.ErrNotFound) {
		t.Errorf("Bergamo edits Milan's practice: %v", err)
	}
	if _, err := pb.practices.Withdraw(bergamo, pb.bergamo, pr.ID, 0); !errors.Is(err, practice.ErrNotFound) {
		t.Errorf("Bergamo withdraws Milan's practice: %v", err)
	}
	if _, err := pb.practices.Update(milan, pb.milan, pr.ID, next, pr.Version+1); !errors.Is(err, domain.ErrStale) {
		t.Errorf("stale If-Match: %v", err)
	}
	if pr, err = pb.practices.Update(milan, pb.milan, pr.ID, next, pr.Version); err != nil || pr.Version != 2 {
		t.Fatalf("update: %+v %v", pr, err)
	}
	if pub, _ = pb.catalogue.Get(t.Context(), pr.ID); pub.WhatWentWrong != next.WhatWentWrong || pub.Version != 2 {
		t.Errorf("catalogue not refreshed with the update: %q v%d", pub.WhatWentWrong, pub.Version)
	}
	// Withdrawn: out of the catalogue, still readable by its staff, no longer editable.
	if pr, err = pb.practices.Withdraw(milan, pb.milan, pr.ID, pr.Version); err != nil || pr.Status != practice.StatusWithdrawn {
		t.Fatalf("withdraw: %+v %v", pr, err)
	}
	if _, err := pb.catalogue.Get(t.Context(), pr.ID); !errors.Is(err, practice.ErrNotFound) {
		t.Errorf("withdrawn practice still public: %v", err)
	}
	if items, _, _ := pb.catalogue.List(t.Context(), practice.PublicFilter{}); len(items) != 0 {
		t.Errorf("withdrawn practice still listed")
	}
	if _, err := pb.practices.Update(milan, pb.milan, pr.ID, next, 0); !errors.Is(err, practice.ErrWithdrawn) {
		t.Errorf("update a withdrawn practice: %v", err)
	}
	if got, err := pb.practices.Get(milan, pb.milan, pr.ID); err != nil || got.Status != practice.StatusWithdrawn {
		t.Errorf("staff read: %v", err)
	}
}

func TestPracticeReplication(t *testing.T) {
	t.Parallel()
	pb := setupPractices(t)
	milan, bergamo := pb.officer(t, pb.milan), pb.officer(t, pb.bergamo)

	// Milan's call, whose criteria the practice carries.
	mc := newCall()
	mc.Criteria = []evaluation.Criterion{{Code: "quality", Name: "Qualità", Weight: 70, MaxScore: 10}, {Code: "network", Name: "Rete", Weight: 30, MaxScore: 10}}
	source, err := pb.calls.CreateDraft(milan, pb.milan, mc)
	if err != nil {
		t.Fatal(err)
	}
	pl, as := pb.evaluatedPilot(t, pb.milan, source.ID, 90_000, nil)
	if _, err = pb.pilots.Change(milan, pb.milan, pl.ID, "decide", "scale", "Funziona: estendere a tutta la città", nil, 0); err != nil {
		t.Fatal(err)
	}
	pr, err := pb.practices.Publish(milan, pb.milan, pl.ID, content())
	if err != nil {
		t.Fatal(err)
	}

	if _, _, err := pb.practices.Replicate(milan, pb.milan, pr.ID, ""); !errors.Is(err, practice.ErrOwnPractice) {
		t.Errorf("Milan replicates its own practice: %v", err)
	}
	if _, _, err := pb.practices.Replicate(bergamo, pb.bergamo, uuid.New(), ""); !errors.Is(err, practice.ErrNotFound) {
		t.Errorf("unknown practice: %v", err)
	}
	rep, rc, err := pb.practices.Replicate(bergamo, pb.bergamo, pr.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if rc.TenantID != pb.bergamo || rc.Status != call.StatusDraft || rc.Title != "Replica: "+pr.Title || !slices.Equal(rc.Criteria, mc.Criteria) ||
		rc.PolicyArea != "elderly" || rc.Summary != pr.Approach {
		t.Errorf("replicated call: %+v", rc)
	}
	if len(rep.Template.Indicators) != 1 || len(rep.Template.Indicators[0].Rules) != 1 || rep.Template.Indicators[0].Rules[0].UnitPriceCents != 5_000 ||
		rep.Template.Indicators[0].Definition.Code != "elderly_alone_home_care" || rep.SourceTenantID != pb.milan {
		t.Errorf("replication: %+v", rep)
	}
	// The call's creation and the replication are audited in Bergamo's trail, in the same transaction.
	trail, err := app.New(pb.store, nil).AuditTrail(bergamo, pb.bergamo, audit.Filter{ObjectID: rc.ID})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, rec := range trail.Items {
		actions = append(actions, rec.Action)
	}
	if slices.Sort(actions); !slices.Equal(actions, []string{"call.created", "practice.replicated"}) {
		t.Errorf("audit of the replicated call: %v", actions)
	}
	// Milan cannot read Bergamo's replication, nor its call.
	if _, err := pb.practices.Replication(milan, pb.milan, rep.ID); !errors.Is(err, practice.ErrReplicationNotFound) {
		t.Errorf("Milan reads Bergamo's replication: %v", err)
	}

	// Editing the replica never changes the source...
	edited := *rc
	edited.Criteria = []evaluation.Criterion{{Code: "quality", Name: "Qualità del progetto", Weight: 50, MaxScore: 20}, {Code: "network", Name: "Rete", Weight: 50, MaxScore: 10}}
	if _, err := pb.calls.UpdateDraft(bergamo, pb.bergamo, rc.ID, edited, rc.Version); err != nil {
		t.Fatal(err)
	}
	if sc, err := pb.calls.Get(milan, pb.milan, source.ID); err != nil || !slices.Equal(sc.Criteria, mc.Criteria) {
		t.Errorf("the source call changed with the replica: %+v %v", sc.Criteria, err)
	}
	pub, err := pb.catalogue.Get(t.Context(), pr.ID)
	if err != nil {
		t.Fatal(err)
	}
	if pub.Template.Criteria[0].Weight != 70 || pub.Template.Criteria[0].MaxScore != 10 {
		t.Errorf("the practice's template changed with the replica: %+v", pub.Template.Criteria)
	}
	// ...and changing the source never changes the replica: a second payment
	// rule in Milan, refreshed into the practice, stays out of Bergamo's copy.
	if _, err := pb.mon.AddRule(milan, pb.milan, as.ID, payment.Rule{Trigger: payment.Threshold, Direction: payment.Increase, ThresholdMilli: 100_000,
		AmountCents: 50_000, CapCents: 50_000, Final: true}); err != nil {
		t.Fatal(err)
	}
	if pr, err = pb.practices.Update(milan, pb.milan, pr.ID, content(), pr.Version); err != nil {
		t.Fatal(err)
	}
	if n := len(pr.Template.Indicators[0].Rules); n != 2 {
		t.Errorf("the source's template has %d rules after the update, want 2", n)
	}
	if got, err := pb.practices.Replication(bergamo, pb.bergamo, rep.ID); err != nil || len(got.Template.Indicators[0].Rules) != 1 {
		t.Errorf("Bergamo's copy changed with the source: %+v %v", got, err)
	}
	if got, err := pb.calls.Get(bergamo, pb.bergamo, rc.ID); err != nil || got.Criteria[0].Weight != 50 || got.Criteria[0].MaxScore != 20 {
		t.Errorf("Bergamo's call changed with the source: %+v %v", got, err)
	}

	// The practice lists its replication; once Bergamo's own pilot, run under
	// the replicated call, is published, its results sit next to Milan's.
	pub, _ = pb.catalogue.Get(t.Context(), pr.ID)
	if len(pub.Replications) != 1 || pub.Replications[0].Municipality.Slug != "bergamo" || pub.Replications[0].ReplicaPracticeID != nil {
		t.Fatalf("replications: %+v", pub.Replications)
	}
	// Bergamo applies its copy of the template to an agreement that follows
	// the replicated call, with its own baseline and targets.
	local := []practice.LocalIndicator{{Code: "elderly_alone_home_care",
		Baseline: impact.Baseline{Value: 25_000, Date: time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC), Source: "SIUSS Bergamo 2026"},
		Targets:  []impact.Target{{Period: "2027-Q4", Value: 60_000}}}}
	bd := pb.draft()
	bd.CallID = rc.ID
	ba, err := pb.agreements.Create(bergamo, pb.bergamo, bd)
	if err != nil {
		t.Fatal(err)
	}
	other, err := pb.agreements.Create(bergamo, pb.bergamo, pb.draft())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := pb.practices.Apply(bergamo, pb.bergamo, rep.ID, other.ID, uuid.Nil, local, false); !errors.Is(err, practice.ErrNotOfReplication) {
		t.Errorf("apply to an agreement of another call: %v", err)
	}
	if _, _, err := pb.practices.Apply(bergamo, pb.bergamo, rep.ID, ba.ID, uuid.Nil, []practice.LocalIndicator{{Code: "homeless_housed"}}, false); !errors.Is(err, practice.ErrNotInTemplate) {
		t.Errorf("apply an indicator outside the template: %v", err)
	}
	if _, _, err := pb.practices.Apply(milan, pb.milan, rep.ID, ba.ID, uuid.Nil, local, false); !errors.Is(err, practice.ErrReplicationNotFound) {
		t.Errorf("Milan applies Bergamo's replication: %v", err)
	}
	// A rule that cannot be added (cap above this agreement's outcome budget) undoes the whole step.
	small := pb.draft()
	small.CallID, small.Budget.OutcomeCents = rc.ID, 100_000
	sa, err := pb.agreements.Create(bergamo, pb.bergamo, small)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := pb.practices.Apply(bergamo, pb.bergamo, rep.ID, sa.ID, uuid.Nil, local, false); domain.KindOf(err) != domain.KindInvalid {
		t.Errorf("rule capped above the outcome budget: %v", err)
	}
	if sum, err := pb.mon.Progress(bergamo, pb.bergamo, sa.ID, uuid.Nil); err != nil || len(sum.Indicators) != 0 {
		t.Errorf("a failed apply left %d assignments: %v", len(sum.Indicators), err)
	}
	if lib, _, err := pb.mon.Library(bergamo, pb.bergamo, monitoring.LibraryFilter{}); err != nil || len(lib) != 0 {
		t.Errorf("a failed apply left %d definitions in the library: %v", len(lib), err)
	}
	assigned, rules, err := pb.practices.Apply(bergamo, pb.bergamo, rep.ID, ba.ID, uuid.Nil, local, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(assigned) != 1 || assigned[0].Weight != 100 || assigned[0].Frequency != "quarterly" || assigned[0].Baseline.Value != 25_000 ||
		len(rules) != 1 || rules[0].BaselineMilli != 25_000 || rules[0].UnitPriceCents != 5_000 || rules[0].AssignmentID != assigned[0].ID {
		t.Errorf("applied: %+v %+v", assigned, rules)
	}
	if lib, _, _ := pb.mon.Library(bergamo, pb.bergamo, monitoring.LibraryFilter{}); len(lib) != 1 || lib[0].Code != "elderly_alone_home_care" || !lib[0].SpecialCategory {
		t.Errorf("Bergamo's library after apply: %+v", lib)
	}

	bpl, _ := pb.evaluatedPilot(t, pb.bergamo, rc.ID, 75_000, nil)
	if _, err = pb.pilots.Change(bergamo, pb.bergamo, bpl.ID, "decide", "iterate", "Risultati parziali: ripetere con più volontari", nil, 0); err != nil {
		t.Fatal(err)
	}
	bc := content()
	bc.Title = "Custodi sociali a Bergamo"
	pb.clk.add(time.Hour) // published after Milan's
	bpr, err := pb.practices.Publish(bergamo, pb.bergamo, bpl.ID, bc)
	if err != nil {
		t.Fatal(err)
	}
	if bpr.ReplicatesID != pr.ID {
		t.Errorf("Bergamo's practice does not name the one it replicated: %v", bpr.ReplicatesID)
	}
	pub, err = pb.catalogue.Get(t.Context(), pr.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r := pub.Replications[0]; r.ReplicaPracticeID == nil || *r.ReplicaPracticeID != bpr.ID || r.Outcome != "iterate" {
		t.Errorf("replication after the replica's publication: %+v", r)
	}
	row := pub.Comparison[0]
	if row.Code != "elderly_alone_home_care" || row.Source.Achieved == nil || *row.Source.Achieved != 90 || len(row.Replicas) != 1 ||
		row.Replicas[0].Achieved == nil || *row.Replicas[0].Achieved != 75 || row.Replicas[0].Municipality.Slug != "bergamo" {
		b, _ := json.Marshal(pub.Comparison)
		t.Errorf("comparison: %s", b)
	}
	// Two practices now, newest first, one page at a time.
	page1, next, err := pb.catalogue.List(t.Context(), practice.PublicFilter{Limit: 1})
	if err != nil || len(page1) != 1 || page1[0].ID != bpr.ID || next == uuid.Nil {
		t.Fatalf("first page: %d %v %v", len(page1), next, err)
	}
	page2, next, err := pb.catalogue.List(t.Context(), practice.PublicFilter{Limit: 1, Before: next})
	if err != nil || len(page2) != 1 || page2[0].ID != pr.ID || next != uuid.Nil {
		t.Errorf("second page: %d %v %v", len(page2), next, err)
	}
	// Withdrawing the replica's practice takes it out of the comparison.
	if _, err := pb.practices.Withdraw(bergamo, pb.bergamo, bpr.ID, bpr.Version); err != nil {
		t.Fatal(err)
	}
	if pub, _ = pb.catalogue.Get(t.Context(), pr.ID); pub.Replications[0].ReplicaPracticeID != nil || len(pub.Comparison[0].Replicas) != 0 {
		t.Errorf("withdrawn replica still compared: %+v", pub.Replications)
	}
}
