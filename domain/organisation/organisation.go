// Package organisation holds third-sector organisations (enti del Terzo
// settore): platform-wide bodies, registered in RUNTS, that apply to calls
// of many municipalities, and the people who act for them.
package organisation

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
)

// LegalForm of an organisation.
type LegalForm string

// LegalForms accepted.
var LegalForms = []LegalForm{"social_cooperative", "association", "recognised_association", "foundation", "social_enterprise", "mutual_aid_society", "other"}

// RUNTS sections (d.lgs. 117/2017, art. 46): odv volunteering organisations,
// aps social promotion associations, ef philanthropic bodies, is social
// enterprises (including social cooperatives), ra associative networks, sms
// mutual aid societies, aets other third-sector bodies.
var Sections = []string{"odv", "aps", "ef", "is", "ra", "sms", "aets"}

// RUNTS registration statuses.
var Statuses = []string{"not_registered", "pending", "registered", "cancelled"}

// RUNTS is the registration in the national third-sector register.
type RUNTS struct {
	Number       string
	Section      string
	RegisteredOn time.Time
	Status       string
}

// Contacts of an organisation; its PEC is the certified address for formal acts.
type Contacts struct {
	Email, PEC, Phone, Website string
}

// Organisation is a third-sector body.
type Organisation struct {
	ID         uuid.UUID
	FiscalCode string // 11 digits with a check digit
	LegalName  string
	LegalForm  LegalForm
	RUNTS      RUNTS
	SeatISTAT  string // ISTAT code of the comune of the registered seat
	Contacts   Contacts
	CreatedAt  time.Time
	UpdatedAt  time.Time
	Version    int
}

// Member is a user acting for an organisation.
type Member struct {
	OrganisationID uuid.UUID
	UserID         uuid.UUID
	Role           domain.Role // org_admin or org_member
	CreatedAt      time.Time
}

var (
	ErrNotFound          = domain.Errorf(domain.KindNotFound, "organisation_not_found", "no such organisation")
	ErrFiscalCodeTaken   = domain.Errorf(domain.KindConflict, "organisation_fiscal_code_taken", "an organisation with this fiscal code is already registered")
	ErrInvalidFiscalCode = domain.Errorf(domain.KindInvalid, "invalid_fiscal_code", "an organisation's fiscal code has 11 digits and a valid check digit")
	ErrInvalidName       = domain.Errorf(domain.KindInvalid, "invalid_legal_name", "the legal name must be 1-300 characters")
	ErrInvalidLegalForm  = domain.Errorf(domain.KindInvalid, "invalid_legal_form", "unknown legal form")
	ErrInvalidRUNTS      = domain.Errorf(domain.KindInvalid, "invalid_runts", "a registered organisation needs its RUNTS number, section (odv, aps, ef, is, ra, sms, aets) and registration date")
	ErrInvalidSeat       = domain.Errorf(domain.KindInvalid, "invalid_seat", "the seat is the 6-digit ISTAT code of a comune")
	ErrInvalidContacts   = domain.Errorf(domain.KindInvalid, "invalid_contacts", "contacts are at most 254 characters each; e-mail addresses need an @")
	ErrInvalidRole       = domain.Errorf(domain.KindInvalid, "invalid_role", "an organisation role is org_admin or org_member")
	ErrLastAdmin         = domain.Errorf(domain.KindPrecondition, "last_org_admin", "an organisation keeps at least one org_admin")
	ErrMemberNotFound    = domain.Errorf(domain.KindNotFound, "member_not_found", "no such member, or they have never logged in")
)

// ValidFiscalCode checks an organisation's codice fiscale: 11 digits whose
// last is the check digit of the first ten (the algorithm of the partita IVA).
func ValidFiscalCode(s string) bool {
	if len(s) != 11 {
		return false
	}
	sum := 0
	for i := 0; i < 10; i++ {
		d := int(s[i] - '0')
		if d < 0 || d > 9 {
			return false
		}
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	last := int(s[10] - '0')
	return last >= 0 && last <= 9 && (10-sum%10)%10 == last && s[:7] != "0000000"
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// Validate checks every field and normalises spacing.
func (o *Organisation) Validate() error {
	o.FiscalCode = strings.TrimSpace(o.FiscalCode)
	o.LegalName = strings.TrimSpace(o.LegalName)
	switch {
	case !ValidFiscalCode(o.FiscalCode):
		return ErrInvalidFiscalCode.WithField("fiscalCode")
	case o.LegalName == "" || utf8.RuneCountInString(o.LegalName) > 300:
		return ErrInvalidName.WithField("legalName")
	case !contains(LegalForms, o.LegalForm):
		return ErrInvalidLegalForm.WithField("legalForm")
	case o.SeatISTAT != "" && (len(o.SeatISTAT) != 6 || strings.Trim(o.SeatISTAT, "0123456789") != ""):
		return ErrInvalidSeat.WithField("seatIstatCode")
	}
	r := &o.RUNTS
	if r.Status == "" {
		r.Status = "not_registered"
	}
	if !contains(Statuses, r.Status) || (r.Section != "" && !contains(Sections, r.Section)) || len(r.Number) > 50 ||
		(r.Status == "registered" && (r.Number == "" || r.Section == "" || r.RegisteredOn.IsZero())) {
		return ErrInvalidRUNTS.WithField("runts")
	}
	c := o.Contacts
	for _, v := range []string{c.Email, c.PEC, c.Phone, c.Website} {
		if len(v) > 254 {
			return ErrInvalidContacts.WithField("contacts")
		}
	}
	for _, v := range []string{c.Email, c.PEC} {
		if v != "" && !strings.Contains(v, "@") {
			return ErrInvalidContacts.WithField("contacts")
		}
	}
	return nil
}

// Store runs organisation use cases in one platform-level transaction each.
type Store interface {
	Atomic(ctx context.Context, fn func(Tx) error) error
}

// Tx is one transaction.
type Tx interface {
	Organisations() Repository
}

// Filter selects a page of organisations by name or fiscal code.
type Filter struct {
	Query string
	After uuid.UUID
	Limit int
}

// Repository keeps organisations and their members.
type Repository interface {
	Add(ctx context.Context, o *Organisation) error
	Update(ctx context.Context, o *Organisation) error // version check as for tenants
	Get(ctx context.Context, id uuid.UUID) (*Organisation, error)
	List(ctx context.Context, f Filter) ([]*Organisation, error)
	Members(ctx context.Context, org uuid.UUID) ([]Member, error)
	PutMember(ctx context.Context, m Member) error
	RemoveMember(ctx context.Context, org, user uuid.UUID) error
	// UserByEmail finds a platform user (one who logged in through the
	// platform's provider) by e-mail.
	UserByEmail(ctx context.Context, email string) (uuid.UUID, error)
}
