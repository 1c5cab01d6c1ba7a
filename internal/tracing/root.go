package tracing

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Provider is the SDK's TracerProvider with its sampler at hand, so that a
// new trace's sampling is decided once, before any span of it starts
// (Root): a request that starts a trace which is not sampled then costs no
// span at all, where the SDK would make (and allocate) a span that records
// nothing for it. The binary installs one as otel's global TracerProvider.
type Provider struct {
	*sdktrace.TracerProvider
	sampler sdktrace.Sampler
}

// NewProvider returns the SDK's TracerProvider made with opts, sampling as
// sampler says (a sampler given in opts is overridden). Its ID generator is
// the SDK's (random IDs from math/rand/v2), except that the root span
// started under a context from SampleRoot takes the trace ID its sampling
// was decided on.
func NewProvider(sampler sdktrace.Sampler, opts ...sdktrace.TracerProviderOption) *Provider {
	opts = append(opts, sdktrace.WithSampler(sampler), sdktrace.WithIDGenerator(idGenerator{}))
	return &Provider{TracerProvider: sdktrace.NewTracerProvider(opts...), sampler: sampler}
}

// SampleRoot decides whether a span named name, configured as cfg (its
// kind, attributes and links are what the sampler sees), started under ctx
// would be recorded, when ctx carries no span context (the span would
// begin a new trace): it draws the new trace's ID and asks the sampler.
// When it would be, the returned context makes the span started under it
// take that trace ID, so that the SDK, asking the same sampler about the
// same trace, decides the same; otherwise it returns ctx and false, and the
// span need not be started. Under a span context (a trace already begun),
// it returns ctx and true: the span's sampling is the SDK's to decide.
func (p *Provider) SampleRoot(ctx context.Context, name string, cfg trace.SpanConfig) (context.Context, bool) {
	if trace.SpanContextFromContext(ctx).IsValid() {
		return ctx, true
	}
	id := newTraceID()
	res := p.sampler.ShouldSample(sdktrace.SamplingParameters{ParentContext: ctx, TraceID: id, Name: name,
		Kind: cfg.SpanKind(), Attributes: cfg.Attributes(), Links: cfg.Links()})
	if res.Decision == sdktrace.Drop {
		return ctx, false
	}
	return context.WithValue(ctx, chosenKey{}, &chosenID{id: id}), true
}

// rootSampler is what Root asks of otel's global TracerProvider: a
// Provider's SampleRoot.
type rootSampler interface {
	SampleRoot(ctx context.Context, name string, cfg trace.SpanConfig) (context.Context, bool)
}

// Root starts a span named name that may begin a new trace (an HTTP
// request's: ctx carries the caller's span context, if any), with tracer,
// which must come from otel's global TracerProvider. When that provider is
// a Provider (or another rootSampler) that would not record the span, Root
// makes none and returns ctx and None: what the SDK's span would have
// been, a span that records nothing and goes nowhere. Otherwise it is
// tracer.Start, under a context that gives a new trace the ID its sampling
// was decided on.
func Root(ctx context.Context, tracer trace.Tracer, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if rs, ok := otel.GetTracerProvider().(rootSampler); ok {
		sctx, record := rs.SampleRoot(ctx, name, trace.NewSpanStartConfig(opts...))
		if !record {
			return ctx, None
		}
		ctx = sctx
	}
	return tracer.Start(ctx, name, opts...)
}

// chosenID is the trace ID SampleRoot decided on, for the first root span
// started under its context (a later new root there gets an ID of its own).
type chosenID struct {
	id    trace.TraceID
	taken atomic.Bool
}

type chosenKey struct{}

// idGenerator makes the SDK's random IDs, but for a root span started
// under SampleRoot's context: it takes the trace ID chosen there.
type idGenerator struct{}

func (idGenerator) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	if c, ok := ctx.Value(chosenKey{}).(*chosenID); ok && c.taken.CompareAndSwap(false, true) {
		return c.id, newSpanID()
	}
	return newTraceID(), newSpanID()
}

func (idGenerator) NewSpanID(context.Context, trace.TraceID) trace.SpanID { return newSpanID() }

// newTraceID and newSpanID draw valid (non-zero) IDs as the SDK's default
// generator does.
func newTraceID() (id trace.TraceID) {
	for !id.IsValid() {
		binary.NativeEndian.PutUint64(id[:8], rand.Uint64())
		binary.NativeEndian.PutUint64(id[8:], rand.Uint64())
	}
	return id
}

func newSpanID() (id trace.SpanID) {
	for !id.IsValid() {
		binary.NativeEndian.PutUint64(id[:], rand.Uint64())
	}
	return id
}

// SamplerFromEnv returns the sampler that OTEL_TRACES_SAMPLER and
// OTEL_TRACES_SAMPLER_ARG name, read as the SDK reads them when it is
// given no sampler (a Provider needs its sampler in hand): always_on,
// always_off, traceidratio, parentbased_always_on, parentbased_always_off,
// parentbased_traceidratio (a ratio's argument defaults to 1), and the
// SDK's default, parentbased_always_on, when unset. Like the SDK, for an
// unknown sampler or a bad ratio it returns an error along with the
// sampler it falls back to (the default, or a ratio of 1), to be reported
// with otel.Handle.
func SamplerFromEnv() (sdktrace.Sampler, error) {
	def := sdktrace.ParentBased(sdktrace.AlwaysSample())
	name := strings.ToLower(strings.TrimSpace(os.Getenv("OTEL_TRACES_SAMPLER")))
	arg := strings.TrimSpace(os.Getenv("OTEL_TRACES_SAMPLER_ARG"))
	ratio := func() (sdktrace.Sampler, error) {
		if arg == "" {
			return sdktrace.TraceIDRatioBased(1), nil
		}
		v, err := strconv.ParseFloat(arg, 64)
		switch {
		case err != nil:
			return sdktrace.TraceIDRatioBased(1), &samplerError{"parsing sampler argument: " + err.Error()}
		case v < 0:
			return sdktrace.TraceIDRatioBased(1), &samplerError{"invalid trace ID ratio: less than 0.0"}
		case v > 1:
			return sdktrace.TraceIDRatioBased(1), &samplerError{"invalid trace ID ratio: greater than 1.0"}
		}
		return sdktrace.TraceIDRatioBased(v), nil
	}
	switch name {
	case "":
		return def, nil
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "traceidratio":
		return ratio()
	case "parentbased_always_on":
		return def, nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), nil
	case "parentbased_traceidratio":
		s, err := ratio()
		return sdktrace.ParentBased(s), err
	}
	return def, &samplerError{"unsupported sampler: " + name}
}

// samplerError is a bad OTEL_TRACES_SAMPLER or OTEL_TRACES_SAMPLER_ARG.
type samplerError struct{ msg string }

func (e *samplerError) Error() string { return e.msg }
