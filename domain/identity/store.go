package identity

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/audit"
)

// LoginAttempt is a browser login in progress, kept server-side so that the
// callback can check state, nonce and PKCE against what this server issued.
type LoginAttempt struct {
	StateHash   [32]byte
	Realm       uuid.UUID // tenant whose provider is used; zero: the platform's
	BrowserHash [32]byte  // hash of the binding cookie of the browser that started it
	Nonce       string
	Verifier    string // PKCE code verifier
	ReturnTo    string
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// Session is a browser session. Only the hash of its id is stored.
type Session struct {
	IDHash     [32]byte
	UserID     uuid.UUID
	Realm      uuid.UUID // tenant whose provider authenticated the user; zero: the platform's
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // absolute timeout
	IDToken    string    // for RP-initiated logout (id_token_hint); sealed at rest
}

// Store runs identity use cases in one transaction each. tenant scopes the
// tenant-owned repositories; with a zero tenant only the platform-level ones
// (users, sessions, login attempts, operators) may be used.
type Store interface {
	Atomic(ctx context.Context, tenant uuid.UUID, fn func(Tx) error) error
	// Known reads an existing user by issuer and subject, with their Grants
	// in scope, read-only and in one round trip (authentication runs it at
	// every bearer request); ok is false when there is no such user yet.
	Known(ctx context.Context, scope uuid.UUID, issuer, subject string) (u *User, g Grants, ok bool, err error)
	// Grants reads a known user's Grants in scope, read-only and in one
	// round trip (a session's requests run it at every request).
	Grants(ctx context.Context, scope, user uuid.UUID) (Grants, error)
	// Provider reads a tenant's provider settings for authentication,
	// read-only and outside any use case; ErrProviderNotConfigured when it
	// has none. The caller may change what it returns.
	Provider(ctx context.Context, tenant uuid.UUID) (*Provider, error)
}

// Tx is the identity view of one transaction.
type Tx interface {
	// Grants reads, in one go, what a request's principal is built from:
	// whether user is an operator, their organisation roles, and their
	// roles in the transaction's tenant (none without one).
	Grants(ctx context.Context, user uuid.UUID) (Grants, error)
	Users() Users
	Sessions() Sessions
	LoginAttempts() LoginAttempts
	Operators() Operators
	Providers() Providers
	Memberships() Memberships
	Invitations() Invitations
	Audit() audit.Log
}

// Grants of a user, as Tx.Grants reads them.
type Grants struct {
	Operator    bool
	Orgs        map[uuid.UUID][]domain.Role
	TenantRoles []domain.Role
}

// Users: platform-level. Missing → ErrUserNotFound.
type Users interface {
	Get(ctx context.Context, id uuid.UUID) (*User, error)
	ByIssuerSubject(ctx context.Context, issuer, subject string) (*User, error)
	Add(ctx context.Context, u *User) error
	Update(ctx context.Context, u *User) error
	// OrgRoles are the user's roles in organisations (platform-wide).
	OrgRoles(ctx context.Context, user uuid.UUID) (map[uuid.UUID][]domain.Role, error)
	// Tenants lists the tenants where the user holds any role.
	Tenants(ctx context.Context, user uuid.UUID) ([]uuid.UUID, error)
}

// Sessions: platform-level. Missing → ErrSessionInvalid.
type Sessions interface {
	Add(ctx context.Context, s *Session) error
	Get(ctx context.Context, hash [32]byte) (*Session, error)
	Touch(ctx context.Context, hash [32]byte, at time.Time) error
	Delete(ctx context.Context, hash [32]byte) error
}

// LoginAttempts: platform-level, single use.
type LoginAttempts interface {
	Add(ctx context.Context, a *LoginAttempt) error
	// Take deletes and returns the attempt: a replayed state finds nothing.
	Take(ctx context.Context, stateHash [32]byte) (*LoginAttempt, error)
}

// Operators: platform-level list of operator users.
type Operators interface {
	Is(ctx context.Context, user uuid.UUID) (bool, error)
	Add(ctx context.Context, user uuid.UUID, grantedBy string, at time.Time) error
	Remove(ctx context.Context, user uuid.UUID) error
}

// Providers: the tenant's identity provider (tenant-scoped).
type Providers interface {
	Get(ctx context.Context) (*Provider, error) // ErrProviderNotConfigured when absent
	// Save inserts, or updates when the stored version is p.Version-1 (ErrStale otherwise).
	Save(ctx context.Context, p *Provider) error
}

// Memberships: roles inside the transaction's tenant.
type Memberships interface {
	ForUser(ctx context.Context, user uuid.UUID) ([]Membership, error)
	// ReplaceFromClaims makes the claim-sourced roles of user exactly roles.
	ReplaceFromClaims(ctx context.Context, user uuid.UUID, roles []Membership) error
	Add(ctx context.Context, m Membership) error
}

// Invitations of the transaction's tenant.
type Invitations interface {
	Add(ctx context.Context, inv *Invitation) error
	Pending(ctx context.Context, email string, now time.Time) ([]Invitation, error)
	Accept(ctx context.Context, inv *Invitation) error
}

// Discoverer fetches a provider's discovery document and returns the issuer
// it names, which must equal the configured one exactly.
type Discoverer interface {
	Discover(ctx context.Context, issuer string) (string, error)
}
