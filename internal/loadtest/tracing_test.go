package loadtest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/internal/benchcmp"
	"github.com/strata-go/strata/internal/httpapi"
	"github.com/strata-go/strata/internal/testdb"
	"github.com/strata-go/strata/internal/tracing"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/repo/pgrepo"
	"github.com/strata-go/strata/repo/sqliterepo"
	"github.com/strata-go/strata/service"
)

// BenchmarkTracingOverhead measures what the tracing instrumentation costs
// on the request path, side by side (internal/benchcmp: blocks of requests
// interleaved, median of the paired blocks' time ratios), on each dialect,
// for a warm GET of a project and a create:
//
//   - off: the instrumented handler chain with tracing off (no SDK, as
//     strata serve runs by default) against the same chain built without
//     the instrumentation (httpapi.Config.Untraced and the adapter's
//     Options.Untraced: no request span, no statement wrappers). Target:
//     within 1%.
//   - 1% sampled: the instrumented chain with the SDK installed as strata
//     serve installs it (a tracing.Provider), sampling 1% of the traces
//     (parentbased_traceidratio 0.01) and exporting in batches (to a no-op
//     exporter), against the same uninstrumented chain. Target: within 5%.
//
// What the comparison cannot remove from the uninstrumented side: the
// child spans of the service, RBAC and retry code, which are written into
// those packages; with tracing off each costs an atomic load.
//
// "off" runs first, before the benchmark installs its TracerProvider (a
// switch between nothing and the SDK: otel keeps the tracers packages hold
// bound to the first provider installed). In a second round (-count 2)
// the switch stays installed, set to nothing: "off" then measures a
// TracerProvider that makes no spans, a little dearer than none at all.
func BenchmarkTracingOverhead(b *testing.B) {
	for _, mode := range []struct {
		name           string
		target, allocs float64
		sampled        bool
	}{{"off", 1.01, 1, false}, {"sampled-1pct", 1.05, 5, true}} {
		for _, d := range testdb.Dialects {
			suite := &benchcmp.Suite{Name: string(d) + ", tracing " + mode.name,
				Title:        "tracing " + mode.name + " vs no instrumentation, " + string(d) + " (strata: instrumented; raw: without)",
				MaxTimeRatio: mode.target, MaxExtraAllocs: mode.allocs}
			b.Run(mode.name+"/"+string(d), func(b *testing.B) {
				if mode.sampled {
					sw := installSwitchableTracing()
					sw.set(true)
					defer sw.set(false)
				}
				traced, bare := newChain(b, d, true), newChain(b, d, false)
				suite.Compare(b, "get", traced.get, bare.get)
				suite.Compare(b, "create", traced.create, bare.create)
			})
			suite.Print()
		}
	}
}

// TestUnsampledRequestAllocs serves warm GETs on SQLite through the
// instrumented chain with the SDK installed, sampling no new trace, and
// through the chain without instrumentation: the instrumented one
// allocates no more per request (a request not sampled makes no span: the
// SDK's span that records nothing, its context and its options were 3
// allocations). That sampled requests are traced in full is
// cmd/strata's TestTraceOfACreateProjectRequest.
func TestUnsampledRequestAllocs(t *testing.T) {
	sw := installSwitchableTracing()
	sw.set(true)
	sw.setRatio(0)
	t.Cleanup(func() { sw.set(false); sw.setRatio(0.01) })
	traced, bare := newChain(t, repo.SQLite, true), newChain(t, repo.SQLite, false)
	allocs := func(c *chain) float64 {
		for range 100 { // warm: caches, prepared statements
			if err := c.get(0); err != nil {
				t.Fatal(err)
			}
		}
		return testing.AllocsPerRun(500, func() {
			if err := c.get(0); err != nil {
				t.Fatal(err)
			}
		})
	}
	// Measured: 105 each. A background allocation may land in either.
	if a, b := allocs(traced), allocs(bare); a > b+1 {
		t.Errorf("a request not sampled allocates %v, %v without instrumentation", a, b)
	}
}

// chain is the whole request path in process: httpapi over the service
// over a database of its own, bootstrapped with one org and a project.
type chain struct {
	h       http.Handler
	key     string
	project string // path of the project the gets read
	creates atomic.Int64
	prefix  string
}

// newChain builds the chain with the instrumentation or without it.
func newChain(b testing.TB, d repo.Dialect, instrumented bool) *chain {
	b.Helper()
	ctx := context.Background()
	var db repo.DB
	var err error
	switch d {
	case repo.SQLite:
		db, err = sqliterepo.Open(ctx, filepath.Join(b.TempDir(), "strata.db"), sqliterepo.Options{Untraced: !instrumented})
	case repo.PostgreSQL:
		db, err = pgrepo.Open(ctx, testdb.PostgresURL(b), pgrepo.Options{Untraced: !instrumented})
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if err := strata.Migrate(ctx, db); err != nil {
		b.Fatal(err)
	}
	authz := rbac.New(db.RoleBindings(), rbac.Options{Versions: db.Orgs(), MaxStaleness: time.Second})
	svc := service.New(db, authz, service.Options{})
	_, key, err := svc.Bootstrap(ctx, service.BootstrapInput{OrgSlug: "acme", Email: "owner@example.com"}, service.Request{})
	if err != nil {
		b.Fatal(err)
	}
	c := &chain{
		h:      httpapi.New(httpapi.Config{DB: db, Service: svc, Log: slog.New(slog.DiscardHandler), Untraced: !instrumented}),
		key:    key.Secret,
		prefix: fmt.Sprintf("p%v-", instrumented),
	}
	w := c.do("POST", "/v1/orgs/acme/projects", `{"name":"apollo"}`)
	var p struct{ ID string }
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || w.Code != http.StatusCreated {
		b.Fatalf("create: %d %s", w.Code, w.Body)
	}
	c.project = "/v1/orgs/acme/projects/" + p.ID
	return c
}

func (c *chain) do(method, path, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+c.key)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	c.h.ServeHTTP(w, r)
	return w
}

func (c *chain) get(int) error {
	if w := c.do("GET", c.project, ""); w.Code != http.StatusOK {
		return fmt.Errorf("get: %d %s", w.Code, w.Body)
	}
	return nil
}

func (c *chain) create(int) error {
	body := fmt.Sprintf(`{"name":"%s%d"}`, c.prefix, c.creates.Add(1))
	if w := c.do("POST", "/v1/orgs/acme/projects", body); w.Code != http.StatusCreated {
		return fmt.Errorf("create: %d %s", w.Code, w.Body)
	}
	return nil
}

// switchable is otel's global TracerProvider in this benchmark once the
// sampled mode has run: nothing (noop) or the SDK as strata serve installs
// it (a tracing.Provider, which decides a new trace's sampling before its
// first span), sampling parentbased_traceidratio with the ratio set. otel
// binds the tracers packages already hold to the first provider installed,
// so the benchmark installs this one once and switches behind it; the
// switch costs an atomic load per span started, which counts against the
// instrumented side.
type switchable struct {
	embedded.TracerProvider
	sdk   *tracing.Provider
	on    atomic.Bool
	ratio atomic.Pointer[sdktrace.Sampler] // the root sampler
}

var (
	switchOnce sync.Once
	theSwitch  *switchable
)

func installSwitchableTracing() *switchable {
	switchOnce.Do(func() {
		theSwitch = &switchable{}
		theSwitch.setRatio(0.01)
		theSwitch.sdk = tracing.NewProvider(sdktrace.ParentBased(ratioSwitch{theSwitch}),
			sdktrace.WithBatcher(tracetest.NewNoopExporter()))
		otel.SetTracerProvider(theSwitch)
	})
	return theSwitch
}

// set turns sampling on (with the W3C propagator strata serve installs
// along with the SDK) or off.
func (s *switchable) set(on bool) {
	if on {
		otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	}
	s.on.Store(on)
}

// setRatio sets the fraction of new traces sampled.
func (s *switchable) setRatio(r float64) {
	sampler := sdktrace.TraceIDRatioBased(r)
	s.ratio.Store(&sampler)
}

// ratioSwitch samples a new trace as the switch's ratio says.
type ratioSwitch struct{ s *switchable }

func (r ratioSwitch) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	return (*r.s.ratio.Load()).ShouldSample(p)
}

func (r ratioSwitch) Description() string { return "the benchmark's ratio" }

func (s *switchable) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return &switchTracer{p: s, sdk: s.sdk.Tracer(name, opts...)}
}

// SampleRoot is the SDK's when the switch is on (tracing.Root asks otel's
// TracerProvider); when off, no span is needed.
func (s *switchable) SampleRoot(ctx context.Context, name string, cfg trace.SpanConfig) (context.Context, bool) {
	if s.on.Load() {
		return s.sdk.SampleRoot(ctx, name, cfg)
	}
	return ctx, false
}

type switchTracer struct {
	embedded.Tracer
	p   *switchable
	sdk trace.Tracer
}

func (t *switchTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if t.p.on.Load() {
		return t.sdk.Start(ctx, name, opts...)
	}
	return noop.Tracer{}.Start(ctx, name, opts...)
}
