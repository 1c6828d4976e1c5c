package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"
)

// The live OpenAPI document, as much of it as the probes need.
type oaDoc struct {
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas map[string]*oaSchema `json:"schemas"`
	} `json:"components"`
}

type oaParam struct {
	Name     string    `json:"name"`
	In       string    `json:"in"`
	Required bool      `json:"required"`
	Schema   *oaSchema `json:"schema"`
}

type oaSchema struct {
	Ref              string               `json:"$ref"`
	Type             any                  `json:"type"`
	Format           string               `json:"format"`
	Enum             []any                `json:"enum"`
	Required         []string             `json:"required"`
	Properties       map[string]*oaSchema `json:"properties"`
	Items            *oaSchema            `json:"items"`
	MinItems         *int                 `json:"minItems"`
	MinLength        *int                 `json:"minLength"`
	Minimum          *float64             `json:"minimum"`
	ExclusiveMinimum *float64             `json:"exclusiveMinimum"`
	Maximum          *float64             `json:"maximum"`
	ReadOnly         bool                 `json:"readOnly"`
}

// operation is one operation of the document.
type operation struct {
	ID, Method, Path string
	Params           []oaParam
	Body             *oaSchema // JSON request body, if any
	Raw              bool      // a raw (non-JSON) request body: uploads
}

func (o operation) write() bool { return o.Method != "GET" && o.Method != "HEAD" }

// liveOperations reads /openapi.json from the running server.
func (f *matrixFixture) liveOperations(t *testing.T) (*oaDoc, []operation) {
	t.Helper()
	res, err := f.srv.Client().Get(f.base + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var doc oaDoc
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	var ops []operation
	for path, item := range doc.Paths {
		for method, raw := range item {
			m := strings.ToUpper(method)
			switch m {
			case "GET", "POST", "PUT", "PATCH", "DELETE":
			default:
				continue
			}
			var o struct {
				OperationID string    `json:"operationId"`
				Parameters  []oaParam `json:"parameters"`
				RequestBody *struct {
					Content map[string]struct {
						Schema *oaSchema `json:"schema"`
					} `json:"content"`
				} `json:"requestBody"`
			}
			if err := json.Unmarshal(raw, &o); err != nil {
				t.Fatal(err)
			}
			op := operation{ID: o.OperationID, Method: m, Path: path, Params: o.Parameters}
			if o.RequestBody != nil {
				if c, ok := o.RequestBody.Content["application/json"]; ok {
					op.Body = c.Schema
				} else {
					op.Raw = true
				}
			}
			ops = append(ops, op)
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].ID < ops[j].ID })
	return &doc, ops
}

func (d *oaDoc) resolve(s *oaSchema) *oaSchema {
	for s != nil && s.Ref != "" {
		s = d.Components.Schemas[strings.TrimPrefix(s.Ref, "#/components/schemas/")]
	}
	return s
}

func (s *oaSchema) typ() string {
	switch t := s.Type.(type) {
	case string:
		return t
	case []any:
		for _, x := range t {
			if x != "null" {
				return fmt.Sprint(x)
			}
		}
	}
	if s.Properties != nil {
		return "object"
	}
	return ""
}

// minimal is a small value valid for s: required properties only, the first
// enum value, a value of the format, the minimum; id fields name A's objects.
func (f *matrixFixture) minimal(d *oaDoc, s *oaSchema, name string) any {
	s = d.resolve(s)
	if s == nil {
		return nil
	}
	if len(s.Enum) > 0 {
		return s.Enum[0]
	}
	if t := s.typ(); t == "string" && (s.Format == "uuid" || strings.HasSuffix(name, "Id") || name == "id" || name == "into") {
		return f.idFor(name)
	}
	switch s.typ() {
	case "object":
		out := map[string]any{}
		for _, p := range s.Required {
			if ps := d.resolve(s.Properties[p]); ps != nil && !ps.ReadOnly {
				out[p] = f.minimal(d, ps, p)
			}
		}
		return out
	case "array":
		out := []any{}
		if s.MinItems != nil {
			for i := 0; i < *s.MinItems; i++ {
				out = append(out, f.minimal(d, s.Items, strings.TrimSuffix(name, "s")))
			}
		}
		return out
	case "integer", "number":
		v := 1.0
		if s.Minimum != nil {
			v = *s.Minimum
		}
		if s.ExclusiveMinimum != nil {
			v = *s.ExclusiveMinimum + 1
		}
		if s.Maximum != nil && v > *s.Maximum {
			v = *s.Maximum
		}
		return v
	case "boolean":
		return false
	case "string":
		switch s.Format {
		case "uuid":
			return f.idFor(name)
		case "date":
			return time.Now().UTC().AddDate(0, 1, 0).Format(time.DateOnly)
		case "date-time":
			return time.Now().UTC().AddDate(0, 1, 0).Format(time.RFC3339)
		case "email":
			return "nuovo@example.it"
		case "uri":
			return "https://example.it/atto"
		}
		if v, ok := minimalStrings[name]; ok {
			return v
		}
		v := "Prova"
		if s.MinLength != nil && *s.MinLength > len(v) {
			v = strings.Repeat("x", *s.MinLength)
		}
		return v
	}
	return nil
}

// minimalStrings are values of fields whose format is a rule of the domain.
var minimalStrings = map[string]string{
	"fiscalCode": "06345678905", "istatCode": "015147", "siteIstatCode": "015146", "period": "2026-Q4",
	"slug": "brescia", "code": "matrix_probe", "reason": "Motivazione della prova", "region": "regione-lombardia", "indicator": "elderly_alone_home_care",
}

// idFor names one of A's objects for an id field (callId → the call).
func (f *matrixFixture) idFor(name string) string {
	switch name {
	case "organisationId", "leadOrganisationId", "organisationIds", "organisationI", "participant", "participants":
		return f.orgs.party
	case "into":
		return f.params["initiative2"]
	case "userId":
		return f.params["user"]
	}
	if v, ok := f.params[strings.TrimSuffix(name, "Id")]; ok {
		return v
	}
	return f.params["call"]
}

// probe is one request of the matrix: an operation as a principal.
type probe struct {
	status int
	body   []byte
	header http.Header
}

// request builds op's request with A's objects in the path, the minimal
// body (or override), required headers and queries.
func (f *matrixFixture) request(t *testing.T, d *oaDoc, op operation, w who, body any) *http.Request {
	t.Helper()
	path := op.Path
	q := url.Values{}
	hdr := http.Header{}
	for _, p := range op.Params {
		v, ok := f.paramFor(op.ID, p.Name)
		if !ok && p.Required {
			v = fmt.Sprint(f.minimal(d, p.Schema, p.Name))
		}
		switch p.In {
		case "path":
			path = strings.ReplaceAll(path, "{"+p.Name+"}", url.PathEscape(v))
		case "query":
			if p.Required {
				q.Set(p.Name, v)
			}
		case "header":
			switch p.Name {
			case "If-Match":
				if tag := f.etag(t, path); tag != "" {
					hdr.Set("If-Match", tag)
				}
			case "Idempotency-Key":
				hdr.Set(p.Name, fmt.Sprintf("matrix-%d", time.Now().UnixNano()))
			default:
				if p.Required {
					hdr.Set(p.Name, v)
				}
			}
		}
	}
	var rd io.Reader
	switch {
	case op.Raw:
		rd = strings.NewReader("%PDF-1.7 matrix")
		hdr.Set("Content-Type", "application/octet-stream")
		if !strings.Contains(q.Encode(), "name=") {
			q.Set("name", "matrix.pdf")
		}
	case op.Body != nil:
		if body == nil {
			body = f.bodyFor(d, op)
		}
		raw, _ := json.Marshal(body)
		rd = strings.NewReader(string(raw))
		hdr.Set("Content-Type", "application/json")
	}
	u := f.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(t.Context(), op.Method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = hdr
	if tok := f.tokens[w]; tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return req
}

func (f *matrixFixture) bodyFor(d *oaDoc, op operation) any {
	if b, ok := matrixBodies[op.ID]; ok {
		var v any
		_ = json.Unmarshal([]byte(b(f)), &v)
		return v
	}
	return f.minimal(d, op.Body, "")
}

func (f *matrixFixture) paramFor(opID, name string) (string, bool) {
	if row, ok := matrix[opID]; ok {
		if v, ok := row.p[name]; ok {
			if x, ok := f.params[v]; ok {
				return x, true
			}
			return v, true
		}
	}
	v, ok := f.params[name]
	return v, ok
}

// etag reads the current version of the object at path (or its parent, for
// actions on it) with the staff or operator token, for If-Match.
func (f *matrixFixture) etag(t *testing.T, path string) string {
	for p := path; strings.Count(p, "/") > 2; p = p[:strings.LastIndex(p, "/")] {
		for _, w := range []who{aOfficer, aAdmin, party, operator} {
			r := f.do(t, "GET", p, w)
			if tag := r.header.Get("ETag"); r.status == 200 && tag != "" {
				return tag
			}
		}
	}
	return ""
}

// do sends one request without following redirects and keeps the raw body.
func (f *matrixFixture) do(t *testing.T, method, path string, w who) probe {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, f.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok := f.tokens[w]; tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return f.exchange(t, req)
}

func (f *matrixFixture) exchange(t *testing.T, req *http.Request) probe {
	t.Helper()
	c := *f.srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return probe{status: res.StatusCode, body: b, header: res.Header}
}

// audits counts audit records of every tenant: a refused write adds none.
func (f *matrixFixture) audits(t *testing.T) int {
	t.Helper()
	var n int
	if err := f.super.QueryRow(t.Context(), `SELECT count(*) FROM audit_events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
