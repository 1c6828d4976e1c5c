package application

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/audit"
	"github.com/coprod/coprod/domain/blob"
	"github.com/coprod/coprod/domain/call"
	"github.com/coprod/coprod/domain/evaluation"
	"github.com/coprod/coprod/domain/organisation"
)

// Store runs application use cases in one tenant-scoped transaction each.
type Store interface {
	Atomic(ctx context.Context, tenant uuid.UUID, fn func(Tx) error) error
}

// Tx is one transaction.
type Tx interface {
	Applications() Repository
	Calls() call.Repository
	Organisations() OrganisationReader
	Declarations() DeclarationReader
	Idempotency() Idempotency
	Audit() audit.Log
}

// Filter selects applications of a call; Orgs, when set, keeps only those
// where one of these organisations is lead or partner.
type Filter struct {
	Call  uuid.UUID
	Orgs  []uuid.UUID
	After uuid.UUID
	Limit int
}

// Repository keeps the applications of the transaction's tenant.
type Repository interface {
	Add(ctx context.Context, a *Application) error
	Update(ctx context.Context, a *Application) error // version check
	Get(ctx context.Context, id uuid.UUID) (*Application, error)
	List(ctx context.Context, f Filter) ([]*Application, error)
	AddAttachment(ctx context.Context, app uuid.UUID, f Attachment) error
	// ReferencedKeys returns those of keys that an attachment of the
	// tenant names, in any order.
	ReferencedKeys(ctx context.Context, keys []string) ([]string, error)
}

// OrganisationReader reads platform-wide organisations.
type OrganisationReader interface {
	Get(ctx context.Context, id uuid.UUID) (*organisation.Organisation, error)
}

// DeclarationReader tells what a committee member declared for an application.
type DeclarationReader interface {
	Declaration(ctx context.Context, app, evaluator uuid.UUID) (evaluation.Declaration, bool, error)
}

// Idempotency remembers the outcome of a request made with an
// Idempotency-Key, so that a retried request gets the same result and
// changes nothing more.
type Idempotency interface {
	// Get returns the stored result of key for subject, if any.
	Get(ctx context.Context, key, subject string) (request string, result []byte, found bool, err error)
	Put(ctx context.Context, key, subject, request string, result []byte, at time.Time) error
}

// Service holds the application use cases.
type Service struct {
	store Store
	blobs blob.Store
	now   domain.Clock
	// MaxFileBytes bounds one attachment.
	MaxFileBytes int64
	// SweepGrace is how old a stored file must be before SweepOrphans may
	// remove it: longer than any upload takes from its Put to the commit
	// of its record.
	SweepGrace time.Duration
}

func NewService(store Store, blobs blob.Store, now domain.Clock) *Service {
	if now == nil {
		now = domain.SystemClock
	}
	return &Service{store: store, blobs: blobs, now: now, MaxFileBytes: 20 << 20, SweepGrace: DefaultSweepGrace}
}

var (
	staffRoles   = []domain.Role{domain.RoleOfficer, domain.RoleTenantAdmin, domain.RoleAuditor}
	officerRoles = []domain.Role{domain.RoleOfficer, domain.RoleTenantAdmin}
	ErrIdemReuse = domain.Errorf(domain.KindInvalid, "idempotency_key_reused", "this Idempotency-Key was used for another request")
)

func actsFor(p domain.Principal, org uuid.UUID) bool { return len(p.Orgs[org]) > 0 }

func actsForAny(p domain.Principal, orgs []uuid.UUID) bool {
	return slices.ContainsFunc(orgs, func(o uuid.UUID) bool { return actsFor(p, o) })
}

// canRead: staff of the tenant; an evaluator who declared no conflict for
// this application; a member of its lead or partner organisations. Others
// get not found, as if it did not exist.
func canRead(ctx context.Context, tx Tx, p domain.Principal, tenant uuid.UUID, a *Application) error {
	if p.TenantID == tenant && p.Has(staffRoles...) {
		return nil
	}
	if actsForAny(p, a.Organisations()) {
		return nil
	}
	if p.TenantID == tenant && p.Has(domain.RoleEvaluator) && a.Status == StatusSubmitted {
		d, ok, err := tx.Declarations().Declaration(ctx, a.ID, p.UserID)
		if err != nil {
			return err
		}
		if ok && d == evaluation.NoConflict {
			return nil
		}
		return domain.ErrForbidden.WithMessage("declare, for this application, that you have no conflict of interest before reading it")
	}
	return ErrNotFound
}

// Create starts a draft application of the lead organisation the caller acts for.
func (s *Service) Create(ctx context.Context, tenant, callID, lead uuid.UUID) (*Application, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	if !actsFor(p, lead) {
		return nil, domain.ErrForbidden.WithMessage("you do not act for the lead organisation")
	}
	var out *Application
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		c, err := tx.Calls().Get(ctx, callID)
		if err != nil {
			return err
		}
		if !c.Public() {
			return call.ErrNotFound
		}
		if _, err := tx.Organisations().Get(ctx, lead); err != nil {
			return err
		}
		a, err := NewDraft(c, lead, p.Subject, s.now())
		if err != nil {
			return err
		}
		if err := tx.Applications().Add(ctx, a); err != nil {
			return err
		}
		out = a
		return tx.Audit().Append(ctx, audit.New(tenant, p, a.CreatedAt, "application.created", "application", a.ID, map[string]any{"call": callID, "lead": lead}))
	})
	return out, err
}

// Get returns an application to whoever may read it.
func (s *Service) Get(ctx context.Context, tenant, id uuid.UUID) (*Application, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	var out *Application
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		a, err := tx.Applications().Get(ctx, id)
		if err != nil {
			return err
		}
		if err := canRead(ctx, tx, p, tenant, a); err != nil {
			return err
		}
		out = a
		return nil
	})
	return out, err
}

// List returns a call's applications: all of them to staff, to an
// organisation member those of their organisations.
func (s *Service) List(ctx context.Context, tenant uuid.UUID, f Filter) ([]*Application, uuid.UUID, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, uuid.Nil, err
	}
	if !(p.TenantID == tenant && p.Has(staffRoles...)) {
		f.Orgs = nil
		for org := range p.Orgs {
			f.Orgs = append(f.Orgs, org)
		}
		if len(f.Orgs) == 0 {
			return nil, uuid.Nil, domain.ErrForbidden
		}
	}
	f.Limit, err = domain.PageSize(f.Limit, 50, 500)
	if err != nil {
		return nil, uuid.Nil, err
	}
	want := f.Limit
	f.Limit++
	var out []*Application
	err = s.store.Atomic(ctx, tenant, func(tx Tx) (err error) {
		out, err = tx.Applications().List(ctx, f)
		return err
	})
	out, next := domain.CutPage(out, want, func(x *Application) uuid.UUID { return x.ID })
	return out, next, err
}

// change applies fn to an application the caller's lead organisation owns.
func (s *Service) change(ctx context.Context, tenant, id uuid.UUID, ifVersion int, action string, fn func(tx Tx, a *Application, c *call.Call, now time.Time) (map[string]any, error)) (*Application, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	var out *Application
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		a, err := tx.Applications().Get(ctx, id)
		if err != nil {
			return err
		}
		if !actsFor(p, a.Lead) {
			if err := canRead(ctx, tx, p, tenant, a); err != nil {
				return err
			}
			return domain.ErrForbidden.WithMessage("only the lead organisation changes its application")
		}
		if ifVersion != 0 && ifVersion != a.Version {
			return domain.ErrStale
		}
		c, err := tx.Calls().Get(ctx, a.CallID)
		if err != nil {
			return err
		}
		now := s.now()
		summary, err := fn(tx, a, c, now)
		if err != nil {
			return err
		}
		a.Version++
		if err := tx.Applications().Update(ctx, a); err != nil {
			return err
		}
		out = a
		return tx.Audit().Append(ctx, audit.New(tenant, p, now, "application."+action, "application", a.ID, summary))
	})
	return out, err
}

// Update replaces a draft's content (the lead organisation's members).
func (s *Service) Update(ctx context.Context, tenant, id uuid.UUID, in Content, ifVersion int) (*Application, error) {
	return s.change(ctx, tenant, id, ifVersion, "edited", func(tx Tx, a *Application, _ *call.Call, now time.Time) (map[string]any, error) {
		for _, org := range in.Partners {
			if _, err := tx.Organisations().Get(ctx, org); err != nil {
				if errors.Is(err, organisation.ErrNotFound) {
					return nil, ErrInvalidPartners.WithMessage("partner %s is not a registered organisation", org).WithField("partners")
				}
				return nil, err
			}
		}
		return nil, a.Edit(in, now)
	})
}

// Submit sends the application, judged by the server's clock against the
// call's deadline. With an idempotency key, a retry returns the first
// outcome instead of failing or submitting twice.
func (s *Service) Submit(ctx context.Context, tenant, id uuid.UUID, idemKey string, ifVersion int) (*Application, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	request := "submit:" + id.String()
	if idemKey != "" {
		if len(idemKey) > 200 {
			return nil, domain.Errorf(domain.KindInvalid, "invalid_idempotency_key", "an Idempotency-Key is at most 200 characters").WithField("header.Idempotency-Key")
		}
		var replay *Application
		err := s.store.Atomic(ctx, tenant, func(tx Tx) error {
			req, _, found, err := tx.Idempotency().Get(ctx, idemKey, p.Subject)
			if err != nil || !found {
				return err
			}
			if req != request {
				return ErrIdemReuse
			}
			replay, err = tx.Applications().Get(ctx, id)
			return err
		})
		if err != nil {
			return nil, err
		}
		if replay != nil {
			return replay, nil
		}
	}
	return s.change(ctx, tenant, id, ifVersion, "submitted", func(tx Tx, a *Application, c *call.Call, now time.Time) (map[string]any, error) {
		r, err := a.Submit(c, now)
		if err != nil {
			return nil, err
		}
		if idemKey != "" {
			if err := tx.Idempotency().Put(ctx, idemKey, p.Subject, request, []byte(r.SHA256), now); err != nil {
				return nil, err
			}
		}
		return map[string]any{"sha256": r.SHA256, "rulesVersion": r.RulesVersion}, nil
	})
}

// Withdraw takes a submitted application back.
func (s *Service) Withdraw(ctx context.Context, tenant, id uuid.UUID, ifVersion int) (*Application, error) {
	return s.change(ctx, tenant, id, ifVersion, "withdrawn", func(_ Tx, a *Application, c *call.Call, now time.Time) (map[string]any, error) {
		return nil, a.Withdraw(c, now)
	})
}

// Integrate replies to a request for integration.
func (s *Service) Integrate(ctx context.Context, tenant, id uuid.UUID, reply string) (*Application, error) {
	return s.change(ctx, tenant, id, 0, "integrated", func(_ Tx, a *Application, _ *call.Call, now time.Time) (map[string]any, error) {
		return nil, a.Integrate(reply, now)
	})
}

// Decide records the officer's admissibility decision.
func (s *Service) Decide(ctx context.Context, tenant, id uuid.UUID, status string, reasons []string, replyBy time.Time, ifVersion int) (*Application, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	if !(p.TenantID == tenant && p.Has(officerRoles...)) {
		return nil, domain.ErrForbidden
	}
	var out *Application
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		a, err := tx.Applications().Get(ctx, id)
		if err != nil {
			return err
		}
		if ifVersion != 0 && ifVersion != a.Version {
			return domain.ErrStale
		}
		c, err := tx.Calls().Get(ctx, a.CallID)
		if err != nil {
			return err
		}
		now := s.now()
		if err := a.Decide(c, status, reasons, replyBy, p.Subject, now); err != nil {
			return err
		}
		a.Version++
		if err := tx.Applications().Update(ctx, a); err != nil {
			return err
		}
		out = a
		return tx.Audit().Append(ctx, audit.New(tenant, p, now, "application.admissibility_decided", "application", a.ID,
			map[string]any{"status": status, "reasons": reasons}))
	})
	return out, err
}

// Eligibility runs the call's eligibility rules on the application's
// organisations, for the officer.
func (s *Service) Eligibility(ctx context.Context, tenant, id uuid.UUID) ([]Check, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	if !(p.TenantID == tenant && p.Has(staffRoles...)) {
		return nil, domain.ErrForbidden
	}
	var out []Check
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		a, err := tx.Applications().Get(ctx, id)
		if err != nil {
			return err
		}
		c, err := tx.Calls().Get(ctx, a.CallID)
		if err != nil {
			return err
		}
		orgs := map[uuid.UUID]*organisation.Organisation{}
		for _, o := range a.Organisations() {
			if org, err := tx.Organisations().Get(ctx, o); err == nil {
				orgs[o] = org
			} else if !errors.Is(err, organisation.ErrNotFound) {
				return err
			}
		}
		out = Eligibility(c, a, orgs)
		return nil
	})
	return out, err
}

// Attach stores a file for a draft application: the bytes go to the blob
// store first (size-limited, hashed, type sniffed), then its record is
// written; if that fails, the stored file is removed again.
func (s *Service) Attach(ctx context.Context, tenant, id uuid.UUID, name string, r io.Reader) (*Attachment, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	clean, err := blob.ValidName(name)
	if err != nil {
		return nil, err
	}
	// Check the right to attach before reading a single byte: a dry run of
	// the change that always rolls back.
	if _, err := s.change(ctx, tenant, id, 0, "attachment_checked", func(_ Tx, a *Application, _ *call.Call, _ time.Time) (map[string]any, error) {
		if a.Status != StatusDraft {
			return nil, ErrNotDraft
		}
		if len(a.Attachments) >= 30 {
			return nil, ErrTooManyFiles
		}
		return nil, errCheckOnly
	}); !errors.Is(err, errCheckOnly) {
		return nil, err
	}
	fileID := domain.NewID()
	info, err := s.blobs.Put(ctx, tenant, fileID, r, s.MaxFileBytes)
	if err != nil {
		return nil, err
	}
	f := Attachment{ID: fileID, Name: clean, ContentType: info.ContentType, Size: info.Size, SHA256: hex.EncodeToString(info.SHA256[:]),
		Key: info.Key, UploadedBy: p.Subject, UploadedAt: s.now()}
	_, err = s.change(ctx, tenant, id, 0, "attachment_added", func(tx Tx, a *Application, _ *call.Call, _ time.Time) (map[string]any, error) {
		if a.Status != StatusDraft {
			return nil, ErrNotDraft
		}
		if len(a.Attachments) >= 30 {
			return nil, ErrTooManyFiles
		}
		a.Attachments = append(a.Attachments, f)
		return map[string]any{"file": f.ID, "name": f.Name, "sha256": f.SHA256, "size": f.Size}, tx.Applications().AddAttachment(ctx, a.ID, f)
	})
	if err != nil {
		_ = s.blobs.Delete(context.WithoutCancel(ctx), info.Key)
		return nil, err
	}
	return &f, nil
}

var errCheckOnly = errors.New("check only")

// DefaultSweepGrace is the SweepGrace of a new Service.
const DefaultSweepGrace = 24 * time.Hour

// sweepBatch bounds the keys looked up in one transaction.
const sweepBatch = 1000

// SweepOrphans removes the tenant's stored files that no attachment names:
// those of uploads whose record was never written (a crash between the
// Put and the commit, or a failed Delete after a failed commit). Only
// files older than SweepGrace are considered, so an upload in flight is
// never touched. It returns how many files it removed; after an error
// (some removed, maybe) running it again finishes the work. The system
// of the tenant and operators may run it.
func (s *Service) SweepOrphans(ctx context.Context, tenant uuid.UUID) (int, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return 0, err
	}
	if !p.IsOperator() && !(p.TenantID == tenant && p.Has(domain.RoleSystem)) {
		return 0, domain.ErrForbidden
	}
	grace := s.SweepGrace
	if grace <= 0 {
		grace = DefaultSweepGrace
	}
	objs, err := s.blobs.List(ctx, tenant, s.now().Add(-grace))
	if err != nil {
		return 0, err
	}
	var orphans []string
	for batch := range slices.Chunk(objs, sweepBatch) {
		keys := make([]string, len(batch))
		for i, o := range batch {
			keys[i] = o.Key
		}
		var used []string
		if err := s.store.Atomic(ctx, tenant, func(tx Tx) error {
			used, err = tx.Applications().ReferencedKeys(ctx, keys)
			return err
		}); err != nil {
			return 0, err
		}
		named := make(map[string]bool, len(used))
		for _, k := range used {
			named[k] = true
		}
		for _, k := range keys {
			if !named[k] {
				orphans = append(orphans, k)
			}
		}
	}
	// Orphans come from crashed uploads: a few. Most of a tenant's files
	// unreferenced means the database is not the one these files belong to
	// (a restored copy pointed at production's files): delete nothing.
	if len(orphans) > sweepDoubt && 2*len(orphans) > len(objs) {
		return 0, ErrSweepDoubtful.WithMessage("%d of the tenant's %d files older than %s are referenced by no row: "+
			"is this the database these files belong to? Nothing was deleted", len(orphans), len(objs), grace)
	}
	removed := 0
	var errs []error
	for _, k := range orphans {
		if err := s.blobs.Delete(ctx, k); err != nil {
			errs = append(errs, err)
			continue
		}
		removed++
	}
	return removed, errors.Join(errs...)
}

// sweepDoubt: up to this many orphans are swept whatever their share.
const sweepDoubt = 10

// ErrSweepDoubtful stops a sweep that would delete most of a tenant's files.
var ErrSweepDoubtful = domain.Errorf(domain.KindConflict, "sweep_doubtful", "most files are unreferenced; nothing was deleted")

// Open returns an attachment's content to whoever may read the application.
func (s *Service) Open(ctx context.Context, tenant, appID, fileID uuid.UUID) (*Attachment, io.ReadCloser, error) {
	a, err := s.Get(ctx, tenant, appID)
	if err != nil {
		return nil, nil, err
	}
	for _, f := range a.Attachments {
		if f.ID == fileID {
			rc, err := s.blobs.Open(ctx, f.Key)
			if err != nil {
				return nil, nil, err
			}
			return &f, rc, nil
		}
	}
	return nil, nil, blob.ErrNotFound
}
