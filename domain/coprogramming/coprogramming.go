// Package coprogramming models co-programming (co-programmazione, Third
// Sector Code art. 55 c. 2): before any call, a municipality opens a process
// on a topic (policy area, territory, period); organisations contribute needs,
// data and the resources they could offer; officers record citizens'
// contributions; the officer closes the process and publishes its outputs
// (priorities, resources, a summary) by a formal act. A call may then be
// drafted from the outputs, keeping the link.
//
// Lifecycle: draft → open → closed → published, or cancelled (with a reason)
// before publication.
package coprogramming

import (
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/call"
)

// Status of a process.
type Status string

const (
	StatusDraft     Status = "draft"
	StatusOpen      Status = "open"
	StatusClosed    Status = "closed"
	StatusPublished Status = "published"
	StatusCancelled Status = "cancelled"
)

// Statuses lists every status, for tests and validation.
var Statuses = []Status{StatusDraft, StatusOpen, StatusClosed, StatusPublished, StatusCancelled}

// Outputs are what the process produced, published by a formal act.
type Outputs struct {
	Priorities []string
	Resources  []string // resources the parties made available
	Summary    string
}

// Process is one co-programming process of a municipality.
type Process struct {
	TenantID     uuid.UUID
	ID           uuid.UUID
	Title        string
	Description  string
	PolicyArea   string    // one of call.PolicyAreas
	Territory    []string  // ISTAT codes of the comuni concerned; empty: the whole municipality
	PeriodFrom   time.Time // the period the reading of needs covers (dates)
	PeriodTo     time.Time
	Status       Status
	Outputs      Outputs
	Act          call.Act // the formal act publishing the outputs
	CancelReason string
	CreatedBy    string
	CreatedAt    time.Time
	OpenedAt     time.Time
	ClosedAt     time.Time
	PublishedAt  time.Time
	UpdatedAt    time.Time
	Version      int
}

// ContributionKind says who contributed.
type ContributionKind string

const (
	KindOrganisation ContributionKind = "organisation"
	KindCitizen      ContributionKind = "citizen"
)

// Contribution to a process. An organisation's names the organisation; a
// citizen's, recorded by an officer, holds at most a name (optional) and the
// text: no e-mail, phone, address or other personal data.
type Contribution struct {
	TenantID       uuid.UUID
	ID             uuid.UUID
	ProcessID      uuid.UUID
	Kind           ContributionKind
	OrganisationID uuid.UUID // organisation contributions only
	CitizenName    string    // citizen contributions only; may be empty
	Needs          string
	Data           string // data and evidence the contributor brings
	Resources      string // resources offered (people, premises, money, in kind)
	RecordedBy     string
	CreatedAt      time.Time
}

var (
	ErrNotFound       = domain.Errorf(domain.KindNotFound, "coprogramming_not_found", "no such co-programming process")
	ErrTransition     = domain.Errorf(domain.KindPrecondition, "invalid_coprogramming_transition", "this status change is not allowed")
	ErrNotOpen        = domain.Errorf(domain.KindPrecondition, "coprogramming_not_open", "contributions are accepted only while the process is open")
	ErrNotPublished   = domain.Errorf(domain.KindPrecondition, "coprogramming_not_published", "a call is drafted from published outputs only")
	ErrInvalidTitle   = domain.Errorf(domain.KindInvalid, "invalid_title", "the title must be 3-300 characters")
	ErrInvalidText    = domain.Errorf(domain.KindInvalid, "invalid_text", "a text is too long or empty")
	ErrInvalidPolicy  = domain.Errorf(domain.KindInvalid, "invalid_policy_area", "unknown policy area")
	ErrInvalidTerr    = domain.Errorf(domain.KindInvalid, "invalid_territory", "territory entries are 6-digit ISTAT codes")
	ErrInvalidPeriod  = domain.Errorf(domain.KindInvalid, "invalid_period", "the period has a start and an end, the end not before the start")
	ErrEmpty          = domain.Errorf(domain.KindInvalid, "empty_contribution", "a contribution states needs, data or resources")
	ErrPersonalData   = domain.Errorf(domain.KindInvalid, "personal_data_refused", "a citizen's contribution keeps at most a name: no e-mail address, phone number or other contact")
	ErrInvalidOutputs = domain.Errorf(domain.KindInvalid, "invalid_outputs", "the outputs need at least one priority and a summary")
	ErrInvalidReason  = domain.Errorf(domain.KindInvalid, "reason_required", "a reason of 3-2000 characters is required")
)

func textOK(s string, max int, required bool) bool {
	n := utf8.RuneCountInString(strings.TrimSpace(s))
	return n <= max && (!required || n > 0)
}

func listOK(l []string, maxItems, maxLen int) bool {
	if len(l) > maxItems {
		return false
	}
	for _, s := range l {
		if !textOK(s, maxLen, true) {
			return false
		}
	}
	return true
}

func (p *Process) validate() error {
	p.Title = strings.TrimSpace(p.Title)
	if n := utf8.RuneCountInString(p.Title); n < 3 || n > 300 {
		return ErrInvalidTitle.WithField("title")
	}
	if !textOK(p.Description, 20000, false) {
		return ErrInvalidText.WithField("description")
	}
	if !slices.Contains(call.PolicyAreas, p.PolicyArea) {
		return ErrInvalidPolicy.WithField("policyArea")
	}
	if len(p.Territory) > 8000 {
		return ErrInvalidTerr.WithField("territory")
	}
	for _, t := range p.Territory {
		if len(t) != 6 || strings.Trim(t, "0123456789") != "" {
			return ErrInvalidTerr.WithField("territory")
		}
	}
	if p.PeriodFrom.IsZero() || p.PeriodTo.IsZero() || p.PeriodTo.Before(p.PeriodFrom) {
		return ErrInvalidPeriod.WithField("periodTo")
	}
	return nil
}

// New validates a draft process of tenant.
func New(tenant uuid.UUID, p Process, by string, now time.Time) (*Process, error) {
	p.TenantID, p.ID, p.Status = tenant, domain.NewID(), StatusDraft
	p.CreatedBy, p.CreatedAt, p.UpdatedAt, p.Version = by, now, now, 1
	p.Outputs, p.Act, p.CancelReason = Outputs{}, call.Act{}, ""
	p.OpenedAt, p.ClosedAt, p.PublishedAt = time.Time{}, time.Time{}, time.Time{}
	if err := p.validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// Open starts accepting contributions.
func (p *Process) Open(now time.Time) error {
	if p.Status != StatusDraft {
		return ErrTransition.WithMessage("only a draft opens; this process is %s", p.Status)
	}
	p.Status, p.OpenedAt, p.UpdatedAt = StatusOpen, now, now
	return nil
}

// Close stops contributions, so the officer can draw the outputs.
func (p *Process) Close(now time.Time) error {
	if p.Status != StatusOpen {
		return ErrTransition.WithMessage("only an open process closes; this process is %s", p.Status)
	}
	p.Status, p.ClosedAt, p.UpdatedAt = StatusClosed, now, now
	return nil
}

// Publish publishes the outputs by a formal act (kind "decision").
func (p *Process) Publish(out Outputs, act call.Act, now time.Time) error {
	if p.Status != StatusClosed {
		return ErrTransition.WithMessage("outputs are published once the process is closed; this process is %s", p.Status)
	}
	if act.Kind != "decision" {
		return call.ErrActRequired.WithMessage("publishing the outputs needs a formal act of kind \"decision\"").WithField("act")
	}
	if err := call.ValidateAct(act); err != nil {
		return err
	}
	out.Summary = strings.TrimSpace(out.Summary)
	if len(out.Priorities) == 0 || !listOK(out.Priorities, 50, 2000) || !listOK(out.Resources, 50, 2000) || !textOK(out.Summary, 20000, true) {
		return ErrInvalidOutputs.WithField("outputs")
	}
	p.Outputs, p.Act = out, act
	p.Status, p.PublishedAt, p.UpdatedAt = StatusPublished, now, now
	return nil
}

// Cancel abandons the process before its outputs are published.
func (p *Process) Cancel(reason string, now time.Time) error {
	if p.Status == StatusPublished || p.Status == StatusCancelled {
		return ErrTransition.WithMessage("a %s process cannot be cancelled", p.Status)
	}
	reason = strings.TrimSpace(reason)
	if n := utf8.RuneCountInString(reason); n < 3 || n > 2000 {
		return ErrInvalidReason.WithField("reason")
	}
	p.Status, p.CancelReason, p.UpdatedAt = StatusCancelled, reason, now
	return nil
}

// Contact data that must not ride along a citizen's contribution: an
// e-mail address, or eight or more digits separated at most by spaces,
// hyphens or slashes (a phone number; amounts use dots, "150.000", and pass).
var (
	emailLike = regexp.MustCompile(`\S@\S`)
	phoneLike = regexp.MustCompile(`\d(?:[ /-]?\d){7,}`)
)

// LooksLikeContact reports whether s carries an e-mail address or a phone number.
func LooksLikeContact(s string) bool { return emailLike.MatchString(s) || phoneLike.MatchString(s) }

// Contribute builds an organisation's or a citizen's contribution while the
// process is open. Exactly one of org (non-zero) or a citizen (org zero) is meant.
func (p *Process) Contribute(c Contribution, by string, now time.Time) (*Contribution, error) {
	if p.Status != StatusOpen {
		return nil, ErrNotOpen
	}
	c.TenantID, c.ID, c.ProcessID, c.RecordedBy, c.CreatedAt = p.TenantID, domain.NewID(), p.ID, by, now
	c.CitizenName, c.Needs, c.Data, c.Resources = strings.TrimSpace(c.CitizenName), strings.TrimSpace(c.Needs), strings.TrimSpace(c.Data), strings.TrimSpace(c.Resources)
	switch c.Kind {
	case KindOrganisation:
		if c.OrganisationID == uuid.Nil || c.CitizenName != "" {
			return nil, ErrInvalidText.WithField("organisationId")
		}
	case KindCitizen:
		c.OrganisationID = uuid.Nil
		if !textOK(c.CitizenName, 200, false) {
			return nil, ErrInvalidText.WithField("name")
		}
		if LooksLikeContact(c.CitizenName) {
			return nil, ErrPersonalData.WithField("name")
		}
	default:
		return nil, ErrInvalidText.WithField("kind")
	}
	if c.Needs == "" && c.Data == "" && c.Resources == "" {
		return nil, ErrEmpty
	}
	for field, s := range map[string]string{"needs": c.Needs, "data": c.Data, "resources": c.Resources} {
		if !textOK(s, 20000, false) {
			return nil, ErrInvalidText.WithField(field)
		}
		if c.Kind == KindCitizen && LooksLikeContact(s) {
			return nil, ErrPersonalData.WithField(field)
		}
	}
	return &c, nil
}

// DraftCall is the call a published process leads to: its title, policy
// area and territory, its priorities as objectives and its summary. The
// officer completes budget, criteria and dates before publishing it.
func (p *Process) DraftCall() (call.Call, error) {
	if p.Status != StatusPublished {
		return call.Call{}, ErrNotPublished
	}
	c := call.Call{Title: p.Title, Summary: p.Outputs.Summary, PolicyArea: p.PolicyArea,
		Objectives: slices.Clone(p.Outputs.Priorities), Eligibility: call.Eligibility{Territory: slices.Clone(p.Territory)}}
	if len(c.Objectives) > 50 {
		c.Objectives = c.Objectives[:50]
	}
	return c, nil
}

// Public reports whether the process is visible without login: its outputs,
// once published.
func (p *Process) Public() bool { return p.Status == StatusPublished }
