package pgscale

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/strata-go/strata/scaling"
)

// maxAttempts bounds the nodes one read is tried on.
const maxAttempts = 3

// node is a node of a Cluster's router.
type node = scaling.Node[*pgxpool.Pool]

// QueryRow runs a read on the node the router picks for ctx when Scan is
// called, and retries it on another node if that one is unreachable.
func (c *Cluster) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return &routedRow{c: c, ctx: ctx, sql: sql, args: args}
}

type routedRow struct {
	c    *Cluster
	ctx  context.Context
	sql  string
	args []any
}

func (r *routedRow) Scan(dest ...any) error {
	var w waiting
	for attempt := 1; ; attempt++ {
		n, err := r.c.router.Read(r.ctx)
		if err != nil {
			return err
		}
		err = n.Conn().QueryRow(r.ctx, r.sql, r.args...).Scan(dest...)
		retry := n.Done(err)
		if r.c.waitPrimary(r.ctx, n, err, &w) {
			attempt = 0
			continue
		}
		if !retry || attempt == maxAttempts {
			return err
		}
	}
}

// waiting is a routed read's wait for a primary: when it ends, zero until
// the primary first failed the read.
type waiting struct{ until time.Time }

// waitPrimary reports whether a read that failed with err on n should run
// again because it was the primary's and it could not serve (PrimaryLost),
// after waiting for a writable primary (see PrimaryWait), within the
// read's wait w.
func (c *Cluster) waitPrimary(ctx context.Context, n *node, err error, w *waiting) bool {
	if c.wait == nil || n.Role() != scaling.RolePrimary || !PrimaryLost(err) {
		return false
	}
	now := time.Now()
	if w.until.IsZero() {
		w.until = c.wait.Until(now)
	}
	return c.wait.Wait(ctx, now, w.until) == nil
}

// Query runs a read on the node the router picks for ctx, and retries it on
// another node if that one is unreachable, as long as no row has arrived.
func (c *Cluster) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	r := &routedRows{c: c, ctx: ctx, sql: sql, args: args}
	if err := r.query(); err != nil {
		return r.Rows, err
	}
	return r, nil
}

// Exec runs a statement on the primary (see Writer).
func (c *Cluster) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return c.Writer().Exec(ctx, sql, args...)
}

// routedRows are the rows of a routed read. Done is called on the node
// exactly once: when the rows end or are closed, or when the query fails.
type routedRows struct {
	pgx.Rows
	c       *Cluster
	ctx     context.Context
	sql     string
	args    []any
	n       *node // the node running the query; nil once Done
	attempt int
	seen    bool // a row arrived: no more retries
	wait    waiting
}

// query starts the read on a node, trying the next one while the query
// fails at once on an unreachable node.
func (r *routedRows) query() error {
	for {
		r.attempt++
		n, err := r.c.router.Read(r.ctx)
		if err != nil {
			r.Rows = failedRows{err}
			return err
		}
		rows, err := n.Conn().Query(r.ctx, r.sql, r.args...)
		r.Rows = rows
		if err == nil {
			r.n = n
			return nil
		}
		retry := n.Done(err)
		if r.c.waitPrimary(r.ctx, n, err, &r.wait) {
			r.attempt = 0
			continue
		}
		if !retry || r.attempt >= maxAttempts {
			return err
		}
	}
}

func (r *routedRows) Next() bool {
	for {
		if r.Rows.Next() {
			r.seen = true
			return true
		}
		n := r.n
		if n == nil {
			return false
		}
		r.n = nil
		err := r.Rows.Err()
		retry := n.Done(err)
		if !r.seen && r.c.waitPrimary(r.ctx, n, err, &r.wait) {
			r.attempt = 0
		} else if !retry || r.seen || r.attempt >= maxAttempts {
			return false
		}
		if r.query() != nil {
			return false // r.Rows holds the error
		}
	}
}

func (r *routedRows) Close() {
	r.Rows.Close()
	if n := r.n; n != nil {
		r.n = nil
		n.Done(r.Rows.Err())
	}
}

// failedRows are the rows of a read that could not start.
type failedRows struct{ err error }

func (f failedRows) Close()                                       {}
func (f failedRows) Err() error                                   { return f.err }
func (f failedRows) CommandTag() pgconn.CommandTag                { return pgconn.CommandTag{} }
func (f failedRows) FieldDescriptions() []pgconn.FieldDescription { return nil }
func (f failedRows) Next() bool                                   { return false }
func (f failedRows) Scan(...any) error                            { return f.err }
func (f failedRows) Values() ([]any, error)                       { return nil, f.err }
func (f failedRows) RawValues() [][]byte                          { return nil }
func (f failedRows) Conn() *pgx.Conn                              { return nil }
func (f failedRows) TypeMap() *pgtype.Map                         { return nil }

// Writer runs statements on the primary, outside transactions, and after
// each that succeeds records a consistency token when the context has a
// recorder (scaling.WithTokenRecorder): one more round trip per write, and
// only then. It implements the sqlc DBTX interface.
type Writer struct{ c *Cluster }

// Writer returns the cluster's Writer.
func (c *Cluster) Writer() Writer { return Writer{c} }

func (w Writer) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := w.c.primary.Exec(ctx, sql, args...)
	if err == nil {
		w.c.RecordToken(ctx)
	}
	return tag, err
}

func (w Writer) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	row := w.c.primary.QueryRow(ctx, sql, args...)
	if !scaling.Recording(ctx) {
		return row
	}
	return recordingRow{row, w.c, ctx}
}

func (w Writer) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	rows, err := w.c.primary.Query(ctx, sql, args...)
	if err != nil || !scaling.Recording(ctx) {
		return rows, err
	}
	return &recordingRows{Rows: rows, c: w.c, ctx: ctx}, nil
}

// recordingRow records a token once its statement succeeded.
type recordingRow struct {
	pgx.Row
	c   *Cluster
	ctx context.Context
}

func (r recordingRow) Scan(dest ...any) error {
	err := r.Row.Scan(dest...)
	if err == nil {
		r.c.RecordToken(r.ctx)
	}
	return err
}

// recordingRows record a token once their statement completed without error.
type recordingRows struct {
	pgx.Rows
	c    *Cluster
	ctx  context.Context
	done bool
}

func (r *recordingRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.finish()
	return false
}

func (r *recordingRows) Close() {
	r.Rows.Close()
	r.finish()
}

func (r *recordingRows) finish() {
	if !r.done {
		r.done = true
		if r.Rows.Err() == nil {
			r.c.RecordToken(r.ctx)
		}
	}
}
