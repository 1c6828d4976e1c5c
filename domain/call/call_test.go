package call_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/call"
	"github.com/coprod/coprod/domain/evaluation"
)

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func act(kind string) call.Act {
	return call.Act{Kind: kind, Number: "DD 123/2026", Date: t0, URL: "https://comune.example.it/atti/123"}
}

func complete() call.Call {
	return call.Call{
		Title: "Co-progettazione servizi per anziani soli", Summary: "Servizi di prossimità", PolicyArea: "elderly",
		Objectives: []string{"Ridurre l'isolamento"}, DurationMonths: 24,
		Budget:            call.Budget{PublicCents: 50_000_000, CofundingExpectedCents: 10_000_000, MaxPerProjectCents: 25_000_000},
		Criteria:          []evaluation.Criterion{{Code: "quality", Name: "Qualità", Weight: 60, MaxScore: 10}, {Code: "network", Name: "Rete", Weight: 40, MaxScore: 5}},
		QuestionsDeadline: t0.Add(10 * 24 * time.Hour), SubmissionDeadline: t0.Add(30 * 24 * time.Hour), PassThresholdBP: 6000,
	}
}

func draft(t *testing.T) *call.Call {
	t.Helper()
	c, err := call.NewDraft(uuid.New(), complete(), "officer", t0)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func published(t *testing.T) *call.Call {
	t.Helper()
	c := draft(t)
	if err := c.Publish(act("call"), t0); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	type step func(*call.Call, time.Time) error
	steps := map[string]step{
		"publish":  func(c *call.Call, now time.Time) error { return c.Publish(act("call"), now) },
		"close":    func(c *call.Call, now time.Time) error { return c.Close(now) },
		"evaluate": func(c *call.Call, now time.Time) error { return c.StartEvaluation(act("committee"), now) },
		"rank":     func(c *call.Call, now time.Time) error { return c.MarkRanked(act("ranking"), now) },
		"conclude": func(c *call.Call, now time.Time) error { return c.Conclude(now) },
		"cancel": func(c *call.Call, now time.Time) error {
			a := act("cancellation")
			return c.Cancel("fondi revocati", &a, now)
		},
		"edit-draft": func(c *call.Call, now time.Time) error { return c.EditDraft(complete(), now) },
	}
	// From each status, which steps are allowed and where they lead.
	allowed := map[call.Status]map[string]call.Status{
		call.StatusDraft:      {"publish": call.StatusPublished, "cancel": call.StatusCancelled, "edit-draft": call.StatusDraft},
		call.StatusPublished:  {"close": call.StatusClosed, "cancel": call.StatusCancelled},
		call.StatusClosed:     {"evaluate": call.StatusEvaluating, "cancel": call.StatusCancelled},
		call.StatusEvaluating: {"rank": call.StatusRanked, "cancel": call.StatusCancelled},
		call.StatusRanked:     {"conclude": call.StatusConcluded},
		call.StatusConcluded:  {},
		call.StatusCancelled:  {},
	}
	after := t0.Add(31 * 24 * time.Hour) // past the deadline, so close is possible
	for from, ok := range allowed {
		for name, st := range steps {
			c := draft(t)
			c.Status = from
			c.PublicationAt = t0
			now := after
			if name == "publish" {
				now = t0
			}
			err := st(c, now)
			to, want := ok[name]
			switch {
			case want && err != nil:
				t.Errorf("%s from %s: %v", name, from, err)
			case want && c.Status != to:
				t.Errorf("%s from %s: now %s, want %s", name, from, c.Status, to)
			case !want && err == nil:
				t.Errorf("%s from %s: allowed, want refused", name, from)
			case !want && c.Status != from:
				t.Errorf("%s from %s: refused but status changed to %s", name, from, c.Status)
			}
		}
	}
}

func TestDeadlineEdges(t *testing.T) {
	t.Parallel()
	c := published(t)
	dl := c.SubmissionDeadline
	if !c.IsOpen(dl.Add(-time.Second)) {
		t.Error("1 s before the deadline: closed, want open")
	}
	if c.IsOpen(dl) || c.IsOpen(dl.Add(time.Second)) {
		t.Error("at or after the deadline: open, want closed")
	}
	if err := c.Close(dl.Add(-time.Second)); !errors.Is(err, call.ErrDeadlineNotYet) {
		t.Errorf("close before the deadline: %v", err)
	}
	if err := c.CanAsk(c.QuestionsDeadline.Add(-time.Second)); err != nil {
		t.Errorf("question 1 s before its deadline: %v", err)
	}
	if err := c.CanAsk(c.QuestionsDeadline); !errors.Is(err, call.ErrQuestionsClosed) {
		t.Errorf("question at its deadline: %v", err)
	}
}

func TestPublishRules(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		edit func(*call.Call)
		act  call.Act
		want *domain.Error
	}{
		{"weights not 100", func(c *call.Call) { c.Criteria[0].Weight = 50 }, act("call"), nil},
		{"deadline too soon", func(c *call.Call) { c.SubmissionDeadline = t0.Add(19 * 24 * time.Hour) }, act("call"), call.ErrTooShort},
		{"questions after submission", func(c *call.Call) { c.QuestionsDeadline = c.SubmissionDeadline.Add(time.Hour) }, act("call"), call.ErrInvalidDates},
		{"no act", func(c *call.Call) {}, call.Act{}, call.ErrActRequired},
		{"act without url", func(c *call.Call) {}, call.Act{Kind: "call", Number: "1", Date: t0}, call.ErrInvalidAct},
		{"no budget", func(c *call.Call) { c.Budget.PublicCents = 0; c.Budget.MaxPerProjectCents = 0 }, act("call"), call.ErrInvalidBudget},
		{"max over public", func(c *call.Call) { c.Budget.MaxPerProjectCents = c.Budget.PublicCents + 1 }, act("call"), call.ErrInvalidBudget},
		{"no objectives", func(c *call.Call) { c.Objectives = nil }, act("call"), call.ErrInvalidText},
	}
	for _, tc := range cases {
		c := draft(t)
		tc.edit(c)
		err := c.Publish(tc.act, t0)
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) || domain.KindOf(err) != domain.KindInvalid {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if c.Status != call.StatusDraft || c.RulesVersion != 0 {
			t.Errorf("%s: refused publication changed the call", tc.name)
		}
	}
	c := draft(t)
	c.MinPublicationDays = 30
	if err := c.Publish(act("call"), t0.Add(time.Second)); !errors.Is(err, call.ErrTooShort) {
		t.Errorf("30 days minus a second with a 30-day minimum: %v", err)
	}
}

func TestAmend(t *testing.T) {
	t.Parallel()
	c := published(t)
	later := c.SubmissionDeadline.Add(7 * 24 * time.Hour)
	a, err := c.Amend(call.AmendInput{Reason: "proroga dei termini", Act: act("amendment"), SubmissionDeadline: &later}, "rup", t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if c.RulesVersion != 2 || a.RulesVersion != 2 || !c.SubmissionDeadline.Equal(later) || len(c.Amendments) != 1 || a.Changes["submissionDeadline"] == nil {
		t.Errorf("amendment not applied: %+v", c)
	}
	earlier := later.Add(-time.Hour)
	before := *c
	cases := []struct {
		name string
		in   call.AmendInput
		want *domain.Error
	}{
		{"shorter deadline", call.AmendInput{Reason: "x x x", Act: act("amendment"), SubmissionDeadline: &earlier}, call.ErrInvalidAmendment},
		{"no reason", call.AmendInput{Act: act("amendment"), SubmissionDeadline: &later}, call.ErrInvalidReason},
		{"no act", call.AmendInput{Reason: "proroga", SubmissionDeadline: &later}, call.ErrActRequired},
		{"nothing changes", call.AmendInput{Reason: "niente", Act: act("amendment"), SubmissionDeadline: &later}, call.ErrInvalidAmendment},
	}
	for _, tc := range cases {
		if _, err := c.Amend(tc.in, "rup", t0.Add(2*time.Hour)); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if c.RulesVersion != before.RulesVersion || len(c.Amendments) != 1 {
			t.Errorf("%s: refused amendment changed the call", tc.name)
		}
	}
	d := draft(t)
	if _, err := d.Amend(call.AmendInput{Reason: "x x x", Act: act("amendment"), SubmissionDeadline: &later}, "rup", t0); !errors.Is(err, call.ErrTransition) {
		t.Errorf("amend a draft: %v", err)
	}
	if err := c.EditDraft(complete(), t0); !errors.Is(err, call.ErrNotDraft) {
		t.Errorf("edit a published call: %v", err)
	}
}

func TestQuestions(t *testing.T) {
	t.Parallel()
	c := published(t)
	org := uuid.New()
	q, err := c.Ask(org, "u", "  Chi può partecipare?  ", t0.Add(time.Hour))
	if err != nil || q.Text != "Chi può partecipare?" {
		t.Fatalf("ask: %+v %v", q, err)
	}
	if _, err := c.Ask(org, "u", "ok", t0); !errors.Is(err, call.ErrInvalidQuestion) {
		t.Errorf("too short: %v", err)
	}
	if err := q.Reply("Tutti gli ETS iscritti al RUNTS.", "rup", false, t0.Add(2*time.Hour)); err != nil || q.Published {
		t.Errorf("private answer: %v %v", err, q.Published)
	}
	if err := q.Reply("Tutti gli ETS iscritti al RUNTS.", "rup", true, t0.Add(3*time.Hour)); err != nil || !q.Published {
		t.Errorf("published answer: %v", err)
	}
	v := c.PublicView(call.PublicTenant{}, []*call.Question{q})
	if len(v.FAQ) != 1 || v.FAQ[0].Question != q.Text {
		t.Errorf("FAQ: %+v", v.FAQ)
	}
}
