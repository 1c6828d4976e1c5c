package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/coprod/coprod/domain/coprogramming"
	"github.com/coprod/coprod/domain/initiative"
	"github.com/coprod/coprod/tenants"
)

// ProcessInput is what an officer opens a co-programming process with.
type ProcessInput struct {
	Title       string   `json:"title" maxLength:"300"`
	Description string   `json:"description,omitempty" maxLength:"20000"`
	PolicyArea  string   `json:"policyArea" enum:"elderly,disability,minors_families,poverty_inclusion,housing,migrants,addictions,mental_health,youth,employment,gender_violence,community,other"`
	Territory   []string `json:"territory,omitempty" maxItems:"8000" doc:"ISTAT codes of the comuni concerned; empty: the whole municipality"`
	PeriodFrom  string   `json:"periodFrom" format:"date"`
	PeriodTo    string   `json:"periodTo" format:"date"`
}

// Process is a co-programming process as the API shows it.
type Process struct {
	ID           uuid.UUID   `json:"id"`
	Title        string      `json:"title"`
	Description  string      `json:"description,omitempty"`
	PolicyArea   string      `json:"policyArea"`
	Territory    []string    `json:"territory"`
	PeriodFrom   string      `json:"periodFrom"`
	PeriodTo     string      `json:"periodTo"`
	Status       string      `json:"status"`
	Outputs      *OutputsIO  `json:"outputs,omitempty"`
	Act          *ActIO      `json:"act,omitempty"`
	CancelReason string      `json:"cancelReason,omitempty"`
	OpenedAt     *time.Time  `json:"openedAt,omitempty"`
	ClosedAt     *time.Time  `json:"closedAt,omitempty"`
	PublishedAt  *time.Time  `json:"publishedAt,omitempty"`
	Calls        []uuid.UUID `json:"calls" doc:"Calls drafted from the outputs"`
	Version      int         `json:"version"`
}

// OutputsIO are a process's published outputs.
type OutputsIO struct {
	Priorities []string `json:"priorities" minItems:"1" maxItems:"50"`
	Resources  []string `json:"resources,omitempty" maxItems:"50"`
	Summary    string   `json:"summary" maxLength:"20000"`
}

func timeIfSet(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func processOut(p *coprogramming.Process, calls []uuid.UUID) Process {
	out := Process{ID: p.ID, Title: p.Title, Description: p.Description, PolicyArea: p.PolicyArea, Territory: p.Territory,
		PeriodFrom: p.PeriodFrom.Format(time.DateOnly), PeriodTo: p.PeriodTo.Format(time.DateOnly), Status: string(p.Status),
		CancelReason: p.CancelReason, OpenedAt: timeIfSet(p.OpenedAt), ClosedAt: timeIfSet(p.ClosedAt), PublishedAt: timeIfSet(p.PublishedAt),
		Calls: calls, Version: p.Version}
	if out.Territory == nil {
		out.Territory = []string{}
	}
	if out.Calls == nil {
		out.Calls = []uuid.UUID{}
	}
	if p.Status == coprogramming.StatusPublished {
		out.Outputs = &OutputsIO{Priorities: p.Outputs.Priorities, Resources: p.Outputs.Resources, Summary: p.Outputs.Summary}
		out.Act = &ActIO{Kind: p.Act.Kind, Number: p.Act.Number, Date: p.Act.Date.Format(time.DateOnly), URL: p.Act.URL}
	}
	return out
}

// Contribution to a process as the API shows it.
type Contribution struct {
	ID             uuid.UUID  `json:"id"`
	Kind           string     `json:"kind" enum:"organisation,citizen"`
	OrganisationID *uuid.UUID `json:"organisationId,omitempty"`
	Name           string     `json:"name,omitempty" doc:"A citizen's name, if given"`
	Needs          string     `json:"needs,omitempty"`
	Data           string     `json:"data,omitempty"`
	Resources      string     `json:"resources,omitempty"`
	CreatedAt      time.Time  `json:"createdAt"`
}

func contributionOut(c *coprogramming.Contribution) Contribution {
	out := Contribution{ID: c.ID, Kind: string(c.Kind), Name: c.CitizenName, Needs: c.Needs, Data: c.Data, Resources: c.Resources, CreatedAt: c.CreatedAt}
	if c.OrganisationID != uuid.Nil {
		id := c.OrganisationID
		out.OrganisationID = &id
	}
	return out
}

// ProcessPath names a process of a tenant.
type ProcessPath struct {
	TenantPath
	Process uuid.UUID `path:"process"`
}

type processOutput struct {
	ETag string `header:"ETag"`
	Body Process
}

func parseDay(s, field string) (time.Time, error) {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, coprogramming.ErrInvalidPeriod.WithField(field)
	}
	return d, nil
}

func (s *Server) registerCoprogramming() {
	if s.coprogramming == nil {
		return
	}
	tags := []string{"Co-programming"}
	huma.Register(s.api, huma.Operation{
		OperationID: "create-coprogramming", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/co-programming", Tags: tags, Security: bearer,
		Summary: "Draft a co-programming process on a policy area, territory and period (officer)", DefaultStatus: http.StatusCreated,
		Errors: []int{401, 403, 404, 422},
	}, func(ctx context.Context, in *struct {
		TenantPath
		Body ProcessInput
	}) (*processOutput, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		from, err := parseDay(in.Body.PeriodFrom, "periodFrom")
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		to, err := parseDay(in.Body.PeriodTo, "periodTo")
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		p, err := s.coprogramming.Create(ctx, t.ID, coprogramming.Process{Title: in.Body.Title, Description: in.Body.Description,
			PolicyArea: in.Body.PolicyArea, Territory: in.Body.Territory, PeriodFrom: from, PeriodTo: to})
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &processOutput{ETag: etag(p.Version), Body: processOut(p, nil)}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "list-coprogramming", Method: http.MethodGet, Path: "/v1/tenants/{tenant}/co-programming", Tags: tags, Security: bearer,
		Summary: "List the tenant's co-programming processes (staff: drafts too)", Errors: []int{401, 404, 422},
	}, func(ctx context.Context, in *struct {
		TenantPath
		Status string `query:"status" enum:"draft,open,closed,published,cancelled"`
		Cursor string `query:"cursor" maxLength:"64"`
		Limit  int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
	}) (*pageOutput[Process], error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		after, err := decodeCursor(in.Cursor)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		items, next, err := s.coprogramming.List(ctx, t.ID, coprogramming.Filter{Status: coprogramming.Status(in.Status), After: after, Limit: in.Limit})
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &pageOutput[Process]{}
		out.Body.Items = listOf(items, func(p *coprogramming.Process) Process { return processOut(p, nil) })
		out.Body.NextCursor = encodeCursor(next)
		return out, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "get-coprogramming", Method: http.MethodGet, Path: "/v1/tenants/{tenant}/co-programming/{process}", Tags: tags, Security: bearer,
		Summary: "A co-programming process with the calls drafted from it (drafts: staff only)", Errors: []int{401, 404},
	}, func(ctx context.Context, in *ProcessPath) (*processOutput, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		v, err := s.coprogramming.Get(ctx, t.ID, in.Process)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &processOutput{ETag: etag(v.Version), Body: processOut(v.Process, v.Calls)}, nil
	})
	step := func(id, verb, summary string, do func(ctx context.Context, tenant, process uuid.UUID, version int) (*coprogramming.Process, error)) {
		huma.Register(s.api, huma.Operation{
			OperationID: id, Method: http.MethodPost, Path: "/v1/tenants/{tenant}/co-programming/{process}/" + verb, Tags: tags, Security: bearer,
			Summary: summary, Errors: []int{401, 403, 404, 409, 412},
		}, func(ctx context.Context, in *struct {
			ProcessPath
			IfMatch string `header:"If-Match" doc:"Optional: the ETag read"`
		}) (*processOutput, error) {
			t, err := s.enter(ctx, in.Tenant)
			if err != nil {
				return nil, err
			}
			v, err := ifMatch(in.IfMatch)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			p, err := do(ctx, t.ID, in.Process, v)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return &processOutput{ETag: etag(p.Version), Body: processOut(p, nil)}, nil
		})
	}
	step("open-coprogramming", "open", "Open the process to contributions (officer)", s.coprogramming.Open)
	step("close-coprogramming", "close", "Close the process to contributions (officer)", s.coprogramming.Close)
	huma.Register(s.api, huma.Operation{
		OperationID: "publish-coprogramming", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/co-programming/{process}/publish", Tags: tags, Security: bearer,
		Summary: "Publish the outputs (priorities, resources, summary) by a formal act of kind decision (officer)", Errors: []int{401, 403, 404, 409, 412, 422},
	}, func(ctx context.Context, in *struct {
		ProcessPath
		IfMatch string `header:"If-Match" doc:"Optional: the ETag read"`
		Body    struct {
			Outputs OutputsIO `json:"outputs"`
			Act     ActIO     `json:"act"`
		}
	}) (*processOutput, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		v, err := ifMatch(in.IfMatch)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		act, err := in.Body.Act.act()
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		o := in.Body.Outputs
		p, err := s.coprogramming.Publish(ctx, t.ID, in.Process, coprogramming.Outputs{Priorities: o.Priorities, Resources: o.Resources, Summary: o.Summary}, act, v)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &processOutput{ETag: etag(p.Version), Body: processOut(p, nil)}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "cancel-coprogramming", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/co-programming/{process}/cancel", Tags: tags, Security: bearer,
		Summary: "Cancel the process before its outputs are published, with a reason (officer)", Errors: []int{401, 403, 404, 409, 412, 422},
	}, func(ctx context.Context, in *struct {
		ProcessPath
		IfMatch string `header:"If-Match" doc:"Optional: the ETag read"`
		Body    struct {
			Reason string `json:"reason" maxLength:"2000"`
		}
	}) (*processOutput, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		v, err := ifMatch(in.IfMatch)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		p, err := s.coprogramming.Cancel(ctx, t.ID, in.Process, in.Body.Reason, v)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &processOutput{ETag: etag(p.Version), Body: processOut(p, nil)}, nil
	})
	type contributionOutput struct{ Body Contribution }
	huma.Register(s.api, huma.Operation{
		OperationID: "contribute-coprogramming", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/co-programming/{process}/contributions", Tags: tags, Security: bearer,
		Summary: "An organisation's contribution: needs, data, resources offered (its members, while open)", DefaultStatus: http.StatusCreated,
		Errors: []int{401, 403, 404, 409, 422},
	}, func(ctx context.Context, in *struct {
		ProcessPath
		Body struct {
			OrganisationID uuid.UUID `json:"organisationId"`
			Needs          string    `json:"needs,omitempty" maxLength:"20000"`
			Data           string    `json:"data,omitempty" maxLength:"20000"`
			Resources      string    `json:"resources,omitempty" maxLength:"20000"`
		}
	}) (*contributionOutput, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		c, err := s.coprogramming.Contribute(ctx, t.ID, in.Process, in.Body.OrganisationID,
			coprogramming.Contribution{Needs: in.Body.Needs, Data: in.Body.Data, Resources: in.Body.Resources})
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &contributionOutput{contributionOut(c)}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "record-citizen-contribution", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/co-programming/{process}/citizen-contributions", Tags: tags, Security: bearer,
		Summary:       "Record a citizen's contribution (officer, while open)",
		Description:   "At most a name: the body admits no other field (an e-mail or phone field is a 422), and a name or text carrying an e-mail address or phone number is refused with personal_data_refused.",
		DefaultStatus: http.StatusCreated, Errors: []int{401, 403, 404, 409, 422},
	}, func(ctx context.Context, in *struct {
		ProcessPath
		Body struct {
			_         struct{} `json:"-" additionalProperties:"false"`
			Name      string   `json:"name,omitempty" maxLength:"200" doc:"Optional"`
			Needs     string   `json:"needs,omitempty" maxLength:"20000"`
			Data      string   `json:"data,omitempty" maxLength:"20000"`
			Resources string   `json:"resources,omitempty" maxLength:"20000"`
		}
	}) (*contributionOutput, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		c, err := s.coprogramming.RecordCitizen(ctx, t.ID, in.Process,
			coprogramming.Contribution{CitizenName: in.Body.Name, Needs: in.Body.Needs, Data: in.Body.Data, Resources: in.Body.Resources})
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &contributionOutput{contributionOut(c)}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "list-coprogramming-contributions", Method: http.MethodGet, Path: "/v1/tenants/{tenant}/co-programming/{process}/contributions", Tags: tags, Security: bearer,
		Summary: "Contributions: all to staff, its own to an organisation", Errors: []int{401, 404},
	}, func(ctx context.Context, in *ProcessPath) (*itemsOutput[Contribution], error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		cs, err := s.coprogramming.Contributions(ctx, t.ID, in.Process)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &itemsOutput[Contribution]{}
		out.Body.Items = listOf(cs, contributionOut)
		return out, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "create-call-from-coprogramming", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/co-programming/{process}/calls", Tags: tags, Security: bearer,
		Summary: "Draft a call from the published outputs, linked to the process (officer)", DefaultStatus: http.StatusCreated,
		Errors: []int{401, 403, 404, 409},
	}, func(ctx context.Context, in *ProcessPath) (*callOutput, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		c, err := s.coprogramming.CreateCall(ctx, t.ID, in.Process)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &callOutput{ETag: etag(c.Version), Body: callOut(t, c)}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "list-public-coprogramming", Method: http.MethodGet, Path: "/v1/public/municipalities/{tenant}/co-programming", Tags: tags,
		Summary:     "A municipality's published co-programming outputs, with their acts and the calls drafted from them (no login)",
		Description: "Responses carry an ETag; If-None-Match answers 304.", Errors: []int{404},
	}, func(ctx context.Context, in *struct {
		TenantPath
		IfNoneMatch string `header:"If-None-Match"`
	}) (*publicItemsOutput[Process], error) {
		t, err := s.publicMunicipality(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		vs, err := s.coprogramming.Published(ctx, t.ID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &publicItemsOutput[Process]{CacheControl: "public, max-age=60"}
		out.Body.Items = listOf(vs, func(v *coprogramming.View) Process { return processOut(v.Process, v.Calls) })
		out.ETag = bodyETag(out.Body)
		if in.IfNoneMatch != "" && in.IfNoneMatch == out.ETag {
			return nil, huma.Status304NotModified()
		}
		return out, nil
	})
}

type pageOutput[T any] struct {
	Body struct {
		Items      []T    `json:"items"`
		NextCursor string `json:"nextCursor,omitempty"`
	}
}

// itemsOutput is a whole list, not paged (a process's contributions, a
// municipality's published outputs: bounded by what people write).
type itemsOutput[T any] struct {
	Body struct {
		Items []T `json:"items"`
	}
}

type publicItemsOutput[T any] struct {
	ETag         string `header:"ETag"`
	CacheControl string `header:"Cache-Control"`
	Body         struct {
		Items []T `json:"items"`
	}
}

type publicPageOutput[T any] struct {
	ETag         string `header:"ETag"`
	CacheControl string `header:"Cache-Control"`
	Body         struct {
		Items      []T    `json:"items"`
		NextCursor string `json:"nextCursor,omitempty"`
	}
}

// publicMunicipality resolves the municipality of a public route: one that exists
// and is (or was) active; provisioning ones have published nothing.
func (s *Server) publicMunicipality(ctx context.Context, ref string) (*tenants.Tenant, error) {
	t, err := s.tenants.Resolve(ctx, ref)
	if err == nil && t.Status == tenants.StatusProvisioning {
		err = tenants.ErrNotFound
	}
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	return t, nil
}

// InitiativeInput is what an organisation proposes.
type InitiativeInput struct {
	OrganisationID   uuid.UUID `json:"organisationId" doc:"The proposing organisation; you must act for it"`
	Title            string    `json:"title" maxLength:"300"`
	Problem          string    `json:"problem" maxLength:"20000"`
	TargetGroup      string    `json:"targetGroup" maxLength:"20000"`
	Approach         string    `json:"approach" maxLength:"20000"`
	PolicyArea       string    `json:"policyArea,omitempty" enum:"elderly,disability,minors_families,poverty_inclusion,housing,migrants,addictions,mental_health,youth,employment,gender_violence,community,other"`
	Partners         []string  `json:"partners,omitempty" maxItems:"50" doc:"Names of partner bodies"`
	ResourcesOffered string    `json:"resourcesOffered,omitempty" maxLength:"20000"`
}

// Initiative as its municipality's staff and its proposers see it: the
// public entry plus who proposed it.
type Initiative struct {
	initiative.Public
	ProposedBy string `json:"proposedBy"`
	Version    int    `json:"version"`
}

func (s *Server) initiativeOut(i *initiative.Initiative) Initiative {
	return Initiative{Public: i.PublicView(s.initiatives.Now()), ProposedBy: i.ProposedBy, Version: i.Version}
}

// InitiativePath names an initiative of a tenant.
type InitiativePath struct {
	TenantPath
	Initiative uuid.UUID `path:"initiative"`
}

type initiativeOutput struct {
	ETag string `header:"ETag"`
	Body Initiative
}

func (s *Server) registerInitiatives() {
	if s.initiatives == nil {
		return
	}
	tags := []string{"Initiatives"}
	huma.Register(s.api, huma.Operation{
		OperationID: "propose-initiative", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/initiatives", Tags: tags, Security: bearer,
		Summary: "Propose an initiative to the municipality (a member of the proposing organisation)", DefaultStatus: http.StatusCreated,
		Errors: []int{401, 403, 404, 422},
	}, func(ctx context.Context, in *struct {
		TenantPath
		Body InitiativeInput
	}) (*initiativeOutput, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		b := in.Body
		i, err := s.initiatives.Propose(ctx, t.ID, b.OrganisationID, initiative.Initiative{Title: b.Title, Problem: b.Problem,
			TargetGroup: b.TargetGroup, Approach: b.Approach, PolicyArea: b.PolicyArea, Partners: b.Partners, ResourcesOffered: b.ResourcesOffered})
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &initiativeOutput{ETag: etag(i.Version), Body: s.initiativeOut(i)}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "list-initiatives", Method: http.MethodGet, Path: "/v1/tenants/{tenant}/initiatives", Tags: tags, Security: bearer,
		Summary: "List initiatives: all to staff, their organisations' to members; overdue=true: untriaged past their deadline", Errors: []int{401, 403, 404, 422},
	}, func(ctx context.Context, in *struct {
		TenantPath
		Status  string `query:"status" enum:"proposed,in_triage,accepted,declined,merged,withdrawn"`
		Overdue bool   `query:"overdue"`
		Cursor  string `query:"cursor" maxLength:"64"`
		Limit   int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
	}) (*pageOutput[Initiative], error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		after, err := decodeCursor(in.Cursor)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		f := initiative.Filter{Status: initiative.Status(in.Status), After: after, Limit: in.Limit}
		if in.Overdue {
			f.OverdueAt = s.initiatives.Now()
		}
		items, next, err := s.initiatives.List(ctx, t.ID, f)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &pageOutput[Initiative]{}
		out.Body.Items = listOf(items, s.initiativeOut)
		out.Body.NextCursor = encodeCursor(next)
		return out, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "get-initiative", Method: http.MethodGet, Path: "/v1/tenants/{tenant}/initiatives/{initiative}", Tags: tags, Security: bearer,
		Summary: "One initiative (staff, the proposing organisation)", Errors: []int{401, 404},
	}, func(ctx context.Context, in *InitiativePath) (*initiativeOutput, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		i, err := s.initiatives.Get(ctx, t.ID, in.Initiative)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &initiativeOutput{ETag: etag(i.Version), Body: s.initiativeOut(i)}, nil
	})
	type triageIn[B any] struct {
		InitiativePath
		IfMatch string `header:"If-Match" doc:"Optional: the ETag read"`
		Body    B
	}
	run := func(ctx context.Context, ref, ifm string, do func(tenant uuid.UUID, version int) (*initiative.Initiative, error)) (*initiativeOutput, error) {
		t, err := s.enter(ctx, ref)
		if err != nil {
			return nil, err
		}
		v, err := ifMatch(ifm)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		i, err := do(t.ID, v)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &initiativeOutput{ETag: etag(i.Version), Body: s.initiativeOut(i)}, nil
	}
	op := func(id, verb, summary string) huma.Operation {
		return huma.Operation{OperationID: id, Method: http.MethodPost, Path: "/v1/tenants/{tenant}/initiatives/{initiative}/" + verb,
			Tags: tags, Security: bearer, Summary: summary, Errors: []int{401, 403, 404, 409, 412, 422}}
	}
	huma.Register(s.api, op("set-initiative-deadline", "triage-deadline", "Set or move the triage deadline, strictly in the future (officer)"),
		func(ctx context.Context, in *triageIn[struct {
			Deadline time.Time `json:"deadline"`
		}]) (*initiativeOutput, error) {
			return run(ctx, in.Tenant, in.IfMatch, func(tenant uuid.UUID, v int) (*initiative.Initiative, error) {
				return s.initiatives.SetDeadline(ctx, tenant, in.Initiative, in.Body.Deadline, v)
			})
		})
	huma.Register(s.api, op("accept-initiative", "accept", "Accept into co-programming (an existing process, or a new draft one) or into a new draft call (officer)"),
		func(ctx context.Context, in *triageIn[struct {
			Into       string    `json:"into" enum:"coprogramming,call"`
			ProcessID  uuid.UUID `json:"coprogrammingId,omitempty" doc:"An existing draft or open process; omitted: a new draft process"`
			PolicyArea string    `json:"policyArea,omitempty" doc:"Of a new process; default the initiative's"`
			PeriodFrom string    `json:"periodFrom,omitempty" format:"date" doc:"Of a new process; default today"`
			PeriodTo   string    `json:"periodTo,omitempty" format:"date" doc:"Of a new process; default a year on"`
		}]) (*initiativeOutput, error) {
			a := initiative.Accept{Route: initiative.Route(in.Body.Into), ProcessID: in.Body.ProcessID, PolicyArea: in.Body.PolicyArea}
			var err error
			if in.Body.PeriodFrom != "" {
				if a.PeriodFrom, err = parseDay(in.Body.PeriodFrom, "periodFrom"); err != nil {
					return nil, s.problem(ctx, err)
				}
			}
			if in.Body.PeriodTo != "" {
				if a.PeriodTo, err = parseDay(in.Body.PeriodTo, "periodTo"); err != nil {
					return nil, s.problem(ctx, err)
				}
			}
			return run(ctx, in.Tenant, in.IfMatch, func(tenant uuid.UUID, v int) (*initiative.Initiative, error) {
				return s.initiatives.Accept(ctx, tenant, in.Initiative, a, v)
			})
		})
	huma.Register(s.api, op("decline-initiative", "decline", "Decline with reasons, which the register shows (officer)"),
		func(ctx context.Context, in *triageIn[struct {
			Reason string `json:"reason" maxLength:"2000"`
		}]) (*initiativeOutput, error) {
			return run(ctx, in.Tenant, in.IfMatch, func(tenant uuid.UUID, v int) (*initiative.Initiative, error) {
				return s.initiatives.Decline(ctx, tenant, in.Initiative, in.Body.Reason, v)
			})
		})
	huma.Register(s.api, op("merge-initiative", "merge", "Merge into another initiative of the municipality (officer)"),
		func(ctx context.Context, in *triageIn[struct {
			Into uuid.UUID `json:"into"`
		}]) (*initiativeOutput, error) {
			return run(ctx, in.Tenant, in.IfMatch, func(tenant uuid.UUID, v int) (*initiative.Initiative, error) {
				return s.initiatives.Merge(ctx, tenant, in.Initiative, in.Body.Into, v)
			})
		})
	huma.Register(s.api, op("withdraw-initiative", "withdraw", "Withdraw before triage (the proposing organisation)"),
		func(ctx context.Context, in *InitiativePath) (*initiativeOutput, error) {
			return run(ctx, in.Tenant, "", func(tenant uuid.UUID, _ int) (*initiative.Initiative, error) {
				return s.initiatives.Withdraw(ctx, tenant, in.Initiative)
			})
		})
	huma.Register(s.api, huma.Operation{
		OperationID: "list-public-initiatives", Method: http.MethodGet, Path: "/v1/public/municipalities/{tenant}/initiatives", Tags: tags,
		Summary:     "The public register of a municipality's initiatives and their status (no login)",
		Description: "No personal data: organisation names are public, who proposed is not. overdue: in triage past the deadline. Responses carry an ETag; If-None-Match answers 304.",
		Errors:      []int{404, 422},
	}, func(ctx context.Context, in *struct {
		TenantPath
		Status      string `query:"status" enum:"proposed,in_triage,accepted,declined,merged,withdrawn"`
		Cursor      string `query:"cursor" maxLength:"64"`
		Limit       int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
		IfNoneMatch string `header:"If-None-Match"`
	}) (*publicPageOutput[initiative.Public], error) {
		t, err := s.publicMunicipality(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		after, err := decodeCursor(in.Cursor)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		items, next, err := s.initiatives.Register(ctx, t.ID, initiative.Filter{Status: initiative.Status(in.Status), After: after, Limit: in.Limit})
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &publicPageOutput[initiative.Public]{CacheControl: "public, max-age=60"}
		out.Body.Items, out.Body.NextCursor = items, encodeCursor(next)
		out.ETag = bodyETag(out.Body)
		if in.IfNoneMatch != "" && in.IfNoneMatch == out.ETag {
			return nil, huma.Status304NotModified()
		}
		return out, nil
	})
}
