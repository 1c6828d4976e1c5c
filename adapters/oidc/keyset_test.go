package oidc

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// ---- test fixtures shared by keyset_test.go and verifier_test.go ----

// fakeClock is the injectable clock: tests advance it instead of sleeping.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2031, 3, 14, 9, 26, 53, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testKey is a signing key of the test IdP (or of an attacker).
type testKey struct {
	kid    string
	alg    jose.SignatureAlgorithm // default alg for tokens
	jwkAlg string                  // "alg" published in the JWKS ("" = none)
	priv   any
}

func (k testKey) public() jose.JSONWebKey {
	var pub any
	switch p := k.priv.(type) {
	case *rsa.PrivateKey:
		pub = &p.PublicKey
	case *ecdsa.PrivateKey:
		pub = &p.PublicKey
	case ed25519.PrivateKey:
		pub = p.Public()
	default:
		panic(fmt.Sprintf("unexpected key %T", k.priv))
	}
	return jose.JSONWebKey{Key: pub, KeyID: k.kid, Algorithm: k.jwkAlg, Use: "sig"}
}

type fixtureKeys struct {
	key1, key2, key3, ec1 testKey // published by test IdPs
	ed1                   testKey // Ed25519, published by newEnv
	attacker              testKey // never published
	weak, enc, leaked     testKey // published but unusable
}

// keys are generated once: RSA generation is slow, especially under -race.
var keys = sync.OnceValue(func() *fixtureKeys {
	rsaKey := func(bits int) *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			panic(err)
		}
		return k
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return &fixtureKeys{
		ed1:      testKey{kid: "ed1", alg: jose.EdDSA, jwkAlg: "EdDSA", priv: ed},
		key1:     testKey{kid: "key1", alg: jose.RS256, jwkAlg: "RS256", priv: rsaKey(2048)},
		key2:     testKey{kid: "key2", alg: jose.RS256, priv: rsaKey(2048)},
		key3:     testKey{kid: "key3", alg: jose.RS256, jwkAlg: "RS256", priv: rsaKey(2048)},
		ec1:      testKey{kid: "ec1", alg: jose.ES256, jwkAlg: "ES256", priv: ec},
		attacker: testKey{kid: "attacker", alg: jose.RS256, priv: rsaKey(2048)},
		weak:     testKey{kid: "weak", alg: jose.RS256, priv: rsaKey(1024)},
		enc:      testKey{kid: "enc", alg: jose.RS256, priv: rsaKey(2048)},
		leaked:   testKey{kid: "leaked", alg: jose.RS256, priv: rsaKey(2048)},
	}
})

// testIdP is an OpenID provider: discovery document plus JWKS.
type testIdP struct {
	srv    *httptest.Server
	issuer string

	discoveryHits, jwksHits atomic.Int64

	mu              sync.Mutex
	discoveryIssuer string // issuer claimed by the discovery document
	discoveryStatus int
	jwks            []byte
	jwksStatus      int
	jwksStarted     chan struct{} // if set, signalled (non-blocking) when a JWKS request arrives
	jwksRelease     chan struct{} // if set, JWKS responses wait for it to close
}

func newIdP(t testing.TB, published ...testKey) *testIdP {
	t.Helper()
	p := &testIdP{discoveryStatus: http.StatusOK, jwksStatus: http.StatusOK}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /realms/town/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		p.discoveryHits.Add(1)
		p.mu.Lock()
		status, iss := p.discoveryStatus, p.discoveryIssuer
		p.mu.Unlock()
		if status != http.StatusOK {
			http.Error(w, "unavailable", status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                iss,
			"jwks_uri":                              p.srv.URL + "/realms/town/certs",
			"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
		})
	})
	mux.HandleFunc("GET /realms/town/certs", func(w http.ResponseWriter, r *http.Request) {
		p.jwksHits.Add(1)
		p.mu.Lock()
		status, body, started, release := p.jwksStatus, p.jwks, p.jwksStarted, p.jwksRelease
		p.mu.Unlock()
		if started != nil {
			select {
			case started <- struct{}{}:
			default:
			}
		}
		if release != nil {
			<-release
		}
		if status != http.StatusOK {
			http.Error(w, "unavailable", status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	p.issuer = p.srv.URL + "/realms/town"
	p.discoveryIssuer = p.issuer
	p.publish(published...)
	return p
}

// publish replaces the JWKS (key rotation).
func (p *testIdP) publish(ks ...testKey) {
	set := jose.JSONWebKeySet{}
	for _, k := range ks {
		set.Keys = append(set.Keys, k.public())
	}
	p.setJWKS(mustJSON(set))
}

func (p *testIdP) setJWKS(body []byte) {
	p.mu.Lock()
	p.jwks = body
	p.mu.Unlock()
}

func (p *testIdP) setJWKSStatus(status int) {
	p.mu.Lock()
	p.jwksStatus = status
	p.mu.Unlock()
}

func (p *testIdP) jwksURL() string { return p.srv.URL + "/realms/town/certs" }

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// signToken signs claims as a compact JWT. kid "" omits the kid header.
func signToken(t testing.TB, alg jose.SignatureAlgorithm, priv any, kid string, claims map[string]any, opts *jose.SignerOptions) string {
	t.Helper()
	if opts == nil {
		opts = &jose.SignerOptions{}
	}
	opts = opts.WithType("JWT")
	var key any = priv
	if kid != "" {
		key = jose.JSONWebKey{Key: priv, KeyID: kid}
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	raw, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatalf("Serialize: %v", err)
	}
	return raw
}

func (k testKey) sign(t testing.TB, claims map[string]any) string {
	t.Helper()
	return signToken(t, k.alg, k.priv, k.kid, claims, nil)
}

// unsignedToken hand-crafts base64url(header).base64url(payload).
func unsignedToken(header, claims map[string]any) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString(mustJSON(header)) + "." + enc.EncodeToString(mustJSON(claims)) + "."
}

// validClaims for issuer/audience at the clock's now.
func validClaims(issuer, audience string, now time.Time) map[string]any {
	return map[string]any{
		"iss":            issuer,
		"aud":            audience,
		"sub":            "user-42",
		"exp":            now.Add(5 * time.Minute).Unix(),
		"iat":            now.Unix(),
		"nbf":            now.Unix(),
		"email":          "anna@comune.example",
		"email_verified": true,
		"name":           "Anna Rossi",
		"groups":         []string{"protocollo", "anagrafe"},
	}
}

const testAudience = "coprod-api"

// newTestVerifier builds a Verifier for p with the given clock.
func newTestVerifier(t testing.TB, p *testIdP, clk *fakeClock) *Verifier {
	t.Helper()
	v, err := NewVerifier(context.Background(), VerifierConfig{
		Issuer: p.issuer, Audience: testAudience, Now: clk.Now,
	})
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return v
}

// ---- KeySet tests ----

// TestKeyRotation walks through an IdP key rotation and the refresh rate
// limit: unknown kids can trigger at most one JWKS fetch per 30 seconds.
func TestKeyRotation(t *testing.T) {
	t.Parallel()
	k := keys()
	clk := newClock()
	idp := newIdP(t, k.key1)
	v := newTestVerifier(t, idp, clk)
	ctx := context.Background()

	wantFetches := func(n int) {
		t.Helper()
		if got := v.KeySet().FetchCount(); got != n {
			t.Fatalf("FetchCount = %d, want %d", got, n)
		}
		if got := idp.jwksHits.Load(); got != int64(n) {
			t.Fatalf("JWKS server hits = %d, want %d", got, n)
		}
	}
	accept := func(raw string) {
		t.Helper()
		if _, err := v.Verify(ctx, raw); err != nil {
			t.Fatalf("Verify: %v", err)
		}
	}
	refuseUnknown := func(raw string) {
		t.Helper()
		_, err := v.Verify(ctx, raw)
		if !errors.Is(err, ErrUnknownKey) || !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("Verify error = %v, want ErrUnknownKey", err)
		}
	}
	claims := func() map[string]any { return validClaims(idp.issuer, testAudience, clk.Now()) }

	// Cold cache: the first token fetches the key set.
	accept(k.key1.sign(t, claims()))
	wantFetches(1)

	// The IdP rotates to key2. Within 30s of the last fetch, the new kid
	// cannot trigger a fetch and fails at once.
	idp.publish(k.key2)
	refuseUnknown(k.key2.sign(t, claims()))
	clk.Advance(29 * time.Second)
	refuseUnknown(k.key2.sign(t, claims()))
	wantFetches(1)

	// 30s after the last fetch, the re-fetch is allowed and key2 works.
	clk.Advance(1 * time.Second)
	accept(k.key2.sign(t, claims()))
	wantFetches(2)
	// key1 is gone from the set, and no further fetch happens for it.
	refuseUnknown(k.key1.sign(t, claims()))
	accept(k.key2.sign(t, claims()))
	wantFetches(2)

	// 100 concurrent tokens with 100 different unknown kids: one fetch.
	burst := func() {
		t.Helper()
		var wg sync.WaitGroup
		errs := make([]error, 100)
		for i := range 100 {
			raw := signToken(t, jose.RS256, k.key2.priv, fmt.Sprintf("unknown-%d", i), claims(), nil)
			wg.Go(func() { _, errs[i] = v.Verify(ctx, raw) })
		}
		wg.Wait()
		for i, err := range errs {
			if !errors.Is(err, ErrUnknownKey) {
				t.Fatalf("token %d: error = %v, want ErrUnknownKey", i, err)
			}
		}
	}
	clk.Advance(30 * time.Second)
	burst()
	wantFetches(3)
	clk.Advance(29 * time.Second)
	burst()
	wantFetches(3)

	// 30s after the last fetch, exactly one more is allowed.
	clk.Advance(1 * time.Second)
	burst()
	wantFetches(4)
}

// TestKeySetConcurrentCallersShareOneFetch: callers arriving while a fetch
// is in flight wait for it instead of starting their own.
func TestKeySetConcurrentCallersShareOneFetch(t *testing.T) {
	t.Parallel()
	k := keys()
	clk := newClock()
	idp := newIdP(t, k.key3)
	v := newTestVerifier(t, idp, clk)
	ks := v.KeySet()

	release := make(chan struct{})
	idp.mu.Lock()
	idp.jwksRelease = release
	idp.mu.Unlock()

	const n = 100
	var joined sync.WaitGroup
	joined.Add(n)
	ks.mu.Lock()
	ks.testHookWait = joined.Done
	ks.mu.Unlock()

	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		raw := k.key3.sign(t, validClaims(idp.issuer, testAudience, clk.Now()))
		wg.Go(func() { _, errs[i] = v.Verify(context.Background(), raw) })
	}
	joined.Wait() // every caller is waiting on the same flight
	close(release)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("caller %d: %v", i, err)
		}
	}
	if got := ks.FetchCount(); got != 1 {
		t.Fatalf("FetchCount = %d, want 1", got)
	}
	if got := idp.jwksHits.Load(); got != 1 {
		t.Fatalf("JWKS hits = %d, want 1", got)
	}
}

// TestKeySetCallerCancelDoesNotAbortSharedFetch: a waiter whose context
// ends gets ctx.Err(), but the fetch completes for everyone else.
func TestKeySetCallerCancelDoesNotAbortSharedFetch(t *testing.T) {
	t.Parallel()
	k := keys()
	clk := newClock()
	idp := newIdP(t, k.key1)
	v := newTestVerifier(t, idp, clk)

	started, release := make(chan struct{}, 1), make(chan struct{})
	idp.mu.Lock()
	idp.jwksStarted, idp.jwksRelease = started, release
	idp.mu.Unlock()

	raw := k.key1.sign(t, validClaims(idp.issuer, testAudience, clk.Now()))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := v.Verify(ctx, raw); done <- err }()
	<-started
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: error = %v, want context.Canceled", err)
	}
	close(release)
	if _, err := v.Verify(context.Background(), raw); err != nil {
		t.Fatalf("second caller: %v", err)
	}
	if got := v.KeySet().FetchCount(); got != 1 {
		t.Fatalf("FetchCount = %d, want 1", got)
	}
}

// TestKeySetFetchFailures: an unusable JWKS response is reported as
// ErrKeySetUnavailable (not as a bad token) and is itself rate-limited.
func TestKeySetFetchFailures(t *testing.T) {
	t.Parallel()
	k := keys()
	cases := []struct {
		name  string
		setup func(p *testIdP)
	}{
		{"HTTP 500", func(p *testIdP) { p.setJWKSStatus(http.StatusInternalServerError) }},
		{"not JSON", func(p *testIdP) { p.setJWKS([]byte("<html>login</html>")) }},
		{"body over 1 MiB", func(p *testIdP) {
			body := mustJSON(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{k.key1.public()}})
			pad := bytes.Repeat([]byte(" "), maxBodyBytes)
			p.setJWKS(append(pad, body...))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			idp := newIdP(t, k.key1)
			tc.setup(idp)
			v := newTestVerifier(t, idp, clk)
			raw := k.key1.sign(t, validClaims(idp.issuer, testAudience, clk.Now()))

			_, err := v.Verify(context.Background(), raw)
			if !errors.Is(err, ErrKeySetUnavailable) || errors.Is(err, ErrInvalidToken) {
				t.Fatalf("error = %v, want ErrKeySetUnavailable only", err)
			}
			// A failed fetch counts against the rate limit too.
			if _, err := v.Verify(context.Background(), raw); !errors.Is(err, ErrUnknownKey) {
				t.Fatalf("immediate retry: error = %v, want rate-limited ErrUnknownKey", err)
			}
			if got := v.KeySet().FetchCount(); got != 1 {
				t.Fatalf("FetchCount = %d, want 1", got)
			}

			// IdP fixed, 30s later: works.
			idp.setJWKSStatus(http.StatusOK)
			idp.publish(k.key1)
			clk.Advance(DefaultMinRefreshInterval)
			raw = k.key1.sign(t, validClaims(idp.issuer, testAudience, clk.Now()))
			if _, err := v.Verify(context.Background(), raw); err != nil {
				t.Fatalf("after recovery: %v", err)
			}
		})
	}
}

// TestKeySetKeepsKeysWhenRefreshFails: an IdP outage during a refresh must
// not drop the keys already known.
func TestKeySetKeepsKeysWhenRefreshFails(t *testing.T) {
	t.Parallel()
	k := keys()
	clk := newClock()
	idp := newIdP(t, k.key1)
	v := newTestVerifier(t, idp, clk)
	ctx := context.Background()

	if _, err := v.Verify(ctx, k.key1.sign(t, validClaims(idp.issuer, testAudience, clk.Now()))); err != nil {
		t.Fatal(err)
	}
	idp.setJWKSStatus(http.StatusServiceUnavailable)
	clk.Advance(time.Minute)
	if _, err := v.Verify(ctx, k.key2.sign(t, validClaims(idp.issuer, testAudience, clk.Now()))); !errors.Is(err, ErrKeySetUnavailable) {
		t.Fatalf("unknown kid during outage: error = %v, want ErrKeySetUnavailable", err)
	}
	if _, err := v.Verify(ctx, k.key1.sign(t, validClaims(idp.issuer, testAudience, clk.Now()))); err != nil {
		t.Fatalf("known key during outage: %v", err)
	}
}

// TestKeySetIgnoresUnusableKeys: symmetric, encryption, weak, private and
// unknown-type keys in a JWKS are never used, without breaking the others.
func TestKeySetIgnoresUnusableKeys(t *testing.T) {
	t.Parallel()
	k := keys()
	clk := newClock()
	idp := newIdP(t)

	hmacSecret := bytes.Repeat([]byte("s"), 32)
	enc := k.enc.public()
	enc.Use = "enc"
	leaked := jose.JSONWebKey{Key: k.leaked.priv, KeyID: k.leaked.kid, Use: "sig"} // with "d"
	set := map[string]any{"keys": []any{
		jose.JSONWebKey{Key: hmacSecret, KeyID: "hmac", Algorithm: "HS256"},
		enc,
		k.weak.public(),
		leaked,
		map[string]any{"kty": "OKP", "crv": "X448", "kid": "x448", "x": "AAAA"},
		map[string]any{"kty": "EC", "crv": "secp256k1", "alg": "ES256K", "kid": "k1"},
		k.key1.public(),
	}}
	idp.setJWKS(mustJSON(set))
	v := newTestVerifier(t, idp, clk)
	ctx := context.Background()
	claims := validClaims(idp.issuer, testAudience, clk.Now())

	if _, err := v.Verify(ctx, k.key1.sign(t, claims)); err != nil {
		t.Fatalf("usable key: %v", err)
	}
	if n := len(v.KeySet().current.Load().keys); n != 1 {
		t.Fatalf("usable keys = %d, want 1", n)
	}
	for name, raw := range map[string]string{
		"HS256 with published oct key": signToken(t, jose.HS256, hmacSecret, "hmac", claims, nil),
		"RS256 with encryption key":    k.enc.sign(t, claims),
		"RS256 with 1024-bit key":      k.weak.sign(t, claims),
		"RS256 with leaked private":    k.leaked.sign(t, claims),
	} {
		if _, err := v.Verify(ctx, raw); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: error = %v, want ErrInvalidToken", name, err)
		}
	}
}

// TestKeySetRejectsNoneAndHMACBeforeFetching: forbidden algorithms are
// refused by the KeySet itself, before any network traffic.
func TestKeySetRejectsNoneAndHMACBeforeFetching(t *testing.T) {
	t.Parallel()
	k := keys()
	clk := newClock()
	idp := newIdP(t, k.key1)
	ks, err := NewKeySet(KeySetConfig{URL: idp.jwksURL(), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	claims := validClaims(idp.issuer, testAudience, clk.Now())
	pubDER := mustMarshalPKIX(t, k.key1)
	for _, alg := range []jose.SignatureAlgorithm{jose.HS256, jose.HS384, jose.HS512} {
		raw := signToken(t, alg, pubDER, "key1", claims, nil)
		if _, err := ks.VerifySignature(context.Background(), raw); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: error = %v, want ErrInvalidToken", alg, err)
		}
	}
	for _, alg := range []string{"none", "None", "NONE"} {
		raw := unsignedToken(map[string]any{"alg": alg, "kid": "key1"}, claims)
		if _, err := ks.VerifySignature(context.Background(), raw); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("alg %s: error = %v, want ErrInvalidToken", alg, err)
		}
	}
	if n := ks.FetchCount(); n != 0 {
		t.Fatalf("FetchCount = %d, want 0", n)
	}
}

func TestNewKeySetURLChecks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url      string
		insecure bool
		ok       bool
	}{
		{"https://idp.example/certs", false, true},
		{"http://127.0.0.1:8080/certs", false, true},
		{"http://localhost/certs", false, true},
		{"http://[::1]/certs", false, true},
		{"http://idp.example/certs", false, false},
		{"http://idp.example/certs", true, true},
		{"ftp://idp.example/certs", true, false},
		{"/certs", false, false},
		{"", false, false},
	} {
		_, err := NewKeySet(KeySetConfig{URL: tc.url, InsecureAllowHTTP: tc.insecure})
		if (err == nil) != tc.ok {
			t.Errorf("NewKeySet(%q, insecure=%v): err = %v, want ok=%v", tc.url, tc.insecure, err, tc.ok)
		}
	}
}

func TestSigningAlgsExcludeNoneAndHMAC(t *testing.T) {
	t.Parallel()
	got := strings.Join(SigningAlgs(), ",")
	want := "RS256,RS384,RS512,PS256,PS384,PS512,ES256,ES384,ES512,EdDSA"
	if got != want {
		t.Fatalf("SigningAlgs = %s, want %s", got, want)
	}
}
