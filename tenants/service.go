package tenants

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/google/uuid"
	"golang.org/x/text/unicode/norm"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/audit"
	"github.com/coprod/coprod/tenants/istat"
)

// Page sizes of List.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

var ErrInvalidLimit = domain.Errorf(domain.KindInvalid, "invalid_page_size", "page size must be between 1 and %d", MaxLimit)

// Service holds the registry's use cases. Every one reads the principal from
// the context and decides there; HTTP and the CLI only authenticate.
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

// operator returns the principal if it is a platform operator.
func operator(ctx context.Context) (domain.Principal, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return p, err
	}
	if !p.IsOperator() {
		return p, domain.ErrForbidden
	}
	return p, nil
}

// CreateInput is what an operator gives to onboard a tenant.
type CreateInput struct {
	Slug, Name string
	Kind       Kind
	ISTATCode  string
	Region     string // slug or id of the parent region (municipalities)
	Population int
}

// Create onboards a tenant in status provisioning.
func (s *Service) Create(ctx context.Context, in CreateInput) (*Tenant, error) {
	p, err := operator(ctx)
	if err != nil {
		return nil, err
	}
	var out *Tenant
	err = s.store.Atomic(ctx, func(tx Tx) error {
		var region *Tenant
		if in.Region != "" {
			if region, err = lookup(ctx, tx.Tenants(), in.Region); err != nil {
				if errors.Is(err, ErrNotFound) {
					return ErrRegionInvalid.WithField("region")
				}
				return err
			}
		}
		t, err := New(in.Slug, in.Name, in.Kind, in.ISTATCode, region, in.Population, s.now())
		if err != nil {
			return err
		}
		if err := tx.Tenants().Add(ctx, t); err != nil {
			return err
		}
		out = t
		return tx.Audit(t.ID).Append(ctx, audit.New(t.ID, p, t.CreatedAt, "tenant.created", "tenant", t.ID, snapshot(t)))
	})
	return out, err
}

// Get returns a tenant by slug or id, to the operator.
func (s *Service) Get(ctx context.Context, ref string) (*Tenant, error) {
	if _, err := operator(ctx); err != nil {
		return nil, err
	}
	var out *Tenant
	err := s.store.Atomic(ctx, func(tx Tx) (err error) {
		out, err = lookup(ctx, tx.Tenants(), ref)
		return err
	})
	return out, err
}

// Resolve finds a tenant by slug or id for authentication and login, which
// run before there is a principal; it reveals nothing beyond existence and
// status, which public routes show anyway.
func (s *Service) Resolve(ctx context.Context, ref string) (*Tenant, error) {
	out, err := s.find(ctx, ref)
	if err == nil && out.Status == StatusOffboarded {
		return nil, ErrNotFound
	}
	return out, err
}

// Enter resolves the tenant of a tenant-scoped request and checks that the
// caller may act inside it now: unknown → ErrNotFound, suspended → ErrSuspended.
// It does not check the caller's roles in that tenant: use cases do.
func (s *Service) Enter(ctx context.Context, ref string) (*Tenant, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	out, err := s.find(ctx, ref)
	if err != nil {
		return nil, err
	}
	if err := out.Usable(p); err != nil {
		return nil, err
	}
	return out, nil
}

// Page is one page of tenants; Next is the cursor of the following page,
// zero on the last one.
type Page struct {
	Items []*Tenant
	Next  uuid.UUID
}

// List returns a page of tenants to the operator.
func (s *Service) List(ctx context.Context, f Filter) (Page, error) {
	if _, err := operator(ctx); err != nil {
		return Page{}, err
	}
	return s.list(ctx, f)
}

// Municipalities lists the municipalities of a region.
func (s *Service) Municipalities(ctx context.Context, regionRef string, f Filter) (Page, error) {
	if _, err := operator(ctx); err != nil {
		return Page{}, err
	}
	var region *Tenant
	if err := s.store.Atomic(ctx, func(tx Tx) (err error) {
		region, err = lookup(ctx, tx.Tenants(), regionRef)
		return err
	}); err != nil {
		return Page{}, err
	}
	if region.Kind != KindRegion {
		return Page{}, ErrNotARegion
	}
	f.Kind, f.RegionID = KindMunicipality, region.ID
	return s.list(ctx, f)
}

func (s *Service) list(ctx context.Context, f Filter) (Page, error) {
	if f.Limit == 0 {
		f.Limit = DefaultLimit
	}
	if f.Limit < 1 || f.Limit > MaxLimit {
		return Page{}, ErrInvalidLimit.WithField("limit")
	}
	want := f.Limit
	f.Limit++ // one more tells whether a next page exists
	var page Page
	err := s.store.Atomic(ctx, func(tx Tx) (err error) {
		page.Items, err = tx.Tenants().List(ctx, f)
		return err
	})
	if len(page.Items) > want {
		page.Items = page.Items[:want]
		page.Next = page.Items[want-1].ID
	}
	return page, err
}

// ChangeStatus applies a lifecycle action ("activate", "suspend", "resume",
// "offboard") with a reason. ifVersion, when not zero, must match the stored
// version (If-Match), so two operators acting at once cannot both win.
func (s *Service) ChangeStatus(ctx context.Context, ref, action, reason string, ifVersion int) (*Tenant, error) {
	p, err := operator(ctx)
	if err != nil {
		return nil, err
	}
	if len(reason) > 1000 {
		return nil, domain.Errorf(domain.KindInvalid, "invalid_reason", "the reason must be at most 1000 characters").WithField("reason")
	}
	var out *Tenant
	err = s.store.Atomic(ctx, func(tx Tx) error {
		t, err := lookup(ctx, tx.Tenants(), ref)
		if err != nil {
			return err
		}
		if ifVersion != 0 && ifVersion != t.Version {
			return domain.ErrStale
		}
		prev, err := t.Transition(action, s.now())
		if err != nil {
			return err
		}
		t.Version++
		if err := tx.Tenants().Update(ctx, t); err != nil {
			return err
		}
		out = t
		summary := map[string]any{"status": map[string]any{"from": prev, "to": t.Status}}
		if reason != "" {
			summary["reason"] = reason
		}
		return tx.Audit(t.ID).Append(ctx, audit.New(t.ID, p, t.UpdatedAt, "tenant."+pastTense[action], "tenant", t.ID, summary))
	})
	return out, err
}

var pastTense = map[string]string{"activate": "activated", "suspend": "suspended", "resume": "resumed", "offboard": "offboarded"}

// ImportResult counts what an ISTAT import did.
type ImportResult struct {
	RegionsCreated, MunicipalitiesCreated int
	Updated, Unchanged                    int
}

// ImportISTAT onboards every region and municipality of the dataset, in one
// transaction: a failure leaves nothing half-imported. Tenants are matched by
// ISTAT code, so a re-run changes nothing; a changed name or population is
// updated. New tenants start active when activate is set, provisioning otherwise.
func (s *Service) ImportISTAT(ctx context.Context, ds *istat.Dataset, activate bool) (ImportResult, error) {
	p, err := operator(ctx)
	if err != nil {
		return ImportResult{}, err
	}
	var res ImportResult
	err = s.store.Atomic(ctx, func(tx Tx) error {
		res = ImportResult{}
		existing, err := tx.Tenants().ByISTAT(ctx)
		if err != nil {
			return err
		}
		now := s.now()
		var created []*Tenant
		var recs []audit.Record
		var trail = func(t *Tenant, action string, summary map[string]any) {
			recs = append(recs, audit.New(t.ID, p, now, action, "tenant", t.ID, summary))
		}
		upsert := func(t *Tenant, name string, population int, region *Tenant) error {
			changed := map[string]any{}
			if t.Name != name {
				changed["name"] = map[string]any{"from": t.Name, "to": name}
				t.Name = name
			}
			if t.Population != population {
				changed["population"] = map[string]any{"from": t.Population, "to": population}
				t.Population = population
			}
			if region != nil && t.RegionID != region.ID {
				changed["regionId"] = map[string]any{"from": t.RegionID, "to": region.ID}
				t.RegionID = region.ID
			}
			if len(changed) == 0 {
				res.Unchanged++
				return nil
			}
			t.Version++
			t.UpdatedAt = now
			res.Updated++
			trail(t, "tenant.updated", map[string]any{"source": "istat", "changed": changed})
			return tx.Tenants().Update(ctx, t)
		}
		regions := map[string]*Tenant{}
		for _, r := range ds.Regions {
			if t := existing[KindRegion][r.Code]; t != nil {
				regions[r.Code] = t
				if err := upsert(t, r.Name, regionPopulation(ds, r.Code), nil); err != nil {
					return err
				}
				continue
			}
			t, err := New("regione-"+Slugify(r.Name), r.Name, KindRegion, r.Code, nil, regionPopulation(ds, r.Code), now)
			if err != nil {
				return fmt.Errorf("region %s %q: %w", r.Code, r.Name, err)
			}
			regions[r.Code] = t
			created = append(created, t)
			res.RegionsCreated++
		}
		slugs := municipalitySlugs(ds)
		for _, m := range ds.Municipalities {
			region := regions[m.RegionCode]
			if t := existing[KindMunicipality][m.Code]; t != nil {
				if err := upsert(t, m.Name, m.Population, region); err != nil {
					return err
				}
				continue
			}
			t, err := New(slugs[m.Code], m.Name, KindMunicipality, m.Code, region, m.Population, now)
			if err != nil {
				return fmt.Errorf("municipality %s %q: %w", m.Code, m.Name, err)
			}
			created = append(created, t)
			res.MunicipalitiesCreated++
		}
		for _, t := range created {
			if activate {
				t.Status = StatusActive
			}
			trail(t, "tenant.created", map[string]any{"source": "istat", "tenant": snapshot(t)})
		}
		if err := tx.Tenants().Add(ctx, created...); err != nil {
			return err
		}
		// Audit records go to each tenant's own trail, in the same transaction.
		for _, r := range recs {
			if err := tx.Audit(r.TenantID).Append(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
	return res, err
}

func regionPopulation(ds *istat.Dataset, code string) int {
	n := 0
	for _, m := range ds.Municipalities {
		if m.RegionCode == code {
			n += m.Population
		}
	}
	return n
}

// municipalitySlugs names each comune by its name; names shared by several
// comuni (Samone, Calliano, Livo…) all get their province's plate as suffix,
// so a slug never depends on import order.
func municipalitySlugs(ds *istat.Dataset) map[string]string {
	count := map[string]int{}
	for _, m := range ds.Municipalities {
		count[Slugify(m.Name)]++
	}
	out := make(map[string]string, len(ds.Municipalities))
	for _, m := range ds.Municipalities {
		s := Slugify(m.Name)
		if count[s] > 1 {
			s += "-" + strings.ToLower(m.ProvinceAbbr)
		}
		out[m.Code] = s
	}
	return out
}

// Slugify turns a name into a slug: accents folded, anything else a hyphen.
// "Sant'Angelo Lodigiano" → "sant-angelo-lodigiano".
func Slugify(name string) string {
	var b strings.Builder
	hyphen := false
	for _, r := range norm.NFD.String(strings.ToLower(name)) {
		switch {
		case unicode.Is(unicode.Mn, r): // combining accent: drop
		case r == 'ß':
			b.WriteString("ss")
			hyphen = false
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			b.WriteRune(r)
			hyphen = false
		default:
			if !hyphen && b.Len() > 0 {
				b.WriteByte('-')
				hyphen = true
			}
		}
	}
	s := strings.TrimSuffix(b.String(), "-")
	if len(s) > 60 {
		s = strings.TrimSuffix(s[:60], "-")
	}
	return s
}

// parseRef reads a tenant reference: an id, or else a slug; ok is false
// for neither (nothing to look up).
func parseRef(ref string) (id uuid.UUID, slug string, ok bool) {
	if id, err := uuid.Parse(ref); err == nil {
		return id, "", true
	}
	return uuid.Nil, ref, ValidSlug(ref)
}

// find reads a tenant by id or slug outside any transaction (one read).
func (s *Service) find(ctx context.Context, ref string) (*Tenant, error) {
	id, slug, ok := parseRef(ref)
	if !ok {
		return nil, ErrNotFound
	}
	return s.store.Lookup(ctx, id, slug)
}

func lookup(ctx context.Context, repo Repository, ref string) (*Tenant, error) {
	id, slug, ok := parseRef(ref)
	switch {
	case !ok:
		return nil, ErrNotFound
	case id != uuid.Nil:
		return repo.Get(ctx, id)
	}
	return repo.GetBySlug(ctx, slug)
}

func snapshot(t *Tenant) map[string]any {
	m := map[string]any{"slug": t.Slug, "name": t.Name, "kind": t.Kind, "status": t.Status}
	if t.ISTATCode != "" {
		m["istatCode"] = t.ISTATCode
	}
	if t.RegionID != uuid.Nil {
		m["regionId"] = t.RegionID
	}
	return m
}
