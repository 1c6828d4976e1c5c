// Package identity holds who people are and what they may do: users (an
// issuer and a subject), per-tenant identity-provider settings with claim
// mapping, memberships and roles, invitations, browser login attempts and
// sessions. Protocol work (OIDC discovery, code exchange, JWT verification)
// belongs to adapters; every decision about access is made here.
package identity

import (
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
)

// User is a person as their identity provider knows them.
type User struct {
	ID          uuid.UUID
	Issuer      string
	Subject     string
	Email       string
	Name        string
	Locale      string // "it", "en" or empty (the tenant's default)
	CreatedAt   time.Time
	LastLoginAt time.Time
}

// Identity is what a verified ID or access token says about its holder.
type Identity struct {
	Issuer, Subject string
	Email           string
	EmailVerified   bool
	Name            string
	Groups          []string
}

// TenantRoles are the roles a membership may carry inside a tenant.
var TenantRoles = []domain.Role{domain.RoleTenantAdmin, domain.RoleOfficer, domain.RoleEvaluator, domain.RoleAuditor, domain.RoleRegionalAnalyst}

// ValidTenantRole reports whether r can be held inside a tenant.
func ValidTenantRole(r domain.Role) bool { return slices.Contains(TenantRoles, r) }

// ClaimMapping says where a provider puts e-mail, name and groups, and which
// coprod roles each group value grants.
type ClaimMapping struct {
	EmailClaim  string
	NameClaim   string
	GroupsClaim string
	GroupRoles  map[string][]domain.Role
}

// Roles maps group values to coprod roles, deduplicated and sorted.
func (m ClaimMapping) Roles(groups []string) []domain.Role {
	var out []domain.Role
	for _, g := range groups {
		for _, r := range m.GroupRoles[g] {
			if !slices.Contains(out, r) {
				out = append(out, r)
			}
		}
	}
	slices.Sort(out)
	return out
}

// Provider is the identity-provider configuration of one tenant.
type Provider struct {
	TenantID            uuid.UUID
	Issuer              string
	ClientID            string
	ClientSecret        string // plaintext in memory only; sealed at rest, never returned by the API
	Scopes              []string
	Audience            string // required audience of bearer access tokens
	Claims              ClaimMapping
	AllowedEmailDomains []string // empty: any
	UpdatedAt           time.Time
	Version             int
}

var (
	ErrProviderNotConfigured = domain.Errorf(domain.KindPrecondition, "identity_provider_not_configured", "this tenant has no identity provider yet")
	ErrInvalidIssuer         = domain.Errorf(domain.KindInvalid, "invalid_issuer", "the issuer must be an https URL (http only for loopback in development) without query or fragment")
	ErrIssuerMismatch        = domain.Errorf(domain.KindInvalid, "issuer_mismatch", "the provider's discovery document names another issuer")
	ErrDiscoveryFailed       = domain.Errorf(domain.KindInvalid, "discovery_failed", "the provider's discovery document could not be fetched")
	ErrInvalidClient         = domain.Errorf(domain.KindInvalid, "invalid_client", "client id and client secret are required (1-512 characters)")
	ErrInvalidAudience       = domain.Errorf(domain.KindInvalid, "invalid_audience", "the audience of API tokens is required (1-512 characters) and differs from the client id")
	ErrInvalidClaims         = domain.Errorf(domain.KindInvalid, "invalid_claim_mapping", "claim names are 1-100 characters and mapped roles must be tenant roles")
	ErrInvalidScopes         = domain.Errorf(domain.KindInvalid, "invalid_scopes", "scopes must include openid and be at most 20 short words")
	ErrInvalidDomain         = domain.Errorf(domain.KindInvalid, "invalid_email_domain", "an allowed e-mail domain is a host name such as comune.milano.it")
)

// Normalize fills defaults and validates; allowLoopbackHTTP admits
// http://127.0.0.1 and http://localhost issuers (coprod dev, tests).
func (p *Provider) Normalize(allowLoopbackHTTP bool) error {
	p.Issuer = strings.TrimSpace(p.Issuer)
	if !ValidIssuer(p.Issuer, allowLoopbackHTTP) {
		return ErrInvalidIssuer.WithField("issuer")
	}
	if p.ClientID == "" || len(p.ClientID) > 512 || p.ClientSecret == "" || len(p.ClientSecret) > 512 {
		return ErrInvalidClient.WithField("clientId")
	}
	// The audience of API tokens must not be the client id: ID tokens carry
	// the client id as audience, and must never pass as API tokens.
	if p.Audience == "" || len(p.Audience) > 512 || p.Audience == p.ClientID {
		return ErrInvalidAudience.WithField("audience")
	}
	if len(p.Scopes) == 0 {
		p.Scopes = []string{"openid", "email", "profile"}
	}
	if !slices.Contains(p.Scopes, "openid") || len(p.Scopes) > 20 {
		return ErrInvalidScopes.WithField("scopes")
	}
	for _, s := range p.Scopes {
		if s == "" || len(s) > 100 || strings.ContainsAny(s, " \t\n\"") {
			return ErrInvalidScopes.WithField("scopes")
		}
	}
	c := &p.Claims
	for _, pair := range []struct {
		v   *string
		def string
	}{{&c.EmailClaim, "email"}, {&c.NameClaim, "name"}, {&c.GroupsClaim, "groups"}} {
		if *pair.v == "" {
			*pair.v = pair.def
		}
		if len(*pair.v) > 100 {
			return ErrInvalidClaims.WithField("claims")
		}
	}
	if len(c.GroupRoles) > 200 {
		return ErrInvalidClaims.WithField("claims.groupRoles")
	}
	for g, roles := range c.GroupRoles {
		if g == "" || len(g) > 200 {
			return ErrInvalidClaims.WithField("claims.groupRoles")
		}
		for _, r := range roles {
			if !ValidTenantRole(r) {
				return ErrInvalidClaims.WithField("claims.groupRoles")
			}
		}
	}
	for i, d := range p.AllowedEmailDomains {
		d = strings.ToLower(strings.TrimSpace(d))
		if !validDomain(d) {
			return ErrInvalidDomain.WithField("allowedEmailDomains")
		}
		p.AllowedEmailDomains[i] = d
	}
	return nil
}

// ValidIssuer: an https URL, or http on loopback when allowed.
func ValidIssuer(s string, allowLoopbackHTTP bool) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil || len(s) > 512 {
		return false
	}
	switch u.Scheme {
	case "https":
		return true
	case "http":
		h := u.Hostname()
		return allowLoopbackHTTP && (h == "127.0.0.1" || h == "localhost" || h == "::1")
	}
	return false
}

func validDomain(d string) bool {
	if len(d) < 3 || len(d) > 253 || !strings.Contains(d, ".") || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") {
		return false
	}
	for _, r := range d {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// EmailAllowed reports whether an identity's e-mail passes the provider's
// domain restriction. Without a restriction any identity is allowed; with
// one, the e-mail must be verified and in one of the domains.
func (p *Provider) EmailAllowed(id Identity) bool {
	if len(p.AllowedEmailDomains) == 0 {
		return true
	}
	_, dom, ok := strings.Cut(strings.ToLower(id.Email), "@")
	return ok && id.EmailVerified && slices.Contains(p.AllowedEmailDomains, dom)
}

// Membership is one role of a user inside a tenant.
type Membership struct {
	TenantID  uuid.UUID
	UserID    uuid.UUID
	Role      domain.Role
	Source    string // "claims", "invitation", "operator"
	CreatedAt time.Time
}

// Invitation lets a tenant admin grant a role to an e-mail address before
// its owner first logs in.
type Invitation struct {
	TenantID   uuid.UUID
	ID         uuid.UUID
	Email      string
	Role       domain.Role
	InvitedBy  string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	AcceptedBy uuid.UUID
	AcceptedAt time.Time
}
