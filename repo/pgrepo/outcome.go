package pgrepo

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	pgdb "github.com/strata-go/strata/db/pg"
)

// queuedEvent names an audit event a transaction queued: it commits with
// the transaction or not at all, so it marks whether the transaction
// committed.
type queuedEvent struct {
	org uuid.UUID
	id  uuid.UUID // a UUIDv7, made by the client: no other event has it
	at  time.Time // when it occurred, in microseconds, as stored
}

// eventSlack widens the time window in which resolve looks for a sealed
// event: the window's bounds come from blocks of the chain, and an event
// is stored at the microsecond.
const eventSlack = time.Millisecond

// resolve reports whether the transaction that queued ev committed, on a
// connection to the writable primary. It asks in a transaction that it
// rolls back: first whether ev is in the queue, with a placeholder insert
// under ev's key that waits for the transaction if it is still running
// (the server may not have noticed that its client left); then, when the
// placeholder went in, whether ev is sealed already, in the chain around
// its time. Either way the answer is final: the transaction has ended, and
// the event moves from the queue into the chain in one statement.
//
// The answer is what the primary holds. A COMMIT cut short while it waited
// for a synchronous standby is durable on the old primary alone, until the
// standby has it; a primary that shuts down cleanly (a switchover) sends it
// first. One that crashed before sending it took the commit along, and the
// new primary rightly answers that it did not happen.
func (s *Store) resolve(ctx context.Context, ev *queuedEvent) (committed bool, err error) {
	tx, err := begin(ctx, s.pool)
	if err != nil {
		return false, mapErr(err, "transaction")
	}
	defer tx.rollback(ctx) // the placeholder goes
	committed, err = eventCommitted(ctx, pgdb.New(tx), ev)
	if err != nil {
		return false, mapErr(err, "transaction")
	}
	return committed, nil
}

// eventCommitted is resolve's questions, asked in its transaction.
func eventCommitted(ctx context.Context, q *pgdb.Queries, ev *queuedEvent) (bool, error) {
	queued, err := q.ProbePendingAuditEvent(ctx, pgdb.ProbePendingAuditEventParams{OrgID: ev.org, ID: ev.id})
	if err != nil || queued {
		return queued, err
	}
	span, err := q.AuditTimeSpan(ctx, pgdb.AuditTimeSpanParams{OrgID: ev.org, Since: ev.at.Add(-eventSlack), Until: ev.at.Add(eventSlack)})
	if err != nil || span.Hi == 0 {
		return false, err
	}
	return q.AuditEventSealed(ctx, pgdb.AuditEventSealedParams{OrgID: ev.org, Lo: span.Lo, Hi: span.Hi, ID: ev.id})
}

// doubts counts the transactions whose COMMIT went unanswered, by how InTx
// resolved them; it is the prometheus.Collector of
// strata_db_commits_in_doubt_total.
type doubts struct {
	committed  atomic.Uint64 // found committed: success
	runAgain   atomic.Uint64 // found not committed, or keyed: run again
	unresolved atomic.Uint64 // no event and no key, or no primary to ask: 503
}

var doubtsDesc = prometheus.NewDesc("strata_db_commits_in_doubt_total",
	"Transactions whose COMMIT went unanswered (a broken connection, a primary shut down while the commit waited for its standby), by resolution: "+
		"committed (found committed on the primary), run_again (found not committed, or keyed, and run again), unresolved (failed with 503).",
	[]string{"resolution"}, nil)

func (d *doubts) Describe(ch chan<- *prometheus.Desc) { ch <- doubtsDesc }

func (d *doubts) Collect(ch chan<- prometheus.Metric) {
	for _, c := range []struct {
		name string
		n    *atomic.Uint64
	}{{"committed", &d.committed}, {"run_again", &d.runAgain}, {"unresolved", &d.unresolved}} {
		ch <- prometheus.MustNewConstMetric(doubtsDesc, prometheus.CounterValue, float64(c.n.Load()), c.name)
	}
}
