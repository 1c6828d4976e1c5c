package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/coprod/coprod/adapters/oidc/devprovider"
	"github.com/coprod/coprod/adapters/postgres"
	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/identity"
	"github.com/coprod/coprod/domain/organisation"
)

// devRealms are the issuers of `coprod dev`: one per demo tenant, like
// production, and the platform's. Groups map to roles (see seedIdentity).
var devRealms = []devprovider.Realm{
	{Name: "milano", Users: []devprovider.User{
		{Subject: "milano-tenant-admin", Email: "admin@comune.milano.it", Name: "Giulia Admin (tenant_admin)", Groups: []string{"tenant_admin"}},
		{Subject: "milano-officer", Email: "rup@comune.milano.it", Name: "Marco RUP (officer)", Groups: []string{"officer"}},
		{Subject: "milano-evaluator", Email: "valutatrice@comune.milano.it", Name: "Sara Valutatrice (evaluator)", Groups: []string{"evaluator"}},
		{Subject: "milano-auditor", Email: "revisore@comune.milano.it", Name: "Luca Revisore (auditor)", Groups: []string{"auditor"}},
	}},
	{Name: "bergamo", Users: []devprovider.User{
		{Subject: "bergamo-officer", Email: "rup@comune.bergamo.it", Name: "Paola RUP (officer)", Groups: []string{"officer"}},
	}},
	{Name: "platform", Users: []devprovider.User{
		{Subject: "operator", Email: "operator@coprod.example", Name: "Olga Operator (platform_operator)", Groups: []string{"platform_operator"}},
		{Subject: "lombardia-analyst", Email: "analista@regione.lombardia.it", Name: "Aldo Analista (regional_analyst)"},
		{Subject: "org-member", Email: "socia@coop-esempio.it", Name: "Chiara Socia (organisation member)"},
	}},
}

// seedIdentity points each demo tenant at its dev issuer (the issuers get
// new ports and keys at every start, so settings are re-saved), grants the
// analyst her region, and writes a bearer token per user for curl.
func seedIdentity(ctx context.Context, svc *services, idp *devprovider.Provider, dataDir string) (string, error) {
	op := domain.WithPrincipal(ctx, domain.Principal{Subject: "coprod-dev-seed", Roles: []domain.Role{domain.RolePlatformOperator}})
	roles := map[string][]domain.Role{}
	for _, r := range identity.TenantRoles {
		roles[string(r)] = []domain.Role{r}
	}
	var env strings.Builder
	for _, realm := range devRealms {
		c, _ := idp.Client(realm.Name)
		aud := "coprod-" + realm.Name
		if realm.Name != "platform" {
			t, err := svc.tenants.Get(op, realm.Name)
			if err != nil {
				return "", err
			}
			_, err = svc.ids.SaveProvider(op, t.ID, identity.Provider{Issuer: c.Issuer, ClientID: c.ClientID, ClientSecret: c.ClientSecret,
				Audience: aud, Scopes: []string{"openid", "email", "profile", "groups"},
				Claims: identity.ClaimMapping{NameClaim: "preferred_username", GroupRoles: roles}}, 0)
			if err != nil {
				return "", err
			}
		}
		for _, u := range realm.Users {
			tok, err := idp.Token(realm.Name, u.Subject, aud, 12*time.Hour)
			if err != nil {
				return "", err
			}
			name := strings.ToUpper(strings.NewReplacer("-", "_").Replace("COPROD_TOKEN_" + u.Subject))
			if realm.Name == "milano" || realm.Name == "bergamo" {
				name = strings.ToUpper("COPROD_TOKEN_" + realm.Name + "_" + strings.TrimPrefix(strings.ReplaceAll(u.Subject, "-", "_"), realm.Name+"_"))
			}
			fmt.Fprintf(&env, "export %s=%s\n", name, tok)
		}
	}
	platform, _ := idp.Client("platform")
	lomb, err := svc.tenants.Get(op, "regione-lombardia")
	if err != nil {
		return "", err
	}
	if err := svc.ids.Grant(op, lomb.ID, platform.Issuer, "lombardia-analyst", domain.RoleRegionalAnalyst); err != nil {
		return "", err
	}
	if err := seedOrganisations(op, svc, platform.Issuer); err != nil {
		return "", err
	}
	path := filepath.Join(dataDir, "dev-tokens.env")
	return path, os.WriteFile(path, []byte(env.String()), 0o600)
}

// devSecretsKey is the sealing key of `coprod dev`, made once and kept in
// the data folder.
func devSecretsKey(dataDir string) ([]byte, error) {
	path := filepath.Join(dataDir, "secrets-key")
	if b, err := os.ReadFile(path); err == nil {
		return postgres.ParseKey(string(b))
	}
	key := make([]byte, 32)
	if _, err := randRead(key); err != nil {
		return nil, err
	}
	return key, os.WriteFile(path, []byte(fmt.Sprintf("%x\n", key)), 0o600)
}

// demoOrganisations are fictitious third-sector bodies (valid check digits,
// no real fiscal codes).
var demoOrganisations = []organisation.Organisation{
	{FiscalCode: "04123456784", LegalName: "Cooperativa Sociale Esempio Onlus", LegalForm: "social_cooperative", SeatISTAT: "015146",
		RUNTS:    organisation.RUNTS{Status: "registered", Number: "DEMO-1001", Section: "is", RegisteredOn: time.Date(2022, 5, 10, 0, 0, 0, 0, time.UTC)},
		Contacts: organisation.Contacts{Email: "info@coop-esempio.it", PEC: "coop-esempio@pec.it"}},
	{FiscalCode: "05234567898", LegalName: "Associazione di Promozione Sociale Quartieri Insieme", LegalForm: "association", SeatISTAT: "016024",
		RUNTS: organisation.RUNTS{Status: "registered", Number: "DEMO-2002", Section: "aps", RegisteredOn: time.Date(2023, 1, 20, 0, 0, 0, 0, time.UTC)}},
	{FiscalCode: "06345678905", LegalName: "Fondazione Comunità Solidale", LegalForm: "foundation", SeatISTAT: "015146",
		RUNTS: organisation.RUNTS{Status: "pending"}},
}

// seedOrganisations registers the demo organisations once and makes the
// dev "org-member" user the admin of the first.
func seedOrganisations(op context.Context, svc *services, platformIssuer string) error {
	existing, _, err := svc.orgs.List(op, organisation.Filter{Limit: 500})
	if err != nil {
		return err
	}
	have := map[string]*organisation.Organisation{}
	for _, o := range existing {
		have[o.FiscalCode] = o
	}
	first := have[demoOrganisations[0].FiscalCode] == nil
	for _, o := range demoOrganisations {
		if have[o.FiscalCode] != nil {
			continue
		}
		got, err := svc.orgs.Register(op, o)
		if err != nil {
			return err
		}
		have[o.FiscalCode] = got
	}
	if !first {
		return nil // seeded by an earlier run
	}
	if _, err := svc.ids.Provision(op, identity.Identity{Issuer: platformIssuer, Subject: "org-member", Email: "socia@coop-esempio.it"}); err != nil {
		return err
	}
	_, err = svc.orgs.SetMember(op, have[demoOrganisations[0].FiscalCode].ID, "socia@coop-esempio.it", domain.RoleOrgAdmin)
	return err
}
