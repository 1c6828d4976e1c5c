package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/audit"
)

var (
	ErrUserNotFound    = domain.Errorf(domain.KindNotFound, "user_not_found", "no such user")
	ErrSessionInvalid  = domain.Errorf(domain.KindUnauthenticated, "session_invalid", "the session is unknown or has expired; log in again")
	ErrLoginInvalid    = domain.Errorf(domain.KindUnauthenticated, "login_invalid", "this login is unknown, expired, already used or was started by another browser; start again")
	ErrWrongRealm      = domain.Errorf(domain.KindUnauthenticated, "wrong_realm", "these credentials belong to another tenant")
	ErrEmailNotAllowed = domain.Errorf(domain.KindForbidden, "email_domain_not_allowed", "this tenant does not accept logins from that e-mail address")
	ErrInvalidReturnTo = domain.Errorf(domain.KindInvalid, "invalid_return_to", "return_to must be a path on this service")
	ErrInvalidEmail    = domain.Errorf(domain.KindInvalid, "invalid_email", "not an e-mail address")
	ErrInvalidRole     = domain.Errorf(domain.KindInvalid, "invalid_role", "not a role that can be held in a tenant")
)

// Config of the identity use cases.
type Config struct {
	IdleTimeout       time.Duration // a session unused this long ends (default 30 min)
	AbsoluteTimeout   time.Duration // a session ends this long after login whatever happens (default 12 h)
	LoginTimeout      time.Duration // a login must complete within this (default 10 min)
	InvitationTTL     time.Duration // default 14 days
	AllowLoopbackHTTP bool          // coprod dev and tests: http issuers on loopback
	// Platform is the provider of organisation members, regional analysts
	// and operators; nil when none is configured.
	Platform *Provider
}

// Service holds the identity use cases.
type Service struct {
	store Store
	disc  Discoverer
	now   domain.Clock
	cfg   Config
}

func NewService(store Store, disc Discoverer, now domain.Clock, cfg Config) *Service {
	if now == nil {
		now = domain.SystemClock
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = 30 * time.Minute
	}
	if cfg.AbsoluteTimeout == 0 {
		cfg.AbsoluteTimeout = 12 * time.Hour
	}
	if cfg.LoginTimeout == 0 {
		cfg.LoginTimeout = 10 * time.Minute
	}
	if cfg.InvitationTTL == 0 {
		cfg.InvitationTTL = 14 * 24 * time.Hour
	}
	return &Service{store: store, disc: disc, now: now, cfg: cfg}
}

// Hash is how secrets handed to browsers (session ids, states, binding
// cookies) are stored: SHA-256, so a database leak reveals no usable value.
func Hash(s string) [32]byte { return sha256.Sum256([]byte(s)) }

// random returns n random bytes, base64url: 32 bytes = 256 bits.
func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// NewSecret returns a fresh 256-bit random token (session ids, binding cookies).
func NewSecret() string { return random(32) }

func adminOf(p domain.Principal, tenant uuid.UUID) bool {
	return p.IsOperator() || (p.TenantID == tenant && p.Has(domain.RoleTenantAdmin))
}

// SaveProvider sets a tenant's identity provider, after checking that the
// issuer's discovery document names exactly that issuer. ifVersion, when not
// zero, must be the stored version. An empty secret keeps the stored one.
func (s *Service) SaveProvider(ctx context.Context, tenant uuid.UUID, in Provider, ifVersion int) (*Provider, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	if !adminOf(p, tenant) {
		return nil, domain.ErrForbidden
	}
	var out *Provider
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		cur, err := tx.Providers().Get(ctx)
		if err != nil && !errors.Is(err, ErrProviderNotConfigured) {
			return err
		}
		in.TenantID, in.Version = tenant, 1
		if cur != nil {
			if ifVersion != 0 && ifVersion != cur.Version {
				return domain.ErrStale
			}
			in.Version = cur.Version + 1
			if in.ClientSecret == "" {
				in.ClientSecret = cur.ClientSecret
			}
		}
		if err := in.Normalize(s.cfg.AllowLoopbackHTTP); err != nil {
			return err
		}
		got, err := s.disc.Discover(ctx, in.Issuer)
		if err != nil {
			return ErrDiscoveryFailed.WithMessage("the discovery document of %s could not be fetched: %v", in.Issuer, err).WithField("issuer")
		}
		if got != in.Issuer {
			return ErrIssuerMismatch.WithMessage("the discovery document names issuer %q, not %q", got, in.Issuer).WithField("issuer")
		}
		in.UpdatedAt = s.now()
		if err := tx.Providers().Save(ctx, &in); err != nil {
			return err
		}
		out = &in
		summary := map[string]any{"issuer": in.Issuer, "clientId": in.ClientID, "audience": in.Audience, "scopes": in.Scopes,
			"allowedEmailDomains": in.AllowedEmailDomains}
		return tx.Audit().Append(ctx, audit.New(tenant, p, in.UpdatedAt, "identity_provider.saved", "identity_provider", tenant, summary))
	})
	return out, err
}

// GetProvider returns a tenant's provider to its admins and the operator.
func (s *Service) GetProvider(ctx context.Context, tenant uuid.UUID) (*Provider, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	if !adminOf(p, tenant) {
		return nil, domain.ErrForbidden
	}
	var out *Provider
	err = s.store.Atomic(ctx, tenant, func(tx Tx) (err error) { // fresh, not the remembered one
		out, err = tx.Providers().Get(ctx)
		return err
	})
	return out, err
}

// ProviderFor returns the provider of a realm (zero: the platform's), for
// authentication itself, which runs before any principal exists.
func (s *Service) ProviderFor(ctx context.Context, realm uuid.UUID) (*Provider, error) {
	if realm == uuid.Nil {
		if s.cfg.Platform == nil {
			return nil, ErrProviderNotConfigured.WithMessage("no platform identity provider is configured")
		}
		return s.cfg.Platform, nil
	}
	// Bearer requests pay this every time: the store may remember it until
	// the settings change (adapters/postgres, ADR 0022).
	return s.store.Provider(ctx, realm)
}

// Started is what the browser needs to go to the provider.
type Started struct {
	State, Nonce, Verifier string
}

// BeginLogin records a login attempt bound to the browser (binding is the
// value of a cookie the browser will send back) and returns fresh state,
// nonce and PKCE verifier.
func (s *Service) BeginLogin(ctx context.Context, realm uuid.UUID, returnTo, binding string) (Started, error) {
	returnTo, err := CleanReturnTo(returnTo)
	if err != nil {
		return Started{}, err
	}
	st := Started{State: random(32), Nonce: random(32), Verifier: random(48)}
	now := s.now()
	a := &LoginAttempt{StateHash: Hash(st.State), Realm: realm, BrowserHash: Hash(binding), Nonce: st.Nonce,
		Verifier: st.Verifier, ReturnTo: returnTo, CreatedAt: now, ExpiresAt: now.Add(s.cfg.LoginTimeout)}
	err = s.store.Atomic(ctx, uuid.Nil, func(tx Tx) error { return tx.LoginAttempts().Add(ctx, a) })
	return st, err
}

// CleanReturnTo admits only a path on this service ("/…", not "//…"), so
// the login cannot be turned into an open redirect.
func CleanReturnTo(s string) (string, error) {
	if s == "" {
		return "/", nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(s, "/") ||
		strings.HasPrefix(s, "//") || strings.HasPrefix(s, "/\\") || strings.ContainsAny(s, "\r\n\t\\") || len(s) > 2000 {
		return "", ErrInvalidReturnTo.WithField("query.return_to")
	}
	return s, nil
}

// TakeLogin consumes the attempt named by state: it must exist, be unexpired,
// belong to realm and have been started by this browser. Consumed either way:
// a state works once.
func (s *Service) TakeLogin(ctx context.Context, realm uuid.UUID, state, binding string) (*LoginAttempt, error) {
	if state == "" || binding == "" {
		return nil, ErrLoginInvalid
	}
	var a *LoginAttempt
	err := s.store.Atomic(ctx, uuid.Nil, func(tx Tx) (err error) {
		a, err = tx.LoginAttempts().Take(ctx, Hash(state))
		return err
	})
	if err != nil {
		return nil, err
	}
	if a.Realm != realm || a.BrowserHash != Hash(binding) || !s.now().Before(a.ExpiresAt) {
		return nil, ErrLoginInvalid
	}
	return a, nil
}

// CompleteLogin turns a verified identity into a session: the user is
// created or updated, claim roles are re-synced, pending invitations for a
// verified e-mail are accepted, and a new session id is issued (never a
// reused one). It returns the raw session id for the cookie.
func (s *Service) CompleteLogin(ctx context.Context, realm uuid.UUID, prov *Provider, id Identity, idToken string) (string, *Session, error) {
	if !prov.EmailAllowed(id) {
		return "", nil, ErrEmailNotAllowed
	}
	raw := NewSecret()
	now := s.now()
	sess := &Session{IDHash: Hash(raw), Realm: realm, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.cfg.AbsoluteTimeout), IDToken: idToken}
	err := s.store.Atomic(ctx, realm, func(tx Tx) error {
		u, err := s.upsertUser(ctx, tx, id, now)
		if err != nil {
			return err
		}
		sess.UserID = u.ID
		if realm == uuid.Nil && prov.mapsOperator() {
			if slices.Contains(prov.Claims.Roles(id.Groups), domain.RolePlatformOperator) {
				if err := tx.Operators().Add(ctx, u.ID, "claims", now); err != nil {
					return err
				}
			} else if err := tx.Operators().Remove(ctx, u.ID); err != nil {
				return err
			}
		}
		if realm != uuid.Nil {
			var ms []Membership
			for _, r := range prov.Claims.Roles(id.Groups) {
				ms = append(ms, Membership{TenantID: realm, UserID: u.ID, Role: r, Source: "claims", CreatedAt: now})
			}
			if err := tx.Memberships().ReplaceFromClaims(ctx, u.ID, ms); err != nil {
				return err
			}
			if id.EmailVerified && id.Email != "" {
				invs, err := tx.Invitations().Pending(ctx, strings.ToLower(id.Email), now)
				if err != nil {
					return err
				}
				for _, inv := range invs {
					inv.AcceptedBy, inv.AcceptedAt = u.ID, now
					if err := tx.Invitations().Accept(ctx, &inv); err != nil {
						return err
					}
					if err := tx.Memberships().Add(ctx, Membership{TenantID: realm, UserID: u.ID, Role: inv.Role, Source: "invitation", CreatedAt: now}); err != nil {
						return err
					}
				}
			}
			actor := domain.Principal{Subject: u.ID.String()}
			if err := tx.Audit().Append(ctx, audit.New(realm, actor, now, "user.logged_in", "user", u.ID, nil)); err != nil {
				return err
			}
		}
		return tx.Sessions().Add(ctx, sess)
	})
	if err != nil {
		return "", nil, err
	}
	return raw, sess, nil
}

func (s *Service) upsertUser(ctx context.Context, tx Tx, id Identity, now time.Time) (*User, error) {
	u, err := tx.Users().ByIssuerSubject(ctx, id.Issuer, id.Subject)
	if errors.Is(err, ErrUserNotFound) {
		u = &User{ID: domain.NewID(), Issuer: id.Issuer, Subject: id.Subject, Email: id.Email, Name: id.Name, CreatedAt: now, LastLoginAt: now}
		return u, tx.Users().Add(ctx, u)
	}
	if err != nil {
		return nil, err
	}
	u.Email, u.Name, u.LastLoginAt = id.Email, id.Name, now
	return u, tx.Users().Update(ctx, u)
}

// SessionPrincipal authenticates a browser session for a request to tenant
// (zero: a platform route). A session from a tenant's provider serves only
// that tenant's routes and the platform's (/v1/me); a platform session
// serves any tenant where its user holds a membership.
func (s *Service) SessionPrincipal(ctx context.Context, raw string, tenant uuid.UUID) (domain.Principal, error) {
	if raw == "" {
		return domain.Principal{}, ErrSessionInvalid
	}
	h := Hash(raw)
	now := s.now()
	var sess *Session
	if err := s.store.Atomic(ctx, uuid.Nil, func(tx Tx) (err error) {
		if sess, err = tx.Sessions().Get(ctx, h); err != nil {
			return err
		}
		if !now.Before(sess.ExpiresAt) || !now.Before(sess.LastSeenAt.Add(s.cfg.IdleTimeout)) {
			_ = tx.Sessions().Delete(ctx, h)
			return errExpired
		}
		// Touch at most once a minute: a write per request would be waste.
		if now.Sub(sess.LastSeenAt) > time.Minute {
			return tx.Sessions().Touch(ctx, h, now)
		}
		return nil
	}); err != nil {
		if errors.Is(err, errExpired) {
			return domain.Principal{}, ErrSessionInvalid
		}
		return domain.Principal{}, err
	}
	scope, err := scopeOf(sess.Realm, tenant)
	if err != nil {
		return domain.Principal{}, err
	}
	g, err := s.store.Grants(ctx, scope, sess.UserID)
	if err != nil {
		return domain.Principal{}, err
	}
	return build(sess.UserID, sess.Realm, scope, g, nil), nil
}

var errExpired = errors.New("session expired")

// BearerPrincipal turns a verified token of realm's provider into the
// principal of a request to tenant. The user is created on first sight;
// roles are the stored memberships plus what the token's groups map to.
func (s *Service) BearerPrincipal(ctx context.Context, realm, tenant uuid.UUID, prov *Provider, id Identity) (domain.Principal, error) {
	if realm != uuid.Nil && realm != tenant {
		return domain.Principal{}, ErrWrongRealm
	}
	if !prov.EmailAllowed(id) {
		return domain.Principal{}, ErrEmailNotAllowed
	}
	claimRoles := prov.Claims.Roles(id.Groups)
	if realm == uuid.Nil { // the platform's provider grants the operator role only
		claimRoles = slices.DeleteFunc(claimRoles, func(r domain.Role) bool { return r != domain.RolePlatformOperator })
	}
	// Bearer clients pay this at every request: a known user and their
	// roles are one read-only round trip; a new user is created, and their
	// roles read, in one transaction.
	scope, err := scopeOf(realm, tenant)
	if err != nil {
		return domain.Principal{}, err
	}
	u, g, ok, err := s.store.Known(ctx, scope, id.Issuer, id.Subject)
	if err != nil {
		return domain.Principal{}, err
	}
	if ok {
		return build(u.ID, realm, scope, g, claimRoles), nil
	}
	// Seen for the first time: created, and their grants read, in one
	// transaction.
	var user uuid.UUID
	err = s.store.Atomic(ctx, scope, func(tx Tx) error {
		u, err := s.ensureUser(ctx, tx, id, s.now())
		if err != nil {
			return err
		}
		user = u.ID
		g, err = tx.Grants(ctx, user)
		return err
	})
	if err != nil {
		return domain.Principal{}, err
	}
	return build(user, realm, scope, g, claimRoles), nil
}

// scopeOf is the scope of a request to tenant (zero: a platform route) by
// a caller of realm's provider: a tenant's provider signs in to that tenant
// only.
func scopeOf(realm, tenant uuid.UUID) (uuid.UUID, error) {
	if realm != uuid.Nil && tenant != uuid.Nil && realm != tenant {
		return uuid.Nil, ErrWrongRealm
	}
	if tenant == uuid.Nil {
		return realm, nil
	}
	return tenant, nil
}

// build is the principal of user in scope with its grants: organisation
// roles and the operator role only through the platform's provider (realm
// zero), where organisation members log in; extra roles from the token's
// claims.
func build(user, realm, scope uuid.UUID, g Grants, extra []domain.Role) domain.Principal {
	p := domain.Principal{Subject: user.String(), TenantID: scope, UserID: user}
	if realm == uuid.Nil {
		if g.Operator {
			p.Roles = append(p.Roles, domain.RolePlatformOperator)
		}
		p.Orgs = g.Orgs
	}
	for _, r := range append(g.TenantRoles, extra...) {
		if !slices.Contains(p.Roles, r) {
			p.Roles = append(p.Roles, r)
		}
	}
	slices.Sort(p.Roles)
	return p
}

// Logout ends a session server-side and returns its ID token, for the
// provider's end-session endpoint. An unknown session is not an error.
func (s *Service) Logout(ctx context.Context, raw string) (*Session, error) {
	if raw == "" {
		return nil, nil
	}
	var sess *Session
	err := s.store.Atomic(ctx, uuid.Nil, func(tx Tx) error {
		got, err := tx.Sessions().Get(ctx, Hash(raw))
		if errors.Is(err, ErrSessionInvalid) {
			return nil
		}
		if err != nil {
			return err
		}
		sess = got
		return tx.Sessions().Delete(ctx, Hash(raw))
	})
	return sess, err
}

// Invite lets a tenant admin (or the operator) grant role to whoever first
// logs in to the tenant with a verified e-mail address.
func (s *Service) Invite(ctx context.Context, tenant uuid.UUID, email string, role domain.Role) (*Invitation, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	if !adminOf(p, tenant) {
		return nil, domain.ErrForbidden
	}
	email = strings.ToLower(strings.TrimSpace(email))
	if at := strings.LastIndex(email, "@"); at < 1 || at == len(email)-1 || len(email) > 254 || strings.ContainsAny(email, " \t\r\n<>") {
		return nil, ErrInvalidEmail.WithField("email")
	}
	if !ValidTenantRole(role) {
		return nil, ErrInvalidRole.WithField("role")
	}
	now := s.now()
	inv := &Invitation{TenantID: tenant, ID: domain.NewID(), Email: email, Role: role, InvitedBy: p.Subject, CreatedAt: now, ExpiresAt: now.Add(s.cfg.InvitationTTL)}
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		if err := tx.Invitations().Add(ctx, inv); err != nil {
			return err
		}
		// The address is personal data: the trail keeps its hash only.
		h := Hash(email)
		return tx.Audit().Append(ctx, audit.New(tenant, p, now, "invitation.created", "invitation", inv.ID,
			map[string]any{"role": role, "emailSha256": base64.RawURLEncoding.EncodeToString(h[:])}))
	})
	return inv, err
}

func (p *Provider) mapsOperator() bool {
	for _, roles := range p.Claims.GroupRoles {
		if slices.Contains(roles, domain.RolePlatformOperator) {
			return true
		}
	}
	return false
}

// Grant gives a role in tenant to the user (issuer, subject), creating the
// user record if they have never logged in. Operator only: it is how
// platform users (regional analysts) get roles in a region.
func (s *Service) Grant(ctx context.Context, tenant uuid.UUID, issuer, subject string, role domain.Role) error {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return err
	}
	if !p.IsOperator() {
		return domain.ErrForbidden
	}
	if !ValidTenantRole(role) {
		return ErrInvalidRole.WithField("role")
	}
	now := s.now()
	return s.store.Atomic(ctx, tenant, func(tx Tx) error {
		u, err := s.ensureUser(ctx, tx, Identity{Issuer: issuer, Subject: subject}, now)
		if err != nil {
			return err
		}
		if err := tx.Memberships().Add(ctx, Membership{TenantID: tenant, UserID: u.ID, Role: role, Source: "operator", CreatedAt: now}); err != nil {
			return err
		}
		return tx.Audit().Append(ctx, audit.New(tenant, p, now, "membership.granted", "user", u.ID, map[string]any{"role": role}))
	})
}

// Provision records a user before their first login (operator only), so
// that roles can be given to them ahead of time.
func (s *Service) Provision(ctx context.Context, id Identity) (*User, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	if !p.IsOperator() {
		return nil, domain.ErrForbidden
	}
	var u *User
	err = s.store.Atomic(ctx, uuid.Nil, func(tx Tx) (err error) {
		u, err = s.ensureUser(ctx, tx, id, s.now())
		return err
	})
	return u, err
}

// GrantOperator makes the user (issuer, subject) a platform operator.
func (s *Service) GrantOperator(ctx context.Context, issuer, subject string) error {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return err
	}
	if !p.IsOperator() {
		return domain.ErrForbidden
	}
	now := s.now()
	return s.store.Atomic(ctx, uuid.Nil, func(tx Tx) error {
		u, err := s.ensureUser(ctx, tx, Identity{Issuer: issuer, Subject: subject}, now)
		if err != nil {
			return err
		}
		return tx.Operators().Add(ctx, u.ID, p.Subject, now)
	})
}

func (s *Service) ensureUser(ctx context.Context, tx Tx, id Identity, now time.Time) (*User, error) {
	u, err := tx.Users().ByIssuerSubject(ctx, id.Issuer, id.Subject)
	if errors.Is(err, ErrUserNotFound) {
		u = &User{ID: domain.NewID(), Issuer: id.Issuer, Subject: id.Subject, Email: id.Email, Name: id.Name, CreatedAt: now}
		return u, tx.Users().Add(ctx, u)
	}
	return u, err
}

// Me describes the caller.
type Me struct {
	User        *User
	TenantID    uuid.UUID
	Roles       []domain.Role
	Memberships []Membership // in TenantID
	Orgs        map[uuid.UUID][]domain.Role
	Tenants     []uuid.UUID // every tenant where the user holds a role
}

// ErrInvalidLocale: the languages of messages are it and en.
var ErrInvalidLocale = domain.Errorf(domain.KindInvalid, "invalid_locale", "the language is it, en, or empty for the municipality's default").WithField("locale")

// SetLocale sets the caller's language for e-mails. It is the person's own
// preference, kept on the platform-level user (no tenant's audit trail).
func (s *Service) SetLocale(ctx context.Context, locale string) (*User, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	if locale != "" && locale != "it" && locale != "en" {
		return nil, ErrInvalidLocale
	}
	if p.UserID == uuid.Nil {
		return nil, domain.Errorf(domain.KindForbidden, "no_user", "this caller has no user record to keep preferences on")
	}
	var out *User
	err = s.store.Atomic(ctx, uuid.Nil, func(tx Tx) error {
		u, err := tx.Users().Get(ctx, p.UserID)
		if err != nil {
			return err
		}
		u.Locale = locale
		out = u
		return tx.Users().Update(ctx, u)
	})
	return out, err
}

// WhoAmI returns the caller's identity and roles.
func (s *Service) WhoAmI(ctx context.Context) (*Me, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	me := &Me{TenantID: p.TenantID, Roles: p.Roles, Orgs: p.Orgs}
	if p.UserID == uuid.Nil { // the bootstrap operator has no user
		me.User = &User{Subject: p.Subject}
		return me, nil
	}
	err = s.store.Atomic(ctx, p.TenantID, func(tx Tx) error {
		u, err := tx.Users().Get(ctx, p.UserID)
		if err != nil {
			return err
		}
		me.User = u
		if me.Tenants, err = tx.Users().Tenants(ctx, p.UserID); err != nil {
			return err
		}
		if p.TenantID != uuid.Nil {
			me.Memberships, err = tx.Memberships().ForUser(ctx, p.UserID)
		}
		return err
	})
	return me, err
}
