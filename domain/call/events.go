package call

import (
	"time"

	"github.com/google/uuid"
)

// DeadlineSet: the call must close at At (published, or its deadline moved).
type DeadlineSet struct {
	TenantID uuid.UUID
	CallID   uuid.UUID
	At       time.Time
}

func (DeadlineSet) EventKind() string { return "call.deadline_set" }

// NoticeIssued: a notice to an organisation awaits delivery by e-mail.
type NoticeIssued struct {
	NoticeID uuid.UUID
}

func (NoticeIssued) EventKind() string { return "call.notice_issued" }
