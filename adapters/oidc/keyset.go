package oidc

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

const (
	// fetchTimeout bounds every discovery and JWKS request, even when the
	// caller's http.Client has no timeout: a slow IdP must not pin request
	// goroutines.
	fetchTimeout = 10 * time.Second
	// maxBodyBytes bounds discovery and JWKS documents; real ones are a few KiB.
	maxBodyBytes = 1 << 20
	// DefaultMinRefreshInterval is the minimum time between two JWKS fetches
	// of one KeySet. Unknown kids are attacker-controlled, so without a limit
	// every forged token would turn into a request to the tenant's IdP.
	DefaultMinRefreshInterval = 30 * time.Second
	// minRSABits: shorter RSA keys in a JWKS are ignored as too weak.
	minRSABits = 2048
)

// Sentinel errors; match them with errors.Is.
var (
	// ErrInvalidToken wraps every refusal of a token that was checked and
	// found wrong (malformed, bad signature, wrong issuer or audience,
	// expired, ...). Answer with 401.
	ErrInvalidToken = errors.New("oidc: invalid token")
	// ErrUnknownKey: the token's kid is not in the key set, even after any
	// refresh the rate limit allowed. Always accompanied by ErrInvalidToken
	// when returned by Verifier.Verify.
	ErrUnknownKey = errors.New("oidc: signing key not in key set")
	// ErrKeySetUnavailable: the JWKS could not be fetched or parsed, so the
	// token could not be checked at all. The token may be fine; this is an
	// IdP/availability problem (log it, answer 401 or 503).
	ErrKeySetUnavailable = errors.New("oidc: key set unavailable")
	// ErrDiscovery: the discovery document could not be fetched or does not
	// describe the configured issuer.
	ErrDiscovery = errors.New("oidc: discovery failed")
)

// signingAlgs are the only algorithms coprod accepts. "none" and the HMAC
// family are excluded on purpose: with HS* a public key (which anyone can
// download from the JWKS) would become a shared secret able to mint tokens.
var signingAlgs = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512,
	jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512,
	jose.EdDSA,
}

// SigningAlgs returns the accepted JWS algorithms, in the string form
// go-oidc's Config.SupportedSigningAlgs expects.
func SigningAlgs() []string {
	out := make([]string, len(signingAlgs))
	for i, a := range signingAlgs {
		out[i] = string(a)
	}
	return out
}

// KeySetConfig configures a KeySet.
type KeySetConfig struct {
	// URL of the JWKS document (the discovery document's jwks_uri).
	URL string
	// HTTPClient used for fetches; nil means a client with a 10s timeout.
	// A 10s per-request deadline applies regardless.
	HTTPClient *http.Client
	// MinRefreshInterval between two fetches; zero means 30s.
	MinRefreshInterval time.Duration
	// Now is the clock used for the rate limit; nil means time.Now.
	Now func() time.Time
	// InsecureAllowHTTP permits a plain-http URL on a non-loopback host.
	// Keys fetched over http can be replaced by anyone on the path, which
	// makes every token of the tenant forgeable; only for development.
	InsecureAllowHTTP bool
}

// KeySet is a cached, rate-limited remote JWKS. It implements go-oidc's
// KeySet interface. The first verification fetches the keys; later fetches
// happen only when a token names a kid the cache does not have (key
// rotation), at most once per MinRefreshInterval, and concurrent callers
// share a single in-flight fetch.
type KeySet struct {
	url        string
	client     *http.Client
	now        func() time.Time
	minRefresh time.Duration
	allowHTTP  bool

	fetches atomic.Int64
	current atomic.Pointer[keySnapshot] // lock-free reads on the hot path

	mu        sync.Mutex // guards the fields below
	attempted bool       // a fetch has been started at least once
	lastFetch time.Time  // start of the most recent fetch
	inflight  *flight

	// testHookWait, if set, is called when a caller starts waiting for an
	// in-flight fetch; tests use it to know everyone has joined.
	testHookWait func()
}

// keySnapshot is immutable once published.
type keySnapshot struct {
	keys []verificationKey
	gen  uint64 // incremented on every successful fetch
}

type verificationKey struct {
	kid string
	alg string // JWK "alg"; empty means any compatible algorithm
	key crypto.PublicKey
}

type flight struct {
	done chan struct{}
	err  error
}

// NewKeySet returns a KeySet for cfg.URL. It does not fetch anything yet.
func NewKeySet(cfg KeySetConfig) (*KeySet, error) {
	if err := checkURL(cfg.URL, cfg.InsecureAllowHTTP); err != nil {
		return nil, fmt.Errorf("oidc: JWKS URL: %w", err)
	}
	k := &KeySet{
		url:        cfg.URL,
		client:     cfg.HTTPClient,
		now:        cfg.Now,
		minRefresh: cfg.MinRefreshInterval,
		allowHTTP:  cfg.InsecureAllowHTTP,
	}
	if k.client == nil {
		k.client = &http.Client{Timeout: fetchTimeout}
	}
	if k.now == nil {
		k.now = time.Now
	}
	if k.minRefresh <= 0 {
		k.minRefresh = DefaultMinRefreshInterval
	}
	k.current.Store(&keySnapshot{})
	return k, nil
}

// URL returns the JWKS URL.
func (k *KeySet) URL() string { return k.url }

// FetchCount returns how many JWKS fetches have been started.
func (k *KeySet) FetchCount() int { return int(k.fetches.Load()) }

// VerifySignature implements gooidc.KeySet: it checks the JWS signature of a
// compact-serialised token and returns the payload. It does not look at any
// claim; Verifier does that.
func (k *KeySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	payload, err := k.verifySignature(ctx, raw)
	if err != nil {
		// go-oidc flattens our error to text; hand the typed error to
		// Verifier.Verify so errors.Is keeps working for its callers.
		if slot, ok := ctx.Value(errSlotKey{}).(*errSlot); ok {
			slot.err = err
		}
	}
	return payload, err
}

// errSlot carries the KeySet's typed error past go-oidc.
type errSlot struct{ err error }

type errSlotKey struct{}

func (k *KeySet) verifySignature(ctx context.Context, raw string) ([]byte, error) {
	// Compact form only: the JSON serialisation allows several signatures
	// and unprotected headers, neither of which a bearer JWT needs.
	jws, err := jose.ParseSignedCompact(raw, signingAlgs)
	if err != nil {
		return nil, fmt.Errorf("%w: malformed JWS: %v", ErrInvalidToken, err)
	}
	if len(jws.Signatures) != 1 {
		return nil, fmt.Errorf("%w: want exactly one signature", ErrInvalidToken)
	}
	hdr := jws.Signatures[0].Header
	alg := hdr.Algorithm
	if !allowedAlg(alg) { // ParseSignedCompact already checked; belt and braces
		return nil, fmt.Errorf("%w: algorithm %.16q not allowed", ErrInvalidToken, alg)
	}
	kid := hdr.KeyID
	// Note: an embedded "jwk", "jku" or "x5u" header is never consulted;
	// only keys from the configured JWKS URL are trusted.

	snap := k.current.Load()
	payload, known, err := verifyWith(jws, snap.keys, kid, alg)
	if err == nil {
		return payload, nil
	}
	if known && kid != "" {
		// The kid is known and its key says no. Re-fetching would not help
		// and would let forged tokens drive traffic to the IdP.
		return nil, err
	}

	// Unknown kid (or no kid and no cached key fits): the IdP may have
	// rotated its keys.
	if ferr := k.refresh(ctx, snap.gen); ferr != nil {
		if errors.Is(ferr, errRefreshLimited) {
			return nil, fmt.Errorf("%w (%v)", err, ferr)
		}
		return nil, ferr
	}
	payload, _, err = verifyWith(jws, k.current.Load().keys, kid, alg)
	return payload, err
}

// verifyWith tries the keys that fit kid and alg. known reports whether
// the cache has a key the token refers to: one with its kid or, for a token
// without kid, any key compatible with its alg.
func verifyWith(jws *jose.JSONWebSignature, keys []verificationKey, kid, alg string) (payload []byte, known bool, err error) {
	tried := false
	for i := range keys {
		vk := &keys[i]
		if kid != "" {
			if vk.kid != kid {
				continue
			}
			known = true
		}
		if !keyFitsAlg(vk, alg) {
			continue
		}
		known, tried = true, true
		if p, err := jws.Verify(vk.key); err == nil {
			return p, true, nil
		}
	}
	switch {
	case tried:
		return nil, true, fmt.Errorf("%w: signature does not verify", ErrInvalidToken)
	case known:
		return nil, true, fmt.Errorf("%w: key %.64q cannot verify %s", ErrInvalidToken, kid, alg)
	case kid != "":
		return nil, false, fmt.Errorf("%w: %w: kid %.64q", ErrInvalidToken, ErrUnknownKey, kid)
	default:
		return nil, false, fmt.Errorf("%w: %w: no key for %s", ErrInvalidToken, ErrUnknownKey, alg)
	}
}

// errRefreshLimited: a fetch would be needed but the last one was less
// than MinRefreshInterval ago.
var errRefreshLimited = errors.New("key set refresh rate-limited")

// refresh makes sure keys newer than generation seen are loaded, fetching
// them if the rate limit allows. It returns nil if newer keys are (now)
// available, errRefreshLimited if fetching is not allowed yet, an
// ErrKeySetUnavailable error if the fetch failed, or ctx.Err().
func (k *KeySet) refresh(ctx context.Context, seen uint64) error {
	k.mu.Lock()
	if k.current.Load().gen != seen {
		k.mu.Unlock() // someone fetched since our snapshot: just retry
		return nil
	}
	f := k.inflight
	if f == nil {
		now := k.now()
		if k.attempted && now.Sub(k.lastFetch) < k.minRefresh {
			k.mu.Unlock()
			return errRefreshLimited
		}
		k.attempted = true
		k.lastFetch = now
		f = &flight{done: make(chan struct{})}
		k.inflight = f
		// The fetch runs detached from ctx so that one caller giving up
		// does not fail everyone else waiting for the same fetch.
		go k.fetch(f)
	}
	hook := k.testHookWait
	k.mu.Unlock()

	if hook != nil {
		hook()
	}
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (k *KeySet) fetch(f *flight) {
	k.fetches.Add(1)
	ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
	keys, err := k.load(ctx)
	cancel()

	k.mu.Lock()
	if err == nil {
		k.current.Store(&keySnapshot{keys: keys, gen: k.current.Load().gen + 1})
	} else {
		// Keep the old keys: an IdP outage must not log everybody out.
		f.err = fmt.Errorf("%w: %v", ErrKeySetUnavailable, err)
	}
	k.inflight = nil
	k.mu.Unlock()
	close(f.done)
}

// load fetches and parses the JWKS.
func (k *KeySet) load(ctx context.Context) ([]verificationKey, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := getJSON(ctx, k.client, k.url, k.allowHTTP, &doc); err != nil {
		return nil, err
	}
	keys := make([]verificationKey, 0, len(doc.Keys))
	for _, rawKey := range doc.Keys {
		if vk, ok := parseJWK(rawKey); ok {
			keys = append(keys, vk)
		}
	}
	return keys, nil
}

// parseJWK turns one JWKS entry into a verification key. Entries that are
// unusable for signature verification are skipped rather than failing the
// whole set (RFC 7517 §5: ignore keys you do not understand), so one odd
// key at the IdP does not lock out a tenant.
func parseJWK(raw json.RawMessage) (verificationKey, bool) {
	var meta struct {
		Alg string `json:"alg"`
		Use string `json:"use"`
		Kty string `json:"kty"`
	}
	if json.Unmarshal(raw, &meta) != nil {
		return verificationKey{}, false
	}
	if meta.Use != "" && meta.Use != "sig" {
		return verificationKey{}, false // encryption key
	}
	if meta.Alg != "" && !allowedAlg(meta.Alg) {
		return verificationKey{}, false // e.g. ES256K, HS256, RSA-OAEP
	}
	if meta.Kty == "oct" {
		return verificationKey{}, false // symmetric: never a verification key here
	}
	var jwk jose.JSONWebKey
	if jwk.UnmarshalJSON(raw) != nil {
		return verificationKey{}, false
	}
	if !jwk.IsPublic() {
		// Private material in a published JWKS means the key is
		// compromised: anyone could sign with it.
		return verificationKey{}, false
	}
	switch pub := jwk.Key.(type) {
	case *rsa.PublicKey:
		if pub.N.BitLen() < minRSABits {
			return verificationKey{}, false
		}
	case *ecdsa.PublicKey, ed25519.PublicKey:
	default:
		return verificationKey{}, false
	}
	return verificationKey{kid: jwk.KeyID, alg: jwk.Algorithm, key: jwk.Key}, true
}

func allowedAlg(alg string) bool {
	for _, a := range signingAlgs {
		if string(a) == alg {
			return true
		}
	}
	return false
}

// keyFitsAlg reports whether the key may verify a token with this alg: the
// key type and curve must match, and a key pinned to an alg by its JWK
// "alg" member is used only with that alg.
func keyFitsAlg(vk *verificationKey, alg string) bool {
	if vk.alg != "" && vk.alg != alg {
		return false
	}
	switch jose.SignatureAlgorithm(alg) {
	case jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512:
		_, ok := vk.key.(*rsa.PublicKey)
		return ok
	case jose.ES256:
		return isCurve(vk.key, elliptic.P256())
	case jose.ES384:
		return isCurve(vk.key, elliptic.P384())
	case jose.ES512:
		return isCurve(vk.key, elliptic.P521())
	case jose.EdDSA:
		_, ok := vk.key.(ed25519.PublicKey)
		return ok
	}
	return false
}

func isCurve(key crypto.PublicKey, c elliptic.Curve) bool {
	ec, ok := key.(*ecdsa.PublicKey)
	return ok && ec.Curve == c
}

// checkURL accepts https URLs, and http only for loopback hosts (local
// development and tests) unless allowHTTP is set.
func checkURL(raw string, allowHTTP bool) error {
	if raw == "" {
		return errors.New("empty URL")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("invalid URL: %w", err)
	}
	if u.Host == "" {
		return fmt.Errorf("URL %q has no host", raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if allowHTTP || isLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("URL %q is not https", raw)
	default:
		return fmt.Errorf("URL %q: unsupported scheme", raw)
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// getJSON GETs rawURL and decodes a JSON body of at most maxBodyBytes.
func getJSON(ctx context.Context, client *http.Client, rawURL string, allowHTTP bool, v any) error {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	// A redirect to plain http would let anyone on the path substitute
	// the document, so the final URL must pass the same check.
	if err := checkURL(resp.Request.URL.String(), allowHTTP); err != nil {
		return fmt.Errorf("GET %s: redirected: %w", rawURL, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", rawURL, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes+1))
	if err != nil {
		return fmt.Errorf("GET %s: %w", rawURL, err)
	}
	if len(body) > maxBodyBytes {
		return fmt.Errorf("GET %s: body larger than %d bytes", rawURL, maxBodyBytes)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: decoding JSON: %w", rawURL, err)
	}
	return nil
}
