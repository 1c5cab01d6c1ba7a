package loadtest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
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

// TestHotOrgHTTP measures what one busy org gets of a server whose
// PostgreSQL primary commits durably and waits for a synchronous standby
// 1 ms away each way (pgtest.NewSyncPair: a cross-zone highly available
// pair): 8 clients creating projects in one org, against 8 clients each in
// an org of its own. Writers of one org no longer wait for each other on
// the org's audit chain, so the one org must get at least 0.9 of the
// server. Afterwards every event is sealed and both kinds of chain verify.
func TestHotOrgHTTP(t *testing.T) {
	dur := heavy(t)
	bin := strataBin(t)
	primary, _ := pgtest.NewSyncPair(t, time.Millisecond)
	url := primary.URL("postgres")
	srv, err := loadtest.Start(t.Context(), bin, url, "--migrate")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	const clients = 8
	orgs := []string{"acme"}
	keys := []string{srv.Key}
	for i := 1; i < clients; i++ {
		slug := fmt.Sprint("org-", i)
		out, err := exec.CommandContext(t.Context(), bin, "bootstrap", "--db", url, "--org", slug, "--email", "owner@"+slug+".test").Output()
		if err != nil {
			t.Fatalf("bootstrap %s: %v", slug, err)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		orgs, keys = append(orgs, slug), append(keys, lines[len(lines)-1])
	}
	cs := make([]*loadgen.Client, clients)
	for i := range cs {
		cs[i] = &loadgen.Client{Base: srv.URL, Key: keys[i]}
		defer cs[i].Close()
	}
	run := 0
	load := func(spread bool) loadgen.Stats {
		run++
		return loadgen.Start(loadgen.Config{Workers: clients, Duration: dur}, func(ctx context.Context, w, i int) loadgen.Response {
			c, org := cs[0], orgs[0]
			if spread {
				c, org = cs[w], orgs[w]
			}
			return c.Do(ctx, "POST", "/v1/orgs/"+org+"/projects", fmt.Sprintf(`{"name":"hot-%d-%d-%d","description":"made by the load test"}`, run, w, i))
		}).Wait()
	}
	load(true) // warm up
	var one, spread []loadgen.Stats
	for range 2 { // alternating, so that what else the machine does falls on both
		one, spread = append(one, load(false)), append(spread, load(true))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nHot org over HTTP: %d clients creating projects, PostgreSQL with fsync on and a synchronous standby 1 ms away each way, %d s per run, %s\n",
		clients, int(dur.Seconds()), machine())
	fmt.Fprintf(&b, "| run | one org req/s | p50 | p99 | %d orgs req/s | p50 | p99 | one/%d |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n", clients, clients)
	for i := range one {
		for _, s := range []loadgen.Stats{one[i], spread[i]} {
			if ok := s.Count(http.StatusCreated); ok != s.Ops {
				t.Errorf("%d of %d creates failed: %v", s.Ops-ok, s.Ops, s)
			}
		}
		ratio := one[i].Throughput() / spread[i].Throughput()
		fmt.Fprintf(&b, "| %d | %.0f | %s | %s | %.0f | %s | %s | %.2f |\n", i+1, one[i].Throughput(), ms(one[i].Percentile(50)), ms(one[i].Percentile(99)),
			spread[i].Throughput(), ms(spread[i].Percentile(50)), ms(spread[i].Percentile(99)), ratio)
		if ratio < 0.9 {
			t.Errorf("run %d: one org gets %.2f of the server, want at least 0.9", i+1, ratio)
		}
	}
	report(t, b.String())
	for i, org := range orgs {
		checkSealed(t, cs[i], org)
	}
}

// checkSealed waits (up to 10 s) until every event of org is sealed, and
// checks that its chain verifies.
func checkSealed(t *testing.T, c *loadgen.Client, org string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := c.Do(t.Context(), "GET", "/v1/orgs/"+org+"/audit-events/verify", "")
		var rep struct {
			OK      bool  `json:"ok"`
			Pending int64 `json:"pending"`
		}
		if r.Status == http.StatusOK && json.Unmarshal(r.Body, &rep) == nil && rep.Pending == 0 {
			if !rep.OK {
				t.Errorf("org %s: chain does not verify: %s", org, r.Body)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("org %s: events still waiting to be sealed after 10 s: %v", org, r)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
