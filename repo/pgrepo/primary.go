package pgrepo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/scaling/pgscale"
)

// A transaction that fails because the primary could not serve it (see
// pgscale.PrimaryLost: unreachable, shutting down, in recovery, or a
// demoted primary answering 25006 through a proxy) did not commit, unless
// its COMMIT had been sent: InTx then waits for a writable primary (the
// Store's pgscale.PrimaryWait) and runs it again.
//
// A transaction whose COMMIT was sent and not answered (the connection
// broke, or the server shut down while the commit waited for a synchronous
// standby, as a switchover does) may have committed. Running it again could
// apply it twice, so InTx finds out first, on the writable primary, when
// the transaction recorded an audit event, as every mutation of the
// service does: the event is committed if and only if the transaction is
// (see outcome.go). InTx then reports success, or runs the transaction
// again. A transaction without an event that claimed an idempotency key is
// run again: its second run finds the first run's record if that committed
// (the claim waits for, or refuses, a first run still in progress), and the
// caller gets the stored result. Any other fails with ErrUnavailable,
// wrapping errOutcomeUnknown, as it does when no primary appears within the
// wait to answer the question.

// errOutcomeUnknown is wrapped by the error of a transaction whose COMMIT
// was sent but not answered.
var errOutcomeUnknown = errors.New("the transaction's commit was sent but not answered: it may or may not have committed")

// outcomeUnknown is the cause of such an error.
type outcomeUnknown struct {
	err error   // the driver's error
	tx  *txConn // the transaction, its connection released
}

func (e *outcomeUnknown) Error() string { return errOutcomeUnknown.Error() + ": " + e.err.Error() }
func (e *outcomeUnknown) Unwrap() []error {
	return []error{errOutcomeUnknown, e.err}
}

// errClosedBeforeCommit: the transaction's connection broke before its
// COMMIT could be sent (wraps pgconn.ErrConnClosed).
var errClosedBeforeCommit = fmt.Errorf("the connection broke before the commit: %w", pgconn.ErrConnClosed)

// commitError maps the error of a COMMIT (sent with the transaction's
// pending statements). The transaction did not commit when the server
// answered with an ERROR (a pending statement failed and the COMMIT never
// ran, or the COMMIT itself failed) or ROLLBACK; anything else (the
// connection broke, a FATAL termination, a timeout) leaves its outcome
// unknown. pgconn.SafeToRetry is no guide here: pgx v5.12 reports a
// connection that broke after the COMMIT was written, while it waits for
// the answer, as a "conn closed" lock error that is safe to retry. runTx
// checks that the connection is still open before it sends the COMMIT.
func commitError(err error, tx *txConn) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && severity(pgErr) == "ERROR" || errors.Is(err, errCommitRolledBack) {
		return mapErr(err, "transaction")
	}
	return &repo.Error{Kind: repo.ErrUnavailable, Err: &outcomeUnknown{err: err, tx: tx},
		Message: "database unavailable while committing: the change may or may not have been applied (send an Idempotency-Key to retry safely)"}
}

// primaryWaiting is what InTx knows of its wait for a primary.
type primaryWaiting struct {
	until time.Time // when the wait ends; zero until it begins
	// orphan: a run whose COMMIT went unanswered claimed an idempotency
	// key, and may still be at work on the server, holding the key.
	orphan bool
	// unknown is a run whose COMMIT went unanswered and recorded an audit
	// event, while InTx finds out whether it committed; unknownErr is the
	// error it failed with, InTx's should no primary answer.
	unknown    *outcomeUnknown
	unknownErr error
}

// orphanPoll is how often a run waits for an orphaned run to end.
const orphanPoll = 20 * time.Millisecond

// waitPrimary reports whether a transaction that failed with err should run
// again, or have its outcome resolved: the primary could not serve it and it
// did not commit (or recorded an audit event, or claimed an idempotency
// key), and a writable primary appeared within the wait; or
// the key is still held by an orphaned run of the same transaction, which
// is about to end. It drops the pool's connections first when the primary
// answered 25006: they reach a server that takes no writes any more.
func (s *Store) waitPrimary(ctx context.Context, err error, w *primaryWaiting) bool {
	if s.wait == nil || err == nil || ctx.Err() != nil {
		return false
	}
	now := time.Now()
	if w.orphan && errors.Is(err, repo.ErrKeyInFlight) && now.Before(w.until) {
		t := time.NewTimer(orphanPoll)
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-ctx.Done():
			return false
		}
	}
	if !pgscale.PrimaryLost(err) {
		return false
	}
	var unknown *outcomeUnknown
	if errors.As(err, &unknown) {
		switch {
		case unknown.tx.event != nil:
			w.unknown, w.unknownErr = unknown, err
		case len(unknown.tx.claims) > 0:
			w.orphan = true
			s.doubts.runAgain.Add(1)
		default:
			return false
		}
	}
	if pgscale.IsReadOnly(err) {
		s.pool.Reset()
	}
	if w.until.IsZero() {
		w.until = s.wait.Until(now)
	}
	return s.wait.Wait(ctx, now, w.until) == nil
}

// severity is the error's severity in English (the server localizes
// Severity; SeverityUnlocalized is empty before PostgreSQL 9.6).
func severity(e *pgconn.PgError) string {
	if e.SeverityUnlocalized != "" {
		return e.SeverityUnlocalized
	}
	return e.Severity
}
