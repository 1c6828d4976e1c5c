package application_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain/application"
	"github.com/coprod/coprod/domain/call"
	"github.com/coprod/coprod/domain/evaluation"
)

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func openCall(t *testing.T) *call.Call {
	t.Helper()
	c, err := call.NewDraft(uuid.New(), call.Call{Title: "Bando", Summary: "s", PolicyArea: "elderly", Objectives: []string{"o"}, DurationMonths: 12,
		Budget:            call.Budget{PublicCents: 1_000_000, MaxPerProjectCents: 500_000},
		Criteria:          []evaluation.Criterion{{Code: "q", Name: "Qualità", Weight: 100, MaxScore: 10}},
		QuestionsDeadline: t0.Add(24 * time.Hour), SubmissionDeadline: t0.Add(30 * 24 * time.Hour)}, "rup", t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Publish(call.Act{Kind: "call", Number: "1", Date: t0, URL: "https://x.it/1"}, t0); err != nil {
		t.Fatal(err)
	}
	return c
}

func content(lead, partner uuid.UUID, public int64) application.Content {
	return application.Content{Partners: []uuid.UUID{partner}, Title: "Progetto",
		Sections: []application.Section{{Key: "p", Title: "P", Body: "b"}},
		Budget: []application.BudgetLine{{Description: "d", Category: "staff", AmountCents: public, Funding: "public"},
			{Description: "sede", Category: "premises", AmountCents: 100, Funding: "cofunding", Kind: "in_kind", OrganisationID: partner}},
		Declarations: application.Declarations{NoExclusionGrounds: true, TruthfulInformation: true, PrivacyNotice: true}}
}

func TestSubmitRules(t *testing.T) {
	t.Parallel()
	c := openCall(t)
	lead, partner := uuid.New(), uuid.New()
	newApp := func(in application.Content) *application.Application {
		a, err := application.NewDraft(c, lead, "u", t0)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Edit(in, t0); err != nil {
			t.Fatal(err)
		}
		return a
	}
	a := newApp(content(lead, partner, 500_000))
	r, err := a.Submit(c, c.SubmissionDeadline.Add(-time.Second))
	if err != nil || r.SHA256 != a.Digest() || a.Status != application.StatusSubmitted {
		t.Fatalf("submit at deadline-1s: %v", err)
	}
	if _, err := a.Submit(c, t0); !errors.Is(err, application.ErrNotDraft) {
		t.Errorf("submit twice: %v", err)
	}
	late := newApp(content(lead, partner, 1))
	if _, err := late.Submit(c, c.SubmissionDeadline); !errors.Is(err, application.ErrDeadlinePassed) {
		t.Errorf("submit at the deadline: %v", err)
	}
	over := newApp(content(lead, partner, 500_001))
	if _, err := over.Submit(c, t0); !errors.Is(err, application.ErrOverMax) {
		t.Errorf("over the maximum per project: %v", err)
	}
	if over.Status != application.StatusDraft {
		t.Errorf("refused submission changed status")
	}
	// Partners: no duplicates, not the lead; co-funding only from the partnership.
	d, _ := application.NewDraft(c, lead, "u", t0)
	for name, in := range map[string]application.Content{
		"lead as partner":     {Partners: []uuid.UUID{lead}},
		"duplicate partner":   {Partners: []uuid.UUID{partner, partner}},
		"outsider co-funding": {Budget: []application.BudgetLine{{Description: "x", Category: "staff", AmountCents: 1, Funding: "cofunding", Kind: "cash", OrganisationID: uuid.New()}}},
		"negative amount":     {Budget: []application.BudgetLine{{Description: "x", Category: "staff", AmountCents: -1, Funding: "public"}}},
	} {
		if err := d.Edit(in, t0); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestDigestIsCanonical(t *testing.T) {
	t.Parallel()
	c := openCall(t)
	lead, partner := uuid.New(), uuid.New()
	a, _ := application.NewDraft(c, lead, "u", t0)
	_ = a.Edit(content(lead, partner, 10), t0)
	a.Attachments = []application.Attachment{{Name: "a.pdf", Size: 1, SHA256: "aa"}, {Name: "b.pdf", Size: 2, SHA256: "bb"}}
	d1 := a.Digest()
	a.Attachments[0], a.Attachments[1] = a.Attachments[1], a.Attachments[0]
	if a.Digest() != d1 {
		t.Error("attachment order changes the digest")
	}
	a.Title = "Progetto!"
	if a.Digest() == d1 {
		t.Error("a changed title keeps the digest")
	}
}
