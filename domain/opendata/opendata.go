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

// Published is what a tenant publishes, read in one go.
type Published struct {
	Funder Funder
	// Calls past draft.
	Calls []*call.Call
	// Rankings: the published ranking of each ranked call.
	Rankings map[uuid.UUID][]call.PublicRankEntry
	// Agreements in one of the statuses asked for (awarded ones).
	Agreements []*agreement.Agreement
	// Organisations that are parties to those agreements.
	Organisations map[uuid.UUID]*organisation.Organisation
}

// Store reads a tenant's published facts in the tenant's scope, in one
// transaction (national exports read thousands of tenants: the adapter
// should not spend a round trip per kind of fact).
type Store interface {
	Published(ctx context.Context, tenant uuid.UUID, agreementStatuses []agreement.Status) (*Published, error)
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
var awarded = []agreement.Status{"signed", "active", "suspended", "closed", "terminated"}

// facts is what both packages are built from.
type facts struct {
	funder Funder
	calls  []*call.Call
	agrees []*agreement.Agreement
	orgs   map[uuid.UUID]*organisation.Organisation
	ranks  map[uuid.UUID][]call.PublicRankEntry
}

func (s *Service) read(ctx context.Context, tenant uuid.UUID) (*facts, error) {
	p, err := s.store.Published(ctx, tenant, awarded)
	if err != nil {
		return nil, err
	}
	f := &facts{funder: p.Funder, calls: p.Calls, agrees: p.Agreements, orgs: p.Organisations, ranks: p.Rankings}
	if f.orgs == nil {
		f.orgs = map[uuid.UUID]*organisation.Organisation{}
	}
	for _, a := range f.agrees {
		for _, party := range a.Parties {
			if f.orgs[party.OrganisationID] == nil {
				return nil, fmt.Errorf("opendata: organisation %s of an agreement not found", party.OrganisationID)
			}
		}
	}
	sort.Slice(f.calls, func(i, j int) bool { return f.calls[i].ID.String() < f.calls[j].ID.String() })
	sort.Slice(f.agrees, func(i, j int) bool { return f.agrees[i].ID.String() < f.agrees[j].ID.String() })
	return f, nil
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

// Lookahead is how many tenants the national exports read ahead of the
// one being written: the reads overlap their database round trips while
// the output stays in tenant order and memory holds at most this many
// tenants' facts.
const Lookahead = 4

// stream writes head, then the items of each tenant in turn as one JSON
// array, then "]}", through a 64 KiB buffer. Tenants are read up to
// Lookahead ahead, in parallel, and written in the order given. An error
// mid-way leaves the JSON unterminated, so no reader mistakes a partial
// export for a whole one.
func stream[T any](ctx context.Context, s *Service, w io.Writer, head string, tenants []uuid.UUID, items func(*facts) []T) (int, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type read struct {
		f   *facts
		err error
	}
	// Each tenant's result arrives on its own channel; the queue keeps them
	// in order and its capacity bounds the reads in flight.
	queue := make(chan chan read, Lookahead)
	go func() {
		defer close(queue)
		for _, t := range tenants {
			ch := make(chan read, 1)
			select {
			case queue <- ch:
			case <-ctx.Done():
				return
			}
			go func() {
				f, err := s.read(ctx, t)
				if err != nil {
					err = fmt.Errorf("tenant %s: %w", t, err)
				}
				ch <- read{f, err}
			}()
		}
	}()
	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := bw.WriteString(head); err != nil {
		return 0, err
	}
	n := 0
	for ch := range queue {
		r := <-ch
		if r.err != nil {
			return n, r.err
		}
		for _, it := range items(r.f) {
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
	if err := ctx.Err(); err != nil {
		return n, err
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
