// Package tenantstest provides an in-memory store for the registry and the
// audit trail, for tests of code above the stores (HTTP handlers, use
// cases). It is copy-on-write: a failed Atomic leaves nothing behind.
package tenantstest

import (
	"context"
	"slices"
	"sort"
	"sync"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/app"
	"github.com/coprod/coprod/domain/audit"
	"github.com/coprod/coprod/tenants"
)

// Memory implements tenants.Store (Registry) and app.Store.
type Memory struct {
	mu      sync.Mutex
	tenants map[uuid.UUID]tenants.Tenant
	audit   []audit.Record
}

var _ app.Store = (*Memory)(nil)

func NewMemory() *Memory { return &Memory{tenants: map[uuid.UUID]tenants.Tenant{}} }

// Registry returns the tenants.Store view.
func (m *Memory) Registry() tenants.Store { return registry{m} }

type registry struct{ m *Memory }

func (r registry) Atomic(ctx context.Context, fn func(tenants.Tx) error) error {
	return r.m.atomic(func(s *state) error { return fn(s) })
}

func (r registry) Lookup(ctx context.Context, id uuid.UUID, slug string) (*tenants.Tenant, error) {
	var out *tenants.Tenant
	err := r.Atomic(ctx, func(tx tenants.Tx) (err error) {
		if id != uuid.Nil {
			out, err = tx.Tenants().Get(ctx, id)
		} else {
			out, err = tx.Tenants().GetBySlug(ctx, slug)
		}
		return err
	})
	return out, err
}

// Atomic implements app.Store.
func (m *Memory) Atomic(ctx context.Context, tenant uuid.UUID, fn func(app.Tx) error) error {
	return m.atomic(func(s *state) error { return fn(scoped{s, tenant}) })
}

func (m *Memory) atomic(fn func(*state) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := &state{tenants: make(map[uuid.UUID]tenants.Tenant, len(m.tenants)), audit: slices.Clone(m.audit)}
	for k, v := range m.tenants {
		s.tenants[k] = v
	}
	if err := fn(s); err != nil {
		return err
	}
	m.tenants, m.audit = s.tenants, s.audit
	return nil
}

type state struct {
	tenants map[uuid.UUID]tenants.Tenant
	audit   []audit.Record
}

func (s *state) Tenants() tenants.Repository { return repo{s} }
func (s *state) Audit(t uuid.UUID) audit.Log { return log{s, t} }

type scoped struct {
	s      *state
	tenant uuid.UUID
}

func (c scoped) Audit() audit.Log { return log{c.s, c.tenant} }

type repo struct{ s *state }

func (r repo) Add(_ context.Context, ts ...*tenants.Tenant) error {
	for _, t := range ts {
		for _, o := range r.s.tenants {
			if o.Slug == t.Slug {
				return tenants.ErrSlugTaken
			}
			if t.ISTATCode != "" && o.Kind == t.Kind && o.ISTATCode == t.ISTATCode {
				return tenants.ErrISTATTaken
			}
		}
		r.s.tenants[t.ID] = *t
	}
	return nil
}

func (r repo) Update(_ context.Context, t *tenants.Tenant) error {
	o, ok := r.s.tenants[t.ID]
	if !ok || o.Version != t.Version-1 {
		return domain.ErrStale
	}
	r.s.tenants[t.ID] = *t
	return nil
}

func (r repo) Get(_ context.Context, id uuid.UUID) (*tenants.Tenant, error) {
	t, ok := r.s.tenants[id]
	if !ok {
		return nil, tenants.ErrNotFound
	}
	return &t, nil
}

func (r repo) GetBySlug(_ context.Context, slug string) (*tenants.Tenant, error) {
	for _, t := range r.s.tenants {
		if t.Slug == slug {
			return &t, nil
		}
	}
	return nil, tenants.ErrNotFound
}

func (r repo) ByISTAT(context.Context) (map[tenants.Kind]map[string]*tenants.Tenant, error) {
	out := map[tenants.Kind]map[string]*tenants.Tenant{tenants.KindRegion: {}, tenants.KindMunicipality: {}}
	for _, t := range r.s.tenants {
		if t.ISTATCode != "" {
			out[t.Kind][t.ISTATCode] = &t
		}
	}
	return out, nil
}

func (r repo) List(_ context.Context, f tenants.Filter) ([]*tenants.Tenant, error) {
	var out []*tenants.Tenant
	for _, t := range r.s.tenants {
		if (f.Kind == "" || t.Kind == f.Kind) && (f.Status == "" || t.Status == f.Status) &&
			(f.RegionID == uuid.Nil || t.RegionID == f.RegionID) && (f.After == uuid.Nil || t.ID.String() > f.After.String()) {
			out = append(out, &t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID.String() < out[j].ID.String() })
	if len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

type log struct {
	s      *state
	tenant uuid.UUID
}

func (l log) Append(_ context.Context, recs ...audit.Record) error {
	for _, r := range recs {
		r.TenantID = l.tenant
		l.s.audit = append(l.s.audit, r)
	}
	return nil
}

func (l log) List(_ context.Context, f audit.Filter) ([]audit.Record, error) {
	var out []audit.Record
	for i := len(l.s.audit) - 1; i >= 0; i-- {
		r := l.s.audit[i]
		if r.TenantID == l.tenant && (f.ObjectID == uuid.Nil || r.ObjectID == f.ObjectID) &&
			(f.Before == uuid.Nil || r.ID.String() < f.Before.String()) {
			out = append(out, r)
		}
	}
	if len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}
