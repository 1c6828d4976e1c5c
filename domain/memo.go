package domain

import (
	"sync"
	"time"
)

// Memo remembers values until a time of their own, in process memory,
// safe for concurrent use. It holds at most Max entries: when full it
// forgets them all at once rather than track their age (what it holds is
// always cheap to read again). The zero value holds up to 10,000.
type Memo[K comparable, V any] struct {
	Max int

	mu sync.Mutex
	m  map[K]memoEntry[V]
}

type memoEntry[V any] struct {
	v     V
	until time.Time
}

// Get returns the value of k if it is remembered and now is before its end.
func (m *Memo[K, V]) Get(k K, now time.Time) (V, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.m[k]
	if !ok || !now.Before(e.until) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// Put remembers v for k until the given time.
func (m *Memo[K, V]) Put(k K, v V, until time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	max := m.Max
	if max <= 0 {
		max = 10_000
	}
	if m.m == nil || len(m.m) >= max {
		m.m = map[K]memoEntry[V]{}
	}
	m.m[k] = memoEntry[V]{v: v, until: until}
}

// Forget drops k (after a change of what it stands for).
func (m *Memo[K, V]) Forget(k K) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, k)
}
