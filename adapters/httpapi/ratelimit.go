package httpapi

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
)

// RateLimit configures the token buckets that keep one noisy caller from
// slowing the others (ADR 0018). They live in this process's memory: each
// replica limits on its own. A rate of zero switches that kind off.
type RateLimit struct {
	// TenantRate and TenantBurst bound the requests of one tenant (all its
	// signed-in users and clients together), and of one platform user:
	// requests per second, and how many may come at once.
	TenantRate  float64
	TenantBurst int
	// ClientRate and ClientBurst bound anonymous requests (and presented
	// but invalid credentials) per client IP address.
	ClientRate  float64
	ClientBurst int
	// MaxKeys bounds the buckets kept per kind (default 100,000); callers
	// beyond it share one bucket until idle ones are evicted.
	MaxKeys int
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// overflowKey is the bucket shared by new callers while the table is full.
const overflowKey = "\x00overflow"

// limiter is a table of token buckets of one rate. A bucket left idle long
// enough to be full again is indistinguishable from a new one, so it is
// dropped: memory holds only the callers active in the last refill period.
type limiter struct {
	rate, burst float64
	maxKeys     int
	refill      time.Duration // time for an empty bucket to fill up

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

// verdict is the outcome of one request against its bucket.
type verdict struct {
	ok        bool
	limit     int
	remaining int
	reset     int // seconds until the bucket is full again
	retry     int // seconds until the next request may pass (when !ok)
}

func newLimiter(rate float64, burst, maxKeys int) *limiter {
	if rate <= 0 {
		return nil
	}
	if burst < 1 {
		burst = 1
	}
	if maxKeys <= 0 {
		maxKeys = 100_000
	}
	return &limiter{rate: rate, burst: float64(burst), maxKeys: maxKeys, buckets: map[string]*bucket{},
		refill: time.Duration(float64(burst) / rate * float64(time.Second))}
}

// take spends one token of key's bucket, if there is one.
func (l *limiter) take(key string, now time.Time) verdict {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= l.maxKeys {
			key = overflowKey
			b = l.buckets[key]
		}
		if b == nil {
			b = &bucket{tokens: l.burst, at: now}
			l.buckets[key] = b
		}
	}
	if d := now.Sub(b.at); d > 0 {
		b.tokens = math.Min(l.burst, b.tokens+d.Seconds()*l.rate)
		b.at = now
	}
	v := verdict{limit: int(l.burst)}
	if b.tokens >= 1 {
		b.tokens--
		v.ok = true
	} else {
		v.retry = max(1, int(math.Ceil((1-b.tokens)/l.rate)))
	}
	v.remaining = int(b.tokens)
	v.reset = int(math.Ceil((l.burst - b.tokens) / l.rate))
	return v
}

// sweep drops the buckets that are full by now: once per refill period
// (at least a second), or every 100 ms while the table is full, so that
// its cost stays amortised even when many new callers arrive.
func (l *limiter) sweep(now time.Time) {
	since := now.Sub(l.lastSweep)
	if since < max(l.refill, time.Second) && (len(l.buckets) < l.maxKeys || since < 100*time.Millisecond) {
		return
	}
	l.lastSweep = now
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*l.rate >= l.burst {
			delete(l.buckets, k)
		}
	}
}

// size is the number of buckets held (tests).
func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// rateLimits holds the two tables.
type rateLimits struct {
	tenant, client *limiter
	now            func() time.Time
}

func newRateLimits(c RateLimit) *rateLimits {
	if c.Now == nil {
		c.Now = time.Now
	}
	return &rateLimits{tenant: newLimiter(c.TenantRate, c.TenantBurst, c.MaxKeys),
		client: newLimiter(c.ClientRate, c.ClientBurst, c.MaxKeys), now: c.Now}
}

// admit charges the request to its bucket and answers 429 when it is
// empty, returning false. p is nil for anonymous requests and invalid
// credentials. A tenant's budget is spent only by its own signed-in
// callers; a platform user (an organisation's member, a regional analyst)
// has a bucket of its own wherever it acts, so no outsider can starve a
// municipality. Health probes and platform operators are never limited:
// probes must tell the truth under load, and operators are who fixes it.
func (s *Server) admit(ctx huma.Context, p *domain.Principal) bool {
	if s.rate == nil {
		return true
	}
	switch ctx.Operation().Path {
	case "/healthz", "/readyz":
		return true
	}
	var l *limiter
	var key string
	switch {
	case p != nil && p.IsOperator():
		return true
	case p != nil && p.TenantID != uuid.Nil:
		l, key = s.rate.tenant, "t:"+p.TenantID.String()
	case p != nil:
		l, key = s.rate.tenant, "u:"+p.Subject
	default:
		// Anonymous callers never spend a tenant's budget, even on its
		// routes (login, public pages): otherwise anyone could starve it.
		l, key = s.rate.client, "ip:"+clientIP(ctx)
	}
	if l == nil {
		return true
	}
	v := l.take(key, s.rate.now())
	ctx.SetHeader("RateLimit-Limit", strconv.Itoa(v.limit))
	ctx.SetHeader("RateLimit-Remaining", strconv.Itoa(v.remaining))
	ctx.SetHeader("RateLimit-Reset", strconv.Itoa(v.reset))
	if v.ok {
		return true
	}
	ctx.SetHeader("Retry-After", strconv.Itoa(v.retry))
	pr := newProblem(http.StatusTooManyRequests, "rate_limited", "too many requests: retry after "+strconv.Itoa(v.retry)+" s")
	pr.RequestID = requestIDFrom(ctx.Context())
	ctx.SetHeader("Content-Type", "application/problem+json")
	ctx.SetStatus(pr.Status)
	_ = jsonEncode(ctx.BodyWriter(), pr)
	return false
}

// clientIP is the TCP peer's address. Forwarded headers are not trusted:
// behind a reverse proxy every anonymous client shares the proxy's bucket
// (ADR 0018).
func clientIP(ctx huma.Context) string {
	r, _ := humago.Unwrap(ctx)
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// documentRateLimit adds the 429 answer, with its headers, to every
// operation that can be limited (all but the health probes), shaped like
// the operation's other problems.
func (s *Server) documentRateLimit() {
	if s.rate == nil || s.rate.tenant == nil && s.rate.client == nil {
		return
	}
	integer := func(doc string) *huma.Param {
		return &huma.Param{Description: doc, Schema: &huma.Schema{Type: huma.TypeInteger}}
	}
	for path, item := range s.api.OpenAPI().Paths {
		if path == "/healthz" || path == "/readyz" {
			continue
		}
		for _, op := range []*huma.Operation{item.Get, item.Put, item.Post, item.Delete, item.Patch} {
			if op == nil || op.Responses["429"] != nil {
				continue
			}
			var content map[string]*huma.MediaType
			for code, r := range op.Responses {
				if len(code) == 3 && code[0] == '4' && r.Content != nil {
					content = r.Content
					break
				}
			}
			if content == nil {
				continue
			}
			op.Responses["429"] = &huma.Response{
				Description: "Too Many Requests: the tenant's (or anonymous client's) rate limit is spent; problem code rate_limited",
				Content:     content,
				Headers: map[string]*huma.Param{
					"Retry-After":         integer("seconds until a request may pass"),
					"RateLimit-Limit":     integer("requests the bucket holds (the burst)"),
					"RateLimit-Remaining": integer("requests left now"),
					"RateLimit-Reset":     integer("seconds until the bucket is full again"),
				},
			}
		}
	}
}
