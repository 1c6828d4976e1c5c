package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/adapters/postgres"
	"github.com/coprod/coprod/adapters/postgres/postgrestest"
	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/audit"
	"github.com/coprod/coprod/domain/call"
	"github.com/coprod/coprod/domain/coprogramming"
	"github.com/coprod/coprod/domain/initiative"
	"github.com/coprod/coprod/domain/organisation"
)

// coprogBundle: Milano (b) with an officer, a region (a) with its own
// officer, and two organisations with one member each.
type coprogBundle struct {
	store                *postgres.Store
	a, b                 uuid.UUID
	officerA, officerB   domain.Principal
	coop, assoc          *organisation.Organisation
	coopMember, assocMem domain.Principal
}

func setupCoprog(t *testing.T) coprogBundle {
	t.Helper()
	db := postgrestest.New(t)
	store := postgres.NewStore(db.App)
	a, b := twoTenants(t, store)
	orgs := organisation.NewService(store.Organisations(), nil)
	coop, err := orgs.Register(operatorCtx(t), organisation.Organisation{FiscalCode: "04123456784", LegalName: "Coop Sociale Aurora", LegalForm: "social_cooperative"})
	if err != nil {
		t.Fatal(err)
	}
	assoc, err := orgs.Register(operatorCtx(t), organisation.Organisation{FiscalCode: "05234567898", LegalName: "Associazione Ponte", LegalForm: "association"})
	if err != nil {
		t.Fatal(err)
	}
	member := func(subject string, org uuid.UUID) domain.Principal {
		return domain.Principal{Subject: subject, UserID: uuid.New(), Orgs: map[uuid.UUID][]domain.Role{org: {domain.RoleOrgMember}}}
	}
	return coprogBundle{store: store, a: a, b: b, coop: coop, assoc: assoc,
		officerA:   domain.Principal{Subject: "officer-a", TenantID: a, Roles: []domain.Role{domain.RoleOfficer}},
		officerB:   domain.Principal{Subject: "officer-b", TenantID: b, Roles: []domain.Role{domain.RoleOfficer}},
		coopMember: member("sub-coop-member-7f3a", coop.ID), assocMem: member("sub-assoc-member-91bc", assoc.ID)}
}

func as(t *testing.T, p domain.Principal) context.Context {
	return domain.WithPrincipal(t.Context(), p)
}

func auditActions(t *testing.T, store *postgres.Store, tenant, object uuid.UUID) []string {
	t.Helper()
	var out []string
	err := store.Coprogramming().Atomic(t.Context(), tenant, func(tx coprogramming.Tx) error {
		recs, err := tx.Audit().List(t.Context(), audit.Filter{ObjectID: object, Limit: 100})
		for _, r := range recs {
			out = append(out, r.Action)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCoprogrammingUseCases(t *testing.T) {
	t.Parallel()
	x := setupCoprog(t)
	svc := coprogramming.NewService(x.store.Coprogramming(), nil)
	calls := call.NewService(x.store.Calls(), nil)
	officer := as(t, x.officerB)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	in := coprogramming.Process{Title: "Anziani soli nel Municipio 3", PolicyArea: "elderly", Territory: []string{"015146"},
		PeriodFrom: today, PeriodTo: today.AddDate(1, 0, 0), Description: "Lettura condivisa dei bisogni"}

	if _, err := svc.Create(as(t, x.coopMember), x.b, in); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("an organisation member opens a process: %v", err)
	}
	p, err := svc.Create(officer, x.b, in)
	if err != nil {
		t.Fatal(err)
	}
	// Contributions wait for the opening; a draft does not exist for outsiders.
	if _, err := svc.Contribute(as(t, x.coopMember), x.b, p.ID, x.coop.ID, coprogramming.Contribution{Needs: "n"}); !errors.Is(err, coprogramming.ErrNotFound) {
		t.Errorf("contribution to a draft: %v", err)
	}
	if _, err := svc.Open(officer, x.b, p.ID, 99); !errors.Is(err, domain.ErrStale) {
		t.Errorf("open with a stale version: %v", err)
	}
	if p, err = svc.Open(officer, x.b, p.ID, p.Version); err != nil {
		t.Fatal(err)
	}
	// Another tenant's officer: not found under either tenant, forbidden to act on B.
	if _, err := svc.Get(as(t, x.officerA), x.a, p.ID); !errors.Is(err, coprogramming.ErrNotFound) {
		t.Errorf("B's process under A: %v", err)
	}
	if _, err := svc.Close(as(t, x.officerA), x.a, p.ID, 0); !errors.Is(err, coprogramming.ErrNotFound) {
		t.Errorf("A closes B's process through its own tenant: %v", err)
	}
	if _, err := svc.Close(as(t, x.officerA), x.b, p.ID, 0); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("A's officer closes B's process: %v", err)
	}

	// Organisations contribute for themselves only.
	if _, err := svc.Contribute(as(t, x.assocMem), x.b, p.ID, x.coop.ID, coprogramming.Contribution{Needs: "n"}); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("a non-member contributes for the cooperative: %v", err)
	}
	oc, err := svc.Contribute(as(t, x.coopMember), x.b, p.ID, x.coop.ID, coprogramming.Contribution{Needs: "Solitudine serale",
		Data: "320 anziani soli nel quartiere", Resources: "Due educatori, un furgone"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Contribute(as(t, x.assocMem), x.b, p.ID, x.assoc.ID, coprogramming.Contribution{Resources: "Sede"}); err != nil {
		t.Fatal(err)
	}
	// Citizens through an officer, with at most a name.
	if _, err := svc.RecordCitizen(as(t, x.coopMember), x.b, p.ID, coprogramming.Contribution{Needs: "n"}); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("a member records a citizen: %v", err)
	}
	if _, err := svc.RecordCitizen(officer, x.b, p.ID, coprogramming.Contribution{CitizenName: "maria@example.it", Needs: "Bus"}); !errors.Is(err, coprogramming.ErrPersonalData) {
		t.Errorf("citizen with an e-mail: %v", err)
	}
	if _, err := svc.RecordCitizen(officer, x.b, p.ID, coprogramming.Contribution{CitizenName: "Maria", Needs: "Bus serali"}); err != nil {
		t.Fatal(err)
	}
	all, err := svc.Contributions(officer, x.b, p.ID)
	if err != nil || len(all) != 3 {
		t.Fatalf("staff see %d contributions (%v), want 3", len(all), err)
	}
	own, err := svc.Contributions(as(t, x.coopMember), x.b, p.ID)
	if err != nil || len(own) != 1 || own[0].ID != oc.ID || own[0].Data != "320 anziani soli nel quartiere" {
		t.Fatalf("the cooperative sees %+v (%v), want its own only", own, err)
	}

	// Outputs: published by a formal act once closed; then contributions stop.
	act := call.Act{Kind: "decision", Number: "DG 45/2026", Date: today, URL: "https://comune.milano.it/atti/45"}
	out := coprogramming.Outputs{Priorities: []string{"Compagnia serale", "Trasporti"}, Resources: []string{"Sede di via Roma"}, Summary: "Bisogni e risorse"}
	if _, err := svc.Publish(officer, x.b, p.ID, out, act, 0); !errors.Is(err, coprogramming.ErrTransition) {
		t.Errorf("publish while open: %v", err)
	}
	if _, err := svc.CreateCall(officer, x.b, p.ID); !errors.Is(err, coprogramming.ErrNotPublished) {
		t.Errorf("call before the outputs: %v", err)
	}
	if pub, _ := svc.Published(t.Context(), x.b); len(pub) != 0 {
		t.Errorf("public before publication: %d", len(pub))
	}
	if _, err := svc.Close(officer, x.b, p.ID, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Contribute(as(t, x.coopMember), x.b, p.ID, x.coop.ID, coprogramming.Contribution{Needs: "n"}); !errors.Is(err, coprogramming.ErrNotOpen) {
		t.Errorf("contribution after closing: %v", err)
	}
	if _, err := svc.Publish(officer, x.b, p.ID, out, act, 0); err != nil {
		t.Fatal(err)
	}
	pub, err := svc.Published(t.Context(), x.b) // no principal: the public
	if err != nil || len(pub) != 1 || pub[0].Act.Number != "DG 45/2026" || len(pub[0].Outputs.Priorities) != 2 {
		t.Fatalf("public outputs: %+v %v", pub, err)
	}
	if other, _ := svc.Published(t.Context(), x.a); len(other) != 0 {
		t.Errorf("A's public outputs show B's: %d", len(other))
	}

	// A call from the outputs: a draft, pre-filled, linked; independent afterwards.
	c, err := svc.CreateCall(officer, x.b, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != call.StatusDraft || c.PolicyArea != "elderly" || c.Summary != "Bisogni e risorse" || len(c.Objectives) != 2 || c.Eligibility.Territory[0] != "015146" {
		t.Errorf("drafted call: %+v", c)
	}
	if _, err := calls.Get(officer, x.b, c.ID); err != nil {
		t.Errorf("the drafted call is not a call: %v", err)
	}
	edit := *c
	edit.Title = "Altro titolo"
	if _, err := calls.UpdateDraft(officer, x.b, c.ID, edit, c.Version); err != nil {
		t.Fatal(err)
	}
	v, err := svc.Get(officer, x.b, p.ID)
	if err != nil || len(v.Calls) != 1 || v.Calls[0] != c.ID || v.Title != in.Title {
		t.Errorf("process after the call's edit: %+v %v", v, err)
	}
	if _, err := svc.CreateCall(as(t, x.officerA), x.a, p.ID); !errors.Is(err, coprogramming.ErrNotFound) {
		t.Errorf("A drafts a call from B's process: %v", err)
	}
	got := strings.Join(auditActions(t, x.store, x.b, p.ID), ",")
	for _, a := range []string{"coprogramming.created", "coprogramming.opened", "coprogramming.closed", "coprogramming.published", "coprogramming.call_created"} {
		if !strings.Contains(got, a) {
			t.Errorf("audit trail %s lacks %s", got, a)
		}
	}
	if got := auditActions(t, x.store, x.b, c.ID); len(got) != 2 || got[1] != "call.created" {
		t.Errorf("the call's audit trail: %v", got)
	}
}

func TestInitiativeUseCases(t *testing.T) {
	t.Parallel()
	x := setupCoprog(t)
	now := time.Now().UTC().Truncate(time.Second)
	clock := func() time.Time { return now }
	svc := initiative.NewService(x.store.Initiatives(), clock)
	procs := coprogramming.NewService(x.store.Coprogramming(), clock)
	officer := as(t, x.officerB)
	in := initiative.Initiative{Title: "Orti sociali per anziani", Problem: "Isolamento degli anziani", TargetGroup: "Over 75 soli",
		Approach: "Orti condivisi con le scuole", PolicyArea: "elderly", Partners: []string{"Associazione Ponte"}, ResourcesOffered: "Terreno e attrezzi"}

	if _, err := svc.Propose(as(t, x.assocMem), x.b, x.coop.ID, in); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("a non-member proposes for the cooperative: %v", err)
	}
	i, err := svc.Propose(as(t, x.coopMember), x.b, x.coop.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	if i.OrganisationName != "Coop Sociale Aurora" || i.Status != initiative.StatusProposed {
		t.Errorf("proposed: %+v", i)
	}
	// Triage waits for the deadline, which must lie ahead by the server's clock.
	if _, err := svc.Decline(officer, x.b, i.ID, "fuori ambito", 0); !errors.Is(err, initiative.ErrDeadlineNeeded) {
		t.Errorf("decline without a deadline: %v", err)
	}
	if _, err := svc.SetDeadline(officer, x.b, i.ID, now.Add(-time.Second), 0); !errors.Is(err, initiative.ErrInvalidDate) {
		t.Errorf("deadline 1 s in the past: %v", err)
	}
	if _, err := svc.SetDeadline(as(t, x.coopMember), x.b, i.ID, now.Add(time.Hour), 0); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("the proposer sets its deadline: %v", err)
	}
	deadline := now.Add(24 * time.Hour)
	if i, err = svc.SetDeadline(officer, x.b, i.ID, deadline, i.Version); err != nil {
		t.Fatal(err)
	}
	register := func() initiative.Public {
		t.Helper()
		items, _, err := svc.Register(t.Context(), x.b, initiative.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			if it.ID == i.ID {
				return it
			}
		}
		t.Fatalf("initiative %s missing from the register", i.ID)
		return initiative.Public{}
	}
	now = deadline.Add(-time.Second)
	if register().Overdue {
		t.Error("overdue 1 s before the deadline")
	}
	if items, _, _ := svc.List(officer, x.b, initiative.Filter{OverdueAt: now}); len(items) != 0 {
		t.Errorf("overdue list 1 s before: %d", len(items))
	}
	now = deadline.Add(time.Second)
	if !register().Overdue {
		t.Error("not overdue 1 s after the deadline")
	}
	if items, _, _ := svc.List(officer, x.b, initiative.Filter{OverdueAt: now}); len(items) != 1 {
		t.Errorf("overdue list 1 s after: %d", len(items))
	}

	// The register is public and carries no personal data: not the proposer.
	items, _, err := svc.Register(t.Context(), x.b, initiative.Filter{})
	if err != nil || len(items) != 1 || items[0].Organisation != "Coop Sociale Aurora" {
		t.Fatalf("register: %+v %v", items, err)
	}
	raw, _ := json.Marshal(items)
	if strings.Contains(string(raw), x.coopMember.Subject) || strings.Contains(string(raw), "proposedBy") {
		t.Errorf("the register shows who proposed: %s", raw)
	}
	if other, _, _ := svc.Register(t.Context(), x.a, initiative.Filter{}); len(other) != 0 {
		t.Errorf("A's register shows B's initiatives: %d", len(other))
	}
	// Staff see everything; a member its organisation's; another organisation nothing of it.
	if _, err := svc.Get(as(t, x.assocMem), x.b, i.ID); !errors.Is(err, initiative.ErrNotFound) {
		t.Errorf("another organisation reads it: %v", err)
	}
	if mine, _, err := svc.List(as(t, x.assocMem), x.b, initiative.Filter{}); err != nil || len(mine) != 0 {
		t.Errorf("another organisation lists it: %d %v", len(mine), err)
	}
	if _, err := svc.Withdraw(as(t, x.assocMem), x.b, i.ID); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("another organisation withdraws it: %v", err)
	}

	// Merge: other tenant's ids are not found; a merged one is no target.
	j, err := svc.Propose(as(t, x.assocMem), x.b, x.assoc.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	if j, err = svc.SetDeadline(officer, x.b, j.ID, now.Add(time.Hour), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Merge(as(t, x.officerA), x.a, j.ID, i.ID, 0); !errors.Is(err, initiative.ErrNotFound) {
		t.Errorf("A merges B's initiatives: %v", err)
	}
	if _, err := svc.Merge(officer, x.b, j.ID, uuid.New(), 0); !errors.Is(err, initiative.ErrNotFound) {
		t.Errorf("merge into an unknown initiative: %v", err)
	}
	if _, err := svc.Merge(officer, x.b, j.ID, j.ID, 0); !errors.Is(err, initiative.ErrInvalidMerge) {
		t.Errorf("merge into itself: %v", err)
	}
	if j, err = svc.Merge(officer, x.b, j.ID, i.ID, 0); err != nil || j.MergedInto != i.ID {
		t.Fatalf("merge: %+v %v", j, err)
	}
	if _, err := svc.Merge(officer, x.b, i.ID, j.ID, 0); !errors.Is(err, initiative.ErrInvalidMerge) {
		t.Errorf("merge back into the merged one (a cycle): %v", err)
	}

	// Accept into a new co-programming process: created as a draft, linked.
	if _, err := svc.Accept(officer, x.b, i.ID, initiative.Accept{Route: "elsewhere"}, 0); !errors.Is(err, initiative.ErrInvalidRoute) {
		t.Errorf("unknown route: %v", err)
	}
	i, err = svc.Accept(officer, x.b, i.ID, initiative.Accept{Route: initiative.RouteCoprogramming}, 0)
	if err != nil {
		t.Fatal(err)
	}
	pv, err := procs.Get(officer, x.b, i.ProcessID)
	if err != nil || pv.Status != coprogramming.StatusDraft || pv.PolicyArea != "elderly" {
		t.Fatalf("process of the accepted initiative: %+v %v", pv, err)
	}
	if _, err := svc.Decline(officer, x.b, i.ID, "ci ripensiamo", 0); !errors.Is(err, initiative.ErrTransition) {
		t.Errorf("triaged twice: %v", err)
	}

	// Accept into an existing process; another tenant's process is not found.
	k, _ := svc.Propose(as(t, x.coopMember), x.b, x.coop.ID, in)
	if _, err := svc.SetDeadline(officer, x.b, k.ID, now.Add(time.Hour), 0); err != nil {
		t.Fatal(err)
	}
	foreign, err := procs.Create(as(t, x.officerA), x.a, coprogramming.Process{Title: "Altro", PolicyArea: "youth", PeriodFrom: now, PeriodTo: now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Accept(officer, x.b, k.ID, initiative.Accept{Route: initiative.RouteCoprogramming, ProcessID: foreign.ID}, 0); !errors.Is(err, coprogramming.ErrNotFound) {
		t.Errorf("accept into A's process: %v", err)
	}
	if k, err = svc.Accept(officer, x.b, k.ID, initiative.Accept{Route: initiative.RouteCoprogramming, ProcessID: pv.ID}, 0); err != nil || k.ProcessID != pv.ID {
		t.Fatalf("accept into an existing process: %+v %v", k, err)
	}

	// Accept into a call: a linked draft call.
	l, _ := svc.Propose(as(t, x.coopMember), x.b, x.coop.ID, in)
	if _, err := svc.SetDeadline(officer, x.b, l.ID, now.Add(time.Hour), 0); err != nil {
		t.Fatal(err)
	}
	if l, err = svc.Accept(officer, x.b, l.ID, initiative.Accept{Route: initiative.RouteCall}, 0); err != nil {
		t.Fatal(err)
	}
	c, err := call.NewService(x.store.Calls(), nil).Get(officer, x.b, l.CallID)
	if err != nil || c.Status != call.StatusDraft || c.Title != in.Title {
		t.Errorf("call of the accepted initiative: %+v %v", c, err)
	}

	// Decline: reasons required, and public.
	m, _ := svc.Propose(as(t, x.coopMember), x.b, x.coop.ID, in)
	if _, err := svc.SetDeadline(officer, x.b, m.ID, now.Add(time.Hour), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Decline(officer, x.b, m.ID, " ", 0); !errors.Is(err, initiative.ErrInvalidReason) {
		t.Errorf("decline without reasons: %v", err)
	}
	if _, err := svc.Decline(officer, x.b, m.ID, "Già coperto dal servizio comunale", 0); err != nil {
		t.Fatal(err)
	}
	items, _, _ = svc.Register(t.Context(), x.b, initiative.Filter{Status: initiative.StatusDeclined})
	if len(items) != 1 || items[0].DeclineReason != "Già coperto dal servizio comunale" {
		t.Errorf("declined in the register: %+v", items)
	}
	if got := auditActions(t, x.store, x.b, i.ID); strings.Join(got, ",") != "initiative.accepted,initiative.deadline_set,initiative.proposed" {
		t.Errorf("audit trail of the initiative: %v", got)
	}
}

// Two officers merging two initiatives into each other at the same moment:
// at most one merge may pass, or the two would form a cycle.
func TestCrossedMergesFormNoCycle(t *testing.T) {
	t.Parallel()
	x := setupCoprog(t)
	// The clock is read inside each merge's transaction once the source is
	// loaded: armed, it holds both merges there until both have arrived, so
	// they then race for the targets.
	var armed atomic.Bool
	var barrier sync.WaitGroup
	clock := func() time.Time {
		if armed.Load() {
			barrier.Done()
			barrier.Wait()
		}
		return time.Now().UTC()
	}
	svc := initiative.NewService(x.store.Initiatives(), clock)
	officer := as(t, x.officerB)
	in := initiative.Initiative{Title: "Orti sociali", Problem: "Isolamento", TargetGroup: "Anziani", Approach: "Orti"}
	for range 20 {
		var ids [2]uuid.UUID
		for k := range ids {
			i, err := svc.Propose(as(t, x.coopMember), x.b, x.coop.ID, in)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := svc.SetDeadline(officer, x.b, i.ID, time.Now().Add(time.Hour), 0); err != nil {
				t.Fatal(err)
			}
			ids[k] = i.ID
		}
		errs := make(chan error, 2)
		barrier.Add(2)
		armed.Store(true)
		for k := range 2 {
			go func() {
				_, err := svc.Merge(officer, x.b, ids[k], ids[1-k], 0)
				errs <- err
			}()
		}
		e1, e2 := <-errs, <-errs
		armed.Store(false)
		if e1 == nil && e2 == nil {
			t.Fatalf("both crossed merges passed: %s and %s now merge into each other", ids[0], ids[1])
		}
		if e1 != nil && e2 != nil {
			t.Fatalf("both crossed merges refused: %v, %v", e1, e2)
		}
		for _, err := range []error{e1, e2} {
			if err != nil && !errors.Is(err, initiative.ErrInvalidMerge) && !errors.Is(err, domain.ErrStale) {
				t.Errorf("the losing merge: %v", err)
			}
		}
	}
}
