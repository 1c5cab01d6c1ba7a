package httpapi

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultBuckets are the upper bounds, in seconds, of the request duration
// histogram: Prometheus' usual ones.
var DefaultBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Metrics counts the API's requests, by route, method and status, and
// their durations, by route and method, and writes them in the Prometheus
// text exposition format (version 0.0.4). Routes are patterns
// ("/v1/orgs/{org}/projects/{id}") or "unmatched", so the label sets stay
// few. It is safe for concurrent use.
type Metrics struct {
	buckets []float64

	mu       sync.Mutex
	requests map[requestKey]uint64
	latency  map[routeKey]*histogram
}

type routeKey struct{ route, method string }

type requestKey struct {
	routeKey
	status int
}

type histogram struct {
	counts []uint64 // per bucket, not cumulative; the last is +Inf
	sum    float64
	count  uint64
}

// NewMetrics returns an empty registry with DefaultBuckets.
func NewMetrics() *Metrics {
	return &Metrics{
		buckets:  DefaultBuckets,
		requests: make(map[requestKey]uint64),
		latency:  make(map[routeKey]*histogram),
	}
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
	rk := routeKey{route, method}
	secs := d.Seconds()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[requestKey{rk, status}]++
	h := m.latency[rk]
	if h == nil {
		h = &histogram{counts: make([]uint64, len(m.buckets)+1)}
		m.latency[rk] = h
	}
	i, _ := slices.BinarySearch(m.buckets, secs) // the first bucket with bound >= secs
	h.counts[i]++
	h.sum += secs
	h.count++
}

// WriteTo writes every metric in the text exposition format, series sorted.
func (m *Metrics) WriteTo(w io.Writer) (int64, error) {
	cw := &countingWriter{w: bufio.NewWriter(w)}
	m.mu.Lock()
	requests := maps.Clone(m.requests)
	latency := make(map[routeKey]histogram, len(m.latency))
	for k, h := range m.latency {
		latency[k] = histogram{counts: slices.Clone(h.counts), sum: h.sum, count: h.count}
	}
	m.mu.Unlock()

	fmt.Fprintln(cw, "# HELP http_requests_total HTTP requests served, by route pattern, method and status.")
	fmt.Fprintln(cw, "# TYPE http_requests_total counter")
	for _, k := range slices.SortedFunc(maps.Keys(requests), compareRequestKeys) {
		fmt.Fprintf(cw, "http_requests_total{route=%s,method=%s,status=\"%d\"} %d\n",
			labelValue(k.route), labelValue(k.method), k.status, requests[k])
	}
	fmt.Fprintln(cw, "# HELP http_request_duration_seconds Time to serve HTTP requests, by route pattern and method.")
	fmt.Fprintln(cw, "# TYPE http_request_duration_seconds histogram")
	for _, k := range slices.SortedFunc(maps.Keys(latency), compareRouteKeys) {
		h := latency[k]
		labels := "route=" + labelValue(k.route) + ",method=" + labelValue(k.method)
		var cum uint64
		for i, c := range h.counts {
			cum += c
			le := "+Inf"
			if i < len(m.buckets) {
				le = strconv.FormatFloat(m.buckets[i], 'g', -1, 64)
			}
			fmt.Fprintf(cw, "http_request_duration_seconds_bucket{%s,le=%q} %d\n", labels, le, cum)
		}
		fmt.Fprintf(cw, "http_request_duration_seconds_sum{%s} %s\n", labels, strconv.FormatFloat(h.sum, 'g', -1, 64))
		fmt.Fprintf(cw, "http_request_duration_seconds_count{%s} %d\n", labels, h.count)
	}
	if err := cw.w.Flush(); err != nil && cw.err == nil {
		cw.err = err
	}
	return cw.n, cw.err
}

func compareRouteKeys(a, b routeKey) int {
	return cmp.Or(cmp.Compare(a.route, b.route), cmp.Compare(a.method, b.method))
}

func compareRequestKeys(a, b requestKey) int {
	return cmp.Or(compareRouteKeys(a.routeKey, b.routeKey), cmp.Compare(a.status, b.status))
}

// labelValue quotes a label value as the exposition format wants: backslash,
// double quote and newline escaped.
func labelValue(v string) string {
	return `"` + labelEscaper.Replace(v) + `"`
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// countingWriter counts what it writes and keeps the first error.
type countingWriter struct {
	w   *bufio.Writer
	n   int64
	err error
}

func (cw *countingWriter) Write(b []byte) (int, error) {
	if cw.err != nil {
		return 0, cw.err
	}
	n, err := cw.w.Write(b)
	cw.n += int64(n)
	cw.err = err
	return n, err
}

// serveMetrics answers /metrics: the HTTP metrics, then ExtraMetrics.
func (s *server) serveMetrics(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	if _, err := s.metrics.WriteTo(w); err != nil {
		return // the client went away
	}
	if s.extra != nil {
		s.extra(w)
	}
}
