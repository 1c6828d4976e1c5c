package httpapi_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/adapters/httpapi"
	"github.com/coprod/coprod/domain/agreement"
	"github.com/coprod/coprod/domain/opendata"
	"github.com/coprod/coprod/domain/organisation"
)

// openDataFake stands for the postgres reads (tested with the schemas in
// cmd/coprod): every tenant has one signed agreement with one organisation.
type openDataFake struct{ org *organisation.Organisation }

func (f openDataFake) Published(_ context.Context, tenant uuid.UUID, _ []agreement.Status) (*opendata.Published, error) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return &opendata.Published{Funder: opendata.Funder{ID: tenant, Slug: "x", Name: "Comune", ISTAT: "015146"},
		Agreements: []*agreement.Agreement{{TenantID: tenant, ID: uuid.NewSHA1(tenant, []byte("a")), Title: "Convenzione", Status: "active",
			Start: at, End: at.AddDate(2, 0, 0), OfficerSignedAt: at, UpdatedAt: at, Budget: agreement.Budget{PublicCents: 100},
			Parties: []agreement.Party{{OrganisationID: f.org.ID, Role: "lead", BudgetShareCents: 100}}}},
		Organisations: map[uuid.UUID]*organisation.Organisation{f.org.ID: f.org}}, nil
}

func TestOpenDataRoutes(t *testing.T) {
	t.Parallel()
	fake := openDataFake{org: &organisation.Organisation{ID: uuid.New(), FiscalCode: "04123456784", LegalName: "Coop"}}
	var tenants []uuid.UUID
	b := setup(t, func(d *httpapi.Deps) {
		d.OpenData = opendata.NewService(fake, opendata.Config{}, nil)
		d.ActiveTenants = func(context.Context) ([]uuid.UUID, error) { return tenants, nil }
	})
	// Public: no token. Stable: the same ETag twice.
	r := b.call(t, "GET", "/v1/public/open-data/milano/360giving.json", "", "", 200)
	grants := r.body["grants"].([]any)
	if len(grants) != 1 || r.header.Get("ETag") == "" || r.header.Get("Cache-Control") == "" {
		t.Fatalf("360Giving: %v %s", r.header, r.raw)
	}
	if again := b.call(t, "GET", "/v1/public/open-data/milano/360giving.json", "", "", 200); again.header.Get("ETag") != r.header.Get("ETag") {
		t.Error("the ETag changed without a change")
	}
	if o := b.call(t, "GET", "/v1/public/open-data/milano/ocds.json", "", "", 200); len(o.body["releases"].([]any)) != 1 {
		t.Errorf("OCDS: %s", o.raw)
	}
	problem(t, b.do(t, "GET", "/v1/public/open-data/atlantide/360giving.json", "", ""), 404, "tenant_not_found")
	// A municipality still being set up has published nothing.
	b.call(t, "POST", "/v1/tenants", opToken, `{"slug":"bergamo","name":"Bergamo","kind":"municipality","istatCode":"016024","region":"regione-lombardia"}`, 201)
	problem(t, b.do(t, "GET", "/v1/public/open-data/bergamo/ocds.json", "", ""), 404, "tenant_not_found")
	// The national export: every active tenant's grants in one package.
	tenants = []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
	n := b.call(t, "GET", "/v1/public/open-data/360giving.json", "", "", 200)
	var pkg struct {
		Version string            `json:"version"`
		Grants  []json.RawMessage `json:"grants"`
	}
	if err := json.Unmarshal([]byte(n.raw), &pkg); err != nil || pkg.Version != "1.4" || len(pkg.Grants) != 3 {
		t.Errorf("national export (%v): %s", err, n.raw)
	}
	o := b.call(t, "GET", "/v1/public/open-data/ocds.json", "", "", 200)
	var rel struct {
		Version  string            `json:"version"`
		Releases []json.RawMessage `json:"releases"`
	}
	if err := json.Unmarshal([]byte(o.raw), &rel); err != nil || rel.Version != "1.1" || len(rel.Releases) != 3 {
		t.Errorf("national OCDS export (%v): %s", err, o.raw)
	}
}

// National exports are public and hold database connections while they
// stream: a server streams at most MaxNationalExports at once, and the
// next is told to come back (503 exports_busy, Retry-After).
func TestNationalExportsBounded(t *testing.T) {
	t.Parallel()
	fake := openDataFake{org: &organisation.Organisation{ID: uuid.New(), FiscalCode: "04123456784", LegalName: "Coop"}}
	gate := make(chan struct{})
	var mu sync.Mutex
	streaming := 0
	b := setup(t, func(d *httpapi.Deps) {
		d.OpenData = opendata.NewService(fake, opendata.Config{}, nil)
		d.ActiveTenants = func(context.Context) ([]uuid.UUID, error) {
			mu.Lock()
			streaming++
			mu.Unlock()
			<-gate // the export holds its slot until released
			return []uuid.UUID{uuid.New()}, nil
		}
	})
	done := make(chan response, httpapi.MaxNationalExports)
	for range httpapi.MaxNationalExports {
		go func() { done <- b.do(t, "GET", "/v1/public/open-data/360giving.json", "", "") }()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := streaming
		mu.Unlock()
		if n == httpapi.MaxNationalExports {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d exports started, want %d", n, httpapi.MaxNationalExports)
		}
		time.Sleep(5 * time.Millisecond)
	}
	busy := b.do(t, "GET", "/v1/public/open-data/ocds.json", "", "")
	problem(t, busy, 503, "exports_busy")
	if busy.header.Get("Retry-After") != "60" {
		t.Errorf("Retry-After %q", busy.header.Get("Retry-After"))
	}
	close(gate)
	for range httpapi.MaxNationalExports {
		if r := <-done; r.status != 200 {
			t.Errorf("a held export ended %d: %s", r.status, r.raw)
		}
	}
	// The slots are given back.
	b.call(t, "GET", "/v1/public/open-data/ocds.json", "", "", 200)
}
