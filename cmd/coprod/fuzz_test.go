package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/coprod/coprod/adapters/httpapi"
	"github.com/coprod/coprod/adapters/oidc/oidctest"
	"github.com/coprod/coprod/adapters/postgres/postgrestest"
	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/blob"
	"github.com/coprod/coprod/domain/identity"
	"github.com/coprod/coprod/tenants"
)

// The fuzz targets drive the real handler, wired to real PostgreSQL, real
// OpenID providers and the file store, with bodies the fuzzer makes up.
// Whatever arrives, the service must answer: never a panic, never a 5xx,
// and every refusal a problem+json with a code (ADR 0021).

var updateFuzzSeeds = flag.Bool("update-fuzz-seeds", false,
	"renumber the seeds of testdata/fuzz/FuzzRequestBodies after operations were added, and write a schema-made seed for each new one")

const fuzzBootstrap = "fuzz-bootstrap-token-0123456789abcdef"

// Callers of a fuzzed request, chosen by the input's who byte.
const (
	callerAnonymous = iota
	callerOfficer   // Milano's officer, from Milano's provider
	callerOrgAdmin  // a platform user, admin of an organisation
	callerOperator  // the bootstrap operator
	callers
)

// bodyOp is an operation of the OpenAPI document that takes a request body.
type bodyOp struct {
	id, method, path, contentType string
	schema                        *huma.Schema
	params                        []*huma.Param
}

// fuzzAPI is the service under fuzzing and the objects its paths point at.
type fuzzAPI struct {
	handler http.Handler
	api     huma.API
	ops     []bodyOp
	tokens  [callers]string
	// fixtures replace $names in paths and bodies: ids of objects made at set-up.
	fixtures map[string]string
	subst    *strings.Replacer
	errs     *lastErrors // what the service logged as errors, for the report of a 5xx
	super    *pgxpool.Pool
	blobDir  string
}

// stored counts the files in the file store, temporary ones included.
func (a *fuzzAPI) stored(t *testing.T) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(a.blobDir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// audited counts the audit records of every tenant, past row-level security:
// each change writes one in its transaction, so a refused request that
// leaves one behind has written part of a change.
func (a *fuzzAPI) audited(t *testing.T) int {
	t.Helper()
	var n int
	if err := a.super.QueryRow(t.Context(), `SELECT count(*) FROM audit_events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// lastErrors keeps the latest error lines the service logged.
type lastErrors struct {
	mu    sync.Mutex
	lines []string
}

func (l *lastErrors) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, string(p))
	if len(l.lines) > 3 {
		l.lines = l.lines[1:]
	}
	return len(p), nil
}

func (l *lastErrors) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "")
}

// bodyOperations lists the operations with a request body, by operation id,
// from the live OpenAPI document: a new one is fuzzed without more code.
func bodyOperations(api huma.API) []bodyOp {
	var ops []bodyOp
	for path, item := range api.OpenAPI().Paths {
		for _, op := range []*huma.Operation{item.Post, item.Put, item.Patch, item.Delete} {
			if op == nil || op.RequestBody == nil {
				continue
			}
			types := make([]string, 0, len(op.RequestBody.Content))
			for ct := range op.RequestBody.Content {
				types = append(types, ct)
			}
			sort.Strings(types)
			ops = append(ops, bodyOp{id: op.OperationID, method: op.Method, path: path, contentType: types[0],
				schema: op.RequestBody.Content[types[0]].Schema, params: op.Parameters})
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].id < ops[j].id })
	return ops
}

// newFuzzAPI wires the service as `coprod serve` does and makes one object of
// each kind in Milano through the API itself, so that fuzzed requests reach
// the use cases rather than stop at "not found".
func newFuzzAPI(t testing.TB) *fuzzAPI {
	t.Helper()
	db := postgrestest.New(t)
	idp := oidctest.Start(t, oidctest.Config{AccessTokenAudience: "coprod-milano-api",
		Users:   []oidctest.User{{Subject: "anna", Email: "anna@comune.milano.it", EmailVerified: true, Name: "Anna", Groups: []string{"staff-officers"}}},
		Clients: []oidctest.Client{{ID: "coprod-milano", Secret: "secret-a", RedirectURIs: []string{"https://coprod.test/v1/tenants/milano/auth/callback"}}}})
	plat := oidctest.Start(t, oidctest.Config{AccessTokenAudience: "coprod-platform-api",
		Users:   []oidctest.User{{Subject: "chiara", Email: "chiara@coop.example", EmailVerified: true, Name: "Chiara"}},
		Clients: []oidctest.Client{{ID: "coprod-platform", Secret: "secret-p", RedirectURIs: []string{"https://coprod.test/v1/auth/callback"}}}})
	blobDir := t.TempDir()
	cfg, _, err := loadConfig("test", env("COPROD_DATABASE_URL", db.AppURL, "COPROD_PUBLIC_URL", "https://coprod.test",
		"COPROD_SECRETS_KEY", strings.Repeat("cd", 32), "COPROD_BLOB_DIR", blobDir, "COPROD_BOOTSTRAP_TOKEN", fuzzBootstrap), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	pc, _ := plat.Client("coprod-platform")
	cfg.Platform = PlatformOIDC{Issuer: plat.Issuer, ClientID: pc.ID, ClientSecret: pc.Secret, Audience: "coprod-platform-api"}
	errs := &lastErrors{}
	svc, err := wire(cfg, db.App, slog.New(slog.NewJSONHandler(errs, &slog.HandlerOptions{Level: slog.LevelError})), true)
	if err != nil {
		t.Fatal(err)
	}
	remember(t, svc, db.App)
	// The document of the very deps the handler serves.
	server, _ := httpapi.New(httpapi.Config{Version: version, PublicURL: cfg.PublicURL, MaxBodyBytes: cfg.MaxBodyBytes}, svc.deps)
	a := &fuzzAPI{handler: svc.handler, api: server.API(), ops: bodyOperations(server.API()), errs: errs, blobDir: blobDir}
	if a.super, err = pgxpool.New(t.Context(), db.SuperURL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.super.Close)

	op := domain.WithPrincipal(t.Context(), domain.Principal{Subject: "fuzz-op", Roles: []domain.Role{domain.RolePlatformOperator}})
	region, err := svc.tenants.Create(op, tenants.CreateInput{Slug: "regione-lombardia", Name: "Lombardia", Kind: tenants.KindRegion, ISTATCode: "03"})
	if err != nil {
		t.Fatal(err)
	}
	milano, err := svc.tenants.Create(op, tenants.CreateInput{Slug: "milano", Name: "Milano", Kind: tenants.KindMunicipality, ISTATCode: "015146", Region: region.Slug})
	if err != nil {
		t.Fatal(err)
	}
	// Como takes the lifecycle and provider changes, which would lock the
	// other callers out of Milano for the rest of a run.
	if _, err := svc.tenants.Create(op, tenants.CreateInput{Slug: "como", Name: "Como", Kind: tenants.KindMunicipality, ISTATCode: "013075", Region: region.Slug}); err != nil {
		t.Fatal(err)
	}
	for _, slug := range []string{"milano", "como", "regione-lombardia"} {
		if _, err := svc.tenants.ChangeStatus(op, slug, "activate", "", 0); err != nil {
			t.Fatal(err)
		}
	}
	c, _ := idp.Client("coprod-milano")
	if _, err := svc.ids.SaveProvider(op, milano.ID, identity.Provider{Issuer: idp.Issuer, ClientID: c.ID, ClientSecret: c.Secret,
		Audience: "coprod-milano-api", Scopes: []string{"openid", "email", "profile", "groups"},
		Claims: identity.ClaimMapping{GroupRoles: map[string][]domain.Role{"staff-officers": {domain.RoleOfficer}}}}, 0); err != nil {
		t.Fatal(err)
	}
	a.tokens = [callers]string{"", idp.AccessToken(t, "coprod-milano", "anna").AccessToken,
		plat.AccessToken(t, "coprod-platform", "chiara").AccessToken, fuzzBootstrap}

	now := time.Now().UTC()
	a.fixtures = map[string]string{
		"tenant": "milano", "region": "regione-lombardia", "action": "evaluate",
		"today":  now.Format(time.DateOnly),
		"future": now.Add(5 * 24 * time.Hour).Format(time.RFC3339), "later": now.Add(25 * 24 * time.Hour).Format(time.RFC3339),
		// Objects not made here: the handlers must still answer well.
		"notification": uuid.NewString(), "payment": uuid.NewString(), "file": uuid.NewString(),
	}
	a.setSubst()
	must := func(who int, method, path, body string, hdr ...string) (map[string]any, string) {
		t.Helper()
		rec := a.do(who, method, path, "application/json", []byte(body), hdr...)
		var out map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &out)
		if rec.Code >= 300 {
			t.Fatalf("fixture %s %s: %d %s", method, path, rec.Code, rec.Body)
		}
		return out, rec.Header().Get("ETag")
	}
	id := func(m map[string]any) string { s, _ := m["id"].(string); return s }
	me, _ := must(callerOrgAdmin, "GET", "/v1/me", "")
	a.fixtures["user"], _ = me["userId"].(string)
	if a.fixtures["user"] == "" {
		a.fixtures["user"], _ = me["id"].(string)
	}
	org, _ := must(callerOrgAdmin, "POST", "/v1/organisations", `{"fiscalCode":"04123456784","legalName":"Coop Esempio","legalForm":"social_cooperative"}`)
	a.fixtures["org"], a.fixtures["organisation"] = id(org), id(org)
	a.setSubst()
	call, tag := must(callerOfficer, "POST", "/v1/tenants/milano/calls", a.subst.Replace(seedCall))
	a.fixtures["call"] = id(call)
	a.setSubst()
	must(callerOfficer, "POST", a.subst.Replace("/v1/tenants/milano/calls/$call/publish"), a.subst.Replace(seedAct), "If-Match", tag)
	app, _ := must(callerOrgAdmin, "POST", a.subst.Replace("/v1/tenants/milano/calls/$call/applications"), a.subst.Replace(`{"leadOrganisationId":"$org"}`))
	q, _ := must(callerOrgAdmin, "POST", a.subst.Replace("/v1/tenants/milano/calls/$call/questions"), a.subst.Replace(`{"organisationId":"$org","text":"Sono ammesse le ATS?"}`))
	a.fixtures["application"], a.fixtures["question"] = id(app), id(q)
	ag, tag := must(callerOfficer, "POST", "/v1/tenants/milano/agreements", a.subst.Replace(seedAgreement))
	a.fixtures["agreement"] = id(ag)
	a.setSubst()
	path := a.subst.Replace("/v1/tenants/milano/agreements/$agreement")
	_, tag = must(callerOfficer, "POST", path+"/signatures", `{}`, "If-Match", tag)
	_, tag = must(callerOrgAdmin, "POST", path+"/signatures", a.subst.Replace(`{"organisationId":"$org"}`), "If-Match", tag)
	must(callerOfficer, "POST", path+"/activate", "", "If-Match", tag)
	must(callerOfficer, "POST", "/v1/tenants/milano/indicators/seed", "")
	as, _ := must(callerOfficer, "POST", path+"/indicators", `{"indicator":"elderly_alone_home_care","weight":100,
		"baseline":{"value":40,"date":"2025-12-31T00:00:00Z","source":"SIUSS"},"targets":[{"period":"2026-Q4","value":100.5}]}`)
	a.fixtures["assignment"] = id(as)
	m, _ := must(callerOrgAdmin, "POST", "/v1/tenants/milano/indicator-assignments/"+id(as)+"/measurements", `{"period":"2026-Q2","value":60.5,"evidence":"PAI"}`)
	a.fixtures["measurement"] = id(m)
	d, _ := must(callerOfficer, "POST", path+"/deliverables", `{"title":"Relazione intermedia","due":"`+a.fixtures["future"]+`"}`)
	a.fixtures["deliverable"] = id(d)
	p, _ := must(callerOfficer, "POST", path+"/pilots", `{"title":"Quartiere Adriano","hypothesis":"Meno isolamento","siteIstatCode":"015146","cohortSize":30,"start":"2026-01-01T00:00:00Z","end":"2026-12-31T00:00:00Z"}`)
	a.fixtures["pilot"] = id(p)
	pr, tag := must(callerOfficer, "POST", "/v1/tenants/milano/co-programming", `{"title":"Anziani soli","policyArea":"elderly","territory":["015146"],"periodFrom":"2026-01-01","periodTo":"2026-12-31"}`)
	a.fixtures["process"] = id(pr)
	must(callerOfficer, "POST", "/v1/tenants/milano/co-programming/"+id(pr)+"/open", "", "If-Match", tag)
	in, _ := must(callerOrgAdmin, "POST", "/v1/tenants/milano/initiatives", a.subst.Replace(`{"organisationId":"$org","title":"Orti sociali","problem":"Isolamento","targetGroup":"Over 75","approach":"Orti condivisi","partners":["ACLI"]}`))
	a.fixtures["initiative"] = id(in)
	must(callerOfficer, "POST", "/v1/tenants/milano/initiatives/"+id(in)+"/triage-deadline", `{"deadline":"`+a.fixtures["later"]+`"}`)
	a.setSubst()
	return a
}

const (
	seedCall = `{"title":"Anziani soli","summary":"Servizi di prossimità","policyArea":"elderly","objectives":["Ridurre l'isolamento"],
		"budget":{"publicCents":50000000,"cofundingExpectedCents":0,"maxPerProjectCents":20000000},"durationMonths":24,
		"criteria":[{"code":"quality","name":"Qualità","weight":70,"maxScore":10},{"code":"network","name":"Rete","weight":30,"maxScore":10}],
		"passThreshold":60,"questionsDeadline":"$future","submissionDeadline":"$later"}`
	seedAct       = `{"act":{"kind":"call","number":"DD 12/2026","date":"$today","url":"https://comune.milano.it/atti/12"}}`
	seedAgreement = `{"title":"Convenzione anziani soli","objectives":["Ridurre l'isolamento"],"parties":[{"organisationId":"$org","role":"lead","budgetShareCents":30000000}],
		"start":"2026-01-01T00:00:00Z","end":"2028-12-31T00:00:00Z","paymentMode":"mixed",
		"budget":{"publicCents":30000000,"outcomeCents":1000000,"cofundingCashCents":0,"cofundingInKindCents":500000},
		"schedule":[{"label":"anticipo","percent":30},{"label":"intermedio","percent":30},{"label":"saldo","percent":40}]}`
)

// setSubst rebuilds the replacer of $names, longest names first so that
// $organisation is not read as $org followed by "anisation".
func (a *fuzzAPI) setSubst() {
	names := make([]string, 0, len(a.fixtures))
	for k := range a.fixtures {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool {
		return len(names[i]) > len(names[j]) || len(names[i]) == len(names[j]) && names[i] < names[j]
	})
	var pairs []string
	for _, k := range names {
		pairs = append(pairs, "$"+k, a.fixtures[k], "{"+k+"}", a.fixtures[k])
	}
	a.subst = strings.NewReplacer(pairs...)
}

// do sends one request straight to the handler, as the caller who.
func (a *fuzzAPI) do(who int, method, path, contentType string, body []byte, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "https://coprod.test"+path, bytes.NewReader(body))
	if len(body) > 0 {
		req.Header.Set("Content-Type", contentType)
	}
	if tok := a.tokens[who%callers]; tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	a.handler.ServeHTTP(rec, req)
	return rec
}

// checkAnswer holds every answer to a made-up request to the contract: no
// 5xx, and every refusal an RFC 9457 problem with a stable code.
func checkAnswer(t *testing.T, what string, rec *httptest.ResponseRecorder, logged fmt.Stringer) {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("%s: %d %s\nlogged: %s", what, rec.Code, rec.Body, logged)
	}
	if rec.Code < 300 {
		return
	}
	if ct, _, _ := mime.ParseMediaType(rec.Header().Get("Content-Type")); ct != "application/problem+json" {
		t.Fatalf("%s: %d with content type %q: %s", what, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	var p struct {
		Code   string `json:"code"`
		Status int    `json:"status"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || !problemCode.MatchString(p.Code) || p.Status != rec.Code {
		t.Fatalf("%s: %d problem without a snake_case code or with another status (%v): %s", what, rec.Code, err, rec.Body)
	}
}

// onComo are the operations on a tenant itself, sent to Como.
var onComo = map[string]bool{"activate-tenant": true, "suspend-tenant": true, "resume-tenant": true, "offboard-tenant": true, "put-identity-provider": true}

// currentVersion as the version of an input sends the object's current
// ETag, so that seeds get past If-Match to the use case.
const currentVersion = 255

// currentETag reads the ETag of the object the path names: the path itself
// (PUT) or its parent (POST …/{id}/publish), as the caller or the officer.
func (a *fuzzAPI) currentETag(who int, path string) string {
	parent := path[:strings.LastIndex(path, "/")]
	for _, c := range []int{who, callerOfficer, callerOperator} {
		for _, p := range []string{path, parent} {
			if rec := a.do(c, http.MethodGet, p, "", nil); rec.Code == http.StatusOK && rec.Header().Get("ETag") != "" {
				return rec.Header().Get("ETag")
			}
		}
	}
	return `"0"`
}

var problemCode = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// FuzzRequestBodies sends made-up bodies to every operation that takes one.
// op picks the operation (by operation id order), who the caller, version
// the If-Match header (0: none). $names in the body stand for the ids of
// the objects made at set-up. The seeds are one valid body per operation
// (testdata/fuzz/FuzzRequestBodies/<operation id>) and edge cases.
func FuzzRequestBodies(f *testing.F) {
	a := newFuzzAPI(f)
	checkRequestSeeds(f, a)
	// Edge cases, by operation id: the testdata seeds hold one valid body each.
	edge := func(opID string, who, version uint8, body string) {
		for i, o := range a.ops {
			if o.id == opID {
				f.Add(uint16(i), who, version, []byte(body))
				return
			}
		}
		f.Fatalf("edge case for unknown operation %s", opID)
	}
	// Found by this edge case: a NUL character reached PostgreSQL's text and was a 500.
	edge("ask-question", callerOrgAdmin, 0, `{"organisationId":"$org","text":"NUL \u0000 byte"}`)
	edge("create-call", callerOfficer, 0, strings.Replace(seedCall, "Anziani soli", "Anziani\\u0000soli", 1))
	edge("create-coprogramming", callerOfficer, 0, `{"title":"Anziani soli","policyArea":"elderly","territory":["015146"],"periodFrom":"0001-01-01","periodTo":"9999-12-31"}`)
	edge("create-agreement", callerOfficer, 0, strings.Replace(seedAgreement, "30000000", "9223372036854775807", -1))
	edge("create-agreement", callerOfficer, 0, `{"title":"Convenzione","objectives":["x"],"parties":[{"organisationId":"$org","role":"lead","budgetShareCents":9223372036854775807},
		{"organisationId":"$org","role":"partner","budgetShareCents":9223372036854775807}],"start":"2026-01-01T00:00:00Z","end":"2028-12-31T00:00:00Z","paymentMode":"mixed",
		"budget":{"publicCents":9223372036854775807,"outcomeCents":0,"cofundingCashCents":9223372036854775807,"cofundingInKindCents":9223372036854775807},"schedule":[{"label":"saldo","percent":100}]}`)
	edge("submit-measurement", callerOrgAdmin, 0, `{"period":"2026-Q3","value":1e308,"evidence":"PAI"}`)
	edge("create-pilot", callerOfficer, 0, `{"title":"Pilota","hypothesis":"x","cohortSize":2147483648,"start":"0000-01-01T00:00:00Z","end":"9999-12-31T23:59:59Z"}`)
	edge("update-application", callerOrgAdmin, currentVersion, `{"title":"\ud800","sections":[{"key":"","title":"","body":""}]}`)
	edge("register-organisation", callerOrgAdmin, 0, `{"fiscalCode":"0000000000\u0000","legalName":"x","legalForm":"association"}`)
	edge("create-tenant", callerOperator, 0, `{"slug":"`+strings.Repeat("a", 300)+`","name":"\u0000","kind":"municipality","region":"regione-lombardia"}`)
	edge("create-tenant", callerOperator, 0, `{"slug":"lecco","name":"Lec\u0000co","kind":"municipality","istatCode":"097042","region":"regione-lombardia"}`)
	edge("put-tenant-settings", callerOperator, 0, `{"reminderDays":[-1,0,2147483648],"escalationDays":-5}`)
	edge("upload-attachment", callerOrgAdmin, 0, "")
	f.Fuzz(func(t *testing.T, op uint16, who, version uint8, body []byte) {
		o := a.ops[int(op)%len(a.ops)]
		path := a.subst.Replace(o.path)
		if onComo[o.id] {
			path = a.subst.Replace(strings.Replace(o.path, "{tenant}", "como", 1))
		}
		var hdr []string
		switch version {
		case 0:
		case currentVersion:
			hdr = []string{"If-Match", a.currentETag(int(who), path)}
		default:
			hdr = []string{"If-Match", strconv.Quote(strconv.Itoa(int(version)))}
		}
		before := a.audited(t)
		rec := a.do(int(who), o.method, path, o.contentType, []byte(a.subst.Replace(string(body))), hdr...)
		what := fmt.Sprintf("%s %s as caller %d", o.method, path, who%callers)
		checkAnswer(t, what, rec, a.errs)
		if after := a.audited(t); rec.Code >= 300 && after != before {
			t.Fatalf("%s: refused with %d, yet %d audit records were written: %s", what, rec.Code, after-before, rec.Body)
		}
	})
}

const requestSeedDir = "testdata/fuzz/FuzzRequestBodies"

// checkRequestSeeds requires one seed per operation with a body, named
// after the operation and pointing at it: a new operation without its seed
// fails, and so does a seed that an added operation shifted to another.
// -update-fuzz-seeds renumbers them, and writes a body made from the
// schema for each new operation, to be refined by hand.
func checkRequestSeeds(t testing.TB, a *fuzzAPI) {
	t.Helper()
	for i, o := range a.ops {
		file := filepath.Join(requestSeedDir, o.id)
		raw, err := os.ReadFile(file)
		seed, perr := parseRequestSeed(raw)
		switch {
		case err == nil && perr == nil && int(seed.op) == i:
			continue
		case !*updateFuzzSeeds && err != nil:
			t.Errorf("operation %s has no seed %s: run go test ./cmd/coprod -run FuzzRequestBodies -update-fuzz-seeds, then make its body valid", o.id, file)
			continue
		case !*updateFuzzSeeds:
			t.Errorf("seed %s points at operation %d, not %d (%s) (%v): run go test ./cmd/coprod -run FuzzRequestBodies -update-fuzz-seeds", file, seed.op, i, o.id, perr)
			continue
		case err != nil:
			seed = a.schemaSeed(o)
		}
		seed.op = uint16(i)
		if err := os.MkdirAll(requestSeedDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, seed.encode(), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", file)
	}
}

type requestSeed struct {
	op           uint16
	who, version uint8
	body         []byte
}

// encode writes the seed in the corpus format of go test -fuzz.
func (s requestSeed) encode() []byte {
	return fmt.Appendf(nil, "go test fuzz v1\nuint16(%d)\nuint8(%d)\nuint8(%d)\n[]byte(%q)\n", s.op, s.who, s.version, s.body)
}

func parseRequestSeed(raw []byte) (requestSeed, error) {
	lines := strings.SplitN(string(raw), "\n", 5)
	if len(lines) < 5 || lines[0] != "go test fuzz v1" {
		return requestSeed{}, fmt.Errorf("not a seed of FuzzRequestBodies")
	}
	var s requestSeed
	if _, err := fmt.Sscanf(lines[1]+lines[2]+lines[3], "uint16(%d)uint8(%d)uint8(%d)", &s.op, &s.who, &s.version); err != nil {
		return s, err
	}
	lit, ok := strings.CutPrefix(strings.TrimSpace(lines[4]), "[]byte(")
	if lit, ok = strings.CutSuffix(lit, ")"); !ok {
		return s, fmt.Errorf("body is not []byte(…)")
	}
	body, err := strconv.Unquote(lit)
	s.body = []byte(body)
	return s, err
}

// schemaSeed makes a body for o from its schema, as the likeliest caller.
func (a *fuzzAPI) schemaSeed(o bodyOp) requestSeed {
	s := requestSeed{who: callerOfficer}
	switch {
	case strings.HasPrefix(o.path, "/v1/organisations"), strings.HasPrefix(o.path, "/v1/me"):
		s.who = callerOrgAdmin
	case !strings.HasPrefix(o.path, "/v1/tenants/{tenant}/"), regexp.MustCompile(`^/v1/tenants/\{tenant\}/(activate|suspend|resume|offboard|identity-provider|invitations)$`).MatchString(o.path):
		s.who = callerOperator
	}
	for _, p := range o.params {
		if strings.EqualFold(p.Name, "If-Match") {
			s.version = currentVersion
		}
	}
	if o.contentType != "application/json" {
		s.body = []byte("%PDF-1.7 seed")
		return s
	}
	s.body, _ = json.Marshal(exampleOf(a.api.OpenAPI().Components.Schemas, o.schema, "", 0))
	return s
}

// exampleOf makes a value that the schema accepts: every property, the
// first of an enum, ids of the set-up's objects for fields named after them.
func exampleOf(reg huma.Registry, s *huma.Schema, name string, depth int) any {
	if s == nil || depth > 8 {
		return nil
	}
	if s.Ref != "" {
		s = reg.SchemaFromRef(s.Ref)
	}
	switch {
	case len(s.Examples) > 0:
		return s.Examples[0]
	case len(s.Enum) > 0:
		return s.Enum[0]
	case s.Default != nil:
		return s.Default
	}
	switch s.Type {
	case "object":
		m := map[string]any{}
		for k, p := range s.Properties {
			if !p.ReadOnly {
				m[k] = exampleOf(reg, p, k, depth+1)
			}
		}
		return m
	case "array":
		return []any{exampleOf(reg, s.Items, strings.TrimSuffix(name, "s"), depth+1)}
	case "integer", "number":
		if s.Minimum != nil && *s.Minimum > 0 {
			return *s.Minimum
		}
		return 1
	case "boolean":
		return true
	}
	switch s.Format {
	case "date-time":
		return "$future"
	case "date":
		return "$today"
	case "email":
		return "fuzz@example.it"
	case "uri":
		return "https://example.it/atti/1"
	}
	if low := strings.ToLower(name); strings.HasSuffix(name, "Id") || s.Format == "uuid" || name == "into" {
		for _, k := range []string{"organisation", "call", "application", "agreement", "user", "process", "initiative", "pilot"} {
			if strings.Contains(low, k) {
				return "$" + strings.Replace(k, "organisation", "org", 1)
			}
		}
		return "$org"
	}
	v := "Seed " + name
	if s.MinLength != nil && *s.MinLength > len(v) {
		v += strings.Repeat("x", *s.MinLength-len(v))
	}
	if s.MaxLength != nil && *s.MaxLength < len(v) {
		v = v[:*s.MaxLength]
	}
	return v
}

// freshApplication publishes another call and opens a draft application on
// it, for when the current one has its 30 attachments.
func (a *fuzzAPI) freshApplication(t *testing.T) {
	t.Helper()
	post := func(who int, path, body string, hdr ...string) *httptest.ResponseRecorder {
		rec := a.do(who, http.MethodPost, a.subst.Replace(path), "application/json", []byte(a.subst.Replace(body)), hdr...)
		if rec.Code != http.StatusCreated && rec.Code != http.StatusOK {
			t.Fatalf("POST %s: %d %s", path, rec.Code, rec.Body)
		}
		return rec
	}
	var out struct{ ID string }
	rec := post(callerOfficer, "/v1/tenants/milano/calls", seedCall)
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	post(callerOfficer, "/v1/tenants/milano/calls/"+out.ID+"/publish", seedAct, "If-Match", rec.Header().Get("ETag"))
	rec = post(callerOrgAdmin, "/v1/tenants/milano/calls/"+out.ID+"/applications", `{"leadOrganisationId":"$org"}`)
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	a.fixtures["application"] = out.ID
	a.setSubst()
}

// Ways to send an upload in FuzzAttachments.
const (
	uploadRaw       = iota // the file as the body, named by ?name=
	uploadMultipart        // a well-formed multipart body with one file part
	uploadMangled          // the bytes as a multipart body, name as the boundary
	uploadWays
)

// FuzzAttachments uploads made-up files through the real handler into the
// file store (adapters/blobfs): raw, as a multipart part, or as a mangled
// multipart body. Besides no 5xx and problems for refusals, what is
// accepted must have been sniffed as an allowed type and come back on
// download byte for byte, with the size and SHA-256 the upload answered.
func FuzzAttachments(f *testing.F) {
	a := newFuzzAPI(f)
	uploads := 0
	f.Fuzz(func(t *testing.T, way uint8, name string, body []byte) {
		if uploads == 30 {
			a.freshApplication(t)
			uploads = 0
		}
		path := a.subst.Replace("/v1/tenants/milano/applications/$application/attachments")
		content, contentType, req := body, "application/octet-stream", body
		switch way % uploadWays {
		case uploadRaw:
			path += "?name=" + url.QueryEscape(name)
		case uploadMultipart:
			var mp bytes.Buffer
			w := multipart.NewWriter(&mp)
			fw, err := w.CreateFormFile("file", name)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = fw.Write(body)
			_ = w.Close()
			contentType, req = w.FormDataContentType(), mp.Bytes()
		case uploadMangled:
			contentType = mime.FormatMediaType("multipart/form-data", map[string]string{"boundary": name})
			if contentType == "" {
				contentType = "multipart/form-data; boundary=" + name
			}
			content = nil // whatever the parser makes of it
		}
		files, audited := a.stored(t), a.audited(t)
		rec := a.do(callerOrgAdmin, http.MethodPost, path, contentType, req)
		checkAnswer(t, fmt.Sprintf("upload (way %d) %q", way%uploadWays, name), rec, a.errs)
		written := 0
		if rec.Code == http.StatusCreated {
			written = 1
		}
		// A refused upload leaves neither a file nor a record; an accepted one, one of each.
		if f, n := a.stored(t)-files, a.audited(t)-audited; f != written || n != written {
			t.Fatalf("upload answered %d, and left %d files and %d audit records: %s", rec.Code, f, n, rec.Body)
		}
		if rec.Code != http.StatusCreated {
			return
		}
		uploads++
		var got struct {
			ID, Name, ContentType, SHA256 string
			Size                          int64
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if !blob.AllowedType(got.ContentType) {
			t.Fatalf("stored as %q, not an allowed type", got.ContentType)
		}
		if got.Name == "" || strings.ContainsAny(got.Name, "/\\\x00") {
			t.Fatalf("stored under the name %q", got.Name)
		}
		dl := a.do(callerOrgAdmin, http.MethodGet, strings.TrimSuffix(strings.SplitN(path, "?", 2)[0], "/")+"/"+got.ID, "", nil)
		sum := sha256.Sum256(dl.Body.Bytes())
		if dl.Code != http.StatusOK || dl.Header().Get("Content-Type") != got.ContentType || int64(dl.Body.Len()) != got.Size || hex.EncodeToString(sum[:]) != got.SHA256 {
			t.Fatalf("download of %s: %d %q, %d bytes, sha256 %x; upload said %q, %d bytes, %s", got.ID, dl.Code, dl.Header().Get("Content-Type"), dl.Body.Len(), sum, got.ContentType, got.Size, got.SHA256)
		}
		if content != nil && !bytes.Equal(dl.Body.Bytes(), content) {
			t.Fatalf("download differs from the upload")
		}
	})
}
