package postgres_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/adapters/postgres"
	"github.com/coprod/coprod/adapters/postgres/postgrestest"
	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/agreement"
	"github.com/coprod/coprod/domain/organisation"
	"github.com/coprod/coprod/domain/pilot"
)

type agreementBundle struct {
	agreements *agreement.Service
	pilots     *pilot.Service
	store      *postgres.Store
	region     uuid.UUID
	milan      uuid.UUID
	lead, part *organisation.Organisation
	officer    domain.Principal
	adminOf    func(org uuid.UUID) domain.Principal
}

func setupAgreements(t *testing.T) *agreementBundle {
	t.Helper()
	db := postgrestest.New(t)
	store := postgres.NewStore(db.App)
	a, b := twoTenants(t, store)
	orgs := organisation.NewService(store.Organisations(), nil)
	lead, err := orgs.Register(operatorCtx(t), organisation.Organisation{FiscalCode: "04123456784", LegalName: "Coop", LegalForm: "social_cooperative"})
	if err != nil {
		t.Fatal(err)
	}
	part, err := orgs.Register(operatorCtx(t), organisation.Organisation{FiscalCode: "05234567898", LegalName: "APS", LegalForm: "association"})
	if err != nil {
		t.Fatal(err)
	}
	return &agreementBundle{
		agreements: agreement.NewService(store.Agreements(), nil), pilots: pilot.NewService(store.Pilots(), nil), store: store,
		region: a, milan: b, lead: lead, part: part,
		officer: domain.Principal{Subject: "rup", TenantID: b, Roles: []domain.Role{domain.RoleOfficer}},
		adminOf: func(org uuid.UUID) domain.Principal {
			return domain.Principal{Subject: "admin-" + org.String()[:6], UserID: uuid.New(), TenantID: b, Orgs: map[uuid.UUID][]domain.Role{org: {domain.RoleOrgAdmin}}}
		},
	}
}

func (ab *agreementBundle) draft() agreement.Agreement {
	start := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	return agreement.Agreement{
		Title: "Convenzione anziani soli", Objectives: []string{"Ridurre l'isolamento"}, Obligations: []string{"Rendicontare ogni trimestre"},
		Parties: []agreement.Party{{OrganisationID: ab.lead.ID, Role: "lead", BudgetShareCents: 30_000_000}, {OrganisationID: ab.part.ID, Role: "partner", BudgetShareCents: 10_000_000}},
		Start:   start, End: start.AddDate(2, 0, 0), PaymentMode: "mixed",
		Budget:   agreement.Budget{PublicCents: 40_000_000, OutcomeCents: 10_000_000, CofundingInKindCents: 5_000_000},
		Schedule: []agreement.Instalment{{Label: "anticipo", Percent: 30}, {Label: "intermedio", Percent: 30}, {Label: "saldo", Percent: 40}},
	}
}

func TestAgreementLifecycle(t *testing.T) {
	t.Parallel()
	ab := setupAgreements(t)
	officer := domain.WithPrincipal(t.Context(), ab.officer)
	leadAdmin := domain.WithPrincipal(t.Context(), ab.adminOf(ab.lead.ID))
	partAdmin := domain.WithPrincipal(t.Context(), ab.adminOf(ab.part.ID))
	stranger := domain.WithPrincipal(t.Context(), ab.adminOf(uuid.New()))

	bad := ab.draft()
	bad.Schedule = []agreement.Instalment{{Label: "a", Percent: 30}, {Label: "b", Percent: 30}}
	if _, err := ab.agreements.Create(officer, ab.milan, bad); !errors.Is(err, agreement.ErrSchedule) {
		t.Errorf("schedule not summing to 100: %v", err)
	}
	bad = ab.draft()
	bad.Parties[0].BudgetShareCents = 40_000_001
	if _, err := ab.agreements.Create(officer, ab.milan, bad); !errors.Is(err, agreement.ErrParties) {
		t.Errorf("shares over the public contribution: %v", err)
	}
	if _, err := ab.agreements.Create(leadAdmin, ab.milan, ab.draft()); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("an organisation drafts: %v", err)
	}
	a, err := ab.agreements.Create(officer, ab.milan, ab.draft())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ab.agreements.Get(stranger, ab.milan, a.ID); !errors.Is(err, agreement.ErrNotFound) {
		t.Errorf("a stranger reads: %v", err)
	}
	if _, err := ab.agreements.Get(partAdmin, ab.milan, a.ID); err != nil {
		t.Errorf("a party reads: %v", err)
	}
	if _, err := ab.agreements.Get(domain.WithPrincipal(t.Context(), domain.Principal{Subject: "x", TenantID: ab.region, Roles: []domain.Role{domain.RoleOfficer}}), ab.region, a.ID); !errors.Is(err, agreement.ErrNotFound) {
		t.Errorf("another tenant's officer: %v", err)
	}
	// Signatures: the officer and every party's org admin; then it is signed.
	if a, err = ab.agreements.Sign(officer, ab.milan, a.ID, uuid.Nil, a.Version); err != nil || a.Status != agreement.StatusDraft {
		t.Fatalf("officer signs: %v %s", err, a.Status)
	}
	if _, err := ab.agreements.Sign(leadAdmin, ab.milan, a.ID, ab.part.ID, 0); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("lead signs for the partner: %v", err)
	}
	if a, err = ab.agreements.Sign(leadAdmin, ab.milan, a.ID, ab.lead.ID, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := ab.agreements.Sign(leadAdmin, ab.milan, a.ID, ab.lead.ID, 0); !errors.Is(err, agreement.ErrAlreadySigned) {
		t.Errorf("signing twice: %v", err)
	}
	if a, err = ab.agreements.Sign(partAdmin, ab.milan, a.ID, ab.part.ID, 0); err != nil || a.Status != agreement.StatusSigned {
		t.Fatalf("last signature: %v %s", err, a.Status)
	}
	if _, err := ab.agreements.Update(officer, ab.milan, a.ID, ab.draft(), 0); !errors.Is(err, agreement.ErrNotDraft) {
		t.Errorf("edit a signed agreement: %v", err)
	}
	if a, err = ab.agreements.Transition(officer, ab.milan, a.ID, "activate", "", a.Version); err != nil {
		t.Fatal(err)
	}
	if _, err := ab.agreements.Transition(officer, ab.milan, a.ID, "suspend", "", 0); !errors.Is(err, agreement.ErrReasonRequired) {
		t.Errorf("suspend without reason: %v", err)
	}
	// A versioned amendment extends the end date.
	next := agreement.Agreement{End: a.End.AddDate(0, 6, 0)}
	if a, err = ab.agreements.Amend(officer, ab.milan, a.ID, next, "proroga di sei mesi", a.Version); err != nil || len(a.Amendments) != 1 || a.Amendments[0].Version != 2 {
		t.Fatalf("amend: %v %+v", err, a.Amendments)
	}
	// Deliverables: the party submits, the officer reviews.
	d, err := ab.agreements.AddDeliverable(officer, ab.milan, a.ID, "Relazione trimestrale", time.Date(2027, 4, 15, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ab.agreements.MoveDeliverable(officer, ab.milan, d.ID, "submitted", "", 0); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("officer submits for the party: %v", err)
	}
	for _, step := range []struct {
		who  domain.Principal
		to   string
		note string
	}{{ab.adminOf(ab.lead.ID), "submitted", "in allegato"}, {ab.officer, "in_review", ""}, {ab.officer, "rejected", "manca il rendiconto"},
		{ab.adminOf(ab.part.ID), "submitted", "integrata"}, {ab.officer, "in_review", ""}, {ab.officer, "approved", ""}} {
		if d, err = ab.agreements.MoveDeliverable(domain.WithPrincipal(t.Context(), step.who), ab.milan, d.ID, step.to, step.note, 0); err != nil {
			t.Fatalf("deliverable → %s: %v", step.to, err)
		}
	}
	if _, err := ab.agreements.MoveDeliverable(officer, ab.milan, d.ID, "rejected", "x", 0); !errors.Is(err, agreement.ErrDeliverable) {
		t.Errorf("approved → rejected: %v", err)
	}

	// A pilot inside it: designed → running → evaluating → decided (scale, with a follow-up agreement).
	pl, err := ab.pilots.Create(officer, ab.milan, a.ID, pilot.Pilot{Title: "Custodi di quartiere", Hypothesis: "Un custode riduce gli accessi al PS",
		SiteISTAT: "015146", Neighbourhood: "Corvetto", CohortSize: 120, Start: a.Start, End: a.Start.AddDate(0, 9, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ab.pilots.Change(officer, ab.milan, pl.ID, "decide", "scale", "ok", nil, 0); !errors.Is(err, pilot.ErrTransition) {
		t.Errorf("decide a designed pilot: %v", err)
	}
	for _, step := range []string{"start", "evaluate"} {
		if pl, err = ab.pilots.Change(officer, ab.milan, pl.ID, step, "", "", nil, 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ab.pilots.Change(officer, ab.milan, pl.ID, "decide", "stop", "non funziona", &pilot.FollowUp{Kind: "call", ID: uuid.New()}, 0); !errors.Is(err, pilot.ErrDecision) {
		t.Errorf("stop with a follow-up: %v", err)
	}
	if pl, err = ab.pilots.Change(officer, ab.milan, pl.ID, "decide", "scale", "riduzione del 20%", &pilot.FollowUp{Kind: "agreement", ID: a.ID}, pl.Version); err != nil || pl.Status != pilot.StatusDecided {
		t.Fatalf("decide: %v", err)
	}
	if _, err := ab.pilots.Get(stranger, ab.milan, pl.ID); !errors.Is(err, pilot.ErrNotFound) {
		t.Errorf("stranger reads the pilot: %v", err)
	}
	if got, err := ab.pilots.For(partAdmin, ab.milan, a.ID); err != nil || len(got) != 1 || got[0].FollowUp.ID != a.ID {
		t.Errorf("pilots of the agreement: %v %v", got, err)
	}
}
