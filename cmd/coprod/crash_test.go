package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/call"
	"github.com/coprod/coprod/domain/identity"
	"github.com/coprod/coprod/domain/organisation"
)

// process starts `coprod command` as a real process (this test binary
// re-executed, see TestMain) with the given COPROD_* settings.
func process(t *testing.T, command string, settings []string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], command)
	cmd.Env = append(os.Environ(), "COPROD_TEST_EXEC=1")
	for i := 0; i+1 < len(settings); i += 2 {
		cmd.Env = append(cmd.Env, settings[i]+"="+settings[i+1])
	}
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd, out
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A worker process killed with SIGKILL five times while it works 1,000
// notice e-mails: each time the jobs it was in are left running, River's
// rescuer retries them in a later worker, and in the end every notice
// reached the SMTP server exactly once.
//
// Each kill lands mid-job (e-mails held at RCPT by the mailbox) but never
// between the server's 250 and the sent-log commit: that instant is the one
// window that resends (with the same Message-ID, ADR 0009), and leaving it
// out lets the test demand exactly once of the raw messages too.
func TestWorkerKilledMidBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills worker processes")
	}
	t.Parallel()
	begin := time.Now()
	box := startMailbox(t, "127.0.0.1:0")
	t.Cleanup(box.release) // before the mailbox closes: no RCPT left waiting
	// This process only inserts jobs; the worker processes work them.
	b := setupJobs(t, box.addr, "COPROD_WORKERS", "false")
	op := domain.WithPrincipal(t.Context(), domain.Principal{Subject: "op", Roles: []domain.Role{domain.RolePlatformOperator}})
	// 20 organisations apply to the call; each amendment notifies all of
	// them, one job per notice: 50 amendments are 1,000 jobs.
	const orgs, amendments, total = 20, 50, 1000
	for i := range orgs {
		who := fmt.Sprintf("member%02d", i)
		u, err := b.svc.ids.Provision(op, identity.Identity{Issuer: "https://login.coprod.example", Subject: who, Email: who + "@coop.example"})
		if err != nil {
			t.Fatal(err)
		}
		me := domain.Principal{Subject: who, UserID: u.ID}
		coop, err := b.svc.orgs.Register(domain.WithPrincipal(t.Context(), me),
			organisation.Organisation{FiscalCode: fiscalCode(t, i), LegalName: "Coop " + who, LegalForm: "social_cooperative"})
		if err != nil {
			t.Fatal(err)
		}
		me.TenantID, me.Orgs = b.milan, map[uuid.UUID][]domain.Role{coop.ID: {domain.RoleOrgAdmin}}
		if _, err := b.svc.apps.Create(domain.WithPrincipal(t.Context(), me), b.milan, b.c.ID, coop.ID); err != nil {
			t.Fatal(err)
		}
	}
	for i := range amendments {
		later := b.c.SubmissionDeadline.Add(time.Duration(i+1) * time.Hour)
		if _, err := b.svc.calls.Amend(b.officer, b.milan, b.c.ID, call.AmendInput{Reason: fmt.Sprint("proroga ", i+1),
			Act: call.Act{Kind: "amendment", Number: fmt.Sprint(i + 2), Date: time.Now(), URL: "https://x.it/a"}, SubmissionDeadline: &later}, 0); err != nil {
			t.Fatal(err)
		}
	}
	if n := b.jobs(t, "deliver_notice"); n != total {
		t.Fatalf("%d notice jobs, want %d", n, total)
	}
	t.Logf("%d notice jobs inserted by %d amendments in %s", total, amendments, time.Since(begin).Round(time.Millisecond))

	// A rescued job is retried after COPROD_JOB_RESCUE_AFTER; the timeout
	// (which the rescue time may not be under) is far above a job's time.
	settings := jobEnv(t, b.db.AppURL, box.addr, "COPROD_JOB_CONCURRENCY", "10", "COPROD_JOB_TIMEOUT", "5s", "COPROD_JOB_RESCUE_AFTER", "5s")
	countJobs := func(state string) int {
		var n int
		_ = b.db.App.QueryRow(t.Context(), `SELECT count(*) FROM river_job WHERE kind = 'deliver_notice' AND state = $1`, state).Scan(&n)
		return n
	}
	logged := func() int {
		var n int
		_ = b.db.App.QueryRow(t.Context(), `SELECT count(*) FROM mail_sent_log`).Scan(&n)
		return n
	}
	const kills = 5
	for k := 1; k <= kills; k++ {
		w, out := process(t, "worker", settings)
		// Let it work a while (about 150 more e-mails), then close the gate.
		target := k * total * 3 / 20
		eventually(t, 120*time.Second, fmt.Sprintf("worker %d reaches %d e-mails", k, target), func() bool {
			n, _, _ := box.state()
			return n >= target
		})
		box.hold()
		// Mid-job: some e-mails wait at RCPT, none is under way, and every
		// message accepted so far is in the sent-log.
		var sent, held int
		eventually(t, 60*time.Second, fmt.Sprintf("worker %d held mid-job outside the resend window", k), func() bool {
			var open int
			sent, held, open = box.state()
			return held > 0 && open == 0 && logged() == sent
		})
		if err := w.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = w.Wait()
		box.release()
		if sent >= total {
			t.Fatalf("the whole batch went out before kill %d", k)
		}
		// Its jobs are left running: those held at RCPT, and maybe some
		// that had finished, whose completion River had not yet written (it
		// batches them): their e-mails are in the sent-log, so the retries
		// must not send them again.
		running := countJobs("running")
		if running < 1 {
			t.Fatalf("kill %d: no job left running\n%s", k, out)
		}
		t.Logf("kill %d at %s: %d e-mails accepted, %d held at RCPT, %d jobs left running", k,
			time.Since(begin).Round(time.Millisecond), sent, held, running)
	}
	// The last worker finishes the batch, the rescued jobs included.
	last, out := process(t, "worker", settings)
	eventually(t, 300*time.Second, "every notice job completes", func() bool { return countJobs("completed") == total })
	_ = last.Process.Signal(syscall.SIGTERM)
	if err := last.Wait(); err != nil {
		t.Errorf("last worker on SIGTERM: %v\n%s", err, out)
	}

	msgs := box.messages()
	ids := map[string]int{}
	for _, m := range msgs {
		ids[messageID(m)]++
	}
	var twice []string
	for id, n := range ids {
		if n > 1 {
			twice = append(twice, fmt.Sprintf("%s ×%d", id, n))
		}
	}
	var want []string
	rows, err := b.db.App.Query(t.Context(), `SELECT message_id FROM mail_sent_log`)
	if err != nil {
		t.Fatal(err)
	}
	want, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	var missing int
	for _, id := range want {
		if ids[id] == 0 {
			missing++
		}
	}
	if len(msgs) != total || len(ids) != total || len(twice) > 0 || len(want) != total || missing > 0 {
		t.Errorf("%d e-mails with %d Message-IDs (twice: %v); %d sent-log rows, %d of them never arrived; want %d of each",
			len(msgs), len(ids), twice, len(want), missing, total)
	}
	var attempts, rescued int
	if err := b.db.App.QueryRow(t.Context(), `SELECT coalesce(sum(attempt), 0), count(*) FILTER (WHERE attempt > 1) FROM river_job WHERE kind = 'deliver_notice'`).Scan(&attempts, &rescued); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d kills, %d e-mails delivered, %d distinct Message-IDs, %d jobs run more than once (%d attempts in all), in %s",
		kills, len(msgs), len(ids), rescued, attempts, time.Since(begin).Round(time.Millisecond))
	if rescued == 0 {
		t.Error("no job was retried: the kills hit nothing")
	}
}

// messageID is the Message-ID header of a received message.
func messageID(m string) string {
	for _, line := range strings.Split(m, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "Message-Id") {
			return strings.TrimSpace(v)
		}
		if strings.TrimSpace(line) == "" {
			break // end of the headers
		}
	}
	return ""
}

// fiscalCode is a valid organisation fiscal code built from n.
func fiscalCode(t *testing.T, n int) string {
	t.Helper()
	for d := range 10 {
		if c := fmt.Sprintf("0412%06d%d", n, d); organisation.ValidFiscalCode(c) {
			return c
		}
	}
	t.Fatalf("no check digit for %d", n)
	return ""
}
