package httpapi

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coprod/coprod/domain/identity"
)

// countingOIDC verifies a token by name and counts the verifications.
type countingOIDC struct {
	OIDC
	calls atomic.Int32
}

func (c *countingOIDC) VerifyBearer(_ context.Context, _ *identity.Provider, tok string) (identity.Identity, error) {
	c.calls.Add(1)
	if tok == "bad" {
		return identity.Identity{}, errors.New("bad signature")
	}
	return identity.Identity{Issuer: "https://idp.example", Subject: tok}, nil
}

// A verified token is not verified again until it expires (or VerifiedTTL
// passes), for the same provider only; a refused one is never remembered.
func TestVerifiedTokensRemembered(t *testing.T) {
	oidc := &countingOIDC{}
	a := &IdentityAuth{OIDC: oidc}
	milano := &identity.Provider{Issuer: "https://idp.example", Audience: "coprod-milano-api"}
	bergamo := &identity.Provider{Issuer: "https://idp.example", Audience: "coprod-bergamo-api"}
	ctx := t.Context()
	later := time.Now().Add(time.Hour)
	for range 3 {
		if id, err := a.verify(ctx, milano, bearerOf("anna"), later); err != nil || id.Subject != "anna" {
			t.Fatalf("verify: %+v %v", id, err)
		}
	}
	if n := oidc.calls.Load(); n != 1 {
		t.Errorf("3 uses of one token: %d verifications, want 1", n)
	}
	// Another provider (another audience) verifies it itself.
	if _, err := a.verify(ctx, bergamo, bearerOf("anna"), later); err != nil || oidc.calls.Load() != 2 {
		t.Errorf("another provider: %v, %d verifications", err, oidc.calls.Load())
	}
	// A token whose exp has passed is verified again (and the verifier refuses expired tokens).
	for range 2 {
		_, _ = a.verify(ctx, milano, bearerOf("gone"), time.Now().Add(-time.Second))
	}
	if n := oidc.calls.Load(); n != 4 {
		t.Errorf("an expired token: %d verifications in all, want 4", n)
	}
	// A refused token is refused every time.
	for range 2 {
		if _, err := a.verify(ctx, milano, bearerOf("bad"), later); err == nil {
			t.Fatal("a bad token was accepted")
		}
	}
	if n := oidc.calls.Load(); n != 6 {
		t.Errorf("a refused token: %d verifications in all, want 6", n)
	}
}
