package postgres_test

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/adapters/blobfs"
	"github.com/coprod/coprod/adapters/postgres"
	"github.com/coprod/coprod/adapters/postgres/postgrestest"
	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/application"
	"github.com/coprod/coprod/domain/blob"
	"github.com/coprod/coprod/domain/call"
	"github.com/coprod/coprod/domain/organisation"
)

type appBundle struct {
	clock          *clock
	store          *postgres.Store
	calls          *call.Service
	apps           *application.Service
	tenantA, milan uuid.UUID
	c              *call.Call
	coop, aps      *organisation.Organisation
	member         func(org uuid.UUID) domain.Principal
	officer        domain.Principal
	blobs          *blobfs.FS
	blobDir        string
}

func setupApplications(t *testing.T) *appBundle {
	t.Helper()
	db := postgrestest.New(t)
	store := postgres.NewStore(db.App)
	a, b := twoTenants(t, store)
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	blobDir := t.TempDir()
	blobs, err := blobfs.New(blobDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blobs.Close() })
	ab := &appBundle{clock: clk, store: store, calls: call.NewService(store.Calls(), clk.now), apps: application.NewService(store.Applications(), blobs, clk.now),
		tenantA: a, milan: b, blobs: blobs, blobDir: blobDir}
	ab.apps.MaxFileBytes = 1024
	orgs := organisation.NewService(store.Organisations(), nil)
	ab.coop, err = orgs.Register(operatorCtx(t), organisation.Organisation{FiscalCode: "04123456784", LegalName: "Coop", LegalForm: "social_cooperative",
		SeatISTAT: "015146", RUNTS: organisation.RUNTS{Status: "registered", Number: "1", Section: "is", RegisteredOn: time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)}})
	if err != nil {
		t.Fatal(err)
	}
	ab.aps, err = orgs.Register(operatorCtx(t), organisation.Organisation{FiscalCode: "05234567898", LegalName: "APS", LegalForm: "association", SeatISTAT: "016024"})
	if err != nil {
		t.Fatal(err)
	}
	ab.officer = domain.Principal{Subject: "rup", TenantID: b, Roles: []domain.Role{domain.RoleOfficer}}
	ab.member = func(org uuid.UUID) domain.Principal {
		return domain.Principal{Subject: "member-" + org.String()[:8], UserID: uuid.New(), TenantID: b, Orgs: map[uuid.UUID][]domain.Role{org: {domain.RoleOrgMember}}}
	}
	in := newCall()
	in.Eligibility = call.Eligibility{RUNTSRequired: true, Territory: []string{"015146"}}
	ctx := domain.WithPrincipal(t.Context(), ab.officer)
	c, err := ab.calls.CreateDraft(ctx, b, in)
	if err != nil {
		t.Fatal(err)
	}
	in.QuestionsDeadline = clk.now().Add(5 * 24 * time.Hour)
	in.SubmissionDeadline = clk.now().Add(21 * 24 * time.Hour)
	if c, err = ab.calls.UpdateDraft(ctx, b, c.ID, in, c.Version); err != nil {
		t.Fatal(err)
	}
	if ab.c, err = ab.calls.Publish(ctx, b, c.ID, testAct("call"), c.Version); err != nil {
		t.Fatal(err)
	}
	return ab
}

func completeContent(partner uuid.UUID, cofunder uuid.UUID) application.Content {
	return application.Content{
		Partners: []uuid.UUID{partner}, Title: "Vicini di casa",
		Sections: []application.Section{{Key: "problem", Title: "Problema", Body: "Isolamento degli anziani"}},
		Budget: []application.BudgetLine{
			{Description: "Educatori", Category: "staff", AmountCents: 10_000_000, Funding: "public"},
			{Description: "Sede", Category: "premises", AmountCents: 2_000_000, Funding: "cofunding", Kind: "in_kind", OrganisationID: cofunder},
		},
		Declarations: application.Declarations{NoExclusionGrounds: true, TruthfulInformation: true, PrivacyNotice: true},
	}
}

func TestApplicationLifecycle(t *testing.T) {
	t.Parallel()
	ab := setupApplications(t)
	lead := domain.WithPrincipal(t.Context(), ab.member(ab.coop.ID))
	partner := domain.WithPrincipal(t.Context(), ab.member(ab.aps.ID))
	stranger := domain.WithPrincipal(t.Context(), ab.member(uuid.New()))
	officer := domain.WithPrincipal(t.Context(), ab.officer)

	if _, err := ab.apps.Create(partner, ab.milan, ab.c.ID, ab.coop.ID); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("create for an organisation one does not act for: %v", err)
	}
	a, err := ab.apps.Create(lead, ab.milan, ab.c.ID, ab.coop.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Another tenant's id space: not found.
	if _, err := ab.apps.Get(lead, ab.tenantA, a.ID); !errors.Is(err, application.ErrNotFound) {
		t.Errorf("application under another tenant: %v", err)
	}
	// Incomplete: no declarations.
	incomplete := completeContent(ab.aps.ID, ab.aps.ID)
	incomplete.Declarations = application.Declarations{}
	if a, err = ab.apps.Update(lead, ab.milan, a.ID, incomplete, a.Version); err != nil {
		t.Fatal(err)
	}
	if _, err := ab.apps.Submit(lead, ab.milan, a.ID, "", 0); !errors.Is(err, application.ErrIncomplete) {
		t.Errorf("submit without declarations: %v", err)
	}
	if _, err := ab.apps.Update(lead, ab.milan, a.ID, completeContent(ab.aps.ID, ab.aps.ID), 1); !errors.Is(err, domain.ErrStale) {
		t.Errorf("stale update: %v", err)
	}
	if _, err := ab.apps.Update(partner, ab.milan, a.ID, completeContent(ab.aps.ID, ab.aps.ID), 0); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("partner edits the lead's application: %v", err)
	}
	if a, err = ab.apps.Update(lead, ab.milan, a.ID, completeContent(ab.aps.ID, ab.aps.ID), a.Version); err != nil {
		t.Fatal(err)
	}
	// The partner reads it; a stranger does not even see it exists.
	if _, err := ab.apps.Get(partner, ab.milan, a.ID); err != nil {
		t.Errorf("partner reads: %v", err)
	}
	if _, err := ab.apps.Get(stranger, ab.milan, a.ID); !errors.Is(err, application.ErrNotFound) {
		t.Errorf("stranger reads: %v", err)
	}
	if items, _, err := ab.apps.List(stranger, ab.milan, application.Filter{Call: ab.c.ID}); err != nil || len(items) != 0 {
		t.Errorf("stranger lists: %d %v", len(items), err)
	}
	// Attachments: a PDF is stored and hashed; an executable type and an oversize file are refused.
	pdf := []byte("%PDF-1.7\n1 0 obj\n")
	f, err := ab.apps.Attach(lead, ab.milan, a.ID, "../../progetto.pdf", bytes.NewReader(pdf))
	if err != nil || f.Name != "progetto.pdf" || f.ContentType != "application/pdf" || f.Size != int64(len(pdf)) {
		t.Fatalf("attach: %+v %v", f, err)
	}
	if _, err := ab.apps.Attach(lead, ab.milan, a.ID, "x.exe", bytes.NewReader([]byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00"))); !errors.Is(err, blob.ErrTypeNotAllowed) {
		t.Errorf("executable: %v", err)
	}
	if _, err := ab.apps.Attach(lead, ab.milan, a.ID, "big.pdf", bytes.NewReader(append([]byte("%PDF-"), make([]byte, 2000)...))); !errors.Is(err, blob.ErrTooLarge) {
		t.Errorf("oversize: %v", err)
	}
	_, rc, err := ab.apps.Open(partner, ab.milan, a.ID, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, pdf) {
		t.Errorf("downloaded %q", got)
	}
	if _, _, err := ab.apps.Open(stranger, ab.milan, a.ID, f.ID); !errors.Is(err, application.ErrNotFound) {
		t.Errorf("stranger downloads: %v", err)
	}

	// Deadline edges, by the server's clock: one second before is accepted…
	deadline := ab.c.SubmissionDeadline
	ab.clock.t = deadline.Add(-time.Second)
	a, err = ab.apps.Get(lead, ab.milan, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := ab.apps.Submit(lead, ab.milan, a.ID, "key-1", a.Version)
	if err != nil {
		t.Fatalf("submit 1 s before the deadline: %v", err)
	}
	if sub.Receipt == nil || len(sub.Receipt.SHA256) != 64 || !sub.Receipt.SubmittedAt.Equal(deadline.Add(-time.Second)) || sub.Receipt.SHA256 != sub.Digest() {
		t.Errorf("receipt: %+v", sub.Receipt)
	}
	// …a retry with the same key returns the same result and changes nothing.
	again, err := ab.apps.Submit(lead, ab.milan, a.ID, "key-1", 0)
	if err != nil || again.Version != sub.Version || again.Receipt.SHA256 != sub.Receipt.SHA256 {
		t.Errorf("idempotent retry: %+v %v", again, err)
	}
	// A second application, submitted one second after: refused with its code.
	b, err := ab.apps.Create(partner, ab.milan, ab.c.ID, ab.aps.ID)
	if err != nil {
		t.Fatal(err)
	}
	if b, err = ab.apps.Update(partner, ab.milan, b.ID, completeContent(ab.coop.ID, ab.aps.ID), b.Version); err != nil {
		t.Fatal(err)
	}
	ab.clock.t = deadline.Add(time.Second)
	_, err = ab.apps.Submit(partner, ab.milan, b.ID, "", b.Version)
	var de *domain.Error
	if !errors.As(err, &de) || de.Code != "submission_deadline_passed" || domain.KindOf(err) != domain.KindPrecondition {
		t.Errorf("submit 1 s after the deadline: %v", err)
	}
	if got, _ := ab.apps.Get(partner, ab.milan, b.ID); got.Status != application.StatusDraft {
		t.Errorf("refused submission changed the status to %s", got.Status)
	}
	// Admissibility after closing, and the eligibility checks.
	if _, err := ab.apps.Decide(officer, ab.milan, a.ID, "admissible", nil, time.Time{}, 0); !errors.Is(err, application.ErrDecisionTooEarly) {
		t.Errorf("decision while the call is open: %v", err)
	}
	if _, err := ab.calls.Close(officer, ab.milan, ab.c.ID); err != nil {
		t.Fatal(err)
	}
	// Both organisations of the application were told the call closed.
	board := call.NewNoticeBoard(ab.store)
	for _, org := range []uuid.UUID{ab.coop.ID, ab.aps.ID} {
		ns, _, err := board.List(domain.WithPrincipal(t.Context(), ab.member(org)), org, uuid.Nil, 10)
		if err != nil || len(ns) != 1 || ns[0].Kind != "call.closed" || ns[0].CallID != ab.c.ID {
			t.Errorf("notices of %s: %+v %v", org, ns, err)
		}
	}
	if _, _, err := board.List(stranger, ab.coop.ID, uuid.Nil, 10); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("stranger reads notices: %v", err)
	}
	checks, err := ab.apps.Eligibility(officer, ab.milan, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	failed := map[string]bool{}
	for _, c := range checks {
		if !c.Passed {
			failed[c.Organisation.String()+"/"+c.Rule] = true
		}
	}
	// The APS partner is not in RUNTS and sits in Bergamo, outside the territory.
	if len(checks) != 4 || !failed[ab.aps.ID.String()+"/runts_registered"] || !failed[ab.aps.ID.String()+"/territory"] || len(failed) != 2 {
		t.Errorf("eligibility: %+v", checks)
	}
	if _, err := ab.apps.Decide(officer, ab.milan, a.ID, "inadmissible", nil, time.Time{}, 0); !errors.Is(err, application.ErrInvalidDecision) {
		t.Errorf("inadmissible without reasons: %v", err)
	}
	d, err := ab.apps.Decide(officer, ab.milan, a.ID, "integration_requested", []string{"manca il DURC"}, ab.clock.now().Add(48*time.Hour), 0)
	if err != nil || d.Admissibility.Status != "integration_requested" {
		t.Fatalf("integration request: %v", err)
	}
	if _, err := ab.apps.Integrate(lead, ab.milan, a.ID, "DURC allegato"); err != nil {
		t.Errorf("integration reply: %v", err)
	}
	if _, err := ab.apps.Decide(lead, ab.milan, a.ID, "admissible", nil, time.Time{}, 0); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("applicant decides: %v", err)
	}
}
