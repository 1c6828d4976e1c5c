// Package devprovider runs, for `coprod dev` only, one small OpenID
// provider per realm (each tenant and the platform), in-process and on
// loopback, with seeded users for every role. Each realm gets its own
// issuer, like production, so a token of one tenant is refused by another.
//
// It is built on oauth2-proxy/mockoidc, which issues real signed tokens
// (PKCE S256 supported) but has no login page: a page of ours at the
// authorization endpoint lets the developer pick a user, then queues it.
// Nothing here is reachable from a production binary's configuration: only
// cmd/coprod's dev command starts it.
package devprovider

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
)

// User is a seeded developer identity; Groups map to roles through the
// realm's claim mapping.
type User struct {
	Subject, Email, Name string
	Groups               []string
}

// Realm is one issuer: a tenant's provider or the platform's.
type Realm struct {
	Name  string // tenant slug, or "platform"
	Users []User
}

// Provider holds the running issuers.
type Provider struct {
	mu     sync.Mutex
	realms map[string]*realm
}

type realm struct {
	m     *mockoidc.MockOIDC
	users []User
}

// Start runs one loopback issuer per realm. ports names the port each realm
// had before (from Ports): issuers keep their URL across restarts when the
// port is still free, so users, who are (issuer, subject), stay the same.
func Start(realms []Realm, ports map[string]int) (*Provider, error) {
	p := &Provider{realms: map[string]*realm{}}
	for _, r := range realms {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		m, err := mockoidc.NewServer(key)
		if err != nil {
			return nil, err
		}
		m.AccessTTL = 12 * time.Hour
		m.CodeChallengeMethodsSupported = []string{"S256"}
		rl := &realm{m: m, users: r.Users}
		if err := m.AddMiddleware(rl.chooser); err != nil {
			return nil, err
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", ports[r.Name])) // loopback only, always
		if err != nil {
			ln, err = net.Listen("tcp", "127.0.0.1:0")
		}
		if err != nil {
			p.Stop()
			return nil, err
		}
		if err := m.Start(ln, nil); err != nil {
			p.Stop()
			return nil, err
		}
		p.realms[r.Name] = rl
	}
	return p, nil
}

// Ports returns the port of each realm's issuer, to pass to the next Start.
func (p *Provider) Ports() map[string]int {
	out := map[string]int{}
	for name, r := range p.realms {
		if u, err := url.Parse(r.m.Issuer()); err == nil {
			var port int
			fmt.Sscan(u.Port(), &port)
			out[name] = port
		}
	}
	return out
}

// Stop shuts every issuer down.
func (p *Provider) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range p.realms {
		_ = r.m.Shutdown()
	}
}

// Client is what a realm's identity-provider settings need.
type Client struct {
	Issuer, ClientID, ClientSecret string
}

// Client returns the issuer and client credentials of a realm.
func (p *Provider) Client(name string) (Client, bool) {
	r, ok := p.realms[name]
	if !ok {
		return Client{}, false
	}
	cfg := r.m.Config()
	return Client{Issuer: cfg.Issuer, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret}, true
}

// Token mints a bearer access token of realm for the user with the given
// subject, audience aud (the realm's API audience), valid for ttl. For curl.
func (p *Provider) Token(name, subject, aud string, ttl time.Duration) (string, error) {
	r, ok := p.realms[name]
	if !ok {
		return "", fmt.Errorf("no realm %q", name)
	}
	for _, u := range r.users {
		if u.Subject != subject {
			continue
		}
		now := time.Now()
		claims := jwt.MapClaims{
			"iss": r.m.Issuer(), "sub": u.Subject, "aud": aud, "iat": now.Unix(), "nbf": now.Unix(),
			"exp": now.Add(ttl).Unix(), "email": u.Email, "email_verified": true, "name": u.Name, "groups": u.Groups,
		}
		return r.m.Keypair.SignJWT(claims)
	}
	return "", fmt.Errorf("realm %q has no user %q", name, subject)
}

var page = template.Must(template.New("chooser").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>coprod dev login</title>
<style>body{font:16px system-ui;margin:3rem auto;max-width:34rem}a{display:block;padding:.6rem;margin:.3rem 0;border:1px solid #ccc;border-radius:.4rem;text-decoration:none}</style>
</head><body><h1>coprod dev login</h1><p>Development identity provider. Log in as:</p>
{{range .}}<a href="{{.URL}}">{{.User.Name}} <small>({{.User.Email}})</small></a>{{end}}
</body></html>`))

// chooser shows the user list at the authorization endpoint; a choice
// comes back with dev_user set, is queued, and mockoidc issues the code.
func (r *realm) chooser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path != mockoidc.AuthorizationEndpoint {
			next.ServeHTTP(w, req)
			return
		}
		chosen := req.URL.Query().Get("dev_user")
		for _, u := range r.users {
			if u.Subject == chosen {
				r.m.QueueUser(&mockoidc.MockUser{Subject: u.Subject, Email: u.Email, EmailVerified: true,
					PreferredUsername: u.Name, Groups: u.Groups})
				next.ServeHTTP(w, req)
				return
			}
		}
		type choice struct {
			User User
			URL  string
		}
		var cs []choice
		for _, u := range r.users {
			q := req.URL.Query()
			q.Set("dev_user", u.Subject)
			cs = append(cs, choice{u, (&url.URL{Path: req.URL.Path, RawQuery: q.Encode()}).String()})
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = page.Execute(w, cs)
	})
}
