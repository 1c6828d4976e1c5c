package postgres_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/coprod/coprod/adapters/postgres"
	"github.com/coprod/coprod/adapters/postgres/postgrestest"
	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/identity"
	"github.com/coprod/coprod/tenants"
)

// replica is one coprod process's store, hearing changes of access.
func replica(t *testing.T, db *postgrestest.DB) *postgres.Store {
	t.Helper()
	s := postgres.NewStore(db.App)
	cfg, err := pgx.ParseConfig(db.AppURL)
	if err != nil {
		t.Fatal(err)
	}
	go s.WatchAccess(t.Context(), cfg, nil)
	waitFor(t, "the store listens", s.Remembering)
	return s
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !ok(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after 5 s, still not true: %s", what)
		}
	}
}

// TestAccessRemembered: principals and tenants are remembered (a change
// that no trigger announces is not seen), forgotten at once by the process
// that changes them, within moments by the others, and not remembered at
// all while a process cannot hear the changes (ADR 0022).
func TestAccessRemembered(t *testing.T) {
	ctx := t.Context()
	db := postgrestest.New(t)
	one, two := replica(t, db), replica(t, db)
	_, town := twoTenants(t, one)
	sealer, err := postgres.NewSealer(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	user := &identity.User{ID: uuid.New(), Issuer: "https://idp.example", Subject: "anna", Email: "anna@example.org", CreatedAt: time.Now(), LastLoginAt: time.Now()}
	if err := one.Identity(sealer).Atomic(ctx, uuid.Nil, func(tx identity.Tx) error { return tx.Users().Add(ctx, user) }); err != nil {
		t.Fatal(err)
	}
	// A bearer's grants (by issuer and subject) and a session's (by user id)
	// are remembered apart; both must answer the same.
	roles := func(s *postgres.Store) []domain.Role {
		t.Helper()
		_, g, ok, err := s.Identity(sealer).Known(ctx, town, user.Issuer, user.Subject)
		if err != nil || !ok {
			t.Fatalf("known: %v %v", ok, err)
		}
		bySession, err := s.Identity(sealer).Grants(ctx, town, user.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(g.TenantRoles, bySession.TenantRoles) {
			t.Fatalf("a bearer's roles %v, a session's %v", g.TenantRoles, bySession.TenantRoles)
		}
		return g.TenantRoles
	}
	grant := func(s *postgres.Store, role domain.Role) {
		t.Helper()
		if err := s.Identity(sealer).Atomic(ctx, town, func(tx identity.Tx) error {
			return tx.Memberships().Add(ctx, identity.Membership{TenantID: town, UserID: user.ID, Role: role, Source: "operator", CreatedAt: time.Now()})
		}); err != nil {
			t.Fatal(err)
		}
	}
	super, err := pgx.Connect(ctx, db.SuperURL)
	if err != nil {
		t.Fatal(err)
	}
	defer super.Close(context.Background())
	// Behind every process's back: triggers off, nothing announced.
	silently := func(sql string, args ...any) {
		t.Helper()
		if _, err := super.Exec(ctx, "SET session_replication_role = replica"); err != nil {
			t.Fatal(err)
		}
		if _, err := super.Exec(ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
		if _, err := super.Exec(ctx, "SET session_replication_role = DEFAULT"); err != nil {
			t.Fatal(err)
		}
	}
	silentGrant := func(role domain.Role) {
		t.Helper()
		silently(`INSERT INTO tenant_memberships (tenant_id, user_id, role, source, created_at) VALUES ($1, $2, $3, 'operator', now())`, town, user.ID, role)
	}

	if r := roles(one); len(r) != 0 {
		t.Fatalf("roles before any grant: %v", r)
	}
	silentGrant(domain.RoleAuditor)
	if r := roles(one); len(r) != 0 {
		t.Fatalf("an unannounced grant was read, so nothing is remembered: %v", r)
	}

	// The process that grants reads it at once; the other within moments.
	_ = roles(two)
	grant(one, domain.RoleEvaluator)
	if r := roles(one); !slices.Contains(r, domain.RoleEvaluator) {
		t.Fatalf("the granting process still remembers %v", r)
	}
	waitFor(t, "the other process forgets the user's grants", func() bool { return slices.Contains(roles(two), domain.RoleEvaluator) })

	// A tenant suspended by one process is refused by the other.
	enter := func(s *postgres.Store) tenants.Status {
		t.Helper()
		tn, err := s.Registry().Lookup(ctx, uuid.Nil, "milano")
		if err != nil {
			t.Fatal(err)
		}
		return tn.Status
	}
	if st := enter(two); st != tenants.StatusActive {
		t.Fatalf("milano: %s", st)
	}
	silently(`UPDATE tenants SET name = 'Milano (unannounced)' WHERE id = $1`, town)
	if tn, _ := two.Registry().Lookup(ctx, uuid.Nil, "milano"); tn.Name != "Milano" {
		t.Fatalf("an unannounced rename was read, so the tenant is not remembered: %q", tn.Name)
	}
	if _, err := tenants.NewService(one.Registry(), nil).ChangeStatus(operatorCtx(t), town.String(), "suspend", "audit", 0); err != nil {
		t.Fatal(err)
	}
	if st := enter(one); st != tenants.StatusSuspended {
		t.Fatalf("the suspending process still remembers %s", st)
	}
	waitFor(t, "the other process forgets the tenant", func() bool { return enter(two) == tenants.StatusSuspended })

	// A tenant's identity provider: its absence is remembered, then its
	// settings, both forgotten when saved.
	provider := func(s *postgres.Store) string {
		t.Helper()
		p, err := s.Identity(sealer).Provider(ctx, town)
		if errors.Is(err, identity.ErrProviderNotConfigured) {
			return ""
		}
		if err != nil {
			t.Fatal(err)
		}
		return p.Issuer
	}
	if iss := provider(one) + provider(two); iss != "" {
		t.Fatalf("a provider before any was saved: %q", iss)
	}
	if err := two.Identity(sealer).Atomic(ctx, town, func(tx identity.Tx) error {
		return tx.Providers().Save(ctx, &identity.Provider{TenantID: town, Issuer: "https://login.milano.example", ClientID: "coprod",
			ClientSecret: "s", Scopes: []string{"openid"}, Audience: "coprod", UpdatedAt: time.Now(), Version: 1})
	}); err != nil {
		t.Fatal(err)
	}
	if iss := provider(two); iss != "https://login.milano.example" {
		t.Fatalf("the saving process still remembers %q", iss)
	}
	waitFor(t, "the other process forgets the provider", func() bool { return provider(one) == "https://login.milano.example" })
	silently(`UPDATE identity_providers SET issuer = 'https://unannounced.example' WHERE tenant_id = $1`, town)
	if iss := provider(one); iss != "https://login.milano.example" {
		t.Fatalf("an unannounced change was read, so the provider is not remembered: %q", iss)
	}

	// Deaf, a process remembers nothing: its listener is cut.
	_ = roles(two)
	if _, err := super.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN coprod_access'`); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a process whose listener is cut stops remembering", func() bool { return !one.Remembering() && !two.Remembering() })
	silentGrant(domain.RoleOfficer)
	if r := roles(two); !slices.Contains(r, domain.RoleOfficer) {
		t.Fatalf("a deaf process answered from memory: %v", r)
	}
	// It listens again on its own, remembering nothing from before.
	waitFor(t, "the listener is back", func() bool { return one.Remembering() && two.Remembering() })
	silently(`DELETE FROM tenant_memberships WHERE user_id = $1 AND role = $2`, user.ID, domain.RoleOfficer)
	if r := roles(two); slices.Contains(r, domain.RoleOfficer) {
		t.Fatalf("what was read while deaf is remembered: %v", r)
	}
}
