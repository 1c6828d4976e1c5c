// Package report computes the key figures of a tenant into snapshots, the
// only tenant data a region's analysts read: aggregates per day, never rows
// about single applications, people or organisations. Regional reports and
// disclosure control are built on them.
package report

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/audit"
	"github.com/coprod/coprod/domain/impact"
	"github.com/coprod/coprod/domain/monitoring"
)

// Figures of one tenant on one day.
type Figures struct {
	CallsByStatus        map[string]int `json:"callsByStatus"`
	CallsByPolicyArea    map[string]int `json:"callsByPolicyArea"`
	Applications         int            `json:"applications"`
	ApplicationsByStatus map[string]int `json:"applicationsByStatus"`
	Agreements           map[string]int `json:"agreementsByStatus"`
	BudgetCommittedCents int64          `json:"budgetCommittedCents"` // public contribution of signed, active, suspended or closed agreements
	PaidCents            int64          `json:"paidCents"`            // outcome payments paid
	PilotsByStatus       map[string]int `json:"pilotsByStatus"`
	// Indicators of active and suspended agreements: on_track, at_risk,
	// off_track, not_started.
	IndicatorsByStatus map[string]int            `json:"indicatorsByStatus"`
	IndicatorsBySDG    map[string]map[string]int `json:"indicatorsBySdgGoal"`   // goal → status → count
	IndicatorsByBES    map[string]map[string]int `json:"indicatorsByBesDomain"` // BES domain → status → count
	// Money by the policy area of the agreement's call ("" without a call).
	MoneyByPolicyArea map[string]Money `json:"moneyByPolicyArea"`
	// People reached: for each indicator assignment, the people counts of its
	// latest verified (or locked) measurement, summed by category.
	People []PeopleCell `json:"people"`
	// Hidden are the categories (CellKey) disclosure control hides in this
	// snapshot: those hidden now and in any earlier snapshot, so a category
	// once hidden stays hidden (the same pattern across periods).
	Hidden []string `json:"hidden,omitempty"`
}

// Money committed and paid.
type Money struct {
	CommittedCents int64 `json:"committedCents"`
	PaidCents      int64 `json:"paidCents"`
}

// PeopleCell is an aggregate count of people (never a person).
type PeopleCell struct {
	AgeBand       string `json:"ageBand"`
	Gender        string `json:"gender"`
	Vulnerability string `json:"vulnerability"`
	Count         int    `json:"count"`
	Special       bool   `json:"special"` // a GDPR art. 9 category: stricter disclosure threshold
}

// Snapshot of a tenant's figures.
type Snapshot struct {
	TenantID uuid.UUID
	Day      time.Time // UTC midnight
	Figures  Figures
	TakenAt  time.Time
}

// Store computes and keeps snapshots in a tenant-scoped transaction.
type Store interface {
	Atomic(ctx context.Context, tenant uuid.UUID, fn func(Tx) error) error
}

// Tx is one transaction.
type Tx interface {
	// Compute reads the tenant's figures now.
	Compute(ctx context.Context, now time.Time) (Figures, error)
	// Put stores the day's snapshot, replacing an earlier one of the same day.
	Put(ctx context.Context, s Snapshot) error
	// Latest returns, of each tenant this transaction may read (its own,
	// and for a region those of its municipalities), the latest snapshot
	// taken on days from..to (inclusive).
	Latest(ctx context.Context, from, to time.Time) ([]Snapshot, error)
	// Trend returns the region's kept day-by-day sums for days from..to.
	Trend(ctx context.Context, from, to time.Time) ([]TrendPoint, error)
	// SumDay sums the snapshots of one day of the tenants this transaction
	// may read, except the tenant itself (a region: its municipalities).
	SumDay(ctx context.Context, day time.Time) (TrendPoint, error)
	// PutTrend keeps a day's sums (replacing them).
	PutTrend(ctx context.Context, p TrendPoint, at time.Time) error
	// Previous is the tenant's latest snapshot of a day before day, or nil.
	Previous(ctx context.Context, day time.Time) (*Snapshot, error)
	// Region is the region of the tenant (uuid.Nil for a region).
	Region(ctx context.Context) (uuid.UUID, error)
	// Monitoring is the same transaction seen by the monitoring use cases.
	Monitoring() monitoring.Tx
	Audit() audit.Log
	Publish(ctx context.Context, events ...domain.Event) error
}

// RegionStale says a municipality's snapshot of a day changed, so its
// region's sums of that day are recomputed (the aggregate job).
type RegionStale struct {
	RegionID uuid.UUID
	Day      time.Time
}

func (RegionStale) EventKind() string { return "report.region_stale" }

// Requested asks for a snapshot to be taken now (the on-demand job).
type Requested struct{ TenantID uuid.UUID }

func (Requested) EventKind() string { return "report.snapshot_requested" }

// Service takes snapshots.
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

// Take computes and stores today's snapshot of a tenant (jobs run it nightly
// and on demand). Taking it twice in a day keeps the latest figures.
func (s *Service) Take(ctx context.Context, tenant uuid.UUID) (*Snapshot, error) {
	now := s.now()
	var out *Snapshot
	err := s.store.Atomic(ctx, tenant, func(tx Tx) error {
		f, err := tx.Compute(ctx, now)
		if err != nil {
			return err
		}
		tally, err := monitoring.Statuses(ctx, tx.Monitoring(), now)
		if err != nil {
			return err
		}
		f.IndicatorsByStatus, f.IndicatorsBySDG, f.IndicatorsByBES = tally.ByStatus, tally.BySDG, tally.ByBES
		for i := range f.People {
			f.People[i].Special = impact.IsSpecialCategory(f.People[i].Vulnerability)
		}
		prev, err := tx.Previous(ctx, day(now))
		if err != nil {
			return err
		}
		var before []string
		if prev != nil {
			before = prev.Figures.Hidden
		}
		f.Hidden = CarryHidden(before, f.People)
		snap := &Snapshot{TenantID: tenant, Day: day(now), Figures: f, TakenAt: now}
		if err := tx.Put(ctx, *snap); err != nil {
			return err
		}
		region, err := tx.Region(ctx)
		if err != nil {
			return err
		}
		if region != uuid.Nil {
			if err := tx.Publish(ctx, RegionStale{RegionID: region, Day: snap.Day}); err != nil {
				return err
			}
		}
		out = snap
		return nil
	})
	return out, err
}

// AggregateRegion recomputes a region's sums of one day from its
// municipalities' snapshots (run by the aggregate job).
func (s *Service) AggregateRegion(ctx context.Context, region uuid.UUID, d time.Time) error {
	return s.store.Atomic(ctx, region, func(tx Tx) error {
		p, err := tx.SumDay(ctx, day(d))
		if err != nil {
			return err
		}
		return tx.PutTrend(ctx, p, s.now())
	})
}

// Request asks for a snapshot now (officer, tenant admin or operator); the
// job takes it.
func (s *Service) Request(ctx context.Context, tenant uuid.UUID) error {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return err
	}
	if !p.IsOperator() && !(p.TenantID == tenant && p.Has(domain.RoleOfficer, domain.RoleTenantAdmin)) {
		return domain.ErrForbidden
	}
	return s.store.Atomic(ctx, tenant, func(tx Tx) error {
		if err := tx.Audit().Append(ctx, audit.New(tenant, p, s.now(), "report.snapshot_requested", "tenant", tenant, nil)); err != nil {
			return err
		}
		return tx.Publish(ctx, Requested{TenantID: tenant})
	})
}
