package httpapi

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/strata-go/strata/internal/tracing"
	"github.com/strata-go/strata/service"
)

// requestState is what the middleware learns of one request as it goes: its
// ID from the start, its route once the mux has matched it.
type requestState struct {
	id    string
	route string
}

type stateKey struct{}

// stateOf returns the request's state; a zero one outside the middleware.
func stateOf(ctx context.Context) *requestState {
	if st, ok := ctx.Value(stateKey{}).(*requestState); ok {
		return st
	}
	return &requestState{}
}

// maxRequestIDLen bounds an incoming X-Request-ID worth keeping.
const maxRequestIDLen = 64

// requestID gives every request an ID, the caller's X-Request-ID when it is a
// sane token, else a new random one, and echoes it in the response.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-ID")
		if !saneRequestID(id) {
			id = rand.Text()
		}
		w.Header().Set("X-Request-ID", id)
		st := &requestState{id: id, route: "unmatched"}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), stateKey{}, st)))
	})
}

// saneRequestID reports whether id is 1 to 64 of [A-Za-z0-9._-].
func saneRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for _, c := range []byte(id) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// securityHeaders sets headers every answer carries, and keeps /v1 answers
// out of caches.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		if r.URL.Path == "/v1" || strings.HasPrefix(r.URL.Path, "/v1/") {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// statusRecorder remembers the status and size of an answer.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (rec *statusRecorder) WriteHeader(status int) {
	if rec.status == 0 {
		rec.status = status
	}
	rec.ResponseWriter.WriteHeader(status)
}

func (rec *statusRecorder) Write(b []byte) (int, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	n, err := rec.ResponseWriter.Write(b)
	rec.bytes += int64(n)
	return n, err
}

// Flush lets streamed answers (the audit export) reach the client as they go.
func (rec *statusRecorder) Flush() {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	_ = http.NewResponseController(rec.ResponseWriter).Flush() // best effort
}

// Unwrap gives http.ResponseController the writer underneath.
func (rec *statusRecorder) Unwrap() http.ResponseWriter { return rec.ResponseWriter }

// tracer makes the span of each request.
var tracer = otel.Tracer("github.com/strata-go/strata/internal/httpapi")

// instrument makes the request's span (unless Config.Untraced), and writes
// the access log line and the request metrics of every request. It never
// logs headers, so no API key reaches the log.
//
// The span continues the trace of an incoming traceparent header (with
// the propagator otel has, which the binary sets to W3C Trace Context),
// is named for the method and route ("POST /v1/orgs/{org}/projects"), and
// carries the route, status, org and request ID. The access log line
// carries the trace ID when the trace is sampled or came from the caller
// (not an ID made here for a trace that is not recorded anywhere: a new
// trace that is not sampled has no span here at all, with the binary's
// tracing.Provider).
func (s *server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		span, fromCaller := tracing.None, false
		if !s.untraced && !tracing.Off() {
			ctx := otel.GetTextMapPropagator().Extract(r.Context(), headerCarrier(r.Header))
			fromCaller = ctx != r.Context() // the caller sent trace context
			var reqCtx context.Context
			// A new trace's sampling is decided before any span starts:
			// one not sampled gets none (see tracing.Root).
			reqCtx, span = tracing.Root(ctx, tracer, r.Method, serverSpan...)
			// Only a recording span has children: one not sampled stays
			// out of the request, sparing a copy of it.
			if span.IsRecording() {
				r = r.WithContext(reqCtx)
			}
		}
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if rec.status == 0 {
				rec.status = http.StatusOK
			}
			d := time.Since(start)
			st := stateOf(r.Context())
			s.metrics.Observe(st.route, r.Method, rec.status, d)
			endRequestSpan(span, r, st, rec.status)
			level := slog.LevelInfo
			if rec.status >= 500 {
				level = slog.LevelWarn
			}
			attrs := [...]slog.Attr{slog.String("method", r.Method), slog.String("route", st.route),
				slog.Int("status", rec.status), slog.Duration("duration", d),
				slog.Int64("bytes", rec.bytes), slog.String("request_id", st.id), {}}
			n := len(attrs) - 1
			if sc := span.SpanContext(); sc.HasTraceID() && (sc.IsSampled() || fromCaller) {
				attrs[n] = slog.String("trace_id", sc.TraceID().String())
				n++
			}
			s.log.LogAttrs(r.Context(), level, "http request", attrs[:n]...)
		}()
		next.ServeHTTP(rec, r)
	})
}

// headerCarrier is propagation.HeaderCarrier that finds the propagators'
// usual fields without canonicalizing their names at each request
// (http.Header.Get("traceparent") builds "Traceparent" every time).
type headerCarrier http.Header

// canonicalFields are the W3C Trace Context and Baggage header names.
var canonicalFields = map[string]string{"traceparent": "Traceparent", "tracestate": "Tracestate", "baggage": "Baggage"}

func (h headerCarrier) Get(key string) string {
	if ck, ok := canonicalFields[key]; ok {
		if v := h[ck]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	return propagation.HeaderCarrier(h).Get(key)
}

func (h headerCarrier) Set(key, value string) { propagation.HeaderCarrier(h).Set(key, value) }

func (h headerCarrier) Keys() []string { return propagation.HeaderCarrier(h).Keys() }

// serverSpan is the kind of the request's span, as the options of a
// span's start, made once (a slice made at each call would be allocated).
var serverSpan = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)}

// endRequestSpan names the request's span for its route and gives it the
// answer, then ends it. r is the request the mux routed (its path values
// are set).
func endRequestSpan(span trace.Span, r *http.Request, st *requestState, status int) {
	if span.IsRecording() {
		span.SetName(r.Method + " " + st.route)
		span.SetAttributes(attribute.String("http.request.method", r.Method), attribute.String("http.route", st.route),
			attribute.Int("http.response.status_code", status), attribute.String("strata.request_id", st.id))
		if org := r.PathValue("org"); org != "" {
			span.SetAttributes(attribute.String("strata.org", org))
		}
		if status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(status))
		}
	}
	span.End()
}

// recoverPanics turns a panicking handler into a logged 500; the client sees
// a generic error, never the stack. http.ErrAbortHandler goes on: it is how
// a handler cuts a response short on purpose.
func (s *server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			st := stateOf(r.Context())
			s.log.Error("handler panicked", "panic", fmt.Sprint(v), "stack", string(debug.Stack()),
				"method", r.Method, "route", st.route, "request_id", st.id)
			if rec.status != 0 {
				panic(http.ErrAbortHandler) // the answer has begun: cut it off
			}
			s.writeJSON(w, r, http.StatusInternalServerError, errorJSON{Error: errorDetail{Code: "internal", Message: "internal error"}})
		}()
		next.ServeHTTP(rec, r)
	})
}

// apiHandler serves one /v1 route for an authenticated caller. It returns
// the error to answer, if any, before it has written anything.
type apiHandler func(w http.ResponseWriter, r *http.Request, p service.Principal) error

// v1 authenticates the caller of a /v1 route and answers h's error.
func (s *server) v1(h apiHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := s.serveV1(w, r, h)
		if err != nil {
			s.writeError(w, r, err)
		}
	})
}

func (s *server) serveV1(w http.ResponseWriter, r *http.Request, h apiHandler) error {
	if s.svc == nil {
		return &apiError{status: http.StatusServiceUnavailable, code: "unavailable", message: "the API is not configured"}
	}
	ctx, err := withConsistency(r)
	if err != nil {
		return err
	}
	r = r.WithContext(ctx)
	w = &tokenWriter{ResponseWriter: w, ctx: ctx}
	key, ok := bearer(r)
	if !ok {
		return &apiError{status: http.StatusUnauthorized, code: "unauthenticated", message: "an Authorization: Bearer <api key> header is required"}
	}
	cred, err := s.limits.admit(key, r.RemoteAddr)
	if err != nil {
		return err
	}
	p, err := s.svc.Authenticate(r.Context(), key, service.Request{
		RemoteAddr: remoteHost(r.RemoteAddr), RequestID: stateOf(r.Context()).id,
	})
	s.limits.authenticated(cred, err)
	if err != nil {
		return err
	}
	if p, err = s.withIdempotencyKey(w, r, p); err != nil {
		return err
	}
	if err := checkPathIDs(r); err != nil {
		return err
	}
	return h(w, r, p)
}

// bearer returns the token of an `Authorization: Bearer <token>` header.
func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// remoteHost is the host part of a RemoteAddr ("203.0.113.7:51234").
func remoteHost(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}
