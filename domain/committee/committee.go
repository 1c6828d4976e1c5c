// Package committee runs the evaluation of a call's applications: the
// committee (commissione), each member's conflict-of-interest declaration
// per application, their scores, and the ranking (graduatoria) the officer
// publishes with its formal act, which admits the applications above the
// pass threshold to the co-design table. The arithmetic lives in
// domain/evaluation; this package enforces who may do what, when.
package committee

import (
	"context"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/application"
	"github.com/coprod/coprod/domain/audit"
	"github.com/coprod/coprod/domain/call"
	"github.com/coprod/coprod/domain/evaluation"
)

// Member of a call's committee.
type Member struct {
	CallID uuid.UUID
	UserID uuid.UUID
	Role   string      // chair, member, secretary (the secretary does not score)
	Orgs   []uuid.UUID // organisations the member belongs to (declared at appointment)
	At     time.Time
}

// Recused is the declaration recorded when a member belongs to one of the
// application's organisations: they may neither read nor score it.
const Recused evaluation.Declaration = "recused"

// Sheet is a member's declaration and scores for one application.
type Sheet struct {
	ApplicationID uuid.UUID
	evaluation.Sheet
	DeclaredAt  time.Time
	SubmittedAt time.Time // zero while scores are a draft
	Version     int
}

// Entry of a ranking, with what it is based on.
type Entry struct {
	evaluation.Entry
	Lead         uuid.UUID
	PerCriterion map[string]int64
}

var (
	ErrNotMember        = domain.Errorf(domain.KindForbidden, "not_committee_member", "you are not on this call's committee")
	ErrNotEvaluating    = domain.Errorf(domain.KindPrecondition, "call_not_evaluating", "the call is not in its evaluation phase")
	ErrRecused          = domain.Errorf(domain.KindForbidden, "recused", "you belong to one of the application's organisations: you are recused from it")
	ErrNoDeclaration    = domain.Errorf(domain.KindPrecondition, "declaration_required", "declare first that you have no conflict of interest for this application")
	ErrAbstained        = domain.Errorf(domain.KindPrecondition, "abstained", "you abstained on this application")
	ErrAlreadyDeclared  = domain.Errorf(domain.KindConflict, "already_declared", "you already declared for this application; a declaration is not changed")
	ErrNotAssessable    = domain.Errorf(domain.KindPrecondition, "application_not_admissible", "only submitted, admissible applications are evaluated")
	ErrInvalidRole      = domain.Errorf(domain.KindInvalid, "invalid_committee_role", "a committee role is chair, member or secretary")
	ErrRankingPublished = domain.Errorf(domain.KindConflict, "ranking_already_published", "the call's ranking is already published; it is published once")
)

// Store runs committee use cases in one tenant-scoped transaction each.
type Store interface {
	Atomic(ctx context.Context, tenant uuid.UUID, fn func(Tx) error) error
}

// Tx is one transaction.
type Tx interface {
	Calls() call.Repository
	Applications() application.Repository
	Questions() call.QuestionRepository
	Public() call.PublicProjection
	Notices() call.Notices
	Publish(ctx context.Context, events ...domain.Event) error
	Members() Members
	Sheets() Sheets
	Rankings() Rankings
	Audit() audit.Log
}

// Members of committees.
type Members interface {
	Put(ctx context.Context, m Member) error
	Get(ctx context.Context, call, user uuid.UUID) (*Member, error) // ErrNotMember
	List(ctx context.Context, call uuid.UUID) ([]Member, error)
	// UserOrgs are the organisations the user acts for on the platform.
	UserOrgs(ctx context.Context, user uuid.UUID) ([]uuid.UUID, error)
}

// Sheets of evaluation.
type Sheets interface {
	Get(ctx context.Context, app, evaluator uuid.UUID) (*Sheet, error) // nil, nil when absent
	Put(ctx context.Context, s *Sheet) error                           // insert or update with version check
	ForApplication(ctx context.Context, app uuid.UUID) ([]Sheet, error)
}

// Rankings stored once published.
type Rankings interface {
	Put(ctx context.Context, call uuid.UUID, entries []Entry) error
	Get(ctx context.Context, call uuid.UUID) ([]Entry, error)
}

// Service holds the committee use cases.
type Service struct {
	store Store
	now   domain.Clock
	// Quorum of non-abstaining evaluators needed per application.
	Quorum int
}

func NewService(store Store, now domain.Clock) *Service {
	if now == nil {
		now = domain.SystemClock
	}
	return &Service{store: store, now: now, Quorum: 1}
}

func officer(ctx context.Context, tenant uuid.UUID) (domain.Principal, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return p, err
	}
	if p.TenantID != tenant || !p.Has(domain.RoleOfficer, domain.RoleTenantAdmin) {
		return p, domain.ErrForbidden
	}
	return p, nil
}

// Appoint puts a user on a call's committee (officer).
func (s *Service) Appoint(ctx context.Context, tenant, callID, user uuid.UUID, role string, orgs []uuid.UUID) (*Member, error) {
	p, err := officer(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if !slices.Contains([]string{"chair", "member", "secretary"}, role) {
		return nil, ErrInvalidRole.WithField("role")
	}
	m := &Member{CallID: callID, UserID: user, Role: role, Orgs: orgs, At: s.now()}
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		c, err := tx.Calls().Get(ctx, callID)
		if err != nil {
			return err
		}
		if c.Status == call.StatusDraft || c.Status == call.StatusRanked || c.Status == call.StatusConcluded || c.Status == call.StatusCancelled {
			return call.ErrTransition.WithMessage("a committee is appointed between publication and ranking; this call is %s", c.Status)
		}
		if err := tx.Members().Put(ctx, *m); err != nil {
			return err
		}
		return tx.Audit().Append(ctx, audit.New(tenant, p, m.At, "committee.appointed", "call", callID, map[string]any{"user": user, "role": role}))
	})
	return m, err
}

// Declare records, for one application, the member's declaration. A member
// who belongs to one of its organisations is recused whatever they declare.
func (s *Service) Declare(ctx context.Context, tenant, appID uuid.UUID, d evaluation.Declaration) (evaluation.Declaration, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return "", err
	}
	if !d.Valid() {
		return "", domain.Errorf(domain.KindInvalid, "invalid_declaration", "declare no_conflict or abstain").WithField("declaration")
	}
	var out evaluation.Declaration
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		a, c, m, err := s.load(ctx, tx, p, tenant, appID)
		if err != nil {
			return err
		}
		prev, err := tx.Sheets().Get(ctx, appID, p.UserID)
		if err != nil {
			return err
		}
		if prev != nil {
			return ErrAlreadyDeclared
		}
		userOrgs, err := tx.Members().UserOrgs(ctx, p.UserID)
		if err != nil {
			return err
		}
		out = d
		if evaluation.Recused(append(slices.Clone(m.Orgs), userOrgs...), a.Organisations()) {
			out = Recused
		}
		now := s.now()
		sh := &Sheet{ApplicationID: appID, Sheet: evaluation.Sheet{Evaluator: p.UserID, Declaration: out}, DeclaredAt: now, Version: 1}
		if err := tx.Sheets().Put(ctx, sh); err != nil {
			return err
		}
		_ = c
		return tx.Audit().Append(ctx, audit.New(tenant, p, now, "evaluation.declared", "application", appID, map[string]any{"declaration": out}))
	})
	if err == nil && out == Recused {
		return out, ErrRecused
	}
	return out, err
}

// load checks the caller sits on the committee of the application's call,
// which is evaluating, and that the application is evaluable.
func (s *Service) load(ctx context.Context, tx Tx, p domain.Principal, tenant, appID uuid.UUID) (*application.Application, *call.Call, *Member, error) {
	if p.TenantID != tenant || p.UserID == uuid.Nil {
		return nil, nil, nil, ErrNotMember
	}
	a, err := tx.Applications().Get(ctx, appID)
	if err != nil {
		return nil, nil, nil, err
	}
	m, err := tx.Members().Get(ctx, a.CallID, p.UserID)
	if err != nil {
		return nil, nil, nil, err
	}
	c, err := tx.Calls().Get(ctx, a.CallID)
	if err != nil {
		return nil, nil, nil, err
	}
	if c.Status != call.StatusEvaluating {
		return nil, nil, nil, ErrNotEvaluating
	}
	if a.Status != application.StatusSubmitted || a.Admissibility.Status != "admissible" {
		return nil, nil, nil, ErrNotAssessable
	}
	return a, c, m, nil
}

// Score saves the member's scores for an application; submit makes them final.
func (s *Service) Score(ctx context.Context, tenant, appID uuid.UUID, scores []evaluation.Score, submit bool) (*Sheet, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	var out *Sheet
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		_, c, m, err := s.load(ctx, tx, p, tenant, appID)
		if err != nil {
			return err
		}
		if m.Role == "secretary" {
			return domain.ErrForbidden.WithMessage("the committee's secretary does not score")
		}
		sh, err := tx.Sheets().Get(ctx, appID, p.UserID)
		if err != nil {
			return err
		}
		switch {
		case sh == nil:
			return ErrNoDeclaration
		case sh.Declaration == Recused:
			return ErrRecused
		case sh.Declaration == evaluation.Abstain:
			return ErrAbstained
		case !sh.SubmittedAt.IsZero():
			return domain.Errorf(domain.KindPrecondition, "sheet_submitted", "your scores for this application are final")
		}
		sh.Scores = scores
		if submit {
			if err := evaluation.ValidateSheet(c.Criteria, sh.Sheet); err != nil {
				return err
			}
			sh.SubmittedAt = s.now()
		}
		sh.Version++
		if err := tx.Sheets().Put(ctx, sh); err != nil {
			return err
		}
		out = sh
		action := "evaluation.scored"
		if submit {
			action = "evaluation.submitted"
		}
		return tx.Audit().Append(ctx, audit.New(tenant, p, s.now(), action, "application", appID, nil))
	})
	return out, err
}

// Ranking computes the ranking from the submitted sheets of the admissible
// applications; publish (officer, with the ranking's act) stores it, marks
// the call ranked and makes the ranking public, once: publishing a ranked
// call again is ErrRankingPublished, and changes nothing.
func (s *Service) Ranking(ctx context.Context, tenant, callID uuid.UUID, publish bool, act *call.Act, ifVersion int) ([]Entry, error) {
	p, err := officer(ctx, tenant)
	if err != nil {
		return nil, err
	}
	var out []Entry
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		c, err := tx.Calls().Get(ctx, callID)
		if err != nil {
			return err
		}
		if c.Status == call.StatusRanked || c.Status == call.StatusConcluded {
			if publish {
				// Published once, by its act: a second publication would
				// notify the applicants and record the act again.
				return ErrRankingPublished
			}
			out, err = tx.Rankings().Get(ctx, callID)
			return err
		}
		if c.Status != call.StatusEvaluating {
			return ErrNotEvaluating
		}
		if ifVersion != 0 && ifVersion != c.Version {
			return domain.ErrStale
		}
		entries, err := s.compute(ctx, tx, c)
		if err != nil {
			return err
		}
		out = entries
		if !publish {
			return nil
		}
		if act == nil {
			return call.ErrActRequired.WithMessage("publishing the ranking needs its act (kind \"ranking\")").WithField("act")
		}
		now := s.now()
		if err := c.MarkRanked(*act, now); err != nil {
			return err
		}
		c.Version++
		if err := tx.Calls().Update(ctx, c); err != nil {
			return err
		}
		if err := tx.Rankings().Put(ctx, callID, entries); err != nil {
			return err
		}
		qs, err := tx.Questions().ForCall(ctx, callID)
		if err != nil {
			return err
		}
		var faq []*call.Question
		for _, q := range qs {
			if q.Published {
				faq = append(faq, q)
			}
		}
		if err := tx.Public().Put(ctx, c, faq); err != nil {
			return err
		}
		if err := call.NotifyApplicants(ctx, committeeCallTx{tx}, c, "call.ranked", map[string]any{"act": act.Number}, now); err != nil {
			return err
		}
		admitted := 0
		for _, e := range entries {
			if e.Admitted {
				admitted++
			}
		}
		return tx.Audit().Append(ctx, audit.New(tenant, p, now, "call.ranked", "call", callID,
			map[string]any{"act": act.Number, "entries": len(entries), "admitted": admitted}))
	})
	return out, err
}

func (s *Service) compute(ctx context.Context, tx Tx, c *call.Call) ([]Entry, error) {
	var cands []evaluation.Candidate
	leads := map[uuid.UUID]uuid.UUID{}
	after := uuid.Nil
	for {
		page, err := tx.Applications().List(ctx, application.Filter{Call: c.ID, After: after, Limit: 500})
		if err != nil {
			return nil, err
		}
		for _, a := range page {
			if a.Status != application.StatusSubmitted || a.Admissibility.Status != "admissible" {
				continue // inadmissible, withdrawn and pending applications are not ranked
			}
			sheets, err := tx.Sheets().ForApplication(ctx, a.ID)
			if err != nil {
				return nil, err
			}
			var final []evaluation.Sheet
			for _, sh := range sheets {
				switch {
				case sh.Declaration == Recused:
					final = append(final, evaluation.Sheet{Evaluator: sh.Evaluator, Declaration: evaluation.Abstain})
				case sh.Declaration == evaluation.Abstain || !sh.SubmittedAt.IsZero():
					final = append(final, sh.Sheet)
				}
			}
			res, err := evaluation.Consolidate(c.Criteria, final, s.Quorum)
			if err != nil {
				return nil, domain.Errorf(domain.KindPrecondition, "evaluation_incomplete", "application %s: %v", a.ID, err)
			}
			cands = append(cands, evaluation.Candidate{Application: a.ID, SubmittedAt: a.Receipt.SubmittedAt, Result: res})
			leads[a.ID] = a.Lead
		}
		if len(page) < 500 {
			break
		}
		after = page[len(page)-1].ID
	}
	per := map[uuid.UUID]map[string]int64{}
	for _, cd := range cands {
		per[cd.Application] = cd.Result.PerCriterion
	}
	var out []Entry
	for _, e := range evaluation.Rank(c.Criteria, cands, c.PassThresholdBP) {
		out = append(out, Entry{Entry: e, Lead: leads[e.Application], PerCriterion: per[e.Application]})
	}
	return out, nil
}

// committeeCallTx lets call.NotifyApplicants run in a committee
// transaction, which has everything a call transaction has.
type committeeCallTx struct{ Tx }
