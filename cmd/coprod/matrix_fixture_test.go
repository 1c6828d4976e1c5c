package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/coprod/coprod/adapters/oidc/devprovider"
	"github.com/coprod/coprod/adapters/postgres/postgrestest"
	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/identity"
	"github.com/coprod/coprod/tenants"
)

// who is a set of principals of the authorization matrix, as a bit mask,
// so that a row of the table names several at once (aOfficer | aAdmin).
type who uint32

// The principals, in the order every operation is probed: those that must
// be refused first, so a refused write that wrongly succeeded shows before
// an authorized one changes the fixture. Tenant A is Milano (Lombardia),
// tenant B is Torino (Piemonte).
const (
	anon       who = 1 << iota // no credentials
	expired                    // Milano's officer, with a token whose exp has passed
	bAdmin                     // Torino's tenant admin (Torino's issuer)
	bOfficer                   // Torino's officer
	bEvaluator                 // Torino's evaluator
	bAuditor                   // Torino's auditor
	bAnalyst                   // Piemonte's regional analyst (platform issuer)
	outsider                   // admin of an organisation party to nothing of Milano's
	member                     // org_member of the party organisation
	party                      // org_admin of the party organisation: lead applicant, agreement party
	rAnalyst                   // Lombardia's regional analyst: Milano's region
	aAuditor                   // Milano's auditor
	aEvaluator                 // Milano's evaluator, on the call's committee
	aOfficer                   // Milano's officer
	aAdmin                     // Milano's tenant admin
	operator                   // platform operator
	nWho       = iota
)

var whoNames = [nWho]string{"anon", "expired", "bAdmin", "bOfficer", "bEvaluator", "bAuditor", "bAnalyst", "outsider",
	"member", "party", "rAnalyst", "aAuditor", "aEvaluator", "aOfficer", "aAdmin", "operator"}

// signedOut are refused by authentication on every non-public route: no
// token, an expired one, or one of another tenant's issuer.
const signedOut = anon | expired | bAdmin | bOfficer | bEvaluator | bAuditor

// bSide are tenant B's principals: their own tenant's ids may reach them.
const bSide = bAdmin | bOfficer | bEvaluator | bAuditor | bAnalyst

func (w who) String() string {
	var out []string
	for i := 0; i < nWho; i++ {
		if w&(1<<i) != 0 {
			out = append(out, whoNames[i])
		}
	}
	return strings.Join(out, "|")
}

// matrixFixture is the whole service with tenants A and B, each with its own
// issuer, the platform's issuer, a token per principal, objects of A of
// every kind the API addresses by id, and a few objects of B whose ids must
// never reach a response about A.
type matrixFixture struct {
	*authBundle
	super  *pgx.Conn // superuser: reads every tenant's rows (audit counts)
	tokens map[who]string
	params map[string]string // path parameter → one of A's objects
	bIDs   []string          // ids of B's objects and B's tenant id
	orgs   struct{ party, outsider string }
	// cOfficer is an officer of Bergamo (C, Lombardia), a third
	// municipality whose practice Milano replicates (see build).
	cOfficer string
}

var matrixUsers = map[string][]devprovider.User{
	"milano": {
		{Subject: "a-admin", Email: "admin@comune.milano.it", Name: "A admin", Groups: []string{"tenant_admin"}},
		{Subject: "a-officer", Email: "rup@comune.milano.it", Name: "A officer", Groups: []string{"officer"}},
		{Subject: "a-evaluator", Email: "eval@comune.milano.it", Name: "A evaluator", Groups: []string{"evaluator"}},
		{Subject: "a-auditor", Email: "audit@comune.milano.it", Name: "A auditor", Groups: []string{"auditor"}},
	},
	"torino": {
		{Subject: "b-admin", Email: "admin@comune.torino.it", Name: "B admin", Groups: []string{"tenant_admin"}},
		{Subject: "b-officer", Email: "rup@comune.torino.it", Name: "B officer", Groups: []string{"officer"}},
		{Subject: "b-evaluator", Email: "eval@comune.torino.it", Name: "B evaluator", Groups: []string{"evaluator"}},
		{Subject: "b-auditor", Email: "audit@comune.torino.it", Name: "B auditor", Groups: []string{"auditor"}},
	},
	"bergamo": {
		{Subject: "c-officer", Email: "rup@comune.bergamo.it", Name: "C officer", Groups: []string{"officer"}},
	},
	"platform": {
		{Subject: "operator", Email: "op@coprod.example", Name: "Operator", Groups: []string{"platform_operator"}},
		{Subject: "analyst-r", Email: "analista@regione.lombardia.it", Name: "Lombardia analyst"},
		{Subject: "analyst-b", Email: "analista@regione.piemonte.it", Name: "Piemonte analyst"},
		{Subject: "party", Email: "chiara@coop.example", Name: "Chiara"},
		{Subject: "member", Email: "marta@coop.example", Name: "Marta"},
		{Subject: "outsider", Email: "otto@altra.example", Name: "Otto"},
	},
}

var matrixTokenOf = map[who][2]string{
	aAdmin: {"milano", "a-admin"}, aOfficer: {"milano", "a-officer"}, aEvaluator: {"milano", "a-evaluator"}, aAuditor: {"milano", "a-auditor"},
	bAdmin: {"torino", "b-admin"}, bOfficer: {"torino", "b-officer"}, bEvaluator: {"torino", "b-evaluator"}, bAuditor: {"torino", "b-auditor"},
	operator: {"platform", "operator"}, rAnalyst: {"platform", "analyst-r"}, bAnalyst: {"platform", "analyst-b"},
	party: {"platform", "party"}, member: {"platform", "member"}, outsider: {"platform", "outsider"},
}

// setupMatrix wires the service like setupAuth, but with coprod dev's
// in-process issuers (real signed tokens, real discovery and key sets),
// which mint a token per user without a browser and can mint expired ones.
func setupMatrix(t *testing.T) *matrixFixture {
	t.Helper()
	db := postgrestest.New(t)
	var mu sync.Mutex
	var handler http.Handler = http.NotFoundHandler()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		h := handler
		mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	srv.StartTLS()
	t.Cleanup(srv.Close)
	var realms []devprovider.Realm
	for _, name := range []string{"milano", "torino", "bergamo", "platform"} {
		realms = append(realms, devprovider.Realm{Name: name, Users: matrixUsers[name]})
	}
	idp, err := devprovider.Start(realms, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(idp.Stop)
	cfg, _, err := loadConfig("test", env("COPROD_DATABASE_URL", db.AppURL, "COPROD_PUBLIC_URL", srv.URL,
		"COPROD_SECRETS_KEY", strings.Repeat("ab", 32), "COPROD_BLOB_DIR", t.TempDir()), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	pc, _ := idp.Client("platform")
	cfg.Platform = PlatformOIDC{Issuer: pc.Issuer, ClientID: pc.ClientID, ClientSecret: pc.ClientSecret, Audience: "coprod-platform", OperatorGroup: "platform_operator"}
	svc, err := wire(cfg, db.App, slog.New(slog.NewJSONHandler(io.Discard, nil)), true)
	if err != nil {
		t.Fatal(err)
	}
	remember(t, svc, db.App)
	mu.Lock()
	handler = svc.handler
	mu.Unlock()
	super, err := pgx.Connect(t.Context(), db.SuperURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { super.Close(context.Background()) })
	f := &matrixFixture{authBundle: &authBundle{srv: srv, base: srv.URL, db: db, svc: svc}, super: super,
		tokens: map[who]string{}, params: map[string]string{}}

	op := domain.WithPrincipal(t.Context(), domain.Principal{Subject: "test-op", Roles: []domain.Role{domain.RolePlatformOperator}})
	roles := map[string][]domain.Role{}
	for _, r := range identity.TenantRoles {
		roles[string(r)] = []domain.Role{r}
	}
	regionOf := map[string]string{}
	for _, tn := range []struct {
		slug, name   string
		kind         tenants.Kind
		code, region string
	}{
		{"regione-lombardia", "Lombardia", tenants.KindRegion, "03", ""},
		{"regione-piemonte", "Piemonte", tenants.KindRegion, "01", ""},
		{"milano", "Milano", tenants.KindMunicipality, "015146", "regione-lombardia"},
		{"torino", "Torino", tenants.KindMunicipality, "001272", "regione-piemonte"},
		{"bergamo", "Bergamo", tenants.KindMunicipality, "016024", "regione-lombardia"},
	} {
		x, err := svc.tenants.Create(op, tenants.CreateInput{Slug: tn.slug, Name: tn.name, Kind: tn.kind, ISTATCode: tn.code, Region: tn.region})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.tenants.ChangeStatus(op, tn.slug, "activate", "", 0); err != nil {
			t.Fatal(err)
		}
		regionOf[tn.slug] = x.ID.String()
		if c, ok := idp.Client(tn.slug); ok {
			_, err = svc.ids.SaveProvider(op, x.ID, identity.Provider{Issuer: c.Issuer, ClientID: c.ClientID, ClientSecret: c.ClientSecret,
				Audience: "coprod-" + tn.slug, Scopes: []string{"openid", "email", "profile", "groups"},
				Claims: identity.ClaimMapping{GroupRoles: roles}}, 0)
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	for region, subject := range map[string]string{"regione-lombardia": "analyst-r", "regione-piemonte": "analyst-b"} {
		if err := svc.ids.Grant(op, uuid.MustParse(regionOf[region]), pc.Issuer, subject, domain.RoleRegionalAnalyst); err != nil {
			t.Fatal(err)
		}
	}
	for w, ru := range matrixTokenOf {
		if f.tokens[w], err = idp.Token(ru[0], ru[1], "coprod-"+ru[0], time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if f.tokens[expired], err = idp.Token("milano", "a-officer", "coprod-milano", -time.Hour); err != nil {
		t.Fatal(err)
	}
	if f.cOfficer, err = idp.Token("bergamo", "c-officer", "coprod-bergamo", time.Hour); err != nil {
		t.Fatal(err)
	}
	f.params["tenant"], f.params["region"] = "milano", "regione-lombardia"
	f.bIDs = append(f.bIDs, regionOf["torino"])
	f.build(t)
	return f
}

// must sends a request of the fixture and fails unless it answers status.
func (f *matrixFixture) must(t *testing.T, status int, who who, method, path, body string, hdr ...string) resp {
	t.Helper()
	r := f.call(t, method, path, f.tokens[who], body, hdr...)
	if r.status != status {
		t.Fatalf("fixture: %s %s as %s: %d %v, want %d", method, path, who, r.status, r.body, status)
	}
	return r
}

func str(v any) string { s, _ := v.(string); return s }

// build creates A's objects through the API (each request one use case),
// then B's objects whose ids the matrix looks for in every response.
func (f *matrixFixture) build(t *testing.T) {
	t.Helper()
	users := map[who]string{}
	for w, ru := range matrixTokenOf {
		path := "/v1/me"
		if ru[0] != "platform" {
			path = "/v1/tenants/" + ru[0] + "/me"
		}
		users[w] = str(f.must(t, 200, w, "GET", path, "").body["userId"])
	}
	f.params["user"] = users[aEvaluator]
	f.orgs.party = str(f.must(t, 201, party, "POST", "/v1/organisations", `{"fiscalCode":"04123456784","legalName":"Coop Parte","legalForm":"social_cooperative"}`).body["id"])
	f.orgs.outsider = str(f.must(t, 201, outsider, "POST", "/v1/organisations", `{"fiscalCode":"05234567898","legalName":"Altra APS","legalForm":"association"}`).body["id"])
	f.params["organisation"] = f.orgs.party
	f.must(t, 200, party, "PUT", "/v1/organisations/"+f.orgs.party+"/members", `{"email":"marta@coop.example","role":"org_member"}`)
	f.params["member"] = users[member]

	// A call, published, with a question, an application with an attachment, and its committee.
	now := time.Now().UTC()
	draft := `{"title":"Anziani soli","summary":"Servizi di prossimità","policyArea":"elderly","objectives":["Ridurre l'isolamento"],
		"budget":{"publicCents":50000000,"cofundingExpectedCents":0,"maxPerProjectCents":20000000},"durationMonths":24,
		"criteria":[{"code":"quality","name":"Qualità","weight":100,"maxScore":10}],
		"passThreshold":60,"questionsDeadline":"` + now.Add(5*24*time.Hour).Format(time.RFC3339) + `","submissionDeadline":"` + now.Add(25*24*time.Hour).Format(time.RFC3339) + `"}`
	act := `{"act":{"kind":"call","number":"DD 12/2026","date":"` + now.Format(time.DateOnly) + `","url":"https://comune.milano.it/atti/12"}}`
	r := f.must(t, 201, aOfficer, "POST", "/v1/tenants/milano/calls", draft)
	call := str(r.body["id"])
	f.params["call"] = call
	r = f.must(t, 200, aOfficer, "POST", "/v1/tenants/milano/calls/"+call+"/publish", act, "If-Match", r.header.Get("ETag"))
	f.params["question"] = str(f.must(t, 201, party, "POST", "/v1/tenants/milano/calls/"+call+"/questions", `{"organisationId":"`+f.orgs.party+`","text":"Sono ammesse le ATS?"}`).body["id"])
	r = f.must(t, 201, party, "POST", "/v1/tenants/milano/calls/"+call+"/applications", `{"leadOrganisationId":"`+f.orgs.party+`"}`)
	app := str(r.body["id"])
	f.params["application"] = app
	f.must(t, 200, party, "PUT", "/v1/tenants/milano/applications/"+app, `{"title":"Vicini di casa","sections":[{"key":"problem","title":"Problema","body":"Isolamento"}],
		"budget":[{"description":"Educatori","category":"staff","amountCents":10000000,"funding":"public"}],
		"declarations":{"noExclusionGrounds":true,"truthfulInformation":true,"privacyNotice":true}}`, "If-Match", r.header.Get("ETag"))
	req, _ := http.NewRequestWithContext(t.Context(), "POST", f.base+"/v1/tenants/milano/applications/"+app+"/attachments?name=progetto.pdf", strings.NewReader("%PDF-1.7 test"))
	req.Header.Set("Authorization", "Bearer "+f.tokens[party])
	req.Header.Set("Content-Type", "application/octet-stream")
	up := f.send(t, req)
	if up.status != 201 {
		t.Fatalf("fixture: upload: %d %v", up.status, up.body)
	}
	f.params["file"] = str(up.body["id"])
	f.must(t, 200, aOfficer, "PUT", "/v1/tenants/milano/calls/"+call+"/committee/"+users[aEvaluator], `{"role":"member"}`)
	// An amendment is a notice to the applicant; delivering it (the job's use case) fills the party's inbox.
	f.must(t, 200, aOfficer, "POST", "/v1/tenants/milano/calls/"+call+"/amendments", `{"reason":"Proroga","summary":"Servizi di prossimità, proroga","act":{"kind":"amendment","number":"DD 13/2026","date":"`+now.Format(time.DateOnly)+`","url":"https://comune.milano.it/atti/13"}}`,
		"If-Match", f.call(t, "GET", "/v1/tenants/milano/calls/"+call, f.tokens[aOfficer], "").header.Get("ETag"))
	f.deliverNotices(t)
	f.params["notification"] = f.one(t, `SELECT id::text FROM user_notifications WHERE user_id = $1 LIMIT 1`, users[party])

	// A second call taken through evaluation and ranking to its co-design
	// table. Its deadlines are moved into the past in SQL: the one step a
	// test cannot wait for; everything else goes through the API.
	r = f.must(t, 201, aOfficer, "POST", "/v1/tenants/milano/calls", draft)
	call2 := str(r.body["id"])
	c2 := "/v1/tenants/milano/calls/" + call2
	f.params["call2"] = call2
	f.must(t, 200, aOfficer, "POST", c2+"/publish", act, "If-Match", r.header.Get("ETag"))
	r = f.must(t, 201, party, "POST", c2+"/applications", `{"leadOrganisationId":"`+f.orgs.party+`"}`)
	app2 := "/v1/tenants/milano/applications/" + str(r.body["id"])
	f.params["application2"] = str(r.body["id"])
	f.must(t, 200, party, "PUT", app2, `{"title":"Vicini di casa","sections":[{"key":"problem","title":"Problema","body":"Isolamento"}],
		"budget":[{"description":"Educatori","category":"staff","amountCents":10000000,"funding":"public"}],
		"declarations":{"noExclusionGrounds":true,"truthfulInformation":true,"privacyNotice":true}}`, "If-Match", r.header.Get("ETag"))
	f.must(t, 200, party, "POST", app2+"/submit", "", "Idempotency-Key", "matrix-fixture")
	f.must(t, 200, aOfficer, "PUT", c2+"/committee/"+users[aEvaluator], `{"role":"member"}`)
	for _, q := range []string{`UPDATE calls SET questions_deadline = now() - interval '2 days', submission_deadline = now() - interval '1 day' WHERE id = $1`,
		`UPDATE public_calls SET submission_deadline = now() - interval '1 day' WHERE call_id = $1`} {
		if _, err := f.super.Exec(t.Context(), q, call2); err != nil {
			t.Fatal(err)
		}
	}
	etag := func(path ...string) string {
		return f.call(t, "GET", append(path, c2)[0], f.tokens[aOfficer], "").header.Get("ETag")
	}
	f.must(t, 200, aOfficer, "POST", c2+"/close", `{"act":`+matrixAct("decision")+`}`, "If-Match", etag())
	f.must(t, 200, aOfficer, "POST", app2+"/admissibility", `{"status":"admissible"}`, "If-Match", etag(app2))
	f.must(t, 200, aOfficer, "POST", c2+"/start-evaluation", `{"act":`+matrixAct("committee")+`}`, "If-Match", etag())
	f.must(t, 200, aEvaluator, "PUT", app2+"/declaration", `{"declaration":"no_conflict"}`)
	f.must(t, 200, aEvaluator, "PUT", app2+"/scores", `{"scores":[{"criterion":"quality","value":8,"rationale":"Buona rete"}],"submit":true}`)
	f.must(t, 200, aOfficer, "POST", c2+"/ranking", `{"act":`+matrixAct("ranking")+`}`, "If-Match", etag())
	f.must(t, 201, aOfficer, "POST", c2+"/table", "")
	f.must(t, 201, aOfficer, "POST", c2+"/table/sessions", `{"date":"`+now.Format(time.RFC3339)+`","attendees":[{"name":"Anna","role":"RUP"}],"minutes":"Avvio"}`)
	f.params["version"] = str(f.must(t, 201, party, "POST", c2+"/table/versions", `{"content":"Progetto v1"}`).body["id"])

	// An agreement with the party, signed and active, a deliverable, a pilot, indicators, measurements, a payment.
	agreement := matrixAgreement(f.orgs.party)
	r = f.must(t, 201, aOfficer, "POST", "/v1/tenants/milano/agreements", agreement)
	ag := str(r.body["id"])
	f.params["agreement"] = ag
	ap := "/v1/tenants/milano/agreements/" + ag
	r = f.must(t, 200, aOfficer, "POST", ap+"/signatures", `{}`, "If-Match", r.header.Get("ETag"))
	r = f.must(t, 200, party, "POST", ap+"/signatures", `{"organisationId":"`+f.orgs.party+`"}`, "If-Match", r.header.Get("ETag"))
	f.must(t, 200, aOfficer, "POST", ap+"/activate", "", "If-Match", r.header.Get("ETag"))
	f.params["deliverable"] = str(f.must(t, 201, aOfficer, "POST", ap+"/deliverables", `{"title":"Relazione","due":"2026-06-30T00:00:00Z"}`).body["id"])
	f.params["pilot"] = str(f.must(t, 201, aOfficer, "POST", ap+"/pilots", matrixPilot).body["id"])
	f.params["action"] = "start"
	f.must(t, 200, aOfficer, "POST", "/v1/tenants/milano/indicators/seed", "")
	as := str(f.must(t, 201, aOfficer, "POST", ap+"/indicators", matrixAssignment).body["id"])
	f.params["assignment"] = as
	f.must(t, 201, aOfficer, "POST", "/v1/tenants/milano/indicator-assignments/"+as+"/payment-rules", matrixRule)
	m := str(f.must(t, 201, party, "POST", "/v1/tenants/milano/indicator-assignments/"+as+"/measurements", `{"period":"2026-Q2","value":60,"evidence":"PAI"}`).body["id"])
	pays := f.must(t, 200, aOfficer, "POST", "/v1/tenants/milano/measurements/"+m+"/decision", `{"status":"verified"}`).body["payments"].([]any)
	f.params["payment"] = str(pays[0].(map[string]any)["id"])
	f.params["measurement"] = str(f.must(t, 201, party, "POST", "/v1/tenants/milano/indicator-assignments/"+as+"/measurements", `{"period":"2026-Q3","value":70,"evidence":"PAI"}`).body["id"])

	// The practice catalogue. Two more pilots of the agreement are taken to
	// their decision (the first pilot stays planned for the pilot rows): one
	// is published as Milano's practice, {practice}; the other is left for
	// publish-practice to publish.
	decided := func(token, tenant, agreementPath, assignment string) string {
		t.Helper()
		r := f.call(t, "POST", agreementPath+"/pilots", token, matrixPilot)
		if r.status != 201 {
			t.Fatalf("fixture: pilot in %s: %d %v", tenant, r.status, r.body)
		}
		id := str(r.body["id"])
		pp := "/v1/tenants/" + tenant + "/pilots/" + id
		if assignment != "" {
			if r := f.call(t, "POST", agreementPath+"/indicators", token, strings.Replace(assignment, `{`, `{"pilotId":"`+id+`",`, 1)); r.status != 201 {
				t.Fatalf("fixture: indicator of the pilot in %s: %d %v", tenant, r.status, r.body)
			}
		}
		for _, step := range []struct{ action, body string }{{"start", ""}, {"evaluate", ""}, {"decide", `{"decision":"scale","note":"Funziona"}`}} {
			tag := f.call(t, "GET", pp, token, "").header.Get("ETag")
			if r := f.call(t, "POST", pp+"/"+step.action, token, step.body, "If-Match", tag); r.status != 200 {
				t.Fatalf("fixture: pilot %s in %s: %d %v", step.action, tenant, r.status, r.body)
			}
		}
		return id
	}
	f.params["pilot2"] = decided(f.tokens[aOfficer], "milano", ap, "")
	f.params["practice"] = str(f.must(t, 201, aOfficer, "POST", "/v1/tenants/milano/practices", matrixPractice(decided(f.tokens[aOfficer], "milano", ap, ""))).body["id"])

	// A replication belongs to the replicating tenant, so {replication} is
	// Milano replicating a practice of Bergamo (C, a third municipality):
	// not of Torino, whose ids must never reach an answer about Milano while
	// a replication names its source municipality and practice. C's agreement
	// is with the party organisation; its pilot has an indicator, so the
	// template has one for apply-practice-template to assign, to an agreement
	// of Milano that follows the replicated call.
	c := func(status int, method, path, body string, hdr ...string) resp {
		t.Helper()
		r := f.call(t, method, path, f.cOfficer, body, hdr...)
		if r.status != status {
			t.Fatalf("fixture: %s %s as Bergamo's officer: %d %v, want %d", method, path, r.status, r.body, status)
		}
		return r
	}
	c(200, "POST", "/v1/tenants/bergamo/indicators/seed", "")
	r = c(201, "POST", "/v1/tenants/bergamo/agreements", matrixAgreement(f.orgs.party))
	cp := "/v1/tenants/bergamo/agreements/" + str(r.body["id"])
	r = c(200, "POST", cp+"/signatures", `{}`, "If-Match", r.header.Get("ETag"))
	r = f.must(t, 200, party, "POST", cp+"/signatures", `{"organisationId":"`+f.orgs.party+`"}`, "If-Match", r.header.Get("ETag"))
	c(200, "POST", cp+"/activate", "", "If-Match", r.header.Get("ETag"))
	f.params["cPractice"] = str(c(201, "POST", "/v1/tenants/bergamo/practices", matrixPractice(decided(f.cOfficer, "bergamo", cp, matrixAssignment))).body["id"])
	r = f.must(t, 201, aOfficer, "POST", "/v1/tenants/milano/practice-replications", `{"practiceId":"`+f.params["cPractice"]+`"}`)
	f.params["replication"] = str(r.body["replication"].(map[string]any)["id"])
	f.params["replicaAgreement"] = str(f.must(t, 201, aOfficer, "POST", "/v1/tenants/milano/agreements",
		strings.Replace(matrixAgreement(f.orgs.party), `{`, `{"callId":"`+str(r.body["call"].(map[string]any)["id"])+`",`, 1)).body["id"])

	// Co-programming, open, with the party's contribution; an initiative of the party.
	r = f.must(t, 201, aOfficer, "POST", "/v1/tenants/milano/co-programming", `{"title":"Anziani soli","policyArea":"elderly","territory":["015146"],"periodFrom":"2026-01-01","periodTo":"2026-12-31"}`)
	f.params["process"] = str(r.body["id"])
	f.must(t, 200, aOfficer, "POST", "/v1/tenants/milano/co-programming/"+f.params["process"]+"/open", "", "If-Match", r.header.Get("ETag"))
	f.must(t, 201, party, "POST", "/v1/tenants/milano/co-programming/"+f.params["process"]+"/contributions", `{"organisationId":"`+f.orgs.party+`","needs":"Compagnia serale"}`)
	f.params["initiative"] = str(f.must(t, 201, party, "POST", "/v1/tenants/milano/initiatives", `{"organisationId":"`+f.orgs.party+`","title":"Orti sociali","problem":"Isolamento","targetGroup":"Over 75","approach":"Orti condivisi"}`).body["id"])
	f.params["initiative2"] = str(f.must(t, 201, party, "POST", "/v1/tenants/milano/initiatives", `{"organisationId":"`+f.orgs.party+`","title":"Orti condivisi","problem":"Isolamento","targetGroup":"Over 75","approach":"Orti"}`).body["id"])

	// B's objects: a published call, a co-programming process, an agreement with the outsider's organisation.
	r = f.must(t, 201, bOfficer, "POST", "/v1/tenants/torino/calls", draft)
	bCall := str(r.body["id"])
	f.must(t, 200, bOfficer, "POST", "/v1/tenants/torino/calls/"+bCall+"/publish", act, "If-Match", r.header.Get("ETag"))
	bProc := str(f.must(t, 201, bOfficer, "POST", "/v1/tenants/torino/co-programming", `{"title":"Disabilità","policyArea":"disability","territory":["001272"],"periodFrom":"2026-01-01","periodTo":"2026-12-31"}`).body["id"])
	bAg := str(f.must(t, 201, bOfficer, "POST", "/v1/tenants/torino/agreements", matrixAgreement(f.orgs.outsider)).body["id"])
	f.bIDs = append(f.bIDs, bCall, bProc, bAg)
}

// send does a prepared request and decodes a JSON object answer.
func (f *matrixFixture) send(t *testing.T, req *http.Request) resp {
	t.Helper()
	res, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	r := resp{status: res.StatusCode, header: res.Header}
	_ = json.NewDecoder(res.Body).Decode(&r.body)
	return r
}

// deliverNotices runs the notice job's use case for every pending notice,
// as the worker would.
func (f *matrixFixture) deliverNotices(t *testing.T) {
	t.Helper()
	rows, err := f.super.Query(t.Context(), `SELECT tenant_id, id FROM organisation_notices`)
	if err != nil {
		t.Fatal(err)
	}
	var ids [][2]uuid.UUID
	for rows.Next() {
		var x [2]uuid.UUID
		if err := rows.Scan(&x[0], &x[1]); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, x)
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	for _, x := range ids {
		if _, err := f.svc.notify.DeliverNotice(domain.WithPrincipal(t.Context(), domain.SystemPrincipal(x[0])), x[1]); err != nil {
			t.Fatal(err)
		}
	}
}

func (f *matrixFixture) one(t *testing.T, sql string, args ...any) string {
	t.Helper()
	var s string
	if err := f.super.QueryRow(t.Context(), sql, args...).Scan(&s); err != nil {
		t.Fatalf("fixture: %s: %v", sql, err)
	}
	return s
}

// Bodies of the fixture, reused by the probes where a generated one would
// stop at the domain's rules.
const (
	matrixPilot      = `{"title":"Quartiere Corvetto","hypothesis":"La compagnia serale riduce gli accessi al PS","cohortSize":30,"start":"2026-02-01T00:00:00Z","end":"2026-12-31T00:00:00Z"}`
	matrixAssignment = `{"indicator":"elderly_alone_home_care","weight":100,"baseline":{"value":40,"date":"2025-12-31T00:00:00Z","source":"SIUSS"},"targets":[{"period":"2026-Q4","value":100}]}`
	matrixRule       = `{"trigger":"per_unit","direction":"increase","baseline":40,"unitPriceCents":5000,"capCents":1000000}`
)

func matrixAgreement(org string) string {
	return `{"title":"Convenzione anziani soli","objectives":["Ridurre l'isolamento"],"parties":[{"organisationId":"` + org + `","role":"lead","budgetShareCents":30000000}],
		"start":"2026-01-01T00:00:00Z","end":"2028-12-31T00:00:00Z","paymentMode":"mixed",
		"budget":{"publicCents":30000000,"outcomeCents":1000000,"cofundingCashCents":0,"cofundingInKindCents":500000},
		"schedule":[{"label":"anticipo","percent":30},{"label":"saldo","percent":70}]}`
}

func matrixPractice(pilot string) string {
	return `{"pilotId":"` + pilot + `","title":"Compagnia serale","problem":"Anziani soli","approach":"Visite serali","costCents":1200000,"policyArea":"elderly"}`
}

func matrixAct(kind string) string {
	return `{"kind":"` + kind + `","number":"DD 99/2026","date":"` + time.Now().UTC().Format(time.DateOnly) + `","url":"https://comune.milano.it/atti/99"}`
}
