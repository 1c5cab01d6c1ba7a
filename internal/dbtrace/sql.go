package dbtrace

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"

	"go.opentelemetry.io/otel/trace"

	"github.com/strata-go/strata/internal/tracing"
)

// Connector wraps a database/sql driver connector so that every statement
// of its connections run under a recording span has a span of its own
// (system is the db.system.name, e.g. "sqlite"): statements run directly
// or prepared, BEGIN, COMMIT and ROLLBACK. A COMMIT's span is a child of
// the span its transaction began under (database/sql gives Commit no
// context). A query's span lasts until its rows are closed.
//
// The connections it opens must implement the context interfaces
// (driver.ConnBeginTx, driver.ConnPrepareContext, driver.ExecerContext,
// driver.QueryerContext, driver.StmtExecContext, driver.StmtQueryContext;
// modernc.org/sqlite's do). A traced query's rows hide the driver's
// optional driver.RowsColumnType* interfaces (sql.Rows.ColumnTypes then
// says less; scanning is the same).
func Connector(c driver.Connector, system string) driver.Connector {
	return &connector{Connector: c, system: system}
}

// errNoContext: the wrapped driver lacks a context interface.
var errNoContext = errors.New("dbtrace: the driver does not implement the context interfaces")

type connector struct {
	driver.Connector
	system string
}

func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &conn{Conn: dc, system: c.system}, nil
}

// conn is one traced connection.
type conn struct {
	driver.Conn
	system string
}

var (
	_ driver.ConnBeginTx        = (*conn)(nil)
	_ driver.ConnPrepareContext = (*conn)(nil)
	_ driver.ExecerContext      = (*conn)(nil)
	_ driver.QueryerContext     = (*conn)(nil)
	_ driver.Pinger             = (*conn)(nil)
	_ driver.SessionResetter    = (*conn)(nil)
	_ driver.Validator          = (*conn)(nil)
	_ driver.NamedValueChecker  = (*conn)(nil)
	_ driver.StmtExecContext    = (*stmt)(nil)
	_ driver.StmtQueryContext   = (*stmt)(nil)
	_ driver.RowsNextResultSet  = (*rows)(nil)
)

func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	b, ok := c.Conn.(driver.ConnBeginTx)
	if !ok {
		return nil, errNoContext
	}
	if !recording(ctx) {
		return b.BeginTx(ctx, opts)
	}
	_, span := start(ctx, c.system, "begin")
	t, err := b.BeginTx(ctx, opts)
	tracing.End(span, err)
	if err != nil {
		return nil, err
	}
	return &tx{Tx: t, ctx: ctx, system: c.system}, nil
}

func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	p, ok := c.Conn.(driver.ConnPrepareContext)
	if !ok {
		return nil, errNoContext
	}
	s, err := p.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	return &stmt{Stmt: s, name: Name(query), system: c.system}, nil
}

func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	e, ok := c.Conn.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip // database/sql prepares the statement instead
	}
	if !recording(ctx) {
		return e.ExecContext(ctx, query, args)
	}
	return tracedExec(ctx, c.system, Name(query), func(ctx context.Context) (driver.Result, error) { return e.ExecContext(ctx, query, args) })
}

func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := c.Conn.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	if !recording(ctx) {
		return q.QueryContext(ctx, query, args)
	}
	return tracedQuery(ctx, c.system, Name(query), func(ctx context.Context) (driver.Rows, error) { return q.QueryContext(ctx, query, args) })
}

func (c *conn) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *conn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *conn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *conn) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := c.Conn.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip // database/sql's default conversion
}

// stmt is a prepared statement of a traced connection.
type stmt struct {
	driver.Stmt
	name, system string
}

func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	e, ok := s.Stmt.(driver.StmtExecContext)
	if !ok {
		return nil, errNoContext
	}
	if !recording(ctx) {
		return e.ExecContext(ctx, args)
	}
	return tracedExec(ctx, s.system, s.name, func(ctx context.Context) (driver.Result, error) { return e.ExecContext(ctx, args) })
}

func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := s.Stmt.(driver.StmtQueryContext)
	if !ok {
		return nil, errNoContext
	}
	if !recording(ctx) {
		return q.QueryContext(ctx, args)
	}
	return tracedQuery(ctx, s.system, s.name, func(ctx context.Context) (driver.Rows, error) { return q.QueryContext(ctx, args) })
}

// tracedExec runs one statement under a span of its own (ctx's span
// records: the callers make sure, so that the closure is made only then).
func tracedExec(ctx context.Context, system, name string, run func(context.Context) (driver.Result, error)) (driver.Result, error) {
	ctx, span := start(ctx, system, name)
	res, err := run(ctx)
	tracing.End(span, err)
	return res, err
}

// tracedQuery runs one query under a span of its own, which ends when the
// rows are closed (ctx's span records).
func tracedQuery(ctx context.Context, system, name string, run func(context.Context) (driver.Rows, error)) (driver.Rows, error) {
	ctx, span := start(ctx, system, name)
	r, err := run(ctx)
	if err != nil {
		tracing.End(span, err)
		return nil, err
	}
	return &rows{Rows: r, span: span}, nil
}

// rows are a traced query's rows: closing them ends its span.
type rows struct {
	driver.Rows
	span trace.Span
	err  error // the first error of Next but io.EOF
}

func (r *rows) Next(dest []driver.Value) error {
	err := r.Rows.Next(dest)
	if err != nil && err != io.EOF && r.err == nil {
		r.err = err
	}
	return err
}

func (r *rows) Close() error {
	err := r.Rows.Close()
	tracing.End(r.span, errors.Join(r.err, err))
	return err
}

func (r *rows) HasNextResultSet() bool {
	n, ok := r.Rows.(driver.RowsNextResultSet)
	return ok && n.HasNextResultSet()
}

func (r *rows) NextResultSet() error {
	if n, ok := r.Rows.(driver.RowsNextResultSet); ok {
		return n.NextResultSet()
	}
	return io.EOF
}

// tx is a transaction begun under a recording span: its COMMIT or ROLLBACK
// gets a span there.
type tx struct {
	driver.Tx
	ctx    context.Context
	system string
}

func (t *tx) Commit() error {
	_, span := start(t.ctx, t.system, "commit")
	return tracing.End(span, t.Tx.Commit())
}

func (t *tx) Rollback() error {
	_, span := start(t.ctx, t.system, "rollback")
	return tracing.End(span, t.Tx.Rollback())
}
