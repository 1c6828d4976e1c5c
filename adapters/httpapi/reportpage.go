package httpapi

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/coprod/coprod/domain/report"
)

//go:embed reportpage.html
var reportPageHTML string

var reportPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"euros": func(cents int64) string {
		s := fmt.Sprintf("%d", cents/100)
		var b strings.Builder
		for i, r := range s {
			if i > 0 && (len(s)-i)%3 == 0 {
				b.WriteByte('.')
			}
			b.WriteRune(r)
		}
		return "€ " + b.String()
	},
	"addW":  func(a, b float64) float64 { return a + b },
	"subP":  func(a, b float64) float64 { return a - b },
	"deref": func(p *int) int { return *p },
}).Parse(reportPageHTML))

// pageWords are the page's words in each language.
var pageWords = map[string]map[string]string{
	"it": {"title": "Rapporto regionale", "range": "Periodo", "committed": "Budget impegnato", "paid": "Pagato a risultato",
		"applications": "Candidature", "municipalities": "Comuni", "municipality": "Comune", "trend": "Andamento del budget impegnato",
		"byMunicipality": "Budget per comune (primi 20)", "people": "Persone raggiunte per categoria di fragilità",
		"suppressed": "nascosto (meno di %d persone, %d per le categorie particolari)", "hidden": "n.d.",
		"day": "Giorno", "none": "Nessun dato nel periodo scelto.", "indicators": "Indicatori per stato",
		"on_track": "in linea", "at_risk": "a rischio", "off_track": "fuori linea", "not_started": "non avviati", "total": "Totale"},
	"en": {"title": "Regional report", "range": "Period", "committed": "Budget committed", "paid": "Paid on outcomes",
		"applications": "Applications", "municipalities": "Municipalities", "municipality": "Municipality", "trend": "Budget committed over time",
		"byMunicipality": "Budget by municipality (top 20)", "people": "People reached by vulnerability",
		"suppressed": "hidden (fewer than %d people, %d for special categories)", "hidden": "n/a",
		"day": "Day", "none": "No data in the chosen period.", "indicators": "Indicators by status",
		"on_track": "on track", "at_risk": "at risk", "off_track": "off track", "not_started": "not started", "total": "Total"},
}

// chart geometry (SVG user units).
const chartW, chartH, chartPad = 640.0, 220.0, 40.0

type bar struct {
	Label           string
	X, W            float64
	YC, HC, YP, HP  float64
	Committed, Paid int64
	LabelX, LabelY  float64
}

type pagePoint struct{ X, Y float64 }

type peopleRow struct {
	Vulnerability string
	Total         *int
}

type pageData struct {
	Lang, Title, Region string
	W                   map[string]string
	From, To            string
	R                   *report.RegionReport
	Names               map[string]string
	Bars                []bar
	Trend               []pagePoint
	TrendPath           string
	TrendMax            int64
	ChartW, ChartH, Pad float64
	Indicators          []struct {
		Status string
		N      int
	}
	People         []peopleRow
	SuppressedNote string
}

func (s *Server) registerReportPage() {
	if s.reports == nil {
		return
	}
	huma.Register(s.api, huma.Operation{
		OperationID: "get-region-report-page", Method: http.MethodGet, Path: "/v1/tenants/{tenant}/region-report.html", Tags: []string{"Reports"},
		Security: bearer, Summary: "The region report as a page for people: server-rendered, SVG charts, no JavaScript (it, en)",
		Errors: []int{401, 403, 404, 422},
		Responses: map[string]*huma.Response{"200": {Description: "HTML", Content: map[string]*huma.MediaType{
			"text/html": {Schema: &huma.Schema{Type: "string"}}}}},
	}, func(ctx context.Context, in *struct {
		RegionReportInput
		Lang           string `query:"lang" enum:"it,en," doc:"Language; default from Accept-Language, else it"`
		AcceptLanguage string `header:"Accept-Language"`
	}) (*struct {
		ContentType string `header:"Content-Type"`
		CSP         string `header:"Content-Security-Policy"`
		Body        []byte
	}, error) {
		r, region, err := s.regionReport(ctx, &in.RegionReportInput)
		if err != nil {
			return nil, err
		}
		lang := in.Lang
		if lang == "" {
			lang = "it"
			if strings.HasPrefix(strings.ToLower(strings.TrimSpace(in.AcceptLanguage)), "en") {
				lang = "en"
			}
		}
		d := buildPage(r, lang, region.Name)
		// Names of the municipalities shown in the chart.
		for _, b := range d.Bars {
			if t, err := s.tenants.Resolve(ctx, b.Label); err == nil {
				d.Names[b.Label] = t.Name
			}
		}
		var buf bytes.Buffer
		if err := reportPage.Execute(&buf, d); err != nil {
			return nil, s.problem(ctx, err)
		}
		return &struct {
			ContentType string `header:"Content-Type"`
			CSP         string `header:"Content-Security-Policy"`
			Body        []byte
		}{"text/html; charset=utf-8", "default-src 'none'; style-src 'unsafe-inline'; img-src data:", buf.Bytes()}, nil
	})
}

// buildPage lays out the page: bars of the 20 municipalities with the
// largest committed budget, the trend line, indicators and people totals
// (already suppressed; only the totals by vulnerability are shown).
func buildPage(r *report.RegionReport, lang, region string) *pageData {
	w := pageWords[lang]
	d := &pageData{Lang: lang, W: w, Title: w["title"] + " — " + region, Region: region, R: r,
		From: r.From.Format(time.DateOnly), To: r.To.Format(time.DateOnly), Names: map[string]string{},
		ChartW: chartW, ChartH: chartH, Pad: chartPad,
		SuppressedNote: fmt.Sprintf(w["suppressed"], report.MinCell, report.MinSpecialCell)}
	ms := slices.Clone(r.Municipalities)
	slices.SortStableFunc(ms, func(a, b report.MunicipalityFigures) int { return int(b.BudgetCommittedCents - a.BudgetCommittedCents) })
	if len(ms) > 20 {
		ms = ms[:20]
	}
	var max int64 = 1
	for _, m := range ms {
		max = maxI(max, m.BudgetCommittedCents, m.PaidCents)
	}
	inner := chartH - 2*chartPad
	if len(ms) > 0 {
		slot := (chartW - 2*chartPad) / float64(len(ms))
		for i, m := range ms {
			x := chartPad + float64(i)*slot
			hc := inner * float64(m.BudgetCommittedCents) / float64(max)
			hp := inner * float64(m.PaidCents) / float64(max)
			d.Bars = append(d.Bars, bar{Label: m.TenantID.String(), X: x + slot*0.1, W: slot * 0.4,
				YC: chartH - chartPad - hc, HC: hc, YP: chartH - chartPad - hp, HP: hp,
				Committed: m.BudgetCommittedCents, Paid: m.PaidCents, LabelX: x + slot*0.5, LabelY: chartH - chartPad + 14})
		}
	}
	var tmax int64 = 1
	for _, p := range r.Trend {
		tmax = maxI(tmax, p.BudgetCommittedCents)
	}
	d.TrendMax = tmax
	var path strings.Builder
	for i, p := range r.Trend {
		x := chartPad
		if len(r.Trend) > 1 {
			x += (chartW - 2*chartPad) * float64(i) / float64(len(r.Trend)-1)
		}
		y := chartH - chartPad - inner*float64(p.BudgetCommittedCents)/float64(tmax)
		d.Trend = append(d.Trend, pagePoint{x, y})
		if i == 0 {
			fmt.Fprintf(&path, "M%.1f %.1f", x, y)
		} else {
			fmt.Fprintf(&path, " L%.1f %.1f", x, y)
		}
	}
	d.TrendPath = path.String()
	counts := map[string]int{}
	totals := map[string]*int{}
	hiddenSomewhere := map[string]bool{}
	for _, m := range r.Municipalities {
		for st, n := range m.IndicatorsByStatus {
			counts[st] += n
		}
		for v, t := range m.PeopleTotals {
			if t == nil {
				hiddenSomewhere[v] = true
				continue
			}
			if totals[v] == nil {
				totals[v] = new(int)
			}
			*totals[v] += *t
		}
	}
	for _, st := range []string{"on_track", "at_risk", "off_track", "not_started"} {
		d.Indicators = append(d.Indicators, struct {
			Status string
			N      int
		}{w[st], counts[st]})
	}
	// A vulnerability total is shown for the region only when no municipality
	// hid it: otherwise region minus the others would reveal the hidden one.
	for v, t := range totals {
		if !hiddenSomewhere[v] {
			d.People = append(d.People, peopleRow{Vulnerability: v, Total: t})
		}
	}
	for v := range hiddenSomewhere {
		d.People = append(d.People, peopleRow{Vulnerability: v})
	}
	slices.SortFunc(d.People, func(a, b peopleRow) int { return strings.Compare(a.Vulnerability, b.Vulnerability) })
	return d
}

func maxI(vs ...int64) int64 {
	m := vs[0]
	for _, v := range vs[1:] {
		if v > m {
			m = v
		}
	}
	return m
}
