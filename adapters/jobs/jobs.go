// Package jobs runs coprod's background work on River, in PostgreSQL: the
// closing of calls at their deadline (a job scheduled at that instant, plus
// a sweeper for any missed), the e-mail delivery of notices, reminders,
// nightly snapshots, and a daily sweep of orphaned attachment files. Use cases
// never call River: they publish domain events to their transaction, and
// Publish turns them into jobs with InsertTx in that same transaction, so a
// job exists exactly when its change committed. Job arguments carry ids
// only, never personal data; workers act as the system principal of the
// job's tenant.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/application"
	"github.com/coprod/coprod/domain/call"
	"github.com/coprod/coprod/domain/network"
	"github.com/coprod/coprod/domain/notify"
	"github.com/coprod/coprod/domain/reminder"
	"github.com/coprod/coprod/domain/report"
)

// CloseCallArgs closes a call at its deadline. At is part of the arguments
// so that a moved deadline schedules a new job; the old one finds the
// deadline not passed and cancels itself.
type CloseCallArgs struct {
	TenantID uuid.UUID `json:"tenant_id"`
	CallID   uuid.UUID `json:"call_id"`
	At       time.Time `json:"at"`
}

func (CloseCallArgs) Kind() string { return "close_call" }

// SweepDeadlinesArgs closes any call whose closing job was missed.
type SweepDeadlinesArgs struct{}

func (SweepDeadlinesArgs) Kind() string { return "sweep_call_deadlines" }

// DeliverNoticeArgs e-mails a notice to its organisation's members.
type DeliverNoticeArgs struct {
	NoticeID uuid.UUID `json:"notice_id"`
}

func (DeliverNoticeArgs) Kind() string { return "deliver_notice" }

// PlanRemindersArgs plans the reminders of every active tenant.
type PlanRemindersArgs struct{}

func (PlanRemindersArgs) Kind() string { return "plan_reminders" }

// SendReminderArgs delivers one planned reminder.
type SendReminderArgs struct {
	TenantID   uuid.UUID `json:"tenant_id"`
	ReminderID uuid.UUID `json:"reminder_id"`
}

func (SendReminderArgs) Kind() string { return "send_reminder" }

// TakeSnapshotArgs takes today's report snapshot of one tenant.
type TakeSnapshotArgs struct {
	TenantID uuid.UUID `json:"tenant_id"`
}

func (TakeSnapshotArgs) Kind() string { return "take_snapshot" }

// AggregateRegionArgs recomputes a region's sums of one day.
type AggregateRegionArgs struct {
	RegionID uuid.UUID `json:"region_id"`
	Day      string    `json:"day"` // YYYY-MM-DD
}

func (AggregateRegionArgs) Kind() string { return "aggregate_region" }

// SnapshotAllArgs queues a snapshot of every active tenant (nightly).
type SnapshotAllArgs struct{}

func (SnapshotAllArgs) Kind() string { return "snapshot_all" }

// SweepBlobsArgs removes one tenant's orphaned attachment files.
type SweepBlobsArgs struct {
	TenantID uuid.UUID `json:"tenant_id"`
}

func (SweepBlobsArgs) Kind() string { return "sweep_blobs" }

// SweepBlobsAllArgs queues a SweepBlobsArgs for every active tenant (daily).
type SweepBlobsAllArgs struct{}

func (SweepBlobsAllArgs) Kind() string { return "sweep_blobs_all" }

// Deps are the use cases the workers run.
type Deps struct {
	Calls     *call.Service
	Deadlines call.DeadlineReader
	Notify    *notify.Service
	Reminders *reminder.Service
	// DeliverReminder sends one reminder (reminder.Deliver, bound to its store).
	DeliverReminder func(ctx context.Context, tenant, id uuid.UUID) (int, error)
	Reports         *report.Service
	// Network, when set, is refreshed with each snapshot (ADR 0017).
	Network *network.Service
	// Applications sweeps orphaned attachment files.
	Applications *application.Service
	// ActiveTenants lists the tenants whose reminders are planned, whose
	// snapshots are taken and whose files are swept.
	ActiveTenants func(ctx context.Context) ([]uuid.UUID, error)
}

// Config of the job runner.
type Config struct {
	Work             bool          // false: insert-only (an API replica without workers)
	MaxWorkers       int           // per process, default 10
	SweepInterval    time.Duration // default 5 minutes
	ReminderInterval time.Duration // default 1 hour
	SnapshotHourUTC  int           // nightly snapshots at this hour (UTC)
	BlobSweepHourUTC int           // daily sweep of orphaned files at this hour (UTC); default 0
	JobTimeout       time.Duration // default 1 minute
	RescueAfter      time.Duration // a job left running by a dead process is retried after this; default 10 minutes
	Logger           *slog.Logger
	Observer         Observer // told about every run (metrics); nil: nobody
}

// Observer is told about each run of a job once its worker returns.
// outcome is completed, failed (River retries it), discarded (it failed
// for the last time), cancelled or snoozed; waited is from the job's due
// time to its start, ran its time in the worker.
type Observer interface {
	ObserveJob(kind, outcome string, waited, ran time.Duration)
}

// Runner owns the River client.
type Runner struct {
	client *river.Client[pgx.Tx]
	deps   *Deps
	log    *slog.Logger
	work   bool
}

// New builds the River client with every job kind registered, whether or
// not this process works (a job kind unknown to a process is an error in
// River, and any process may insert any kind).
func New(pool *pgxpool.Pool, cfg Config) (*Runner, error) {
	if cfg.MaxWorkers == 0 {
		cfg.MaxWorkers = 10
	}
	if cfg.SweepInterval == 0 {
		cfg.SweepInterval = 5 * time.Minute
	}
	if cfg.ReminderInterval == 0 {
		cfg.ReminderInterval = time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.JobTimeout == 0 {
		cfg.JobTimeout = time.Minute
	}
	if cfg.RescueAfter == 0 {
		cfg.RescueAfter = 10 * time.Minute
	}
	r := &Runner{deps: &Deps{}, log: cfg.Logger, work: cfg.Work}
	workers := river.NewWorkers()
	river.AddWorker(workers, &closeCallWorker{r: r})
	river.AddWorker(workers, &sweepWorker{r: r})
	river.AddWorker(workers, &deliverNoticeWorker{r: r})
	river.AddWorker(workers, &planRemindersWorker{r: r})
	river.AddWorker(workers, &sendReminderWorker{r: r})
	river.AddWorker(workers, &takeSnapshotWorker{r: r})
	river.AddWorker(workers, &snapshotAllWorker{r: r})
	river.AddWorker(workers, &aggregateRegionWorker{r: r})
	// A sweep may take longer than other jobs, but not so long that River
	// thinks it stuck and starts it again.
	river.AddWorker(workers, &sweepBlobsWorker{r: r, timeout: max(cfg.JobTimeout, min(sweepBlobsTimeout, cfg.RescueAfter))})
	river.AddWorker(workers, &sweepBlobsAllWorker{r: r})
	rc := &river.Config{Workers: workers, Logger: cfg.Logger, MaxAttempts: 25, JobTimeout: cfg.JobTimeout, RescueStuckJobsAfter: cfg.RescueAfter}
	if cfg.Observer != nil {
		rc.Middleware = []rivertype.Middleware{&observe{obs: cfg.Observer}}
	}
	if cfg.Work {
		rc.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.MaxWorkers}}
		rc.PeriodicJobs = []*river.PeriodicJob{
			river.NewPeriodicJob(river.PeriodicInterval(cfg.SweepInterval),
				func() (river.JobArgs, *river.InsertOpts) { return SweepDeadlinesArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true}),
			// Reminders are planned hourly: each is unique, so planning often only catches a due date sooner.
			river.NewPeriodicJob(river.PeriodicInterval(cfg.ReminderInterval),
				func() (river.JobArgs, *river.InsertOpts) { return PlanRemindersArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true}),
			river.NewPeriodicJob(dailyAt(cfg.SnapshotHourUTC),
				func() (river.JobArgs, *river.InsertOpts) { return SnapshotAllArgs{}, nil }, nil),
			river.NewPeriodicJob(dailyAt(cfg.BlobSweepHourUTC),
				func() (river.JobArgs, *river.InsertOpts) { return SweepBlobsAllArgs{}, nil }, &river.PeriodicJobOpts{ID: SweepBlobsAllArgs{}.Kind()}),
		}
	}
	client, err := river.NewClient(riverpgxv5.New(pool), rc)
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	r.client = client
	return r, nil
}

// Bind gives the workers their use cases (built after the store, which
// needs the runner as its outbox).
func (r *Runner) Bind(d Deps) { *r.deps = d }

// Client is the River client (for the job dashboard and tests).
func (r *Runner) Client() *river.Client[pgx.Tx] { return r.client }

// Start begins working jobs, if this process works.
func (r *Runner) Start(ctx context.Context) error {
	if !r.work {
		return nil
	}
	return r.client.Start(ctx)
}

// Stop drains: running jobs get until ctx's deadline to finish, then they
// are cancelled (and retried later by another worker).
func (r *Runner) Stop(ctx context.Context) error {
	if !r.work {
		return nil
	}
	err := r.client.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		hard, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return r.client.StopAndCancel(hard)
	}
	return err
}

// Publish implements the postgres store's outbox: each event becomes its
// job, inserted in tx.
func (r *Runner) Publish(ctx context.Context, tx pgx.Tx, events ...domain.Event) error {
	var params []river.InsertManyParams
	for _, e := range events {
		switch ev := e.(type) {
		case call.DeadlineSet:
			params = append(params, river.InsertManyParams{Args: CloseCallArgs{TenantID: ev.TenantID, CallID: ev.CallID, At: ev.At},
				InsertOpts: &river.InsertOpts{ScheduledAt: ev.At, UniqueOpts: river.UniqueOpts{ByArgs: true}}})
		case reminder.ReminderDue:
			params = append(params, river.InsertManyParams{Args: SendReminderArgs{TenantID: ev.TenantID, ReminderID: ev.ReminderID},
				InsertOpts: &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}})
		case report.Requested:
			params = append(params, river.InsertManyParams{Args: TakeSnapshotArgs{TenantID: ev.TenantID},
				InsertOpts: &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: pendingStates}}})
		case report.RegionStale:
			// One per snapshot, not folded: River's uniqueness also counts a
			// running job, which may have summed before this snapshot
			// committed. Each is one indexed sum (~11 ms measured); SumDay serialises
			// them per region and day, so the last to run sees every snapshot.
			params = append(params, river.InsertManyParams{Args: AggregateRegionArgs{RegionID: ev.RegionID, Day: ev.Day.Format(time.DateOnly)}})
		case call.NoticeIssued:
			params = append(params, river.InsertManyParams{Args: DeliverNoticeArgs{NoticeID: ev.NoticeID},
				InsertOpts: &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}})
		default:
			return fmt.Errorf("jobs: no job for event %s", e.EventKind())
		}
	}
	if len(params) == 0 {
		return nil
	}
	_, err := r.client.InsertManyTx(ctx, tx, params)
	return err
}

// observe is River worker middleware that reports each run to an Observer.
// Middleware, not an event subscription: it runs in the worker's goroutine,
// so no run is dropped, and it sees the error that decides the outcome.
type observe struct {
	river.MiddlewareDefaults
	obs Observer
}

var _ rivertype.WorkerMiddleware = (*observe)(nil)

func (o *observe) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) (err error) {
	start := time.Now()
	var waited time.Duration
	if job.AttemptedAt != nil {
		waited = job.AttemptedAt.Sub(job.ScheduledAt)
	}
	returned := false
	defer func() {
		// A panic (River recovers it above us) fails the attempt like an error.
		outcome := "failed"
		if returned {
			outcome = outcomeOf(err)
		}
		if outcome == "failed" && job.Attempt >= job.MaxAttempts {
			outcome = "discarded"
		}
		o.obs.ObserveJob(job.Kind, outcome, waited, time.Since(start))
	}()
	err = doInner(ctx)
	returned = true
	return err
}

func outcomeOf(err error) string {
	var cancel *rivertype.JobCancelError
	var snooze *rivertype.JobSnoozeError
	switch {
	case err == nil:
		return "completed"
	case errors.As(err, &cancel):
		return "cancelled"
	case errors.As(err, &snooze):
		return "snoozed"
	}
	return "failed"
}

// refusal cancels a job whose work the domain refuses for good; anything
// else is returned for River to retry with backoff.
func refusal(err error) error {
	switch domain.KindOf(err) {
	case domain.KindInternal:
		return err
	}
	return river.JobCancel(err)
}

type closeCallWorker struct {
	river.WorkerDefaults[CloseCallArgs]
	r *Runner
}

func (w *closeCallWorker) Work(ctx context.Context, job *river.Job[CloseCallArgs]) error {
	ctx = domain.WithPrincipal(ctx, domain.SystemPrincipal(job.Args.TenantID))
	_, err := w.r.deps.Calls.Close(ctx, job.Args.TenantID, job.Args.CallID)
	if err == nil {
		w.r.log.InfoContext(ctx, "call closed at its deadline", "tenant", job.Args.TenantID, "call", job.Args.CallID)
		return nil
	}
	return refusal(err) // deadline moved, already closed or cancelled: nothing to do
}

type sweepWorker struct {
	river.WorkerDefaults[SweepDeadlinesArgs]
	r *Runner
}

func (w *sweepWorker) Work(ctx context.Context, job *river.Job[SweepDeadlinesArgs]) error {
	refs, err := w.r.deps.Deadlines.Overdue(ctx, time.Now(), 500)
	if err != nil {
		return err
	}
	for _, ref := range refs {
		cctx := domain.WithPrincipal(ctx, domain.SystemPrincipal(ref.TenantID))
		if _, err := w.r.deps.Calls.Close(cctx, ref.TenantID, ref.CallID); err != nil && domain.KindOf(err) == domain.KindInternal {
			return err
		}
		w.r.log.InfoContext(ctx, "sweeper closed an overdue call", "tenant", ref.TenantID, "call", ref.CallID)
	}
	return nil
}

type deliverNoticeWorker struct {
	river.WorkerDefaults[DeliverNoticeArgs]
	r *Runner
}

func (w *deliverNoticeWorker) Work(ctx context.Context, job *river.Job[DeliverNoticeArgs]) error {
	sent, err := w.r.deps.Notify.DeliverNotice(ctx, job.Args.NoticeID)
	if sent > 0 {
		w.r.log.InfoContext(ctx, "notice delivered", "notice", job.Args.NoticeID, "mails", sent)
	}
	if err != nil && domain.KindOf(err) != domain.KindInternal {
		return river.JobCancel(err)
	}
	return err
}

type planRemindersWorker struct {
	river.WorkerDefaults[PlanRemindersArgs]
	r *Runner
}

func (w *planRemindersWorker) Work(ctx context.Context, job *river.Job[PlanRemindersArgs]) error {
	ids, err := w.r.deps.ActiveTenants(ctx)
	if err != nil {
		return err
	}
	total := 0
	var errs []error
	for _, id := range ids {
		n, err := w.r.deps.Reminders.Plan(ctx, id)
		if err != nil {
			errs = append(errs, fmt.Errorf("tenant %s: %w", id, err))
			continue // one tenant's trouble does not hold back the others
		}
		total += n
	}
	if total > 0 {
		w.r.log.InfoContext(ctx, "reminders planned", "count", total, "tenants", len(ids))
	}
	return errors.Join(errs...)
}

type sendReminderWorker struct {
	river.WorkerDefaults[SendReminderArgs]
	r *Runner
}

func (w *sendReminderWorker) Work(ctx context.Context, job *river.Job[SendReminderArgs]) error {
	n, err := w.r.deps.DeliverReminder(ctx, job.Args.TenantID, job.Args.ReminderID)
	if n > 0 {
		w.r.log.InfoContext(ctx, "reminder sent", "reminder", job.Args.ReminderID, "mails", n)
	}
	if err != nil && domain.KindOf(err) != domain.KindInternal {
		return river.JobCancel(err)
	}
	return err
}

// pendingStates: a snapshot request is folded into one not yet run, but a
// later request after it ran takes a fresh snapshot.
var pendingStates = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending,
	rivertype.JobStateRetryable, rivertype.JobStateRunning, rivertype.JobStateScheduled}

// dailyAt is a River schedule firing once a day at hour:00 UTC.
type dailyAt int

func (h dailyAt) Next(t time.Time) time.Time {
	t = t.UTC()
	next := time.Date(t.Year(), t.Month(), t.Day(), int(h), 0, 0, 0, time.UTC)
	if !next.After(t) {
		next = next.AddDate(0, 0, 1)
	}
	return next
}

type takeSnapshotWorker struct {
	river.WorkerDefaults[TakeSnapshotArgs]
	r *Runner
}

func (w *takeSnapshotWorker) Work(ctx context.Context, job *river.Job[TakeSnapshotArgs]) error {
	_, err := w.r.deps.Reports.Take(ctx, job.Args.TenantID)
	if err != nil {
		return refusal(err)
	}
	// The network's aggregates in their own transaction: a retry after
	// a failure here takes the day's snapshot again, which only replaces it.
	if w.r.deps.Network != nil {
		sctx := domain.WithPrincipal(ctx, domain.SystemPrincipal(job.Args.TenantID))
		if err := w.r.deps.Network.Refresh(sctx, job.Args.TenantID); err != nil {
			return refusal(err)
		}
	}
	return nil
}

type snapshotAllWorker struct {
	river.WorkerDefaults[SnapshotAllArgs]
	r *Runner
}

// Work queues one job per tenant, so one tenant's failure retries alone.
func (w *snapshotAllWorker) Work(ctx context.Context, job *river.Job[SnapshotAllArgs]) error {
	_, err := w.r.perTenant(ctx, func(id uuid.UUID) river.JobArgs { return TakeSnapshotArgs{TenantID: id} })
	return err
}

// perTenant queues one job per active tenant (at most one pending per
// tenant), so that one tenant's failure retries alone; it returns how many
// it queued.
func (r *Runner) perTenant(ctx context.Context, job func(tenant uuid.UUID) river.JobArgs) (int, error) {
	ids, err := r.deps.ActiveTenants(ctx)
	if err != nil {
		return 0, err
	}
	params := make([]river.InsertManyParams, 0, len(ids))
	for _, id := range ids {
		params = append(params, river.InsertManyParams{Args: job(id),
			InsertOpts: &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: pendingStates}}})
	}
	if len(params) == 0 {
		return 0, nil
	}
	_, err = r.client.InsertMany(ctx, params)
	return len(params), err
}

type aggregateRegionWorker struct {
	river.WorkerDefaults[AggregateRegionArgs]
	r *Runner
}

func (w *aggregateRegionWorker) Work(ctx context.Context, job *river.Job[AggregateRegionArgs]) error {
	day, err := time.Parse(time.DateOnly, job.Args.Day)
	if err != nil {
		return river.JobCancel(err)
	}
	if err := w.r.deps.Reports.AggregateRegion(ctx, job.Args.RegionID, day); err != nil {
		return refusal(err)
	}
	return nil
}

// sweepBlobsTimeout bounds one tenant's sweep: a walk of its folder (on a
// network volume, maybe) and one lookup per thousand files.
const sweepBlobsTimeout = 5 * time.Minute

type sweepBlobsWorker struct {
	river.WorkerDefaults[SweepBlobsArgs]
	r       *Runner
	timeout time.Duration
}

func (w *sweepBlobsWorker) Timeout(*river.Job[SweepBlobsArgs]) time.Duration { return w.timeout }

// Work removes what it can; after an error River retries, and the next
// run finds only what is left.
func (w *sweepBlobsWorker) Work(ctx context.Context, job *river.Job[SweepBlobsArgs]) error {
	sctx := domain.WithPrincipal(ctx, domain.SystemPrincipal(job.Args.TenantID))
	n, err := w.r.deps.Applications.SweepOrphans(sctx, job.Args.TenantID)
	if err != nil {
		// Internal errors are retried; a refusal (sweep_doubtful: most
		// files unreferenced, the wrong database?) waits for an operator.
		w.r.log.ErrorContext(ctx, "orphaned attachment files: sweep failed", "tenant", job.Args.TenantID, "removed", n,
			"retried", domain.KindOf(err) == domain.KindInternal, "err", err)
		return refusal(err)
	}
	w.r.log.InfoContext(ctx, "orphaned attachment files swept", "tenant", job.Args.TenantID, "removed", n)
	return nil
}

type sweepBlobsAllWorker struct {
	river.WorkerDefaults[SweepBlobsAllArgs]
	r *Runner
}

// Work queues one sweep per active tenant.
func (w *sweepBlobsAllWorker) Work(ctx context.Context, job *river.Job[SweepBlobsAllArgs]) error {
	n, err := w.r.perTenant(ctx, func(id uuid.UUID) river.JobArgs { return SweepBlobsArgs{TenantID: id} })
	w.r.log.InfoContext(ctx, "orphaned file sweeps queued", "tenants", n)
	return err
}
