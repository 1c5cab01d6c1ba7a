//go:build linux

package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/strata-go/strata/internal/loadgen"
	"github.com/strata-go/strata/internal/pgtest"
)

// The fault tests of the binary: each runs `strata serve` as a child
// process under a bounded load, breaks something underneath it, and checks
// what the clients saw and what the database holds afterwards. Their soak
// variants (STRATA_SOAK=2m, `make soak`) repeat the fault until the
// duration has passed.

// ackSet records the projects whose creation a client saw acknowledged.
type ackSet struct {
	mu sync.Mutex
	m  map[string]string // name -> ID
}

func newAckSet() *ackSet { return &ackSet{m: map[string]string{}} }

func (a *ackSet) add(name, id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.m[name] = id
}

func (a *ackSet) len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.m)
}

func (a *ackSet) snapshot() map[string]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return maps.Clone(a.m)
}

// createProject sends POST /v1/orgs/acme/projects for name and, on 201,
// records the new project in acked.
func createProject(ctx context.Context, c *loadgen.Client, name string, acked *ackSet) loadgen.Response {
	r := c.Do(ctx, "POST", "/v1/orgs/acme/projects", fmt.Sprintf(`{"name":%q}`, name))
	if r.Status == http.StatusCreated {
		var p apiProject
		if err := json.Unmarshal(r.Body, &p); err != nil || p.ID == "" {
			r.Status = 999 // a 201 without a project: counted as unexpected
			return r
		}
		acked.add(name, p.ID)
	}
	return r
}

// TestCrashLosesNoAcknowledgedWrite kills -9 the server while several
// clients create projects, restarts it on the same database, and checks
// that every creation a client saw acknowledged is there, that nothing is
// half-written (a project without its audit event or the reverse), that
// the audit chain verifies, and, on SQLite, that the file is intact.
func TestCrashLosesNoAcknowledgedWrite(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "strata.db")
		crashTest(t, "sqlite:"+file, file)
	})
	t.Run("postgres", func(t *testing.T) {
		crashTest(t, emptyPostgres(t), "")
	})
}

func crashTest(t *testing.T, dbURL, sqliteFile string) {
	args := []string{"--db", dbURL, "--migrate"}
	p := startProc(t, procOptions{}, args...)
	key := p.key
	if key == "" {
		t.Fatalf("the first start printed no API key:\n%s", p.log)
	}
	acked := newAckSet()
	until := time.Now().Add(soak(t))
	for cycle := 1; ; cycle++ {
		c := p.client(key, 10*time.Second)
		load := loadgen.Start(loadgen.Config{Workers: 6}, func(ctx context.Context, w, i int) loadgen.Response {
			return createProject(ctx, c, fmt.Sprintf("crash%d-w%d-%d", cycle, w, i), acked)
		})
		// Crash once writes flow: six clients keep requests in flight.
		before := acked.len()
		if !load.WaitFor(20*time.Second, func(s loadgen.Stats) bool { return acked.len() >= before+60 || s.Ops > s.Count(http.StatusCreated) }) ||
			acked.len() < before+60 {
			load.Stop()
			t.Fatalf("cycle %d: writes did not flow: %v\n%s", cycle, load.Stats(), tail(p.log.String(), 20))
		}
		p.kill()
		stats := load.Stop()
		t.Logf("cycle %d, killed the server: %v", cycle, stats)
		if other := stats.Ops - stats.Count(http.StatusCreated) - stats.TransportErrors; other != 0 {
			t.Errorf("cycle %d: %d answers other than 201 (or no answer, after the kill): %v", cycle, other, stats)
		}
		p = startProc(t, procOptions{}, args...)
		if p.key != "" {
			t.Errorf("the restarted server printed a first-start key: it lost the org")
		}
		if cycle >= 2 && !time.Now().Before(until) {
			break
		}
	}
	checkNothingHalfWritten(t, p.client(key, 30*time.Second), acked.snapshot())
	if code := p.terminate(); code != 0 {
		t.Errorf("exit code after SIGTERM = %d", code)
	}
	if out, errOut, code := runStrata(t, "audit", "verify", "--db", dbURL, "--org", "acme"); code != 0 {
		t.Errorf("strata audit verify: exit %d: %s %s", code, out, errOut)
	}
	if sqliteFile != "" {
		checkSQLiteIntegrity(t, sqliteFile)
	}
}

// checkSQLiteIntegrity runs PRAGMA integrity_check and foreign_key_check
// on the SQLite file, which no process may be using.
func checkSQLiteIntegrity(t *testing.T, file string) {
	t.Helper()
	db, err := sql.Open("sqlite", file)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("PRAGMA integrity_check")
	if err != nil {
		t.Fatalf("integrity_check: %v", err)
	}
	var res []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		res = append(res, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("integrity_check: %v", err)
	}
	if len(res) != 1 || res[0] != "ok" {
		t.Errorf("PRAGMA integrity_check = %q, want ok", res)
	}
	fk, err := db.Query("PRAGMA foreign_key_check")
	if err != nil {
		t.Fatalf("foreign_key_check: %v", err)
	}
	defer fk.Close()
	if fk.Next() {
		t.Errorf("PRAGMA foreign_key_check reports violations")
	}
}

// TestPostgresConnectionLossFailsFastAndRecovers cuts the server off its
// database during a write and read load, in four ways: pg_terminate_backend
// on every backend of its database (three times), a restart of the
// PostgreSQL cluster, a crash of it (SIGKILL, then a start), and a freeze
// (SIGSTOP, as behind a network partition) longer than the clients'
// deadline. Every request gets an answer before its deadline, a failure is
// a 503 JSON error (never a 500), the pool recovers by itself after each
// fault, and a create the client retries after a failure is applied once
// (a 409 on the retry when the first attempt had committed).
func TestPostgresConnectionLossFailsFastAndRecovers(t *testing.T) {
	ctx := context.Background()
	cluster := pgtest.NewCluster(t)
	admin, err := pgx.Connect(ctx, cluster.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	// pgtest's clusters commit asynchronously, for speed; a crash of
	// PostgreSQL (Kill, below) would lose the last acknowledged commits.
	// Production's default, synchronous commit, does not.
	for _, stmt := range []string{"CREATE DATABASE strata", "ALTER DATABASE strata SET synchronous_commit = on"} {
		if _, err := admin.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	admin.Close(ctx)

	p := startProc(t, procOptions{}, "--db", cluster.URL("strata"), "--migrate", "--request-timeout", "500ms")
	if p.key == "" {
		t.Fatalf("no first-start key:\n%s", p.log)
	}
	const deadline = 2 * time.Second // the clients' per-request deadline
	c := p.client(p.key, deadline)

	acked := newAckSet()
	var (
		mu         sync.Mutex
		unexpected []string // answers that break the guarantee
		retried    = map[string]bool{}
		failed     atomic.Int64 // 503s
	)
	bad := func(what string, r loadgen.Response) {
		mu.Lock()
		defer mu.Unlock()
		if len(unexpected) < 20 {
			unexpected = append(unexpected, what+": "+r.String())
		}
	}
	// Writers create each name until it is acknowledged (201), or found
	// created by an earlier attempt whose answer was lost (409 on a retry).
	// Readers list projects. Every 503 must be the API's JSON error.
	load := loadgen.Start(loadgen.Config{Workers: 6}, func(ctx context.Context, w, i int) loadgen.Response {
		if w >= 4 {
			r := c.Do(ctx, "GET", "/v1/orgs/acme/projects?limit=20", "")
			switch {
			case r.Status == http.StatusOK:
			case isUnavailable(r):
				failed.Add(1)
			default:
				bad("list", r)
			}
			return r
		}
		name := fmt.Sprintf("conn-w%d-%d", w, i)
		for attempt := 0; ; attempt++ {
			r := createProject(ctx, c, name, acked)
			switch {
			case r.Status == http.StatusCreated:
				return r
			case r.Status == http.StatusConflict && attempt > 0:
				mu.Lock()
				retried[name] = true
				mu.Unlock()
				return r
			case isUnavailable(r) && attempt < 1000:
				failed.Add(1)
				time.Sleep(20 * time.Millisecond) // the client's backoff
				continue
			}
			bad(fmt.Sprintf("create %s (attempt %d)", name, attempt+1), r)
			return r
		}
	})
	defer load.Stop()
	// progress waits until n more creations are acknowledged: the pool has
	// recovered by itself.
	progress := func(what string, n int) {
		t.Helper()
		want := acked.len() + n
		if !load.WaitFor(20*time.Second, func(loadgen.Stats) bool { return acked.len() >= want }) {
			t.Fatalf("%s: writes did not resume within 20 s: %v\n%s", what, load.Stats(), tail(p.log.String(), 40))
		}
	}
	terminate := func() int64 {
		conn, err := pgx.Connect(ctx, cluster.URL("postgres"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var n int64
		err = conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))
			FROM pg_stat_activity WHERE datname = 'strata' AND pid <> pg_backend_pid()`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	until := time.Now().Add(soak(t))
	for round := 1; ; round++ {
		progress("before the faults", 30)
		for range 3 {
			n := terminate()
			t.Logf("round %d: terminated %d backends", round, n)
			progress("after pg_terminate_backend", 10)
		}
		if err := cluster.Restart(ctx); err != nil {
			t.Fatal(err)
		}
		t.Logf("round %d: restarted PostgreSQL", round)
		progress("after the restart", 20)
		// A crash: every backend dies at once, without a goodbye.
		cluster.Kill()
		if err := cluster.Restart(ctx); err != nil {
			t.Fatal(err)
		}
		t.Logf("round %d: killed PostgreSQL and started it again", round)
		progress("after the crash", 20)
		// PostgreSQL stops answering (frozen, as behind a network
		// partition) for longer than the clients' deadline: the server's
		// own request timeout answers 503 first.
		freezeCluster(t, cluster, deadline+time.Second)
		t.Logf("round %d: froze PostgreSQL for %v", round, deadline+time.Second)
		progress("after the freeze", 20)
		if !time.Now().Before(until) {
			break
		}
	}
	stats := load.Stop()
	t.Logf("%v; %d answers were 503, %d creates were retried into a 409", stats, failed.Load(), len(retried))
	for _, u := range unexpected {
		t.Errorf("unexpected answer: %s", u)
	}
	if stats.Timeouts > 0 || stats.TransportErrors > 0 {
		t.Errorf("%d requests hung past their %v deadline and %d got no answer", stats.Timeouts, deadline, stats.TransportErrors)
	}
	if failed.Load() == 0 {
		t.Errorf("no request failed while PostgreSQL restarted: the test did not cut the server off")
	}
	if strings.Contains(p.log.String(), "panic") {
		t.Errorf("the server log shows a panic:\n%s", tail(p.log.String(), 40))
	}
	// Names created by a retried request count as acknowledged: each is
	// there exactly once.
	all := acked.snapshot()
	for name := range retried {
		all[name] = ""
	}
	listed := checkNothingHalfWritten(t, p.client(p.key, 30*time.Second), all)
	// And in the table itself: one row per name, as many as listed.
	conn, err := pgx.Connect(ctx, cluster.URL("strata"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var rows, names int
	if err := conn.QueryRow(ctx, "SELECT count(*), count(DISTINCT name) FROM projects").Scan(&rows, &names); err != nil {
		t.Fatal(err)
	}
	if rows != names || rows != len(listed) {
		t.Errorf("projects table: %d rows, %d distinct names; the API lists %d", rows, names, len(listed))
	}
	if code := p.terminate(); code != 0 {
		t.Errorf("exit code after SIGTERM = %d", code)
	}
}

// freezeCluster stops every process of the cluster with SIGSTOP for d,
// then lets them go on: connections stay open, nothing answers.
func freezeCluster(t *testing.T, c *pgtest.Cluster, d time.Duration) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(c.DataDir(), "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	postmaster, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("postmaster.pid: %q", b)
	}
	// The postmaster first, so that it forks no backend meanwhile; then
	// its children, each in a process group of its own.
	pids := []int{postmaster}
	if err := syscall.Kill(postmaster, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGCONT)
		}
	}()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, not ")".
		_, rest, _ := strings.Cut(string(stat), ") ")
		if f := strings.Fields(rest); len(f) > 1 && f[1] == strconv.Itoa(postmaster) {
			if syscall.Kill(pid, syscall.SIGSTOP) == nil {
				pids = append(pids, pid)
			}
		}
	}
	time.Sleep(d) // the fault's duration, not an assertion
}

// TestReplicaLossAndLagFailNoRead reads through a server with a streaming
// replica while the replica is killed, comes back, and lags with its replay
// paused under writes: not one read fails, and once the replica lags past
// --max-lag reads see the writes it has not replayed.
func TestReplicaLossAndLagFailNoRead(t *testing.T) {
	ctx := context.Background()
	primary := pgtest.NewCluster(t)
	replica := pgtest.NewReplica(t, primary)
	p := startProc(t, procOptions{}, "--db", primary.URL("postgres"), "--migrate",
		"--replica", "local="+replica.URL("postgres"), "--region", "local", "--probe-interval", "100ms", "--max-lag", "300ms",
		// The replica is killed every few seconds: bound the backoff a
		// flapping replica earns, so that each round sees it re-admitted.
		"--max-eject-backoff", "2s")
	if p.key == "" {
		t.Fatalf("no first-start key:\n%s", p.log)
	}
	c := p.client(p.key, 5*time.Second)
	// Writes resolve the org with a routed read: let the replica see it.
	if err := replica.WaitForReplay(ctx); err != nil {
		t.Fatal(err)
	}
	acked := newAckSet()
	var ids []string
	for i := range 5 {
		r := createProject(ctx, c, fmt.Sprintf("seed-%d", i), acked)
		if r.Status != http.StatusCreated {
			t.Fatalf("create: %v", r)
		}
	}
	for _, id := range acked.snapshot() {
		ids = append(ids, id)
	}
	if err := replica.WaitForReplay(ctx); err != nil {
		t.Fatal(err)
	}
	replicaReads := func() float64 {
		r := c.Do(ctx, "GET", "/metrics", "")
		v, _ := metricValue(string(r.Body), "strata_db_reads_routed_total", `role="replica"`)
		return v
	}
	replicaUp := func() bool {
		r := c.Do(ctx, "GET", "/metrics", "")
		v, _ := metricValue(string(r.Body), "strata_db_node_up", `role="replica"`)
		return v == 1
	}
	if !eventually(10*time.Second, replicaUp) {
		t.Fatalf("the replica never came up:\n%s", tail(p.log.String(), 20))
	}

	var mu sync.Mutex
	var failures []string
	load := loadgen.Start(loadgen.Config{Workers: 4}, func(ctx context.Context, w, i int) loadgen.Response {
		path := "/v1/orgs/acme/projects?limit=10"
		if i%2 == 1 {
			path = "/v1/orgs/acme/projects/" + ids[i%len(ids)]
		}
		r := c.Do(ctx, "GET", path, "")
		if r.Status != http.StatusOK {
			mu.Lock()
			failures = append(failures, "GET "+path+": "+r.String())
			mu.Unlock()
		}
		return r
	})
	defer load.Stop()
	// served waits until n more reads have been answered (and none failed).
	served := func(n int) {
		t.Helper()
		want := load.Stats().Ops + n
		if !load.WaitFor(20*time.Second, func(s loadgen.Stats) bool { return s.Ops >= want }) {
			t.Fatalf("reads stalled: %v", load.Stats())
		}
	}
	onReplica := func(what string) {
		t.Helper()
		from := replicaReads()
		if !eventually(20*time.Second, func() bool { return replicaReads() > from+20 }) {
			var lines []string
			for _, l := range strings.Split(string(c.Do(ctx, "GET", "/metrics", "").Body), "\n") {
				if strings.Contains(l, `role="replica"`) {
					lines = append(lines, l)
				}
			}
			t.Fatalf("%s: reads do not reach the replica; its metrics:\n%s\nserver log:\n%s", what, strings.Join(lines, "\n"), tail(p.log.String(), 20))
		}
	}

	until := time.Now().Add(soak(t))
	for round := 1; ; round++ {
		onReplica("before the faults")
		replica.Kill()
		served(200)
		if err := replica.Restart(ctx); err != nil {
			t.Fatal(err)
		}
		onReplica(fmt.Sprintf("round %d, after the replica restarted", round))
		if err := replica.PauseReplay(ctx); err != nil {
			t.Fatal(err)
		}
		last := ""
		for i := range 10 {
			last = fmt.Sprintf("lag%d-%d", round, i)
			if r := createProject(ctx, c, last, acked); r.Status != http.StatusCreated {
				t.Fatalf("create while the replica lags: %v", r)
			}
		}
		// Past --max-lag the replica is left out: plain reads see the
		// writes it has not replayed.
		if !eventually(10*time.Second, func() bool {
			r := c.Do(ctx, "GET", "/v1/orgs/acme/projects?limit=500", "")
			return r.Status == http.StatusOK && strings.Contains(string(r.Body), `"`+last+`"`)
		}) {
			t.Errorf("round %d: reads still miss %s, written while the replica lags past --max-lag", round, last)
		}
		served(200)
		if err := replica.ResumeReplay(ctx); err != nil {
			t.Fatal(err)
		}
		served(100)
		if !time.Now().Before(until) {
			break
		}
	}
	stats := load.Stop()
	t.Logf("reads: %v", stats)
	mu.Lock()
	defer mu.Unlock()
	for i, f := range failures {
		if i == 10 {
			t.Errorf("... and %d more", len(failures)-10)
			break
		}
		t.Errorf("failed read: %s", f)
	}
	if stats.Ops != stats.Count(http.StatusOK) {
		t.Errorf("%d of %d reads failed: %v", stats.Ops-stats.Count(http.StatusOK), stats.Ops, stats)
	}
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
