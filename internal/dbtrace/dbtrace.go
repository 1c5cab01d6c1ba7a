// Package dbtrace makes an OpenTelemetry span for every database statement
// that runs under a recording span, on both dialects: a pgx tracer
// (PgxTracer, for PostgreSQL pools) and a database/sql connector wrapper
// (Connector, for SQLite). A span is named by the statement's sqlc name
// ("CreateProject", read from the "-- name: CreateProject :one" line sqlc
// puts at the start of each query) or, for a statement written by hand, by
// its first word in lower case ("begin", "commit", "savepoint"). Spans carry
// db.system.name and db.operation.name, never the statement's arguments.
//
//	cfg.ConnConfig.Tracer = dbtrace.PgxTracer{}
//	db := sql.OpenDB(dbtrace.Connector(connector, "sqlite"))
//
// With tracing off (no TracerProvider installed) a statement costs an
// atomic load more than without them; in a request not sampled, a context
// lookup.
package dbtrace

import (
	"context"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/strata-go/strata/internal/tracing"
)

var tracer = otel.Tracer("github.com/strata-go/strata/internal/dbtrace")

// Name returns a statement's span name: its sqlc query name, or its first
// word in lower case.
func Name(sql string) string {
	sql = strings.TrimLeft(sql, " \t\r\n")
	if rest, ok := strings.CutPrefix(sql, "-- name: "); ok {
		if name, _, ok := strings.Cut(rest, " "); ok {
			return name
		}
	}
	word := sql
	if i := strings.IndexAny(sql, " \t\r\n;("); i >= 0 {
		word = sql[:i]
	}
	if word == "" {
		return "statement"
	}
	return strings.ToLower(word)
}

// recording reports whether ctx's span records: only then is a statement
// worth a span.
func recording(ctx context.Context) bool { return tracing.Recording(ctx) }

// start starts the span of one statement of system ("postgresql",
// "sqlite") under ctx's span, which must be recording.
func start(ctx context.Context, system, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	opts = append(opts, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.String("db.system.name", system), attribute.String("db.operation.name", name)))
	return tracer.Start(ctx, name, opts...)
}
