package main

import (
	"strings"
	"testing"
)

// TestPracticesOverHTTP runs a pilot in Milan to its decision, publishes it
// as a practice, finds it in the public catalogue without login, and lets
// Bergamo replicate it, through the real server.
func TestPracticesOverHTTP(t *testing.T) {
	t.Parallel()
	b := setupAuth(t)
	officer := b.idpA.AccessToken(t, "coprod-milano", "anna").AccessToken
	bergamo := b.idpB.AccessToken(t, "coprod-bergamo", "anna").AccessToken
	chiara := b.idpP.AccessToken(t, "coprod-platform", "chiara").AccessToken
	r := b.call(t, "POST", "/v1/organisations", chiara, `{"fiscalCode":"04123456784","legalName":"Coop Esempio","legalForm":"social_cooperative"}`)
	want(t, r, 201, "")
	org := r.body["id"].(string)

	// An active agreement with a pilot, an indicator and a verified measurement.
	r = b.call(t, "POST", "/v1/tenants/milano/agreements", officer, `{"title":"Convenzione anziani soli","objectives":["Ridurre l'isolamento"],
		"parties":[{"organisationId":"`+org+`","role":"lead","budgetShareCents":30000000}],
		"start":"2026-01-01T00:00:00Z","end":"2028-12-31T00:00:00Z","paymentMode":"mixed",
		"budget":{"publicCents":30000000,"outcomeCents":1000000,"cofundingCashCents":0,"cofundingInKindCents":0},
		"schedule":[{"label":"anticipo","percent":30},{"label":"saldo","percent":70}]}`)
	want(t, r, 201, "")
	path := "/v1/tenants/milano/agreements/" + r.body["id"].(string)
	r = b.call(t, "POST", path+"/signatures", officer, `{}`, "If-Match", r.header.Get("ETag"))
	want(t, r, 200, "")
	r = b.call(t, "POST", path+"/signatures", chiara, `{"organisationId":"`+org+`"}`, "If-Match", r.header.Get("ETag"))
	want(t, r, 200, "")
	want(t, b.call(t, "POST", path+"/activate", officer, "", "If-Match", r.header.Get("ETag")), 200, "")
	r = b.call(t, "POST", path+"/pilots", officer, `{"title":"Custodi sociali","hypothesis":"Le visite riducono l'isolamento","cohortSize":40,
		"start":"2026-01-01T00:00:00Z","end":"2026-12-31T00:00:00Z"}`)
	want(t, r, 201, "")
	pilotID := r.body["id"].(string)
	want(t, b.call(t, "POST", "/v1/tenants/milano/indicators/seed", officer, ""), 200, "")
	r = b.call(t, "POST", path+"/indicators", officer, `{"indicator":"elderly_alone_home_care","weight":100,"pilotId":"`+pilotID+`",
		"baseline":{"value":40,"date":"2025-12-31T00:00:00Z","source":"SIUSS"},"targets":[{"period":"2026-Q4","value":100}]}`)
	want(t, r, 201, "")
	as := r.body["id"].(string)
	want(t, b.call(t, "POST", "/v1/tenants/milano/indicator-assignments/"+as+"/payment-rules", officer,
		`{"trigger":"per_unit","direction":"increase","baseline":40,"unitPriceCents":5000,"capCents":1000000}`), 201, "")
	// Living alone, 75+: 12 women and 15 men (shown: ≥ 10); 3 disabled men
	// (hidden, with their total); 11 poor men, hidden too so that the achieved
	// value minus the totals shown cannot give the 3 away.
	r = b.call(t, "POST", "/v1/tenants/milano/indicator-assignments/"+as+"/measurements", chiara, `{"period":"2026-Q2","value":61,"evidence":"PAI",
		"people":[{"ageBand":"75+","gender":"female","vulnerability":"elderly_alone","count":12},{"ageBand":"75+","gender":"male","vulnerability":"elderly_alone","count":15},
		{"ageBand":"65-74","gender":"male","vulnerability":"disability","count":3},{"ageBand":"65-74","gender":"male","vulnerability":"poverty","count":11}]}`)
	want(t, r, 201, "")
	want(t, b.call(t, "POST", "/v1/tenants/milano/measurements/"+r.body["id"].(string)+"/decision", officer, `{"status":"verified"}`), 200, "")

	publish := `{"pilotId":"` + pilotID + `","title":"Custodi sociali per anziani soli","problem":"Anziani soli senza rete","approach":"Visite settimanali",
		"costCents":12000000,"whatWentWrong":"Pochi volontari","policyArea":"elderly","evidenceLinks":["https://comune.milano.it/valutazione.pdf"]}`
	r = b.call(t, "POST", "/v1/tenants/milano/pilots/"+pilotID+"/start", officer, "", "If-Match", `"1"`)
	want(t, r, 200, "")
	want(t, b.call(t, "POST", "/v1/tenants/milano/practices", officer, publish), 409, "pilot_not_decided")
	r = b.call(t, "POST", "/v1/tenants/milano/pilots/"+pilotID+"/evaluate", officer, "", "If-Match", r.header.Get("ETag"))
	want(t, r, 200, "")
	want(t, b.call(t, "POST", "/v1/tenants/milano/pilots/"+pilotID+"/decide", officer, `{"decision":"stop","note":"Costi alti"}`, "If-Match", r.header.Get("ETag")), 200, "")

	// Bergamo cannot publish Milan's pilot, in its tenant or in Milan's.
	want(t, b.call(t, "POST", "/v1/tenants/bergamo/practices", bergamo, publish), 404, "pilot_not_found")
	want(t, b.call(t, "POST", "/v1/tenants/milano/practices", bergamo, publish), 401, "")
	want(t, b.call(t, "POST", "/v1/tenants/milano/practices", officer, strings.Replace(publish, `"elderly"`, `"sport"`, 1)), 422, "")
	r = b.call(t, "POST", "/v1/tenants/milano/practices", officer, publish)
	want(t, r, 201, "")
	id := r.body["id"].(string)
	tag := r.header.Get("ETag")
	if r.body["outcome"] != "stop" || r.body["status"] != "published" || tag != `"1"` {
		t.Fatalf("practice: %v %s", r.body, tag)
	}
	want(t, b.call(t, "POST", "/v1/tenants/milano/practices", officer, publish), 409, "practice_already_published")

	// Edits need If-Match; another tenant's officer finds nothing.
	edit := `{"title":"Custodi sociali per anziani soli","problem":"Anziani soli senza rete","approach":"Visite settimanali","costCents":12500000,"policyArea":"elderly"}`
	want(t, b.call(t, "PUT", "/v1/tenants/milano/practices/"+id, officer, edit), 428, "if_match_required")
	want(t, b.call(t, "PUT", "/v1/tenants/milano/practices/"+id, officer, edit, "If-Match", `"7"`), 412, "")
	want(t, b.call(t, "PUT", "/v1/tenants/bergamo/practices/"+id, bergamo, edit, "If-Match", tag), 404, "practice_not_found")
	want(t, b.call(t, "POST", "/v1/tenants/bergamo/practices/"+id+"/withdraw", bergamo, "", "If-Match", tag), 404, "practice_not_found")
	r = b.call(t, "PUT", "/v1/tenants/milano/practices/"+id, officer, edit, "If-Match", tag)
	want(t, r, 200, "")
	if r.body["costCents"] != float64(12500000) || r.header.Get("ETag") != `"2"` {
		t.Errorf("update: %v", r.body)
	}

	// The public catalogue, without login: only counts disclosure control lets through.
	r = b.call(t, "GET", "/v1/public/practices?region=regione-lombardia&outcome=stop&sdgTarget=10.2&q=volontari+OR", "", "")
	want(t, r, 200, "")
	if items := r.body["items"].([]any); len(items) != 0 {
		t.Errorf("text that matches nothing found %d", len(items))
	}
	r = b.call(t, "GET", "/v1/public/practices?region=regione-lombardia&outcome=stop&sdgTarget=10.2&besDomain=social_relationships&q=VISITE", "", "")
	want(t, r, 200, "")
	items := r.body["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["id"] != id {
		t.Fatalf("catalogue: %v", r.body)
	}
	doc := jsonOf(items[0])
	if !strings.Contains(doc, `"count":12`) || !strings.Contains(doc, `"count":15`) || strings.Contains(doc, `"count":3`) ||
		strings.Contains(doc, `"count":11`) || strings.Contains(doc, `"poverty":11`) || !strings.Contains(doc, `"achieved":61`) {
		t.Errorf("disclosure control in the catalogue: %s", doc)
	}
	want(t, b.call(t, "GET", "/v1/public/practices?outcome=scale", "", ""), 200, "")
	want(t, b.call(t, "GET", "/v1/public/practices?sdgTarget=99.9", "", ""), 422, "invalid_practice")
	want(t, b.call(t, "GET", "/v1/public/practices?region=atlantide", "", ""), 404, "")

	// Bergamo replicates it: a draft call of its own, pre-filled; Milan cannot replicate its own.
	want(t, b.call(t, "POST", "/v1/tenants/milano/practice-replications", officer, `{"practiceId":"`+id+`"}`), 409, "own_practice")
	r = b.call(t, "POST", "/v1/tenants/bergamo/practice-replications", bergamo, `{"practiceId":"`+id+`"}`)
	want(t, r, 201, "")
	c := r.body["call"].(map[string]any)
	rep := r.body["replication"].(map[string]any)
	if c["status"] != "draft" || c["policyArea"] != "elderly" || !strings.HasPrefix(c["title"].(string), "Replica: ") ||
		len(rep["template"].(map[string]any)["indicators"].([]any)) != 1 {
		t.Fatalf("replication: %v", r.body)
	}
	want(t, b.call(t, "GET", "/v1/tenants/bergamo/calls/"+c["id"].(string), bergamo, ""), 200, "")
	want(t, b.call(t, "GET", "/v1/tenants/bergamo/practice-replications/"+rep["id"].(string), bergamo, ""), 200, "")
	want(t, b.call(t, "GET", "/v1/tenants/milano/practice-replications/"+rep["id"].(string), officer, ""), 404, "replication_not_found")

	// Its copy of the indicators and rules goes onto an agreement that follows the replicated call.
	r = b.call(t, "POST", "/v1/tenants/bergamo/agreements", bergamo, `{"title":"Convenzione custodi sociali","objectives":["Ridurre l'isolamento"],
		"callId":"`+c["id"].(string)+`","parties":[{"organisationId":"`+org+`","role":"lead","budgetShareCents":20000000}],
		"start":"2027-01-01T00:00:00Z","end":"2028-12-31T00:00:00Z","paymentMode":"mixed",
		"budget":{"publicCents":20000000,"outcomeCents":2000000,"cofundingCashCents":0,"cofundingInKindCents":0},
		"schedule":[{"label":"anticipo","percent":30},{"label":"saldo","percent":70}]}`)
	want(t, r, 201, "")
	apply := `{"agreementId":"` + r.body["id"].(string) + `","indicators":[{"code":"elderly_alone_home_care",
		"baseline":{"value":25,"date":"2026-12-31T00:00:00Z","source":"SIUSS Bergamo"},"targets":[{"period":"2027-Q4","value":60}]}]}`
	want(t, b.call(t, "POST", "/v1/tenants/milano/practice-replications/"+rep["id"].(string)+"/apply", officer, apply), 404, "replication_not_found")
	r = b.call(t, "POST", "/v1/tenants/bergamo/practice-replications/"+rep["id"].(string)+"/apply", bergamo, apply)
	want(t, r, 201, "")
	if as, rules := r.body["assignments"].([]any), r.body["rules"].([]any); len(as) != 1 || len(rules) != 1 ||
		rules[0].(map[string]any)["baseline"] != float64(25) || rules[0].(map[string]any)["unitPriceCents"] != float64(5000) {
		t.Errorf("applied template: %v", r.body)
	}

	r = b.call(t, "GET", "/v1/public/practices/"+id, "", "")
	want(t, r, 200, "")
	reps := r.body["replications"].([]any)
	if len(reps) != 1 || reps[0].(map[string]any)["municipality"].(map[string]any)["slug"] != "bergamo" {
		t.Errorf("replications: %v", r.body["replications"])
	}
	want(t, b.call(t, "GET", "/v1/public/practices/"+id, "", "", "If-None-Match", r.header.Get("ETag")), 304, "")

	// Withdrawn: gone from the catalogue.
	want(t, b.call(t, "POST", "/v1/tenants/milano/practices/"+id+"/withdraw", officer, "", "If-Match", `"2"`), 200, "")
	want(t, b.call(t, "GET", "/v1/public/practices/"+id, "", ""), 404, "practice_not_found")
}
