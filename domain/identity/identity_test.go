package identity_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/identity"
)

func TestCleanReturnTo(t *testing.T) {
	t.Parallel()
	ok := map[string]string{"": "/", "/": "/", "/v1/me": "/v1/me", "/docs?x=1#y": "/docs?x=1#y"}
	for in, want := range ok {
		if got, err := identity.CleanReturnTo(in); err != nil || got != want {
			t.Errorf("CleanReturnTo(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", "evil", "/x\r\nSet-Cookie: a=b", "http:/x"} {
		if _, err := identity.CleanReturnTo(bad); !errors.Is(err, identity.ErrInvalidReturnTo) {
			t.Errorf("CleanReturnTo(%q): %v, want refusal", bad, err)
		}
	}
}

func TestProviderNormalize(t *testing.T) {
	t.Parallel()
	base := func() identity.Provider {
		return identity.Provider{Issuer: "https://login.comune.milano.it/realms/staff", ClientID: "coprod", ClientSecret: "s3cret", Audience: "coprod-api"}
	}
	p := base()
	if err := p.Normalize(false); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Scopes, []string{"openid", "email", "profile"}) || p.Claims.GroupsClaim != "groups" || p.Claims.EmailClaim != "email" {
		t.Errorf("defaults not filled: %+v", p)
	}
	cases := []struct {
		name  string
		edit  func(*identity.Provider)
		loop  bool
		want  error
		field string
	}{
		{"http issuer", func(p *identity.Provider) { p.Issuer = "http://login.example.it" }, true, identity.ErrInvalidIssuer, "issuer"},
		{"loopback http without dev", func(p *identity.Provider) { p.Issuer = "http://127.0.0.1:9000" }, false, identity.ErrInvalidIssuer, "issuer"},
		{"issuer with query", func(p *identity.Provider) { p.Issuer = "https://x.it/?a=b" }, false, identity.ErrInvalidIssuer, "issuer"},
		{"no secret", func(p *identity.Provider) { p.ClientSecret = "" }, false, identity.ErrInvalidClient, "clientId"},
		{"no audience", func(p *identity.Provider) { p.Audience = "" }, false, identity.ErrInvalidAudience, "audience"},
		{"scopes without openid", func(p *identity.Provider) { p.Scopes = []string{"email"} }, false, identity.ErrInvalidScopes, "scopes"},
		{"platform role from claims", func(p *identity.Provider) {
			p.Claims.GroupRoles = map[string][]domain.Role{"admins": {domain.RolePlatformOperator}}
		}, false, identity.ErrInvalidClaims, "claims.groupRoles"},
		{"bad domain", func(p *identity.Provider) { p.AllowedEmailDomains = []string{"@evil"} }, false, identity.ErrInvalidDomain, "allowedEmailDomains"},
	}
	for _, tc := range cases {
		p := base()
		tc.edit(&p)
		err := p.Normalize(tc.loop)
		var de *domain.Error
		if !errors.Is(err, tc.want) || !errors.As(err, &de) || de.Field != tc.field {
			t.Errorf("%s: got %v, want %v on %s", tc.name, err, tc.want, tc.field)
		}
	}
	p = base()
	p.Issuer = "http://127.0.0.1:9000"
	if err := p.Normalize(true); err != nil {
		t.Errorf("loopback http in dev: %v", err)
	}
}

func TestClaimRolesAndDomains(t *testing.T) {
	t.Parallel()
	m := identity.ClaimMapping{GroupRoles: map[string][]domain.Role{
		"coprod-officers": {domain.RoleOfficer},
		"coprod-admins":   {domain.RoleTenantAdmin, domain.RoleOfficer},
	}}
	got := m.Roles([]string{"coprod-admins", "coprod-officers", "unrelated"})
	if !slices.Equal(got, []domain.Role{domain.RoleOfficer, domain.RoleTenantAdmin}) {
		t.Errorf("roles: %v", got)
	}
	if got := m.Roles(nil); len(got) != 0 {
		t.Errorf("no groups: %v", got)
	}
	p := identity.Provider{AllowedEmailDomains: []string{"comune.milano.it"}}
	cases := []struct {
		id   identity.Identity
		want bool
	}{
		{identity.Identity{Email: "a@comune.milano.it", EmailVerified: true}, true},
		{identity.Identity{Email: "A@Comune.Milano.IT", EmailVerified: true}, true},
		{identity.Identity{Email: "a@comune.milano.it", EmailVerified: false}, false},
		{identity.Identity{Email: "a@evil.it", EmailVerified: true}, false},
		{identity.Identity{Email: "a@x.comune.milano.it", EmailVerified: true}, false},
		{identity.Identity{Email: "", EmailVerified: true}, false},
	}
	for _, tc := range cases {
		if got := p.EmailAllowed(tc.id); got != tc.want {
			t.Errorf("EmailAllowed(%+v) = %v", tc.id, got)
		}
	}
}
