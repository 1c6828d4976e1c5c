// Package oidctest runs a real OpenID Connect provider for tests: the
// certified Node.js library oidc-provider (panva/node-oidc-provider), wrapped
// by testdata/oidc-provider/server.js and started as a separate process.
//
// The provider speaks plain http on 127.0.0.1, supports only the
// authorization code flow with PKCE (S256) required, returns the RFC 9207
// `iss` authorization response parameter, offers RP-initiated logout, puts
// email, email_verified, name and groups into ID tokens (scopes email,
// profile, groups) and, when Config.AccessTokenAudience is set, issues JWT
// access tokens (RFC 9068) whose aud is that audience.
//
// There is no login form: the End-User is the one named by the login_hint
// authorization parameter (Subject or Email; the first configured user when
// absent) and consent is granted automatically. Authorize drives the browser
// part of a flow with a plain http.Client.
//
// Start needs node and npm (Node.js 20 or later). It runs `npm ci` in
// testdata/oidc-provider once per test process when node_modules is missing or
// older than package-lock.json; that needs the npm registry.
package oidctest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// Client is an OAuth 2.0 client (relying party) registered at the provider.
// It authenticates at the token endpoint with client_secret_basic.
type Client struct {
	ID, Secret             string
	RedirectURIs           []string // exact match; http://127.0.0.1:<port>/... is fine
	PostLogoutRedirectURIs []string
}

// User is an End-User account. Subject is the sub claim.
type User struct {
	Subject, Email, Name string
	EmailVerified        bool
	Groups               []string
}

// Config configures a provider.
type Config struct {
	Clients []Client
	Users   []User
	// AccessTokenAudience, when set, makes every access token a JWT for a
	// default resource whose aud is this value. When empty, access tokens
	// are opaque and only good for the userinfo endpoint.
	AccessTokenAudience string
	// Zero means one hour. Rounded up to whole seconds.
	IDTokenTTL, AccessTokenTTL time.Duration
	// Port to listen on (127.0.0.1); zero picks a free one.
	Port int
}

// Provider is a running provider process.
type Provider struct {
	// Issuer is the issuer identifier, e.g. http://127.0.0.1:41234 (no
	// trailing slash), exactly as in the discovery document and tokens.
	Issuer string
	// Endpoints from the discovery document.
	AuthorizationEndpoint, TokenEndpoint, JWKSURI, UserinfoEndpoint, EndSessionEndpoint string

	cfg  Config
	logs *tailBuffer
}

// StartTimeout bounds how long Start waits for the process to report READY
// (npm ci is not counted).
const StartTimeout = 60 * time.Second

// Start runs a provider for cfg until the test ends. It fails the test (it
// never skips) when node or npm are missing or the provider does not start.
func Start(t testing.TB, cfg Config) *Provider {
	t.Helper()
	begin := time.Now()
	if len(cfg.Clients) == 0 || len(cfg.Users) == 0 {
		t.Fatal("oidctest.Start: Config needs at least one Client and one User")
	}
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("oidctest: %s not found in PATH (%v); the OIDC tests need Node.js >= 20 and npm: "+
				"apt-get install -y nodejs npm (Debian/Ubuntu), then `npm ci` in testdata/oidc-provider runs by itself", tool, err)
		}
	}
	dir, err := serverDir()
	if err != nil {
		t.Fatalf("oidctest: %v", err)
	}
	installed, err := ensureNodeModules(dir)
	if err != nil {
		t.Fatalf("oidctest: %v", err)
	}
	npmDone := time.Now()

	cfgPath := filepath.Join(t.TempDir(), "oidc-provider.json")
	raw, err := json.MarshalIndent(toJSON(cfg), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, raw, 0o600); err != nil {
		t.Fatal(err)
	}

	p := &Provider{cfg: cfg, logs: &tailBuffer{max: 256 << 10}}
	cmd := exec.Command("node", "server.js", cfgPath)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "OIDC_TEST_IGNORE_STDIN=0", "NO_COLOR=1")
	cmd.Stderr = p.logs
	// The server exits when its stdin reaches EOF, i.e. when this process
	// dies without running the cleanup below.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	cmd.Stdout = &readyWriter{ready: ready, rest: p.logs}
	if err := cmd.Start(); err != nil {
		t.Fatalf("oidctest: start node server.js: %v", err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	stop := func() {
		_ = stdin.Close()
		select {
		case <-exited:
			return
		default:
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}

	select {
	case p.Issuer = <-ready:
	case <-exited:
		t.Fatalf("oidctest: the provider exited before it was ready (%v); its output:\n%s", waitErr, p.logs)
	case <-time.After(StartTimeout):
		stop()
		t.Fatalf("oidctest: the provider was not ready within %s; its output:\n%s", StartTimeout, p.logs)
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("oidctest: provider %s log:\n%s", p.Issuer, p.logs)
		}
	})

	if err := p.discover(); err != nil {
		t.Fatalf("oidctest: %v; provider output:\n%s", err, p.logs)
	}
	npmNote := "node_modules up to date"
	if installed {
		npmNote = "ran npm ci"
	}
	t.Logf("oidctest: provider %s ready in %s (%s: %s)", p.Issuer,
		time.Since(begin).Round(time.Millisecond), npmNote, npmDone.Sub(begin).Round(time.Millisecond))
	return p
}

func (p *Provider) discover() error {
	resp, err := http.Get(p.Issuer + "/.well-known/openid-configuration")
	if err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("discovery: status %s", resp.Status)
	}
	var d struct {
		Issuer                string `json:"issuer"`
		AuthorizationEndpoint string `json:"authorization_endpoint"`
		TokenEndpoint         string `json:"token_endpoint"`
		JWKSURI               string `json:"jwks_uri"`
		UserinfoEndpoint      string `json:"userinfo_endpoint"`
		EndSessionEndpoint    string `json:"end_session_endpoint"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	if d.Issuer != p.Issuer {
		return fmt.Errorf("discovery: issuer %q, want %q", d.Issuer, p.Issuer)
	}
	p.AuthorizationEndpoint, p.TokenEndpoint, p.JWKSURI = d.AuthorizationEndpoint, d.TokenEndpoint, d.JWKSURI
	p.UserinfoEndpoint, p.EndSessionEndpoint = d.UserinfoEndpoint, d.EndSessionEndpoint
	return nil
}

// Logs returns what the provider process printed so far (a request log and
// errors), for debugging; it is also logged when a test using it fails.
func (p *Provider) Logs() string { return p.logs.String() }

// Client returns the configured client with this ID.
func (p *Provider) Client(id string) (Client, bool) {
	for _, c := range p.cfg.Clients {
		if c.ID == id {
			return c, true
		}
	}
	return Client{}, false
}

// OAuth2Config returns an oauth2.Config for a configured client: its
// secret, the provider's endpoints with client_secret_basic, and the
// client's first redirect URI.
func (p *Provider) OAuth2Config(clientID string, scopes ...string) *oauth2.Config {
	c, ok := p.Client(clientID)
	if !ok {
		panic("oidctest: no client " + clientID)
	}
	oc := &oauth2.Config{
		ClientID:     c.ID,
		ClientSecret: c.Secret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   p.AuthorizationEndpoint,
			TokenURL:  p.TokenEndpoint,
			AuthStyle: oauth2.AuthStyleInHeader,
		},
		Scopes: scopes,
	}
	if len(c.RedirectURIs) > 0 {
		oc.RedirectURL = c.RedirectURIs[0]
	}
	return oc
}

// NewBrowser returns an http.Client fit for Authorize and EndSession: a
// fresh cookie jar (a fresh provider session) and no automatic redirects.
func NewBrowser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Jar:           jar,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Authorize drives the browser part of the authorization code flow without a
// browser: it GETs authURL with client (which must have a cookie jar; its
// provider session lives there), follows the provider's redirects through
// the automatic login and consent, and returns the redirect to the relying
// party: the first URL that starts with redirectPrefix, which is never
// requested. It carries code, state and iss, or error and
// error_description when the provider refused the request.
//
// Authorize follows redirects itself, whatever client.CheckRedirect says.
func (p *Provider) Authorize(t testing.TB, client *http.Client, authURL, redirectPrefix string) *url.URL {
	t.Helper()
	u, err := p.browse(client, authURL, redirectPrefix)
	if err != nil {
		t.Fatalf("oidctest.Authorize: %v", err)
	}
	return u
}

// EndSession performs RP-initiated logout in the session held by client's
// cookie jar: it GETs endSessionURL (the end_session_endpoint with
// id_token_hint or client_id, post_logout_redirect_uri and state), submits
// the provider's confirmation form, and returns the redirect to the
// post_logout_redirect_uri (the first URL starting with redirectPrefix).
func (p *Provider) EndSession(t testing.TB, client *http.Client, endSessionURL, redirectPrefix string) *url.URL {
	t.Helper()
	u, err := p.browse(client, endSessionURL, redirectPrefix)
	if err != nil {
		t.Fatalf("oidctest.EndSession: %v", err)
	}
	return u
}

// AccessToken runs a whole code flow with PKCE for clientID as the user
// named by loginHint (Subject or Email, "" for the first user) in a fresh
// session, and returns the token response: AccessToken (a JWT with aud =
// Config.AccessTokenAudience when that is set), and the ID token in
// token.Extra("id_token"). The scopes are openid email profile groups, plus
// api when an audience is configured.
func (p *Provider) AccessToken(t testing.TB, clientID, loginHint string) *oauth2.Token {
	t.Helper()
	scopes := []string{"openid", "email", "profile", "groups"}
	if p.cfg.AccessTokenAudience != "" {
		scopes = append(scopes, "api")
	}
	oc := p.OAuth2Config(clientID, scopes...)
	if oc.RedirectURL == "" {
		t.Fatalf("oidctest.AccessToken: client %s has no redirect URI", clientID)
	}
	verifier := oauth2.GenerateVerifier()
	state := randomString()
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", randomString())}
	if loginHint != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", loginHint))
	}
	cb := p.Authorize(t, NewBrowser(), oc.AuthCodeURL(state, opts...), oc.RedirectURL)
	q := cb.Query()
	if e := q.Get("error"); e != "" {
		t.Fatalf("oidctest.AccessToken: authorization error %s: %s", e, q.Get("error_description"))
	}
	if q.Get("state") != state {
		t.Fatalf("oidctest.AccessToken: state %q, want %q", q.Get("state"), state)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tok, err := oc.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("oidctest.AccessToken: exchange: %v\nprovider log:\n%s", err, p.logs)
	}
	return tok
}

// maxHops bounds the redirects and form posts of one browse.
const maxHops = 20

var (
	formRE   = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	inputRE  = regexp.MustCompile(`(?is)<input\b([^>]*)>`)
	attrRE   = regexp.MustCompile(`(?is)([a-z_:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')`)
	htmlUnes = strings.NewReplacer("&amp;", "&", "&quot;", `"`, "&#39;", "'", "&#x27;", "'", "&lt;", "<", "&gt;", ">")
)

// browse plays a minimal user agent: it follows redirects and submits
// (method=post) forms made of hidden inputs, until the next URL starts with
// prefix.
func (p *Provider) browse(client *http.Client, start, prefix string) (*url.URL, error) {
	if client == nil || client.Jar == nil {
		return nil, errors.New("the http.Client needs a cookie jar (use NewBrowser)")
	}
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if c.Timeout == 0 {
		c.Timeout = 30 * time.Second
	}
	next, method, form := start, http.MethodGet, url.Values(nil)
	var trail []string
	for range maxHops {
		if strings.HasPrefix(next, prefix) {
			return url.Parse(next)
		}
		trail = append(trail, method+" "+next)
		var body io.Reader
		if method == http.MethodPost {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequest(method, next, body)
		if err != nil {
			return nil, err
		}
		if method == http.MethodPost {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		req.Header.Set("Accept", "text/html,application/json")
		resp, err := c.Do(req)
		if err != nil {
			return nil, err
		}
		page, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		switch {
		case resp.StatusCode >= 300 && resp.StatusCode < 400:
			loc, err := resp.Location()
			if err != nil {
				return nil, fmt.Errorf("%s %s: %s without Location", method, next, resp.Status)
			}
			next, method, form = loc.String(), http.MethodGet, nil
		case resp.StatusCode == http.StatusOK && formRE.Match(page):
			action, values, err := parseForm(page)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", method, next, err)
			}
			target, err := resp.Request.URL.Parse(action)
			if err != nil {
				return nil, err
			}
			next, method, form = target.String(), http.MethodPost, values
		default:
			return nil, fmt.Errorf("%s %s: %s, expected a redirect towards %s: %s\ntrail: %s\nprovider log:\n%s",
				method, next, resp.Status, prefix, strings.TrimSpace(string(page)), strings.Join(trail, " -> "), p.logs)
		}
	}
	return nil, fmt.Errorf("no redirect to %s after %d hops: %s", prefix, maxHops, strings.Join(trail, " -> "))
}

// parseForm returns the action and the named input values of the first
// form with method=post.
func parseForm(page []byte) (string, url.Values, error) {
	for _, m := range formRE.FindAllSubmatch(page, -1) {
		attrs := attributes(m[1])
		if !strings.EqualFold(attrs["method"], "post") {
			continue
		}
		values := url.Values{}
		for _, in := range inputRE.FindAllSubmatch(m[2], -1) {
			a := attributes(in[1])
			if a["name"] != "" {
				values.Add(a["name"], a["value"])
			}
		}
		return attrs["action"], values, nil
	}
	return "", nil, errors.New("no form with method=post")
}

func attributes(b []byte) map[string]string {
	out := map[string]string{}
	for _, m := range attrRE.FindAllSubmatch(b, -1) {
		v := m[2]
		if v == nil {
			v = m[3]
		}
		out[strings.ToLower(string(m[1]))] = htmlUnes.Replace(string(v))
	}
	return out
}

func randomString() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// jsonConfig is what server.js reads.
type jsonConfig struct {
	Port                  int          `json:"port"`
	Clients               []jsonClient `json:"clients"`
	Users                 []jsonUser   `json:"users"`
	AccessTokenAudience   string       `json:"access_token_audience"`
	IDTokenTTLSeconds     int64        `json:"id_token_ttl_seconds"`
	AccessTokenTTLSeconds int64        `json:"access_token_ttl_seconds"`
}

type jsonClient struct {
	ClientID                string   `json:"client_id"`
	ClientSecret            string   `json:"client_secret"`
	RedirectURIs            []string `json:"redirect_uris"`
	PostLogoutRedirectURIs  []string `json:"post_logout_redirect_uris"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
}

type jsonUser struct {
	Sub           string   `json:"sub"`
	Email         string   `json:"email,omitempty"`
	EmailVerified bool     `json:"email_verified"`
	Name          string   `json:"name,omitempty"`
	Groups        []string `json:"groups"`
}

func toJSON(cfg Config) jsonConfig {
	j := jsonConfig{
		Port:                  cfg.Port,
		AccessTokenAudience:   cfg.AccessTokenAudience,
		IDTokenTTLSeconds:     seconds(cfg.IDTokenTTL),
		AccessTokenTTLSeconds: seconds(cfg.AccessTokenTTL),
	}
	for _, c := range cfg.Clients {
		j.Clients = append(j.Clients, jsonClient{
			ClientID:                c.ID,
			ClientSecret:            c.Secret,
			RedirectURIs:            nonNil(c.RedirectURIs),
			PostLogoutRedirectURIs:  nonNil(c.PostLogoutRedirectURIs),
			TokenEndpointAuthMethod: "client_secret_basic",
		})
	}
	for _, u := range cfg.Users {
		j.Users = append(j.Users, jsonUser{
			Sub: u.Subject, Email: u.Email, EmailVerified: u.EmailVerified, Name: u.Name, Groups: nonNil(u.Groups),
		})
	}
	return j
}

func seconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// readyWriter is the process' stdout: it hands the issuer of the first
// "READY <issuer>" line to ready and copies everything else to rest.
type readyWriter struct {
	ready chan<- string
	rest  io.Writer
	line  []byte
	sent  bool
}

func (w *readyWriter) Write(p []byte) (int, error) {
	w.line = append(w.line, p...)
	for {
		i := bytes.IndexByte(w.line, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(w.line[:i])
		w.line = w.line[i+1:]
		if iss, ok := strings.CutPrefix(line, "READY "); ok && !w.sent {
			w.sent = true
			w.ready <- strings.TrimSpace(iss)
			continue
		}
		fmt.Fprintf(w.rest, "stdout: %s\n", line)
	}
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
