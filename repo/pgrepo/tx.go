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
// Appending an audit event queues its INSERT in pending instead of sending
// it (see auditEvents.Append). Pending inserts go to the server with the
// COMMIT, in one pipeline, or, should the transaction run another statement
// first, just before that statement, so that it sees them. Either way they
// run in the transaction, in order, before it commits; if one fails, the
// pipeline stops there and the transaction rolls back.
type txConn struct {
	conn    *pgxpool.Conn
	pending pgx.Batch
	// appends are the chain heads this transaction appended to, by org.
	appends map[uuid.UUID]*appendState
	heads   *heads
	// locked says to read chain heads under their row locks, never from
	// heads: the transaction is a retry.
	locked bool
	// sent reports that an append of this transaction reached the server
	// (flushed, or with the COMMIT): if the transaction then fails, its
	// cached heads may be stale.
	sent bool
	// claims are the idempotency keys the transaction claimed (see
	// idempotency_keys.go).
	claims claims
}

// appendState is what a transaction knows of one org's chain.
type appendState struct {
	lease *lease // nil when not held (or released)
	// seq and hash are the head the transaction's appends lead to, once done.
	seq  int64
	hash []byte
	done bool
}

var _ pgdb.DBTX = (*txConn)(nil)

// errCommitRolledBack: COMMIT answered ROLLBACK, because a statement of the
// transaction had failed and the caller went on regardless.
var errCommitRolledBack = errors.New("pgrepo: commit rolled back: the transaction had failed")

// begin acquires a connection and starts a transaction on it; locked says
// to read chain heads under their row locks (see txConn.head).
func begin(ctx context.Context, pool *pgxpool.Pool, h *heads, locked bool) (*txConn, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "begin"); err != nil {
		conn.Release()
		return nil, err
	}
	return &txConn{conn: conn, heads: h, locked: locked}, nil
}

// flush sends the pending inserts, if any. Once they are in the
// transaction, the server's head row lock orders the org's appenders, so
// the process-wide leases are released (see heads).
func (c *txConn) flush(ctx context.Context) error {
	if c.pending.Len() == 0 {
		return nil
	}
	c.sent = true
	// From here on the head row's lock, taken by the inserts, makes other
	// appenders wait: they must read the head (LockAuditHead), not the cache.
	for org := range c.appends {
		c.heads.forget(org)
	}
	c.releaseLeases()
	return c.send(ctx)
}

// send sends the pending statements in one pipeline and reads their results.
func (c *txConn) send(ctx context.Context) error {
	b := c.pending
	c.pending = pgx.Batch{}
	return c.conn.SendBatch(ctx, &b).Close()
}

// commit sends the pending inserts and COMMIT in one round trip, then
// releases the connection. On success the heads the transaction appended to
// become the process's cached heads.
func (c *txConn) commit(ctx context.Context) error {
	if c.pending.Len() > 0 {
		c.sent = true
	}
	q := c.pending.Queue("commit")
	q.Exec(func(tag pgconn.CommandTag) error {
		if tag.String() == "ROLLBACK" {
			return errCommitRolledBack
		}
		return nil
	})
	if err := c.send(ctx); err != nil {
		return err
	}
	c.end(true)
	return nil
}

// rollback ends a transaction that did not commit (a no-op after commit):
// it rolls back, drops what the transaction may have made stale from the
// head cache and releases the connection. When ctx has already ended (the
// caller's deadline passed, say), it closes the connection instead, which
// ends the transaction on the server without waiting for an answer that
// may not come (a frozen server); the pool replaces the connection, as it
// does when the ROLLBACK fails.
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
	c.end(false)
}

// end releases the leases and the connection; committed says whether the
// transaction's appends are now the heads of their chains.
func (c *txConn) end(committed bool) {
	for org, a := range c.appends {
		switch {
		case !a.done:
		case committed:
			c.heads.advance(org, a.seq, a.hash)
		case c.sent:
			// The insert may have failed because the cached head was stale.
			c.heads.forget(org)
		}
	}
	c.releaseLeases()
	c.conn.Release()
	c.conn = nil
}

// releaseLeases gives back the leases still held.
func (c *txConn) releaseLeases() {
	for _, a := range c.appends {
		if a.lease != nil {
			a.lease.release()
			a.lease = nil
		}
	}
}

// head returns the head of org's chain for the transaction's next append:
// the one its last append left, the process's cached head (under org's
// lease), or the head read from the database under its row lock: always
// so in a locked transaction, which takes no lease.
func (c *txConn) head(ctx context.Context, org uuid.UUID) (int64, []byte, error) {
	a := c.appends[org]
	if a != nil && a.done {
		return a.seq, a.hash, nil
	}
	if a == nil {
		a = &appendState{}
		if c.appends == nil {
			c.appends = make(map[uuid.UUID]*appendState)
		}
		c.appends[org] = a // so that the transaction's end releases the lease
		if !c.locked {
			l, seq, hash, known := c.heads.acquire(ctx, org)
			a.lease = l
			if known {
				return seq, hash, nil
			}
		}
	}
	h, err := pgdb.New(c).LockAuditHead(ctx, org)
	if err != nil {
		return 0, nil, err
	}
	return h.Seq, h.Hash, nil
}

// appended records that the transaction appended to org's chain, up to
// (seq, hash).
func (c *txConn) appended(org uuid.UUID, seq int64, hash []byte) {
	a := c.appends[org]
	a.seq, a.hash, a.done = seq, hash, true
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
// Exec is meant to be used: the queries it serves are the audit INSERTs.
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
