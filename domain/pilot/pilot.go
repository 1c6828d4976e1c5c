// Package pilot models a pilot (sperimentazione): a small, time-boxed
// experiment inside an agreement, with a hypothesis, a site, a cohort and a
// period; designed → running → evaluating → decided, the decision (scale |
// iterate | stop) linked to its follow-up (a new call or agreement).
package pilot

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
)

// Status of a pilot.
type Status string

const (
	StatusDesigned   Status = "designed"
	StatusRunning    Status = "running"
	StatusEvaluating Status = "evaluating"
	StatusDecided    Status = "decided"
)

// FollowUp links a decision to what came of it.
type FollowUp struct {
	Kind string // call or agreement
	ID   uuid.UUID
}

// Pilot inside an agreement.
type Pilot struct {
	TenantID      uuid.UUID
	ID            uuid.UUID
	AgreementID   uuid.UUID
	Title         string
	Hypothesis    string
	SiteISTAT     string
	Neighbourhood string
	CohortSize    int
	Start, End    time.Time
	Status        Status
	Decision      string // scale, iterate, stop
	DecisionNote  string
	FollowUp      *FollowUp
	CreatedAt     time.Time
	UpdatedAt     time.Time
	Version       int
}

var (
	ErrNotFound   = domain.Errorf(domain.KindNotFound, "pilot_not_found", "no such pilot")
	ErrInvalid    = domain.Errorf(domain.KindInvalid, "invalid_pilot", "the pilot is not valid")
	ErrTransition = domain.Errorf(domain.KindPrecondition, "invalid_pilot_transition", "this status change is not allowed")
	ErrDecision   = domain.Errorf(domain.KindInvalid, "invalid_decision", "a decision is scale, iterate or stop, with a note; scale and iterate may link a follow-up call or agreement")
)

// New validates a designed pilot.
func New(tenant, agreement uuid.UUID, p Pilot, now time.Time) (*Pilot, error) {
	p.TenantID, p.ID, p.AgreementID, p.Status, p.CreatedAt, p.UpdatedAt, p.Version = tenant, domain.NewID(), agreement, StatusDesigned, now, now, 1
	p.Decision, p.DecisionNote, p.FollowUp = "", "", nil
	p.Title, p.Hypothesis = strings.TrimSpace(p.Title), strings.TrimSpace(p.Hypothesis)
	switch {
	case utf8.RuneCountInString(p.Title) < 3 || utf8.RuneCountInString(p.Title) > 300:
		return nil, ErrInvalid.WithMessage("the title is 3-300 characters").WithField("title")
	case p.Hypothesis == "" || utf8.RuneCountInString(p.Hypothesis) > 4000:
		return nil, ErrInvalid.WithMessage("the hypothesis is 1-4000 characters").WithField("hypothesis")
	case p.SiteISTAT != "" && (len(p.SiteISTAT) != 6 || strings.Trim(p.SiteISTAT, "0123456789") != ""):
		return nil, ErrInvalid.WithMessage("the site is the 6-digit ISTAT code of a comune").WithField("siteIstatCode")
	case utf8.RuneCountInString(p.Neighbourhood) > 200:
		return nil, ErrInvalid.WithField("neighbourhood")
	case p.CohortSize < 1 || p.CohortSize > 1_000_000:
		return nil, ErrInvalid.WithMessage("the cohort has 1-1,000,000 people").WithField("cohortSize")
	case p.Start.IsZero() || !p.End.After(p.Start):
		return nil, ErrInvalid.WithMessage("the pilot ends after it starts").WithField("end")
	}
	return &p, nil
}

var steps = map[string]struct {
	from Status
	to   Status
}{
	"start":    {StatusDesigned, StatusRunning},
	"evaluate": {StatusRunning, StatusEvaluating},
}

// Transition starts the pilot or moves it to evaluation.
func (p *Pilot) Transition(action string, now time.Time) error {
	s, ok := steps[action]
	if !ok || p.Status != s.from {
		return ErrTransition.WithMessage("cannot %s a pilot that is %s", action, p.Status)
	}
	p.Status, p.UpdatedAt = s.to, now
	return nil
}

// Decide records the decision after evaluation.
func (p *Pilot) Decide(decision, note string, follow *FollowUp, now time.Time) error {
	if p.Status != StatusEvaluating {
		return ErrTransition.WithMessage("a pilot is decided after its evaluation; this one is %s", p.Status)
	}
	note = strings.TrimSpace(note)
	if !slices.Contains([]string{"scale", "iterate", "stop"}, decision) || note == "" || utf8.RuneCountInString(note) > 4000 {
		return ErrDecision.WithField("decision")
	}
	if follow != nil && (decision == "stop" || (follow.Kind != "call" && follow.Kind != "agreement") || follow.ID == uuid.Nil) {
		return ErrDecision.WithField("followUp")
	}
	p.Status, p.Decision, p.DecisionNote, p.FollowUp, p.UpdatedAt = StatusDecided, decision, note, follow, now
	return nil
}
