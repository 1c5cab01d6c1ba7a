package dbtrace

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/strata-go/strata/internal/tracing"
)

// postgres is the db.system.name of PostgreSQL.
const postgres = "postgresql"

// PgxTracer is a pgx.QueryTracer, pgx.BatchTracer and pgx.CopyFromTracer:
// a span per statement (a query, each statement of a pipeline, a COPY).
// Set it as a pool's ConnConfig.Tracer.
type PgxTracer struct{}

var (
	_ pgx.QueryTracer    = PgxTracer{}
	_ pgx.BatchTracer    = PgxTracer{}
	_ pgx.CopyFromTracer = PgxTracer{}
)

// TraceQueryStart starts the statement's span.
func (PgxTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if !recording(ctx) {
		return ctx
	}
	ctx, _ = start(ctx, postgres, Name(data.SQL))
	return ctx
}

// TraceQueryEnd ends it.
func (PgxTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	endOwn(ctx, data.Err)
}

// endOwn ends the span TraceQueryStart or TraceCopyFromStart put in ctx;
// when they made none, ctx's span is the caller's and does not record.
func endOwn(ctx context.Context, err error) {
	if tracing.Off() {
		return
	}
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		tracing.End(span, err)
	}
}

// pipeline is a batch being sent: its span, and when its last statement's
// answer arrived.
type pipeline struct {
	span trace.Span
	last time.Time
}

type pipelineKey struct{}

// TraceBatchStart starts a "pipeline" span for the batch.
func (PgxTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	if !recording(ctx) {
		return ctx
	}
	ctx, span := start(ctx, postgres, "pipeline")
	span.SetAttributes(attribute.Int("db.operation.batch.size", data.Batch.Len()))
	return context.WithValue(ctx, pipelineKey{}, &pipeline{span: span, last: time.Now()})
}

// TraceBatchQuery records one statement of the batch as a child of its
// pipeline, from the previous statement's answer to this one's.
func (PgxTracer) TraceBatchQuery(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchQueryData) {
	p, ok := pipelineOf(ctx)
	if !ok {
		return
	}
	now := time.Now()
	_, span := start(ctx, postgres, Name(data.SQL), trace.WithTimestamp(p.last))
	p.last = now
	if data.Err != nil {
		tracing.End(span, data.Err) // a failure is recorded now; the span ends then too
		return
	}
	span.End(trace.WithTimestamp(now))
}

// TraceBatchEnd ends the pipeline's span.
func (PgxTracer) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchEndData) {
	if p, ok := pipelineOf(ctx); ok {
		tracing.End(p.span, data.Err)
	}
}

// pipelineOf returns the pipeline TraceBatchStart put in ctx, if any.
func pipelineOf(ctx context.Context) (*pipeline, bool) {
	if tracing.Off() {
		return nil, false
	}
	p, ok := ctx.Value(pipelineKey{}).(*pipeline)
	return p, ok
}

// TraceCopyFromStart starts a "copy" span naming the table.
func (PgxTracer) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceCopyFromStartData) context.Context {
	if !recording(ctx) {
		return ctx
	}
	ctx, span := start(ctx, postgres, "copy")
	span.SetAttributes(attribute.String("db.collection.name", data.TableName.Sanitize()))
	return ctx
}

// TraceCopyFromEnd ends it.
func (PgxTracer) TraceCopyFromEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceCopyFromEndData) {
	endOwn(ctx, data.Err)
}
