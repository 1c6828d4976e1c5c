package tenants

import (
	"context"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain/audit"
)

// Store runs the registry's use cases, each in one transaction.
type Store interface {
	// Atomic runs fn in one platform-level transaction: it commits when fn
	// returns nil and rolls back otherwise, so nothing is half-done.
	Atomic(ctx context.Context, fn func(Tx) error) error
	// Lookup reads one tenant by id (when not zero) or slug, in one round
	// trip and no transaction of its own: authentication and Enter run it
	// at every request. Missing → ErrNotFound.
	Lookup(ctx context.Context, id uuid.UUID, slug string) (*Tenant, error)
}

// Tx is the registry's view of one transaction.
type Tx interface {
	Tenants() Repository
	// Audit returns the trail of one tenant, inside this transaction.
	Audit(tenant uuid.UUID) audit.Log
}

// Filter selects a page of tenants, in creation order.
type Filter struct {
	Kind     Kind
	Status   Status
	RegionID uuid.UUID
	After    uuid.UUID // cursor: the id of the last tenant of the previous page
	Limit    int
}

// Repository keeps tenants. Lookups of a missing tenant return ErrNotFound.
type Repository interface {
	Add(ctx context.Context, ts ...*Tenant) error // ErrSlugTaken, ErrISTATTaken
	// Update saves t if its stored version is still t.Version-1 (ErrStale otherwise).
	Update(ctx context.Context, t *Tenant) error
	Get(ctx context.Context, id uuid.UUID) (*Tenant, error)
	GetBySlug(ctx context.Context, slug string) (*Tenant, error)
	// ByISTAT returns the tenants that carry an ISTAT code, keyed by kind and code.
	ByISTAT(ctx context.Context) (map[Kind]map[string]*Tenant, error)
	List(ctx context.Context, f Filter) ([]*Tenant, error)
}
