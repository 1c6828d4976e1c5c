package oidc

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// env is one tenant's IdP (keys key1, key2, ec1, ed1) and a Verifier for it.
type env struct {
	clk *fakeClock
	idp *testIdP
	v   *Verifier
}

func newEnv(t *testing.T) *env {
	t.Helper()
	k := keys()
	clk := newClock()
	idp := newIdP(t, k.key1, k.key2, k.ec1, k.ed1)
	return &env{clk: clk, idp: idp, v: newTestVerifier(t, idp, clk)}
}

// claims returns valid claims for e, modified by mutate.
func (e *env) claims(mutate func(c map[string]any)) map[string]any {
	c := validClaims(e.idp.issuer, testAudience, e.clk.Now())
	if mutate != nil {
		mutate(c)
	}
	return c
}

func (e *env) unix(d time.Duration) int64 { return e.clk.Now().Add(d).Unix() }

func mustMarshalPKIX(t testing.TB, k testKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(k.public().Key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// flipSignatureByte corrupts the signature of a compact JWS.
func flipSignatureByte(t testing.TB, raw string) string {
	t.Helper()
	i := strings.LastIndexByte(raw, '.')
	sig, err := base64.RawURLEncoding.DecodeString(raw[i+1:])
	if err != nil {
		t.Fatal(err)
	}
	sig[len(sig)/2] ^= 0x01
	return raw[:i+1] + base64.RawURLEncoding.EncodeToString(sig)
}

// otherIdP starts a second tenant's IdP publishing pub, and a Verifier for
// it with e's clock and the same audience.
func otherIdP(t *testing.T, e *env, pub ...testKey) (*Verifier, error) {
	idp := newIdP(t, pub...)
	return NewVerifier(context.Background(), VerifierConfig{
		Issuer: idp.issuer, Audience: testAudience, Now: e.clk.Now,
	})
}

// TestVerifyRefuses: every token here must be refused, with an error that
// wraps the right sentinel and does not contain the token.
func TestVerifyRefuses(t *testing.T) {
	t.Parallel()
	k := keys()
	cases := []struct {
		name string
		// verifier replaces e.v; an error from it counts as the refusal.
		verifier func(t *testing.T, e *env) (*Verifier, error)
		token    func(t *testing.T, e *env) string
		wantIs   error // default ErrInvalidToken
		// fetches is the expected FetchCount afterwards (0: not checked).
		// The cache is warm and the rate limit has expired, so 2 means the
		// token caused a re-fetch and 1 means it did not.
		fetches int
	}{
		{
			name: "wrong issuer",
			token: func(t *testing.T, e *env) string {
				return k.key1.sign(t, e.claims(func(c map[string]any) { c["iss"] = "https://evil.example/realms/town" }))
			},
			fetches: 1,
		},
		{
			name: "issuer differs by a trailing slash",
			token: func(t *testing.T, e *env) string {
				return k.key1.sign(t, e.claims(func(c map[string]any) { c["iss"] = e.idp.issuer + "/" }))
			},
			fetches: 1,
		},
		{
			name: "discovery document names another issuer",
			verifier: func(t *testing.T, e *env) (*Verifier, error) {
				idp := newIdP(t, k.key1)
				idp.discoveryIssuer = e.idp.issuer // a different tenant's issuer
				return NewVerifier(context.Background(), VerifierConfig{Issuer: idp.issuer, Audience: testAudience, Now: e.clk.Now})
			},
			wantIs: ErrDiscovery,
		},
		{
			name: "discovery issuer differs by a trailing slash",
			verifier: func(t *testing.T, e *env) (*Verifier, error) {
				idp := newIdP(t, k.key1)
				idp.discoveryIssuer = idp.issuer + "/"
				return NewVerifier(context.Background(), VerifierConfig{Issuer: idp.issuer, Audience: testAudience, Now: e.clk.Now})
			},
			wantIs: ErrDiscovery,
		},
		{
			name: "wrong audience",
			token: func(t *testing.T, e *env) string {
				return k.key1.sign(t, e.claims(func(c map[string]any) { c["aud"] = "other-client" }))
			},
			fetches: 1,
		},
		{
			name: "audience array without ours",
			token: func(t *testing.T, e *env) string {
				return k.key1.sign(t, e.claims(func(c map[string]any) { c["aud"] = []string{"a", "coprod-api-x", "b"} }))
			},
			fetches: 1,
		},
		{
			name: "no audience",
			token: func(t *testing.T, e *env) string {
				return k.key1.sign(t, e.claims(func(c map[string]any) { delete(c, "aud") }))
			},
		},
		{
			name: "expired by one second",
			token: func(t *testing.T, e *env) string {
				return k.key1.sign(t, e.claims(func(c map[string]any) { c["exp"] = e.unix(-time.Second) }))
			},
			fetches: 1,
		},
		{
			name: "expires exactly now",
			token: func(t *testing.T, e *env) string {
				return k.key1.sign(t, e.claims(func(c map[string]any) { c["exp"] = e.unix(0) }))
			},
		},
		{
			name: "no exp",
			token: func(t *testing.T, e *env) string {
				return k.key1.sign(t, e.claims(func(c map[string]any) { delete(c, "exp") }))
			},
		},
		{
			name: "nbf 2 minutes in the future",
			token: func(t *testing.T, e *env) string {
				return k.key1.sign(t, e.claims(func(c map[string]any) { c["nbf"] = e.unix(2 * time.Minute) }))
			},
			fetches: 1,
		},
		{
			name: "nbf just beyond the clock skew",
			token: func(t *testing.T, e *env) string {
				return k.key1.sign(t, e.claims(func(c map[string]any) { c["nbf"] = e.unix(31 * time.Second) }))
			},
		},
		{
			name: "iat 2 minutes in the future",
			token: func(t *testing.T, e *env) string {
				return k.key1.sign(t, e.claims(func(c map[string]any) { c["iat"] = e.unix(2 * time.Minute) }))
			},
		},
		{
			name: "alg none",
			token: func(t *testing.T, e *env) string {
				return unsignedToken(map[string]any{"alg": "none", "typ": "JWT", "kid": "key1"}, e.claims(nil))
			},
			fetches: 1,
		},
		{
			name: "alg none without kid",
			token: func(t *testing.T, e *env) string {
				return unsignedToken(map[string]any{"alg": "none"}, e.claims(nil))
			},
			fetches: 1,
		},
		{
			name: "HS256 keyed with the RSA public key (PEM)",
			token: func(t *testing.T, e *env) string {
				pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: mustMarshalPKIX(t, k.key1)})
				return signToken(t, jose.HS256, pemKey, "key1", e.claims(nil), nil)
			},
			fetches: 1,
		},
		{
			name: "HS256 keyed with the RSA public key (DER)",
			token: func(t *testing.T, e *env) string {
				return signToken(t, jose.HS256, mustMarshalPKIX(t, k.key1), "key1", e.claims(nil), nil)
			},
			fetches: 1,
		},
		{
			name: "unknown kid",
			token: func(t *testing.T, e *env) string {
				return signToken(t, jose.RS256, k.key1.priv, "no-such-key", e.claims(nil), nil)
			},
			wantIs:  ErrUnknownKey,
			fetches: 2,
		},
		{
			name: "bad signature",
			token: func(t *testing.T, e *env) string {
				return flipSignatureByte(t, k.key1.sign(t, e.claims(nil)))
			},
			fetches: 1,
		},
		{
			name: "bad ES256 signature",
			token: func(t *testing.T, e *env) string {
				return flipSignatureByte(t, k.ec1.sign(t, e.claims(nil)))
			},
			fetches: 1,
		},
		{
			name: "valid signature by a foreign key under a published kid",
			token: func(t *testing.T, e *env) string {
				return signToken(t, jose.RS256, k.attacker.priv, "key1", e.claims(nil), nil)
			},
			fetches: 1,
		},
		{
			name: "foreign key embedded as jwk header",
			token: func(t *testing.T, e *env) string {
				return signToken(t, jose.RS256, k.attacker.priv, "", e.claims(nil), &jose.SignerOptions{EmbedJWK: true})
			},
			fetches: 2,
		},
		{
			name: "RS256 under the kid of the EC key",
			token: func(t *testing.T, e *env) string {
				return signToken(t, jose.RS256, k.key1.priv, "ec1", e.claims(nil), nil)
			},
			fetches: 1,
		},
		{
			name: "ES384 with a P-256 key",
			token: func(t *testing.T, e *env) string {
				return unsignedToken(map[string]any{"alg": "ES384", "kid": "ec1"}, e.claims(nil)) + strings.Repeat("A", 128)
			},
			fetches: 1,
		},
		{
			name: "PS256 with a key pinned to RS256",
			token: func(t *testing.T, e *env) string {
				return signToken(t, jose.PS256, k.key1.priv, "key1", e.claims(nil), nil)
			},
			fetches: 1,
		},
		{
			name: "issuer A's token at issuer B (B has other keys under the same kids)",
			verifier: func(t *testing.T, e *env) (*Verifier, error) {
				return otherIdP(t, e, testKey{kid: "key1", jwkAlg: "RS256", priv: k.key3.priv})
			},
			token: func(t *testing.T, e *env) string { return k.key1.sign(t, e.claims(nil)) },
		},
		{
			name: "issuer A's token at issuer B (B publishes the same keys)",
			verifier: func(t *testing.T, e *env) (*Verifier, error) {
				return otherIdP(t, e, k.key1, k.key2, k.ec1)
			},
			token: func(t *testing.T, e *env) string { return k.key1.sign(t, e.claims(nil)) },
		},
		{
			name: "missing sub",
			token: func(t *testing.T, e *env) string {
				return k.key1.sign(t, e.claims(func(c map[string]any) { delete(c, "sub") }))
			},
		},
		{
			name: "empty sub",
			token: func(t *testing.T, e *env) string {
				return k.key1.sign(t, e.claims(func(c map[string]any) { c["sub"] = "" }))
			},
		},
		{
			name:  "empty string",
			token: func(t *testing.T, e *env) string { return "" },
		},
		{
			name:  "garbage",
			token: func(t *testing.T, e *env) string { return "Bearer not-a-jwt" },
		},
		{
			name:  "three garbage parts",
			token: func(t *testing.T, e *env) string { return "eyJ.eyJ.eyJ" },
		},
		{
			name: "JWS JSON serialisation",
			token: func(t *testing.T, e *env) string {
				signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: k.key1.priv, KeyID: "key1"}}, nil)
				if err != nil {
					t.Fatal(err)
				}
				jws, err := signer.Sign(mustJSON(e.claims(nil)))
				if err != nil {
					t.Fatal(err)
				}
				return jws.FullSerialize()
			},
		},
		{
			name:  "oversized",
			token: func(t *testing.T, e *env) string { return strings.Repeat("a", maxTokenBytes+1) },
		},
		{
			name: "groups claim is a number",
			token: func(t *testing.T, e *env) string {
				return k.key1.sign(t, e.claims(func(c map[string]any) { c["groups"] = 7 }))
			},
		},
		{
			name: "groups array contains an object",
			token: func(t *testing.T, e *env) string {
				return k.key1.sign(t, e.claims(func(c map[string]any) { c["groups"] = []any{"a", map[string]any{"b": 1}} }))
			},
		},
		{
			name: "email claim is not a string",
			token: func(t *testing.T, e *env) string {
				return k.key1.sign(t, e.claims(func(c map[string]any) { c["email"] = []string{"a@b.example"} }))
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			ctx := context.Background()
			// Warm the key cache, then move past the refresh limit so that
			// a token that could trigger a re-fetch would do so.
			if _, err := e.v.Verify(ctx, k.key1.sign(t, e.claims(nil))); err != nil {
				t.Fatalf("warm-up: %v", err)
			}
			e.clk.Advance(time.Minute)

			v, err := e.v, error(nil)
			if tc.verifier != nil {
				v, err = tc.verifier(t, e)
			}
			var raw string
			if err == nil {
				if tc.token == nil {
					t.Fatal("NewVerifier succeeded; want failure")
				}
				raw = tc.token(t, e)
				var c *Claims
				c, err = v.Verify(ctx, raw)
				if err == nil {
					t.Fatalf("token accepted: %+v", c)
				}
			}
			t.Logf("refused: %v", err)
			want := tc.wantIs
			if want == nil {
				want = ErrInvalidToken
			}
			if !errors.Is(err, want) {
				t.Fatalf("error = %v; want errors.Is %v", err, want)
			}
			msg := err.Error()
			if raw != "" && strings.Contains(msg, raw) {
				t.Fatalf("error contains the token: %s", msg)
			}
			if parts := strings.Split(raw, "."); len(parts) == 3 && len(parts[2]) > 8 && strings.Contains(msg, parts[2]) {
				t.Fatalf("error contains the token signature: %s", msg)
			}
			if tc.fetches != 0 {
				if got := e.v.KeySet().FetchCount(); got != tc.fetches {
					t.Fatalf("FetchCount = %d, want %d", got, tc.fetches)
				}
			}
		})
	}
}

// TestVerifyAccepts: valid tokens in their various legitimate shapes.
func TestVerifyAccepts(t *testing.T) {
	t.Parallel()
	k := keys()
	cases := []struct {
		name  string
		cfg   func(c *VerifierConfig)
		token func(t *testing.T, e *env) string
		check func(t *testing.T, e *env, c *Claims)
	}{
		{
			name:  "RS256 with kid",
			token: func(t *testing.T, e *env) string { return k.key1.sign(t, e.claims(nil)) },
			check: func(t *testing.T, e *env, c *Claims) {
				want := Claims{
					Issuer: e.idp.issuer, Subject: "user-42", Audience: testAudience,
					Email: "anna@comune.example", EmailVerified: true, Name: "Anna Rossi",
					Groups: []string{"protocollo", "anagrafe"},
					Expiry: e.clk.Now().Add(5 * time.Minute),
				}
				got := *c
				got.Raw = nil
				if !got.Expiry.Equal(want.Expiry) {
					t.Fatalf("Expiry = %v, want %v", got.Expiry, want.Expiry)
				}
				got.Expiry = want.Expiry
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("claims = %+v\nwant %+v", got, want)
				}
				if c.Raw["sub"] != "user-42" || c.Raw["name"] != "Anna Rossi" {
					t.Fatalf("Raw = %v", c.Raw)
				}
			},
		},
		{
			name: "RS256 without kid (every compatible key is tried)",
			token: func(t *testing.T, e *env) string {
				return signToken(t, jose.RS256, k.key2.priv, "", e.claims(nil), nil)
			},
		},
		{
			name: "PS256 with a key without alg",
			token: func(t *testing.T, e *env) string {
				return signToken(t, jose.PS256, k.key2.priv, "key2", e.claims(nil), nil)
			},
		},
		{
			name:  "ES256",
			token: func(t *testing.T, e *env) string { return k.ec1.sign(t, e.claims(nil)) },
		},
		{
			name:  "EdDSA",
			token: func(t *testing.T, e *env) string { return k.ed1.sign(t, e.claims(nil)) },
		},
		{
			name: "expires in one second",
			token: func(t *testing.T, e *env) string {
				return k.key1.sign(t, e.claims(func(c map[string]any) { c["exp"] = e.unix(time.Second) }))
			},
		},
		{
			name: "nbf and iat within the clock skew",
			token: func(t *testing.T, e *env) string {
				return k.key1.sign(t, e.claims(func(c map[string]any) {
					c["nbf"], c["iat"] = e.unix(30*time.Second), e.unix(20*time.Second)
				}))
			},
		},
		{
			name: "no nbf, no iat",
			token: func(t *testing.T, e *env) string {
				return k.key1.sign(t, e.claims(func(c map[string]any) { delete(c, "nbf"); delete(c, "iat") }))
			},
		},
		{
			name: "groups as array",
			token: func(t *testing.T, e *env) string {
				return k.key1.sign(t, e.claims(func(c map[string]any) { c["groups"] = []string{"giunta", "", "tributi"} }))
			},
			check: func(t *testing.T, e *env, c *Claims) {
				if !reflect.DeepEqual(c.Groups, []string{"giunta", "tributi"}) {
					t.Fatalf("Groups = %q", c.Groups)
				}
			},
		},
		{
			name: "groups as a single string",
			token: func(t *testing.T, e *env) string {
				return k.key1.sign(t, e.claims(func(c map[string]any) { c["groups"] = "giunta" }))
			},
			check: func(t *testing.T, e *env, c *Claims) {
				if !reflect.DeepEqual(c.Groups, []string{"giunta"}) {
					t.Fatalf("Groups = %q", c.Groups)
				}
			},
		},
		{
			name: "no groups claim",
			token: func(t *testing.T, e *env) string {
				return k.key1.sign(t, e.claims(func(c map[string]any) { delete(c, "groups") }))
			},
			check: func(t *testing.T, e *env, c *Claims) {
				if len(c.Groups) != 0 {
					t.Fatalf("Groups = %q", c.Groups)
				}
			},
		},
		{
			name: "audience array containing ours",
			token: func(t *testing.T, e *env) string {
				return k.key1.sign(t, e.claims(func(c map[string]any) { c["aud"] = []string{"account", testAudience} }))
			},
			check: func(t *testing.T, e *env, c *Claims) {
				if c.Audience != testAudience {
					t.Fatalf("Audience = %q", c.Audience)
				}
			},
		},
		{
			name: "configured claim names",
			cfg: func(c *VerifierConfig) {
				c.EmailClaim, c.NameClaim, c.GroupsClaim = "mail", "display_name", "roles"
			},
			token: func(t *testing.T, e *env) string {
				return k.key1.sign(t, e.claims(func(c map[string]any) {
					c["mail"], c["display_name"], c["roles"] = "uff@comune.example", "Ufficio Tributi", []string{"tributi"}
					c["email_verified"] = "true" // as some IdPs send it
				}))
			},
			check: func(t *testing.T, e *env, c *Claims) {
				if c.Email != "uff@comune.example" || c.Name != "Ufficio Tributi" || !c.EmailVerified ||
					!reflect.DeepEqual(c.Groups, []string{"tributi"}) {
					t.Fatalf("claims = %+v", c)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			if tc.cfg != nil {
				cfg := VerifierConfig{Issuer: e.idp.issuer, Audience: testAudience, Now: e.clk.Now}
				tc.cfg(&cfg)
				v, err := NewVerifier(context.Background(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				e.v = v
			}
			c, err := e.v.Verify(context.Background(), tc.token(t, e))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if c.Subject != "user-42" || c.Issuer != e.idp.issuer {
				t.Fatalf("claims = %+v", c)
			}
			if tc.check != nil {
				tc.check(t, e, c)
			}
		})
	}
}

func TestNewVerifierConfigErrors(t *testing.T) {
	t.Parallel()
	idp := newIdP(t, keys().key1)
	// A discovery document whose jwks_uri is plain http on a public host.
	var insecureIssuer string
	insecure := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(mustJSON(map[string]any{"issuer": insecureIssuer, "jwks_uri": "http://idp.example/certs"}))
	}))
	t.Cleanup(insecure.Close)
	insecureIssuer = insecure.URL
	cases := []struct {
		name string
		cfg  VerifierConfig
	}{
		{"no issuer", VerifierConfig{Audience: testAudience}},
		{"no audience", VerifierConfig{Issuer: idp.issuer}},
		{"plain-http issuer", VerifierConfig{Issuer: "http://idp.example/realms/town", Audience: testAudience}},
		{"plain-http JWKS URL", VerifierConfig{Issuer: idp.issuer, Audience: testAudience, JWKSURL: "http://idp.example/certs"}},
		{"negative clock skew", VerifierConfig{Issuer: idp.issuer, Audience: testAudience, ClockSkew: -time.Second}},
		{"no discovery document", VerifierConfig{Issuer: idp.srv.URL + "/nowhere", Audience: testAudience}},
		{"discovery points at plain-http JWKS", VerifierConfig{Issuer: insecureIssuer, Audience: testAudience}},
	}
	for _, tc := range cases {
		v, err := NewVerifier(context.Background(), tc.cfg)
		if err == nil {
			t.Errorf("%s: NewVerifier succeeded (%p)", tc.name, v)
			continue
		}
		t.Logf("%s: %v", tc.name, err)
	}
}

// TestVerifierExplicitJWKSURL: with JWKSURL set there is no discovery.
func TestVerifierExplicitJWKSURL(t *testing.T) {
	t.Parallel()
	k := keys()
	clk := newClock()
	idp := newIdP(t, k.key1)
	v, err := NewVerifier(context.Background(), VerifierConfig{
		Issuer: idp.issuer, Audience: testAudience, JWKSURL: idp.jwksURL(), Now: clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), k.key1.sign(t, validClaims(idp.issuer, testAudience, clk.Now()))); err != nil {
		t.Fatal(err)
	}
	if n := idp.discoveryHits.Load(); n != 0 {
		t.Fatalf("discovery hits = %d, want 0", n)
	}
}

// TestRegistrySharesVerifiersAndKeySets: one Verifier per configuration,
// one KeySet per JWKS URL, so the refresh limit holds per issuer.
func TestRegistrySharesVerifiersAndKeySets(t *testing.T) {
	t.Parallel()
	k := keys()
	clk := newClock()
	idp := newIdP(t, k.key1)
	r := NewRegistry(nil)
	r.now = clk.Now
	ctx := context.Background()

	cfgA := VerifierConfig{Issuer: idp.issuer, Audience: "api-a"}
	cfgB := VerifierConfig{Issuer: idp.issuer, Audience: "api-b"}
	va1, err := r.Verifier(ctx, cfgA)
	if err != nil {
		t.Fatal(err)
	}
	va2, err := r.Verifier(ctx, cfgA)
	if err != nil {
		t.Fatal(err)
	}
	vb, err := r.Verifier(ctx, cfgB)
	if err != nil {
		t.Fatal(err)
	}
	if va1 != va2 {
		t.Fatal("same configuration: different verifiers")
	}
	if va1 == vb {
		t.Fatal("different audiences: same verifier")
	}
	if va1.KeySet() != vb.KeySet() {
		t.Fatal("same issuer: different key sets")
	}
	vg, err := r.Verifier(ctx, VerifierConfig{Issuer: idp.issuer, Audience: "api-a", GroupsClaim: "roles"})
	if err != nil {
		t.Fatal(err)
	}
	if vg == va1 {
		t.Fatal("different claim configuration: same verifier")
	}
	if n := idp.discoveryHits.Load(); n != 3 {
		t.Fatalf("discovery hits = %d, want 3 (one per configuration)", n)
	}

	for _, tc := range []struct {
		v   *Verifier
		aud string
	}{{va1, "api-a"}, {vb, "api-b"}} {
		if _, err := tc.v.Verify(ctx, k.key1.sign(t, validClaims(idp.issuer, tc.aud, clk.Now()))); err != nil {
			t.Fatalf("%s: %v", tc.aud, err)
		}
	}
	// The token for api-b must not pass at api-a.
	if _, err := va1.Verify(ctx, k.key1.sign(t, validClaims(idp.issuer, "api-b", clk.Now()))); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("api-b token at api-a: error = %v", err)
	}
	// Unknown kids via both audiences share one rate limit.
	for _, v := range []*Verifier{va1, vb, vg} {
		raw := signToken(t, jose.RS256, k.key1.priv, "rotated", validClaims(idp.issuer, "api-a", clk.Now()), nil)
		_, _ = v.Verify(ctx, raw)
	}
	if n := idp.jwksHits.Load(); n != 1 {
		t.Fatalf("JWKS hits = %d, want 1", n)
	}
}

// TestRegistryConcurrentFirstUse: simultaneous first requests for a tenant
// share one discovery and get the same Verifier.
func TestRegistryConcurrentFirstUse(t *testing.T) {
	t.Parallel()
	idp := newIdP(t, keys().key1)
	r := NewRegistry(nil)
	cfg := VerifierConfig{Issuer: idp.issuer, Audience: testAudience}
	const n = 50
	vs := make([]*Verifier, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { vs[i], errs[i] = r.Verifier(context.Background(), cfg) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if vs[i] != vs[0] {
			t.Fatalf("caller %d got a different verifier", i)
		}
	}
	if got := idp.discoveryHits.Load(); got != 1 {
		t.Fatalf("discovery hits = %d, want 1", got)
	}
}

// TestRegistryDoesNotCacheFailedDiscovery: a failed discovery is retried on
// the next call instead of being remembered.
func TestRegistryDoesNotCacheFailedDiscovery(t *testing.T) {
	t.Parallel()
	idp := newIdP(t, keys().key1)
	idp.mu.Lock()
	idp.discoveryStatus = http.StatusBadGateway
	idp.mu.Unlock()
	r := NewRegistry(nil)
	cfg := VerifierConfig{Issuer: idp.issuer, Audience: testAudience}

	if _, err := r.Verifier(context.Background(), cfg); !errors.Is(err, ErrDiscovery) {
		t.Fatalf("error = %v, want ErrDiscovery", err)
	}
	idp.mu.Lock()
	idp.discoveryStatus = http.StatusOK
	idp.mu.Unlock()
	if _, err := r.Verifier(context.Background(), cfg); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
	if got := idp.discoveryHits.Load(); got != 2 {
		t.Fatalf("discovery hits = %d, want 2", got)
	}
}

// TestRegistryCrossTenant: two tenants, same audience: each tenant's tokens
// pass only at its own verifier.
func TestRegistryCrossTenant(t *testing.T) {
	t.Parallel()
	k := keys()
	clk := newClock()
	idpA, idpB := newIdP(t, k.key1), newIdP(t, k.key2)
	r := NewRegistry(nil)
	r.now = clk.Now
	ctx := context.Background()
	va, err := r.Verifier(ctx, VerifierConfig{Issuer: idpA.issuer, Audience: testAudience})
	if err != nil {
		t.Fatal(err)
	}
	vb, err := r.Verifier(ctx, VerifierConfig{Issuer: idpB.issuer, Audience: testAudience})
	if err != nil {
		t.Fatal(err)
	}
	if va.KeySet() == vb.KeySet() {
		t.Fatal("different issuers share a key set")
	}
	tokA := k.key1.sign(t, validClaims(idpA.issuer, testAudience, clk.Now()))
	tokB := k.key2.sign(t, validClaims(idpB.issuer, testAudience, clk.Now()))
	if _, err := va.Verify(ctx, tokA); err != nil {
		t.Fatalf("A at A: %v", err)
	}
	if _, err := vb.Verify(ctx, tokB); err != nil {
		t.Fatalf("B at B: %v", err)
	}
	if _, err := va.Verify(ctx, tokB); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("B at A: error = %v", err)
	}
	if _, err := vb.Verify(ctx, tokA); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("A at B: error = %v", err)
	}
}

// BenchmarkVerify measures steady-state verification (keys cached).
func BenchmarkVerify(b *testing.B) {
	k := keys()
	idp := newIdP(b, k.key1, k.ec1)
	v, err := NewVerifier(context.Background(), VerifierConfig{Issuer: idp.issuer, Audience: testAudience})
	if err != nil {
		b.Fatal(err)
	}
	for _, key := range []testKey{k.key1, k.ec1} {
		b.Run(string(key.alg), func(b *testing.B) {
			c := validClaims(idp.issuer, testAudience, time.Now())
			c["exp"] = time.Now().Add(time.Hour).Unix()
			raw := key.sign(b, c)
			ctx := context.Background()
			if _, err := v.Verify(ctx, raw); err != nil { // warm the cache
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(ctx, raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
