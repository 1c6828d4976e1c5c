// Package network is the network of partnerships: which organisations
// worked with which municipalities, and with each other, through
// applications, agreements and pilots. Each municipality tallies its own
// processes into aggregates (ties and alliances, counted by kind and year);
// a region reads those of its municipalities, never their rows, and the
// public reads the agreement counts only (signed agreements are public).
package network

import (
	"bytes"
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
)

// Kind of process that links an organisation to a municipality.
type Kind string

const (
	KindApplication Kind = "application" // a submitted application (lead or partner)
	KindAgreement   Kind = "agreement"   // a signed agreement (a party)
	KindPilot       Kind = "pilot"       // a pilot that started, inside an agreement (its parties)
)

// Activity is one process of a municipality and the organisations in it.
type Activity struct {
	Kind Kind
	At   time.Time // submission, the officer's signature, the pilot's start
	Orgs []uuid.UUID
}

// Counts of processes by kind.
type Counts struct {
	Applications int `json:"applications"`
	Agreements   int `json:"agreements"`
	Pilots       int `json:"pilots"`
}

func (c *Counts) add(k Kind) {
	switch k {
	case KindApplication:
		c.Applications++
	case KindAgreement:
		c.Agreements++
	case KindPilot:
		c.Pilots++
	}
}

// Plus is the sum of two counts.
func (c Counts) Plus(o Counts) Counts {
	return Counts{c.Applications + o.Applications, c.Agreements + o.Agreements, c.Pilots + o.Pilots}
}

// Total of all kinds.
func (c Counts) Total() int { return c.Applications + c.Agreements + c.Pilots }

// Tie: an organisation worked with a municipality in a year.
type Tie struct {
	Municipality uuid.UUID
	Organisation uuid.UUID
	Year         int
	Counts
}

// Alliance: two organisations were in the same process of a municipality
// in a year. Organisation sorts before Partner, so a pair has one key.
type Alliance struct {
	Municipality uuid.UUID
	Organisation uuid.UUID
	Partner      uuid.UUID
	Year         int
	Counts
}

// Tally aggregates a municipality's activities into its ties and
// alliances, by year (UTC). An organisation named twice in one process
// counts once. The result is sorted.
func Tally(municipality uuid.UUID, acts []Activity) ([]Tie, []Alliance) {
	type tieKey struct {
		org  uuid.UUID
		year int
	}
	type pairKey struct {
		a, b uuid.UUID
		year int
	}
	ties := map[tieKey]*Counts{}
	pairs := map[pairKey]*Counts{}
	for _, a := range acts {
		year := a.At.UTC().Year()
		orgs := slices.Clone(a.Orgs)
		slices.SortFunc(orgs, compareID)
		orgs = slices.Compact(orgs)
		for i, o := range orgs {
			if o == uuid.Nil {
				continue
			}
			k := tieKey{o, year}
			if ties[k] == nil {
				ties[k] = &Counts{}
			}
			ties[k].add(a.Kind)
			for _, p := range orgs[i+1:] {
				pk := pairKey{o, p, year}
				if pairs[pk] == nil {
					pairs[pk] = &Counts{}
				}
				pairs[pk].add(a.Kind)
			}
		}
	}
	outT := make([]Tie, 0, len(ties))
	for k, c := range ties {
		outT = append(outT, Tie{Municipality: municipality, Organisation: k.org, Year: k.year, Counts: *c})
	}
	slices.SortFunc(outT, func(a, b Tie) int {
		return cmp.Or(compareID(a.Organisation, b.Organisation), cmp.Compare(a.Year, b.Year))
	})
	outA := make([]Alliance, 0, len(pairs))
	for k, c := range pairs {
		outA = append(outA, Alliance{Municipality: municipality, Organisation: k.a, Partner: k.b, Year: k.year, Counts: *c})
	}
	slices.SortFunc(outA, func(a, b Alliance) int {
		return cmp.Or(compareID(a.Organisation, b.Organisation), compareID(a.Partner, b.Partner), cmp.Compare(a.Year, b.Year))
	})
	return outT, outA
}

func compareID(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) }

// Place is a tenant of the registry, as the network names it.
type Place struct {
	ID   uuid.UUID
	Slug string
	Name string
}

// Store runs a transaction in one tenant's scope.
type Store interface {
	Atomic(ctx context.Context, tenant uuid.UUID, fn func(Tx) error) error
}

// Tx is one tenant-scoped transaction.
type Tx interface {
	// Activities are the tenant's own processes that link organisations.
	Activities(ctx context.Context) ([]Activity, error)
	// Replace swaps the tenant's ties and alliances for these.
	Replace(ctx context.Context, ties []Tie, alliances []Alliance, at time.Time) error
	// Region is the tenant when it is a region, with its municipalities
	// (active or suspended); ok is false for a municipality.
	Region(ctx context.Context) (region Place, municipalities []Place, ok bool, err error)
	// Ties and Alliances of the municipalities this transaction may read
	// (for a region: its municipalities'), and when they were last computed.
	Ties(ctx context.Context) ([]Tie, error)
	Alliances(ctx context.Context) ([]Alliance, error)
	ComputedAt(ctx context.Context) (time.Time, error)
	// OrganisationNames are the public names of organisations.
	OrganisationNames(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]string, error)
}

// Errors; codes are part of the API contract.
var (
	ErrNotARegion   = domain.Errorf(domain.KindNotFound, "region_not_found", "no such region")
	ErrInvalidYears = domain.Errorf(domain.KindInvalid, "invalid_range", "the years run from one to the same or a later one")
)

// Service builds the network.
type Service struct {
	store Store
	now   domain.Clock
}

func NewService(store Store, now domain.Clock) *Service {
	if now == nil {
		now = domain.SystemClock
	}
	return &Service{store: store, now: now}
}

// Refresh recomputes a municipality's ties and alliances from its own
// processes, in its own scope (the snapshot job runs it, as the system or
// an operator).
func (s *Service) Refresh(ctx context.Context, tenant uuid.UUID) error {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return err
	}
	if !p.IsOperator() && !(p.TenantID == tenant && p.Has(domain.RoleSystem)) {
		return domain.ErrForbidden
	}
	return s.store.Atomic(ctx, tenant, func(tx Tx) error {
		acts, err := tx.Activities(ctx)
		if err != nil {
			return err
		}
		ties, alliances := Tally(tenant, acts)
		return tx.Replace(ctx, ties, alliances, s.now())
	})
}

// Years limits a graph to years From..To (inclusive); zero is open.
type Years struct{ From, To int }

func (y Years) valid() error {
	if y.From < 0 || y.To < 0 || (y.From != 0 && y.To != 0 && y.From > y.To) {
		return ErrInvalidYears
	}
	return nil
}

// Region is the network of a region's municipalities, for its analysts
// and admins (or an operator): every kind of process.
func (s *Service) Region(ctx context.Context, region uuid.UUID, years Years) (*Graph, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	if !p.IsOperator() && !(p.TenantID == region && p.Has(domain.RoleRegionalAnalyst, domain.RoleTenantAdmin)) {
		return nil, domain.ErrForbidden
	}
	return s.graph(ctx, region, Scope{Years: years})
}

// Public is the network of a region's published agreements, for anyone:
// signed agreements and their parties are public already (open data);
// applications and pilots are left out.
func (s *Service) Public(ctx context.Context, region uuid.UUID, years Years) (*Graph, error) {
	return s.graph(ctx, region, Scope{Years: years, AgreementsOnly: true})
}

func (s *Service) graph(ctx context.Context, region uuid.UUID, sc Scope) (*Graph, error) {
	if err := sc.Years.valid(); err != nil {
		return nil, err
	}
	var g *Graph
	err := s.store.Atomic(ctx, region, func(tx Tx) error {
		r, ms, ok, err := tx.Region(ctx)
		if err != nil {
			return err
		}
		if !ok {
			return ErrNotARegion
		}
		ties, err := tx.Ties(ctx)
		if err != nil {
			return err
		}
		alliances, err := tx.Alliances(ctx)
		if err != nil {
			return err
		}
		at, err := tx.ComputedAt(ctx)
		if err != nil {
			return err
		}
		g = Build(r, ms, ties, alliances, sc)
		g.ComputedAt = at
		ids := make([]uuid.UUID, 0, len(g.Nodes))
		for _, n := range g.Nodes {
			if n.Kind == NodeOrganisation {
				ids = append(ids, n.ID)
			}
		}
		names, err := tx.OrganisationNames(ctx, ids)
		if err != nil {
			return err
		}
		g.name(names)
		return nil
	})
	return g, err
}
