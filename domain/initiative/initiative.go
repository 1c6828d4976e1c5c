// Package initiative models bottom-up initiatives: a third-sector
// organisation proposes one to a municipality (art. 55 lets third-sector
// bodies start the procedure) with the problem, the target group, the
// approach, its partners and the resources it offers. The municipality sets
// a triage deadline and triages it: accepted into co-programming (a new or an
// existing process) or into a call (a draft call linked to it), declined with
// reasons, or merged with another initiative. A public register lists every
// initiative and its status; an initiative still untriaged at its deadline is
// shown as overdue.
//
// Lifecycle: proposed → in_triage (deadline set; may be reset) → accepted |
// declined | merged; the proposer may withdraw it before triage.
package initiative

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/call"
)

// Status of an initiative.
type Status string

const (
	StatusProposed  Status = "proposed"
	StatusInTriage  Status = "in_triage"
	StatusAccepted  Status = "accepted"
	StatusDeclined  Status = "declined"
	StatusMerged    Status = "merged"
	StatusWithdrawn Status = "withdrawn"
)

// Statuses lists every status.
var Statuses = []Status{StatusProposed, StatusInTriage, StatusAccepted, StatusDeclined, StatusMerged, StatusWithdrawn}

// Route says where an accepted initiative went.
type Route string

const (
	RouteCoprogramming Route = "coprogramming"
	RouteCall          Route = "call"
)

// Initiative is a proposal of an organisation to a municipality.
type Initiative struct {
	TenantID         uuid.UUID
	ID               uuid.UUID
	OrganisationID   uuid.UUID
	OrganisationName string // read from the registry; organisation names are public
	Title            string
	Problem          string
	TargetGroup      string
	Approach         string
	PolicyArea       string   // one of call.PolicyAreas; empty when unsure
	Partners         []string // names of partner bodies
	ResourcesOffered string
	Status           Status
	TriageDeadline   time.Time // set by the municipality; zero until then
	Route            Route     // accepted only
	ProcessID        uuid.UUID // accepted into co-programming
	CallID           uuid.UUID // accepted into a call
	DeclineReason    string
	MergedInto       uuid.UUID
	ProposedBy       string // subject of the proposer: never public
	ProposedAt       time.Time
	TriagedAt        time.Time
	UpdatedAt        time.Time
	Version          int
}

var (
	ErrNotFound       = domain.Errorf(domain.KindNotFound, "initiative_not_found", "no such initiative")
	ErrTransition     = domain.Errorf(domain.KindPrecondition, "invalid_initiative_transition", "this status change is not allowed")
	ErrInvalidTitle   = domain.Errorf(domain.KindInvalid, "invalid_title", "the title must be 3-300 characters")
	ErrInvalidText    = domain.Errorf(domain.KindInvalid, "invalid_text", "a text is too long or empty")
	ErrInvalidPolicy  = domain.Errorf(domain.KindInvalid, "invalid_policy_area", "unknown policy area")
	ErrInvalidDate    = domain.Errorf(domain.KindInvalid, "invalid_triage_deadline", "the triage deadline must be in the future")
	ErrInvalidReason  = domain.Errorf(domain.KindInvalid, "reason_required", "a reason of 3-2000 characters is required")
	ErrInvalidMerge   = domain.Errorf(domain.KindInvalid, "invalid_merge", "an initiative merges into another open or accepted initiative of the same municipality, never into itself or into one merged away")
	ErrInvalidRoute   = domain.Errorf(domain.KindInvalid, "invalid_route", "an accepted initiative goes into co-programming or into a call")
	ErrProcessClosed  = domain.Errorf(domain.KindPrecondition, "coprogramming_not_joinable", "an initiative joins a co-programming process that is still a draft or open")
	ErrDeadlineNeeded = domain.Errorf(domain.KindPrecondition, "triage_deadline_required", "set the triage deadline before triaging")
)

func textOK(s string, max int, required bool) bool {
	n := utf8.RuneCountInString(strings.TrimSpace(s))
	return n <= max && (!required || n > 0)
}

// Propose validates a new initiative of org to tenant.
func Propose(tenant, org uuid.UUID, in Initiative, by string, now time.Time) (*Initiative, error) {
	i := Initiative{TenantID: tenant, ID: domain.NewID(), OrganisationID: org, Title: strings.TrimSpace(in.Title),
		Problem: strings.TrimSpace(in.Problem), TargetGroup: strings.TrimSpace(in.TargetGroup), Approach: strings.TrimSpace(in.Approach),
		PolicyArea: in.PolicyArea, ResourcesOffered: strings.TrimSpace(in.ResourcesOffered), Status: StatusProposed,
		ProposedBy: by, ProposedAt: now, UpdatedAt: now, Version: 1}
	if n := utf8.RuneCountInString(i.Title); n < 3 || n > 300 {
		return nil, ErrInvalidTitle.WithField("title")
	}
	for field, s := range map[string]string{"problem": i.Problem, "targetGroup": i.TargetGroup, "approach": i.Approach} {
		if !textOK(s, 20000, true) {
			return nil, ErrInvalidText.WithField(field)
		}
	}
	if !textOK(i.ResourcesOffered, 20000, false) {
		return nil, ErrInvalidText.WithField("resourcesOffered")
	}
	if i.PolicyArea != "" && !slices.Contains(call.PolicyAreas, i.PolicyArea) {
		return nil, ErrInvalidPolicy.WithField("policyArea")
	}
	if len(in.Partners) > 50 {
		return nil, ErrInvalidText.WithField("partners")
	}
	for _, p := range in.Partners {
		if !textOK(p, 300, true) {
			return nil, ErrInvalidText.WithField("partners")
		}
		i.Partners = append(i.Partners, strings.TrimSpace(p))
	}
	return &i, nil
}

// Open reports whether the initiative still awaits triage.
func (i *Initiative) Open() bool { return i.Status == StatusProposed || i.Status == StatusInTriage }

// SetDeadline sets (or moves) the date by which the municipality triages,
// strictly after now by the server's clock.
func (i *Initiative) SetDeadline(at, now time.Time) error {
	if !i.Open() {
		return ErrTransition.WithMessage("a %s initiative has no triage deadline to set", i.Status)
	}
	if !now.Before(at) {
		return ErrInvalidDate.WithField("deadline")
	}
	i.Status, i.TriageDeadline, i.UpdatedAt = StatusInTriage, at, now
	return nil
}

// Overdue reports whether the triage deadline has passed, untriaged: from
// the deadline itself on, judged by the server's clock.
func (i *Initiative) Overdue(now time.Time) bool {
	return i.Status == StatusInTriage && !now.Before(i.TriageDeadline)
}

// CanTriage reports why the initiative cannot be triaged now, if it cannot:
// the municipality sets its deadline first, and triages once.
func (i *Initiative) CanTriage() error {
	switch i.Status {
	case StatusInTriage:
		return nil
	case StatusProposed:
		return ErrDeadlineNeeded
	}
	return ErrTransition.WithMessage("a %s initiative is already triaged or withdrawn", i.Status)
}

func (i *Initiative) triage(to Status, now time.Time) error {
	if err := i.CanTriage(); err != nil {
		return err
	}
	i.Status, i.TriagedAt, i.UpdatedAt = to, now, now
	return nil
}

// AcceptIntoProcess accepts the initiative into a co-programming process.
func (i *Initiative) AcceptIntoProcess(process uuid.UUID, now time.Time) error {
	if process == uuid.Nil {
		return ErrInvalidRoute.WithField("processId")
	}
	if err := i.triage(StatusAccepted, now); err != nil {
		return err
	}
	i.Route, i.ProcessID = RouteCoprogramming, process
	return nil
}

// AcceptIntoCall accepts the initiative into a (draft) call.
func (i *Initiative) AcceptIntoCall(c uuid.UUID, now time.Time) error {
	if c == uuid.Nil {
		return ErrInvalidRoute
	}
	if err := i.triage(StatusAccepted, now); err != nil {
		return err
	}
	i.Route, i.CallID = RouteCall, c
	return nil
}

// Decline refuses the initiative; the reasons are required and public.
func (i *Initiative) Decline(reason string, now time.Time) error {
	reason = strings.TrimSpace(reason)
	if n := utf8.RuneCountInString(reason); n < 3 || n > 2000 {
		return ErrInvalidReason.WithField("reason")
	}
	if err := i.triage(StatusDeclined, now); err != nil {
		return err
	}
	i.DeclineReason = reason
	return nil
}

// MergeInto merges the initiative into target, of the same tenant. The
// target may not itself be merged away (nor declined or withdrawn), so a
// chain of merges always ends at a live initiative and never loops.
func (i *Initiative) MergeInto(target *Initiative, now time.Time) error {
	if target == nil || target.ID == i.ID || target.TenantID != i.TenantID ||
		(!target.Open() && target.Status != StatusAccepted) {
		return ErrInvalidMerge.WithField("into")
	}
	if err := i.triage(StatusMerged, now); err != nil {
		return err
	}
	i.MergedInto = target.ID
	return nil
}

// Withdraw lets the proposer take the initiative back before triage.
func (i *Initiative) Withdraw(now time.Time) error {
	if !i.Open() {
		return ErrTransition.WithMessage("a %s initiative cannot be withdrawn", i.Status)
	}
	i.Status, i.UpdatedAt = StatusWithdrawn, now
	return nil
}

// DraftCall is the call an accepted initiative leads to; the officer
// completes budget, criteria and dates.
func (i *Initiative) DraftCall() call.Call {
	return call.Call{Title: i.Title, PolicyArea: i.PolicyArea,
		Summary:    "Problem: " + i.Problem + "\n\nTarget group: " + i.TargetGroup + "\n\nApproach: " + i.Approach,
		Objectives: []string{i.Approach}}
}

// Public is an initiative as the public register shows it: no personal
// data (who proposed it is left out; organisation names are public).
type Public struct {
	ID               uuid.UUID  `json:"id"`
	Title            string     `json:"title"`
	Organisation     string     `json:"organisation"`
	OrganisationID   uuid.UUID  `json:"organisationId"`
	Problem          string     `json:"problem"`
	TargetGroup      string     `json:"targetGroup"`
	Approach         string     `json:"approach"`
	PolicyArea       string     `json:"policyArea,omitempty"`
	Partners         []string   `json:"partners"`
	ResourcesOffered string     `json:"resourcesOffered,omitempty"`
	Status           Status     `json:"status"`
	ProposedAt       time.Time  `json:"proposedAt"`
	TriageDeadline   *time.Time `json:"triageDeadline,omitempty"`
	Overdue          bool       `json:"overdue"`
	TriagedAt        *time.Time `json:"triagedAt,omitempty"`
	Route            Route      `json:"route,omitempty"`
	ProcessID        *uuid.UUID `json:"coprogrammingId,omitempty"`
	CallID           *uuid.UUID `json:"callId,omitempty"`
	DeclineReason    string     `json:"declineReason,omitempty"`
	MergedInto       *uuid.UUID `json:"mergedInto,omitempty"`
}

func ptr[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}

// PublicView is the register's entry at now.
func (i *Initiative) PublicView(now time.Time) Public {
	partners := i.Partners
	if partners == nil {
		partners = []string{}
	}
	return Public{ID: i.ID, Title: i.Title, Organisation: i.OrganisationName, OrganisationID: i.OrganisationID,
		Problem: i.Problem, TargetGroup: i.TargetGroup, Approach: i.Approach, PolicyArea: i.PolicyArea, Partners: partners,
		ResourcesOffered: i.ResourcesOffered, Status: i.Status, ProposedAt: i.ProposedAt, TriageDeadline: ptr(i.TriageDeadline),
		Overdue: i.Overdue(now), TriagedAt: ptr(i.TriagedAt), Route: i.Route, ProcessID: ptr(i.ProcessID), CallID: ptr(i.CallID),
		DeclineReason: i.DeclineReason, MergedInto: ptr(i.MergedInto)}
}
