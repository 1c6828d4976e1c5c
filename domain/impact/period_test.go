package impact_test

import (
	"testing"
	"time"

	"github.com/coprod/coprod/domain/impact"
)

func TestValidPeriod(t *testing.T) {
	t.Parallel()
	valid := map[string][]string{
		impact.FrequencyAnnual:     {"2026", "2000", "2100"},
		impact.FrequencySemiannual: {"2026-H1", "2026-H2"},
		impact.FrequencyQuarterly:  {"2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"},
		impact.FrequencyMonthly:    {"2026-01", "2026-05", "2026-10", "2026-12"},
	}
	invalid := []string{
		"", "26", "1999", "2101", "20261", "2026-", "2026-H0", "2026-H3", "2026-h1",
		"2026-Q0", "2026-Q5", "2026-q3", "2026-00", "2026-13", "2026-1", "2026-5", "2026/05",
		"2026-05-01", "2026-W12", " 2026", "2026 ", "２０２６", "abcd", "2026-S1",
	}
	for freq, ps := range valid {
		for _, p := range ps {
			if !impact.ValidPeriod(freq, p) {
				t.Errorf("ValidPeriod(%s, %q) = false", freq, p)
			}
			if f, ok := impact.PeriodFrequency(p); !ok || f != freq {
				t.Errorf("PeriodFrequency(%q) = %s, %v; want %s", p, f, ok, freq)
			}
			for _, other := range impact.Frequencies {
				if other != freq && impact.ValidPeriod(other, p) {
					t.Errorf("ValidPeriod(%s, %q) = true", other, p)
				}
			}
		}
	}
	for _, p := range invalid {
		for _, freq := range impact.Frequencies {
			if impact.ValidPeriod(freq, p) {
				t.Errorf("ValidPeriod(%s, %q) = true", freq, p)
			}
		}
		if _, err := impact.PeriodEnd(p); err == nil {
			t.Errorf("PeriodEnd(%q) succeeded", p)
		}
		_, err := impact.PeriodStart(p)
		checkErr(t, "PeriodStart("+p+")", err, "invalid_period", "")
	}
	if impact.ValidPeriod("weekly", "2026") {
		t.Error("ValidPeriod accepts an unknown frequency")
	}
}

func TestPeriodBounds(t *testing.T) {
	t.Parallel()
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		p          string
		start, end time.Time
	}{
		{"2026", day(2026, 1, 1), day(2027, 1, 1)},
		{"2100", day(2100, 1, 1), day(2101, 1, 1)},
		{"2026-H1", day(2026, 1, 1), day(2026, 7, 1)},
		{"2026-H2", day(2026, 7, 1), day(2027, 1, 1)},
		{"2026-Q1", day(2026, 1, 1), day(2026, 4, 1)},
		{"2026-Q3", day(2026, 7, 1), day(2026, 10, 1)},
		{"2026-Q4", day(2026, 10, 1), day(2027, 1, 1)},
		{"2026-05", day(2026, 5, 1), day(2026, 6, 1)},
		{"2028-02", day(2028, 2, 1), day(2028, 3, 1)},
		{"2026-12", day(2026, 12, 1), day(2027, 1, 1)},
	}
	for _, tt := range tests {
		start, err := impact.PeriodStart(tt.p)
		if err != nil || !start.Equal(tt.start) || start.Location() != time.UTC {
			t.Errorf("PeriodStart(%q) = %v, %v; want %v", tt.p, start, err, tt.start)
		}
		end, err := impact.PeriodEnd(tt.p)
		if err != nil || !end.Equal(tt.end) || end.Location() != time.UTC {
			t.Errorf("PeriodEnd(%q) = %v, %v; want %v", tt.p, end, err, tt.end)
		}
	}
}
