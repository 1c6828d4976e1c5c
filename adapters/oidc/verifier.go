// Package oidc verifies bearer JWTs issued by each tenant's own OpenID
// Connect provider. Every Verifier is bound to exactly one issuer and one
// audience, so a token minted for one municipality can never authenticate
// against another.
package oidc

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
)

const (
	// DefaultClockSkew is the leeway for nbf and iat in the future.
	DefaultClockSkew = 30 * time.Second
	// maxTokenBytes refuses absurd tokens before any parsing work. Real
	// tokens, even with large group lists, stay well below this.
	maxTokenBytes = 64 << 10
)

// Claims are the verified facts coprod takes from a token.
type Claims struct {
	Issuer   string
	Subject  string
	Audience string // the configured audience, which the token's aud contains

	Email         string
	EmailVerified bool
	Name          string
	// Groups from the configured groups claim (a string or an array of
	// strings in the token); empty strings are dropped.
	Groups []string

	Expiry time.Time
	// Raw holds all claims as decoded by encoding/json (numbers are
	// float64), for tenant-specific claim mapping.
	Raw map[string]any
}

// VerifierConfig binds a Verifier to one tenant's IdP.
type VerifierConfig struct {
	// Issuer exactly as in the discovery document and the tokens' iss.
	Issuer string
	// Audience required in the tokens' aud (which may be a list).
	Audience string
	// JWKSURL, if empty, comes from Issuer + "/.well-known/openid-configuration",
	// whose "issuer" must equal Issuer exactly.
	JWKSURL string

	// Claim names; defaults "email", "name", "groups".
	EmailClaim, NameClaim, GroupsClaim string

	// ClockSkew is the leeway for nbf and iat lying in the future; zero
	// means 30s, negative is an error. exp gets no leeway at all: an
	// expired bearer token is refused even if our clock is a bit fast.
	ClockSkew time.Duration

	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// HTTPClient for discovery and JWKS; nil means a client with a 10s
	// timeout. A 10s per-request deadline applies regardless.
	HTTPClient *http.Client
	// InsecureAllowHTTP permits plain-http issuer and JWKS URLs on
	// non-loopback hosts (loopback is always allowed). Keys fetched over
	// http can be swapped by anyone on the path; development only.
	InsecureAllowHTTP bool
}

// withDefaults validates cfg and fills in defaults.
func (cfg VerifierConfig) withDefaults() (VerifierConfig, error) {
	if err := checkURL(cfg.Issuer, cfg.InsecureAllowHTTP); err != nil {
		return cfg, fmt.Errorf("oidc: issuer: %w", err)
	}
	if cfg.Audience == "" {
		// go-oidc would otherwise need SkipClientIDCheck; a token for any
		// client of the IdP must never be enough.
		return cfg, errors.New("oidc: audience is required")
	}
	if cfg.JWKSURL != "" {
		if err := checkURL(cfg.JWKSURL, cfg.InsecureAllowHTTP); err != nil {
			return cfg, fmt.Errorf("oidc: JWKS URL: %w", err)
		}
	}
	if cfg.EmailClaim == "" {
		cfg.EmailClaim = "email"
	}
	if cfg.NameClaim == "" {
		cfg.NameClaim = "name"
	}
	if cfg.GroupsClaim == "" {
		cfg.GroupsClaim = "groups"
	}
	switch {
	case cfg.ClockSkew < 0:
		return cfg, errors.New("oidc: negative clock skew")
	case cfg.ClockSkew == 0:
		cfg.ClockSkew = DefaultClockSkew
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: fetchTimeout}
	}
	return cfg, nil
}

// Verifier checks bearer tokens of one issuer and audience. It is safe for
// concurrent use.
type Verifier struct {
	cfg  VerifierConfig
	keys *KeySet
	idv  *gooidc.IDTokenVerifier
}

// NewVerifier validates cfg, performs discovery if cfg.JWKSURL is empty and
// returns a Verifier with its own KeySet. Keys are fetched lazily on the
// first Verify. Use a Registry to share key sets between requests.
func NewVerifier(ctx context.Context, cfg VerifierConfig) (*Verifier, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	jwksURL := cfg.JWKSURL
	if jwksURL == "" {
		if jwksURL, err = discover(ctx, cfg); err != nil {
			return nil, err
		}
	}
	ks, err := NewKeySet(KeySetConfig{
		URL:               jwksURL,
		HTTPClient:        cfg.HTTPClient,
		Now:               cfg.Now,
		InsecureAllowHTTP: cfg.InsecureAllowHTTP,
	})
	if err != nil {
		return nil, err
	}
	return newVerifier(cfg, ks), nil
}

func newVerifier(cfg VerifierConfig, ks *KeySet) *Verifier {
	return &Verifier{
		cfg:  cfg,
		keys: ks,
		idv: gooidc.NewVerifier(cfg.Issuer, ks, &gooidc.Config{
			ClientID:             cfg.Audience,
			SupportedSigningAlgs: SigningAlgs(),
			Now:                  cfg.Now,
		}),
	}
}

// discover reads the issuer's discovery document and returns its jwks_uri.
// The document must name exactly cfg.Issuer: otherwise a misconfigured or
// malicious discovery URL could make us trust another issuer's keys.
func discover(ctx context.Context, cfg VerifierConfig) (string, error) {
	wellKnown := strings.TrimSuffix(cfg.Issuer, "/") + "/.well-known/openid-configuration"
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := getJSON(ctx, cfg.HTTPClient, wellKnown, cfg.InsecureAllowHTTP, &doc); err != nil {
		return "", fmt.Errorf("%w: %v", ErrDiscovery, err)
	}
	if doc.Issuer != cfg.Issuer {
		return "", fmt.Errorf("%w: document at %s names issuer %.200q, want %q",
			ErrDiscovery, wellKnown, doc.Issuer, cfg.Issuer)
	}
	if err := checkURL(doc.JWKSURI, cfg.InsecureAllowHTTP); err != nil {
		return "", fmt.Errorf("%w: jwks_uri: %v", ErrDiscovery, err)
	}
	return doc.JWKSURI, nil
}

// KeySet returns the verifier's key set (shared with other verifiers of
// the same JWKS URL when built by a Registry).
func (v *Verifier) KeySet() *KeySet { return v.keys }

// Verify checks signature, issuer, audience, exp, nbf, iat and sub of a
// compact JWT and returns its claims. Every refusal wraps ErrInvalidToken,
// except when the key set could not be fetched (ErrKeySetUnavailable).
// Errors never contain the token itself.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Claims, error) {
	if raw == "" {
		return nil, fmt.Errorf("%w: empty token", ErrInvalidToken)
	}
	if len(raw) > maxTokenBytes {
		return nil, fmt.Errorf("%w: token longer than %d bytes", ErrInvalidToken, maxTokenBytes)
	}

	slot := &errSlot{}
	tok, err := v.idv.Verify(context.WithValue(ctx, errSlotKey{}, slot), raw)
	if err != nil {
		if slot.err != nil {
			return nil, slot.err // typed error from our KeySet
		}
		// go-oidc's messages quote at most iss/aud values, never the token.
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}

	now := v.cfg.Now()
	// go-oidc accepts exp == now; RFC 7519 requires now < exp.
	if !now.Before(tok.Expiry) {
		return nil, fmt.Errorf("%w: token expired at %s", ErrInvalidToken, tok.Expiry.UTC().Format(time.RFC3339))
	}
	if tok.Subject == "" {
		return nil, fmt.Errorf("%w: missing sub", ErrInvalidToken)
	}
	// go-oidc tolerates nbf up to 5 minutes ahead; we allow only ClockSkew.
	latest := now.Add(v.cfg.ClockSkew)
	if !tok.IssuedAt.IsZero() && tok.IssuedAt.After(latest) {
		return nil, fmt.Errorf("%w: iat %s is in the future", ErrInvalidToken, tok.IssuedAt.UTC().Format(time.RFC3339))
	}

	var all map[string]any
	if err := tok.Claims(&all); err != nil {
		return nil, fmt.Errorf("%w: decoding claims: %v", ErrInvalidToken, err)
	}
	if raw, ok := all["nbf"]; ok && raw != nil {
		n, ok := raw.(float64)
		if !ok {
			return nil, fmt.Errorf("%w: nbf is not a number", ErrInvalidToken)
		}
		if nbf := numericDate(n); nbf.After(latest) {
			return nil, fmt.Errorf("%w: not valid before %s", ErrInvalidToken, nbf.UTC().Format(time.RFC3339))
		}
	}

	c := &Claims{
		Issuer:   tok.Issuer,
		Subject:  tok.Subject,
		Audience: v.cfg.Audience,
		Expiry:   tok.Expiry,
		Raw:      all,
	}
	// A claim of the wrong type is refused rather than ignored: it points
	// at an IdP misconfiguration that would otherwise silently change who
	// gets which rights.
	if c.Email, err = stringClaim(all, v.cfg.EmailClaim); err != nil {
		return nil, err
	}
	if c.EmailVerified, err = boolClaim(all, "email_verified"); err != nil {
		return nil, err
	}
	if c.Name, err = stringClaim(all, v.cfg.NameClaim); err != nil {
		return nil, err
	}
	if c.Groups, err = stringsClaim(all, v.cfg.GroupsClaim); err != nil {
		return nil, err
	}
	return c, nil
}

// numericDate converts a JWT NumericDate the way go-oidc does.
func numericDate(n float64) time.Time {
	sec, frac := math.Modf(n)
	return time.Unix(int64(sec), int64(frac*1e9))
}

func stringClaim(all map[string]any, name string) (string, error) {
	switch v := all[name].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	default:
		return "", fmt.Errorf("%w: claim %q is %T, want string", ErrInvalidToken, name, v)
	}
}

// boolClaim also accepts "true"/"false" strings, which some IdPs (e.g.
// AWS Cognito) send for email_verified.
func boolClaim(all map[string]any, name string) (bool, error) {
	switch v := all[name].(type) {
	case nil:
		return false, nil
	case bool:
		return v, nil
	case string:
		switch v {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, fmt.Errorf("%w: claim %q is not a boolean", ErrInvalidToken, name)
}

func stringsClaim(all map[string]any, name string) ([]string, error) {
	switch v := all[name].(type) {
	case nil:
		return nil, nil
	case string:
		if v == "" {
			return nil, nil
		}
		return []string{v}, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("%w: claim %q contains %T, want strings", ErrInvalidToken, name, e)
			}
			if s != "" {
				out = append(out, s)
			}
		}
		return out, nil
	default:
		return nil, fmt.Errorf("%w: claim %q is %T, want string or array of strings", ErrInvalidToken, name, v)
	}
}

// Registry caches verifiers so that discovery runs once per tenant
// configuration and each JWKS URL has exactly one KeySet: the refresh rate
// limit then holds per issuer, however many audiences or requests use it.
// It is safe for concurrent use.
type Registry struct {
	client *http.Client
	now    func() time.Time // nil: time.Now; tests inject a clock

	mu        sync.Mutex
	verifiers map[registryKey]*Verifier
	pending   map[registryKey]*pendingVerifier
	keySets   map[string]*KeySet // by JWKS URL
}

// registryKey is everything in a VerifierConfig (after defaults) that
// changes verification, so differently configured tenants never share a
// Verifier.
type registryKey struct {
	issuer, audience, jwksURL string
	email, name, groups       string
	skew                      time.Duration
	insecureHTTP              bool
}

type pendingVerifier struct {
	done chan struct{}
	v    *Verifier
	err  error
}

// NewRegistry returns an empty Registry whose verifiers fetch with
// httpClient (nil: a client with a 10s timeout).
func NewRegistry(httpClient *http.Client) *Registry {
	if httpClient == nil {
		httpClient = &http.Client{Timeout: fetchTimeout}
	}
	return &Registry{
		client:    httpClient,
		verifiers: make(map[registryKey]*Verifier),
		pending:   make(map[registryKey]*pendingVerifier),
		keySets:   make(map[string]*KeySet),
	}
}

// Verifier returns the cached Verifier for cfg, creating it (with
// discovery) on first use. Concurrent first calls share one discovery; a
// failed discovery is not cached, so the next call retries.
// cfg.HTTPClient and cfg.Now are ignored: a KeySet shared between tenants
// must behave the same for all of them, so the Registry's own are used.
func (r *Registry) Verifier(ctx context.Context, cfg VerifierConfig) (*Verifier, error) {
	cfg.HTTPClient, cfg.Now = r.client, r.now
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	key := registryKey{
		issuer: cfg.Issuer, audience: cfg.Audience, jwksURL: cfg.JWKSURL,
		email: cfg.EmailClaim, name: cfg.NameClaim, groups: cfg.GroupsClaim,
		skew: cfg.ClockSkew, insecureHTTP: cfg.InsecureAllowHTTP,
	}

	r.mu.Lock()
	if v := r.verifiers[key]; v != nil {
		r.mu.Unlock()
		return v, nil
	}
	p := r.pending[key]
	if p == nil {
		p = &pendingVerifier{done: make(chan struct{})}
		r.pending[key] = p
		// Detached from ctx: one caller giving up must not fail the others
		// waiting for the same discovery (getJSON still has its timeout).
		go r.build(context.WithoutCancel(ctx), key, cfg, p)
	}
	r.mu.Unlock()

	select {
	case <-p.done:
		return p.v, p.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (r *Registry) build(ctx context.Context, key registryKey, cfg VerifierConfig, p *pendingVerifier) {
	v, err := r.newVerifier(ctx, cfg)
	r.mu.Lock()
	if err == nil {
		r.verifiers[key] = v
	}
	delete(r.pending, key)
	p.v, p.err = v, err
	r.mu.Unlock()
	close(p.done)
}

func (r *Registry) newVerifier(ctx context.Context, cfg VerifierConfig) (*Verifier, error) {
	jwksURL := cfg.JWKSURL
	if jwksURL == "" {
		var err error
		if jwksURL, err = discover(ctx, cfg); err != nil {
			return nil, err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	ks := r.keySets[jwksURL]
	if ks == nil {
		var err error
		ks, err = NewKeySet(KeySetConfig{
			URL:               jwksURL,
			HTTPClient:        cfg.HTTPClient,
			Now:               cfg.Now,
			InsecureAllowHTTP: cfg.InsecureAllowHTTP,
		})
		if err != nil {
			return nil, err
		}
		r.keySets[jwksURL] = ks
	}
	return newVerifier(cfg, ks), nil
}
