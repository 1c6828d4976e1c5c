package report

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/impact"
)

// Disclosure thresholds (DOMAIN.md §4): a cell of fewer people than this
// is never shown across tenants.
const (
	MinCell        = impact.DefaultMinCellSize
	MinSpecialCell = impact.SpecialMinCellSize
)

// Cell of a published table; Count is nil when suppressed.
type Cell struct {
	AgeBand       string `json:"ageBand"`
	Gender        string `json:"gender"`
	Vulnerability string `json:"vulnerability"`
	Count         *int   `json:"count"`
	Suppressed    bool   `json:"suppressed,omitempty"`
}

// Suppress applies statistical disclosure control to people counts.
// Primary: a non-zero cell under MinCell (MinSpecialCell for art. 9
// categories) is hidden. Complementary: the published totals are the
// vulnerability totals, so within each vulnerability a lone hidden cell
// could be recovered by subtraction; the smallest other non-zero cell of
// that group is hidden too, and a group whose total would itself be under
// the threshold is hidden whole. Cells come out in a stable order so the
// same pattern holds across periods for the same input.
func Suppress(cells []PeopleCell) (out []Cell, totals map[string]*int) {
	return SuppressSticky(cells, nil)
}

// CellKey names a category of people across periods.
func CellKey(vulnerability, ageBand, gender string) string {
	return vulnerability + "|" + ageBand + "|" + gender
}

// SuppressSticky is Suppress where the categories in hideAlso (hidden in an
// earlier period) are hidden again whatever their count, so that the same
// pattern holds across periods and a change between two periods cannot
// reveal a hidden count.
func SuppressSticky(cells []PeopleCell, hideAlso map[string]bool) (out []Cell, totals map[string]*int) {
	sorted := slices.Clone(cells)
	slices.SortFunc(sorted, func(a, b PeopleCell) int {
		return cmp.Or(cmp.Compare(a.Vulnerability, b.Vulnerability), cmp.Compare(a.AgeBand, b.AgeBand), cmp.Compare(a.Gender, b.Gender))
	})
	hidden := make([]bool, len(sorted))
	threshold := func(c PeopleCell) int {
		if c.Special || impact.IsSpecialCategory(c.Vulnerability) {
			return MinSpecialCell
		}
		return MinCell
	}
	totals = map[string]*int{}
	for start := 0; start < len(sorted); {
		end := start
		for end < len(sorted) && sorted[end].Vulnerability == sorted[start].Vulnerability {
			end++
		}
		group := sorted[start:end]
		total, nHidden := 0, 0
		for i, c := range group {
			total += c.Count
			if c.Count > 0 && (c.Count < threshold(c) || hideAlso[CellKey(c.Vulnerability, c.AgeBand, c.Gender)]) {
				hidden[start+i] = true
				nHidden++
			}
		}
		switch {
		case total > 0 && total < threshold(group[0]):
			// The whole group is too small to show, total included.
			for i := range group {
				hidden[start+i] = group[i].Count > 0
			}
			totals[group[0].Vulnerability] = nil
		default:
			if nHidden == 1 {
				best := -1
				for i, c := range group {
					if !hidden[start+i] && c.Count > 0 && (best < 0 || c.Count < group[best].Count) {
						best = i
					}
				}
				if best >= 0 {
					hidden[start+best] = true
				}
			}
			t := total
			totals[group[0].Vulnerability] = &t
		}
		start = end
	}
	out = make([]Cell, len(sorted))
	for i, c := range sorted {
		out[i] = Cell{AgeBand: c.AgeBand, Gender: c.Gender, Vulnerability: c.Vulnerability, Suppressed: hidden[i]}
		if !hidden[i] {
			n := c.Count
			out[i].Count = &n
		}
	}
	return out, totals
}

// MunicipalityFigures is what a region sees of one municipality: the
// counts of processes (not about people) as they are, people suppressed.
type MunicipalityFigures struct {
	TenantID             uuid.UUID
	Day                  time.Time
	CallsByStatus        map[string]int
	Applications         int
	ApplicationsByStatus map[string]int
	AgreementsByStatus   map[string]int
	BudgetCommittedCents int64
	PaidCents            int64
	MoneyByPolicyArea    map[string]Money
	PilotsByStatus       map[string]int
	IndicatorsByStatus   map[string]int
	People               []Cell
	PeopleTotals         map[string]*int // by vulnerability; nil when suppressed
}

// TrendPoint sums the municipalities' snapshots of one day.
type TrendPoint struct {
	Day                  time.Time
	Municipalities       int // how many had a snapshot that day
	BudgetCommittedCents int64
	PaidCents            int64
	Applications         int
	ActiveAgreements     int
}

// RegionReport of a region's municipalities over a range of days: each
// municipality's latest snapshot in the range, region-wide sums of the
// non-personal figures, and the trend day by day.
type RegionReport struct {
	RegionID             uuid.UUID
	From, To             time.Time
	Municipalities       []MunicipalityFigures
	BudgetCommittedCents int64
	PaidCents            int64
	Applications         int
	MoneyByPolicyArea    map[string]Money
	IndicatorsBySDG      map[string]map[string]int
	IndicatorsByBES      map[string]map[string]int
	Trend                []TrendPoint
}

// MaxRangeDays is the longest range of a region report.
const MaxRangeDays = 366

// ErrInvalidRange: from after to, or longer than MaxRangeDays.
var ErrInvalidRange = domain.Errorf(domain.KindInvalid, "invalid_range", "the range runs from a day to a later one, at most %d days", MaxRangeDays)

// Region builds the report of a region for its analysts (or an operator).
// Zero to means today, zero from 90 days before to. People never appear
// below the disclosure thresholds, and are not summed over the region, so
// no total can be used to recover a hidden cell.
func (s *Service) Region(ctx context.Context, region uuid.UUID, from, to time.Time) (*RegionReport, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	if !p.IsOperator() && !(p.TenantID == region && p.Has(domain.RoleRegionalAnalyst, domain.RoleTenantAdmin)) {
		return nil, domain.ErrForbidden
	}
	if to.IsZero() {
		to = s.now()
	}
	to = day(to)
	if from.IsZero() {
		from = to.AddDate(0, 0, -89)
	}
	from = day(from)
	if from.After(to) || to.Sub(from) >= MaxRangeDays*24*time.Hour {
		return nil, ErrInvalidRange
	}
	var snaps []Snapshot
	var trend []TrendPoint
	if err := s.store.Atomic(ctx, region, func(tx Tx) error {
		var err error
		if snaps, err = tx.Latest(ctx, from, to); err != nil {
			return err
		}
		trend, err = tx.Trend(ctx, from, to)
		return err
	}); err != nil {
		return nil, err
	}
	if trend == nil {
		trend = []TrendPoint{}
	}
	r := &RegionReport{RegionID: region, From: from, To: to, Municipalities: []MunicipalityFigures{}, Trend: trend,
		MoneyByPolicyArea: map[string]Money{}, IndicatorsBySDG: map[string]map[string]int{}, IndicatorsByBES: map[string]map[string]int{}}
	// Latest gives one snapshot per tenant; sorted for a stable report.
	slices.SortFunc(snaps, func(a, b Snapshot) int { return cmp.Compare(a.TenantID.String(), b.TenantID.String()) })
	for _, sn := range snaps {
		if sn.TenantID == region {
			continue
		}
		cells, totals := SuppressSticky(sn.Figures.People, keySet(sn.Figures.Hidden))
		r.Municipalities = append(r.Municipalities, MunicipalityFigures{
			TenantID: sn.TenantID, Day: sn.Day,
			CallsByStatus: sn.Figures.CallsByStatus, Applications: sn.Figures.Applications, ApplicationsByStatus: sn.Figures.ApplicationsByStatus,
			AgreementsByStatus: sn.Figures.Agreements, BudgetCommittedCents: sn.Figures.BudgetCommittedCents,
			PaidCents: sn.Figures.PaidCents, MoneyByPolicyArea: sn.Figures.MoneyByPolicyArea,
			PilotsByStatus: sn.Figures.PilotsByStatus, IndicatorsByStatus: sn.Figures.IndicatorsByStatus,
			People: cells, PeopleTotals: totals,
		})
		r.BudgetCommittedCents += sn.Figures.BudgetCommittedCents
		r.PaidCents += sn.Figures.PaidCents
		r.Applications += sn.Figures.Applications
		for area, m := range sn.Figures.MoneyByPolicyArea {
			sum := r.MoneyByPolicyArea[area]
			sum.CommittedCents += m.CommittedCents
			sum.PaidCents += m.PaidCents
			r.MoneyByPolicyArea[area] = sum
		}
		addNested(r.IndicatorsBySDG, sn.Figures.IndicatorsBySDG)
		addNested(r.IndicatorsByBES, sn.Figures.IndicatorsByBES)
	}
	return r, nil
}

// CarryHidden is the hidden pattern of a new period: the categories hidden
// before, and those disclosure control hides now given them, sorted.
func CarryHidden(before []string, people []PeopleCell) []string {
	sticky := keySet(before)
	cells, _ := SuppressSticky(people, sticky)
	for _, c := range cells {
		if c.Suppressed {
			sticky[CellKey(c.Vulnerability, c.AgeBand, c.Gender)] = true
		}
	}
	return slices.Sorted(maps.Keys(sticky))
}

func keySet(keys []string) map[string]bool {
	out := make(map[string]bool, len(keys))
	for _, k := range keys {
		out[k] = true
	}
	return out
}

func addNested(dst, src map[string]map[string]int) {
	for k, m := range src {
		if dst[k] == nil {
			dst[k] = map[string]int{}
		}
		for status, n := range m {
			dst[k][status] += n
		}
	}
}

func day(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}
