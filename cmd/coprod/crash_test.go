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

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/call"
	"github.com/coprod/coprod/domain/identity"
	"github.com/coprod/coprod/domain/organisation"
)

// workerProcess starts `coprod worker` as a real process (this test binary
// re-executed, see TestMain) with the given COPROD_* settings.
func workerProcess(t *testing.T, settings []string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "worker")
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

// A worker process killed with SIGKILL in the middle of a batch of notice
// e-mails: the job it was running is rescued and retried by the next
// worker, no job is lost and no e-mail arrives twice.
func TestWorkerKilledMidBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills worker processes")
	}
	t.Parallel()
	box := startMailbox(t, "127.0.0.1:0")
	// This process only inserts jobs; the worker processes work them.
	b := setupJobs(t, box.addr, "COPROD_WORKERS", "false")
	op := domain.WithPrincipal(t.Context(), domain.Principal{Subject: "op", Roles: []domain.Role{domain.RolePlatformOperator}})
	chiara, err := b.svc.ids.Provision(op, identity.Identity{Issuer: "https://login.coprod.example", Subject: "chiara", Email: "chiara@coop.example"})
	if err != nil {
		t.Fatal(err)
	}
	coop, err := b.svc.orgs.Register(domain.WithPrincipal(t.Context(), domain.Principal{Subject: "chiara", UserID: chiara.ID}),
		organisation.Organisation{FiscalCode: "04123456784", LegalName: "Coop", LegalForm: "social_cooperative"})
	if err != nil {
		t.Fatal(err)
	}
	inTenant := domain.WithPrincipal(t.Context(), domain.Principal{Subject: "chiara", UserID: chiara.ID, TenantID: b.milan,
		Orgs: map[uuid.UUID][]domain.Role{coop.ID: {domain.RoleOrgAdmin}}})
	if _, err := b.svc.apps.Create(inTenant, b.milan, b.c.ID, coop.ID); err != nil {
		t.Fatal(err)
	}
	// A batch: each amendment notifies the applicant, one e-mail per notice.
	const batch = 8
	for i := range batch {
		later := b.c.SubmissionDeadline.Add(time.Duration(i+1) * time.Hour)
		if _, err := b.svc.calls.Amend(b.officer, b.milan, b.c.ID, call.AmendInput{Reason: fmt.Sprint("proroga ", i+1),
			Act: call.Act{Kind: "amendment", Number: fmt.Sprint(i + 2), Date: time.Now(), URL: "https://x.it/a"}, SubmissionDeadline: &later}, 0); err != nil {
			t.Fatal(err)
		}
	}
	if n := b.jobs(t, "deliver_notice"); n != batch {
		t.Fatalf("%d notice jobs, want %d", n, batch)
	}

	// The first worker works one job at a time; the mailbox holds each RCPT.
	box.mu.Lock()
	box.rcptDelay, box.rcpts = 400*time.Millisecond, make(chan struct{}, 1)
	box.mu.Unlock()
	settings := jobEnv(t, b.db.AppURL, box.addr, "COPROD_JOB_CONCURRENCY", "1", "COPROD_JOB_TIMEOUT", "2s", "COPROD_JOB_RESCUE_AFTER", "3s")
	first, out := workerProcess(t, settings)
	eventually(t, 60*time.Second, "three e-mails before the kill", func() bool { return len(box.messages()) >= 3 })
	// Kill it while it waits for the RCPT reply of the next one: mid-job.
	// A signal left from an earlier message is dropped first, or the kill
	// could land between a message's acceptance and its sent-log commit
	// (the one window that resends; ADR 0009).
	for len(box.rcpts) > 0 {
		<-box.rcpts
	}
	select {
	case <-box.rcpts:
	case <-time.After(30 * time.Second):
		t.Fatalf("the worker sent nothing more:\n%s", out)
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	before := len(box.messages())
	if before >= batch {
		t.Fatalf("the whole batch went out before the kill (%d)", before)
	}
	// The job it was in is left running; so may be one that finished just
	// before, whose completion River had not yet written (it batches them):
	// its e-mail is in the sent-log, so the retry must not send it again.
	var running int
	if err := b.db.App.QueryRow(t.Context(), `SELECT count(*) FROM river_job WHERE kind = 'deliver_notice' AND state = 'running'`).Scan(&running); err != nil || running < 1 {
		t.Fatalf("jobs left running by the killed worker: %d %v\n%s", running, err, out)
	}

	t.Logf("killed after %d e-mails, %d jobs left running", before, running)

	// A new worker rescues the orphan and finishes the batch.
	box.mu.Lock()
	box.rcptDelay = 0
	box.mu.Unlock()
	second, out2 := workerProcess(t, settings)
	eventually(t, 90*time.Second, "every notice job completes", func() bool {
		var done int
		_ = b.db.App.QueryRow(t.Context(), `SELECT count(*) FROM river_job WHERE kind = 'deliver_notice' AND state = 'completed'`).Scan(&done)
		return done == batch
	})
	_ = second.Process.Signal(syscall.SIGTERM)
	if err := second.Wait(); err != nil {
		t.Errorf("second worker on SIGTERM: %v\n%s", err, out2)
	}
	msgs := box.messages()
	ids := map[string]int{}
	for _, m := range msgs {
		for _, line := range strings.Split(m, "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "Message-Id") {
				ids[strings.TrimSpace(v)]++
			}
		}
	}
	if len(msgs) != batch || len(ids) != batch {
		t.Errorf("%d e-mails with %d Message-IDs, want %d of each: %v", len(msgs), len(ids), batch, ids)
	}
	var logged int
	if err := b.db.App.QueryRow(t.Context(), `SELECT count(*) FROM mail_sent_log`).Scan(&logged); err != nil || logged != batch {
		t.Errorf("sent-log rows: %d %v", logged, err)
	}
}
