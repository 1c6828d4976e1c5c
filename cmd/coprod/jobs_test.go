package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/coprod/coprod/adapters/jobs"
	"github.com/coprod/coprod/adapters/postgres/postgrestest"
	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/agreement"
	"github.com/coprod/coprod/domain/call"
	"github.com/coprod/coprod/domain/evaluation"
	"github.com/coprod/coprod/domain/identity"
	"github.com/coprod/coprod/domain/impact"
	"github.com/coprod/coprod/domain/monitoring"
	"github.com/coprod/coprod/domain/organisation"
	"github.com/coprod/coprod/domain/reminder"
	"github.com/coprod/coprod/domain/report"
	"github.com/coprod/coprod/tenants"
)

// mailbox is a real SMTP server (go-smtp) in the test process.
type mailbox struct {
	mu   sync.Mutex
	msgs []string
	srv  *smtp.Server
	addr string
	// gate, while not nil, holds every RCPT reply until it is closed: a
	// client killed meanwhile is mid-job, and has had nothing accepted.
	gate chan struct{}
	// held counts RCPTs waiting at the gate; open, the sessions past RCPT
	// whose DATA has not ended yet.
	held, open int
}

func (m *mailbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &mailSession{m: m}, nil }

type mailSession struct {
	m    *mailbox
	to   []string
	open bool
}

func (s *mailSession) AuthPlain(string, string) error       { return nil }
func (s *mailSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	s.m.mu.Lock()
	if gate := s.m.gate; gate != nil {
		s.m.held++
		s.m.mu.Unlock()
		<-gate
		s.m.mu.Lock()
		s.m.held--
	}
	if !s.open {
		s.open = true
		s.m.open++
	}
	s.m.mu.Unlock()
	return nil
}

// end closes the session's message, delivered or not.
func (s *mailSession) end() {
	s.m.mu.Lock()
	if s.open {
		s.open = false
		s.m.open--
	}
	s.m.mu.Unlock()
}

func (s *mailSession) Reset()        { s.end() }
func (s *mailSession) Logout() error { s.end(); return nil }
func (s *mailSession) Data(r io.Reader) error {
	defer s.end()
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.m.mu.Lock()
	s.m.msgs = append(s.m.msgs, "To: "+strings.Join(s.to, ",")+"\n"+string(b))
	s.m.mu.Unlock()
	return nil
}

// hold closes the gate; release opens it again.
func (m *mailbox) hold() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.gate == nil {
		m.gate = make(chan struct{})
	}
}

func (m *mailbox) release() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.gate != nil {
		close(m.gate)
		m.gate = nil
	}
}

// state is the number of messages accepted, of RCPTs held at the gate and
// of messages under way.
func (m *mailbox) state() (msgs, held, open int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.msgs), m.held, m.open
}

// startMailbox listens on addr ("127.0.0.1:0" for any port).
func startMailbox(t *testing.T, addr string) *mailbox {
	t.Helper()
	m := &mailbox{}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	m.srv = smtp.NewServer(m)
	m.srv.Domain = "localhost"
	m.srv.AllowInsecureAuth = true
	m.addr = ln.Addr().String()
	go m.srv.Serve(ln) //nolint:errcheck
	t.Cleanup(func() { m.srv.Close() })
	return m
}

func (m *mailbox) messages() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.msgs...)
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type jobBundle struct {
	db      *postgrestest.DB
	svc     *services
	milan   uuid.UUID
	officer context.Context
	c       *call.Call
}

// jobEnv is the configuration of the job tests' processes.
func jobEnv(t *testing.T, dbURL, smtpAddr string, extra ...string) []string {
	host, port, _ := net.SplitHostPort(smtpAddr)
	return append([]string{"COPROD_DATABASE_URL", dbURL, "COPROD_SECRETS_KEY", strings.Repeat("cd", 32),
		"COPROD_BLOB_DIR", t.TempDir(), "COPROD_SMTP_HOST", host, "COPROD_SMTP_PORT", port, "COPROD_SMTP_STARTTLS", "none",
		"COPROD_SMTP_FROM", "avvisi@comune.milano.it", "COPROD_SHUTDOWN_TIMEOUT", "5s"}, extra...)
}

// setupJobs wires the services on a fresh database with Milano (in
// Lombardia) and a published call; extra settings are COPROD_* pairs.
func setupJobs(t *testing.T, smtpAddr string, extra ...string) *jobBundle {
	t.Helper()
	db := postgrestest.New(t)
	cfg, _, err := loadConfig("test", env(jobEnv(t, db.AppURL, smtpAddr, extra...)...), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, err := wire(cfg, db.App, log, true)
	if err != nil {
		t.Fatal(err)
	}
	remember(t, svc, db.App)
	ctx, cancel := context.WithCancel(context.Background())
	if err := svc.runner.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		sctx, c := context.WithTimeout(context.Background(), 10*time.Second)
		defer c()
		_ = svc.runner.Stop(sctx)
	})
	op := domain.WithPrincipal(t.Context(), domain.Principal{Subject: "op", Roles: []domain.Role{domain.RolePlatformOperator}})
	r, err := svc.tenants.Create(op, tenants.CreateInput{Slug: "regione-lombardia", Name: "Lombardia", Kind: tenants.KindRegion, ISTATCode: "03"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := svc.tenants.Create(op, tenants.CreateInput{Slug: "milano", Name: "Milano", Kind: tenants.KindMunicipality, ISTATCode: "015146", Region: r.Slug})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.tenants.ChangeStatus(op, "milano", "activate", "", 0); err != nil {
		t.Fatal(err)
	}
	b := &jobBundle{db: db, svc: svc, milan: m.ID,
		officer: domain.WithPrincipal(t.Context(), domain.Principal{Subject: "rup", TenantID: m.ID, Roles: []domain.Role{domain.RoleOfficer}})}
	now := time.Now().UTC()
	c, err := svc.calls.CreateDraft(b.officer, m.ID, call.Call{Title: "Anziani soli", Summary: "s", PolicyArea: "elderly", Objectives: []string{"o"},
		DurationMonths: 12, Budget: call.Budget{PublicCents: 1_000_000, MaxPerProjectCents: 500_000},
		Criteria:          []evaluation.Criterion{{Code: "q", Name: "Qualità", Weight: 100, MaxScore: 10}},
		QuestionsDeadline: now.Add(5 * 24 * time.Hour), SubmissionDeadline: now.Add(21 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if b.c, err = svc.calls.Publish(b.officer, m.ID, c.ID, call.Act{Kind: "call", Number: "1", Date: now, URL: "https://x.it/1"}, c.Version); err != nil {
		t.Fatal(err)
	}
	return b
}

func (b *jobBundle) jobs(t *testing.T, kind string) int {
	t.Helper()
	var n int
	if err := b.db.App.QueryRow(t.Context(), `SELECT count(*) FROM river_job WHERE kind = $1`, kind).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Publishing schedules the closing job at the deadline, in the same
// transaction; a refused change schedules nothing; the sweeper closes a
// call whose deadline passed.
func TestCallDeadlineJobs(t *testing.T) {
	t.Parallel()
	box := startMailbox(t, "127.0.0.1:0")
	b := setupJobs(t, box.addr)
	var at time.Time
	if err := b.db.App.QueryRow(t.Context(), `SELECT scheduled_at FROM river_job WHERE kind = 'close_call'`).Scan(&at); err != nil {
		t.Fatalf("no closing job after publication: %v", err)
	}
	if !at.Equal(b.c.SubmissionDeadline) {
		t.Errorf("closing job at %s, deadline %s", at, b.c.SubmissionDeadline)
	}
	// A refused amendment (shorter deadline) inserts no job.
	earlier := b.c.SubmissionDeadline.Add(-time.Hour)
	if _, err := b.svc.calls.Amend(b.officer, b.milan, b.c.ID, call.AmendInput{Reason: "anticipo", Act: call.Act{Kind: "amendment", Number: "2",
		Date: time.Now(), URL: "https://x.it/2"}, SubmissionDeadline: &earlier}, 0); err == nil {
		t.Fatal("a shorter deadline was accepted")
	}
	if n := b.jobs(t, "close_call"); n != 1 {
		t.Errorf("close_call jobs after a refused change: %d, want 1", n)
	}
	// An extension schedules a new closing job for the new deadline.
	later := b.c.SubmissionDeadline.Add(48 * time.Hour)
	if _, err := b.svc.calls.Amend(b.officer, b.milan, b.c.ID, call.AmendInput{Reason: "proroga", Act: call.Act{Kind: "amendment", Number: "3",
		Date: time.Now(), URL: "https://x.it/3"}, SubmissionDeadline: &later}, 0); err != nil {
		t.Fatal(err)
	}
	if n := b.jobs(t, "close_call"); n != 2 {
		t.Errorf("close_call jobs after an extension: %d, want 2", n)
	}
	// The deadline passes (moved into the past by hand), and the sweeper closes the call.
	err := pgx.BeginFunc(t.Context(), b.db.Owner, func(tx pgx.Tx) error {
		if _, err := tx.Exec(t.Context(), `UPDATE public_calls SET submission_deadline = now() - interval '1 minute'`); err != nil {
			return err
		}
		if _, err := tx.Exec(t.Context(), `SELECT set_config('app.tenant_id', $1, true)`, b.milan.String()); err != nil {
			return err
		}
		_, err := tx.Exec(t.Context(), `UPDATE calls SET submission_deadline = now() - interval '1 minute'`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.runner.Client().Insert(t.Context(), sweepArgs(), nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the sweeper closes the call", func() bool {
		c, err := b.svc.calls.Get(b.officer, b.milan, b.c.ID)
		return err == nil && c.Status == call.StatusClosed
	})
}

// Notices of a change reach every member of every applicant organisation by
// e-mail exactly once, even when the SMTP server is down for a while.
func TestNoticeEmailsExactlyOnce(t *testing.T) {
	t.Parallel()
	// Reserve a port for the SMTP server, which starts only later.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	b := setupJobs(t, addr)
	op := domain.WithPrincipal(t.Context(), domain.Principal{Subject: "op", Roles: []domain.Role{domain.RolePlatformOperator}})
	const platform = "https://login.coprod.example"
	var members []uuid.UUID
	for _, who := range []string{"chiara", "marco"} {
		u, err := b.svc.ids.Provision(op, identity.Identity{Issuer: platform, Subject: who, Email: who + "@coop.example", Name: who})
		if err != nil {
			t.Fatal(err)
		}
		members = append(members, u.ID)
	}
	chiara := domain.WithPrincipal(t.Context(), domain.Principal{Subject: "chiara", UserID: members[0]})
	// Marco reads English; Chiara keeps Milano's default, Italian.
	if _, err := b.svc.ids.SetLocale(domain.WithPrincipal(t.Context(), domain.Principal{Subject: "marco", UserID: members[1]}), "fr"); domain.KindOf(err) != domain.KindInvalid {
		t.Errorf("locale fr: %v", err)
	}
	if _, err := b.svc.ids.SetLocale(domain.WithPrincipal(t.Context(), domain.Principal{Subject: "marco", UserID: members[1]}), "en"); err != nil {
		t.Fatal(err)
	}
	coop, err := b.svc.orgs.Register(chiara, organisation.Organisation{FiscalCode: "04123456784", LegalName: "Coop", LegalForm: "social_cooperative"})
	if err != nil {
		t.Fatal(err)
	}
	asAdmin := domain.WithPrincipal(t.Context(), domain.Principal{Subject: "chiara", UserID: members[0], Orgs: map[uuid.UUID][]domain.Role{coop.ID: {domain.RoleOrgAdmin}}})
	if _, err := b.svc.orgs.SetMember(asAdmin, coop.ID, "marco@coop.example", domain.RoleOrgMember); err != nil {
		t.Fatal(err)
	}
	inTenant := domain.WithPrincipal(t.Context(), domain.Principal{Subject: "chiara", UserID: members[0], TenantID: b.milan, Orgs: map[uuid.UUID][]domain.Role{coop.ID: {domain.RoleOrgAdmin}}})
	if _, err := b.svc.apps.Create(inTenant, b.milan, b.c.ID, coop.ID); err != nil {
		t.Fatal(err)
	}
	// The amendment is notified while the SMTP server is down: delivery fails and is retried.
	later := b.c.SubmissionDeadline.Add(24 * time.Hour)
	if _, err := b.svc.calls.Amend(b.officer, b.milan, b.c.ID, call.AmendInput{Reason: "proroga", Act: call.Act{Kind: "amendment", Number: "2",
		Date: time.Now(), URL: "https://x.it/2"}, SubmissionDeadline: &later}, 0); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "a failed delivery attempt", func() bool {
		var errs int
		_ = b.db.App.QueryRow(t.Context(), `SELECT count(*) FROM river_job WHERE kind = 'deliver_notice' AND cardinality(errors) > 0`).Scan(&errs)
		return errs > 0
	})
	box := startMailbox(t, addr)
	eventually(t, 60*time.Second, "both members get the notice", func() bool { return len(box.messages()) >= 2 })
	// Nothing more arrives: exactly one message per member, with a stable Message-ID.
	var done int
	eventually(t, 20*time.Second, "the delivery job completes", func() bool {
		_ = b.db.App.QueryRow(t.Context(), `SELECT count(*) FROM river_job WHERE kind = 'deliver_notice' AND state = 'completed'`).Scan(&done)
		return done == 1
	})
	msgs := box.messages()
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want 2:\n%s", len(msgs), strings.Join(msgs, "\n---\n"))
	}
	for _, who := range []string{"chiara@coop.example", "marco@coop.example"} {
		n := 0
		for _, m := range msgs {
			if strings.Contains(m, "To: "+who) && strings.Contains(m, "Message-Id: <") || strings.Contains(m, "To: "+who) && strings.Contains(m, "Message-ID: <") {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s got %d messages", who, n)
		}
	}
	for _, m := range msgs {
		english := strings.Contains(m, "Dear ") && strings.Contains(m, "Content-Language: en")
		italian := strings.Contains(m, "Gentile ") && strings.Contains(m, "Content-Language: it")
		if strings.Contains(m, "To: marco@") && !english || strings.Contains(m, "To: chiara@") && !italian {
			t.Errorf("wrong language:\n%s", m)
		}
	}
	var logged int
	if err := b.db.App.QueryRow(t.Context(), `SELECT count(*) FROM mail_sent_log`).Scan(&logged); err != nil || logged != 2 {
		t.Errorf("sent-log rows: %d %v", logged, err)
	}
	// Re-running the delivery sends nothing more.
	var noticeID uuid.UUID
	if err := b.db.App.QueryRow(t.Context(), `SELECT id FROM organisation_notices`).Scan(&noticeID); err != nil {
		t.Fatal(err)
	}
	if sent, err := deliverAgain(t, b, noticeID); err != nil || sent != 0 {
		t.Errorf("second delivery: %d sent, %v", sent, err)
	}
	if len(box.messages()) != 2 {
		t.Errorf("a second delivery sent mail")
	}
}

func sweepArgs() jobs.SweepDeadlinesArgs { return jobs.SweepDeadlinesArgs{} }

func deliverAgain(t *testing.T, b *jobBundle, id uuid.UUID) (int, error) {
	return b.svc.notify.DeliverNotice(t.Context(), id)
}

// Reminders: planned once per subject, period and kind even when two
// planners run at once; sent to the parties' members (escalations to the
// officers), once each; none for what was already submitted.
func TestRemindersOnce(t *testing.T) {
	t.Parallel()
	box := startMailbox(t, "127.0.0.1:0")
	b := setupJobs(t, box.addr)
	op := domain.WithPrincipal(t.Context(), domain.Principal{Subject: "op", Roles: []domain.Role{domain.RolePlatformOperator}})
	const platform = "https://login.coprod.example"
	chiara, err := b.svc.ids.Provision(op, identity.Identity{Issuer: platform, Subject: "chiara", Email: "chiara@coop.example", Name: "Chiara"})
	if err != nil {
		t.Fatal(err)
	}
	coop, err := b.svc.orgs.Register(domain.WithPrincipal(t.Context(), domain.Principal{Subject: "chiara", UserID: chiara.ID}),
		organisation.Organisation{FiscalCode: "04123456784", LegalName: "Coop", LegalForm: "social_cooperative"})
	if err != nil {
		t.Fatal(err)
	}
	// An officer of Milano with an e-mail address, for escalations.
	if err := b.svc.ids.Grant(op, b.milan, "https://idp.milano.example", "rup", domain.RoleOfficer); err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.App.Exec(t.Context(), `UPDATE users SET email = 'rup@comune.milano.it', name = 'RUP' WHERE subject = 'rup'`); err != nil {
		t.Fatal(err)
	}
	// An active agreement whose quarterly indicator was due at the end of
	// last quarter (long overdue: escalated), and a deliverable due in 3 days.
	now := time.Now().UTC()
	start := now.AddDate(-1, 0, 0)
	a, err := b.svc.agreements().Create(b.officer, b.milan, agreementFor(coop.ID, start))
	if err != nil {
		t.Fatal(err)
	}
	adminCtx := domain.WithPrincipal(t.Context(), domain.Principal{Subject: "chiara", UserID: chiara.ID, TenantID: b.milan,
		Orgs: map[uuid.UUID][]domain.Role{coop.ID: {domain.RoleOrgAdmin}}})
	for _, who := range []context.Context{b.officer, adminCtx} {
		org := uuid.Nil
		if who == adminCtx {
			org = coop.ID
		}
		if a, err = b.svc.agreements().Sign(who, b.milan, a.ID, org, 0); err != nil {
			t.Fatal(err)
		}
	}
	if a, err = b.svc.agreements().Transition(b.officer, b.milan, a.ID, "activate", "", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.monitoring().SeedLibrary(b.officer, b.milan); err != nil {
		t.Fatal(err)
	}
	lastYear := fmt.Sprint(now.Year() - 1)
	if _, err := b.svc.monitoring().Assign(b.officer, b.milan, a.ID, uuid.Nil, impact.Assignment{Indicator: "volunteers_engaged", Weight: 100,
		Baseline: impact.Baseline{Value: 10_000, Date: start.AddDate(-1, 0, 0), Source: "registro"}, Frequency: "annual",
		Targets: []impact.Target{{Period: lastYear, Value: 20_000}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.agreements().AddDeliverable(b.officer, b.milan, a.ID, "Relazione", now.Add(3*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	// Milano writes in English by default; nobody here chose a language.
	if _, err := b.svc.reminders.PutSettings(domain.WithPrincipal(t.Context(), domain.Principal{Subject: "admin", TenantID: b.milan,
		Roles: []domain.Role{domain.RoleTenantAdmin}}), b.milan, reminder.Settings{DaysBefore: []int{7, 1}, EscalationDays: 7, Locale: "en"}); err != nil {
		t.Fatal(err)
	}
	// Two planners at once: each reminder exists once.
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); _, _ = b.svc.reminders.Plan(context.Background(), b.milan) }()
	}
	wg.Wait()
	if n, err := b.svc.reminders.Plan(context.Background(), b.milan); err != nil || n != 0 {
		t.Errorf("third planning: %d %v", n, err)
	}
	var kinds []string
	err = pgx.BeginFunc(t.Context(), b.db.App, func(tx pgx.Tx) error {
		if _, err := tx.Exec(t.Context(), `SELECT set_config('app.tenant_id', $1, true)`, b.milan.String()); err != nil {
			return err
		}
		rows, err := tx.Query(t.Context(), `SELECT kind FROM reminders ORDER BY kind`)
		if err != nil {
			return err
		}
		kinds, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(kinds, ",") != "due_in_7,escalation,overdue" {
		t.Fatalf("reminders: %v (want the deliverable due in 7 days, the indicator overdue and escalated)", kinds)
	}
	// Delivered: the party's member gets two (deliverable, overdue), the officer the escalation; once each.
	eventually(t, 30*time.Second, "three reminder e-mails", func() bool { return len(box.messages()) >= 3 })
	eventually(t, 20*time.Second, "the reminder jobs complete", func() bool {
		var n int
		_ = b.db.App.QueryRow(t.Context(), `SELECT count(*) FROM river_job WHERE kind = 'send_reminder' AND state = 'completed'`).Scan(&n)
		return n == 3
	})
	msgs := box.messages()
	var toChiara, toRUP int
	for _, m := range msgs {
		switch {
		case strings.Contains(m, "To: chiara@coop.example"):
			toChiara++
		case strings.Contains(m, "To: rup@comune.milano.it"):
			toRUP++
		}
	}
	if len(msgs) != 3 || toChiara != 2 || toRUP != 1 {
		t.Errorf("reminder e-mails: %d (chiara %d, rup %d)", len(msgs), toChiara, toRUP)
	}
	for _, m := range msgs {
		if !strings.Contains(m, "Dear ") || !strings.Contains(m, "Content-Language: en") {
			t.Errorf("not in the tenant's language (en):\n%s", m)
		}
	}
	// She sees them in the application too.
	inbox, err := b.svc.notify.Inbox(domain.WithPrincipal(t.Context(), domain.Principal{Subject: "chiara", UserID: chiara.ID}), uuid.Nil, 50)
	if err != nil || len(inbox) != 2 {
		t.Errorf("in-app notifications: %d %v", len(inbox), err)
	}
}

func agreementFor(org uuid.UUID, start time.Time) agreement.Agreement {
	return agreement.Agreement{Title: "Convenzione", Objectives: []string{"o"}, Start: start, End: start.AddDate(3, 0, 0), PaymentMode: "cost_reimbursement",
		Parties: []agreement.Party{{OrganisationID: org, Role: "lead", BudgetShareCents: 100}}, Budget: agreement.Budget{PublicCents: 100}}
}

// A requested snapshot is taken by its job; the region sees its
// municipality's figures with people under the thresholds hidden, and no
// one else sees them.
func TestSnapshotsAndRegionReport(t *testing.T) {
	t.Parallel()
	box := startMailbox(t, "127.0.0.1:0")
	b := setupJobs(t, box.addr)
	op := domain.WithPrincipal(t.Context(), domain.Principal{Subject: "op", Roles: []domain.Role{domain.RolePlatformOperator}})
	other, err := b.svc.tenants.Create(op, tenants.CreateInput{Slug: "regione-piemonte", Name: "Piemonte", Kind: tenants.KindRegion, ISTATCode: "01"})
	if err != nil {
		t.Fatal(err)
	}
	var region uuid.UUID
	if err := b.db.App.QueryRow(t.Context(), `SELECT id FROM tenants WHERE slug = 'regione-lombardia'`).Scan(&region); err != nil {
		t.Fatal(err)
	}
	chiara, err := b.svc.ids.Provision(op, identity.Identity{Issuer: "https://login.coprod.example", Subject: "chiara", Email: "chiara@coop.example"})
	if err != nil {
		t.Fatal(err)
	}
	coop, err := b.svc.orgs.Register(domain.WithPrincipal(t.Context(), domain.Principal{Subject: "chiara", UserID: chiara.ID}),
		organisation.Organisation{FiscalCode: "04123456784", LegalName: "Coop", LegalForm: "social_cooperative"})
	if err != nil {
		t.Fatal(err)
	}
	party := domain.WithPrincipal(t.Context(), domain.Principal{Subject: "chiara", UserID: chiara.ID, TenantID: b.milan,
		Orgs: map[uuid.UUID][]domain.Role{coop.ID: {domain.RoleOrgAdmin}}})
	now := time.Now().UTC()
	a, err := b.svc.agreements().Create(b.officer, b.milan, agreementFor(coop.ID, now.AddDate(-1, 0, 0)))
	if err != nil {
		t.Fatal(err)
	}
	if a, err = b.svc.agreements().Sign(b.officer, b.milan, a.ID, uuid.Nil, 0); err != nil {
		t.Fatal(err)
	}
	if a, err = b.svc.agreements().Sign(party, b.milan, a.ID, coop.ID, 0); err != nil {
		t.Fatal(err)
	}
	if a, err = b.svc.agreements().Transition(b.officer, b.milan, a.ID, "activate", "", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.monitoring().SeedLibrary(b.officer, b.milan); err != nil {
		t.Fatal(err)
	}
	lastYear := fmt.Sprint(now.Year() - 1)
	as, err := b.svc.monitoring().Assign(b.officer, b.milan, a.ID, uuid.Nil, impact.Assignment{Indicator: "volunteers_engaged", Weight: 100,
		Baseline: impact.Baseline{Value: 10_000, Date: now.AddDate(-2, 0, 0), Source: "registro"}, Frequency: "annual",
		Targets: []impact.Target{{Period: lastYear, Value: 20_000}}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := b.svc.monitoring().Submit(party, b.milan, as.ID, monitoring.SubmitInput{Period: lastYear, Value: 23_000, Evidence: "registro",
		People: []impact.PeopleCount{
			{AgeBand: "75+", Gender: "female", Vulnerability: "elderly_alone", Count: 12},
			{AgeBand: "65-74", Gender: "female", Vulnerability: "elderly_alone", Count: 3},
			{AgeBand: "45-54", Gender: "male", Vulnerability: "addiction", Count: 8},
		}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.svc.monitoring().Decide(b.officer, b.milan, m.ID, "verified", "", m.Version); err != nil {
		t.Fatal(err)
	}

	// Only the tenant's staff may ask for a snapshot.
	if err := b.svc.reports.Request(party, b.milan); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("organisation requests a snapshot: %v", err)
	}
	if err := b.svc.reports.Request(b.officer, b.milan); err != nil {
		t.Fatal(err)
	}
	analyst := domain.WithPrincipal(t.Context(), domain.Principal{Subject: "ana", TenantID: region, Roles: []domain.Role{domain.RoleRegionalAnalyst}})
	var rep *report.RegionReport
	// The snapshot job, then the region's aggregate job it queued.
	eventually(t, 30*time.Second, "the snapshot and aggregate jobs", func() bool {
		rep, err = b.svc.reports.Region(analyst, region, time.Time{}, time.Time{})
		return err == nil && len(rep.Municipalities) == 1 && len(rep.Trend) == 1
	})
	mf := rep.Municipalities[0]
	if mf.TenantID != b.milan || mf.CallsByStatus["published"] != 1 || mf.AgreementsByStatus["active"] != 1 || mf.BudgetCommittedCents != 100 {
		t.Errorf("figures: %+v", mf)
	}
	// Money by policy area: the agreement has no call; the trend has today's point.
	if m := rep.MoneyByPolicyArea[""]; m.CommittedCents != 100 || m.PaidCents != 0 {
		t.Errorf("money by policy area: %+v", rep.MoneyByPolicyArea)
	}
	if len(rep.Trend) != 1 || rep.Trend[0].Municipalities != 1 || rep.Trend[0].BudgetCommittedCents != 100 || rep.Trend[0].ActiveAgreements != 1 {
		t.Errorf("trend: %+v", rep.Trend)
	}
	if rep.IndicatorsBySDG["17"]["on_track"] != 1 || rep.IndicatorsByBES["social_relationships"]["on_track"] != 1 || len(rep.IndicatorsBySDG) != 1 {
		t.Errorf("indicators by SDG goal %v, by BES domain %v (volunteers_engaged: SDG 17.17, social relationships)", rep.IndicatorsBySDG, rep.IndicatorsByBES)
	}
	today := time.Now().UTC()
	if _, err := b.svc.reports.Region(analyst, region, today, today.AddDate(0, 0, -1)); !errors.Is(err, report.ErrInvalidRange) {
		t.Errorf("range backwards: %v", err)
	}
	if _, err := b.svc.reports.Region(analyst, region, today.AddDate(-2, 0, 0), today); !errors.Is(err, report.ErrInvalidRange) {
		t.Errorf("two-year range: %v", err)
	}
	if old, err := b.svc.reports.Region(analyst, region, today.AddDate(0, 0, -30), today.AddDate(0, 0, -1)); err != nil || len(old.Municipalities) != 0 {
		t.Errorf("a range before the snapshot: %+v %v", old, err)
	}
	// The indicator is verified 23 against a target of 20 for a period over: on track.
	if mf.IndicatorsByStatus["on_track"] != 1 || len(mf.IndicatorsByStatus) != 1 {
		t.Errorf("indicators by status: %v", mf.IndicatorsByStatus)
	}
	shown := map[string]int{}
	for _, c := range mf.People {
		if c.Count != nil {
			shown[c.Vulnerability+"/"+c.AgeBand] = *c.Count
		}
	}
	if len(shown) != 0 {
		t.Errorf("cells shown under disclosure control: %v (3 is under 5; 12 would give it away from the total)", shown)
	}
	if tot := mf.PeopleTotals["elderly_alone"]; tot == nil || *tot != 15 {
		t.Errorf("elderly_alone total: %v, want 15", tot)
	}
	if tot, ok := mf.PeopleTotals["addiction"]; !ok || tot != nil {
		t.Errorf("addiction total of 8 (art. 9, under 10) not hidden: %v", tot)
	}
	// The snapshot keeps its hidden pattern for the next day's.
	var hidden []string
	err = pgx.BeginFunc(t.Context(), b.db.App, func(tx pgx.Tx) error {
		if _, err := tx.Exec(t.Context(), `SELECT set_config('app.tenant_id', $1, true)`, b.milan.String()); err != nil {
			return err
		}
		return tx.QueryRow(t.Context(), `SELECT ARRAY(SELECT jsonb_array_elements_text(figures->'hidden')) FROM report_snapshots`).Scan(&hidden)
	})
	if want := []string{"addiction|45-54|male", "elderly_alone|65-74|female", "elderly_alone|75+|female"}; err != nil || strings.Join(hidden, ",") != strings.Join(want, ",") {
		t.Errorf("hidden pattern %v (%v), want %v", hidden, err, want)
	}
	// Another region sees nothing of Milano; Milano's officer may not read a region's report.
	if rep, err := b.svc.reports.Region(domain.WithPrincipal(t.Context(), domain.Principal{Subject: "x", TenantID: other.ID,
		Roles: []domain.Role{domain.RoleRegionalAnalyst}}), other.ID, time.Time{}, time.Time{}); err != nil || len(rep.Municipalities) != 0 {
		t.Errorf("other region: %+v %v", rep, err)
	}
	if _, err := b.svc.reports.Region(b.officer, region, time.Time{}, time.Time{}); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("municipal officer reads the region report: %v", err)
	}
	// Milano's own transaction reads only its own snapshot, never another tenant's.
	var n int
	err = pgx.BeginFunc(t.Context(), b.db.App, func(tx pgx.Tx) error {
		if _, err := tx.Exec(t.Context(), `SELECT set_config('app.tenant_id', $1, true)`, other.ID.String()); err != nil {
			return err
		}
		return tx.QueryRow(t.Context(), `SELECT count(*) FROM report_snapshots`).Scan(&n)
	})
	if err != nil || n != 0 {
		t.Errorf("another region reads %d snapshots (%v)", n, err)
	}
}
