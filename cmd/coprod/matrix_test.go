package main

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
)

// row is the expected answer of one operation to every principal (ADR 0020):
// def for everyone not named; ex names principals (a union of who) with
// their statuses. Without open, the signed-out principals (no token, an
// expired one, tenant B's issuer) get 401 unless ex names them. A set of
// statuses means the exact one depends on the order of the probes (an
// authorized write succeeds once, then finds the object changed: 409).
type row struct {
	op    string // operation id
	def   []int
	ex    ex
	open  bool              // public: answers without authentication
	cross bool              // platform or national scope: lists every tenant by design, not scanned for B's ids
	last  int               // writes run in this order (0 first): destructive ones last
	p     map[string]string // path parameters other than the defaults (a fixture key or a literal)
}

type ex map[who][]int

func s(codes ...int) []int { return codes }

// want is the set of statuses expected of op for w.
func (r row) want(w who) []int {
	for set, codes := range r.ex {
		if set&w != 0 {
			return codes
		}
	}
	if !r.open && w&signedOut != 0 {
		return s(401)
	}
	return r.def
}

// matrixRows declare, for every operation of the OpenAPI document, what each
// principal gets on tenant A's objects. One line per operation, in a slice
// so that gofmt aligns nothing and a new line touches no other: an
// operation added to the API without its line fails TestAuthorizationMatrix.
var matrixRows = []row{
	{op: "accept-initiative", def: s(403), ex: ex{aOfficer | aAdmin: s(409)}},
	{op: "activate-agreement", def: s(404), ex: ex{member | party | aAuditor: s(403), aOfficer | aAdmin: s(409)}},
	{op: "activate-tenant", def: s(403), ex: ex{operator: s(409)}, last: 90},
	{op: "add-deliverable", def: s(403), ex: ex{aOfficer | aAdmin: s(201)}},
	{op: "add-payment-rule", def: s(403), ex: ex{aOfficer | aAdmin: s(201)}},
	{op: "add-project-version", def: s(404), ex: ex{aAuditor: s(403), member | party | aOfficer | aAdmin: s(201)}, p: ranked},
	{op: "agreement-progress", def: s(200), ex: ex{bAnalyst | outsider | rAnalyst | operator: s(404)}},
	{op: "amend-agreement", def: s(404), ex: ex{member | party | aAuditor: s(403), aOfficer | aAdmin: s(200, 422)}},
	{op: "amend-call", def: s(403), ex: ex{aOfficer | aAdmin: s(200, 422)}},
	{op: "answer-question", def: s(403), ex: ex{aOfficer | aAdmin: s(200)}},
	{op: "apply-practice-template", def: s(403), ex: ex{aOfficer | aAdmin: s(201, 409)}},
	{op: "appoint-committee-member", def: s(403), ex: ex{aOfficer | aAdmin: s(200)}},
	{op: "approve-project", def: s(403), ex: ex{aOfficer | aAdmin: s(200, 409)}, p: ranked, last: 40},
	{op: "ask-question", def: s(403), ex: ex{member | party: s(201)}},
	{op: "assign-indicator", def: s(403), ex: ex{aOfficer | aAdmin: s(201, 409)}},
	{op: "cancel-call", def: s(403), ex: ex{aOfficer | aAdmin: s(200, 409)}, last: 50},
	{op: "cancel-coprogramming", def: s(403), ex: ex{aOfficer | aAdmin: s(409)}, last: 50},
	{op: "change-pilot", def: s(403), ex: ex{aOfficer | aAdmin: s(200, 409)}},
	{op: "check-eligibility", def: s(403), ex: ex{aAuditor | aOfficer | aAdmin: s(200)}},
	{op: "close-agreement", def: s(404), ex: ex{member | party | aAuditor: s(403), aOfficer | aAdmin: s(409)}, last: 49},
	{op: "close-call", def: s(403), ex: ex{aOfficer | aAdmin: s(409)}},
	{op: "close-coprogramming", def: s(403), ex: ex{aOfficer | aAdmin: s(200, 409)}},
	{op: "contribute-coprogramming", def: s(403), ex: ex{member | party: s(409)}},
	{op: "convene-table", def: s(403), ex: ex{aOfficer | aAdmin: s(409)}, p: ranked},
	{op: "correct-measurement", def: s(403), ex: ex{bAnalyst | outsider | rAnalyst | operator: s(404), member | party: s(409)}},
	{op: "create-agreement", def: s(403), ex: ex{aOfficer | aAdmin: s(201)}},
	{op: "create-application", def: s(403), ex: ex{member | party: s(201)}},
	{op: "create-call", def: s(403), ex: ex{aOfficer | aAdmin: s(201)}},
	{op: "create-call-from-coprogramming", def: s(403), ex: ex{aOfficer | aAdmin: s(409)}},
	{op: "create-coprogramming", def: s(403), ex: ex{aOfficer | aAdmin: s(201)}},
	{op: "create-invitation", def: s(403), ex: ex{aAdmin | operator: s(201, 409)}},
	{op: "create-pilot", def: s(403), ex: ex{aOfficer | aAdmin: s(201)}},
	{op: "create-tenant", def: s(403), ex: ex{operator: s(201), aStaff: s(401)}},
	{op: "decide-admissibility", def: s(403), ex: ex{aOfficer | aAdmin: s(409)}},
	{op: "decide-measurement", def: s(403), ex: ex{bAnalyst | outsider | rAnalyst | operator: s(404), aOfficer | aAdmin: s(412)}},
	{op: "declare-conflict", def: s(403), ex: ex{aEvaluator: s(409)}, p: ranked},
	{op: "decline-initiative", def: s(403), ex: ex{aOfficer | aAdmin: s(409)}},
	{op: "define-indicator", def: s(403), ex: ex{aOfficer | aAdmin: s(422)}},
	{op: "delete-organisation-member", def: s(401), ex: ex{party: s(204), bAnalyst | outsider | member | rAnalyst: s(403), operator: s(404)}, last: 60, p: map[string]string{"user": "member"}},
	{op: "download-attachment", def: s(200), ex: ex{bAnalyst | outsider | rAnalyst | aEvaluator | operator: s(404)}},
	{op: "get-360giving", def: s(200), ex: ex{badToken: s(401)}, open: true},
	{op: "get-360giving-national", def: s(200), ex: ex{badToken | aStaff: s(401)}, open: true, cross: true},
	{op: "get-agreement", def: s(200), ex: ex{bAnalyst | outsider | rAnalyst | aEvaluator | operator: s(404)}},
	{op: "get-application", def: s(200), ex: ex{bAnalyst | outsider | rAnalyst | aEvaluator | operator: s(404)}},
	{op: "get-call", def: s(200)},
	{op: "get-coprogramming", def: s(200)},
	{op: "get-healthz", def: s(200), ex: ex{badToken | aStaff: s(401)}, open: true},
	{op: "get-identity-provider", def: s(403), ex: ex{aAdmin | operator: s(200)}},
	{op: "get-initiative", def: s(200), ex: ex{bAnalyst | outsider | rAnalyst | aEvaluator | operator: s(404)}},
	{op: "get-me", def: s(200), ex: ex{aStaff: s(401)}},
	{op: "get-ocds", def: s(200), ex: ex{badToken: s(401)}, open: true},
	{op: "get-ocds-national", def: s(200), ex: ex{badToken | aStaff: s(401)}, open: true, cross: true},
	{op: "get-organisation", def: s(200), ex: ex{badToken | aStaff: s(401)}, open: true},
	{op: "get-pilot", def: s(200), ex: ex{bAnalyst | outsider | rAnalyst | aEvaluator | operator: s(404)}},
	{op: "get-practice", def: s(403), ex: ex{aStaff: s(200)}},
	{op: "get-practice-replication", def: s(403), ex: ex{aStaff: s(200)}},
	{op: "get-public-call", def: s(200), ex: ex{badToken | aStaff: s(401)}, open: true},
	{op: "get-public-network", def: s(200), ex: ex{badToken | aStaff: s(401)}, open: true},
	{op: "get-public-network-page", def: s(200), ex: ex{badToken | aStaff: s(401)}, open: true},
	{op: "get-public-practice", def: s(200), ex: ex{badToken | aStaff: s(401)}, open: true},
	{op: "get-ranking", def: s(403), ex: ex{aOfficer | aAdmin: s(200)}, p: ranked},
	{op: "get-readyz", def: s(200), ex: ex{badToken | aStaff: s(401)}, open: true},
	{op: "get-region-network", def: s(401), ex: ex{rAnalyst | operator: s(200), bAnalyst | outsider | member | party: s(403)}, p: atRegion},
	{op: "get-region-network-page", def: s(401), ex: ex{rAnalyst | operator: s(200), bAnalyst | outsider | member | party: s(403)}, p: atRegion},
	{op: "get-region-report", def: s(401), ex: ex{rAnalyst | operator: s(200), bAnalyst | outsider | member | party: s(403)}, p: atRegion},
	{op: "get-region-report-csv", def: s(401), ex: ex{rAnalyst | operator: s(200), bAnalyst | outsider | member | party: s(403)}, p: atRegion},
	{op: "get-region-report-page", def: s(401), ex: ex{rAnalyst | operator: s(200), bAnalyst | outsider | member | party: s(403)}, p: atRegion},
	{op: "get-table", def: s(404), ex: ex{member | party | aAuditor | aOfficer | aAdmin: s(200)}, p: ranked},
	{op: "get-tenant", def: s(403), ex: ex{operator: s(200)}},
	{op: "get-tenant-me", def: s(200)},
	{op: "get-tenant-settings", def: s(403), ex: ex{aOfficer | aAdmin | operator: s(200)}},
	{op: "integrate-application", def: s(404), ex: ex{aAuditor | aOfficer | aAdmin: s(403), member | party: s(409)}},
	{op: "list-agreements", def: s(200), ex: ex{bAnalyst | rAnalyst | aEvaluator | operator: s(403)}},
	{op: "list-applications", def: s(200), ex: ex{bAnalyst | rAnalyst | aEvaluator | operator: s(403)}},
	{op: "list-audit-events", def: s(403), ex: ex{aAuditor | aOfficer | aAdmin | operator: s(200)}},
	{op: "list-calls", def: s(403), ex: ex{aStaff: s(200)}},
	{op: "list-coprogramming", def: s(200)},
	{op: "list-coprogramming-contributions", def: s(200)},
	{op: "list-deliverables", def: s(200), ex: ex{bAnalyst | outsider | rAnalyst | aEvaluator | operator: s(404)}},
	{op: "list-indicators", def: s(200), ex: ex{bAnalyst | rAnalyst: s(403)}},
	{op: "list-initiatives", def: s(200), ex: ex{bAnalyst | rAnalyst | aEvaluator | operator: s(403)}},
	{op: "list-measurements", def: s(200), ex: ex{bAnalyst | outsider | rAnalyst | operator: s(404)}},
	{op: "list-my-notifications", def: s(200), ex: ex{aStaff: s(401)}},
	{op: "list-organisation-members", def: s(401), ex: ex{member | party | operator: s(200), bAnalyst | outsider | rAnalyst: s(403)}},
	{op: "list-organisation-notices", def: s(401), ex: ex{member | party | operator: s(200), bAnalyst | outsider | rAnalyst: s(403)}},
	{op: "list-organisations", def: s(200), ex: ex{badToken | aStaff: s(401)}, open: true},
	{op: "list-payments", def: s(200), ex: ex{bAnalyst | outsider | rAnalyst | operator: s(404)}},
	{op: "list-pilots", def: s(200), ex: ex{bAnalyst | outsider | rAnalyst | aEvaluator | operator: s(404)}},
	{op: "list-public-calls", def: s(200), ex: ex{badToken | aStaff: s(401)}, open: true, cross: true},
	{op: "list-public-coprogramming", def: s(200), ex: ex{badToken: s(401)}, open: true},
	{op: "list-public-initiatives", def: s(200), ex: ex{badToken: s(401)}, open: true},
	{op: "list-public-practices", def: s(200), ex: ex{badToken | aStaff: s(401)}, open: true, cross: true},
	{op: "list-questions", def: s(200)},
	{op: "list-region-municipalities", def: s(403), ex: ex{operator: s(200), aStaff: s(401)}, p: atRegion},
	{op: "list-tenants", def: s(403), ex: ex{operator: s(200), aStaff: s(401)}, cross: true},
	{op: "login-callback-platform", def: s(401)},
	{op: "login-callback-tenant", def: s(401)},
	{op: "login-platform", def: s(302), ex: ex{badToken | aStaff: s(401)}, open: true},
	{op: "login-tenant", def: s(302), ex: ex{badToken: s(401)}, open: true},
	{op: "logout-platform", def: s(200), ex: ex{badToken | aStaff: s(401)}, open: true},
	{op: "logout-tenant", def: s(200), ex: ex{badToken: s(401)}, open: true},
	{op: "merge-initiative", def: s(403), ex: ex{aOfficer | aAdmin: s(409)}},
	{op: "move-deliverable", def: s(404), ex: ex{aAuditor | aOfficer | aAdmin: s(403), member | party: s(412)}},
	{op: "move-payment", def: s(403), ex: ex{bAnalyst | outsider | rAnalyst | operator: s(404), aOfficer | aAdmin: s(412)}},
	{op: "offboard-tenant", def: s(403), ex: ex{operator: s(200)}, last: 93},
	{op: "open-coprogramming", def: s(403), ex: ex{aOfficer | aAdmin: s(409)}},
	{op: "pilot-progress", def: s(200), ex: ex{bAnalyst | outsider | rAnalyst | aEvaluator | operator: s(404)}},
	{op: "propose-initiative", def: s(403), ex: ex{member | party: s(201)}},
	{op: "publish-call", def: s(403), ex: ex{aOfficer | aAdmin: s(409)}},
	{op: "publish-coprogramming", def: s(403), ex: ex{aOfficer | aAdmin: s(200, 409)}},
	{op: "publish-practice", def: s(403), ex: ex{aOfficer | aAdmin: s(201, 409)}},
	{op: "publish-ranking", def: s(403), ex: ex{aOfficer | aAdmin: s(409)}, p: ranked},
	{op: "put-identity-provider", def: s(403), ex: ex{aAdmin | operator: s(422)}, last: 80},
	{op: "put-my-preferences", def: s(200), ex: ex{aStaff: s(401)}},
	{op: "put-organisation-member", def: s(401), ex: ex{bAnalyst | outsider | member | rAnalyst: s(403), party | operator: s(404)}},
	{op: "put-tenant-settings", def: s(403), ex: ex{aAdmin | operator: s(422)}},
	{op: "read-my-notification", def: s(404), ex: ex{party: s(204), aStaff: s(401)}},
	{op: "record-citizen-contribution", def: s(403), ex: ex{aOfficer | aAdmin: s(409)}},
	{op: "record-session", def: s(403), ex: ex{aOfficer | aAdmin: s(201)}, p: ranked},
	{op: "register-organisation", def: s(409), ex: ex{bAnalyst: s(201), aStaff: s(401)}},
	{op: "replicate-practice", def: s(403), ex: ex{aOfficer | aAdmin: s(201)}},
	{op: "request-snapshot", def: s(403), ex: ex{aOfficer | aAdmin | operator: s(202)}},
	{op: "resume-agreement", def: s(404), ex: ex{member | party | aAuditor: s(403), aOfficer | aAdmin: s(409)}},
	{op: "resume-tenant", def: s(403), ex: ex{operator: s(200)}, last: 92},
	{op: "score-application", def: s(403), ex: ex{aEvaluator: s(409)}, p: ranked},
	{op: "seed-indicators", def: s(403), ex: ex{aOfficer | aAdmin: s(200)}},
	{op: "set-initiative-deadline", def: s(403), ex: ex{aOfficer | aAdmin: s(200)}},
	{op: "sign-agreement", def: s(404), ex: ex{member | party | aAuditor: s(403), aOfficer | aAdmin: s(409)}},
	{op: "start-call-evaluation", def: s(403), ex: ex{aOfficer | aAdmin: s(409)}},
	{op: "submit-application", def: s(403), ex: ex{bAnalyst | outsider | rAnalyst | operator: s(404), member | party: s(200, 409)}},
	{op: "submit-measurement", def: s(403), ex: ex{bAnalyst | outsider | rAnalyst | operator: s(404), member | party: s(201, 409)}},
	{op: "suspend-agreement", def: s(404), ex: ex{member | party | aAuditor: s(403), aOfficer | aAdmin: s(200, 409)}},
	{op: "suspend-tenant", def: s(403), ex: ex{operator: s(200)}, last: 91},
	{op: "terminate-agreement", def: s(404), ex: ex{member | party | aAuditor: s(403), aOfficer | aAdmin: s(200, 409)}, last: 50},
	{op: "update-agreement", def: s(404), ex: ex{member | party | aAuditor: s(403), aOfficer | aAdmin: s(409)}},
	{op: "update-application", def: s(403), ex: ex{bAnalyst | outsider | rAnalyst | operator: s(404), member | party: s(409)}},
	{op: "update-call", def: s(403), ex: ex{aOfficer | aAdmin: s(409)}},
	{op: "update-organisation", def: s(401), ex: ex{party | operator: s(200), bAnalyst | outsider | member | rAnalyst: s(403)}},
	{op: "update-practice", def: s(403), ex: ex{aOfficer | aAdmin: s(200)}},
	{op: "upload-attachment", def: s(403), ex: ex{bAnalyst | outsider | rAnalyst | operator: s(404), member | party: s(409)}},
	{op: "withdraw-application", def: s(404), ex: ex{aAuditor | aOfficer | aAdmin: s(403), member | party: s(200, 409)}, last: 50},
	{op: "withdraw-initiative", def: s(403), ex: ex{member | party: s(200, 409)}, last: 50},
	{op: "withdraw-practice", def: s(403), ex: ex{aOfficer | aAdmin: s(200, 409)}, last: 50},
}

// matrix is matrixRows by operation id.
var matrix = func() map[string]row {
	m := map[string]row{}
	for _, r := range matrixRows {
		m[r.op] = r
	}
	return m
}()

// Aliases of the table.
const (
	badToken = expired | bAdmin | bOfficer | bEvaluator | bAuditor // refused by authentication, even on public routes
	aStaff   = aAdmin | aOfficer | aEvaluator | aAuditor           // tenant A's tokens: refused on platform routes
)

// ranked probes evaluation and co-design on the call that went through them.
var ranked = map[string]string{"call": "call2", "application": "application2"}

// strangers have no business with the party's own objects, whose ids
// (privateOfParty) must never reach them, whatever the operation. The
// ranked application is left out: a published ranking names it, by law.
const strangers = anon | bAnalyst | outsider | rAnalyst

var privateOfParty = []string{"application", "file", "question", "measurement", "payment", "notification", "version"}

// atRegion probes region routes on A's region instead of A.
var atRegion = map[string]string{"tenant": "region"}

// matrixBodies override the generated minimal body where the domain needs
// a particular value.
var matrixBodies = map[string]func(f *matrixFixture) string{
	"terminate-agreement": func(*matrixFixture) string { return `{"reason":"Inadempienza grave"}` },
	// A refused port on loopback: discovery fails at once, and no test reaches the Internet.
	"put-identity-provider": func(*matrixFixture) string {
		return `{"issuer":"https://127.0.0.1:1","clientId":"coprod-milano","audience":"coprod-milano"}`
	},
	"amend-agreement": func(*matrixFixture) string {
		return `{"reason":"Proroga","end":"2029-06-30T00:00:00Z"}`
	},
	"record-session": func(*matrixFixture) string {
		return `{"date":"2026-03-01T10:00:00Z","attendees":[{"name":"Anna","role":"RUP"}],"minutes":"Seconda sessione"}`
	},
	"amend-call": func(*matrixFixture) string {
		return `{"reason":"Proroga","summary":"Servizi di prossimità, nuova sintesi","act":` + matrixAct("amendment") + `}`
	},
	"cancel-call":      func(*matrixFixture) string { return `{"reason":"Annullata","act":` + matrixAct("cancellation") + `}` },
	"create-agreement": func(f *matrixFixture) string { return matrixAgreement(f.orgs.party) },
	"create-pilot":     func(*matrixFixture) string { return matrixPilot },
	// Not the fixture's indicator: an indicator is assigned once to an agreement.
	"assign-indicator": func(*matrixFixture) string {
		return strings.Replace(matrixAssignment, "elderly_alone_home_care", "children_after_school", 1)
	},
	"add-payment-rule":   func(*matrixFixture) string { return matrixRule },
	"submit-measurement": func(*matrixFixture) string { return `{"period":"2026-Q4","value":80,"evidence":"PAI"}` },
	"suspend-agreement":  func(*matrixFixture) string { return `{"reason":"Verifica"}` },
	"publish-practice":   func(f *matrixFixture) string { return matrixPractice(f.params["pilot2"]) },
	"replicate-practice": func(f *matrixFixture) string { return `{"practiceId":"` + f.params["cPractice"] + `"}` },
	"apply-practice-template": func(f *matrixFixture) string {
		return `{"agreementId":"` + f.params["replicaAgreement"] + `","indicators":[{"code":"elderly_alone_home_care",
			"baseline":{"value":25,"date":"2026-06-30T00:00:00Z","source":"SIUSS"},"targets":[{"period":"2027-Q4","value":60}]}]}`
	},
	"create-tenant": func(*matrixFixture) string {
		return `{"slug":"brescia","name":"Brescia","kind":"municipality","istatCode":"017029","region":"regione-lombardia"}`
	},
}

func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	f := setupMatrix(t)
	doc, ops := f.liveOperations(t)
	record := os.Getenv("COPROD_MATRIX_RECORD") != ""

	live := map[string]bool{}
	for _, op := range ops {
		live[op.ID] = true
		if _, ok := matrix[op.ID]; !ok && !record {
			t.Errorf("operation %s (%s %s) has no row in the authorization matrix (cmd/coprod/matrix_test.go): declare what each principal gets", op.ID, op.Method, op.Path)
		}
	}
	seen := map[string]bool{}
	for _, r := range matrixRows {
		if seen[r.op] {
			t.Errorf("the authorization matrix has two rows for %s", r.op)
		}
		seen[r.op] = true
	}
	for id, r := range matrix {
		if !live[id] {
			t.Errorf("the authorization matrix has a row for %s, which the OpenAPI document no longer has: remove it", id)
		}
		var seen who
		for set := range r.ex {
			if seen&set != 0 {
				t.Errorf("row %s names %s twice", id, seen&set)
			}
			seen |= set
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// Reads first, then writes in their declared order, each to every principal in order.
	ops = inProbeOrder(ops)
	probes := 0
	observed := map[string]map[int]who{}
	for _, op := range ops {
		r := matrix[op.ID]
		observed[op.ID] = map[int]who{}
		for i := 0; i < nWho; i++ {
			w := who(1 << i)
			before := 0
			if op.write() {
				before = f.audits(t)
			}
			got := f.exchange(t, f.request(t, doc, op, w, nil))
			probes++
			observed[op.ID][got.status] |= w
			if record && got.status >= 400 && w&^signedOut != 0 && (got.status == 422 || got.status == 409 || got.status == 404) {
				t.Logf("%s %s %d %.200s", op.ID, w, got.status, got.body)
			}
			where := fmt.Sprintf("%s (%s %s) as %s", op.ID, op.Method, op.Path, w)
			if got.status >= 500 {
				t.Errorf("%s: %d %s", where, got.status, got.body)
			}
			if !record && !slices.Contains(r.want(w), got.status) {
				t.Errorf("%s: got %d, want %v: %.300s", where, got.status, r.want(w), got.body)
			}
			if got.status >= 300 && op.write() {
				if after := f.audits(t); after != before {
					t.Errorf("%s: refused with %d but wrote %d audit records", where, got.status, after-before)
				}
			}
			if w&strangers != 0 {
				for _, key := range privateOfParty {
					if id := f.params[key]; strings.Contains(string(got.body), id) {
						t.Errorf("%s: the answer holds the party's %s %s: %.300s", where, key, id, got.body)
					}
				}
			}
			if r.cross || w&bSide != 0 {
				continue
			}
			for _, id := range f.bIDs {
				if strings.Contains(string(got.body), id) || strings.Contains(got.header.Get("Location"), id) {
					t.Errorf("%s: the answer holds %s, an id of tenant B: %.300s", where, id, got.body)
				}
			}
		}
	}
	t.Logf("authorization matrix: %d operations × %d principals = %d probes", len(ops), nWho, probes)
	if record {
		printMatrix(t, ops, observed)
	}
}

// inProbeOrder puts reads first, then writes in their declared order.
func inProbeOrder(ops []operation) []operation {
	out := slices.Clone(ops)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.write() != b.write() {
			return !a.write()
		}
		return matrix[a.ID].last < matrix[b.ID].last
	})
	return out
}

// printMatrix writes the observed answers as rows of the table, for review.
func printMatrix(t *testing.T, ops []operation, observed map[string]map[int]who) {
	var b strings.Builder
	sorted := slices.Clone(ops)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].ID < sorted[j].ID })
	for _, op := range sorted {
		byStatus := observed[op.ID]
		def, most := 0, -1
		for st, set := range byStatus {
			n := 0
			for i := 0; i < nWho; i++ {
				if set&^signedOut&(1<<i) != 0 {
					n++
				}
			}
			if n > most || (n == most && st < def) {
				def, most = st, n
			}
		}
		open := byStatus[401]&signedOut != signedOut
		var parts []string
		var sts []int
		for st := range byStatus {
			sts = append(sts, st)
		}
		sort.Ints(sts)
		for _, st := range sts {
			set := byStatus[st]
			if !open && st == 401 {
				set &^= signedOut
			}
			if st == def || set == 0 {
				continue
			}
			parts = append(parts, fmt.Sprintf("%s: s(%d)", strings.ReplaceAll(set.String(), "|", " | "), st))
		}
		fmt.Fprintf(&b, "\t{op: %q, def: s(%d)", op.ID, def)
		if len(parts) > 0 {
			fmt.Fprintf(&b, ", ex: ex{%s}", strings.Join(parts, ", "))
		}
		if open {
			b.WriteString(", open: true")
		}
		b.WriteString("},\n")
	}
	t.Logf("observed:\n%s", b.String())
}
