package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/coprod/coprod/adapters/oidc/oidctest"
	"github.com/coprod/coprod/adapters/postgres/postgrestest"
	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/call"
	"github.com/coprod/coprod/domain/identity"
	"github.com/coprod/coprod/domain/notify"
	"github.com/coprod/coprod/domain/organisation"
	"github.com/coprod/coprod/tenants"
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

// The API process killed with SIGKILL at a random moment of a concurrent
// write load, three times: after a restart every write it acknowledged with
// 2xx reads back over the API, and no write is half done (each row has its
// audit record, each audit record its row), acknowledged or not.
func TestServeKilledUnderWriteLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills API processes")
	}
	t.Parallel()
	begin := time.Now()
	db := postgrestest.New(t)
	idp := oidctest.Start(t, oidctest.Config{AccessTokenAudience: "coprod-milano-api",
		Users:   []oidctest.User{{Subject: "anna", Email: "anna@comune.milano.it", EmailVerified: true, Name: "Anna", Groups: []string{"staff-officers"}}},
		Clients: []oidctest.Client{{ID: "coprod-milano", Secret: "secret-a", RedirectURIs: []string{"http://127.0.0.1/v1/tenants/milano/auth/callback"}}}})
	key, blobs := strings.Repeat("ab", 32), t.TempDir()
	// Milano and its provider are set up in this process; the API processes
	// share its database.
	cfg, _, err := loadConfig("test", env("COPROD_DATABASE_URL", db.AppURL, "COPROD_SECRETS_KEY", key, "COPROD_BLOB_DIR", blobs,
		"COPROD_WORKERS", "false"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := wire(cfg, db.App, slog.New(slog.DiscardHandler), true)
	if err != nil {
		t.Fatal(err)
	}
	remember(t, svc, db.App)
	op := domain.WithPrincipal(t.Context(), domain.Principal{Subject: "op", Roles: []domain.Role{domain.RolePlatformOperator}})
	if _, err := svc.tenants.Create(op, tenants.CreateInput{Slug: "regione-lombardia", Name: "Lombardia", Kind: tenants.KindRegion, ISTATCode: "03"}); err != nil {
		t.Fatal(err)
	}
	milano, err := svc.tenants.Create(op, tenants.CreateInput{Slug: "milano", Name: "Milano", Kind: tenants.KindMunicipality, ISTATCode: "015146", Region: "regione-lombardia"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.tenants.ChangeStatus(op, "milano", "activate", "", 0); err != nil {
		t.Fatal(err)
	}
	c, _ := idp.Client("coprod-milano")
	if _, err := svc.ids.SaveProvider(op, milano.ID, identity.Provider{Issuer: idp.Issuer, ClientID: c.ID, ClientSecret: c.Secret,
		Audience: "coprod-milano-api", Scopes: []string{"openid", "email", "profile", "groups"},
		Claims: identity.ClaimMapping{GroupRoles: map[string][]domain.Role{"staff-officers": {domain.RoleOfficer}}}}, 0); err != nil {
		t.Fatal(err)
	}
	officer := idp.AccessToken(t, "coprod-milano", "anna").AccessToken
	settings := []string{"COPROD_DATABASE_URL", db.AppURL, "COPROD_SECRETS_KEY", key, "COPROD_BLOB_DIR", blobs,
		"COPROD_LISTEN", "127.0.0.1:0", "COPROD_BOOTSTRAP_TOKEN", testToken, "COPROD_SHUTDOWN_TIMEOUT", "5s"}

	// Two writes: an officer drafts a call in Milano (a tenant-scoped
	// transaction under RLS), the operator onboards a municipality (the
	// platform's registry); each commits its row with its audit record.
	deadline := time.Now().UTC().Add(30 * 24 * time.Hour).Format(time.RFC3339)
	writes := []struct{ kind, path, token, body string }{
		{"call", "/v1/tenants/milano/calls", officer, `{"title":%q,"summary":"s","policyArea":"elderly","objectives":["o"],"durationMonths":12,
			"budget":{"publicCents":1000000,"cofundingExpectedCents":0,"maxPerProjectCents":500000},
			"criteria":[{"code":"q","name":"Qualità","weight":100,"maxScore":10}],"submissionDeadline":"` + deadline + `"}`},
		{"tenant", "/v1/tenants", testToken, `{"slug":%q,"name":"Comune","kind":"municipality","region":"regione-lombardia"}`},
	}
	type ack struct{ kind, id, name string }
	var (
		mu    sync.Mutex
		acked []ack
	)
	client := &http.Client{Timeout: 60 * time.Second}
	const rounds, clients = 3, 8
	var lost int
	for round := 1; round <= rounds; round++ {
		srv, out := process(t, "serve", settings)
		base := serving(t, out)
		// A random moment: after 20 to 99 acknowledged writes of this round.
		threshold := 20 + rand.IntN(80)
		var (
			acks, failed atomic.Int64
			killed       atomic.Bool
			wg           sync.WaitGroup
		)
		for w := range clients {
			wg.Go(func() {
				for i := 0; !killed.Load(); i++ {
					wr := writes[(w+i)%len(writes)]
					name := fmt.Sprintf("crash-r%d-w%d-%d", round, w, i)
					req, _ := http.NewRequest("POST", base+wr.path, strings.NewReader(fmt.Sprintf(wr.body, name)))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Authorization", "Bearer "+wr.token)
					res, err := client.Do(req)
					if err != nil {
						if !killed.Load() {
							t.Errorf("round %d: %s %s before the kill: %v", round, wr.kind, name, err)
						}
						failed.Add(1)
						return
					}
					var body struct {
						ID string `json:"id"`
					}
					derr := json.NewDecoder(res.Body).Decode(&body)
					res.Body.Close()
					if res.StatusCode != http.StatusCreated || derr != nil || body.ID == "" {
						if !killed.Load() || derr == nil {
							t.Errorf("round %d: %s %s: %d %v", round, wr.kind, name, res.StatusCode, derr)
						}
						failed.Add(1)
						return
					}
					mu.Lock()
					acked = append(acked, ack{wr.kind, body.ID, name})
					mu.Unlock()
					acks.Add(1)
				}
			})
		}
		eventually(t, 120*time.Second, fmt.Sprintf("round %d: %d writes acknowledged", round, threshold), func() bool {
			return acks.Load() >= int64(threshold) || t.Failed()
		})
		killed.Store(true)
		if err := srv.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = srv.Wait()
		wg.Wait()
		if t.Failed() {
			t.Fatalf("round %d: the load failed before the kill; the API said:\n%s", round, out)
		}
		lost += int(failed.Load())
		t.Logf("round %d: SIGKILL after %d acknowledged writes (threshold %d); %d requests in flight got no answer",
			round, acks.Load(), threshold, failed.Load())
	}

	// Restarted, the API has every acknowledged write, with its audit record.
	srv, out := process(t, "serve", settings)
	base := serving(t, out)
	read := func(path, token string) (int, map[string]any) {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(res.Body).Decode(&body)
		return res.StatusCode, body
	}
	byKind := map[string]int{}
	for _, a := range acked {
		byKind[a.kind]++
		path, token, field, action := "/v1/tenants/milano/calls/"+a.id, officer, "title", "call.created"
		events := "/v1/tenants/milano/audit-events?object=" + a.id
		if a.kind == "tenant" {
			path, token, field, action = "/v1/tenants/"+a.id, testToken, "slug", "tenant.created"
			events = "/v1/tenants/" + a.id + "/audit-events?object=" + a.id
		}
		if status, body := read(path, token); status != http.StatusOK || body[field] != a.name {
			t.Errorf("acknowledged %s %s (%s) after the restart: %d %v", a.kind, a.id, a.name, status, body)
			continue
		}
		status, body := read(events, token)
		items, _ := body["items"].([]any)
		if status != http.StatusOK || len(items) != 1 || items[0].(map[string]any)["action"] != action {
			t.Errorf("audit trail of acknowledged %s %s: %d %v, want one %s", a.kind, a.id, status, body, action)
		}
	}
	_ = srv.Process.Signal(syscall.SIGTERM)
	if err := srv.Wait(); err != nil {
		t.Errorf("API on SIGTERM: %v\n%s", err, out)
	}

	// Nothing is half done, whether acknowledged or not: read across
	// tenants as the superuser, past row-level security.
	conn, err := pgx.Connect(t.Context(), db.SuperURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var calls, tenantsMade, callsBare, auditBare, tenantsBare int
	if err := conn.QueryRow(t.Context(), `SELECT
		(SELECT count(*) FROM calls WHERE title LIKE 'crash-%'),
		(SELECT count(*) FROM tenants WHERE slug LIKE 'crash-%'),
		(SELECT count(*) FROM calls c WHERE NOT EXISTS (SELECT 1 FROM audit_events a
			WHERE a.tenant_id = c.tenant_id AND a.object_id = c.id AND a.action = 'call.created')),
		(SELECT count(*) FROM audit_events a WHERE a.action IN ('call.created', 'tenant.created') AND NOT EXISTS (
			SELECT 1 FROM calls c WHERE c.tenant_id = a.tenant_id AND c.id = a.object_id UNION ALL SELECT 1 FROM tenants t WHERE t.id = a.object_id)),
		(SELECT count(*) FROM tenants t WHERE NOT EXISTS (SELECT 1 FROM audit_events a
			WHERE a.tenant_id = t.id AND a.object_id = t.id AND a.action = 'tenant.created'))`).Scan(&calls, &tenantsMade, &callsBare, &auditBare, &tenantsBare); err != nil {
		t.Fatal(err)
	}
	if callsBare+auditBare+tenantsBare > 0 {
		t.Errorf("half-done writes: %d calls and %d tenants without their audit record, %d audit records without their row", callsBare, tenantsBare, auditBare)
	}
	if calls < byKind["call"] || tenantsMade < byKind["tenant"] {
		t.Errorf("%d calls and %d tenants in the database, fewer than acknowledged (%v)", calls, tenantsMade, byKind)
	}
	t.Logf("%d kills; %d writes acknowledged (%d calls, %d tenants), all read back with their audit record; %d unanswered; "+
		"committed: %d calls, %d tenants (%d committed without an answer); in %s", rounds, len(acked), byKind["call"], byKind["tenant"], lost,
		calls, tenantsMade, calls+tenantsMade-len(acked), time.Since(begin).Round(time.Millisecond))
}

// serving waits for a started API process to log its address.
func serving(t *testing.T, out *syncBuffer) string {
	t.Helper()
	addr := regexp.MustCompile(`"msg":"serving","addr":"([^"]+)"`)
	var base string
	eventually(t, 90*time.Second, "the API serves", func() bool {
		if m := addr.FindStringSubmatch(out.String()); m != nil {
			base = "http://" + m[1]
		}
		return base != ""
	})
	return base
}

// cancelAfterAccept is a mail server that accepts a message and, in that
// instant, has the job's context cancelled (its timeout, or a shutdown).
type cancelAfterAccept struct {
	cancel context.CancelFunc
	sent   []string
}

func (m *cancelAfterAccept) Send(_ context.Context, msg notify.Message) error {
	m.sent = append(m.sent, msg.MessageID)
	m.cancel()
	return nil
}

// A job cancelled right after the server accepted its message still writes
// the sent-log: the retry sends nothing more.
func TestNoticeLoggedWhenCancelledAfterSend(t *testing.T) {
	t.Parallel()
	box := startMailbox(t, "127.0.0.1:0")
	b := setupJobs(t, box.addr, "COPROD_WORKERS", "false")
	op := domain.WithPrincipal(t.Context(), domain.Principal{Subject: "op", Roles: []domain.Role{domain.RolePlatformOperator}})
	u, err := b.svc.ids.Provision(op, identity.Identity{Issuer: "https://login.coprod.example", Subject: "chiara", Email: "chiara@coop.example"})
	if err != nil {
		t.Fatal(err)
	}
	me := domain.Principal{Subject: "chiara", UserID: u.ID}
	coop, err := b.svc.orgs.Register(domain.WithPrincipal(t.Context(), me),
		organisation.Organisation{FiscalCode: "04123456784", LegalName: "Coop", LegalForm: "social_cooperative"})
	if err != nil {
		t.Fatal(err)
	}
	me.TenantID, me.Orgs = b.milan, map[uuid.UUID][]domain.Role{coop.ID: {domain.RoleOrgAdmin}}
	if _, err := b.svc.apps.Create(domain.WithPrincipal(t.Context(), me), b.milan, b.c.ID, coop.ID); err != nil {
		t.Fatal(err)
	}
	later := b.c.SubmissionDeadline.Add(time.Hour)
	if _, err := b.svc.calls.Amend(b.officer, b.milan, b.c.ID, call.AmendInput{Reason: "proroga",
		Act: call.Act{Kind: "amendment", Number: "2", Date: time.Now(), URL: "https://x.it/a"}, SubmissionDeadline: &later}, 0); err != nil {
		t.Fatal(err)
	}
	var notice uuid.UUID
	if err := b.db.App.QueryRow(t.Context(), `SELECT id FROM organisation_notices`).Scan(&notice); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	mailer := &cancelAfterAccept{cancel: cancel}
	svc := notify.NewService(b.svc.store.Notify(), mailer, nil, "")
	if sent, err := svc.DeliverNotice(ctx, notice); sent != 1 || err != nil {
		t.Errorf("delivery cancelled after the send: %d sent, %v; want 1 sent and logged", sent, err)
	}
	// The retry, with a live context.
	mailer.cancel = func() {}
	if sent, err := svc.DeliverNotice(t.Context(), notice); sent != 0 || err != nil || len(mailer.sent) != 1 {
		t.Errorf("retry: %d sent (%v), %d messages in all, want the one", sent, err, len(mailer.sent))
	}
}
