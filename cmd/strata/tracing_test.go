package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/strata-go/strata/internal/loadgen"
	"github.com/strata-go/strata/internal/tracing"
)

// spans is the in-memory exporter of this test process's tracing: otel's
// global TracerProvider is installed once (packages keep the tracers of
// the first one installed), and samples only while a test has turned it
// on with traceSpans.
var (
	spans       = tracetest.NewInMemoryExporter()
	tracingOn   atomic.Bool
	installOnce sync.Once
)

// onOff samples everything while tracingOn, nothing otherwise.
type onOff struct{}

func (onOff) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	if tracingOn.Load() {
		return sdktrace.AlwaysSample().ShouldSample(p)
	}
	return sdktrace.NeverSample().ShouldSample(p)
}

func (onOff) Description() string { return "on while a test traces" }

// traceSpans turns tracing on, exporting to spans, until the test ends.
func traceSpans(t *testing.T) {
	t.Helper()
	installOnce.Do(func() {
		// As strata serve's: a tracing.Provider, which decides a new trace's
		// sampling before its first span.
		otel.SetTracerProvider(tracing.NewProvider(onOff{}, sdktrace.WithSyncer(spans)))
		otel.SetTextMapPropagator(propagation.TraceContext{})
	})
	spans.Reset()
	tracingOn.Store(true)
	t.Cleanup(func() { tracingOn.Store(false); spans.Reset() })
}

// The incoming request's trace: a client's span that the server's must
// continue.
const (
	clientTraceID = "0af7651916cd43dd8448eb211c80319c"
	clientSpanID  = "b7ad6b7169203331"
	traceparent   = "00-" + clientTraceID + "-" + clientSpanID + "-01"
)

// TestTraceOfACreateProjectRequest serves each dialect in this process
// with tracing exporting to memory, creates a project with a traceparent
// header, and checks the trace: one root span for the request, in the
// client's trace, with the route, status and org; under it the
// authentication, the RBAC decision (a cache miss, decided by the owner
// role), a span per SQL statement named by its sqlc name, and the audit
// append with its INSERT; and the trace ID in the access log. A second,
// warm request's decision is a cache hit.
func TestTraceOfACreateProjectRequest(t *testing.T) {
	for name, dbURL := range map[string]string{
		"sqlite":   "sqlite:" + filepath.Join(t.TempDir(), "strata.db"),
		"postgres": emptyPostgres(t),
	} {
		t.Run(name, func(t *testing.T) {
			system := map[string]string{"sqlite": "sqlite", "postgres": "postgresql"}[name]
			var log lockedBuffer
			c, stop := serveInProcess(t, dbURL, &log)
			defer stop()
			traceSpans(t)

			r := c.Do(t.Context(), "POST", "/v1/orgs/acme/projects", `{"name":"traced"}`, "traceparent", traceparent)
			if r.Status != 201 {
				t.Fatalf("create: %v", r)
			}
			tree := requestSpans(t, "POST /v1/orgs/{org}/projects")
			t.Logf("trace of a create:\n%s", tree)
			root := tree.one(t, "POST /v1/orgs/{org}/projects")
			if got := root.SpanContext.TraceID().String(); got != clientTraceID {
				t.Errorf("trace %s, want the client's %s", got, clientTraceID)
			}
			if got := root.Parent.SpanID().String(); got != clientSpanID || !root.Parent.IsRemote() {
				t.Errorf("root's parent %s (remote %v), want the client's span %s", got, root.Parent.IsRemote(), clientSpanID)
			}
			wantAttrs(t, root, "http.route=/v1/orgs/{org}/projects", "http.response.status_code=201", "strata.org=acme", "http.request.method=POST")
			for _, s := range tree.all {
				// The sealer traces each batch as a root of its own (audit.Seal,
				// trace.WithNewRoot), on its own schedule: it may land here.
				if s.Name == "audit.Seal" && !s.Parent.IsValid() {
					continue
				}
				if s.SpanContext.TraceID() != root.SpanContext.TraceID() {
					t.Errorf("span %q is in another trace", s.Name)
				}
			}
			auth := tree.one(t, "service.Authenticate")
			wantAttrs(t, auth, "strata.auth.outcome=ok")
			check := tree.one(t, "rbac.Check")
			wantAttrs(t, check, "rbac.permission=projects.create", "rbac.cache=miss", "rbac.allowed=true", "rbac.role=owner")
			app := tree.one(t, "audit.Append")
			wantAttrs(t, app, "strata.audit.action=project.create", "strata.audit.outcome=success")
			for _, child := range []tracetest.SpanStub{auth, check, app, tree.one(t, "CreateProject")} {
				if child.Parent.SpanID() != root.SpanContext.SpanID() {
					t.Errorf("%q is not a child of the request's span:\n%s", child.Name, tree)
				}
			}
			create := tree.one(t, "CreateProject")
			wantAttrs(t, create, "db.system.name="+system, "db.operation.name=CreateProject")
			// The event's INSERT: on SQLite, linked into its chain under the
			// append; on PostgreSQL, queued for the sealer in the COMMIT's
			// pipeline.
			insertName := map[string]string{"sqlite": "InsertAuditEvent", "postgres": "InsertPendingAuditEvent"}[name]
			insert := tree.one(t, insertName)
			if !tree.descends(insert, root) {
				t.Errorf("%s is not in the request's tree:\n%s", insertName, tree)
			}
			if name == "sqlite" && insert.Parent.SpanID() != app.SpanContext.SpanID() {
				t.Errorf("%s is not under audit.Append:\n%s", insertName, tree)
			}
			if name == "postgres" && tree.parentOf(insert).Name != "pipeline" {
				t.Errorf("%s is not in the COMMIT's pipeline:\n%s", insertName, tree)
			}
			if !tree.has("commit") {
				t.Errorf("no commit span:\n%s", tree)
			}
			if !eventually(5*time.Second, func() bool { return strings.Contains(log.String(), "trace_id="+clientTraceID) }) {
				t.Errorf("the access log lacks the trace ID:\n%s", log.String())
			}

			// Warm: the same user's next decision comes from the cache. A
			// first read warms it (the wait for the log above may have
			// outlasted the cache's staleness bound on a busy machine), the
			// second, at once, is the one checked.
			for range 2 {
				spans.Reset()
				if r := c.Do(t.Context(), "GET", "/v1/orgs/acme/projects", ""); r.Status != 200 {
					t.Fatalf("list: %v", r)
				}
			}
			warm := requestSpans(t, "GET /v1/orgs/{org}/projects")
			wantAttrs(t, warm.one(t, "rbac.Check"), "rbac.cache=hit", "rbac.permission=projects.read")
			// The sealer's own roots (audit.Seal, above) may land here too.
			roots := slices.DeleteFunc(warm.roots(), func(s tracetest.SpanStub) bool { return s.Name == "audit.Seal" })
			if len(roots) != 1 || roots[0].Name != "GET /v1/orgs/{org}/projects" {
				t.Errorf("a request without traceparent: roots %v, want one new trace:\n%s", roots, warm)
			}
		})
	}
}

// requestSpans returns the spans recorded so far, once the request's span,
// named root, has ended: the server ends it after it has answered.
func requestSpans(t *testing.T, root string) tree {
	t.Helper()
	if !eventually(5*time.Second, func() bool { return spanTree(spans.GetSpans()).has(root) }) {
		t.Fatalf("no span %q:\n%s", root, spanTree(spans.GetSpans()))
	}
	return spanTree(spans.GetSpans())
}

// serveInProcess runs OpenServer on dbURL, logging to log, and returns a
// client with the first-start key and a function that stops the server.
func serveInProcess(t *testing.T, dbURL string, log *lockedBuffer) (*loadgen.Client, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout bytes.Buffer
	srv, err := OpenServer(ctx, ServeConfig{
		DB: dbURL, Addr: "127.0.0.1:0", Migrate: true, Shutdown: 10 * time.Second,
		BootstrapOrg: "acme", BootstrapEmail: "admin@example.com", PolicyStaleness: time.Second,
	}, slog.New(slog.NewTextHandler(log, nil)), &stdout)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	m := firstStartKey.FindStringSubmatch(stdout.String())
	if m == nil {
		cancel()
		srv.Close()
		t.Fatalf("no first-start key: %q", stdout.String())
	}
	ran := make(chan error, 1)
	go func() { ran <- srv.Run(ctx) }()
	c := &loadgen.Client{Base: "http://" + srv.Addr(), Key: m[1], Timeout: 10 * time.Second}
	return c, func() {
		c.Close()
		cancel()
		<-ran
		srv.Close()
	}
}

// tree is the spans a test recorded, by span ID.
type tree struct {
	all  []tracetest.SpanStub
	byID map[string]tracetest.SpanStub
}

func spanTree(stubs tracetest.SpanStubs) tree {
	tr := tree{all: stubs, byID: map[string]tracetest.SpanStub{}}
	for _, s := range stubs {
		tr.byID[s.SpanContext.SpanID().String()] = s
	}
	return tr
}

// one returns the only span named name, failing the test otherwise.
func (tr tree) one(t *testing.T, name string) tracetest.SpanStub {
	t.Helper()
	var found []tracetest.SpanStub
	for _, s := range tr.all {
		if s.Name == name {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d spans named %q, want 1:\n%s", len(found), name, tr)
	}
	return found[0]
}

func (tr tree) has(name string) bool {
	return slices.ContainsFunc(tr.all, func(s tracetest.SpanStub) bool { return s.Name == name })
}

// parentOf returns s's parent among the recorded spans (zero if none).
func (tr tree) parentOf(s tracetest.SpanStub) tracetest.SpanStub {
	return tr.byID[s.Parent.SpanID().String()]
}

// descends reports whether s is under ancestor.
func (tr tree) descends(s, ancestor tracetest.SpanStub) bool {
	for p, ok := tr.byID[s.Parent.SpanID().String()]; ok; p, ok = tr.byID[p.Parent.SpanID().String()] {
		if p.SpanContext.SpanID() == ancestor.SpanContext.SpanID() {
			return true
		}
	}
	return false
}

// roots are the spans whose parent was not recorded here.
func (tr tree) roots() []tracetest.SpanStub {
	var out []tracetest.SpanStub
	for _, s := range tr.all {
		if _, ok := tr.byID[s.Parent.SpanID().String()]; !ok {
			out = append(out, s)
		}
	}
	return out
}

// String draws the tree, children in start order.
func (tr tree) String() string {
	var b strings.Builder
	var draw func(s tracetest.SpanStub, depth int)
	draw = func(s tracetest.SpanStub, depth int) {
		fmt.Fprintf(&b, "%s%s %v\n", strings.Repeat("  ", depth), s.Name, s.Attributes)
		kids := slices.Clone(tr.all)
		slices.SortFunc(kids, func(a, b tracetest.SpanStub) int { return a.StartTime.Compare(b.StartTime) })
		for _, k := range kids {
			if k.Parent.SpanID() == s.SpanContext.SpanID() {
				draw(k, depth+1)
			}
		}
	}
	for _, r := range tr.roots() {
		draw(r, 0)
	}
	return b.String()
}

// wantAttrs checks that s has every one of the attributes, each written
// key=value.
func wantAttrs(t *testing.T, s tracetest.SpanStub, want ...string) {
	t.Helper()
	have := map[string]string{}
	for _, kv := range s.Attributes {
		have[string(kv.Key)] = kv.Value.Emit()
	}
	for _, w := range want {
		k, v, _ := strings.Cut(w, "=")
		if got, ok := have[k]; !ok || got != v {
			t.Errorf("span %q: %s = %q, want %q (attributes %v)", s.Name, k, got, v, s.Attributes)
		}
	}
}

// TestServeConsoleTraces runs the binary with OTEL_TRACES_EXPORTER=console
// on each dialect: after two requests and SIGTERM, its stdout holds two
// traces, one per request, each a tree under the request's span with the
// statements' spans in it.
func TestServeConsoleTraces(t *testing.T) {
	t.Setenv("OTEL_TRACES_EXPORTER", "console")
	for name, args := range map[string][]string{
		"sqlite":   {"--db", "sqlite:" + filepath.Join(t.TempDir(), "strata.db")},
		"postgres": {"--db", emptyPostgres(t), "--migrate"},
	} {
		t.Run(name, func(t *testing.T) {
			base, stdout, stop := serveOut(t, args...)
			m := firstStartKey.FindStringSubmatch(stdout())
			if m == nil {
				stop()
				t.Fatalf("first start printed no API key:\n%s", stdout())
			}
			c := &loadgen.Client{Base: base, Key: m[1], Timeout: 10 * time.Second}
			defer c.Close()
			for _, r := range []loadgen.Response{
				c.Do(t.Context(), "POST", "/v1/orgs/acme/projects", `{"name":"console"}`),
				c.Do(t.Context(), "GET", "/v1/orgs/acme/projects", ""),
			} {
				if r.Status >= 300 {
					t.Fatalf("request: %v", r)
				}
			}
			if code := stop(); code != 0 {
				t.Fatalf("exit code %d", code)
			}
			traces := map[string][]consoleSpan{}
			for _, s := range consoleSpans(t, stdout()) {
				traces[s.SpanContext.TraceID] = append(traces[s.SpanContext.TraceID], s)
			}
			var roots []string
			sealed := false
			for id, spans := range traces {
				// The sealer's rounds are traces of their own: one span,
				// audit.Seal, which answers no request.
				if len(spans) == 1 && spans[0].Name == "audit.Seal" {
					sealed = true
					delete(traces, id)
					continue
				}
				ids := map[string]bool{}
				for _, s := range spans {
					ids[s.SpanContext.SpanID] = true
				}
				var names []string
				for _, s := range spans {
					names = append(names, s.Name)
					if !ids[s.Parent.SpanID] {
						roots = append(roots, s.Name)
					}
				}
				if !slices.Contains(names, "ListProjects") && !slices.Contains(names, "CreateProject") {
					t.Errorf("a trace without the request's statement: %v", names)
				}
			}
			slices.Sort(roots)
			if want := []string{"GET /v1/orgs/{org}/projects", "POST /v1/orgs/{org}/projects"}; !slices.Equal(roots, want) {
				t.Errorf("traces rooted at %v, want one per request %v\nstdout:\n%s", roots, want, stdout())
			}
			if !sealed {
				t.Errorf("no audit.Seal trace: the create's event was sealed by no traced round\nstdout:\n%s", stdout())
			}
		})
	}
}

// consoleSpan is what the console exporter prints of a span (part of it).
type consoleSpan struct {
	Name        string
	SpanContext struct{ TraceID, SpanID string }
	Parent      struct{ SpanID string }
}

// consoleSpans reads the JSON spans out of the server's stdout, skipping
// the first-start lines.
func consoleSpans(t *testing.T, out string) []consoleSpan {
	t.Helper()
	i := strings.Index(out, "{")
	if i < 0 {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(out[i:]))
	var spans []consoleSpan
	for dec.More() {
		var s consoleSpan
		if err := dec.Decode(&s); err != nil {
			t.Fatalf("stdout is not a stream of JSON spans after the key: %v\n%s", err, out)
		}
		spans = append(spans, s)
	}
	return spans
}
