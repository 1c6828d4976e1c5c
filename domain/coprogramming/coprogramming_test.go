package coprogramming_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain/call"
	"github.com/coprod/coprod/domain/coprogramming"
)

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func decision() call.Act {
	return call.Act{Kind: "decision", Number: "DG 45/2026", Date: t0, URL: "https://comune.example.it/atti/45"}
}

func outputs() coprogramming.Outputs {
	return coprogramming.Outputs{Priorities: []string{"Solitudine degli anziani"}, Resources: []string{"Sede in via Roma"}, Summary: "Sintesi"}
}

func draft(t *testing.T) *coprogramming.Process {
	t.Helper()
	p, err := coprogramming.New(uuid.New(), coprogramming.Process{Title: "Anziani soli nel Municipio 3", PolicyArea: "elderly",
		Territory: []string{"015146"}, PeriodFrom: t0, PeriodTo: t0.AddDate(1, 0, 0)}, "officer", t0)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	steps := map[string]func(*coprogramming.Process, time.Time) error{
		"open":    func(p *coprogramming.Process, now time.Time) error { return p.Open(now) },
		"close":   func(p *coprogramming.Process, now time.Time) error { return p.Close(now) },
		"publish": func(p *coprogramming.Process, now time.Time) error { return p.Publish(outputs(), decision(), now) },
		"cancel":  func(p *coprogramming.Process, now time.Time) error { return p.Cancel("priorità cambiate", now) },
	}
	allowed := map[coprogramming.Status]map[string]coprogramming.Status{
		coprogramming.StatusDraft:     {"open": coprogramming.StatusOpen, "cancel": coprogramming.StatusCancelled},
		coprogramming.StatusOpen:      {"close": coprogramming.StatusClosed, "cancel": coprogramming.StatusCancelled},
		coprogramming.StatusClosed:    {"publish": coprogramming.StatusPublished, "cancel": coprogramming.StatusCancelled},
		coprogramming.StatusPublished: {},
		coprogramming.StatusCancelled: {},
	}
	if len(allowed) != len(coprogramming.Statuses) {
		t.Fatalf("the table covers %d statuses of %d", len(allowed), len(coprogramming.Statuses))
	}
	for _, from := range coprogramming.Statuses {
		for name, step := range steps {
			p := draft(t)
			p.Status = from
			err := step(p, t0.Add(time.Hour))
			to, want := allowed[from][name]
			switch {
			case want && err != nil:
				t.Errorf("%s from %s: %v", name, from, err)
			case want && p.Status != to:
				t.Errorf("%s from %s: now %s, want %s", name, from, p.Status, to)
			case !want && !errors.Is(err, coprogramming.ErrTransition):
				t.Errorf("%s from %s: %v, want %v", name, from, err, coprogramming.ErrTransition)
			case !want && p.Status != from:
				t.Errorf("%s from %s: refused but status changed to %s", name, from, p.Status)
			}
		}
		// Contributions only while open.
		p := draft(t)
		p.Status = from
		_, err := p.Contribute(coprogramming.Contribution{Kind: coprogramming.KindCitizen, Needs: "Trasporti serali"}, "officer", t0)
		if open := from == coprogramming.StatusOpen; open != (err == nil) || !open && !errors.Is(err, coprogramming.ErrNotOpen) {
			t.Errorf("contribution while %s: %v", from, err)
		}
	}
}

func TestPublishNeedsActAndOutputs(t *testing.T) {
	t.Parallel()
	p := draft(t)
	p.Status = coprogramming.StatusClosed
	wrong := decision()
	wrong.Kind = "call"
	if err := p.Publish(outputs(), wrong, t0); !errors.Is(err, call.ErrActRequired) {
		t.Errorf("act of another kind: %v", err)
	}
	noURL := decision()
	noURL.URL = "http://insecure"
	if err := p.Publish(outputs(), noURL, t0); !errors.Is(err, call.ErrInvalidAct) {
		t.Errorf("act without https: %v", err)
	}
	if err := p.Publish(coprogramming.Outputs{Summary: "x"}, decision(), t0); !errors.Is(err, coprogramming.ErrInvalidOutputs) {
		t.Errorf("no priorities: %v", err)
	}
	if p.Status != coprogramming.StatusClosed {
		t.Fatalf("refused publications changed the status to %s", p.Status)
	}
	if _, err := p.DraftCall(); !errors.Is(err, coprogramming.ErrNotPublished) {
		t.Errorf("call from unpublished outputs: %v", err)
	}
	if err := p.Publish(outputs(), decision(), t0); err != nil {
		t.Fatal(err)
	}
	c, err := p.DraftCall()
	if err != nil || c.PolicyArea != "elderly" || c.Title != p.Title || len(c.Objectives) != 1 || c.Eligibility.Territory[0] != "015146" {
		t.Errorf("draft call: %+v %v", c, err)
	}
}

func TestCitizenContributionKeepsAtMostAName(t *testing.T) {
	t.Parallel()
	p := draft(t)
	p.Status = coprogramming.StatusOpen
	cases := []struct {
		name, needs string
		ok          bool
	}{
		{"", "Più trasporti serali", true},
		{"Maria", "Più trasporti serali", true},
		{"Maria Rossi", "Servono 150.000 euro e 12 volontari", true},
		{"maria@example.it", "Trasporti", false},
		{"Maria 333 123 4567", "Trasporti", false},
		{"Maria", "scrivetemi a maria@example.it", false},
		{"Maria", "chiamate il 02-1234-5678", false},
		{"Maria", "", false},
	}
	for _, c := range cases {
		_, err := p.Contribute(coprogramming.Contribution{Kind: coprogramming.KindCitizen, CitizenName: c.name, Needs: c.needs}, "officer", t0)
		if c.ok != (err == nil) {
			t.Errorf("citizen %q with %q: %v", c.name, c.needs, err)
		}
	}
	_, err := p.Contribute(coprogramming.Contribution{Kind: coprogramming.KindCitizen, CitizenName: "x@y.it", Needs: "n"}, "o", t0)
	if !errors.Is(err, coprogramming.ErrPersonalData) {
		t.Errorf("e-mail as a name: %v, want personal_data_refused", err)
	}
	// An organisation's contribution names the organisation and no citizen.
	if _, err := p.Contribute(coprogramming.Contribution{Kind: coprogramming.KindOrganisation, Needs: "n"}, "m", t0); err == nil {
		t.Error("organisation contribution without an organisation accepted")
	}
}
