package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/audit"
	"github.com/coprod/coprod/domain/identity"
)

// Identity adapts the store to identity.Store; sealer encrypts client
// secrets and ID tokens at rest.
func (s *Store) Identity(sealer *Sealer) identity.Store { return identityStore{s, sealer} }

type identityStore struct {
	s      *Store
	sealer *Sealer
}

var _ identity.Store = identityStore{}

func (i identityStore) Atomic(ctx context.Context, tenant uuid.UUID, fn func(identity.Tx) error) error {
	return i.s.run(ctx, tenant, func(tx pgx.Tx) error { return fn(&identityTx{tx: tx, tenant: tenant, sealer: i.sealer}) })
}

// Known is one query, scoped, in one round trip (readScoped), and
// remembered until the user's grants change (access.go). The user's profile
// (email, name, last login) may then be up to accessTTL old: authentication
// uses the id and the grants only, and logins, which update the profile,
// do not make every process forget.
func (i identityStore) Known(ctx context.Context, scope uuid.UUID, iss, sub string) (*identity.User, identity.Grants, bool, error) {
	k, found, err := i.s.access.known(principalKey{scope, iss, sub}, func() (knownUser, bool, error) {
		var k knownUser
		found := false
		var orgs []orgRole
		b := &pgx.Batch{}
		b.Queue(`SELECT `+userColumns+`, `+grantsColumns("$3")+` FROM users WHERE issuer = $1 AND subject = $2`, iss, sub, nullUUID(scope)).
			QueryRow(func(row pgx.Row) error {
				u := &k.user
				err := row.Scan(&u.ID, &u.Issuer, &u.Subject, &u.Email, &u.Name, &u.Locale, &u.CreatedAt, &u.LastLoginAt,
					&k.grants.Operator, &orgs, &k.grants.TenantRoles)
				if errors.Is(err, pgx.ErrNoRows) {
					return nil
				}
				found = true
				return err
			})
		err := i.s.readScoped(ctx, scope, b)
		k.grants.Orgs = orgRoles(orgs)
		return k, found, err
	})
	if err != nil {
		return nil, identity.Grants{Orgs: map[uuid.UUID][]domain.Role{}}, false, err
	}
	return &k.user, k.grants, found, nil
}

// Grants is one query, scoped, in one round trip, remembered until the
// user's grants change (access.go).
func (i identityStore) Grants(ctx context.Context, scope, user uuid.UUID) (identity.Grants, error) {
	return i.s.access.grants(grantsKey{scope, user}, func() (identity.Grants, error) {
		var g identity.Grants
		b := &pgx.Batch{}
		b.Queue(grantsByID, user, nullUUID(scope)).QueryRow(func(row pgx.Row) (err error) {
			g, err = scanGrants(row)
			return err
		})
		return g, i.s.readScoped(ctx, scope, b)
	})
}

// Provider is one query, scoped, in one round trip, remembered (with its
// absence) until the tenant's settings change (access.go).
func (i identityStore) Provider(ctx context.Context, tenant uuid.UUID) (*identity.Provider, error) {
	if tenant == uuid.Nil {
		return nil, errNoTenant
	}
	return i.s.access.provider(tenant, func() (*identity.Provider, error) {
		var out *identity.Provider
		b := &pgx.Batch{}
		b.Queue(providerQuery, tenant).QueryRow(func(row pgx.Row) (err error) {
			out, err = scanProvider(row, tenant, i.sealer)
			if errors.Is(err, identity.ErrProviderNotConfigured) {
				return nil // remembered too: most tenants log in through the platform's
			}
			return err
		})
		if err := i.s.readScoped(ctx, tenant, b); err != nil {
			return nil, err
		}
		return out, nil
	})
}

// grantsColumns read a user's grants beside their row (users.id), with
// their roles in the tenant given by the parameter tenantParam (none when
// null).
func grantsColumns(tenantParam string) string {
	return `EXISTS (SELECT 1 FROM platform_operators WHERE user_id = users.id),
	COALESCE((SELECT json_agg(json_build_object('o', organisation_id, 'r', role)) FROM organisation_members WHERE user_id = users.id), '[]'),
	ARRAY(SELECT DISTINCT role FROM tenant_memberships WHERE tenant_id = ` + tenantParam + ` AND user_id = users.id ORDER BY role)`
}

// grantsByID reads the grants of the user $1 in the tenant $2.
var grantsByID = `SELECT ` + grantsColumns("$2") + ` FROM users WHERE id = $1`

func scanGrants(row pgx.Row) (identity.Grants, error) {
	var g identity.Grants
	var orgs []orgRole
	err := row.Scan(&g.Operator, &orgs, &g.TenantRoles)
	g.Orgs = orgRoles(orgs)
	return g, err
}

type orgRole struct {
	Org  uuid.UUID   `json:"o"`
	Role domain.Role `json:"r"`
}

// orgRoles groups grantsColumns' organisation roles by organisation.
func orgRoles(rs []orgRole) map[uuid.UUID][]domain.Role {
	out := make(map[uuid.UUID][]domain.Role, len(rs))
	for _, r := range rs {
		out[r.Org] = append(out[r.Org], r.Role)
	}
	return out
}

type identityTx struct {
	tx     pgx.Tx
	tenant uuid.UUID
	sealer *Sealer
}

var errNoTenant = errors.New("postgres: tenant-scoped repository used in a platform transaction")

func (t *identityTx) Users() identity.Users { return userRepo{t} }

// Grants is one query: authentication pays it at every request.
func (t *identityTx) Grants(ctx context.Context, user uuid.UUID) (identity.Grants, error) {
	return scanGrants(t.tx.QueryRow(ctx, grantsByID, user, nullUUID(t.tenant)))
}
func (t *identityTx) Sessions() identity.Sessions           { return sessionRepo{t} }
func (t *identityTx) LoginAttempts() identity.LoginAttempts { return loginRepo{t} }
func (t *identityTx) Operators() identity.Operators         { return operatorRepo{t} }
func (t *identityTx) Providers() identity.Providers         { return providerRepo{t} }
func (t *identityTx) Memberships() identity.Memberships     { return membershipRepo{t} }
func (t *identityTx) Invitations() identity.Invitations     { return invitationRepo{t} }
func (t *identityTx) Audit() audit.Log                      { return &auditLog{tx: t.tx, tenant: t.tenant} }

type userRepo struct{ t *identityTx }

const userColumns = `id, issuer, subject, email, name, locale, created_at, COALESCE(last_login_at, created_at)`

func scanUser(row pgx.Row) (*identity.User, error) {
	var u identity.User
	if err := row.Scan(&u.ID, &u.Issuer, &u.Subject, &u.Email, &u.Name, &u.Locale, &u.CreatedAt, &u.LastLoginAt); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, identity.ErrUserNotFound
		}
		return nil, err
	}
	return &u, nil
}

func (r userRepo) Get(ctx context.Context, id uuid.UUID) (*identity.User, error) {
	return scanUser(r.t.tx.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
}

func (r userRepo) ByIssuerSubject(ctx context.Context, iss, sub string) (*identity.User, error) {
	return scanUser(r.t.tx.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE issuer = $1 AND subject = $2`, iss, sub))
}

func (r userRepo) Add(ctx context.Context, u *identity.User) error {
	var last *time.Time
	if !u.LastLoginAt.IsZero() {
		last = &u.LastLoginAt
	}
	// Two first requests of the same new user may race: keep the first row.
	tag, err := r.t.tx.Exec(ctx, `INSERT INTO users (id, issuer, subject, email, name, created_at, last_login_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (issuer, subject) DO NOTHING`,
		u.ID, u.Issuer, u.Subject, u.Email, u.Name, u.CreatedAt, last)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		got, err := r.ByIssuerSubject(ctx, u.Issuer, u.Subject)
		if err != nil {
			return err
		}
		*u = *got
	}
	return nil
}

func (r userRepo) Update(ctx context.Context, u *identity.User) error {
	_, err := r.t.tx.Exec(ctx, `UPDATE users SET email = $2, name = $3, last_login_at = $4, locale = $5 WHERE id = $1`, u.ID, u.Email, u.Name, u.LastLoginAt, u.Locale)
	return err
}

func (r userRepo) OrgRoles(ctx context.Context, user uuid.UUID) (map[uuid.UUID][]domain.Role, error) {
	rows, err := r.t.tx.Query(ctx, `SELECT organisation_id, role FROM organisation_members WHERE user_id = $1`, user)
	if err != nil {
		return nil, err
	}
	out := map[uuid.UUID][]domain.Role{}
	var org uuid.UUID
	var role domain.Role
	_, err = pgx.ForEachRow(rows, []any{&org, &role}, func() error { out[org] = append(out[org], role); return nil })
	return out, err
}

func (r userRepo) Tenants(ctx context.Context, user uuid.UUID) ([]uuid.UUID, error) {
	rows, err := r.t.tx.Query(ctx, `SELECT tenant_id FROM user_tenants WHERE user_id = $1 ORDER BY tenant_id`, user)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
}

type sessionRepo struct{ t *identityTx }

func realmOf(id uuid.UUID) *uuid.UUID { return nullUUID(id) }

func (r sessionRepo) Add(ctx context.Context, s *identity.Session) error {
	var sealed []byte
	if s.IDToken != "" {
		var err error
		if sealed, err = r.t.sealer.Seal([]byte(s.IDToken), s.IDHash[:]); err != nil {
			return err
		}
	}
	_, err := r.t.tx.Exec(ctx, `INSERT INTO sessions (id_hash, user_id, realm_tenant_id, created_at, last_seen_at, expires_at, id_token_sealed)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, s.IDHash[:], s.UserID, realmOf(s.Realm), s.CreatedAt, s.LastSeenAt, s.ExpiresAt, sealed)
	return err
}

func (r sessionRepo) Get(ctx context.Context, hash [32]byte) (*identity.Session, error) {
	s := identity.Session{IDHash: hash}
	var realm *uuid.UUID
	var sealed []byte
	err := r.t.tx.QueryRow(ctx, `SELECT user_id, realm_tenant_id, created_at, last_seen_at, expires_at, id_token_sealed FROM sessions WHERE id_hash = $1`, hash[:]).
		Scan(&s.UserID, &realm, &s.CreatedAt, &s.LastSeenAt, &s.ExpiresAt, &sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, identity.ErrSessionInvalid
	}
	if err != nil {
		return nil, err
	}
	if realm != nil {
		s.Realm = *realm
	}
	if len(sealed) > 0 {
		if tok, err := r.t.sealer.Open(sealed, hash[:]); err == nil {
			s.IDToken = string(tok)
		}
	}
	return &s, nil
}

func (r sessionRepo) Touch(ctx context.Context, hash [32]byte, at time.Time) error {
	_, err := r.t.tx.Exec(ctx, `UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1`, hash[:], at)
	return err
}

func (r sessionRepo) Delete(ctx context.Context, hash [32]byte) error {
	_, err := r.t.tx.Exec(ctx, `DELETE FROM sessions WHERE id_hash = $1`, hash[:])
	return err
}

type loginRepo struct{ t *identityTx }

func (r loginRepo) Add(ctx context.Context, a *identity.LoginAttempt) error {
	// Expired attempts are cleared as new ones arrive, bounded per call.
	if _, err := r.t.tx.Exec(ctx, `DELETE FROM login_attempts WHERE state_hash IN
		(SELECT state_hash FROM login_attempts WHERE expires_at < $1 LIMIT 100)`, a.CreatedAt); err != nil {
		return err
	}
	_, err := r.t.tx.Exec(ctx, `INSERT INTO login_attempts (state_hash, realm_tenant_id, browser_hash, nonce, pkce_verifier, return_to, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, a.StateHash[:], realmOf(a.Realm), a.BrowserHash[:], a.Nonce, a.Verifier, a.ReturnTo, a.CreatedAt, a.ExpiresAt)
	return err
}

func (r loginRepo) Take(ctx context.Context, h [32]byte) (*identity.LoginAttempt, error) {
	a := identity.LoginAttempt{StateHash: h}
	var realm *uuid.UUID
	var browser []byte
	err := r.t.tx.QueryRow(ctx, `DELETE FROM login_attempts WHERE state_hash = $1
		RETURNING realm_tenant_id, browser_hash, nonce, pkce_verifier, return_to, created_at, expires_at`, h[:]).
		Scan(&realm, &browser, &a.Nonce, &a.Verifier, &a.ReturnTo, &a.CreatedAt, &a.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, identity.ErrLoginInvalid
	}
	if err != nil {
		return nil, err
	}
	if realm != nil {
		a.Realm = *realm
	}
	copy(a.BrowserHash[:], browser)
	return &a, nil
}

type operatorRepo struct{ t *identityTx }

func (r operatorRepo) Is(ctx context.Context, user uuid.UUID) (bool, error) {
	var ok bool
	err := r.t.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM platform_operators WHERE user_id = $1)`, user).Scan(&ok)
	return ok, err
}

func (r operatorRepo) Add(ctx context.Context, user uuid.UUID, by string, at time.Time) error {
	changedAccess(r.t.tx, userChanged(user))
	_, err := r.t.tx.Exec(ctx, `INSERT INTO platform_operators (user_id, granted_by, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, user, by, at)
	return err
}

func (r operatorRepo) Remove(ctx context.Context, user uuid.UUID) error {
	changedAccess(r.t.tx, userChanged(user))
	_, err := r.t.tx.Exec(ctx, `DELETE FROM platform_operators WHERE user_id = $1`, user)
	return err
}

type providerRepo struct{ t *identityTx }

func (r providerRepo) Get(ctx context.Context) (*identity.Provider, error) {
	if r.t.tenant == uuid.Nil {
		return nil, errNoTenant
	}
	return scanProvider(r.t.tx.QueryRow(ctx, providerQuery, r.t.tenant), r.t.tenant, r.t.sealer)
}

const providerQuery = `SELECT issuer, client_id, client_secret_sealed, scopes, audience, email_claim, name_claim, groups_claim,
		group_roles, allowed_email_domains, updated_at, version
	FROM identity_providers WHERE tenant_id = $1`

func scanProvider(row pgx.Row, tenant uuid.UUID, sealer *Sealer) (*identity.Provider, error) {
	p := identity.Provider{TenantID: tenant}
	var sealed, roles []byte
	err := row.Scan(&p.Issuer, &p.ClientID, &sealed, &p.Scopes, &p.Audience, &p.Claims.EmailClaim, &p.Claims.NameClaim, &p.Claims.GroupsClaim,
		&roles, &p.AllowedEmailDomains, &p.UpdatedAt, &p.Version)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, identity.ErrProviderNotConfigured
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(roles, &p.Claims.GroupRoles); err != nil {
		return nil, err
	}
	secret, err := sealer.Open(sealed, tenant[:])
	if err != nil {
		return nil, err
	}
	p.ClientSecret = string(secret)
	return &p, nil
}

func (r providerRepo) Save(ctx context.Context, p *identity.Provider) error {
	if r.t.tenant == uuid.Nil || p.TenantID != r.t.tenant {
		return errNoTenant
	}
	changedAccess(r.t.tx, tenantChanged(r.t.tenant))
	sealed, err := r.t.sealer.Seal([]byte(p.ClientSecret), r.t.tenant[:])
	if err != nil {
		return err
	}
	roles := p.Claims.GroupRoles
	if roles == nil {
		roles = map[string][]domain.Role{}
	}
	domains := p.AllowedEmailDomains
	if domains == nil {
		domains = []string{}
	}
	tag, err := r.t.tx.Exec(ctx, `INSERT INTO identity_providers AS ip (tenant_id, issuer, client_id, client_secret_sealed, scopes, audience,
			email_claim, name_claim, groups_claim, group_roles, allowed_email_domains, updated_at, version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
		ON CONFLICT (tenant_id) DO UPDATE SET issuer = EXCLUDED.issuer, client_id = EXCLUDED.client_id,
			client_secret_sealed = EXCLUDED.client_secret_sealed, scopes = EXCLUDED.scopes, audience = EXCLUDED.audience,
			email_claim = EXCLUDED.email_claim, name_claim = EXCLUDED.name_claim, groups_claim = EXCLUDED.groups_claim,
			group_roles = EXCLUDED.group_roles, allowed_email_domains = EXCLUDED.allowed_email_domains,
			updated_at = EXCLUDED.updated_at, version = EXCLUDED.version
		WHERE ip.version = EXCLUDED.version - 1`,
		r.t.tenant, p.Issuer, p.ClientID, sealed, p.Scopes, p.Audience, p.Claims.EmailClaim, p.Claims.NameClaim, p.Claims.GroupsClaim,
		roles, domains, p.UpdatedAt, p.Version)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return domain.ErrStale
	}
	return nil
}

type membershipRepo struct{ t *identityTx }

func (r membershipRepo) ForUser(ctx context.Context, user uuid.UUID) ([]identity.Membership, error) {
	if r.t.tenant == uuid.Nil {
		return nil, errNoTenant
	}
	rows, err := r.t.tx.Query(ctx, `SELECT tenant_id, user_id, role, source, created_at FROM tenant_memberships
		WHERE tenant_id = $1 AND user_id = $2 ORDER BY role, source`, r.t.tenant, user)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (identity.Membership, error) {
		var m identity.Membership
		err := row.Scan(&m.TenantID, &m.UserID, &m.Role, &m.Source, &m.CreatedAt)
		return m, err
	})
}

func (r membershipRepo) ReplaceFromClaims(ctx context.Context, user uuid.UUID, ms []identity.Membership) error {
	if r.t.tenant == uuid.Nil {
		return errNoTenant
	}
	changedAccess(r.t.tx, userChanged(user))
	if _, err := r.t.tx.Exec(ctx, `DELETE FROM tenant_memberships WHERE tenant_id = $1 AND user_id = $2 AND source = 'claims'`, r.t.tenant, user); err != nil {
		return err
	}
	for _, m := range ms {
		if err := r.Add(ctx, m); err != nil {
			return err
		}
	}
	// Keep the index of the user's tenants in step: no role left, no entry.
	_, err := r.t.tx.Exec(ctx, `DELETE FROM user_tenants WHERE user_id = $2 AND tenant_id = $1
		AND NOT EXISTS (SELECT 1 FROM tenant_memberships WHERE tenant_id = $1 AND user_id = $2)`, r.t.tenant, user)
	return err
}

func (r membershipRepo) Add(ctx context.Context, m identity.Membership) error {
	if r.t.tenant == uuid.Nil {
		return errNoTenant
	}
	changedAccess(r.t.tx, userChanged(m.UserID))
	_, err := r.t.tx.Exec(ctx, `INSERT INTO tenant_memberships (tenant_id, user_id, role, source, created_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT DO NOTHING`, r.t.tenant, m.UserID, m.Role, m.Source, m.CreatedAt)
	if err != nil {
		return err
	}
	_, err = r.t.tx.Exec(ctx, `INSERT INTO user_tenants (user_id, tenant_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, m.UserID, r.t.tenant)
	return err
}

type invitationRepo struct{ t *identityTx }

func (r invitationRepo) Add(ctx context.Context, inv *identity.Invitation) error {
	if r.t.tenant == uuid.Nil {
		return errNoTenant
	}
	_, err := r.t.tx.Exec(ctx, `INSERT INTO invitations (tenant_id, id, email, role, invited_by, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, r.t.tenant, inv.ID, inv.Email, inv.Role, inv.InvitedBy, inv.CreatedAt, inv.ExpiresAt)
	return translate(err)
}

func (r invitationRepo) Pending(ctx context.Context, email string, now time.Time) ([]identity.Invitation, error) {
	if r.t.tenant == uuid.Nil {
		return nil, errNoTenant
	}
	rows, err := r.t.tx.Query(ctx, `SELECT tenant_id, id, email, role, invited_by, created_at, expires_at FROM invitations
		WHERE tenant_id = $1 AND email = $2 AND accepted_at IS NULL AND expires_at > $3 ORDER BY id FOR UPDATE`, r.t.tenant, email, now)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (identity.Invitation, error) {
		var i identity.Invitation
		err := row.Scan(&i.TenantID, &i.ID, &i.Email, &i.Role, &i.InvitedBy, &i.CreatedAt, &i.ExpiresAt)
		return i, err
	})
}

func (r invitationRepo) Accept(ctx context.Context, inv *identity.Invitation) error {
	_, err := r.t.tx.Exec(ctx, `UPDATE invitations SET accepted_by = $3, accepted_at = $4 WHERE tenant_id = $1 AND id = $2 AND accepted_at IS NULL`,
		r.t.tenant, inv.ID, inv.AcceptedBy, inv.AcceptedAt)
	return err
}
