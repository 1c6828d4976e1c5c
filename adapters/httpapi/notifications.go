package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/coprod/coprod/domain/reminder"
)

// NotificationIO is an in-app notification.
type NotificationIO struct {
	ID       uuid.UUID  `json:"id"`
	TenantID uuid.UUID  `json:"municipalityId"`
	Kind     string     `json:"kind" example:"call.amended"`
	Title    string     `json:"title"`
	At       time.Time  `json:"at"`
	ReadAt   *time.Time `json:"readAt,omitempty"`
}

// SettingsIO are a tenant's reminder settings.
type SettingsIO struct {
	ReminderDays   []int  `json:"reminderDays" maxItems:"5" doc:"Days before a due date when a reminder goes out (default 7 and 1)"`
	EscalationDays int    `json:"escalationDays" minimum:"1" maximum:"90" doc:"Days overdue before the officers are told (default 7)"`
	Locale         string `json:"locale" enum:"it,en" doc:"Default language of messages"`
}

func (s *Server) registerNotifications() {
	if s.notify != nil {
		tags := []string{"Identity"}
		huma.Register(s.api, huma.Operation{
			OperationID: "list-my-notifications", Method: http.MethodGet, Path: "/v1/me/notifications", Tags: tags, Security: bearer,
			Summary: "Your in-app notifications, from every municipality, newest first", Errors: []int{401, 422},
		}, func(ctx context.Context, in *struct {
			Cursor string `query:"cursor" maxLength:"64"`
			Limit  int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
		}) (*struct {
			Body struct {
				Items      []NotificationIO `json:"items"`
				NextCursor string           `json:"nextCursor,omitempty"`
			}
		}, error) {
			before, err := decodeCursor(in.Cursor)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			items, err := s.notify.Inbox(ctx, before, in.Limit+1)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			out := &struct {
				Body struct {
					Items      []NotificationIO `json:"items"`
					NextCursor string           `json:"nextCursor,omitempty"`
				}
			}{}
			if len(items) > in.Limit {
				items = items[:in.Limit]
				out.Body.NextCursor = encodeCursor(items[len(items)-1].ID)
			}
			out.Body.Items = make([]NotificationIO, 0, len(items))
			for _, n := range items {
				ni := NotificationIO{ID: n.ID, TenantID: n.TenantID, Kind: n.Kind, Title: n.Title, At: n.At}
				if !n.ReadAt.IsZero() {
					at := n.ReadAt
					ni.ReadAt = &at
				}
				out.Body.Items = append(out.Body.Items, ni)
			}
			return out, nil
		})
		huma.Register(s.api, huma.Operation{
			OperationID: "read-my-notification", Method: http.MethodPost, Path: "/v1/me/notifications/{notification}/read", Tags: tags,
			Security: bearer, Summary: "Mark a notification read", DefaultStatus: http.StatusNoContent, Errors: []int{401, 404},
		}, func(ctx context.Context, in *struct {
			Notification uuid.UUID `path:"notification"`
		}) (*struct{}, error) {
			if err := s.notify.MarkRead(ctx, in.Notification); err != nil {
				return nil, s.problem(ctx, err)
			}
			return &struct{}{}, nil
		})
	}
	if s.reminders != nil {
		tags := []string{"Tenants"}
		huma.Register(s.api, huma.Operation{
			OperationID: "get-tenant-settings", Method: http.MethodGet, Path: "/v1/tenants/{tenant}/settings", Tags: tags, Security: bearer,
			Summary: "The tenant's reminder settings and language (tenant admin, officer)", Errors: []int{401, 403, 404},
		}, func(ctx context.Context, in *TenantPath) (*struct{ Body SettingsIO }, error) {
			t, err := s.enter(ctx, in.Tenant)
			if err != nil {
				return nil, err
			}
			set, err := s.reminders.Settings(ctx, t.ID)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return &struct{ Body SettingsIO }{SettingsIO{ReminderDays: set.DaysBefore, EscalationDays: set.EscalationDays, Locale: set.Locale}}, nil
		})
		huma.Register(s.api, huma.Operation{
			OperationID: "put-tenant-settings", Method: http.MethodPut, Path: "/v1/tenants/{tenant}/settings", Tags: tags, Security: bearer,
			Summary: "Change the tenant's reminder settings and language (tenant admin)", Errors: []int{401, 403, 404, 422},
		}, func(ctx context.Context, in *struct {
			TenantPath
			Body SettingsIO
		}) (*struct{ Body SettingsIO }, error) {
			t, err := s.enter(ctx, in.Tenant)
			if err != nil {
				return nil, err
			}
			set, err := s.reminders.PutSettings(ctx, t.ID, reminder.Settings{DaysBefore: in.Body.ReminderDays, EscalationDays: in.Body.EscalationDays, Locale: in.Body.Locale})
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return &struct{ Body SettingsIO }{SettingsIO{ReminderDays: set.DaysBefore, EscalationDays: set.EscalationDays, Locale: set.Locale}}, nil
		})
	}
}
