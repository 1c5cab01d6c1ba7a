package httpapi_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-go/strata/internal/httpapi"
	"github.com/strata-go/strata/internal/metricstest"
)

// sample is a line of the text exposition format: name{labels} value.
var sample = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\.)*",?)*\})? ([-+0-9.eE]+|[-+]Inf|NaN)$`)

func TestMetricsEndpoint(t *testing.T) {
	reg := prometheus.NewRegistry()
	conns := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "strata_db_open_connections", Help: "Open connections."}, []string{"node"})
	conns.WithLabelValues("primary").Set(3)
	reg.MustRegister(conns)
	h := newHarness(t, func(c *httpapi.Config) { c.Registry = reg }).authOK()
	h.rec.GetOrg(any_, principal, "acme").Return(org, nil).Times(2)
	h.get("/v1/orgs/acme")
	h.get("/v1/orgs/acme")
	h.get("/nowhere")
	h.do(request{method: "BREW", path: "/healthz"})

	w := h.get("/metrics")
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4; charset=utf-8") {
		t.Errorf("Content-Type = %q", ct)
	}
	body := w.Body.String()
	for _, want := range []string{
		`http_requests_total{method="GET",route="/v1/orgs/{org}",status="200"} 2`,
		`http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`http_requests_total{method="OTHER",route="unmatched",status="405"} 1`,
		`http_request_duration_seconds_bucket{method="GET",route="/v1/orgs/{org}",le="+Inf"} 2`,
		`http_request_duration_seconds_count{method="GET",route="/v1/orgs/{org}"} 2`,
		`http_request_duration_seconds_sum{method="GET",route="/v1/orgs/{org}"} `,
		"# TYPE http_requests_total counter",
		"# TYPE http_request_duration_seconds histogram",
		`strata_db_open_connections{node="primary"} 3`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s:\n%s", want, body)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(body), "\n") {
		if !strings.HasPrefix(line, "# ") && !sample.MatchString(line) {
			t.Errorf("not a sample line: %q", line)
		}
	}
}

func TestMetricsHistogram(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := httpapi.NewMetrics(reg)
	for _, d := range []time.Duration{time.Millisecond, 5 * time.Millisecond, 30 * time.Millisecond, time.Minute} {
		m.Observe("/r", "GET", 200, d)
	}
	page := metricstest.Gather(t, reg)
	for _, want := range []string{
		`http_request_duration_seconds_bucket{method="GET",route="/r",le="0.005"} 2`, // bounds are inclusive
		`http_request_duration_seconds_bucket{method="GET",route="/r",le="0.025"} 2`,
		`http_request_duration_seconds_bucket{method="GET",route="/r",le="0.05"} 3`,
		`http_request_duration_seconds_bucket{method="GET",route="/r",le="10"} 3`,
		`http_request_duration_seconds_bucket{method="GET",route="/r",le="+Inf"} 4`,
		`http_request_duration_seconds_count{method="GET",route="/r"} 4`,
		`http_request_duration_seconds_sum{method="GET",route="/r"} 60.036`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("lacks %s:\n%s", want, page)
		}
	}
	m.Observe("a\"b\\c\nd", "GET", 200, 0)
	page = metricstest.Gather(t, reg)
	if !strings.Contains(page, `route="a\"b\\c\nd"`) {
		t.Errorf("label not escaped:\n%s", page)
	}
}
