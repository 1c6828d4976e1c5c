package main

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/identity"
	"github.com/coprod/coprod/domain/network"
	"github.com/coprod/coprod/domain/organisation"
	"github.com/coprod/coprod/tenants"
)

// The snapshot job fills the network: after Milano signs an agreement and
// asks for a snapshot, Lombardia's analysts see the tie, the public sees
// it as a signed agreement, and Piemonte sees nothing of it.
func TestNetworkFilledBySnapshots(t *testing.T) {
	t.Parallel()
	box := startMailbox(t, "127.0.0.1:0")
	b := setupJobs(t, box.addr)
	op := domain.WithPrincipal(t.Context(), domain.Principal{Subject: "op", Roles: []domain.Role{domain.RolePlatformOperator}})
	piemonte, err := b.svc.tenants.Create(op, tenants.CreateInput{Slug: "regione-piemonte", Name: "Piemonte", Kind: tenants.KindRegion, ISTATCode: "01"})
	if err != nil {
		t.Fatal(err)
	}
	var lombardia uuid.UUID
	if err := b.db.App.QueryRow(t.Context(), `SELECT id FROM tenants WHERE slug = 'regione-lombardia'`).Scan(&lombardia); err != nil {
		t.Fatal(err)
	}
	for _, slug := range []string{"regione-lombardia", "regione-piemonte"} {
		if _, err := b.svc.tenants.ChangeStatus(op, slug, "activate", "", 0); err != nil {
			t.Fatal(err)
		}
	}
	chiara, err := b.svc.ids.Provision(op, identity.Identity{Issuer: "https://login.coprod.example", Subject: "chiara", Email: "chiara@coop.example"})
	if err != nil {
		t.Fatal(err)
	}
	coop, err := b.svc.orgs.Register(domain.WithPrincipal(t.Context(), domain.Principal{Subject: "chiara", UserID: chiara.ID}),
		organisation.Organisation{FiscalCode: "04123456784", LegalName: "Cooperativa Sociale Aurora", LegalForm: "social_cooperative"})
	if err != nil {
		t.Fatal(err)
	}
	party := domain.WithPrincipal(t.Context(), domain.Principal{Subject: "chiara", UserID: chiara.ID, TenantID: b.milan,
		Orgs: map[uuid.UUID][]domain.Role{coop.ID: {domain.RoleOrgAdmin}}})
	a, err := b.svc.agreements().Create(b.officer, b.milan, agreementFor(coop.ID, time.Now().UTC()))
	if err != nil {
		t.Fatal(err)
	}
	if a, err = b.svc.agreements().Sign(b.officer, b.milan, a.ID, uuid.Nil, 0); err != nil {
		t.Fatal(err)
	}
	if _, err = b.svc.agreements().Sign(party, b.milan, a.ID, coop.ID, 0); err != nil {
		t.Fatal(err)
	}

	analyst := domain.WithPrincipal(t.Context(), domain.Principal{Subject: "ana", TenantID: lombardia, Roles: []domain.Role{domain.RoleRegionalAnalyst}})
	g, err := b.svc.network.Region(analyst, lombardia, network.Years{})
	if err != nil || len(g.Edges) != 0 || len(g.Metrics.WithoutPartnership) != 1 {
		t.Fatalf("before the snapshot: %+v %v", g, err)
	}
	if err := b.svc.reports.Request(b.officer, b.milan); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the snapshot job refreshing the network", func() bool {
		g, err = b.svc.network.Region(analyst, lombardia, network.Years{})
		return err == nil && len(g.Edges) == 1
	})
	e := g.Edges[0]
	year := time.Now().UTC().Year()
	if e.Source != coop.ID || e.Target != b.milan || e.Counts != (network.Counts{Agreements: 1}) || e.FirstYear != year ||
		len(g.Metrics.WithoutPartnership) != 0 || len(g.Metrics.NewAlliances) != 1 || g.Metrics.NewAlliances[0].OrganisationMunicipality != 1 {
		t.Errorf("network after the snapshot: %+v", g)
	}

	// Piemonte: nothing of Milano, and no reading Lombardia's.
	pa := domain.WithPrincipal(t.Context(), domain.Principal{Subject: "pa", TenantID: piemonte.ID, Roles: []domain.Role{domain.RoleRegionalAnalyst}})
	if pg, err := b.svc.network.Region(pa, piemonte.ID, network.Years{}); err != nil || len(pg.Nodes) != 0 || len(pg.Edges) != 0 {
		t.Errorf("Piemonte's network: %+v %v", pg, err)
	}
	if _, err := b.svc.network.Region(pa, lombardia, network.Years{}); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("Piemonte reads Lombardia's network: %v", err)
	}

	// Over HTTP, wired as in production: public without login, the
	// region's view only with credentials.
	srv := httptest.NewServer(b.svc.handler)
	t.Cleanup(srv.Close)
	res, err := http.Get(srv.URL + "/v1/public/network/regione-lombardia")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), `"name":"Cooperativa Sociale Aurora"`) || !strings.Contains(string(body), `"agreements":1`) {
		t.Errorf("public network: %d %s", res.StatusCode, body)
	}
	for path, want := range map[string]int{"/v1/tenants/regione-lombardia/network": 401, "/v1/public/network/milano": 404,
		"/v1/public/network/regione-lombardia/network.html?lang=en": 200} {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, res.StatusCode, want)
		}
	}
}
