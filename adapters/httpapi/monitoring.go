package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/coprod/coprod/domain/impact"
	"github.com/coprod/coprod/domain/monitoring"
	"github.com/coprod/coprod/domain/payment"
)

// AssignmentIO attaches a library indicator to an agreement or a pilot.
type AssignmentIO struct {
	ID        uuid.UUID  `json:"id,omitempty" readOnly:"true"`
	PilotID   *uuid.UUID `json:"pilotId,omitempty" doc:"Omit for an agreement-level indicator"`
	Indicator string     `json:"indicator" maxLength:"60"`
	Baseline  BaselineIO `json:"baseline"`
	Targets   []TargetIO `json:"targets" maxItems:"120"`
	Weight    int        `json:"weight" minimum:"1" maximum:"100"`
	Frequency string     `json:"frequency,omitempty" enum:"monthly,quarterly,semiannual,annual" doc:"Default: the indicator's"`
}

type BaselineIO struct {
	Value  Decimal   `json:"value"`
	Date   time.Time `json:"date"`
	Source string    `json:"source" maxLength:"500"`
}

type TargetIO struct {
	Period string  `json:"period" example:"2027-Q4" doc:"2027, 2027-H1, 2027-Q3 or 2027-05, by frequency"`
	Value  Decimal `json:"value"`
}

func assignmentOut(a *monitoring.Assignment) AssignmentIO {
	out := AssignmentIO{ID: a.ID, Indicator: a.Indicator, Weight: a.Weight, Frequency: a.Frequency,
		Baseline: BaselineIO{Value: Decimal(a.Baseline.Value), Date: a.Baseline.Date, Source: a.Baseline.Source}}
	if a.PilotID != uuid.Nil {
		id := a.PilotID
		out.PilotID = &id
	}
	for _, t := range a.Targets {
		out.Targets = append(out.Targets, TargetIO{t.Period, Decimal(t.Value)})
	}
	return out
}

// MeasurementIO is a reported value for one period; counts of people are aggregate only.
type MeasurementIO struct {
	ID          uuid.UUID       `json:"id" readOnly:"true"`
	Period      string          `json:"period"`
	Revision    int             `json:"revision"`
	Value       Decimal         `json:"value"`
	Numerator   *Decimal        `json:"numerator,omitempty"`
	Denominator *Decimal        `json:"denominator,omitempty"`
	People      []PeopleCountIO `json:"people"`
	Evidence    string          `json:"evidence,omitempty"`
	Status      string          `json:"status" enum:"submitted,verified,rejected,disputed,locked"`
	Reason      string          `json:"reason,omitempty"`
	SubmittedAt time.Time       `json:"submittedAt"`
	Version     int             `json:"version"`
}

type PeopleCountIO struct {
	AgeBand       string `json:"ageBand" enum:"0-17,18-24,25-34,35-44,45-54,55-64,65-74,75+"`
	Gender        string `json:"gender" enum:"female,male,other,not_stated"`
	Vulnerability string `json:"vulnerability" enum:"none,disability,elderly_alone,poverty,migrant,addiction,mental_health,homeless,violence,minor_at_risk,other"`
	Count         int    `json:"count" minimum:"0"`
}

// SubmitIO is what a partner reports.
type SubmitIO struct {
	Period      string          `json:"period,omitempty" maxLength:"10"`
	Value       Decimal         `json:"value"`
	Numerator   *Decimal        `json:"numerator,omitempty"`
	Denominator *Decimal        `json:"denominator,omitempty"`
	People      []PeopleCountIO `json:"people,omitempty" maxItems:"400" doc:"Aggregate counts only: there is no field for a name or an identifier"`
	Evidence    string          `json:"evidence,omitempty" maxLength:"2000"`
}

func (in SubmitIO) input() monitoring.SubmitInput {
	out := monitoring.SubmitInput{Period: in.Period, Value: impact.Value(in.Value), Numerator: in.Numerator.value(), Denominator: in.Denominator.value(), Evidence: in.Evidence}
	for _, p := range in.People {
		out.People = append(out.People, impact.PeopleCount(p))
	}
	return out
}

func measurementOut(m *monitoring.Measurement) MeasurementIO {
	out := MeasurementIO{ID: m.ID, Period: m.Period, Revision: m.Revision, Value: Decimal(m.Value), Numerator: decimalPtr(m.Numerator), Denominator: decimalPtr(m.Denominator),
		Evidence: m.Evidence, Status: string(m.Status), Reason: m.Reason, SubmittedAt: m.SubmittedAt, Version: m.Version, People: []PeopleCountIO{}}
	for _, p := range m.People {
		out.People = append(out.People, PeopleCountIO(p))
	}
	return out
}

// PaymentIO is an outcome payment.
type PaymentIO struct {
	ID            uuid.UUID `json:"id"`
	RuleID        uuid.UUID `json:"ruleId"`
	MeasurementID uuid.UUID `json:"measurementId"`
	Period        string    `json:"period"`
	Cents         int64     `json:"cents"`
	EarnedCents   int64     `json:"earnedCents" doc:"Before the rule's cap and the agreement's budget"`
	Reason        string    `json:"reason"`
	Final         bool      `json:"final"`
	Status        string    `json:"status" enum:"computed,approved,paid,withheld,disputed"`
	Note          string    `json:"note,omitempty"`
	Version       int       `json:"version"`
}

func paymentOut(p *monitoring.Payment) PaymentIO {
	return PaymentIO{ID: p.ID, RuleID: p.RuleID, MeasurementID: p.MeasurementID, Period: p.Period, Cents: p.Cents, EarnedCents: p.EarnedCents,
		Reason: p.Reason, Final: p.Final, Status: string(p.Status), Note: p.Note, Version: p.Version}
}

// RuleIO is a pay-by-result rule.
type RuleIO struct {
	ID               uuid.UUID `json:"id,omitempty" readOnly:"true"`
	Trigger          string    `json:"trigger" enum:"threshold,per_unit,milestone"`
	Direction        string    `json:"direction,omitempty" enum:"increase,decrease"`
	Baseline         Decimal   `json:"baseline,omitempty"`
	Threshold        Decimal   `json:"threshold,omitempty"`
	UnitPriceCents   int64     `json:"unitPriceCents,omitempty" minimum:"0"`
	AmountCents      int64     `json:"amountCents,omitempty" minimum:"0"`
	CapCents         int64     `json:"capCents" minimum:"1"`
	Final            bool      `json:"final,omitempty"`
	EvidenceRequired bool      `json:"evidenceRequired,omitempty"`
}

// decodeCodeCursor reads the cursor of a list keyed by an indicator code
// rather than an id: the last code of a page, which is already URL-safe and
// at most 60 bytes, so it is the cursor as it is.
func decodeCodeCursor(s string) (string, error) {
	if s != "" && !impact.ValidCode(s) {
		return "", errBadCursor
	}
	return s, nil
}

func (s *Server) registerMonitoring() {
	if s.monitoring == nil {
		return
	}
	tags := []string{"Monitoring"}
	huma.Register(s.api, huma.Operation{
		OperationID: "list-indicators", Method: http.MethodGet, Path: "/v1/tenants/{tenant}/indicators", Tags: tags, Security: bearer,
		Summary: "The tenant's indicator library, in code order", Errors: []int{401, 403, 404, 422},
	}, func(ctx context.Context, in *struct {
		TenantPath
		Cursor string `query:"cursor" maxLength:"64"`
		Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50"`
	}) (*struct {
		Body struct {
			Items      []IndicatorIO `json:"items"`
			NextCursor string        `json:"nextCursor,omitempty"`
		}
	}, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		after, err := decodeCodeCursor(in.Cursor)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		defs, next, err := s.monitoring.Library(ctx, t.ID, monitoring.LibraryFilter{After: after, Limit: in.Limit})
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &struct {
			Body struct {
				Items      []IndicatorIO `json:"items"`
				NextCursor string        `json:"nextCursor,omitempty"`
			}
		}{}
		out.Body.Items = listOf(defs, indicatorOut)
		out.Body.NextCursor = next
		return out, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "define-indicator", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/indicators", Tags: tags, Security: bearer,
		Summary: "Add an indicator to the tenant's library (officer)", DefaultStatus: http.StatusCreated, Errors: []int{401, 403, 404, 409, 422},
	}, func(ctx context.Context, in *struct {
		TenantPath
		Body IndicatorIO
	}) (*struct{ Body IndicatorIO }, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		d, err := s.monitoring.Define(ctx, t.ID, in.Body.definition())
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &struct{ Body IndicatorIO }{indicatorOut(*d)}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "seed-indicators", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/indicators/seed", Tags: tags, Security: bearer,
		Summary: "Add the standard social-service indicators the library lacks (officer)", Errors: []int{401, 403, 404},
	}, func(ctx context.Context, in *TenantPath) (*struct {
		Body struct {
			Added int `json:"added"`
		}
	}, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		n, err := s.monitoring.SeedLibrary(ctx, t.ID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &struct {
			Body struct {
				Added int `json:"added"`
			}
		}{}
		out.Body.Added = n
		return out, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "assign-indicator", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/agreements/{agreement}/indicators", Tags: tags,
		Security: bearer, Summary: "Assign a library indicator to the agreement or one of its pilots, with baseline and targets (officer)",
		DefaultStatus: http.StatusCreated, Errors: []int{401, 403, 404, 409, 422},
	}, func(ctx context.Context, in *struct {
		AgreementPath
		Body AssignmentIO
	}) (*struct{ Body AssignmentIO }, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		b := in.Body
		pilotID := uuid.Nil
		if b.PilotID != nil {
			pilotID = *b.PilotID
		}
		as := impact.Assignment{Indicator: b.Indicator, Weight: b.Weight, Frequency: b.Frequency,
			Baseline: impact.Baseline{Value: impact.Value(b.Baseline.Value), Date: b.Baseline.Date.UTC(), Source: b.Baseline.Source}}
		for _, tg := range b.Targets {
			as.Targets = append(as.Targets, impact.Target{Period: tg.Period, Value: impact.Value(tg.Value)})
		}
		got, err := s.monitoring.Assign(ctx, t.ID, in.Agreement, pilotID, as)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &struct{ Body AssignmentIO }{assignmentOut(got)}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "add-payment-rule", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/indicator-assignments/{assignment}/payment-rules", Tags: tags,
		Security: bearer, Summary: "Attach a pay-by-result rule to an indicator assignment (officer)", DefaultStatus: http.StatusCreated,
		Description: "per_unit pays unitPriceCents per whole unit beyond the baseline, rounded down to the cent; threshold and milestone pay amountCents once. Totals never exceed the rule's cap nor the agreement's outcome budget.",
		Errors:      []int{401, 403, 404, 409, 422},
	}, func(ctx context.Context, in *struct {
		TenantPath
		Assignment uuid.UUID `path:"assignment"`
		Body       RuleIO
	}) (*struct{ Body RuleIO }, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		b := in.Body
		r, err := s.monitoring.AddRule(ctx, t.ID, in.Assignment, payment.Rule{Trigger: payment.Trigger(b.Trigger), Direction: payment.Direction(b.Direction),
			BaselineMilli: payment.Milli(b.Baseline), ThresholdMilli: payment.Milli(b.Threshold), UnitPriceCents: b.UnitPriceCents,
			AmountCents: b.AmountCents, CapCents: b.CapCents, Final: b.Final, EvidenceRequired: b.EvidenceRequired})
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		b.ID = r.ID
		return &struct{ Body RuleIO }{b}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "submit-measurement", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/indicator-assignments/{assignment}/measurements", Tags: tags,
		Security: bearer, Summary: "Report a measurement for a period (a party's member)", DefaultStatus: http.StatusCreated,
		Errors: []int{401, 403, 404, 409, 422},
	}, func(ctx context.Context, in *struct {
		TenantPath
		Assignment uuid.UUID `path:"assignment"`
		Body       SubmitIO
	}) (*struct{ Body MeasurementIO }, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		m, err := s.monitoring.Submit(ctx, t.ID, in.Assignment, in.Body.input())
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &struct{ Body MeasurementIO }{measurementOut(m)}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "list-measurements", Method: http.MethodGet, Path: "/v1/tenants/{tenant}/indicator-assignments/{assignment}/measurements", Tags: tags,
		Security: bearer, Summary: "The latest revision of each period", Errors: []int{401, 403, 404},
	}, func(ctx context.Context, in *struct {
		TenantPath
		Assignment uuid.UUID `path:"assignment"`
	}) (*struct{ Body []MeasurementIO }, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		ms, err := s.monitoring.Measurements(ctx, t.ID, in.Assignment)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &struct{ Body []MeasurementIO }{Body: listOf(ms, measurementOut)}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "decide-measurement", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/measurements/{measurement}/decision", Tags: tags,
		Security: bearer, Summary: "Verify (locks it and computes outcome payments), reject or dispute a measurement",
		Description: "Verification and rejection by an officer who is not the submitter (four eyes); a dispute by the officer or a party.",
		Errors:      []int{401, 403, 404, 409, 412, 422},
	}, func(ctx context.Context, in *struct {
		TenantPath
		Measurement uuid.UUID `path:"measurement"`
		IfMatch     string    `header:"If-Match"`
		Body        struct {
			Status string `json:"status" enum:"verified,rejected,disputed"`
			Reason string `json:"reason,omitempty" maxLength:"2000"`
		}
	}) (*struct {
		Body struct {
			Measurement MeasurementIO `json:"measurement"`
			Payments    []PaymentIO   `json:"payments" doc:"Outcome payments computed by this verification"`
		}
	}, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		v, err := ifMatch(in.IfMatch)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		m, pays, err := s.monitoring.Decide(ctx, t.ID, in.Measurement, impact.MeasurementStatus(in.Body.Status), in.Body.Reason, v)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &struct {
			Body struct {
				Measurement MeasurementIO `json:"measurement"`
				Payments    []PaymentIO   `json:"payments" doc:"Outcome payments computed by this verification"`
			}
		}{}
		out.Body.Measurement, out.Body.Payments = measurementOut(m), []PaymentIO{}
		for _, p := range pays {
			out.Body.Payments = append(out.Body.Payments, paymentOut(p))
		}
		return out, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "correct-measurement", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/measurements/{measurement}/corrections", Tags: tags,
		Security: bearer, Summary: "Correct a measurement with a new revision and a reason (a party's member)", DefaultStatus: http.StatusCreated,
		Errors: []int{401, 403, 404, 409, 422},
	}, func(ctx context.Context, in *struct {
		TenantPath
		Measurement uuid.UUID `path:"measurement"`
		Body        struct {
			SubmitIO
			Reason string `json:"reason" maxLength:"2000"`
		}
	}) (*struct{ Body MeasurementIO }, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		m, err := s.monitoring.Correct(ctx, t.ID, in.Measurement, in.Body.SubmitIO.input(), in.Body.Reason)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &struct{ Body MeasurementIO }{measurementOut(m)}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "list-payments", Method: http.MethodGet, Path: "/v1/tenants/{tenant}/agreements/{agreement}/payments", Tags: tags,
		Security: bearer, Summary: "Outcome payments of an agreement", Errors: []int{401, 403, 404},
	}, func(ctx context.Context, in *AgreementPath) (*struct{ Body []PaymentIO }, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		ps, err := s.monitoring.Payments(ctx, t.ID, in.Agreement)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &struct{ Body []PaymentIO }{Body: listOf(ps, paymentOut)}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "move-payment", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/payments/{payment}/status", Tags: tags,
		Security: bearer, Summary: "computed → approved (with the act) → paid; withheld or disputed with a reason",
		Errors: []int{401, 403, 404, 409, 412, 422},
	}, func(ctx context.Context, in *struct {
		TenantPath
		Payment uuid.UUID `path:"payment"`
		IfMatch string    `header:"If-Match"`
		Body    struct {
			Status string `json:"status" enum:"approved,paid,withheld,disputed"`
			Note   string `json:"note" maxLength:"2000" doc:"The approving act, the payment order, or the reason"`
		}
	}) (*struct{ Body PaymentIO }, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		v, err := ifMatch(in.IfMatch)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		p, err := s.monitoring.MovePayment(ctx, t.ID, in.Payment, payment.Status(in.Body.Status), in.Body.Note, v)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &struct{ Body PaymentIO }{paymentOut(p)}, nil
	})
	progress := func(ctx context.Context, tenantRef string, agreementID, pilotID uuid.UUID) (*struct{ Body ProgressIO }, error) {
		t, err := s.enter(ctx, tenantRef)
		if err != nil {
			return nil, err
		}
		sum, err := s.monitoring.Progress(ctx, t.ID, agreementID, pilotID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &struct{ Body ProgressIO }{ProgressIO{Progress: float64(sum.ProgressBP) / 100, Status: string(sum.Status), Indicators: []IndicatorProgressIO{}}}
		for _, ip := range sum.Indicators {
			out.Body.Indicators = append(out.Body.Indicators, IndicatorProgressIO{AssignmentID: ip.AssignmentID, Indicator: ip.Indicator, Name: ip.Name,
				Weight: ip.Weight, Baseline: Decimal(ip.Baseline), Target: Decimal(ip.Target), TargetPeriod: ip.TargetPeriod, Latest: decimalPtr(ip.Latest),
				LatestPeriod: ip.LatestPeriod, Progress: float64(ip.ProgressBP) / 100, Elapsed: float64(ip.ElapsedBP) / 100, Status: string(ip.Status)})
		}
		return out, nil
	}
	huma.Register(s.api, huma.Operation{
		OperationID: "agreement-progress", Method: http.MethodGet, Path: "/v1/tenants/{tenant}/agreements/{agreement}/progress", Tags: tags,
		Security: bearer, Summary: "Progress of the agreement's indicators: share of the way from baseline to target, and on/at-risk/off track",
		Errors: []int{401, 403, 404},
	}, func(ctx context.Context, in *AgreementPath) (*struct{ Body ProgressIO }, error) {
		return progress(ctx, in.Tenant, in.Agreement, uuid.Nil)
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "pilot-progress", Method: http.MethodGet, Path: "/v1/tenants/{tenant}/pilots/{pilot}/progress", Tags: tags,
		Security: bearer, Summary: "Progress of a pilot's indicators", Errors: []int{401, 403, 404},
	}, func(ctx context.Context, in *struct {
		TenantPath
		Pilot uuid.UUID `path:"pilot"`
	}) (*struct{ Body ProgressIO }, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		pl, err := s.pilots.Get(ctx, t.ID, in.Pilot)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return progress(ctx, in.Tenant, pl.AgreementID, pl.ID)
	})
}

// ProgressIO summarises indicators.
type ProgressIO struct {
	Progress   float64               `json:"progress" doc:"Weighted mean, percent of the way from baseline to target (may exceed 100)"`
	Status     string                `json:"status" enum:"not_started,on_track,at_risk,off_track"`
	Indicators []IndicatorProgressIO `json:"indicators"`
}

type IndicatorProgressIO struct {
	AssignmentID uuid.UUID `json:"assignmentId"`
	Indicator    string    `json:"indicator"`
	Name         string    `json:"name"`
	Weight       int       `json:"weight"`
	Baseline     Decimal   `json:"baseline"`
	Target       Decimal   `json:"target"`
	TargetPeriod string    `json:"targetPeriod"`
	Latest       *Decimal  `json:"latest,omitempty"`
	LatestPeriod string    `json:"latestPeriod,omitempty"`
	Progress     float64   `json:"progress"`
	Elapsed      float64   `json:"elapsed" doc:"Percent of the target period elapsed"`
	Status       string    `json:"status" enum:"not_started,on_track,at_risk,off_track"`
}

// Decimal is an indicator value in the API: a JSON number with up to three
// decimals, held exactly as thousandths (impact.Value).
type Decimal impact.Value

func (d Decimal) MarshalJSON() ([]byte, error)  { return impact.Value(d).MarshalJSON() }
func (d *Decimal) UnmarshalJSON(b []byte) error { return (*impact.Value)(d).UnmarshalJSON(b) }
func (d *Decimal) value() *impact.Value {
	if d == nil {
		return nil
	}
	v := impact.Value(*d)
	return &v
}

func decimalPtr(v *impact.Value) *Decimal {
	if v == nil {
		return nil
	}
	d := Decimal(*v)
	return &d
}

// Schema tells OpenAPI a Decimal is a number, not the integer it is stored as.
func (Decimal) Schema(huma.Registry) *huma.Schema {
	return &huma.Schema{Type: "number", Description: "Decimal with up to 3 decimals", Examples: []any{12.5}}
}

// IndicatorIO is an indicator definition of the library.
type IndicatorIO struct {
	Code            string   `json:"code" maxLength:"60"`
	Name            string   `json:"name" maxLength:"300"`
	Definition      string   `json:"definition" maxLength:"4000"`
	Numerator       string   `json:"numerator,omitempty" maxLength:"2000"`
	Denominator     string   `json:"denominator,omitempty" maxLength:"2000"`
	Unit            string   `json:"unit" maxLength:"40"`
	Type            string   `json:"type" enum:"output,outcome,impact"`
	Direction       string   `json:"direction" enum:"increase,decrease,band"`
	BandMin         *Decimal `json:"bandMin,omitempty"`
	BandMax         *Decimal `json:"bandMax,omitempty"`
	Aggregation     string   `json:"aggregation" enum:"sum,mean,last,max,min"`
	Frequency       string   `json:"frequency" enum:"monthly,quarterly,semiannual,annual"`
	DataSource      string   `json:"dataSource,omitempty" maxLength:"2000"`
	Verification    string   `json:"verification,omitempty" maxLength:"2000"`
	SDGTargets      []string `json:"sdgTargets,omitempty" maxItems:"20"`
	BESDomains      []string `json:"besDomains,omitempty" maxItems:"12"`
	IRISMetrics     []string `json:"irisMetrics,omitempty" maxItems:"20"`
	SpecialCategory bool     `json:"specialCategory" doc:"Concerns GDPR art. 9 data: counts are suppressed below 10"`
	MinCellSize     int      `json:"minCellSize,omitempty" minimum:"0"`
}

func indicatorOut(d impact.Definition) IndicatorIO {
	return IndicatorIO{Code: d.Code, Name: d.Name, Definition: d.Definition, Numerator: d.Numerator, Denominator: d.Denominator, Unit: d.Unit,
		Type: string(d.Type), Direction: string(d.Direction), BandMin: decimalPtr(d.BandMin), BandMax: decimalPtr(d.BandMax),
		Aggregation: d.Aggregation, Frequency: d.Frequency, DataSource: d.DataSource, Verification: d.Verification, SDGTargets: d.SDGTargets,
		BESDomains: d.BESDomains, IRISMetrics: d.IRISMetrics, SpecialCategory: d.SpecialCategory, MinCellSize: d.MinCellSize}
}

func (in IndicatorIO) definition() impact.Definition {
	return impact.Definition{Code: in.Code, Name: in.Name, Definition: in.Definition, Numerator: in.Numerator, Denominator: in.Denominator,
		Unit: in.Unit, Type: impact.Type(in.Type), Direction: impact.Direction(in.Direction), BandMin: in.BandMin.value(), BandMax: in.BandMax.value(),
		Aggregation: in.Aggregation, Frequency: in.Frequency, DataSource: in.DataSource, Verification: in.Verification, SDGTargets: in.SDGTargets,
		BESDomains: in.BESDomains, IRISMetrics: in.IRISMetrics, SpecialCategory: in.SpecialCategory, MinCellSize: in.MinCellSize}
}
