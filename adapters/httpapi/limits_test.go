package httpapi_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/adapters/httpapi"
	"github.com/coprod/coprod/domain"
)

// A JSON body of exactly the limit is read; one byte more is a 413 problem
// and changes nothing. (Uploads and every list: cmd/coprod's limits_test.go.)
func TestBodyLimit(t *testing.T) {
	t.Parallel()
	b := setup(t) // MaxBodyBytes 4096
	body := func(slug string, size int) string {
		s := `{"slug":"` + slug + `","name":"B","kind":"municipality","region":"regione-lombardia"}`
		return s + strings.Repeat(" ", size-len(s)) // JSON whitespace: still valid
	}
	b.call(t, "POST", "/v1/tenants", opToken, body("bergamo", 4096), 201)
	r := b.do(t, "POST", "/v1/tenants", opToken, body("brescia", 4097))
	problem(t, r, 413, "body_too_large")
	problem(t, b.do(t, "GET", "/v1/tenants/brescia", opToken, ""), 404, "tenant_not_found")

}

// clock is a settable time for the rate limiter.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	b := setupConfig(t, httpapi.Config{Version: "test", MaxBodyBytes: 4096, Rate: httpapi.RateLimit{
		TenantRate: 0.5, TenantBurst: 3, ClientRate: 1, ClientBurst: 2, Now: clk.Now}}, func(d *httpapi.Deps) {
		d.Auth = append(d.Auth, platformAuth{})
	})
	// The OpenAPI document tells clients about the 429 and its headers.
	paths := b.call(t, "GET", "/openapi.json", "", "", 200).body["paths"].(map[string]any)
	responses := func(path string) map[string]any {
		return paths[path].(map[string]any)["get"].(map[string]any)["responses"].(map[string]any)
	}
	if r, ok := responses("/v1/tenants/{tenant}/audit-events")["429"].(map[string]any); !ok || r["headers"].(map[string]any)["Retry-After"] == nil {
		t.Errorf("list-audit-events documents no 429 with Retry-After: %v", responses("/v1/tenants/{tenant}/audit-events"))
	}
	if _, ok := responses("/healthz")["429"]; ok {
		t.Error("the health probe documents a 429 it never answers")
	}
	milano := func() response {
		return b.do(t, "GET", "/v1/tenants/milano/audit-events?limit=1", "user:milano:auditor", "")
	}
	// A platform user acting on Milano's routes spends a bucket of its own,
	// never Milano's.
	for range 3 {
		problem(t, b.do(t, "GET", "/v1/tenants/milano/audit-events", "platform:chiara", ""), 403, "forbidden")
	}
	problem(t, b.do(t, "GET", "/v1/tenants/milano/audit-events", "platform:chiara", ""), 429, "rate_limited")
	for i := 2; i >= 0; i-- {
		r := milano()
		if r.status != 200 || r.header.Get("RateLimit-Limit") != "3" || r.header.Get("RateLimit-Remaining") != strconv.Itoa(i) {
			t.Fatalf("request %d of the burst: %d, RateLimit-Limit %q, -Remaining %q", 3-i, r.status, r.header.Get("RateLimit-Limit"), r.header.Get("RateLimit-Remaining"))
		}
	}
	r := milano()
	problem(t, r, 429, "rate_limited")
	if ra := r.header.Get("Retry-After"); ra != "2" { // one token at 0.5/s
		t.Errorf("Retry-After %q, want 2 (integer seconds)", ra)
	}
	if r.header.Get("RateLimit-Remaining") != "0" || r.header.Get("RateLimit-Reset") != "6" {
		t.Errorf("RateLimit-Remaining %q, -Reset %q, want 0 and 6", r.header.Get("RateLimit-Remaining"), r.header.Get("RateLimit-Reset"))
	}
	// Another user of the same tenant shares its budget.
	problem(t, b.do(t, "GET", "/v1/tenants/milano/audit-events", "user:milano:officer", ""), 429, "rate_limited")

	// Milano at its limit does not limit the region; operators and probes are never limited.
	b.call(t, "GET", "/v1/tenants/regione-lombardia/audit-events", "user:regione-lombardia:auditor", "", 200)
	for range 10 {
		b.call(t, "GET", "/v1/tenants/milano/audit-events", opToken, "", 200)
		b.call(t, "GET", "/healthz", "", "", 200)
		b.call(t, "GET", "/readyz", "", "", 200)
	}

	// The bucket refills: one token after 2 s, the whole burst after 6 s.
	clk.Add(1900 * time.Millisecond)
	problem(t, milano(), 429, "rate_limited")
	clk.Add(100 * time.Millisecond)
	b.call(t, "GET", "/v1/tenants/milano/audit-events?limit=1", "user:milano:auditor", "", 200)
	problem(t, milano(), 429, "rate_limited")
	clk.Add(time.Minute)
	for range 3 {
		b.call(t, "GET", "/v1/tenants/milano/audit-events?limit=1", "user:milano:auditor", "", 200)
	}

	// Anonymous callers (and invalid credentials) are limited per client
	// address, never on a tenant's budget.
	problem(t, b.do(t, "GET", "/v1/tenants", "", ""), 401, "unauthenticated")
	problem(t, b.do(t, "GET", "/v1/tenants", "nope-nope-nope", ""), 401, "invalid_token")
	r = b.do(t, "GET", "/v1/tenants", "", "")
	problem(t, r, 429, "rate_limited")
	if r.header.Get("Retry-After") != "1" {
		t.Errorf("anonymous Retry-After %q, want 1", r.header.Get("Retry-After"))
	}
	problem(t, b.do(t, "GET", "/v1/tenants", "nope-nope-nope", ""), 429, "rate_limited")
	clk.Add(time.Second)
	problem(t, b.do(t, "GET", "/v1/tenants", "", ""), 401, "unauthenticated")
	if !strings.Contains(b.logs.String(), `"status":429`) {
		t.Error("429 answers are not in the access log")
	}
}

// Without a configured limit nothing is limited and no header is sent.
func TestRateLimitOff(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for i := range 50 {
		r := b.call(t, "GET", "/v1/tenants/milano/audit-events?limit=1", "user:milano:auditor", "", 200)
		if i == 0 && r.header.Get("RateLimit-Limit") != "" {
			t.Errorf("RateLimit-Limit %q without a limit", r.header.Get("RateLimit-Limit"))
		}
	}
}

// platformAuth maps "Bearer platform:<subject>" to a platform user, who
// belongs to no tenant (an organisation's member).
type platformAuth struct{}

func (platformAuth) Authenticate(_ context.Context, r *http.Request, _ uuid.UUID) (domain.Principal, bool, error) {
	sub, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer platform:")
	return domain.Principal{Subject: sub}, ok, nil
}
