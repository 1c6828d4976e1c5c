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
	// gen counts forgettings: a value read before one (Since) may predate
	// the change that caused it, and PutSince refuses it.
	gen uint64
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
	m.putLocked(k, v, until)
}

func (m *Memo[K, V]) putLocked(k K, v V, until time.Time) {
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
	m.ForgetIf(func(key K, _ V) bool { return key == k })
}

// ForgetIf drops every entry for which drop says so.
func (m *Memo[K, V]) ForgetIf(drop func(K, V) bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gen++
	for k, e := range m.m {
		if drop(k, e.v) {
			delete(m.m, k)
		}
	}
}

// Clear forgets everything.
func (m *Memo[K, V]) Clear() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gen++
	clear(m.m)
}

// Since marks the start of a read whose result may be remembered with
// PutSince.
func (m *Memo[K, V]) Since() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.gen
}

// PutSince remembers v like Put unless something was forgotten since the
// mark: v may then be older than the change that caused the forgetting
// (read before it committed, put after it was forgotten). It reports
// whether v was kept.
func (m *Memo[K, V]) PutSince(k K, v V, until time.Time, mark uint64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.gen != mark {
		return false
	}
	m.putLocked(k, v, until)
	return true
}
