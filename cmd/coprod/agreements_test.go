package main

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestAgreementsAndMonitoringOverHTTP(t *testing.T) {
	t.Parallel()
	b := setupAuth(t)
	officer := b.idpA.AccessToken(t, "coprod-milano", "anna").AccessToken
	chiara := b.idpP.AccessToken(t, "coprod-platform", "chiara").AccessToken
	r := b.call(t, "POST", "/v1/organisations", chiara, `{"fiscalCode":"04123456784","legalName":"Coop Esempio","legalForm":"social_cooperative"}`)
	want(t, r, 201, "")
	org := r.body["id"].(string)

	body := `{"title":"Convenzione anziani soli","objectives":["Ridurre l'isolamento"],"parties":[{"organisationId":"` + org + `","role":"lead","budgetShareCents":30000000}],
		"start":"2026-01-01T00:00:00Z","end":"2028-12-31T00:00:00Z","paymentMode":"mixed",
		"budget":{"publicCents":30000000,"outcomeCents":1000000,"cofundingCashCents":0,"cofundingInKindCents":500000},
		"schedule":[{"label":"anticipo","percent":30},{"label":"intermedio","percent":30},{"label":"saldo","percent":40}]}`
	want(t, b.call(t, "POST", "/v1/tenants/milano/agreements", chiara, body), 403, "forbidden")
	r = b.call(t, "POST", "/v1/tenants/milano/agreements", officer, body)
	want(t, r, 201, "")
	id := r.body["id"].(string)
	path := "/v1/tenants/milano/agreements/" + id
	// Signatures: the officer, then the organisation's admin; then it is signed and can be activated.
	r = b.call(t, "POST", path+"/signatures", officer, `{}`, "If-Match", r.header.Get("ETag"))
	want(t, r, 200, "")
	want(t, b.call(t, "POST", path+"/signatures", chiara, `{}`, "If-Match", r.header.Get("ETag")), 403, "forbidden")
	r = b.call(t, "POST", path+"/signatures", chiara, `{"organisationId":"`+org+`"}`, "If-Match", r.header.Get("ETag"))
	want(t, r, 200, "")
	if r.body["status"] != "signed" {
		t.Fatalf("after every signature: %v", r.body["status"])
	}
	r = b.call(t, "POST", path+"/activate", officer, "", "If-Match", r.header.Get("ETag"))
	want(t, r, 200, "")

	// Indicators, an assignment with decimal targets, a per-unit rule.
	want(t, b.call(t, "POST", "/v1/tenants/milano/indicators/seed", officer, ""), 200, "")
	r = b.call(t, "POST", path+"/indicators", officer, `{"indicator":"elderly_alone_home_care","weight":100,
		"baseline":{"value":40,"date":"2025-12-31T00:00:00Z","source":"SIUSS"},"targets":[{"period":"2026-Q4","value":100.5}]}`)
	want(t, r, 201, "")
	as := r.body["id"].(string)
	// The same indicator once more: a conflict.
	want(t, b.call(t, "POST", path+"/indicators", officer, `{"indicator":"elderly_alone_home_care","weight":50,
		"baseline":{"value":40,"date":"2025-12-31T00:00:00Z","source":"SIUSS"},"targets":[{"period":"2026-Q4","value":90}]}`), 409, "indicator_already_assigned")
	if targets := r.body["targets"].([]any); targets[0].(map[string]any)["value"] != 100.5 {
		t.Errorf("decimal target: %v", targets)
	}
	want(t, b.call(t, "POST", "/v1/tenants/milano/indicator-assignments/"+as+"/payment-rules", officer,
		`{"trigger":"per_unit","direction":"increase","baseline":40,"unitPriceCents":5000,"capCents":1000000}`), 201, "")
	// The organisation reports; four decimals are refused; people are aggregate counts only.
	want(t, b.call(t, "POST", "/v1/tenants/milano/indicator-assignments/"+as+"/measurements", chiara, `{"period":"2026-Q2","value":60.1234}`), 422, "")
	want(t, b.call(t, "POST", "/v1/tenants/milano/indicator-assignments/"+as+"/measurements", chiara,
		`{"period":"2026-Q2","value":60,"people":[{"ageBand":"75+","gender":"female","vulnerability":"elderly_alone","count":12,"name":"Maria"}]}`), 422, "validation_failed")
	r = b.call(t, "POST", "/v1/tenants/milano/indicator-assignments/"+as+"/measurements", chiara,
		`{"period":"2026-Q2","value":60.5,"people":[{"ageBand":"75+","gender":"female","vulnerability":"elderly_alone","count":12}],"evidence":"PAI"}`)
	want(t, r, 201, "")
	m := r.body["id"].(string)
	// The officer verifies: 20.5 units × €50 = €1,025 computed in the same step.
	r = b.call(t, "POST", "/v1/tenants/milano/measurements/"+m+"/decision", officer, `{"status":"verified"}`)
	want(t, r, 200, "")
	pays := r.body["payments"].([]any)
	if len(pays) != 1 || pays[0].(map[string]any)["cents"] != float64(102500) {
		t.Fatalf("payments: %v", r.body)
	}
	want(t, b.call(t, "POST", "/v1/tenants/milano/measurements/"+m+"/decision", officer, `{"status":"rejected","reason":"ripensamento"}`), 409, "measurement_locked")
	r = b.call(t, "GET", path+"/progress", chiara, "")
	want(t, r, 200, "")
	if !strings.Contains(jsonOf(r.body), `"latest":60.5`) {
		t.Errorf("progress: %v", r.body)
	}
	if n := len(r.body["indicators"].([]any)); n != 1 {
		t.Errorf("progress of %d indicators, want 1", n)
	}
	// The progress of no agreement, or of one the caller may not see (a
	// platform operator is neither staff nor party), is the agreement's not-found.
	want(t, b.call(t, "GET", "/v1/tenants/milano/agreements/"+uuid.NewString()+"/progress", officer, ""), 404, "agreement_not_found")
	olga := b.idpP.AccessToken(t, "coprod-platform", "olga").AccessToken
	want(t, b.call(t, "GET", path+"/progress", olga, ""), 404, "agreement_not_found")
	// Bergamo cannot see any of it.
	bergamo := b.idpB.AccessToken(t, "coprod-bergamo", "anna").AccessToken
	want(t, b.call(t, "GET", "/v1/tenants/bergamo/agreements/"+id, bergamo, ""), 404, "agreement_not_found")
}

// walk follows a list's nextCursor with page size limit and returns the
// ids (or codes) of key in the order seen; every page but the last is full
// and only the last one has no nextCursor.
func (b *authBundle) walk(t *testing.T, path, token, key string, limit int) []string {
	t.Helper()
	var seen []string
	cursor := ""
	for page := 0; ; page++ {
		if page > 10 {
			t.Fatalf("%s: more than 10 pages of %d (%d items so far)", path, limit, len(seen))
		}
		url := path + "?limit=" + strconv.Itoa(limit)
		if cursor != "" {
			url += "&cursor=" + cursor
		}
		r := b.call(t, "GET", url, token, "")
		want(t, r, 200, "")
		items, ok := r.body["items"].([]any)
		if !ok {
			t.Fatalf("%s: no items array: %v", url, r.body)
		}
		for _, it := range items {
			seen = append(seen, it.(map[string]any)[key].(string))
		}
		next, more := r.body["nextCursor"].(string)
		if !more {
			if _, present := r.body["nextCursor"]; present {
				t.Errorf("%s: last page with nextCursor %v", url, r.body["nextCursor"])
			}
			return seen
		}
		if len(items) != limit || next == "" {
			t.Fatalf("%s: %d items (limit %d) with nextCursor %q", url, len(items), limit, next)
		}
		cursor = next
	}
}

func TestAgreementAndIndicatorListsArePaged(t *testing.T) {
	t.Parallel()
	b := setupAuth(t)
	officer := b.idpA.AccessToken(t, "coprod-milano", "anna").AccessToken
	chiara := b.idpP.AccessToken(t, "coprod-platform", "chiara").AccessToken
	olga := b.idpP.AccessToken(t, "coprod-platform", "olga").AccessToken
	bergamo := b.idpB.AccessToken(t, "coprod-bergamo", "anna").AccessToken
	r := b.call(t, "POST", "/v1/organisations", chiara, `{"fiscalCode":"04123456784","legalName":"Coop Esempio","legalForm":"social_cooperative"}`)
	want(t, r, 201, "")
	mine := r.body["id"].(string)
	r = b.call(t, "POST", "/v1/organisations", olga, `{"fiscalCode":"05234567898","legalName":"Altra APS","legalForm":"association"}`)
	want(t, r, 201, "")
	other := r.body["id"].(string)

	// Three agreements with Chiara's organisation, two with another one.
	var all, chiaras []string
	for i, org := range []string{mine, other, mine, other, mine} {
		r := b.call(t, "POST", "/v1/tenants/milano/agreements", officer, `{"title":"Convenzione `+strconv.Itoa(i)+`","objectives":["Ridurre l'isolamento"],
			"parties":[{"organisationId":"`+org+`","role":"lead","budgetShareCents":30000000}],
			"start":"2026-01-01T00:00:00Z","end":"2028-12-31T00:00:00Z","paymentMode":"cost_reimbursement",
			"budget":{"publicCents":30000000,"outcomeCents":0,"cofundingCashCents":0,"cofundingInKindCents":0},
			"schedule":[{"label":"saldo","percent":100}]}`)
		want(t, r, 201, "")
		all = append(all, r.body["id"].(string))
		if org == mine {
			chiaras = append(chiaras, r.body["id"].(string))
		}
	}
	sort.Strings(all) // ids in the order of their bytes, as the API pages them
	sort.Strings(chiaras)
	if got := b.walk(t, "/v1/tenants/milano/agreements", officer, "id", 2); !slices.Equal(got, all) {
		t.Errorf("the officer's pages of 2:\n got %v\nwant %v", got, all)
	}
	if got := b.walk(t, "/v1/tenants/milano/agreements", officer, "id", 500); !slices.Equal(got, all) {
		t.Errorf("the officer's one page:\n got %v\nwant %v", got, all)
	}
	// A party's member pages through their organisation's agreements only.
	if got := b.walk(t, "/v1/tenants/milano/agreements", chiara, "id", 2); !slices.Equal(got, chiaras) {
		t.Errorf("Chiara's pages of 2:\n got %v\nwant %v", got, chiaras)
	}
	// Another municipality's officer sees none of them.
	if got := b.walk(t, "/v1/tenants/bergamo/agreements", bergamo, "id", 2); len(got) != 0 {
		t.Errorf("Bergamo's officer lists %v", got)
	}
	if r := b.call(t, "GET", "/v1/tenants/milano/agreements", bergamo, ""); r.status < 400 || r.status >= 500 {
		t.Errorf("Bergamo's officer on Milano's agreements: %d %v", r.status, r.body)
	}
	want(t, b.call(t, "GET", "/v1/tenants/milano/agreements?cursor=zzz", officer, ""), 422, "invalid_cursor")

	// Indicators page in the byte order of their codes ('-' < '0' < '_').
	codes := []string{"zz_two", "zz-one", "zz0three"}
	for _, code := range codes {
		want(t, b.call(t, "POST", "/v1/tenants/milano/indicators", officer, `{"code":"`+code+`","name":"Persone `+code+`",
			"definition":"Persone raggiunte","numerator":"persone","unit":"people","type":"output","direction":"increase",
			"aggregation":"sum","frequency":"quarterly","dataSource":"registro","verification":"controllo","specialCategory":false}`), 201, "")
	}
	sort.Strings(codes)
	if got := b.walk(t, "/v1/tenants/milano/indicators", officer, "code", 2); !slices.Equal(got, codes) {
		t.Errorf("the library in pages of 2:\n got %v\nwant %v", got, codes)
	}
	if got := b.walk(t, "/v1/tenants/milano/indicators", chiara, "code", 1); !slices.Equal(got, codes) {
		t.Errorf("the library in pages of 1, to a party:\n got %v\nwant %v", got, codes)
	}
	if got := b.walk(t, "/v1/tenants/bergamo/indicators", bergamo, "code", 2); len(got) != 0 {
		t.Errorf("Bergamo's library lists %v", got)
	}
	// A cursor that is no code is refused as list-calls refuses one.
	for _, bad := range []string{"zzz!", "ZZ", "z", strings.Repeat("z", 61)} {
		want(t, b.call(t, "GET", "/v1/tenants/milano/indicators?cursor="+bad, officer, ""), 422, "invalid_cursor")
	}
}
