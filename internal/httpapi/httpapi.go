// Package httpapi is Strata's HTTP API: JSON over the service layer.
//
//	h := httpapi.New(httpapi.Config{DB: db, Service: svc, Log: log})
//	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 5 * time.Second}
//
// Every /v1 route takes `Authorization: Bearer <api key>`; the routes, their
// bodies and answers are documented in openapi.json, served at
// /openapi.json, which make generate writes from the routes' declarations
// (see apidoc.go: a route is declared once, next to its handler).
// Errors are {"error":{"code","message","field"?}}, mapped from the repo error
// vocabulary. Config.RateLimit bounds the requests per API key and the
// failed authentications per client address (429 with Retry-After). Every
// mutating route takes an Idempotency-Key header: a retry under the same
// key and with the same method, path and body gets the first answer again
// (the service stores it with the change), another request under the key
// is a 422, and a retry while the first attempt runs is a 409.
// /healthz, /readyz and /metrics (Prometheus text format, whatever
// Config.Registry gathers) serve operators.
package httpapi

import (
	"context"
	_ "embed"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-go/strata/service"
)

// Pinger is what readiness needs of the database.
type Pinger interface {
	Ping(ctx context.Context) error
}

// DefaultMaxBodyBytes is the request body limit when Config.MaxBodyBytes is 0.
const DefaultMaxBodyBytes = 1 << 20

// Config wires the API.
type Config struct {
	// DB answers /readyz.
	DB Pinger
	// Service runs the use cases; a *service.Service is one. Without it
	// every /v1 route answers 503.
	Service Service
	// Log receives the access log and the errors callers are not shown;
	// nil means slog.Default().
	Log *slog.Logger
	// MaxBodyBytes limits request bodies; larger ones are refused with 413.
	// 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Registry receives the API's request metrics, and /metrics serves all
	// it gathers: the binary registers the Go and process collectors and
	// the database's there too. nil means a registry of the API's own.
	Registry *prometheus.Registry
	// RateLimit limits requests per API key and failed authentications per
	// client address; the zero value limits nothing.
	RateLimit RateLimit
	// Untraced leaves out the span per request; by default each request
	// has one, made with otel's global TracerProvider (which does nothing
	// until the binary installs the SDK): for measuring what that costs.
	Untraced bool
}

// Service is what the API needs of the use cases: exactly the methods of
// *service.Service it calls, each entity's declared in its file beside the
// handlers that call them. The handlers are unit-tested against a mock of
// it (mocks.MockService).
type Service interface {
	Authenticate(ctx context.Context, key string, req service.Request) (service.Principal, error)
	orgService
	memberService
	roleService
	roleBindingService
	projectService
	environmentService
	apiKeyService
	auditService
}

// *service.Service is the Service the binary wires in.
var _ Service = (*service.Service)(nil)

//go:embed openapi.json
var openAPI []byte

// server holds the configuration the handlers share.
type server struct {
	db       Pinger
	svc      Service
	log      *slog.Logger
	maxBody  int64
	metrics  *Metrics
	gather   prometheus.Gatherer
	limits   *limits // nil: no rate limits
	untraced bool
	mux      *http.ServeMux
}

// New returns the API's handler.
func New(cfg Config) http.Handler {
	s := &server{
		db: cfg.DB, svc: cfg.Service, log: cfg.Log, maxBody: cfg.MaxBodyBytes,
		limits: newLimits(cfg.RateLimit), untraced: cfg.Untraced, mux: http.NewServeMux(),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	reg := cfg.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s.metrics, s.gather = NewMetrics(reg), reg
	if s.svc == nil {
		s.log.Warn("httpapi: no Service configured: every /v1 route answers 503")
	}
	for _, g := range s.routes() {
		for _, rt := range g.routes {
			s.mux.Handle(rt.pattern, rt.handler)
		}
	}
	var h http.Handler = http.HandlerFunc(s.dispatch)
	h = s.recoverPanics(h)
	h = s.instrument(h)
	h = securityHeaders(h)
	return requestID(h)
}

// routes lists every route the API serves, by tag, each with what the
// OpenAPI document says of it (apidoc.go).
func (s *server) routes() []group {
	return []group{
		s.orgRoutes(),
		s.memberRoutes(),
		s.roleRoutes(),
		s.roleBindingRoutes(),
		s.projectRoutes(),
		s.environmentRoutes(),
		s.apiKeyRoutes(),
		s.accessRoutes(),
		s.auditRoutes(),
		s.operationRoutes(),
	}
}

// dispatch serves r through the mux, recording the matched route for the
// access log and metrics. What the mux does not route is a JSON 404, or a
// JSON 405 with the Allow header the mux computed.
func (s *server) dispatch(w http.ResponseWriter, r *http.Request) {
	h, pattern := s.mux.Handler(r)
	if pattern != "" {
		stateOf(r.Context()).route = routeLabel(pattern)
		s.mux.ServeHTTP(w, r)
		return
	}
	probe := &headerProbe{header: http.Header{}}
	h.ServeHTTP(probe, r)
	if probe.status == http.StatusMethodNotAllowed {
		w.Header()["Allow"] = probe.header["Allow"]
		s.writeError(w, r, &apiError{status: http.StatusMethodNotAllowed, code: "method_not_allowed", message: "method not allowed"})
		return
	}
	s.writeError(w, r, &apiError{status: http.StatusNotFound, code: "not_found", message: "no such route"})
}

// routeLabel is a pattern without its method: "/v1/orgs/{org}".
func routeLabel(pattern string) string {
	if _, path, ok := strings.Cut(pattern, " "); ok {
		return path
	}
	return pattern
}

// headerProbe records what the mux's own not-found and method-not-allowed
// handlers would answer, and discards the body.
type headerProbe struct {
	header http.Header
	status int
}

func (p *headerProbe) Header() http.Header         { return p.header }
func (p *headerProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *headerProbe) WriteHeader(status int)      { p.status = status }

// operationRoutes are the routes for operators: no /v1 prefix, no authentication.
func (s *server) operationRoutes() group {
	return group{tag: "operations", about: "For operators and load balancers: liveness, readiness, metrics and this document. No authentication.", routes: []route{
		{"GET /healthz", http.HandlerFunc(s.healthz), op{id: "healthz", summary: "The process is up.", out: statusJSON{}}},
		{"GET /readyz", http.HandlerFunc(s.readyz), op{id: "readyz", summary: "The database answers.", out: statusJSON{}, errs: []int{http.StatusServiceUnavailable}}},
		{"GET /metrics", metricsHandler(s.gather), op{id: "metrics", summary: "Metrics in the Prometheus text exposition format 0.0.4.",
			about: "http_requests_total{route,method,status}, http_request_duration_seconds{route,method} (histogram), then whatever the server adds (database pool, per-node counts).",
			raw:   &response{Description: "OK", Content: ordered{{"text/plain; version=0.0.4", map[string]schema{"schema": stringSchema}}}}}},
		{"GET /openapi.json", http.HandlerFunc(serveOpenAPI), op{id: "openapi", summary: "This document.",
			raw: &response{Description: "OK", Content: ordered{{"application/json", map[string]schema{"schema": {Type: "object"}}}}}}},
	}}
}

func (s *server) healthz(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, r, http.StatusOK, statusJSON{"ok"})
}

func (s *server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.db == nil {
		s.writeError(w, r, &apiError{status: http.StatusServiceUnavailable, code: "unavailable", message: "no database configured"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.db.Ping(ctx); err != nil {
		s.log.Warn("readiness check failed", "err", err, "request_id", stateOf(r.Context()).id)
		s.writeError(w, r, &apiError{status: http.StatusServiceUnavailable, code: "unavailable", message: "database unavailable"})
		return
	}
	s.writeJSON(w, r, http.StatusOK, statusJSON{"ready"})
}

// statusJSON is the answer of /healthz and /readyz.
type statusJSON struct {
	Status string `json:"status"`
}

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openAPI)
}
