package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/coprod/coprod/domain/agreement"
	"github.com/coprod/coprod/domain/pilot"
)

// AgreementIO is an agreement (convenzione) as the API shows and takes it.
type AgreementIO struct {
	ID                uuid.UUID        `json:"id,omitempty" readOnly:"true"`
	CallID            *uuid.UUID       `json:"callId,omitempty"`
	Title             string           `json:"title" maxLength:"300"`
	Objectives        []string         `json:"objectives" maxItems:"50"`
	Obligations       []string         `json:"obligations,omitempty" maxItems:"100"`
	RevocationGrounds []string         `json:"revocationGrounds,omitempty" maxItems:"50"`
	Parties           []PartyIO        `json:"parties" maxItems:"21"`
	Start             time.Time        `json:"start"`
	End               time.Time        `json:"end"`
	Budget            AgreementBudget  `json:"budget"`
	PaymentMode       string           `json:"paymentMode" enum:"cost_reimbursement,outcome_based,mixed"`
	Schedule          []InstalmentIO   `json:"schedule,omitempty" maxItems:"20"`
	Status            string           `json:"status,omitempty" readOnly:"true"`
	StatusReason      string           `json:"statusReason,omitempty" readOnly:"true"`
	OfficerSignedAt   *time.Time       `json:"officerSignedAt,omitempty" readOnly:"true"`
	Amendments        []map[string]any `json:"amendments,omitempty" readOnly:"true"`
	Version           int              `json:"version,omitempty" readOnly:"true"`
}

type PartyIO struct {
	OrganisationID   uuid.UUID  `json:"organisationId"`
	Role             string     `json:"role" enum:"lead,partner"`
	BudgetShareCents int64      `json:"budgetShareCents" minimum:"0"`
	SignedAt         *time.Time `json:"signedAt,omitempty" readOnly:"true"`
}

type AgreementBudget struct {
	PublicCents          int64 `json:"publicCents" minimum:"0"`
	OutcomeCents         int64 `json:"outcomeCents" minimum:"0" doc:"Part of the public contribution paid on verified outcomes"`
	CofundingCashCents   int64 `json:"cofundingCashCents" minimum:"0"`
	CofundingInKindCents int64 `json:"cofundingInKindCents" minimum:"0"`
}

type InstalmentIO struct {
	Label   string `json:"label" maxLength:"100"`
	Percent int    `json:"percent" minimum:"1" maximum:"100"`
}

func (in AgreementIO) agreement() agreement.Agreement {
	a := agreement.Agreement{Title: in.Title, Objectives: in.Objectives, Obligations: in.Obligations, RevocationGrounds: in.RevocationGrounds,
		Start: in.Start.UTC(), End: in.End.UTC(), Budget: agreement.Budget(in.Budget), PaymentMode: in.PaymentMode}
	if in.CallID != nil {
		a.CallID = *in.CallID
	}
	for _, p := range in.Parties {
		a.Parties = append(a.Parties, agreement.Party{OrganisationID: p.OrganisationID, Role: p.Role, BudgetShareCents: p.BudgetShareCents})
	}
	for _, s := range in.Schedule {
		a.Schedule = append(a.Schedule, agreement.Instalment(s))
	}
	return a
}

func agreementOut(a *agreement.Agreement) AgreementIO {
	out := AgreementIO{ID: a.ID, Title: a.Title, Objectives: a.Objectives, Obligations: a.Obligations, RevocationGrounds: a.RevocationGrounds,
		Start: a.Start, End: a.End, Budget: AgreementBudget(a.Budget), PaymentMode: a.PaymentMode, Status: string(a.Status),
		StatusReason: a.StatusReason, Version: a.Version}
	if a.CallID != uuid.Nil {
		id := a.CallID
		out.CallID = &id
	}
	if !a.OfficerSignedAt.IsZero() {
		out.OfficerSignedAt = &a.OfficerSignedAt
	}
	for _, p := range a.Parties {
		pi := PartyIO{OrganisationID: p.OrganisationID, Role: p.Role, BudgetShareCents: p.BudgetShareCents}
		if !p.SignedAt.IsZero() {
			at := p.SignedAt
			pi.SignedAt = &at
		}
		out.Parties = append(out.Parties, pi)
	}
	for _, s := range a.Schedule {
		out.Schedule = append(out.Schedule, InstalmentIO(s))
	}
	for _, m := range a.Amendments {
		out.Amendments = append(out.Amendments, map[string]any{"version": m.Version, "reason": m.Reason, "at": m.At, "changes": m.Changes})
	}
	return out
}

type agreementOutput struct {
	ETag string `header:"ETag"`
	Body AgreementIO
}

// AgreementPath names an agreement of a tenant.
type AgreementPath struct {
	TenantPath
	Agreement uuid.UUID `path:"agreement"`
}

// DeliverableIO is a requirement of an agreement.
type DeliverableIO struct {
	ID      uuid.UUID `json:"id"`
	Title   string    `json:"title"`
	Due     time.Time `json:"due"`
	Status  string    `json:"status" enum:"new,submitted,in_review,approved,rejected"`
	Note    string    `json:"note,omitempty"`
	Version int       `json:"version"`
}

func deliverableOut(d *agreement.Deliverable) DeliverableIO {
	return DeliverableIO{ID: d.ID, Title: d.Title, Due: d.Due, Status: d.Status, Note: d.Note, Version: d.Version}
}

// PilotIO is a pilot inside an agreement.
type PilotIO struct {
	ID            uuid.UUID   `json:"id,omitempty" readOnly:"true"`
	AgreementID   uuid.UUID   `json:"agreementId,omitempty" readOnly:"true"`
	Title         string      `json:"title" maxLength:"300"`
	Hypothesis    string      `json:"hypothesis" maxLength:"4000"`
	SiteISTATCode string      `json:"siteIstatCode,omitempty" maxLength:"6"`
	Neighbourhood string      `json:"neighbourhood,omitempty" maxLength:"200"`
	CohortSize    int         `json:"cohortSize" minimum:"1"`
	Start         time.Time   `json:"start"`
	End           time.Time   `json:"end"`
	Status        string      `json:"status,omitempty" readOnly:"true"`
	Decision      string      `json:"decision,omitempty" readOnly:"true"`
	DecisionNote  string      `json:"decisionNote,omitempty" readOnly:"true"`
	FollowUp      *FollowUpIO `json:"followUp,omitempty" readOnly:"true"`
	Version       int         `json:"version,omitempty" readOnly:"true"`
}

type FollowUpIO struct {
	Kind string    `json:"kind" enum:"call,agreement"`
	ID   uuid.UUID `json:"id"`
}

func pilotOut(p *pilot.Pilot) PilotIO {
	out := PilotIO{ID: p.ID, AgreementID: p.AgreementID, Title: p.Title, Hypothesis: p.Hypothesis, SiteISTATCode: p.SiteISTAT,
		Neighbourhood: p.Neighbourhood, CohortSize: p.CohortSize, Start: p.Start, End: p.End, Status: string(p.Status),
		Decision: p.Decision, DecisionNote: p.DecisionNote, Version: p.Version}
	if p.FollowUp != nil {
		out.FollowUp = &FollowUpIO{Kind: p.FollowUp.Kind, ID: p.FollowUp.ID}
	}
	return out
}

type pilotOutput struct {
	ETag string `header:"ETag"`
	Body PilotIO
}

func (s *Server) registerAgreements() {
	if s.agreements == nil {
		return
	}
	tags := []string{"Agreements"}
	out := func(ctx context.Context, a *agreement.Agreement, err error) (*agreementOutput, error) {
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &agreementOutput{ETag: etag(a.Version), Body: agreementOut(a)}, nil
	}
	huma.Register(s.api, huma.Operation{
		OperationID: "create-agreement", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/agreements", Tags: tags, Security: bearer,
		Summary: "Draft an agreement with its parties, budget, payment mode and schedule (officer)", DefaultStatus: http.StatusCreated,
		Errors: []int{401, 403, 404, 422},
	}, func(ctx context.Context, in *struct {
		TenantPath
		Body AgreementIO
	}) (*agreementOutput, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		a, err := s.agreements.Create(ctx, t.ID, in.Body.agreement())
		return out(ctx, a, err)
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "list-agreements", Method: http.MethodGet, Path: "/v1/tenants/{tenant}/agreements", Tags: tags, Security: bearer,
		Summary: "Agreements: all to staff, their own to parties' members", Errors: []int{401, 403, 404, 422},
	}, func(ctx context.Context, in *struct {
		TenantPath
		Cursor string `query:"cursor" maxLength:"64"`
		Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50"`
	}) (*struct {
		Body struct {
			Items      []AgreementIO `json:"items"`
			NextCursor string        `json:"nextCursor,omitempty"`
		}
	}, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		after, err := decodeCursor(in.Cursor)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		items, next, err := s.agreements.List(ctx, t.ID, agreement.Filter{After: after, Limit: in.Limit})
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &struct {
			Body struct {
				Items      []AgreementIO `json:"items"`
				NextCursor string        `json:"nextCursor,omitempty"`
			}
		}{}
		out.Body.Items = listOf(items, agreementOut)
		out.Body.NextCursor = encodeCursor(next)
		return out, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "get-agreement", Method: http.MethodGet, Path: "/v1/tenants/{tenant}/agreements/{agreement}", Tags: tags, Security: bearer,
		Summary: "Read an agreement", Errors: []int{401, 403, 404},
	}, func(ctx context.Context, in *AgreementPath) (*agreementOutput, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		a, err := s.agreements.Get(ctx, t.ID, in.Agreement)
		return out(ctx, a, err)
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "update-agreement", Method: http.MethodPut, Path: "/v1/tenants/{tenant}/agreements/{agreement}", Tags: tags, Security: bearer,
		Summary: "Edit a draft agreement (officer; If-Match required)", Errors: []int{401, 403, 404, 409, 412, 422, 428},
	}, func(ctx context.Context, in *struct {
		AgreementPath
		IfMatch string `header:"If-Match"`
		Body    AgreementIO
	}) (*agreementOutput, error) {
		t, v, err := s.enterIfMatch(ctx, in.Tenant, in.IfMatch)
		if err != nil {
			return nil, err
		}
		a, err := s.agreements.Update(ctx, t, in.Agreement, in.Body.agreement(), v)
		return out(ctx, a, err)
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "sign-agreement", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/agreements/{agreement}/signatures", Tags: tags, Security: bearer,
		Summary:     "Sign: the officer for the municipality, or an org admin for their organisation (If-Match required)",
		Description: "The agreement becomes signed when the officer and every party have signed.",
		Errors:      []int{401, 403, 404, 409, 412, 428},
	}, func(ctx context.Context, in *struct {
		AgreementPath
		IfMatch string `header:"If-Match"`
		Body    struct {
			OrganisationID *uuid.UUID `json:"organisationId,omitempty" doc:"Omit to sign for the municipality"`
		}
	}) (*agreementOutput, error) {
		t, v, err := s.enterIfMatch(ctx, in.Tenant, in.IfMatch)
		if err != nil {
			return nil, err
		}
		org := uuid.Nil
		if in.Body.OrganisationID != nil {
			org = *in.Body.OrganisationID
		}
		a, err := s.agreements.Sign(ctx, t, in.Agreement, org, v)
		return out(ctx, a, err)
	})
	for _, action := range []string{"activate", "suspend", "resume", "close", "terminate"} {
		huma.Register(s.api, huma.Operation{
			OperationID: action + "-agreement", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/agreements/{agreement}/" + action, Tags: tags,
			Security: bearer, Summary: action + " an agreement (officer; If-Match required; suspend and terminate need a reason)",
			Errors: []int{401, 403, 404, 409, 412, 422, 428},
		}, func(ctx context.Context, in *struct {
			AgreementPath
			IfMatch string `header:"If-Match"`
			Body    *struct {
				Reason string `json:"reason,omitempty" maxLength:"2000"`
			}
		}) (*agreementOutput, error) {
			t, v, err := s.enterIfMatch(ctx, in.Tenant, in.IfMatch)
			if err != nil {
				return nil, err
			}
			reason := ""
			if in.Body != nil {
				reason = in.Body.Reason
			}
			a, err := s.agreements.Transition(ctx, t, in.Agreement, action, reason, v)
			return out(ctx, a, err)
		})
	}
	huma.Register(s.api, huma.Operation{
		OperationID: "amend-agreement", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/agreements/{agreement}/amendments", Tags: tags,
		Security: bearer, Summary: "Amend a signed agreement: end date, budget, objectives or schedule, with a reason (If-Match required)",
		Errors: []int{401, 403, 404, 409, 412, 422, 428},
	}, func(ctx context.Context, in *struct {
		AgreementPath
		IfMatch string `header:"If-Match"`
		Body    struct {
			Reason     string           `json:"reason" maxLength:"2000"`
			End        *time.Time       `json:"end,omitempty"`
			Budget     *AgreementBudget `json:"budget,omitempty"`
			Objectives []string         `json:"objectives,omitempty" maxItems:"50"`
			Schedule   []InstalmentIO   `json:"schedule,omitempty" maxItems:"20"`
		}
	}) (*agreementOutput, error) {
		t, v, err := s.enterIfMatch(ctx, in.Tenant, in.IfMatch)
		if err != nil {
			return nil, err
		}
		next := agreement.Agreement{Objectives: in.Body.Objectives}
		if in.Body.End != nil {
			next.End = in.Body.End.UTC()
		}
		if in.Body.Budget != nil {
			next.Budget = agreement.Budget(*in.Body.Budget)
		}
		for _, sc := range in.Body.Schedule {
			next.Schedule = append(next.Schedule, agreement.Instalment(sc))
		}
		a, err := s.agreements.Amend(ctx, t, in.Agreement, next, in.Body.Reason, v)
		return out(ctx, a, err)
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "add-deliverable", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/agreements/{agreement}/deliverables", Tags: tags,
		Security: bearer, Summary: "Add a deliverable with its due date (officer)", DefaultStatus: http.StatusCreated, Errors: []int{401, 403, 404, 409, 422},
	}, func(ctx context.Context, in *struct {
		AgreementPath
		Body struct {
			Title string    `json:"title" maxLength:"300"`
			Due   time.Time `json:"due"`
		}
	}) (*struct{ Body DeliverableIO }, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		d, err := s.agreements.AddDeliverable(ctx, t.ID, in.Agreement, in.Body.Title, in.Body.Due.UTC())
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &struct{ Body DeliverableIO }{deliverableOut(d)}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "list-deliverables", Method: http.MethodGet, Path: "/v1/tenants/{tenant}/agreements/{agreement}/deliverables", Tags: tags,
		Security: bearer, Summary: "Deliverables of an agreement", Errors: []int{401, 403, 404},
	}, func(ctx context.Context, in *AgreementPath) (*struct{ Body []DeliverableIO }, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		ds, err := s.agreements.Deliverables(ctx, t.ID, in.Agreement)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &struct{ Body []DeliverableIO }{Body: listOf(ds, deliverableOut)}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "move-deliverable", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/deliverables/{deliverable}/status", Tags: tags,
		Security: bearer, Summary: "new → submitted (party) → in_review → approved | rejected (officer; rejected needs a note)",
		Errors: []int{401, 403, 404, 409, 412, 422},
	}, func(ctx context.Context, in *struct {
		TenantPath
		Deliverable uuid.UUID `path:"deliverable"`
		IfMatch     string    `header:"If-Match"`
		Body        struct {
			Status string `json:"status" enum:"submitted,in_review,approved,rejected"`
			Note   string `json:"note,omitempty" maxLength:"4000"`
		}
	}) (*struct{ Body DeliverableIO }, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		v, err := ifMatch(in.IfMatch)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		d, err := s.agreements.MoveDeliverable(ctx, t.ID, in.Deliverable, in.Body.Status, in.Body.Note, v)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &struct{ Body DeliverableIO }{deliverableOut(d)}, nil
	})

	ptags := []string{"Pilots"}
	huma.Register(s.api, huma.Operation{
		OperationID: "create-pilot", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/agreements/{agreement}/pilots", Tags: ptags,
		Security: bearer, Summary: "Design a pilot inside a signed or active agreement (officer)", DefaultStatus: http.StatusCreated,
		Errors: []int{401, 403, 404, 409, 422},
	}, func(ctx context.Context, in *struct {
		AgreementPath
		Body PilotIO
	}) (*pilotOutput, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		b := in.Body
		p, err := s.pilots.Create(ctx, t.ID, in.Agreement, pilot.Pilot{Title: b.Title, Hypothesis: b.Hypothesis, SiteISTAT: b.SiteISTATCode,
			Neighbourhood: b.Neighbourhood, CohortSize: b.CohortSize, Start: b.Start.UTC(), End: b.End.UTC()})
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &pilotOutput{ETag: etag(p.Version), Body: pilotOut(p)}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "list-pilots", Method: http.MethodGet, Path: "/v1/tenants/{tenant}/agreements/{agreement}/pilots", Tags: ptags,
		Security: bearer, Summary: "Pilots of an agreement", Errors: []int{401, 403, 404},
	}, func(ctx context.Context, in *AgreementPath) (*struct{ Body []PilotIO }, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		ps, err := s.pilots.For(ctx, t.ID, in.Agreement)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &struct{ Body []PilotIO }{Body: listOf(ps, pilotOut)}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "get-pilot", Method: http.MethodGet, Path: "/v1/tenants/{tenant}/pilots/{pilot}", Tags: ptags,
		Security: bearer, Summary: "Read a pilot", Errors: []int{401, 403, 404},
	}, func(ctx context.Context, in *struct {
		TenantPath
		Pilot uuid.UUID `path:"pilot"`
	}) (*pilotOutput, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		p, err := s.pilots.Get(ctx, t.ID, in.Pilot)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &pilotOutput{ETag: etag(p.Version), Body: pilotOut(p)}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "change-pilot", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/pilots/{pilot}/{action}", Tags: ptags,
		Security: bearer, Summary: "start, evaluate or decide (scale | iterate | stop) a pilot (officer; If-Match required)",
		Errors: []int{401, 403, 404, 409, 412, 422, 428},
	}, func(ctx context.Context, in *struct {
		TenantPath
		Pilot   uuid.UUID `path:"pilot"`
		Action  string    `path:"action" enum:"start,evaluate,decide"`
		IfMatch string    `header:"If-Match"`
		Body    *struct {
			Decision string      `json:"decision,omitempty" enum:"scale,iterate,stop"`
			Note     string      `json:"note,omitempty" maxLength:"4000"`
			FollowUp *FollowUpIO `json:"followUp,omitempty"`
		}
	}) (*pilotOutput, error) {
		t, v, err := s.enterIfMatch(ctx, in.Tenant, in.IfMatch)
		if err != nil {
			return nil, err
		}
		var decision, note string
		var follow *pilot.FollowUp
		if in.Body != nil {
			decision, note = in.Body.Decision, in.Body.Note
			if in.Body.FollowUp != nil {
				follow = &pilot.FollowUp{Kind: in.Body.FollowUp.Kind, ID: in.Body.FollowUp.ID}
			}
		}
		p, err := s.pilots.Change(ctx, t, in.Pilot, in.Action, decision, note, follow, v)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &pilotOutput{ETag: etag(p.Version), Body: pilotOut(p)}, nil
	})
}
