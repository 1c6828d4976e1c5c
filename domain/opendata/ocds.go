package opendata

import (
	"context"
	"encoding/json"
	"io"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain/agreement"
	"github.com/coprod/coprod/domain/call"
)

// ReleasePackage is an OCDS 1.1 release package.
type ReleasePackage struct {
	URI           string    `json:"uri"`
	Version       string    `json:"version"`
	PublishedDate string    `json:"publishedDate"`
	Publisher     Publisher `json:"publisher"`
	License       string    `json:"license,omitempty"`
	Releases      []Release `json:"releases"`
}

// Publisher of the package.
type Publisher struct {
	Name string `json:"name"`
}

// Release is the latest state of one contracting process: a call (tender)
// with the agreements that followed it (awards), or an agreement made
// without a call.
type Release struct {
	OCID           string   `json:"ocid"`
	ID             string   `json:"id"`
	Date           string   `json:"date"`
	Tag            []string `json:"tag"`
	InitiationType string   `json:"initiationType"`
	Language       string   `json:"language"`
	Parties        []Party  `json:"parties"`
	Buyer          OrgRef   `json:"buyer"`
	Tender         *Tender  `json:"tender,omitempty"`
	Awards         []Award  `json:"awards,omitempty"`
}

// Party of a process.
type Party struct {
	ID         string      `json:"id"`
	Name       string      `json:"name"`
	Identifier *Identifier `json:"identifier,omitempty"`
	Roles      []string    `json:"roles"`
}

// Identifier of an organisation in a register.
type Identifier struct {
	Scheme    string `json:"scheme"`
	ID        string `json:"id"`
	LegalName string `json:"legalName,omitempty"`
}

// OrgRef points at a party.
type OrgRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Value is an amount with its currency.
type Value struct {
	Amount   Amount `json:"amount"`
	Currency string `json:"currency"`
}

// Tender is the call.
type Tender struct {
	ID                       string   `json:"id"`
	Title                    string   `json:"title"`
	Description              string   `json:"description,omitempty"`
	Status                   string   `json:"status"`
	ProcurementMethod        string   `json:"procurementMethod"`
	ProcurementMethodDetails string   `json:"procurementMethodDetails"`
	MainProcurementCategory  string   `json:"mainProcurementCategory"`
	AwardCriteria            string   `json:"awardCriteria"`
	NumberOfTenderers        int      `json:"numberOfTenderers,omitempty"`
	Tenderers                []OrgRef `json:"tenderers,omitempty"`
	Value                    *Value   `json:"value,omitempty"`
	TenderPeriod             *Span    `json:"tenderPeriod,omitempty"`
	EnquiryPeriod            *Span    `json:"enquiryPeriod,omitempty"`
}

// Span of time.
type Span struct {
	StartDate string `json:"startDate,omitempty"`
	EndDate   string `json:"endDate,omitempty"`
}

// Award is an agreement.
type Award struct {
	ID             string   `json:"id"`
	Title          string   `json:"title"`
	Status         string   `json:"status"`
	Date           string   `json:"date,omitempty"`
	Value          *Value   `json:"value,omitempty"`
	Suppliers      []OrgRef `json:"suppliers"`
	ContractPeriod *Span    `json:"contractPeriod,omitempty"`
}

// tenderStatus maps a call's status to OCDS's tenderStatus codelist.
func tenderStatus(s call.Status) string {
	switch s {
	case "published":
		return "active"
	case "cancelled":
		return "cancelled"
	default: // closed, evaluating, ranked, concluded
		return "complete"
	}
}

func awardStatus(s agreement.Status) string {
	switch s {
	case "terminated":
		return "cancelled"
	default:
		return "active"
	}
}

// Releases builds the OCDS release package of a municipality. The ocid of
// a process is "<prefix>-<call id>" (or "<prefix>-<agreement id>" for an
// agreement without a call); the release id adds the date it describes.
func (s *Service) Releases(ctx context.Context, tenant uuid.UUID) (*ReleasePackage, error) {
	f, err := s.read(ctx, tenant)
	if err != nil {
		return nil, err
	}
	out := &ReleasePackage{URI: s.cfg.BaseURL + "/v1/public/open-data/" + f.funder.Slug + "/ocds.json", Version: "1.1",
		PublishedDate: date(f.modified(s.now())), Publisher: Publisher{Name: s.cfg.Publisher},
		License: "https://creativecommons.org/licenses/by/4.0/", Releases: s.releasesOf(f)}
	return out, nil
}

// WriteReleases streams one OCDS release package of many tenants (the
// national export), one tenant in memory at a time, like WriteGrants.
func (s *Service) WriteReleases(ctx context.Context, w io.Writer, tenants []uuid.UUID) (int, error) {
	head, err := json.Marshal(struct {
		URI           string    `json:"uri"`
		Version       string    `json:"version"`
		PublishedDate string    `json:"publishedDate"`
		Publisher     Publisher `json:"publisher"`
		License       string    `json:"license"`
	}{s.cfg.BaseURL + "/v1/public/open-data/ocds.json", "1.1", date(s.now()), Publisher{Name: s.cfg.Publisher}, "https://creativecommons.org/licenses/by/4.0/"})
	if err != nil {
		return 0, err
	}
	return stream(ctx, s, w, string(head[:len(head)-1])+`,"releases":[`, tenants, s.releasesOf)
}

func (s *Service) releasesOf(f *facts) []Release {
	buyer := Party{ID: s.funderID(f.funder), Name: f.funder.Name, Roles: []string{"buyer", "procuringEntity"}}
	byCall := map[uuid.UUID][]*agreement.Agreement{}
	var loose []*agreement.Agreement
	for _, a := range f.agrees {
		if a.CallID == uuid.Nil {
			loose = append(loose, a)
		} else {
			byCall[a.CallID] = append(byCall[a.CallID], a)
		}
	}
	out := &ReleasePackage{Releases: []Release{}}
	for _, c := range f.calls {
		r := s.release(c.ID, c.UpdatedAt, buyer, byCall[c.ID], f)
		r.Tender = &Tender{ID: c.ID.String(), Title: c.Title, Description: c.Summary, Status: tenderStatus(c.Status),
			ProcurementMethod: "selective", ProcurementMethodDetails: "Co-progettazione (art. 55 d.lgs. 117/2017)",
			MainProcurementCategory: "services", AwardCriteria: "ratedCriteria",
			Value:        &Value{Amount: euros(c.Budget.PublicCents), Currency: "EUR"},
			TenderPeriod: &Span{StartDate: date(c.PublicationAt), EndDate: date(c.SubmissionDeadline)}}
		// The published ranking: every ranked applicant is a tenderer; each
		// admitted one an award (admission to the co-design table).
		for _, e := range f.ranks[c.ID] {
			ref := OrgRef{ID: "IT-CF-" + e.LeadFiscalCode, Name: e.LeadOrganisation}
			r.Tender.Tenderers = append(r.Tender.Tenderers, ref)
			if !slices.ContainsFunc(r.Parties, func(p Party) bool { return p.ID == ref.ID }) {
				r.Parties = append(r.Parties, Party{ID: ref.ID, Name: ref.Name, Roles: []string{"tenderer"},
					Identifier: &Identifier{Scheme: "IT-CF", ID: e.LeadFiscalCode, LegalName: e.LeadOrganisation}})
			}
			if e.Admitted {
				r.Awards = append(r.Awards, Award{ID: "admission-" + e.ApplicationID.String(), Title: "Ammissione al tavolo di co-progettazione",
					Status: "active", Suppliers: []OrgRef{ref}})
			}
		}
		r.Tender.NumberOfTenderers = len(r.Tender.Tenderers)
		if !c.QuestionsDeadline.IsZero() {
			r.Tender.EnquiryPeriod = &Span{StartDate: date(c.PublicationAt), EndDate: date(c.QuestionsDeadline)}
		}
		r.Tag = []string{"tender"}
		if len(r.Awards) > 0 {
			r.Tag = append(r.Tag, "award")
		}
		out.Releases = append(out.Releases, r)
	}
	for _, a := range loose {
		r := s.release(a.ID, a.UpdatedAt, buyer, []*agreement.Agreement{a}, f)
		r.Tag = []string{"award"}
		out.Releases = append(out.Releases, r)
	}
	return out.Releases
}

func (s *Service) release(process uuid.UUID, updated time.Time, buyer Party, agrees []*agreement.Agreement, f *facts) Release {
	latest := updated.UTC()
	for _, a := range agrees {
		if a.UpdatedAt.After(latest) {
			latest = a.UpdatedAt.UTC()
		}
	}
	r := Release{OCID: s.cfg.OCIDPrefix + "-" + process.String(), Date: date(latest), InitiationType: "tender", Language: "it",
		Parties: []Party{buyer}, Buyer: OrgRef{ID: buyer.ID, Name: buyer.Name}}
	r.ID = r.OCID + "-" + latest.Format("20060102T150405Z")
	seen := map[uuid.UUID]bool{}
	for _, a := range agrees {
		aw := Award{ID: a.ID.String(), Title: a.Title, Status: awardStatus(a.Status), Date: date(a.OfficerSignedAt),
			Value: &Value{Amount: euros(a.Budget.PublicCents), Currency: "EUR"}, Suppliers: []OrgRef{},
			ContractPeriod: &Span{StartDate: date(a.Start), EndDate: date(a.End)}}
		for _, p := range a.Parties {
			o := f.orgs[p.OrganisationID]
			aw.Suppliers = append(aw.Suppliers, OrgRef{ID: orgID(o), Name: o.LegalName})
			if !seen[o.ID] {
				seen[o.ID] = true
				r.Parties = append(r.Parties, Party{ID: orgID(o), Name: o.LegalName, Roles: []string{"tenderer", "supplier"},
					Identifier: &Identifier{Scheme: "IT-CF", ID: o.FiscalCode, LegalName: o.LegalName}})
			}
		}
		r.Awards = append(r.Awards, aw)
	}
	return r
}
