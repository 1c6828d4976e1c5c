package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/coprod/coprod/adapters/postgres"
	"github.com/coprod/coprod/adapters/postgres/postgrestest"
	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/identity"
)

// fixedDiscoverer answers with the issuer it is told to, like a provider's
// discovery document would.
type fixedDiscoverer map[string]string

func (d fixedDiscoverer) Discover(_ context.Context, issuer string) (string, error) {
	if got, ok := d[issuer]; ok {
		return got, nil
	}
	return "", errors.New("connection refused")
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type identityBundle struct {
	svc    *identity.Service
	clock  *clock
	db     *postgrestest.DB
	a, b   uuid.UUID // two active tenants
	provA  *identity.Provider
	sealer *postgres.Sealer
}

func setupIdentity(t *testing.T) *identityBundle {
	t.Helper()
	db := postgrestest.New(t)
	store := postgres.NewStore(db.App)
	a, b := twoTenants(t, store)
	sealer, err := postgres.NewSealer(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}
	disc := fixedDiscoverer{"https://idp.milano.example": "https://idp.milano.example", "https://liar.example": "https://other.example"}
	svc := identity.NewService(store.Identity(sealer), disc, c.now, identity.Config{})
	prov, err := svc.SaveProvider(operatorCtx(t), b, identity.Provider{
		Issuer: "https://idp.milano.example", ClientID: "coprod", ClientSecret: "top-secret", Audience: "coprod-milano",
		Claims: identity.ClaimMapping{GroupRoles: map[string][]domain.Role{"officers": {domain.RoleOfficer}}},
	}, 0)
	if err != nil {
		t.Fatal(err)
	}
	return &identityBundle{svc: svc, clock: c, db: db, a: a, b: b, provA: prov, sealer: sealer}
}

func TestProviderSettings(t *testing.T) {
	t.Parallel()
	ib := setupIdentity(t)
	ctx := operatorCtx(t)
	got, err := ib.svc.GetProvider(ctx, ib.b)
	if err != nil || got.ClientSecret != "top-secret" || got.Version != 1 {
		t.Fatalf("provider: %+v %v", got, err)
	}
	// The secret is sealed at rest: the plaintext is nowhere in the row.
	var sealed []byte
	err = pgx.BeginFunc(ctx, ib.db.Owner, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT set_config('app.tenant_id', $1, true)`, ib.b.String()); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT client_secret_sealed FROM identity_providers`).Scan(&sealed)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(sealed) < 32 || bytes.Contains(sealed, []byte("top-secret")) {
		t.Errorf("secret not sealed: %q", sealed)
	}

	// An empty secret keeps the stored one; a stale version is refused.
	upd := *got
	upd.ClientSecret = ""
	if saved, err := ib.svc.SaveProvider(ctx, ib.b, upd, 1); err != nil || saved.ClientSecret != "top-secret" || saved.Version != 2 {
		t.Fatalf("update keeping the secret: %+v %v", saved, err)
	}
	if _, err := ib.svc.SaveProvider(ctx, ib.b, upd, 1); !errors.Is(err, domain.ErrStale) {
		t.Errorf("stale update: %v", err)
	}
	// The discovery document must name the same issuer.
	liar := upd
	liar.Issuer = "https://liar.example"
	if _, err := ib.svc.SaveProvider(ctx, ib.b, liar, 0); !errors.Is(err, identity.ErrIssuerMismatch) {
		t.Errorf("issuer mismatch: %v", err)
	}
	down := upd
	down.Issuer = "https://down.example"
	if _, err := ib.svc.SaveProvider(ctx, ib.b, down, 0); !errors.Is(err, identity.ErrDiscoveryFailed) {
		t.Errorf("discovery down: %v", err)
	}
	// Tenant A has none, and A's admin cannot read B's.
	if _, err := ib.svc.ProviderFor(ctx, ib.a); !errors.Is(err, identity.ErrProviderNotConfigured) {
		t.Errorf("tenant A's provider: %v", err)
	}
	adminA := domain.WithPrincipal(t.Context(), domain.Principal{Subject: "x", TenantID: ib.a, Roles: []domain.Role{domain.RoleTenantAdmin}})
	if _, err := ib.svc.GetProvider(adminA, ib.b); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("admin of A reads B's provider: %v", err)
	}
	officerB := domain.WithPrincipal(t.Context(), domain.Principal{Subject: "x", TenantID: ib.b, Roles: []domain.Role{domain.RoleOfficer}})
	if _, err := ib.svc.SaveProvider(officerB, ib.b, upd, 0); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("officer saves the provider: %v", err)
	}
}

func TestLoginAttempts(t *testing.T) {
	t.Parallel()
	ib := setupIdentity(t)
	ctx := t.Context()
	st, err := ib.svc.BeginLogin(ctx, ib.b, "/v1/me", "browser-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(st.State) < 43 || len(st.Nonce) < 43 || len(st.Verifier) < 43 {
		t.Errorf("weak randoms: %+v", st)
	}
	// Another browser, or another realm, cannot use the state; and the attempt is gone after a try.
	if _, err := ib.svc.TakeLogin(ctx, ib.b, st.State, "browser-2"); !errors.Is(err, identity.ErrLoginInvalid) {
		t.Errorf("other browser: %v", err)
	}
	if _, err := ib.svc.TakeLogin(ctx, ib.b, st.State, "browser-1"); !errors.Is(err, identity.ErrLoginInvalid) {
		t.Errorf("state reused after a failed try: %v", err)
	}
	st, _ = ib.svc.BeginLogin(ctx, ib.b, "", "browser-1")
	if _, err := ib.svc.TakeLogin(ctx, ib.a, st.State, "browser-1"); !errors.Is(err, identity.ErrLoginInvalid) {
		t.Errorf("other realm: %v", err)
	}
	st, _ = ib.svc.BeginLogin(ctx, ib.b, "", "browser-1")
	a, err := ib.svc.TakeLogin(ctx, ib.b, st.State, "browser-1")
	if err != nil || a.Nonce != st.Nonce || a.Verifier != st.Verifier || a.ReturnTo != "/" {
		t.Fatalf("good take: %+v %v", a, err)
	}
	if _, err := ib.svc.TakeLogin(ctx, ib.b, st.State, "browser-1"); !errors.Is(err, identity.ErrLoginInvalid) {
		t.Errorf("replayed state: %v", err)
	}
	st, _ = ib.svc.BeginLogin(ctx, ib.b, "", "browser-1")
	ib.clock.add(10*time.Minute + time.Second)
	if _, err := ib.svc.TakeLogin(ctx, ib.b, st.State, "browser-1"); !errors.Is(err, identity.ErrLoginInvalid) {
		t.Errorf("expired attempt: %v", err)
	}
	if _, err := ib.svc.BeginLogin(ctx, ib.b, "https://evil.example/", "b"); !errors.Is(err, identity.ErrInvalidReturnTo) {
		t.Errorf("open redirect: %v", err)
	}
}

func TestSessions(t *testing.T) {
	t.Parallel()
	ib := setupIdentity(t)
	ctx := t.Context()
	op := operatorCtx(t)
	if _, err := ib.svc.Invite(op, ib.b, "Anna.Rossi@Comune.Milano.IT", domain.RoleTenantAdmin); err != nil {
		t.Fatal(err)
	}
	if _, err := ib.svc.Invite(op, ib.b, "anna.rossi@comune.milano.it", domain.RoleTenantAdmin); domain.KindOf(err) != domain.KindConflict {
		t.Errorf("duplicate pending invitation: %v", err)
	}
	id := identity.Identity{Issuer: "https://idp.milano.example", Subject: "anna", Email: "anna.rossi@comune.milano.it", EmailVerified: true,
		Name: "Anna Rossi", Groups: []string{"officers"}}
	raw, sess, err := ib.svc.CompleteLogin(ctx, ib.b, ib.provA, id, "id-token")
	if err != nil {
		t.Fatal(err)
	}
	if sess.IDHash == identity.Hash("") || len(raw) < 43 {
		t.Fatalf("session: %+v", sess)
	}
	p, err := ib.svc.SessionPrincipal(ctx, raw, ib.b)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Roles, []domain.Role{domain.RoleOfficer, domain.RoleTenantAdmin}) || p.TenantID != ib.b || p.UserID != sess.UserID {
		t.Errorf("principal: %+v", p)
	}
	// A session of tenant B does not serve tenant A's routes.
	if _, err := ib.svc.SessionPrincipal(ctx, raw, ib.a); !errors.Is(err, identity.ErrWrongRealm) {
		t.Errorf("B's session on A: %v", err)
	}
	// A second login makes a new id; claim roles are re-synced (the group is gone).
	id.Groups = nil
	raw2, _, err := ib.svc.CompleteLogin(ctx, ib.b, ib.provA, id, "")
	if err != nil || raw2 == raw {
		t.Fatalf("second login: same id or %v", err)
	}
	p, _ = ib.svc.SessionPrincipal(ctx, raw2, ib.b)
	if !slices.Equal(p.Roles, []domain.Role{domain.RoleTenantAdmin}) {
		t.Errorf("roles after the group was removed: %v", p.Roles)
	}
	// Idle timeout: 30 minutes without use ends the session.
	ib.clock.add(29 * time.Minute)
	if _, err := ib.svc.SessionPrincipal(ctx, raw2, ib.b); err != nil {
		t.Errorf("29 minutes idle: %v", err)
	}
	ib.clock.add(29 * time.Minute) // touched above, so still alive
	if _, err := ib.svc.SessionPrincipal(ctx, raw2, ib.b); err != nil {
		t.Errorf("active session: %v", err)
	}
	ib.clock.add(30*time.Minute + time.Second)
	if _, err := ib.svc.SessionPrincipal(ctx, raw2, ib.b); !errors.Is(err, identity.ErrSessionInvalid) {
		t.Errorf("idle session: %v", err)
	}
	// Absolute timeout: 12 hours after login, even in use.
	raw3, _, _ := ib.svc.CompleteLogin(ctx, ib.b, ib.provA, id, "")
	for i := 0; i < 24; i++ {
		ib.clock.add(29 * time.Minute)
		if _, err := ib.svc.SessionPrincipal(ctx, raw3, ib.b); err != nil {
			t.Fatalf("after %d×29min: %v", i+1, err)
		}
	}
	ib.clock.add(29 * time.Minute) // 12h05m
	if _, err := ib.svc.SessionPrincipal(ctx, raw3, ib.b); !errors.Is(err, identity.ErrSessionInvalid) {
		t.Errorf("session past its absolute timeout: %v", err)
	}
	// Logout removes the session server-side.
	raw4, _, _ := ib.svc.CompleteLogin(ctx, ib.b, ib.provA, id, "tok")
	if s, err := ib.svc.Logout(ctx, raw4); err != nil || s == nil || s.IDToken != "tok" {
		t.Errorf("logout: %+v %v", s, err)
	}
	if _, err := ib.svc.SessionPrincipal(ctx, raw4, ib.b); !errors.Is(err, identity.ErrSessionInvalid) {
		t.Errorf("session after logout: %v", err)
	}
	// An e-mail outside the allowed domains gets no session.
	restricted := *ib.provA
	restricted.AllowedEmailDomains = []string{"comune.milano.it"}
	if _, _, err := ib.svc.CompleteLogin(ctx, ib.b, &restricted, identity.Identity{Issuer: id.Issuer, Subject: "eve", Email: "eve@evil.it", EmailVerified: true}, ""); !errors.Is(err, identity.ErrEmailNotAllowed) {
		t.Errorf("foreign domain: %v", err)
	}
}
