package postgres_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/adapters/postgres"
	"github.com/coprod/coprod/adapters/postgres/postgrestest"
	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/application"
	"github.com/coprod/coprod/domain/call"
	"github.com/coprod/coprod/domain/codesign"
	"github.com/coprod/coprod/domain/committee"
	"github.com/coprod/coprod/domain/evaluation"
	"github.com/coprod/coprod/domain/identity"
	"github.com/coprod/coprod/domain/opendata"
	"github.com/coprod/coprod/domain/organisation"
)

func TestEvaluationAndRanking(t *testing.T) {
	t.Parallel()
	db := postgrestest.New(t)
	store := postgres.NewStore(db.App)
	_, milan := twoTenants(t, store)
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	calls := call.NewService(store.Calls(), clk.now)
	apps := application.NewService(store.Applications(), nil, clk.now)
	comm := committee.NewService(store.Committee(), clk.now)
	public := call.NewTransparency(store.PublicCalls())
	sealer, _ := postgres.NewSealer(make([]byte, 32))
	ids := identity.NewService(store.Identity(sealer), fixedDiscoverer{}, clk.now, identity.Config{})
	orgs := organisation.NewService(store.Organisations(), nil)
	op := operatorCtx(t)

	officer := domain.WithPrincipal(t.Context(), domain.Principal{Subject: "rup", TenantID: milan, Roles: []domain.Role{domain.RoleOfficer}})
	in := newCall()
	in.PassThresholdBP = 6000
	c, err := calls.CreateDraft(officer, milan, in)
	if err != nil {
		t.Fatal(err)
	}
	if c, err = calls.Publish(officer, milan, c.ID, testAct("call"), c.Version); err != nil {
		t.Fatal(err)
	}
	// Three organisations apply.
	var appIDs []uuid.UUID
	var orgIDs []uuid.UUID
	for i, fc := range []string{"04123456784", "05234567898", "06345678905"} {
		o, err := orgs.Register(op, organisation.Organisation{FiscalCode: fc, LegalName: []string{"Alfa", "Beta", "Gamma"}[i], LegalForm: "association"})
		if err != nil {
			t.Fatal(err)
		}
		orgIDs = append(orgIDs, o.ID)
		m := domain.WithPrincipal(t.Context(), domain.Principal{Subject: "m" + fc, UserID: uuid.New(), TenantID: milan, Orgs: map[uuid.UUID][]domain.Role{o.ID: {domain.RoleOrgAdmin}}})
		a, err := apps.Create(m, milan, c.ID, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		content := completeContent(uuid.Nil, o.ID)
		content.Partners = nil
		if a, err = apps.Update(m, milan, a.ID, content, a.Version); err != nil {
			t.Fatal(err)
		}
		clk.add(time.Minute)
		if _, err = apps.Submit(m, milan, a.ID, "", a.Version); err != nil {
			t.Fatal(err)
		}
		appIDs = append(appIDs, a.ID)
	}
	clk.t = c.SubmissionDeadline.Add(time.Second)
	if _, err := calls.Close(officer, milan, c.ID); err != nil {
		t.Fatal(err)
	}
	for _, id := range appIDs {
		if _, err := apps.Decide(officer, milan, id, "admissible", nil, time.Time{}, 0); err != nil {
			t.Fatal(err)
		}
	}
	c, _ = calls.Get(officer, milan, c.ID)
	if c, err = calls.StartEvaluation(officer, milan, c.ID, testAct("committee"), c.Version); err != nil {
		t.Fatal(err)
	}
	// Two evaluators; the second belongs to Gamma (the third applicant).
	var evals []domain.Principal
	for i, sub := range []string{"eva", "ugo"} {
		u, err := ids.Provision(op, identity.Identity{Issuer: "https://idp.milano.example", Subject: sub})
		if err != nil {
			t.Fatal(err)
		}
		var affiliations []uuid.UUID
		if i == 1 {
			affiliations = []uuid.UUID{orgIDs[2]}
		}
		if _, err := comm.Appoint(officer, milan, c.ID, u.ID, "member", affiliations); err != nil {
			t.Fatal(err)
		}
		evals = append(evals, domain.Principal{Subject: u.ID.String(), UserID: u.ID, TenantID: milan, Roles: []domain.Role{domain.RoleEvaluator}})
	}
	eva, ugo := domain.WithPrincipal(t.Context(), evals[0]), domain.WithPrincipal(t.Context(), evals[1])

	// Before declaring, an evaluator cannot read the application.
	if _, err := apps.Get(eva, milan, appIDs[0]); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("evaluator reads before declaring: %v", err)
	}
	if _, err := comm.Score(eva, milan, appIDs[0], nil, false); !errors.Is(err, committee.ErrNoDeclaration) {
		t.Errorf("score before declaring: %v", err)
	}
	score := func(ctx_ domain.Principal, app uuid.UUID, q, n int) {
		t.Helper()
		ctx := domain.WithPrincipal(t.Context(), ctx_)
		if _, err := comm.Declare(ctx, milan, app, evaluation.NoConflict); err != nil {
			t.Fatalf("declare: %v", err)
		}
		if _, err := comm.Score(ctx, milan, app, []evaluation.Score{{Criterion: "quality", Value: q, Rationale: "buona"}, {Criterion: "network", Value: n, Rationale: "ampia"}}, true); err != nil {
			t.Fatalf("score: %v", err)
		}
	}
	score(evals[0], appIDs[0], 9, 8) // 0.7*90 + 0.3*80 = 87
	score(evals[0], appIDs[1], 5, 5) // 50
	score(evals[0], appIDs[2], 9, 8)
	if _, err := apps.Get(eva, milan, appIDs[0]); err != nil {
		t.Errorf("evaluator reads after declaring: %v", err)
	}
	score(evals[1], appIDs[0], 7, 8) // 73
	score(evals[1], appIDs[1], 6, 6) // 60
	// Ugo belongs to Gamma: recused automatically, whatever he declares.
	if d, err := comm.Declare(ugo, milan, appIDs[2], evaluation.NoConflict); !errors.Is(err, committee.ErrRecused) || d != committee.Recused {
		t.Errorf("affiliated evaluator: %s %v", d, err)
	}
	if _, err := apps.Get(ugo, milan, appIDs[2]); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("recused evaluator reads: %v", err)
	}
	if _, err := comm.Score(ugo, milan, appIDs[2], nil, true); !errors.Is(err, committee.ErrRecused) {
		t.Errorf("recused evaluator scores: %v", err)
	}
	if _, err := comm.Declare(eva, milan, appIDs[0], evaluation.Abstain); !errors.Is(err, committee.ErrAlreadyDeclared) {
		t.Errorf("changing a declaration: %v", err)
	}
	// Preview, then publish with the act.
	preview, err := comm.Ranking(officer, milan, c.ID, false, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		app uuid.UUID
		bp  int64
		ok  bool
	}{{appIDs[2], 8700, true}, {appIDs[0], 8000, true}, {appIDs[1], 5500, false}}
	if len(preview) != 3 {
		t.Fatalf("ranking: %+v", preview)
	}
	for i, w := range want {
		e := preview[i]
		if e.Application != w.app || e.ScoreBP != w.bp || e.Admitted != w.ok || e.Position != i+1 {
			t.Errorf("position %d: %+v, want %+v", i+1, e.Entry, w)
		}
	}
	if _, err := comm.Ranking(eva, milan, c.ID, true, nil, 0); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("evaluator publishes: %v", err)
	}
	ra := testAct("ranking")
	if _, err := comm.Ranking(officer, milan, c.ID, true, &ra, 0); err != nil {
		t.Fatal(err)
	}
	// Published once: a second publication, with the same act or another,
	// is refused and notifies nobody, records nothing.
	written := func() (n int) {
		t.Helper()
		if err := db.Owner.QueryRow(t.Context(), `SELECT (SELECT count(*) FROM audit_events) + (SELECT count(*) FROM organisation_notices)`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := written()
	if before < 2 {
		t.Fatalf("the publication wrote %d audit records and notices", before)
	}
	again := testAct("ranking")
	again.Number = "DD 99/2026"
	for _, act := range []call.Act{ra, again} {
		if _, err := comm.Ranking(officer, milan, c.ID, true, &act, 0); !errors.Is(err, committee.ErrRankingPublished) {
			t.Errorf("publishing the ranking again (act %s): %v", act.Number, err)
		}
	}
	if after := written(); after != before {
		t.Errorf("a second publication wrote %d audit records or notices", after-before)
	}
	if got, err := comm.Ranking(officer, milan, c.ID, false, nil, 0); err != nil || len(got) != 3 {
		t.Errorf("the published ranking, read: %+v %v", got, err)
	}
	pc, err := public.Get(t.Context(), c.ID)
	if err != nil || pc.Status != call.StatusRanked || len(pc.Ranking) != 3 || pc.Ranking[0].LeadOrganisation != "Gamma" || pc.Ranking[0].Score != 87 || pc.Ranking[2].Admitted {
		t.Errorf("public ranking: %+v %v", pc.Ranking, err)
	}

	// Open data: the ranked applicants are the tender's tenderers, the two
	// admitted ones awards (admission to the co-design table).
	rel, err := opendata.NewService(store.OpenData(), opendata.Config{}, nil).Releases(t.Context(), milan)
	if err != nil || len(rel.Releases) != 1 {
		t.Fatalf("OCDS: %+v %v", rel, err)
	}
	if r := rel.Releases[0]; r.Tender.NumberOfTenderers != 3 || len(r.Awards) != 2 || r.Awards[0].Suppliers[0].Name != "Gamma" ||
		r.Awards[0].ID != "admission-"+appIDs[2].String() || len(r.Parties) != 4 {
		t.Errorf("OCDS release of the ranked call: %+v", r)
	}

	// The co-design table: the two admitted organisations (Gamma, Alfa), not Beta.
	cd := codesign.NewService(store.Codesign(), clk.now)
	table, err := cd.Convene(officer, milan, c.ID)
	if err != nil || len(table.Participants) != 2 || slices.Contains(table.Participants, orgIDs[1]) {
		t.Fatalf("convene: %+v %v", table, err)
	}
	if _, err := cd.Convene(officer, milan, c.ID); !errors.Is(err, codesign.ErrAlreadyConvened) {
		t.Errorf("convene twice: %v", err)
	}
	alfa := domain.WithPrincipal(t.Context(), domain.Principal{Subject: "alfa", UserID: uuid.New(), TenantID: milan, Orgs: map[uuid.UUID][]domain.Role{orgIDs[0]: {domain.RoleOrgMember}}})
	beta := domain.WithPrincipal(t.Context(), domain.Principal{Subject: "beta", UserID: uuid.New(), TenantID: milan, Orgs: map[uuid.UUID][]domain.Role{orgIDs[1]: {domain.RoleOrgMember}}})
	if _, err := cd.RecordSession(officer, milan, c.ID, codesign.Session{Date: clk.now(), Minutes: "Prima sessione", Decisions: []string{"Due sedi"},
		Attendees: []codesign.Attendee{{Name: "Marco", Role: "RUP"}, {OrganisationID: orgIDs[0], Name: "Chiara", Role: "presidente"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cd.RecordSession(officer, milan, c.ID, codesign.Session{Date: clk.now(), Minutes: "x",
		Attendees: []codesign.Attendee{{OrganisationID: orgIDs[1], Name: "Intruso", Role: "x"}}}); err == nil {
		t.Error("an attendee of an organisation not at the table")
	}
	v1, err := cd.AddVersion(alfa, milan, c.ID, "Progetto v1")
	if err != nil || v1.Number != 1 || len(v1.ContentHash) != 64 {
		t.Fatalf("version 1: %+v %v", v1, err)
	}
	if _, err := cd.AddVersion(beta, milan, c.ID, "Progetto di Beta"); !errors.Is(err, codesign.ErrNotFound) {
		t.Errorf("a non-admitted organisation adds a version: %v", err)
	}
	v2, _ := cd.AddVersion(officer, milan, c.ID, "Progetto v2")
	if _, err := cd.Approve(officer, milan, c.ID, v2.ID, testAct("call"), 0); !errors.Is(err, call.ErrActRequired) {
		t.Errorf("approve without a decision act: %v", err)
	}
	if table, err = cd.Approve(officer, milan, c.ID, v2.ID, testAct("decision"), 0); err != nil || table.Status != "approved" || table.ApprovedVersion != v2.ID {
		t.Fatalf("approve: %+v %v", table, err)
	}
	if _, err := cd.AddVersion(officer, milan, c.ID, "v3"); !errors.Is(err, codesign.ErrClosed) {
		t.Errorf("a version after approval: %v", err)
	}
	_, sessions, versions, err := cd.Get(alfa, milan, c.ID)
	if err != nil || len(sessions) != 1 || len(versions) != 2 || sessions[0].Attendees[1].Name != "Chiara" {
		t.Errorf("table seen by a participant: %v %v %v", sessions, versions, err)
	}
	if _, _, _, err := cd.Get(beta, milan, c.ID); !errors.Is(err, codesign.ErrNotFound) {
		t.Errorf("table seen by a non-participant: %v", err)
	}
}
