package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/organisation"
)

// Organisations adapts the store to organisation.Store (platform-level).
func (s *Store) Organisations() organisation.Store { return orgStore{s} }

type orgStore struct{ s *Store }

func (o orgStore) Atomic(ctx context.Context, fn func(organisation.Tx) error) error {
	return o.s.run(ctx, uuid.Nil, func(tx pgx.Tx) error { return fn(orgTx{tx}) })
}

type orgTx struct{ tx pgx.Tx }

func (t orgTx) Organisations() organisation.Repository { return orgRepo(t) }

type orgRepo struct{ tx pgx.Tx }

const orgColumns = `id, fiscal_code, legal_name, legal_form, COALESCE(runts_number, ''), COALESCE(runts_section, ''), runts_registered_on,
	runts_status, COALESCE(seat_istat_code, ''), email, pec, phone, website, created_at, updated_at, version`

func scanOrg(row pgx.Row) (*organisation.Organisation, error) {
	var o organisation.Organisation
	var reg *time.Time
	err := row.Scan(&o.ID, &o.FiscalCode, &o.LegalName, &o.LegalForm, &o.RUNTS.Number, &o.RUNTS.Section, &reg, &o.RUNTS.Status,
		&o.SeatISTAT, &o.Contacts.Email, &o.Contacts.PEC, &o.Contacts.Phone, &o.Contacts.Website, &o.CreatedAt, &o.UpdatedAt, &o.Version)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, organisation.ErrNotFound
	}
	if reg != nil {
		o.RUNTS.RegisteredOn = *reg
	}
	return &o, err
}

func dateOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (r orgRepo) Add(ctx context.Context, o *organisation.Organisation) error {
	_, err := r.tx.Exec(ctx, `INSERT INTO organisations (id, fiscal_code, legal_name, legal_form, runts_number, runts_section, runts_registered_on,
			runts_status, seat_istat_code, email, pec, phone, website, created_at, updated_at, version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		o.ID, o.FiscalCode, o.LegalName, o.LegalForm, nullString(o.RUNTS.Number), nullString(o.RUNTS.Section), dateOrNil(o.RUNTS.RegisteredOn),
		o.RUNTS.Status, nullString(o.SeatISTAT), o.Contacts.Email, o.Contacts.PEC, o.Contacts.Phone, o.Contacts.Website, o.CreatedAt, o.UpdatedAt, o.Version)
	return translate(err)
}

func (r orgRepo) Update(ctx context.Context, o *organisation.Organisation) error {
	tag, err := r.tx.Exec(ctx, `UPDATE organisations SET legal_name = $2, legal_form = $3, runts_number = $4, runts_section = $5,
			runts_registered_on = $6, runts_status = $7, seat_istat_code = $8, email = $9, pec = $10, phone = $11, website = $12,
			updated_at = $13, version = $14
		WHERE id = $1 AND version = $14 - 1`,
		o.ID, o.LegalName, o.LegalForm, nullString(o.RUNTS.Number), nullString(o.RUNTS.Section), dateOrNil(o.RUNTS.RegisteredOn),
		o.RUNTS.Status, nullString(o.SeatISTAT), o.Contacts.Email, o.Contacts.PEC, o.Contacts.Phone, o.Contacts.Website, o.UpdatedAt, o.Version)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return domain.ErrStale
	}
	return nil
}

func (r orgRepo) Get(ctx context.Context, id uuid.UUID) (*organisation.Organisation, error) {
	return scanOrg(r.tx.QueryRow(ctx, `SELECT `+orgColumns+` FROM organisations WHERE id = $1`, id))
}

func (r orgRepo) List(ctx context.Context, f organisation.Filter) ([]*organisation.Organisation, error) {
	rows, err := r.tx.Query(ctx, `SELECT `+orgColumns+` FROM organisations
		WHERE ($1 = '' OR fiscal_code = $1 OR lower(legal_name) LIKE '%' || lower($1) || '%')
		  AND ($2::uuid IS NULL OR id > $2)
		ORDER BY id LIMIT $3`, escapeLike(f.Query), nullUUID(f.After), f.Limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*organisation.Organisation, error) { return scanOrg(row) })
}

// escapeLike keeps % and _ typed by a user literal in a LIKE pattern.
func escapeLike(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if r == '%' || r == '_' || r == '\\' {
			out = append(out, '\\')
		}
		out = append(out, r)
	}
	return string(out)
}

func (r orgRepo) Members(ctx context.Context, org uuid.UUID) ([]organisation.Member, error) {
	rows, err := r.tx.Query(ctx, `SELECT organisation_id, user_id, role, created_at FROM organisation_members WHERE organisation_id = $1 ORDER BY created_at, user_id`, org)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (organisation.Member, error) {
		var m organisation.Member
		err := row.Scan(&m.OrganisationID, &m.UserID, &m.Role, &m.CreatedAt)
		return m, err
	})
}

func (r orgRepo) PutMember(ctx context.Context, m organisation.Member) error {
	changedAccess(r.tx, userChanged(m.UserID))
	_, err := r.tx.Exec(ctx, `INSERT INTO organisation_members (organisation_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (organisation_id, user_id) DO UPDATE SET role = EXCLUDED.role`, m.OrganisationID, m.UserID, m.Role, m.CreatedAt)
	return translate(err)
}

func (r orgRepo) RemoveMember(ctx context.Context, org, user uuid.UUID) error {
	changedAccess(r.tx, userChanged(user))
	tag, err := r.tx.Exec(ctx, `DELETE FROM organisation_members WHERE organisation_id = $1 AND user_id = $2`, org, user)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return organisation.ErrMemberNotFound
	}
	return nil
}

// UserByEmail: the address must name exactly one user; ambiguity (the same
// address at two providers) is refused rather than guessed.
func (r orgRepo) UserByEmail(ctx context.Context, email string) (uuid.UUID, error) {
	rows, err := r.tx.Query(ctx, `SELECT id FROM users WHERE lower(email) = $1 ORDER BY last_login_at DESC NULLS LAST LIMIT 2`, email)
	if err != nil {
		return uuid.Nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return uuid.Nil, err
	}
	switch len(ids) {
	case 0:
		return uuid.Nil, organisation.ErrMemberNotFound
	case 1:
		return ids[0], nil
	}
	return uuid.Nil, domain.Errorf(domain.KindConflict, "email_ambiguous", "several users have this e-mail address")
}
