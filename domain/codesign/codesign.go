// Package codesign models the co-design table (tavolo di co-progettazione)
// of a ranked call: convened with the admitted applicants, it meets in
// sessions (attendees, minutes, decisions), drafts the project in numbered
// versions (each with its content hash and author), and ends when the
// municipality approves one version by a formal act.
package codesign

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/audit"
	"github.com/coprod/coprod/domain/call"
	"github.com/coprod/coprod/domain/committee"
)

// Table is the co-design table of a call.
type Table struct {
	TenantID        uuid.UUID
	ID              uuid.UUID
	CallID          uuid.UUID
	Participants    []uuid.UUID // the admitted organisations
	Status          string      // open, approved
	ConvenedAt      time.Time
	ApprovedVersion uuid.UUID
	ApprovalAct     call.Act
	Version         int
}

// Attendee of a session: an organisation's representative or the
// municipality's; only a name and a role, no other personal data.
type Attendee struct {
	OrganisationID uuid.UUID // zero for the municipality
	Name           string
	Role           string
}

// Session of the table.
type Session struct {
	TenantID  uuid.UUID
	ID        uuid.UUID
	TableID   uuid.UUID
	Date      time.Time
	Attendees []Attendee
	Minutes   string
	Decisions []string
	By        string
}

// ProjectVersion is one draft of the co-designed project.
type ProjectVersion struct {
	TenantID    uuid.UUID
	ID          uuid.UUID
	TableID     uuid.UUID
	Number      int
	Content     string
	ContentHash string // SHA-256 of Content
	Author      string
	CreatedAt   time.Time
}

var (
	ErrNotFound        = domain.Errorf(domain.KindNotFound, "table_not_found", "this call has no co-design table")
	ErrVersionNotFound = domain.Errorf(domain.KindNotFound, "project_version_not_found", "no such project version")
	ErrNotRanked       = domain.Errorf(domain.KindPrecondition, "call_not_ranked", "the co-design table is convened after the ranking is published")
	ErrNoneAdmitted    = domain.Errorf(domain.KindPrecondition, "no_admitted_applications", "no application was admitted to co-design")
	ErrAlreadyConvened = domain.Errorf(domain.KindConflict, "table_already_convened", "this call's table is already convened")
	ErrClosed          = domain.Errorf(domain.KindPrecondition, "table_approved", "the project is approved: the table is closed")
	ErrInvalid         = domain.Errorf(domain.KindInvalid, "invalid_codesign", "the input is not valid")
)

// Store runs co-design use cases in one tenant-scoped transaction each.
type Store interface {
	Atomic(ctx context.Context, tenant uuid.UUID, fn func(Tx) error) error
}

// Tx is one transaction.
type Tx interface {
	Calls() call.Repository
	Rankings() committee.Rankings
	Tables() Repository
	Audit() audit.Log
}

// Repository keeps tables, sessions and versions.
type Repository interface {
	Add(ctx context.Context, t *Table) error
	Update(ctx context.Context, t *Table) error // version check
	ForCall(ctx context.Context, call uuid.UUID) (*Table, error)
	AddSession(ctx context.Context, s *Session) error
	Sessions(ctx context.Context, table uuid.UUID) ([]*Session, error)
	AddVersion(ctx context.Context, v *ProjectVersion) error
	Versions(ctx context.Context, table uuid.UUID) ([]*ProjectVersion, error)
}

// Service holds the co-design use cases.
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

func officer(p domain.Principal, tenant uuid.UUID) bool {
	return p.TenantID == tenant && p.Has(domain.RoleOfficer, domain.RoleTenantAdmin)
}

func participant(p domain.Principal, t *Table) bool {
	return slices.ContainsFunc(t.Participants, func(o uuid.UUID) bool { return len(p.Orgs[o]) > 0 })
}

// Convene opens the table of a ranked call with its admitted applicants (officer).
func (s *Service) Convene(ctx context.Context, tenant, callID uuid.UUID) (*Table, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	if !officer(p, tenant) {
		return nil, domain.ErrForbidden
	}
	var out *Table
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		c, err := tx.Calls().Get(ctx, callID)
		if err != nil {
			return err
		}
		if c.Status != call.StatusRanked && c.Status != call.StatusConcluded {
			return ErrNotRanked
		}
		if _, err := tx.Tables().ForCall(ctx, callID); err == nil {
			return ErrAlreadyConvened
		}
		entries, err := tx.Rankings().Get(ctx, callID)
		if err != nil {
			return err
		}
		var orgs []uuid.UUID
		for _, e := range entries {
			if e.Admitted && !slices.Contains(orgs, e.Lead) {
				orgs = append(orgs, e.Lead)
			}
		}
		if len(orgs) == 0 {
			return ErrNoneAdmitted
		}
		t := &Table{TenantID: tenant, ID: domain.NewID(), CallID: callID, Participants: orgs, Status: "open", ConvenedAt: s.now(), Version: 1}
		if err := tx.Tables().Add(ctx, t); err != nil {
			return err
		}
		out = t
		return tx.Audit().Append(ctx, audit.New(tenant, p, t.ConvenedAt, "codesign.convened", "call", callID, map[string]any{"participants": orgs}))
	})
	return out, err
}

// Get returns a call's table to staff and participants.
func (s *Service) Get(ctx context.Context, tenant, callID uuid.UUID) (*Table, []*Session, []*ProjectVersion, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	var t *Table
	var ss []*Session
	var vs []*ProjectVersion
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		if t, err = tx.Tables().ForCall(ctx, callID); err != nil {
			return err
		}
		staff := p.TenantID == tenant && p.Has(domain.RoleOfficer, domain.RoleTenantAdmin, domain.RoleAuditor)
		if !staff && !participant(p, t) {
			return ErrNotFound
		}
		if ss, err = tx.Tables().Sessions(ctx, t.ID); err != nil {
			return err
		}
		vs, err = tx.Tables().Versions(ctx, t.ID)
		return err
	})
	return t, ss, vs, err
}

// RecordSession records a session with its attendees, minutes and decisions (officer).
func (s *Service) RecordSession(ctx context.Context, tenant, callID uuid.UUID, in Session) (*Session, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	if !officer(p, tenant) {
		return nil, domain.ErrForbidden
	}
	in.Minutes = strings.TrimSpace(in.Minutes)
	if in.Date.IsZero() || in.Minutes == "" || utf8.RuneCountInString(in.Minutes) > 100_000 || len(in.Attendees) == 0 || len(in.Attendees) > 200 || len(in.Decisions) > 100 {
		return nil, ErrInvalid.WithMessage("a session has a date, attendees (1-200), minutes and at most 100 decisions").WithField("minutes")
	}
	for _, a := range in.Attendees {
		if strings.TrimSpace(a.Name) == "" || utf8.RuneCountInString(a.Name) > 200 || utf8.RuneCountInString(a.Role) > 200 {
			return nil, ErrInvalid.WithMessage("an attendee has a name and a role").WithField("attendees")
		}
	}
	var out *Session
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		t, err := tx.Tables().ForCall(ctx, callID)
		if err != nil {
			return err
		}
		if t.Status != "open" {
			return ErrClosed
		}
		for _, a := range in.Attendees {
			if a.OrganisationID != uuid.Nil && !slices.Contains(t.Participants, a.OrganisationID) {
				return ErrInvalid.WithMessage("attendee of an organisation that is not at the table").WithField("attendees")
			}
		}
		in.TenantID, in.ID, in.TableID, in.By = tenant, domain.NewID(), t.ID, p.Subject
		if err := tx.Tables().AddSession(ctx, &in); err != nil {
			return err
		}
		out = &in
		return tx.Audit().Append(ctx, audit.New(tenant, p, s.now(), "codesign.session_recorded", "call", callID, map[string]any{"session": in.ID, "date": in.Date}))
	})
	return out, err
}

// AddVersion adds a version of the project (officer or a participant).
func (s *Service) AddVersion(ctx context.Context, tenant, callID uuid.UUID, content string) (*ProjectVersion, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(content) == "" || utf8.RuneCountInString(content) > 500_000 {
		return nil, ErrInvalid.WithMessage("a project version has 1-500,000 characters").WithField("content")
	}
	var out *ProjectVersion
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		t, err := tx.Tables().ForCall(ctx, callID)
		if err != nil {
			return err
		}
		if !officer(p, tenant) && !participant(p, t) {
			if p.TenantID == tenant && p.Has(domain.RoleAuditor) {
				return domain.ErrForbidden
			}
			return ErrNotFound
		}
		if t.Status != "open" {
			return ErrClosed
		}
		vs, err := tx.Tables().Versions(ctx, t.ID)
		if err != nil {
			return err
		}
		sum := sha256.Sum256([]byte(content))
		v := &ProjectVersion{TenantID: tenant, ID: domain.NewID(), TableID: t.ID, Number: len(vs) + 1, Content: content,
			ContentHash: hex.EncodeToString(sum[:]), Author: p.Subject, CreatedAt: s.now()}
		if err := tx.Tables().AddVersion(ctx, v); err != nil {
			return err
		}
		out = v
		return tx.Audit().Append(ctx, audit.New(tenant, p, v.CreatedAt, "codesign.version_added", "call", callID, map[string]any{"number": v.Number, "sha256": v.ContentHash}))
	})
	return out, err
}

// Approve approves one version as the final project by a formal act (officer).
func (s *Service) Approve(ctx context.Context, tenant, callID, versionID uuid.UUID, act call.Act, ifVersion int) (*Table, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	if !officer(p, tenant) {
		return nil, domain.ErrForbidden
	}
	if act.Kind != "decision" {
		return nil, call.ErrActRequired.WithMessage("approving the project needs its act (kind \"decision\")").WithField("act")
	}
	if err := call.ValidateAct(act); err != nil {
		return nil, err
	}
	var out *Table
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		t, err := tx.Tables().ForCall(ctx, callID)
		if err != nil {
			return err
		}
		if t.Status != "open" {
			return ErrClosed
		}
		if ifVersion != 0 && ifVersion != t.Version {
			return domain.ErrStale
		}
		vs, err := tx.Tables().Versions(ctx, t.ID)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(vs, func(v *ProjectVersion) bool { return v.ID == versionID })
		if i < 0 {
			return ErrVersionNotFound
		}
		t.Status, t.ApprovedVersion, t.ApprovalAct = "approved", versionID, act
		t.Version++
		if err := tx.Tables().Update(ctx, t); err != nil {
			return err
		}
		out = t
		return tx.Audit().Append(ctx, audit.New(tenant, p, s.now(), "codesign.approved", "call", callID,
			map[string]any{"version": vs[i].Number, "sha256": vs[i].ContentHash, "act": act.Number}))
	})
	return out, err
}
