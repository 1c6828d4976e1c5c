package main

import (
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
