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
