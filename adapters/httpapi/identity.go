package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/identity"
	"github.com/coprod/coprod/tenants"
)

// Cookie names. The __Host- prefix makes browsers insist on Secure, Path=/
// and no Domain, so no sibling host can set or read them.
const (
	SessionCookie = "__Host-coprod_session"
	loginCookie   = "__Host-coprod_login"
)

// OIDC is the protocol side of login and bearer tokens, implemented by
// adapters/oidc and wired by cmd.
type OIDC interface {
	AuthCodeURL(ctx context.Context, p *identity.Provider, redirectURI, state, nonce, verifier string) (string, error)
	// Exchange redeems code with the PKCE verifier and verifies the ID token
	// (signature, issuer, audience = client id, expiry, nonce).
	Exchange(ctx context.Context, p *identity.Provider, redirectURI, code, verifier, nonce string) (identity.Identity, string, error)
	// Metadata reports what the provider's discovery document advertises.
	Metadata(ctx context.Context, issuer string) (ProviderMetadata, error)
	// VerifyBearer verifies an access token against p's issuer and audience.
	VerifyBearer(ctx context.Context, p *identity.Provider, token string) (identity.Identity, error)
}

// ProviderMetadata is the part of a discovery document login needs.
type ProviderMetadata struct {
	IssParameterSupported bool   // RFC 9207: the callback must then carry iss
	EndSessionEndpoint    string // RP-initiated logout, when offered
}

var (
	errInvalidToken      = domain.Errorf(domain.KindUnauthenticated, "invalid_token", "the credentials are not valid")
	errLoginUnavailable  = domain.Errorf(domain.KindUnauthenticated, "login_unavailable", "this tenant does not accept logins now")
	errProviderError     = domain.Errorf(domain.KindUnauthenticated, "provider_refused", "the identity provider did not authenticate you")
	errIssuerMismatch    = domain.Errorf(domain.KindUnauthenticated, "issuer_mismatch", "the authorization response came from another issuer")
	errLoginNotSupported = domain.Errorf(domain.KindPrecondition, "login_not_configured", "browser login is not configured on this server")
)

// IdentityAuth authenticates bearer JWTs (against the tenant's provider or
// the platform's) and session cookies.
//
// A token whose signature and claims were verified is remembered, for the
// provider that verified it, until it expires (at most VerifiedTTL): the RSA
// check is a quarter of a small request's CPU. Only the verification is
// remembered; the principal — user, roles, memberships — is read at every
// request, so role changes apply at once.
type IdentityAuth struct {
	IDs  *identity.Service
	OIDC OIDC

	verified domain.Memo[[sha256.Size]byte, identity.Identity]
	// peeked: a token's unverified iss and exp, decoded once per token
	// rather than at every request.
	peeked domain.Memo[[sha256.Size]byte, peek]
}

type peek struct {
	iss string
	exp time.Time
}

// presented is a bearer token with its hash, computed once a request: the
// memos of peeked and verified tokens are keyed by it.
type presented struct {
	raw  string
	hash [sha256.Size]byte
}

func bearerOf(tok string) presented { return presented{tok, sha256.Sum256([]byte(tok))} }

// VerifiedTTL bounds how long a verified token is trusted without checking
// its signature again (a key withdrawn by the provider stops being trusted
// within it).
const VerifiedTTL = 5 * time.Minute

// verifiedKey names tok (by its hash) as verified by p.
func verifiedKey(p *identity.Provider, tokHash [sha256.Size]byte) [sha256.Size]byte {
	return sha256.Sum256([]byte(p.Issuer + "\x00" + p.Audience + "\x00" + string(tokHash[:])))
}

// peekOnce is peekClaims remembered per token until its exp (at most
// VerifiedTTL): what it returns only chooses a verifier and bounds a memo,
// so remembering it trusts nothing.
func (a *IdentityAuth) peekOnce(tok presented) (string, time.Time, error) {
	now := time.Now()
	if p, ok := a.peeked.Get(tok.hash, now); ok {
		return p.iss, p.exp, nil
	}
	iss, exp, err := peekClaims(tok.raw)
	if err == nil {
		until := now.Add(VerifiedTTL)
		if exp.Before(until) {
			until = exp
		}
		a.peeked.Put(tok.hash, peek{iss, exp}, until)
	}
	return iss, exp, err
}

// verify checks tok with p, or finds it verified already.
func (a *IdentityAuth) verify(ctx context.Context, p *identity.Provider, tok presented, exp time.Time) (identity.Identity, error) {
	key, now := verifiedKey(p, tok.hash), time.Now()
	if id, ok := a.verified.Get(key, now); ok {
		return id, nil
	}
	id, err := a.OIDC.VerifyBearer(ctx, p, tok.raw)
	if err != nil {
		return id, err
	}
	until := now.Add(VerifiedTTL)
	if exp.Before(until) {
		until = exp
	}
	a.verified.Put(key, id, until)
	return id, nil
}

// Authenticate implements Authenticator.
func (a *IdentityAuth) Authenticate(ctx context.Context, r *http.Request, tenant uuid.UUID) (domain.Principal, bool, error) {
	if raw, ok := bearerToken(r); ok {
		if strings.Count(raw, ".") != 2 {
			return domain.Principal{}, false, nil // not a JWT: another authenticator's
		}
		tok := bearerOf(raw)
		iss, exp, err := a.peekOnce(tok)
		if err != nil {
			return domain.Principal{}, false, err
		}
		realm, prov, err := a.realmOf(ctx, tenant, iss)
		if err != nil {
			return domain.Principal{}, false, err
		}
		id, err := a.verify(ctx, prov, tok, exp)
		if err != nil {
			return domain.Principal{}, false, err
		}
		p, err := a.IDs.BearerPrincipal(ctx, realm, tenant, prov, id)
		return p, err == nil, err
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return domain.Principal{}, false, nil
	}
	p, err := a.IDs.SessionPrincipal(ctx, c.Value, tenant)
	return p, err == nil, err
}

// realmOf picks the provider whose issuer the token names: the tenant's own,
// or the platform's. Any other issuer is refused before verification.
func (a *IdentityAuth) realmOf(ctx context.Context, tenant uuid.UUID, iss string) (uuid.UUID, *identity.Provider, error) {
	if tenant != uuid.Nil {
		if prov, err := a.IDs.ProviderFor(ctx, tenant); err == nil && prov.Issuer == iss {
			return tenant, prov, nil
		}
	}
	if prov, err := a.IDs.ProviderFor(ctx, uuid.Nil); err == nil && prov.Issuer == iss {
		return uuid.Nil, prov, nil
	}
	return uuid.Nil, nil, errors.New("token of an issuer this route does not trust")
}

func bearerToken(r *http.Request) (string, bool) {
	scheme, tok, found := strings.Cut(r.Header.Get("Authorization"), " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(tok), true
}

// peekClaims reads iss and exp from an unverified JWT: iss only chooses the
// verifier; exp bounds how long the token is remembered once verified.
func peekClaims(tok string) (string, time.Time, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || len(parts[1]) > 16<<10 {
		return "", time.Time{}, errors.New("malformed token")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", time.Time{}, errors.New("malformed token payload")
	}
	var claims struct {
		Iss string  `json:"iss"`
		Exp float64 `json:"exp"`
	}
	if err := json.Unmarshal(raw, &claims); err != nil || claims.Iss == "" {
		return "", time.Time{}, errors.New("token without issuer")
	}
	return claims.Iss, time.Unix(int64(claims.Exp), 0), nil
}

type redirectOutput struct {
	Status   int
	Location string        `header:"Location"`
	Cookies  []http.Cookie `header:"Set-Cookie"`
	Cache    string        `header:"Cache-Control"`
}

type LoginInput struct {
	ReturnTo string `query:"return_to" maxLength:"2000" doc:"A path on this service to land on after login (default /)"`
}

type CallbackInput struct {
	Code             string `query:"code" maxLength:"4096"`
	State            string `query:"state" maxLength:"200"`
	Iss              string `query:"iss" maxLength:"512" doc:"RFC 9207 issuer identification"`
	Error            string `query:"error" maxLength:"200"`
	ErrorDescription string `query:"error_description" maxLength:"2000"`
	Binding          string `cookie:"__Host-coprod_login"`
}

type LogoutInput struct {
	Session string `cookie:"__Host-coprod_session"`
}

type logoutOutput struct {
	Cookies []http.Cookie `header:"Set-Cookie"`
	Body    struct {
		EndSessionURL string `json:"endSessionUrl,omitempty" doc:"Send the browser here to end the session at the identity provider too"`
	}
}

func (s *Server) cookie(name, value string, maxAge int) http.Cookie {
	return http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode}
}

func (s *Server) redirectURI(tenantPath string) string {
	return s.cfg.PublicURL + tenantPath + "/auth/callback"
}

// realmPath is the route prefix of a realm's auth routes.
func realmPath(t *tenants.Tenant) string {
	if t == nil {
		return "/v1"
	}
	return "/v1/tenants/" + t.Slug
}

// loginRealm resolves the tenant of a tenant login; a tenant that is not
// active cannot log anyone in.
func (s *Server) loginRealm(ctx context.Context, ref string) (*tenants.Tenant, error) {
	if ref == "" {
		return nil, nil
	}
	t, err := s.tenants.Resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	if t.Status != tenants.StatusActive {
		return nil, errLoginUnavailable
	}
	return t, nil
}

func realmID(t *tenants.Tenant) uuid.UUID {
	if t == nil {
		return uuid.Nil
	}
	return t.ID
}

func (s *Server) login(ctx context.Context, ref, returnTo string) (*redirectOutput, error) {
	if s.ids == nil || s.oidc == nil {
		return nil, s.problem(ctx, errLoginNotSupported)
	}
	t, err := s.loginRealm(ctx, ref)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	prov, err := s.ids.ProviderFor(ctx, realmID(t))
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	binding := identity.NewSecret()
	st, err := s.ids.BeginLogin(ctx, realmID(t), returnTo, binding)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	u, err := s.oidc.AuthCodeURL(ctx, prov, s.redirectURI(realmPath(t)), st.State, st.Nonce, st.Verifier)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	return &redirectOutput{Status: http.StatusFound, Location: u, Cache: "no-store",
		Cookies: []http.Cookie{s.cookie(loginCookie, binding, 600)}}, nil
}

func (s *Server) callback(ctx context.Context, ref string, in *CallbackInput) (*redirectOutput, error) {
	if s.ids == nil || s.oidc == nil {
		return nil, s.problem(ctx, errLoginNotSupported)
	}
	t, err := s.loginRealm(ctx, ref)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	realm := realmID(t)
	// The attempt is consumed first, whatever happens next: a state works once.
	att, err := s.ids.TakeLogin(ctx, realm, in.State, in.Binding)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	prov, err := s.ids.ProviderFor(ctx, realm)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	if in.Error != "" {
		s.log.InfoContext(ctx, "provider refused login", "error", in.Error)
		return nil, s.problem(ctx, errProviderError)
	}
	md, err := s.oidc.Metadata(ctx, prov.Issuer)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	// RFC 9207: when the provider sends iss, it must be this realm's issuer;
	// when it advertises support, iss is mandatory (mix-up attacks).
	if (in.Iss != "" || md.IssParameterSupported) && in.Iss != prov.Issuer {
		return nil, s.problem(ctx, errIssuerMismatch)
	}
	id, idToken, err := s.oidc.Exchange(ctx, prov, s.redirectURI(realmPath(t)), in.Code, att.Verifier, att.Nonce)
	if err != nil {
		s.log.InfoContext(ctx, "login refused", "reason", err.Error())
		return nil, s.problem(ctx, errProviderError)
	}
	raw, _, err := s.ids.CompleteLogin(ctx, realm, prov, id, idToken)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	return &redirectOutput{Status: http.StatusSeeOther, Location: s.cfg.PublicURL + att.ReturnTo, Cache: "no-store",
		Cookies: []http.Cookie{s.cookie(SessionCookie, raw, int(s.cfg.SessionMaxAge.Seconds())), s.cookie(loginCookie, "", -1)}}, nil
}

func (s *Server) logout(ctx context.Context, ref string, in *LogoutInput) (*logoutOutput, error) {
	if s.ids == nil {
		return nil, s.problem(ctx, errLoginNotSupported)
	}
	out := &logoutOutput{Cookies: []http.Cookie{s.cookie(SessionCookie, "", -1)}}
	sess, err := s.ids.Logout(ctx, in.Session)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	if sess == nil || s.oidc == nil {
		return out, nil
	}
	prov, err := s.ids.ProviderFor(ctx, sess.Realm)
	if err != nil {
		return out, nil // logged out here; the provider's session is its own
	}
	if md, err := s.oidc.Metadata(ctx, prov.Issuer); err == nil && md.EndSessionEndpoint != "" {
		u, err := url.Parse(md.EndSessionEndpoint)
		if err == nil {
			q := u.Query()
			q.Set("client_id", prov.ClientID)
			if sess.IDToken != "" {
				q.Set("id_token_hint", sess.IDToken)
			}
			q.Set("post_logout_redirect_uri", s.cfg.PublicURL+"/")
			u.RawQuery = q.Encode()
			out.Body.EndSessionURL = u.String()
		}
	}
	return out, nil
}

// Provider settings as the API shows them: never the secret.
type ProviderSettings struct {
	Issuer              string              `json:"issuer" format:"uri" maxLength:"512" example:"https://login.comune.milano.it/realms/staff"`
	ClientID            string              `json:"clientId" maxLength:"512"`
	ClientSecret        string              `json:"clientSecret,omitempty" writeOnly:"true" maxLength:"512" doc:"Write-only; omit to keep the stored one"`
	Scopes              []string            `json:"scopes,omitempty" maxItems:"20"`
	Audience            string              `json:"audience" maxLength:"512" doc:"Audience that API access tokens must carry"`
	EmailClaim          string              `json:"emailClaim,omitempty" maxLength:"100"`
	NameClaim           string              `json:"nameClaim,omitempty" maxLength:"100"`
	GroupsClaim         string              `json:"groupsClaim,omitempty" maxLength:"100"`
	GroupRoles          map[string][]string `json:"groupRoles,omitempty" doc:"Group (or role) value in the groups claim → coprod tenant roles"`
	AllowedEmailDomains []string            `json:"allowedEmailDomains,omitempty" maxItems:"50"`
	UpdatedAt           time.Time           `json:"updatedAt,omitempty" readOnly:"true"`
	Version             int                 `json:"version,omitempty" readOnly:"true"`
}

func providerOut(p *identity.Provider) ProviderSettings {
	roles := map[string][]string{}
	for g, rs := range p.Claims.GroupRoles {
		for _, r := range rs {
			roles[g] = append(roles[g], string(r))
		}
	}
	return ProviderSettings{Issuer: p.Issuer, ClientID: p.ClientID, Scopes: p.Scopes, Audience: p.Audience,
		EmailClaim: p.Claims.EmailClaim, NameClaim: p.Claims.NameClaim, GroupsClaim: p.Claims.GroupsClaim,
		GroupRoles: roles, AllowedEmailDomains: p.AllowedEmailDomains, UpdatedAt: p.UpdatedAt, Version: p.Version}
}

type providerOutput struct {
	ETag string `header:"ETag"`
	Body ProviderSettings
}

// MeOutput describes the caller.
type MeOutput struct {
	Body struct {
		UserID        *uuid.UUID     `json:"userId,omitempty"`
		Subject       string         `json:"subject"`
		Issuer        string         `json:"issuer,omitempty"`
		Name          string         `json:"name,omitempty"`
		Email         string         `json:"email,omitempty"`
		Locale        string         `json:"locale,omitempty" doc:"Language of e-mails: it or en; absent: the municipality's default"`
		TenantID      *uuid.UUID     `json:"tenantId,omitempty"`
		Roles         []string       `json:"roles"`
		Memberships   []MembershipIO `json:"memberships,omitempty"`
		Organisations []OrgRoles     `json:"organisations,omitempty" doc:"Organisations the caller acts for"`
		Tenants       []MeTenant     `json:"tenants,omitempty" doc:"Every tenant where the caller holds a role"`
	}
}

// PreferencesIO are a person's preferences.
type PreferencesIO struct {
	Locale string `json:"locale" enum:"it,en," doc:"Language of e-mails; empty: each municipality's default"`
}

// MembershipIO is one role held in the tenant.
type MembershipIO struct {
	Role   string `json:"role"`
	Source string `json:"source" enum:"claims,invitation,operator"`
}

// MeTenant is a tenant the caller belongs to.
type MeTenant struct {
	ID   uuid.UUID `json:"id"`
	Slug string    `json:"slug"`
	Name string    `json:"name"`
	Kind string    `json:"kind"`
}

// OrgRoles are the caller's roles in one organisation.
type OrgRoles struct {
	ID    uuid.UUID `json:"id"`
	Roles []string  `json:"roles"`
}

func (s *Server) me(ctx context.Context) (*MeOutput, error) {
	if s.ids == nil {
		return nil, s.problem(ctx, errLoginNotSupported)
	}
	me, err := s.ids.WhoAmI(ctx)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	out := &MeOutput{}
	b := &out.Body
	b.Subject, b.Roles = me.User.Subject, []string{}
	if me.User.ID != uuid.Nil {
		id := me.User.ID
		b.UserID, b.Issuer, b.Name, b.Email, b.Locale = &id, me.User.Issuer, me.User.Name, me.User.Email, me.User.Locale
	}
	if me.TenantID != uuid.Nil {
		id := me.TenantID
		b.TenantID = &id
	}
	for _, r := range me.Roles {
		b.Roles = append(b.Roles, string(r))
	}
	for id, roles := range me.Orgs {
		o := OrgRoles{ID: id}
		for _, r := range roles {
			o.Roles = append(o.Roles, string(r))
		}
		b.Organisations = append(b.Organisations, o)
	}
	for _, id := range me.Tenants {
		if t, err := s.tenants.Resolve(ctx, id.String()); err == nil {
			b.Tenants = append(b.Tenants, MeTenant{ID: t.ID, Slug: t.Slug, Name: t.Name, Kind: string(t.Kind)})
		}
	}
	slices.SortFunc(b.Organisations, func(a, c OrgRoles) int { return strings.Compare(a.ID.String(), c.ID.String()) })
	for _, m := range me.Memberships {
		b.Memberships = append(b.Memberships, MembershipIO{string(m.Role), m.Source})
	}
	return out, nil
}

func (s *Server) registerIdentity() {
	tags := []string{"Identity"}
	loginOp := func(realm, prefix string) huma.Operation {
		return huma.Operation{
			OperationID: "login-" + realm, Method: http.MethodGet, Path: prefix + "/auth/login", Tags: tags,
			Summary:     "Start a browser login with the " + realm + "'s identity provider",
			Description: "Redirects to the provider (authorization code with PKCE S256). State and nonce stay on the server, bound to this browser by a cookie.",
			Errors:      []int{401, 404, 409, 422},
		}
	}
	callbackOp := func(realm, prefix string) huma.Operation {
		return huma.Operation{
			OperationID: "login-callback-" + realm, Method: http.MethodGet, Path: prefix + "/auth/callback", Tags: tags,
			Summary: "Finish a browser login (the provider redirects here)", Errors: []int{401, 403, 404, 409},
		}
	}
	logoutOp := func(realm, prefix string) huma.Operation {
		return huma.Operation{
			OperationID: "logout-" + realm, Method: http.MethodPost, Path: prefix + "/auth/logout", Tags: tags,
			Summary: "End the browser session", Description: "Removes the session on the server; endSessionUrl, when present, ends it at the provider too.",
		}
	}
	huma.Register(s.api, loginOp("platform", "/v1"), func(ctx context.Context, in *LoginInput) (*redirectOutput, error) {
		return s.login(ctx, "", in.ReturnTo)
	})
	huma.Register(s.api, loginOp("tenant", "/v1/tenants/{tenant}"), func(ctx context.Context, in *struct {
		TenantPath
		LoginInput
	}) (*redirectOutput, error) {
		return s.login(ctx, in.Tenant, in.ReturnTo)
	})
	huma.Register(s.api, callbackOp("platform", "/v1"), func(ctx context.Context, in *CallbackInput) (*redirectOutput, error) {
		return s.callback(ctx, "", in)
	})
	huma.Register(s.api, callbackOp("tenant", "/v1/tenants/{tenant}"), func(ctx context.Context, in *struct {
		TenantPath
		CallbackInput
	}) (*redirectOutput, error) {
		return s.callback(ctx, in.Tenant, &in.CallbackInput)
	})
	huma.Register(s.api, logoutOp("platform", "/v1"), func(ctx context.Context, in *LogoutInput) (*logoutOutput, error) {
		return s.logout(ctx, "", in)
	})
	huma.Register(s.api, logoutOp("tenant", "/v1/tenants/{tenant}"), func(ctx context.Context, in *struct {
		TenantPath
		LogoutInput
	}) (*logoutOutput, error) {
		return s.logout(ctx, in.Tenant, &in.LogoutInput)
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "get-me", Method: http.MethodGet, Path: "/v1/me", Tags: tags, Security: bearer,
		Summary: "Who am I: identity and roles", Errors: []int{401},
	}, func(ctx context.Context, _ *struct{}) (*MeOutput, error) { return s.me(ctx) })
	huma.Register(s.api, huma.Operation{
		OperationID: "put-my-preferences", Method: http.MethodPut, Path: "/v1/me/preferences", Tags: tags, Security: bearer,
		Summary: "Set your language for e-mails (it, en, or empty for each municipality's default)", Errors: []int{401, 403, 422},
	}, func(ctx context.Context, in *struct{ Body PreferencesIO }) (*struct{ Body PreferencesIO }, error) {
		u, err := s.ids.SetLocale(ctx, in.Body.Locale)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &struct{ Body PreferencesIO }{PreferencesIO{Locale: u.Locale}}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "get-tenant-me", Method: http.MethodGet, Path: "/v1/tenants/{tenant}/me", Tags: tags, Security: bearer,
		Summary: "Who am I in this tenant: identity, roles and memberships", Errors: []int{401, 403, 404},
	}, func(ctx context.Context, in *TenantPath) (*MeOutput, error) {
		if _, err := s.enter(ctx, in.Tenant); err != nil {
			return nil, err
		}
		return s.me(ctx)
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "get-identity-provider", Method: http.MethodGet, Path: "/v1/tenants/{tenant}/identity-provider", Tags: tags,
		Security: bearer, Summary: "Read the tenant's identity-provider settings (never the secret)", Errors: []int{401, 403, 404, 409},
	}, func(ctx context.Context, in *TenantPath) (*providerOutput, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		p, err := s.ids.GetProvider(ctx, t.ID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &providerOutput{ETag: etag(p.Version), Body: providerOut(p)}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "put-identity-provider", Method: http.MethodPut, Path: "/v1/tenants/{tenant}/identity-provider", Tags: tags,
		Security: bearer, Summary: "Set the tenant's identity provider",
		Description: "Platform operator or tenant admin. The issuer's discovery document is fetched and must name exactly this issuer. The client secret is encrypted at rest and never returned.",
		Errors:      []int{401, 403, 404, 412, 422},
	}, func(ctx context.Context, in *struct {
		TenantPath
		IfMatch string `header:"If-Match"`
		Body    ProviderSettings
	}) (*providerOutput, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		v, err := ifMatch(in.IfMatch)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		b := in.Body
		roles := map[string][]domain.Role{}
		for g, rs := range b.GroupRoles {
			for _, r := range rs {
				roles[g] = append(roles[g], domain.Role(r))
			}
		}
		p, err := s.ids.SaveProvider(ctx, t.ID, identity.Provider{Issuer: b.Issuer, ClientID: b.ClientID, ClientSecret: b.ClientSecret,
			Scopes: b.Scopes, Audience: b.Audience, AllowedEmailDomains: b.AllowedEmailDomains,
			Claims: identity.ClaimMapping{EmailClaim: b.EmailClaim, NameClaim: b.NameClaim, GroupsClaim: b.GroupsClaim, GroupRoles: roles}}, v)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &providerOutput{ETag: etag(p.Version), Body: providerOut(p)}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "create-invitation", Method: http.MethodPost, Path: "/v1/tenants/{tenant}/invitations", Tags: tags,
		Security: bearer, Summary: "Invite someone by e-mail to a role in this tenant", DefaultStatus: http.StatusCreated,
		Description: "Accepted when the invitee first logs in to this tenant with that verified e-mail address.",
		Errors:      []int{401, 403, 404, 409, 422},
	}, func(ctx context.Context, in *struct {
		TenantPath
		Body struct {
			Email string `json:"email" format:"email" maxLength:"254"`
			Role  string `json:"role" enum:"tenant_admin,officer,evaluator,auditor,regional_analyst"`
		}
	}) (*struct {
		Body struct {
			ID        uuid.UUID `json:"id"`
			Email     string    `json:"email"`
			Role      string    `json:"role"`
			ExpiresAt time.Time `json:"expiresAt"`
		}
	}, error) {
		t, err := s.enter(ctx, in.Tenant)
		if err != nil {
			return nil, err
		}
		inv, err := s.ids.Invite(ctx, t.ID, in.Body.Email, domain.Role(in.Body.Role))
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &struct {
			Body struct {
				ID        uuid.UUID `json:"id"`
				Email     string    `json:"email"`
				Role      string    `json:"role"`
				ExpiresAt time.Time `json:"expiresAt"`
			}
		}{}
		out.Body.ID, out.Body.Email, out.Body.Role, out.Body.ExpiresAt = inv.ID, inv.Email, string(inv.Role), inv.ExpiresAt
		return out, nil
	})
}
