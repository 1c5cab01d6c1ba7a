package main

import (
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// pinnedMetrics are the metric families /metrics served before it moved to
// prometheus/client_golang, as "name type label,label" (label names sorted;
// a histogram's le and a family's own suffixes aside). Dashboards and
// alerts are written against them: none may change name, type or labels.
var pinnedMetrics = map[string][]string{
	"sqlite":   slices.Concat(httpMetrics, routerMetrics, sqliteWriterMetrics, sealerMetrics),
	"postgres": slices.Concat(httpMetrics, routerMetrics, sealerMetrics, postgresMetrics),
}

// postgresMetrics came with commits in doubt being resolved (issue 18).
var postgresMetrics = []string{
	"strata_db_commits_in_doubt_total counter resolution",
}

// sealerMetrics came with the audit sealer (issue 15), on both dialects.
var sealerMetrics = []string{
	"strata_audit_oldest_unsealed_age_seconds gauge ",
	"strata_audit_seal_delay_seconds histogram ",
	"strata_audit_seal_errors_total counter ",
	"strata_audit_sealed_events_total counter ",
	"strata_audit_unsealed_events gauge ",
}

var httpMetrics = []string{
	"http_request_duration_seconds histogram method,route",
	"http_requests_total counter method,route,status",
}

var routerMetrics = []string{
	"strata_db_causal_reads_total counter outcome",
	"strata_db_ejections_total counter node,region,role",
	"strata_db_node_up gauge node,region,role",
	"strata_db_pool_acquires_total counter node,region,role",
	"strata_db_pool_conns gauge node,region,role",
	"strata_db_pool_idle_conns gauge node,region,role",
	"strata_db_pool_in_use_conns gauge node,region,role",
	"strata_db_pool_max_conns gauge node,region,role",
	"strata_db_pool_wait_seconds_total counter node,region,role",
	"strata_db_pool_waited_acquires_total counter node,region,role",
	"strata_db_probe_latency_seconds gauge node,region,role",
	"strata_db_read_errors_total counter node,region,role",
	"strata_db_reads_in_flight gauge node,region,role",
	"strata_db_reads_routed_total counter node,region,role",
	"strata_db_replay_lag_bytes gauge node,region,role",
	"strata_db_replay_lag_seconds gauge node,region,role",
}

var sqliteWriterMetrics = []string{
	"strata_sqlite_audit_stale_heads_total counter ",
	"strata_sqlite_commits_total counter ",
	"strata_sqlite_committed_transactions_total counter ",
}

// TestMetricsKeepTheirNamesLabelsAndTypes scrapes /metrics of a live server
// on each dialect, after requests that touch every family, and compares the
// families' names, types and label names with pinnedMetrics; the Go
// runtime's and the process's collectors must be there too.
func TestMetricsKeepTheirNamesLabelsAndTypes(t *testing.T) {
	for name, dbURL := range map[string]string{
		"sqlite":   "sqlite:" + filepath.Join(t.TempDir(), "strata.db"),
		"postgres": emptyPostgres(t),
	} {
		t.Run(name, func(t *testing.T) {
			page := scrapeAfterTraffic(t, dbURL)
			got := metricFamilies(t, page)
			var ours []string
			for _, f := range got {
				if !strings.HasPrefix(f, "go_") && !strings.HasPrefix(f, "process_") {
					ours = append(ours, f)
				}
			}
			// Next to them, what every Go service's dashboard starts from.
			for _, f := range []string{"go_goroutines gauge ", "go_memstats_heap_alloc_bytes gauge ", "process_cpu_seconds_total counter ", "process_resident_memory_bytes gauge "} {
				if !slices.Contains(got, f) {
					t.Errorf("/metrics lacks the Go and process collectors' %q", f)
				}
			}
			want := slices.Sorted(slices.Values(pinnedMetrics[name]))
			if !slices.Equal(ours, want) {
				t.Errorf("metric families changed:\n got %s\nwant %s\n\n%s",
					strings.Join(ours, "\n     "), strings.Join(want, "\n     "), page)
			}
		})
	}
}

// scrapeAfterTraffic serves dbURL in this process, sends a read, a write and
// a request no route matches, and returns the /metrics page.
func scrapeAfterTraffic(t *testing.T, dbURL string) string {
	t.Helper()
	var log lockedBuffer
	c, stop := serveInProcess(t, dbURL, &log)
	defer stop()
	ctx := t.Context()
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/v1/orgs/acme/projects", ""},
		{"POST", "/v1/orgs/acme/projects", `{"name":"pinned"}`},
		{"GET", "/nowhere", ""},
	} {
		if resp := c.Do(ctx, r.method, r.path, r.body); resp.Err != nil || resp.Status >= 500 {
			t.Fatalf("%s %s: %v", r.method, r.path, resp)
		}
	}
	resp := c.Do(ctx, "GET", "/metrics", "")
	if resp.Status != 200 {
		t.Fatalf("GET /metrics: %v", resp)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("/metrics Content-Type = %q, want the text format 0.0.4", ct)
	}
	return string(resp.Body)
}

// metricFamilies reads a text exposition page and returns its families,
// sorted, as "name type label,label": every TYPE line with the label
// names of the family's samples (a histogram's _bucket, _sum and _count
// samples belong to it; le is left out). A family declared twice, or a
// sample of no declared family, fails the test.
func metricFamilies(t *testing.T, page string) []string {
	t.Helper()
	types := map[string]string{}
	labels := map[string]map[string]bool{}
	for line := range strings.Lines(page) {
		line = strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name, typ, _ := strings.Cut(rest, " ")
			if _, dup := types[name]; dup {
				t.Errorf("family %s declared twice", name)
			}
			types[name], labels[name] = typ, map[string]bool{}
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		series, _, _ := strings.Cut(line, " ")
		name, lbls, _ := strings.Cut(series, "{")
		family := name
		if _, ok := types[family]; !ok {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if base, ok := strings.CutSuffix(name, suffix); ok && (types[base] == "histogram" || types[base] == "summary") {
					family = base
				}
			}
		}
		set, ok := labels[family]
		if !ok {
			t.Errorf("sample of no declared family: %q", line)
			continue
		}
		for _, pair := range splitLabels(strings.TrimSuffix(lbls, "}")) {
			if k, _, _ := strings.Cut(pair, "="); k != "le" && k != "quantile" {
				set[k] = true
			}
		}
	}
	var out []string
	for name, typ := range types {
		out = append(out, name+" "+typ+" "+strings.Join(slices.Sorted(maps.Keys(labels[name])), ","))
	}
	slices.Sort(out)
	return out
}

// splitLabels splits `a="x",b="y,z"` into its pairs, minding quoted commas
// and escapes.
func splitLabels(s string) []string {
	var pairs []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			quoted = !quoted
		case ',':
			if !quoted {
				pairs = append(pairs, s[start:i])
				start = i + 1
			}
		}
	}
	if start < len(s) {
		pairs = append(pairs, s[start:])
	}
	return pairs
}
