package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/coprod/coprod/domain/report"
)

// MunicipalityReportIO is what a region sees of one municipality.
type MunicipalityReportIO struct {
	MunicipalityID       uuid.UUID       `json:"municipalityId"`
	Day                  string          `json:"day" format:"date"`
	CallsByStatus        map[string]int  `json:"callsByStatus"`
	ApplicationsByStatus map[string]int  `json:"applicationsByStatus"`
	AgreementsByStatus   map[string]int  `json:"agreementsByStatus"`
	BudgetCommittedCents int64           `json:"budgetCommittedCents"`
	PaidCents            int64           `json:"paidCents"`
	PilotsByStatus       map[string]int  `json:"pilotsByStatus"`
	IndicatorsByStatus   map[string]int  `json:"indicatorsByStatus" doc:"Indicators of active agreements: on_track, at_risk, off_track, not_started"`
	People               []report.Cell   `json:"people" doc:"People reached by category; count is null where disclosure control hides it"`
	PeopleTotals         map[string]*int `json:"peopleTotalsByVulnerability" doc:"null where the whole group is under the threshold"`
}

// RegionReportIO is a region's aggregate report.
type RegionReportIO struct {
	RegionID             uuid.UUID              `json:"regionId"`
	Municipalities       []MunicipalityReportIO `json:"municipalities"`
	BudgetCommittedCents int64                  `json:"budgetCommittedCents"`
	PaidCents            int64                  `json:"paidCents"`
	Applications         int                    `json:"applications"`
	MinCell              int                    `json:"minCell" doc:"Cells under this many people are hidden"`
	MinSpecialCell       int                    `json:"minSpecialCell" doc:"The same for GDPR art. 9 categories"`
}

func (s *Server) registerReports() {
	if s.reports == nil {
		return
	}
	tags := []string{"Reports"}
	huma.Register(s.api, huma.Operation{
		OperationID: "request-snapshot", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/snapshots", Tags: tags, Security: bearer,
		Summary:       "Take the tenant's key-figure snapshot now (officer, tenant admin); it is otherwise taken nightly",
		DefaultStatus: http.StatusAccepted, Errors: []int{401, 403, 404},
	}, func(ctx context.Context, in *TenantPath) (*struct{}, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		if err := s.reports.Request(ctx, t.ID); err != nil {
			return nil, s.problem(ctx, err)
		}
		return &struct{}{}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "get-region-report", Method: http.MethodGet, Path: "/v1/tenants/{tenant}/region-report", Tags: tags, Security: bearer,
		Summary: "A region's report of its municipalities' latest snapshots, with statistical disclosure control (regional analyst)",
		Errors:  []int{401, 403, 404},
	}, func(ctx context.Context, in *TenantPath) (*struct{ Body RegionReportIO }, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		r, err := s.reports.Region(ctx, t.ID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := RegionReportIO{RegionID: r.RegionID, Municipalities: make([]MunicipalityReportIO, 0, len(r.Municipalities)),
			BudgetCommittedCents: r.BudgetCommittedCents, PaidCents: r.PaidCents, Applications: r.Applications,
			MinCell: report.MinCell, MinSpecialCell: report.MinSpecialCell}
		for _, m := range r.Municipalities {
			out.Municipalities = append(out.Municipalities, MunicipalityReportIO{
				MunicipalityID: m.TenantID, Day: m.Day.Format(time.DateOnly), CallsByStatus: m.CallsByStatus,
				ApplicationsByStatus: m.ApplicationsByStatus, AgreementsByStatus: m.AgreementsByStatus,
				BudgetCommittedCents: m.BudgetCommittedCents, PaidCents: m.PaidCents, PilotsByStatus: m.PilotsByStatus, IndicatorsByStatus: m.IndicatorsByStatus,
				People: m.People, PeopleTotals: m.PeopleTotals,
			})
		}
		return &struct{ Body RegionReportIO }{out}, nil
	})
}
