// Package application models an organisation's application to a call
// (manifestazione di interesse / proposta): a lead organisation with
// optional partners (ATS), proposal sections, a budget with co-funding,
// self-declarations and attachments; its submission before the deadline,
// judged by the server's clock, with a receipt; and the officer's
// admissibility decision.
package application

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/call"
	"github.com/coprod/coprod/domain/organisation"
)

// Status of an application.
type Status string

const (
	StatusDraft     Status = "draft"
	StatusSubmitted Status = "submitted"
	StatusWithdrawn Status = "withdrawn"
)

// Section of the proposal.
type Section struct {
	Key   string
	Title string
	Body  string
}

// BudgetLine is one cost of the proposed project and who funds it.
type BudgetLine struct {
	Description    string
	Category       string // staff, services, materials, premises, overheads, other
	AmountCents    int64
	Funding        string    // "public" (asked of the municipality) or "cofunding"
	Kind           string    // co-funding "cash" or "in_kind"; "" for public
	OrganisationID uuid.UUID // who brings the co-funding; zero for public lines
}

// Declarations are the self-declarations (DPR 445/2000) an applicant makes.
type Declarations struct {
	NoExclusionGrounds  bool // none of the call's exclusion grounds applies
	TruthfulInformation bool // the information given is true
	PrivacyNotice       bool // the privacy notice was read
}

// Attachment is a file of the application, stored outside the database.
type Attachment struct {
	ID          uuid.UUID
	Name        string
	ContentType string
	Size        int64
	SHA256      string
	Key         string
	UploadedBy  string
	UploadedAt  time.Time
}

// Receipt proves what was submitted and when.
type Receipt struct {
	SubmittedAt  time.Time
	SHA256       string // of the submitted content, attachments included by their hashes
	RulesVersion int    // the call's rules the application was submitted under
}

// Admissibility is the officer's decision on an application.
type Admissibility struct {
	Status    string // pending, admissible, inadmissible, integration_requested
	Reasons   []string
	ReplyBy   time.Time // for integration_requested
	Reply     string    // the applicant's integration
	RepliedAt time.Time
	DecidedBy string
	DecidedAt time.Time
}

// Application to a call.
type Application struct {
	TenantID      uuid.UUID
	ID            uuid.UUID
	CallID        uuid.UUID
	Lead          uuid.UUID
	Partners      []uuid.UUID
	Title         string
	Sections      []Section
	Budget        []BudgetLine
	Declarations  Declarations
	Attachments   []Attachment
	Status        Status
	Receipt       *Receipt
	Admissibility Admissibility
	CreatedBy     string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	Version       int
}

var (
	ErrNotFound           = domain.Errorf(domain.KindNotFound, "application_not_found", "no such application")
	ErrNotDraft           = domain.Errorf(domain.KindPrecondition, "application_not_draft", "only a draft application can be changed")
	ErrDeadlinePassed     = domain.Errorf(domain.KindPrecondition, "submission_deadline_passed", "the call's submission deadline has passed")
	ErrCallNotOpen        = domain.Errorf(domain.KindPrecondition, "call_not_open", "the call is not open for submissions")
	ErrIncomplete         = domain.Errorf(domain.KindInvalid, "application_incomplete", "the application is not complete")
	ErrInvalidPartners    = domain.Errorf(domain.KindInvalid, "invalid_partners", "partners are distinct organisations other than the lead, at most 20")
	ErrInvalidBudget      = domain.Errorf(domain.KindInvalid, "invalid_budget", "budget lines have a description, a known category, a positive amount in cents and a valid funding")
	ErrOverMax            = domain.Errorf(domain.KindInvalid, "budget_over_maximum", "the public contribution asked exceeds the call's maximum per project")
	ErrInvalidText        = domain.Errorf(domain.KindInvalid, "invalid_text", "a text is empty or too long")
	ErrNotWithdrawable    = domain.Errorf(domain.KindPrecondition, "application_not_withdrawable", "only a submitted application can be withdrawn, before the ranking")
	ErrInvalidDecision    = domain.Errorf(domain.KindInvalid, "invalid_admissibility", "a decision is admissible, inadmissible with reasons, or integration_requested with reasons and a reply deadline")
	ErrDecisionTooEarly   = domain.Errorf(domain.KindPrecondition, "call_still_open", "admissibility is decided after the call closes")
	ErrNoIntegrationAsked = domain.Errorf(domain.KindPrecondition, "no_integration_requested", "no integration was requested, or its deadline has passed")
	ErrTooManyFiles       = domain.Errorf(domain.KindInvalid, "too_many_attachments", "at most 30 attachments")
)

// Categories of budget lines.
var Categories = []string{"staff", "services", "materials", "premises", "overheads", "other"}

// NewDraft starts an application of lead to c, while c accepts submissions.
func NewDraft(c *call.Call, lead uuid.UUID, by string, now time.Time) (*Application, error) {
	if !c.IsOpen(now) {
		if c.Status == call.StatusPublished && !now.Before(c.SubmissionDeadline) {
			return nil, ErrDeadlinePassed
		}
		return nil, ErrCallNotOpen
	}
	return &Application{TenantID: c.TenantID, ID: domain.NewID(), CallID: c.ID, Lead: lead, Status: StatusDraft,
		Admissibility: Admissibility{Status: "pending"}, CreatedBy: by, CreatedAt: now, UpdatedAt: now, Version: 1}, nil
}

// Content is what an applicant edits.
type Content struct {
	Partners     []uuid.UUID
	Title        string
	Sections     []Section
	Budget       []BudgetLine
	Declarations Declarations
}

// Edit replaces the content of a draft.
func (a *Application) Edit(in Content, now time.Time) error {
	if a.Status != StatusDraft {
		return ErrNotDraft
	}
	if err := validateContent(a.Lead, in, false); err != nil {
		return err
	}
	a.Partners, a.Title, a.Sections, a.Budget, a.Declarations = in.Partners, strings.TrimSpace(in.Title), in.Sections, in.Budget, in.Declarations
	a.UpdatedAt = now
	return nil
}

func validateContent(lead uuid.UUID, in Content, complete bool) error {
	if len(in.Partners) > 20 {
		return ErrInvalidPartners.WithField("partners")
	}
	seen := map[uuid.UUID]bool{lead: true}
	for _, p := range in.Partners {
		if p == uuid.Nil || seen[p] {
			return ErrInvalidPartners.WithField("partners")
		}
		seen[p] = true
	}
	if n := utf8.RuneCountInString(strings.TrimSpace(in.Title)); n > 300 || complete && n < 3 {
		return ErrInvalidText.WithField("title")
	}
	if len(in.Sections) > 30 || complete && len(in.Sections) == 0 {
		return ErrInvalidText.WithField("sections")
	}
	keys := map[string]bool{}
	for _, s := range in.Sections {
		if s.Key == "" || len(s.Key) > 40 || keys[s.Key] || utf8.RuneCountInString(s.Title) > 300 || utf8.RuneCountInString(s.Body) > 50000 {
			return ErrInvalidText.WithField("sections")
		}
		keys[s.Key] = true
	}
	if len(in.Budget) > 200 {
		return ErrInvalidBudget.WithField("budget")
	}
	for _, b := range in.Budget {
		ok := strings.TrimSpace(b.Description) != "" && utf8.RuneCountInString(b.Description) <= 500 && slices.Contains(Categories, b.Category) &&
			b.AmountCents > 0 && b.AmountCents <= 1e12
		switch b.Funding {
		case "public":
			ok = ok && b.Kind == "" && b.OrganisationID == uuid.Nil
		case "cofunding":
			ok = ok && (b.Kind == "cash" || b.Kind == "in_kind") && seen[b.OrganisationID]
		default:
			ok = false
		}
		if !ok {
			return ErrInvalidBudget.WithField("budget")
		}
	}
	if complete {
		d := in.Declarations
		if !d.NoExclusionGrounds || !d.TruthfulInformation || !d.PrivacyNotice {
			return ErrIncomplete.WithMessage("every declaration must be made").WithField("declarations")
		}
	}
	return nil
}

// PublicAsked is the public contribution the application asks for.
func (a *Application) PublicAsked() int64 {
	var n int64
	for _, b := range a.Budget {
		if b.Funding == "public" {
			n += b.AmountCents
		}
	}
	return n
}

// Cofunding brought by the partnership, in cents.
func (a *Application) Cofunding() int64 {
	var n int64
	for _, b := range a.Budget {
		if b.Funding == "cofunding" {
			n += b.AmountCents
		}
	}
	return n
}

// Submit closes the draft if c accepts submissions at now (strictly before
// the deadline) and the application is complete, and issues the receipt.
func (a *Application) Submit(c *call.Call, now time.Time) (*Receipt, error) {
	if a.Status != StatusDraft {
		return nil, ErrNotDraft
	}
	if !c.IsOpen(now) {
		if c.Status == call.StatusPublished && !now.Before(c.SubmissionDeadline) || c.Status == call.StatusClosed {
			return nil, ErrDeadlinePassed
		}
		return nil, ErrCallNotOpen
	}
	if err := validateContent(a.Lead, Content{a.Partners, a.Title, a.Sections, a.Budget, a.Declarations}, true); err != nil {
		return nil, err
	}
	if a.PublicAsked() > c.Budget.MaxPerProjectCents {
		return nil, ErrOverMax.WithField("budget")
	}
	r := &Receipt{SubmittedAt: now, SHA256: a.Digest(), RulesVersion: c.RulesVersion}
	a.Status, a.Receipt, a.UpdatedAt = StatusSubmitted, r, now
	return r, nil
}

// Digest is the SHA-256 of the application's content in a canonical form
// (fixed field order; attachments by name, size and hash).
func (a *Application) Digest() string {
	type att struct {
		Name   string `json:"name"`
		Size   int64  `json:"size"`
		SHA256 string `json:"sha256"`
	}
	atts := make([]att, 0, len(a.Attachments))
	for _, f := range a.Attachments {
		atts = append(atts, att{f.Name, f.Size, f.SHA256})
	}
	slices.SortFunc(atts, func(x, y att) int { return strings.Compare(x.SHA256+x.Name, y.SHA256+y.Name) })
	canon := struct {
		ID           uuid.UUID    `json:"id"`
		Call         uuid.UUID    `json:"call"`
		Lead         uuid.UUID    `json:"lead"`
		Partners     []uuid.UUID  `json:"partners"`
		Title        string       `json:"title"`
		Sections     []Section    `json:"sections"`
		Budget       []BudgetLine `json:"budget"`
		Declarations Declarations `json:"declarations"`
		Attachments  []att        `json:"attachments"`
	}{a.ID, a.CallID, a.Lead, a.Partners, a.Title, a.Sections, a.Budget, a.Declarations, atts}
	b, _ := json.Marshal(canon) // struct fields marshal in declaration order: canonical
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Withdraw takes a submitted application back, until the ranking.
func (a *Application) Withdraw(c *call.Call, now time.Time) error {
	if a.Status != StatusSubmitted || c.Status == call.StatusRanked || c.Status == call.StatusConcluded {
		return ErrNotWithdrawable
	}
	a.Status, a.UpdatedAt = StatusWithdrawn, now
	return nil
}

// Decide records the officer's admissibility decision once the call is closed.
func (a *Application) Decide(c *call.Call, status string, reasons []string, replyBy time.Time, by string, now time.Time) error {
	if c.Status == call.StatusPublished || c.Status == call.StatusDraft {
		return ErrDecisionTooEarly
	}
	if a.Status != StatusSubmitted {
		return ErrNotWithdrawable.WithMessage("only a submitted application is assessed")
	}
	for _, r := range reasons {
		if strings.TrimSpace(r) == "" || utf8.RuneCountInString(r) > 4000 {
			return ErrInvalidDecision.WithField("reasons")
		}
	}
	switch status {
	case "admissible":
	case "inadmissible":
		if len(reasons) == 0 {
			return ErrInvalidDecision.WithField("reasons")
		}
	case "integration_requested":
		if len(reasons) == 0 || !replyBy.After(now) {
			return ErrInvalidDecision.WithField("replyBy")
		}
	default:
		return ErrInvalidDecision.WithField("status")
	}
	a.Admissibility = Admissibility{Status: status, Reasons: reasons, ReplyBy: replyBy, DecidedBy: by, DecidedAt: now}
	a.UpdatedAt = now
	return nil
}

// Integrate is the applicant's reply to a request for integration.
func (a *Application) Integrate(reply string, now time.Time) error {
	if a.Admissibility.Status != "integration_requested" || !now.Before(a.Admissibility.ReplyBy) {
		return ErrNoIntegrationAsked
	}
	if n := utf8.RuneCountInString(strings.TrimSpace(reply)); n < 1 || n > 20000 {
		return ErrInvalidText.WithField("reply")
	}
	a.Admissibility.Reply, a.Admissibility.RepliedAt, a.UpdatedAt = strings.TrimSpace(reply), now, now
	return nil
}

// Organisations are the lead and the partners.
func (a *Application) Organisations() []uuid.UUID { return append([]uuid.UUID{a.Lead}, a.Partners...) }

// Check is one automatic eligibility check shown to the officer.
type Check struct {
	Organisation uuid.UUID
	Rule         string // runts_registered, legal_form, territory
	Passed       bool
	Detail       string
}

// Eligibility checks the call's rules against each organisation of the
// application; orgs must hold them all (a missing one fails every rule).
func Eligibility(c *call.Call, a *Application, orgs map[uuid.UUID]*organisation.Organisation) []Check {
	var out []Check
	for _, id := range a.Organisations() {
		o := orgs[id]
		if c.Eligibility.RUNTSRequired {
			ok := o != nil && o.RUNTS.Status == "registered"
			detail := "not registered in RUNTS"
			if ok {
				detail = "RUNTS " + o.RUNTS.Section + " n. " + o.RUNTS.Number
			}
			out = append(out, Check{id, "runts_registered", ok, detail})
		}
		if len(c.Eligibility.LegalForms) > 0 {
			ok := o != nil && slices.Contains(c.Eligibility.LegalForms, string(o.LegalForm))
			detail := "legal form not admitted"
			if o != nil {
				detail = string(o.LegalForm)
			}
			out = append(out, Check{id, "legal_form", ok, detail})
		}
		if len(c.Eligibility.Territory) > 0 {
			ok := o != nil && slices.Contains(c.Eligibility.Territory, o.SeatISTAT)
			detail := "seat outside the call's territory"
			if ok {
				detail = "seat in " + o.SeatISTAT
			}
			out = append(out, Check{id, "territory", ok, detail})
		}
	}
	return out
}
