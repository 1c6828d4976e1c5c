package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/application"
)

// ApplicationContent is what an applicant edits.
type ApplicationContent struct {
	Partners     []uuid.UUID     `json:"partners,omitempty" maxItems:"20" doc:"Partner organisations of the ATS (not the lead)"`
	Title        string          `json:"title,omitempty" maxLength:"300"`
	Sections     []SectionIO     `json:"sections,omitempty" maxItems:"30"`
	Budget       []BudgetLineIO  `json:"budget,omitempty" maxItems:"200"`
	Declarations *DeclarationsIO `json:"declarations,omitempty"`
}

type SectionIO struct {
	Key   string `json:"key" maxLength:"40"`
	Title string `json:"title" maxLength:"300"`
	Body  string `json:"body" maxLength:"50000"`
}

type BudgetLineIO struct {
	Description    string     `json:"description" maxLength:"500"`
	Category       string     `json:"category" enum:"staff,services,materials,premises,overheads,other"`
	AmountCents    int64      `json:"amountCents" minimum:"1"`
	Funding        string     `json:"funding" enum:"public,cofunding"`
	Kind           string     `json:"kind,omitempty" enum:"cash,in_kind"`
	OrganisationID *uuid.UUID `json:"organisationId,omitempty" doc:"For co-funding: the lead or a partner"`
}

type DeclarationsIO struct {
	NoExclusionGrounds  bool `json:"noExclusionGrounds" doc:"None of the call's exclusion grounds applies"`
	TruthfulInformation bool `json:"truthfulInformation" doc:"Self-declaration under DPR 445/2000"`
	PrivacyNotice       bool `json:"privacyNotice"`
}

func (c ApplicationContent) content() application.Content {
	out := application.Content{Partners: c.Partners, Title: c.Title}
	for _, s := range c.Sections {
		out.Sections = append(out.Sections, application.Section(s))
	}
	for _, b := range c.Budget {
		line := application.BudgetLine{Description: b.Description, Category: b.Category, AmountCents: b.AmountCents, Funding: b.Funding, Kind: b.Kind}
		if b.OrganisationID != nil {
			line.OrganisationID = *b.OrganisationID
		}
		out.Budget = append(out.Budget, line)
	}
	if c.Declarations != nil {
		out.Declarations = application.Declarations(*c.Declarations)
	}
	return out
}

// Application as the API shows it.
type Application struct {
	ID     uuid.UUID `json:"id"`
	CallID uuid.UUID `json:"callId"`
	Lead   uuid.UUID `json:"leadOrganisationId"`
	ApplicationContent
	Status        string          `json:"status" enum:"draft,submitted,withdrawn"`
	Receipt       *ReceiptIO      `json:"receipt,omitempty"`
	Attachments   []AttachmentIO  `json:"attachments"`
	Admissibility AdmissibilityIO `json:"admissibility"`
	PublicAsked   int64           `json:"publicAskedCents"`
	Cofunding     int64           `json:"cofundingCents"`
	CreatedAt     time.Time       `json:"createdAt"`
	UpdatedAt     time.Time       `json:"updatedAt"`
	Version       int             `json:"version"`
}

type ReceiptIO struct {
	SubmittedAt  time.Time `json:"submittedAt"`
	SHA256       string    `json:"sha256" doc:"SHA-256 of the submitted content, attachments included by their hashes"`
	RulesVersion int       `json:"rulesVersion"`
}

type AttachmentIO struct {
	ID          uuid.UUID `json:"id"`
	Name        string    `json:"name"`
	ContentType string    `json:"contentType"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	UploadedAt  time.Time `json:"uploadedAt"`
}

type AdmissibilityIO struct {
	Status    string     `json:"status" enum:"pending,admissible,inadmissible,integration_requested"`
	Reasons   []string   `json:"reasons,omitempty"`
	ReplyBy   *time.Time `json:"replyBy,omitempty"`
	Reply     string     `json:"reply,omitempty"`
	DecidedAt *time.Time `json:"decidedAt,omitempty"`
}

func applicationOut(a *application.Application) Application {
	out := Application{ID: a.ID, CallID: a.CallID, Lead: a.Lead, Status: string(a.Status), CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt,
		Version: a.Version, PublicAsked: a.PublicAsked(), Cofunding: a.Cofunding(), Attachments: []AttachmentIO{}}
	out.Partners, out.Title = a.Partners, a.Title
	for _, s := range a.Sections {
		out.Sections = append(out.Sections, SectionIO(s))
	}
	for _, b := range a.Budget {
		line := BudgetLineIO{Description: b.Description, Category: b.Category, AmountCents: b.AmountCents, Funding: b.Funding, Kind: b.Kind}
		if b.OrganisationID != uuid.Nil {
			id := b.OrganisationID
			line.OrganisationID = &id
		}
		out.Budget = append(out.Budget, line)
	}
	d := DeclarationsIO(a.Declarations)
	out.Declarations = &d
	if a.Receipt != nil {
		r := ReceiptIO(*a.Receipt)
		out.Receipt = &r
	}
	for _, f := range a.Attachments {
		out.Attachments = append(out.Attachments, AttachmentIO{ID: f.ID, Name: f.Name, ContentType: f.ContentType, Size: f.Size, SHA256: f.SHA256, UploadedAt: f.UploadedAt})
	}
	ad := a.Admissibility
	out.Admissibility = AdmissibilityIO{Status: ad.Status, Reasons: ad.Reasons, Reply: ad.Reply}
	if !ad.ReplyBy.IsZero() {
		out.Admissibility.ReplyBy = &ad.ReplyBy
	}
	if !ad.DecidedAt.IsZero() {
		out.Admissibility.DecidedAt = &ad.DecidedAt
	}
	return out
}

type applicationOutput struct {
	ETag string `header:"ETag"`
	Body Application
}

// EligibilityCheck is one automatic check of the call's rules.
type EligibilityCheck struct {
	OrganisationID uuid.UUID `json:"organisationId"`
	Rule           string    `json:"rule" enum:"runts_registered,legal_form,territory"`
	Passed         bool      `json:"passed"`
	Detail         string    `json:"detail"`
}

// AppPath names an application of a tenant.
type AppPath struct {
	TenantPath
	App uuid.UUID `path:"application"`
}

func (s *Server) appResult(ctx context.Context, a *application.Application, err error) (*applicationOutput, error) {
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	return &applicationOutput{ETag: etag(a.Version), Body: applicationOut(a)}, nil
}

func (s *Server) registerApplications() {
	if s.apps == nil {
		return
	}
	tags := []string{"Applications"}
	huma.Register(s.api, huma.Operation{
		OperationID: "create-application", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/calls/{call}/applications", Tags: tags,
		Security: bearer, Summary: "Start an application to an open call, for an organisation you act for", DefaultStatus: http.StatusCreated,
		Errors: []int{401, 403, 404, 409, 422},
	}, func(ctx context.Context, in *struct {
		CallPath
		Body struct {
			LeadOrganisationID uuid.UUID `json:"leadOrganisationId"`
		}
	}) (*applicationOutput, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		a, err := s.apps.Create(ctx, t.ID, in.Call, in.Body.LeadOrganisationID)
		return s.appResult(ctx, a, err)
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "list-applications", Method: http.MethodGet, Path: "/v1/tenants/{tenant}/calls/{call}/applications", Tags: tags,
		Security: bearer, Summary: "Applications to a call: all to staff, your organisations' to members", Errors: []int{401, 403, 404, 422},
	}, func(ctx context.Context, in *struct {
		CallPath
		Cursor string `query:"cursor" maxLength:"64"`
		Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50"`
	}) (*struct {
		Body struct {
			Items      []Application `json:"items"`
			NextCursor string        `json:"nextCursor,omitempty"`
		}
	}, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		after, err := decodeCursor(in.Cursor)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		items, next, err := s.apps.List(ctx, t.ID, application.Filter{Call: in.Call, After: after, Limit: in.Limit})
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &struct {
			Body struct {
				Items      []Application `json:"items"`
				NextCursor string        `json:"nextCursor,omitempty"`
			}
		}{}
		out.Body.Items = make([]Application, 0, len(items))
		for _, a := range items {
			out.Body.Items = append(out.Body.Items, applicationOut(a))
		}
		out.Body.NextCursor = encodeCursor(next)
		return out, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "get-application", Method: http.MethodGet, Path: "/v1/tenants/{tenant}/applications/{application}", Tags: tags,
		Security: bearer, Summary: "Read an application", Errors: []int{401, 403, 404},
	}, func(ctx context.Context, in *AppPath) (*applicationOutput, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		a, err := s.apps.Get(ctx, t.ID, in.App)
		return s.appResult(ctx, a, err)
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "update-application", Method: http.MethodPut, Path: "/v1/tenants/{tenant}/applications/{application}", Tags: tags,
		Security: bearer, Summary: "Edit a draft application (the lead organisation; If-Match required)", Errors: []int{401, 403, 404, 409, 412, 422, 428},
	}, func(ctx context.Context, in *struct {
		AppPath
		IfMatch string `header:"If-Match"`
		Body    ApplicationContent
	}) (*applicationOutput, error) {
		t, v, err := s.enterIfMatch(ctx, in.Tenant, in.IfMatch)
		if err != nil {
			return nil, err
		}
		a, err := s.apps.Update(ctx, t, in.App, in.Body.content(), v)
		return s.appResult(ctx, a, err)
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "submit-application", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/applications/{application}/submit", Tags: tags,
		Security: bearer, Summary: "Submit an application before the deadline; returns the receipt",
		Description: "Judged by the server's clock: one second after the deadline answers 409 submission_deadline_passed. " +
			"With an Idempotency-Key, a retry returns the same result without submitting twice.",
		Errors: []int{401, 403, 404, 409, 412, 422},
	}, func(ctx context.Context, in *struct {
		AppPath
		IfMatch        string `header:"If-Match"`
		IdempotencyKey string `header:"Idempotency-Key" maxLength:"200"`
	}) (*applicationOutput, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		v, err := ifMatch(in.IfMatch)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		a, err := s.apps.Submit(ctx, t.ID, in.App, in.IdempotencyKey, v)
		return s.appResult(ctx, a, err)
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "withdraw-application", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/applications/{application}/withdraw", Tags: tags,
		Security: bearer, Summary: "Withdraw a submitted application (before the ranking; If-Match required)", Errors: []int{401, 403, 404, 409, 412, 428},
	}, func(ctx context.Context, in *struct {
		AppPath
		IfMatch string `header:"If-Match"`
	}) (*applicationOutput, error) {
		t, v, err := s.enterIfMatch(ctx, in.Tenant, in.IfMatch)
		if err != nil {
			return nil, err
		}
		a, err := s.apps.Withdraw(ctx, t, in.App, v)
		return s.appResult(ctx, a, err)
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "decide-admissibility", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/applications/{application}/admissibility", Tags: tags,
		Security: bearer, Summary: "Decide admissibility (officer, after the call closes; If-Match required)", Errors: []int{401, 403, 404, 409, 412, 422, 428},
	}, func(ctx context.Context, in *struct {
		AppPath
		IfMatch string `header:"If-Match"`
		Body    struct {
			Status  string     `json:"status" enum:"admissible,inadmissible,integration_requested"`
			Reasons []string   `json:"reasons,omitempty" maxItems:"50"`
			ReplyBy *time.Time `json:"replyBy,omitempty" doc:"Deadline for the integration"`
		}
	}) (*applicationOutput, error) {
		t, v, err := s.enterIfMatch(ctx, in.Tenant, in.IfMatch)
		if err != nil {
			return nil, err
		}
		var replyBy time.Time
		if in.Body.ReplyBy != nil {
			replyBy = *in.Body.ReplyBy
		}
		a, err := s.apps.Decide(ctx, t, in.App, in.Body.Status, in.Body.Reasons, replyBy, v)
		return s.appResult(ctx, a, err)
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "integrate-application", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/applications/{application}/integration", Tags: tags,
		Security: bearer, Summary: "Reply to a request for integration (the lead organisation, before its deadline)", Errors: []int{401, 403, 404, 409, 422},
	}, func(ctx context.Context, in *struct {
		AppPath
		Body struct {
			Reply string `json:"reply" maxLength:"20000"`
		}
	}) (*applicationOutput, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		a, err := s.apps.Integrate(ctx, t.ID, in.App, in.Body.Reply)
		return s.appResult(ctx, a, err)
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "check-eligibility", Method: http.MethodGet, Path: "/v1/tenants/{tenant}/applications/{application}/eligibility", Tags: tags,
		Security: bearer, Summary: "The call's eligibility rules checked on the application's organisations (staff)", Errors: []int{401, 403, 404},
	}, func(ctx context.Context, in *AppPath) (*struct {
		Body []EligibilityCheck
	}, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		checks, err := s.apps.Eligibility(ctx, t.ID, in.App)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &struct{ Body []EligibilityCheck }{Body: []EligibilityCheck{}}
		for _, c := range checks {
			out.Body = append(out.Body, EligibilityCheck{c.Organisation, c.Rule, c.Passed, c.Detail})
		}
		return out, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "upload-attachment", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/applications/{application}/attachments", Tags: tags,
		Security: bearer, Summary: "Attach a file to a draft application (PDF, PNG, JPEG, office documents, plain text)",
		Description: "Send the file as the body (application/octet-stream), named with ?name=, or as multipart/form-data with one file part. " +
			"The type is sniffed from the content, never taken from the client; the size limit holds either way (413 above it).",
		DefaultStatus: http.StatusCreated, Errors: []int{401, 403, 404, 409, 413, 415, 422},
		MaxBodyBytes: maxUploadBytes,
	}, func(ctx context.Context, in *struct {
		AppPath
		Name        string `query:"name" maxLength:"200" doc:"File name (for a raw body)"`
		ContentType string `header:"Content-Type"`
		RawBody     []byte `contentType:"application/octet-stream"`
	}) (*struct{ Body AttachmentIO }, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		name, body, err := uploadedFile(in.ContentType, in.Name, in.RawBody)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		f, err := s.apps.Attach(ctx, t.ID, in.App, name, body)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &struct{ Body AttachmentIO }{AttachmentIO{ID: f.ID, Name: f.Name, ContentType: f.ContentType, Size: f.Size, SHA256: f.SHA256, UploadedAt: f.UploadedAt}}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "download-attachment", Method: http.MethodGet, Path: "/v1/tenants/{tenant}/applications/{application}/attachments/{file}", Tags: tags,
		Security: bearer, Summary: "Download an attachment (whoever may read the application)", Errors: []int{401, 403, 404},
	}, func(ctx context.Context, in *struct {
		AppPath
		File uuid.UUID `path:"file"`
	}) (*huma.StreamResponse, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		f, rc, err := s.apps.Open(ctx, t.ID, in.App, in.File)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &huma.StreamResponse{Body: func(hctx huma.Context) {
			defer rc.Close()
			hctx.SetHeader("Content-Type", f.ContentType)
			hctx.SetHeader("Content-Length", fmt.Sprint(f.Size))
			hctx.SetHeader("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": f.Name}))
			hctx.SetHeader("X-Content-Type-Options", "nosniff")
			hctx.SetHeader("Digest", "sha-256="+f.SHA256)
			_, _ = io.Copy(hctx.BodyWriter(), rc)
		}}, nil
	})
}

// maxUploadBytes bounds an upload request (the file plus multipart framing);
// the use case bounds the file itself.
const maxUploadBytes = 21 << 20

// uploadedFile takes the file from a raw or a multipart body.
func uploadedFile(contentType, name string, body []byte) (string, io.Reader, error) {
	mt, params, _ := mime.ParseMediaType(contentType)
	if mt != "multipart/form-data" {
		return name, bytes.NewReader(body), nil
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		part, err := mr.NextPart()
		if err != nil {
			return "", nil, errNoFilePart
		}
		if part.FileName() != "" {
			return part.FileName(), partReader{part}, nil
		}
	}
}

// partReader turns a file part cut short or malformed into the client's
// error: the body is in memory, so reading it fails only on its format
// (found by fuzzing: it was a 500).
type partReader struct{ r io.Reader }

func (p partReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if err != nil && err != io.EOF {
		return n, errMalformedMultipart
	}
	return n, err
}

var (
	errNoFilePart         = domain.Errorf(domain.KindInvalid, "no_file", "the multipart body has no file part").WithField("body")
	errMalformedMultipart = domain.Errorf(domain.KindInvalid, "malformed_multipart", "the multipart body is cut short or malformed").WithField("body")
)

// enterIfMatch resolves the tenant and requires an If-Match header.
func (s *Server) enterIfMatch(ctx context.Context, ref, header string) (uuid.UUID, int, error) {
	t, err := s.enter(ctx, ref)
	if err != nil {
		return uuid.Nil, 0, err
	}
	if header == "" {
		return uuid.Nil, 0, s.problem(ctx, errIfMatchRequired)
	}
	v, err := ifMatch(header)
	if err != nil {
		return uuid.Nil, 0, s.problem(ctx, err)
	}
	return t.ID, v, nil
}
