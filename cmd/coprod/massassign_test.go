package main

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestMassAssignment sends every write operation of the live OpenAPI
// document its minimal body plus fields it must not accept, as a principal
// the matrix declares allowed: each answer is a refusal, or a success that
// stored none of the extra values. Sentinel values carry a mark; at the end
// no row of any table holds one, tenant B has no new row, and no caller
// gained a role.
func TestMassAssignment(t *testing.T) {
	t.Parallel()
	f := setupMatrix(t)
	doc, ops := f.liveOperations(t)
	bTenant := f.bIDs[0]
	bRows := f.tenantRows(t, bTenant)
	sentinel := regexp.MustCompile(`0000dead-beef-7000-8000-\d{12}|mass-assigned-\d+`)
	n, probes := 0, 0
	tally := map[string]int{}
	mark := func() (string, string) {
		n++
		return fmt.Sprintf("0000dead-beef-7000-8000-%012d", n), fmt.Sprintf("mass-assigned-%d", n)
	}
	for _, op := range inProbeOrder(ops) {
		if !op.write() || op.Body == nil {
			continue
		}
		schema := doc.resolve(op.Body)
		if schema == nil || schema.typ() != "object" {
			continue
		}
		actor, ok := allowedActor(op.ID)
		if !ok {
			continue // nobody may call it on A's objects: the matrix covers its refusals
		}
		base, _ := f.bodyFor(doc, op).(map[string]any)
		id, text := mark()
		// Fields the body does not declare: who owns it, its state, other tenants' objects.
		unknown := map[string]any{"tenantId": bTenant, "tenant": "torino", "id": id, "status": text, "createdBy": id, "ownerId": id,
			"role": "platform_operator", "roles": []string{"platform_operator"}, "organisationId": f.orgs.outsider, "version": 999,
			"callId": f.bIDs[1], "processId": f.bIDs[2], "agreementId": f.bIDs[3], "createdAt": "2001-01-01T00:00:00Z"}
		extra := map[string]any{}
		for k, v := range unknown {
			if _, declared := schema.Properties[k]; !declared {
				extra[k] = v
			}
		}
		// Declared read-only fields: the server's to set.
		readOnly := map[string]any{}
		for k, ps := range schema.Properties {
			ps = doc.resolve(ps)
			if ps == nil || !ps.ReadOnly || len(ps.Enum) > 0 {
				continue
			}
			id, text := mark()
			switch {
			case ps.typ() == "string" && (ps.Format == "uuid" || strings.HasSuffix(k, "Id") || k == "id"):
				readOnly[k] = id
			case ps.typ() == "string" && ps.Format == "":
				readOnly[k] = text
			case ps.typ() == "integer":
				readOnly[k] = 999
			}
		}
		// Acting for an organisation the caller does not belong to.
		other := map[string]any{}
		if actor&(party|member) != 0 {
			for _, k := range []string{"organisationId", "leadOrganisationId"} {
				if _, declared := schema.Properties[k]; declared {
					other[k] = f.orgs.outsider
				}
			}
		}
		for _, c := range []struct {
			name   string
			fields map[string]any
			refuse bool // must not succeed at all
		}{{"undeclared fields", extra, false}, {"read-only fields", readOnly, false}, {"another organisation", other, true}} {
			if len(c.fields) == 0 {
				continue
			}
			body := map[string]any{}
			for k, v := range base {
				body[k] = v
			}
			for k, v := range c.fields {
				body[k] = v
			}
			got := f.exchange(t, f.request(t, doc, op, actor, body))
			probes++
			tally[fmt.Sprintf("%s→%d", c.name, got.status)]++
			if testing.Verbose() {
				t.Logf("%s %s as %s: %d", op.ID, c.name, actor, got.status)
			}
			where := fmt.Sprintf("%s (%s %s) as %s with %s %v", op.ID, op.Method, op.Path, actor, c.name, keys(c.fields))
			switch {
			case got.status >= 500:
				t.Errorf("%s: %d %s", where, got.status, got.body)
			case got.status < 300 && c.refuse:
				t.Errorf("%s: accepted (%d): %.300s", where, got.status, got.body)
			case got.status < 300:
				if m := sentinel.Find(got.body); m != nil {
					t.Errorf("%s: the answer holds the sent value %s: %.300s", where, m, got.body)
				}
				for _, b := range f.bIDs {
					if strings.Contains(string(got.body), b) {
						t.Errorf("%s: the answer holds %s of tenant B: %.300s", where, b, got.body)
					}
				}
				if strings.Contains(string(got.body), `"version":999`) {
					t.Errorf("%s: the answer holds the sent version: %.300s", where, got.body)
				}
			}
		}
	}
	if probes < 20 {
		t.Fatalf("only %d mass-assignment probes: the document's write operations were not found", probes)
	}
	// Nothing sent was stored anywhere, B is untouched, nobody became operator.
	for _, hit := range f.rowsMatching(t, sentinel.String()) {
		t.Errorf("a sent value was stored: %s", hit)
	}
	if after := f.tenantRows(t, bTenant); after != bRows {
		t.Errorf("tenant B's rows: %d before, %d after", bRows, after)
	}
	for w := range matrixTokenOf {
		if w == operator || matrixTokenOf[w][0] != "platform" {
			continue
		}
		r := f.call(t, "GET", "/v1/me", f.tokens[w], "")
		if strings.Contains(jsonOf(r.body["roles"]), "platform_operator") {
			t.Errorf("%s became platform operator: %v", w, r.body)
		}
	}
	t.Logf("mass assignment: %d probes over the write operations: %v", probes, tally)
}

// allowedActor is the first principal the matrix lets through op (an
// expected 2xx), else one that passes authorization (a 409 or 422).
func allowedActor(opID string) (who, bool) {
	order := []who{aOfficer, aAdmin, party, member, aEvaluator, operator, outsider}
	r := matrix[opID]
	for _, pass := range [][]int{{200, 201, 202, 204}, {409, 412, 422}} {
		for _, w := range order {
			if slices.ContainsFunc(r.want(w), func(st int) bool { return slices.Contains(pass, st) }) {
				return w, true
			}
		}
	}
	return 0, false
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// tenantRows counts the rows of tenant in every table with a tenant_id.
func (f *matrixFixture) tenantRows(t *testing.T, tenant string) int {
	t.Helper()
	total := 0
	for _, table := range f.tables(t, true) {
		var n int
		if err := f.super.QueryRow(t.Context(), `SELECT count(*) FROM `+table+` WHERE tenant_id = $1`, tenant).Scan(&n); err != nil {
			t.Fatal(err)
		}
		total += n
	}
	return total
}

// rowsMatching returns table: row for every row whose text matches re.
func (f *matrixFixture) rowsMatching(t *testing.T, re string) []string {
	t.Helper()
	var out []string
	for _, table := range f.tables(t, false) {
		rows, err := f.super.Query(t.Context(), `SELECT x::text FROM `+table+` x WHERE x::text ~ $1`, re)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, table+": "+s)
		}
		if rows.Err() != nil {
			t.Fatal(rows.Err())
		}
	}
	return out
}

// tables lists coprod's tables (River's are left out: job arguments are
// copies of what the use cases stored).
func (f *matrixFixture) tables(t *testing.T, withTenant bool) []string {
	t.Helper()
	q := `SELECT quote_ident(table_name) FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name NOT LIKE 'river%'`
	if withTenant {
		q += ` AND EXISTS (SELECT 1 FROM information_schema.columns c WHERE c.table_schema = 'public' AND c.table_name = tables.table_name AND c.column_name = 'tenant_id')`
	}
	rows, err := f.super.Query(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	return out
}
