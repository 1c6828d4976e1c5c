package postgres

import (
	"context"
	"maps"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/identity"
	"github.com/coprod/coprod/tenants"
)

// Every authenticated request reads who its caller is (Known), the tenant it
// enters (Lookup) and that tenant's identity provider (Provider): round trips
// before any work. The store remembers them, and forgets them when they
// change (ADR 0022):
//   - at once, in the process whose transaction changed them: repositories
//     that write memberships, operator grants, tenants or providers record it
//     on the transaction (changedAccess), and run forgets after the commit;
//   - within milliseconds, in every other process: triggers on those tables
//     send the same words with pg_notify at commit (migration 0020), and
//     WatchAccess hears them.
//
// Nothing is remembered unless WatchAccess is listening: a process that
// cannot hear other processes' changes reads everything fresh.
const (
	accessChannel = "coprod_access"
	// accessTTL bounds what a listener that hangs without an error could
	// cost; TCP keepalives (watchDialer) turn a dead peer into an error
	// within about 25 s.
	accessTTL = 10 * time.Minute
)

// newAccessCache sizes the memos for every municipality of Italy (by id and
// by slug) and their users.
func newAccessCache() *accessCache {
	c := &accessCache{}
	c.principals.Max, c.userGrants.Max, c.tenants.Max, c.providers.Max = 100_000, 100_000, 20_000, 20_000
	return c
}

type accessCache struct {
	live       atomic.Bool
	principals domain.Memo[principalKey, knownUser]
	userGrants domain.Memo[grantsKey, identity.Grants] // by user id: sessions
	tenants    domain.Memo[tenantKey, tenants.Tenant]
	// providers: a tenant's identity provider, nil when it has none.
	providers domain.Memo[uuid.UUID, *identity.Provider]
}

type principalKey struct {
	scope           uuid.UUID
	issuer, subject string
}

type grantsKey struct{ scope, user uuid.UUID }

type knownUser struct {
	user   identity.User
	grants identity.Grants
}

type tenantKey struct {
	id   uuid.UUID
	slug string
}

// forget applies one change, in the words the triggers send: "u:<user id>"
// (a user removed, their memberships or operator grant), "t:<tenant id>" (a
// tenant's row or provider), anything else (a TRUNCATE) forgets
// everything. It scans the memos: 2 ms for 100,000 entries
// (BenchmarkMemoForgetIf), paid per change of access (a login counts only
// when it rewrites roles from the provider's groups).
func (c *accessCache) forget(change string) {
	kind, rest, _ := strings.Cut(change, ":")
	id, err := uuid.Parse(rest)
	switch {
	case err == nil && kind == "u":
		c.principals.ForgetIf(func(_ principalKey, k knownUser) bool { return k.user.ID == id })
		c.userGrants.ForgetIf(func(k grantsKey, _ identity.Grants) bool { return k.user == id })
	case err == nil && kind == "t":
		c.tenants.ForgetIf(func(_ tenantKey, t tenants.Tenant) bool { return t.ID == id })
		c.providers.Forget(id)
	default:
		c.principals.Clear()
		c.userGrants.Clear()
		c.tenants.Clear()
		c.providers.Clear()
	}
}

// setLive turns remembering on or off; either way what was remembered goes:
// changes made while no one listened were not heard.
func (c *accessCache) setLive(on bool) {
	c.live.Store(false)
	c.forget("*")
	c.live.Store(on)
}

// accessTx is the transaction run hands to repositories; those that change
// access note it (changedAccess) for run to forget after the commit.
type accessTx struct {
	pgx.Tx
	changes []string
}

// changedAccess records, on tx, a change in the triggers' words.
func changedAccess(tx pgx.Tx, change string) {
	if a, ok := tx.(*accessTx); ok {
		a.changes = append(a.changes, change)
	}
}

func userChanged(id uuid.UUID) string   { return "u:" + id.String() }
func tenantChanged(id uuid.UUID) string { return "t:" + id.String() }

// recall answers k from m while changes are heard, or reads it; what was
// read is remembered when keep says so and nothing was forgotten during the
// read (it may predate the change). The value is the memo's own: callers
// hand out copies.
func recall[K comparable, V any](c *accessCache, m *domain.Memo[K, V], k K, read func() (v V, keep bool, err error)) (V, bool, error) {
	now, live := time.Now(), c.live.Load()
	if live {
		if v, ok := m.Get(k, now); ok {
			return v, true, nil
		}
	}
	mark := m.Since()
	v, keep, err := read()
	if err == nil && keep && live {
		m.PutSince(k, v, now.Add(accessTTL), mark)
	}
	return v, keep, err
}

// known is Known's memo: the user and grants of (scope, issuer, subject);
// an unknown user is not remembered (their first request creates them).
func (c *accessCache) known(k principalKey, read func() (knownUser, bool, error)) (knownUser, bool, error) {
	v, found, err := recall(c, &c.principals, k, read)
	return v.clone(), found, err
}

// clone keeps the remembered grants out of reach of their callers.
func (k knownUser) clone() knownUser {
	k.grants = cloneGrants(k.grants)
	return k
}

func cloneGrants(g identity.Grants) identity.Grants {
	g.Orgs = maps.Clone(g.Orgs)
	for o, rs := range g.Orgs {
		g.Orgs[o] = slices.Clone(rs)
	}
	g.TenantRoles = slices.Clone(g.TenantRoles)
	return g
}

// grants is Grants' memo: a session's user's grants in scope.
func (c *accessCache) grants(k grantsKey, read func() (identity.Grants, error)) (identity.Grants, error) {
	g, _, err := recall(c, &c.userGrants, k, func() (identity.Grants, bool, error) {
		g, err := read()
		return g, true, err
	})
	return cloneGrants(g), err
}

// tenant is Lookup's memo.
func (c *accessCache) tenant(k tenantKey, read func() (*tenants.Tenant, error)) (*tenants.Tenant, error) {
	t, _, err := recall(c, &c.tenants, k, func() (tenants.Tenant, bool, error) {
		t, err := read()
		if err != nil {
			return tenants.Tenant{}, false, err
		}
		return *t, true, nil
	})
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// provider is Provider's memo; read returns nil for a tenant without one,
// which is remembered too.
func (c *accessCache) provider(tenant uuid.UUID, read func() (*identity.Provider, error)) (*identity.Provider, error) {
	p, _, err := recall(c, &c.providers, tenant, func() (*identity.Provider, bool, error) {
		p, err := read()
		return p, true, err
	})
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, identity.ErrProviderNotConfigured
	}
	out := *p // the caller's to change
	out.Scopes = slices.Clone(p.Scopes)
	out.AllowedEmailDomains = slices.Clone(p.AllowedEmailDomains)
	out.Claims.GroupRoles = maps.Clone(p.Claims.GroupRoles)
	return &out, nil
}

// WatchAccess listens for the changes of access that any process commits
// and forgets what this store remembered of them; it returns when ctx ends.
// Remembering is on only while it listens: from a successful LISTEN to the
// first error, then off until it listens again (retrying with backoff).
// It opens a connection of its own with cfg (not from the pool: LISTEN holds
// it, and a transaction-pooling proxy would not carry it).
func (s *Store) WatchAccess(ctx context.Context, cfg *pgx.ConnConfig, failed func(error)) {
	cfg = cfg.Copy()
	cfg.DialFunc = watchDialer.DialContext
	connect := func(ctx context.Context) (*pgx.Conn, error) { return pgx.ConnectConfig(ctx, cfg) }
	const first, most = 100 * time.Millisecond, 10 * time.Second
	wait, told := first, time.Time{}
	for {
		heard, err := s.listenAccess(ctx, connect)
		s.access.setLive(false)
		if ctx.Err() != nil {
			return
		}
		if heard { // a listener that worked: retry at once, and say so
			wait, told = first, time.Time{}
		}
		// Failing to connect again and again is said once a minute.
		if failed != nil && time.Since(told) > time.Minute {
			failed(err)
			told = time.Now()
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, most)
	}
}

// watchDialer probes an idle listener's connection: a peer gone without a
// word is an error after 10 s idle + 3 probes 5 s apart.
var watchDialer = &net.Dialer{Timeout: 10 * time.Second,
	KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: 10 * time.Second, Interval: 5 * time.Second, Count: 3}}

// listenAccess listens until an error; heard reports whether it got as
// far as listening.
func (s *Store) listenAccess(ctx context.Context, connect func(context.Context) (*pgx.Conn, error)) (heard bool, err error) {
	conn, err := connect(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+accessChannel); err != nil {
		return false, err
	}
	s.access.setLive(true)
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, err
		}
		s.access.forget(n.Payload)
	}
}

// Remembering reports whether the store remembers access (WatchAccess is
// listening), for readiness reports and tests.
func (s *Store) Remembering() bool { return s.access.live.Load() }
