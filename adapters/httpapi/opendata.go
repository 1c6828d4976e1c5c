package httpapi

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/coprod/coprod/domain/opendata"
	"github.com/coprod/coprod/tenants"
)

func (s *Server) registerOpenData() {
	if s.openData == nil {
		return
	}
	tags := []string{"Open data"}
	type out[T any] struct {
		ETag         string `header:"ETag"`
		CacheControl string `header:"Cache-Control"`
		Body         T
	}
	// resolve: a public route names a municipality that exists and is
	// (or was) active; provisioning ones have published nothing.
	resolve := func(ctx context.Context, ref string) (*tenants.Tenant, error) {
		t, err := s.tenants.Resolve(ctx, ref)
		if err == nil && t.Status == tenants.StatusProvisioning {
			err = tenants.ErrNotFound
		}
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return t, nil
	}
	huma.Register(s.api, huma.Operation{
		OperationID: "get-360giving", Method: http.MethodGet, Path: "/v1/public/open-data/{tenant}/360giving.json", Tags: tags,
		Summary:     "The municipality's grants as a 360Giving 1.4 package (no login)",
		Description: "One grant per awarded contribution: each party's share of each signed agreement. Ids are stable.",
		Errors:      []int{404},
	}, func(ctx context.Context, in *TenantPath) (*out[opendata.GrantPackage], error) {
		t, err := resolve(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		p, err := s.openData.Grants(ctx, t.ID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &out[opendata.GrantPackage]{ETag: bodyETag(p), CacheControl: "public, max-age=300", Body: *p}, nil
	})
	if s.activeTenants != nil {
		// national registers a platform-wide export; at most
		// MaxNationalExports stream at once per server (503 exports_busy).
		national := func(id, path, summary string, write func(context.Context, io.Writer, []uuid.UUID) (int, error)) {
			huma.Register(s.api, huma.Operation{
				OperationID: id, Method: http.MethodGet, Path: path, Tags: tags, Summary: summary,
				Description: "Written municipality by municipality; a response cut short ends without its closing brackets.",
				Responses: map[string]*huma.Response{"200": {Description: "the package", Content: map[string]*huma.MediaType{
					"application/json": {Schema: &huma.Schema{Type: "object"}}}}},
				Errors: []int{503},
			}, func(ctx context.Context, _ *struct{}) (*huma.StreamResponse, error) {
				select {
				case s.exports <- struct{}{}:
				default:
					p := newProblem(http.StatusServiceUnavailable, "exports_busy",
						fmt.Sprintf("%d national exports are already streaming from this server; retry in a minute", MaxNationalExports))
					p.header = http.Header{"Retry-After": {"60"}}
					return nil, p
				}
				ids, err := s.activeTenants(ctx)
				if err != nil {
					<-s.exports
					return nil, s.problem(ctx, err)
				}
				return &huma.StreamResponse{Body: func(hc huma.Context) {
					defer func() { <-s.exports }()
					hc.SetHeader("Content-Type", "application/json")
					hc.SetHeader("Cache-Control", "public, max-age=3600")
					if n, err := write(hc.Context(), hc.BodyWriter(), ids); err != nil {
						s.log.ErrorContext(ctx, "national open-data export cut short", "operation", id, "items", n, "error", err)
					}
				}}, nil
			})
		}
		national("get-360giving-national", "/v1/public/open-data/360giving.json",
			"The grants of every municipality as one 360Giving package, streamed (no login)", s.openData.WriteGrants)
		national("get-ocds-national", "/v1/public/open-data/ocds.json",
			"The calls and agreements of every municipality as one OCDS release package, streamed (no login)", s.openData.WriteReleases)
	}
	huma.Register(s.api, huma.Operation{
		OperationID: "get-ocds", Method: http.MethodGet, Path: "/v1/public/open-data/{tenant}/ocds.json", Tags: tags,
		Summary:     "The municipality's calls and agreements as an OCDS 1.1 release package (no login)",
		Description: "Calls are tenders (selective procedure, rated criteria); the agreements that followed are awards. Ids are stable.",
		Errors:      []int{404},
	}, func(ctx context.Context, in *TenantPath) (*out[opendata.ReleasePackage], error) {
		t, err := resolve(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		p, err := s.openData.Releases(ctx, t.ID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &out[opendata.ReleasePackage]{ETag: bodyETag(p), CacheControl: "public, max-age=300", Body: *p}, nil
	})
}

// MaxNationalExports is how many national open-data exports one server
// streams at once; each reads a few tenants ahead on its own connections.
const MaxNationalExports = 2
