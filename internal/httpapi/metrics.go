package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// DefaultBuckets are the upper bounds, in seconds, of the request duration
// histogram: Prometheus' usual ones.
var DefaultBuckets = prometheus.DefBuckets

// Metrics counts the API's requests, by route, method and status, and
// their durations, by route and method. Routes are patterns
// ("/v1/orgs/{org}/projects/{id}") or "unmatched", and methods the standard
// ones or "OTHER", so the label sets stay few. It is safe for concurrent use.
type Metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// NewMetrics registers the API's request metrics with reg and returns
// them; when reg has them already (a second API on one registry), it
// returns those.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	return &Metrics{
		requests: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total",
			Help: "HTTP requests served, by route pattern, method and status.",
		}, []string{"route", "method", "status"})),
		latency: register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_request_duration_seconds",
			Help:    "Time to serve HTTP requests, by route pattern and method.",
			Buckets: DefaultBuckets,
		}, []string{"route", "method"})),
	}
}

// register registers c with reg, or returns the equal collector reg has.
// Any other error is a programming error (a name taken by another kind of
// metric, say): it panics, as prometheus.MustRegister does.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	panic(err)
}

// knownMethods are the methods counted under their own name; any other is
// "OTHER", so a client cannot grow the label set.
var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
}

// Observe counts one request.
func (m *Metrics) Observe(route, method string, status int, d time.Duration) {
	if !knownMethods[method] {
		method = "OTHER"
	}
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route, method).Observe(d.Seconds())
}

// metricsHandler serves what g gathers in the Prometheus text format;
// errors of collectors are logged by promhttp's default (the scrape goes on
// with what it has).
func metricsHandler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}
