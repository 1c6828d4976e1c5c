package domain

import (
	"time"

	"github.com/google/uuid"
)

// NewID returns a UUIDv7: time-ordered, so primary-key indexes stay compact
// and cursor pagination by id follows creation order.
func NewID() uuid.UUID { return uuid.Must(uuid.NewV7()) }

// Clock is injected wherever a rule depends on the time, so tests can pin it.
type Clock func() time.Time

// SystemClock is the real clock, truncated to microseconds like PostgreSQL.
func SystemClock() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
