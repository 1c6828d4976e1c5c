package httpapi_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/coprod/coprod/adapters/httpapi"
	netw "github.com/coprod/coprod/domain/network"
)

// networkFake stands for the postgres store (tested in adapters/postgres):
// the region it is asked about has Bergamo, Brescia and Como; it also
// returns a tie of Torino, another region's, which must never show.
type networkFake struct {
	tenant uuid.UUID
}

func nid(s string) uuid.UUID { return uuid.NewSHA1(uuid.NameSpaceOID, []byte(s)) }

func (f *networkFake) Atomic(_ context.Context, tenant uuid.UUID, fn func(netw.Tx) error) error {
	return fn(&networkFake{tenant: tenant})
}
func (f *networkFake) Activities(context.Context) ([]netw.Activity, error) { return nil, nil }
func (f *networkFake) Replace(context.Context, []netw.Tie, []netw.Alliance, time.Time) error {
	return nil
}
func (f *networkFake) Region(context.Context) (netw.Place, []netw.Place, bool, error) {
	return netw.Place{ID: f.tenant, Slug: "regione-lombardia", Name: "Lombardia"}, []netw.Place{
		{ID: nid("bergamo"), Slug: "bergamo", Name: "Bergamo"}, {ID: nid("brescia"), Slug: "brescia", Name: "Brescia"},
		{ID: nid("como"), Slug: "como", Name: "Como"}}, true, nil
}
func (f *networkFake) activities() ([]netw.Tie, []netw.Alliance) {
	a, b, c := nid("A"), nid("B"), nid("C")
	var ties []netw.Tie
	var alliances []netw.Alliance
	for m, acts := range map[string][]netw.Activity{
		"bergamo": {{Kind: netw.KindApplication, At: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), Orgs: []uuid.UUID{a, b}},
			{Kind: netw.KindAgreement, At: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), Orgs: []uuid.UUID{a, b}}},
		"brescia": {{Kind: netw.KindAgreement, At: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Orgs: []uuid.UUID{a, c}}},
		"torino":  {{Kind: netw.KindAgreement, At: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), Orgs: []uuid.UUID{b, c}}},
	} {
		t, al := netw.Tally(nid(m), acts)
		ties, alliances = append(ties, t...), append(alliances, al...)
	}
	return ties, alliances
}
func (f *networkFake) Ties(context.Context) ([]netw.Tie, error) {
	t, _ := f.activities()
	return t, nil
}
func (f *networkFake) Alliances(context.Context) ([]netw.Alliance, error) {
	_, a := f.activities()
	return a, nil
}
func (f *networkFake) ComputedAt(context.Context) (time.Time, error) {
	return time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC), nil
}
func (f *networkFake) OrganisationNames(_ context.Context, ids []uuid.UUID) (map[uuid.UUID]string, error) {
	out := map[uuid.UUID]string{}
	for _, n := range []string{"A", "B", "C"} {
		out[nid(n)] = "Cooperativa " + n
	}
	return out, nil
}

func TestNetworkRoutes(t *testing.T) {
	t.Parallel()
	b := setup(t, func(d *httpapi.Deps) { d.Network = netw.NewService(&networkFake{}, nil) })
	b.call(t, "POST", "/v1/tenants", opToken, `{"slug":"regione-piemonte","name":"Piemonte","kind":"region","istatCode":"01"}`, 201)
	b.call(t, "POST", "/v1/tenants/regione-piemonte/activate", opToken, ``, 200)
	analyst := "user:regione-lombardia:regional_analyst"

	r := b.call(t, "GET", "/v1/tenants/regione-lombardia/network", analyst, "", 200)
	nodes := r.body["nodes"].([]any)
	var names []string
	for _, n := range nodes {
		names = append(names, n.(map[string]any)["name"].(string))
	}
	if strings.Join(names, ",") != "Bergamo,Brescia,Como,Cooperativa A,Cooperativa B,Cooperativa C" {
		t.Errorf("nodes: %v", names)
	}
	if strings.Contains(r.raw, nid("torino").String()) {
		t.Errorf("another region's municipality in the network: %s", r.raw)
	}
	edges := r.body["edges"].([]any)
	if len(edges) != 6 { // A, B–Bergamo; A, C–Brescia; A–B, A–C
		t.Errorf("edges: %v", edges)
	}
	m := r.body["metrics"].(map[string]any)
	several := m["organisationsInSeveralMunicipalities"].([]any)
	without := m["municipalitiesWithoutPartnership"].([]any)
	if len(several) != 1 || several[0].(map[string]any)["name"] != "Cooperativa A" || len(without) != 1 ||
		without[0].(map[string]any)["slug"] != "como" || len(m["newAlliancesPerYear"].([]any)) != 3 {
		t.Errorf("metrics: %v", m)
	}
	if r.body["computedAt"] != "2026-11-24T02:00:00Z" || r.body["agreementsOnly"] != false {
		t.Errorf("computedAt, agreementsOnly: %s", r.raw)
	}
	y := b.call(t, "GET", "/v1/tenants/regione-lombardia/network?from=2026", analyst, "", 200)
	if len(y.body["edges"].([]any)) != 3 || y.body["fromYear"].(float64) != 2026 {
		t.Errorf("2026 on: %s", y.raw)
	}
	problem(t, b.do(t, "GET", "/v1/tenants/regione-lombardia/network?from=2026&to=2025", analyst, ""), 422, "invalid_range")
	problem(t, b.do(t, "GET", "/v1/tenants/regione-lombardia/network", "user:milano:officer", ""), 403, "forbidden")
	problem(t, b.do(t, "GET", "/v1/tenants/regione-lombardia/network", "user:milano:regional_analyst", ""), 403, "forbidden")
	problem(t, b.do(t, "GET", "/v1/tenants/regione-lombardia/network", "user:regione-piemonte:regional_analyst", ""), 403, "forbidden")
	problem(t, b.do(t, "GET", "/v1/tenants/regione-lombardia/network.html", "user:regione-piemonte:regional_analyst", ""), 403, "forbidden")
	problem(t, b.do(t, "GET", "/v1/tenants/nowhere/network", analyst, ""), 404, "tenant_not_found")
	problem(t, b.do(t, "GET", "/v1/tenants/regione-lombardia/network", "", ""), 401, "unauthenticated")

	// Public: agreements only, no login, cacheable.
	p := b.call(t, "GET", "/v1/public/network/regione-lombardia", "", "", 200)
	if p.body["agreementsOnly"] != true || p.header.Get("ETag") == "" || !strings.Contains(p.header.Get("Cache-Control"), "public") {
		t.Errorf("public network: %v %s", p.header, p.raw)
	}
	for _, e := range p.body["edges"].([]any) {
		if e := e.(map[string]any); e["applications"].(float64) != 0 || e["agreements"].(float64) == 0 {
			t.Errorf("public edge beyond agreements: %v", e)
		}
	}
	if n := len(p.body["metrics"].(map[string]any)["newAlliancesPerYear"].([]any)); n != 2 { // 2025, 2026
		t.Errorf("public new alliances: %d years", n)
	}
	problem(t, b.do(t, "GET", "/v1/public/network/milano", "", ""), 404, "region_not_found")
	problem(t, b.do(t, "GET", "/v1/public/network/nowhere", "", ""), 404, "tenant_not_found")
}

// The network pages open in headless Chromium: both languages, the region's
// and the public one; the graph and the chart are there with the nodes and
// edges expected, the browser reports no error, screenshots go to
// .artefacts/.
func TestNetworkPageInChromium(t *testing.T) {
	browser, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (apt-get install chromium; .ci/run installs it)")
	}
	t.Parallel()
	b := setup(t, func(d *httpapi.Deps) { d.Network = netw.NewService(&networkFake{}, nil) })
	r := b.call(t, "GET", "/v1/tenants/regione-lombardia/network.html?lang=en", "user:regione-lombardia:regional_analyst", "", 200)
	if !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || !strings.Contains(r.header.Get("Content-Security-Policy"), "default-src 'none'") ||
		strings.Contains(r.raw, "<script") {
		t.Fatalf("page headers %v or a script in it", r.header)
	}

	ctx, reported := headlessChromium(t, browser, "user:regione-lombardia:regional_analyst")
	count := func(sel string) int {
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("`+sel+`").length`))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, page := range []struct {
		name, path, title     string
		ties, arcs, newBars   int
		several, withoutItems int
	}{
		{"region-it", "/v1/tenants/regione-lombardia/network.html?lang=it", "Rete dei partenariati — Lombardia", 4, 2, 6, 1, 1},
		{"region-en", "/v1/tenants/regione-lombardia/network.html?lang=en", "Network of partnerships — Lombardia", 4, 2, 6, 1, 1},
		{"public-it", "/v1/public/network/regione-lombardia/network.html?lang=it", "Rete delle convenzioni — Lombardia", 4, 2, 4, 1, 1},
		{"region-2026-en", "/v1/tenants/regione-lombardia/network.html?lang=en&from=2026", "Network of partnerships — Lombardia", 2, 1, 2, 0, 2},
	} {
		if err := chromedp.Do(ctx, chromedp.Navigate(b.srv.URL+page.path), chromedp.WaitVisible("#network-graph")); err != nil {
			t.Fatalf("%s: %v", page.name, err)
		}
		title, err := chromedp.Run(ctx, chromedp.Title())
		if err != nil {
			t.Fatal(err)
		}
		shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		got := []int{count("svg#network-graph"), count("#network-graph line.tie"), count("#network-graph path.alliance"),
			count("#chart-new-alliances rect"), count("#several tr") - 1, count("#without li")}
		want := []int{1, page.ties, page.arcs, page.newBars, page.several, page.withoutItems}
		if page.several == 0 {
			got[4] = 0 // no table when nobody is in several municipalities
		}
		if title != page.title || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: title %q; graph, ties, arcs, year bars, several, without = %v, want %v", page.name, title, got, want)
		}
		// Nodes: three organisations, the tied municipalities (Como has none).
		if page.name == "region-it" && (count("#network-graph circle.organisation") != 3 || count("#network-graph circle.municipality") != 2) {
			t.Errorf("%s: nodes", page.name)
		}
		dir := filepath.Join("..", "..", ".artefacts")
		if err := os.MkdirAll(dir, 0o755); err == nil {
			_ = os.WriteFile(filepath.Join(dir, "network-"+page.name+".png"), shot, 0o644)
		}
		if len(shot) < 1000 {
			t.Errorf("%s: screenshot of %d bytes", page.name, len(shot))
		}
	}
	if problems := reported(); len(problems) > 0 {
		t.Errorf("the browser reported: %v", problems)
	}
}
