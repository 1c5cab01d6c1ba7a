package pgrepo

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// EventCommitted is how InTx finds out whether a transaction whose COMMIT
// went unanswered committed, for the tests: whether org's event id, which
// occurred at at, is in its queue or its chain.
func (db *DB) EventCommitted(ctx context.Context, org, id uuid.UUID, at time.Time) (bool, error) {
	return db.resolve(ctx, &queuedEvent{org: org, id: id, at: at})
}
