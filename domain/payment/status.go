package payment

import (
	"slices"
	"strings"
)

// Status is where an outcome payment stands.
type Status string

// Statuses.
const (
	Computed Status = "computed" // computed from a verified measurement
	Approved Status = "approved" // approved by a formal act (atto formale)
	Paid     Status = "paid"     // paid: final
	Withheld Status = "withheld" // withheld with a reason: final
	Disputed Status = "disputed" // contested; it returns to computed or is withheld
)

// transitions lists, for each status, where it may go.
var transitions = map[Status][]Status{
	Computed: {Approved, Withheld, Disputed},
	Approved: {Paid, Withheld, Disputed},
	Disputed: {Computed, Withheld},
}

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	switch s {
	case Computed, Approved, Paid, Withheld, Disputed:
		return true
	}
	return false
}

// CanTransition reports whether a payment may move from one status to
// another: computed → approved → paid; computed|approved → withheld;
// computed|approved → disputed; disputed → computed|withheld. Staying in
// the same status is not a transition; paid and withheld are final.
func CanTransition(from, to Status) bool {
	return slices.Contains(transitions[from], to)
}

// Transition checks a change of status with its note: moving to approved
// needs the reference of the formal act, moving to withheld or disputed
// needs the reason. It returns ErrInvalidTransition (KindPrecondition) when
// CanTransition refuses, and ErrTransitionNoteNeeded (field "note") when the
// note is blank.
func Transition(from, to Status, note string) error {
	if !CanTransition(from, to) {
		return ErrInvalidTransition.WithMessage("a payment cannot move from %q to %q", from, to).WithField("status")
	}
	switch to {
	case Approved, Withheld, Disputed:
		if strings.TrimSpace(note) == "" {
			return ErrTransitionNoteNeeded.WithField("note")
		}
	}
	return nil
}
