package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/coprod/coprod/adapters/oidc/oidctest"
	"github.com/coprod/coprod/adapters/postgres/postgrestest"
	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/identity"
	"github.com/coprod/coprod/tenants"
)

// authBundle is the whole service over TLS (cookies are Secure), with two
// tenants, each logging in through its own real OpenID provider process.
type authBundle struct {
	srv        *httptest.Server
	base       string
	db         *postgrestest.DB
	svc        *services
	idpA, idpB *oidctest.Provider
	idpP       *oidctest.Provider // the platform's provider
}

func setupAuth(t *testing.T) *authBundle {
	t.Helper()
	db := postgrestest.New(t)
	var mu sync.Mutex
	var handler http.Handler = http.NotFoundHandler()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		h := handler
		mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	srv.StartTLS()
	t.Cleanup(srv.Close)
	b := &authBundle{srv: srv, base: srv.URL, db: db}
	users := []oidctest.User{
		{Subject: "anna", Email: "anna@comune.milano.it", EmailVerified: true, Name: "Anna", Groups: []string{"staff-officers"}},
		{Subject: "eve", Email: "eve@evil.example", EmailVerified: true, Name: "Eve"},
	}
	b.idpA = oidctest.Start(t, oidctest.Config{Users: users, AccessTokenAudience: "coprod-milano-api", Clients: []oidctest.Client{{
		ID: "coprod-milano", Secret: "secret-a", RedirectURIs: []string{b.base + "/v1/tenants/milano/auth/callback"},
		PostLogoutRedirectURIs: []string{b.base + "/"}}}})
	b.idpB = oidctest.Start(t, oidctest.Config{Users: users, AccessTokenAudience: "coprod-bergamo-api", Clients: []oidctest.Client{{
		ID: "coprod-bergamo", Secret: "secret-b", RedirectURIs: []string{b.base + "/v1/tenants/bergamo/auth/callback"}}}})

	b.idpP = oidctest.Start(t, oidctest.Config{AccessTokenAudience: "coprod-platform-api", Users: []oidctest.User{
		{Subject: "chiara", Email: "chiara@coop.example", EmailVerified: true, Name: "Chiara"},
		{Subject: "olga", Email: "olga@coprod.example", EmailVerified: true, Name: "Olga", Groups: []string{"operators"}},
	}, Clients: []oidctest.Client{{ID: "coprod-platform", Secret: "secret-p", RedirectURIs: []string{b.base + "/v1/auth/callback"}}}})
	cfg, _, err := loadConfig("test", env("COPROD_DATABASE_URL", db.AppURL, "COPROD_PUBLIC_URL", b.base,
		"COPROD_SECRETS_KEY", strings.Repeat("ab", 32), "COPROD_BLOB_DIR", t.TempDir()), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	pc, _ := b.idpP.Client("coprod-platform")
	cfg.Platform = PlatformOIDC{Issuer: b.idpP.Issuer, ClientID: pc.ID, ClientSecret: pc.Secret, Audience: "coprod-platform-api", OperatorGroup: "operators"}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	if testing.Verbose() {
		log = newLogger(&testWriter{t}, slog.LevelDebug)
	}
	b.svc, err = wire(cfg, db.App, log, true)
	if err != nil {
		t.Fatal(err)
	}
	remember(t, b.svc, db.App)
	mu.Lock()
	handler = b.svc.handler
	mu.Unlock()

	op := domain.WithPrincipal(t.Context(), domain.Principal{Subject: "test-op", Roles: []domain.Role{domain.RolePlatformOperator}})
	region, err := b.svc.tenants.Create(op, tenants.CreateInput{Slug: "regione-lombardia", Name: "Lombardia", Kind: tenants.KindRegion, ISTATCode: "03"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tn := range []struct {
		slug, code string
		idp        *oidctest.Provider
		client     string
	}{{"milano", "015146", b.idpA, "coprod-milano"}, {"bergamo", "016024", b.idpB, "coprod-bergamo"}} {
		x, err := b.svc.tenants.Create(op, tenants.CreateInput{Slug: tn.slug, Name: tn.slug, Kind: tenants.KindMunicipality, ISTATCode: tn.code, Region: region.Slug})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.svc.tenants.ChangeStatus(op, tn.slug, "activate", "", 0); err != nil {
			t.Fatal(err)
		}
		c, _ := tn.idp.Client(tn.client)
		_, err = b.svc.ids.SaveProvider(op, x.ID, identity.Provider{Issuer: tn.idp.Issuer, ClientID: c.ID, ClientSecret: c.Secret,
			Audience: "coprod-" + tn.slug + "-api", Scopes: []string{"openid", "email", "profile", "groups"},
			Claims: identity.ClaimMapping{GroupRoles: map[string][]domain.Role{"staff-officers": {domain.RoleOfficer}}}}, 0)
		if err != nil {
			t.Fatal(err)
		}
	}
	return b
}

type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// browser is a user agent with its own cookies that trusts the test server.
func (b *authBundle) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	c := b.srv.Client()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

func (b *authBundle) sessions(t *testing.T) int {
	t.Helper()
	var n int
	if err := b.db.App.QueryRow(t.Context(), `SELECT count(*) FROM sessions`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

type resp struct {
	status int
	header http.Header
	body   map[string]any
}

func do(t *testing.T, c *http.Client, method, u string, hdr ...string) resp {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	r := resp{status: res.StatusCode, header: res.Header}
	_ = json.NewDecoder(res.Body).Decode(&r.body)
	return r
}

// startLogin begins a login at tenant slug and returns the provider's
// redirect back to us (code, state, iss), not yet followed.
func (b *authBundle) startLogin(t *testing.T, browser *http.Client, slug, user string) *url.URL {
	t.Helper()
	r := do(t, browser, "GET", b.base+"/v1/tenants/"+slug+"/auth/login?return_to=/v1/tenants/"+slug+"/me")
	if r.status != http.StatusFound {
		t.Fatalf("login: %d %v", r.status, r.body)
	}
	loc, _ := url.Parse(r.header.Get("Location"))
	q := loc.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" || len(q.Get("state")) < 43 {
		t.Errorf("authorization request lacks PKCE S256, nonce or a strong state: %s", loc)
	}
	q.Set("login_hint", user)
	loc.RawQuery = q.Encode()
	idp := b.idpA
	if slug == "bergamo" {
		idp = b.idpB
	}
	return idp.Authorize(t, browser, loc.String(), b.base+"/v1/tenants/"+slug+"/auth/callback")
}

func cookieNamed(h http.Header, name string) *http.Cookie {
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func TestBrowserLogin(t *testing.T) {
	t.Parallel()
	b := setupAuth(t)
	browser := b.browser()
	cb := b.startLogin(t, browser, "milano", "anna")
	if cb.Query().Get("iss") != b.idpA.Issuer {
		t.Errorf("callback without RFC 9207 iss: %s", cb)
	}
	r := do(t, browser, "GET", cb.String())
	if r.status != http.StatusSeeOther || r.header.Get("Location") != b.base+"/v1/tenants/milano/me" {
		t.Fatalf("callback: %d %v %v", r.status, r.header.Get("Location"), r.body)
	}
	c := cookieNamed(r.header, "__Host-coprod_session")
	if c == nil || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" || len(c.Value) < 43 {
		t.Fatalf("session cookie flags: %+v", c)
	}
	me := do(t, browser, "GET", b.base+"/v1/tenants/milano/me")
	if me.status != 200 || me.body["email"] != "anna@comune.milano.it" || !strings.Contains(jsonOf(me.body["roles"]), "officer") ||
		!strings.Contains(jsonOf(me.body["tenants"]), `"slug":"milano"`) {
		t.Fatalf("me: %d %v", me.status, me.body)
	}
	// The session is Milano's: Bergamo's routes refuse it.
	if r := do(t, browser, "GET", b.base+"/v1/tenants/bergamo/me"); r.status != 401 || r.body["code"] != "wrong_realm" {
		t.Errorf("Milano's session at Bergamo: %d %v", r.status, r.body)
	}
	// A state works once.
	if r := do(t, browser, "GET", cb.String()); r.status != 401 || r.body["code"] != "login_invalid" {
		t.Errorf("replayed callback: %d %v", r.status, r.body)
	}
	// A cross-site request that would change state with the cookie is refused.
	if r := do(t, browser, "POST", b.base+"/v1/tenants/milano/auth/logout", "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"); r.status != 401 || r.body["code"] != "cross_origin_refused" {
		t.Errorf("cross-origin logout: %d %v", r.status, r.body)
	}
	// Logout ends the session here and offers the provider's end-session URL.
	n := b.sessions(t)
	out := do(t, browser, "POST", b.base+"/v1/tenants/milano/auth/logout")
	end, _ := out.body["endSessionUrl"].(string)
	if out.status != 200 || !strings.HasPrefix(end, b.idpA.EndSessionEndpoint) || !strings.Contains(end, "id_token_hint=") {
		t.Errorf("logout: %d %v", out.status, out.body)
	}
	if c := cookieNamed(out.header, "__Host-coprod_session"); c == nil || c.MaxAge >= 0 {
		t.Errorf("logout does not clear the cookie: %+v", c)
	}
	if got := b.sessions(t); got != n-1 {
		t.Errorf("sessions after logout: %d, want %d", got, n-1)
	}
	if r := do(t, browser, "GET", b.base+"/v1/tenants/milano/me"); r.status != 401 {
		t.Errorf("me after logout: %d", r.status)
	}
}

func jsonOf(v any) string { b, _ := json.Marshal(v); return string(b) }

// Each of these answers 401 and creates no session.
func TestLoginRefusals(t *testing.T) {
	t.Parallel()
	b := setupAuth(t)
	ctx := t.Context()
	tamper := func(sql string) func(t *testing.T) {
		return func(t *testing.T) {
			if _, err := b.db.Owner.Exec(ctx, sql); err != nil {
				t.Fatal(err)
			}
		}
	}
	cases := []struct {
		name   string
		before func(t *testing.T)              // after the provider answered, before the callback
		edit   func(u *url.URL, b *authBundle) // the callback URL as the attacker sends it
		fresh  bool                            // a different browser sends the callback
		code   string
	}{
		{name: "state mismatch", edit: func(u *url.URL, _ *authBundle) { setQuery(u, "state", identity.NewSecret()) }, code: "login_invalid"},
		{name: "no state", edit: func(u *url.URL, _ *authBundle) { setQuery(u, "state", "") }, code: "login_invalid"},
		{name: "another browser", fresh: true, code: "login_invalid"},
		{name: "wrong issuer in response", edit: func(u *url.URL, b *authBundle) { setQuery(u, "iss", b.idpB.Issuer) }, code: "issuer_mismatch"},
		{name: "issuer missing though advertised", edit: func(u *url.URL, _ *authBundle) { setQuery(u, "iss", "") }, code: "issuer_mismatch"},
		{name: "nonce mismatch", before: tamper(`UPDATE login_attempts SET nonce = 'not-the-nonce'`), code: "provider_refused"},
		{name: "missing PKCE verifier", before: tamper(`UPDATE login_attempts SET pkce_verifier = ''`), code: "provider_refused"},
		{name: "wrong PKCE verifier", before: tamper(`UPDATE login_attempts SET pkce_verifier = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'`), code: "provider_refused"},
		{name: "expired login", before: tamper(`UPDATE login_attempts SET expires_at = now() - interval '1 second'`), code: "login_invalid"},
		{name: "provider error", edit: func(u *url.URL, _ *authBundle) { setQuery(u, "error", "access_denied"); setQuery(u, "code", "") }, code: "provider_refused"},
	}
	var mu sync.Mutex // the tampering statements touch every pending attempt
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			defer mu.Unlock()
			before := b.sessions(t)
			browser := b.browser()
			cb := b.startLogin(t, browser, "milano", "anna")
			if tc.before != nil {
				tc.before(t)
			}
			if tc.edit != nil {
				tc.edit(cb, b)
			}
			if tc.fresh {
				browser = b.browser()
			}
			r := do(t, browser, "GET", cb.String())
			if r.status != 401 || r.body["code"] != tc.code {
				t.Errorf("got %d %v, want 401 %s", r.status, r.body, tc.code)
			}
			if c := cookieNamed(r.header, "__Host-coprod_session"); c != nil && c.Value != "" {
				t.Errorf("a session cookie was set")
			}
			if after := b.sessions(t); after != before {
				t.Errorf("sessions %d → %d", before, after)
			}
		})
	}

	t.Run("code replay", func(t *testing.T) {
		mu.Lock()
		defer mu.Unlock()
		browser := b.browser()
		first := b.startLogin(t, browser, "milano", "anna")
		if r := do(t, browser, "GET", first.String()); r.status != http.StatusSeeOther {
			t.Fatalf("first login: %d %v", r.status, r.body)
		}
		before := b.sessions(t)
		second := b.startLogin(t, browser, "milano", "anna")
		setQuery(second, "code", first.Query().Get("code")) // the fresh state with the used code
		if r := do(t, browser, "GET", second.String()); r.status != 401 || r.body["code"] != "provider_refused" {
			t.Errorf("replayed code: %d %v", r.status, r.body)
		}
		if after := b.sessions(t); after != before {
			t.Errorf("sessions %d → %d", before, after)
		}
	})

	t.Run("suspended tenant", func(t *testing.T) {
		mu.Lock()
		defer mu.Unlock()
		op := domain.WithPrincipal(ctx, domain.Principal{Subject: "test-op", Roles: []domain.Role{domain.RolePlatformOperator}})
		browser := b.browser()
		cb := b.startLogin(t, browser, "bergamo", "anna")
		if _, err := b.svc.tenants.ChangeStatus(op, "bergamo", "suspend", "", 0); err != nil {
			t.Fatal(err)
		}
		defer b.svc.tenants.ChangeStatus(op, "bergamo", "resume", "", 0) //nolint:errcheck
		before := b.sessions(t)
		if r := do(t, browser, "GET", cb.String()); r.status != 401 || r.body["code"] != "login_unavailable" {
			t.Errorf("callback at a suspended tenant: %d %v", r.status, r.body)
		}
		if r := do(t, browser, "GET", b.base+"/v1/tenants/bergamo/auth/login"); r.status != 401 || r.body["code"] != "login_unavailable" {
			t.Errorf("login at a suspended tenant: %d %v", r.status, r.body)
		}
		if after := b.sessions(t); after != before {
			t.Errorf("sessions %d → %d", before, after)
		}
	})

	t.Run("open redirect", func(t *testing.T) {
		r := do(t, b.browser(), "GET", b.base+"/v1/tenants/milano/auth/login?return_to=https://evil.example/")
		if r.status != 422 || r.body["code"] != "invalid_return_to" {
			t.Errorf("return_to to another origin: %d %v", r.status, r.body)
		}
	})
}

func setQuery(u *url.URL, k, v string) {
	q := u.Query()
	if v == "" {
		q.Del(k)
	} else {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
}

func TestBearerTokens(t *testing.T) {
	t.Parallel()
	b := setupAuth(t)
	client := b.srv.Client()
	tokA := b.idpA.AccessToken(t, "coprod-milano", "anna").AccessToken
	r := do(t, client, "GET", b.base+"/v1/tenants/milano/me", "Authorization", "Bearer "+tokA)
	if r.status != 200 || r.body["subject"] != "anna" {
		t.Fatalf("Milano's token at Milano: %d %v", r.status, r.body)
	}
	// Tenant A's token presented to tenant B: 401, no user or session created for B.
	if r := do(t, client, "GET", b.base+"/v1/tenants/bergamo/me", "Authorization", "Bearer "+tokA); r.status != 401 || r.body["code"] != "invalid_token" {
		t.Errorf("Milano's token at Bergamo: %d %v", r.status, r.body)
	}
	// An ID token (audience = client id) is no API token.
	idTok, _ := b.idpA.AccessToken(t, "coprod-milano", "anna").Extra("id_token").(string)
	if r := do(t, client, "GET", b.base+"/v1/tenants/milano/me", "Authorization", "Bearer "+idTok); r.status != 401 {
		t.Errorf("ID token as bearer: %d %v", r.status, r.body)
	}
	// A tampered token.
	bad := tokA[:len(tokA)-4] + "AAAA"
	if r := do(t, client, "GET", b.base+"/v1/tenants/milano/me", "Authorization", "Bearer "+bad); r.status != 401 {
		t.Errorf("tampered token: %d %v", r.status, r.body)
	}
	// Platform routes do not accept a tenant's token.
	if r := do(t, client, "GET", b.base+"/v1/me", "Authorization", "Bearer "+tokA); r.status != 401 {
		t.Errorf("tenant token on a platform route: %d %v", r.status, r.body)
	}
	if n := b.sessions(t); n != 0 {
		t.Errorf("bearer requests created %d sessions", n)
	}
	_ = context.Background
}

func TestProviderSettingsOverHTTP(t *testing.T) {
	t.Parallel()
	b := setupAuth(t)
	client := b.srv.Client()
	tok := b.idpA.AccessToken(t, "coprod-milano", "anna").AccessToken
	// An officer may not read the settings; the bootstrap operator is not configured here.
	if r := do(t, client, "GET", b.base+"/v1/tenants/milano/identity-provider", "Authorization", "Bearer "+tok); r.status != 403 {
		t.Errorf("officer reads provider settings: %d %v", r.status, r.body)
	}
	// Make anna Milano's tenant admin through an invitation, then log in again.
	op := domain.WithPrincipal(t.Context(), domain.Principal{Subject: "test-op", Roles: []domain.Role{domain.RolePlatformOperator}})
	milano, _ := b.svc.tenants.Get(op, "milano")
	if _, err := b.svc.ids.Invite(op, milano.ID, "anna@comune.milano.it", domain.RoleTenantAdmin); err != nil {
		t.Fatal(err)
	}
	browser := b.browser()
	if r := do(t, browser, "GET", b.startLogin(t, browser, "milano", "anna").String()); r.status != http.StatusSeeOther {
		t.Fatalf("login: %d %v", r.status, r.body)
	}
	r := do(t, browser, "GET", b.base+"/v1/tenants/milano/identity-provider")
	if r.status != 200 || r.body["issuer"] != b.idpA.Issuer || r.body["clientSecret"] != nil {
		t.Fatalf("admin reads settings: %d %v", r.status, r.body)
	}
	// Saving with a stale If-Match is refused; the secret never comes back.
	body := `{"issuer":"` + b.idpA.Issuer + `","clientId":"coprod-milano","audience":"coprod-milano-api","allowedEmailDomains":["comune.milano.it"]}`
	put := func(ifMatch string) resp {
		req, _ := http.NewRequestWithContext(t.Context(), "PUT", b.base+"/v1/tenants/milano/identity-provider", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("If-Match", ifMatch)
		res, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		out := resp{status: res.StatusCode, header: res.Header}
		_ = json.NewDecoder(res.Body).Decode(&out.body)
		return out
	}
	if r := put(`"99"`); r.status != 412 {
		t.Errorf("stale If-Match: %d %v", r.status, r.body)
	}
	r = put(r.header.Get("ETag"))
	if r.status != 200 || r.body["clientSecret"] != nil || jsonOf(r.body["allowedEmailDomains"]) != `["comune.milano.it"]` {
		t.Errorf("save: %d %v", r.status, r.body)
	}
	// Eve's e-mail is outside the allowed domain now: no session for her.
	before := b.sessions(t)
	eve := b.browser()
	if r := do(t, eve, "GET", b.startLogin(t, eve, "milano", "eve").String()); r.status != 403 || r.body["code"] != "email_domain_not_allowed" {
		t.Errorf("login from a foreign domain: %d %v", r.status, r.body)
	}
	if after := b.sessions(t); after != before {
		t.Errorf("sessions %d → %d", before, after)
	}
}
