package repo

import (
	"context"
	"time"
)

// IdempotencyKeys stores the outcomes of mutations made under a client's
// idempotency key (the Idempotency-Key header), so that a retry of a
// mutation whose answer was lost replays its outcome instead of applying it
// again. Claim and Complete run in the transaction of the mutation they
// guard: the key record, the change and its audit event commit together or
// not at all.
type IdempotencyKeys interface {
	// Claim reserves rec's key for the calling transaction, storing rec
	// with an empty Result, unless a record created at or after since is
	// stored under the key: then it returns that record and claimed false,
	// and the caller replays its Result (or refuses a request whose
	// fingerprint differs). An older record is taken over. On PostgreSQL a
	// key another transaction holds right now is an ErrConflict wrapping
	// ErrKeyInFlight; on SQLite the single writer serializes claims.
	// Outside a transaction Claim is ErrInternal.
	Claim(ctx context.Context, rec IdempotencyRecord, since time.Time) (stored IdempotencyRecord, claimed bool, err error)
	// Complete stores the outcome of the mutation under the key the
	// transaction claimed; a key it did not claim is ErrNotFound. Outside a
	// transaction Complete is ErrInternal.
	Complete(ctx context.Context, key IdempotencyKey, result []byte) error
	// Prune deletes up to limit records created before before, and returns
	// how many it deleted; call it again while it returns limit. It never
	// waits for a transaction that claims a key, nor holds one up for long.
	Prune(ctx context.Context, before time.Time, limit int) (int64, error)
}

// Store hands out the repositories. A Store from a database handle runs each
// call on its own; the Store InTx passes to fn runs every call in one transaction.
type Store interface {
	Orgs() Orgs
	Users() Users
	Memberships() Memberships
	Roles() Roles
	RoleBindings() RoleBindings
	Projects() Projects
	Environments() Environments
	APIKeys() APIKeys
	AuditEvents() AuditEvents
	IdempotencyKeys() IdempotencyKeys

	// InTx runs fn in one transaction, with tx bound to it: the transaction
	// commits when fn returns nil and rolls back when fn returns an error or
	// panics (the panic goes on). A serialization failure, deadlock or busy
	// database makes InTx run fn again, a bounded number of times with
	// jittered backoff, so fn must not have effects outside tx. Called on a
	// Store that is already in a transaction, InTx runs fn in that transaction.
	InTx(ctx context.Context, fn func(tx Store) error) error
}

// Dialect names a database engine.
type Dialect string

// The supported dialects.
const (
	PostgreSQL Dialect = "postgres"
	SQLite     Dialect = "sqlite"
)

// DB is an open database: a Store plus the handle's life cycle.
type DB interface {
	Store
	Dialect() Dialect
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close releases every connection.
	Close() error
}
