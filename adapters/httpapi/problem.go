package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/coprod/coprod/domain"
)

// ProblemTypePrefix prefixes every problem's type; the suffix is its stable code.
const ProblemTypePrefix = "urn:coprod:problem:"

// Problem is an RFC 9457 problem detail. Code repeats the suffix of Type so
// clients can switch on it without parsing URNs.
type Problem struct {
	Type      string        `json:"type" doc:"urn:coprod:problem:<code>"`
	Title     string        `json:"title"`
	Status    int           `json:"status"`
	Detail    string        `json:"detail,omitempty"`
	Instance  string        `json:"instance,omitempty"`
	Code      string        `json:"code" doc:"Stable, machine-readable error code"`
	RequestID string        `json:"requestId,omitempty"`
	Errors    []*FieldError `json:"errors,omitempty"`

	header http.Header
}

// FieldError names one offending input.
type FieldError struct {
	Message  string `json:"message"`
	Location string `json:"location,omitempty" doc:"Where: body.field, query.limit, path.tenant, header.If-Match"`
}

func (p *Problem) Error() string  { return p.Code + ": " + p.Detail }
func (p *Problem) GetStatus() int { return p.Status }

// ContentType makes huma answer application/problem+json.
func (p *Problem) ContentType(string) string { return "application/problem+json" }

// GetHeaders lets a problem carry headers such as WWW-Authenticate.
func (p *Problem) GetHeaders() http.Header { return p.header }

// codeOfStatus names the errors huma raises itself (validation, limits).
var codeOfStatus = map[int]string{
	400: "malformed_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
	405: "method_not_allowed", 406: "not_acceptable", 409: "conflict", 412: "precondition_failed",
	413: "body_too_large", 415: "unsupported_media_type", 422: "validation_failed",
	428: "precondition_required", 429: "rate_limited", 500: "internal", 503: "unavailable",
}

func newProblem(status int, code, detail string) *Problem {
	if code == "" {
		code = codeOfStatus[status]
		if code == "" {
			code = "error"
		}
	}
	return &Problem{Type: ProblemTypePrefix + code, Title: http.StatusText(status), Status: status, Code: code, Detail: detail}
}

// humaError replaces huma.NewError so that huma's own errors (validation,
// body limits, malformed JSON) are problems with stable codes too.
func humaError(status int, msg string, errs ...error) huma.StatusError {
	for _, e := range errs {
		// The server-wide http.MaxBytesReader tripped while huma read the body.
		var tooLarge *http.MaxBytesError
		if errors.As(e, &tooLarge) {
			return newProblem(http.StatusRequestEntityTooLarge, "body_too_large", "the request body is over the limit")
		}
	}
	if status >= 500 {
		// Never leak internals: huma passes the cause in msg or errs.
		return newProblem(status, "", "internal error")
	}
	p := newProblem(status, "", msg)
	if status == http.StatusRequestEntityTooLarge || strings.Contains(msg, "body too large") {
		p = newProblem(http.StatusRequestEntityTooLarge, "body_too_large", "the request body is over the limit")
	}
	for _, e := range errs {
		if e == nil {
			continue
		}
		var d *huma.ErrorDetail
		if errors.As(e, &d) {
			p.Errors = append(p.Errors, &FieldError{Message: d.Message, Location: d.Location})
			if strings.Contains(d.Message, "body too large") {
				p = newProblem(http.StatusRequestEntityTooLarge, "body_too_large", "the request body is over the limit")
				break
			}
			continue
		}
		p.Errors = append(p.Errors, &FieldError{Message: e.Error()})
	}
	return p
}

var statusOfKind = map[domain.Kind]int{
	domain.KindInvalid: 422, domain.KindNotFound: 404, domain.KindConflict: 409,
	domain.KindPrecondition: 409, domain.KindForbidden: 403, domain.KindUnauthenticated: 401,
	domain.KindStale: 412, domain.KindTooLarge: 413, domain.KindPreconditionRequired: 428,
}

// problem maps a use case's error to the response: domain errors become
// problems with their code; anything else is logged in full and answered
// as a bare 500, with no detail of the cause.
func (s *Server) problem(ctx context.Context, err error) error {
	var de *domain.Error
	if errors.As(err, &de) {
		if status, ok := statusOfKind[de.Kind]; ok {
			p := newProblem(status, de.Code, de.Message)
			if de.Field != "" {
				p.Errors = []*FieldError{{Message: de.Message, Location: location(de.Field)}}
			}
			if status == http.StatusUnauthorized {
				p.header = http.Header{"WWW-Authenticate": {`Bearer realm="coprod"`}}
			}
			p.RequestID = requestIDFrom(ctx)
			return p
		}
	}
	if errors.Is(err, context.Canceled) {
		s.log.InfoContext(ctx, "request cancelled by client", "err", err)
	} else {
		s.log.ErrorContext(ctx, "request failed", "err", err)
	}
	p := newProblem(http.StatusInternalServerError, "internal", "internal error")
	p.RequestID = requestIDFrom(ctx)
	return p
}

// location qualifies a domain field name the way huma names its own:
// page parameters come from the query, everything else from the body.
func location(field string) string {
	for _, prefix := range []string{"body.", "query.", "path.", "header."} {
		if strings.HasPrefix(field, prefix) {
			return field
		}
	}
	if field == "limit" || field == "cursor" {
		return "query." + field
	}
	return "body." + field
}
