package httpapi

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/tenants"
)

var bearer = []map[string][]string{{"bearer": {}}}

// Tenant is a municipality or a region as the API shows it.
type Tenant struct {
	ID         uuid.UUID  `json:"id"`
	Slug       string     `json:"slug" example:"milano"`
	Name       string     `json:"name" example:"Milano"`
	Kind       string     `json:"kind" enum:"municipality,region"`
	ISTATCode  string     `json:"istatCode,omitempty" example:"015146"`
	RegionID   *uuid.UUID `json:"regionId,omitempty"`
	Population int        `json:"population"`
	Status     string     `json:"status" enum:"provisioning,active,suspended,offboarded"`
	CreatedAt  time.Time  `json:"createdAt"`
	UpdatedAt  time.Time  `json:"updatedAt"`
	Version    int        `json:"version" doc:"Bumped by every change; the ETag carries it"`
}

func tenantOut(t *tenants.Tenant) Tenant {
	out := Tenant{ID: t.ID, Slug: t.Slug, Name: t.Name, Kind: string(t.Kind), ISTATCode: t.ISTATCode,
		Population: t.Population, Status: string(t.Status), CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt, Version: t.Version}
	if t.RegionID != uuid.Nil {
		id := t.RegionID
		out.RegionID = &id
	}
	return out
}

func etag(version int) string { return `"` + strconv.Itoa(version) + `"` }

// ifMatch parses an If-Match header into a version; "" and "*" mean any.
func ifMatch(h string) (int, error) {
	h = strings.TrimSpace(h)
	if h == "" || h == "*" {
		return 0, nil
	}
	v, err := strconv.Atoi(strings.Trim(strings.TrimPrefix(h, "W/"), `"`))
	if err != nil || v < 1 {
		return 0, domain.ErrStale.WithMessage("If-Match must be an ETag this API returned").WithField("header.If-Match")
	}
	return v, nil
}

// Cursors are opaque to clients: base64url of the last id of a page.
func encodeCursor(id uuid.UUID) string {
	if id == uuid.Nil {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(id[:])
}

var errBadCursor = domain.Errorf(domain.KindInvalid, "invalid_cursor", "the cursor is not one this API returned").WithField("query.cursor")

func decodeCursor(s string) (uuid.UUID, error) {
	if s == "" {
		return uuid.Nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != 16 {
		return uuid.Nil, errBadCursor
	}
	return uuid.UUID(b), nil
}

// TenantPath is the {tenant} of a route; exported so huma sees it when embedded.
type TenantPath struct {
	Tenant string `path:"tenant" maxLength:"63" doc:"The tenant's slug or id" example:"milano"`
}

type tenantOutput struct {
	ETag string `header:"ETag"`
	Body Tenant
}

type createTenantInput struct {
	Body struct {
		Slug       string `json:"slug" minLength:"2" maxLength:"63" example:"bergamo" doc:"Lowercase letters, digits and single hyphens"`
		Name       string `json:"name" minLength:"1" maxLength:"200" example:"Bergamo"`
		Kind       string `json:"kind" enum:"municipality,region"`
		ISTATCode  string `json:"istatCode,omitempty" maxLength:"6" example:"016024" doc:"6 digits for a municipality, 2 for a region"`
		Region     string `json:"region,omitempty" maxLength:"63" example:"regione-lombardia" doc:"Slug or id of the parent region; required for a municipality"`
		Population int    `json:"population,omitempty" minimum:"0" maximum:"100000000"`
	}
}

type listTenantsInput struct {
	Kind   string `query:"kind" enum:"municipality,region"`
	Status string `query:"status" enum:"provisioning,active,suspended,offboarded"`
	Region string `query:"region" maxLength:"63" doc:"Slug or id of a region: only its municipalities"`
	Cursor string `query:"cursor" maxLength:"64" doc:"nextCursor of the previous page"`
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50"`
}

type tenantPage struct {
	Body struct {
		Items      []Tenant `json:"items"`
		NextCursor string   `json:"nextCursor,omitempty" doc:"Absent on the last page"`
	}
}

type statusChangeInput struct {
	TenantPath
	IfMatch string `header:"If-Match" doc:"The ETag of the tenant as last read; a stale one answers 412"`
	Body    *struct {
		Reason string `json:"reason,omitempty" maxLength:"1000"`
	}
}

func (s *Server) registerTenants() {
	tags := []string{"Tenants"}
	huma.Register(s.api, huma.Operation{
		OperationID: "create-tenant", Method: http.MethodPost, Path: "/v1/tenants", Tags: tags,
		Summary: "Onboard a municipality or a region", DefaultStatus: http.StatusCreated, Security: bearer,
		Description: "Platform operators only. The tenant starts in status provisioning; activate it when it is ready.",
		Errors:      []int{401, 403, 409, 413, 422},
	}, func(ctx context.Context, in *createTenantInput) (*tenantOutput, error) {
		t, err := s.tenants.Create(ctx, tenants.CreateInput{
			Slug: in.Body.Slug, Name: in.Body.Name, Kind: tenants.Kind(in.Body.Kind),
			ISTATCode: in.Body.ISTATCode, Region: in.Body.Region, Population: in.Body.Population,
		})
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &tenantOutput{ETag: etag(t.Version), Body: tenantOut(t)}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "list-tenants", Method: http.MethodGet, Path: "/v1/tenants", Tags: tags,
		Summary: "List tenants", Security: bearer, Errors: []int{401, 403, 422},
		Description: "Platform operators only. Pages follow creation order; pass nextCursor to get the next one.",
	}, func(ctx context.Context, in *listTenantsInput) (*tenantPage, error) {
		after, err := decodeCursor(in.Cursor)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		f := tenants.Filter{Kind: tenants.Kind(in.Kind), Status: tenants.Status(in.Status), After: after, Limit: in.Limit}
		var page tenants.Page
		if in.Region != "" {
			page, err = s.tenants.Municipalities(ctx, in.Region, f)
		} else {
			page, err = s.tenants.List(ctx, f)
		}
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return pageOut(page), nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "get-tenant", Method: http.MethodGet, Path: "/v1/tenants/{tenant}", Tags: tags,
		Summary: "Read a tenant", Security: bearer, Errors: []int{401, 403, 404},
	}, func(ctx context.Context, in *TenantPath) (*tenantOutput, error) {
		t, err := s.tenants.Get(ctx, in.Tenant)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &tenantOutput{ETag: etag(t.Version), Body: tenantOut(t)}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "list-region-municipalities", Method: http.MethodGet, Path: "/v1/tenants/{tenant}/municipalities", Tags: tags,
		Summary: "List the municipalities of a region", Security: bearer, Errors: []int{401, 403, 404, 422},
	}, func(ctx context.Context, in *struct {
		TenantPath
		Status string `query:"status" enum:"provisioning,active,suspended,offboarded"`
		Cursor string `query:"cursor" maxLength:"64"`
		Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50"`
	}) (*tenantPage, error) {
		after, err := decodeCursor(in.Cursor)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		page, err := s.tenants.Municipalities(ctx, in.Tenant, tenants.Filter{Status: tenants.Status(in.Status), After: after, Limit: in.Limit})
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return pageOut(page), nil
	})

	for _, action := range []string{"activate", "suspend", "resume", "offboard"} {
		huma.Register(s.api, huma.Operation{
			OperationID: action + "-tenant", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/" + action, Tags: tags,
			Summary: strings.ToUpper(action[:1]) + action[1:] + " a tenant", Security: bearer,
			Description: fmt.Sprintf("Platform operators only. Lifecycle: provisioning → active ⇄ suspended; any → offboarded (final). "+
				"An If-Match header makes the %s conditional on the version last read.", action),
			Errors: []int{401, 403, 404, 409, 412, 422},
		}, func(ctx context.Context, in *statusChangeInput) (*tenantOutput, error) {
			v, err := ifMatch(in.IfMatch)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			reason := ""
			if in.Body != nil {
				reason = in.Body.Reason
			}
			t, err := s.tenants.ChangeStatus(ctx, in.Tenant, action, reason, v)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return &tenantOutput{ETag: etag(t.Version), Body: tenantOut(t)}, nil
		})
	}
}

func pageOut(p tenants.Page) *tenantPage {
	out := &tenantPage{}
	out.Body.Items = make([]Tenant, 0, len(p.Items))
	for _, t := range p.Items {
		out.Body.Items = append(out.Body.Items, tenantOut(t))
	}
	out.Body.NextCursor = encodeCursor(p.Next)
	return out
}
