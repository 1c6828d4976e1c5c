package postgres_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/adapters/postgres"
	"github.com/coprod/coprod/adapters/postgres/postgrestest"
	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/audit"
	"github.com/coprod/coprod/domain/call"
	"github.com/coprod/coprod/domain/evaluation"
	"github.com/coprod/coprod/domain/organisation"
)

func newCall() call.Call {
	now := time.Now().UTC()
	return call.Call{
		Title: "Anziani soli: servizi di prossimità", Summary: "Co-progettazione di servizi per anziani", PolicyArea: "elderly",
		Objectives: []string{"Ridurre l'isolamento"}, DurationMonths: 24,
		Budget:            call.Budget{PublicCents: 50_000_000, MaxPerProjectCents: 25_000_000},
		Criteria:          []evaluation.Criterion{{Code: "quality", Name: "Qualità", Weight: 70, MaxScore: 10}, {Code: "network", Name: "Rete", Weight: 30, MaxScore: 10}},
		QuestionsDeadline: now.Add(10 * 24 * time.Hour), SubmissionDeadline: now.Add(25 * 24 * time.Hour),
	}
}

func testAct(kind string) call.Act {
	return call.Act{Kind: kind, Number: "DD 7/2026", Date: time.Now(), URL: "https://comune.example.it/atti/7"}
}

func TestCallsEndToEnd(t *testing.T) {
	t.Parallel()
	db := postgrestest.New(t)
	store := postgres.NewStore(db.App)
	a, b := twoTenants(t, store) // a: the region, b: Milano
	calls := call.NewService(store.Calls(), nil)
	public := call.NewTransparency(store.PublicCalls())
	officerB := domain.WithPrincipal(t.Context(), domain.Principal{Subject: "rup", TenantID: b, Roles: []domain.Role{domain.RoleOfficer}})
	officerA := domain.WithPrincipal(t.Context(), domain.Principal{Subject: "other", TenantID: a, Roles: []domain.Role{domain.RoleOfficer}})

	c, err := calls.CreateDraft(officerB, b, newCall())
	if err != nil {
		t.Fatal(err)
	}
	// Another tenant's officer sees nothing of it, even by id.
	if _, err := calls.Get(officerA, b, c.ID); !errors.Is(err, call.ErrNotFound) {
		t.Errorf("draft of B read by A's officer: %v", err)
	}
	if _, err := calls.Get(officerA, a, c.ID); !errors.Is(err, call.ErrNotFound) {
		t.Errorf("B's call under A's tenant: %v", err)
	}
	if _, _, err := calls.List(officerA, b, call.Filter{}); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("A lists B's calls: %v", err)
	}
	// Drafts are not public.
	if items, _, _ := public.List(t.Context(), call.PublicFilter{}); len(items) != 0 {
		t.Errorf("a draft is public: %v", items)
	}
	if _, err := calls.Publish(officerB, b, c.ID, testAct("call"), 99); !errors.Is(err, domain.ErrStale) {
		t.Errorf("publish with a stale version: %v", err)
	}
	c, err = calls.Publish(officerB, b, c.ID, testAct("call"), c.Version)
	if err != nil {
		t.Fatal(err)
	}
	items, _, err := public.List(t.Context(), call.PublicFilter{OpenAt: time.Now(), Text: "prossimità"})
	if err != nil || len(items) != 1 || items[0].Tenant.Slug != "milano" || items[0].Tenant.RegionID != a {
		t.Fatalf("public list: %+v %v", items, err)
	}
	if items, _, _ := public.List(t.Context(), call.PublicFilter{RegionID: uuid.New()}); len(items) != 0 {
		t.Errorf("region filter: %d", len(items))
	}
	if items, _, _ := public.List(t.Context(), call.PublicFilter{PolicyArea: "housing"}); len(items) != 0 {
		t.Errorf("policy filter: %d", len(items))
	}

	// An organisation asks; the officer answers and publishes; the FAQ is public.
	orgs := organisation.NewService(store.Organisations(), nil)
	coop, err := orgs.Register(operatorCtx(t), organisation.Organisation{FiscalCode: "04123456784", LegalName: "Coop", LegalForm: "social_cooperative"})
	if err != nil {
		t.Fatal(err)
	}
	member := domain.WithPrincipal(t.Context(), domain.Principal{Subject: "m", UserID: uuid.New(), TenantID: b, Orgs: map[uuid.UUID][]domain.Role{coop.ID: {domain.RoleOrgMember}}})
	if _, err := calls.Ask(member, b, c.ID, uuid.New(), "Per un'altra organisation?"); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("ask for an organisation one does not act for: %v", err)
	}
	q, err := calls.Ask(member, b, c.ID, coop.ID, "Possono partecipare le ATS?")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := calls.Answer(member, b, q.ID, "sì", true); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("member answers: %v", err)
	}
	if _, err := calls.Answer(officerB, b, q.ID, "Sì, con un capofila.", true); err != nil {
		t.Fatal(err)
	}
	pc, err := public.Get(t.Context(), c.ID)
	if err != nil || len(pc.FAQ) != 1 || pc.FAQ[0].Answer != "Sì, con un capofila." {
		t.Errorf("public FAQ: %+v %v", pc, err)
	}

	// Amendment: deadline extension, versioned and public.
	later := c.SubmissionDeadline.Add(7 * 24 * time.Hour)
	c, err = calls.Amend(officerB, b, c.ID, call.AmendInput{Reason: "proroga", Act: testAct("amendment"), SubmissionDeadline: &later}, c.Version)
	if err != nil {
		t.Fatal(err)
	}
	pc, _ = public.Get(t.Context(), c.ID)
	if pc.RulesVersion != 2 || len(pc.Amendments) != 1 || !pc.SubmissionDeadline.Equal(later) {
		t.Errorf("public call after amendment: %+v", pc)
	}
	// Every change is in the audit trail.
	var actions []string
	err = store.Calls().Atomic(t.Context(), b, func(tx call.Tx) error {
		recs, err := tx.Audit().List(t.Context(), audit.Filter{ObjectID: c.ID, Limit: 50})
		for _, r := range recs {
			actions = append(actions, r.Action)
		}
		return err
	})
	if err != nil || len(actions) != 3 || actions[0] != "call.amended" || actions[2] != "call.created" {
		t.Errorf("call's audit trail: %v %v", actions, err)
	}
	// Cancelling needs a reason and its act; then it is still public, as cancelled.
	if _, err := calls.Cancel(officerB, b, c.ID, "", nil, c.Version); !errors.Is(err, call.ErrInvalidReason) {
		t.Errorf("cancel without reason: %v", err)
	}
	ca := testAct("cancellation")
	if c, err = calls.Cancel(officerB, b, c.ID, "fondi revocati", &ca, c.Version); err != nil {
		t.Fatal(err)
	}
	pc, _ = public.Get(t.Context(), c.ID)
	if pc.Status != call.StatusCancelled || pc.CancelReason != "fondi revocati" {
		t.Errorf("cancelled call in public: %+v", pc)
	}
	if items, _, _ := public.List(t.Context(), call.PublicFilter{OpenAt: time.Now()}); len(items) != 0 {
		t.Errorf("a cancelled call is listed as open")
	}
}
