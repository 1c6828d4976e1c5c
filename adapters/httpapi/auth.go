package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
)

// authenticate asks each authenticator in turn; the first that recognises
// the credentials decides. Presented but invalid credentials answer 401
// at once, never fall back to anonymous. Each request is then charged to
// its rate limit (admit): by tenant, platform user or client address.
func (s *Server) authenticate(ctx huma.Context, next func(huma.Context)) {
	r, _ := humago.Unwrap(ctx)
	var tenant uuid.UUID
	if ref := ctx.Param("tenant"); ref != "" {
		// Resolution only: whether the caller may act there is the use case's
		// call. The store remembers tenants (ADR 0022), so a request the
		// limiter refuses costs no round trip.
		if t, err := s.tenants.Resolve(ctx.Context(), ref); err == nil {
			tenant = t.ID
			setLogTenant(ctx.Context(), t.Slug)
		}
	}
	for _, a := range s.auth {
		p, ok, err := a.Authenticate(ctx.Context(), r, tenant)
		if err != nil {
			if !s.admit(ctx, nil) {
				return
			}
			s.log.InfoContext(ctx.Context(), "authentication refused", "reason", err.Error())
			if domain.KindOf(err) == domain.KindUnauthenticated {
				s.writeErr(ctx, err) // session_invalid, wrong_realm: say which
			} else {
				s.writeErr(ctx, errInvalidToken)
			}
			return
		}
		if ok {
			if !s.admit(ctx, &p) {
				return
			}
			next(huma.WithContext(ctx, domain.WithPrincipal(ctx.Context(), p)))
			return
		}
	}
	if !s.admit(ctx, nil) {
		return
	}
	if r.Header.Get("Authorization") != "" {
		s.writeErr(ctx, errInvalidToken)
		return
	}
	// An operation that requires credentials refuses their absence before
	// its body is read or validated: an anonymous caller learns nothing from
	// 422s and costs no parsing.
	if op := ctx.Operation(); op != nil && len(op.Security) > 0 {
		s.writeErr(ctx, domain.ErrUnauthenticated)
		return
	}
	next(ctx)
}

// writeErr writes a use-case error from a middleware.
func (s *Server) writeErr(ctx huma.Context, err error) {
	p := s.problem(ctx.Context(), err).(*Problem)
	for k, vs := range p.header {
		for _, v := range vs {
			ctx.AppendHeader(k, v)
		}
	}
	ctx.SetHeader("Content-Type", "application/problem+json")
	ctx.SetStatus(p.Status)
	_ = jsonEncode(ctx.BodyWriter(), p)
}

// BootstrapToken authenticates the platform operator by a shared secret
// from the environment, for first set-up only: once per-tenant login is
// configured, operators should log in through the platform's provider.
type BootstrapToken struct {
	sum [sha256.Size]byte
}

// NewBootstrapToken returns nil for an empty token: no bootstrap access.
func NewBootstrapToken(token string) *BootstrapToken {
	if token == "" {
		return nil
	}
	return &BootstrapToken{sum: sha256.Sum256([]byte(token))}
}

// Authenticate compares hashes in constant time, so neither the token's
// content nor its length leaks through timing. The token is never logged.
func (b *BootstrapToken) Authenticate(_ context.Context, r *http.Request, _ uuid.UUID) (domain.Principal, bool, error) {
	scheme, tok, found := strings.Cut(r.Header.Get("Authorization"), " ")
	if !found || !strings.EqualFold(scheme, "Bearer") || strings.Count(tok, ".") == 2 { // JWTs go to the OIDC authenticator
		return domain.Principal{}, false, nil
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	if subtle.ConstantTimeCompare(sum[:], b.sum[:]) != 1 {
		return domain.Principal{}, false, nil
	}
	return domain.Principal{Subject: "bootstrap-operator", Roles: []domain.Role{domain.RolePlatformOperator}}, true, nil
}
