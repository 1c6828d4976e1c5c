package httpapi

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/coprod/coprod/domain/report"
	"github.com/coprod/coprod/tenants"
)

// MunicipalityReportIO is what a region sees of one municipality.
type MunicipalityReportIO struct {
	MunicipalityID       uuid.UUID               `json:"municipalityId"`
	Day                  string                  `json:"day" format:"date" doc:"Day of the snapshot shown: the latest in the range"`
	CallsByStatus        map[string]int          `json:"callsByStatus"`
	Applications         int                     `json:"applications"`
	ApplicationsByStatus map[string]int          `json:"applicationsByStatus"`
	AgreementsByStatus   map[string]int          `json:"agreementsByStatus"`
	BudgetCommittedCents int64                   `json:"budgetCommittedCents"`
	PaidCents            int64                   `json:"paidCents"`
	MoneyByPolicyArea    map[string]report.Money `json:"moneyByPolicyArea"`
	PilotsByStatus       map[string]int          `json:"pilotsByStatus"`
	IndicatorsByStatus   map[string]int          `json:"indicatorsByStatus" doc:"Indicators of active agreements: on_track, at_risk, off_track, not_started"`
	People               []report.Cell           `json:"people" doc:"People reached by category; count is null where disclosure control hides it"`
	PeopleTotals         map[string]*int         `json:"peopleTotalsByVulnerability" doc:"null where the whole group is under the threshold"`
}

// TrendPointIO sums the municipalities' snapshots of one day.
type TrendPointIO struct {
	Day                  string `json:"day" format:"date"`
	Municipalities       int    `json:"municipalities" doc:"How many municipalities had a snapshot that day"`
	BudgetCommittedCents int64  `json:"budgetCommittedCents"`
	PaidCents            int64  `json:"paidCents"`
	Applications         int    `json:"applications"`
	ActiveAgreements     int    `json:"activeAgreements"`
}

// RegionReportIO is a region's aggregate report.
type RegionReportIO struct {
	RegionID             uuid.UUID                 `json:"regionId"`
	From                 string                    `json:"from" format:"date"`
	To                   string                    `json:"to" format:"date"`
	Municipalities       []MunicipalityReportIO    `json:"municipalities"`
	BudgetCommittedCents int64                     `json:"budgetCommittedCents"`
	PaidCents            int64                     `json:"paidCents"`
	Applications         int                       `json:"applications"`
	MoneyByPolicyArea    map[string]report.Money   `json:"moneyByPolicyArea"`
	IndicatorsBySDG      map[string]map[string]int `json:"indicatorsBySdgGoal" doc:"SDG goal → progress status → indicators"`
	IndicatorsByBES      map[string]map[string]int `json:"indicatorsByBesDomain" doc:"BES domain → progress status → indicators"`
	Trend                []TrendPointIO            `json:"trend"`
	MinCell              int                       `json:"minCell" doc:"Cells under this many people are hidden"`
	MinSpecialCell       int                       `json:"minSpecialCell" doc:"The same for GDPR art. 9 categories"`
}

// RegionReportInput chooses the region and the range of days.
type RegionReportInput struct {
	TenantPath
	From string `query:"from" format:"date" doc:"First day (default: 90 days before to)"`
	To   string `query:"to" format:"date" doc:"Last day (default: today)"`
}

func (s *Server) regionReport(ctx context.Context, in *RegionReportInput) (*report.RegionReport, *tenants.Tenant, error) {
	t, err := s.enter(ctx, in.Tenant)
	if err != nil {
		return nil, nil, err
	}
	var from, to time.Time
	for _, d := range []struct {
		raw   string
		dst   *time.Time
		field string
	}{{in.From, &from, "from"}, {in.To, &to, "to"}} {
		if d.raw == "" {
			continue
		}
		if *d.dst, err = time.Parse(time.DateOnly, d.raw); err != nil {
			return nil, nil, s.problem(ctx, report.ErrInvalidRange.WithField(d.field))
		}
	}
	r, err := s.reports.Region(ctx, t.ID, from, to)
	if err != nil {
		return nil, nil, s.problem(ctx, err)
	}
	return r, t, nil
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
		Summary: "A region's report of its municipalities over a range of days, with statistical disclosure control (regional analyst)",
		Errors:  []int{401, 403, 404, 422},
	}, func(ctx context.Context, in *RegionReportInput) (*struct{ Body RegionReportIO }, error) {
		r, _, err := s.regionReport(ctx, in)
		if err != nil {
			return nil, err
		}
		return &struct{ Body RegionReportIO }{regionReportOut(r)}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "get-region-report-csv", Method: http.MethodGet, Path: "/v1/tenants/{tenant}/region-report.csv", Tags: tags, Security: bearer,
		Summary: "The region report as CSV (UTF-8, RFC 4180): one row per municipality and people category, suppressed counts empty",
		Errors:  []int{401, 403, 404, 422},
		Responses: map[string]*huma.Response{"200": {Description: "CSV", Content: map[string]*huma.MediaType{
			"text/csv": {Schema: &huma.Schema{Type: "string"}}}}},
	}, func(ctx context.Context, in *RegionReportInput) (*fileOutput, error) {
		r, _, err := s.regionReport(ctx, in)
		if err != nil {
			return nil, err
		}
		b, err := RegionCSV(r)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &fileOutput{"text/csv; charset=utf-8", fmt.Sprintf(`attachment; filename="region-report-%s-%s.csv"`,
			r.From.Format(time.DateOnly), r.To.Format(time.DateOnly)), b}, nil
	})
}

// fileOutput is a download: raw bytes with their type and file name.
type fileOutput struct {
	ContentType        string `header:"Content-Type"`
	ContentDisposition string `header:"Content-Disposition"`
	Body               []byte
}

func regionReportOut(r *report.RegionReport) RegionReportIO {
	out := RegionReportIO{RegionID: r.RegionID, From: r.From.Format(time.DateOnly), To: r.To.Format(time.DateOnly),
		Municipalities:       make([]MunicipalityReportIO, 0, len(r.Municipalities)),
		BudgetCommittedCents: r.BudgetCommittedCents, PaidCents: r.PaidCents, Applications: r.Applications,
		MoneyByPolicyArea: r.MoneyByPolicyArea, IndicatorsBySDG: r.IndicatorsBySDG, IndicatorsByBES: r.IndicatorsByBES,
		Trend: make([]TrendPointIO, 0, len(r.Trend)), MinCell: report.MinCell, MinSpecialCell: report.MinSpecialCell}
	for _, m := range r.Municipalities {
		out.Municipalities = append(out.Municipalities, MunicipalityReportIO{
			MunicipalityID: m.TenantID, Day: m.Day.Format(time.DateOnly), CallsByStatus: m.CallsByStatus, Applications: m.Applications,
			ApplicationsByStatus: m.ApplicationsByStatus, AgreementsByStatus: m.AgreementsByStatus,
			BudgetCommittedCents: m.BudgetCommittedCents, PaidCents: m.PaidCents, MoneyByPolicyArea: m.MoneyByPolicyArea,
			PilotsByStatus: m.PilotsByStatus, IndicatorsByStatus: m.IndicatorsByStatus, People: m.People, PeopleTotals: m.PeopleTotals,
		})
	}
	for _, p := range r.Trend {
		out.Trend = append(out.Trend, TrendPointIO{Day: p.Day.Format(time.DateOnly), Municipalities: p.Municipalities,
			BudgetCommittedCents: p.BudgetCommittedCents, PaidCents: p.PaidCents, Applications: p.Applications, ActiveAgreements: p.ActiveAgreements})
	}
	return out
}

// RegionCSV writes the report as RFC 4180 CSV (CRLF line ends, UTF-8): a
// row per municipality and people category, the municipality's figures
// repeated, a suppressed count left empty with suppressed=true.
func RegionCSV(r *report.RegionReport) ([]byte, error) {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.UseCRLF = true
	_ = w.Write([]string{"municipality_id", "day", "applications", "active_agreements", "budget_committed_cents", "paid_cents",
		"vulnerability", "age_band", "gender", "people", "suppressed"})
	for _, m := range r.Municipalities {
		head := []string{m.TenantID.String(), m.Day.Format(time.DateOnly), strconv.Itoa(m.Applications), strconv.Itoa(m.AgreementsByStatus["active"]),
			strconv.FormatInt(m.BudgetCommittedCents, 10), strconv.FormatInt(m.PaidCents, 10)}
		if len(m.People) == 0 {
			_ = w.Write(append(head, "", "", "", "", ""))
		}
		for _, c := range m.People {
			n := ""
			if c.Count != nil {
				n = strconv.Itoa(*c.Count)
			}
			_ = w.Write(append(slices.Clone(head), c.Vulnerability, c.AgeBand, c.Gender, n, strconv.FormatBool(c.Suppressed)))
		}
	}
	w.Flush()
	return b.Bytes(), w.Error()
}
