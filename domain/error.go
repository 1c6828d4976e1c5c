package domain

import (
	"errors"
	"fmt"
)

// Kind classifies an error so adapters can map it outward (HTTP status,
// River job outcome) without knowing every error value.
type Kind uint8

const (
	KindInternal             Kind = iota // bug or infrastructure failure; never shown to users
	KindInvalid                          // input breaks a rule
	KindNotFound                         // absent, or present in another tenant
	KindConflict                         // uniqueness or concurrent change
	KindPrecondition                     // not allowed in the current state
	KindForbidden                        // authenticated, but not allowed
	KindUnauthenticated                  // no or bad credentials
	KindStale                            // the caller's version (If-Match) is out of date
	KindTooLarge                         // a body or file over its limit
	KindPreconditionRequired             // a conditional request (If-Match) is required
)

func (k Kind) String() string {
	switch k {
	case KindInvalid:
		return "invalid"
	case KindNotFound:
		return "not_found"
	case KindConflict:
		return "conflict"
	case KindPrecondition:
		return "precondition"
	case KindForbidden:
		return "forbidden"
	case KindUnauthenticated:
		return "unauthenticated"
	case KindStale:
		return "stale"
	case KindTooLarge:
		return "too_large"
	default:
		return "internal"
	}
}

// Error is the one error type of the domain. Code is stable for clients
// (snake_case, part of the API contract); Message is safe to show.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	// Field names the offending input, when there is one ("slug", "body.istatCode").
	Field string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Is makes errors.Is match on the code, so a refined copy (WithField, Errorf
// with a new message) still matches its sentinel.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Errorf builds a domain error; contexts declare their sentinels with it.
func Errorf(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// WithField returns a copy that names the offending field.
func (e *Error) WithField(field string) *Error {
	c := *e
	c.Field = field
	return &c
}

// WithMessage returns a copy with a more specific message and the same code.
func (e *Error) WithMessage(format string, args ...any) *Error {
	c := *e
	c.Message = fmt.Sprintf(format, args...)
	return &c
}

// KindOf reports the kind of err; anything that is not a domain error is internal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// Shared sentinels.
var (
	ErrUnauthenticated = Errorf(KindUnauthenticated, "unauthenticated", "authentication is required")
	ErrForbidden       = Errorf(KindForbidden, "forbidden", "you are not allowed to do this")
	ErrStale           = Errorf(KindStale, "stale_version", "the object has changed since you read it; reload and retry")
)
