package loadtest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/internal/loadgen"
	"github.com/strata-go/strata/internal/loadtest"
	"github.com/strata-go/strata/internal/pgtest"
	"github.com/strata-go/strata/internal/testdb"
	"github.com/strata-go/strata/repo"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// Env is the environment variable that turns on the heavy tests of this
// package (HTTP load, memory, import throughput): they take minutes.
const Env = "STRATA_LOADTEST"

// heavy skips t unless Env is set, and returns the run length of each load
// (STRATA_LOADTEST_DURATION, default 5s).
func heavy(t *testing.T) time.Duration {
	t.Helper()
	if os.Getenv(Env) == "" {
		t.Skipf("set %s=1 to run (takes minutes)", Env)
	}
	d := 5 * time.Second
	if v := os.Getenv("STRATA_LOADTEST_DURATION"); v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			t.Fatalf("STRATA_LOADTEST_DURATION: %v", err)
		}
	}
	return d
}

// strataBin builds the binary into the test's temporary directory.
func strataBin(t *testing.T) string {
	t.Helper()
	bin, err := loadtest.Build(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// databaseURL returns a fresh, empty database of the dialect for a server.
func databaseURL(t *testing.T, d repo.Dialect) string {
	if d == repo.PostgreSQL {
		return testdb.PostgresURL(t)
	}
	return "sqlite:" + filepath.Join(t.TempDir(), "strata.db")
}

// target is what a cell of TestHTTPLoad must reach on each dialect: set
// from measurements on a 2-CPU machine (client and server sharing it), with
// a margin for a machine busy with other work.
type target struct {
	rps float64       // at least
	p99 time.Duration // at most
}

var targets = map[string]map[int]target{
	"get project":    {1: {2000, 3 * time.Millisecond}, 8: {6000, 8 * time.Millisecond}, 64: {6000, 40 * time.Millisecond}},
	"create project": {1: {500, 10 * time.Millisecond}, 8: {1000, 50 * time.Millisecond}, 64: {1000, 150 * time.Millisecond}},
}

// TestHTTPLoad measures requests per second and p50/p99 latency of an
// authenticated GET of a project and an authenticated create, against the
// strata binary on each dialect, with 1, 8 and 64 concurrent clients over
// loopback, and the server's peak resident memory (VmHWM) under that load.
// The client runs on the same machine and competes for its CPUs.
func TestHTTPLoad(t *testing.T) {
	dur := heavy(t)
	bin := strataBin(t)
	const maxRSS = 150 << 20
	type row struct {
		dialect, op string
		clients     int
		res         loadgen.Stats
	}
	var rows []row
	peaks := map[repo.Dialect]int64{}
	for _, d := range testdb.Dialects {
		t.Run(string(d), func(t *testing.T) {
			srv, err := loadtest.Start(t.Context(), bin, databaseURL(t, d))
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Stop()
			api := "/v1/orgs/acme/projects"
			c := &loadgen.Client{Base: srv.URL, Key: srv.Key}
			defer c.Close()
			id := createProject(t, c, api)
			get := func(ctx context.Context, _, _ int) loadgen.Response { return c.Do(ctx, "GET", api+"/"+id, "") }
			run := 0
			create := func(ctx context.Context, w, i int) loadgen.Response {
				return c.Do(ctx, "POST", api, fmt.Sprintf(`{"name":"load-%d-%d-%d","description":"made by the load test"}`, run, w, i))
			}
			// Warm up: connections, caches, the Go runtime.
			loadgen.Start(loadgen.Config{Workers: 8, Duration: dur / 5}, get).Wait()
			for _, op := range []struct {
				name string
				fn   loadgen.Op
				want int
			}{{"get project", get, http.StatusOK}, {"create project", create, http.StatusCreated}} {
				for _, clients := range []int{1, 8, 64} {
					run++
					res := loadgen.Start(loadgen.Config{Workers: clients, Duration: dur}, op.fn).Wait()
					if ok := res.Count(op.want); ok != res.Ops {
						t.Errorf("%s, %d clients: %d of %d requests failed: %v", op.name, clients, res.Ops-ok, res.Ops, res)
					}
					rows = append(rows, row{string(d), op.name, clients, res})
				}
			}
			_, peak, err := srv.Memory()
			if err != nil {
				t.Fatal(err)
			}
			peaks[d] = peak
			if peak >= maxRSS {
				t.Errorf("server peak RSS %d MiB under load, want < %d MiB", peak>>20, maxRSS>>20)
			}
		})
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nHTTP over loopback, %d s per cell, client and server on the same %s\n", int(dur.Seconds()), machine())
	fmt.Fprintf(&b, "| dialect | request | clients | req/s | p50 | p99 | target |\n| --- | --- | ---: | ---: | ---: | ---: | --- |\n")
	for _, r := range rows {
		tg := targets[r.op][r.clients]
		verdict := "met"
		rps, p50, p99 := r.res.Throughput(), r.res.Percentile(50), r.res.Percentile(99)
		if rps < tg.rps || p99 > tg.p99 {
			verdict = "MISSED"
			t.Errorf("%s %s, %d clients: %.0f req/s, p99 %s; target ≥ %.0f req/s, p99 ≤ %s", r.dialect, r.op, r.clients, rps, ms(p99), tg.rps, ms(tg.p99))
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %.0f | %s | %s | ≥ %.0f/s, p99 ≤ %s: %s |\n", r.dialect, r.op, r.clients, rps, ms(p50), ms(p99), tg.rps, ms(tg.p99), verdict)
	}
	for _, d := range testdb.Dialects {
		if p, ok := peaks[d]; ok {
			fmt.Fprintf(&b, "server peak RSS (VmHWM) after the runs, %s: %.1f MiB (limit %d MiB)\n", d, float64(p)/(1<<20), maxRSS>>20)
		}
	}
	report(t, b.String())
}

// createProject creates the project the GETs read and returns its ID.
func createProject(t *testing.T, c *loadgen.Client, api string) string {
	t.Helper()
	r := c.Do(t.Context(), "POST", api, `{"name":"apollo","description":"read by the load test"}`)
	var p struct{ ID string }
	if err := json.Unmarshal(r.Body, &p); err != nil || r.Status != http.StatusCreated {
		t.Fatalf("create project: %v", r)
	}
	return p.ID
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/1e6) }

// report prints a table: on stdout (go test -v shows it) and, when
// STRATA_LOADTEST_OUT names a file, appended to it.
func report(t *testing.T, s string) {
	fmt.Print(s)
	if name := os.Getenv("STRATA_LOADTEST_OUT"); name != "" {
		f, err := os.OpenFile(name, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			_, err = io.WriteString(f, s)
			f.Close()
		}
		if err != nil {
			t.Error(err)
		}
	}
}

// machine describes the CPUs, from /proc/cpuinfo.
func machine() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	model, n := "", 0
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ":")
		switch strings.TrimSpace(k) {
		case "processor":
			n++
		case "model name":
			model = strings.TrimSpace(v)
		}
	}
	return fmt.Sprintf("%d-CPU %s", n, model)
}
