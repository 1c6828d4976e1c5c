package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/coprod/coprod/adapters/httpapi"
	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/app"
	"github.com/coprod/coprod/tenants"
	"github.com/coprod/coprod/tenants/tenantstest"
)

const opToken = "operator-token-0123456789abcdef0123456789"

// fakeAuth maps "Bearer user:<tenant-slug>:<role>" to a principal of that
// tenant, so handlers can be tested with non-operator callers before
// per-tenant login exists. It stands for the OIDC authenticator.
type fakeAuth struct{ reg *tenants.Service }

func (f fakeAuth) Authenticate(ctx context.Context, r *http.Request, _ uuid.UUID) (domain.Principal, bool, error) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer user:")
	if !ok {
		return domain.Principal{}, false, nil
	}
	slug, role, _ := strings.Cut(tok, ":")
	opCtx := domain.WithPrincipal(ctx, domain.Principal{Subject: "op", Roles: []domain.Role{domain.RolePlatformOperator}})
	t, err := f.reg.Get(opCtx, slug)
	if err != nil {
		return domain.Principal{}, false, errors.New("unknown tenant in fake token")
	}
	return domain.Principal{Subject: "user-" + slug, TenantID: t.ID, Roles: []domain.Role{domain.Role(role)}}, true, nil
}

type bundle struct {
	srv      *httptest.Server
	registry *tenants.Service
	logs     *strings.Builder
}

func setup(t *testing.T, opts ...func(*httpapi.Deps)) *bundle {
	t.Helper()
	return setupConfig(t, httpapi.Config{Version: "test", MaxBodyBytes: 4096}, opts...)
}

func setupConfig(t *testing.T, cfg httpapi.Config, opts ...func(*httpapi.Deps)) *bundle {
	t.Helper()
	mem := tenantstest.NewMemory()
	reg := tenants.NewService(mem.Registry(), nil)
	logs := &strings.Builder{}
	ready := func(context.Context) error { return nil }
	deps := httpapi.Deps{
		Tenants: reg, App: app.New(mem, nil), Ready: ready,
		Auth: []httpapi.Authenticator{httpapi.NewBootstrapToken(opToken), fakeAuth{reg}},
		Log:  slog.New(httpapi.LogHandler(slog.NewJSONHandler(&syncWriter{b: logs}, nil))),
	}
	for _, o := range opts {
		o(&deps)
	}
	_, h := httpapi.New(cfg, deps)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	b := &bundle{srv: srv, registry: reg, logs: logs}
	// A region and a municipality, active.
	b.call(t, "POST", "/v1/tenants", opToken, `{"slug":"regione-lombardia","name":"Lombardia","kind":"region","istatCode":"03"}`, 201)
	b.call(t, "POST", "/v1/tenants", opToken, `{"slug":"milano","name":"Milano","kind":"municipality","istatCode":"015146","region":"regione-lombardia"}`, 201)
	b.call(t, "POST", "/v1/tenants/milano/activate", opToken, ``, 200)
	b.call(t, "POST", "/v1/tenants/regione-lombardia/activate", opToken, ``, 200)
	return b
}

type syncWriter struct {
	b *strings.Builder
}

func (w *syncWriter) Write(p []byte) (int, error) { return w.b.Write(p) }

type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (b *bundle) do(t *testing.T, method, path, token, body string, hdr ...string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, b.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := response{status: res.StatusCode, header: res.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &out.body)
	return out
}

func (b *bundle) call(t *testing.T, method, path, token, body string, want int, hdr ...string) response {
	t.Helper()
	r := b.do(t, method, path, token, body, hdr...)
	if r.status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r.raw)
	}
	return r
}

// problem asserts an RFC 9457 problem with the given status and code.
func problem(t *testing.T, r response, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Errorf("status %d, want %d: %s", r.status, status, r.raw)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("content type %q, want application/problem+json", ct)
	}
	if r.body["code"] != code || r.body["type"] != httpapi.ProblemTypePrefix+code || r.body["status"] != float64(status) {
		t.Errorf("problem code/type/status: %v %v %v, want %s: %s", r.body["code"], r.body["type"], r.body["status"], code, r.raw)
	}
	for _, leak := range []string{"goroutine", ".go:", "SQLSTATE", "panic"} {
		if strings.Contains(r.raw, leak) {
			t.Errorf("problem leaks internals (%q): %s", leak, r.raw)
		}
	}
}

func location(r response) string {
	errs, _ := r.body["errors"].([]any)
	if len(errs) == 0 {
		return ""
	}
	e, _ := errs[0].(map[string]any)
	s, _ := e["location"].(string)
	return s
}

func TestProblems(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cases := []struct {
		name, method, path, token, body string
		status                          int
		code, location                  string
	}{
		{"no credentials", "GET", "/v1/tenants", "", "", 401, "unauthenticated", ""},
		{"wrong token", "GET", "/v1/tenants", "nope-nope-nope", "", 401, "invalid_token", ""},
		{"not an operator", "GET", "/v1/tenants", "user:milano:officer", "", 403, "forbidden", ""},
		{"malformed json", "POST", "/v1/tenants", opToken, `{"slug":`, 400, "malformed_request", ""},
		{"unknown field", "POST", "/v1/tenants", opToken, `{"slug":"bergamo","name":"B","kind":"municipality","region":"regione-lombardia","tenantId":"x"}`, 422, "validation_failed", "body.tenantId"},
		{"bad enum", "POST", "/v1/tenants", opToken, `{"slug":"bergamo","name":"B","kind":"city"}`, 422, "validation_failed", "body.kind"},
		{"slug taken", "POST", "/v1/tenants", opToken, `{"slug":"milano","name":"B","kind":"municipality","region":"regione-lombardia"}`, 409, "tenant_slug_taken", ""},
		{"istat code taken", "POST", "/v1/tenants", opToken, `{"slug":"milano-bis","name":"B","kind":"municipality","istatCode":"015146","region":"regione-lombardia"}`, 409, "tenant_istat_code_taken", ""},
		{"invalid istat code", "POST", "/v1/tenants", opToken, `{"slug":"bergamo","name":"B","kind":"municipality","istatCode":"16024","region":"regione-lombardia"}`, 422, "invalid_istat_code", "body.istatCode"},
		{"invalid slug", "POST", "/v1/tenants", opToken, `{"slug":"Bergamo!","name":"B","kind":"municipality","region":"regione-lombardia"}`, 422, "invalid_slug", "body.slug"},
		{"body over limit", "POST", "/v1/tenants", opToken, `{"name":"` + strings.Repeat("a", 5000) + `"}`, 413, "body_too_large", ""},
		{"unknown tenant", "GET", "/v1/tenants/atlantide", opToken, "", 404, "tenant_not_found", ""},
		{"unknown tenant scoped", "GET", "/v1/tenants/atlantide/audit-events", opToken, "", 404, "tenant_not_found", ""},
		{"page too large", "GET", "/v1/tenants?limit=501", opToken, "", 422, "validation_failed", "query.limit"},
		{"bad cursor", "GET", "/v1/tenants?cursor=zzz", opToken, "", 422, "invalid_cursor", "query.cursor"},
		{"invalid transition", "POST", "/v1/tenants/milano/resume", opToken, "", 409, "invalid_tenant_transition", ""},
		{"stale if-match", "POST", "/v1/tenants/milano/suspend", opToken, "", 412, "stale_version", ""},
		{"unknown route", "GET", "/v1/nothing", opToken, "", 404, "route_not_found", ""},
		{"wrong method", "DELETE", "/v1/tenants", opToken, "", 405, "method_not_allowed", ""},
		{"another tenant's trail", "GET", "/v1/tenants/regione-lombardia/audit-events", "user:milano:auditor", "", 403, "forbidden", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var hdr []string
			if tc.code == "stale_version" {
				hdr = []string{"If-Match", `"1"`}
			}
			r := b.do(t, tc.method, tc.path, tc.token, tc.body, hdr...)
			problem(t, r, tc.status, tc.code)
			if tc.location != "" && location(r) != tc.location {
				t.Errorf("location %q, want %q: %s", location(r), tc.location, r.raw)
			}
			if tc.status == 401 && r.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
	// None of the refused writes changed anything.
	page := b.call(t, "GET", "/v1/tenants", opToken, "", 200)
	if items := page.body["items"].([]any); len(items) != 2 {
		t.Errorf("after refused writes: %d tenants, want 2", len(items))
	}
	if strings.Contains(b.logs.String(), opToken) {
		t.Error("the bootstrap token was logged")
	}
}

func TestTenantScopedRoutes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// A tenant's auditor reads its own trail.
	r := b.call(t, "GET", "/v1/tenants/milano/audit-events?limit=1", "user:milano:auditor", "", 200)
	items := r.body["items"].([]any)
	if len(items) != 1 || r.body["nextCursor"] == nil {
		t.Fatalf("first page: %s", r.raw)
	}
	first := items[0].(map[string]any)
	if first["action"] != "tenant.activated" {
		t.Errorf("newest event %v, want tenant.activated", first["action"])
	}
	r = b.call(t, "GET", "/v1/tenants/milano/audit-events?limit=1&cursor="+r.body["nextCursor"].(string), "user:milano:auditor", "", 200)
	if a := r.body["items"].([]any)[0].(map[string]any)["action"]; a != "tenant.created" || r.body["nextCursor"] != nil {
		t.Errorf("second page: %s", r.raw)
	}
	// An evaluator may not read the trail.
	problem(t, b.do(t, "GET", "/v1/tenants/milano/audit-events", "user:milano:evaluator", ""), 403, "forbidden")

	// Suspended: the tenant's users get 403 with its code; the operator still gets in.
	etag := b.call(t, "GET", "/v1/tenants/milano", opToken, "", 200).header.Get("ETag")
	s := b.call(t, "POST", "/v1/tenants/milano/suspend", opToken, `{"reason":"unpaid"}`, 200, "If-Match", etag)
	if s.body["status"] != "suspended" || s.header.Get("ETag") == etag {
		t.Errorf("suspend: %s (etag %s → %s)", s.raw, etag, s.header.Get("ETag"))
	}
	problem(t, b.do(t, "GET", "/v1/tenants/milano/audit-events", "user:milano:auditor", ""), 403, "tenant_suspended")
	r = b.call(t, "GET", "/v1/tenants/milano/audit-events", opToken, "", 200)
	if a := r.body["items"].([]any)[0].(map[string]any); a["action"] != "tenant.suspended" || a["summary"].(map[string]any)["reason"] != "unpaid" {
		t.Errorf("trail after suspend: %s", r.raw)
	}
}

func TestRequestIDAndHealth(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := b.call(t, "GET", "/healthz", "", "", 200, "X-Request-Id", "abc-123")
	if r.header.Get("X-Request-Id") != "abc-123" {
		t.Errorf("request id not echoed: %q", r.header.Get("X-Request-Id"))
	}
	r = b.call(t, "GET", "/readyz", "", "", 200, "X-Request-Id", "bad id with spaces")
	if id := r.header.Get("X-Request-Id"); id == "" || strings.Contains(id, " ") {
		t.Errorf("malformed request id accepted or none generated: %q", id)
	}
	for id, kept := range map[string]bool{strings.Repeat("A.9_:-", 21) + "ab": true, strings.Repeat("a", 129): false, "a/b": false, "é": false} {
		r = b.call(t, "GET", "/healthz", "", "", 200, "X-Request-Id", id)
		if got := r.header.Get("X-Request-Id"); (got == id) != kept || got == "" {
			t.Errorf("request id %q (%d bytes): answered %q, kept should be %v", id, len(id), got, kept)
		}
	}
	r = b.do(t, "GET", "/v1/tenants/nope", opToken, "", "X-Request-Id", "trace-42")
	if r.body["requestId"] != "trace-42" {
		t.Errorf("problem without the request id: %s", r.raw)
	}
	if !strings.Contains(b.logs.String(), `"request_id":"trace-42"`) {
		t.Errorf("access log lacks the request id:\n%s", b.logs.String())
	}
	for _, path := range []string{"/openapi.json", "/openapi.yaml", "/docs"} {
		b.call(t, "GET", path, "", "", 200)
	}
}

func TestOpenAPIDocumentsEveryOperation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := b.call(t, "GET", "/openapi.json", "", "", 200)
	if r.body["openapi"] != "3.1.0" {
		t.Errorf("openapi version %v", r.body["openapi"])
	}
	paths := r.body["paths"].(map[string]any)
	for _, p := range []string{"/v1/tenants", "/v1/tenants/{tenant}", "/v1/tenants/{tenant}/suspend", "/v1/tenants/{tenant}/municipalities", "/v1/tenants/{tenant}/audit-events", "/healthz", "/readyz"} {
		if _, ok := paths[p]; !ok {
			t.Errorf("OpenAPI lacks %s", p)
		}
	}
}

// An operation that needs credentials refuses an anonymous caller before
// reading the body: 401, not the 422 or 413 a bad body would earn.
func TestCredentialsBeforeBody(t *testing.T) {
	t.Parallel()
	b := setup(t)
	problem(t, b.do(t, "POST", "/v1/tenants", "", `{"slug":`), 401, "unauthenticated")
	problem(t, b.do(t, "POST", "/v1/tenants", "", `{"slug":"x","unknown":1}`), 401, "unauthenticated")
	// With the operator's token the same body is judged: malformed.
	if r := b.do(t, "POST", "/v1/tenants", opToken, `{"slug":`); r.status != 400 && r.status != 422 {
		t.Errorf("operator, malformed body: %d %s", r.status, r.raw)
	}
}
