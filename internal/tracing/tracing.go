// Package tracing holds what Strata's packages share to make OpenTelemetry
// spans cheaply: a child span is made only under a span that records, so
// that with tracing off (no TracerProvider installed) an instrumented call
// costs an atomic load, and in a request not sampled a context lookup.
//
//	var tracer = otel.Tracer("github.com/strata-go/strata/service")
//
//	ctx, span := tracing.Child(ctx, tracer, "service.Authenticate")
//	defer span.End()
//	if span.IsRecording() {
//		span.SetAttributes(attribute.String("strata.org", slug))
//	}
//
// Root spans (one per HTTP request) are the HTTP layer's, started with
// Root; the binary installs the SDK, from the OTEL_* environment, as otel's
// global TracerProvider (see cmd/strata), as a Provider: a new trace's
// sampling is then decided before its first span, and a request whose
// trace is not sampled makes no span at all.
package tracing

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Off reports whether no TracerProvider has been installed
// (otel.SetTracerProvider never called): otel's default makes no spans,
// so instrumented code may skip every step of tracing, the context
// lookups included. It costs an atomic load.
func Off() bool { return otel.GetTracerProvider() == defaultProvider }

// defaultProvider is otel's global TracerProvider before any is installed.
var defaultProvider = otel.GetTracerProvider()

// Recording reports whether ctx's span records (so that a child of it
// would): false at once when tracing is Off.
func Recording(ctx context.Context) bool {
	return !Off() && trace.SpanFromContext(ctx).IsRecording()
}

// Child starts a span named name as a child of ctx's span when that one is
// recording; otherwise it returns ctx and a span that does nothing.
func Child(ctx context.Context, tracer trace.Tracer, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if !Recording(ctx) {
		return ctx, None
	}
	return tracer.Start(ctx, name, opts...)
}

// None is a span that records nothing, made once: a noop.Span turned into
// a trace.Span at each call would allocate.
var None trace.Span = noop.Span{}

// End records err on span, when there is one, as the span's error status
// and an exception event, then ends the span. It returns err, so that a
// call can end with `return tracing.End(span, err)`.
func End(span trace.Span, err error) error {
	if err != nil && span.IsRecording() {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
	return err
}
