package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/coprod/coprod/domain/network"
	"github.com/coprod/coprod/tenants"
)

// NetworkNodeIO is an organisation or a municipality.
type NetworkNodeIO struct {
	ID   uuid.UUID `json:"id"`
	Kind string    `json:"kind" enum:"organisation,municipality"`
	Slug string    `json:"slug,omitempty" doc:"Municipalities only"`
	Name string    `json:"name"`
}

// NetworkCountsIO counts processes by kind.
type NetworkCountsIO struct {
	Applications int `json:"applications" doc:"Submitted applications (lead or partner)"`
	Agreements   int `json:"agreements" doc:"Signed agreements (a party)"`
	Pilots       int `json:"pilots" doc:"Pilots started inside those agreements"`
}

// NetworkYearIO is an edge's counts in one year.
type NetworkYearIO struct {
	Year int `json:"year"`
	NetworkCountsIO
}

// NetworkEdgeIO links an organisation (source) to a municipality or another organisation (target).
type NetworkEdgeIO struct {
	Source uuid.UUID `json:"source" doc:"An organisation"`
	Target uuid.UUID `json:"target" doc:"A municipality, or for organisation_organisation another organisation"`
	Kind   string    `json:"kind" enum:"organisation_municipality,organisation_organisation"`
	NetworkCountsIO
	FirstYear int             `json:"firstYear" doc:"The year the pair first appears, whatever the years asked"`
	Years     []NetworkYearIO `json:"years" doc:"Counts year by year, within the years asked"`
}

// NetworkReachIO is an organisation and how many municipalities it worked with.
type NetworkReachIO struct {
	OrganisationID uuid.UUID `json:"organisationId"`
	Name           string    `json:"name"`
	Municipalities int       `json:"municipalities"`
}

// NetworkPlaceIO names a municipality.
type NetworkPlaceIO struct {
	ID   uuid.UUID `json:"id"`
	Slug string    `json:"slug"`
	Name string    `json:"name"`
}

// NetworkNewIO counts the pairs whose partnership began in a year.
type NetworkNewIO struct {
	Year                     int `json:"year"`
	OrganisationMunicipality int `json:"organisationMunicipality"`
	OrganisationOrganisation int `json:"organisationOrganisation"`
}

// NetworkMetricsIO are the figures a region asks for.
type NetworkMetricsIO struct {
	SeveralMunicipalities []NetworkReachIO `json:"organisationsInSeveralMunicipalities" doc:"Organisations tied to two or more of the region's municipalities"`
	WithoutPartnership    []NetworkPlaceIO `json:"municipalitiesWithoutPartnership" doc:"The region's municipalities with no tie in the years asked"`
	NewAlliances          []NetworkNewIO   `json:"newAlliancesPerYear" doc:"Pairs whose first year is that year"`
}

// NetworkIO is the graph of a region's partnerships.
type NetworkIO struct {
	RegionID       uuid.UUID        `json:"regionId"`
	Region         string           `json:"region" doc:"The region's slug"`
	RegionName     string           `json:"regionName"`
	FromYear       int              `json:"fromYear,omitempty"`
	ToYear         int              `json:"toYear,omitempty"`
	AgreementsOnly bool             `json:"agreementsOnly" doc:"True on the public network: signed agreements only"`
	ComputedAt     *time.Time       `json:"computedAt,omitempty" doc:"When the latest figures read were computed (with the snapshots)"`
	Nodes          []NetworkNodeIO  `json:"nodes"`
	Edges          []NetworkEdgeIO  `json:"edges"`
	Metrics        NetworkMetricsIO `json:"metrics"`
}

// NetworkYears limits the graph to a range of years.
type NetworkYears struct {
	From int `query:"from" doc:"First year (default: the first with activity)"`
	To   int `query:"to" doc:"Last year (default: the last with activity)"`
}

// PublicNetworkPath names a region on the public routes.
type PublicNetworkPath struct {
	Region string `path:"region" maxLength:"63" doc:"The region's slug or id" example:"regione-lombardia"`
}

func counts(c network.Counts) NetworkCountsIO {
	return NetworkCountsIO{Applications: c.Applications, Agreements: c.Agreements, Pilots: c.Pilots}
}

func networkOut(g *network.Graph) NetworkIO {
	out := NetworkIO{RegionID: g.Region.ID, Region: g.Region.Slug, RegionName: g.Region.Name, FromYear: g.Years.From, ToYear: g.Years.To,
		AgreementsOnly: g.AgreementsOnly, Nodes: listOf(g.Nodes, func(n network.Node) NetworkNodeIO {
			return NetworkNodeIO{ID: n.ID, Kind: string(n.Kind), Slug: n.Slug, Name: n.Name}
		}),
		Edges: listOf(g.Edges, func(e network.Edge) NetworkEdgeIO {
			return NetworkEdgeIO{Source: e.Source, Target: e.Target, Kind: string(e.Kind), NetworkCountsIO: counts(e.Counts), FirstYear: e.FirstYear,
				Years: listOf(e.Years, func(y network.YearCounts) NetworkYearIO {
					return NetworkYearIO{Year: y.Year, NetworkCountsIO: counts(y.Counts)}
				})}
		}),
		Metrics: NetworkMetricsIO{
			SeveralMunicipalities: listOf(g.Metrics.SeveralMunicipalities, func(r network.Reach) NetworkReachIO {
				return NetworkReachIO{OrganisationID: r.Organisation, Name: r.Name, Municipalities: r.Municipalities}
			}),
			WithoutPartnership: listOf(g.Metrics.WithoutPartnership, func(p network.Place) NetworkPlaceIO {
				return NetworkPlaceIO{ID: p.ID, Slug: p.Slug, Name: p.Name}
			}),
			NewAlliances: listOf(g.Metrics.NewAlliances, func(n network.NewInYear) NetworkNewIO {
				return NetworkNewIO{Year: n.Year, OrganisationMunicipality: n.OrganisationMunicipality, OrganisationOrganisation: n.OrganisationOrganisation}
			}),
		}}
	if !g.ComputedAt.IsZero() {
		at := g.ComputedAt
		out.ComputedAt = &at
	}
	return out
}

// regionNetwork is the network of the route's region, for its analysts.
func (s *Server) regionNetwork(ctx context.Context, ref string, y NetworkYears) (*network.Graph, error) {
	t, err := s.enter(ctx, ref)
	if err != nil {
		return nil, err
	}
	g, err := s.network.Region(ctx, t.ID, network.Years{From: y.From, To: y.To})
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	return g, nil
}

// publicNetwork is the network of a region's signed agreements: a region
// that exists and is not being provisioned.
func (s *Server) publicNetwork(ctx context.Context, ref string, y NetworkYears) (*network.Graph, error) {
	t, err := s.tenants.Resolve(ctx, ref)
	switch {
	case err == nil && t.Status == tenants.StatusProvisioning:
		err = tenants.ErrNotFound
	case err == nil && t.Kind != tenants.KindRegion:
		err = network.ErrNotARegion
	}
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	g, err := s.network.Public(ctx, t.ID, network.Years{From: y.From, To: y.To})
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	return g, nil
}

func (s *Server) registerNetwork() {
	if s.network == nil {
		return
	}
	tags := []string{"Network"}
	huma.Register(s.api, huma.Operation{
		OperationID: "get-region-network", Method: http.MethodGet, Path: "/v1/tenants/{tenant}/network", Tags: tags, Security: bearer,
		Summary: "Who worked with whom in the region: organisations and municipalities linked by applications, agreements and pilots (regional analyst)",
		Description: "Nodes and edges with counts by kind and year, from the aggregates each municipality's snapshot computes; " +
			"metrics: organisations active in several municipalities, municipalities without partnership, new alliances per year.",
		Errors: []int{401, 403, 404, 422},
	}, func(ctx context.Context, in *struct {
		TenantPath
		NetworkYears
	}) (*struct{ Body NetworkIO }, error) {
		g, err := s.regionNetwork(ctx, in.Tenant, in.NetworkYears)
		if err != nil {
			return nil, err
		}
		return &struct{ Body NetworkIO }{networkOut(g)}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "get-public-network", Method: http.MethodGet, Path: "/v1/public/network/{region}", Tags: tags,
		Summary:     "The network of a region's signed agreements: organisations and municipalities, public (no login)",
		Description: "The same graph as the region's, counting signed agreements only (public by law, as in open data).",
		Errors:      []int{404, 422},
	}, func(ctx context.Context, in *struct {
		PublicNetworkPath
		NetworkYears
	}) (*struct {
		ETag         string `header:"ETag"`
		CacheControl string `header:"Cache-Control"`
		Body         NetworkIO
	}, error) {
		g, err := s.publicNetwork(ctx, in.Region, in.NetworkYears)
		if err != nil {
			return nil, err
		}
		body := networkOut(g)
		return &struct {
			ETag         string `header:"ETag"`
			CacheControl string `header:"Cache-Control"`
			Body         NetworkIO
		}{bodyETag(body), "public, max-age=300", body}, nil
	})
	s.registerNetworkPages(tags)
}
