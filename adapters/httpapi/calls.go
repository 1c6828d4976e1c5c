package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/call"
	"github.com/coprod/coprod/domain/evaluation"
	"github.com/coprod/coprod/tenants"
)

// CallInput is a call's editable content.
type CallInput struct {
	Title            string         `json:"title" maxLength:"300"`
	Summary          string         `json:"summary,omitempty" maxLength:"20000"`
	PolicyArea       string         `json:"policyArea,omitempty" enum:"elderly,disability,minors_families,poverty_inclusion,housing,migrants,addictions,mental_health,youth,employment,gender_violence,community,other"`
	Objectives       []string       `json:"objectives,omitempty" maxItems:"50"`
	Budget           *BudgetIO      `json:"budget,omitempty"`
	DurationMonths   int            `json:"durationMonths,omitempty" minimum:"0" maximum:"120"`
	Eligibility      *EligibilityIO `json:"eligibility,omitempty"`
	ExclusionGrounds []string       `json:"exclusionGrounds,omitempty" maxItems:"50"`
	RunsService      bool           `json:"runsService,omitempty"`
	Criteria         []CriterionIO  `json:"criteria,omitempty" maxItems:"30"`
	PassThreshold    float64        `json:"passThreshold,omitempty" minimum:"0" maximum:"100" doc:"Consolidated score (0-100, two decimals) needed for admission"`
	Questions        *time.Time     `json:"questionsDeadline,omitempty"`
	Submission       *time.Time     `json:"submissionDeadline,omitempty"`
	MinPublication   int            `json:"minPublicationDays,omitempty" minimum:"0" maximum:"365" doc:"Default 20"`
}

type BudgetIO struct {
	PublicCents            int64 `json:"publicCents" minimum:"0"`
	CofundingExpectedCents int64 `json:"cofundingExpectedCents" minimum:"0"`
	MaxPerProjectCents     int64 `json:"maxPerProjectCents" minimum:"0"`
}

type EligibilityIO struct {
	RUNTSRequired bool     `json:"runtsRequired"`
	LegalForms    []string `json:"legalForms,omitempty" maxItems:"10"`
	Territory     []string `json:"territory,omitempty" maxItems:"8000"`
}

type CriterionIO struct {
	Code     string `json:"code" maxLength:"40"`
	Name     string `json:"name" maxLength:"300"`
	Weight   int    `json:"weight" minimum:"1" maximum:"100" doc:"Percent; weights sum to 100"`
	MaxScore int    `json:"maxScore" minimum:"1" maximum:"1000"`
}

// ActIO is a formal act: number, date and publication URL.
type ActIO struct {
	Kind   string `json:"kind" enum:"decision,call,committee,ranking,amendment,agreement,cancellation"`
	Number string `json:"number" maxLength:"50"`
	Date   string `json:"date" format:"date"`
	URL    string `json:"url" format:"uri" maxLength:"2000"`
}

func (a ActIO) act() (call.Act, error) {
	d, err := time.Parse(time.DateOnly, a.Date)
	if err != nil {
		return call.Act{}, call.ErrInvalidAct.WithField("act.date")
	}
	return call.Act{Kind: a.Kind, Number: a.Number, Date: d, URL: a.URL}, nil
}

func (in CallInput) call() call.Call {
	c := call.Call{Title: in.Title, Summary: in.Summary, PolicyArea: in.PolicyArea, Objectives: in.Objectives,
		DurationMonths: in.DurationMonths, ExclusionGrounds: in.ExclusionGrounds, RunsService: in.RunsService,
		PassThresholdBP: int64(in.PassThreshold*100 + 0.5), MinPublicationDays: in.MinPublication}
	if in.Budget != nil {
		c.Budget = call.Budget(*in.Budget)
	}
	if in.Eligibility != nil {
		c.Eligibility = call.Eligibility{RUNTSRequired: in.Eligibility.RUNTSRequired, LegalForms: in.Eligibility.LegalForms, Territory: in.Eligibility.Territory}
	}
	for _, cr := range in.Criteria {
		c.Criteria = append(c.Criteria, evaluation.Criterion{Code: cr.Code, Name: cr.Name, Weight: cr.Weight, MaxScore: cr.MaxScore})
	}
	if in.Questions != nil {
		c.QuestionsDeadline = in.Questions.UTC()
	}
	if in.Submission != nil {
		c.SubmissionDeadline = in.Submission.UTC()
	}
	return c
}

// Call is a call as its municipality's staff see it.
type Call struct {
	call.PublicCall
	MinPublicationDays int       `json:"minPublicationDays"`
	CreatedBy          string    `json:"createdBy"`
	CreatedAt          time.Time `json:"createdAt"`
	UpdatedAt          time.Time `json:"updatedAt"`
}

// callOut is c as every staff operation answers it, with its municipality
// t named (the tenant the request entered, whose call c is).
func callOut(t *tenants.Tenant, c *call.Call) Call {
	return Call{PublicCall: c.PublicView(publicTenant(t), nil), MinPublicationDays: c.MinPublicationDays,
		CreatedBy: c.CreatedBy, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

// publicTenant is how a call or a practice names its municipality.
func publicTenant(t *tenants.Tenant) call.PublicTenant {
	return call.PublicTenant{ID: t.ID, Slug: t.Slug, Name: t.Name, RegionID: t.RegionID}
}

type callOutput struct {
	ETag string `header:"ETag"`
	Body Call
}

// CallPath names a call of a tenant.
type CallPath struct {
	TenantPath
	Call uuid.UUID `path:"call"`
}

// Question as the API shows it.
type Question struct {
	ID             uuid.UUID  `json:"id"`
	OrganisationID *uuid.UUID `json:"organisationId,omitempty" doc:"Shown to staff and to the asking organisation only"`
	Text           string     `json:"text"`
	AskedAt        time.Time  `json:"askedAt"`
	Answer         string     `json:"answer,omitempty"`
	AnsweredAt     *time.Time `json:"answeredAt,omitempty"`
	Published      bool       `json:"published"`
}

func questionOut(q *call.Question, showOrg bool) Question {
	out := Question{ID: q.ID, Text: q.Text, AskedAt: q.AskedAt, Answer: q.Answer, Published: q.Published}
	if showOrg {
		id := q.OrganisationID
		out.OrganisationID = &id
	}
	if !q.AnsweredAt.IsZero() {
		at := q.AnsweredAt
		out.AnsweredAt = &at
	}
	return out
}

func bodyETag(v any) string {
	b, _ := json.Marshal(v)
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}

func (s *Server) registerCalls() {
	if s.calls == nil {
		return
	}
	tags := []string{"Calls"}
	huma.Register(s.api, huma.Operation{
		OperationID: "create-call", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/calls", Tags: tags, Security: bearer,
		Summary: "Draft a call for co-design (officer, tenant admin)", DefaultStatus: http.StatusCreated, Errors: []int{401, 403, 404, 422},
	}, func(ctx context.Context, in *struct {
		TenantPath
		Body CallInput
	}) (*callOutput, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		c, err := s.calls.CreateDraft(ctx, t.ID, in.Body.call())
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &callOutput{ETag: etag(c.Version), Body: callOut(t, c)}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "list-calls", Method: http.MethodGet, Path: "/v1/tenants/{tenant}/calls", Tags: tags, Security: bearer,
		Summary: "List the tenant's calls, drafts included (staff)", Errors: []int{401, 403, 404, 422},
	}, func(ctx context.Context, in *struct {
		TenantPath
		Status string `query:"status" enum:"draft,published,closed,evaluating,ranked,concluded,cancelled"`
		Cursor string `query:"cursor" maxLength:"64"`
		Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50"`
	}) (*struct {
		Body struct {
			Items      []Call `json:"items"`
			NextCursor string `json:"nextCursor,omitempty"`
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
		items, next, err := s.calls.List(ctx, t.ID, call.Filter{Status: call.Status(in.Status), After: after, Limit: in.Limit})
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &struct {
			Body struct {
				Items      []Call `json:"items"`
				NextCursor string `json:"nextCursor,omitempty"`
			}
		}{}
		out.Body.Items = make([]Call, 0, len(items))
		for _, c := range items {
			out.Body.Items = append(out.Body.Items, callOut(t, c))
		}
		out.Body.NextCursor = encodeCursor(next)
		return out, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "get-call", Method: http.MethodGet, Path: "/v1/tenants/{tenant}/calls/{call}", Tags: tags, Security: bearer,
		Summary: "Read a call (drafts: staff only)", Errors: []int{401, 403, 404},
	}, func(ctx context.Context, in *CallPath) (*callOutput, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		c, err := s.calls.Get(ctx, t.ID, in.Call)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &callOutput{ETag: etag(c.Version), Body: callOut(t, c)}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "update-call", Method: http.MethodPut, Path: "/v1/tenants/{tenant}/calls/{call}", Tags: tags, Security: bearer,
		Summary: "Edit a draft call (If-Match required)", Errors: []int{401, 403, 404, 409, 412, 422, 428},
	}, func(ctx context.Context, in *struct {
		CallPath
		IfMatch string `header:"If-Match" doc:"The ETag last read; required"`
		Body    CallInput
	}) (*callOutput, error) {
		return s.callChange(ctx, in.Tenant, in.IfMatch, func(tenant uuid.UUID, v int) (*call.Call, error) {
			return s.calls.UpdateDraft(ctx, tenant, in.Call, in.Body.call(), v)
		})
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "publish-call", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/calls/{call}/publish", Tags: tags, Security: bearer,
		Summary:     "Publish a call with its formal act (If-Match required)",
		Description: "Freezes the rules. The submission deadline must be at least minPublicationDays after now.",
		Errors:      []int{401, 403, 404, 409, 412, 422, 428},
	}, func(ctx context.Context, in *struct {
		CallPath
		IfMatch string `header:"If-Match" doc:"The ETag last read; required"`
		Body    struct {
			Act ActIO `json:"act"`
		}
	}) (*callOutput, error) {
		act, err := in.Body.Act.act()
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return s.callChange(ctx, in.Tenant, in.IfMatch, func(tenant uuid.UUID, v int) (*call.Call, error) {
			return s.calls.Publish(ctx, tenant, in.Call, act, v)
		})
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "amend-call", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/calls/{call}/amendments", Tags: tags, Security: bearer,
		Summary:     "Amend a published call by a formal act, with a reason (If-Match required)",
		Description: "Deadlines may only be extended. The amendment is versioned (rulesVersion) and recorded publicly.",
		Errors:      []int{401, 403, 404, 409, 412, 422, 428},
	}, func(ctx context.Context, in *struct {
		CallPath
		IfMatch string `header:"If-Match" doc:"The ETag last read; required"`
		Body    struct {
			Reason             string     `json:"reason" maxLength:"2000"`
			Act                ActIO      `json:"act"`
			Summary            *string    `json:"summary,omitempty" maxLength:"20000"`
			Objectives         []string   `json:"objectives,omitempty" maxItems:"50"`
			ExclusionGrounds   []string   `json:"exclusionGrounds,omitempty" maxItems:"50"`
			Budget             *BudgetIO  `json:"budget,omitempty"`
			QuestionsDeadline  *time.Time `json:"questionsDeadline,omitempty"`
			SubmissionDeadline *time.Time `json:"submissionDeadline,omitempty"`
		}
	}) (*callOutput, error) {
		act, err := in.Body.Act.act()
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		b := in.Body
		am := call.AmendInput{Reason: b.Reason, Act: act, Summary: b.Summary, Objectives: b.Objectives, ExclusionGrounds: b.ExclusionGrounds,
			QuestionsDeadline: b.QuestionsDeadline, SubmissionDeadline: b.SubmissionDeadline}
		if b.Budget != nil {
			bud := call.Budget(*b.Budget)
			am.Budget = &bud
		}
		return s.callChange(ctx, in.Tenant, in.IfMatch, func(tenant uuid.UUID, v int) (*call.Call, error) {
			return s.calls.Amend(ctx, tenant, in.Call, am, v)
		})
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "close-call", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/calls/{call}/close", Tags: tags, Security: bearer,
		Summary: "Close a call whose submission deadline has passed", Errors: []int{401, 403, 404, 409},
	}, func(ctx context.Context, in *CallPath) (*callOutput, error) {
		return s.callChange(ctx, in.Tenant, "*", func(tenant uuid.UUID, _ int) (*call.Call, error) {
			return s.calls.Close(ctx, tenant, in.Call)
		})
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "start-call-evaluation", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/calls/{call}/start-evaluation", Tags: tags,
		Security: bearer, Summary: "Start the evaluation with the act appointing the committee (If-Match required)",
		Errors: []int{401, 403, 404, 409, 412, 422, 428},
	}, func(ctx context.Context, in *struct {
		CallPath
		IfMatch string `header:"If-Match" doc:"The ETag last read; required"`
		Body    struct {
			Act ActIO `json:"act"`
		}
	}) (*callOutput, error) {
		act, err := in.Body.Act.act()
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return s.callChange(ctx, in.Tenant, in.IfMatch, func(tenant uuid.UUID, v int) (*call.Call, error) {
			return s.calls.StartEvaluation(ctx, tenant, in.Call, act, v)
		})
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "cancel-call", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/calls/{call}/cancel", Tags: tags, Security: bearer,
		Summary: "Cancel a call with a reason (and its act once published; If-Match required)", Errors: []int{401, 403, 404, 409, 412, 422, 428},
	}, func(ctx context.Context, in *struct {
		CallPath
		IfMatch string `header:"If-Match" doc:"The ETag last read; required"`
		Body    struct {
			Reason string `json:"reason" maxLength:"2000"`
			Act    *ActIO `json:"act,omitempty"`
		}
	}) (*callOutput, error) {
		var act *call.Act
		if in.Body.Act != nil {
			a, err := in.Body.Act.act()
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			act = &a
		}
		return s.callChange(ctx, in.Tenant, in.IfMatch, func(tenant uuid.UUID, v int) (*call.Call, error) {
			return s.calls.Cancel(ctx, tenant, in.Call, in.Body.Reason, act, v)
		})
	})

	// Questions and answers.
	huma.Register(s.api, huma.Operation{
		OperationID: "ask-question", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/calls/{call}/questions", Tags: tags, Security: bearer,
		Summary: "Ask a question about a call, for one of your organisations, before the questions deadline", DefaultStatus: http.StatusCreated,
		Errors: []int{401, 403, 404, 409, 422},
	}, func(ctx context.Context, in *struct {
		CallPath
		Body struct {
			OrganisationID uuid.UUID `json:"organisationId"`
			Text           string    `json:"text" maxLength:"4000"`
		}
	}) (*struct{ Body Question }, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		q, err := s.calls.Ask(ctx, t.ID, in.Call, in.Body.OrganisationID, in.Body.Text)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &struct{ Body Question }{questionOut(q, true)}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "list-questions", Method: http.MethodGet, Path: "/v1/tenants/{tenant}/calls/{call}/questions", Tags: tags, Security: bearer,
		Summary: "Questions of a call: all to staff; to an organisation, its own and the published ones", Errors: []int{401, 403, 404},
	}, func(ctx context.Context, in *CallPath) (*struct{ Body []Question }, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		qs, err := s.calls.Questions(ctx, t.ID, in.Call)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		p, _ := domain.PrincipalFrom(ctx)
		isStaff := p.TenantID == t.ID && p.Has(domain.RoleOfficer, domain.RoleTenantAdmin, domain.RoleEvaluator, domain.RoleAuditor)
		out := &struct{ Body []Question }{Body: make([]Question, 0, len(qs))}
		for _, q := range qs {
			out.Body = append(out.Body, questionOut(q, isStaff || len(p.Orgs[q.OrganisationID]) > 0))
		}
		return out, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "answer-question", Method: http.MethodPut, Path: "/v1/tenants/{tenant}/questions/{question}/answer", Tags: tags, Security: bearer,
		Summary: "Answer a question (officer); publish adds it to the call's public FAQ", Errors: []int{401, 403, 404, 422},
	}, func(ctx context.Context, in *struct {
		TenantPath
		Question uuid.UUID `path:"question"`
		Body     struct {
			Answer  string `json:"answer" maxLength:"20000"`
			Publish bool   `json:"publish"`
		}
	}) (*struct{ Body Question }, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		q, err := s.calls.Answer(ctx, t.ID, in.Question, in.Body.Answer, in.Body.Publish)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &struct{ Body Question }{questionOut(q, true)}, nil
	})

	// Transparency: no login, across all municipalities.
	pub := []string{"Transparency"}
	huma.Register(s.api, huma.Operation{
		OperationID: "list-public-calls", Method: http.MethodGet, Path: "/v1/public/calls", Tags: pub,
		Summary:     "Published calls of every municipality (no login)",
		Description: "Newest first. Filters: region, municipality (slug or id), policy area, open now, text. Responses carry an ETag; If-None-Match answers 304.",
		Errors:      []int{404, 422},
	}, func(ctx context.Context, in *struct {
		Region       string `query:"region" maxLength:"63" doc:"Slug or id of a region"`
		Municipality string `query:"municipality" maxLength:"63" doc:"Slug or id of a municipality"`
		PolicyArea   string `query:"policyArea" enum:"elderly,disability,minors_families,poverty_inclusion,housing,migrants,addictions,mental_health,youth,employment,gender_violence,community,other"`
		Open         bool   `query:"open" doc:"Only calls open for submissions now"`
		Q            string `query:"q" maxLength:"200"`
		Cursor       string `query:"cursor" maxLength:"64"`
		Limit        int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
		IfNoneMatch  string `header:"If-None-Match"`
	}) (*publicCallsOutput, error) {
		f := call.PublicFilter{PolicyArea: in.PolicyArea, Text: in.Q, Limit: in.Limit}
		var err error
		if f.Before, err = decodeCursor(in.Cursor); err != nil {
			return nil, s.problem(ctx, err)
		}
		if in.Region != "" {
			r, err := s.tenants.Resolve(ctx, in.Region)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			f.RegionID = r.ID
		}
		if in.Municipality != "" {
			m, err := s.tenants.Resolve(ctx, in.Municipality)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			f.TenantID = m.ID
		}
		if in.Open {
			f.OpenAt = time.Now()
		}
		items, next, err := s.transparency.List(ctx, f)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &publicCallsOutput{CacheControl: "public, max-age=60"}
		out.Body.Items = items
		if out.Body.Items == nil {
			out.Body.Items = []call.PublicCall{}
		}
		out.Body.NextCursor = encodeCursor(next)
		out.ETag = bodyETag(out.Body)
		if in.IfNoneMatch != "" && in.IfNoneMatch == out.ETag {
			return nil, huma.Status304NotModified()
		}
		return out, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "get-public-call", Method: http.MethodGet, Path: "/v1/public/calls/{call}", Tags: pub,
		Summary: "A published call with its FAQ and amendments (no login)", Errors: []int{404},
	}, func(ctx context.Context, in *struct {
		Call        uuid.UUID `path:"call"`
		IfNoneMatch string    `header:"If-None-Match"`
	}) (*struct {
		ETag         string `header:"ETag"`
		CacheControl string `header:"Cache-Control"`
		Body         call.PublicCall
	}, error) {
		c, err := s.transparency.Get(ctx, in.Call)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		tag := bodyETag(c)
		if in.IfNoneMatch != "" && in.IfNoneMatch == tag {
			return nil, huma.Status304NotModified()
		}
		return &struct {
			ETag         string `header:"ETag"`
			CacheControl string `header:"Cache-Control"`
			Body         call.PublicCall
		}{tag, "public, max-age=60", *c}, nil
	})
}

type publicCallsOutput struct {
	ETag         string `header:"ETag"`
	CacheControl string `header:"Cache-Control"`
	Body         struct {
		Items      []call.PublicCall `json:"items"`
		NextCursor string            `json:"nextCursor,omitempty"`
	}
}

var errIfMatchRequired = domain.Errorf(domain.KindPreconditionRequired, "if_match_required",
	"send If-Match with the ETag you last read, so that two people editing at once cannot overwrite each other")

// callChange runs a guarded change: the tenant must be usable and, when
// ifMatch is required by the route, present and current.
func (s *Server) callChange(ctx context.Context, ref, ifMatchHeader string, fn func(tenant uuid.UUID, version int) (*call.Call, error)) (*callOutput, error) {
	t, err := s.enter(ctx, ref)
	if err != nil {
		return nil, err
	}
	if ifMatchHeader == "" {
		return nil, s.problem(ctx, errIfMatchRequired)
	}
	v, err := ifMatch(ifMatchHeader)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	c, err := fn(t.ID, v)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	return &callOutput{ETag: etag(c.Version), Body: callOut(t, c)}, nil
}
