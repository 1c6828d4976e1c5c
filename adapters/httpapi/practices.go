package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/coprod/coprod/domain/impact"
	"github.com/coprod/coprod/domain/monitoring"
	"github.com/coprod/coprod/domain/practice"
	"github.com/coprod/coprod/tenants"
)

// PracticeContentIO is what an officer writes about a practice.
type PracticeContentIO struct {
	Title         string   `json:"title" maxLength:"300"`
	Problem       string   `json:"problem" maxLength:"20000"`
	Approach      string   `json:"approach" maxLength:"20000"`
	CostCents     int64    `json:"costCents" minimum:"0" doc:"What the pilot cost, in euro cents"`
	Evidence      string   `json:"evidence,omitempty" maxLength:"20000"`
	EvidenceLinks []string `json:"evidenceLinks,omitempty" maxItems:"20" doc:"https URLs, or paths of coprod documents (/v1/…)"`
	WhatWentWrong string   `json:"whatWentWrong,omitempty" maxLength:"20000"`
	PolicyArea    string   `json:"policyArea" enum:"elderly,disability,minors_families,poverty_inclusion,housing,migrants,addictions,mental_health,youth,employment,gender_violence,community,other"`
	SDGTargets    []string `json:"sdgTargets,omitempty" maxItems:"40" doc:"Empty: those of the pilot's indicators"`
	BESDomains    []string `json:"besDomains,omitempty" maxItems:"12" doc:"Empty: those of the pilot's indicators"`
}

func (in PracticeContentIO) content() practice.Content {
	return practice.Content{Title: in.Title, Problem: in.Problem, Approach: in.Approach, CostCents: in.CostCents, Evidence: in.Evidence,
		EvidenceLinks: in.EvidenceLinks, WhatWentWrong: in.WhatWentWrong, PolicyArea: in.PolicyArea, SDGTargets: in.SDGTargets, BESDomains: in.BESDomains}
}

// PracticeIO is a practice as its municipality's staff see it: the public
// view, with its pilot and status.
type PracticeIO struct {
	practice.PublicPractice
	PilotID uuid.UUID `json:"pilotId"`
	Status  string    `json:"status" enum:"published,withdrawn"`
}

type practiceOutput struct {
	ETag string `header:"ETag"`
	Body PracticeIO
}

func practiceOut(t *tenants.Tenant, p *practice.Practice) *practiceOutput {
	view := p.PublicView(publicTenant(t))
	return &practiceOutput{ETag: etag(p.Version), Body: PracticeIO{PublicPractice: view, PilotID: p.PilotID, Status: string(p.Status)}}
}

// enterPracticeChange resolves the tenant and requires a current If-Match.
func (s *Server) enterPracticeChange(ctx context.Context, ref, header string) (*tenants.Tenant, int, error) {
	t, err := s.enter(ctx, ref)
	if err != nil {
		return nil, 0, err
	}
	if header == "" {
		return nil, 0, s.problem(ctx, errIfMatchRequired)
	}
	v, err := ifMatch(header)
	if err != nil {
		return nil, 0, s.problem(ctx, err)
	}
	return t, v, nil
}

// ReplicationIO is a replication: the draft call and its copy of the template.
type ReplicationIO struct {
	ID                   uuid.UUID               `json:"id"`
	PracticeID           uuid.UUID               `json:"practiceId"`
	SourceMunicipalityID uuid.UUID               `json:"sourceMunicipalityId"`
	CallID               uuid.UUID               `json:"callId"`
	Template             practice.PublicTemplate `json:"template"`
	CreatedAt            time.Time               `json:"createdAt"`
}

func replicationOut(r *practice.Replication) ReplicationIO {
	return ReplicationIO{ID: r.ID, PracticeID: r.PracticeID, SourceMunicipalityID: r.SourceTenantID, CallID: r.CallID, Template: r.Template.Public(), CreatedAt: r.CreatedAt}
}

type PracticePath struct {
	TenantPath
	Practice uuid.UUID `path:"practice"`
}

func (s *Server) registerPractices() {
	tags := []string{"Practices"}
	huma.Register(s.api, huma.Operation{
		OperationID: "publish-practice", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/practices", Tags: tags,
		Security: bearer, Summary: "Publish a decided pilot as a practice of the public catalogue (officer)",
		Description: "Indicators (baseline, target, latest verified value) and people counts are derived from the pilot, " +
			"under disclosure control: counts of people under 5 (10 for GDPR art. 9 categories) never appear.",
		DefaultStatus: http.StatusCreated, Errors: []int{401, 403, 404, 409, 422},
	}, func(ctx context.Context, in *struct {
		TenantPath
		Body struct {
			PilotID uuid.UUID `json:"pilotId"`
			PracticeContentIO
		}
	}) (*practiceOutput, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		p, err := s.practices.Publish(ctx, t.ID, in.Body.PilotID, in.Body.content())
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return practiceOut(t, p), nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "get-practice", Method: http.MethodGet, Path: "/v1/tenants/{tenant}/practices/{practice}", Tags: tags,
		Security: bearer, Summary: "Read a practice of the tenant, withdrawn ones too (staff)", Errors: []int{401, 403, 404},
	}, func(ctx context.Context, in *PracticePath) (*practiceOutput, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		p, err := s.practices.Get(ctx, t.ID, in.Practice)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return practiceOut(t, p), nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "update-practice", Method: http.MethodPut, Path: "/v1/tenants/{tenant}/practices/{practice}", Tags: tags,
		Security: bearer, Summary: "Edit a practice and refresh its figures from the pilot (officer; If-Match required)",
		Errors: []int{401, 403, 404, 409, 412, 422, 428},
	}, func(ctx context.Context, in *struct {
		PracticePath
		IfMatch string `header:"If-Match"`
		Body    PracticeContentIO
	}) (*practiceOutput, error) {
		t, v, err := s.enterPracticeChange(ctx, in.Tenant, in.IfMatch)
		if err != nil {
			return nil, err
		}
		p, err := s.practices.Update(ctx, t.ID, in.Practice, in.Body.content(), v)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return practiceOut(t, p), nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "withdraw-practice", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/practices/{practice}/withdraw", Tags: tags,
		Security: bearer, Summary: "Take a practice out of the catalogue (officer; If-Match required); replications keep their copies",
		Errors: []int{401, 403, 404, 409, 412, 428},
	}, func(ctx context.Context, in *struct {
		PracticePath
		IfMatch string `header:"If-Match"`
	}) (*practiceOutput, error) {
		t, v, err := s.enterPracticeChange(ctx, in.Tenant, in.IfMatch)
		if err != nil {
			return nil, err
		}
		p, err := s.practices.Withdraw(ctx, t.ID, in.Practice, v)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return practiceOut(t, p), nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "replicate-practice", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/practice-replications", Tags: tags,
		Security: bearer, Summary: "Create a draft call from another municipality's practice (officer)",
		Description: "The call is pre-filled with the practice's criteria, objectives and policy area; the replication keeps its own copy " +
			"of the indicators and payment rules. Nothing is shared with the source: editing either never changes the other.",
		DefaultStatus: http.StatusCreated, Errors: []int{401, 403, 404, 409, 422},
	}, func(ctx context.Context, in *struct {
		TenantPath
		Body struct {
			PracticeID uuid.UUID `json:"practiceId"`
			Title      string    `json:"title,omitempty" maxLength:"300" doc:"Of the draft call; default \"Replica: \" and the practice's title"`
		}
	}) (*struct {
		Body struct {
			Replication ReplicationIO `json:"replication"`
			Call        Call          `json:"call"`
		}
	}, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		r, c, err := s.practices.Replicate(ctx, t.ID, in.Body.PracticeID, in.Body.Title)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &struct {
			Body struct {
				Replication ReplicationIO `json:"replication"`
				Call        Call          `json:"call"`
			}
		}{}
		out.Body.Replication, out.Body.Call = replicationOut(r), callOut(t, c)
		return out, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "get-practice-replication", Method: http.MethodGet, Path: "/v1/tenants/{tenant}/practice-replications/{replication}", Tags: tags,
		Security: bearer, Summary: "A replication with its copy of the template (staff)", Errors: []int{401, 403, 404},
	}, func(ctx context.Context, in *struct {
		TenantPath
		Replication uuid.UUID `path:"replication"`
	}) (*struct{ Body ReplicationIO }, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		r, err := s.practices.Replication(ctx, t.ID, in.Replication)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &struct{ Body ReplicationIO }{replicationOut(r)}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "apply-practice-template", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/practice-replications/{replication}/apply", Tags: tags,
		Security: bearer, Summary: "Assign the replication's indicators and payment rules to an agreement that follows its call (officer)",
		Description: "Weights, frequencies and payment rules come from the template; baselines and targets are the municipality's own " +
			"(a per-unit rule counts from the new baseline). Missing indicators are added to the library. All or nothing.",
		DefaultStatus: http.StatusCreated, Errors: []int{401, 403, 404, 409, 422},
	}, func(ctx context.Context, in *struct {
		TenantPath
		Replication uuid.UUID `path:"replication"`
		Body        struct {
			AgreementID uuid.UUID  `json:"agreementId"`
			PilotID     *uuid.UUID `json:"pilotId,omitempty" doc:"Omit for agreement-level indicators"`
			SkipRules   bool       `json:"skipRules,omitempty" doc:"Assign the indicators without the template's payment rules"`
			Indicators  []struct {
				Code     string     `json:"code" maxLength:"60"`
				Baseline BaselineIO `json:"baseline"`
				Targets  []TargetIO `json:"targets" maxItems:"120"`
			} `json:"indicators" minItems:"1" maxItems:"50"`
		}
	}) (*struct {
		Body struct {
			Assignments []AssignmentIO `json:"assignments"`
			Rules       []RuleIO       `json:"rules"`
		}
	}, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		var locals []practice.LocalIndicator
		for _, l := range in.Body.Indicators {
			li := practice.LocalIndicator{Code: l.Code, Baseline: impact.Baseline{Value: impact.Value(l.Baseline.Value), Date: l.Baseline.Date.UTC(), Source: l.Baseline.Source}}
			for _, tg := range l.Targets {
				li.Targets = append(li.Targets, impact.Target{Period: tg.Period, Value: impact.Value(tg.Value)})
			}
			locals = append(locals, li)
		}
		pilotID := uuid.Nil
		if in.Body.PilotID != nil {
			pilotID = *in.Body.PilotID
		}
		as, rules, err := s.practices.Apply(ctx, t.ID, in.Replication, in.Body.AgreementID, pilotID, locals, in.Body.SkipRules)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &struct {
			Body struct {
				Assignments []AssignmentIO `json:"assignments"`
				Rules       []RuleIO       `json:"rules"`
			}
		}{}
		out.Body.Assignments = listOf(as, assignmentOut)
		out.Body.Rules = listOf(rules, func(r *monitoring.Rule) RuleIO {
			return RuleIO{ID: r.ID, Trigger: string(r.Trigger), Direction: string(r.Direction), Baseline: Decimal(r.BaselineMilli),
				Threshold: Decimal(r.ThresholdMilli), UnitPriceCents: r.UnitPriceCents, AmountCents: r.AmountCents, CapCents: r.CapCents,
				Final: r.Final, EvidenceRequired: r.EvidenceRequired}
		})
		return out, nil
	})

	pub := []string{"Transparency"}
	huma.Register(s.api, huma.Operation{
		OperationID: "list-public-practices", Method: http.MethodGet, Path: "/v1/public/practices", Tags: pub,
		Summary:     "The catalogue of practices of every municipality (no login)",
		Description: "Newest first. Filters: region, municipality (slug or id), policy area, SDG target, BES domain, outcome, text. ETag; If-None-Match answers 304.",
		Errors:      []int{404, 422},
	}, func(ctx context.Context, in *struct {
		Region       string `query:"region" maxLength:"63" doc:"Slug or id of a region"`
		Municipality string `query:"municipality" maxLength:"63" doc:"Slug or id of a municipality"`
		PolicyArea   string `query:"policyArea" enum:"elderly,disability,minors_families,poverty_inclusion,housing,migrants,addictions,mental_health,youth,employment,gender_violence,community,other"`
		SDGTarget    string `query:"sdgTarget" maxLength:"6" doc:"An SDG target, e.g. 10.2"`
		BESDomain    string `query:"besDomain" maxLength:"40" doc:"An ISTAT BES domain, e.g. social_relationships"`
		Outcome      string `query:"outcome" enum:"scale,iterate,stop"`
		Q            string `query:"q" maxLength:"200"`
		Cursor       string `query:"cursor" maxLength:"64"`
		Limit        int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
		IfNoneMatch  string `header:"If-None-Match"`
	}) (*publicPracticesOutput, error) {
		f := practice.PublicFilter{PolicyArea: in.PolicyArea, SDGTarget: in.SDGTarget, BESDomain: in.BESDomain, Outcome: in.Outcome, Text: in.Q, Limit: in.Limit}
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
		items, next, err := s.catalogue.List(ctx, f)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &publicPracticesOutput{CacheControl: "public, max-age=60"}
		out.Body.Items = items
		if out.Body.Items == nil {
			out.Body.Items = []practice.PublicPractice{}
		}
		out.Body.NextCursor = encodeCursor(next)
		out.ETag = bodyETag(out.Body)
		if in.IfNoneMatch != "" && in.IfNoneMatch == out.ETag {
			return nil, huma.Status304NotModified()
		}
		return out, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "get-public-practice", Method: http.MethodGet, Path: "/v1/public/practices/{practice}", Tags: pub,
		Summary: "A practice with its replications and their outcomes side by side (no login)", Errors: []int{404},
	}, func(ctx context.Context, in *struct {
		Practice    uuid.UUID `path:"practice"`
		IfNoneMatch string    `header:"If-None-Match"`
	}) (*publicPracticeOutput, error) {
		p, err := s.catalogue.Get(ctx, in.Practice)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &publicPracticeOutput{ETag: bodyETag(p), CacheControl: "public, max-age=60", Body: *p}
		if in.IfNoneMatch != "" && in.IfNoneMatch == out.ETag {
			return nil, huma.Status304NotModified()
		}
		return out, nil
	})
}

type publicPracticesOutput struct {
	ETag         string `header:"ETag"`
	CacheControl string `header:"Cache-Control"`
	Body         struct {
		Items      []practice.PublicPractice `json:"items"`
		NextCursor string                    `json:"nextCursor,omitempty"`
	}
}

type publicPracticeOutput struct {
	ETag         string `header:"ETag"`
	CacheControl string `header:"Cache-Control"`
	Body         practice.PublicPractice
}
