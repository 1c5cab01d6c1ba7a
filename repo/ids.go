package repo

import (
	"time"

	"github.com/google/uuid"
)

// NewID returns a new UUIDv7: time-ordered, so IDs made later sort later.
func NewID() uuid.UUID {
	return uuid.Must(uuid.NewV7())
}

// Now returns the current time in UTC, truncated to the microsecond: the
// precision both dialects store, so a time read back equals the time written.
func Now() time.Time {
	return Timestamp(time.Now())
}

// Timestamp converts t to UTC and truncates it to the microsecond.
func Timestamp(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}
