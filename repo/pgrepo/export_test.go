package pgrepo

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/strata-go/strata/repo"
)

// EventCommitted is how InTx finds out whether a transaction whose COMMIT
// went unanswered committed, for the tests: whether org's event id, which
// occurred at at, is in its queue or its chain.
func (db *DB) EventCommitted(ctx context.Context, org, id uuid.UUID, at time.Time) (bool, error) {
	return db.resolve(ctx, &queuedEvent{org: org, id: id, at: at})
}

// UniqueViolationField returns the field db's error of a violation of the
// unique key called name names, as a statement's error would.
func (db *DB) UniqueViolationField(name string) string {
	err := db.keys.named(&pgconn.PgError{Code: "23505", ConstraintName: name})
	return repo.FieldOf(mapErr(err, "thing"))
}
