package postgres_test

import (
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/coprod/coprod/adapters/postgres"
	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/identity"
	"github.com/coprod/coprod/domain/organisation"
)

func TestOrganisations(t *testing.T) {
	t.Parallel()
	ib := setupIdentity(t)
	store := postgres.NewStore(ib.db.App)
	orgs := organisation.NewService(store.Organisations(), nil)
	op := operatorCtx(t)
	const platformIss = "https://login.coprod.example"

	// A platform user registers an organisation and becomes its admin.
	chiara, err := ib.svc.Provision(op, identity.Identity{Issuer: platformIss, Subject: "chiara", Email: "chiara@coop.example"})
	if err != nil {
		t.Fatal(err)
	}
	asChiara := domain.WithPrincipal(t.Context(), domain.Principal{Subject: chiara.ID.String(), UserID: chiara.ID})
	coop, err := orgs.Register(asChiara, organisation.Organisation{FiscalCode: "04123456784", LegalName: "Coop Esempio", LegalForm: "social_cooperative"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := orgs.Register(asChiara, organisation.Organisation{FiscalCode: "04123456784", LegalName: "Copy", LegalForm: "association"}); !errors.Is(err, organisation.ErrFiscalCodeTaken) {
		t.Errorf("duplicate fiscal code: %v", err)
	}
	// Municipal staff do not register organisations.
	staff := domain.WithPrincipal(t.Context(), domain.Principal{Subject: "x", UserID: uuid.New(), TenantID: ib.b, Roles: []domain.Role{domain.RoleOfficer}})
	if _, err := orgs.Register(staff, organisation.Organisation{FiscalCode: "05234567898", LegalName: "X", LegalForm: "association"}); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("officer registers an organisation: %v", err)
	}

	// Her principal (platform realm) carries the org role.
	p, err := ib.svc.BearerPrincipal(t.Context(), uuid.Nil, uuid.Nil, &identity.Provider{Issuer: platformIss}, identity.Identity{Issuer: platformIss, Subject: "chiara"})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Orgs[coop.ID]; len(got) != 1 || got[0] != domain.RoleOrgAdmin {
		t.Fatalf("org roles: %v", p.Orgs)
	}
	asChiara = domain.WithPrincipal(t.Context(), p)

	// She adds a colleague; a non-member cannot; the last admin cannot leave.
	marco, _ := ib.svc.Provision(op, identity.Identity{Issuer: platformIss, Subject: "marco", Email: "marco@coop.example"})
	if _, err := orgs.SetMember(asChiara, coop.ID, "Marco@Coop.Example", domain.RoleOrgMember); err != nil {
		t.Fatal(err)
	}
	asMarco := domain.WithPrincipal(t.Context(), domain.Principal{Subject: "m", UserID: marco.ID, Orgs: map[uuid.UUID][]domain.Role{coop.ID: {domain.RoleOrgMember}}})
	if _, err := orgs.SetMember(asMarco, coop.ID, "marco@coop.example", domain.RoleOrgAdmin); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("member promotes himself: %v", err)
	}
	if ms, err := orgs.Members(asMarco, coop.ID); err != nil || len(ms) != 2 {
		t.Errorf("members seen by a member: %v %v", ms, err)
	}
	stranger := domain.WithPrincipal(t.Context(), domain.Principal{Subject: "s", UserID: uuid.New()})
	if _, err := orgs.Members(stranger, coop.ID); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("stranger lists members: %v", err)
	}
	if err := orgs.RemoveMember(asChiara, coop.ID, chiara.ID); !errors.Is(err, organisation.ErrLastAdmin) {
		t.Errorf("last admin leaves: %v", err)
	}
	if ms, _ := orgs.Members(asChiara, coop.ID); len(ms) != 2 {
		t.Errorf("refused removal changed members: %v", ms)
	}
	if _, err := orgs.SetMember(asChiara, coop.ID, "nobody@nowhere.example", domain.RoleOrgMember); !errors.Is(err, organisation.ErrMemberNotFound) {
		t.Errorf("unknown e-mail: %v", err)
	}
	// Search by name (LIKE wildcards typed by users are literal) and by fiscal code.
	if got, _, err := orgs.List(t.Context(), organisation.Filter{Query: "esemp"}); err != nil || len(got) != 1 {
		t.Errorf("search by name: %v %v", got, err)
	}
	if got, _, _ := orgs.List(t.Context(), organisation.Filter{Query: "%"}); len(got) != 0 {
		t.Errorf("a %% matched everything: %d", len(got))
	}
	if got, _, _ := orgs.List(t.Context(), organisation.Filter{Query: "04123456784"}); len(got) != 1 {
		t.Errorf("search by fiscal code: %d", len(got))
	}
}
