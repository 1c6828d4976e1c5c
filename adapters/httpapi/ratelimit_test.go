package httpapi

import (
	"strconv"
	"testing"
	"time"
)

// Memory stays bounded: idle buckets (full again) are dropped, and while
// the table is full new callers share one overflow bucket.
func TestLimiterMemoryIsBounded(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	l := newLimiter(10, 5, 3) // full again 0.5 s after the last request
	for _, k := range []string{"a", "b", "c"} {
		if !l.take(k, now).ok {
			t.Fatalf("first request of %s refused", k)
		}
	}
	// The table is full: d, e and f share the overflow bucket's 5 tokens.
	for i, k := range []string{"d", "e", "f", "d", "e"} {
		if !l.take(k, now).ok {
			t.Fatalf("overflow request %d refused", i)
		}
	}
	if v := l.take("g", now); v.ok || v.retry != 1 {
		t.Errorf("sixth request on the shared overflow bucket: %+v, want refused, retry 1", v)
	}
	if n := l.size(); n != 4 {
		t.Errorf("%d buckets, want 3 and the overflow one", n)
	}
	// A second later every bucket is full again: swept, and g gets its own.
	now = now.Add(time.Second)
	if v := l.take("g", now); !v.ok || v.remaining != 4 {
		t.Errorf("g after the sweep: %+v, want its own bucket with 4 tokens left", v)
	}
	if n := l.size(); n != 1 {
		t.Errorf("%d buckets after the sweep, want 1", n)
	}

	// A million distinct callers over time never hold more than the bound.
	l = newLimiter(10, 5, 1000)
	peak := 0
	for i := range 1_000_000 {
		l.take("ip:"+strconv.Itoa(i), now.Add(time.Duration(i)*time.Millisecond))
		peak = max(peak, len(l.buckets))
	}
	if peak > 1001 {
		t.Errorf("peak of %d buckets, want at most 1001", peak)
	}
}

// A bucket refills at its rate up to the burst, never beyond.
func TestLimiterRefill(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	l := newLimiter(2, 4, 0)
	for range 4 {
		l.take("t", now)
	}
	if v := l.take("t", now); v.ok || v.retry != 1 || v.reset != 2 {
		t.Errorf("empty bucket: %+v, want refused, retry 1 s, full in 2 s", v)
	}
	now = now.Add(500 * time.Millisecond) // one token
	if !l.take("t", now).ok || l.take("t", now).ok {
		t.Error("after 0.5 s at 2/s: want exactly one request through")
	}
	now = now.Add(time.Hour)
	passed := 0
	for range 10 {
		if l.take("t", now).ok {
			passed++
		}
	}
	if passed != 4 {
		t.Errorf("after an hour idle: %d requests through, want the burst of 4", passed)
	}
	if newLimiter(0, 10, 0) != nil {
		t.Error("a zero rate must mean no limiter")
	}
}
