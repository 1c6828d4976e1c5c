package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/coprod/coprod/domain/codesign"
)

// TableIO is a call's co-design table with its sessions and project versions.
type TableIO struct {
	ID              uuid.UUID   `json:"id"`
	Participants    []uuid.UUID `json:"participants" doc:"The admitted organisations"`
	Status          string      `json:"status" enum:"open,approved"`
	ConvenedAt      time.Time   `json:"convenedAt"`
	ApprovedVersion *uuid.UUID  `json:"approvedVersion,omitempty"`
	ApprovalAct     *ActIO      `json:"approvalAct,omitempty"`
	Sessions        []SessionIO `json:"sessions"`
	Versions        []VersionIO `json:"versions"`
	Version         int         `json:"version"`
}

type AttendeeIO struct {
	OrganisationID *uuid.UUID `json:"organisationId,omitempty" doc:"Omit for the municipality's people"`
	Name           string     `json:"name" maxLength:"200"`
	Role           string     `json:"role" maxLength:"200"`
}

type SessionIO struct {
	ID        uuid.UUID    `json:"id,omitempty" readOnly:"true"`
	Date      time.Time    `json:"date"`
	Attendees []AttendeeIO `json:"attendees" maxItems:"200"`
	Minutes   string       `json:"minutes" maxLength:"100000"`
	Decisions []string     `json:"decisions,omitempty" maxItems:"100"`
}

type VersionIO struct {
	ID          uuid.UUID `json:"id"`
	Number      int       `json:"number"`
	Content     string    `json:"content"`
	ContentHash string    `json:"sha256"`
	CreatedAt   time.Time `json:"createdAt"`
}

func tableOut(t *codesign.Table, ss []*codesign.Session, vs []*codesign.ProjectVersion) TableIO {
	out := TableIO{ID: t.ID, Participants: t.Participants, Status: t.Status, ConvenedAt: t.ConvenedAt, Version: t.Version,
		Sessions: []SessionIO{}, Versions: []VersionIO{}}
	if t.ApprovedVersion != uuid.Nil {
		id := t.ApprovedVersion
		out.ApprovedVersion = &id
		a := t.ApprovalAct.Public()
		out.ApprovalAct = &ActIO{Kind: a.Kind, Number: a.Number, Date: a.Date, URL: a.URL}
	}
	for _, s := range ss {
		si := SessionIO{ID: s.ID, Date: s.Date, Minutes: s.Minutes, Decisions: s.Decisions}
		for _, a := range s.Attendees {
			ai := AttendeeIO{Name: a.Name, Role: a.Role}
			if a.OrganisationID != uuid.Nil {
				id := a.OrganisationID
				ai.OrganisationID = &id
			}
			si.Attendees = append(si.Attendees, ai)
		}
		out.Sessions = append(out.Sessions, si)
	}
	for _, v := range vs {
		out.Versions = append(out.Versions, VersionIO{ID: v.ID, Number: v.Number, Content: v.Content, ContentHash: v.ContentHash, CreatedAt: v.CreatedAt})
	}
	return out
}

func (s *Server) registerCodesign() {
	if s.codesign == nil {
		return
	}
	tags := []string{"Co-design"}
	get := func(ctx context.Context, tenant, callID uuid.UUID) (*struct {
		ETag string `header:"ETag"`
		Body TableIO
	}, error) {
		t, ss, vs, err := s.codesign.Get(ctx, tenant, callID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &struct {
			ETag string `header:"ETag"`
			Body TableIO
		}{etag(t.Version), tableOut(t, ss, vs)}, nil
	}
	huma.Register(s.api, huma.Operation{
		OperationID: "convene-table", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/calls/{call}/table", Tags: tags, Security: bearer,
		Summary: "Convene the co-design table with the admitted applicants of a ranked call (officer)", DefaultStatus: http.StatusCreated,
		Errors: []int{401, 403, 404, 409},
	}, func(ctx context.Context, in *CallPath) (*struct {
		ETag string `header:"ETag"`
		Body TableIO
	}, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		if _, err := s.codesign.Convene(ctx, t.ID, in.Call); err != nil {
			return nil, s.problem(ctx, err)
		}
		return get(ctx, t.ID, in.Call)
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "get-table", Method: http.MethodGet, Path: "/v1/tenants/{tenant}/calls/{call}/table", Tags: tags, Security: bearer,
		Summary: "The co-design table: participants, sessions, project versions (staff and participants)", Errors: []int{401, 403, 404},
	}, func(ctx context.Context, in *CallPath) (*struct {
		ETag string `header:"ETag"`
		Body TableIO
	}, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		return get(ctx, t.ID, in.Call)
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "record-session", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/calls/{call}/table/sessions", Tags: tags, Security: bearer,
		Summary: "Record a session: date, attendees, minutes, decisions (officer)", DefaultStatus: http.StatusCreated, Errors: []int{401, 403, 404, 409, 422},
	}, func(ctx context.Context, in *struct {
		CallPath
		Body SessionIO
	}) (*struct{ Body SessionIO }, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		sess := codesign.Session{Date: in.Body.Date.UTC(), Minutes: in.Body.Minutes, Decisions: in.Body.Decisions}
		for _, a := range in.Body.Attendees {
			at := codesign.Attendee{Name: a.Name, Role: a.Role}
			if a.OrganisationID != nil {
				at.OrganisationID = *a.OrganisationID
			}
			sess.Attendees = append(sess.Attendees, at)
		}
		got, err := s.codesign.RecordSession(ctx, t.ID, in.Call, sess)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		in.Body.ID = got.ID
		return &struct{ Body SessionIO }{in.Body}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "add-project-version", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/calls/{call}/table/versions", Tags: tags, Security: bearer,
		Summary: "Add a version of the co-designed project (officer or participant)", DefaultStatus: http.StatusCreated, Errors: []int{401, 403, 404, 409, 422},
	}, func(ctx context.Context, in *struct {
		CallPath
		Body struct {
			Content string `json:"content" maxLength:"500000"`
		}
	}) (*struct{ Body VersionIO }, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		v, err := s.codesign.AddVersion(ctx, t.ID, in.Call, in.Body.Content)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &struct{ Body VersionIO }{VersionIO{ID: v.ID, Number: v.Number, Content: v.Content, ContentHash: v.ContentHash, CreatedAt: v.CreatedAt}}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "approve-project", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/calls/{call}/table/approval", Tags: tags, Security: bearer,
		Summary: "Approve a version as the final project by a formal act of kind decision (officer; If-Match required)",
		Errors:  []int{401, 403, 404, 409, 412, 422, 428},
	}, func(ctx context.Context, in *struct {
		CallPath
		IfMatch string `header:"If-Match"`
		Body    struct {
			VersionID uuid.UUID `json:"versionId"`
			Act       ActIO     `json:"act"`
		}
	}) (*struct {
		ETag string `header:"ETag"`
		Body TableIO
	}, error) {
		t, v, err := s.enterIfMatch(ctx, in.Tenant, in.IfMatch)
		if err != nil {
			return nil, err
		}
		act, err := in.Body.Act.act()
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		if _, err := s.codesign.Approve(ctx, t, in.Call, in.Body.VersionID, act, v); err != nil {
			return nil, s.problem(ctx, err)
		}
		return get(ctx, t, in.Call)
	})
}
