package call

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/audit"
)

// Store runs call use cases in one tenant-scoped transaction each.
type Store interface {
	Atomic(ctx context.Context, tenant uuid.UUID, fn func(Tx) error) error
}

// Tx is one transaction.
type Tx interface {
	Calls() Repository
	Questions() QuestionRepository
	Public() PublicProjection
	Notices() Notices
	Audit() audit.Log
	// Publish hands events to the transaction: their jobs commit with it.
	Publish(ctx context.Context, events ...domain.Event) error
}

// Notices tells the organisations applying to a call what changed.
type Notices interface {
	// Applicants notifies every organisation (lead or partner) of an
	// application to c, draft or submitted, of kind, in this transaction,
	// and returns the notices' ids.
	Applicants(ctx context.Context, c *Call, kind string, summary map[string]any, at time.Time) ([]uuid.UUID, error)
}

// Notice is what an organisation is told.
type Notice struct {
	ID             uuid.UUID
	OrganisationID uuid.UUID
	TenantID       uuid.UUID
	Kind           string // call.amended, call.closed, call.cancelled, call.ranked
	CallID         uuid.UUID
	Title          string
	Summary        map[string]any
	At             time.Time
}

// Filter selects a page of a tenant's calls.
type Filter struct {
	Status Status
	After  uuid.UUID
	Limit  int
}

// Repository keeps the calls of the transaction's tenant.
type Repository interface {
	Add(ctx context.Context, c *Call) error
	// Update saves c if the stored version is c.Version-1 (domain.ErrStale otherwise).
	Update(ctx context.Context, c *Call) error
	Get(ctx context.Context, id uuid.UUID) (*Call, error) // ErrNotFound
	List(ctx context.Context, f Filter) ([]*Call, error)
}

// QuestionRepository keeps the questions of the transaction's tenant.
type QuestionRepository interface {
	Add(ctx context.Context, q *Question) error
	Update(ctx context.Context, q *Question) error
	Get(ctx context.Context, id uuid.UUID) (*Question, error)
	ForCall(ctx context.Context, call uuid.UUID) ([]*Question, error)
}

// PublicProjection is the copy of public calls that transparency reads
// serve across tenants without login; use cases refresh it in the same
// transaction as the change, so it is never ahead of or behind the call.
type PublicProjection interface {
	Put(ctx context.Context, c *Call, faq []*Question) error
	Delete(ctx context.Context, tenant, call uuid.UUID) error
}

// Service holds the call use cases.
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

// Staff roles of a tenant.
var (
	writers = []domain.Role{domain.RoleOfficer, domain.RoleTenantAdmin}
	readers = []domain.Role{domain.RoleOfficer, domain.RoleTenantAdmin, domain.RoleEvaluator, domain.RoleAuditor}
)

func staff(p domain.Principal, tenant uuid.UUID, roles []domain.Role) bool {
	return p.TenantID == tenant && p.Has(roles...)
}

func (s *Service) writer(ctx context.Context, tenant uuid.UUID) (domain.Principal, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return p, err
	}
	if !staff(p, tenant, writers) && !(p.TenantID == tenant && p.Has(domain.RoleSystem)) {
		return p, domain.ErrForbidden
	}
	return p, nil
}

// CreateDraft starts a call (officer or tenant admin).
func (s *Service) CreateDraft(ctx context.Context, tenant uuid.UUID, in Call) (*Call, error) {
	p, err := s.writer(ctx, tenant)
	if err != nil {
		return nil, err
	}
	var c *Call
	err = s.store.Atomic(ctx, tenant, func(tx Tx) (err error) {
		c, err = AddDraft(ctx, tx, p, tenant, in, s.now())
		return err
	})
	return c, err
}

// DraftTx is what creating a draft needs of a transaction.
type DraftTx interface {
	Calls() Repository
	Audit() audit.Log
}

// AddDraft validates a draft call of tenant and stores it with its audit
// record in tx: CreateDraft, and use cases of other contexts that create a
// call inside their own transaction (a replication), share it. The caller
// has checked that p may write calls of tenant.
func AddDraft(ctx context.Context, tx DraftTx, p domain.Principal, tenant uuid.UUID, in Call, now time.Time) (*Call, error) {
	c, err := NewDraft(tenant, in, p.Subject, now)
	if err != nil {
		return nil, err
	}
	if err := tx.Calls().Add(ctx, c); err != nil {
		return nil, err
	}
	return c, tx.Audit().Append(ctx, audit.New(tenant, p, c.CreatedAt, "call.created", "call", c.ID, map[string]any{"title": c.Title}))
}

// change loads a call, applies fn under the If-Match check, saves it with
// its audit record and refreshes the public projection, all in one transaction.
func (s *Service) change(ctx context.Context, tenant, id uuid.UUID, ifVersion int, action string, fn func(c *Call, now time.Time) (map[string]any, error)) (*Call, error) {
	p, err := s.writer(ctx, tenant)
	if err != nil {
		return nil, err
	}
	var out *Call
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		c, err := tx.Calls().Get(ctx, id)
		if err != nil {
			return err
		}
		if ifVersion != 0 && ifVersion != c.Version {
			return domain.ErrStale
		}
		now := s.now()
		prev := c.Status
		summary, err := fn(c, now)
		if err != nil {
			return err
		}
		c.Version++
		if err := tx.Calls().Update(ctx, c); err != nil {
			return err
		}
		if summary == nil {
			summary = map[string]any{}
		}
		if prev != c.Status {
			summary["status"] = map[string]any{"from": prev, "to": c.Status}
		}
		if err := tx.Audit().Append(ctx, audit.New(tenant, p, now, "call."+action, "call", c.ID, summary)); err != nil {
			return err
		}
		if kind, ok := noticeOf[action]; ok {
			if err := notifyApplicants(ctx, tx, c, kind, summary, now); err != nil {
				return err
			}
		}
		if deadlineMoved(action) {
			if err := tx.Publish(ctx, DeadlineSet{TenantID: tenant, CallID: c.ID, At: c.SubmissionDeadline}); err != nil {
				return err
			}
		}
		if c.Public() {
			qs, err := tx.Questions().ForCall(ctx, c.ID)
			if err != nil {
				return err
			}
			if err := tx.Public().Put(ctx, c, publishedOnly(qs)); err != nil {
				return err
			}
		}
		out = c
		return nil
	})
	return out, err
}

// notifyApplicants writes the notices and hands their delivery to a job.
func notifyApplicants(ctx context.Context, tx Tx, c *Call, kind string, summary map[string]any, at time.Time) error {
	ids, err := tx.Notices().Applicants(ctx, c, kind, summary, at)
	if err != nil {
		return err
	}
	events := make([]domain.Event, 0, len(ids))
	for _, id := range ids {
		events = append(events, NoticeIssued{NoticeID: id})
	}
	if len(events) == 0 {
		return nil
	}
	return tx.Publish(ctx, events...)
}

// NotifyApplicants is notifyApplicants for other contexts (the committee's ranking).
func NotifyApplicants(ctx context.Context, tx Tx, c *Call, kind string, summary map[string]any, at time.Time) error {
	return notifyApplicants(ctx, tx, c, kind, summary, at)
}

// deadlineMoved tells which changes (re)schedule the closing job.
func deadlineMoved(action string) bool { return action == "published" || action == "amended" }

// noticeOf names the changes applicants are told about.
var noticeOf = map[string]string{"amended": "call.amended", "closed": "call.closed", "cancelled": "call.cancelled"}

func publishedOnly(qs []*Question) []*Question {
	var out []*Question
	for _, q := range qs {
		if q.Published {
			out = append(out, q)
		}
	}
	return out
}

// UpdateDraft replaces a draft's content.
func (s *Service) UpdateDraft(ctx context.Context, tenant, id uuid.UUID, in Call, ifVersion int) (*Call, error) {
	return s.change(ctx, tenant, id, ifVersion, "edited", func(c *Call, now time.Time) (map[string]any, error) {
		return nil, c.EditDraft(in, now)
	})
}

// Publish opens the call with its formal act.
func (s *Service) Publish(ctx context.Context, tenant, id uuid.UUID, act Act, ifVersion int) (*Call, error) {
	return s.change(ctx, tenant, id, ifVersion, "published", func(c *Call, now time.Time) (map[string]any, error) {
		return map[string]any{"act": act.Number}, c.Publish(act, now)
	})
}

// Amend changes a published call by a formal act.
func (s *Service) Amend(ctx context.Context, tenant, id uuid.UUID, in AmendInput, ifVersion int) (*Call, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	return s.change(ctx, tenant, id, ifVersion, "amended", func(c *Call, now time.Time) (map[string]any, error) {
		a, err := c.Amend(in, p.Subject, now)
		if err != nil {
			return nil, err
		}
		return map[string]any{"rulesVersion": a.RulesVersion, "reason": a.Reason, "act": a.Act.Number, "changes": a.Changes}, nil
	})
}

// Close ends submissions after the deadline (officer, or the system's job).
func (s *Service) Close(ctx context.Context, tenant, id uuid.UUID) (*Call, error) {
	return s.change(ctx, tenant, id, 0, "closed", func(c *Call, now time.Time) (map[string]any, error) { return nil, c.Close(now) })
}

// StartEvaluation opens the committee's work.
func (s *Service) StartEvaluation(ctx context.Context, tenant, id uuid.UUID, act Act, ifVersion int) (*Call, error) {
	return s.change(ctx, tenant, id, ifVersion, "evaluation_started", func(c *Call, now time.Time) (map[string]any, error) {
		return map[string]any{"act": act.Number}, c.StartEvaluation(act, now)
	})
}

// Cancel withdraws the call with a reason (and its act once published).
func (s *Service) Cancel(ctx context.Context, tenant, id uuid.UUID, reason string, act *Act, ifVersion int) (*Call, error) {
	return s.change(ctx, tenant, id, ifVersion, "cancelled", func(c *Call, now time.Time) (map[string]any, error) {
		return map[string]any{"reason": reason}, c.Cancel(reason, act, now)
	})
}

// Get returns a call: staff of its tenant see drafts too; anyone else sees
// it only once public.
func (s *Service) Get(ctx context.Context, tenant, id uuid.UUID) (*Call, error) {
	p, _ := domain.PrincipalFrom(ctx)
	var out *Call
	err := s.store.Atomic(ctx, tenant, func(tx Tx) (err error) {
		out, err = tx.Calls().Get(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !out.Public() && !staff(p, tenant, readers) {
		return nil, ErrNotFound // a draft does not exist for outsiders
	}
	return out, nil
}

// List returns a page of a tenant's calls to its staff.
func (s *Service) List(ctx context.Context, tenant uuid.UUID, f Filter) ([]*Call, uuid.UUID, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, uuid.Nil, err
	}
	if !staff(p, tenant, readers) {
		return nil, uuid.Nil, domain.ErrForbidden
	}
	f.Limit, err = domain.PageSize(f.Limit, 50, 500)
	if err != nil {
		return nil, uuid.Nil, err
	}
	want := f.Limit
	f.Limit++
	var out []*Call
	err = s.store.Atomic(ctx, tenant, func(tx Tx) (err error) {
		out, err = tx.Calls().List(ctx, f)
		return err
	})
	out, next := domain.CutPage(out, want, func(x *Call) uuid.UUID { return x.ID })
	return out, next, err
}

// Ask records a question of one of the caller's organisations.
func (s *Service) Ask(ctx context.Context, tenant, callID, org uuid.UUID, text string) (*Question, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	if len(p.Orgs[org]) == 0 {
		return nil, domain.ErrForbidden.WithMessage("you do not act for that organisation")
	}
	var out *Question
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		c, err := tx.Calls().Get(ctx, callID)
		if err != nil {
			return err
		}
		if !c.Public() {
			return ErrNotFound
		}
		q, err := c.Ask(org, p.Subject, text, s.now())
		if err != nil {
			return err
		}
		if err := tx.Questions().Add(ctx, q); err != nil {
			return err
		}
		out = q
		return tx.Audit().Append(ctx, audit.New(tenant, p, q.AskedAt, "question.asked", "question", q.ID, map[string]any{"call": callID, "organisation": org}))
	})
	return out, err
}

// Answer replies to a question (officer); publish adds it to the public FAQ.
func (s *Service) Answer(ctx context.Context, tenant, questionID uuid.UUID, answer string, publish bool) (*Question, error) {
	p, err := s.writer(ctx, tenant)
	if err != nil {
		return nil, err
	}
	var out *Question
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		q, err := tx.Questions().Get(ctx, questionID)
		if err != nil {
			return err
		}
		now := s.now()
		if err := q.Reply(answer, p.Subject, publish, now); err != nil {
			return err
		}
		if err := tx.Questions().Update(ctx, q); err != nil {
			return err
		}
		if err := tx.Audit().Append(ctx, audit.New(tenant, p, now, "question.answered", "question", q.ID, map[string]any{"published": q.Published})); err != nil {
			return err
		}
		c, err := tx.Calls().Get(ctx, q.CallID)
		if err != nil {
			return err
		}
		qs, err := tx.Questions().ForCall(ctx, c.ID)
		if err != nil {
			return err
		}
		out = q
		return tx.Public().Put(ctx, c, publishedOnly(qs))
	})
	return out, err
}

// Questions lists a call's questions: all to staff, to an organisation its
// own and the published ones, to anyone else the published ones.
func (s *Service) Questions(ctx context.Context, tenant, callID uuid.UUID) ([]*Question, error) {
	p, _ := domain.PrincipalFrom(ctx)
	var qs []*Question
	err := s.store.Atomic(ctx, tenant, func(tx Tx) error {
		c, err := tx.Calls().Get(ctx, callID)
		if err != nil {
			return err
		}
		if !c.Public() && !staff(p, tenant, readers) {
			return ErrNotFound
		}
		qs, err = tx.Questions().ForCall(ctx, callID)
		return err
	})
	if err != nil || staff(p, tenant, readers) {
		return qs, err
	}
	var out []*Question
	for _, q := range qs {
		if q.Published || len(p.Orgs[q.OrganisationID]) > 0 {
			out = append(out, q)
		}
	}
	return out, nil
}

// PublicReader serves the public projection across tenants.
type PublicReader interface {
	PublicCalls(ctx context.Context, f PublicFilter) ([]PublicCall, error)
	PublicCall(ctx context.Context, id uuid.UUID) (*PublicCall, error) // ErrNotFound
}

// Transparency serves published calls to anyone, without login.
type Transparency struct {
	r PublicReader
}

func NewTransparency(r PublicReader) *Transparency { return &Transparency{r: r} }

// List returns published calls, newest first.
func (t *Transparency) List(ctx context.Context, f PublicFilter) ([]PublicCall, uuid.UUID, error) {
	var err error
	f.Limit, err = domain.PageSize(f.Limit, 50, 200)
	if err != nil {
		return nil, uuid.Nil, err
	}
	if len(f.Text) > 200 {
		return nil, uuid.Nil, domain.Errorf(domain.KindInvalid, "invalid_text", "search text is at most 200 characters").WithField("q")
	}
	want := f.Limit
	f.Limit++
	out, err := t.r.PublicCalls(ctx, f)
	out, next := domain.CutPage(out, want, func(x PublicCall) uuid.UUID { return x.ID })
	return out, next, err
}

// Get returns one published call.
func (t *Transparency) Get(ctx context.Context, id uuid.UUID) (*PublicCall, error) {
	return t.r.PublicCall(ctx, id)
}

// NoticeReader reads an organisation's notices, newest first.
type NoticeReader interface {
	Notices(ctx context.Context, org, before uuid.UUID, limit int) ([]Notice, error)
}

// NoticeBoard shows an organisation what changed in the calls it applies to.
type NoticeBoard struct{ r NoticeReader }

func NewNoticeBoard(r NoticeReader) *NoticeBoard { return &NoticeBoard{r: r} }

// List returns a page of notices to the organisation's members (and the operator).
func (b *NoticeBoard) List(ctx context.Context, org, before uuid.UUID, limit int) ([]Notice, uuid.UUID, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, uuid.Nil, err
	}
	if !p.IsOperator() && len(p.Orgs[org]) == 0 {
		return nil, uuid.Nil, domain.ErrForbidden
	}
	limit, err = domain.PageSize(limit, 50, 200)
	if err != nil {
		return nil, uuid.Nil, err
	}
	out, err := b.r.Notices(ctx, org, before, limit+1)
	out, next := domain.CutPage(out, limit, func(x Notice) uuid.UUID { return x.ID })
	return out, next, err
}

// Ref names a call of a tenant.
type Ref struct {
	TenantID uuid.UUID
	CallID   uuid.UUID
}

// DeadlineReader finds published calls whose submission deadline has passed,
// across tenants (from the public projection, which only holds public facts).
type DeadlineReader interface {
	Overdue(ctx context.Context, at time.Time, limit int) ([]Ref, error)
}
