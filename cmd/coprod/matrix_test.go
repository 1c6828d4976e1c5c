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

// matrix declares, for every operation of the OpenAPI document, what each
// principal gets on tenant A's objects. One line per operation: an
// operation added to the API without its line fails TestAuthorizationMatrix.
var matrix = map[string]row{
	"accept-initiative":                {def: s(403), ex: ex{aOfficer | aAdmin: s(409)}},
	"activate-agreement":               {def: s(404), ex: ex{member | party | aAuditor: s(403), aOfficer | aAdmin: s(409)}},
	"activate-tenant":                  {def: s(403), ex: ex{operator: s(409)}, last: 90},
	"add-deliverable":                  {def: s(403), ex: ex{aOfficer | aAdmin: s(201)}},
	"add-payment-rule":                 {def: s(403), ex: ex{aOfficer | aAdmin: s(201)}},
	"add-project-version":              {def: s(404), ex: ex{aAuditor: s(403), member | party | aOfficer | aAdmin: s(201)}, p: ranked},
	"agreement-progress":               {def: s(200), ex: ex{bAnalyst | outsider | rAnalyst | operator: s(404)}},
	"amend-agreement":                  {def: s(404), ex: ex{member | party | aAuditor: s(403), aOfficer | aAdmin: s(422)}},
	"amend-call":                       {def: s(403), ex: ex{aOfficer | aAdmin: s(422)}},
	"answer-question":                  {def: s(403), ex: ex{aOfficer | aAdmin: s(200)}},
	"appoint-committee-member":         {def: s(403), ex: ex{aOfficer | aAdmin: s(200)}},
	"approve-project":                  {def: s(403), ex: ex{aOfficer | aAdmin: s(200, 409)}, p: ranked, last: 40},
	"ask-question":                     {def: s(403), ex: ex{member | party: s(201)}},
	"assign-indicator":                 {def: s(403), ex: ex{aOfficer | aAdmin: s(201)}},
	"cancel-call":                      {def: s(403), ex: ex{aOfficer | aAdmin: s(200, 409)}, last: 50},
	"cancel-coprogramming":             {def: s(403), ex: ex{aOfficer | aAdmin: s(409)}, last: 50},
	"change-pilot":                     {def: s(403), ex: ex{aOfficer | aAdmin: s(200, 409)}},
	"check-eligibility":                {def: s(403), ex: ex{aAuditor | aOfficer | aAdmin: s(200)}},
	"close-agreement":                  {def: s(404), ex: ex{member | party | aAuditor: s(403), aOfficer | aAdmin: s(409)}, last: 49},
	"close-call":                       {def: s(403), ex: ex{aOfficer | aAdmin: s(409)}},
	"close-coprogramming":              {def: s(403), ex: ex{aOfficer | aAdmin: s(200, 409)}},
	"contribute-coprogramming":         {def: s(403), ex: ex{member | party: s(409)}},
	"convene-table":                    {def: s(403), ex: ex{aOfficer | aAdmin: s(409)}, p: ranked},
	"correct-measurement":              {def: s(403), ex: ex{bAnalyst | outsider | rAnalyst | operator: s(404), member | party: s(409)}},
	"create-agreement":                 {def: s(403), ex: ex{aOfficer | aAdmin: s(201)}},
	"create-application":               {def: s(403), ex: ex{member | party: s(201)}},
	"create-call":                      {def: s(403), ex: ex{aOfficer | aAdmin: s(201)}},
	"create-call-from-coprogramming":   {def: s(403), ex: ex{aOfficer | aAdmin: s(409)}},
	"create-coprogramming":             {def: s(403), ex: ex{aOfficer | aAdmin: s(201)}},
	"create-invitation":                {def: s(403), ex: ex{aAdmin | operator: s(201, 409)}},
	"create-pilot":                     {def: s(403), ex: ex{aOfficer | aAdmin: s(201)}},
	"create-tenant":                    {def: s(403), ex: ex{operator: s(201), aStaff: s(401)}},
	"decide-admissibility":             {def: s(403), ex: ex{aOfficer | aAdmin: s(409)}},
	"decide-measurement":               {def: s(403), ex: ex{bAnalyst | outsider | rAnalyst | operator: s(404), aOfficer | aAdmin: s(412)}},
	"declare-conflict":                 {def: s(403), ex: ex{aEvaluator: s(409)}, p: ranked},
	"decline-initiative":               {def: s(403), ex: ex{aOfficer | aAdmin: s(409)}},
	"define-indicator":                 {def: s(403), ex: ex{aOfficer | aAdmin: s(422)}},
	"delete-organisation-member":       {def: s(401), ex: ex{party: s(204), bAnalyst | outsider | member | rAnalyst: s(403), operator: s(404)}, last: 60, p: map[string]string{"user": "member"}},
	"download-attachment":              {def: s(200), ex: ex{bAnalyst | outsider | rAnalyst | aEvaluator | operator: s(404)}},
	"get-360giving":                    {def: s(200), ex: ex{badToken: s(401)}, open: true},
	"get-360giving-national":           {def: s(200), ex: ex{badToken | aStaff: s(401)}, open: true, cross: true},
	"get-agreement":                    {def: s(200), ex: ex{bAnalyst | outsider | rAnalyst | aEvaluator | operator: s(404)}},
	"get-application":                  {def: s(200), ex: ex{bAnalyst | outsider | rAnalyst | aEvaluator | operator: s(404)}},
	"get-call":                         {def: s(200)},
	"get-coprogramming":                {def: s(200)},
	"get-healthz":                      {def: s(200), ex: ex{badToken | aStaff: s(401)}, open: true},
	"get-identity-provider":            {def: s(403), ex: ex{aAdmin | operator: s(200)}},
	"get-initiative":                   {def: s(200), ex: ex{bAnalyst | outsider | rAnalyst | aEvaluator | operator: s(404)}},
	"get-me":                           {def: s(200), ex: ex{aStaff: s(401)}},
	"get-ocds":                         {def: s(200), ex: ex{badToken: s(401)}, open: true},
	"get-ocds-national":                {def: s(200), ex: ex{badToken | aStaff: s(401)}, open: true, cross: true},
	"get-organisation":                 {def: s(200), ex: ex{badToken | aStaff: s(401)}, open: true},
	"get-pilot":                        {def: s(200), ex: ex{bAnalyst | outsider | rAnalyst | aEvaluator | operator: s(404)}},
	"get-public-call":                  {def: s(200), ex: ex{badToken | aStaff: s(401)}, open: true},
	"get-public-network":               {def: s(200), ex: ex{badToken | aStaff: s(401)}, open: true},
	"get-public-network-page":          {def: s(200), ex: ex{badToken | aStaff: s(401)}, open: true},
	"get-ranking":                      {def: s(403), ex: ex{aOfficer | aAdmin: s(200)}, p: ranked},
	"get-readyz":                       {def: s(200), ex: ex{badToken | aStaff: s(401)}, open: true},
	"get-region-network":               {def: s(401), ex: ex{rAnalyst | operator: s(200), bAnalyst | outsider | member | party: s(403)}, p: atRegion},
	"get-region-network-page":          {def: s(401), ex: ex{rAnalyst | operator: s(200), bAnalyst | outsider | member | party: s(403)}, p: atRegion},
	"get-region-report":                {def: s(401), ex: ex{rAnalyst | operator: s(200), bAnalyst | outsider | member | party: s(403)}, p: atRegion},
	"get-region-report-csv":            {def: s(401), ex: ex{rAnalyst | operator: s(200), bAnalyst | outsider | member | party: s(403)}, p: atRegion},
	"get-region-report-page":           {def: s(401), ex: ex{rAnalyst | operator: s(200), bAnalyst | outsider | member | party: s(403)}, p: atRegion},
	"get-table":                        {def: s(404), ex: ex{member | party | aAuditor | aOfficer | aAdmin: s(200)}, p: ranked},
	"get-tenant":                       {def: s(403), ex: ex{operator: s(200)}},
	"get-tenant-me":                    {def: s(200)},
	"get-tenant-settings":              {def: s(403), ex: ex{aOfficer | aAdmin | operator: s(200)}},
	"integrate-application":            {def: s(404), ex: ex{aAuditor | aOfficer | aAdmin: s(403), member | party: s(409)}},
	"list-agreements":                  {def: s(200), ex: ex{bAnalyst | rAnalyst | aEvaluator | operator: s(403)}},
	"list-applications":                {def: s(200), ex: ex{bAnalyst | rAnalyst | aEvaluator | operator: s(403)}},
	"list-audit-events":                {def: s(403), ex: ex{aAuditor | aOfficer | aAdmin | operator: s(200)}},
	"list-calls":                       {def: s(403), ex: ex{aStaff: s(200)}},
	"list-coprogramming":               {def: s(200)},
	"list-coprogramming-contributions": {def: s(200)},
	"list-deliverables":                {def: s(200), ex: ex{bAnalyst | outsider | rAnalyst | aEvaluator | operator: s(404)}},
	"list-indicators":                  {def: s(200)},
	"list-initiatives":                 {def: s(200), ex: ex{bAnalyst | rAnalyst | aEvaluator | operator: s(403)}},
	"list-measurements":                {def: s(200), ex: ex{bAnalyst | outsider | rAnalyst | operator: s(404)}},
	"list-my-notifications":            {def: s(200), ex: ex{aStaff: s(401)}},
	"list-organisation-members":        {def: s(401), ex: ex{member | party | operator: s(200), bAnalyst | outsider | rAnalyst: s(403)}},
	"list-organisation-notices":        {def: s(401), ex: ex{member | party | operator: s(200), bAnalyst | outsider | rAnalyst: s(403)}},
	"list-organisations":               {def: s(200), ex: ex{badToken | aStaff: s(401)}, open: true},
	"list-payments":                    {def: s(200), ex: ex{bAnalyst | outsider | rAnalyst | operator: s(404)}},
	"list-pilots":                      {def: s(200), ex: ex{bAnalyst | outsider | rAnalyst | aEvaluator | operator: s(404)}},
	"list-public-calls":                {def: s(200), ex: ex{badToken | aStaff: s(401)}, open: true, cross: true},
	"list-public-coprogramming":        {def: s(200), ex: ex{badToken: s(401)}, open: true},
	"list-public-initiatives":          {def: s(200), ex: ex{badToken: s(401)}, open: true},
	"list-questions":                   {def: s(200)},
	"list-region-municipalities":       {def: s(403), ex: ex{operator: s(200), aStaff: s(401)}, p: atRegion},
	"list-tenants":                     {def: s(403), ex: ex{operator: s(200), aStaff: s(401)}, cross: true},
	"login-callback-platform":          {def: s(401)},
	"login-callback-tenant":            {def: s(401)},
	"login-platform":                   {def: s(302), ex: ex{badToken | aStaff: s(401)}, open: true},
	"login-tenant":                     {def: s(302), ex: ex{badToken: s(401)}, open: true},
	"logout-platform":                  {def: s(200), ex: ex{badToken | aStaff: s(401)}, open: true},
	"logout-tenant":                    {def: s(200), ex: ex{badToken: s(401)}, open: true},
	"merge-initiative":                 {def: s(403), ex: ex{aOfficer | aAdmin: s(422)}},
	"move-deliverable":                 {def: s(404), ex: ex{aAuditor | aOfficer | aAdmin: s(403), member | party: s(412)}},
	"move-payment":                     {def: s(403), ex: ex{bAnalyst | outsider | rAnalyst | operator: s(404), aOfficer | aAdmin: s(412)}},
	"offboard-tenant":                  {def: s(403), ex: ex{operator: s(200)}, last: 93},
	"open-coprogramming":               {def: s(403), ex: ex{aOfficer | aAdmin: s(409)}},
	"pilot-progress":                   {def: s(200), ex: ex{bAnalyst | outsider | rAnalyst | aEvaluator | operator: s(404)}},
	"propose-initiative":               {def: s(403), ex: ex{member | party: s(201)}},
	"publish-call":                     {def: s(403), ex: ex{aOfficer | aAdmin: s(409)}},
	"publish-coprogramming":            {def: s(403), ex: ex{aOfficer | aAdmin: s(200, 409)}},
	"publish-ranking":                  {def: s(403), ex: ex{aOfficer | aAdmin: s(200)}, p: ranked},
	"put-identity-provider":            {def: s(403), ex: ex{aAdmin | operator: s(422)}, last: 80},
	"put-my-preferences":               {def: s(200), ex: ex{aStaff: s(401)}},
	"put-organisation-member":          {def: s(401), ex: ex{bAnalyst | outsider | member | rAnalyst: s(403), party | operator: s(404)}},
	"put-tenant-settings":              {def: s(403), ex: ex{aAdmin | operator: s(422)}},
	"read-my-notification":             {def: s(404), ex: ex{party: s(204), aStaff: s(401)}},
	"record-citizen-contribution":      {def: s(403), ex: ex{aOfficer | aAdmin: s(409)}},
	"record-session":                   {def: s(403), ex: ex{aOfficer | aAdmin: s(201)}, p: ranked},
	"register-organisation":            {def: s(409), ex: ex{bAnalyst: s(201), aStaff: s(401)}},
	"request-snapshot":                 {def: s(403), ex: ex{aOfficer | aAdmin | operator: s(202)}},
	"resume-agreement":                 {def: s(404), ex: ex{member | party | aAuditor: s(403), aOfficer | aAdmin: s(409)}},
	"resume-tenant":                    {def: s(403), ex: ex{operator: s(200)}, last: 92},
	"score-application":                {def: s(403), ex: ex{aEvaluator: s(409)}, p: ranked},
	"seed-indicators":                  {def: s(403), ex: ex{aOfficer | aAdmin: s(200)}},
	"set-initiative-deadline":          {def: s(403), ex: ex{aOfficer | aAdmin: s(200)}},
	"sign-agreement":                   {def: s(404), ex: ex{member | party | aAuditor: s(403), aOfficer | aAdmin: s(409)}},
	"start-call-evaluation":            {def: s(403), ex: ex{aOfficer | aAdmin: s(409)}},
	"submit-application":               {def: s(403), ex: ex{bAnalyst | outsider | rAnalyst | operator: s(404), member | party: s(200, 409)}},
	"submit-measurement":               {def: s(403), ex: ex{bAnalyst | outsider | rAnalyst | operator: s(404), member | party: s(201, 409)}},
	"suspend-agreement":                {def: s(404), ex: ex{member | party | aAuditor: s(403), aOfficer | aAdmin: s(200, 409)}},
	"suspend-tenant":                   {def: s(403), ex: ex{operator: s(200)}, last: 91},
	"terminate-agreement":              {def: s(404), ex: ex{member | party | aAuditor: s(403), aOfficer | aAdmin: s(422)}, last: 50},
	"update-agreement":                 {def: s(404), ex: ex{member | party | aAuditor: s(403), aOfficer | aAdmin: s(409)}},
	"update-application":               {def: s(403), ex: ex{bAnalyst | outsider | rAnalyst | operator: s(404), member | party: s(409)}},
	"update-call":                      {def: s(403), ex: ex{aOfficer | aAdmin: s(409)}},
	"update-organisation":              {def: s(401), ex: ex{party | operator: s(200), bAnalyst | outsider | member | rAnalyst: s(403)}},
	"upload-attachment":                {def: s(403), ex: ex{bAnalyst | outsider | rAnalyst | operator: s(404), member | party: s(409)}},
	"withdraw-application":             {def: s(404), ex: ex{aAuditor | aOfficer | aAdmin: s(403), member | party: s(200, 409)}, last: 50},
	"withdraw-initiative":              {def: s(403), ex: ex{member | party: s(200, 409)}, last: 50},
}

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
	"record-session": func(*matrixFixture) string {
		return `{"date":"2026-03-01T10:00:00Z","attendees":[{"name":"Anna","role":"RUP"}],"minutes":"Seconda sessione"}`
	},
	"amend-call":         func(*matrixFixture) string { return `{"reason":"Proroga","act":` + matrixAct("amendment") + `}` },
	"cancel-call":        func(*matrixFixture) string { return `{"reason":"Annullata","act":` + matrixAct("cancellation") + `}` },
	"create-agreement":   func(f *matrixFixture) string { return matrixAgreement(f.orgs.party) },
	"create-pilot":       func(*matrixFixture) string { return matrixPilot },
	"assign-indicator":   func(*matrixFixture) string { return matrixAssignment },
	"add-payment-rule":   func(*matrixFixture) string { return matrixRule },
	"submit-measurement": func(*matrixFixture) string { return `{"period":"2026-Q4","value":80,"evidence":"PAI"}` },
	"suspend-agreement":  func(*matrixFixture) string { return `{"reason":"Verifica"}` },
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
		fmt.Fprintf(&b, "\t%q: {def: s(%d)", op.ID, def)
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
