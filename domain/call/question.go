package call

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/coprod/coprod/domain"
)

// Question is asked by an organisation about a call; the officer's answer,
// once published, is visible to everyone (the call's FAQ).
type Question struct {
	TenantID       uuid.UUID
	ID             uuid.UUID
	CallID         uuid.UUID
	OrganisationID uuid.UUID
	AskedBy        string
	Text           string
	AskedAt        time.Time
	Answer         string
	AnsweredBy     string
	AnsweredAt     time.Time
	Published      bool
	Version        int
}

var (
	ErrQuestionNotFound = domain.Errorf(domain.KindNotFound, "question_not_found", "no such question")
	ErrInvalidQuestion  = domain.Errorf(domain.KindInvalid, "invalid_question", "a question is 3-4000 characters")
	ErrInvalidAnswer    = domain.Errorf(domain.KindInvalid, "invalid_answer", "an answer is 1-20000 characters")
)

// Ask records a question of org on c at now.
func (c *Call) Ask(org uuid.UUID, by, text string, now time.Time) (*Question, error) {
	if err := c.CanAsk(now); err != nil {
		return nil, err
	}
	text = strings.TrimSpace(text)
	if n := utf8.RuneCountInString(text); n < 3 || n > 4000 {
		return nil, ErrInvalidQuestion.WithField("text")
	}
	return &Question{TenantID: c.TenantID, ID: domain.NewID(), CallID: c.ID, OrganisationID: org, AskedBy: by, Text: text, AskedAt: now, Version: 1}, nil
}

// Reply sets the answer; publish makes question and answer public. An
// answer may be corrected later; publication cannot be undone (it is public).
func (q *Question) Reply(answer, by string, publish bool, now time.Time) error {
	answer = strings.TrimSpace(answer)
	if n := utf8.RuneCountInString(answer); n < 1 || n > 20000 {
		return ErrInvalidAnswer.WithField("answer")
	}
	q.Answer, q.AnsweredBy, q.AnsweredAt = answer, by, now
	q.Published = q.Published || publish
	q.Version++
	return nil
}
