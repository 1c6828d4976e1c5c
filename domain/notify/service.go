package notify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"text/template"
	"time"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
	"github.com/coprod/coprod/domain/call"
)

// Recipient of a notification: a person acting for an organisation.
type Recipient struct {
	UserID uuid.UUID
	Email  string
	Name   string
	Lang   string // "it" or "en": the person's preference; empty: the tenant's default, else it
}

// Store runs the delivery steps, each in its own transaction (platform-level:
// notices and sent-logs are read and written across tenants).
type Store interface {
	Atomic(ctx context.Context, fn func(Tx) error) error
}

// Tx is one transaction.
type Tx interface {
	Notice(ctx context.Context, id uuid.UUID) (*call.Notice, error)
	// Recipients are the members of an organisation with an e-mail address.
	Recipients(ctx context.Context, org uuid.UUID) ([]Recipient, error)
	// TenantLocale is the tenant's default language ("" when not set).
	TenantLocale(ctx context.Context, tenant uuid.UUID) (string, error)
	// TenantName names the municipality of a notice.
	TenantName(ctx context.Context, tenant uuid.UUID) (string, error)
	Sent(ctx context.Context, key string) (bool, error)
	MarkSent(ctx context.Context, key, messageID, recipient string, at time.Time) error
	Notify(ctx context.Context, user uuid.UUID, n InApp) error
	// Inbox lists a user's in-app notifications, newest first.
	Inbox(ctx context.Context, user uuid.UUID, before uuid.UUID, limit int) ([]InApp, error)
	MarkRead(ctx context.Context, user, id uuid.UUID, at time.Time) error
}

// ErrNoticeNotFound is permanent: the job that delivers it can stop.
var ErrNoticeNotFound = domain.Errorf(domain.KindNotFound, "notice_not_found", "no such notice")

// Service delivers notifications.
type Service struct {
	store  Store
	mailer Mailer
	now    domain.Clock
	// BaseURL of the public site, for links in messages.
	BaseURL string
}

func NewService(store Store, mailer Mailer, now domain.Clock, baseURL string) *Service {
	if now == nil {
		now = domain.SystemClock
	}
	return &Service{store: store, mailer: mailer, now: now, BaseURL: strings.TrimRight(baseURL, "/")}
}

// DeliverNotice e-mails a notice to every member of its organisation, each
// exactly once: the sent-log key is the notice and the address, checked
// before sending and written right after. A failure to send returns an
// error (the job retries later); what was already sent is not sent again.
func (s *Service) DeliverNotice(ctx context.Context, noticeID uuid.UUID) (sent int, err error) {
	var n *call.Notice
	var rcpts []Recipient
	var town, fallback string
	err = s.store.Atomic(ctx, func(tx Tx) error {
		if n, err = tx.Notice(ctx, noticeID); err != nil {
			return err
		}
		if town, err = tx.TenantName(ctx, n.TenantID); err != nil {
			return err
		}
		if fallback, err = tx.TenantLocale(ctx, n.TenantID); err != nil {
			return err
		}
		rcpts, err = tx.Recipients(ctx, n.OrganisationID)
		return err
	})
	if err != nil {
		return 0, err
	}
	var errs []error
	for _, r := range rcpts {
		key := "notice:" + n.ID.String() + ":" + strings.ToLower(r.Email)
		var done bool
		if err := s.store.Atomic(ctx, func(tx Tx) (err error) { done, err = tx.Sent(ctx, key); return err }); err != nil {
			return sent, err
		}
		if done {
			continue
		}
		if r.Lang == "" {
			r.Lang = fallback
		}
		m, err := s.render(n, town, r, key)
		if err != nil {
			return sent, err
		}
		if err := s.mailer.Send(ctx, m); err != nil {
			errs = append(errs, err)
			continue // the others may still go; the job retries the rest
		}
		sent++
		logCtx, cancel := AfterSend(ctx)
		err = s.store.Atomic(logCtx, func(tx Tx) error {
			if err := tx.MarkSent(logCtx, key, m.MessageID, r.Email, s.now()); err != nil {
				return err
			}
			return tx.Notify(logCtx, r.UserID, InApp{TenantID: n.TenantID, Kind: n.Kind, Title: m.Subject, At: s.now()})
		})
		cancel()
		if err != nil {
			return sent, err
		}
	}
	return sent, errors.Join(errs...)
}

// AfterSend is the context of the sent-log write that follows an accepted
// message: the job's timeout or shutdown must not cancel it then, or the
// retry would send the message again (ADR 0009). It has a deadline of its own.
func AfterSend(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
}

// MessageID is stable for a key, so a duplicate can be recognised.
func MessageID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "<" + hex.EncodeToString(sum[:16]) + "@coprod>"
}

var subjects = map[string]map[string]string{
	"it": {"call.amended": "Avviso modificato", "call.closed": "Avviso chiuso", "call.cancelled": "Avviso annullato", "call.ranked": "Graduatoria pubblicata"},
	"en": {"call.amended": "Call amended", "call.closed": "Call closed", "call.cancelled": "Call cancelled", "call.ranked": "Ranking published"},
}

var bodies = map[string]*template.Template{
	"it": template.Must(template.New("it").Parse(`Gentile {{.Name}},

{{.What}}: «{{.Title}}» del Comune di {{.Town}}.
{{if .Link}}
Dettagli: {{.Link}}
{{end}}
Ricevi questo messaggio perché la tua organizzazione partecipa a questo avviso.
-- 
coprod
`)),
	"en": template.Must(template.New("en").Parse(`Dear {{.Name}},

{{.What}}: "{{.Title}}" of the municipality of {{.Town}}.
{{if .Link}}
Details: {{.Link}}
{{end}}
You receive this message because your organisation takes part in this call.
-- 
coprod
`)),
}

func (s *Service) render(n *call.Notice, town string, r Recipient, key string) (Message, error) {
	lang := r.Lang
	if _, ok := bodies[lang]; !ok {
		lang = "it"
	}
	what := subjects[lang][n.Kind]
	if what == "" {
		what = n.Kind
	}
	name := r.Name
	if name == "" {
		name = map[string]string{"it": "utente", "en": "user"}[lang]
	}
	link := ""
	if s.BaseURL != "" {
		link = s.BaseURL + "/v1/public/calls/" + n.CallID.String()
	}
	var b bytes.Buffer
	if err := bodies[lang].Execute(&b, map[string]string{"Name": name, "What": what, "Title": n.Title, "Town": town, "Link": link}); err != nil {
		return Message{}, err
	}
	return Message{To: r.Email, ToName: r.Name, Subject: what + ": " + n.Title, Text: b.String(), MessageID: MessageID(key),
		Headers: map[string]string{"X-Coprod-Notice": n.ID.String(), "Content-Language": lang}}, nil
}

// Inbox returns the caller's in-app notifications, newest first.
func (s *Service) Inbox(ctx context.Context, before uuid.UUID, limit int) ([]InApp, error) {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	if p.UserID == uuid.Nil {
		return []InApp{}, nil
	}
	if limit < 1 || limit > 200 {
		return nil, domain.Errorf(domain.KindInvalid, "invalid_page_size", "page size must be between 1 and 200").WithField("limit")
	}
	var out []InApp
	err = s.store.Atomic(ctx, func(tx Tx) (err error) {
		out, err = tx.Inbox(ctx, p.UserID, before, limit)
		return err
	})
	return out, err
}

// MarkRead marks one of the caller's notifications read.
func (s *Service) MarkRead(ctx context.Context, id uuid.UUID) error {
	p, err := domain.PrincipalFrom(ctx)
	if err != nil {
		return err
	}
	if p.UserID == uuid.Nil {
		return ErrNotificationNotFound
	}
	return s.store.Atomic(ctx, func(tx Tx) error { return tx.MarkRead(ctx, p.UserID, id, s.now()) })
}

// ErrNotificationNotFound: not the caller's, or absent.
var ErrNotificationNotFound = domain.Errorf(domain.KindNotFound, "notification_not_found", "no such notification")
