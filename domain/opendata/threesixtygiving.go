package opendata

import (
	"context"
	"io"
	"strings"

	"github.com/google/uuid"
)

// GrantPackage is a 360Giving 1.4 package.
type GrantPackage struct {
	Version string  `json:"version"`
	Grants  []Grant `json:"grants"`
}

// Grant is one awarded contribution to one organisation.
type Grant struct {
	ID                    string      `json:"id"`
	Title                 string      `json:"title"`
	Description           string      `json:"description"`
	Currency              string      `json:"currency"`
	AmountAwarded         Amount      `json:"amountAwarded"`
	AwardDate             string      `json:"awardDate"`
	PlannedDates          []Period    `json:"plannedDates,omitempty"`
	RecipientOrganization []GrantOrg  `json:"recipientOrganization"`
	FundingOrganization   []GrantOrg  `json:"fundingOrganization"`
	GrantProgramme        []Programme `json:"grantProgramme,omitempty"`
	FromOpenCall          string      `json:"fromOpenCall,omitempty"`
	DateModified          string      `json:"dateModified,omitempty"`
}

// GrantOrg is a funder or recipient.
type GrantOrg struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// Period of a grant.
type Period struct {
	StartDate string `json:"startDate,omitempty"`
	EndDate   string `json:"endDate,omitempty"`
}

// Programme is the call a grant came from.
type Programme struct {
	Code  string `json:"code,omitempty"`
	Title string `json:"title,omitempty"`
}

// Grants builds the 360Giving package of a municipality: each party of
// each signed agreement with a positive share is one grant, id
// "<prefix>-<agreement id>-<organisation id>", awarded on the officer's
// signature.
func (s *Service) Grants(ctx context.Context, tenant uuid.UUID) (*GrantPackage, error) {
	f, err := s.read(ctx, tenant)
	if err != nil {
		return nil, err
	}
	return &GrantPackage{Version: "1.4", Grants: s.grantsOf(f)}, nil
}

func (s *Service) grantsOf(f *facts) []Grant {
	titles := map[uuid.UUID]string{}
	for _, c := range f.calls {
		titles[c.ID] = c.Title
	}
	funder := GrantOrg{ID: s.funderID(f.funder), Name: f.funder.Name}
	out := []Grant{}
	for _, a := range f.agrees {
		for _, p := range a.Parties {
			if p.BudgetShareCents <= 0 {
				continue
			}
			o := f.orgs[p.OrganisationID]
			desc := strings.Join(a.Objectives, "; ")
			if desc == "" {
				desc = a.Title
			}
			g := Grant{
				ID: s.cfg.GrantPrefix + "-" + a.ID.String() + "-" + p.OrganisationID.String(), Title: a.Title, Description: desc,
				Currency: "EUR", AmountAwarded: euros(p.BudgetShareCents), AwardDate: date(a.OfficerSignedAt),
				PlannedDates:          []Period{{StartDate: date(a.Start), EndDate: date(a.End)}},
				RecipientOrganization: []GrantOrg{{ID: orgID(o), Name: o.LegalName}},
				FundingOrganization:   []GrantOrg{funder}, DateModified: date(a.UpdatedAt),
			}
			if a.CallID != uuid.Nil {
				g.GrantProgramme = []Programme{{Code: a.CallID.String(), Title: titles[a.CallID]}}
				g.FromOpenCall = "Yes"
			}
			out = append(out, g)
		}
	}
	return out
}

// WriteGrants streams one 360Giving package of the grants of many tenants
// (the national export): each tenant is read in its own transaction and
// written out before the next, so memory holds one tenant at a time. An
// error mid-way leaves the JSON unterminated, so no reader mistakes a
// partial export for a whole one.
func (s *Service) WriteGrants(ctx context.Context, w io.Writer, tenants []uuid.UUID) (int, error) {
	return stream(ctx, s, w, `{"version":"1.4","grants":[`, tenants, s.grantsOf)
}
