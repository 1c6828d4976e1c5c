// Package reminder plans the reminders of reporting: measurements due for
// each period of an indicator, and deliverables due, N days before (per
// tenant, default 7 and 1), when overdue, and an escalation to the officers
// once overdue by M days (default 7). Planning is idempotent: a reminder is
// unique per (subject, period, kind), so two workers planning at once still
// send one; once the measurement or deliverable is submitted, its pending
// reminders stop.
package reminder

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/audit"
	"github.com/coprod/coprod/domain/impact"
	"github.com/coprod/coprod/domain/notify"
)

// Settings of a tenant's reminders.
type Settings struct {
	DaysBefore     []int // default 7 and 1
	EscalationDays int   // default 7
	Locale         string
}

// DefaultSettings apply until a tenant changes them.
func DefaultSettings() Settings {
	return Settings{DaysBefore: []int{7, 1}, EscalationDays: 7, Locale: "it"}
}

// Validate checks settings.
func (s *Settings) Validate() error {
	if len(s.DaysBefore) == 0 || len(s.DaysBefore) > 5 {
		return ErrSettings.WithField("reminderDays")
	}
	for _, d := range s.DaysBefore {
		if d < 1 || d > 90 {
			return ErrSettings.WithField("reminderDays")
		}
	}
	if s.EscalationDays < 1 || s.EscalationDays > 90 {
		return ErrSettings.WithField("escalationDays")
	}
	if s.Locale != "it" && s.Locale != "en" {
		return ErrSettings.WithField("locale")
	}
	slices.Sort(s.DaysBefore)
	s.DaysBefore = slices.Compact(s.DaysBefore)
	return nil
}

// ErrSettings is an invalid setting.
var ErrSettings = domain.Errorf(domain.KindInvalid, "invalid_settings", "reminder days are 1-5 values of 1-90 days, escalation 1-90 days, locale it or en")

// Due is an item expected from the partners of an agreement.
type Due struct {
	SubjectType string    // measurement or deliverable
	SubjectID   uuid.UUID // assignment or deliverable
	Period      string    // measurement period; "" for deliverables
	AgreementID uuid.UUID
	Title       string
	At          time.Time // when it is due
	Submitted   bool
}

// Reminder is one planned message.
type Reminder struct {
	TenantID    uuid.UUID
	ID          uuid.UUID
	SubjectType string
	SubjectID   uuid.UUID
	Period      string
	Kind        string // due_in_<n>, overdue, escalation
	AgreementID uuid.UUID
	Title       string
	DueAt       time.Time
	CreatedAt   time.Time
}

// ReminderDue is the event that schedules a reminder's delivery.
type ReminderDue struct {
	TenantID   uuid.UUID
	ReminderID uuid.UUID
}

func (ReminderDue) EventKind() string { return "reminder.due" }

// Kinds that apply to d at now under s, the ones already past included (a
// missed run catches up with the latest only).
func Kinds(d Due, s Settings, now time.Time) []string {
	if d.Submitted {
		return nil
	}
	left := d.At.Sub(now)
	switch {
	case left > 0:
		// the closest "due in N days" whose window has started
		best := -1
		for _, n := range s.DaysBefore {
			if left <= time.Duration(n)*24*time.Hour && (best == -1 || n < best) {
				best = n
			}
		}
		if best == -1 {
			return nil
		}
		return []string{fmt.Sprintf("due_in_%d", best)}
	case -left >= time.Duration(s.EscalationDays)*24*time.Hour:
		return []string{"overdue", "escalation"}
	default:
		return []string{"overdue"}
	}
}

// Store runs planning in one tenant-scoped transaction.
type Store interface {
	Atomic(ctx context.Context, tenant uuid.UUID, fn func(Tx) error) error
}

// Tx is one transaction.
type Tx interface {
	Settings(ctx context.Context) (Settings, error)
	PutSettings(ctx context.Context, s Settings) error
	// DueItems lists what live agreements expect: every target period of
	// every assignment, and every deliverable not yet approved.
	DueItems(ctx context.Context) ([]Due, error)
	// Add inserts the reminder unless one with the same subject, period and
	// kind exists; it reports whether it did.
	Add(ctx context.Context, r *Reminder) (bool, error)
	Get(ctx context.Context, id uuid.UUID) (*Reminder, error)
	// StillDue reports whether the reminder's subject is still not submitted.
	StillDue(ctx context.Context, r *Reminder) (bool, error)
	// Recipients: the e-mails of the parties' members, or of the tenant's
	// officers for an escalation.
	Recipients(ctx context.Context, r *Reminder) ([]Recipient, error)
	Audit() audit.Log
	Publish(ctx context.Context, events ...domain.Event) error
}

// Recipient of a reminder.
type Recipient struct {
	UserID uuid.UUID
	Email  string
	Name   string
	Lang   string // the person's preference; empty: the tenant's default
}

// Service plans reminders.
type Service struct {
	store Store
	now   domain.Clock
}

func NewService(store Store, now domain.Clock) *Service {
	if now == nil {
		now = domain.SystemClock
	}
	return &Service{store: store, now: now}
}

// Plan creates, for one tenant, every reminder due now that does not exist
// yet, and schedules its delivery in the same transaction.
func (s *Service) Plan(ctx context.Context, tenant uuid.UUID) (int, error) {
	now := s.now()
	planned := 0
	err := s.store.Atomic(ctx, tenant, func(tx Tx) error {
		planned = 0
		set, err := tx.Settings(ctx)
		if err != nil {
			return err
		}
		items, err := tx.DueItems(ctx)
		if err != nil {
			return err
		}
		for _, d := range items {
			for _, kind := range Kinds(d, set, now) {
				r := &Reminder{TenantID: tenant, ID: domain.NewID(), SubjectType: d.SubjectType, SubjectID: d.SubjectID, Period: d.Period,
					Kind: kind, AgreementID: d.AgreementID, Title: d.Title, DueAt: d.At, CreatedAt: now}
				added, err := tx.Add(ctx, r)
				if err != nil {
					return err
				}
				if !added {
					continue
				}
				planned++
				if err := tx.Publish(ctx, ReminderDue{TenantID: tenant, ReminderID: r.ID}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return planned, err
}

// DueAt is when a measurement of period is due: the end of the period.
func DueAt(period string) (time.Time, error) { return impact.PeriodEnd(period) }

// Settings returns a tenant's reminder settings (its admins and officers).
func (s *Service) Settings(ctx context.Context, tenant uuid.UUID) (Settings, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return Settings{}, err
	}
	if !p.IsOperator() && !(p.TenantID == tenant && p.Has(domain.RoleTenantAdmin, domain.RoleOfficer)) {
		return Settings{}, domain.ErrForbidden
	}
	var out Settings
	err = s.store.Atomic(ctx, tenant, func(tx Tx) (err error) {
		out, err = tx.Settings(ctx)
		return err
	})
	return out, err
}

// PutSettings changes them (tenant admin or operator).
func (s *Service) PutSettings(ctx context.Context, tenant uuid.UUID, in Settings) (Settings, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return Settings{}, err
	}
	if !p.IsOperator() && !(p.TenantID == tenant && p.Has(domain.RoleTenantAdmin)) {
		return Settings{}, domain.ErrForbidden
	}
	if err := in.Validate(); err != nil {
		return Settings{}, err
	}
	err = s.store.Atomic(ctx, tenant, func(tx Tx) error {
		if err := tx.PutSettings(ctx, in); err != nil {
			return err
		}
		return tx.Audit().Append(ctx, audit.New(tenant, p, s.now(), "settings.changed", "tenant", tenant,
			map[string]any{"reminderDays": in.DaysBefore, "escalationDays": in.EscalationDays, "locale": in.Locale}))
	})
	return in, err
}

// Mailer sends e-mail (the notify port, restated to keep this package's
// dependencies to what it uses).
type Mailer interface {
	Send(ctx context.Context, m notify.Message) error
}

// DeliveryTx extends Tx with the sent-log and in-app notifications.
type DeliveryTx interface {
	Tx
	Sent(ctx context.Context, key string) (bool, error)
	MarkSent(ctx context.Context, key, messageID, recipient string, at time.Time) error
	// Notify adds an in-app notification for a user.
	Notify(ctx context.Context, user uuid.UUID, n notify.InApp) error
}

// DeliveryStore runs delivery steps.
type DeliveryStore interface {
	Atomic(ctx context.Context, tenant uuid.UUID, fn func(DeliveryTx) error) error
}

// Deliver sends a reminder to each recipient once (sent-log as for
// notices), with an in-app notification; a reminder whose subject was
// submitted meanwhile is dropped. It returns how many e-mails went out.
func Deliver(ctx context.Context, store DeliveryStore, mailer Mailer, now domain.Clock, tenant, id uuid.UUID) (int, error) {
	var r *Reminder
	var rcpts []Recipient
	var still bool
	var set Settings
	err := store.Atomic(ctx, tenant, func(tx DeliveryTx) (err error) {
		if r, err = tx.Get(ctx, id); err != nil {
			return err
		}
		if set, err = tx.Settings(ctx); err != nil {
			return err
		}
		if still, err = tx.StillDue(ctx, r); err != nil || !still {
			return err
		}
		rcpts, err = tx.Recipients(ctx, r)
		return err
	})
	if err != nil || !still {
		return 0, err
	}
	sent := 0
	var errs []error
	for _, rc := range rcpts {
		key := "reminder:" + r.ID.String() + ":" + rc.Email
		lang := rc.Lang
		if lang == "" {
			lang = set.Locale
		}
		msg := render(r, rc, lang, key)
		var done bool
		if err := store.Atomic(ctx, tenant, func(tx DeliveryTx) (err error) { done, err = tx.Sent(ctx, key); return err }); err != nil {
			return sent, err
		}
		if done {
			continue
		}
		if err := mailer.Send(ctx, msg); err != nil {
			errs = append(errs, err)
			continue
		}
		sent++
		logCtx, cancel := notify.AfterSend(ctx)
		err := store.Atomic(logCtx, tenant, func(tx DeliveryTx) error {
			if err := tx.MarkSent(logCtx, key, msg.MessageID, rc.Email, now()); err != nil {
				return err
			}
			return tx.Notify(logCtx, rc.UserID, notify.InApp{TenantID: tenant, Kind: "reminder." + r.Kind, Title: msg.Subject, At: now()})
		})
		cancel()
		if err != nil {
			return sent, err
		}
	}
	return sent, errors.Join(errs...)
}

// wording of reminders by language (it is the default).
var wording = map[string]map[string]string{
	"it": {"overdue": "In ritardo", "escalation": "Sollecito: in ritardo da oltre il termine di tolleranza", "due": "In scadenza il ",
		"measurement": "Rendicontazione dell'indicatore", "deliverable": "Adempimento", "period": "periodo", "deadline": "Scadenza",
		"dear": "Gentile", "nobody": "utente", "date": "02/01/2006"},
	"en": {"overdue": "Overdue", "escalation": "Escalation: overdue beyond the grace period", "due": "Due on ",
		"measurement": "Report on the indicator", "deliverable": "Deliverable", "period": "period", "deadline": "Due date",
		"dear": "Dear", "nobody": "user", "date": "2 January 2006"},
}

func render(r *Reminder, rc Recipient, lang, key string) notify.Message {
	w, ok := wording[lang]
	if !ok {
		w, lang = wording["it"], "it"
	}
	what := w[r.Kind]
	if r.Kind != "overdue" && r.Kind != "escalation" {
		what = w["due"] + r.DueAt.Format(w["date"])
	}
	item := w["measurement"]
	if r.SubjectType == "deliverable" {
		item = w["deliverable"]
	}
	subject := what + ": " + r.Title
	if r.Period != "" {
		subject += " (" + r.Period + ")"
	}
	name := rc.Name
	if name == "" {
		name = w["nobody"]
	}
	text := w["dear"] + " " + name + ",\n\n" + item + " «" + r.Title + "»"
	if r.Period != "" {
		text += ", " + w["period"] + " " + r.Period
	}
	text += ": " + strings.ToLower(what[:1]) + what[1:] + ".\n" + w["deadline"] + ": " + r.DueAt.Format(w["date"]) + ".\n\n-- \ncoprod\n"
	return notify.Message{To: rc.Email, ToName: rc.Name, Subject: subject, Text: text, MessageID: notify.MessageID(key),
		Headers: map[string]string{"X-Coprod-Reminder": r.ID.String(), "Content-Language": lang}}
}
