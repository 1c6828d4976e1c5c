package httpapi_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/coprod/coprod/adapters/httpapi"
	"github.com/coprod/coprod/domain/report"
)

// The region page opens in headless Chromium: it renders in both
// languages, both charts are there, the browser reports no error, and a
// screenshot is kept in .artefacts/ (git-ignored) for people to look at.
func TestRegionReportPageInChromium(t *testing.T) {
	browser, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (apt-get install chromium; .ci/run installs it)")
	}
	t.Parallel()
	today := time.Now().UTC().Truncate(24 * time.Hour)
	var snaps []report.Snapshot
	for i := range 3 {
		for d := range 5 {
			snaps = append(snaps, report.Snapshot{TenantID: uuid.NewSHA1(uuid.Nil, []byte{byte(i)}), Day: today.AddDate(0, 0, d-4),
				Figures: report.Figures{Applications: 2 + i, BudgetCommittedCents: int64(100_000_00 * (i + 1) * (d + 1)), PaidCents: int64(10_000_00 * i),
					IndicatorsByStatus: map[string]int{"on_track": 2, "at_risk": i},
					People:             []report.PeopleCell{{AgeBand: "75+", Gender: "female", Vulnerability: "elderly_alone", Count: 3 + 10*i}}}})
		}
	}
	b := setup(t, func(d *httpapi.Deps) { d.Reports = report.NewService(&snapshotsFake{snaps: snaps}, nil) })
	// Without a browser first: the page's headers.
	r := b.call(t, "GET", "/v1/tenants/regione-lombardia/region-report.html?lang=en", "user:regione-lombardia:regional_analyst", "", 200)
	if !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || !strings.Contains(r.header.Get("Content-Security-Policy"), "default-src 'none'") ||
		strings.Contains(r.raw, "<script") {
		t.Fatalf("page headers %v or a script in it", r.header)
	}
	problem(t, b.do(t, "GET", "/v1/tenants/regione-lombardia/region-report.html", "user:milano:officer", ""), 403, "forbidden")

	ctx, reported := headlessChromium(t, browser, "user:regione-lombardia:regional_analyst")
	for _, lang := range []string{"it", "en"} {
		if err := chromedp.Do(ctx, chromedp.Navigate(b.srv.URL+"/v1/tenants/regione-lombardia/region-report.html?lang="+lang),
			chromedp.WaitVisible("#chart-trend")); err != nil {
			t.Fatalf("%s: %v", lang, err)
		}
		title, err1 := chromedp.Run(ctx, chromedp.Title())
		charts, err2 := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("svg#chart-municipalities, svg#chart-trend").length`))
		bars, err3 := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#chart-municipalities rect.committed").length`))
		shot, err4 := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		for _, err := range []error{err1, err2, err3, err4} {
			if err != nil {
				t.Fatalf("%s: %v", lang, err)
			}
		}
		want := map[string]string{"it": "Rapporto regionale — Lombardia", "en": "Regional report — Lombardia"}[lang]
		// Five days of three municipalities: five trend points, one per day.
		points, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#chart-trend circle").length`))
		if err != nil {
			t.Fatal(err)
		}
		if title != want || charts != 2 || bars != 3 || points != 5 {
			t.Errorf("%s: title %q, %d charts, %d bars, %d trend points", lang, title, charts, bars, points)
		}
		dir := filepath.Join("..", "..", ".artefacts")
		if err := os.MkdirAll(dir, 0o755); err == nil {
			_ = os.WriteFile(filepath.Join(dir, "region-report-"+lang+".png"), shot, 0o644)
		}
		if len(shot) < 1000 {
			t.Errorf("%s: screenshot of %d bytes", lang, len(shot))
		}
	}
	if problems := reported(); len(problems) > 0 {
		t.Errorf("the browser reported: %v", problems)
	}
}

// headlessChromium opens Chromium at browser, sending the bearer token with
// every request; reported returns the console errors and exceptions seen
// so far. Closed with the test.
func headlessChromium(t *testing.T, browser, token string) (ctx context.Context, reported func() []string) {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.Headless,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1200, 1600))
	actx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(cancelCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancelTimeout)
	var mu sync.Mutex
	var problems []string
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				mu.Lock()
				problems = append(problems, m.String()+" "+m.URL)
				mu.Unlock()
			}
		}
	}()
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
		Headers: network.Headers{"Authorization": "Bearer " + token}}); err != nil {
		t.Fatal(err)
	}
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(problems)
	}
}
