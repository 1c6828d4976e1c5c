package domain_test

import (
	"testing"
	"time"

	"github.com/coprod/coprod/domain"
)

func TestMemo(t *testing.T) {
	var m domain.Memo[string, int]
	m.Max = 2
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	m.Put("a", 1, now.Add(time.Second))
	if v, ok := m.Get("a", now); !ok || v != 1 {
		t.Errorf("a before its end: %d %v", v, ok)
	}
	if _, ok := m.Get("a", now.Add(time.Second)); ok {
		t.Error("a at its end is still remembered")
	}
	m.Put("b", 2, now.Add(time.Hour))
	m.Put("c", 3, now.Add(time.Hour)) // full: everything before is forgotten
	if _, ok := m.Get("b", now); ok {
		t.Error("b survived a full memo")
	}
	if v, ok := m.Get("c", now); !ok || v != 3 {
		t.Errorf("c: %d %v", v, ok)
	}
	m.Forget("c")
	if _, ok := m.Get("c", now); ok {
		t.Error("c forgotten is still remembered")
	}
}

func TestMemoForgettingRefusesOlderReads(t *testing.T) {
	var m domain.Memo[string, int]
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	mark := m.Since()
	m.Forget("x") // a change committed while the read was in flight
	if m.PutSince("a", 1, now.Add(time.Hour), mark) {
		t.Error("a value read before a forgetting was kept")
	}
	if _, ok := m.Get("a", now); ok {
		t.Error("a is remembered")
	}
	mark = m.Since()
	if !m.PutSince("a", 1, now.Add(time.Hour), mark) {
		t.Error("a value read after the last forgetting was refused")
	}
	m.Put("b", 2, now.Add(time.Hour))
	m.ForgetIf(func(_ string, v int) bool { return v == 2 })
	if _, ok := m.Get("b", now); ok {
		t.Error("b survived ForgetIf")
	}
	if _, ok := m.Get("a", now); !ok {
		t.Error("ForgetIf dropped a, which it did not select")
	}
	m.Clear()
	if _, ok := m.Get("a", now); ok {
		t.Error("a survived Clear")
	}
}

// BenchmarkMemoForgetIf: the cost of one change of access against a full
// memo of principals (adapters/postgres scans it under its lock).
func BenchmarkMemoForgetIf(b *testing.B) {
	var m domain.Memo[int, int]
	m.Max = 100_001
	until := time.Now().Add(time.Hour)
	for i := range 100_000 {
		m.Put(i, i, until)
	}
	for b.Loop() {
		m.ForgetIf(func(_ int, v int) bool { return v == -1 })
	}
}
