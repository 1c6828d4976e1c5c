// Package notify sends what the domain has to tell people: notices to
// organisations about the calls they apply to, reminders of measurements
// and deliverables due. Delivery is exactly-once per (notification,
// recipient) as far as coprod can make it: a sent-log keyed by both is
// checked before sending and written right after, and every message carries
// a stable Message-ID so that a mail server can drop the rare duplicate of a
// crash between the two.
package notify

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// InApp is a notification shown to a user in the application
// (GET /v1/me/notifications), alongside the e-mail.
type InApp struct {
	ID       uuid.UUID
	TenantID uuid.UUID
	Kind     string
	Title    string
	At       time.Time
	ReadAt   time.Time
}

// Message is one e-mail to one recipient.
type Message struct {
	To        string // a single address
	ToName    string
	Subject   string // UTF-8; the adapter encodes it
	Text      string // plain-text body, UTF-8
	MessageID string // stable across retries: "<key@coprod>"
	Headers   map[string]string
}

// Mailer sends e-mail. An error means it was not sent (the job retries).
type Mailer interface {
	Send(ctx context.Context, m Message) error
}
