package main

import (
	"strings"
	"testing"
	"time"
)

func TestCoprogrammingAndInitiativesOverHTTP(t *testing.T) {
	t.Parallel()
	b := setupAuth(t)
	officer := b.idpA.AccessToken(t, "coprod-milano", "anna").AccessToken
	officerBergamo := b.idpB.AccessToken(t, "coprod-bergamo", "anna").AccessToken
	chiara := b.idpP.AccessToken(t, "coprod-platform", "chiara").AccessToken
	olga := b.idpP.AccessToken(t, "coprod-platform", "olga").AccessToken
	today := time.Now().UTC().Format(time.DateOnly)

	r := b.call(t, "POST", "/v1/organisations", chiara, `{"fiscalCode":"04123456784","legalName":"Coop Esempio","legalForm":"social_cooperative"}`)
	want(t, r, 201, "")
	org := r.body["id"].(string)

	// Co-programming: drafted and opened by the officer.
	process := `{"title":"Anziani soli","policyArea":"elderly","territory":["015146"],"periodFrom":"2026-01-01","periodTo":"2026-12-31"}`
	want(t, b.call(t, "POST", "/v1/tenants/milano/co-programming", chiara, process), 403, "forbidden")
	r = b.call(t, "POST", "/v1/tenants/milano/co-programming", officer, process)
	want(t, r, 201, "")
	path := "/v1/tenants/milano/co-programming/" + r.body["id"].(string)
	want(t, b.call(t, "GET", path, chiara, ""), 404, "coprogramming_not_found") // a draft exists for staff only
	want(t, b.call(t, "POST", path+"/open", officer, "", "If-Match", `"9"`), 412, "stale_version")
	want(t, b.call(t, "POST", path+"/open", officer, "", "If-Match", r.header.Get("ETag")), 200, "")
	want(t, b.call(t, "GET", "/v1/tenants/bergamo/co-programming/"+strings.TrimPrefix(path, "/v1/tenants/milano/co-programming/"), officerBergamo, ""), 404, "coprogramming_not_found")

	// Contributions: the organisation's members only; citizens with at most a name.
	contribution := `{"organisationId":"` + org + `","needs":"Compagnia serale","resources":"Due educatori"}`
	want(t, b.call(t, "POST", path+"/contributions", olga, contribution), 403, "forbidden")
	want(t, b.call(t, "POST", path+"/contributions", chiara, contribution), 201, "")
	want(t, b.call(t, "POST", path+"/citizen-contributions", officer, `{"name":"Maria","email":"maria@example.it","needs":"Bus"}`), 422, "validation_failed")
	want(t, b.call(t, "POST", path+"/citizen-contributions", officer, `{"name":"maria@example.it","needs":"Bus"}`), 422, "personal_data_refused")
	want(t, b.call(t, "POST", path+"/citizen-contributions", officer, `{"name":"Maria","needs":"Bus serali"}`), 201, "")
	r = b.call(t, "GET", path+"/contributions", chiara, "")
	if want(t, r, 200, ""); len(r.body["items"].([]any)) != 1 {
		t.Errorf("the organisation sees %v, want its own contribution only", r.body["items"])
	}

	// Outputs by a formal act, public without login; a call drafted from them.
	want(t, b.call(t, "POST", path+"/close", officer, ""), 200, "")
	outputs := `{"outputs":{"priorities":["Compagnia serale"],"resources":["Sede di via Roma"],"summary":"Bisogni e risorse"},
		"act":{"kind":"decision","number":"DG 45/2026","date":"` + today + `","url":"https://comune.milano.it/atti/45"}}`
	want(t, b.call(t, "POST", path+"/publish", officer, outputs), 200, "")
	pub := b.call(t, "GET", "/v1/public/municipalities/milano/co-programming", "", "")
	want(t, pub, 200, "")
	if items := pub.body["items"].([]any); len(items) != 1 || items[0].(map[string]any)["act"].(map[string]any)["number"] != "DG 45/2026" || pub.header.Get("ETag") == "" {
		t.Fatalf("public outputs: %v", pub.body)
	}
	r = b.call(t, "POST", path+"/calls", officer, "")
	want(t, r, 201, "")
	if r.body["status"] != "draft" || r.body["policyArea"] != "elderly" {
		t.Errorf("drafted call: %v", r.body)
	}
	callID := r.body["id"].(string)
	if p := b.call(t, "GET", path, chiara, ""); p.body["calls"].([]any)[0] != callID {
		t.Errorf("the process does not link its call: %v", p.body)
	}

	// Initiatives: proposed by a member; public register without personal data.
	initiative := `{"organisationId":"` + org + `","title":"Orti sociali","problem":"Isolamento","targetGroup":"Over 75","approach":"Orti condivisi","partners":["ACLI"]}`
	want(t, b.call(t, "POST", "/v1/tenants/milano/initiatives", olga, initiative), 403, "forbidden")
	r = b.call(t, "POST", "/v1/tenants/milano/initiatives", chiara, initiative)
	want(t, r, 201, "")
	ipath := "/v1/tenants/milano/initiatives/" + r.body["id"].(string)
	want(t, b.call(t, "GET", strings.Replace(ipath, "milano", "bergamo", 1), officerBergamo, ""), 404, "initiative_not_found")
	want(t, b.call(t, "POST", ipath+"/decline", officer, `{"reason":"fuori ambito"}`), 409, "triage_deadline_required")
	want(t, b.call(t, "POST", ipath+"/triage-deadline", officer, `{"deadline":"`+time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)+`"}`), 422, "invalid_triage_deadline")
	want(t, b.call(t, "POST", ipath+"/triage-deadline", officer, `{"deadline":"`+time.Now().Add(72*time.Hour).UTC().Format(time.RFC3339)+`"}`), 200, "")
	want(t, b.call(t, "POST", ipath+"/decline", officer, `{"reason":""}`), 422, "reason_required")
	want(t, b.call(t, "POST", ipath+"/decline", officer, `{"reason":"Già coperto dal servizio comunale"}`), 200, "")
	reg := b.call(t, "GET", "/v1/public/municipalities/milano/initiatives", "", "")
	want(t, reg, 200, "")
	items := reg.body["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("register: %v", reg.body)
	}
	entry := items[0].(map[string]any)
	if entry["status"] != "declined" || entry["declineReason"] != "Già coperto dal servizio comunale" || entry["organisation"] != "Coop Esempio" {
		t.Errorf("register entry: %v", entry)
	}
	if again := b.call(t, "GET", "/v1/public/municipalities/milano/initiatives", "", "", "If-None-Match", reg.header.Get("ETag")); again.status != 304 {
		t.Errorf("unchanged register with If-None-Match: %d, want 304", again.status)
	}
	if _, ok := entry["proposedBy"]; ok {
		t.Errorf("the register shows who proposed: %v", entry)
	}
	want(t, b.call(t, "GET", "/v1/public/municipalities/nowhere/initiatives", "", ""), 404, "tenant_not_found")
}
