package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/organisation"
)

// Organisation is a third-sector body as the API shows it.
type Organisation struct {
	ID         uuid.UUID `json:"id" readOnly:"true"`
	FiscalCode string    `json:"fiscalCode" pattern:"^[0-9]{11}$" example:"01199250158" doc:"Codice fiscale: 11 digits with a check digit"`
	LegalName  string    `json:"legalName" minLength:"1" maxLength:"300"`
	LegalForm  string    `json:"legalForm" enum:"social_cooperative,association,recognised_association,foundation,social_enterprise,mutual_aid_society,other"`
	RUNTS      struct {
		Number       string `json:"number,omitempty" maxLength:"50"`
		Section      string `json:"section,omitempty" enum:"odv,aps,ef,is,ra,sms,aets" doc:"RUNTS section (d.lgs. 117/2017 art. 46)"`
		RegisteredOn string `json:"registeredOn,omitempty" format:"date"`
		Status       string `json:"status,omitempty" enum:"not_registered,pending,registered,cancelled"`
	} `json:"runts"`
	SeatISTATCode string `json:"seatIstatCode,omitempty" pattern:"^[0-9]{6}$" doc:"ISTAT code of the comune of the registered seat"`
	Contacts      struct {
		Email   string `json:"email,omitempty" maxLength:"254"`
		PEC     string `json:"pec,omitempty" maxLength:"254" doc:"Certified e-mail (posta elettronica certificata)"`
		Phone   string `json:"phone,omitempty" maxLength:"254"`
		Website string `json:"website,omitempty" maxLength:"254"`
	} `json:"contacts"`
	CreatedAt time.Time `json:"createdAt" readOnly:"true"`
	Version   int       `json:"version" readOnly:"true"`
}

func orgOut(o *organisation.Organisation) Organisation {
	var out Organisation
	out.ID, out.FiscalCode, out.LegalName, out.LegalForm = o.ID, o.FiscalCode, o.LegalName, string(o.LegalForm)
	out.RUNTS.Number, out.RUNTS.Section, out.RUNTS.Status = o.RUNTS.Number, o.RUNTS.Section, o.RUNTS.Status
	if !o.RUNTS.RegisteredOn.IsZero() {
		out.RUNTS.RegisteredOn = o.RUNTS.RegisteredOn.Format(time.DateOnly)
	}
	out.SeatISTATCode = o.SeatISTAT
	out.Contacts.Email, out.Contacts.PEC, out.Contacts.Phone, out.Contacts.Website = o.Contacts.Email, o.Contacts.PEC, o.Contacts.Phone, o.Contacts.Website
	out.CreatedAt, out.Version = o.CreatedAt, o.Version
	return out
}

// OrganisationInput is what registering an organisation takes.
type OrganisationInput struct {
	FiscalCode string `json:"fiscalCode" maxLength:"11"`
	LegalName  string `json:"legalName" maxLength:"300"`
	LegalForm  string `json:"legalForm" enum:"social_cooperative,association,recognised_association,foundation,social_enterprise,mutual_aid_society,other"`
	RUNTS      *struct {
		Number       string `json:"number,omitempty" maxLength:"50"`
		Section      string `json:"section,omitempty" enum:"odv,aps,ef,is,ra,sms,aets"`
		RegisteredOn string `json:"registeredOn,omitempty" format:"date"`
		Status       string `json:"status,omitempty" enum:"not_registered,pending,registered,cancelled"`
	} `json:"runts,omitempty"`
	SeatISTATCode string `json:"seatIstatCode,omitempty" maxLength:"6"`
	Contacts      *struct {
		Email   string `json:"email,omitempty" maxLength:"254"`
		PEC     string `json:"pec,omitempty" maxLength:"254"`
		Phone   string `json:"phone,omitempty" maxLength:"254"`
		Website string `json:"website,omitempty" maxLength:"254"`
	} `json:"contacts,omitempty"`
}

// OrgPath is the {organisation} of a route; exported so huma sees it when embedded.
type OrgPath struct {
	Org uuid.UUID `path:"organisation" doc:"The organisation's id"`
}

type orgOutput struct {
	ETag string `header:"ETag"`
	Body Organisation
}

// NoticeIO tells an organisation what changed in a call it applies to.
type NoticeIO struct {
	ID       uuid.UUID      `json:"id"`
	TenantID uuid.UUID      `json:"municipalityId"`
	Kind     string         `json:"kind" enum:"call.amended,call.closed,call.cancelled,call.ranked"`
	CallID   uuid.UUID      `json:"callId"`
	Title    string         `json:"title"`
	Summary  map[string]any `json:"summary"`
	At       time.Time      `json:"at"`
}

// Member is a user acting for an organisation.
type Member struct {
	UserID    uuid.UUID `json:"userId"`
	Role      string    `json:"role" enum:"org_admin,org_member"`
	CreatedAt time.Time `json:"createdAt"`
}

func (s *Server) registerOrganisations() {
	if s.orgs == nil {
		return
	}
	tags := []string{"Organisations"}
	huma.Register(s.api, huma.Operation{
		OperationID: "register-organisation", Method: http.MethodPost, Path: "/v1/organisations", Tags: tags, Security: bearer,
		Summary: "Register a third-sector organisation", DefaultStatus: http.StatusCreated,
		Description: "A platform user who registers an organisation becomes its first org_admin.",
		Errors:      []int{401, 403, 409, 422},
	}, func(ctx context.Context, in *struct{ Body OrganisationInput }) (*orgOutput, error) {
		o, err := orgFromInput(in.Body)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		got, err := s.orgs.Register(ctx, o)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &orgOutput{ETag: etag(got.Version), Body: orgOut(got)}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "update-organisation", Method: http.MethodPut, Path: "/v1/organisations/{organisation}", Tags: tags, Security: bearer,
		Summary: "Update an organisation's profile (org_admin; If-Match required); the fiscal code never changes",
		Errors:  []int{401, 403, 404, 412, 422, 428},
	}, func(ctx context.Context, in *struct {
		OrgPath
		IfMatch string `header:"If-Match"`
		Body    OrganisationInput
	}) (*orgOutput, error) {
		if in.IfMatch == "" {
			return nil, s.problem(ctx, errIfMatchRequired)
		}
		v, err := ifMatch(in.IfMatch)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		o, err := orgFromInput(in.Body)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		got, err := s.orgs.Update(ctx, in.Org, o, v)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &orgOutput{ETag: etag(got.Version), Body: orgOut(got)}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "list-organisation-notices", Method: http.MethodGet, Path: "/v1/organisations/{organisation}/notices", Tags: tags,
		Security: bearer, Summary: "What changed in the calls the organisation applies to: amendments, closure, cancellation, ranking",
		Errors: []int{401, 403, 422},
	}, func(ctx context.Context, in *struct {
		OrgPath
		Cursor string `query:"cursor" maxLength:"64"`
		Limit  int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
	}) (*struct {
		Body struct {
			Items      []NoticeIO `json:"items"`
			NextCursor string     `json:"nextCursor,omitempty"`
		}
	}, error) {
		before, err := decodeCursor(in.Cursor)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		items, next, err := s.notices.List(ctx, in.Org, before, in.Limit)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &struct {
			Body struct {
				Items      []NoticeIO `json:"items"`
				NextCursor string     `json:"nextCursor,omitempty"`
			}
		}{}
		out.Body.Items = make([]NoticeIO, 0, len(items))
		for _, n := range items {
			out.Body.Items = append(out.Body.Items, NoticeIO{ID: n.ID, TenantID: n.TenantID, Kind: n.Kind, CallID: n.CallID, Title: n.Title, Summary: n.Summary, At: n.At})
		}
		out.Body.NextCursor = encodeCursor(next)
		return out, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "list-organisations", Method: http.MethodGet, Path: "/v1/organisations", Tags: tags,
		Summary: "Search organisations (public)", Errors: []int{422},
	}, func(ctx context.Context, in *struct {
		Q      string `query:"q" maxLength:"200" doc:"Part of the legal name, or the whole fiscal code"`
		Cursor string `query:"cursor" maxLength:"64"`
		Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50"`
	}) (*struct {
		CacheControl string `header:"Cache-Control"`
		Body         struct {
			Items      []Organisation `json:"items"`
			NextCursor string         `json:"nextCursor,omitempty"`
		}
	}, error) {
		after, err := decodeCursor(in.Cursor)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		items, next, err := s.orgs.List(ctx, organisation.Filter{Query: in.Q, After: after, Limit: in.Limit})
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &struct {
			CacheControl string `header:"Cache-Control"`
			Body         struct {
				Items      []Organisation `json:"items"`
				NextCursor string         `json:"nextCursor,omitempty"`
			}
		}{CacheControl: "public, max-age=60"}
		out.Body.Items = make([]Organisation, 0, len(items))
		for _, o := range items {
			out.Body.Items = append(out.Body.Items, orgOut(o))
		}
		out.Body.NextCursor = encodeCursor(next)
		return out, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "get-organisation", Method: http.MethodGet, Path: "/v1/organisations/{organisation}", Tags: tags,
		Summary: "Read an organisation (public)", Errors: []int{404},
	}, func(ctx context.Context, in *OrgPath) (*orgOutput, error) {
		o, err := s.orgs.Get(ctx, in.Org)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &orgOutput{ETag: etag(o.Version), Body: orgOut(o)}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "list-organisation-members", Method: http.MethodGet, Path: "/v1/organisations/{organisation}/members", Tags: tags,
		Security: bearer, Summary: "Who acts for the organisation (its members and the operator)", Errors: []int{401, 403, 404},
	}, func(ctx context.Context, in *OrgPath) (*struct{ Body []Member }, error) {
		ms, err := s.orgs.Members(ctx, in.Org)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &struct{ Body []Member }{Body: make([]Member, 0, len(ms))}
		for _, m := range ms {
			out.Body = append(out.Body, Member{UserID: m.UserID, Role: string(m.Role), CreatedAt: m.CreatedAt})
		}
		return out, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "put-organisation-member", Method: http.MethodPut, Path: "/v1/organisations/{organisation}/members", Tags: tags,
		Security: bearer, Summary: "Give a platform user (by e-mail) a role in the organisation (org_admin)",
		Description: "The user must have logged in once through the platform's provider.", Errors: []int{401, 403, 404, 409, 422},
	}, func(ctx context.Context, in *struct {
		OrgPath
		Body struct {
			Email string `json:"email" format:"email" maxLength:"254"`
			Role  string `json:"role" enum:"org_admin,org_member"`
		}
	}) (*struct{ Body Member }, error) {
		m, err := s.orgs.SetMember(ctx, in.Org, in.Body.Email, domain.Role(in.Body.Role))
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &struct{ Body Member }{Member{UserID: m.UserID, Role: string(m.Role), CreatedAt: m.CreatedAt}}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "delete-organisation-member", Method: http.MethodDelete, Path: "/v1/organisations/{organisation}/members/{user}", Tags: tags,
		Security: bearer, Summary: "Remove a member (org_admin); the last org_admin stays", DefaultStatus: http.StatusNoContent,
		Errors: []int{401, 403, 404, 409},
	}, func(ctx context.Context, in *struct {
		OrgPath
		User uuid.UUID `path:"user"`
	}) (*struct{}, error) {
		if err := s.orgs.RemoveMember(ctx, in.Org, in.User); err != nil {
			return nil, s.problem(ctx, err)
		}
		return &struct{}{}, nil
	})
}

func orgFromInput(b OrganisationInput) (organisation.Organisation, error) {
	o := organisation.Organisation{FiscalCode: b.FiscalCode, LegalName: b.LegalName, LegalForm: organisation.LegalForm(b.LegalForm), SeatISTAT: b.SeatISTATCode}
	if b.RUNTS != nil {
		o.RUNTS = organisation.RUNTS{Number: b.RUNTS.Number, Section: b.RUNTS.Section, Status: b.RUNTS.Status}
		if b.RUNTS.RegisteredOn != "" {
			d, err := time.Parse(time.DateOnly, b.RUNTS.RegisteredOn)
			if err != nil {
				return o, organisation.ErrInvalidRUNTS.WithField("runts.registeredOn")
			}
			o.RUNTS.RegisteredOn = d
		}
	}
	if b.Contacts != nil {
		o.Contacts = organisation.Contacts{Email: b.Contacts.Email, PEC: b.Contacts.PEC, Phone: b.Contacts.Phone, Website: b.Contacts.Website}
	}
	return o, nil
}
