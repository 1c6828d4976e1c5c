package metrics

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// However many tenants and goroutines, at most the cap of tenant label
// values exists, the first ones seen keep theirs, and every request counts.
func TestTenantLabelsAreCapped(t *testing.T) {
	t.Parallel()
	m := New(Config{TenantLabels: 3})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				m.ObserveRequest("/v1/tenants/{tenant}", "GET", 200, fmt.Sprintf("comune-%d", 3+(g*50+i)%500), time.Millisecond)
			}
		})
	}
	wg.Wait()
	for range 2 {
		m.ObserveRequest("/v1/tenants/{tenant}", "GET", 200, "comune-3", time.Millisecond)
	}
	m.ObserveRequest("/healthz", "GET", 200, "", time.Millisecond)
	m.ObserveRequest("", "BREW", 0, "", time.Millisecond)

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatal(err)
	}
	var total float64
	named, other := 0, false
	for _, s := range families["coprod_http_tenant_requests_total"].GetMetric() {
		total += s.GetCounter().GetValue()
		for _, l := range s.GetLabel() {
			if l.GetName() != "tenant" {
				continue
			}
			switch l.GetValue() {
			case OtherTenant:
				other = true
			case NoTenant:
			default:
				named++
			}
		}
	}
	if named != 3 || !other {
		t.Errorf("%d named tenant series and other=%v, want 3 and true", named, other)
	}
	if total != 8*50+4 {
		t.Errorf("%v requests counted, want %d", total, 8*50+4)
	}
	// An unknown method and no route are folded, and an unwritten status is 200.
	body := rec.Body.String()
	if !strings.Contains(body, `coprod_http_request_duration_seconds_count{method="OTHER",route="unmatched",status="2xx"} 1`) {
		t.Errorf("unmatched request with an unknown method not folded:\n%s", body)
	}
	if strings.Contains(body, "BREW") {
		t.Error("an arbitrary method became a label value")
	}
}

func TestStatusClass(t *testing.T) {
	t.Parallel()
	for status, want := range map[int]string{0: "2xx", 200: "2xx", 204: "2xx", 304: "3xx", 404: "4xx", 503: "5xx", 99: "other", 600: "other"} {
		if got := statusClass(status); got != want {
			t.Errorf("statusClass(%d) = %s, want %s", status, got, want)
		}
	}
}

// BenchmarkObserveRequest is the cost the metrics add to each request.
func BenchmarkObserveRequest(b *testing.B) {
	m := New(Config{TenantLabels: 100})
	tenants := make([]string, 1000)
	for i := range tenants {
		tenants[i] = fmt.Sprintf("comune-%d", i)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		m.ObserveRequest("/v1/tenants/{tenant}/calls", "GET", 200, tenants[i%len(tenants)], time.Millisecond)
	}
}
