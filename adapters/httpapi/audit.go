package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/coprod/coprod/domain/audit"
	"github.com/coprod/coprod/tenants"
)

// AuditEvent is one entry of a tenant's audit trail.
type AuditEvent struct {
	ID         uuid.UUID      `json:"id"`
	At         time.Time      `json:"at"`
	Actor      string         `json:"actor"`
	Action     string         `json:"action" example:"tenant.suspended"`
	ObjectType string         `json:"objectType" example:"tenant"`
	ObjectID   uuid.UUID      `json:"objectId"`
	Summary    map[string]any `json:"summary"`
}

// enter resolves the {tenant} of a tenant-scoped route: unknown → 404,
// suspended → 403, each with its code. Every tenant-scoped handler starts here.
func (s *Server) enter(ctx context.Context, ref string) (*tenants.Tenant, error) {
	t, err := s.tenants.Enter(ctx, ref)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	setLogTenant(ctx, t.Slug)
	return t, nil
}

func (s *Server) registerAudit() {
	huma.Register(s.api, huma.Operation{
		OperationID: "list-audit-events", Method: http.MethodGet, Path: "/v1/tenants/{tenant}/audit-events", Tags: []string{"Audit"},
		Summary: "Read a tenant's audit trail, newest first", Security: bearer, Errors: []int{401, 403, 404, 422},
	}, func(ctx context.Context, in *struct {
		TenantPath
		Object uuid.UUID `query:"object" doc:"Only the events of this object"`
		Cursor string    `query:"cursor" maxLength:"64"`
		Limit  int       `query:"limit" minimum:"1" maximum:"500" default:"50"`
	}) (*struct {
		Body struct {
			Items      []AuditEvent `json:"items"`
			NextCursor string       `json:"nextCursor,omitempty"`
		}
	}, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		before, err := decodeCursor(in.Cursor)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		page, err := s.app.AuditTrail(ctx, t.ID, audit.Filter{ObjectID: in.Object, Before: before, Limit: in.Limit})
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &struct {
			Body struct {
				Items      []AuditEvent `json:"items"`
				NextCursor string       `json:"nextCursor,omitempty"`
			}
		}{}
		out.Body.NextCursor = encodeCursor(page.Next)
		out.Body.Items = make([]AuditEvent, 0, len(page.Items))
		for _, r := range page.Items {
			out.Body.Items = append(out.Body.Items, AuditEvent{ID: r.ID, At: r.At, Actor: r.Actor, Action: r.Action,
				ObjectType: r.ObjectType, ObjectID: r.ObjectID, Summary: r.Summary})
		}
		return out, nil
	})
}
