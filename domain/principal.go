package domain

import (
	"context"
	"slices"

	"github.com/google/uuid"
)

// Role is what a principal may do. Tenant roles hold inside one tenant;
// platform roles hold across tenants.
type Role string

const (
	RolePlatformOperator Role = "platform_operator"
	RoleTenantAdmin      Role = "tenant_admin"
	RoleOfficer          Role = "officer"
	RoleEvaluator        Role = "evaluator"
	RoleAuditor          Role = "auditor"
	RoleOrgAdmin         Role = "org_admin"
	RoleOrgMember        Role = "org_member"
	RoleRegionalAnalyst  Role = "regional_analyst"
	RoleSystem           Role = "system" // background jobs acting for a tenant
)

// Principal is who a use case acts for. TenantID is zero for platform-level
// principals (the operator); HTTP authenticates, use cases authorize.
type Principal struct {
	Subject  string    // stable id of the caller, for audit records
	UserID   uuid.UUID // zero for the bootstrap operator and the system
	TenantID uuid.UUID
	Roles    []Role
	// Orgs are the organisations the caller acts for, with its roles there
	// (org_admin, org_member). Platform-wide: an organisation acts in many tenants.
	Orgs map[uuid.UUID][]Role
}

// Has reports whether the principal holds any of the roles.
func (p Principal) Has(roles ...Role) bool {
	for _, r := range roles {
		if slices.Contains(p.Roles, r) {
			return true
		}
	}
	return false
}

// IsOperator reports whether the principal is a platform operator.
func (p Principal) IsOperator() bool { return p.Has(RolePlatformOperator) }

// SystemPrincipal is what workers act as inside one tenant.
func SystemPrincipal(tenant uuid.UUID) Principal {
	return Principal{Subject: "system", TenantID: tenant, Roles: []Role{RoleSystem}}
}

type principalKey struct{}

// WithPrincipal returns a context carrying p. The principal is the only
// request-scoped value coprod keeps in a context.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom fails closed: a missing principal is an error, not a zero value.
func PrincipalFrom(ctx context.Context) (Principal, error) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	if !ok || p.Subject == "" {
		return Principal{}, ErrUnauthenticated
	}
	return p, nil
}
