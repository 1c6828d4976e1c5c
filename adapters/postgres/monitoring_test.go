package postgres_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/agreement"
	"github.com/coprod/coprod/domain/impact"
	"github.com/coprod/coprod/domain/monitoring"
	"github.com/coprod/coprod/domain/payment"
	"github.com/coprod/coprod/domain/pilot"
)

func TestMonitoringAndOutcomePayments(t *testing.T) {
	t.Parallel()
	ab := setupAgreements(t)
	clk := &clock{t: time.Date(2027, 5, 1, 9, 0, 0, 0, time.UTC)}
	mon := monitoring.NewService(ab.store.Monitoring(), clk.now)
	officer := domain.WithPrincipal(t.Context(), ab.officer)
	party := domain.WithPrincipal(t.Context(), ab.adminOf(ab.lead.ID))
	stranger := domain.WithPrincipal(t.Context(), ab.adminOf(uuid.New()))

	// An active, mixed agreement with €100,000 for outcomes.
	a, err := ab.agreements.Create(officer, ab.milan, ab.draft())
	if err != nil {
		t.Fatal(err)
	}
	for _, org := range []uuid.UUID{uuid.Nil, ab.lead.ID, ab.part.ID} {
		who := officer
		if org != uuid.Nil {
			who = domain.WithPrincipal(t.Context(), ab.adminOf(org))
		}
		if a, err = ab.agreements.Sign(who, ab.milan, a.ID, org, 0); err != nil {
			t.Fatal(err)
		}
	}
	if a, err = ab.agreements.Transition(officer, ab.milan, a.ID, "activate", "", 0); err != nil {
		t.Fatal(err)
	}
	if n, err := mon.SeedLibrary(officer, ab.milan); err != nil || n < 18 {
		t.Fatalf("seed library: %d %v", n, err)
	}
	if n, _ := mon.SeedLibrary(officer, ab.milan); n != 0 {
		t.Errorf("second seed added %d", n)
	}
	// Elderly living alone reached by home care: baseline 40, target 100 by 2027-Q4.
	as, err := mon.Assign(officer, ab.milan, a.ID, uuid.Nil, impact.Assignment{Indicator: "elderly_alone_home_care", Weight: 100,
		Baseline: impact.Baseline{Value: 40_000, Date: time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC), Source: "SIUSS 2026"},
		Targets:  []impact.Target{{Period: "2027-Q2", Value: 70_000}, {Period: "2027-Q4", Value: 100_000}}})
	if err != nil {
		t.Fatal(err)
	}
	// €50 per person beyond the baseline, capped at €2,000.
	rule, err := mon.AddRule(officer, ab.milan, as.ID, payment.Rule{Trigger: payment.PerUnit, Direction: payment.Increase, BaselineMilli: 40_000,
		UnitPriceCents: 5_000, CapCents: 200_000})
	if err != nil {
		t.Fatal(err)
	}
	_ = rule
	if _, err := mon.Submit(stranger, ab.milan, as.ID, monitoring.SubmitInput{Period: "2027-Q2", Value: 60_000}); !errors.Is(err, monitoring.ErrAssignmentNotFound) {
		t.Errorf("stranger submits: %v", err)
	}
	if _, err := mon.Submit(party, ab.milan, as.ID, monitoring.SubmitInput{Period: "2027-05", Value: 60_000}); !errors.Is(err, monitoring.ErrInvalidPeriod) {
		t.Errorf("monthly period on a quarterly indicator: %v", err)
	}
	people := []impact.PeopleCount{{AgeBand: "75+", Gender: "female", Vulnerability: "elderly_alone", Count: 12}}
	m, err := mon.Submit(party, ab.milan, as.ID, monitoring.SubmitInput{Period: "2027-Q2", Value: 60_000, People: people, Evidence: "PAI e fogli firma"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mon.Submit(party, ab.milan, as.ID, monitoring.SubmitInput{Period: "2027-Q2", Value: 61_000}); !errors.Is(err, monitoring.ErrPeriodTaken) {
		t.Errorf("same period twice: %v", err)
	}
	// Four eyes: an officer who submitted it may not verify it.
	sameOfficer := domain.WithPrincipal(t.Context(), domain.Principal{Subject: m.SubmittedBy, TenantID: ab.milan, Roles: []domain.Role{domain.RoleOfficer}})
	if _, _, err := mon.Decide(sameOfficer, ab.milan, m.ID, "verified", "", 0); err == nil || domain.KindOf(err) != domain.KindForbidden {
		t.Errorf("the submitter verifies: %v", err)
	}
	if _, _, err := mon.Decide(party, ab.milan, m.ID, "verified", "", 0); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("a party verifies: %v", err)
	}
	m, pays, err := mon.Decide(officer, ab.milan, m.ID, "verified", "", m.Version)
	if err != nil {
		t.Fatal(err)
	}
	// 20 people beyond the baseline × €50 = €1,000, computed in the verification's transaction.
	if m.Status != "locked" || len(pays) != 1 || pays[0].Cents != 100_000 || pays[0].Status != payment.Computed {
		t.Fatalf("verified: %s %+v", m.Status, pays)
	}
	if _, _, err := mon.Decide(officer, ab.milan, m.ID, "rejected", "sbagliato", 0); !errors.Is(err, monitoring.ErrLocked) {
		t.Errorf("a locked measurement changes: %v", err)
	}
	// A correction is a new revision with a reason; verifying it pays nothing twice for the same period.
	m2, err := mon.Correct(party, ab.milan, m.ID, monitoring.SubmitInput{Value: 65_000, People: people, Evidence: "PAI rivisti"}, "conteggio rivisto")
	if err != nil || m2.Revision != 2 {
		t.Fatalf("correct: %+v %v", m2, err)
	}
	if _, pays, err = mon.Decide(officer, ab.milan, m2.ID, "verified", "", 0); err != nil || len(pays) != 0 {
		t.Errorf("verify the correction: %+v %v", pays, err)
	}
	// Only the latest revision of a period is corrected.
	if _, err := mon.Correct(party, ab.milan, m.ID, monitoring.SubmitInput{Value: 66_000, Evidence: "PAI"}, "di nuovo"); !errors.Is(err, monitoring.ErrStep) {
		t.Errorf("an earlier revision was corrected: %v", err)
	}
	// Q4: 150 people → 110 beyond the baseline is €5,500, but the cap leaves €1,000 more.
	clk.t = time.Date(2027, 12, 1, 0, 0, 0, 0, time.UTC)
	m4, err := mon.Submit(party, ab.milan, as.ID, monitoring.SubmitInput{Period: "2027-Q4", Value: 150_000, Evidence: "registro"})
	if err != nil {
		t.Fatal(err)
	}
	_, pays, err = mon.Decide(officer, ab.milan, m4.ID, "verified", "", 0)
	if err != nil || len(pays) != 1 || pays[0].Cents != 100_000 {
		t.Fatalf("capped payment: %+v %v", pays, err)
	}
	all, err := mon.Payments(party, ab.milan, a.ID)
	var total int64
	for _, p := range all {
		total += p.Cents
	}
	if err != nil || total != 200_000 {
		t.Errorf("payments total %d (cap 200000): %v", total, err)
	}
	// Approve with the act, then pay; withholding a paid one is refused.
	py := all[0]
	if py, err = mon.MovePayment(officer, ab.milan, py.ID, payment.Approved, "DD 99/2027", py.Version); err != nil {
		t.Fatal(err)
	}
	if py, err = mon.MovePayment(officer, ab.milan, py.ID, payment.Paid, "mandato 1234", py.Version); err != nil {
		t.Fatal(err)
	}
	if _, err := mon.MovePayment(officer, ab.milan, py.ID, payment.Withheld, "ripensamento", 0); err == nil {
		t.Error("a paid payment was withheld")
	}
	if _, err := mon.MovePayment(party, ab.milan, all[1].ID, payment.Approved, "x", 0); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("a party approves: %v", err)
	}
	// Progress: latest verified 150 against the Q4 target 100 from baseline 40 → capped at 200% (20000 bp)? no: 110/60 → 18333 bp.
	sum, err := mon.Progress(officer, ab.milan, a.ID, uuid.Nil)
	if err != nil || len(sum.Indicators) != 1 {
		t.Fatalf("progress: %+v %v", sum, err)
	}
	ip := sum.Indicators[0]
	if ip.LatestPeriod != "2027-Q4" || ip.ProgressBP != 18333 || ip.Status != "on_track" || sum.ProgressBP != 18333 {
		t.Errorf("progress: %+v", ip)
	}
	// An agreement the caller may not see answers as one that does not
	// exist: the agreement's not-found, not an assignment's.
	if _, err := mon.Progress(stranger, ab.milan, a.ID, uuid.Nil); !errors.Is(err, agreement.ErrNotFound) {
		t.Errorf("a stranger reads the progress: %v", err)
	}
	if _, err := mon.Progress(officer, ab.milan, uuid.New(), uuid.Nil); !errors.Is(err, agreement.ErrNotFound) {
		t.Errorf("progress of no agreement: %v", err)
	}
	// Reporting stops when the agreement is suspended.
	if _, err := ab.agreements.Transition(officer, ab.milan, a.ID, "suspend", "verifica in corso", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := mon.Submit(party, ab.milan, as.ID, monitoring.SubmitInput{Period: "2027-Q3", Value: 1}); !errors.Is(err, monitoring.ErrAgreementNotLive) {
		t.Errorf("submit while suspended: %v", err)
	}
	_ = agreement.StatusActive
}

// An indicator is assigned once to an agreement, and once to each of its
// pilots: a second assignment is a conflict that writes nothing, also when
// the assignments race.
func TestIndicatorAssignedOnce(t *testing.T) {
	t.Parallel()
	ab := setupAgreements(t)
	clk := &clock{t: time.Date(2027, 5, 1, 9, 0, 0, 0, time.UTC)}
	mon := monitoring.NewService(ab.store.Monitoring(), clk.now)
	officer := domain.WithPrincipal(t.Context(), ab.officer)
	a, err := ab.agreements.Create(officer, ab.milan, ab.draft())
	if err != nil {
		t.Fatal(err)
	}
	for _, org := range []uuid.UUID{uuid.Nil, ab.lead.ID, ab.part.ID} {
		who := officer
		if org != uuid.Nil {
			who = domain.WithPrincipal(t.Context(), ab.adminOf(org))
		}
		if a, err = ab.agreements.Sign(who, ab.milan, a.ID, org, 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := mon.SeedLibrary(officer, ab.milan); err != nil {
		t.Fatal(err)
	}
	pl, err := ab.pilots.Create(officer, ab.milan, a.ID, pilot.Pilot{Title: "Custodi di quartiere", Hypothesis: "Un custode riduce gli accessi al PS",
		SiteISTAT: "015146", Neighbourhood: "Corvetto", CohortSize: 120, Start: a.Start, End: a.Start.AddDate(0, 9, 0)})
	if err != nil {
		t.Fatal(err)
	}
	assign := func(indicator string, pilotID uuid.UUID) error {
		_, err := mon.Assign(officer, ab.milan, a.ID, pilotID, impact.Assignment{Indicator: indicator, Weight: 50,
			Baseline: impact.Baseline{Value: 40_000, Date: time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC), Source: "SIUSS 2026"},
			Targets:  []impact.Target{{Period: "2027-Q4", Value: 100_000}}})
		return err
	}
	count := func() int {
		t.Helper()
		sum, err := mon.Progress(officer, ab.milan, a.ID, uuid.Nil)
		if err != nil {
			t.Fatal(err)
		}
		return len(sum.Indicators)
	}
	if err := assign("elderly_alone_home_care", uuid.Nil); err != nil {
		t.Fatal(err)
	}
	err = assign("elderly_alone_home_care", uuid.Nil)
	if !errors.Is(err, monitoring.ErrAlreadyAssigned) {
		t.Fatalf("the same indicator assigned twice to the agreement: %v", err)
	}
	if de := (*domain.Error)(nil); !errors.As(err, &de) || de.Kind != domain.KindConflict || de.Code != "indicator_already_assigned" {
		t.Errorf("the duplicate's error: %#v", err)
	}
	if n := count(); n != 1 {
		t.Errorf("%d assignments after a refused duplicate, want 1", n)
	}
	// The pilot measures the same indicator for itself, once.
	if err := assign("elderly_alone_home_care", pl.ID); err != nil {
		t.Fatalf("the indicator assigned to a pilot: %v", err)
	}
	if err := assign("elderly_alone_home_care", pl.ID); !errors.Is(err, monitoring.ErrAlreadyAssigned) {
		t.Errorf("the same indicator assigned twice to the pilot: %v", err)
	}
	if n := count(); n != 2 {
		t.Errorf("%d assignments, want 2", n)
	}
	// Two transactions that both found the indicator unassigned: the
	// second insert waits for the first to commit, then refuses.
	const racers = 2
	errs := make(chan error, racers)
	var both sync.WaitGroup
	both.Add(racers)
	for range racers {
		go func() {
			errs <- ab.store.Monitoring().Atomic(t.Context(), ab.milan, func(tx monitoring.Tx) error {
				existing, err := tx.Assignments().ForAgreement(t.Context(), a.ID)
				if err != nil {
					return err
				}
				for _, e := range existing {
					if e.Indicator == "children_after_school" {
						return errors.New("already assigned when read")
					}
				}
				both.Done()
				both.Wait() // both have read before either inserts
				return tx.Assignments().Add(t.Context(), &monitoring.Assignment{TenantID: ab.milan, ID: domain.NewID(), AgreementID: a.ID,
					Assignment: impact.Assignment{Indicator: "children_after_school", Weight: 10, Frequency: "quarterly"}, CreatedAt: clk.now()})
			})
		}()
	}
	won := 0
	for range racers {
		switch err := <-errs; {
		case err == nil:
			won++
		case !errors.Is(err, monitoring.ErrAlreadyAssigned):
			t.Errorf("a racing assignment: %v", err)
		}
	}
	if won != 1 {
		t.Errorf("%d racing assignments won, want 1", won)
	}
	if n := count(); n != 3 {
		t.Errorf("%d assignments after the race, want 3", n)
	}
}
