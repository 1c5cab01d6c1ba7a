package pgrepo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	pgdb "github.com/strata-go/strata/db/pg"
)

// txConn is one transaction on a connection of the pool: the DBTX of the
// transaction's queries. It begins and ends the transaction itself (BEGIN,
// COMMIT, ROLLBACK as statements) rather than through pgx.Tx, so that it can
// send the transaction's audit events in the same round trip as its COMMIT.
//
// Appending an audit event queues its INSERT (into audit_pending) in
// pending instead of sending it (see auditEvents.Append). Pending
// statements go to the server with the COMMIT, in one pipeline, or, should
// the transaction run another statement first, just before that statement,
// so that it sees them. Either way they run in the transaction, in order,
// before it commits; if one fails, the pipeline stops there and the
// transaction rolls back. An audited change thus costs no round trip more
// than the change alone, and takes no lock another writer of the org needs:
// the chain is sealed after the commit, by SealPending.
type txConn struct {
	conn    *pgxpool.Conn
	pending pgx.Batch
	// queued reports that the transaction queued audit events for the
	// sealer: once it commits, the DB wakes the sealer (see DB.Queued).
	queued bool
	// chains lists the orgs whose chains the transaction found, for
	// Store.chains once it commits (see knownOrg).
	chains []uuid.UUID
	// claims are the idempotency keys the transaction claimed (see
	// idempotency_keys.go).
	claims claims
	// event is the first audit event the transaction queued: should its
	// COMMIT go unanswered, finding the event tells whether it committed
	// (see outcome.go).
	event *queuedEvent
}

var _ pgdb.DBTX = (*txConn)(nil)

// errCommitRolledBack: COMMIT answered ROLLBACK, because a statement of the
// transaction had failed and the caller went on regardless.
var errCommitRolledBack = errors.New("pgrepo: commit rolled back: the transaction had failed")

// begin acquires a connection and starts a transaction on it.
func begin(ctx context.Context, pool *pgxpool.Pool) (*txConn, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "begin"); err != nil {
		conn.Release()
		return nil, err
	}
	return &txConn{conn: conn}, nil
}

// flush sends the pending statements, if any, in one pipeline and reads
// their results.
func (c *txConn) flush(ctx context.Context) error {
	if c.pending.Len() == 0 {
		return nil
	}
	b := c.pending
	c.pending = pgx.Batch{}
	return c.conn.SendBatch(ctx, &b).Close()
}

// commit sends the pending statements and COMMIT in one round trip, then
// releases the connection.
func (c *txConn) commit(ctx context.Context) error {
	q := c.pending.Queue("commit")
	q.Exec(func(tag pgconn.CommandTag) error {
		if tag.String() == "ROLLBACK" {
			return errCommitRolledBack
		}
		return nil
	})
	if err := c.flush(ctx); err != nil {
		return err
	}
	c.release()
	return nil
}

// rollback ends a transaction that did not commit (a no-op after commit)
// and releases the connection. When ctx has already ended (the caller's
// deadline passed, say), it closes the connection instead, which ends the
// transaction on the server without waiting for an answer that may not come
// (a frozen server); the pool replaces the connection, as it does when the
// ROLLBACK fails.
func (c *txConn) rollback(ctx context.Context) {
	if c.conn == nil {
		return
	}
	if ctx.Err() != nil {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		_ = c.conn.Conn().Close(closeCtx)
		cancel()
	} else {
		_, _ = c.conn.Exec(ctx, "rollback")
	}
	c.release()
}

// release gives the connection back to the pool.
func (c *txConn) release() {
	c.conn.Release()
	c.conn = nil
}

// deferred returns a DBTX whose Exec queues the statement in pending.
func (c *txConn) deferred() pgdb.DBTX { return deferredExec{c} }

// Exec flushes, then runs sql.
func (c *txConn) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if err := c.flush(ctx); err != nil {
		return pgconn.CommandTag{}, err
	}
	return c.conn.Exec(ctx, sql, args...)
}

// Query flushes, then runs sql.
func (c *txConn) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if err := c.flush(ctx); err != nil {
		return nil, err
	}
	return c.conn.Query(ctx, sql, args...)
}

// QueryRow flushes, then runs sql.
func (c *txConn) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if err := c.flush(ctx); err != nil {
		return errRow{err}
	}
	return c.conn.QueryRow(ctx, sql, args...)
}

// CopyFrom flushes, then copies.
func (c *txConn) CopyFrom(ctx context.Context, table pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error) {
	if err := c.flush(ctx); err != nil {
		return 0, err
	}
	return c.conn.CopyFrom(ctx, table, cols, src)
}

// savepoint runs fn under a savepoint: released when fn succeeds, rolled
// back to when it fails, and then fn's error is returned, unless the
// rollback failed too: then its error is, wrapping fn's in its message.
func (c *txConn) savepoint(ctx context.Context, fn func() error) error {
	if _, err := c.Exec(ctx, "savepoint strata"); err != nil {
		return err
	}
	if err := fn(); err != nil {
		if _, rbErr := c.Exec(ctx, "rollback to savepoint strata"); rbErr != nil {
			return fmt.Errorf("%w (rolling back after: %v)", rbErr, err)
		}
		return err
	}
	_, err := c.Exec(ctx, "release savepoint strata")
	return err
}

// deferredExec queues each Exec in its transaction's pending batch. Only
// Exec is meant to be used: the statements it serves are the audit
// INSERTs and the sealer's moves, which report nothing but success.
type deferredExec struct{ c *txConn }

func (d deferredExec) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	d.c.pending.Queue(sql, args...)
	return pgconn.CommandTag{}, nil
}

func (d deferredExec) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return d.c.Query(ctx, sql, args...)
}

func (d deferredExec) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return d.c.QueryRow(ctx, sql, args...)
}

func (d deferredExec) CopyFrom(ctx context.Context, table pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error) {
	return d.c.CopyFrom(ctx, table, cols, src)
}

// errRow is a pgx.Row whose Scan returns err.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
