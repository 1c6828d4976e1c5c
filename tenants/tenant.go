// Package tenants is the tenant registry: onboarding and lifecycle of
// municipalities and regions, resolution of a request to a tenant, and the
// import of all Italian municipalities from ISTAT's list.
//
// Like domain/, it imports no driver and no HTTP; adapters implement Store.
package tenants

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/tenants/istat"
)

// Kind of tenant.
type Kind string

const (
	KindMunicipality Kind = "municipality" // a Comune, or an association of Comuni (Ambito)
	KindRegion       Kind = "region"       // a Regione: sees aggregates over its municipalities
)

// Status of a tenant. provisioning → active ⇄ suspended; any → offboarded (final).
type Status string

const (
	StatusProvisioning Status = "provisioning"
	StatusActive       Status = "active"
	StatusSuspended    Status = "suspended"
	StatusOffboarded   Status = "offboarded"
)

// Tenant is a municipality or a region: the unit of isolation.
type Tenant struct {
	ID         uuid.UUID
	Slug       string // unique, URL-safe; used in /v1/tenants/{tenant}/…
	Name       string
	Kind       Kind
	ISTATCode  string    // 6 digits for a Comune, 2 for a Regione; empty for an Ambito
	RegionID   uuid.UUID // parent region of a municipality; zero for a region
	Population int       // residents, for per-capita figures
	Status     Status
	CreatedAt  time.Time
	UpdatedAt  time.Time
	Version    int // optimistic concurrency: bumped by every update
}

// Errors of the registry. Codes are part of the API contract.
var (
	ErrNotFound       = domain.Errorf(domain.KindNotFound, "tenant_not_found", "no such tenant")
	ErrSuspended      = domain.Errorf(domain.KindForbidden, "tenant_suspended", "this tenant is suspended")
	ErrNotActive      = domain.Errorf(domain.KindForbidden, "tenant_not_active", "this tenant is not active yet")
	ErrSlugTaken      = domain.Errorf(domain.KindConflict, "tenant_slug_taken", "the slug is already taken by another tenant")
	ErrISTATTaken     = domain.Errorf(domain.KindConflict, "tenant_istat_code_taken", "a tenant with this ISTAT code already exists")
	ErrInvalidSlug    = domain.Errorf(domain.KindInvalid, "invalid_slug", "a slug is 2-63 characters: lowercase letters, digits and single hyphens, starting and ending with a letter or digit")
	ErrInvalidName    = domain.Errorf(domain.KindInvalid, "invalid_name", "the name must be 1-200 characters")
	ErrInvalidKind    = domain.Errorf(domain.KindInvalid, "invalid_kind", "kind must be municipality or region")
	ErrInvalidISTAT   = domain.Errorf(domain.KindInvalid, "invalid_istat_code", "an ISTAT code has 6 digits for a municipality and 2 (01-20) for a region")
	ErrRegionRequired = domain.Errorf(domain.KindInvalid, "region_required", "a municipality belongs to a region: give the region's slug or id")
	ErrRegionInvalid  = domain.Errorf(domain.KindInvalid, "invalid_region", "the parent must be an existing region tenant")
	ErrRegionParent   = domain.Errorf(domain.KindInvalid, "region_has_no_parent", "a region has no parent region")
	ErrInvalidPop     = domain.Errorf(domain.KindInvalid, "invalid_population", "population must be between 0 and 100,000,000")
	ErrTransition     = domain.Errorf(domain.KindPrecondition, "invalid_tenant_transition", "this status change is not allowed")
	ErrNotARegion     = domain.Errorf(domain.KindInvalid, "tenant_not_a_region", "only a region has municipalities")
)

// A slug is 2–63 characters of a–z, 0–9 and single hyphens between them
// (^[a-z0-9](?:[a-z0-9]|-[a-z0-9]){1,62}$, checked by hand: every request
// with a tenant in its route pays it).
func slugShape(s string) bool {
	if len(s) < 2 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case c == '-' && i > 0 && i < len(s)-1 && s[i-1] != '-':
		default:
			return false
		}
	}
	return true
}

// reserved slugs would read as routes or roles in URLs and logs.
var reserved = map[string]bool{"admin": true, "api": true, "platform": true, "public": true, "me": true, "system": true, "v1": true}

// ValidSlug reports whether s can name a tenant.
func ValidSlug(s string) bool { return slugShape(s) && !reserved[s] }

// New validates and builds a tenant in status provisioning. region is the
// parent region of a municipality (nil for a region).
func New(slug, name string, kind Kind, istatCode string, region *Tenant, population int, now time.Time) (*Tenant, error) {
	name = strings.TrimSpace(name)
	switch {
	case !ValidSlug(slug):
		return nil, ErrInvalidSlug.WithField("slug")
	case name == "" || utf8.RuneCountInString(name) > 200:
		return nil, ErrInvalidName.WithField("name")
	case kind != KindMunicipality && kind != KindRegion:
		return nil, ErrInvalidKind.WithField("kind")
	case population < 0 || population > 100_000_000:
		return nil, ErrInvalidPop.WithField("population")
	}
	t := &Tenant{
		ID: domain.NewID(), Slug: slug, Name: name, Kind: kind, ISTATCode: istatCode,
		Population: population, Status: StatusProvisioning, CreatedAt: now, UpdatedAt: now, Version: 1,
	}
	switch kind {
	case KindRegion:
		if !istat.ValidRegionCode(istatCode) {
			return nil, ErrInvalidISTAT.WithField("istatCode")
		}
		if region != nil {
			return nil, ErrRegionParent.WithField("region")
		}
	case KindMunicipality:
		if istatCode != "" && !istat.ValidMunicipalityCode(istatCode) {
			return nil, ErrInvalidISTAT.WithField("istatCode")
		}
		if region == nil {
			return nil, ErrRegionRequired.WithField("region")
		}
		if region.Kind != KindRegion || region.Status == StatusOffboarded {
			return nil, ErrRegionInvalid.WithField("region")
		}
		t.RegionID = region.ID
	}
	return t, nil
}

// transitions lists, for each action, the statuses it may start from and
// where it leads.
var transitions = map[string]struct {
	from []Status
	to   Status
}{
	"activate": {[]Status{StatusProvisioning}, StatusActive},
	"suspend":  {[]Status{StatusActive}, StatusSuspended},
	"resume":   {[]Status{StatusSuspended}, StatusActive},
	"offboard": {[]Status{StatusProvisioning, StatusActive, StatusSuspended}, StatusOffboarded},
}

// Transition applies a lifecycle action ("activate", "suspend", "resume",
// "offboard") and returns the previous status.
func (t *Tenant) Transition(action string, now time.Time) (Status, error) {
	tr, ok := transitions[action]
	if !ok {
		return "", ErrTransition.WithMessage("unknown action %q", action)
	}
	for _, from := range tr.from {
		if t.Status == from {
			prev := t.Status
			t.Status, t.UpdatedAt = tr.to, now
			return prev, nil
		}
	}
	return "", ErrTransition.WithMessage("cannot %s a tenant that is %s", action, t.Status)
}

// Usable reports whether requests may act inside the tenant: only an active
// tenant serves its users; the platform operator may still enter a
// provisioning or suspended one to set it up or support it.
func (t *Tenant) Usable(p domain.Principal) error {
	switch {
	case t.Status == StatusOffboarded:
		return ErrNotFound
	case t.Status == StatusActive || p.IsOperator():
		return nil
	case t.Status == StatusSuspended:
		return ErrSuspended
	default:
		return ErrNotActive
	}
}
