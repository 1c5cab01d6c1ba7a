package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/strata-go/strata/internal/tracing"
)

// setupTracing installs OpenTelemetry's SDK as otel's global
// TracerProvider when OTEL_TRACES_EXPORTER names an exporter, configured
// the standard way, by the OTEL_* environment (autoexport):
//
//   - OTEL_TRACES_EXPORTER: otlp, console (spans as JSON on stdout) or none;
//     unset means none here (the specification's default is otlp: Strata
//     sends nothing anywhere unless told to).
//   - OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL (http/protobuf
//     or grpc), OTEL_EXPORTER_OTLP_HEADERS, ...: where and how otlp sends.
//   - OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG: e.g. parentbased_traceidratio
//     and 0.01 for 1% of the requests that come without a sampled parent
//     (read as the SDK reads them, by tracing.SamplerFromEnv; the SDK is a
//     tracing.Provider, which decides a new trace's sampling before its
//     first span).
//   - OTEL_SERVICE_NAME (default strata), OTEL_RESOURCE_ATTRIBUTES, OTEL_BSP_*.
//
// It also sets the W3C Trace Context and Baggage propagators, so that a
// request's traceparent header is honoured. The returned function flushes
// the spans still buffered and stops the SDK; with tracing off it does
// nothing, and nothing was installed: the instrumented code then makes
// no spans at all.
func setupTracing(ctx context.Context) (shutdown func(context.Context) error, err error) {
	none := func(context.Context) error { return nil }
	if v := strings.TrimSpace(os.Getenv("OTEL_TRACES_EXPORTER")); v == "" || v == "none" {
		return none, nil
	}
	exp, err := autoexport.NewSpanExporter(ctx)
	if err != nil {
		return nil, usageError{fmt.Sprintf("OTEL_TRACES_EXPORTER: %v", err)}
	}
	if autoexport.IsNoneSpanExporter(exp) {
		return none, nil
	}
	// Later sources win: the environment's service name over ours.
	res, err := resource.New(ctx, resource.WithTelemetrySDK(),
		resource.WithAttributes(attribute.String("service.name", "strata"), attribute.String("service.version", Version)),
		resource.WithFromEnv())
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	// The SDK would read the sampler from the environment itself; the
	// Provider needs it in hand, to decide a new trace's sampling before its
	// first span (a request not sampled then makes no span at all).
	sampler, err := tracing.SamplerFromEnv()
	if err != nil {
		otel.Handle(err) // as the SDK does: reported, and the fallback used
	}
	tp := tracing.NewProvider(sampler, sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	return tp.Shutdown, nil
}
