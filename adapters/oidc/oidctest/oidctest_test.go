package oidctest_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/coprod/coprod/adapters/oidc/oidctest"
)

const (
	clientID    = "coprod-web"
	redirectURI = "http://127.0.0.1:18080/auth/callback"
	logoutURI   = "http://127.0.0.1:18080/signed-out"
	audience    = "https://api.coprod.test"
)

var (
	ada   = oidctest.User{Subject: "u-ada", Email: "ada@example.com", Name: "Ada Lovelace", EmailVerified: true, Groups: []string{"admins", "engineers"}}
	grace = oidctest.User{Subject: "u-grace", Email: "grace@example.com", Name: "Grace Hopper", Groups: []string{"engineers"}}
)

func start(t *testing.T) *oidctest.Provider {
	t.Helper()
	began := time.Now()
	p := oidctest.Start(t, oidctest.Config{
		Clients: []oidctest.Client{
			{ID: clientID, Secret: "web-secret", RedirectURIs: []string{redirectURI}, PostLogoutRedirectURIs: []string{logoutURI}},
			{ID: "other", Secret: "other-secret", RedirectURIs: []string{"http://127.0.0.1:18081/cb"}},
		},
		Users:               []oidctest.User{ada, grace},
		AccessTokenAudience: audience,
		IDTokenTTL:          10 * time.Minute,
		AccessTokenTTL:      5 * time.Minute,
	})
	t.Logf("Start took %s", time.Since(began).Round(time.Millisecond))
	return p
}

func TestProvider(t *testing.T) {
	p := start(t)
	oc := p.OAuth2Config(clientID, "openid", "email", "profile", "groups", "api")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// authorize runs the browser part of a flow in a fresh session and
	// returns the callback query and the verifier.
	authorize := func(t *testing.T, browser *http.Client, opts ...oauth2.AuthCodeOption) (url.Values, string, string) {
		t.Helper()
		verifier := oauth2.GenerateVerifier()
		state := "state-" + oauth2.GenerateVerifier()[:8]
		opts = append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}, opts...)
		cb := p.Authorize(t, browser, oc.AuthCodeURL(state, opts...), redirectURI)
		if !strings.HasPrefix(cb.String(), redirectURI+"?") {
			t.Fatalf("callback %s", cb)
		}
		return cb.Query(), verifier, state
	}

	t.Run("discovery", func(t *testing.T) {
		resp, err := http.Get(p.Issuer + "/.well-known/openid-configuration")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var d struct {
			Issuer                 string   `json:"issuer"`
			CodeChallengeMethods   []string `json:"code_challenge_methods_supported"`
			IssParameterSupported  bool     `json:"authorization_response_iss_parameter_supported"`
			EndSessionEndpoint     string   `json:"end_session_endpoint"`
			JWKSURI                string   `json:"jwks_uri"`
			ResponseTypesSupported []string `json:"response_types_supported"`
			ScopesSupported        []string `json:"scopes_supported"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(p.Issuer, "http://127.0.0.1:") || strings.HasSuffix(p.Issuer, "/") {
			t.Errorf("Issuer = %q", p.Issuer)
		}
		if d.Issuer != p.Issuer {
			t.Errorf("issuer = %q, want exactly %q", d.Issuer, p.Issuer)
		}
		if !slices.Contains(d.CodeChallengeMethods, "S256") || slices.Contains(d.CodeChallengeMethods, "plain") {
			t.Errorf("code_challenge_methods_supported = %v, want S256 only", d.CodeChallengeMethods)
		}
		if !d.IssParameterSupported {
			t.Error("authorization_response_iss_parameter_supported is not true")
		}
		if d.EndSessionEndpoint == "" || d.EndSessionEndpoint != p.EndSessionEndpoint {
			t.Errorf("end_session_endpoint = %q (Provider has %q)", d.EndSessionEndpoint, p.EndSessionEndpoint)
		}
		for _, s := range []string{"openid", "email", "profile", "groups"} {
			if !slices.Contains(d.ScopesSupported, s) {
				t.Errorf("scopes_supported %v lacks %s", d.ScopesSupported, s)
			}
		}
		if !slices.Equal(d.ResponseTypesSupported, []string{"code"}) {
			t.Errorf("response_types_supported = %v", d.ResponseTypesSupported)
		}

		// The JWKS holds an RS256 signing key.
		jr, err := http.Get(d.JWKSURI)
		if err != nil {
			t.Fatal(err)
		}
		defer jr.Body.Close()
		var jwks struct {
			Keys []struct{ Kty, Alg, Use, Kid, D string } `json:"keys"`
		}
		if err := json.NewDecoder(jr.Body).Decode(&jwks); err != nil {
			t.Fatal(err)
		}
		if len(jwks.Keys) != 1 || jwks.Keys[0].Kty != "RSA" || jwks.Keys[0].Alg != "RS256" || jwks.Keys[0].Kid == "" || jwks.Keys[0].D != "" {
			t.Errorf("jwks = %+v", jwks)
		}
	})

	t.Run("code flow with PKCE", func(t *testing.T) {
		q, verifier, state := authorize(t, oidctest.NewBrowser(),
			oauth2.SetAuthURLParam("nonce", "nonce-1"), oauth2.SetAuthURLParam("login_hint", ada.Email))
		if q.Get("error") != "" {
			t.Fatalf("authorization error: %s", q.Encode())
		}
		if q.Get("state") != state {
			t.Errorf("state = %q, want %q", q.Get("state"), state)
		}
		if !q.Has("iss") || q.Get("iss") != p.Issuer {
			t.Errorf("iss = %q (present %v), want %q", q.Get("iss"), q.Has("iss"), p.Issuer)
		}
		code := q.Get("code")
		if code == "" {
			t.Fatalf("no code in %v", q)
		}

		tok, err := oc.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		if !strings.EqualFold(tok.TokenType, "Bearer") || tok.Expiry.IsZero() {
			t.Errorf("token type %q, expiry %v", tok.TokenType, tok.Expiry)
		}
		if d := time.Until(tok.Expiry); d < 4*time.Minute || d > 6*time.Minute {
			t.Errorf("access token expires in %s, want ~5m", d)
		}
		rawID, _ := tok.Extra("id_token").(string)
		header, id := decodeJWT(t, rawID)
		if header["alg"] != "RS256" || header["kid"] == nil {
			t.Errorf("id token header %v", header)
		}
		if id["iss"] != p.Issuer || id["aud"] != clientID || id["sub"] != ada.Subject || id["nonce"] != "nonce-1" {
			t.Errorf("id token iss/aud/sub/nonce = %v/%v/%v/%v", id["iss"], id["aud"], id["sub"], id["nonce"])
		}
		if id["email"] != ada.Email || id["email_verified"] != true || id["name"] != ada.Name {
			t.Errorf("id token email/email_verified/name = %v/%v/%v", id["email"], id["email_verified"], id["name"])
		}
		if g, _ := json.Marshal(id["groups"]); string(g) != `["admins","engineers"]` {
			t.Errorf("id token groups = %s", g)
		}
		if ttl := id["exp"].(float64) - id["iat"].(float64); ttl != 600 {
			t.Errorf("id token lifetime %vs, want 600", ttl)
		}

		// The access token is a JWT (RFC 9068) for the configured audience.
		atHeader, at := decodeJWT(t, tok.AccessToken)
		if atHeader["typ"] != "at+jwt" {
			t.Errorf("access token typ = %v", atHeader["typ"])
		}
		if at["aud"] != audience || at["iss"] != p.Issuer || at["sub"] != ada.Subject || at["client_id"] != clientID || at["scope"] != "api" {
			t.Errorf("access token claims %v", at)
		}

		// A code is single use.
		_, err = oc.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		expectGrantError(t, err, "invalid_grant")
	})

	t.Run("exchange without or with a wrong PKCE verifier fails", func(t *testing.T) {
		q, verifier, _ := authorize(t, oidctest.NewBrowser())
		code := q.Get("code")
		_, err := oc.Exchange(ctx, code)
		expectGrantError(t, err, "invalid_grant")
		_, err = oc.Exchange(ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
		expectGrantError(t, err, "invalid_grant")
		// PKCE is checked before the code is consumed.
		if _, err := oc.Exchange(ctx, code, oauth2.VerifierOption(verifier)); err != nil {
			t.Errorf("exchange with the right verifier after failed ones: %v", err)
		}
	})

	t.Run("authorization request without PKCE is refused", func(t *testing.T) {
		cb := p.Authorize(t, oidctest.NewBrowser(), oc.AuthCodeURL("s1"), redirectURI)
		q := cb.Query()
		if q.Get("error") != "invalid_request" || q.Get("code") != "" || q.Get("state") != "s1" || q.Get("iss") != p.Issuer {
			t.Errorf("callback %v", q)
		}
		cb = p.Authorize(t, oidctest.NewBrowser(), oc.AuthCodeURL("s2",
			oauth2.SetAuthURLParam("code_challenge", oauth2.GenerateVerifier()),
			oauth2.SetAuthURLParam("code_challenge_method", "plain")), redirectURI)
		if q := cb.Query(); q.Get("error") != "invalid_request" || q.Get("code") != "" {
			t.Errorf("plain PKCE: callback %v", q)
		}
	})

	t.Run("login_hint picks the user", func(t *testing.T) {
		browser := oidctest.NewBrowser()
		for _, c := range []struct{ hint, sub string }{
			{"", ada.Subject}, // no hint: first user
			{grace.Subject, grace.Subject},
			{"ADA@example.com", ada.Subject}, // same browser, other user: logs in again
		} {
			var opts []oauth2.AuthCodeOption
			if c.hint != "" {
				opts = append(opts, oauth2.SetAuthURLParam("login_hint", c.hint))
			}
			q, verifier, _ := authorize(t, browser, opts...)
			tok, err := oc.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("hint %q: %v", c.hint, err)
			}
			rawID, _ := tok.Extra("id_token").(string)
			if _, id := decodeJWT(t, rawID); id["sub"] != c.sub {
				t.Errorf("hint %q: sub %v, want %s", c.hint, id["sub"], c.sub)
			}
		}
		q, _, _ := authorize(t, oidctest.NewBrowser(), oauth2.SetAuthURLParam("login_hint", "nobody@example.com"))
		if q.Get("error") != "access_denied" || q.Get("code") != "" {
			t.Errorf("unknown login_hint: callback %v", q)
		}
	})

	t.Run("RP-initiated logout", func(t *testing.T) {
		browser := oidctest.NewBrowser()
		q, verifier, _ := authorize(t, browser, oauth2.SetAuthURLParam("login_hint", grace.Subject))
		tok, err := oc.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		// The session is live: prompt=none succeeds.
		q, _, _ = authorize(t, browser, oauth2.SetAuthURLParam("prompt", "none"))
		if q.Get("code") == "" {
			t.Fatalf("prompt=none before logout: %v", q)
		}
		end := p.EndSessionEndpoint + "?" + url.Values{
			"id_token_hint":            {tok.Extra("id_token").(string)},
			"post_logout_redirect_uri": {logoutURI},
			"state":                    {"bye"},
		}.Encode()
		cb := p.EndSession(t, browser, end, logoutURI)
		if cb.Query().Get("state") != "bye" {
			t.Errorf("post logout redirect %s", cb)
		}
		q, _, _ = authorize(t, browser, oauth2.SetAuthURLParam("prompt", "none"))
		if q.Get("error") != "login_required" {
			t.Errorf("prompt=none after logout: %v", q)
		}
	})

	t.Run("AccessToken helper", func(t *testing.T) {
		tok := p.AccessToken(t, clientID, grace.Email)
		if _, at := decodeJWT(t, tok.AccessToken); at["aud"] != audience || at["sub"] != grace.Subject {
			t.Errorf("access token claims %v", at)
		}
		rawID, _ := tok.Extra("id_token").(string)
		if _, id := decodeJWT(t, rawID); id["email"] != grace.Email || id["email_verified"] != false {
			t.Errorf("id token claims %v", id)
		}
	})

	t.Run("clients are isolated", func(t *testing.T) {
		// A code issued to one client cannot be redeemed by another.
		q, verifier, _ := authorize(t, oidctest.NewBrowser())
		other := p.OAuth2Config("other")
		other.RedirectURL = redirectURI
		_, err := other.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
		expectGrantError(t, err, "invalid_grant")
		// A redirect_uri not registered for the client is never redirected to.
		bad := *oc
		bad.RedirectURL = "http://127.0.0.1:18080/evil"
		resp, err := oidctest.NewBrowser().Get(bad.AuthCodeURL("x", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Errorf("unregistered redirect_uri: %s, Location %q", resp.Status, resp.Header.Get("Location"))
		}
	})
}

func decodeJWT(t *testing.T, raw string) (header, payload map[string]any) {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS compact JWT: %q", raw)
	}
	for i, dst := range []*map[string]any{&header, &payload} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatalf("JWT part %d: %v", i, err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatalf("JWT part %d: %v", i, err)
		}
	}
	return header, payload
}

func expectGrantError(t *testing.T, err error, code string) {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("error %v, want an OAuth error %s", err, code)
	}
	if re.ErrorCode != code {
		t.Errorf("error code %q (%s), want %q", re.ErrorCode, re.ErrorDescription, code)
	}
}
