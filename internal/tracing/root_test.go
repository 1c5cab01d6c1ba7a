package tracing_test

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/strata-go/strata/internal/tracing"
)

var serverKind = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)}

// install makes a Provider sampling as sampler, recording the spans that
// end, otel's global TracerProvider (Root asks that one) for the test.
func install(t *testing.T, sampler sdktrace.Sampler) (*tracing.Provider, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	p := tracing.NewProvider(sampler, sdktrace.WithSpanProcessor(rec))
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(p)
	t.Cleanup(func() { otel.SetTracerProvider(prev); p.Shutdown(context.Background()) })
	return p, rec
}

// TestRootDecidesOnce starts 2,000 request spans with Root at 50%
// sampling: the traces not sampled get no span at all (None, the context
// unchanged), the sampled ones a recorded span each, and each recorded
// span's trace is one the sampler samples, i.e. the ID the decision was
// made on is the one the span took (drawing another would sample only
// half of them, and a quarter of the requests).
func TestRootDecidesOnce(t *testing.T) {
	ratio := sdktrace.TraceIDRatioBased(0.5)
	p, rec := install(t, sdktrace.ParentBased(ratio))
	tracer := p.Tracer("test")
	ctx := context.Background()
	started := 0
	for range 2000 {
		sctx, span := tracing.Root(ctx, tracer, "GET", serverKind...)
		if !span.IsRecording() {
			// The SDK's span that records nothing has a trace ID; None none.
			if span.SpanContext().IsValid() || sctx != ctx {
				t.Fatalf("a trace not sampled got a span %T (%v) or a context of its own", span, span.SpanContext())
			}
			continue
		}
		started++
		if !span.SpanContext().IsSampled() || trace.SpanFromContext(sctx) != span {
			t.Fatalf("a recording span that is not sampled, or not in its context")
		}
		span.End()
	}
	ended := rec.Ended()
	if len(ended) != started || started < 800 || started > 1200 {
		t.Fatalf("%d spans recorded, %d started by Root, of 2,000 at 50%%", len(ended), started)
	}
	for _, s := range ended {
		res := ratio.ShouldSample(sdktrace.SamplingParameters{ParentContext: ctx, TraceID: s.SpanContext().TraceID()})
		if res.Decision != sdktrace.RecordAndSample {
			t.Fatalf("span %s in trace %s, which the sampler does not sample: its ID is not the one decided on",
				s.Name(), s.SpanContext().TraceID())
		}
		if s.Parent().IsValid() || s.SpanKind() != trace.SpanKindServer {
			t.Fatalf("span %s: parent %v, kind %v", s.Name(), s.Parent(), s.SpanKind())
		}
	}

	// The chosen ID is the first root's: a new root started under the
	// request's context is a trace of its own.
	for {
		sctx, span := tracing.Root(ctx, tracer, "GET", serverKind...)
		if !span.IsRecording() {
			continue
		}
		_, again := tracer.Start(sctx, "again", trace.WithNewRoot())
		if again.SpanContext().TraceID() == span.SpanContext().TraceID() {
			t.Fatal("a new root under a request's span took the request's trace ID")
		}
		break
	}
}

// TestRootUnderCallersTrace: a request with trace context is the SDK's to
// sample, and keeps the caller's trace ID when it is not sampled (the
// access log shows it).
func TestRootUnderCallersTrace(t *testing.T) {
	p, _ := install(t, sdktrace.ParentBased(sdktrace.NeverSample()))
	tracer := p.Tracer("test")
	for _, flags := range []trace.TraceFlags{0, trace.FlagsSampled} {
		caller := trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: trace.TraceID{1, 2, 3}, SpanID: trace.SpanID{4, 5}, TraceFlags: flags, Remote: true})
		_, span := tracing.Root(trace.ContextWithRemoteSpanContext(context.Background(), caller), tracer, "GET", serverKind...)
		if span.SpanContext().TraceID() != caller.TraceID() || span.IsRecording() != caller.IsSampled() {
			t.Errorf("caller's flags %v: span in trace %s, recording %v", flags, span.SpanContext().TraceID(), span.IsRecording())
		}
		span.End()
	}
}

// TestRootNotSampledAllocatesNothing: a request whose new trace is not
// sampled costs no allocation for its span (the SDK's span that records
// nothing, and its context, cost two or three).
func TestRootNotSampledAllocatesNothing(t *testing.T) {
	p, _ := install(t, sdktrace.ParentBased(sdktrace.NeverSample()))
	tracer := p.Tracer("test")
	ctx := context.Background()
	if n := testing.AllocsPerRun(1000, func() {
		_, span := tracing.Root(ctx, tracer, "GET", serverKind...)
		span.End()
	}); n != 0 {
		t.Errorf("%v allocations per request not sampled, want 0", n)
	}
}

// fixedIDs gives every new trace the same ID.
type fixedIDs struct{ id trace.TraceID }

func (f fixedIDs) NewIDs(context.Context) (trace.TraceID, trace.SpanID) { return f.id, trace.SpanID{1} }

func (fixedIDs) NewSpanID(context.Context, trace.TraceID) trace.SpanID { return trace.SpanID{2} }

// TestSamplerFromEnv checks that SamplerFromEnv decides as the SDK does
// when it reads the same OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG
// itself, for new traces and under remote parents sampled or not, and
// reports the settings the SDK reports.
func TestSamplerFromEnv(t *testing.T) {
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(error) {})) // the SDK's reports of the bad settings
	for _, c := range []struct {
		sampler, arg string
		bad          bool
	}{
		{"", "", false}, {"always_on", "", false}, {"always_off", "", false},
		{"traceidratio", "0.25", false}, {"traceidratio", "", false}, {" TraceIDRatio ", "0.75", false},
		{"parentbased_always_on", "", false}, {"parentbased_always_off", "", false},
		{"parentbased_traceidratio", "0.25", false}, {"parentbased_traceidratio", "", false},
		{"parentbased_traceidratio", "x", true}, {"traceidratio", "-1", true}, {"traceidratio", "2", true},
		{"xray", "", true},
	} {
		t.Setenv("OTEL_TRACES_SAMPLER", c.sampler)
		t.Setenv("OTEL_TRACES_SAMPLER_ARG", c.arg)
		ours, err := tracing.SamplerFromEnv()
		if (err != nil) != c.bad {
			t.Errorf("%q %q: error %v, want one: %v", c.sampler, c.arg, err, c.bad)
		}
		rnd := rand.New(rand.NewPCG(1, 2))
		for range 200 {
			var id trace.TraceID
			binary.BigEndian.PutUint64(id[:8], rnd.Uint64())
			binary.BigEndian.PutUint64(id[8:], rnd.Uint64())
			sdk := sdktrace.NewTracerProvider(sdktrace.WithIDGenerator(fixedIDs{id})).Tracer("test")
			for _, parent := range []trace.TraceFlags{0xff, 0, trace.FlagsSampled} { // 0xff: none
				ctx := context.Background()
				if parent != 0xff {
					ctx = trace.ContextWithRemoteSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{
						TraceID: id, SpanID: trace.SpanID{9}, TraceFlags: parent, Remote: true}))
				}
				_, span := sdk.Start(ctx, "GET")
				want := span.SpanContext().IsSampled()
				got := ours.ShouldSample(sdktrace.SamplingParameters{ParentContext: ctx, TraceID: id}).Decision == sdktrace.RecordAndSample
				if got != want {
					t.Fatalf("%q %q, parent %v, trace %s: sampled %v, the SDK's %v (%s)",
						c.sampler, c.arg, parent, id, got, want, ours.Description())
				}
			}
		}
	}
}
