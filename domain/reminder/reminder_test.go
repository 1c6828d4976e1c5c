package reminder_test

import (
	"slices"
	"testing"
	"time"

	"github.com/coprod/coprod/domain/reminder"
)

func TestKinds(t *testing.T) {
	t.Parallel()
	now := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	set := reminder.DefaultSettings()
	day := 24 * time.Hour
	cases := []struct {
		name      string
		at        time.Duration // due date relative to now
		submitted bool
		want      []string
	}{
		{"far ahead", 30 * day, false, nil},
		{"inside the 7-day window", 6 * day, false, []string{"due_in_7"}},
		{"exactly 7 days", 7 * day, false, []string{"due_in_7"}},
		{"inside the 1-day window", 12 * time.Hour, false, []string{"due_in_1"}},
		{"one second late", -time.Second, false, []string{"overdue"}},
		{"overdue, not yet escalated", -6 * day, false, []string{"overdue"}},
		{"overdue by the escalation days", -7 * day, false, []string{"overdue", "escalation"}},
		{"submitted: nothing", -30 * day, true, nil},
		{"submitted before the window: nothing", 3 * day, true, nil},
	}
	for _, tc := range cases {
		got := reminder.Kinds(reminder.Due{At: now.Add(tc.at), Submitted: tc.submitted}, set, now)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestSettings(t *testing.T) {
	t.Parallel()
	s := reminder.Settings{DaysBefore: []int{7, 1, 7}, EscalationDays: 3, Locale: "en"}
	if err := s.Validate(); err != nil || !slices.Equal(s.DaysBefore, []int{1, 7}) {
		t.Errorf("valid settings: %v %v", s, err)
	}
	for _, bad := range []reminder.Settings{{DaysBefore: nil, EscalationDays: 7, Locale: "it"}, {DaysBefore: []int{0}, EscalationDays: 7, Locale: "it"},
		{DaysBefore: []int{7}, EscalationDays: 0, Locale: "it"}, {DaysBefore: []int{7}, EscalationDays: 7, Locale: "fr"}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
