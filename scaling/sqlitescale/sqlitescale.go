// Package sqlitescale is the SQLite side of package scaling: the same
// Router over one SQLite file, with the single writer connection as the
// primary and the pool of read-only connections on the same WAL file as the
// one replica.
//
// Every reader sees every committed write (WAL readers read the latest
// commit when their transaction starts), so every consistency mode is
// trivially satisfied: the reader pool is InSync and serves strong, causal
// and bounded-staleness reads as well as eventual ones; writes record no
// token; a token a client sends is satisfied at once. The probe is trivial
// (no I/O) and never fails, and errors never eject the reader. What the
// router adds on SQLite is one place for the policy and the metrics (reads
// routed, errors, pool statistics of the writer and the readers).
//
// Package sqliterepo builds its DB this way.
package sqlitescale

import (
	"context"
	"database/sql"
	"errors"
	"sync"

	"github.com/strata-go/strata/scaling"
)

// Router is a router over SQLite pools.
type Router = scaling.Router[*sql.DB]

// New returns a router whose primary is writer, the pool of the single
// writer connection (BEGIN IMMEDIATE), and whose one replica is reader, the
// pool of read-only connections on the same database. Pool sizes are the
// pools' own; cfg.Region only labels the nodes.
func New(ctx context.Context, writer, reader *sql.DB, cfg scaling.Config) (*Router, error) {
	return scaling.New(ctx, cfg, scaling.Driver[*sql.DB](Driver{}),
		scaling.NodeSpec[*sql.DB]{Name: "writer", Region: cfg.Region, Conn: writer},
		scaling.NodeSpec[*sql.DB]{Name: "reader", Region: cfg.Region, Conn: reader, InSync: true})
}

// Driver is the scaling.Driver of SQLite.
type Driver struct{}

// Probe reports the node healthy: the pools are on a local file.
func (Driver) Probe(context.Context, *sql.DB, scaling.Role) (scaling.Status, error) {
	return scaling.Status{}, nil
}

// Fault never blames the node: a failed SQLite read fails on any connection.
func (Driver) Fault(err error) scaling.Fault {
	if err == nil || errors.Is(err, sql.ErrNoRows) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return scaling.FaultNone
	}
	return scaling.FaultQuery
}

// Stats returns the pool's database/sql statistics.
func (Driver) Stats(db *sql.DB) scaling.PoolStats {
	s := db.Stats()
	return scaling.PoolStats{
		MaxConns: int64(s.MaxOpenConnections), TotalConns: int64(s.OpenConnections),
		IdleConns: int64(s.Idle), InUseConns: int64(s.InUse),
		WaitedAcquires: s.WaitCount, WaitTime: s.WaitDuration,
	}
}

// Reset does nothing: SQLite's nodes are never ejected.
func (Driver) Reset(*sql.DB) {}

// Reader routes reads through a router; it implements the sqlc DBTX
// interface of database/sql. Exec goes to the writer. A read is counted in
// flight until its query returns, not until its rows are closed.
//
// Each query is prepared once per pool it is routed to and kept (database/sql
// prepares it again on each connection that runs it, once): parsing is
// otherwise a large share of a point read's cost, and a Reader serves a
// fixed set of queries (sqlc's). Close closes the statements.
type Reader struct {
	r     *Router
	stmts sync.Map // stmtKey -> *sql.Stmt
}

// stmtKey names a query prepared on one pool.
type stmtKey struct {
	db    *sql.DB
	query string
}

// NewReader returns a Reader over r.
func NewReader(r *Router) *Reader { return &Reader{r: r} }

// conn returns the pool for a read with ctx and its node. Read fails only
// when ctx ends while a causal read waits, which InSync readers never make
// it do; the writer then takes the read (without a node) and reports ctx's
// error.
func (q *Reader) conn(ctx context.Context) (*sql.DB, *scaling.Node[*sql.DB]) {
	n, err := q.r.Read(ctx)
	if err != nil {
		return q.r.Primary().Conn(), nil
	}
	return n.Conn(), n
}

// stmt returns query prepared on db, preparing it the first time; nil when
// it cannot be prepared (the query then runs unprepared and reports why).
func (q *Reader) stmt(ctx context.Context, db *sql.DB, query string) *sql.Stmt {
	key := stmtKey{db, query}
	if s, ok := q.stmts.Load(key); ok {
		return s.(*sql.Stmt)
	}
	s, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	if prev, loaded := q.stmts.LoadOrStore(key, s); loaded {
		s.Close()
		return prev.(*sql.Stmt)
	}
	return s
}

// Close closes the prepared statements.
func (q *Reader) Close() error {
	var errs []error
	q.stmts.Range(func(key, s any) bool {
		errs = append(errs, s.(*sql.Stmt).Close())
		q.stmts.Delete(key)
		return true
	})
	return errors.Join(errs...)
}

// done ends a read on n, if any.
func done(n *scaling.Node[*sql.DB], err error) {
	if n != nil {
		n.Done(err)
	}
}

func (q *Reader) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	db, n := q.conn(ctx)
	var rows *sql.Rows
	var err error
	if s := q.stmt(ctx, db, query); s != nil {
		rows, err = s.QueryContext(ctx, args...)
	} else {
		rows, err = db.QueryContext(ctx, query, args...)
	}
	done(n, err)
	return rows, err
}

func (q *Reader) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	db, n := q.conn(ctx)
	var row *sql.Row
	if s := q.stmt(ctx, db, query); s != nil {
		row = s.QueryRowContext(ctx, args...)
	} else {
		row = db.QueryRowContext(ctx, query, args...)
	}
	done(n, row.Err())
	return row
}

func (q *Reader) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	db, n := q.conn(ctx)
	stmt, err := db.PrepareContext(ctx, query)
	done(n, err)
	return stmt, err
}

func (q *Reader) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return q.r.Primary().Conn().ExecContext(ctx, query, args...)
}
