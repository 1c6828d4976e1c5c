package postgres_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/adapters/postgres"
	"github.com/coprod/coprod/adapters/postgres/postgrestest"
	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/app"
	"github.com/coprod/coprod/domain/audit"
	"github.com/coprod/coprod/tenants"
	"github.com/coprod/coprod/tenants/istat"
)

func setupRegistry(t *testing.T) (*tenants.Service, *postgres.Store, *postgrestest.DB) {
	t.Helper()
	db := postgrestest.New(t)
	store := postgres.NewStore(db.App)
	return tenants.NewService(store.Registry(), nil), store, db
}

func auditOf(t *testing.T, store *postgres.Store, tenant uuid.UUID) []audit.Record {
	t.Helper()
	page, err := app.New(store, nil).AuditTrail(operatorCtx(t), tenant, audit.Filter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	return page.Items
}

func TestRegistryCreateAndConflicts(t *testing.T) {
	t.Parallel()
	svc, store, db := setupRegistry(t)
	ctx := operatorCtx(t)
	r, err := svc.Create(ctx, tenants.CreateInput{Slug: "regione-lombardia", Name: "Lombardia", Kind: tenants.KindRegion, ISTATCode: "03"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := svc.Get(ctx, "regione-lombardia")
	if err != nil || got.ID != r.ID || got.Status != tenants.StatusProvisioning {
		t.Fatalf("get by slug: %+v %v", got, err)
	}
	if got, err = svc.Get(ctx, r.ID.String()); err != nil || got.Slug != r.Slug {
		t.Fatalf("get by id: %+v %v", got, err)
	}
	if recs := auditOf(t, store, r.ID); len(recs) != 1 || recs[0].Action != "tenant.created" || recs[0].Actor != operator.Subject {
		t.Fatalf("audit after create: %+v", recs)
	}

	cases := []struct {
		name string
		in   tenants.CreateInput
		want error
	}{
		{"slug taken", tenants.CreateInput{Slug: "regione-lombardia", Name: "X", Kind: tenants.KindRegion, ISTATCode: "04"}, tenants.ErrSlugTaken},
		{"istat code taken", tenants.CreateInput{Slug: "lombardia-bis", Name: "X", Kind: tenants.KindRegion, ISTATCode: "03"}, tenants.ErrISTATTaken},
		{"unknown region", tenants.CreateInput{Slug: "milano", Name: "Milano", Kind: tenants.KindMunicipality, Region: "regione-atlantide"}, tenants.ErrRegionInvalid},
		{"region is a uuid of nothing", tenants.CreateInput{Slug: "milano", Name: "Milano", Kind: tenants.KindMunicipality, Region: uuid.NewString()}, tenants.ErrRegionInvalid},
		{"invalid istat", tenants.CreateInput{Slug: "milano", Name: "Milano", Kind: tenants.KindMunicipality, ISTATCode: "15146", Region: "regione-lombardia"}, tenants.ErrInvalidISTAT},
	}
	for _, tc := range cases {
		if _, err := svc.Create(ctx, tc.in); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	// No partial writes: still one tenant, one audit record.
	var n int
	if err := db.Owner.QueryRow(t.Context(), `SELECT count(*) FROM tenants`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if a := len(auditOf(t, store, r.ID)); n != 1 || a != 1 {
		t.Errorf("after refused creates: %d tenants, %d audit records; want 1 and 1", n, a)
	}

	// Only operators onboard.
	officer := domain.WithPrincipal(t.Context(), domain.Principal{Subject: "u", TenantID: r.ID, Roles: []domain.Role{domain.RoleTenantAdmin}})
	if _, err := svc.Create(officer, tenants.CreateInput{Slug: "x1", Name: "X", Kind: tenants.KindRegion, ISTATCode: "05"}); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("tenant admin creates a tenant: %v", err)
	}
	if _, err := svc.List(t.Context(), tenants.Filter{}); !errors.Is(err, domain.ErrUnauthenticated) {
		t.Errorf("anonymous list: %v", err)
	}
}

func TestRegistryLifecycleAndConcurrency(t *testing.T) {
	t.Parallel()
	svc, store, _ := setupRegistry(t)
	ctx := operatorCtx(t)
	r, err := svc.Create(ctx, tenants.CreateInput{Slug: "regione-lazio", Name: "Lazio", Kind: tenants.KindRegion, ISTATCode: "12"})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		action string
		want   tenants.Status
	}{{"activate", tenants.StatusActive}, {"suspend", tenants.StatusSuspended}, {"resume", tenants.StatusActive}, {"offboard", tenants.StatusOffboarded}}
	version := r.Version
	for _, s := range steps {
		got, err := svc.ChangeStatus(ctx, "regione-lazio", s.action, "because", version)
		if err != nil || got.Status != s.want || got.Version != version+1 {
			t.Fatalf("%s: %+v %v", s.action, got, err)
		}
		version = got.Version
	}
	if _, err := svc.ChangeStatus(ctx, "regione-lazio", "resume", "", 0); !errors.Is(err, tenants.ErrTransition) {
		t.Errorf("resume an offboarded tenant: %v", err)
	}
	if _, err := svc.Enter(ctx, "regione-lazio"); !errors.Is(err, tenants.ErrNotFound) {
		t.Errorf("enter an offboarded tenant: %v", err)
	}
	recs := auditOf(t, store, r.ID)
	if len(recs) != 5 || recs[0].Action != "tenant.offboarded" || recs[0].Summary["reason"] != "because" {
		t.Errorf("audit trail: %+v", recs)
	}

	// Two operators suspend at once with the same If-Match: one wins, the other gets 412.
	c, err := svc.Create(ctx, tenants.CreateInput{Slug: "regione-umbria", Name: "Umbria", Kind: tenants.KindRegion, ISTATCode: "10"})
	if err != nil {
		t.Fatal(err)
	}
	if c, err = svc.ChangeStatus(ctx, c.Slug, "activate", "", c.Version); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = svc.ChangeStatus(ctx, c.Slug, "suspend", "", c.Version)
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case errors.Is(err, domain.ErrStale), errors.Is(err, tenants.ErrTransition):
		default:
			t.Errorf("concurrent suspend: unexpected %v", err)
		}
	}
	if won != 1 {
		t.Errorf("%d concurrent suspends succeeded, want exactly 1", won)
	}
	if n := len(auditOf(t, store, c.ID)); n != 3 {
		t.Errorf("audit records after the race: %d, want 3 (created, activated, suspended once)", n)
	}
}

func TestRegistryPagination(t *testing.T) {
	t.Parallel()
	svc, _, _ := setupRegistry(t)
	ctx := operatorCtx(t)
	ds, err := istat.Parse(strings.NewReader(istatSample))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ImportISTAT(ctx, ds, false); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	f := tenants.Filter{Kind: tenants.KindMunicipality, Limit: 2}
	pages := 0
	for {
		page, err := svc.List(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, tn := range page.Items {
			if seen[tn.Slug] || tn.Kind != tenants.KindMunicipality {
				t.Errorf("page %d: %s repeated or of the wrong kind", pages, tn.Slug)
			}
			seen[tn.Slug] = true
		}
		if page.Next == uuid.Nil {
			break
		}
		f.After = page.Next
	}
	if len(seen) != 5 || pages != 3 {
		t.Errorf("saw %d municipalities in %d pages, want 5 in 3", len(seen), pages)
	}
	lomb, err := svc.Municipalities(ctx, "regione-lombardia", tenants.Filter{})
	if err != nil || len(lomb.Items) != 3 {
		t.Errorf("municipalities of Lombardia: %d %v", len(lomb.Items), err)
	}
	if _, err := svc.Municipalities(ctx, "milano", tenants.Filter{}); !errors.Is(err, tenants.ErrNotARegion) {
		t.Errorf("municipalities of a municipality: %v", err)
	}
	if _, err := svc.List(ctx, tenants.Filter{Limit: tenants.MaxLimit + 1}); !errors.Is(err, tenants.ErrInvalidLimit) {
		t.Errorf("limit over max: %v", err)
	}
}

// Two comuni named Samone (TO and TN) must get distinct slugs.
const istatSample = `istat_code,name,province_code,province_abbr,region_code,region_name,population
001234,Samone,001,TO,01,Piemonte,1600
015146,Milano,215,MI,03,Lombardia,1242123
016024,Bergamo,016,BG,03,Lombardia,115349
017029,Brescia,017,BS,03,Lombardia,189902
022165,Samone,022,TN,04,Trentino-Alto Adige/Südtirol,550
`

func TestImportISTAT(t *testing.T) {
	t.Parallel()
	svc, store, db := setupRegistry(t)
	ctx := operatorCtx(t)
	ds, err := istat.Parse(istat.Open())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res, err := svc.ImportISTAT(ctx, ds, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("full import: %d regions, %d municipalities in %s", res.RegionsCreated, res.MunicipalitiesCreated, time.Since(start))
	if res.RegionsCreated != 20 || res.MunicipalitiesCreated != len(ds.Municipalities) || res.MunicipalitiesCreated < 7900 {
		t.Fatalf("import: %+v", res)
	}
	var municipalities, slugs int
	if err := db.Owner.QueryRow(t.Context(), `SELECT count(*), count(DISTINCT slug) FROM tenants WHERE kind = 'municipality'`).Scan(&municipalities, &slugs); err != nil {
		t.Fatal(err)
	}
	if municipalities != len(ds.Municipalities) || slugs != municipalities {
		t.Errorf("%d municipalities with %d distinct slugs, want %d", municipalities, slugs, len(ds.Municipalities))
	}
	milano, err := svc.Get(ctx, "milano")
	if err != nil || milano.ISTATCode != "015146" {
		t.Fatalf("milano: %+v %v", milano, err)
	}
	lomb, err := svc.Get(ctx, "regione-lombardia")
	if err != nil || milano.RegionID != lomb.ID || lomb.Population < 9_000_000 {
		t.Errorf("lombardia: %+v %v", lomb, err)
	}
	if recs := auditOf(t, store, milano.ID); len(recs) != 1 || recs[0].Action != "tenant.created" {
		t.Errorf("milano's trail after import: %+v", recs)
	}

	// A re-run changes nothing, not even the audit trail.
	res, err = svc.ImportISTAT(ctx, ds, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.RegionsCreated+res.MunicipalitiesCreated+res.Updated != 0 || res.Unchanged != 20+len(ds.Municipalities) {
		t.Errorf("second import: %+v", res)
	}
	if recs := auditOf(t, store, milano.ID); len(recs) != 1 {
		t.Errorf("second import wrote audit records: %d", len(recs))
	}

	// A changed population is an update, audited.
	ds.Municipalities[0].Population++
	if res, err = svc.ImportISTAT(ctx, ds, false); err != nil || res.Updated != 2 { // the comune and its region
		t.Errorf("import with a changed population: %+v %v", res, err)
	}
}

// A conflict in the middle of an import leaves nothing half-imported.
func TestImportISTATIsAllOrNothing(t *testing.T) {
	t.Parallel()
	svc, _, db := setupRegistry(t)
	ctx := operatorCtx(t)
	if _, err := svc.Create(ctx, tenants.CreateInput{Slug: "regione-veneto", Name: "Veneto", Kind: tenants.KindRegion, ISTATCode: "05"}); err != nil {
		t.Fatal(err)
	}
	// "brescia" is taken by a tenant without an ISTAT code: the import cannot give it to comune 017029.
	if _, err := svc.Create(ctx, tenants.CreateInput{Slug: "brescia", Name: "Ambito di Brescia", Kind: tenants.KindMunicipality, Region: "regione-veneto"}); err != nil {
		t.Fatal(err)
	}
	ds, err := istat.Parse(strings.NewReader(istatSample))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ImportISTAT(ctx, ds, false); !errors.Is(err, tenants.ErrSlugTaken) {
		t.Fatalf("import over a taken slug: %v", err)
	}
	var n int
	if err := db.Owner.QueryRow(t.Context(), `SELECT count(*) FROM tenants`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("after a failed import: %d tenants, want the 2 that were there", n)
	}
}
