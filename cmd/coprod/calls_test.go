package main

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// call sends a JSON request with a bearer token (or none) and extra headers.
func (b *authBundle) call(t *testing.T, method, path, token, body string, hdr ...string) resp {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, b.base+path, strings.NewReader(body))
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
	res, err := b.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	r := resp{status: res.StatusCode, header: res.Header}
	_ = json.NewDecoder(res.Body).Decode(&r.body)
	return r
}

func want(t *testing.T, r resp, status int, code string) {
	t.Helper()
	if r.status != status || (code != "" && r.body["code"] != code) {
		t.Fatalf("got %d %v, want %d %s", r.status, r.body, status, code)
	}
}

func TestCallsAndApplicationsOverHTTP(t *testing.T) {
	t.Parallel()
	b := setupAuth(t)
	officer := b.idpA.AccessToken(t, "coprod-milano", "anna").AccessToken
	chiara := b.idpP.AccessToken(t, "coprod-platform", "chiara").AccessToken
	now := time.Now().UTC()
	draft := `{"title":"Anziani soli","summary":"Servizi di prossimità","policyArea":"elderly","objectives":["Ridurre l'isolamento"],
		"budget":{"publicCents":50000000,"cofundingExpectedCents":0,"maxPerProjectCents":20000000},"durationMonths":24,
		"criteria":[{"code":"quality","name":"Qualità","weight":70,"maxScore":10},{"code":"network","name":"Rete","weight":30,"maxScore":10}],
		"passThreshold":60,"questionsDeadline":"` + now.Add(5*24*time.Hour).Format(time.RFC3339) + `","submissionDeadline":"` + now.Add(25*24*time.Hour).Format(time.RFC3339) + `"}`

	// The platform user cannot draft a call in Milano; Milano's officer can.
	want(t, b.call(t, "POST", "/v1/tenants/milano/calls", chiara, draft), 403, "forbidden")
	r := b.call(t, "POST", "/v1/tenants/milano/calls", officer, draft)
	want(t, r, 201, "")
	callID, tag := r.body["id"].(string), r.header.Get("ETag")
	path := "/v1/tenants/milano/calls/" + callID
	// Drafts are invisible to outsiders, and to the public.
	want(t, b.call(t, "GET", path, chiara, ""), 404, "call_not_found")
	want(t, b.call(t, "GET", "/v1/public/calls/"+callID, "", ""), 404, "call_not_found")
	// Edits need If-Match: missing → 428, stale → 412.
	want(t, b.call(t, "PUT", path, officer, draft), 428, "if_match_required")
	want(t, b.call(t, "PUT", path, officer, draft, "If-Match", `"7"`), 412, "stale_version")
	act := `{"act":{"kind":"call","number":"DD 12/2026","date":"` + now.Format(time.DateOnly) + `","url":"https://comune.milano.it/atti/12"}}`
	r = b.call(t, "POST", path+"/publish", officer, act, "If-Match", tag)
	want(t, r, 200, "")
	if r.body["status"] != "published" || r.body["rulesVersion"] != float64(1) {
		t.Fatalf("published: %v", r.body)
	}
	// Two officers editing at once: the second, with the old ETag, gets 412.
	want(t, b.call(t, "POST", path+"/publish", officer, act, "If-Match", tag), 412, "stale_version")
	// An amendment answers the call as get-call shows it: the same fields,
	// the municipality named.
	am := b.call(t, "POST", path+"/amendments", officer, `{"reason":"Proroga","summary":"Servizi di prossimità, proroga","act":{"kind":"amendment","number":"DD 13/2026","date":"`+
		now.Format(time.DateOnly)+`","url":"https://comune.milano.it/atti/13"}}`, "If-Match", r.header.Get("ETag"))
	want(t, am, 200, "")
	cur := b.call(t, "GET", path, officer, "")
	want(t, cur, 200, "")
	if m, ok := cur.body["municipality"].(map[string]any); !ok || m["slug"] != "milano" || m["name"] == "" || m["regionId"] == uuid.Nil.String() {
		t.Errorf("get-call's municipality: %v", cur.body["municipality"])
	}
	if jsonOf(am.body["municipality"]) != jsonOf(cur.body["municipality"]) || am.body["rulesVersion"] != float64(2) || am.header.Get("ETag") != cur.header.Get("ETag") {
		t.Errorf("amend-call answered %v (ETag %s), get-call %v (ETag %s)", am.body, am.header.Get("ETag"), cur.body, cur.header.Get("ETag"))
	}
	for k := range cur.body {
		if _, ok := am.body[k]; !ok {
			t.Errorf("amend-call's answer has no %q", k)
		}
	}

	// Transparency: no login, ETag, 304.
	pub := b.call(t, "GET", "/v1/public/calls?open=true&municipality=milano&q=anziani", "", "")
	want(t, pub, 200, "")
	if items := pub.body["items"].([]any); len(items) != 1 || pub.header.Get("Cache-Control") == "" || pub.header.Get("ETag") == "" {
		t.Fatalf("public list: %v %v", pub.body, pub.header)
	}
	if r := b.call(t, "GET", "/v1/public/calls?open=true&municipality=milano&q=anziani", "", "", "If-None-Match", pub.header.Get("ETag")); r.status != 304 {
		t.Errorf("If-None-Match: %d", r.status)
	}

	// Chiara registers her organisation and applies.
	r = b.call(t, "POST", "/v1/organisations", chiara, `{"fiscalCode":"04123456784","legalName":"Coop Esempio","legalForm":"social_cooperative"}`)
	want(t, r, 201, "")
	org := r.body["id"].(string)
	want(t, b.call(t, "POST", "/v1/organisations", chiara, `{"fiscalCode":"04123456785","legalName":"X","legalForm":"association"}`), 422, "invalid_fiscal_code")
	want(t, b.call(t, "POST", "/v1/organisations", chiara, `{"fiscalCode":"04123456784","legalName":"Copia","legalForm":"association"}`), 409, "organisation_fiscal_code_taken")
	r = b.call(t, "POST", path+"/applications", chiara, `{"leadOrganisationId":"`+org+`"}`)
	want(t, r, 201, "")
	app, atag := r.body["id"].(string), r.header.Get("ETag")
	apath := "/v1/tenants/milano/applications/" + app
	content := `{"title":"Vicini di casa","sections":[{"key":"problem","title":"Problema","body":"Isolamento"}],
		"budget":[{"description":"Educatori","category":"staff","amountCents":10000000,"funding":"public"}],
		"declarations":{"noExclusionGrounds":true,"truthfulInformation":true,"privacyNotice":true}}`
	r = b.call(t, "PUT", apath, chiara, content, "If-Match", atag)
	want(t, r, 200, "")
	// Mass assignment: a status in the body is an unknown field, refused.
	want(t, b.call(t, "PUT", apath, chiara, `{"title":"x","status":"submitted"}`, "If-Match", r.header.Get("ETag")), 422, "validation_failed")
	// Upload an attachment (raw body).
	up, err := http.NewRequestWithContext(t.Context(), "POST", b.base+apath+"/attachments?name=progetto.pdf", strings.NewReader("%PDF-1.7 test"))
	if err != nil {
		t.Fatal(err)
	}
	up.Header.Set("Authorization", "Bearer "+chiara)
	up.Header.Set("Content-Type", "application/octet-stream")
	res, err := b.srv.Client().Do(up)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("upload: %d", res.StatusCode)
	}
	// The same as multipart/form-data; an over-limit file is refused whichever way it comes.
	var mp strings.Builder
	w := multipart.NewWriter(&mp)
	fw, _ := w.CreateFormFile("file", "foto.png")
	fw.Write([]byte("\x89PNG\r\n\x1a\n0000"))
	w.Close()
	up, _ = http.NewRequestWithContext(t.Context(), "POST", b.base+apath+"/attachments", strings.NewReader(mp.String()))
	up.Header.Set("Authorization", "Bearer "+chiara)
	up.Header.Set("Content-Type", w.FormDataContentType())
	if res, err = b.srv.Client().Do(up); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	_ = json.NewDecoder(res.Body).Decode(&got)
	res.Body.Close()
	if res.StatusCode != 201 || got["contentType"] != "image/png" || got["name"] != "foto.png" {
		t.Errorf("multipart upload: %d %v", res.StatusCode, got)
	}
	// A multipart file of exactly the file limit (20 MiB) is accepted; one
	// byte more is a 413 file_too_large.
	for _, tc := range []struct {
		size   int
		status int
		code   string
	}{{20 << 20, 201, ""}, {20<<20 + 1, 413, "file_too_large"}} {
		body, ct := multipartFile(tc.size)
		up, _ = http.NewRequestWithContext(t.Context(), "POST", b.base+apath+"/attachments", bytes.NewReader(body))
		up.Header.Set("Authorization", "Bearer "+chiara)
		up.Header.Set("Content-Type", ct)
		if res, err = b.srv.Client().Do(up); err != nil {
			t.Fatal(err)
		}
		got = nil
		_ = json.NewDecoder(res.Body).Decode(&got)
		res.Body.Close()
		if res.StatusCode != tc.status || tc.code != "" && got["code"] != tc.code || tc.code == "" && got["size"] != float64(tc.size) {
			t.Errorf("multipart file of %d bytes: %d %v, want %d %s", tc.size, res.StatusCode, got, tc.status, tc.code)
		}
	}
	big := strings.Repeat("a", maxUploadBytesForTest+1)
	up, _ = http.NewRequestWithContext(t.Context(), "POST", b.base+apath+"/attachments?name=big.txt", strings.NewReader(big))
	up.Header.Set("Authorization", "Bearer "+chiara)
	up.Header.Set("Content-Type", "application/octet-stream")
	if res, err = b.srv.Client().Do(up); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 413 {
		t.Errorf("oversize upload: %d", res.StatusCode)
	}
	// Submit twice with the same Idempotency-Key: one submission, the same receipt.
	s1 := b.call(t, "POST", apath+"/submit", chiara, "", "Idempotency-Key", "k-123")
	want(t, s1, 200, "")
	s2 := b.call(t, "POST", apath+"/submit", chiara, "", "Idempotency-Key", "k-123")
	want(t, s2, 200, "")
	r1, r2 := s1.body["receipt"].(map[string]any), s2.body["receipt"].(map[string]any)
	if r1["sha256"] == nil || r1["sha256"] != r2["sha256"] || r1["submittedAt"] != r2["submittedAt"] || s1.body["version"] != s2.body["version"] {
		t.Errorf("idempotent submission: %v / %v", s1.body, s2.body)
	}
	want(t, b.call(t, "POST", apath+"/submit", chiara, ""), 409, "application_not_draft")
	// Milano's officer reads it; Bergamo's token is refused outright.
	want(t, b.call(t, "GET", apath, officer, ""), 200, "")
	bergamo := b.idpB.AccessToken(t, "coprod-bergamo", "anna").AccessToken
	want(t, b.call(t, "GET", apath, bergamo, ""), 401, "invalid_token")
	want(t, b.call(t, "GET", "/v1/tenants/bergamo/applications/"+app, bergamo, ""), 404, "application_not_found")

	// A question before the deadline, answered and published in the FAQ.
	r = b.call(t, "POST", path+"/questions", chiara, `{"organisationId":"`+org+`","text":"Sono ammesse le ATS?"}`)
	want(t, r, 201, "")
	want(t, b.call(t, "PUT", "/v1/tenants/milano/questions/"+r.body["id"].(string)+"/answer", officer, `{"answer":"Sì.","publish":true}`), 200, "")
	pc := b.call(t, "GET", "/v1/public/calls/"+callID, "", "")
	if faq := pc.body["faq"].([]any); len(faq) != 1 || strings.Contains(jsonOf(pc.body), org) {
		t.Errorf("public FAQ (no organisation ids): %v", pc.body["faq"])
	}
	// The audit trail of the application, for the officer.
	tr := b.call(t, "GET", "/v1/tenants/milano/audit-events?object="+app, officer, "")
	if items := tr.body["items"].([]any); tr.status != 200 || len(items) < 3 {
		t.Errorf("application trail: %d %v", tr.status, tr.body)
	}
}

// maxUploadBytesForTest is the request limit of uploads (httpapi's maxUploadBytes).
const maxUploadBytesForTest = 21 << 20
