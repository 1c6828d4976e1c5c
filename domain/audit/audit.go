// Package audit holds the audit record that every state change of the domain
// writes in the same transaction as the change itself.
package audit

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
)

// Record is one entry of a tenant's audit trail. The trail is append-only:
// the database role of the service may insert and read it, never change it.
type Record struct {
	TenantID   uuid.UUID
	ID         uuid.UUID
	At         time.Time
	Actor      string // principal subject
	Action     string // e.g. "tenant.suspended"
	ObjectType string // e.g. "tenant"
	ObjectID   uuid.UUID
	// Summary describes the change (before/after of the fields that moved);
	// it never holds personal data about beneficiaries.
	Summary map[string]any
}

// New builds a record for p acting on an object at time at.
func New(tenant uuid.UUID, p domain.Principal, at time.Time, action, objectType string, objectID uuid.UUID, summary map[string]any) Record {
	return Record{
		TenantID: tenant, ID: domain.NewID(), At: at, Actor: p.Subject,
		Action: action, ObjectType: objectType, ObjectID: objectID, Summary: summary,
	}
}

// Filter selects a page of one tenant's trail, newest first.
type Filter struct {
	ObjectID uuid.UUID // zero: all objects
	Before   uuid.UUID // cursor: records older than this id; zero: from the newest
	Limit    int
}

// Log appends and reads records of the tenant its transaction is scoped to.
type Log interface {
	Append(ctx context.Context, recs ...Record) error
	List(ctx context.Context, f Filter) ([]Record, error)
}
