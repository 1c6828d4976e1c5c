package call

import (
	"time"

	"github.com/google/uuid"
)

// PublicCall is what the transparency section publishes of a call. Its
// shape is part of the public record (and of the API), so it carries its
// own JSON names; it holds no personal data and no organisation identities
// for questions.
type PublicCall struct {
	ID                 uuid.UUID         `json:"id"`
	Tenant             PublicTenant      `json:"municipality"`
	Title              string            `json:"title"`
	Summary            string            `json:"summary"`
	PolicyArea         string            `json:"policyArea"`
	Objectives         []string          `json:"objectives"`
	Budget             PublicBudget      `json:"budget"`
	DurationMonths     int               `json:"durationMonths"`
	Eligibility        PublicEligibility `json:"eligibility"`
	ExclusionGrounds   []string          `json:"exclusionGrounds"`
	RunsService        bool              `json:"runsService" doc:"The selected bodies will also run the service"`
	Criteria           []PublicCriterion `json:"criteria"`
	PassThreshold      float64           `json:"passThreshold" doc:"Consolidated score (0-100) needed for admission"`
	PublicationAt      time.Time         `json:"publicationAt"`
	QuestionsDeadline  time.Time         `json:"questionsDeadline"`
	SubmissionDeadline time.Time         `json:"submissionDeadline"`
	Status             Status            `json:"status"`
	CancelReason       string            `json:"cancelReason,omitempty"`
	RulesVersion       int               `json:"rulesVersion"`
	Acts               []PublicAct       `json:"acts"`
	Amendments         []PublicAmendment `json:"amendments"`
	FAQ                []PublicQA        `json:"faq"`
	Ranking            []PublicRankEntry `json:"ranking" doc:"The published ranking (graduatoria), once the call is ranked"`
	Version            int               `json:"version"`
}

type PublicTenant struct {
	ID       uuid.UUID `json:"id"`
	Slug     string    `json:"slug"`
	Name     string    `json:"name"`
	RegionID uuid.UUID `json:"regionId"`
}

type PublicBudget struct {
	PublicCents            int64  `json:"publicCents"`
	CofundingExpectedCents int64  `json:"cofundingExpectedCents"`
	MaxPerProjectCents     int64  `json:"maxPerProjectCents"`
	Currency               string `json:"currency" example:"EUR"`
}

type PublicEligibility struct {
	RUNTSRequired bool     `json:"runtsRequired"`
	LegalForms    []string `json:"legalForms"`
	Territory     []string `json:"territory" doc:"ISTAT codes of the comuni where an applicant's seat must be; empty: anywhere"`
}

type PublicCriterion struct {
	Code     string `json:"code"`
	Name     string `json:"name"`
	Weight   int    `json:"weight"`
	MaxScore int    `json:"maxScore"`
}

type PublicAct struct {
	Kind   string `json:"kind"`
	Number string `json:"number"`
	Date   string `json:"date" format:"date"`
	URL    string `json:"url"`
}

type PublicAmendment struct {
	RulesVersion int            `json:"rulesVersion"`
	Reason       string         `json:"reason"`
	At           time.Time      `json:"at"`
	Act          PublicAct      `json:"act"`
	Changes      map[string]any `json:"changes"`
}

// PublicRankEntry is one line of a published ranking.
type PublicRankEntry struct {
	Position         int       `json:"position"`
	ApplicationID    uuid.UUID `json:"applicationId"`
	LeadOrganisation string    `json:"leadOrganisation"`
	LeadFiscalCode   string    `json:"leadFiscalCode"`
	Score            float64   `json:"score" doc:"Consolidated score out of 100"`
	Admitted         bool      `json:"admitted" doc:"Admitted to the co-design table"`
}

type PublicQA struct {
	ID         uuid.UUID `json:"id"`
	Question   string    `json:"question"`
	Answer     string    `json:"answer"`
	AnsweredAt time.Time `json:"answeredAt"`
}

// PublicAct renders a formal act.
func (a Act) Public() PublicAct {
	return PublicAct{Kind: a.Kind, Number: a.Number, Date: a.Date.Format(time.DateOnly), URL: a.URL}
}

// PublicView renders the call as published, with its FAQ.
func (c *Call) PublicView(t PublicTenant, faq []*Question) PublicCall {
	v := PublicCall{
		ID: c.ID, Tenant: t, Title: c.Title, Summary: c.Summary, PolicyArea: c.PolicyArea,
		Objectives: nonNil(c.Objectives), DurationMonths: c.DurationMonths, ExclusionGrounds: nonNil(c.ExclusionGrounds),
		RunsService: c.RunsService, PassThreshold: float64(c.PassThresholdBP) / 100,
		PublicationAt: c.PublicationAt, QuestionsDeadline: c.QuestionsDeadline, SubmissionDeadline: c.SubmissionDeadline,
		Status: c.Status, CancelReason: c.CancelReason, RulesVersion: c.RulesVersion, Version: c.Version,
		Budget: PublicBudget{PublicCents: c.Budget.PublicCents, CofundingExpectedCents: c.Budget.CofundingExpectedCents,
			MaxPerProjectCents: c.Budget.MaxPerProjectCents, Currency: "EUR"},
		Eligibility: PublicEligibility{RUNTSRequired: c.Eligibility.RUNTSRequired, LegalForms: nonNil(c.Eligibility.LegalForms),
			Territory: nonNil(c.Eligibility.Territory)},
		Criteria: []PublicCriterion{}, Acts: []PublicAct{}, Amendments: []PublicAmendment{}, FAQ: []PublicQA{}, Ranking: []PublicRankEntry{},
	}
	for _, cr := range c.Criteria {
		v.Criteria = append(v.Criteria, PublicCriterion{Code: cr.Code, Name: cr.Name, Weight: cr.Weight, MaxScore: cr.MaxScore})
	}
	for _, a := range c.Acts {
		v.Acts = append(v.Acts, a.Public())
	}
	for _, a := range c.Amendments {
		v.Amendments = append(v.Amendments, PublicAmendment{RulesVersion: a.RulesVersion, Reason: a.Reason, At: a.At, Act: a.Act.Public(), Changes: a.Changes})
	}
	for _, q := range faq {
		if q.Published {
			v.FAQ = append(v.FAQ, PublicQA{ID: q.ID, Question: q.Text, Answer: q.Answer, AnsweredAt: q.AnsweredAt})
		}
	}
	return v
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// PublicFilter selects published calls across all municipalities.
type PublicFilter struct {
	RegionID   uuid.UUID
	TenantID   uuid.UUID
	PolicyArea string
	OpenAt     time.Time // non-zero: only calls open for submissions at that instant
	Text       string
	Before     uuid.UUID // cursor: calls published before this one (newest first)
	Limit      int
}
