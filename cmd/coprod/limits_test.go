package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/adapters/postgres/postgrestest"
	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/tenants"
)

// wiredServer is the whole service (every route registered) behind an
// httptest server, with an active region and municipality.
func wiredServer(t *testing.T, kv ...string) (*httptest.Server, *services) {
	t.Helper()
	db := postgrestest.New(t)
	cfg, _, err := loadConfig("test", env(append([]string{"COPROD_DATABASE_URL", db.AppURL, "COPROD_SECRETS_KEY", strings.Repeat("ab", 32),
		"COPROD_BLOB_DIR", t.TempDir(), "COPROD_BOOTSTRAP_TOKEN", testToken}, kv...)...), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := wire(cfg, db.App, slog.New(slog.DiscardHandler), false)
	if err != nil {
		t.Fatal(err)
	}
	remember(t, svc, db.App)
	op := domain.WithPrincipal(t.Context(), domain.Principal{Subject: "test-op", Roles: []domain.Role{domain.RolePlatformOperator}})
	if _, err := svc.tenants.Create(op, tenants.CreateInput{Slug: "regione-lombardia", Name: "Lombardia", Kind: tenants.KindRegion, ISTATCode: "03"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.tenants.Create(op, tenants.CreateInput{Slug: "milano", Name: "Milano", Kind: tenants.KindMunicipality, ISTATCode: "015146", Region: "regione-lombardia"}); err != nil {
		t.Fatal(err)
	}
	for _, slug := range []string{"regione-lombardia", "milano"} {
		if _, err := svc.tenants.ChangeStatus(op, slug, "activate", "", 0); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(svc.handler)
	t.Cleanup(srv.Close)
	return srv, svc
}

type limitResp struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func send(t *testing.T, method, url, contentType string, body []byte) limitResp {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := limitResp{status: res.StatusCode, header: res.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &out.body)
	return out
}

func firstLocation(r limitResp) string {
	errs, _ := r.body["errors"].([]any)
	if len(errs) == 0 {
		return ""
	}
	e, _ := errs[0].(map[string]any)
	s, _ := e["location"].(string)
	return s
}

// Every list operation of the live OpenAPI document (every route
// registered, as in production) refuses a page size over its maximum with
// a 422 naming query.limit, and accepts its maximum: a new list is covered
// without touching this test.
func TestPageSizeOverMaximumOnEveryList(t *testing.T) {
	t.Parallel()
	srv, _ := wiredServer(t)
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
			Parameters  []struct {
				Name, In string
				Schema   struct{ Maximum *float64 }
			}
			Responses map[string]struct {
				Content map[string]struct {
					Schema struct {
						Ref string `json:"$ref"`
					}
				}
			}
		}
		Components struct {
			Schemas map[string]struct {
				Properties map[string]any
			}
		}
	}
	if r := send(t, "GET", srv.URL+"/openapi.json", "", nil); r.status != 200 {
		t.Fatalf("openapi.json: %d", r.status)
	} else if err := json.Unmarshal([]byte(r.raw), &doc); err != nil {
		t.Fatal(err)
	}
	var lists []string
	for path, ops := range doc.Paths {
		for method, op := range ops {
			var maximum *float64
			hasLimit := false
			for _, p := range op.Parameters {
				if p.In == "query" && p.Name == "limit" {
					hasLimit, maximum = true, p.Schema.Maximum
				}
			}
			// A paginated answer (nextCursor) must take a bounded limit.
			for _, c := range op.Responses["200"].Content {
				name := strings.TrimPrefix(c.Schema.Ref, "#/components/schemas/")
				if _, paged := doc.Components.Schemas[name].Properties["nextCursor"]; paged && !hasLimit {
					t.Errorf("%s (%s %s) pages with nextCursor but takes no limit", op.OperationID, method, path)
				}
			}
			if !hasLimit {
				continue
			}
			if maximum == nil {
				t.Errorf("%s (%s %s): limit has no maximum", op.OperationID, method, path)
				continue
			}
			lists = append(lists, op.OperationID)
			url := srv.URL + strings.ReplaceAll(path, "{tenant}", "milano")
			for strings.Contains(url, "{") {
				i, j := strings.Index(url, "{"), strings.Index(url, "}")
				url = url[:i] + uuid.NewString() + url[j+1:]
			}
			t.Run(op.OperationID, func(t *testing.T) {
				over := send(t, strings.ToUpper(method), url+"?limit="+strconv.Itoa(int(*maximum)+1), "", nil)
				if over.status != 422 || over.body["code"] != "validation_failed" || firstLocation(over) != "query.limit" {
					t.Errorf("limit=%d: %d %s, want 422 validation_failed at query.limit", int(*maximum)+1, over.status, over.raw)
				}
				// At the maximum the page size is not what is refused (the
				// placeholder ids may well be 404).
				at := send(t, strings.ToUpper(method), url+"?limit="+strconv.Itoa(int(*maximum)), "", nil)
				if at.status >= 500 || firstLocation(at) == "query.limit" {
					t.Errorf("limit=%d: %d %s", int(*maximum), at.status, at.raw)
				}
			})
		}
	}
	t.Logf("%d list operations: %s", len(lists), strings.Join(lists, ", "))
	if len(lists) < 9 {
		t.Errorf("found %d list operations in the OpenAPI document, want at least 9", len(lists))
	}
}

// An upload one byte over its request limit (21 MiB, the file plus the
// multipart framing) is a 413 problem before any handler reads it.
func TestUploadRequestOverLimit(t *testing.T) {
	t.Parallel()
	srv, _ := wiredServer(t)
	empty, _ := multipartFile(0)
	body, ct := multipartFile(maxUploadBytesForTest + 1 - len(empty))
	if len(body) != maxUploadBytesForTest+1 {
		t.Fatalf("multipart body of %d bytes, want %d", len(body), maxUploadBytesForTest+1)
	}
	r := send(t, "POST", srv.URL+"/v1/tenants/milano/applications/"+uuid.NewString()+"/attachments", ct, body)
	if r.status != 413 || r.body["code"] != "body_too_large" || r.header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("upload of limit+1 bytes: %d %s, want 413 body_too_large", r.status, r.raw)
	}
}

// multipartFile is a multipart/form-data body with one file of size bytes
// and a fixed boundary, so its framing has a known length.
func multipartFile(size int) ([]byte, string) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	_ = w.SetBoundary(strings.Repeat("x", 30))
	fw, _ := w.CreateFormFile("file", "big.txt")
	_, _ = fw.Write(bytes.Repeat([]byte("a"), size))
	_ = w.Close()
	return b.Bytes(), w.FormDataContentType()
}

// A client that trickles its headers (slowloris) is cut by the real
// `coprod serve` at COPROD_READ_HEADER_TIMEOUT, while others are served.
func TestSlowHeaderClientIsCut(t *testing.T) {
	t.Parallel()
	db := postgrestest.New(t)
	base, stop := started(t, env("COPROD_DATABASE_URL", db.AppURL, "COPROD_LISTEN", "127.0.0.1:0", "COPROD_BOOTSTRAP_TOKEN", testToken,
		"COPROD_SECRETS_KEY", strings.Repeat("0f", 32), "COPROD_READ_HEADER_TIMEOUT", "1s"), "serve")
	defer func() {
		if err := stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	}()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() { // one header line every 100 ms, never the blank line that ends them
		if _, err := io.WriteString(conn, "GET /v1/tenants HTTP/1.1\r\nHost: coprod\r\n"); err != nil {
			return
		}
		for i := 0; ctx.Err() == nil; i++ {
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			if _, err := io.WriteString(conn, "X-Slow-"+strconv.Itoa(i)+": a\r\n"); err != nil {
				return
			}
		}
	}()
	// Meanwhile a normal client is served.
	if status, _ := get(t, base+"/readyz", ""); status != 200 {
		t.Errorf("readyz while a slow client trickles: %d", status)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := conn.Read(make([]byte, 1024))
	took := time.Since(start)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server kept the slow client for 10 s (read deadline hit)")
	}
	if err == nil {
		t.Errorf("the server answered %d bytes instead of closing the connection", n)
	}
	if took < 900*time.Millisecond || took > 4*time.Second {
		t.Errorf("slow client cut after %s, want about the 1s read-header timeout", took)
	}
	t.Logf("slow-header client cut after %s (timeout 1s): %v", took.Round(time.Millisecond), err)
}
