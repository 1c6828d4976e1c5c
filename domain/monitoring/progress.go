package monitoring

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/agreement"
	"github.com/coprod/coprod/domain/impact"
	"github.com/coprod/coprod/domain/pilot"
)

// IndicatorProgress is how far one assignment has come.
type IndicatorProgress struct {
	AssignmentID uuid.UUID
	PilotID      uuid.UUID
	Indicator    string
	Name         string
	Weight       int
	Baseline     impact.Value
	Target       impact.Value // the target of the latest verified period, else the first target
	TargetPeriod string
	Latest       *impact.Value // the latest verified value
	LatestPeriod string
	ProgressBP   int64 // share of the way from baseline to target, basis points
	ElapsedBP    int64 // share of the target period elapsed
	Status       impact.Status
}

// Summary is the weighted progress of an agreement or a pilot.
type Summary struct {
	Indicators []IndicatorProgress
	ProgressBP int64 // weighted mean over the indicators with a verified value
	Status     impact.Status
}

// Progress summarises an agreement's indicators, or one pilot's when
// pilotID is set, at now.
func (s *Service) Progress(ctx context.Context, tenant, agreementID, pilotID uuid.UUID) (*Summary, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	sum := &Summary{}
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		a, err := tx.Agreements().Get(ctx, agreementID)
		if err != nil {
			return err
		}
		if _, party := partyOf(p, a); !party && !staffReader(p, tenant) {
			if pilotID != uuid.Nil {
				return pilot.ErrNotFound // as if it did not exist
			}
			return agreement.ErrNotFound
		}
		ass, err := tx.Assignments().ForAgreement(ctx, agreementID)
		if err != nil {
			return err
		}
		var weighted, weights int64
		for _, as := range ass {
			if pilotID != uuid.Nil && as.PilotID != pilotID {
				continue
			}
			def, err := tx.Library().Get(ctx, as.Indicator)
			if err != nil {
				return err
			}
			ms, err := tx.Measurements().Latest(ctx, as.ID)
			if err != nil {
				return err
			}
			ip := progressOf(*def, as, ms, a.Start, now)
			if ip.Latest != nil {
				weighted += ip.ProgressBP * int64(as.Weight)
				weights += int64(as.Weight)
			}
			sum.Indicators = append(sum.Indicators, ip)
		}
		sum.Status = impact.Status("not_started")
		if weights > 0 {
			sum.ProgressBP = (weighted + weights/2) / weights
			worst := impact.Status("on_track")
			for _, ip := range sum.Indicators {
				if ip.Status == "off_track" || (ip.Status == "at_risk" && worst == "on_track") {
					worst = ip.Status
				}
			}
			sum.Status = worst
		}
		return nil
	})
	return sum, err
}

// progressOf compares the latest verified value with the target of its
// period; status weighs it against the time elapsed since the start.
func progressOf(def impact.Definition, as *Assignment, ms []*Measurement, start, now time.Time) IndicatorProgress {
	ip := IndicatorProgress{AssignmentID: as.ID, PilotID: as.PilotID, Indicator: as.Indicator, Name: def.Name, Weight: as.Weight,
		Baseline: as.Baseline.Value, Status: impact.Status("not_started")}
	if len(as.Targets) > 0 {
		ip.Target, ip.TargetPeriod = as.Targets[0].Value, as.Targets[0].Period
	}
	var latest *Measurement
	for _, m := range ms {
		if m.Status == "locked" && (latest == nil || m.Period > latest.Period) {
			latest = m
		}
	}
	if latest == nil {
		return ip
	}
	v := latest.Value
	ip.Latest, ip.LatestPeriod = &v, latest.Period
	for _, t := range as.Targets {
		if t.Period >= latest.Period {
			ip.Target, ip.TargetPeriod = t.Value, t.Period
			break
		}
		ip.Target, ip.TargetPeriod = t.Value, t.Period
	}
	ip.ProgressBP = impact.ProgressBP(def, as.Baseline.Value, ip.Target, v)
	if end, err := impact.PeriodEnd(ip.TargetPeriod); err == nil {
		ip.ElapsedBP = impact.ElapsedBP(start, end, now)
	}
	ip.Status = impact.StatusOf(ip.ProgressBP, ip.ElapsedBP)
	return ip
}

// Tally counts indicators by progress status, overall and by the SDG goal
// and BES domain their definitions are tagged with.
type Tally struct {
	ByStatus map[string]int
	BySDG    map[string]map[string]int // goal ("3") → status → count
	ByBES    map[string]map[string]int // BES domain → status → count
}

func (t *Tally) add(def *impact.Definition, status string) {
	t.ByStatus[status]++
	bump := func(m map[string]map[string]int, k string) {
		if m[k] == nil {
			m[k] = map[string]int{}
		}
		m[k][status]++
	}
	goals := map[string]bool{}
	for _, target := range def.SDGTargets {
		goal, _, _ := strings.Cut(target, ".")
		if !goals[goal] {
			goals[goal] = true
			bump(t.BySDG, goal)
		}
	}
	for _, d := range def.BESDomains {
		bump(t.ByBES, d)
	}
}

// Statuses tallies the indicators of the tenant's active and suspended
// agreements at now, as Progress computes them; report snapshots run it in
// their transaction.
func Statuses(ctx context.Context, tx Tx, now time.Time) (Tally, error) {
	out := Tally{ByStatus: map[string]int{}, BySDG: map[string]map[string]int{}, ByBES: map[string]map[string]int{}}
	as, err := domain.AllPages(500, func(a *agreement.Agreement) uuid.UUID { return a.ID }, func(after uuid.UUID, limit int) ([]*agreement.Agreement, error) {
		return tx.Agreements().List(ctx, nil, agreement.Filter{After: after, Limit: limit})
	})
	if err != nil {
		return out, err
	}
	defs := map[string]*impact.Definition{}
	for _, a := range as {
		if a.Status != "active" && a.Status != "suspended" {
			continue
		}
		ass, err := tx.Assignments().ForAgreement(ctx, a.ID)
		if err != nil {
			return out, err
		}
		for _, x := range ass {
			def, ok := defs[x.Indicator]
			if !ok {
				if def, err = tx.Library().Get(ctx, x.Indicator); err != nil {
					return out, err
				}
				defs[x.Indicator] = def
			}
			ms, err := tx.Measurements().Latest(ctx, x.ID)
			if err != nil {
				return out, err
			}
			out.add(def, string(progressOf(*def, x, ms, a.Start, now).Status))
		}
	}
	return out, nil
}
