package initiative_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain/initiative"
)

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func proposed(t *testing.T, tenant uuid.UUID) *initiative.Initiative {
	t.Helper()
	i, err := initiative.Propose(tenant, uuid.New(), initiative.Initiative{Title: "Orti sociali", Problem: "Isolamento",
		TargetGroup: "Anziani", Approach: "Orti condivisi", Partners: []string{"ACLI"}}, "m", t0)
	if err != nil {
		t.Fatal(err)
	}
	return i
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	tenant := uuid.New()
	target := proposed(t, tenant)
	target.Status = initiative.StatusInTriage
	deadline := t0.Add(48 * time.Hour)
	steps := map[string]func(*initiative.Initiative, time.Time) error{
		"deadline":       func(i *initiative.Initiative, now time.Time) error { return i.SetDeadline(deadline, now) },
		"accept-process": func(i *initiative.Initiative, now time.Time) error { return i.AcceptIntoProcess(uuid.New(), now) },
		"accept-call":    func(i *initiative.Initiative, now time.Time) error { return i.AcceptIntoCall(uuid.New(), now) },
		"decline":        func(i *initiative.Initiative, now time.Time) error { return i.Decline("fuori dalle competenze", now) },
		"merge":          func(i *initiative.Initiative, now time.Time) error { return i.MergeInto(target, now) },
		"withdraw":       func(i *initiative.Initiative, now time.Time) error { return i.Withdraw(now) },
	}
	allowed := map[initiative.Status]map[string]initiative.Status{
		initiative.StatusProposed: {"deadline": initiative.StatusInTriage, "withdraw": initiative.StatusWithdrawn},
		initiative.StatusInTriage: {"deadline": initiative.StatusInTriage, "accept-process": initiative.StatusAccepted,
			"accept-call": initiative.StatusAccepted, "decline": initiative.StatusDeclined, "merge": initiative.StatusMerged,
			"withdraw": initiative.StatusWithdrawn},
		initiative.StatusAccepted:  {},
		initiative.StatusDeclined:  {},
		initiative.StatusMerged:    {},
		initiative.StatusWithdrawn: {},
	}
	if len(allowed) != len(initiative.Statuses) {
		t.Fatalf("the table covers %d statuses of %d", len(allowed), len(initiative.Statuses))
	}
	for _, from := range initiative.Statuses {
		for name, step := range steps {
			i := proposed(t, tenant)
			i.Status = from
			if from != initiative.StatusProposed {
				i.TriageDeadline = deadline
			}
			err := step(i, t0)
			to, want := allowed[from][name]
			switch {
			case want && err != nil:
				t.Errorf("%s from %s: %v", name, from, err)
			case want && i.Status != to:
				t.Errorf("%s from %s: now %s, want %s", name, from, i.Status, to)
			case !want && err == nil:
				t.Errorf("%s from %s: allowed, want refused", name, from)
			case !want && i.Status != from:
				t.Errorf("%s from %s: refused but status changed to %s", name, from, i.Status)
			}
		}
	}
}

func TestTriageRules(t *testing.T) {
	t.Parallel()
	tenant := uuid.New()
	i := proposed(t, tenant)
	if err := i.Decline("no", t0); !errors.Is(err, initiative.ErrInvalidReason) {
		t.Errorf("decline with a two-letter reason: %v", err)
	}
	if err := i.Decline("fuori ambito", t0); !errors.Is(err, initiative.ErrDeadlineNeeded) {
		t.Errorf("decline before the deadline is set: %v", err)
	}
	// The deadline is strictly in the future by the server's clock.
	if err := i.SetDeadline(t0, t0); !errors.Is(err, initiative.ErrInvalidDate) {
		t.Errorf("deadline now: %v", err)
	}
	if err := i.SetDeadline(t0.Add(time.Second), t0); err != nil {
		t.Errorf("deadline 1 s ahead: %v", err)
	}
	dl := t0.Add(24 * time.Hour)
	if err := i.SetDeadline(dl, t0); err != nil {
		t.Fatal(err)
	}
	if i.Overdue(dl.Add(-time.Second)) {
		t.Error("overdue 1 s before the deadline")
	}
	if !i.Overdue(dl) || !i.Overdue(dl.Add(time.Second)) {
		t.Error("not overdue at or 1 s after the deadline")
	}
	// Merging: never into itself, another tenant's, or one merged away.
	if err := i.MergeInto(i, t0); !errors.Is(err, initiative.ErrInvalidMerge) {
		t.Errorf("merge into itself: %v", err)
	}
	if err := i.MergeInto(proposed(t, uuid.New()), t0); !errors.Is(err, initiative.ErrInvalidMerge) {
		t.Errorf("merge into another tenant's: %v", err)
	}
	b, c := proposed(t, tenant), proposed(t, tenant)
	_ = c.SetDeadline(dl, t0)
	if err := b.SetDeadline(dl, t0); err != nil {
		t.Fatal(err)
	}
	if err := b.MergeInto(i, t0); err != nil { // b → i
		t.Fatal(err)
	}
	if err := i.MergeInto(b, t0); !errors.Is(err, initiative.ErrInvalidMerge) { // i → b would close a cycle
		t.Errorf("merge into one merged away (a cycle): %v", err)
	}
	if err := c.MergeInto(b, t0); !errors.Is(err, initiative.ErrInvalidMerge) {
		t.Errorf("merge into one merged away: %v", err)
	}
	// Overdue ends with the triage.
	if err := i.Decline("fuori ambito", dl.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if i.Overdue(dl.Add(time.Hour)) {
		t.Error("a declined initiative is overdue")
	}
	if v := i.PublicView(t0); v.DeclineReason != "fuori ambito" || v.Status != initiative.StatusDeclined {
		t.Errorf("public view: %+v", v)
	}
}
