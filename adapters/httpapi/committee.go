package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/coprod/coprod/domain/committee"
	"github.com/coprod/coprod/domain/evaluation"
)

// RankEntry is one line of a ranking.
type RankEntry struct {
	Position           int              `json:"position"`
	ApplicationID      uuid.UUID        `json:"applicationId"`
	LeadOrganisationID uuid.UUID        `json:"leadOrganisationId"`
	Score              float64          `json:"score" doc:"Consolidated score out of 100 (two decimals, rounded half up)"`
	PerCriterion       map[string]int64 `json:"perCriterionBp" doc:"Mean per criterion, in basis points of its maximum"`
	Admitted           bool             `json:"admitted"`
}

// ScoreIO is one criterion's score with its rationale.
type ScoreIO struct {
	Criterion string `json:"criterion" maxLength:"40"`
	Value     int    `json:"value" minimum:"0" maximum:"1000"`
	Rationale string `json:"rationale" maxLength:"4000"`
}

func (s *Server) registerCommittee() {
	if s.committee == nil {
		return
	}
	tags := []string{"Evaluation"}
	huma.Register(s.api, huma.Operation{
		OperationID: "appoint-committee-member", Method: http.MethodPut, Path: "/v1/tenants/{tenant}/calls/{call}/committee/{user}", Tags: tags,
		Security: bearer, Summary: "Put a user on the call's evaluation committee (officer)",
		Description: "organisationIds are the member's affiliations: a member is recused automatically from applications of those organisations (and of organisations they act for on the platform).",
		Errors:      []int{401, 403, 404, 409, 422},
	}, func(ctx context.Context, in *struct {
		CallPath
		User uuid.UUID `path:"user"`
		Body struct {
			Role            string      `json:"role" enum:"chair,member,secretary"`
			OrganisationIDs []uuid.UUID `json:"organisationIds,omitempty" maxItems:"50"`
		}
	}) (*struct {
		Body struct {
			UserID uuid.UUID `json:"userId"`
			Role   string    `json:"role"`
		}
	}, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		m, err := s.committee.Appoint(ctx, t.ID, in.Call, in.User, in.Body.Role, in.Body.OrganisationIDs)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &struct {
			Body struct {
				UserID uuid.UUID `json:"userId"`
				Role   string    `json:"role"`
			}
		}{}
		out.Body.UserID, out.Body.Role = m.UserID, m.Role
		return out, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "declare-conflict", Method: http.MethodPut, Path: "/v1/tenants/{tenant}/applications/{application}/declaration", Tags: tags,
		Security: bearer, Summary: "Declare, for this application, no conflict of interest or abstention (committee member)",
		Description: "Required before reading or scoring the application; final once made. A member affiliated with one of its organisations is recused (403 recused).",
		Errors:      []int{401, 403, 404, 409, 422},
	}, func(ctx context.Context, in *struct {
		AppPath
		Body struct {
			Declaration string `json:"declaration" enum:"no_conflict,abstain"`
		}
	}) (*struct {
		Body struct {
			Declaration string `json:"declaration"`
		}
	}, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		d, err := s.committee.Declare(ctx, t.ID, in.App, evaluation.Declaration(in.Body.Declaration))
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &struct {
			Body struct {
				Declaration string `json:"declaration"`
			}
		}{}
		out.Body.Declaration = string(d)
		return out, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "score-application", Method: http.MethodPut, Path: "/v1/tenants/{tenant}/applications/{application}/scores", Tags: tags,
		Security: bearer, Summary: "Save your scores for an application, one per criterion with a rationale; submit makes them final",
		Errors: []int{401, 403, 404, 409, 422},
	}, func(ctx context.Context, in *struct {
		AppPath
		Body struct {
			Scores []ScoreIO `json:"scores" maxItems:"30"`
			Submit bool      `json:"submit"`
		}
	}) (*struct {
		Body struct {
			Scores      []ScoreIO  `json:"scores"`
			SubmittedAt *time.Time `json:"submittedAt,omitempty"`
		}
	}, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		var scores []evaluation.Score
		for _, sc := range in.Body.Scores {
			scores = append(scores, evaluation.Score(sc))
		}
		sh, err := s.committee.Score(ctx, t.ID, in.App, scores, in.Body.Submit)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &struct {
			Body struct {
				Scores      []ScoreIO  `json:"scores"`
				SubmittedAt *time.Time `json:"submittedAt,omitempty"`
			}
		}{}
		out.Body.Scores = []ScoreIO{}
		for _, sc := range sh.Scores {
			out.Body.Scores = append(out.Body.Scores, ScoreIO(sc))
		}
		if !sh.SubmittedAt.IsZero() {
			out.Body.SubmittedAt = &sh.SubmittedAt
		}
		return out, nil
	})
	rankingOut := func(entries []committee.Entry) []RankEntry {
		out := make([]RankEntry, 0, len(entries))
		for _, e := range entries {
			out = append(out, RankEntry{Position: e.Position, ApplicationID: e.Application, LeadOrganisationID: e.Lead,
				Score: float64(e.ScoreBP) / 100, PerCriterion: e.PerCriterion, Admitted: e.Admitted})
		}
		return out
	}
	huma.Register(s.api, huma.Operation{
		OperationID: "get-ranking", Method: http.MethodGet, Path: "/v1/tenants/{tenant}/calls/{call}/ranking", Tags: tags,
		Security: bearer, Summary: "The ranking: a preview during evaluation, the published one afterwards (officer)",
		Description: "Ties are broken by the score on the heaviest criterion (then the next), then the earlier submission, then the application id.",
		Errors:      []int{401, 403, 404, 409},
	}, func(ctx context.Context, in *CallPath) (*struct{ Body []RankEntry }, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		entries, err := s.committee.Ranking(ctx, t.ID, in.Call, false, nil, 0)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &struct{ Body []RankEntry }{rankingOut(entries)}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "publish-ranking", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/calls/{call}/ranking", Tags: tags,
		Security: bearer, Summary: "Publish the ranking with its formal act and admit the applications above the threshold (officer; If-Match on the call)",
		Errors: []int{401, 403, 404, 409, 412, 422, 428},
	}, func(ctx context.Context, in *struct {
		CallPath
		IfMatch string `header:"If-Match"`
		Body    struct {
			Act ActIO `json:"act"`
		}
	}) (*struct{ Body []RankEntry }, error) {
		t, v, err := s.enterIfMatch(ctx, in.Tenant, in.IfMatch)
		if err != nil {
			return nil, err
		}
		act, err := in.Body.Act.act()
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		entries, err := s.committee.Ranking(ctx, t, in.Call, true, &act, v)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &struct{ Body []RankEntry }{rankingOut(entries)}, nil
	})
}
