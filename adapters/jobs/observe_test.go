package jobs

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

type run struct {
	kind, outcome string
	waited        time.Duration
}

type recorder struct{ runs []run }

func (r *recorder) ObserveJob(kind, outcome string, waited, _ time.Duration) {
	r.runs = append(r.runs, run{kind, outcome, waited})
}

// The middleware names the outcome River will give the attempt.
func TestObserveOutcomes(t *testing.T) {
	t.Parallel()
	due := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	started := due.Add(3 * time.Second)
	for _, c := range []struct {
		name         string
		err          error
		panics       bool
		attempt, max int
		outcome      string
	}{
		{"done", nil, false, 1, 25, "completed"},
		{"error", errors.New("smtp down"), false, 1, 25, "failed"},
		{"last error", errors.New("smtp down"), false, 25, 25, "discarded"},
		{"refused", fmt.Errorf("wrapped: %w", river.JobCancel(errors.New("call_not_found"))), false, 1, 25, "cancelled"},
		{"snoozed", river.JobSnooze(time.Minute), false, 1, 25, "snoozed"},
		{"panic", nil, true, 1, 25, "failed"},
	} {
		rec := &recorder{}
		mw := &observe{obs: rec}
		job := &rivertype.JobRow{Kind: "deliver_notice", Attempt: c.attempt, MaxAttempts: c.max, ScheduledAt: due, AttemptedAt: &started}
		func() {
			defer func() {
				if v := recover(); (v != nil) != c.panics {
					t.Errorf("%s: panic %v passed on: %v", c.name, c.panics, v)
				}
			}()
			err := mw.Work(context.Background(), job, func(context.Context) error {
				if c.panics {
					panic("bug")
				}
				return c.err
			})
			if !errors.Is(err, c.err) {
				t.Errorf("%s: middleware returned %v, want the worker's %v", c.name, err, c.err)
			}
		}()
		if len(rec.runs) != 1 || rec.runs[0] != (run{"deliver_notice", c.outcome, 3 * time.Second}) {
			t.Errorf("%s: observed %+v, want one %s run that waited 3s", c.name, rec.runs, c.outcome)
		}
	}
}
