package httpapi_test

import (
	"context"
	"encoding/csv"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/adapters/httpapi"
	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/audit"
	"github.com/coprod/coprod/domain/monitoring"
	"github.com/coprod/coprod/domain/report"
)

func TestRegionCSV(t *testing.T) {
	id := uuid.MustParse("11111111-2222-3333-4444-555555555555")
	cells, totals := report.Suppress([]report.PeopleCell{
		{AgeBand: "75+", Gender: "female", Vulnerability: "elderly_alone", Count: 12},
		{AgeBand: "65-74", Gender: "female", Vulnerability: "elderly_alone", Count: 3},
		{AgeBand: "45-54", Gender: "male", Vulnerability: "poverty", Count: 40},
	})
	r := &report.RegionReport{Municipalities: []report.MunicipalityFigures{
		{TenantID: id, Day: time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC), ApplicationsByStatus: map[string]int{"submitted": 2, "draft": 1},
			Applications: 3, AgreementsByStatus: map[string]int{"active": 1}, BudgetCommittedCents: 100, People: cells, PeopleTotals: totals},
		{TenantID: uuid.Nil, Day: time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)},
	}}
	b, err := httpapi.RegionCSV(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "\r\n") || strings.Contains(strings.ReplaceAll(string(b), "\r\n", ""), "\n") {
		t.Errorf("lines must end in CRLF only:\n%q", b)
	}
	rows, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// Header, three cells of the first municipality, one row for the second.
	if len(rows) != 5 || rows[0][0] != "municipality_id" || len(rows[0]) != 11 {
		t.Fatalf("rows: %q", rows)
	}
	shown := map[string]string{}
	for _, row := range rows[1:4] {
		if row[0] != id.String() || row[2] != "3" || row[3] != "1" || row[4] != "100" {
			t.Errorf("municipality columns: %q", row)
		}
		shown[row[6]+"/"+row[7]] = row[9] + "|" + row[10]
	}
	want := map[string]string{"elderly_alone/75+": "|true", "elderly_alone/65-74": "|true", "poverty/45-54": "40|false"}
	for k, v := range want {
		if shown[k] != v {
			t.Errorf("%s = %q, want %q", k, shown[k], v)
		}
	}
	if rows[4][6] != "" || rows[4][9] != "" {
		t.Errorf("municipality without people: %q", rows[4])
	}
}

// snapshotsFake stands for the postgres store (tested in cmd/coprod): it
// returns the snapshots it holds that fall in the range.
type snapshotsFake struct{ snaps []report.Snapshot }

func (f *snapshotsFake) Atomic(ctx context.Context, _ uuid.UUID, fn func(report.Tx) error) error {
	return fn(f)
}
func (f *snapshotsFake) Compute(context.Context, time.Time) (report.Figures, error) {
	return report.Figures{}, nil
}
func (f *snapshotsFake) Put(context.Context, report.Snapshot) error     { return nil }
func (f *snapshotsFake) Audit() audit.Log                               { return nil }
func (f *snapshotsFake) Publish(context.Context, ...domain.Event) error { return nil }
func (f *snapshotsFake) Monitoring() monitoring.Tx                      { return nil }
func (f *snapshotsFake) SumDay(context.Context, time.Time) (report.TrendPoint, error) {
	return report.TrendPoint{}, nil
}
func (f *snapshotsFake) PutTrend(context.Context, report.TrendPoint, time.Time) error { return nil }
func (f *snapshotsFake) Previous(context.Context, time.Time) (*report.Snapshot, error) {
	return nil, nil
}
func (f *snapshotsFake) Region(context.Context) (uuid.UUID, error) { return uuid.Nil, nil }

func (f *snapshotsFake) inRange(from, to time.Time) []report.Snapshot {
	var out []report.Snapshot
	for _, s := range f.snaps {
		if !s.Day.Before(from) && !s.Day.After(to) {
			out = append(out, s)
		}
	}
	return out
}

func (f *snapshotsFake) Latest(_ context.Context, from, to time.Time) ([]report.Snapshot, error) {
	latest := map[uuid.UUID]report.Snapshot{}
	var out []report.Snapshot
	for _, s := range f.inRange(from, to) {
		if old, ok := latest[s.TenantID]; !ok || s.Day.After(old.Day) {
			latest[s.TenantID] = s
		}
	}
	for _, s := range latest {
		out = append(out, s)
	}
	return out, nil
}

func (f *snapshotsFake) Trend(_ context.Context, from, to time.Time) ([]report.TrendPoint, error) {
	byDay := map[time.Time]*report.TrendPoint{}
	var out []report.TrendPoint
	for _, s := range f.inRange(from, to) {
		p := byDay[s.Day]
		if p == nil {
			p = &report.TrendPoint{Day: s.Day}
			byDay[s.Day] = p
		}
		p.Municipalities++
		p.BudgetCommittedCents += s.Figures.BudgetCommittedCents
		p.PaidCents += s.Figures.PaidCents
		p.Applications += s.Figures.Applications
		p.ActiveAgreements += s.Figures.Agreements["active"]
	}
	for _, p := range byDay {
		out = append(out, *p)
	}
	slices.SortFunc(out, func(a, b report.TrendPoint) int { return a.Day.Compare(b.Day) })
	return out, nil
}

func TestRegionReportRoutes(t *testing.T) {
	t.Parallel()
	today := time.Now().UTC().Truncate(24 * time.Hour)
	milano := uuid.New()
	fake := &snapshotsFake{snaps: []report.Snapshot{
		{TenantID: milano, Day: today.AddDate(0, 0, -1), Figures: report.Figures{Applications: 2, BudgetCommittedCents: 50}},
		{TenantID: milano, Day: today, Figures: report.Figures{Applications: 3, BudgetCommittedCents: 70,
			People: []report.PeopleCell{{AgeBand: "75+", Gender: "female", Vulnerability: "poverty", Count: 4}}}},
	}}
	b := setup(t, func(d *httpapi.Deps) { d.Reports = report.NewService(fake, nil) })
	r := b.call(t, "GET", "/v1/tenants/regione-lombardia/region-report", "user:regione-lombardia:regional_analyst", "", 200)
	ms := r.body["municipalities"].([]any)
	if len(ms) != 1 || r.body["applications"].(float64) != 3 || len(r.body["trend"].([]any)) != 2 {
		t.Fatalf("report: %s", r.raw)
	}
	cell := ms[0].(map[string]any)["people"].([]any)[0].(map[string]any)
	if cell["count"] != nil || cell["suppressed"] != true {
		t.Errorf("a cell of 4 people shown: %v", cell)
	}
	// Only yesterday: the older figures.
	y := today.AddDate(0, 0, -1).Format(time.DateOnly)
	r = b.call(t, "GET", "/v1/tenants/regione-lombardia/region-report?from="+y+"&to="+y, "user:regione-lombardia:regional_analyst", "", 200)
	if r.body["applications"].(float64) != 2 {
		t.Errorf("yesterday: %s", r.raw)
	}
	problem(t, b.do(t, "GET", "/v1/tenants/regione-lombardia/region-report?from=2026-13-01", "user:regione-lombardia:regional_analyst", ""), 422, "validation_failed")
	problem(t, b.do(t, "GET", "/v1/tenants/regione-lombardia/region-report?from=2020-01-01&to=2026-01-01", "user:regione-lombardia:regional_analyst", ""), 422, "invalid_range")
	problem(t, b.do(t, "GET", "/v1/tenants/regione-lombardia/region-report", "user:milano:officer", ""), 403, "forbidden")
	problem(t, b.do(t, "GET", "/v1/tenants/regione-lombardia/region-report", "user:regione-lombardia:officer", ""), 403, "forbidden")
	// CSV.
	c := b.call(t, "GET", "/v1/tenants/regione-lombardia/region-report.csv", "user:regione-lombardia:regional_analyst", "", 200)
	if ct := c.header.Get("Content-Type"); ct != "text/csv; charset=utf-8" || !strings.Contains(c.header.Get("Content-Disposition"), "attachment") {
		t.Errorf("CSV headers: %v", c.header)
	}
	if !strings.HasPrefix(c.raw, "municipality_id,day,") || !strings.Contains(c.raw, milano.String()+","+today.Format(time.DateOnly)+",3,0,70,0,poverty,75+,female,,true\r\n") {
		t.Errorf("CSV body:\n%s", c.raw)
	}
}
