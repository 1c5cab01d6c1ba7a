// Package tracing holds what Strata's packages share to make OpenTelemetry
// spans cheaply: a child span is made only under a span that records, so
// that with tracing off (no SDK installed) or a request not sampled, an
// instrumented call costs one context lookup.
//
//	var tracer = otel.Tracer("github.com/strata-go/strata/service")
//
//	ctx, span := tracing.Child(ctx, tracer, "service.Authenticate")
//	defer span.End()
//	if span.IsRecording() {
//		span.SetAttributes(attribute.String("strata.org", slug))
//	}
//
// Root spans (one per HTTP request) are the HTTP layer's; the binary
// installs the SDK, from the OTEL_* environment, as otel's global
// TracerProvider (see cmd/strata).
package tracing

import (
	"context"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Child starts a span named name as a child of ctx's span when that one is
// recording; otherwise it returns ctx and a span that does nothing.
func Child(ctx context.Context, tracer trace.Tracer, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if !trace.SpanFromContext(ctx).IsRecording() {
		return ctx, noop.Span{}
	}
	return tracer.Start(ctx, name, opts...)
}

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
