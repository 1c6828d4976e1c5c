package httpapi

import (
	"bytes"
	"cmp"
	"context"
	_ "embed"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/coprod/coprod/domain/network"
)

//go:embed networkpage.html
var networkPageHTML string

var networkPage = template.Must(template.New("network").Funcs(template.FuncMap{
	"f1": func(v float64) string { return fmt.Sprintf("%.1f", v) },
}).Parse(networkPageHTML))

// networkWords are the page's words in each language.
var networkWords = map[string]map[string]string{
	"it": {"title": "Rete dei partenariati", "publicTitle": "Rete delle convenzioni", "years": "Anni", "allYears": "tutti",
		"organisations": "Enti", "municipalities": "Comuni", "ties": "Collaborazioni ente–comune", "alliances": "Alleanze tra enti",
		"applications": "candidature", "agreements": "convenzioni", "pilots": "sperimentazioni", "graph": "Chi ha lavorato con chi",
		"several": "Enti attivi in più comuni", "without": "Comuni senza partenariati", "newPerYear": "Nuove alleanze per anno",
		"year": "Anno", "orgMun": "ente–comune", "orgOrg": "ente–ente", "since": "dal", "computed": "Dati calcolati il",
		"none": "Nessun partenariato negli anni scelti.", "nobody": "Nessuno.", "organisation": "Ente", "municipality": "Comune", "munWith": "Comuni con partenariati",
		"legend":     "Linee piene: collaborazioni ente–comune; tratteggio: alleanze tra enti. Lo spessore cresce con il numero di procedure.",
		"shown":      "Nel grafo: %d enti su %d e %d comuni su %d, quelli con più collaborazioni.",
		"publicNote": "Solo convenzioni sottoscritte, già pubbliche per legge; candidature e sperimentazioni non sono mostrate."},
	"en": {"title": "Network of partnerships", "publicTitle": "Network of agreements", "years": "Years", "allYears": "all",
		"organisations": "Organisations", "municipalities": "Municipalities", "ties": "Organisation–municipality ties", "alliances": "Alliances between organisations",
		"applications": "applications", "agreements": "agreements", "pilots": "pilots", "graph": "Who worked with whom",
		"several": "Organisations active in several municipalities", "without": "Municipalities without partnership", "newPerYear": "New alliances per year",
		"year": "Year", "orgMun": "organisation–municipality", "orgOrg": "organisation–organisation", "since": "since", "computed": "Figures computed on",
		"none": "No partnership in the years chosen.", "nobody": "None.", "organisation": "Organisation", "municipality": "Municipality", "munWith": "Municipalities with partnerships",
		"legend":     "Solid lines: organisation–municipality ties; dashed: alliances between organisations. Wider for more processes.",
		"shown":      "In the graph: %d organisations of %d and %d municipalities of %d, those with the most ties.",
		"publicNote": "Signed agreements only, public by law; applications and pilots are not shown."},
}

// Graph geometry (SVG user units): organisations on the left, municipalities
// on the right, alliances as arcs between organisations.
const (
	netW, netRow, netPad    = 760.0, 24.0, 30.0
	netOrgX, netMunX        = 250.0, 540.0
	netMaxNodes             = 60
	yearChartW, yearChartH  = 640.0, 200.0
	yearChartPad, labelRune = 36.0, 30
)

type netNode struct {
	ID     uuid.UUID
	X, Y   float64
	Label  string
	Title  string
	Total  int
	Anchor string
	LabelX float64
}

type netLine struct {
	X1, Y1, X2, Y2, W float64
	Title             string
}

type netArc struct {
	D     string
	W     float64
	Title string
}

type netBar struct {
	X, Y, W, H float64
	Class      string
	Title      string
}

type netLabel struct {
	X, Y float64
	Text string
}

type networkPageData struct {
	Lang, Title, Years, Computed, Note, Shown string
	W                                         map[string]string
	Public                                    bool
	G                                         *network.Graph
	Width, Height                             float64
	Orgs, Muns                                []netNode
	Ties                                      []netLine
	Arcs                                      []netArc
	NOrgs, NMuns, NTies, NAlliances, NAllMuns int
	ChartW, ChartH, ChartPad, AxisY, AxisEnd  float64
	Bars                                      []netBar
	BarLabels                                 []netLabel
}

type networkPageOut struct {
	ContentType string `header:"Content-Type"`
	CSP         string `header:"Content-Security-Policy"`
	Body        []byte
}

type NetworkPageLang struct {
	Lang           string `query:"lang" enum:"it,en," doc:"Language; default from Accept-Language, else it"`
	AcceptLanguage string `header:"Accept-Language"`
}

func (l NetworkPageLang) pick() string {
	if l.Lang != "" {
		return l.Lang
	}
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(l.AcceptLanguage)), "en") {
		return "en"
	}
	return "it"
}

func (s *Server) renderNetwork(ctx context.Context, g *network.Graph, lang string, public bool) (*networkPageOut, error) {
	var buf bytes.Buffer
	if err := networkPage.Execute(&buf, buildNetworkPage(g, lang, public)); err != nil {
		return nil, s.problem(ctx, err)
	}
	return &networkPageOut{"text/html; charset=utf-8", "default-src 'none'; style-src 'unsafe-inline'; img-src data:", buf.Bytes()}, nil
}

func (s *Server) registerNetworkPages(tags []string) {
	html := map[string]*huma.Response{"200": {Description: "HTML", Content: map[string]*huma.MediaType{
		"text/html": {Schema: &huma.Schema{Type: "string"}}}}}
	huma.Register(s.api, huma.Operation{
		OperationID: "get-region-network-page", Method: http.MethodGet, Path: "/v1/tenants/{tenant}/network.html", Tags: tags, Security: bearer,
		Summary: "The region's network as a page: server-rendered SVG graph and metrics, no JavaScript (it, en; regional analyst)",
		Errors:  []int{401, 403, 404, 422}, Responses: html,
	}, func(ctx context.Context, in *struct {
		TenantPath
		NetworkYears
		NetworkPageLang
	}) (*networkPageOut, error) {
		g, err := s.regionNetwork(ctx, in.Tenant, in.NetworkYears)
		if err != nil {
			return nil, err
		}
		return s.renderNetwork(ctx, g, in.pick(), false)
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "get-public-network-page", Method: http.MethodGet, Path: "/v1/public/network/{region}/network.html", Tags: tags,
		Summary: "The network of a region's signed agreements as a page (it, en; no login)",
		Errors:  []int{404, 422}, Responses: html,
	}, func(ctx context.Context, in *struct {
		PublicNetworkPath
		NetworkYears
		NetworkPageLang
	}) (*networkPageOut, error) {
		g, err := s.publicNetwork(ctx, in.Region, in.NetworkYears)
		if err != nil {
			return nil, err
		}
		return s.renderNetwork(ctx, g, in.pick(), true)
	})
}

func clip(s string) string {
	r := []rune(s)
	if len(r) <= labelRune {
		return s
	}
	return string(r[:labelRune-1]) + "…"
}

func countsTitle(w map[string]string, c network.Counts) string {
	return fmt.Sprintf("%d %s, %d %s, %d %s", c.Applications, w["applications"], c.Agreements, w["agreements"], c.Pilots, w["pilots"])
}

// buildNetworkPage lays out the graph: the organisations and the tied
// municipalities with the most ties (at most netMaxNodes each) in two
// columns, a line per tie (wider for more processes), an arc per alliance
// between organisations shown, and the new alliances per year as bars.
func buildNetworkPage(g *network.Graph, lang string, public bool) *networkPageData {
	w := networkWords[lang]
	d := &networkPageData{Lang: lang, W: w, G: g, Public: public, Width: netW, ChartW: yearChartW, ChartH: yearChartH, ChartPad: yearChartPad,
		AxisY: yearChartH - yearChartPad, AxisEnd: yearChartW - yearChartPad}
	title := w["title"]
	if public {
		title = w["publicTitle"]
		d.Note = w["publicNote"]
	}
	d.Title = title + " — " + g.Region.Name
	d.Years = w["allYears"]
	switch {
	case g.Years.From != 0 && g.Years.To != 0:
		d.Years = fmt.Sprintf("%d–%d", g.Years.From, g.Years.To)
	case g.Years.From != 0:
		d.Years = fmt.Sprintf("%d–", g.Years.From)
	case g.Years.To != 0:
		d.Years = fmt.Sprintf("–%d", g.Years.To)
	}
	if !g.ComputedAt.IsZero() {
		d.Computed = g.ComputedAt.Format(time.DateOnly)
	}
	names := map[uuid.UUID]string{}
	totals := map[uuid.UUID]int{}
	for _, n := range g.Nodes {
		names[n.ID] = n.Name
	}
	for _, e := range g.Edges {
		if e.Kind == network.EdgeTie {
			d.NTies++
			totals[e.Source] += e.Total()
			totals[e.Target] += e.Total()
		} else {
			d.NAlliances++
		}
	}
	var orgs, muns []netNode
	for _, n := range g.Nodes {
		if n.Kind == network.NodeMunicipality {
			d.NAllMuns++
		}
		if n.Kind == network.NodeOrganisation {
			d.NOrgs++
			orgs = append(orgs, netNode{ID: n.ID, Label: clip(n.Name), Title: n.Name, Total: totals[n.ID]})
		} else if totals[n.ID] > 0 {
			d.NMuns++
			muns = append(muns, netNode{ID: n.ID, Label: clip(n.Name), Title: n.Name, Total: totals[n.ID]})
		}
	}
	top := func(ns []netNode) []netNode {
		slices.SortStableFunc(ns, func(a, b netNode) int { return cmp.Compare(b.Total, a.Total) })
		return ns[:min(len(ns), netMaxNodes)]
	}
	orgs, muns = top(orgs), top(muns)
	if len(orgs) < d.NOrgs || len(muns) < d.NMuns {
		d.Shown = fmt.Sprintf(w["shown"], len(orgs), d.NOrgs, len(muns), d.NMuns)
	}
	rows := float64(max(len(orgs), len(muns), 1))
	row := min(max(netRow, 240/rows), 2*netRow) // a small network gets room
	d.Height = 2*netPad + rows*row
	place := func(ns []netNode, x, labelX float64, anchor string) map[uuid.UUID]netNode {
		at := map[uuid.UUID]netNode{}
		off := netPad + (rows-float64(len(ns)))*row/2 + row/2
		for i := range ns {
			ns[i].X, ns[i].Y, ns[i].LabelX, ns[i].Anchor = x, off+float64(i)*row, labelX, anchor
			at[ns[i].ID] = ns[i]
		}
		return at
	}
	orgAt := place(orgs, netOrgX, netOrgX-10, "end")
	munAt := place(muns, netMunX, netMunX+10, "start")
	d.Orgs, d.Muns = orgs, muns
	width := func(c network.Counts) float64 { return 1 + 1.5*math.Log2(float64(max(c.Total(), 1))) }
	for _, e := range g.Edges {
		o, ok := orgAt[e.Source]
		if !ok {
			continue
		}
		title := fmt.Sprintf("%s — %s: %s (%s %d)", names[e.Source], names[e.Target], countsTitle(w, e.Counts), w["since"], e.FirstYear)
		if e.Kind == network.EdgeTie {
			if m, ok := munAt[e.Target]; ok {
				d.Ties = append(d.Ties, netLine{X1: o.X, Y1: o.Y, X2: m.X, Y2: m.Y, W: width(e.Counts), Title: title})
			}
			continue
		}
		if p, ok := orgAt[e.Target]; ok {
			// A quadratic arc bulging right of the column, further for distant pairs.
			bulge := 30 + math.Abs(p.Y-o.Y)/3
			d.Arcs = append(d.Arcs, netArc{D: fmt.Sprintf("M%.1f %.1f Q%.1f %.1f %.1f %.1f", o.X, o.Y, o.X+bulge, (o.Y+p.Y)/2, p.X, p.Y),
				W: width(e.Counts), Title: title})
		}
	}
	// New alliances per year: two bars a year.
	years := g.Metrics.NewAlliances
	peak := 1
	for _, y := range years {
		peak = max(peak, y.OrganisationMunicipality, y.OrganisationOrganisation)
	}
	inner := yearChartH - 2*yearChartPad
	if len(years) > 0 {
		slot := (yearChartW - 2*yearChartPad) / float64(len(years))
		for i, y := range years {
			x := yearChartPad + float64(i)*slot
			for j, v := range []struct {
				n            int
				class, label string
			}{{y.OrganisationMunicipality, "new-tie", w["orgMun"]}, {y.OrganisationOrganisation, "new-alliance", w["orgOrg"]}} {
				h := inner * float64(v.n) / float64(peak)
				d.Bars = append(d.Bars, netBar{X: x + slot*(0.1+0.4*float64(j)), Y: yearChartH - yearChartPad - h, W: slot * 0.4, H: h, Class: v.class,
					Title: fmt.Sprintf("%d — %s: %d", y.Year, v.label, v.n)})
			}
			d.BarLabels = append(d.BarLabels, netLabel{X: x + slot/2, Y: yearChartH - yearChartPad + 16, Text: fmt.Sprint(y.Year)})
		}
	}
	return d
}
