package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/coprod/coprod/domain/identity"
)

// Metadata is the part of a provider's discovery document that login uses.
type Metadata struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	EndSessionEndpoint    string `json:"end_session_endpoint"`
	IssParameterSupported bool   `json:"authorization_response_iss_parameter_supported"`
}

// Client is the relying-party side of OpenID Connect for every realm:
// discovery, authorization URLs, code exchange and token verification. Key
// sets and discovery documents are cached per issuer.
type Client struct {
	http      *http.Client
	verifiers *Registry
	allowHTTP bool
	ttl       time.Duration
	now       func() time.Time

	mu   sync.Mutex
	meta map[string]cachedMeta
}

type cachedMeta struct {
	m  Metadata
	at time.Time
}

// NewClient returns a client; allowHTTP admits plain-http issuers beyond
// loopback (never in production).
func NewClient(allowHTTP bool) *Client {
	hc := &http.Client{Timeout: 10 * time.Second}
	return &Client{http: hc, verifiers: NewRegistry(hc), allowHTTP: allowHTTP, ttl: time.Hour, now: time.Now, meta: map[string]cachedMeta{}}
}

// Discover implements identity.Discoverer: a fresh fetch of the discovery
// document, returning the issuer it names.
func (c *Client) Discover(ctx context.Context, issuer string) (string, error) {
	m, err := c.fetchMeta(ctx, issuer)
	if err != nil {
		return "", err
	}
	return m.Issuer, nil
}

// Metadata returns the (cached) discovery document of issuer.
func (c *Client) Metadata(ctx context.Context, issuer string) (Metadata, error) {
	c.mu.Lock()
	cm, ok := c.meta[issuer]
	c.mu.Unlock()
	if ok && c.now().Sub(cm.at) < c.ttl {
		return cm.m, nil
	}
	m, err := c.fetchMeta(ctx, issuer)
	if err != nil {
		return Metadata{}, err
	}
	if m.Issuer != issuer {
		return Metadata{}, fmt.Errorf("oidc: discovery document of %s names issuer %s", issuer, m.Issuer)
	}
	c.mu.Lock()
	c.meta[issuer] = cachedMeta{m, c.now()}
	c.mu.Unlock()
	return m, nil
}

func (c *Client) fetchMeta(ctx context.Context, issuer string) (Metadata, error) {
	var m Metadata
	if err := getJSON(ctx, c.http, wellKnown(issuer), c.allowHTTP, &m); err != nil {
		return Metadata{}, err
	}
	if m.Issuer == "" || m.AuthorizationEndpoint == "" || m.TokenEndpoint == "" {
		return Metadata{}, errors.New("oidc: discovery document lacks issuer, authorization or token endpoint")
	}
	return m, nil
}

func wellKnown(issuer string) string {
	for len(issuer) > 0 && issuer[len(issuer)-1] == '/' {
		issuer = issuer[:len(issuer)-1]
	}
	return issuer + "/.well-known/openid-configuration"
}

func (c *Client) oauth2(ctx context.Context, p *identity.Provider, redirectURI string) (*oauth2.Config, error) {
	m, err := c.Metadata(ctx, p.Issuer)
	if err != nil {
		return nil, err
	}
	return &oauth2.Config{
		ClientID: p.ClientID, ClientSecret: p.ClientSecret, RedirectURL: redirectURI, Scopes: p.Scopes,
		Endpoint: oauth2.Endpoint{AuthURL: m.AuthorizationEndpoint, TokenURL: m.TokenEndpoint},
	}, nil
}

// AuthCodeURL builds the authorization request: code flow, PKCE S256, nonce.
func (c *Client) AuthCodeURL(ctx context.Context, p *identity.Provider, redirectURI, state, nonce, verifier string) (string, error) {
	cfg, err := c.oauth2(ctx, p, redirectURI)
	if err != nil {
		return "", err
	}
	return cfg.AuthCodeURL(state, oauth2.SetAuthURLParam("nonce", nonce), oauth2.S256ChallengeOption(verifier)), nil
}

// Exchange redeems the code with the PKCE verifier, then verifies the ID
// token: signature, issuer, audience (our client id), expiry, and nonce.
func (c *Client) Exchange(ctx context.Context, p *identity.Provider, redirectURI, code, verifier, nonce string) (identity.Identity, string, error) {
	if code == "" {
		return identity.Identity{}, "", errors.New("oidc: no authorization code")
	}
	cfg, err := c.oauth2(ctx, p, redirectURI)
	if err != nil {
		return identity.Identity{}, "", err
	}
	tok, err := cfg.Exchange(context.WithValue(ctx, oauth2.HTTPClient, c.http), code, oauth2.VerifierOption(verifier))
	if err != nil {
		return identity.Identity{}, "", fmt.Errorf("oidc: code exchange: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return identity.Identity{}, "", errors.New("oidc: token response without id_token")
	}
	v, err := c.verifier(ctx, p, p.ClientID)
	if err != nil {
		return identity.Identity{}, "", err
	}
	claims, err := v.Verify(ctx, raw)
	if err != nil {
		return identity.Identity{}, "", err
	}
	if got, _ := claims.Raw["nonce"].(string); got == "" || got != nonce {
		return identity.Identity{}, "", errors.New("oidc: ID token nonce does not match the login")
	}
	return toIdentity(claims), raw, nil
}

// VerifyBearer verifies an API access token against the realm's issuer and
// the audience configured for API tokens.
func (c *Client) VerifyBearer(ctx context.Context, p *identity.Provider, token string) (identity.Identity, error) {
	v, err := c.verifier(ctx, p, p.Audience)
	if err != nil {
		return identity.Identity{}, err
	}
	claims, err := v.Verify(ctx, token)
	if err != nil {
		return identity.Identity{}, err
	}
	return toIdentity(claims), nil
}

func (c *Client) verifier(ctx context.Context, p *identity.Provider, audience string) (*Verifier, error) {
	return c.verifiers.Verifier(ctx, VerifierConfig{
		Issuer: p.Issuer, Audience: audience,
		EmailClaim: p.Claims.EmailClaim, NameClaim: p.Claims.NameClaim, GroupsClaim: p.Claims.GroupsClaim,
		HTTPClient: c.http, InsecureAllowHTTP: c.allowHTTP,
	})
}

func toIdentity(c *Claims) identity.Identity {
	return identity.Identity{Issuer: c.Issuer, Subject: c.Subject, Email: c.Email, EmailVerified: c.EmailVerified, Name: c.Name, Groups: c.Groups}
}
