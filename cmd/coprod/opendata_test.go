package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/identity"
	"github.com/coprod/coprod/domain/opendata"
	"github.com/coprod/coprod/domain/organisation"
)

// schema compiles a vendored schema, the item schemas its package points
// at by URL mapped to the local copies (no network here).
func schema(t *testing.T, file string) *jsonschema.Schema {
	t.Helper()
	dir := filepath.Join("..", "..", "testdata", "schemas")
	c := jsonschema.NewCompiler()
	for url, local := range map[string]string{
		"https://raw.githubusercontent.com/ThreeSixtyGiving/standard/1.4.2/schema/360-giving-schema.json": "360giving-1.4.3/360-giving-schema.json",
		"https://standard.open-contracting.org/schema/1__1__5/release-schema.json":                        "ocds-1.1.5/release-schema.json",
	} {
		f, err := os.Open(filepath.Join(dir, local))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.AddResource(url, doc); err != nil {
			t.Fatal(err)
		}
	}
	c.AssertFormat()
	s, err := c.Compile(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validate(t *testing.T, s *jsonschema.Schema, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(doc); err != nil {
		t.Errorf("invalid against the schema: %v\n%s", err, b)
	}
	return b
}

// The open-data packages of a municipality with a call and an agreement
// that followed it validate against the official 360Giving and OCDS
// schemas, and come out the same when nothing changed.
func TestOpenDataValidatesAgainstStandards(t *testing.T) {
	t.Parallel()
	box := startMailbox(t, "127.0.0.1:0")
	b := setupJobs(t, box.addr)
	op := domain.WithPrincipal(t.Context(), domain.Principal{Subject: "op", Roles: []domain.Role{domain.RolePlatformOperator}})
	chiara, err := b.svc.ids.Provision(op, identity.Identity{Issuer: "https://login.coprod.example", Subject: "chiara", Email: "chiara@coop.example"})
	if err != nil {
		t.Fatal(err)
	}
	coop, err := b.svc.orgs.Register(domain.WithPrincipal(t.Context(), domain.Principal{Subject: "chiara", UserID: chiara.ID}),
		organisation.Organisation{FiscalCode: "04123456784", LegalName: "Cooperativa Sociale Esempio", LegalForm: "social_cooperative"})
	if err != nil {
		t.Fatal(err)
	}
	party := domain.WithPrincipal(t.Context(), domain.Principal{Subject: "chiara", UserID: chiara.ID, TenantID: b.milan,
		Orgs: map[uuid.UUID][]domain.Role{coop.ID: {domain.RoleOrgAdmin}}})
	draft := agreementFor(coop.ID, time.Now().UTC())
	draft.CallID = b.c.ID
	draft.Budget.PublicCents, draft.Parties[0].BudgetShareCents = 12_345_67, 12_345_67
	a, err := b.svc.agreements().Create(b.officer, b.milan, draft)
	if err != nil {
		t.Fatal(err)
	}
	// A draft agreement is not published.
	svc := opendata.NewService(b.svc.store.OpenData(), opendata.Config{BaseURL: "https://coprod.example.it"}, nil)
	if g, err := svc.Grants(t.Context(), b.milan); err != nil || len(g.Grants) != 0 {
		t.Fatalf("grants before signing: %+v %v", g, err)
	}
	if a, err = b.svc.agreements().Sign(b.officer, b.milan, a.ID, uuid.Nil, 0); err != nil {
		t.Fatal(err)
	}
	if _, err = b.svc.agreements().Sign(party, b.milan, a.ID, coop.ID, 0); err != nil {
		t.Fatal(err)
	}

	grants, err := svc.Grants(t.Context(), b.milan)
	if err != nil {
		t.Fatal(err)
	}
	gs := schema(t, "360giving-1.4.3/360-giving-package-schema.json")
	// The validator does refuse: a grant without its required fields.
	if bad, _ := jsonschema.UnmarshalJSON(strings.NewReader(`{"grants":[{"id":"360G-x-1","title":"t"}]}`)); gs.Validate(bad) == nil {
		t.Fatal("the 360Giving schema accepted a grant without amount, currency, dates or organisations")
	}
	gb := validate(t, gs, grants)
	if len(grants.Grants) != 1 {
		t.Fatalf("grants: %s", gb)
	}
	g := grants.Grants[0]
	if g.ID != "360G-coprod-"+a.ID.String()+"-"+coop.ID.String() || g.RecipientOrganization[0].ID != "IT-CF-04123456784" ||
		g.FundingOrganization[0].ID != "360G-coprod-ISTAT-015146" || !strings.Contains(string(gb), `"amountAwarded":12345.67`) ||
		g.GrantProgramme[0].Code != b.c.ID.String() {
		t.Errorf("grant: %s", gb)
	}
	releases, err := svc.Releases(t.Context(), b.milan)
	if err != nil {
		t.Fatal(err)
	}
	rs := schema(t, "ocds-1.1.5/release-package-schema.json")
	if bad, _ := jsonschema.UnmarshalJSON(strings.NewReader(`{"uri":"u","version":"1.1","publishedDate":"2026-01-01T00:00:00Z","publisher":{"name":"p"},"releases":[{"ocid":"o"}]}`)); rs.Validate(bad) == nil {
		t.Fatal("the OCDS schema accepted a release without id, date, tag or initiationType")
	}
	rb := validate(t, rs, releases)
	if len(releases.Releases) != 1 {
		t.Fatalf("releases: %s", rb)
	}
	r := releases.Releases[0]
	if r.OCID != "ocds-coprod-"+b.c.ID.String() || r.Tender == nil || r.Tender.Status != "active" || r.Tender.ProcurementMethod != "selective" ||
		len(r.Awards) != 1 || r.Awards[0].ID != a.ID.String() || r.Awards[0].Suppliers[0].ID != "IT-CF-04123456784" {
		t.Errorf("release: %s", rb)
	}
	// Stable: the same data gives the same bytes.
	again, _ := svc.Releases(t.Context(), b.milan)
	if ab, _ := json.Marshal(again); !bytes.Equal(ab, rb) {
		t.Errorf("a second export differs:\n%s\n%s", rb, ab)
	}
	// The national export streams every tenant's grants as one valid package.
	var region uuid.UUID
	if err := b.db.App.QueryRow(t.Context(), `SELECT id FROM tenants WHERE slug = 'regione-lombardia'`).Scan(&region); err != nil {
		t.Fatal(err)
	}
	var national bytes.Buffer
	if n, err := svc.WriteGrants(t.Context(), &national, []uuid.UUID{region, b.milan}); err != nil || n != 1 {
		t.Fatalf("national export: %d grants, %v", n, err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(national.Bytes()))
	if err != nil {
		t.Fatalf("national export is not JSON: %v\n%s", err, national.String())
	}
	if err := gs.Validate(doc); err != nil {
		t.Errorf("national export invalid: %v", err)
	}
	var nationalOCDS bytes.Buffer
	if n, err := svc.WriteReleases(t.Context(), &nationalOCDS, []uuid.UUID{region, b.milan}); err != nil || n != 1 {
		t.Fatalf("national OCDS export: %d releases, %v", n, err)
	}
	if doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(nationalOCDS.Bytes())); err != nil {
		t.Errorf("national OCDS export is not JSON: %v", err)
	} else if err := rs.Validate(doc); err != nil {
		t.Errorf("national OCDS export invalid: %v\n%s", err, nationalOCDS.String())
	}
	// Cut short (the client went away): the JSON stays unterminated.
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	var cut bytes.Buffer
	if _, err := svc.WriteGrants(cancelled, &cut, []uuid.UUID{b.milan}); err == nil {
		t.Error("a cancelled export reported success")
	}
	if json.Valid(cut.Bytes()) {
		t.Errorf("a cut export is valid JSON: %q", cut.String())
	}
	// Another municipality publishes nothing of Milano's.
	if other, err := svc.Grants(t.Context(), uuid.New()); err == nil {
		t.Errorf("an unknown tenant's grants: %+v", other)
	}
}
