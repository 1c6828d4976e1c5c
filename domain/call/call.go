// Package call models the public call for co-design (avviso pubblico di
// co-progettazione, Third Sector Code art. 55): its rules, its lifecycle
// draft → published → closed → evaluating → ranked → concluded (or
// cancelled with a reason), formal acts and amendments, and the questions
// applicants ask before the questions deadline.
//
// Publication freezes the rules: afterwards they change only by a formal
// amendment, versioned and with a reason, which applicants are told about.
package call

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/evaluation"
)

// Status of a call.
type Status string

const (
	StatusDraft      Status = "draft"
	StatusPublished  Status = "published"
	StatusClosed     Status = "closed"
	StatusEvaluating Status = "evaluating"
	StatusRanked     Status = "ranked"
	StatusConcluded  Status = "concluded"
	StatusCancelled  Status = "cancelled"
)

// PolicyAreas of social services a call may address.
var PolicyAreas = []string{"elderly", "disability", "minors_families", "poverty_inclusion", "housing", "migrants",
	"addictions", "mental_health", "youth", "employment", "gender_violence", "community", "other"}

// ActKinds of formal acts (atti) a call refers to.
var ActKinds = []string{"decision", "call", "committee", "ranking", "amendment", "agreement", "cancellation"}

// Act is a formal act: it has a number, a date and a publication URL.
type Act struct {
	Kind   string
	Number string
	Date   time.Time
	URL    string
}

// Budget framework, in integer euro cents.
type Budget struct {
	PublicCents            int64 // public contribution available
	CofundingExpectedCents int64 // co-funding expected from partners (cash or in kind)
	MaxPerProjectCents     int64 // maximum public contribution per project
}

// Eligibility rules, as structured data checked against each applicant.
type Eligibility struct {
	RUNTSRequired bool     // registration in the third-sector register
	LegalForms    []string // allowed legal forms; empty: any
	Territory     []string // ISTAT codes of comuni where the seat must be; empty: anywhere
}

// Amendment is a formal change of a published call.
type Amendment struct {
	RulesVersion int
	Reason       string
	At           time.Time
	By           string
	Act          Act
	Changes      map[string]any // field → {from, to}
}

// Call is a public call for co-design.
type Call struct {
	TenantID           uuid.UUID
	ID                 uuid.UUID
	Title              string
	Summary            string
	PolicyArea         string
	Objectives         []string
	Budget             Budget
	DurationMonths     int
	Eligibility        Eligibility
	ExclusionGrounds   []string
	RunsService        bool // the selected bodies will also run the service
	Criteria           []evaluation.Criterion
	PassThresholdBP    int64 // consolidated score needed for admission, basis points of 100
	PublicationAt      time.Time
	QuestionsDeadline  time.Time
	SubmissionDeadline time.Time
	MinPublicationDays int
	Acts               []Act
	Status             Status
	CancelReason       string
	RulesVersion       int // 0 in draft; 1 at publication; +1 per amendment
	Amendments         []Amendment
	CreatedBy          string
	CreatedAt          time.Time
	UpdatedAt          time.Time
	Version            int
}

var (
	ErrNotFound         = domain.Errorf(domain.KindNotFound, "call_not_found", "no such call")
	ErrNotDraft         = domain.Errorf(domain.KindPrecondition, "call_not_draft", "only a draft can be edited; a published call changes by amendment")
	ErrTransition       = domain.Errorf(domain.KindPrecondition, "invalid_call_transition", "this status change is not allowed")
	ErrNotOpen          = domain.Errorf(domain.KindPrecondition, "call_not_open", "the call is not open for submissions")
	ErrQuestionsClosed  = domain.Errorf(domain.KindPrecondition, "questions_closed", "the deadline for questions has passed")
	ErrDeadlineNotYet   = domain.Errorf(domain.KindPrecondition, "deadline_not_passed", "the submission deadline has not passed yet")
	ErrInvalidTitle     = domain.Errorf(domain.KindInvalid, "invalid_title", "the title must be 3-300 characters")
	ErrInvalidText      = domain.Errorf(domain.KindInvalid, "invalid_text", "a text is too long or empty")
	ErrInvalidPolicy    = domain.Errorf(domain.KindInvalid, "invalid_policy_area", "unknown policy area")
	ErrInvalidBudget    = domain.Errorf(domain.KindInvalid, "invalid_budget", "amounts are non-negative cents; the public contribution is positive and the maximum per project does not exceed it")
	ErrInvalidDuration  = domain.Errorf(domain.KindInvalid, "invalid_duration", "the duration is 1-120 months")
	ErrInvalidDates     = domain.Errorf(domain.KindInvalid, "invalid_dates", "the questions deadline comes before the submission deadline, both in the future")
	ErrTooShort         = domain.Errorf(domain.KindInvalid, "publication_too_short", "the call must stay published for at least its minimum number of days")
	ErrInvalidAct       = domain.Errorf(domain.KindInvalid, "invalid_act", "a formal act has a known kind, a number, a date and an https URL")
	ErrActRequired      = domain.Errorf(domain.KindInvalid, "act_required", "this step needs its formal act")
	ErrInvalidThreshold = domain.Errorf(domain.KindInvalid, "invalid_threshold", "the pass threshold is between 0 and 10000 basis points")
	ErrInvalidElig      = domain.Errorf(domain.KindInvalid, "invalid_eligibility", "legal forms must be known and territory entries 6-digit ISTAT codes")
	ErrInvalidReason    = domain.Errorf(domain.KindInvalid, "reason_required", "a reason of 3-2000 characters is required")
	ErrInvalidAmendment = domain.Errorf(domain.KindInvalid, "invalid_amendment", "an amendment may extend the deadlines, never shorten them, and must change something")
)

func textOK(s string, max int, required bool) bool {
	n := utf8.RuneCountInString(strings.TrimSpace(s))
	return n <= max && (!required || n > 0)
}

// ValidateAct checks a formal act.
func ValidateAct(a Act) error {
	if !slices.Contains(ActKinds, a.Kind) || strings.TrimSpace(a.Number) == "" || len(a.Number) > 50 || a.Date.IsZero() ||
		!strings.HasPrefix(a.URL, "https://") || len(a.URL) > 2000 || strings.ContainsAny(a.URL, " \t\r\n") {
		return ErrInvalidAct.WithField("act")
	}
	return nil
}

// LegalForms applicants may have (mirrors organisation.LegalForms).
var LegalForms = []string{"social_cooperative", "association", "recognised_association", "foundation", "social_enterprise", "mutual_aid_society", "other"}

// validateContent checks what a draft may hold; complete adds what
// publication requires.
func (c *Call) validateContent(complete bool) error {
	c.Title = strings.TrimSpace(c.Title)
	if n := utf8.RuneCountInString(c.Title); n < 3 || n > 300 {
		return ErrInvalidTitle.WithField("title")
	}
	if !textOK(c.Summary, 20000, complete) {
		return ErrInvalidText.WithField("summary")
	}
	if c.PolicyArea != "" && !slices.Contains(PolicyAreas, c.PolicyArea) || complete && c.PolicyArea == "" {
		return ErrInvalidPolicy.WithField("policyArea")
	}
	if len(c.Objectives) > 50 || complete && len(c.Objectives) == 0 {
		return ErrInvalidText.WithField("objectives")
	}
	for _, o := range c.Objectives {
		if !textOK(o, 2000, true) {
			return ErrInvalidText.WithField("objectives")
		}
	}
	if len(c.ExclusionGrounds) > 50 {
		return ErrInvalidText.WithField("exclusionGrounds")
	}
	for _, o := range c.ExclusionGrounds {
		if !textOK(o, 2000, true) {
			return ErrInvalidText.WithField("exclusionGrounds")
		}
	}
	b := c.Budget
	if b.PublicCents < 0 || b.CofundingExpectedCents < 0 || b.MaxPerProjectCents < 0 || b.PublicCents > 1e13 || b.CofundingExpectedCents > 1e13 ||
		b.MaxPerProjectCents > b.PublicCents || complete && (b.PublicCents == 0 || b.MaxPerProjectCents == 0) {
		return ErrInvalidBudget.WithField("budget")
	}
	if c.DurationMonths < 0 || c.DurationMonths > 120 || complete && c.DurationMonths == 0 {
		return ErrInvalidDuration.WithField("durationMonths")
	}
	for _, f := range c.Eligibility.LegalForms {
		if !slices.Contains(LegalForms, f) {
			return ErrInvalidElig.WithField("eligibility.legalForms")
		}
	}
	for _, t := range c.Eligibility.Territory {
		if len(t) != 6 || strings.Trim(t, "0123456789") != "" {
			return ErrInvalidElig.WithField("eligibility.territory")
		}
	}
	if c.PassThresholdBP < 0 || c.PassThresholdBP > 10000 {
		return ErrInvalidThreshold.WithField("passThreshold")
	}
	if c.MinPublicationDays < 0 || c.MinPublicationDays > 365 {
		return ErrTooShort.WithField("minPublicationDays")
	}
	if complete || len(c.Criteria) > 0 {
		if err := evaluation.ValidateCriteria(c.Criteria); err != nil {
			return err
		}
	}
	for _, a := range c.Acts {
		if err := ValidateAct(a); err != nil {
			return err
		}
	}
	return nil
}

// DefaultMinPublicationDays: a call stays open at least this long unless
// the municipality sets another minimum (some regions require 20 days).
const DefaultMinPublicationDays = 20

// NewDraft validates a draft call of tenant.
func NewDraft(tenant uuid.UUID, c Call, by string, now time.Time) (*Call, error) {
	c.TenantID, c.ID, c.Status, c.RulesVersion = tenant, domain.NewID(), StatusDraft, 0
	c.CreatedBy, c.CreatedAt, c.UpdatedAt, c.Version = by, now, now, 1
	c.Amendments, c.CancelReason = nil, ""
	if c.MinPublicationDays == 0 {
		c.MinPublicationDays = DefaultMinPublicationDays
	}
	if err := c.validateContent(false); err != nil {
		return nil, err
	}
	return &c, nil
}

// EditDraft replaces a draft's content, keeping its identity and lifecycle.
func (c *Call) EditDraft(next Call, now time.Time) error {
	if c.Status != StatusDraft {
		return ErrNotDraft
	}
	next.TenantID, next.ID, next.Status, next.RulesVersion = c.TenantID, c.ID, c.Status, 0
	next.CreatedBy, next.CreatedAt, next.UpdatedAt, next.Version = c.CreatedBy, c.CreatedAt, now, c.Version
	next.Amendments, next.CancelReason = nil, ""
	if next.MinPublicationDays == 0 {
		next.MinPublicationDays = DefaultMinPublicationDays
	}
	if err := next.validateContent(false); err != nil {
		return err
	}
	*c = next
	return nil
}

// Publish freezes the rules and opens the call now. The call's formal act
// (kind "call") must be given.
func (c *Call) Publish(act Act, now time.Time) error {
	if c.Status != StatusDraft {
		return ErrTransition.WithMessage("only a draft can be published; this call is %s", c.Status)
	}
	if act.Kind != "call" {
		return ErrActRequired.WithMessage("publishing needs the formal act of kind \"call\"").WithField("act")
	}
	if err := ValidateAct(act); err != nil {
		return err
	}
	if err := c.validateContent(true); err != nil {
		return err
	}
	if !now.Before(c.QuestionsDeadline) || !c.QuestionsDeadline.Before(c.SubmissionDeadline) {
		return ErrInvalidDates.WithField("questionsDeadline")
	}
	if c.SubmissionDeadline.Sub(now) < time.Duration(c.MinPublicationDays)*24*time.Hour {
		return ErrTooShort.WithMessage("the submission deadline must be at least %d days after publication", c.MinPublicationDays).WithField("submissionDeadline")
	}
	c.Acts = append(c.Acts, act)
	c.PublicationAt, c.Status, c.RulesVersion, c.UpdatedAt = now, StatusPublished, 1, now
	return nil
}

// IsOpen reports whether submissions are accepted at now: published, and
// strictly before the submission deadline, judged by the server's clock.
func (c *Call) IsOpen(now time.Time) bool {
	return c.Status == StatusPublished && !now.Before(c.PublicationAt) && now.Before(c.SubmissionDeadline)
}

// CanAsk reports whether questions are accepted at now.
func (c *Call) CanAsk(now time.Time) error {
	if c.Status != StatusPublished || !now.Before(c.QuestionsDeadline) {
		return ErrQuestionsClosed
	}
	return nil
}

// AmendInput says what an amendment changes; nil fields stay as they are.
type AmendInput struct {
	Reason             string
	Act                Act
	Summary            *string
	Objectives         []string
	ExclusionGrounds   []string
	Budget             *Budget
	QuestionsDeadline  *time.Time
	SubmissionDeadline *time.Time
}

// Amend changes a published call by a formal act with a reason. Deadlines
// may only move later (an extension); the amendment is recorded with the
// before/after of each changed field.
func (c *Call) Amend(in AmendInput, by string, now time.Time) (*Amendment, error) {
	if c.Status != StatusPublished {
		return nil, ErrTransition.WithMessage("only a published call can be amended; this call is %s", c.Status)
	}
	if n := utf8.RuneCountInString(strings.TrimSpace(in.Reason)); n < 3 || n > 2000 {
		return nil, ErrInvalidReason.WithField("reason")
	}
	if in.Act.Kind != "amendment" {
		return nil, ErrActRequired.WithMessage("an amendment needs its formal act of kind \"amendment\"").WithField("act")
	}
	if err := ValidateAct(in.Act); err != nil {
		return nil, err
	}
	next := *c
	changes := map[string]any{}
	change := func(field string, from, to any) { changes[field] = map[string]any{"from": from, "to": to} }
	if in.Summary != nil && *in.Summary != c.Summary {
		change("summary", c.Summary, *in.Summary)
		next.Summary = *in.Summary
	}
	if in.Objectives != nil && !slices.Equal(in.Objectives, c.Objectives) {
		change("objectives", c.Objectives, in.Objectives)
		next.Objectives = in.Objectives
	}
	if in.ExclusionGrounds != nil && !slices.Equal(in.ExclusionGrounds, c.ExclusionGrounds) {
		change("exclusionGrounds", c.ExclusionGrounds, in.ExclusionGrounds)
		next.ExclusionGrounds = in.ExclusionGrounds
	}
	if in.Budget != nil && *in.Budget != c.Budget {
		change("budget", c.Budget, *in.Budget)
		next.Budget = *in.Budget
	}
	if in.QuestionsDeadline != nil && !in.QuestionsDeadline.Equal(c.QuestionsDeadline) {
		if in.QuestionsDeadline.Before(c.QuestionsDeadline) {
			return nil, ErrInvalidAmendment.WithField("questionsDeadline")
		}
		change("questionsDeadline", c.QuestionsDeadline, *in.QuestionsDeadline)
		next.QuestionsDeadline = *in.QuestionsDeadline
	}
	if in.SubmissionDeadline != nil && !in.SubmissionDeadline.Equal(c.SubmissionDeadline) {
		if in.SubmissionDeadline.Before(c.SubmissionDeadline) {
			return nil, ErrInvalidAmendment.WithField("submissionDeadline")
		}
		change("submissionDeadline", c.SubmissionDeadline, *in.SubmissionDeadline)
		next.SubmissionDeadline = *in.SubmissionDeadline
	}
	if len(changes) == 0 {
		return nil, ErrInvalidAmendment.WithMessage("the amendment changes nothing")
	}
	if !next.QuestionsDeadline.Before(next.SubmissionDeadline) {
		return nil, ErrInvalidDates.WithField("questionsDeadline")
	}
	if err := next.validateContent(true); err != nil {
		return nil, err
	}
	next.RulesVersion++
	a := Amendment{RulesVersion: next.RulesVersion, Reason: strings.TrimSpace(in.Reason), At: now, By: by, Act: in.Act, Changes: changes}
	next.Amendments = append(slices.Clone(c.Amendments), a)
	next.Acts = append(slices.Clone(c.Acts), in.Act)
	next.UpdatedAt = now
	*c = next
	return &a, nil
}

// Close ends submissions; allowed once the deadline has passed.
func (c *Call) Close(now time.Time) error {
	if c.Status != StatusPublished {
		return ErrTransition.WithMessage("only a published call closes; this call is %s", c.Status)
	}
	if now.Before(c.SubmissionDeadline) {
		return ErrDeadlineNotYet
	}
	c.Status, c.UpdatedAt = StatusClosed, now
	return nil
}

// StartEvaluation begins the committee's work, with the act appointing it.
func (c *Call) StartEvaluation(act Act, now time.Time) error {
	if c.Status != StatusClosed {
		return ErrTransition.WithMessage("evaluation starts after the call closes; this call is %s", c.Status)
	}
	if act.Kind != "committee" {
		return ErrActRequired.WithMessage("starting the evaluation needs the act appointing the committee (kind \"committee\")").WithField("act")
	}
	if err := ValidateAct(act); err != nil {
		return err
	}
	c.Acts = append(c.Acts, act)
	c.Status, c.UpdatedAt = StatusEvaluating, now
	return nil
}

// MarkRanked records the published ranking's act.
func (c *Call) MarkRanked(act Act, now time.Time) error {
	if c.Status != StatusEvaluating {
		return ErrTransition.WithMessage("a ranking is published during evaluation; this call is %s", c.Status)
	}
	if act.Kind != "ranking" {
		return ErrActRequired.WithMessage("publishing the ranking needs its act (kind \"ranking\")").WithField("act")
	}
	if err := ValidateAct(act); err != nil {
		return err
	}
	c.Acts = append(c.Acts, act)
	c.Status, c.UpdatedAt = StatusRanked, now
	return nil
}

// Conclude ends the procedure once the co-design has started.
func (c *Call) Conclude(now time.Time) error {
	if c.Status != StatusRanked {
		return ErrTransition.WithMessage("only a ranked call concludes; this call is %s", c.Status)
	}
	c.Status, c.UpdatedAt = StatusConcluded, now
	return nil
}

// Cancel withdraws the call (annullamento / revoca) with a reason.
func (c *Call) Cancel(reason string, act *Act, now time.Time) error {
	switch c.Status {
	case StatusRanked, StatusConcluded, StatusCancelled:
		return ErrTransition.WithMessage("a %s call cannot be cancelled", c.Status)
	}
	if n := utf8.RuneCountInString(strings.TrimSpace(reason)); n < 3 || n > 2000 {
		return ErrInvalidReason.WithField("reason")
	}
	if c.Status != StatusDraft { // a published call is withdrawn by a formal act
		if act == nil || act.Kind != "cancellation" {
			return ErrActRequired.WithMessage("cancelling a published call needs its act (kind \"cancellation\")").WithField("act")
		}
		if err := ValidateAct(*act); err != nil {
			return err
		}
		c.Acts = append(c.Acts, *act)
	}
	c.Status, c.CancelReason, c.UpdatedAt = StatusCancelled, strings.TrimSpace(reason), now
	return nil
}

// Public reports whether the call is visible without login (transparency).
func (c *Call) Public() bool { return c.Status != StatusDraft }
