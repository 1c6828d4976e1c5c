// Package opendata publishes a municipality's co-production as the open
// data the sector expects (DOMAIN.md §5): a 360Giving package with one
// grant per awarded contribution, and an OCDS release package with calls
// as tenders and agreements as awards. Both are public; ids are stable
// (derived from coprod's ids, never from positions in a list).
package opendata

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/agreement"
	"github.com/coprod/coprod/domain/call"
	"github.com/coprod/coprod/domain/organisation"
)

// Funder is the municipality publishing.
type Funder struct {
	ID    uuid.UUID
	Slug  string
	Name  string
	ISTAT string
}

// Tx reads one tenant's public facts.
type Tx interface {
	Funder(ctx context.Context) (Funder, error)
	// Calls returns the tenant's calls past draft.
	Calls(ctx context.Context) ([]*call.Call, error)
	// Agreements returns the tenant's agreements that were signed.
	Agreements(ctx context.Context) ([]*agreement.Agreement, error)
	// Rankings returns the published ranking of each ranked call.
	Rankings(ctx context.Context) (map[uuid.UUID][]call.PublicRankEntry, error)
	// Organisations returns the organisations of the ids (one read for all).
	Organisations(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]*organisation.Organisation, error)
}

// Store runs a read in a tenant's scope.
type Store interface {
	Atomic(ctx context.Context, tenant uuid.UUID, fn func(Tx) error) error
}

// Config names the publisher.
type Config struct {
	// GrantPrefix is the 360Giving identifier prefix of the publisher
	// (registered with 360Giving, e.g. "360G-coprod").
	GrantPrefix string
	// OCIDPrefix is the OCDS ocid prefix (registered with OCP, e.g. "ocds-abc123").
	OCIDPrefix string
	// BaseURL of the public API, for package uris.
	BaseURL string
	// Publisher's name in the packages.
	Publisher string
}

// Service builds the packages.
type Service struct {
	store Store
	cfg   Config
	now   domain.Clock
}

func NewService(store Store, cfg Config, now domain.Clock) *Service {
	if now == nil {
		now = domain.SystemClock
	}
	if cfg.GrantPrefix == "" {
		cfg.GrantPrefix = "360G-coprod"
	}
	if cfg.OCIDPrefix == "" {
		cfg.OCIDPrefix = "ocds-coprod"
	}
	if cfg.Publisher == "" {
		cfg.Publisher = "coprod"
	}
	return &Service{store: store, cfg: cfg, now: now}
}

// awarded: statuses of an agreement whose contribution was awarded.
var awarded = map[agreement.Status]bool{"signed": true, "active": true, "suspended": true, "closed": true, "terminated": true}

// facts is what both packages are built from.
type facts struct {
	funder Funder
	calls  []*call.Call
	agrees []*agreement.Agreement
	orgs   map[uuid.UUID]*organisation.Organisation
	ranks  map[uuid.UUID][]call.PublicRankEntry
}

func (s *Service) read(ctx context.Context, tenant uuid.UUID) (*facts, error) {
	f := &facts{orgs: map[uuid.UUID]*organisation.Organisation{}}
	err := s.store.Atomic(ctx, tenant, func(tx Tx) error {
		var err error
		if f.funder, err = tx.Funder(ctx); err != nil {
			return err
		}
		if f.calls, err = tx.Calls(ctx); err != nil {
			return err
		}
		if f.ranks, err = tx.Rankings(ctx); err != nil {
			return err
		}
		all, err := tx.Agreements(ctx)
		if err != nil {
			return err
		}
		seen := map[uuid.UUID]bool{}
		var ids []uuid.UUID
		for _, a := range all {
			if !awarded[a.Status] {
				continue
			}
			f.agrees = append(f.agrees, a)
			for _, p := range a.Parties {
				if !seen[p.OrganisationID] {
					seen[p.OrganisationID] = true
					ids = append(ids, p.OrganisationID)
				}
			}
		}
		if len(ids) == 0 {
			return nil
		}
		if f.orgs, err = tx.Organisations(ctx, ids); err != nil {
			return err
		}
		for _, id := range ids {
			if f.orgs[id] == nil {
				return fmt.Errorf("opendata: organisation %s of an agreement not found", id)
			}
		}
		return nil
	})
	sort.Slice(f.calls, func(i, j int) bool { return f.calls[i].ID.String() < f.calls[j].ID.String() })
	sort.Slice(f.agrees, func(i, j int) bool { return f.agrees[i].ID.String() < f.agrees[j].ID.String() })
	return f, err
}

// modified is the latest change of anything published, so that the same
// data gives the same package (and ETag); fallback when there is nothing.
func (f *facts) modified(fallback time.Time) time.Time {
	var t time.Time
	for _, c := range f.calls {
		if c.UpdatedAt.After(t) {
			t = c.UpdatedAt
		}
	}
	for _, a := range f.agrees {
		if a.UpdatedAt.After(t) {
			t = a.UpdatedAt
		}
	}
	if t.IsZero() {
		return fallback
	}
	return t
}

// stream writes head, then the items of each tenant in turn as one JSON
// array, then "]}": one tenant's facts in memory at a time, through a 64 KiB
// buffer. An error mid-way leaves the JSON unterminated, so no reader
// mistakes a partial export for a whole one.
func stream[T any](ctx context.Context, s *Service, w io.Writer, head string, tenants []uuid.UUID, items func(*facts) []T) (int, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := bw.WriteString(head); err != nil {
		return 0, err
	}
	n := 0
	for _, t := range tenants {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		f, err := s.read(ctx, t)
		if err != nil {
			return n, fmt.Errorf("tenant %s: %w", t, err)
		}
		for _, it := range items(f) {
			if n > 0 {
				_ = bw.WriteByte(',')
			}
			b, err := json.Marshal(it)
			if err != nil {
				return n, err
			}
			if _, err := bw.Write(b); err != nil {
				return n, err
			}
			n++
		}
	}
	if _, err := bw.WriteString("]}\n"); err != nil {
		return n, err
	}
	return n, bw.Flush()
}

// orgID is the org-id.guide identifier of an organisation: its Italian
// fiscal code.
func orgID(o *organisation.Organisation) string { return "IT-CF-" + o.FiscalCode }

// funderID identifies the municipality by its ISTAT code under the
// publisher's prefix (municipalities' fiscal codes are not kept).
func (s *Service) funderID(f Funder) string {
	if f.ISTAT != "" {
		return s.cfg.GrantPrefix + "-ISTAT-" + f.ISTAT
	}
	return s.cfg.GrantPrefix + "-" + f.Slug
}

// euros turns cents into a decimal amount (exact for any int64 cents).
func euros(cents int64) Amount { return Amount(cents) }

// Amount of money in cents, written as a JSON number of euros ("1234.5").
type Amount int64

func (a Amount) MarshalJSON() ([]byte, error) {
	sign := ""
	c := int64(a)
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Appendf(nil, "%s%d.%02d", sign, c/100, c%100), nil
}

func date(t time.Time) string { return t.UTC().Format(time.RFC3339) }
