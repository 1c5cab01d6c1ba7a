package httpapi_test

import (
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/internal/httpapi"
)

// sample is a line of the text exposition format: name{labels} value.
var sample = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\.)*",?)*\})? ([-+0-9.eE]+|[-+]Inf|NaN)$`)

func TestMetricsEndpoint(t *testing.T) {
	h := newHarness(t, func(c *httpapi.Config) {
		c.ExtraMetrics = func(w io.Writer) {
			fmt.Fprintln(w, "# TYPE strata_db_open_connections gauge")
			fmt.Fprintln(w, `strata_db_open_connections{node="primary"} 3`)
		}
	}).authOK()
	h.rec.GetOrg(any_, principal, "acme").Return(org, nil).Times(2)
	h.get("/v1/orgs/acme")
	h.get("/v1/orgs/acme")
	h.get("/nowhere")
	h.do(request{method: "BREW", path: "/healthz"})

	w := h.get("/metrics")
	if ct := w.Header().Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	body := w.Body.String()
	for _, want := range []string{
		`http_requests_total{route="/v1/orgs/{org}",method="GET",status="200"} 2`,
		`http_requests_total{route="unmatched",method="GET",status="404"} 1`,
		`http_requests_total{route="unmatched",method="OTHER",status="405"} 1`,
		`http_request_duration_seconds_bucket{route="/v1/orgs/{org}",method="GET",le="+Inf"} 2`,
		`http_request_duration_seconds_count{route="/v1/orgs/{org}",method="GET"} 2`,
		`http_request_duration_seconds_sum{route="/v1/orgs/{org}",method="GET"} `,
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
	m := httpapi.NewMetrics()
	for _, d := range []time.Duration{time.Millisecond, 5 * time.Millisecond, 30 * time.Millisecond, time.Minute} {
		m.Observe("/r", "GET", 200, d)
	}
	var b strings.Builder
	if _, err := m.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`http_request_duration_seconds_bucket{route="/r",method="GET",le="0.005"} 2`, // bounds are inclusive
		`http_request_duration_seconds_bucket{route="/r",method="GET",le="0.025"} 2`,
		`http_request_duration_seconds_bucket{route="/r",method="GET",le="0.05"} 3`,
		`http_request_duration_seconds_bucket{route="/r",method="GET",le="10"} 3`,
		`http_request_duration_seconds_bucket{route="/r",method="GET",le="+Inf"} 4`,
		`http_request_duration_seconds_count{route="/r",method="GET"} 4`,
		`http_request_duration_seconds_sum{route="/r",method="GET"} 60.036`,
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("lacks %s:\n%s", want, b.String())
		}
	}
	m.Observe("a\"b\\c\nd", "GET", 200, 0)
	b.Reset()
	m.WriteTo(&b)
	if !strings.Contains(b.String(), `route="a\"b\\c\nd"`) {
		t.Errorf("label not escaped:\n%s", b.String())
	}
}
