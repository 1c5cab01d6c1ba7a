package sqliterepo

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	sqlitedb "github.com/strata-go/strata/db/sqlite"
	"github.com/strata-go/strata/repo"
)

// maxGroup bounds the transactions committed together: the latency one
// waits for the others, and how many run again should the group fail.
const maxGroup = 32

// writer hands the one writer connection to transactions in turn, first
// come, first served, and commits them in groups.
//
// A transaction that finds no group open begins one (BEGIN IMMEDIATE) and
// runs in it as its first member. When it is done and other transactions
// are waiting for their turn, it leaves the group open for them: each runs
// in it under a savepoint (rolled back to if it fails, released if not), and
// the last one, finding nobody waiting, commits the group. Every member
// waits for that COMMIT before InTx returns, so a transaction reported
// committed is durable, and a failed member's error (which may have come
// from reading the others' writes) is reported only once they committed.
// Should the group fail (its COMMIT, or a member's error that ends the
// whole transaction, like SQLITE_FULL or an interrupted write), every member
// gets a retryable error and InTx runs it again.
//
// One COMMIT for many transactions is what makes writes from many
// goroutines fast: BEGIN and COMMIT (WAL locks and the WAL write) are most
// of a small write transaction's cost. A lone writer pays nothing for it:
// a group's first member runs without a savepoint.
//
// database/sql hands a freed connection to a random waiter, which under
// many concurrent writers gives some of them very long waits: hence the
// queue of its own.
type writer struct {
	mu    sync.Mutex
	busy  bool        // a transaction holds the turn
	queue []chan bool // the waiting transactions' turn signals, in order
	open  *group      // the group left open for the next in turn; turn holder only
	// chains caches the audit chain heads; turn holder only.
	chains chains
	// commits counts the groups committed, members the transactions in
	// them: their ratio is the mean group size.
	commits, members atomic.Uint64
	// staleHeads counts the appends the primary key refused against a
	// cached chain head, read again from the database (see chains).
	staleHeads atomic.Uint64
}

// group is one physical transaction on the writer connection and the
// transactions that ran in it.
type group struct {
	tx      *sql.Tx
	q       *sqlitedb.Queries
	members int  // transactions run in the group, failed or not
	broken  bool // the transaction can no longer commit
	// before holds, for each org whose audit chain the running member
	// changed, the chain as it was before (nil: not cached), to undo it.
	before map[uuid.UUID]*chainState
	// linked reports that a member linked audit events into their chains:
	// once the group commits, the sealer is woken to anchor them.
	linked bool
	done   chan struct{}
	err    error // the COMMIT's outcome, once done is closed
}

// errGroupFailed is what the members of a group that could not commit get.
var errGroupFailed = &repo.Error{Kind: repo.ErrConflict, Retryable: true,
	Message: "transaction rolled back with the others committed together, try again"}

// acquire waits for the turn. When ctx ends first it returns ctx's error,
// and owned reports that the turn was handed over meanwhile: the caller
// holds it all the same and must end it.
func (w *writer) acquire(ctx context.Context) (owned bool, err error) {
	w.mu.Lock()
	if !w.busy {
		w.busy = true
		w.mu.Unlock()
		return true, nil
	}
	turn := make(chan bool, 1)
	w.queue = append(w.queue, turn)
	w.mu.Unlock()
	select {
	case <-turn:
		return true, nil
	case <-ctx.Done():
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if i := slices.Index(w.queue, turn); i >= 0 {
		w.queue = slices.Delete(w.queue, i, i+1)
		return false, ctx.Err()
	}
	return true, ctx.Err() // handed over just now
}

// endTurn ends the turn holder's turn: it leaves the open group open for the
// next waiter, or, when nobody waits (or the group is full or broken),
// finishes the group first, and hands the turn on.
func (db *DB) endTurn() {
	w := &db.w
	w.mu.Lock()
	if g := w.open; g != nil && !g.broken && g.members < maxGroup && len(w.queue) > 0 {
		w.handOn()
		w.mu.Unlock()
		return
	}
	w.mu.Unlock()
	if g := w.open; g != nil {
		w.open = nil
		if g.finish(&w.chains) {
			w.commits.Add(1)
			w.members.Add(uint64(g.members))
			if g.linked {
				w.chains.waiting.Store(true)
				select {
				case db.queued <- struct{}{}:
				default: // the sealer has a wake-up waiting already
				}
			}
		}
	}
	w.mu.Lock()
	if len(w.queue) > 0 {
		w.handOn()
	} else {
		w.busy = false
	}
	w.mu.Unlock()
}

// handOn gives the turn to the first waiter. w.mu must be held.
func (w *writer) handOn() {
	next := w.queue[0]
	w.queue = slices.Delete(w.queue, 0, 1)
	next <- true
}

// finish commits the group, or rolls it back when it is broken, releases
// its members and reports whether it committed.
func (g *group) finish(c *chains) bool {
	defer close(g.done)
	if g.broken {
		_ = g.tx.Rollback()
		c.forget()
		g.err = errGroupFailed
		return false
	}
	if err := g.tx.Commit(); err != nil {
		c.forget()
		g.err = mapErr(err, "commit")
		return false
	}
	return true
}

// registerMetrics registers the writer's counters with reg, read at each
// scrape.
func (w *writer) registerMetrics(reg prometheus.Registerer) error {
	counter := func(c *atomic.Uint64, name, help string) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(c.Load()) })
	}
	return errors.Join(
		reg.Register(counter(&w.commits, "strata_sqlite_commits_total",
			"Write transactions committed on the writer connection, each a group of one or more.")),
		reg.Register(counter(&w.members, "strata_sqlite_committed_transactions_total",
			"Transactions (InTx calls) in the committed groups.")),
		reg.Register(counter(&w.staleHeads, "strata_sqlite_audit_stale_heads_total",
			"Audit appends whose cached chain end was stale (another process appended) and that were linked again.")),
	)
}

// savepoint runs a statement that manages the member's savepoint; when it
// fails the group can no longer commit.
func (g *group) savepoint(stmt string) {
	if g.broken {
		return
	}
	if _, err := g.tx.ExecContext(context.Background(), stmt); err != nil {
		g.broken = true
	}
}

// runTx is one attempt of InTx: fn as a member of the open group or as the
// first of a new one (see writer).
func (db *DB) runTx(ctx context.Context, fn func(tx repo.Store) error) error {
	if owned, err := db.w.acquire(ctx); err != nil {
		if owned {
			db.endTurn()
		}
		return mapErr(err, "begin transaction")
	}
	g := db.w.open
	first := g == nil
	if first {
		db.prepare(ctx)
		// The group outlives this transaction's context: database/sql would
		// roll it back when that ends.
		tx, err := db.writer.BeginTx(context.WithoutCancel(ctx), nil)
		if err != nil {
			db.endTurn()
			return mapErr(err, "begin transaction")
		}
		g = &group{tx: tx, q: db.txQueries(tx), done: make(chan struct{})}
		db.w.open = g
	} else if g.savepoint("SAVEPOINT member"); g.broken {
		db.endTurn()
		<-g.done
		return g.err
	}
	g.members++
	g.before = nil
	// undo takes back what fn did: all of the group when fn was its first
	// member (nobody else is in it yet), else down to fn's savepoint.
	undo := func() {
		g.undo(&db.w.chains)
		if first {
			g.broken = true
			return
		}
		g.savepoint("ROLLBACK TO member")
		g.savepoint("RELEASE member")
	}
	returned := false
	defer func() {
		if !returned { // a panic or runtime.Goexit: undo, and let it go on
			undo()
			db.endTurn()
		}
	}()
	err := fn(&store{db: db, inTx: true, read: g.q, write: g.q, g: g})
	returned = true
	if err != nil {
		undo()
	} else if !first {
		g.savepoint("RELEASE member")
	}
	db.endTurn()
	<-g.done
	switch {
	case first && err != nil:
		return err // the group was this transaction alone
	case g.err != nil:
		return g.err
	}
	return err
}
